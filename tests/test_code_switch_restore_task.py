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
