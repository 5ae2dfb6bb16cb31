"""``xlmr_transformer``: the AR baseline of SGA (XLM-R-initialised encoder + decoder of the same size)."""
import os
import shutil
import unicodedata

import pytest
import torch

from conftest import REPO, run_tool, train_inner_logs
from fairseq_xlgen.pretrained import XLMR_LAYOUT, load_pretrained

LINES = ["the house is red .", "Это дом .", "我们今天在公园散步。"]


def _build(data_dir, arch, extra=()):
    from fairseq import options, tasks

    args = options.parse_args_and_arch(options.get_training_parser(), [
        str(data_dir), "--user-dir", os.path.join(REPO, "fairseq_xlgen"), "--task", "translation",
        "--source-lang", "en_XX", "--target-lang", "de_DE", "--arch", arch, *extra])
    task = tasks.setup_task(args)
    return task.build_model(args), args


def _dict_dir(tmp_path, dict_txt):
    """A data directory with only the translation task's dictionaries (enough to build the model)."""
    for lang in ("en_XX", "de_DE"):
        shutil.copyfile(dict_txt, tmp_path / f"dict.{lang}.txt")
    return tmp_path


def test_encoder_output_equals_xlmr_encoder_output(pretrained_dir, tmp_path):
    xlmr_dir = os.path.join(pretrained_dir, "xlmr.base")
    data = _dict_dir(tmp_path, os.path.join(xlmr_dir, "dict.txt"))
    model, _ = _build(data, "xlmr_transformer_tiny", ["--pretrained-xlmr-checkpoint", xlmr_dir])
    hub = load_pretrained(xlmr_dir, XLMR_LAYOUT)
    model.eval(), hub.model.eval()
    from fairseq.data import data_utils

    # Latin, Cyrillic and unspaced Chinese lines, left-padded as the translation task batches them
    tokens = [hub.encode(line) for line in LINES]
    src = data_utils.collate_tokens(tokens, pad_idx=hub.task.source_dictionary.pad(), left_pad=True)
    with torch.no_grad():
        ours = model.encoder(src, src_lengths=torch.tensor([len(t) for t in tokens]))["encoder_out"][0]
        xlmr = hub.model(src, features_only=True)[0]
    assert src.eq(hub.task.source_dictionary.pad()).any()
    assert torch.equal(ours.transpose(0, 1), xlmr)
    # one embedding matrix: encoder input, decoder input, output projection; <mask> row dropped
    assert model.decoder.embed_tokens.weight is model.encoder.embed_tokens.weight
    assert model.decoder.output_projection.weight is model.encoder.embed_tokens.weight
    xlmr_embed = hub.model.encoder.sentence_encoder.embed_tokens.weight
    assert torch.equal(model.encoder.embed_tokens.weight, xlmr_embed[:-1])
    assert len(hub.task.source_dictionary) == len(model.encoder.dictionary) + 1
    # the decoder mirrors the encoder's depth and width
    assert len(model.decoder.layers) == len(model.encoder.layers) == hub.cfg.model.encoder_layers


def _xlmr_dictionary_dir(tmp_path):
    """dict.txt with XLM-R's 250,001 translation-task entries (4 specials + 249,997 pieces; no <mask>)."""
    path = tmp_path / "dict.txt"
    path.write_text("".join(f"p{i} 1\n" for i in range(250001 - 4)), encoding="utf-8")
    return _dict_dir(tmp_path, path)


@pytest.mark.parametrize("arch, layers, d, ffn, expected", [
    ("xlmr_transformer_base", 12, 768, 3072, 391_269_120),
    ("xlmr_transformer_large", 24, 1024, 4096, 962_487_296),
])
def test_parameter_count_of_full_size_configs(tmp_path, arch, layers, d, ffn, expected):
    """Paper 003 Table 1: AT initialization has 390M (base) and 960M (large) parameters."""
    data = _xlmr_dictionary_dir(tmp_path)
    with torch.device("meta"):
        model, _ = _build(data, arch)
    counted = sum(p.numel() for p in model.parameters())  # shared embedding counted once
    attention, ffn_block, norm = 4 * (d * d + d), d * ffn + ffn + ffn * d + d, 2 * d
    positions = (512 + 2) * d  # learned positions offset by padding_idx + 1
    encoder = positions + norm + layers * (attention + ffn_block + 2 * norm)
    decoder = positions + norm + layers * (2 * attention + ffn_block + 3 * norm)
    assert counted == 250001 * d + encoder + decoder == expected


def test_checkpoint_errors(pretrained_dir, tmp_path):
    xlmr_dir = os.path.join(pretrained_dir, "xlmr.base")
    data = _dict_dir(tmp_path, os.path.join(xlmr_dir, "dict.txt"))
    missing = str(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"--pretrained-xlmr-checkpoint .*nowhere: no such file or directory"):
        _build(data, "xlmr_transformer_tiny", ["--pretrained-xlmr-checkpoint", missing])
    with pytest.raises(ValueError, match=r"has encoder_layers=2 but the model has --encoder-layers 3"):
        _build(data, "xlmr_transformer_tiny", ["--pretrained-xlmr-checkpoint", xlmr_dir, "--encoder-layers", "3"])
    other = tmp_path / "other"
    other.mkdir()
    (other / "dict.txt").write_text("a 1\nb 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"the data's dictionary \(6 entries\) is not the checkpoint's dict.txt"):
        _build(_dict_dir(other, other / "dict.txt"), "xlmr_transformer_tiny",
               ["--pretrained-xlmr-checkpoint", os.path.join(xlmr_dir, "model.pt")])


def test_size_flags_give_the_ar_baseline_the_sizes_of_a_backbone_its_arch_does_not_name(pretrained_dir, tmp_path):
    """The testbed XLM-R (d=128, 4 layers) under --arch xlmr_transformer_tiny (d=64, 2 layers): the flags read from
    its checkpoint make the model fit it; without them the size check refuses it."""
    from fairseq_xlgen.pretrained import PretrainedModelError, xlmr_encoder_decoder_size_flags

    testbed = os.path.join(REPO, "fixtures", "testbed-small", "xlmr.base")
    flags = xlmr_encoder_decoder_size_flags(testbed)
    assert flags == ["--encoder-layers", "4", "--decoder-layers", "4", "--encoder-embed-dim", "128",
                     "--decoder-embed-dim", "128", "--encoder-ffn-embed-dim", "512", "--decoder-ffn-embed-dim", "512",
                     "--encoder-attention-heads", "4", "--decoder-attention-heads", "4"]
    data = _dict_dir(tmp_path, os.path.join(testbed, "dict.txt"))
    with pytest.raises(ValueError, match=r"has encoder_layers=4 but the model has --encoder-layers 2"):
        _build(data, "xlmr_transformer_tiny", ["--pretrained-xlmr-checkpoint", testbed])
    model, _ = _build(data, "xlmr_transformer_tiny", ["--pretrained-xlmr-checkpoint", testbed, *flags])
    assert len(model.decoder.layers) == 4 and model.decoder.embed_tokens.embedding_dim == 128
    # the default fixture's flags are its arch's own sizes
    assert xlmr_encoder_decoder_size_flags(os.path.join(pretrained_dir, "xlmr.base", "model.pt"))[:8] == [
        "--encoder-layers", "2", "--decoder-layers", "2", "--encoder-embed-dim", "64", "--decoder-embed-dim", "64"]
    # not an XLM-R checkpoint: one line
    with pytest.raises(PretrainedModelError, match="records no encoder_layers; not an XLM-R checkpoint"):
        torch.save({"model": {}, "cfg": {"model": {}}}, tmp_path / "model.pt")
        xlmr_encoder_decoder_size_flags(str(tmp_path / "model.pt"))


@pytest.mark.slow
def test_train_then_beam_search(benchmark_dir, pretrained_dir, tmp_path):
    xlmr_dir = os.path.join(pretrained_dir, "xlmr.base")
    data = str(tmp_path / "bin")
    run_tool("bash", os.path.join(REPO, "data_prep", "prepare_translation.sh"),
             os.path.join(benchmark_dir, "tasks", "translation", "en_XX-de_DE"), "en_XX", "de_DE", xlmr_dir, data)
    save = str(tmp_path / "ckpt")
    user_dir = os.path.join(REPO, "fairseq_xlgen")
    out = run_tool(
        "fairseq-train", data, "--user-dir", user_dir, "--task", "translation", "-s", "en_XX", "-t", "de_DE",
        "--arch", "xlmr_transformer_tiny", "--pretrained-xlmr-checkpoint", xlmr_dir,
        "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1",
        "--optimizer", "adam", "--adam-betas", "(0.9, 0.98)", "--lr", "2e-3", "--lr-scheduler", "inverse_sqrt",
        "--warmup-updates", "3", "--max-tokens", "1024", "--max-update", "12", "--seed", "2",
        "--save-dir", save, "--no-epoch-checkpoints", "--disable-validation", "--num-workers", "0",
        "--log-format", "json", "--log-interval", "1")
    assert "encoder and shared embeddings initialised from XLM-R" in out
    losses = [r["loss"] for r in train_inner_logs(out)]
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.3
    generate = ["fairseq-generate", data, "--user-dir", user_dir, "--task", "translation", "-s", "en_XX",
                "-t", "de_DE", "--path", os.path.join(save, "checkpoint_last.pt"), "--gen-subset", "test",
                "--beam", "4", "--max-len-b", "20", "--batch-size", "16", "--remove-bpe", "sentencepiece"]
    hyps = [line for line in run_tool(*generate).splitlines() if line.startswith("H-")]
    with open(os.path.join(benchmark_dir, "tasks", "translation", "en_XX-de_DE", "test.de_DE"), encoding="utf-8") as f:
        assert len(hyps) == sum(1 for _ in f)
    # the trained weights come from the checkpoint: decoding without the XLM-R files gives the same output
    without = run_tool(*generate, "--model-overrides", "{'pretrained_xlmr_checkpoint': None}")
    assert [line for line in without.splitlines() if line.startswith("H-")] == hyps


@pytest.fixture(scope="module")
def title_xlmr(benchmark_dir, pretrained_dir, tmp_path_factory):
    """The benchmark's title task (monolingual) in XLM-R units, en_XX and zh_CN."""
    out = str(tmp_path_factory.mktemp("title-xlmr"))
    for lang in ("en_XX", "zh_CN"):
        run_tool("bash", os.path.join(REPO, "data_prep", "prepare_monolingual_task.sh"),
                 os.path.join(benchmark_dir, "tasks", "title"), lang, os.path.join(pretrained_dir, "xlmr.base"), out)
    return out


def _sga_task(data, lang, arch, pretrained_dir):
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    args = options.parse_args_and_arch(options.get_training_parser(), [
        data, "--user-dir", os.path.join(REPO, "fairseq_xlgen"), "--task", "sga_translation", "--source-lang", lang,
        "--target-lang", lang, "--arch", arch,
        "--pretrained-xlmr-checkpoint", os.path.join(pretrained_dir, "xlmr.base")])
    args.beam = 3  # fairseq-generate's flag
    task = tasks.setup_task(args)
    return task, task.build_model(convert_namespace_to_omegaconf(args).model), args


def test_a_same_language_pair_reads_a_monolingual_task_in_xlmr_units(title_xlmr, benchmark_dir, pretrained_dir):
    """sga_translation zh_CN-zh_CN: DATA/zh_CN/{split}.source-target.* and DATA/dict.txt (+ <mask>)."""
    task, _, _ = _sga_task(title_xlmr, "zh_CN", "xlmr_transformer_tiny", pretrained_dir)
    task.load_dataset("test")
    dataset = task.datasets["test"]
    hub = load_pretrained(os.path.join(pretrained_dir, "xlmr.base"), XLMR_LAYOUT)
    with open(os.path.join(benchmark_dir, "tasks", "title", "zh_CN", "test.target"), encoding="utf-8") as f:
        targets = f.read().splitlines()
    assert len(dataset) == len(targets) and task.target_dictionary.symbols == hub.task.source_dictionary.symbols
    item = dataset[0]
    assert item["src_lang"] == "zh_CN"
    assert item["target"][0] == task.target_dictionary.bos() and item["target"][-1] == task.target_dictionary.eos()
    # unspaced Han text round-trips through XLM-R's pieces, up to SentencePiece's NFKC (？ -> ?)
    assert hub.decode(item["target"]) == unicodedata.normalize("NFKC", targets[0]) != targets[0]


def test_the_ar_baseline_decodes_with_beam_search_on_sga_data_and_strips_bos(title_xlmr, pretrained_dir):
    from fairseq.iterative_refinement_generator import IterativeRefinementGenerator
    from fairseq.sequence_generator import SequenceGenerator

    task, model, args = _sga_task(title_xlmr, "en_XX", "xlmr_transformer_tiny", pretrained_dir)
    generator = task.build_generator([model], args)
    d = task.target_dictionary
    assert isinstance(generator, SequenceGenerator) and generator.beam_size == 3
    assert generator.symbols_to_strip_from_output == {d.bos(), d.eos()}  # targets are XLM-R's <s> y </s>
    task.load_dataset("test")
    sample = task.datasets["test"].collater([task.datasets["test"][i] for i in range(4)])
    model.eval()
    hypotheses = task.inference_step(generator, [model], sample)  # the batch's src_lang is ignored
    assert len(hypotheses) == 4 and all(h[0]["tokens"][-1] == d.eos() for h in hypotheses)
    sga_task, sga, sga_args = _sga_task(title_xlmr, "en_XX", "xlmr_sga_tiny", pretrained_dir)
    assert isinstance(sga_task.build_generator([sga], sga_args), IterativeRefinementGenerator)
