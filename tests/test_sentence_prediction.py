"""Sentence-pair classification of mBART through fairseq's sentence_prediction (issue 21 item 2):
data_prep/prepare_sentence_pairs.sh, the task sentence_prediction_from_pretrained_bart, BART's
classification head, fairseq-train and fairseq-validate on zh_CN and ru_RU."""
import argparse
import os
import re

import pytest
import torch

from conftest import REPO, run_tool
from fairseq_xlgen.pretrained import MBART_ARCH_FLAGS, MBART_CC25_LANGS

LANGS = ("en_XX", "ru_RU", "zh_CN")
LABELS = ("contradiction", "entailment", "neutral")  # label/dict.txt: the training labels, sorted


@pytest.fixture(scope="module")
def nli_bin(benchmark_dir, pretrained_dir, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("nli") / "bin")
    run_tool("bash", os.path.join(REPO, "data_prep", "prepare_sentence_pairs.sh"),
             os.path.join(benchmark_dir, "tasks", "nli"), "premise", "hypothesis",
             os.path.join(pretrained_dir, "mbart.cc25"), out, *LANGS)
    return out


def _task(nli_bin, num_classes=3):
    from fairseq.tasks import TASK_REGISTRY

    task_class = TASK_REGISTRY["sentence_prediction_from_pretrained_bart"]
    cfg = argparse.Namespace(data=nli_bin, num_classes=num_classes, init_token=0, separator_token=2,
                             no_shuffle=True, shorten_method="none", shorten_data_split_list="",
                             add_prev_output_tokens=True, max_positions=256, regression_target=False,
                             classification_head_name="sentence_classification_head", seed=1,
                             langs=",".join(MBART_CC25_LANGS))
    return task_class.setup_task(cfg)


def test_pairs_are_read_as_bart_reads_glue(nli_bin, benchmark_dir, pretrained_dir):
    """<s> premise </s> </s> hypothesis </s>, the decoder fed the same rolled by one, and the target the
    label's row in the sorted label dictionary, for the zh_CN test split."""
    task = _task(nli_bin)
    assert [task.label_dictionary[i] for i in range(task.label_dictionary.nspecial, len(task.label_dictionary) - 1)] \
        == list(LABELS)
    with open(os.path.join(pretrained_dir, "mbart.cc25", "dict.txt"), encoding="utf-8") as f:
        pieces = sum(1 for _ in f)
    assert len(task.dictionary) == 4 + pieces + 25 + 1  # specials, pieces, cc25 language tokens, <mask>
    dataset = task.load_dataset("test.zh_CN")
    with open(os.path.join(benchmark_dir, "tasks", "nli", "zh_CN", "test.label"), encoding="utf-8") as f:
        labels = f.read().split()
    sample = dataset[0]
    tokens = sample["net_input.src_tokens"].tolist()
    eos = task.dictionary.eos()
    assert tokens[0] == task.dictionary.bos() and tokens[-1] == eos and tokens.count(eos) == 3
    assert tokens[tokens.index(eos) + 1] == eos  # the separator right after the premise's </s>
    assert sample["net_input.prev_output_tokens"].tolist() == [tokens[-1]] + tokens[:-1]
    assert [dataset[i]["target"].item() for i in range(len(labels))] == [LABELS.index(label) for label in labels]


def test_a_wrong_number_of_classes_is_one_line(nli_bin):
    from fairseq_xlgen.errors import InputError

    with pytest.raises(InputError, match=r"--num-classes 2: .*lists 3 labels"):
        _task(nli_bin, num_classes=2)


def _train_args(nli_bin, pretrained_dir, save_dir, max_update, extra=()):
    return ["fairseq-train", nli_bin, "--user-dir", os.path.join(REPO, "fairseq_xlgen"),
            "--task", "sentence_prediction_from_pretrained_bart", "--num-classes", "3",
            "--init-token", "0", "--separator-token", "2", "--add-prev-output-tokens", "--max-positions", "256",
            "--arch", "mbart_tiny", *MBART_ARCH_FLAGS,
            "--finetune-from-model", os.path.join(pretrained_dir, "mbart.cc25", "model.pt"),
            "--criterion", "sentence_prediction", "--optimizer", "adam", "--lr", "1e-3", "--batch-size", "16",
            "--max-update", str(max_update), "--train-subset", "train", "--valid-subset", "valid.en_XX",
            "--best-checkpoint-metric", "accuracy", "--maximize-best-checkpoint-metric",
            "--save-dir", save_dir, "--no-epoch-checkpoints", "--num-workers", "0", "--seed", "1",
            "--log-format", "simple", "--log-interval", "1", *extra]


@pytest.mark.slow
def test_finetune_then_validate_zero_shot_on_ru_and_zh(nli_bin, pretrained_dir, tmp_path):
    """The head is BART's (dense d x d, then d x 3): 64*64 + 64 + 64*3 + 3 = 4355 parameters beside the
    backbone's; the pretrained weights load; fairseq-validate scores each language's test split."""
    save_dir = str(tmp_path / "checkpoints")
    log = run_tool(*_train_args(nli_bin, pretrained_dir, save_dir, 12))
    trained = int(re.search(r"num\. shared model params: [\d,]+ \(num\. trained: ([\d,]+)\)", log).group(1).replace(",", ""))
    state = torch.load(os.path.join(save_dir, "checkpoint_last.pt"), map_location="cpu", weights_only=False)["model"]
    head = sum(t.numel() for key, t in state.items() if key.startswith("classification_heads."))
    unique = {t.data_ptr(): t.numel() for key, t in state.items() if not key.endswith((".version", "_float_tensor"))}
    assert head == 4355 and trained == sum(unique.values())  # everything trains, the head included
    for lang in ("ru_RU", "zh_CN"):
        out = run_tool("fairseq-validate", nli_bin, "--user-dir", os.path.join(REPO, "fairseq_xlgen"),
                       "--task", "sentence_prediction_from_pretrained_bart", "--num-classes", "3",
                       "--init-token", "0", "--separator-token", "2", "--add-prev-output-tokens",
                       "--max-positions", "256", "--criterion", "sentence_prediction",
                       "--path", os.path.join(save_dir, "checkpoint_last.pt"), "--valid-subset", f"test.{lang}",
                       "--batch-size", "16", "--num-workers", "0")
        accuracy = float(re.search(rf"valid on 'test\.{lang}' subset \| .*accuracy ([\d.]+)", out).group(1))
        assert round(accuracy * 40 / 100, 6) == round(accuracy * 40 / 100)  # a share of the 40 test pairs


def test_a_checkpoint_of_other_languages_is_refused_in_one_line(nli_bin, pretrained_dir, tmp_path):
    log = run_tool("bash", "-c", " ".join(f"'{a}'" for a in _train_args(
        nli_bin, pretrained_dir, str(tmp_path / "c"), 1, extra=("--langs", "en_XX,de_DE"))) + " 2>&1; true")
    assert re.search(r"error: .*input0/dict\.txt: .*embedding rows", log), log[-2000:]
