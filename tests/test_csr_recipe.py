"""CSR end to end: lexicon pipeline -> code_switch_restore -> translation finetune -> BLEU.

Runs examples/csr/run.sh on the session's tiny benchmark and fixture with a handful of
updates, so every step of the recipe goes through the real command-line tools.
"""
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from fairseq.data import Dictionary

from conftest import REPO, run_tool, tool_env
from fairseq_xlgen.data.code_switching import CodeSwitchLexicon, UnitSegmenter, code_switch

pytestmark = pytest.mark.slow


def test_csr_recipe_runs_end_to_end_and_generates_restorations(benchmark_dir, pretrained_dir, tmp_path):
    work = tmp_path / "csr"
    zero_shot_root = tmp_path / "zero-shot"  # test-only pairs (paper 004 Table III: XX -> TGT never trained)
    for source in ("ru_RU", "zh_CN"):
        (zero_shot_root / f"{source}-de_DE").mkdir(parents=True)
        for lang in (source, "de_DE"):
            shutil.copy(os.path.join(benchmark_dir, "tasks", "translation", f"{source}-de_DE", f"test.{lang}"),
                        zero_shot_root / f"{source}-de_DE")
    env = {
        "ZERO_SHOT": "ru_RU,zh_CN", "ZERO_SHOT_ROOT": str(zero_shot_root),
        "TEXT_DIR": os.path.join(benchmark_dir, "tasks", "translation", "en_XX-de_DE"),
        "PRETRAINED": os.path.join(pretrained_dir, "mbart.cc25"),
        "STAGE1_UPDATES": "6", "STAGE2_UPDATES": "6", "AVERAGE": "2", "MAX_TOKENS": "1024",
        "W2V_ARGS": "--dim 32 --epochs 5 --min-count 2 --workers 1",
        "MAP_ARGS": "--max-iterations 30 --init-vocab 500",
    }
    run_tool("bash", os.path.join(REPO, "examples", "csr", "run.sh"), work, env=env)

    lexicon = (work / "lexicon" / "lexicon.src2tgt.tsv").read_text(encoding="utf-8").splitlines()
    assert lexicon and all(len(row.split("\t")) == 4 for row in lexicon)
    # the induced lexicons switch 35% of the switchable units of each side (Eq. 3's two sides)
    dictionary = Dictionary.load(os.path.join(env["PRETRAINED"], "dict.txt"))
    segmenter = UnitSegmenter(dictionary)
    for stream, (lang, direction) in enumerate((("en_XX", "src2tgt"), ("de_DE", "tgt2src"))):
        lex = CodeSwitchLexicon.from_tsv(str(work / "lexicon" / f"lexicon.{direction}.tsv"), dictionary, k=3)
        counts = np.zeros(3)
        for i, line in enumerate((work / "data" / "spm" / f"train.{lang}").read_text(encoding="utf-8").splitlines()):
            tokens = np.array([dictionary.index(p) for p in line.split()], dtype=np.int64)
            r = code_switch(tokens, segmenter, lex, np.random.default_rng([1, stream, 1, i]))
            counts += (r.switched, r.switchable, r.units)
        assert counts[0] / counts[1] == pytest.approx(0.35, abs=0.02), (lang, counts)
        assert counts[1] / counts[2] > 0.3, (lang, counts)  # the lexicon covers a real share of the units
    for system in ("baseline", "stage2"):
        scores = json.loads((work / system / "scores.json").read_text())
        assert 0.0 <= scores["scores"]["bleu"] <= 100.0
        assert (work / system / "averaged.pt").is_file()
    # stage 2 started from stage 1, which trained on the restore task
    assert (work / "stage1" / "checkpoint_last.pt").is_file()
    # Eq. 4 distance of the pretrained model and both finetuned systems, and the summary table
    distance = json.loads((work / "distance.json").read_text())
    assert len(distance["models"]) == 3 and all(m["distance"]["en_XX-de_DE"] > 0 for m in distance["models"])
    summary = (work / "summary.md").read_text(encoding="utf-8")
    assert "| mBART finetune |" in summary and "| CSR (restore + finetune) |" in summary
    # the zero-shot pairs: Cyrillic ru_RU and unspaced zh_CN sources decoded into de_DE by both systems, each
    # scored against its references
    for pair in ("ru_RU-de_DE", "zh_CN-de_DE"):
        assert f"BLEU {pair} (zero-shot)" in summary
        n_test = len((zero_shot_root / pair / "test.de_DE").read_text(encoding="utf-8").splitlines())
        for system in ("baseline", "stage2"):
            assert json.loads((work / system / f"scores.{pair}.json").read_text())["lines"] == n_test
            hypotheses = [line for line in (work / system / f"generate-test.{pair}.txt").read_text(
                encoding="utf-8").splitlines() if line.startswith("H-")]
            assert len(hypotheses) == n_test

    # fairseq-generate restores code-switched target sentences with the task itself
    out = run_tool("fairseq-generate", work / "data", "--user-dir", os.path.join(REPO, "fairseq_xlgen"),
                   "--task", "code_switch_restore", "--lexicon-prefix", work / "lexicon" / "lexicon",
                   "--restore-sides", "target", "--langs", _cc25(), "--source-lang", "en_XX", "--target-lang", "de_DE",
                   "--path", work / "stage1" / "checkpoint_last.pt", "--gen-subset", "valid", "--beam", "2",
                   "--max-len-b", "30", "--batch-size", "32")
    assert sum(line.startswith("H-") for line in out.splitlines()) == 50


def test_csr_recipe_on_chinese_switches_whole_gold_words(benchmark_dir, pretrained_dir, tmp_path):
    """en_XX-zh_CN: the recipe's default unit for Chinese is words (here cut as the benchmark's
    gold segmentation), from word2vec to the lexicon to stage 1's switcher."""
    work = tmp_path / "csr-zh"
    text_dir = os.path.join(benchmark_dir, "tasks", "translation", "en_XX-zh_CN")
    env = {
        "TEXT_DIR": text_dir, "SRC": "en_XX", "TGT": "zh_CN", "PRETRAINED": os.path.join(pretrained_dir, "mbart.cc25"),
        "SEGMENTER": f"jieba-dict:{text_dir}/train.zh_CN.words", "RESTARTS": "2",
        "STAGE1_UPDATES": "4", "STAGE2_UPDATES": "2", "AVERAGE": "1", "MAX_TOKENS": "1024",
        "W2V_ARGS": "--dim 32 --epochs 5 --min-count 2 --workers 1",
        "MAP_ARGS": "--max-iterations 30 --init-vocab 500",
    }
    log = run_tool("bash", os.path.join(REPO, "examples", "csr", "run.sh"), work, env=env, timeout=1800)
    assert json.loads((work / "lexicon" / "lexicon.json").read_text())["lexicon_unit"] == "words"
    assert [r["seed"] for r in json.loads((work / "lexicon" / "mapped.zh_CN.vec.json").read_text())["restarts"]] == [0, 1]
    with open(os.path.join(text_dir, "train.zh_CN.words"), encoding="utf-8") as f:
        gold_words = {w for line in f for w in line.split()}
    rows = [line.split("\t") for line in (work / "lexicon" / "lexicon.tgt2src.tsv").read_text(encoding="utf-8").splitlines()]
    assert rows and {row[0] for row in rows} <= gold_words  # Chinese queries are whole gold words, not pieces
    assert len({row[0] for row in rows}) > 100
    # stage 1 switched about 35% of the switchable words of each side (its start-up log)
    rates = re.findall(r"train en_XX-zh_CN (source|target) side, first \d+ sentences: [\d.]+% of the units are "
                       r"switchable \(lexicon coverage\), ([\d.]+)% of those switched", log)
    assert {side for side, _ in rates} == {"source", "target"}
    assert all(abs(float(rate) - 35) < 2.5 for _, rate in rates), rates
    assert (work / "stage2" / "scores.json").is_file() and (work / "baseline" / "scores.json").is_file()


@pytest.mark.parametrize("zero_shot, expected", [
    ("de_DE", "ZERO_SHOT=de_DE: de_DE is a language of the trained pair en_XX-de_DE"),
    ("ru_RU", "ZERO_SHOT=ru_RU: set ZERO_SHOT_ROOT to a directory of XX-de_DE/ test pairs")])
def test_recipe_refuses_a_bad_zero_shot_setting_before_any_work(benchmark_dir, pretrained_dir, tmp_path, zero_shot,
                                                                 expected):
    env = tool_env(TEXT_DIR=os.path.join(benchmark_dir, "tasks", "translation", "en_XX-de_DE"),
                   PRETRAINED=os.path.join(pretrained_dir, "mbart.cc25"), ZERO_SHOT=zero_shot)
    env.pop("ZERO_SHOT_ROOT", None)
    result = subprocess.run(["bash", os.path.join(REPO, "examples", "csr", "run.sh"), tmp_path / "work"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1] == f"error: {expected}"
    assert not (tmp_path / "work").exists()


def test_prepare_translation_needs_both_sides_of_a_split_and_one_split(pretrained_dir, tmp_path):
    script = os.path.join(REPO, "data_prep", "prepare_translation.sh")
    model = os.path.join(pretrained_dir, "mbart.cc25")
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "test.ru_RU").write_text("\u043f\u0440\u0438\u0432\u0435\u0442\n", encoding="utf-8")
    for expected in (f"{tmp_path}/text/test.en_XX: missing (each split needs both sides)",
                     f"{tmp_path}/text: no {{train,valid,test}}.de_DE (check TEXT_DIR and the SRC/TGT codes)"):
        src = "ru_RU" if "test.en_XX" in expected else "de_DE"
        result = subprocess.run(["bash", script, tmp_path / "text", src, "en_XX", model, tmp_path / "out"],
                                capture_output=True, text=True)
        assert result.returncode == 2 and result.stderr.strip().splitlines()[-1] == f"error: {expected}"
        assert not (tmp_path / "out").exists()


def test_generate_with_both_sides_asks_for_one(benchmark_dir, translation_bin, pretrained_dir, tmp_path):
    prefix = tmp_path / "lexicon"
    with open(os.path.join(pretrained_dir, "mbart.cc25", "dict.txt"), encoding="utf-8") as f:
        a, b = [w for w in (line.split()[0] for line in f) if w.startswith("\u2581") and len(w) > 1][:2]
    for direction in ("src2tgt", "tgt2src"):
        (tmp_path / f"lexicon.{direction}.tsv").write_text(f"{a}\t{b}\t0.5\t1\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="pass --restore-sides source or --restore-sides target"):
        run_tool("fairseq-generate", translation_bin, "--user-dir", os.path.join(REPO, "fairseq_xlgen"),
                 "--task", "code_switch_restore", "--lexicon-prefix", prefix, "--langs", _cc25(),
                 "--source-lang", "en_XX", "--target-lang", "de_DE",
                 "--path", os.path.join(pretrained_dir, "mbart.cc25", "model.pt"), "--gen-subset", "valid")


def _cc25():
    from fairseq_xlgen.pretrained import MBART_CC25_LANGS

    return ",".join(MBART_CC25_LANGS)
