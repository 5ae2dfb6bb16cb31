"""`make compare` (examples/compare/): the job graph, the table's cells worked by hand, the decoding-speed
reading of fairseq-generate's log, and the driver end to end on two systems at SIZE tiny."""
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from conftest import REPO, load_example, tool_env

from fairseq_xlgen.testbed.runner import StageError, run_graph

summary = load_example("compare/summary.py")
decoding_speed, markdown = summary.decoding_speed, summary.markdown

COMPARE = os.path.join(REPO, "examples", "compare", "run.py")


def test_jobs_start_after_their_dependencies_and_at_most_two_run_at_once():
    events, lock, running = [], threading.Lock(), [0]
    peak = [0]

    def job(name):
        def work():
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
                events.append(("start", name))
            time.sleep(0.05)
            with lock:
                running[0] -= 1
                events.append(("end", name))
        return work

    jobs = {"lexicon": ((), job("lexicon")), "stage1": (["lexicon"], job("stage1")), "full": ((), job("full")),
            "enc": ((), job("enc")), "stage2": (["stage1"], job("stage2")),
            "evaluate": (["stage2", "full"], job("evaluate"))}
    finished = []
    run_graph(jobs, workers=2, on_done=finished.append)
    assert sorted(finished) == sorted(jobs) and peak[0] == 2
    order = {event: i for i, event in enumerate(events)}
    for name, (deps, _) in jobs.items():
        assert all(order["end", dep] < order["start", name] for dep in deps)
    assert [name for kind, name in events if kind == "start"][:2] == ["lexicon", "full"]  # given order among ready


def test_a_failed_job_stops_the_graph_and_its_dependants_never_start():
    started = []

    def fail():
        started.append("train")
        raise StageError("fairseq-train failed (exit 1); see train.log")

    jobs = {"train": ((), fail), "evaluate": (["train"], lambda: started.append("evaluate"))}
    with pytest.raises(StageError, match="see train.log"):
        run_graph(jobs, workers=2)
    assert started == ["train"]
    with pytest.raises(StageError, match="wait for jobs that do not exist"):
        run_graph({"evaluate": (["nope"], lambda: None)}, workers=2)


def test_decoding_speed_is_read_from_fairseq_generates_closing_line(tmp_path):
    log = tmp_path / "generate-test.txt"
    log.write_text("S-0\tx\nD-0\t-0.5\ty\n2026-12-02 | INFO | fairseq_cli.generate | Translated 1,200 sentences "
                   "(9,876 tokens) in 12.5s (96.00 sentences/s, 790.08 tokens/s)\n", encoding="utf-8")
    assert decoding_speed(str(log)) == 96.0
    log.write_text("D-0\t-0.5\ty\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no 'Translated N sentences' line"):
        decoding_speed(str(log))


def _target(zero_shot, sp_rouge, wrong, speed, letterless=0.0):
    return {"zero_shot": zero_shot, "sp_rougeL": sp_rouge, "rougeL": 0.0, "wrong_language_rate": wrong,
            "in_source_rate": 0.0, "no_letters_rate": letterless, "sentences_per_second": speed}


def test_table_cells_worked_by_hand():
    table = {
        "multi_source_laft": {
            "label": "multi-source + LAFT", "recipe": "examples/laft + examples/multisource",
            "train_langs": ["en_XX", "de_DE"], "updates": 40, "train_seconds": 61.26, "parameters": 2_345_678,
            "trainable": 104_000, "stage1_trainable": 1_500_000,
            "targets": {"en_XX": _target(False, 50.04, 0.0, 100.0), "de_DE": _target(False, 31.26, 2.5, 80.0),
                        "zh_CN": _target(True, 7.0, 99.5, 60.0, letterless=96.0)}},
    }
    lines = markdown(table, "en_XX").splitlines()
    assert lines[0] == "| system | en_XX (task) | de_DE | zh_CN | trainable | training | decoding | recipe |"
    assert lines[1] == "|---|---|---|---|---|---|---|---|"
    # de_DE: trained on (dagger); en_XX: the task language (no mark); speed = mean(100, 80, 60)
    # zh_CN: 96 % of the outputs have no letter (shown); en_XX/de_DE: none (not shown)
    assert lines[2] == ("| multi-source + LAFT | 50.0 / 0% | 31.3 / 2%† | 7.0 / 100% (96% letterless) "
                        "| 104k (+1.50M stage 1) of 2.35M | 61 s | 80 sent/s "
                        "| `examples/laft + examples/multisource` |")


@pytest.mark.slow
def test_compare_runs_csr_and_sga_end_to_end_and_a_rerun_reuses_every_job(tmp_path):
    """CSR (lexicons from monolingual text, code_switch_restore over three pairs, stage 2) and SGA (frozen
    XLM-R, Mask-Predict + denoiser on the title task in XLM-R units) at SIZE tiny: the table, JSON, plot."""
    def compare():
        proc = subprocess.run([sys.executable, COMPARE, str(tmp_path), "tiny", "--systems", "csr,sga"], env=tool_env(),
                              capture_output=True, text=True, timeout=1500)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout

    out = compare()
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in table[1:]] == ["| CSR", "| SGA (frozen XLM-R)"]
    results = tmp_path / "results"
    summary = json.loads((results / "compare.json").read_text())
    assert summary["csr"]["updates"] == summary["sga"]["updates"] == 40  # one budget, CSR's stage 1 included
    assert summary["csr"]["stage1_trainable"] == summary["csr"]["trainable"]  # both CSR stages train everything
    assert summary["sga"]["trainable"] < summary["sga"]["parameters"] / 2  # frozen XLM-R: the prompts train
    for row in summary.values():
        assert list(row["targets"]) == ["en_XX", "de_DE", "ru_RU", "zh_CN"]
        assert all(t["sentences_per_second"] > 0 for t in row["targets"].values())
        assert [t["zero_shot"] for t in row["targets"].values()] == [False, True, True, True]
    stage1_log = (tmp_path / "logs" / "train.csr_stage1.log").read_text()
    for pair in ("en_XX-de_DE", "en_XX-ru_RU", "en_XX-zh_CN"):  # every pair restored, zh_CN (unspaced) included
        assert f"train {pair} target side" in stage1_log
    with open(results / "compare.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert f"table {results / 'compare.md'}, JSON {results / 'compare.json'}, plot {results / 'compare.png'}" in out
    assert "| INFO |" not in out
    os.remove(results / "sga" / "test.zh_CN.txt")
    again = compare()  # every finished job skipped, the missing output generated again: the same table
    without_speed = lambda rows: [row.split(" | ")[:-2] + row.split(" | ")[-1:] for row in rows]  # noqa: E731
    assert without_speed([line for line in again.splitlines() if line.startswith("| ")][1:]) == without_speed(table[1:])
    assert (tmp_path / "logs" / "train.sga.log").read_text().count("$ fairseq-train") == 1
    assert (tmp_path / "logs" / "generate.sga.zh_CN.log").read_text().count("$ fairseq-generate") == 2
