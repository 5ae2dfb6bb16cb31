"""Session-wide fixtures: the tiny synthetic benchmark and tiny pretrained models, built once."""
import importlib.util
import json
import os
import socket
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def load_example(relative_path):
    """A module of examples/ by its path (a recipe's script, beside its run.py: examples/ is not a package)."""
    path = os.path.join(REPO, "examples", relative_path)
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tool_env(**extra):
    """The environment for console scripts: this venv's bin first, one thread, no warnings."""
    return dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), PYTHONWARNINGS="ignore",
                OMP_NUM_THREADS="1", **extra)


def free_port():
    """A TCP port free on this machine now (torchrun's --master_port, gloo's init method)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    from fairseq_xlgen.testbed.synthetic_benchmark import generate_benchmark

    out = str(tmp_path_factory.mktemp("benchmark") / "tiny")
    generate_benchmark(out, seed=1, size="tiny", progress=False)
    return out


@pytest.fixture(scope="session")
def pretrained_dir(benchmark_dir, tmp_path_factory):
    """``mbart.cc25/`` and ``xlmr.base/`` tiny fixtures, SentencePiece trained on the benchmark's monolingual text."""
    from fairseq_xlgen.testbed.pretrained_fixtures import build_fixtures
    from fairseq_xlgen.testbed.synthetic_benchmark import LANGUAGES

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


def mbart_finetune_args(data_bin, pretrained_dir, save_dir, src="en_XX", tgt="de_DE", max_update=8,
                        task="translation_from_pretrained_bart", init=None, task_args=()):
    """``fairseq-train`` arguments of an mBART finetune on the tiny fixture (as the README's recipe).

    ``task``/``task_args``: CSR stage 1 is ``code_switch_restore`` with ``--lexicon-prefix``;
    ``init``: the checkpoint to start from (default: the pretrained ``model.pt``; CSR stage 2: stage 1's).
    """
    from fairseq_xlgen.pretrained import MBART_ARCH_FLAGS, MBART_CC25_LANGS

    return [
        data_bin, "--user-dir", os.path.join(REPO, "fairseq_xlgen"),
        "--task", task, *task_args, "--langs", ",".join(MBART_CC25_LANGS),
        "--source-lang", src, "--target-lang", tgt, "--arch", "mbart_tiny", *MBART_ARCH_FLAGS,
        "--finetune-from-model", init or os.path.join(pretrained_dir, "mbart.cc25", "model.pt"),
        "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.2",
        "--optimizer", "adam", "--adam-betas", "(0.9, 0.98)", "--lr", "1e-3",
        "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "4",
        "--dropout", "0.1", "--attention-dropout", "0.1",
        "--max-tokens", "512", "--max-update", str(max_update), "--save-dir", save_dir,
        "--no-epoch-checkpoints", "--log-format", "json", "--log-interval", "1",
        "--seed", "3", "--num-workers", "0", "--disable-validation",
    ]


def unused_word(dictionary, text):
    """A ``▁`` piece of the dictionary that the text never uses (a recognisable switch marker)."""
    used = set(text.split())
    return next(s for s in dictionary.symbols[dictionary.nspecial:] if s.startswith("\u2581") and s not in used)


def write_marker_lexicons(data_dir, src, tgt, prefix, avoid=""):
    """CSR lexicons ``PREFIX.{src2tgt,tgt2src}.tsv`` of the binarized SRC-TGT data in DATA_DIR that map every
    switchable unit of a side to one marker piece of that side (none in AVOID); returns {lang: marker}."""
    from fairseq.data import Dictionary

    from fairseq_xlgen.lexicon.switch_units import group_units, is_insertable

    dictionary = Dictionary.load(os.path.join(data_dir, f"dict.{src}.txt"))
    text = {lang: open(os.path.join(data_dir, "spm", f"train.{lang}"), encoding="utf-8").read()
            for lang in (src, tgt)}
    markers = {src: unused_word(dictionary, text[src] + text[tgt] + " " + avoid)}
    markers[tgt] = unused_word(dictionary, text[src] + text[tgt] + " " + avoid + " " + markers[src])
    for lang, direction in ((src, "src2tgt"), (tgt, "tgt2src")):
        units = {" ".join(u) for line in text[lang].splitlines() for u in group_units(line.split()) if is_insertable(u)}
        with open(f"{prefix}.{direction}.tsv", "w", encoding="utf-8") as f:
            f.writelines(f"{unit}\t{markers[lang]}\t0.5\t1\n" for unit in sorted(units))
    return markers


@pytest.fixture(scope="session")
def restore_lexicon(translation_bin, tmp_path_factory):
    """The marker lexicons of the en_XX-de_DE translation data; returns (PREFIX, {lang: marker})."""
    lexicon = str(tmp_path_factory.mktemp("lexicon") / "lexicon")
    return lexicon, write_marker_lexicons(translation_bin, "en_XX", "de_DE", lexicon)


LAFT_LANGS = ("en_XX", "zh_CN")


@pytest.fixture(scope="session")
def laft_data(benchmark_dir, pretrained_dir, tmp_path_factory):
    """LAFT's data: ``denoising/`` (en_XX + zh_CN monolingual text) and ``summarization/``."""
    root = tmp_path_factory.mktemp("laft_data")
    model = os.path.join(pretrained_dir, "mbart.cc25")
    for lang in LAFT_LANGS:
        run_tool("bash", os.path.join(REPO, "data_prep", "prepare_denoising.sh"),
                 os.path.join(benchmark_dir, "mono", f"{lang}.txt"), lang, model, root / "denoising", "50")
        run_tool("bash", os.path.join(REPO, "data_prep", "prepare_monolingual_task.sh"),
                 os.path.join(benchmark_dir, "tasks", "summarization"), lang, model, root / "summarization")
    return root


def laft_common_args(save_dir, max_update, arch="mbart_laft_tiny"):
    from fairseq_xlgen.pretrained import MBART_ARCH_FLAGS

    return ["--user-dir", os.path.join(REPO, "fairseq_xlgen"), "--arch", arch, *MBART_ARCH_FLAGS,
            "--optimizer", "adam", "--adam-betas", "(0.9, 0.98)", "--lr", "3e-3", "--lr-scheduler", "polynomial_decay",
            "--warmup-updates", "2", "--total-num-update", "40", "--max-update", str(max_update),
            "--dropout", "0", "--attention-dropout", "0", "--max-tokens", "1024", "--save-dir", str(save_dir),
            "--no-epoch-checkpoints", "--log-format", "json", "--log-interval", "1", "--seed", "1",
            "--num-workers", "0", "--disable-validation"]


def laft_stage1_args(data, pretrained_dir, components, save_dir, max_update):
    """LAFT stage 1 (paper 001 §3.3): mBART text infilling on en_XX + zh_CN, backbone frozen."""
    from fairseq_xlgen.pretrained import MBART_TEXT_INFILLING_FLAGS

    return [data / "denoising", "--task", "multilingual_denoising", "--langs", ",".join(LAFT_LANGS), "--add-lang-token",
            "--laft-stage", "1", "--laft-langs", ",".join(LAFT_LANGS), "--language-components", components,
            "--finetune-from-model", os.path.join(pretrained_dir, "mbart.cc25", "model.pt"),
            *MBART_TEXT_INFILLING_FLAGS, "--no-whole-word-mask-langs", "zh_CN",
            "--sample-break-mode", "complete", "--tokens-per-sample", "256",
            "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1",
            *laft_common_args(save_dir, max_update)]


def laft_summarization_args(data, task="multi_source_summarization"):
    from fairseq_xlgen.pretrained import MBART_CC25_LANGS

    return [data / "summarization", "--task", task, "--train-langs", "en_XX", "--eval-lang", "zh_CN",
            "--langs", ",".join(MBART_CC25_LANGS)]


def laft_stage2_args(data, stage1_checkpoint, save_dir, max_update):
    """LAFT stage 2: zero-shot summarization trained on en_XX, only the task module trained."""
    return [*laft_summarization_args(data), "--laft-stage", "2", "--laft-langs", ",".join(LAFT_LANGS),
            "--finetune-from-model", stage1_checkpoint, "--criterion", "label_smoothed_cross_entropy",
            "--label-smoothing", "0.1", *laft_common_args(save_dir, max_update)]


SGA_PAIRS = ("de_DE-en_XX", "ru_RU-en_XX", "zh_CN-en_XX")


@pytest.fixture(scope="session")
def sga_bin(benchmark_dir, pretrained_dir, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("sga") / "data")
    run_tool("bash", os.path.join(REPO, "data_prep", "prepare_sga.sh"),
             os.path.join(benchmark_dir, "tasks", "translation"), os.path.join(pretrained_dir, "xlmr.base"), out,
             *SGA_PAIRS)
    return out


def sga_train_args(data, pretrained_dir, save_dir, max_update, lang_pairs="de_DE-en_XX,ru_RU-en_XX", extra=()):
    """SGA on the tiny XLM-R (paper 003): CTC alignment unless ``extra`` has ``--alignment mask_predict``."""
    return [
        data, "--user-dir", os.path.join(REPO, "fairseq_xlgen"), "--task", "sga_translation",
        "--lang-pairs", lang_pairs, "--source-lang", "de_DE", "--target-lang", "en_XX",
        "--arch", "xlmr_sga_tiny", "--pretrained-xlmr-checkpoint", os.path.join(pretrained_dir, "xlmr.base"),
        "--prompt-length", "8", "--criterion", "sga_ctc", "--optimizer", "adam", "--adam-betas", "(0.9, 0.98)",
        "--lr", "2e-2", "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "5", "--max-tokens", "1024",
        "--max-update", str(max_update), "--save-dir", save_dir, "--no-epoch-checkpoints", "--log-format", "json",
        "--log-interval", "1", "--seed", "3", "--num-workers", "0", "--disable-validation", *extra,
    ]


@pytest.fixture(scope="session")
def xlrs_summarization_data(benchmark_dir, pretrained_dir, tmp_path_factory):
    """Summarization data of en_XX, de_DE, ru_RU and the SentencePiece-encoded parallel sentences
    ``PARALLEL.{lang}`` of the XLRS validation metric; returns (DATA, PARALLEL)."""
    root = tmp_path_factory.mktemp("xlrs_summarization")
    model_dir = os.path.join(pretrained_dir, "mbart.cc25")
    data, parallel = root / "data", root / "parallel"
    for lang in ("en_XX", "de_DE", "ru_RU"):
        run_tool("bash", os.path.join(REPO, "data_prep", "prepare_monolingual_task.sh"),
                 os.path.join(benchmark_dir, "tasks", "summarization"), lang, model_dir, data)
        pair = "de_DE-en_XX" if lang != "ru_RU" else "de_DE-ru_RU"
        run_tool("xlgen-spm-encode", "--model", os.path.join(model_dir, "sentence.bpe.model"), "--no-progress",
                 "--inputs", os.path.join(benchmark_dir, "parallel", f"valid.{pair}.{lang}"),
                 "--outputs", f"{parallel}.{lang}")
    return data, parallel


def multi_source_xlrs_args(data, parallel, pretrained_dir, save_dir, max_update=None, max_epoch=None):
    """Two-source (en_XX + de_DE, budget 40) summarization finetune with XLRS in every validation."""
    from fairseq_xlgen.pretrained import MBART_ARCH_FLAGS, MBART_CC25_LANGS

    stop = ["--max-update", str(max_update)] if max_update else ["--max-epoch", str(max_epoch)]
    return [
        data, "--user-dir", os.path.join(REPO, "fairseq_xlgen"), "--task", "multi_source_summarization",
        "--langs", ",".join(MBART_CC25_LANGS), "--train-langs", "en_XX,de_DE", "--train-budget", "40",
        "--xlrs-parallel-prefix", parallel, "--xlrs-langs", "en_XX,de_DE,ru_RU",
        "--arch", "mbart_tiny", *MBART_ARCH_FLAGS,
        "--finetune-from-model", os.path.join(pretrained_dir, "mbart.cc25", "model.pt"),
        "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.2", "--optimizer", "adam",
        "--lr", "1e-3", "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "2", "--max-tokens", "1024",
        *stop, "--save-dir", save_dir, "--log-format", "json", "--log-interval", "1",
        "--seed", "1", "--num-workers", "0",
    ]


def json_logs(output, kind):
    """The records of one kind (``train_inner``, ``valid``, ...) of a ``--log-format json`` run."""
    return [json.loads(line.split(f"| {kind} |", 1)[1]) for line in output.splitlines() if f"| {kind} |" in line]


def train_inner_logs(output):
    """The per-update ``train_inner`` records of a ``--log-format json --log-interval 1`` run."""
    return [{k: float(v) for k, v in record.items()} for record in json_logs(output, "train_inner")]


@pytest.fixture(scope="session")
def laft_components(benchmark_dir, pretrained_dir, tmp_path_factory):
    """LAFT language components (k=6) of the tiny mBART for all benchmark languages."""
    out = str(tmp_path_factory.mktemp("laft") / "components.pt")
    run_tool("xlgen-language-components", "--model-dir", os.path.join(pretrained_dir, "mbart.cc25"),
             "--out", out, "--no-progress", "--text",
             *(f"{lang}={os.path.join(benchmark_dir, 'mono', lang + '.txt')}"
               for lang in ("en_XX", "de_DE", "ru_RU", "zh_CN")))
    return out
