"""examples/<method>/config/*.yaml under fairseq-hydra-train train exactly as the recipes'
fairseq-train commands (issue 10 §6): four updates of each on the tiny fixture, the same
per-update losses, gradient norms, learning rates and batch sizes at the logged precision.

Each case covers one of our tasks with the model of its recipe: code_switch_restore + mbart_tiny
(CSR stage 1), multi_source_summarization + mbart_tiny (two-source), multi_source_summarization +
mbart_laft_tiny (LAFT stage 2, from plain mBART with its language components),
language_adversarial_summarization + mbart_tm_adv_tiny + language_adversarial (TM+adv), sga_translation +
xlmr_sga_tiny + sga_ctc (SGA). Dropout stays on: both runs draw it from the same seed. Fast: the tasks' dataclasses keep every
flag of fairseq's argparse-only parent task as it was.
"""
import argparse
import dataclasses
import os

import pytest
from fairseq.tasks import TASK_DATACLASS_REGISTRY, TASK_REGISTRY
from fairseq.tasks.translation_from_pretrained_bart import TranslationFromPretrainedBARTTask

from fairseq_xlgen.lexicon.switch_units import group_units, is_insertable
from fairseq_xlgen.pretrained import MBART_ARCH_FLAGS, MBART_CC25_LANGS

from conftest import REPO, run_tool, train_inner_logs

USER_DIR = os.path.join(REPO, "fairseq_xlgen")
# the recipe's settings shrunk to four logged updates without checkpoints, on both sides
TINY_OVERRIDES = ["optimization.max_update=4", "common.log_interval=1", "common.log_format=json",
                  "dataset.max_tokens=1024", "dataset.disable_validation=true", "checkpoint.no_save=true"]
TINY_FLAGS = ["--max-update", "4", "--log-interval", "1", "--log-format", "json", "--max-tokens", "1024",
              "--disable-validation", "--no-save"]
TIMING = {"wps", "ups", "wall", "train_wall"}


@pytest.mark.parametrize("name", ["code_switch_restore", "multi_source_summarization",
                                  "language_adversarial_summarization"])
def test_task_dataclass_keeps_the_flags_of_translation_from_pretrained_bart(name):
    """Same default, help and action for every flag of the parent task (fairseq-train command lines
    keep their meaning); every field of the dataclass has a help string."""
    import fairseq_xlgen  # noqa: F401  (registers the tasks)

    def flags(add_args):
        parser = argparse.ArgumentParser()
        add_args(parser)
        return {a.dest: (a.default, a.help, type(a).__name__) for a in parser._actions if a.dest != "help"}

    parent, ours = flags(TranslationFromPretrainedBARTTask.add_args), flags(TASK_REGISTRY[name].add_args)
    assert {"langs", "prepend_bos", "source_lang", "max_source_positions"} <= parent.keys()
    assert {dest: ours.get(dest) for dest in parent} == parent
    own = [f.name for f in dataclasses.fields(TASK_DATACLASS_REGISTRY[name])
           if f.name != "_name" and f.name not in parent and not str(f.default).startswith("${")]  # not II(...)
    assert own and all(ours[dest][1] for dest in own)


@pytest.fixture(scope="module")
def summarization_bin(benchmark_dir, pretrained_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("hydra_summarization")
    for lang in ("en_XX", "de_DE"):
        run_tool("bash", os.path.join(REPO, "data_prep", "prepare_monolingual_task.sh"),
                 os.path.join(benchmark_dir, "tasks", "summarization"), lang,
                 os.path.join(pretrained_dir, "mbart.cc25"), out)
    return str(out)


@pytest.fixture(scope="module")
def csr_lexicon(translation_bin, tmp_path_factory):
    """PREFIX.{src2tgt,tgt2src}.tsv: each switchable unit of one side paired with a unit of the other."""
    prefix = str(tmp_path_factory.mktemp("hydra_lexicon") / "lexicon")
    units = {}
    for lang in ("en_XX", "de_DE"):
        with open(os.path.join(translation_bin, "spm", f"train.{lang}"), encoding="utf-8") as f:
            units[lang] = sorted({" ".join(u) for line in f for u in group_units(line.split()) if is_insertable(u)})
    for direction, (a, b) in (("src2tgt", ("en_XX", "de_DE")), ("tgt2src", ("de_DE", "en_XX"))):
        with open(f"{prefix}.{direction}.tsv", "w", encoding="utf-8") as f:
            f.writelines(f"{unit}\t{units[b][i % len(units[b])]}\t0.5\t1\n" for i, unit in enumerate(units[a]))
    return prefix


@pytest.fixture(scope="module")
def monolingual_bin(benchmark_dir, pretrained_dir, tmp_path_factory):
    """zh_CN monolingual batches of TM+adv (data_prep/prepare_denoising.sh)."""
    out = tmp_path_factory.mktemp("hydra_monolingual")
    run_tool("bash", os.path.join(REPO, "data_prep", "prepare_denoising.sh"),
             os.path.join(benchmark_dir, "mono", "zh_CN.txt"), "zh_CN", os.path.join(pretrained_dir, "mbart.cc25"),
             out, "50")
    return str(out)


@pytest.fixture(scope="module")
def sga_bin(benchmark_dir, pretrained_dir, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("hydra_sga") / "data")
    run_tool("bash", os.path.join(REPO, "data_prep", "prepare_sga.sh"),
             os.path.join(benchmark_dir, "tasks", "translation"), os.path.join(pretrained_dir, "xlmr.base"), out,
             "de_DE-en_XX", "ru_RU-en_XX")
    return out


MBART_TRAINING = [  # the flags the mBART recipes' run.sh share
    "--optimizer", "adam", "--adam-betas", "(0.9, 0.98)", "--dropout", "0.1", "--attention-dropout", "0.1",
    "--max-tokens", "2048", "--seed", "1", "--num-workers", "0"]
LAFT_TRAINING = [  # examples/laft/run.sh SIZE tiny: train()
    *MBART_ARCH_FLAGS, *MBART_TRAINING, "--adam-eps", "1e-6", "--lr", "1e-3", "--lr-scheduler", "polynomial_decay",
    "--warmup-updates", "20", "--total-num-update", "120", "--max-update", "120", "--no-epoch-checkpoints",
    "--disable-validation", "--log-format", "json", "--log-interval", "50"]


def _mbart_model(request):
    return os.path.join(request.getfixturevalue("pretrained_dir"), "mbart.cc25", "model.pt")


def csr_stage1(request, save):
    data, lexicon = request.getfixturevalue("translation_bin"), request.getfixturevalue("csr_lexicon")
    model = _mbart_model(request)
    overrides = [f"task.data={data}", f"task.lexicon_prefix={lexicon}", f"checkpoint.finetune_from_model={model}"]
    command = [  # examples/csr/run.sh SIZE tiny, stage 1
        data, "--task", "code_switch_restore", "--lexicon-prefix", lexicon, "--langs", ",".join(MBART_CC25_LANGS),
        "--source-lang", "en_XX", "--target-lang", "de_DE", "--arch", "mbart_tiny", *MBART_ARCH_FLAGS,
        *MBART_TRAINING, "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.2",
        "--lr", "1e-3", "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "100", "--log-interval", "100",
        "--no-epoch-checkpoints", "--finetune-from-model", model, "--max-update", "200", "--save-dir", save,
        "--save-interval-updates", "20", "--keep-interval-updates", "3"]
    return "csr", "stage1", overrides, command


def multisource_two_source(request, save):
    data, model = request.getfixturevalue("summarization_bin"), _mbart_model(request)
    overrides = [f"task.data={data}", "task.xlrs_parallel_prefix=", f"checkpoint.finetune_from_model={model}"]
    command = [  # examples/multisource/run.sh SIZE tiny, the two-source run (without XLRS data here)
        data, "--task", "multi_source_summarization", "--langs", ",".join(MBART_CC25_LANGS),
        "--train-langs", "en_XX,de_DE", "--train-budget", "200", "--eval-lang", "en_XX",
        "--xlrs-langs", "en_XX,de_DE,ru_RU,zh_CN", "--arch", "mbart_tiny", *MBART_ARCH_FLAGS,
        "--finetune-from-model", model, *MBART_TRAINING, "--criterion", "label_smoothed_cross_entropy",
        "--label-smoothing", "0.2", "--lr", "1e-3", "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "50",
        "--max-epoch", "48", "--save-dir", save, "--save-interval", "16", "--validate-interval", "16",
        "--log-format", "json", "--log-interval", "100"]
    return "multisource", "two_source", overrides, command


def laft_stage2(request, save):
    data, model = request.getfixturevalue("summarization_bin"), _mbart_model(request)
    components = request.getfixturevalue("laft_components")
    overrides = [f"task.data={data}", f"checkpoint.finetune_from_model={model}",
                 f"model.language_components={components}"]
    command = [  # examples/laft/run.sh SIZE tiny, stage 2 (here from plain mBART and its components)
        data, "--task", "multi_source_summarization", "--langs", ",".join(MBART_CC25_LANGS),
        "--train-langs", "en_XX", "--eval-lang", "en_XX", "--arch", "mbart_laft_tiny", "--laft-stage", "2",
        "--laft-langs", "en_XX,de_DE,ru_RU,zh_CN", "--language-components", components,
        "--finetune-from-model", model, "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1",
        "--save-dir", save, *LAFT_TRAINING]
    return "laft", "stage2", overrides, command


def laft_tm_adv(request, save):
    data, model = request.getfixturevalue("summarization_bin"), _mbart_model(request)
    mono = request.getfixturevalue("monolingual_bin")
    overrides = [f"task.data={data}", f"task.adversarial_data={mono}", "task.adversarial_langs=zh_CN",
                 f"checkpoint.finetune_from_model={model}"]
    command = [  # examples/laft/run.sh SIZE tiny, TM+adv (monolingual batches of zh_CN only here)
        data, "--task", "language_adversarial_summarization", "--langs", ",".join(MBART_CC25_LANGS),
        "--train-langs", "en_XX", "--eval-lang", "en_XX", "--adversarial-data", mono, "--adversarial-langs", "zh_CN",
        "--arch", "mbart_tm_adv_tiny", "--finetune-from-model", model, "--criterion", "language_adversarial",
        "--label-smoothing", "0.1", "--adversarial-source-lang", "en_XX", "--save-dir", save, *LAFT_TRAINING]
    return "laft", "tm_adv", overrides, command


def sga(request, save):
    data, pretrained = request.getfixturevalue("sga_bin"), request.getfixturevalue("pretrained_dir")
    xlmr = os.path.join(pretrained, "xlmr.base")
    overrides = [f"task.data={data}", f"model.pretrained_xlmr_checkpoint={xlmr}"]
    command = [  # examples/sga/run.sh SIZE tiny, SGA
        data, "--task", "sga_translation", "--lang-pairs", "de_DE-en_XX,ru_RU-en_XX", "--source-lang", "de_DE",
        "--target-lang", "en_XX", "--arch", "xlmr_sga_tiny", "--pretrained-xlmr-checkpoint", xlmr,
        "--prompt-length", "8", "--criterion", "sga_ctc", "--optimizer", "adam", "--adam-betas", "(0.9, 0.98)",
        "--lr", "1e-2", "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "20", "--max-tokens", "2048",
        "--update-freq", "1", "--max-update", "200", "--save-dir", save, "--keep-last-epochs", "3",
        "--disable-validation", "--save-interval-updates", "20", "--keep-interval-updates", "3", "--seed", "1",
        "--num-workers", "0", "--log-interval", "20"]
    return "sga", "sga", overrides, command


@pytest.mark.slow
@pytest.mark.parametrize("recipe", [csr_stage1, multisource_two_source, laft_stage2, laft_tm_adv, sga],
                         ids=["csr-stage1", "multisource-two-source", "laft-stage2", "laft-tm-adv", "sga"])
def test_hydra_config_trains_as_the_recipes_fairseq_train_command(recipe, request, tmp_path):
    method, name, overrides, command = recipe(request, str(tmp_path / "fairseq-train"))
    hydra_save = tmp_path / "hydra"
    hydra = train_inner_logs(run_tool(
        "fairseq-hydra-train", "--config-dir", os.path.join(REPO, "examples", method, "config"),
        "--config-name", name, f"common.user_dir={USER_DIR}", f"checkpoint.save_dir={hydra_save}",
        *overrides, *TINY_OVERRIDES))
    legacy = train_inner_logs(run_tool("fairseq-train", *command, "--user-dir", USER_DIR, *TINY_FLAGS))
    assert [r["num_updates"] for r in hydra] == [1, 2, 3, 4]
    assert [{k: v for k, v in r.items() if k not in TIMING} for r in hydra] == \
           [{k: v for k, v in r.items() if k not in TIMING} for r in legacy]
    assert (hydra_save / ".hydra" / "config.yaml").is_file()  # the composed config is kept with the run
