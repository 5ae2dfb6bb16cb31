"""``--pretrain-updates N``: the tiny mBART fixture denoising-pretrained, in the random fixture's format."""
import os

import pytest
import torch

from conftest import train_inner_logs
from fairseq_xlgen.data.pretrained_fixtures import build_fixtures
from fairseq_xlgen.pretrained import TinyModelConfig
from fairseq_xlgen.pretrained import MBART_LAYOUT, load_pretrained


def _raw_state(model_dir):
    return torch.load(os.path.join(model_dir, "model.pt"), map_location="cpu", weights_only=False)


def test_pretraining_needs_cc25_named_corpus_files(tmp_path):
    corpus = tmp_path / "english.txt"
    corpus.write_text("a b c .\n")
    with pytest.raises(ValueError, match=r"english\.txt: pretraining needs one file per language named <cc25 code>\.txt"):
        build_fixtures(str(tmp_path / "fx"), [str(corpus)], TinyModelConfig(pretrain_updates=5))
    assert not (tmp_path / "fx").exists()


@pytest.mark.slow
def test_pretrained_fixture_loads_like_the_random_one_and_learned(benchmark_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    corpus = [os.path.join(benchmark_dir, "mono", f"{lang}.txt") for lang in ("en_XX", "de_DE")]
    n = 10
    build_fixtures(str(tmp_path / "random"), corpus)
    build_fixtures(str(tmp_path / "pretrained"), corpus, TinyModelConfig(pretrain_updates=n))
    random_dir, pretrained_dir = tmp_path / "random" / "mbart.cc25", tmp_path / "pretrained" / "mbart.cc25"
    assert sorted(os.listdir(pretrained_dir)) == sorted(os.listdir(random_dir))
    random_state, state = _raw_state(random_dir), _raw_state(pretrained_dir)
    assert vars(state["args"]) == vars(random_state["args"])
    assert state["optimizer_history"][-1]["num_updates"] == n
    assert {k: v.shape for k, v in state["model"].items()} == {k: v.shape for k, v in random_state["model"].items()}
    assert not torch.equal(state["model"]["encoder.embed_tokens.weight"],
                           random_state["model"]["encoder.embed_tokens.weight"])
    hub = load_pretrained(str(pretrained_dir), MBART_LAYOUT)
    assert torch.equal(hub.model.state_dict()["encoder.embed_tokens.weight"], state["model"]["encoder.embed_tokens.weight"])
    with open(tmp_path / "pretrained" / "pretrain_mbart.log", encoding="utf-8") as f:
        losses = [r["loss"] for r in train_inner_logs(f.read())]
    assert len(losses) == n
    assert sum(losses[-3:]) / 3 < losses[0] - 0.1
