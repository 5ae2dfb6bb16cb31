"""fixtures/testbed-small: the backbones pretrained on code-switched text (issue 22), checked against
the cross-lingual targets on a sample. Targets not reached yet are strict xfails: when a rebuild
reaches one, the test fails and asks for the mark to go."""
import json
import os

import pytest

from bench import mbart_cross_lingual, xlmr_cross_lingual
from conftest import REPO
from fairseq_xlgen.pretrained import MBART_LAYOUT, XLMR_LAYOUT, load_pretrained

TESTBED = os.path.join(REPO, "fixtures", "testbed-small")
LANGS = ("de_DE", "ru_RU", "zh_CN")
SAMPLE = 100  # test sentences per pair (the bench takes all 200)


def _flags(suffix):
    with open(os.path.join(REPO, "fixtures", f"testbed-small.{suffix}"), encoding="utf-8") as f:
        return f.read().split()


@pytest.fixture(scope="module")
def small_benchmark(tmp_path_factory):
    from fairseq_xlgen.data.synthetic_benchmark import generate_benchmark

    out = tmp_path_factory.mktemp("benchmark-small") / "bench"
    generate_benchmark(str(out), seed=1, size="small", progress=False)
    return str(out)


def _test_lines(benchmark, pair):
    src, tgt = pair.split("-")
    prefix = os.path.join(benchmark, "parallel", f"test.{pair}.")
    return xlmr_cross_lingual.read_lines(prefix + src)[:SAMPLE], xlmr_cross_lingual.read_lines(prefix + tgt)[:SAMPLE]


@pytest.fixture(scope="module")
def mbart_measures(small_benchmark):
    hub = load_pretrained(os.path.join(TESTBED, "mbart.cc25"), MBART_LAYOUT)
    hub.eval()
    measures = {}
    for pair in xlmr_cross_lingual.PAIRS:
        src, tgt = pair.split("-")
        source_lines, target_lines = _test_lines(small_benchmark, pair)
        other = tgt if src == "en_XX" else src
        measures[other] = {"sentence": mbart_cross_lingual.retrieval_precision(hub, source_lines, src, target_lines, tgt)}
        lines = source_lines if src == other else target_lines
        copy = mbart_cross_lingual.copy_cost(hub, lines, other)
        measures[other].update(copy=copy, worth=mbart_cross_lingual.copy_cost(hub, lines, other, zero_encoder=True) - copy)
    return measures


@pytest.mark.slow
def test_the_testbed_fixtures_were_built_with_todays_generator_and_flags(tmp_path):
    """fixtures/testbed-small is what `fixtures/build.sh testbed-small` makes: a change of the pretraining-text
    generator or of the flags must come with a rebuild."""
    from fairseq_xlgen.cli.make_fixtures import config_from_flags
    from fairseq_xlgen.cli.make_pretraining_text import main as make_text
    from fairseq_xlgen.data.pretrained_fixtures import fixture_settings

    text_flags = _flags("text")
    make_text(["--out", str(tmp_path), "--seed", "1", "--size", "small", *text_flags])
    langs = ("en_XX", "de_DE", "ru_RU", "zh_CN")
    pairs = text_flags[text_flags.index("--pairs") + 1].split(",")
    corpus = [str(tmp_path / f"{lang}.txt") for lang in langs]
    parallel = [tuple(str(tmp_path / f"pairs.{pair}.{lang}") for lang in pair.split("-")) for pair in pairs]
    with open(os.path.join(TESTBED, "fixtures.json"), encoding="utf-8") as f:
        recorded = json.load(f)
    recorded.pop("pretrain_seconds")
    assert recorded == fixture_settings(corpus, config_from_flags(_flags("flags")), parallel)
    load_pretrained(os.path.join(TESTBED, "xlmr.base"), XLMR_LAYOUT)


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS)
def test_the_decoder_reads_the_encoder_3_bits_per_token(mbart_measures, lang):
    assert mbart_measures[lang]["worth"] >= 3.0, mbart_measures[lang]


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS)
def test_encoder_output_retrieves_translations_far_above_chance(mbart_measures, lang):
    # chance is 1 / SAMPLE; the shipped benchmark-small mBART: 0.215 / 0.025 / 0.005 on all 200
    assert mbart_measures[lang]["sentence"] >= 0.2, mbart_measures[lang]


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="issue 22 target not reached: encoder-output retrieval 0.45 / 0.36 / 0.28")
@pytest.mark.parametrize("lang", LANGS)
def test_target_encoder_output_retrieval_at_least_0_6(mbart_measures, lang):
    assert mbart_measures[lang]["sentence"] >= 0.6, mbart_measures[lang]


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="issue 22 target not reached: copying costs 1.7-2.3 bits/token")
@pytest.mark.parametrize("lang", LANGS)
def test_target_copy_in_the_finetuning_format_at_most_1_bit(mbart_measures, lang):
    assert mbart_measures[lang]["copy"] <= 1.0, mbart_measures[lang]


@pytest.fixture(scope="module")
def xlmr_measures(small_benchmark):
    from fairseq_xlgen.data.pretrained_fixtures import masked_lm_accuracy

    hub = load_pretrained(os.path.join(TESTBED, "xlmr.base"), XLMR_LAYOUT)
    hub.eval()
    measures = {}
    for pair in xlmr_cross_lingual.PAIRS:
        src, tgt = pair.split("-")
        source_lines, target_lines = _test_lines(small_benchmark, pair)
        other = tgt if src == "en_XX" else src
        layers = xlmr_cross_lingual.sentence_precision(hub, source_lines, target_lines)
        measures[other] = {"upper_half_sentence": max(layers[len(layers) // 2 + 1:]),
                           "masked_accuracy": masked_lm_accuracy(hub, source_lines if src == other else target_lines)
                           ["accuracy"]}
    return measures


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="issue 22 target not reached: masked-token accuracy 18-25 % (shipped: 11-27 %)")
@pytest.mark.parametrize("lang", LANGS)
def test_target_xlmr_masked_token_accuracy_at_least_30_percent(xlmr_measures, lang):
    assert xlmr_measures[lang]["masked_accuracy"] >= 0.3, xlmr_measures[lang]


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="issue 22 target not reached: XLM-R upper-layer retrieval 0.02-0.08")
@pytest.mark.parametrize("lang", LANGS)
def test_target_xlmr_upper_half_sentence_retrieval_at_least_0_6(xlmr_measures, lang):
    assert xlmr_measures[lang]["upper_half_sentence"] >= 0.6, xlmr_measures[lang]
