"""fairseq-train / fairseq-generate with the plugin on the tiny mBART fixture (CPU).

Finetuning starts from the pretrained-format ``model.pt`` through ``--finetune-from-model``
(fairseq's resumable form of ``--restore-file ... --reset-*``).
"""
import os

import pytest

from fairseq_xlgen.pretrained import MBART_CC25_LANGS

from conftest import BIN, REPO, free_port, mbart_finetune_args, run_tool, train_inner_logs

pytestmark = pytest.mark.slow


def _losses(output):
    return {int(r["num_updates"]): r["loss"] for r in train_inner_logs(output)}


def test_finetune_lowers_the_loss_and_generates(translation_bin, pretrained_dir, tmp_path):
    """(Resuming, kills and DDP: tests/test_reliability_matrix.py.)"""
    straight = _losses(run_tool("fairseq-train", *mbart_finetune_args(
        translation_bin, pretrained_dir, tmp_path / "straight", max_update=8)))
    assert sorted(straight) == list(range(1, 9))
    assert straight[8] < straight[1]

    out = run_tool(
        "fairseq-generate", translation_bin, "--user-dir", os.path.join(REPO, "fairseq_xlgen"),
        "--task", "translation_from_pretrained_bart", "--langs", ",".join(MBART_CC25_LANGS),
        "--source-lang", "en_XX", "--target-lang", "de_DE",
        "--path", tmp_path / "straight" / "checkpoint_last.pt", "--gen-subset", "valid",
        "--beam", "2", "--max-len-b", "20", "--batch-size", "16", "--remove-bpe", "sentencepiece",
    )
    hyps = [line for line in out.splitlines() if line.startswith("D-")]
    assert len(hyps) == sum(1 for _ in open(os.path.join(translation_bin, "spm", "valid.de_DE")))


def test_memory_efficient_fp16_path(translation_bin, pretrained_dir, tmp_path):
    """fp16 parameters with fp32 master maths (the --fp16 family's CPU-runnable member)."""
    logs = train_inner_logs(run_tool("fairseq-train", *mbart_finetune_args(
        translation_bin, pretrained_dir, tmp_path, max_update=4), "--memory-efficient-fp16"))
    assert [int(r["num_updates"]) for r in logs] == [1, 2, 3, 4]
    assert all("loss_scale" in r for r in logs)
    assert logs[-1]["loss"] < logs[0]["loss"]


def test_torchrun_resumes_a_one_process_checkpoint(translation_bin, pretrained_dir, tmp_path):
    """Resuming under torchrun broadcasts the checkpoint state from rank 0 (2 CPU ranks, gloo)."""
    args = mbart_finetune_args(translation_bin, pretrained_dir, tmp_path, max_update=2)
    run_tool("fairseq-train", *args)
    args[args.index("--max-update") + 1] = "3"
    resumed = _losses(run_tool("torchrun", "--nproc_per_node", "2", "--master_port", free_port(),
                               os.path.join(BIN, "fairseq-train"), *args, "--distributed-world-size", "2"))
    assert sorted(resumed) == [3]
