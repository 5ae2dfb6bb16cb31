"""Lexicon induction: top-k most similar by CSLS, fairseq dictionary ids, TSV output."""
import math

import pytest
import torch
from fairseq.data import Dictionary

from fairseq_xlgen.errors import InputFileError
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
    path = write_dict(tmp_path / "dict.txt", ["▁a 5", "b c 4", "▁a 3 #fairseq:overwrite", "<unk> 2 #fairseq:overwrite", "z 1"])
    reference = Dictionary.load(path)
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
    assert [(s, t, r) for s, t, _, r in ids] == [("4", "5", 1), ("7", "8", 1)]  # never <unk> (3)


def test_multi_piece_units_are_kept_and_continuation_pieces_dropped(tmp_path):
    """word2vec tokens are switching units, pieces joined by U+2040 (xlgen-train-embeddings)."""
    dictionary = read_fairseq_dictionary(write_dict(tmp_path / "dict.txt", ["▁ca 9", "t 8", "▁chat 7", "举行 6"]))
    words = ["▁ca\u2040t", "t", "举行", "▁ca\u2040x"]  # "t" alone is a continuation piece; "x" unknown
    kept, _ = restrict_to_dictionary(words, unit_vectors([0, 10, 20, 30]), dictionary)
    assert kept == ["▁ca\u2040t", "举行"]
    entries = [("▁ca\u2040t", "▁chat", 0.5, 1), ("举行", "▁ca\u2040t", 0.25, 1)]
    assert lexicon_to_ids(entries, dictionary) == [("4 5", "6", 0.5, 1), ("7", "4 5", 0.25, 1)]
    write_lexicon_tsv(str(tmp_path / "lex.tsv"), entries)
    assert (tmp_path / "lex.tsv").read_text(encoding="utf-8") == "▁ca t\t▁chat\t0.500000\t1\n举行\t▁ca t\t0.250000\t1\n"
    # precision compares the text of units with gold words: a multi-piece word counts
    from fairseq_xlgen.lexicon.lexicon_induction import precision_at_k
    assert precision_at_k(entries, [("▁cat", "▁chat")], 1) == (1.0, 1)


def test_csls_demotes_a_hub_that_dot_product_retrieval_picks():
    """§III ranks by dot product; we keep CSLS (knn > 0) by default, knn=0 is the dot product.
    Target "hub" (30°) is the dot-product neighbour of all three queries (0°, 60°, 30°): cosines
    .866/.866/1 against .819 for "own" (95°) from query b. CSLS subtracts each target's mean
    similarity to its nearest queries, 1 for the hub (query c sits on it) and .819 for "own",
    so b gets its own neighbour."""
    queries, keys = ["a", "b", "c"], ["hub", "own"]
    src, tgt = unit_vectors([0, 60, 30]), unit_vectors([30, 95])
    dot = induce_lexicon(queries, src, keys, tgt, k=1, knn=0)
    assert [(s, t) for s, t, *_ in dot] == [("a", "hub"), ("b", "hub"), ("c", "hub")]
    assert [score for *_, score, _ in dot] == pytest.approx([math.sqrt(3) / 2, math.sqrt(3) / 2, 1.0], abs=1e-6)
    for knn in (1, 2):
        csls = induce_lexicon(queries, src, keys, tgt, k=1, knn=knn)
        assert [(s, t) for s, t, *_ in csls] == [("a", "hub"), ("b", "own"), ("c", "hub")]
