"""SGA end to end on the tiny XLM-R fixture: data_prep → fairseq-train → fairseq-generate (paper 003)."""
import os
import re

import pytest
import torch

from conftest import REPO, run_tool, sga_train_args, train_inner_logs


def generate(data, checkpoint, src, max_iter=3, extra=()):
    return run_tool("fairseq-generate", data, "--user-dir", os.path.join(REPO, "fairseq_xlgen"),
                    "--task", "sga_translation", "--source-lang", src, "--target-lang", "en_XX",
                    "--path", checkpoint, "--gen-subset", "test", "--iter-decode-max-iter", str(max_iter),
                    "--print-step", "--max-tokens", "4096", *extra)


def _expected_trainable(pretrained_dir, prompt_length=8, units=3):
    args = torch.load(os.path.join(pretrained_dir, "xlmr.base", "model.pt"), weights_only=False)["args"]
    layers, dim = args.encoder_layers, args.encoder_embed_dim
    return units * 2 * layers * prompt_length * dim + 2 * dim * dim


@pytest.mark.slow
def test_train_then_generate_with_shared_prompts(sga_bin, pretrained_dir, tmp_path):
    save = str(tmp_path / "ckpt")
    out = run_tool("fairseq-train", *sga_train_args(sga_bin, pretrained_dir, save, max_update=20))
    assert f"(num. trained: {_expected_trainable(pretrained_dir):,})" in out  # fairseq's own count of the optimizer's share
    losses = [r["loss"] for r in train_inner_logs(out)]
    assert len(losses) == 20 and sum(losses[-5:]) < sum(losses[:5])
    assert all("ctc_too_long" in r for r in train_inner_logs(out))
    checkpoint = os.path.join(save, "checkpoint_last.pt")
    assert set(torch.load(checkpoint, weights_only=False)["model"]) == {
        "backbone_sha256", "project_key.weight", "project_value.weight"} | {
        f"prompts.{u}_{k}" for u in ("semantic", "alignment", "denoising") for k in ("key", "value")}
    outputs = {}
    for src in ("de_DE", "zh_CN"):  # zh_CN→en_XX was never trained: zero-shot through the shared prompts
        outputs[src] = text = generate(sga_bin, checkpoint, src, max_iter=3)
        hypos = re.findall(r"^H-(\d+)\t", text, flags=re.M)
        steps = [int(s) for s in re.findall(r"^I-\d+\t(\d+)$", text, flags=re.M)]
        assert len(hypos) == 50 and len(steps) == 50 and all(0 <= s <= 3 for s in steps)
        assert "<mask>" not in "".join(re.findall(r"^H-\d+\t\S+\t(.*)$", text, flags=re.M))  # blanks collapsed
    batch1 = generate(sga_bin, checkpoint, "de_DE", max_iter=3, extra=("--batch-size", "1"))
    hyp = lambda text: sorted(re.findall(r"^H-(\d+)\t\S+\t(.*)$", text, flags=re.M))  # noqa: E731 (tokens, not scores)
    assert hyp(batch1) == hyp(outputs["de_DE"])


def test_prepare_sga_rejects_a_missing_pair_in_one_line(benchmark_dir, tmp_path):
    import subprocess

    proc = subprocess.run(["bash", os.path.join(REPO, "data_prep", "prepare_sga.sh"),
                           os.path.join(benchmark_dir, "tasks", "translation"), str(tmp_path / "xlmr"),
                           str(tmp_path / "out"), "de_DE-en_XX", "xx_XX-en_XX"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "xx_XX-en_XX: missing" in proc.stderr
    assert not (tmp_path / "out").exists()  # checked before any work
