"""The code_switch_restore task on the binarized benchmark: both sides loaded for
--restore-sides both (Eq. 3), the source switched with src2tgt, the target with tgt2src, and
the switch rate over switchable units at 35% on each side."""
import numpy as np
import pytest
from fairseq import options, tasks

import fairseq_xlgen.tasks.code_switch_restore  # noqa: F401  (registers the task)
from fairseq_xlgen.pretrained import MBART_CC25_LANGS

SRC, TGT = "en_XX", "de_DE"


@pytest.fixture(scope="module")
def restore_task(translation_bin, restore_lexicon):
    lexicon, markers = restore_lexicon
    parser = options.get_training_parser(default_task="code_switch_restore")
    args = options.parse_args_and_arch(parser, [
        translation_bin, "--task", "code_switch_restore", "--arch", "mbart_tiny", "--langs", ",".join(MBART_CC25_LANGS),
        "--source-lang", SRC, "--target-lang", TGT, "--lexicon-prefix", lexicon, "--seed", "5"])
    task = tasks.setup_task(args)
    task.load_dataset("train")
    return task, markers


def test_both_sides_are_restored_each_with_its_own_lexicon(restore_task):
    task, markers = restore_task
    dataset = task.datasets["train"]
    source_part, target_part = dataset.datasets
    assert len(dataset) == 2 * len(source_part) and len(source_part) == len(target_part) > 0
    d = task.src_dict
    for part, lang, other in ((source_part, SRC, TGT), (target_part, TGT, SRC)):
        marker, foreign = d.index(markers[lang]), d.index(markers[other])
        lang_token = d.index(f"[{lang}]")
        switched = 0
        for i in range(len(part)):
            item = part[i]
            assert item["target"][-1] == lang_token and item["source"][-1] == lang_token
            assert foreign not in item["source"].tolist()  # never the other side's lexicon
            switched += item["source"].tolist().count(marker)
        assert switched > 0
    # the sides' targets are the original sentences of each language
    assert source_part[0]["target"][:-1].tolist() == source_part.sentences[0].tolist()
    assert target_part[0]["target"][:-1].tolist() == target_part.sentences[0].tolist()


def test_switch_rate_per_side_is_35_percent_of_switchable_units(restore_task):
    task, _ = restore_task
    for part in task.datasets["train"].datasets:
        counts = np.array([[part[i][k] for k in ("switched_words", "switchable_words", "words")]
                           for i in range(len(part))]).sum(axis=0)
        assert counts[0] / counts[1] == pytest.approx(0.35, abs=0.02)
        assert counts[1] == counts[2]  # this lexicon covers every unit of the text


@pytest.fixture(scope="module")
def two_pair_task(benchmark_dir, pretrained_dir, tmp_path_factory):
    """en_XX-de_DE and en_XX-zh_CN (unspaced) in one data directory, one marker lexicon per pair."""
    from conftest import REPO, run_tool, write_marker_lexicons

    data = str(tmp_path_factory.mktemp("pairs"))
    run_tool("bash", f"{REPO}/data_prep/prepare_translation_pairs.sh", f"{benchmark_dir}/tasks/translation",
             f"{pretrained_dir}/mbart.cc25", data, "en_XX-de_DE", "en_XX-zh_CN")
    lexicons = tmp_path_factory.mktemp("lexicons")
    text = " ".join(open(f"{data}/pairs/en_XX-{tgt}/spm/train.{lang}", encoding="utf-8").read()
                    for tgt in ("de_DE", "zh_CN") for lang in ("en_XX", tgt))  # no marker occurs in any pair
    markers = {}
    for tgt in ("de_DE", "zh_CN"):
        used = text + " " + " ".join(m for pair in markers.values() for m in pair.values())
        markers[tgt] = write_marker_lexicons(f"{data}/pairs/en_XX-{tgt}", "en_XX", tgt, f"{lexicons}/en_XX-{tgt}",
                                             avoid=used)
    parser = options.get_training_parser(default_task="code_switch_restore")
    args = options.parse_args_and_arch(parser, [
        data, "--task", "code_switch_restore", "--arch", "mbart_tiny", "--langs", ",".join(MBART_CC25_LANGS),
        "--lang-pairs", "en_XX-de_DE,en_XX-zh_CN", "--lexicon-prefix", f"{lexicons}/{{src}}-{{tgt}}", "--seed", "5"])
    task = tasks.setup_task(args)
    task.load_dataset("train")
    return task, markers


def test_lang_pairs_restore_every_pair_with_its_own_lexicon_and_noise(two_pair_task):
    task, markers = two_pair_task
    parts = task.datasets["train"].datasets
    assert len(parts) == 4  # (en-de source, en-de target, en-zh source, en-zh target)
    d = task.src_dict
    every_marker = {d.index(m) for pair in markers.values() for m in pair.values()}
    sides = [("de_DE", "en_XX"), ("de_DE", "de_DE"), ("zh_CN", "en_XX"), ("zh_CN", "zh_CN")]  # (pair's tgt, side)
    for part, (tgt, lang) in zip(parts, sides):
        own = d.index(markers[tgt][lang])
        tokens = [t for i in range(len(part)) for t in part[i]["source"].tolist()]
        assert own in tokens and not (every_marker - {own}) & set(tokens)  # only this pair's lexicon of this side
        assert all(part[i]["target"][-1] == d.index(f"[{lang}]") for i in range(len(part)))
        counts = np.array([[part[i][k] for k in ("switched_words", "switchable_words")]
                           for i in range(len(part))]).sum(axis=0)
        assert counts[0] / counts[1] == pytest.approx(0.35, abs=0.03)  # zh_CN: pieces are the units
    # the two pairs' en_XX sides hold the same sentences but draw their own spans
    en_de, en_zh = parts[0], parts[2]
    assert en_de.sentences[0].tolist() == en_zh.sentences[0].tolist()
    positions = [[(en_de[i]["source"] == d.index(markers["de_DE"]["en_XX"])).tolist() for i in range(20)],
                 [(en_zh[i]["source"] == d.index(markers["zh_CN"]["en_XX"])).tolist() for i in range(20)]]
    assert positions[0] != positions[1]


def test_several_lang_pairs_need_a_lexicon_per_pair(translation_bin, restore_lexicon):
    parser = options.get_training_parser(default_task="code_switch_restore")
    args = options.parse_args_and_arch(parser, [
        translation_bin, "--task", "code_switch_restore", "--arch", "mbart_tiny", "--langs", ",".join(MBART_CC25_LANGS),
        "--lang-pairs", "en_XX-de_DE,en_XX-zh_CN", "--lexicon-prefix", restore_lexicon[0]])
    with pytest.raises(Exception, match=r"put \{src\} and \{tgt\} in it"):
        tasks.setup_task(args)
