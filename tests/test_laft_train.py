"""LAFT's two stages and the TM+adv baseline through fairseq-train / fairseq-generate (paper 001 §3.3).

Stage 1: mBART text infilling on en_XX + zh_CN monolingual text (``multilingual_denoising``);
stage 2: zero-shot summarization, trained on en_XX, generated in zh_CN
(``multi_source_summarization``). Tiny fixture, a few updates each.
"""
import os

import pytest
import torch

from conftest import (
    LAFT_LANGS,
    REPO,
    laft_common_args,
    laft_stage1_args,
    laft_stage2_args,
    laft_summarization_args,
    run_tool,
    train_inner_logs,
)

pytestmark = pytest.mark.slow


def losses(output):
    return {int(r["num_updates"]): r["loss"] for r in train_inner_logs(output)}


def model_state(path):
    return torch.load(path, map_location="cpu", weights_only=False)["model"]


def test_two_stages_freeze_and_generate_zero_shot(laft_data, benchmark_dir, pretrained_dir, laft_components,
                                                  tmp_path):
    out = run_tool("fairseq-train", *laft_stage1_args(laft_data, pretrained_dir, laft_components, tmp_path / "s1", 12))
    # d=64, ffn 128: TM 2 × 33,472 + fusion 8,256 + 4,160 + adapters (bottleneck d/2 = 32) 2 layers × 2
    # languages × 4,320
    assert "variant laft stage 1: 96640 trainable of " in out
    stage1 = losses(out)
    assert sorted(stage1) == list(range(1, 13)) and stage1[12] < stage1[1]
    s1 = str(tmp_path / "s1" / "checkpoint_last.pt")

    stage2 = losses(run_tool("fairseq-train", *laft_stage2_args(laft_data, s1, tmp_path / "s2", 6)))
    assert sorted(stage2) == list(range(1, 7)) and stage2[6] < stage2[1]

    before, after = model_state(s1), model_state(tmp_path / "s2" / "checkpoint_last.pt")
    changed = {key for key in after if not torch.equal(after[key], before[key])}
    assert changed and all(key.startswith("encoder.task_module.") for key in changed)  # stage 2: TM only
    assert torch.equal(after["encoder.language_components"], before["encoder.language_components"])

    generated = run_tool(
        "fairseq-generate", *laft_summarization_args(laft_data), "--user-dir", os.path.join(REPO, "fairseq_xlgen"),
        "--path", tmp_path / "s2" / "checkpoint_last.pt", "--gen-subset", "test", "--beam", "5",
        "--lenpen", "1.5", "--max-len-b", "30", "--batch-size", "16")
    hypotheses = [line for line in generated.splitlines() if line.startswith("H-")]
    assert len(hypotheses) == sum(1 for _ in open(laft_data / "summarization" / "zh_CN" / "spm" / "test.source"))

    png = tmp_path / "figure2.png"
    run_tool("xlgen-laft-tsne", "--checkpoint", tmp_path / "s2" / "checkpoint_last.pt",
             "--spm", os.path.join(pretrained_dir, "mbart.cc25", "sentence.bpe.model"), "--out", png,
             "--max-sentences", "20", "--text",
             *(f"{lang}={os.path.join(benchmark_dir, 'tasks', 'summarization', lang, 'test.source')}" for lang in LAFT_LANGS))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stage_2_memory_efficient_fp16_keeps_components_fp32(laft_data, pretrained_dir, laft_components, tmp_path):
    run_tool("fairseq-train", *laft_stage1_args(laft_data, pretrained_dir, laft_components, tmp_path / "s1", 2))
    out = run_tool("fairseq-train", *laft_stage2_args(laft_data, tmp_path / "s1" / "checkpoint_last.pt", tmp_path / "s2", 3),
                   "--memory-efficient-fp16")
    assert [int(r["num_updates"]) for r in train_inner_logs(out)] == [1, 2, 3]
    # checkpoints are saved in fp32 anyway; equal bits show the components never went through fp16
    assert torch.equal(model_state(tmp_path / "s2" / "checkpoint_last.pt")["encoder.language_components"],
                       model_state(tmp_path / "s1" / "checkpoint_last.pt")["encoder.language_components"])


def test_tm_adv_baseline_trains_with_monolingual_batches(laft_data, pretrained_dir, tmp_path):
    out = run_tool(
        "fairseq-train", *laft_summarization_args(laft_data, "language_adversarial_summarization"),
        "--adversarial-data", laft_data / "denoising", "--adversarial-langs", "zh_CN",
        "--finetune-from-model", os.path.join(pretrained_dir, "mbart.cc25", "model.pt"),
        "--criterion", "language_adversarial", "--label-smoothing", "0.1", *laft_common_args(tmp_path, 4, "mbart_tm_adv_tiny"))
    logs = train_inner_logs(out)
    assert [int(r["num_updates"]) for r in logs] == [1, 2, 3, 4]
    # one task batch (en_XX, label 1) and one monolingual batch (zh_CN, label 0) per update
    assert all(r["cls_loss"] > 0 and r["adv_loss"] > 0 and 0 <= r["cls_accuracy"] <= 1 for r in logs)
    assert "variant tm_adv: " in out and "(100.00%)" in out


@pytest.mark.parametrize("damage, message", [
    ("missing", "language-components file not found; run xlgen-language-components"),
    ("other model", "estimated with another model"),
])
def test_bad_components_file_stops_fairseq_train_with_one_line(laft_data, pretrained_dir, laft_components, tmp_path,
                                                               damage, message):
    import subprocess

    from conftest import tool_env

    components = tmp_path / "components.pt"
    if damage == "other model":
        payload = torch.load(laft_components, weights_only=True)
        torch.save({**payload, "encoder_fingerprint": "0" * 64}, components)
    proc = subprocess.run(["fairseq-train", *map(str, laft_stage1_args(laft_data, pretrained_dir, components,
                                                                tmp_path / "s1", 2))],
                          capture_output=True, text=True, env=tool_env())
    assert proc.returncode != 0
    assert message in proc.stderr.strip().splitlines()[-1]
    assert "Traceback" not in proc.stderr
    assert not os.path.exists(tmp_path / "s1" / "checkpoint_last.pt")
