"""LAFT's two stages and the TM+adv baseline through fairseq-train / fairseq-generate (paper 001 §3.3).

Stage 1: mBART text infilling on en_XX + zh_CN monolingual text (``multilingual_denoising``);
stage 2: zero-shot summarization, trained on en_XX, generated in zh_CN
(``multi_source_summarization``). Tiny fixture, a few updates each.
"""
import os

import pytest
import torch

from fairseq_xlgen.pretrained import MBART_ARCH_FLAGS, MBART_CC25_LANGS

from conftest import REPO, run_tool, train_inner_logs

pytestmark = pytest.mark.slow
LANGS = ("en_XX", "zh_CN")


@pytest.fixture(scope="module")
def laft_data(benchmark_dir, pretrained_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("laft_data")
    model = os.path.join(pretrained_dir, "mbart.cc25")
    for lang in LANGS:
        run_tool("bash", os.path.join(REPO, "data_prep", "prepare_denoising.sh"),
                 os.path.join(benchmark_dir, "mono", f"{lang}.txt"), lang, model, root / "denoising", "50")
        run_tool("bash", os.path.join(REPO, "data_prep", "prepare_monolingual_task.sh"),
                 os.path.join(benchmark_dir, "tasks", "summarization"), lang, model, root / "summarization")
    return root


def common(save_dir, max_update, arch="mbart_laft_tiny"):
    return ["--user-dir", os.path.join(REPO, "fairseq_xlgen"), "--arch", arch, *MBART_ARCH_FLAGS,
            "--optimizer", "adam", "--adam-betas", "(0.9, 0.98)", "--lr", "3e-3", "--lr-scheduler", "polynomial_decay",
            "--warmup-updates", "2", "--total-num-update", "40", "--max-update", str(max_update),
            "--dropout", "0", "--attention-dropout", "0", "--max-tokens", "1024", "--save-dir", str(save_dir),
            "--no-epoch-checkpoints", "--log-format", "json", "--log-interval", "1", "--seed", "1",
            "--num-workers", "0", "--disable-validation"]


def stage1_args(data, pretrained_dir, components, save_dir, max_update):
    return [data / "denoising", "--task", "multilingual_denoising", "--langs", ",".join(LANGS), "--add-lang-token",
            "--laft-stage", "1", "--laft-langs", ",".join(LANGS), "--language-components", components,
            "--finetune-from-model", os.path.join(pretrained_dir, "mbart.cc25", "model.pt"),
            "--mask", "0.35", "--mask-length", "span-poisson", "--poisson-lambda", "3.5", "--replace-length", "1",
            "--permute-sentences", "0", "--rotate", "0", "--insert", "0", "--no-whole-word-mask-langs", "zh_CN",
            "--sample-break-mode", "complete", "--tokens-per-sample", "256",
            "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1", *common(save_dir, max_update)]


def summarization_args(data, task="multi_source_summarization"):
    return [data / "summarization", "--task", task, "--train-langs", "en_XX", "--eval-lang", "zh_CN",
            "--langs", ",".join(MBART_CC25_LANGS)]


def stage2_args(data, stage1_checkpoint, save_dir, max_update):
    return [*summarization_args(data), "--laft-stage", "2", "--laft-langs", ",".join(LANGS),
            "--finetune-from-model", stage1_checkpoint, "--criterion", "label_smoothed_cross_entropy",
            "--label-smoothing", "0.1", *common(save_dir, max_update)]


def losses(output):
    return {int(r["num_updates"]): r["loss"] for r in train_inner_logs(output)}


def model_state(path):
    return torch.load(path, map_location="cpu", weights_only=False)["model"]


def test_two_stages_freeze_resume_and_generate_zero_shot(laft_data, benchmark_dir, pretrained_dir, laft_components,
                                                         tmp_path):
    out = run_tool("fairseq-train", *stage1_args(laft_data, pretrained_dir, laft_components, tmp_path / "s1", 12))
    # d=64, ffn 128: TM 2 × 33,472 + fusion 8,256 + 4,160 + adapters 2 layers × 2 languages × 8,448
    assert "variant laft stage 1: 113152 trainable of " in out
    stage1 = losses(out)
    assert sorted(stage1) == list(range(1, 13)) and stage1[12] < stage1[1]
    s1 = str(tmp_path / "s1" / "checkpoint_last.pt")

    straight = losses(run_tool("fairseq-train", *stage2_args(laft_data, s1, tmp_path / "straight", 6)))
    first = losses(run_tool("fairseq-train", *stage2_args(laft_data, s1, tmp_path / "resumed", 3)))
    second = losses(run_tool("fairseq-train", *stage2_args(laft_data, s1, tmp_path / "resumed", 6)))
    assert sorted(first) == [1, 2, 3] and sorted(second) == [4, 5, 6]
    for update in range(1, 7):  # logged to 3 decimals; the same data, noise-free, in the same order
        assert (first | second)[update] == pytest.approx(straight[update], abs=2e-3), update
    assert straight[6] < straight[1]

    before, after = model_state(s1), model_state(tmp_path / "resumed" / "checkpoint_last.pt")
    changed = {key for key in after if not torch.equal(after[key], before[key])}
    assert changed and all(key.startswith("encoder.task_module.") for key in changed)  # stage 2: TM only
    assert torch.equal(after["encoder.language_components"], before["encoder.language_components"])

    generated = run_tool(
        "fairseq-generate", *summarization_args(laft_data), "--user-dir", os.path.join(REPO, "fairseq_xlgen"),
        "--path", tmp_path / "resumed" / "checkpoint_last.pt", "--gen-subset", "test", "--beam", "5",
        "--lenpen", "1.5", "--max-len-b", "30", "--batch-size", "16")
    hypotheses = [line for line in generated.splitlines() if line.startswith("H-")]
    assert len(hypotheses) == sum(1 for _ in open(laft_data / "summarization" / "zh_CN" / "spm" / "test.source"))

    png = tmp_path / "figure2.png"
    run_tool("xlgen-laft-tsne", "--checkpoint", tmp_path / "resumed" / "checkpoint_last.pt",
             "--spm", os.path.join(pretrained_dir, "mbart.cc25", "sentence.bpe.model"), "--out", png,
             "--max-sentences", "20", "--text",
             *(f"{lang}={os.path.join(benchmark_dir, 'tasks', 'summarization', lang, 'test.source')}" for lang in LANGS))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stage_2_memory_efficient_fp16_keeps_components_fp32(laft_data, pretrained_dir, laft_components, tmp_path):
    run_tool("fairseq-train", *stage1_args(laft_data, pretrained_dir, laft_components, tmp_path / "s1", 2))
    out = run_tool("fairseq-train", *stage2_args(laft_data, tmp_path / "s1" / "checkpoint_last.pt", tmp_path / "s2", 3),
                   "--memory-efficient-fp16")
    assert [int(r["num_updates"]) for r in train_inner_logs(out)] == [1, 2, 3]
    # checkpoints are saved in fp32 anyway; equal bits show the components never went through fp16
    assert torch.equal(model_state(tmp_path / "s2" / "checkpoint_last.pt")["encoder.language_components"],
                       model_state(tmp_path / "s1" / "checkpoint_last.pt")["encoder.language_components"])


def test_tm_adv_baseline_trains_with_monolingual_batches(laft_data, pretrained_dir, tmp_path):
    out = run_tool(
        "fairseq-train", *summarization_args(laft_data, "language_adversarial_summarization"),
        "--adversarial-data", laft_data / "denoising", "--adversarial-langs", "zh_CN",
        "--finetune-from-model", os.path.join(pretrained_dir, "mbart.cc25", "model.pt"),
        "--criterion", "language_adversarial", "--label-smoothing", "0.1", *common(tmp_path, 4, "mbart_tm_adv_tiny"))
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
    proc = subprocess.run(["fairseq-train", *map(str, stage1_args(laft_data, pretrained_dir, components,
                                                                tmp_path / "s1", 2))],
                          capture_output=True, text=True, env=tool_env())
    assert proc.returncode != 0
    assert message in proc.stderr.strip().splitlines()[-1]
    assert "Traceback" not in proc.stderr
    assert not os.path.exists(tmp_path / "s1" / "checkpoint_last.pt")


def test_stage_1_two_process_ddp_equals_one_process_with_update_freq_2(laft_data, pretrained_dir, laft_components,
                                                                        tmp_path):
    """Frozen backbone, per-language adapters (a batch may lack a language): DDP needs no
    --find-unused-parameters, and 2 gloo ranks equal 1 process accumulating 2 batches."""
    from conftest import BIN

    single = losses(run_tool("fairseq-train", *stage1_args(laft_data, pretrained_dir, laft_components,
                                                           tmp_path / "single", 3), "--update-freq", "2"))
    ddp = losses(run_tool("torchrun", "--nproc_per_node", "2", "--master_port", "29541",
                          os.path.join(BIN, "fairseq-train"),
                          *stage1_args(laft_data, pretrained_dir, laft_components, tmp_path / "ddp", 3),
                          "--distributed-world-size", "2"))
    assert sorted(ddp) == sorted(single) == [1, 2, 3]
    for update in single:
        assert ddp[update] == pytest.approx(single[update], abs=2e-3), update
