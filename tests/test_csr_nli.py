"""examples/csr/nli.sh: CSR on cross-lingual NLI (paper 004 Table V) end to end on the tiny benchmark, with the
induced and the gold lexicons, on ru_RU (Cyrillic) and zh_CN (unspaced, word units)."""
import os
import re

import pytest

from conftest import REPO, run_tool, tool_env

NLI = os.path.join(REPO, "examples", "csr", "nli.sh")


def _env(benchmark_dir, pretrained_dir, **extra):
    return {"TASK_DIR": os.path.join(benchmark_dir, "tasks", "nli"), "MONO_DIR": os.path.join(benchmark_dir, "mono"),
            "PRETRAINED": os.path.join(pretrained_dir, "mbart.cc25"), "GOLD_DIR": os.path.join(benchmark_dir, "lexicon"),
            "SEGMENTER": f"jieba-dict:{os.path.join(benchmark_dir, 'mono', 'zh_CN.words.txt')}",
            "LANGS": "en_XX,ru_RU,zh_CN", **extra}


@pytest.mark.slow
def test_csr_on_nli_tabulates_accuracy_per_language_for_the_baseline_and_both_lexicons(
        benchmark_dir, pretrained_dir, tmp_path):
    work = tmp_path / "nli"
    env = _env(benchmark_dir, pretrained_dir, STAGE1_UPDATES="3", STAGE2_UPDATES="4", WARMUP="2", RESTARTS="1",
               W2V_ARGS="--dim 32 --epochs 5 --min-count 2 --workers 1",
               MAP_ARGS="--max-iterations 30 --init-vocab 500")
    run_tool("bash", NLI, work, "tiny", env=env, timeout=1800)

    header, *rows = [line.split("\t") for line in (work / "summary.tsv").read_text().splitlines()]
    assert header == ["system", "en_XX", "ru_RU", "zh_CN", "zero_shot_mean"]
    assert [row[0] for row in rows] == ["baseline", "csr", "csr_gold"]
    with open(os.path.join(benchmark_dir, "tasks", "nli", "en_XX", "test.label"), encoding="utf-8") as f:
        n_test = sum(1 for _ in f)
    for system, en, ru, zh, mean in rows:
        for accuracy in (en, ru, zh):  # a share of the test pairs
            assert float(accuracy) * n_test / 100 == pytest.approx(round(float(accuracy) * n_test / 100), abs=1e-6)
        assert float(mean) == pytest.approx((float(ru) + float(zh)) / 2, abs=0.005)  # en_XX is not zero-shot

    # the baseline trains stage 1 + stage 2 updates, each CSR system 3 + 4; the checkpoint is chosen on en_XX valid
    for system, updates in (("baseline", 7), ("csr", 4), ("csr_gold", 4)):
        log = (work / system / "train.log").read_text(encoding="utf-8")
        assert re.findall(r"\| train \| epoch \d+ \|.*\| num_updates (\d+) \|", log)[-1] == str(updates)
        assert "valid on 'valid.en_XX' subset" in log and "valid.ru_RU" not in log and "valid.zh_CN" not in log
    for lexicon in ("induced", "gold"):
        log = (work / f"stage1_{lexicon}" / "train.log").read_text(encoding="utf-8")
        rates = re.findall(r"train en_XX-(ru_RU|zh_CN) (source|target) side, first \d+ sentences: [\d.]+% of the units "
                           r"are switchable \(lexicon coverage\), ([\d.]+)% of those switched", log)
        assert {(lang, side) for lang, side, _ in rates} == {(lang, side) for lang in ("ru_RU", "zh_CN")
                                                             for side in ("source", "target")}
        assert all(abs(float(rate) - 35) < 3 for _, _, rate in rates), rates  # the paper's 35 % of the switchable
    # the gold lexicon in both directions, whole zh_CN words
    gold = open(os.path.join(benchmark_dir, "lexicon", "en_XX-zh_CN.gold.tsv"), encoding="utf-8").read().splitlines()
    src2tgt = (work / "lexicons" / "gold" / "en_XX-zh_CN" / "lexicon.src2tgt.tsv").read_text(encoding="utf-8")
    tgt2src = (work / "lexicons" / "gold" / "en_XX-zh_CN" / "lexicon.tgt2src.tsv").read_text(encoding="utf-8")
    assert src2tgt.splitlines() == [f"{pair}\t1.0\t1" for pair in gold]
    assert tgt2src.splitlines()[0] == "\t".join(gold[0].split("\t")[::-1]) + "\t1.0\t1"


@pytest.mark.parametrize("zh_lines, message", [
    (None, "{gold}/en_XX-zh_CN.gold.tsv: missing or empty"),
    ("dog\t狗\ncat 猫\n", '{gold}/en_XX-zh_CN.gold.tsv:2: expected source<TAB>target, got "cat 猫"'),
])
def test_a_bad_gold_lexicon_is_refused_in_one_line_before_any_work(benchmark_dir, pretrained_dir, tmp_path,
                                                                    zh_lines, message):
    import subprocess

    gold = tmp_path / "gold"
    gold.mkdir()
    (gold / "en_XX-ru_RU.gold.tsv").write_text("dog\tсобака\n", encoding="utf-8")
    if zh_lines is not None:
        (gold / "en_XX-zh_CN.gold.tsv").write_text(zh_lines, encoding="utf-8")
    env = tool_env(**_env(benchmark_dir, pretrained_dir, GOLD_DIR=str(gold)))
    proc = subprocess.run(["bash", NLI, str(tmp_path / "work"), "tiny"], env=env, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert message.format(gold=gold) in proc.stderr
    assert not (tmp_path / "work").exists()
