"""Code-switching noise and the code_switch_restore dataset on hand-made dictionaries."""
import numpy as np
import pytest
import torch
from fairseq.data import Dictionary

from fairseq_xlgen.data.code_switching import (
    CodeSwitchLexicon, CodeSwitchRestoreDataset, LexiconError, code_switch, word_spans, word_start_mask,
)

W = "\u2581"


@pytest.fixture
def dictionary():
    d = Dictionary()
    for symbol in [f"{W}the", f"{W}cat", "s", f"{W}sleep", f"{W}la", f"{W}gata", f"{W}duerme", "n", "[en_XX]"]:
        d.add_symbol(symbol)
    return d


def encode(d, pieces):
    return np.array([d.index(p) for p in pieces.split()], dtype=np.int64)


def test_word_spans_follow_word_start_pieces(dictionary):
    tokens = encode(dictionary, f"{W}the {W}cat s {W}sleep")
    assert word_spans(tokens, word_start_mask(dictionary)) == [(0, 1), (1, 3), (3, 4)]
    # a sentence starting inside a word still starts a word at position 0
    assert word_spans(encode(dictionary, f"s {W}cat"), word_start_mask(dictionary)) == [(0, 1), (1, 2)]


def _lexicon(d, pairs):
    return CodeSwitchLexicon({tuple(encode(d, a)): [tuple(encode(d, b)) for b in bs] for a, bs in pairs.items()})


def test_switch_budget_is_35_percent_of_words_and_uses_the_lexicon(dictionary):
    lexicon = _lexicon(dictionary, {f"{W}the": [f"{W}la"], f"{W}cat s": [f"{W}gata"], f"{W}sleep": [f"{W}duerme n"]})
    sentence = " ".join([f"{W}the {W}cat s {W}sleep"] * 5)  # 15 words, round(0.35 * 15) = 5
    tokens = encode(dictionary, sentence)
    switched, n_switched, n_words = code_switch(tokens, word_start_mask(dictionary), lexicon,
                                                np.random.default_rng(0))
    assert (n_switched, n_words) == (5, 15)
    foreign = {dictionary.index(p) for p in (f"{W}la", f"{W}gata", f"{W}duerme", "n")}
    # every switched word became its translation: 5 words gone, their translations in
    kept_words = len(word_spans(switched, word_start_mask(dictionary)))
    assert kept_words == 15
    assert sum(1 for s, e in word_spans(switched, word_start_mask(dictionary)) if switched[s] in foreign) == 5


def test_switch_rate_is_capped_by_lexicon_coverage(dictionary):
    lexicon = _lexicon(dictionary, {f"{W}sleep": [f"{W}duerme n"]})
    tokens = encode(dictionary, " ".join([f"{W}the {W}cat s {W}sleep"] * 5))
    _, n_switched, n_words = code_switch(tokens, word_start_mask(dictionary), lexicon, np.random.default_rng(1))
    assert (n_switched, n_words) == (5, 15)
    tokens = encode(dictionary, f"{W}the {W}cat s {W}sleep {W}the {W}cat s")
    _, n_switched, n_words = code_switch(tokens, word_start_mask(dictionary), lexicon, np.random.default_rng(1))
    assert (n_switched, n_words) == (1, 5)  # budget 2, one switchable word


class _Sentences(list):
    @property
    def sizes(self):
        return np.array([len(s) for s in self])


def _dataset(d, seed=7):
    lexicon = _lexicon(d, {f"{W}the": [f"{W}la"], f"{W}cat s": [f"{W}gata"], f"{W}sleep": [f"{W}duerme n", f"{W}la"]})
    line = " ".join([f"{W}the {W}cat s {W}sleep"] * 4)
    sentences = _Sentences(torch.from_numpy(np.append(encode(d, line), d.eos())) for _ in range(6))
    return CodeSwitchRestoreDataset(sentences, d, lexicon, d.index("[en_XX]"), seed=seed)


def test_restore_pairs_follow_mbart_conventions(dictionary):
    item = _dataset(dictionary)[0]
    lang, eos = dictionary.index("[en_XX]"), dictionary.eos()
    assert item["source"][-2:].tolist() == [eos, lang]
    assert item["target"][-2:].tolist() == [eos, lang]
    assert item["prev_output_tokens"].tolist() == [lang] + item["target"][:-1].tolist()
    assert not torch.equal(item["source"][:-2], item["target"][:-2])


def test_noise_is_seeded_by_seed_epoch_and_index(dictionary):
    a, b = _dataset(dictionary), _dataset(dictionary)
    assert torch.equal(a[3]["source"], b[3]["source"])  # same (seed, epoch, index)
    sources = {tuple(a[i]["source"].tolist()) for i in range(6)}
    assert len(sources) > 1  # same sentence, different index → different noise
    first = a[3]["source"]
    a.set_epoch(2)
    assert not torch.equal(a[3]["source"], first)
    b.set_epoch(2)
    assert torch.equal(a[3]["source"], b[3]["source"])


def test_collater_left_pads_sources_and_sums_switch_counts(dictionary):
    ds = _dataset(dictionary)
    batch = ds.collater([ds[i] for i in range(3)])
    assert batch["net_input"]["src_tokens"].shape[0] == 3
    assert batch["words"] == 3 * 12 and batch["switched_words"] == 3 * round(0.35 * 12)
    assert (batch["target"][:, -1] == dictionary.index("[en_XX]")).all()


def test_lexicon_tsv_drops_units_missing_from_the_dictionary(tmp_path, dictionary):
    path = tmp_path / "lex.src2tgt.tsv"
    path.write_text(f"{W}the\t{W}la\t0.9\t1\n{W}the\t{W}unknown\t0.8\t2\n{W}cat s\t{W}gata\t0.7\t1\n"
                    f"{W}the\t{W}gata\t0.5\t3\n", encoding="utf-8")
    lexicon = CodeSwitchLexicon.from_tsv(str(path), dictionary, k=3)
    the = (dictionary.index(f"{W}the"),)
    assert lexicon.translations[the] == [(dictionary.index(f"{W}la"),), (dictionary.index(f"{W}gata"),)]
    assert dictionary.unk() not in {i for v in lexicon.translations.values() for t in v for i in t}
    assert (dictionary.index(f"{W}cat"), dictionary.index("s")) in lexicon.translations
    assert len(CodeSwitchLexicon.from_tsv(str(path), dictionary, k=1).translations[the]) == 1


def test_malformed_lexicon_line_names_file_and_line(tmp_path, dictionary):
    path = tmp_path / "bad.tsv"
    path.write_text(f"{W}the\t{W}la\t0.9\t1\nonly-one-column\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=rf"{path}:2: expected 'query<TAB>translation"):
        CodeSwitchLexicon.from_tsv(str(path), dictionary)
