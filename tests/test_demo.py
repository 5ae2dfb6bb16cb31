"""`make demo` (examples/demo/run.py) end to end at SIZE tiny: the zero-shot table, its JSON and plot."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, tool_env

DEMO = os.path.join(REPO, "examples", "demo", "run.py")


def run_demo(work):
    proc = subprocess.run([sys.executable, DEMO, str(work), "tiny"], env=tool_env(), capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _trained_parameters(train_log):
    """fairseq-train's count of the parameters that train ("num. shared model params: N (num. trained: M)")."""
    with open(train_log, encoding="utf-8") as f:
        counts = re.findall(r"shared model params: [\d,]+ \(num\. trained: ([\d,]+)\)", f.read())
    return int(counts[-1].replace(",", ""))


@pytest.mark.slow
def test_demo_prints_the_zero_shot_table_and_retraining_a_system_prints_the_same(tmp_path):
    out = run_demo(tmp_path / "a")
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| system | target | SP-ROUGE-L | wrong language % |")
    rows = [line.split(" | ")[:2] for line in table[1:]]
    assert rows == [["| mBART (full)", "de_DE"], ["| mBART (full)", "ru_RU"], ["| mBART (full)", "zh_CN"],
                    ["| multi-source (en_XX+de_DE)", "de_DE (trained)"], ["| multi-source (en_XX+de_DE)", "ru_RU"],
                    ["| multi-source (en_XX+de_DE)", "zh_CN"], ["| mBART (enc): frozen decoder", "de_DE"],
                    ["| mBART (enc): frozen decoder", "ru_RU"], ["| mBART (enc): frozen decoder", "zh_CN"]]
    results = tmp_path / "a" / "results"
    assert f"table {results / 'summary.md'}, JSON {results / 'summary.json'}, plot {results / 'summary.png'}" in out
    with open(results / "summary.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((results / "summary.json").read_text())
    assert summary["multi_source"]["train_langs"] == ["en_XX", "de_DE"]
    assert [r["zero_shot"] for r in summary["multi_source"]["targets"].values()] == [False, True, True]
    trained = {system: _trained_parameters(tmp_path / "a" / "logs" / f"train.{system}.log")
               for system in ("mbart_enc", "mbart_full")}
    assert 0 < trained["mbart_enc"] < trained["mbart_full"] / 2  # the decoder and the embeddings are frozen
    assert os.path.isfile(tmp_path / "a" / "logs" / "train.mbart_full.log")  # fairseq's logs are files, not output
    assert "| INFO |" not in out
    # mBART (full) trained and decoded again from the same pretrained fixture: the same numbers to the last digit
    # (one thread per tool, seeded training), every other finished stage reused. The benchmark's and the
    # fixtures' own determinism is tested beside them (test_synthetic_benchmark, test_pretrained_fixtures).
    for stage in ("checkpoints", "results"):
        shutil.rmtree(tmp_path / "a" / stage / "mbart_full")
    rerun = run_demo(tmp_path / "a")
    assert [line for line in rerun.splitlines() if line.startswith("| ")] == table
    again = json.loads((results / "summary.json").read_text())
    strip = lambda s: {k: {**v, "train_seconds": None} for k, v in s.items()}  # noqa: E731
    assert strip(again) == strip(summary)
    assert again["multi_source"]["train_seconds"] == summary["multi_source"]["train_seconds"]  # reused, not retrained
