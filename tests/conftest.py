"""Session-wide fixtures: the tiny synthetic benchmark and tiny pretrained models, built once."""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def tool_env(**extra):
    """The environment for console scripts: this venv's bin first, one thread, no warnings."""
    return dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), PYTHONWARNINGS="ignore",
                OMP_NUM_THREADS="1", **extra)


def run_tool(*cmd, cwd=None, env=None, timeout=600):
    """Run a command (console scripts of this venv first on PATH); on failure show its output's tail."""
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=tool_env(**(env or {})),
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{tail}")
    return proc.stdout + proc.stderr


@pytest.fixture(scope="session")
def benchmark_dir(tmp_path_factory):
    from fairseq_xlgen.data.synthetic_benchmark import generate_benchmark

    out = str(tmp_path_factory.mktemp("benchmark") / "tiny")
    generate_benchmark(out, seed=1, size="tiny", progress=False)
    return out


@pytest.fixture(scope="session")
def pretrained_dir(benchmark_dir, tmp_path_factory):
    """``mbart.cc25/`` and ``xlmr.base/`` tiny fixtures, SentencePiece trained on the benchmark's monolingual text."""
    from fairseq_xlgen.data.pretrained_fixtures import build_fixtures
    from fairseq_xlgen.data.synthetic_benchmark import LANGUAGES

    out = str(tmp_path_factory.mktemp("pretrained") / "fixtures")
    build_fixtures(out, [os.path.join(benchmark_dir, "mono", f"{lang}.txt") for lang in LANGUAGES])
    return out


@pytest.fixture(scope="session")
def translation_bin(benchmark_dir, pretrained_dir, tmp_path_factory):
    """en_XX -> de_DE translation data binarized with the tiny mBART dictionary."""
    out = str(tmp_path_factory.mktemp("translation"))
    run_tool("bash", os.path.join(REPO, "data_prep", "prepare_translation.sh"),
             os.path.join(benchmark_dir, "tasks", "translation", "en_XX-de_DE"), "en_XX", "de_DE",
             os.path.join(pretrained_dir, "mbart.cc25"), out)
    return out


def mbart_finetune_args(data_bin, pretrained_dir, save_dir, src="en_XX", tgt="de_DE", max_update=8):
    """``fairseq-train`` arguments of an mBART finetune on the tiny fixture (as the README's recipe)."""
    from fairseq_xlgen.pretrained import MBART_ARCH_FLAGS, MBART_CC25_LANGS

    return [
        data_bin, "--user-dir", os.path.join(REPO, "fairseq_xlgen"),
        "--task", "translation_from_pretrained_bart", "--langs", ",".join(MBART_CC25_LANGS),
        "--source-lang", src, "--target-lang", tgt, "--arch", "mbart_tiny", *MBART_ARCH_FLAGS,
        "--finetune-from-model", os.path.join(pretrained_dir, "mbart.cc25", "model.pt"),
        "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.2",
        "--optimizer", "adam", "--adam-betas", "(0.9, 0.98)", "--lr", "1e-3",
        "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "4",
        "--dropout", "0.1", "--attention-dropout", "0.1",
        "--max-tokens", "512", "--max-update", str(max_update), "--save-dir", save_dir,
        "--no-epoch-checkpoints", "--log-format", "json", "--log-interval", "1",
        "--seed", "3", "--num-workers", "0", "--disable-validation",
    ]


def train_inner_logs(output):
    """The per-update ``train_inner`` records of a ``--log-format json --log-interval 1`` run."""
    records = []
    for line in output.splitlines():
        if "| train_inner |" in line:
            record = json.loads(line.split("| train_inner |", 1)[1])
            records.append({k: float(v) for k, v in record.items()})
    return records


@pytest.fixture(scope="session")
def laft_components(benchmark_dir, pretrained_dir, tmp_path_factory):
    """LAFT language components (k=6) of the tiny mBART for all benchmark languages."""
    out = str(tmp_path_factory.mktemp("laft") / "components.pt")
    run_tool("xlgen-language-components", "--model-dir", os.path.join(pretrained_dir, "mbart.cc25"),
             "--out", out, "--no-progress", "--text",
             *(f"{lang}={os.path.join(benchmark_dir, 'mono', lang + '.txt')}"
               for lang in ("en_XX", "de_DE", "ru_RU", "zh_CN")))
    return out
