"""Checkpoints are unpickled with weights_only=True and fairseq's allowlist (patch hunks in
fairseq/checkpoint_utils.py and distributed/utils.py; fairseq_xlgen/checkpoint_loading.py)."""
import argparse
import collections
import datetime
import os
import subprocess

import numpy as np
import pytest
import torch
from fairseq import checkpoint_utils
from omegaconf import OmegaConf

from fairseq_xlgen.checkpoint_loading import load_checkpoint
from fairseq_xlgen.errors import InputFileError

from conftest import mbart_finetune_args, run_tool, tool_env

OPT_IN = "XLGEN_TRUSTED_CHECKPOINTS"


class _RunsCode:
    """Unpickling this calls os.system, as a malicious checkpoint would."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture
def malicious_checkpoint(tmp_path):
    marker = tmp_path / "code_ran"
    path = str(tmp_path / "malicious.pt")
    torch.save({"model": {"w": torch.zeros(2)}, "args": _RunsCode(marker)}, path)
    return path, marker


def test_code_executing_checkpoint_is_refused_without_running_it(malicious_checkpoint, monkeypatch):
    monkeypatch.delenv(OPT_IN, raising=False)
    path, marker = malicious_checkpoint
    with pytest.raises(checkpoint_utils.UntrustedCheckpointError) as info:
        checkpoint_utils.load_checkpoint_to_cpu(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: needs posix.system,") and message.endswith(f"load it with {OPT_IN}=1")
    with pytest.raises(InputFileError, match=r"^\S+malicious\.pt: needs posix\.system") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_plugin_tools_refuse_it_in_one_line(malicious_checkpoint, tmp_path, capsys, monkeypatch):
    from fairseq_xlgen.cli.average_checkpoints import main

    monkeypatch.delenv(OPT_IN, raising=False)
    path, marker = malicious_checkpoint
    with pytest.raises(SystemExit) as info:
        main(["--inputs", path, path, "--output", str(tmp_path / "averaged.pt")])
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {path}: needs posix.system, which fairseq checkpoints do not contain and whose unpickling "
        f"could run code; if you trust this file, load it with {OPT_IN}=1"]
    assert not marker.exists() and not (tmp_path / "averaged.pt").exists()


def test_unlisted_type_needs_the_opt_in(tmp_path, monkeypatch):
    """A benign type outside the allowlist stands for any other: refused, then loaded when trusted."""
    path = str(tmp_path / "dated.pt")
    torch.save({"model": {"w": torch.ones(2)}, "extra_state": {"date": datetime.date(2021, 3, 4)}}, path)
    monkeypatch.delenv(OPT_IN, raising=False)
    with pytest.raises(checkpoint_utils.UntrustedCheckpointError, match="needs datetime.date,"):
        checkpoint_utils.torch_load(path)
    monkeypatch.setenv(OPT_IN, "1")
    assert load_checkpoint(path)["extra_state"]["date"] == datetime.date(2021, 3, 4)


def test_allowlisted_contents_round_trip(tmp_path, monkeypatch):
    """What fairseq checkpoints hold besides tensors: legacy args, numpy metric values (--eval-bleu
    stores n-gram count arrays) and the cfg pickled as a DictConfig that holds a Namespace (fairseq
    master of Oct 2020 - Mar 2021; omegaconf's pickle adds defaultdict, typing.Any, its node types)."""
    monkeypatch.delenv(OPT_IN, raising=False)
    args = argparse.Namespace(arch="transformer", lr=[0.25], encoder_layers=2)
    cfg = OmegaConf.create({"common": {"seed": 1, "fp16": False}, "optimization": {"lr": [0.25]}, "model": None},
                           flags={"allow_objects": True})
    cfg.model = args
    metrics = {"_bleu_counts_0": np.array([3, 5], dtype=np.int64), "bleu": np.float64(12.5), "n": np.int32(4)}
    path = str(tmp_path / "all.pt")
    history = [{"criterion_name": "CrossEntropyCriterion", "optimizer_name": "FairseqAdam",
                "lr_scheduler_state": {"best": None}, "num_updates": 4}]
    torch.save({"args": args, "cfg": cfg, "model": collections.OrderedDict(w=torch.arange(3.0)),
                "optimizer_history": history, "extra_state": {"metrics": metrics, "train_iterator": {"epoch": 1}}},
               path)
    state = checkpoint_utils.torch_load(path)
    assert state["args"] == args and state["cfg"].model == args and state["cfg"].optimization.lr == [0.25]
    assert state["extra_state"]["metrics"]["_bleu_counts_0"].tolist() == [3, 5]
    assert state["extra_state"]["metrics"]["bleu"] == np.float64(12.5)
    assert torch.equal(state["model"]["w"], torch.arange(3.0))
    upgraded = checkpoint_utils.load_checkpoint_to_cpu(path)
    assert upgraded["cfg"].model.arch == "transformer"


@pytest.mark.parametrize("fixture", ["mbart.cc25", "xlmr.base"])
def test_pretrained_format_fixtures_load_under_the_allowlist(pretrained_dir, fixture, monkeypatch):
    monkeypatch.delenv(OPT_IN, raising=False)
    path = os.path.join(pretrained_dir, fixture, "model.pt")
    assert isinstance(load_checkpoint(path)["args"], argparse.Namespace)
    state = checkpoint_utils.load_checkpoint_to_cpu(path)
    assert state["cfg"].model.arch == load_checkpoint(path)["args"].arch


@pytest.mark.slow
def test_training_and_averaged_checkpoints_load_under_the_allowlist(translation_bin, pretrained_dir, tmp_path):
    """fairseq-train's checkpoints (hydra cfg of plain containers and a Namespace) and
    xlgen-average-checkpoints' output; fairseq-generate refuses a malicious file in one line."""
    save = tmp_path / "ckpt"
    args = [a for a in mbart_finetune_args(translation_bin, pretrained_dir, save, max_update=2)
            if a != "--no-epoch-checkpoints"]
    run_tool("fairseq-train", *args, "--save-interval-updates", "1")
    run_tool("xlgen-average-checkpoints", "--dir", save, "--last", "2", "--output", tmp_path / "averaged.pt")
    for name in ("checkpoint_1_1.pt", "checkpoint_1_2.pt", "checkpoint_last.pt"):
        assert checkpoint_utils.load_checkpoint_to_cpu(str(save / name))["optimizer_history"]
    averaged = load_checkpoint(str(tmp_path / "averaged.pt"))
    last = load_checkpoint(str(save / "checkpoint_1_2.pt"))
    first = load_checkpoint(str(save / "checkpoint_1_1.pt"))
    key = "encoder.layers.0.fc1.weight"
    assert torch.allclose(averaged["model"][key], (first["model"][key] + last["model"][key]) / 2)

    malicious = tmp_path / "malicious.pt"
    torch.save({"model": {}, "args": _RunsCode(tmp_path / "code_ran")}, malicious)
    env = tool_env()
    env.pop(OPT_IN, None)
    proc = subprocess.run(["fairseq-generate", translation_bin, "--path", str(malicious)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and not (tmp_path / "code_ran").exists()
    assert proc.stderr.strip().splitlines()[-1].endswith(f"needs posix.system, which fairseq checkpoints do not "
                                                         f"contain and whose unpickling could run code; "
                                                         f"if you trust this file, load it with {OPT_IN}=1")


def _broadcast_rank(rank, init_file, path, out_dir):
    from fairseq.distributed import utils as distributed_utils

    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    state = checkpoint_utils.load_checkpoint_to_cpu(path) if rank == 0 else None
    state = distributed_utils.broadcast_object(state, src_rank=0, group=torch.distributed.group.WORLD)
    torch.save({"args": state["args"], "model": state["model"]}, os.path.join(out_dir, f"rank{rank}.pt"))
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_checkpoint_broadcast_to_other_ranks_loads_under_the_allowlist(pretrained_dir, tmp_path, monkeypatch):
    """Rank 0 broadcasts the loaded checkpoint (fairseq's resume under DDP): the receiving rank
    unpickles it with the allowlist plus fairseq's tensor placeholders."""
    monkeypatch.delenv(OPT_IN, raising=False)
    path = os.path.join(pretrained_dir, "mbart.cc25", "model.pt")
    torch.multiprocessing.spawn(_broadcast_rank, args=(str(tmp_path / "init"), path, str(tmp_path)), nprocs=2)
    sent, received = (torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in (0, 1))
    assert received["args"] == sent["args"]
    assert received["model"].keys() == sent["model"].keys()
    assert all(torch.equal(received["model"][k], sent["model"][k]) for k in sent["model"])
