"""Code-switching noise and the code_switch_restore dataset: switching units (words, pieces in
unspaced scripts), budget, Poisson spans, seeds, the positions limit; hand-made dictionaries,
the benchmark's four languages (zh_CN unspaced, ru_RU Cyrillic) and real Chinese."""
import gzip
import os

import numpy as np
import pytest
import sentencepiece
import torch
from fairseq.data import Dictionary

from fairseq_xlgen.data.code_switching import (
    CodeSwitchLexicon, CodeSwitchRestoreDataset, LexiconError, UnitSegmenter, code_switch, stochastic_round,
)
from fairseq_xlgen.lexicon.switch_units import group_units, is_insertable, is_unspaced, unit_starts, units_line

W = "\u2581"
# shared/ lies beside the repository (in CI too); real en-zh pairs, CC-BY (see its README)
TATOEBA = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "shared", "data", "tatoeba-en-zh", "en-zh.tsv.gz")


@pytest.fixture
def dictionary():
    d = Dictionary()
    for symbol in [f"{W}the", f"{W}cat", "s", f"{W}sleep", f"{W}la", f"{W}gata", f"{W}duerme", "n", "[en_XX]",
                   W, f"{W}布什", "与", "沙龙", "举行", "了", "会谈", "。", f"{W}held", "lo", "ok"]:
        d.add_symbol(symbol)
    return d


def encode(d, pieces):
    return np.array([d.index(p) for p in pieces.split()], dtype=np.int64)


def _lexicon(d, pairs):
    return CodeSwitchLexicon({tuple(encode(d, a)): [tuple(encode(d, b)) for b in bs] for a, bs in pairs.items()})


# ---------------------------------------------------------------- units


def test_units_are_words_in_spaced_scripts_and_pieces_in_unspaced_ones(dictionary):
    segmenter = UnitSegmenter(dictionary)
    assert segmenter.spans(encode(dictionary, f"{W}the {W}cat s {W}sleep")) == [(0, 1), (1, 3), (3, 4)]
    # the paper's example: one ▁ run, yet every piece is a unit (the old word grouping made it 1 unit)
    zh = f"{W}布什 与 沙龙 举行 了 会谈 。"
    assert segmenter.spans(encode(dictionary, zh)) == [(i, i + 1) for i in range(7)]
    # a Latin continuation after a Han piece starts a unit; the next continuation joins it
    assert segmenter.spans(encode(dictionary, "沙龙 lo ok")) == [(0, 1), (1, 3)]
    assert group_units(zh.split()) == [[p] for p in zh.split()]
    assert group_units("沙龙 lo ok".split()) == [["沙龙"], ["lo", "ok"]]
    assert group_units(f"{W}the {W}cat s".split()) == [[f"{W}the"], [f"{W}cat", "s"]]
    assert units_line(f"{W}cat s {W}the") == f"{W}cat\u2040s {W}the"


def test_unspaced_scripts_are_detected_by_characters_not_language_codes():
    assert all(is_unspaced(p) for p in ("举行", f"{W}東京", "ひらがな", "カタカナ", "ภาษาไทย"))
    assert not any(is_unspaced(p) for p in (f"{W}held", f"{W}привет", "ß", f"{W}한국어", "。", "12"))
    assert is_insertable([f"{W}held"]) and is_insertable(["举行"]) and not is_insertable(["lo"])
    assert not is_insertable([W])  # the bare ▁ before an unmerged Han piece is no word
    assert group_units(f"{W} 布什 与".split()) == [[W], ["布什"], ["与"]]


def test_continuation_pieces_are_never_inserted(tmp_path, dictionary):
    path = tmp_path / "lex.src2tgt.tsv"
    path.write_text(f"{W}the\tlo\t0.9\t1\n{W}the\t{W}la\t0.8\t2\n{W}cat s\t{W}held lo\t0.7\t1\n"
                    f"{W}\t{W}la\t0.6\t1\n{W}sleep\t{W}\t0.5\t1\n", encoding="utf-8")
    lexicon = CodeSwitchLexicon.from_tsv(str(path), dictionary)
    assert lexicon.translations[tuple(encode(dictionary, f"{W}the"))] == [tuple(encode(dictionary, f"{W}la"))]
    # a multi-piece word is a unit, switched into a multi-piece word
    assert lexicon.translations[tuple(encode(dictionary, f"{W}cat s"))] == [tuple(encode(dictionary, f"{W}held lo"))]
    assert len(lexicon) == 2  # the bare ▁ is neither switched nor inserted


# ---------------------------------------------------------------- budget and spans


def test_stochastic_rounding_has_the_right_mean():
    rng = np.random.default_rng(0)
    draws = [stochastic_round(1.4, rng) for _ in range(20000)]
    assert set(draws) == {1, 2} and np.mean(draws) == pytest.approx(1.4, abs=0.01)
    assert stochastic_round(3.0, rng) == 3


def test_multi_piece_words_and_chinese_pieces_are_switched(dictionary):
    segmenter = UnitSegmenter(dictionary)
    lexicon = _lexicon(dictionary, {f"{W}cat s": [f"{W}gata"], "举行": [f"{W}held"], "会谈": [f"{W}la"]})
    tokens = encode(dictionary, f"{W}the {W}cat s {W}sleep")
    result = code_switch(tokens, segmenter, lexicon, np.random.default_rng(0), ratio=1.0)
    assert (result.switched, result.units, result.switchable) == (1, 3, 1)
    assert result.tokens.tolist() == encode(dictionary, f"{W}the {W}gata {W}sleep").tolist()
    zh = encode(dictionary, f"{W}布什 与 沙龙 举行 了 会谈 。")
    result = code_switch(zh, segmenter, lexicon, np.random.default_rng(0), ratio=1.0)
    assert (result.switched, result.units, result.switchable) == (2, 7, 2)
    assert result.tokens.tolist() == encode(dictionary, f"{W}布什 与 沙龙 {W}held 了 {W}la 。").tolist()


def test_switch_rate_over_switchable_units_is_35_percent_in_expectation(dictionary):
    segmenter = UnitSegmenter(dictionary)
    lexicon = _lexicon(dictionary, {f"{W}the": [f"{W}la"], f"{W}sleep": [f"{W}duerme n"]})
    tokens = encode(dictionary, f"{W}the {W}cat s {W}sleep")  # 3 units, 2 switchable: budget 0.7 -> 0 or 1
    rng = np.random.default_rng(0)
    results = [code_switch(tokens, segmenter, lexicon, rng) for _ in range(4000)]
    assert {r.switched for r in results} == {0, 1}  # round() would always give 1, ceil too
    assert np.mean([r.switched for r in results]) / 2 == pytest.approx(0.35, abs=0.02)


class ScriptedRng:
    """Stands in for numpy's Generator with scripted Poisson lengths and first-choice starts."""

    def __init__(self, lengths):
        self.lengths = list(lengths)

    def random(self):
        return 0.0  # stochastic rounding rounds up

    def poisson(self, lam):
        return self.lengths.pop(0)

    def choice(self, candidates):
        return candidates[0]

    def integers(self, n):
        return 0


def test_poisson_spans_are_contiguous_and_zero_draws_are_drawn_again(dictionary):
    segmenter = UnitSegmenter(dictionary)
    lexicon = _lexicon(dictionary, {f"{W}the": [f"{W}la"], f"{W}cat s": [f"{W}gata"], f"{W}sleep": [f"{W}duerme"]})
    tokens = encode(dictionary, " ".join([f"{W}the {W}cat s {W}sleep"] * 4))  # 12 units, all switchable
    # budget ceil(4.2) = 5; draws 0 (redrawn), 3 -> units 0-2, then 4 -> units 3-4 (budget reached)
    result = code_switch(tokens, segmenter, lexicon, ScriptedRng([0, 3, 4]))
    expected = " ".join([f"{W}la {W}gata {W}duerme {W}la {W}gata"] + [f"{W}sleep"] + [f"{W}the {W}cat s {W}sleep"] * 2)
    assert result.switched == 5 and result.tokens.tolist() == encode(dictionary, expected).tolist()
    # a span covers consecutive units of the sentence; units without translation stay inside it
    lexicon = _lexicon(dictionary, {f"{W}the": [f"{W}la"], f"{W}sleep": [f"{W}duerme"]})
    result = code_switch(encode(dictionary, f"{W}the {W}cat s {W}sleep {W}the"), segmenter, lexicon,
                         ScriptedRng([3]), ratio=0.5)  # 3 switchable, budget ceil(1.5) = 2
    assert result.tokens.tolist() == encode(dictionary, f"{W}la {W}cat s {W}duerme {W}the").tolist()


def test_real_spans_are_runs_longer_than_independent_choices(dictionary):
    segmenter = UnitSegmenter(dictionary)
    the = encode(dictionary, f"{W}the")
    lexicon = _lexicon(dictionary, {f"{W}the": [f"{W}la"]})
    tokens = np.tile(the, 400)
    runs = []
    for seed in range(20):
        switched = code_switch(tokens, segmenter, lexicon, np.random.default_rng(seed)).tokens != the[0]
        edges = np.flatnonzero(np.diff(np.concatenate([[0], switched.astype(int), [0]])))
        runs.extend(edges[1::2] - edges[::2])
    # Poisson(3.5) spans (overlaps merge runs); independent choices at 35% give runs of mean ~1.5
    assert np.mean(runs) > 3.0


def test_switched_sentence_is_kept_within_the_positions_limit(dictionary):
    segmenter = UnitSegmenter(dictionary)
    lexicon = _lexicon(dictionary, {f"{W}the": [f"{W}duerme n lo ok"]})  # 1 piece -> 4 pieces
    tokens = np.tile(encode(dictionary, f"{W}the"), 10)
    free = code_switch(tokens, segmenter, lexicon, np.random.default_rng(0), ratio=0.5)
    assert free.switched == 5 and len(free.tokens) == 25
    capped = code_switch(tokens, segmenter, lexicon, np.random.default_rng(0), ratio=0.5, max_tokens=17)
    assert len(capped.tokens) == 16 and capped.switched == 2  # the last 3 switched units were restored
    assert capped.tokens[:8].tolist() == free.tokens[:8].tolist()


# ---------------------------------------------------------------- dataset


class _Sentences(list):
    @property
    def sizes(self):
        return np.array([len(s) for s in self])


def _dataset(d, seed=7, stream=0, max_positions=None):
    lexicon = _lexicon(d, {f"{W}the": [f"{W}la"], f"{W}cat s": [f"{W}gata"], f"{W}sleep": [f"{W}duerme n", f"{W}la"]})
    line = " ".join([f"{W}the {W}cat s {W}sleep"] * 4)
    sentences = _Sentences(torch.from_numpy(np.append(encode(d, line), d.eos())) for _ in range(6))
    return CodeSwitchRestoreDataset(sentences, d, lexicon, d.index("[en_XX]"), seed=seed, stream=stream,
                                    max_positions=max_positions)


def test_restore_pairs_follow_mbart_conventions(dictionary):
    item = _dataset(dictionary)[0]
    lang, eos = dictionary.index("[en_XX]"), dictionary.eos()
    assert item["source"][-2:].tolist() == [eos, lang]
    assert item["target"][-2:].tolist() == [eos, lang]
    assert item["prev_output_tokens"].tolist() == [lang] + item["target"][:-1].tolist()
    assert not torch.equal(item["source"][:-2], item["target"][:-2])


def test_noise_is_seeded_by_seed_stream_epoch_and_index(dictionary):
    a, b = _dataset(dictionary), _dataset(dictionary)
    assert torch.equal(a[3]["source"], b[3]["source"])  # same (seed, stream, epoch, index)
    sources = {tuple(a[i]["source"].tolist()) for i in range(6)}
    assert len(sources) > 1  # same sentence, different index → different noise
    first = a[3]["source"]
    a.set_epoch(2)
    assert not torch.equal(a[3]["source"], first)
    b.set_epoch(2)
    assert torch.equal(a[3]["source"], b[3]["source"])
    # the source and the target side of a pair do not share their noise
    other = _dataset(dictionary, stream=1)
    assert any(not torch.equal(_dataset(dictionary)[i]["source"], other[i]["source"]) for i in range(6))


def test_dataset_respects_max_positions(dictionary):
    free, capped = _dataset(dictionary), _dataset(dictionary, max_positions=18)  # 16 pieces + </s> [lang]
    assert max(len(free[i]["source"]) for i in range(6)) > 18
    assert max(len(capped[i]["source"]) for i in range(6)) <= 18


def test_collater_left_pads_sources_and_sums_switch_counts(dictionary):
    ds = _dataset(dictionary)
    items = [ds[i] for i in range(3)]
    batch = ds.collater(items)
    assert batch["net_input"]["src_tokens"].shape[0] == 3
    assert batch["words"] == 3 * 12 and batch["switchable_words"] == 3 * 12
    assert batch["switched_words"] == sum(i["switched_words"] for i in items)
    assert all(i["switched_words"] in (4, 5) for i in items)  # 0.35 * 12 = 4.2
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


# ---------------------------------------------------------------- real segmentations


def _corpus_rates(piece_lines, dictionary, lexicon):
    segmenter, rng = UnitSegmenter(dictionary), np.random.default_rng(1)
    counts = np.zeros(3)
    for line in piece_lines:
        tokens = encode(dictionary, line)
        r = code_switch(tokens, segmenter, lexicon, rng)
        counts += (r.switched, r.switchable, r.units)
    return counts[0] / counts[1], counts[1] / counts[2], counts[2]


def _half_lexicon(piece_lines, dictionary, other_unit):
    """Every whole unit of the first half of the lines, translated into ``other_unit``."""
    units = {tuple(u) for line in piece_lines[: len(piece_lines) // 2] for u in group_units(line.split())
             if is_insertable(u)}
    return CodeSwitchLexicon({tuple(dictionary.index(p) for p in u): [(other_unit,)] for u in units})


@pytest.mark.parametrize("lang", ["en_XX", "de_DE", "ru_RU", "zh_CN"])
def test_switch_rate_per_benchmark_language(benchmark_dir, pretrained_dir, lang):
    model_dir = os.path.join(pretrained_dir, "mbart.cc25")
    dictionary = Dictionary.load(os.path.join(model_dir, "dict.txt"))
    sp = sentencepiece.SentencePieceProcessor(model_file=os.path.join(model_dir, "sentence.bpe.model"))
    pair = "en_XX-zh_CN" if lang in ("en_XX", "zh_CN") else f"en_XX-{lang}"
    with open(os.path.join(benchmark_dir, "tasks", "translation", pair, f"train.{lang}"), encoding="utf-8") as f:
        lines = [" ".join(sp.encode(line.strip(), out_type=str)) for line in f]
    # string-level units (word2vec, lexicon) and id-level units (switcher) agree
    segmenter = UnitSegmenter(dictionary)
    for line in lines[:50]:
        assert len(segmenter.spans(encode(dictionary, line))) == len(group_units(line.split()))
    rate, switchable, units = _corpus_rates(lines, dictionary, _half_lexicon(lines, dictionary, dictionary.eos()))
    assert rate == pytest.approx(0.35, abs=0.02), (lang, rate, switchable)
    assert switchable > 0.5
    if lang == "zh_CN":  # every Han piece is a unit: far more units than ▁ runs
        assert units > 3 * sum(line.count(W) for line in lines)


def test_switch_rate_on_real_chinese(tmp_path):
    """300 Tatoeba pairs (CC-BY 2.0 FR): SentencePiece in mBART's format, Chinese side switched."""
    from fairseq_xlgen.testbed.pretrained_fixtures import train_sentencepiece, write_fairseq_dictionary

    with gzip.open(TATOEBA, "rt", encoding="utf-8-sig") as f:
        pairs = [line.rstrip("\n").split("\t")[:2] for _, line in zip(range(300), f)]
    corpus = tmp_path / "text.txt"
    corpus.write_text("".join(f"{en}\n{zh}\n" for en, zh in pairs), encoding="utf-8")
    train_sentencepiece([str(corpus)], str(tmp_path / "sentence.bpe.model"), 500)
    write_fairseq_dictionary(str(tmp_path / "sentence.bpe.model"), [str(corpus)], str(tmp_path / "dict.txt"))
    dictionary = Dictionary.load(str(tmp_path / "dict.txt"))
    sp = sentencepiece.SentencePieceProcessor(model_file=str(tmp_path / "sentence.bpe.model"))
    zh = [" ".join(sp.encode(z, out_type=str)) for _, z in pairs]
    assert sum(len(group_units(line.split())) for line in zh) > 3 * sum(line.count(W) for line in zh)
    rate, switchable, _ = _corpus_rates(zh, dictionary, _half_lexicon(zh, dictionary, dictionary.index(f"{W}I")))
    assert rate == pytest.approx(0.35, abs=0.02) and switchable > 0.5
