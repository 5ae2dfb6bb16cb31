"""Tiny fixtures in the public on-disk formats load through fairseq's own loaders alike."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import tool_env
from fairseq_xlgen.testbed.sizes import TinyModelConfig
from fairseq_xlgen.pretrained import (
    MBART_CC25_LANGS, MBART_LAYOUT, XLMR_LAYOUT, PretrainedModelError, count_dictionary_lines, load_pretrained,
)


def _raw_state(model_dir):
    return torch.load(os.path.join(model_dir, "model.pt"), map_location="cpu", weights_only=False)


def _ensemble_model(model_dir):
    from fairseq import checkpoint_utils

    models, _, _ = checkpoint_utils.load_model_ensemble_and_task(
        [os.path.join(model_dir, "model.pt")], arg_overrides={"data": model_dir})
    return models[0].eval()


def test_mbart_fixture_has_the_cc25_layout(pretrained_dir):
    model_dir = os.path.join(pretrained_dir, "mbart.cc25")
    assert sorted(os.listdir(model_dir)) == ["dict.txt", "model.pt", "sentence.bpe.model"]
    state = _raw_state(model_dir)
    args = state["args"]
    assert (args.task, args.arch, args.langs.split(",")) == ("multilingual_denoising", "mbart_large",
                                                                list(MBART_CC25_LANGS))
    rows = state["model"]["encoder.embed_tokens.weight"].shape[0]
    assert rows == 4 + count_dictionary_lines(os.path.join(model_dir, "dict.txt")) + 25 + 1


def test_xlmr_fixture_uses_the_legacy_xlmr_base_keys(pretrained_dir):
    model_dir = os.path.join(pretrained_dir, "xlmr.base")
    assert sorted(os.listdir(model_dir)) == ["dict.txt", "model.pt", "sentencepiece.bpe.model"]
    keys = set(_raw_state(model_dir)["model"])
    assert "decoder.sentence_encoder.emb_layer_norm.weight" in keys
    assert "decoder.sentence_encoder.layers.0.self_attn.in_proj_weight" in keys
    assert not any(k.startswith("encoder.") or ".q_proj." in k for k in keys)
    rows = _raw_state(model_dir)["model"]["decoder.sentence_encoder.embed_tokens.weight"].shape[0]
    assert rows == 4 + count_dictionary_lines(os.path.join(model_dir, "dict.txt")) + 1


def test_mbart_tiny_parameter_count_matches_its_architecture(pretrained_dir):
    """Shared embeddings + learned positions + pre-norm encoder/decoder layers, counted by hand."""
    d, f, n, p = (TinyModelConfig.embed_dim, TinyModelConfig.ffn_dim, TinyModelConfig.layers,
                  TinyModelConfig.max_positions)
    rows = _raw_state(os.path.join(pretrained_dir, "mbart.cc25"))["model"]["encoder.embed_tokens.weight"].shape[0]
    attention = 4 * (d * d + d)
    ffn = d * f + f + f * d + d
    encoder_layer = attention + ffn + 2 * 2 * d
    decoder_layer = 2 * attention + ffn + 3 * 2 * d
    per_side = (p + 2) * d + 2 * d + 2 * d  # positions (offset 2), layernorm_embedding, final layer_norm
    expected = rows * d + 2 * per_side + n * (encoder_layer + decoder_layer)
    model = load_pretrained(os.path.join(pretrained_dir, "mbart.cc25"), MBART_LAYOUT).model
    assert sum(t.numel() for t in model.parameters()) == expected


@pytest.mark.parametrize("layout", [MBART_LAYOUT, XLMR_LAYOUT], ids=["mbart", "xlmr"])
def test_hub_and_checkpoint_loaders_give_the_same_model(pretrained_dir, layout):
    model_dir = os.path.join(pretrained_dir, "mbart.cc25" if layout is MBART_LAYOUT else "xlmr.base")
    hub = load_pretrained(model_dir, layout).eval()
    plain = _ensemble_model(model_dir)
    tokens = hub.encode("12 kara ilo .")
    with torch.no_grad():
        if layout is MBART_LAYOUT:
            lengths = torch.tensor([tokens.numel()])
            a = hub.model.encoder(tokens[None], src_lengths=lengths)["encoder_out"][0]
            b = plain.encoder(tokens[None], src_lengths=lengths)["encoder_out"][0]
        else:
            a = hub.model(tokens[None], features_only=True)[0]
            b = plain(tokens[None], features_only=True)[0]
    assert a.shape[-1] == TinyModelConfig.embed_dim
    assert torch.equal(a, b)
    original = _raw_state(model_dir)["model"]
    embed = "encoder.embed_tokens.weight" if layout is MBART_LAYOUT else "decoder.sentence_encoder.embed_tokens.weight"
    assert torch.equal(plain.state_dict()[embed.replace("decoder.", "encoder.", 1)], original[embed])


def test_fixtures_are_deterministic_and_cached(benchmark_dir, tmp_path):
    from fairseq_xlgen.testbed.pretrained_fixtures import build_fixtures

    corpus = [os.path.join(benchmark_dir, "mono", "en_XX.txt")]
    build_fixtures(str(tmp_path / "a"), corpus)
    build_fixtures(str(tmp_path / "b"), corpus)
    for name in ("mbart.cc25", "xlmr.base"):
        a, b = _raw_state(tmp_path / "a" / name)["model"], _raw_state(tmp_path / "b" / name)["model"]
        assert all(torch.equal(a[k], b[k]) for k in a)
    stamp = os.path.getmtime(tmp_path / "a" / "mbart.cc25" / "model.pt")
    build_fixtures(str(tmp_path / "a"), corpus)
    assert os.path.getmtime(tmp_path / "a" / "mbart.cc25" / "model.pt") == stamp


def test_mismatched_dictionary_and_missing_files_are_named(pretrained_dir, tmp_path):
    broken = tmp_path / "mbart.cc25"
    shutil.copytree(os.path.join(pretrained_dir, "mbart.cc25"), broken)
    with open(broken / "dict.txt", "a", encoding="utf-8") as f:
        f.write("extra_piece 1\n")
    with pytest.raises(PretrainedModelError, match=r"dict\.txt: gives .* embedding rows but .*model\.pt has"):
        load_pretrained(str(broken), MBART_LAYOUT)
    os.remove(broken / "sentence.bpe.model")
    with pytest.raises(PretrainedModelError, match=r"sentence\.bpe\.model: missing"):
        load_pretrained(str(broken), MBART_LAYOUT)


def test_make_fixtures_cli_rejects_an_empty_corpus(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    proc = subprocess.run([sys.executable, "-m", "fairseq_xlgen.cli.make_fixtures", "--out", str(tmp_path / "fx"),
                           "--corpus", str(empty)], env=tool_env(), capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {empty}: missing or empty corpus file")
    assert not (tmp_path / "fx").exists()


def test_prebuilt_fixtures_are_copied_only_for_their_own_corpus(benchmark_dir, tmp_path, monkeypatch, caplog):
    import logging

    from fairseq_xlgen.testbed import pretrained_fixtures
    from fairseq_xlgen.file_io import file_sha256

    corpus = tmp_path / "text" / "en_XX.txt"  # the corpus is named by content: the prebuilt one lay elsewhere
    corpus.parent.mkdir()
    shutil.copy(os.path.join(benchmark_dir, "mono", "en_XX.txt"), corpus)
    shipped = tmp_path / "shipped"
    pretrained_fixtures.build_fixtures(str(shipped), [os.path.join(benchmark_dir, "mono", "en_XX.txt")])

    def no_building(*args, **kwargs):
        raise AssertionError("built instead of copied")

    with monkeypatch.context() as patch:
        patch.setattr(pretrained_fixtures, "train_sentencepiece", no_building)
        pretrained_fixtures.build_fixtures(str(tmp_path / "copy"), [str(corpus)], prebuilt=str(shipped))
    for name in ("mbart.cc25/model.pt", "xlmr.base/model.pt", "xlmr.base/dict.txt", "fixtures.json"):
        assert file_sha256(tmp_path / "copy" / name) == file_sha256(shipped / name)
    with open(corpus, "a", encoding="utf-8") as f:  # one line more: built anew, and said so
        f.write("grun san lolcacks mooplait ?\n")
    with caplog.at_level(logging.WARNING):
        pretrained_fixtures.build_fixtures(str(tmp_path / "other"), [str(corpus)], prebuilt=str(shipped))
    assert f"{shipped}: built from another corpus or with other settings" in caplog.text
    assert file_sha256(tmp_path / "other" / "xlmr.base" / "dict.txt") != file_sha256(shipped / "xlmr.base" / "dict.txt")


def test_the_shipped_fixtures_were_built_from_todays_benchmark(tmp_path):
    """fixtures/benchmark-small is what `fixtures/build.sh` makes from `xlgen-make-benchmark --size small`:
    a change of the benchmark generator or of the flags must come with a rebuild."""
    from conftest import REPO
    from fairseq_xlgen.cli.make_fixtures import config_from_flags
    from fairseq_xlgen.testbed.pretrained_fixtures import fixture_settings
    from fairseq_xlgen.testbed.synthetic_benchmark import generate_benchmark

    shipped = os.path.join(REPO, "fixtures", "benchmark-small")
    with open(shipped + ".flags", encoding="utf-8") as f:
        flags = f.read().split()
    generate_benchmark(str(tmp_path / "benchmark"), seed=1, size="small", progress=False)
    corpus = [str(tmp_path / "benchmark" / "mono" / f"{lang}.txt") for lang in ("en_XX", "de_DE", "ru_RU", "zh_CN")]
    cfg = config_from_flags(flags)
    with open(os.path.join(shipped, "fixtures.json"), encoding="utf-8") as f:
        recorded = json.load(f)
    recorded.pop("pretrain_seconds")
    assert recorded == fixture_settings(corpus, cfg)
    assert cfg.pretrain_updates > 0 and cfg.xlmr_pretrain_updates > 0
    for name, layout, updates in (("mbart.cc25", MBART_LAYOUT, cfg.pretrain_updates),
                                  ("xlmr.base", XLMR_LAYOUT, cfg.xlmr_pretrain_updates)):
        load_pretrained(os.path.join(shipped, name), layout)  # through fairseq's loaders, weights_only
        assert _raw_state(os.path.join(shipped, name))["optimizer_history"][-1]["num_updates"] == updates
