"""``--pretrain-updates N``: the tiny mBART fixture denoising-pretrained, in the random fixture's format."""
import glob
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import REPO, train_inner_logs
from fairseq_xlgen.testbed.pretrained_fixtures import build_fixtures
from fairseq_xlgen.testbed.sizes import TinyModelConfig
from fairseq_xlgen.pretrained import MBART_LAYOUT, XLMR_LAYOUT, load_pretrained


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


def _updates_done(checkpoint):
    try:
        return torch.load(checkpoint, map_location="cpu", weights_only=False)["optimizer_history"][-1]["num_updates"]
    except Exception:  # not there yet, or being written
        return 0



@pytest.mark.slow
@pytest.mark.parametrize("backbone", ["xlmr", "mbart"])
def test_a_build_killed_mid_pretraining_resumes_from_its_last_checkpoint(backbone, benchmark_dir, tmp_path):
    """kill -9 during a pretraining, run the same command again: it goes on from checkpoint_last.pt, not from the
    skip-gram start. XLM-R ends with exactly the weights of a build that was never stopped (masked-LM noise is
    seeded per sample). mBART ends close to them but not bit-equal: fairseq's DenoisingDataset draws its
    random-token replacements from torch's global generator, whose state after a restart differs."""
    corpus = [os.path.join(benchmark_dir, "mono", f"{lang}.txt") for lang in ("en_XX", "de_DE")]
    n = 40
    flags = {"mbart": ["--pretrain-updates", str(n), "--embedding-init", "skipgram"],
             "xlmr": ["--xlmr-pretrain-updates", str(n), "--xlmr-embedding-init", "skipgram"]}[backbone]

    def command(parent):
        return [sys.executable, "-m", "fairseq_xlgen.cli.make_fixtures", "--out", str(parent / "fx"), "--vocab-size",
                "2000", *flags, "--corpus", *corpus]

    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    subprocess.run(command(whole), env=env, check=True, capture_output=True)
    proc = subprocess.Popen(command(stopped), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    checkpoints = str(stopped / ".fx.build-*" / f"pretrain-{backbone}" / "checkpoints" / "checkpoint_last.pt")
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        last = glob.glob(checkpoints)
        if last and _updates_done(last[0]) >= n // 2:
            break
        time.sleep(0.5)
    assert proc.poll() is None, "the build finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (stopped / "fx").exists()
    # bench/fixture_from_checkpoint.py makes the unfinished run measurable by the benches
    layout = "mbart.cc25" if backbone == "mbart" else "xlmr.base"
    at_kill = subprocess.run(
        [sys.executable, "-m", "bench.fixture_from_checkpoint", "--build", os.path.dirname(os.path.dirname(
            os.path.dirname(last[0]))), "--model", backbone, "--checkpoint", last[0], "--flags",
         " ".join(["--vocab-size", "2000", *flags]), "--out", str(tmp_path / "at-kill")],
        cwd=REPO, env=env, check=True, capture_output=True, text=True)
    assert int(at_kill.stdout.split("update ")[1]) >= n // 2
    load_pretrained(str(tmp_path / "at-kill" / layout), MBART_LAYOUT if backbone == "mbart" else XLMR_LAYOUT)
    subprocess.run(command(stopped), env=env, check=True, capture_output=True)
    with open(stopped / "fx" / f"pretrain_{backbone}.log", encoding="utf-8") as f:
        loads = re.findall(r"Loaded checkpoint (\S+) \(epoch \d+ @ (\d+) updates\)", f.read())
    assert [os.path.basename(path) for path, _ in loads] == ["embedding_init.pt", "checkpoint_last.pt"]
    assert int(loads[1][1]) >= n // 2
    assert not glob.glob(str(stopped / ".fx.build-*")), "the build directory is removed when done"
    whole_state, resumed_state = (_raw_state(parent / "fx" / layout)["model"] for parent in (whole, stopped))
    assert whole_state.keys() == resumed_state.keys()
    for key in whole_state:
        if backbone == "xlmr":
            assert torch.equal(whole_state[key], resumed_state[key]), key
        else:
            assert torch.allclose(whole_state[key], resumed_state[key], atol=0.02), key
