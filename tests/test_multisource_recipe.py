"""examples/multisource/spectrum.sh (paper 002 §5): run.sh with TASK and RUNS=single on understanding tasks read as
text to text, then the table of Spearman's rho and label overlap d per task."""
import json
import os

import pytest

from conftest import REPO, run_tool

pytestmark = pytest.mark.slow


def test_spectrum_tabulates_rho_and_label_overlap_for_tagging_and_span_extraction(tmp_path):
    work = tmp_path / "spectrum"
    out = run_tool("bash", os.path.join(REPO, "examples", "multisource", "spectrum.sh"), work, "tiny",
                   env={"TASKS": "pos qa", "MAX_EPOCH": "32"}, timeout=1800)
    rows = {row["task"]: row for row in json.loads((work / "spectrum.json").read_text())}
    assert list(rows) == ["pos", "qa"]
    assert rows["pos"]["metric"] == "tag_accuracy" and rows["qa"]["metric"] == "span_f1"
    # tags are shared across languages, answers are words of each language (paper 002 §5.1: d high vs low)
    assert rows["pos"]["d"] >= 80 and rows["qa"]["d"] <= 50
    for task, row in rows.items():
        selection = json.loads((work / task / "results" / "single" / "selection.json").read_text())
        assert [c["num_updates"] for c in selection["checkpoints"]] == sorted(c["num_updates"] for c in selection[
            "checkpoints"]) and len(selection["checkpoints"]) == 2  # epochs 16 and 32
        assert 0 <= row["score_last"] <= 100 and set(row["rho_per_target"]) == {"ru_RU", "zh_CN"}
    assert "| pos | tag_accuracy |" in out and (work / "xlrs.png").is_file()
    # the text-to-text data: pos sources are the words, targets the tags; zh_CN in its gold words
    words = (work / "pos" / "text" / "pos" / "zh_CN" / "test.source").read_text(encoding="utf-8").splitlines()
    tags = (work / "pos" / "text" / "pos" / "zh_CN" / "test.target").read_text(encoding="utf-8").splitlines()
    assert len(words) == len(tags) and all(len(w.split()) == len(t.split()) for w, t in zip(words, tags))
    # tags start with the training language's token in every language (--output-lang en_XX); answers do not
    pos_log = (work / "pos" / "checkpoints" / "single" / "train.log").read_text(encoding="utf-8")
    qa_log = (work / "qa" / "checkpoints" / "single" / "train.log").read_text(encoding="utf-8")
    assert "'output_lang': 'en_XX'" in pos_log and "'output_lang': ''" in qa_log
