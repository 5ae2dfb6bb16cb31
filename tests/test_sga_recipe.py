"""SGA end to end on the tiny XLM-R fixture: data_prep → fairseq-train → fairseq-generate (paper 003)."""
import os
import re

import pytest
import torch

from conftest import REPO, run_tool, sga_train_args, tool_env, train_inner_logs


def generate_args(data, checkpoint, src, max_iter=3, extra=()):
    return [data, "--user-dir", os.path.join(REPO, "fairseq_xlgen"), "--task", "sga_translation",
            "--source-lang", src, "--target-lang", "en_XX", "--path", checkpoint, "--gen-subset", "test",
            "--iter-decode-max-iter", str(max_iter), "--print-step", "--max-tokens", "4096", *extra]


def generate(data, checkpoint, src, max_iter=3, extra=()):
    return run_tool("fairseq-generate", *generate_args(data, checkpoint, src, max_iter, extra))


def _expected_trainable(pretrained_dir, prompt_length=8, units=3, languages=1):
    args = torch.load(os.path.join(pretrained_dir, "xlmr.base", "model.pt"), weights_only=False)["args"]
    layers, dim = args.encoder_layers, args.encoder_embed_dim
    return languages * units * 2 * layers * prompt_length * dim + 2 * dim * dim


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


def test_mixed_batches_name_each_rows_source_language_on_ru_and_zh(sga_bin):
    """Batches of --lang-pairs ru_RU-en_XX,zh_CN-en_XX mix both; every row's ``src_lang`` is its own."""
    from fairseq import options, tasks
    from fairseq.data import data_utils

    args = options.parse_args_and_arch(options.get_training_parser(), [
        sga_bin, "--user-dir", os.path.join(REPO, "fairseq_xlgen"), "--task", "sga_translation",
        "--lang-pairs", "ru_RU-en_XX,zh_CN-en_XX", "--arch", "xlmr_sga_tiny"])
    task = tasks.setup_task(args)
    task.load_dataset("train")
    dataset = task.dataset("train")
    by_language = {d.language: d for d in dataset.datasets}
    assert sorted(by_language) == ["ru_RU", "zh_CN"]
    pad = task.source_dictionary.pad()
    mixed, ids = 0, []
    for indices in data_utils.batch_by_size(dataset.ordered_indices(), dataset.num_tokens, max_tokens=600):
        batch = dataset.collater([dataset[i] for i in indices])  # the batches fairseq's iterator collates
        langs = batch["net_input"]["src_lang"]
        for row, (lang, index) in enumerate(zip(langs, batch["id"].tolist())):
            tokens = batch["net_input"]["src_tokens"][row]
            # ids are the ConcatDataset's indices: ru_RU 0..n-1, zh_CN from n on
            inner = index - (len(by_language["ru_RU"]) if lang == "zh_CN" else 0)
            assert torch.equal(tokens[tokens.ne(pad)], by_language[lang].dataset[inner]["source"])
        assert sorted(batch["id"].tolist()) == sorted(indices.tolist())
        mixed += len(set(langs)) == 2
        ids += batch["id"].tolist()
    assert mixed > 0
    assert sorted(ids) == list(range(len(dataset)))  # one id per sample: SGA's per-sample noise seeds differ
    zh, ru = (task.source_dictionary.string(by_language[lang][0]["source"][1:-1], "sentencepiece")
              for lang in ("zh_CN", "ru_RU"))
    assert re.search(r"[\u4e00-\u9fff]", zh) and " " not in zh.strip() and re.search(r"[\u0400-\u04ff]", ru)


@pytest.mark.slow
def test_per_language_prompts_train_and_decode_ru_and_zh(sga_bin, pretrained_dir, tmp_path):
    """--prompt-languages ru_RU,zh_CN: two prompt sets trained, each language decodes, de_DE (none) fails in one line."""
    import subprocess

    save = str(tmp_path / "ckpt")
    extra = ("--prompt-languages", "ru_RU,zh_CN", "--source-lang", "ru_RU")
    out = run_tool("fairseq-train", *sga_train_args(sga_bin, pretrained_dir, save, 6, "ru_RU-en_XX,zh_CN-en_XX", extra))
    assert f"(num. trained: {_expected_trainable(pretrained_dir, languages=2):,})" in out
    assert len(train_inner_logs(out)) == 6
    checkpoint = os.path.join(save, "checkpoint_last.pt")
    prompts = torch.load(checkpoint, weights_only=False)["model"]["prompts.alignment_key"]
    assert prompts.shape[0] == 2 and not torch.equal(prompts[0], prompts[1])
    for src in ("ru_RU", "zh_CN"):
        assert len(re.findall(r"^H-\d+\t", generate(sga_bin, checkpoint, src), flags=re.M)) == 50
    proc = subprocess.run(["fairseq-generate", *generate_args(sga_bin, checkpoint, "de_DE")],
                          capture_output=True, text=True, env=tool_env())
    assert proc.returncode == 1 and "Traceback" not in proc.stderr  # inside fairseq's tools Python exits with 1
    assert "--source-lang de_DE: no prompts of its own (--prompt-languages ru_RU,zh_CN)" in proc.stderr.strip(
    ).splitlines()[-1]


def test_prepare_sga_rejects_a_missing_pair_in_one_line(benchmark_dir, tmp_path):
    import subprocess

    proc = subprocess.run(["bash", os.path.join(REPO, "data_prep", "prepare_sga.sh"),
                           os.path.join(benchmark_dir, "tasks", "translation"), str(tmp_path / "xlmr"),
                           str(tmp_path / "out"), "de_DE-en_XX", "xx_XX-en_XX"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "xx_XX-en_XX: missing" in proc.stderr
    assert not (tmp_path / "out").exists()  # checked before any work


@pytest.mark.slow
def test_recipe_trains_sga_its_ar_baseline_and_sga_on_distilled_targets(benchmark_dir, pretrained_dir, tmp_path):
    """examples/sga/run.sh with DISTILL=1: SGA, SGA w/o denoising, the AR baseline (beam 4) and SGA trained on
    the AR baseline's regenerated training targets, each decoded on de_DE→en_XX and zero-shot zh_CN→en_XX.
    SIDE_BY_SIDE=1: the first three train at once, each logging to its own file."""
    text_root = os.path.join(benchmark_dir, "tasks", "translation")
    work = tmp_path / "sga"
    env = {"TEXT_ROOT": text_root, "PRETRAINED": os.path.join(pretrained_dir, "xlmr.base"), "UPDATES": "6",
           "AR_UPDATES": "6", "P": "4", "WARMUP": "2", "AVERAGE": "2", "MAX_ITER": "2", "MAX_TOKENS": "1024",
           "DISTILL": "1", "TRAIN_PAIRS": "de_DE-en_XX", "EVAL_PAIRS": "de_DE-en_XX,zh_CN-en_XX", "SIDE_BY_SIDE": "1"}
    run_tool("bash", os.path.join(REPO, "examples", "sga", "run.sh"), work, env=env, timeout=1200)
    for system in ("sga", "sga_ctc_only", "ar"):
        assert "done training" in (work / f"{system}.log").read_text(encoding="utf-8")

    header, *lines = (work / "summary.tsv").read_text().splitlines()
    assert header.split("\t") == ["system", "pair", "bleu", "bleu_other_ref", "mean_passes"]
    rows = [line.split("\t") for line in lines]
    # chance: the outputs scored against the references rotated by one line (another sentence's translation)
    references = open(os.path.join(text_root, "zh_CN-en_XX", "test.en_XX"), encoding="utf-8").read().splitlines()
    assert (work / "other_ref" / "zh_CN-en_XX").read_text(encoding="utf-8").splitlines() == references[1:] + references[:1]
    assert [row[:2] for row in rows] == [[system, pair] for system in ("sga", "sga_ctc_only", "ar", "sga_distilled")
                                         for pair in ("de_DE-en_XX", "zh_CN-en_XX")]
    passes = {(system, pair): value for system, pair, _, _, value in rows}
    assert passes["sga_ctc_only", "zh_CN-en_XX"] == "1.00"  # the alignment pass only
    assert 1.0 <= float(passes["sga_distilled", "de_DE-en_XX"]) <= 3.0  # alignment + at most MAX_ITER denoising
    assert passes["ar", "de_DE-en_XX"] == "-"  # beam search: no refinement passes

    # the distilled targets: the AR baseline's train-split hypotheses, one per source line, in the source's order
    distilled = work / "distilled" / "text" / "de_DE-en_XX"
    generated = (distilled / "generate-train.txt").read_text(encoding="utf-8")
    by_id = {int(i): text for i, text in re.findall(r"^H-(\d+)\t\S+\t(.*)$", generated, flags=re.M)}
    targets = (distilled / "train.en_XX").read_text(encoding="utf-8").split("\n")[:-1]
    sources = open(os.path.join(text_root, "de_DE-en_XX", "train.de_DE"), encoding="utf-8").read().splitlines()
    assert len(targets) == len(sources) == len(by_id) and targets == [by_id[i] for i in range(len(sources))]
    originals = open(os.path.join(text_root, "de_DE-en_XX", "train.en_XX"), encoding="utf-8").read().splitlines()
    assert sum(t != o for t, o in zip(targets, originals)) > len(originals) // 2  # 6 updates: not the references
    assert os.path.realpath(distilled / "train.de_DE") == os.path.realpath(os.path.join(text_root, "de_DE-en_XX",
                                                                                         "train.de_DE"))
    # binarized: the same sources, other targets; SGA trained on them
    same = lambda name: (work / "data" / name).read_bytes() == (work / "distilled" / "data" / name).read_bytes()  # noqa: E731
    assert same("train.de_DE-en_XX.de_DE.bin") and not same("train.de_DE-en_XX.en_XX.bin")
    assert (work / "sga_distilled" / "averaged.pt").is_file()


def test_distill_targets_rejects_a_missing_teacher_in_one_line(benchmark_dir, tmp_path):
    import subprocess

    proc = subprocess.run(["bash", os.path.join(REPO, "data_prep", "distill_targets.sh"), str(tmp_path / "data"),
                           os.path.join(benchmark_dir, "tasks", "translation"), str(tmp_path / "out"),
                           str(tmp_path / "ar.pt"), str(tmp_path / "spm.model"), "de_DE-en_XX"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "ar.pt: missing" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_free_generation_recipe_tabulates_mask_predict_iterations_with_and_without_the_denoiser(
        benchmark_dir, pretrained_dir, tmp_path):
    """examples/sga/free_generation.sh: Mask-Predict SGA on en_XX titles, decoded zero-shot in ru_RU and zh_CN with
    2 Mask-Predict iterations, without the denoiser (0 passes) and with it (1..MAX_ITER passes)."""
    work = tmp_path / "title"
    env = {"TASK_ROOT": os.path.join(benchmark_dir, "tasks", "title"), "PRETRAINED": os.path.join(pretrained_dir, "xlmr.base"),
           "UPDATES": "4", "P": "4", "WARMUP": "2", "AVERAGE": "2", "MAX_ITER": "2", "MAX_TOKENS": "1024",
           "ITERATIONS": "2", "EVAL_LANGS": "ru_RU,zh_CN"}
    run_tool("bash", os.path.join(REPO, "examples", "sga", "free_generation.sh"), work, env=env, timeout=1200)
    lines = (work / "tradeoff.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["lang", "iterations", "denoiser", "rouge_l", "meteor_exact_stem",
                                    "denoising_passes", "ms_per_sentence"]
    rows = [line.split("\t") for line in lines[1:]]
    assert [row[:3] for row in rows] == [[lang, k, d] for lang in ("ru_RU", "zh_CN") for k in ("2",)
                                         for d in ("no", "yes")]
    for lang, k, denoiser, rouge, meteor, passes, ms in rows:
        assert 0 <= float(rouge) <= 100 and 0 <= float(meteor) <= 100 and float(ms) >= 0  # "in 0.0s" on a tiny split
        assert float(passes) == 0 if denoiser == "no" else 1 <= float(passes) <= 2
        out = work / "sga_mask_predict" / f"test.{lang}.mp{k}.{denoiser}.txt"
        with open(os.path.join(benchmark_dir, "tasks", "title", lang, "test.target"), encoding="utf-8") as f:
            assert len(re.findall(r"^D-\d+", out.read_text(encoding="utf-8"), flags=re.M)) == sum(1 for _ in f)
    # the Mask-Predict iterations reached the model: the generation log names the override
    assert "'mask_predict_iterations': 2" in (work / "sga_mask_predict" / "test.zh_CN.mp2.no.txt.log").read_text()
