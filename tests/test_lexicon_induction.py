"""Lexicon induction: top-k most similar by CSLS, fairseq dictionary ids, TSV output."""
import math

import pytest
import torch

from fairseq_xlgen.file_io import InputFileError
from fairseq_xlgen.lexicon.lexicon_induction import (
    induce_lexicon,
    lexicon_to_ids,
    read_fairseq_dictionary,
    restrict_to_dictionary,
    write_lexicon_tsv,
)


def unit_vectors(degrees):
    return torch.tensor([[math.cos(math.radians(a)), math.sin(math.radians(a))] for a in degrees])


def test_top_k_are_the_most_similar_in_descending_order():
    # "a" at 0°; targets at 0°, 30°, 60°, 180°: cosines 1, .866, .5, -1.
    # The CSR authors' script kept the k *least* similar ("far" would come first): not us.
    src_words, tgt_words = ["a"], ["same", "near", "mid", "far"]
    entries = induce_lexicon(src_words, unit_vectors([0]), tgt_words, unit_vectors([0, 30, 60, 180]), k=3, knn=0)
    assert [(s, t, r) for s, t, _, r in entries] == [("a", "same", 1), ("a", "near", 2), ("a", "mid", 3)]
    assert [score for *_, score, _ in entries] == pytest.approx([1.0, math.sqrt(3) / 2, 0.5], abs=1e-6)


def test_csls_lexicon_is_descending_for_every_word():
    generator = torch.Generator().manual_seed(0)
    src, tgt = torch.randn(30, 6, generator=generator), torch.randn(40, 6, generator=generator)
    entries = induce_lexicon([f"s{i}" for i in range(30)], src, [f"t{j}" for j in range(40)], tgt, k=3)
    assert len(entries) == 90
    for i in range(30):
        word_entries = entries[3 * i: 3 * i + 3]
        assert [e[0] for e in word_entries] == [f"s{i}"] * 3
        assert [e[3] for e in word_entries] == [1, 2, 3]
        scores = [e[2] for e in word_entries]
        assert scores == sorted(scores, reverse=True)


def write_dict(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def test_dictionary_ids_follow_fairseq_numbering(tmp_path):
    path = write_dict(tmp_path / "dict.txt", ["▁the 100", "▁le 90", "▁de 80", "▁of 70"])
    ids = read_fairseq_dictionary(path)
    assert ids == {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "▁the": 4, "▁le": 5, "▁de": 6, "▁of": 7}


def test_dictionary_ids_match_fairseq_itself(tmp_path):
    fairseq_dictionary = pytest.importorskip("fairseq.data.dictionary")
    path = write_dict(tmp_path / "dict.txt", ["▁a 5", "b c 4", "▁a 3 #fairseq:overwrite", "<unk> 2 #fairseq:overwrite", "z 1"])
    reference = fairseq_dictionary.Dictionary.load(path)
    ours = read_fairseq_dictionary(path)
    assert ours == {token: reference.index(token) for token in ours}
    assert ours["▁a"] == 6 and ours["b c"] == 5


def test_malformed_or_duplicate_dictionary_lines_name_the_line(tmp_path):
    with pytest.raises(InputFileError, match=r"dict.txt:2: expected '<token> <count>"):
        read_fairseq_dictionary(write_dict(tmp_path / "dict.txt", ["▁a 5", "▁b"]))
    with pytest.raises(InputFileError, match=r"dict.txt:3: duplicate token '▁a'"):
        read_fairseq_dictionary(write_dict(tmp_path / "dict.txt", ["▁a 5", "▁b 4", "▁a 3"]))


def test_units_missing_from_the_dictionary_are_dropped_not_unk(tmp_path):
    dictionary = read_fairseq_dictionary(write_dict(tmp_path / "dict.txt", ["▁the 9", "▁le 8", "▁la 7", "▁cat 6", "▁chat 5"]))
    src_words = ["▁the", "▁cat", "▁dog", "</s>"]  # "▁dog" unknown, "</s>" special
    tgt_words = ["▁le", "▁chien", "▁chat", "▁la"]  # "▁chien" unknown
    src_kept, src_emb = restrict_to_dictionary(src_words, unit_vectors([0, 90, 95, 10]), dictionary)
    tgt_kept, tgt_emb = restrict_to_dictionary(tgt_words, unit_vectors([2, 94, 89, 20]), dictionary)
    assert src_kept == ["▁the", "▁cat"] and tgt_kept == ["▁le", "▁chat", "▁la"]
    assert torch.equal(tgt_emb, unit_vectors([2, 89, 20]))
    entries = induce_lexicon(src_kept, src_emb, tgt_kept, tgt_emb, k=1, knn=0)
    assert [(s, t) for s, t, _, _ in entries] == [("▁the", "▁le"), ("▁cat", "▁chat")]
    ids = lexicon_to_ids(entries, dictionary)
    assert [(s, t, r) for s, t, _, r in ids] == [(4, 5, 1), (7, 8, 1)]  # never <unk> (3)


def test_lexicon_tsv_format(tmp_path):
    path = tmp_path / "lex.tsv"
    write_lexicon_tsv(str(path), [("▁a", "▁b", 0.5, 1), ("▁a", "▁c", -0.25, 2)])
    assert path.read_text(encoding="utf-8") == "▁a\t▁b\t0.500000\t1\n▁a\t▁c\t-0.250000\t2\n"


def test_precision_at_k_counts_gold_words_with_candidates():
    from fairseq_xlgen.lexicon.lexicon_induction import precision_at_k

    entries = [("a", "x", 0.9, 1), ("a", "y", 0.8, 2), ("b", "z", 0.7, 1), ("b", "w", 0.6, 2),
               ("c", "v", 0.5, 1), ("oov", "x", 0.4, 1)]
    gold = [("a", "x"), ("b", "w"), ("c", "u"), ("d", "t")]  # d has no candidates: not evaluated
    assert precision_at_k(entries, gold, 1) == (1 / 3, 3)
    assert precision_at_k(entries, gold, 2) == (2 / 3, 3)
