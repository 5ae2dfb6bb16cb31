"""fixtures/testbed-small: the backbones pretrained on code-switched text (issue 22), checked against
the cross-lingual targets on the benchmark's test split. Targets not reached yet are strict xfails: when a rebuild
reaches one, the test fails and asks for the mark to go."""
import json
import os

import pytest

from bench import mbart_cross_lingual, xlmr_cross_lingual
from conftest import REPO
from fairseq_xlgen.pretrained import MBART_LAYOUT, XLMR_LAYOUT, load_pretrained

TESTBED = os.path.join(REPO, "fixtures", "testbed-small")
LANGS = ("de_DE", "ru_RU", "zh_CN")
SAMPLE = 200  # test sentences per pair: all of them, as the benches (a 100-line sample moved XLM-R retrieval by 0.05)


def _flags(suffix):
    with open(os.path.join(REPO, "fixtures", f"testbed-small.{suffix}"), encoding="utf-8") as f:
        return f.read().split()


@pytest.fixture(scope="module")
def small_benchmark(tmp_path_factory):
    from fairseq_xlgen.testbed.synthetic_benchmark import generate_benchmark

    out = tmp_path_factory.mktemp("benchmark-small") / "bench"
    generate_benchmark(str(out), seed=1, size="small", progress=False)
    return str(out)


def _test_lines(benchmark, pair):
    src, tgt = pair.split("-")
    prefix = os.path.join(benchmark, "parallel", f"test.{pair}.")
    return xlmr_cross_lingual.read_lines(prefix + src)[:SAMPLE], xlmr_cross_lingual.read_lines(prefix + tgt)[:SAMPLE]


def _per_language(benchmark, measure):
    """``{de_DE | ru_RU | zh_CN: measure(src, tgt, source lines, target lines, that language's lines)}``."""
    measures = {}
    for pair in xlmr_cross_lingual.PAIRS:
        src, tgt = pair.split("-")
        source_lines, target_lines = _test_lines(benchmark, pair)
        other = tgt if src == "en_XX" else src
        measures[other] = measure(src, tgt, source_lines, target_lines, source_lines if src == other else target_lines)
    return measures


@pytest.fixture(scope="module")
def mbart_measures(small_benchmark):
    hub = load_pretrained(os.path.join(TESTBED, "mbart.cc25"), MBART_LAYOUT)
    hub.eval()

    def measure(src, tgt, source_lines, target_lines, lines):
        lang = tgt if src == "en_XX" else src
        copy = mbart_cross_lingual.copy_cost(hub, lines, lang)
        return {"sentence": mbart_cross_lingual.retrieval_precision(hub, source_lines, src, target_lines, tgt),
                "copy": copy, "worth": mbart_cross_lingual.copy_cost(hub, lines, lang, zero_encoder=True) - copy}
    return _per_language(small_benchmark, measure)


@pytest.mark.slow
def test_the_testbed_fixtures_were_built_with_todays_generator_and_flags(tmp_path):
    """fixtures/testbed-small is what `fixtures/build.sh testbed-small` makes: a change of the pretraining-text
    generator or of the flags must come with a rebuild."""
    from fairseq_xlgen.cli.make_fixtures import config_from_flags
    from fairseq_xlgen.cli.make_pretraining_text import main as make_text
    from fairseq_xlgen.testbed.pretrained_fixtures import fixture_settings

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


@pytest.fixture(scope="module")
def xlmr_measures(small_benchmark):
    from fairseq_xlgen.testbed.pretrained_fixtures import masked_lm_accuracy

    hub = load_pretrained(os.path.join(TESTBED, "xlmr.base"), XLMR_LAYOUT)
    hub.eval()
    upper_half = slice(len(hub.model.encoder.sentence_encoder.layers) // 2 + 1, None)  # of [embeddings, layer 1, ...]

    def measure(src, tgt, source_lines, target_lines, lines):
        sentences = xlmr_cross_lingual.sentence_precision(hub, source_lines, target_lines)
        words = xlmr_cross_lingual.word_precision(
            hub, xlmr_cross_lingual.held_out_gold(small_benchmark, f"{src}-{tgt}"), max_words=600)[0]
        english, other = (source_lines, target_lines) if src == "en_XX" else (target_lines, source_lines)
        in_context = xlmr_cross_lingual.in_context_accuracy(hub, english[:150], other[:150])
        return {"upper_half_sentence": max(sentences[upper_half]), "upper_half_word": max(words[upper_half]),
                "masked_accuracy": masked_lm_accuracy(hub, lines)["accuracy"],
                "translation_effect": in_context["with translation"] - in_context["with other translation"]}
    return _per_language(small_benchmark, measure)


def _unmet(measured):
    return pytest.mark.xfail(strict=True, reason=f"issue 22 target not reached: {measured}")


#: (backbone, measure, relation, threshold, id, {language: what was measured, where the target is not reached});
#: chance of sentence retrieval on the sample is 1 / SAMPLE. The XLM-R's first three: met since 2026-12-06.
TARGETS = [
    ("mbart", "worth", ">=", 3.0, "mbart-encoder-worth-at-least-3-bits", {}),
    ("mbart", "sentence", ">=", 0.2, "mbart-retrieval-far-above-chance", {}),  # benchmark-small: .215/.025/.005
    ("mbart", "sentence", ">=", 0.6, "mbart-retrieval-target",
     dict.fromkeys(LANGS, "encoder-output retrieval 0.505 / 0.44 / 0.53")),
    ("mbart", "copy", "<=", 1.0, "mbart-copy-target", {}),
    ("xlmr", "masked_accuracy", ">=", 0.3, "xlmr-masked-accuracy-target", {}),
    ("xlmr", "upper_half_sentence", ">=", 0.6, "xlmr-retrieval-target", {}),
    ("xlmr", "upper_half_word", ">=", 0.3, "xlmr-held-out-word-retrieval-target", {}),
    ("xlmr", "translation_effect", ">=", 0.1, "xlmr-translation-in-context-target",
     dict.fromkeys(LANGS, "+4.6 / +7.8 / +7.8 points over another sentence's translation")),
]


@pytest.mark.slow
@pytest.mark.parametrize("backbone, measure, relation, threshold, lang", [
    pytest.param(backbone, measure, relation, threshold, lang, id=f"{name}-{lang}",
                 marks=[_unmet(unmet[lang])] if lang in unmet else [])
    for backbone, measure, relation, threshold, name, unmet in TARGETS for lang in LANGS])
def test_testbed_backbone_target(request, backbone, measure, relation, threshold, lang):
    measures = request.getfixturevalue(f"{backbone}_measures")[lang]
    assert measures[measure] >= threshold if relation == ">=" else measures[measure] <= threshold, measures
