"""Kill-and-resume and distributed equivalence of every training mode (issue 10 §1-2).

One row per training mode, three cells per row:

* **kill mid-epoch**: SIGKILL ``fairseq-train`` once it has logged a random update k of 6
  (``--save-interval-updates 2``), rerun the same command: it resumes from the last save, inside
  epoch 1, and the updates of the two runs together are those of an uninterrupted run;
* **kill during save**: SIGKILL while the update-4 save has written a temp file
  (``checkpoint_1_4.pt.tmp`` or ``checkpoint_last.pt.tmp``, alternating by mode;
  ``XLGEN_TEST_PAUSE_IN_SAVE``, the patch's pause before each rename): ``checkpoint_last.pt``
  still loads and holds update 2, and the rerun gives the uninterrupted run's updates 3-6;
* **DDP**: 2 gloo ranks under ``torchrun`` give the losses (and the in-training XLRS) of 1 process
  with ``--update-freq 2`` (the reference run of the row), with neither ``--find-unused-parameters``
  nor unused-parameter errors in the frozen-backbone modes (LAFT's adapters of a language missing
  from a batch take part with weight 0; SGA has no parameter a step leaves out).

Tolerances. A resumed run repeats the uninterrupted run's computation exactly: the same
parameters, optimizer and scheduler state (fp32 in the checkpoint), the same batches (the epoch
iterator resumes at ``iterations_in_epoch``), the same noise (code switching per (seed, side,
epoch, index); fairseq's denoising per (seed, epoch, index), its torch draws too since the patch;
SGA's per (seed, update, sample id)), on one CPU thread, with dropout 0 (xlmr_sga:
``--backbone-dropout 0``; dropout would be reproducible too, but DDP ranks draw their masks from
equally seeded generators). So every logged value (3 decimals for losses and norms) must be *equal*, and so must the batch sizes
``bsz``/``wpb`` of each update: a batch lost or seen twice would shift them. DDP sums the two
ranks' gradients by all-reduce and divides by the world size before fairseq multiplies back,
a different float rounding than accumulating in one process; its losses agree within 2e-3
(two units of the logged digit), its batch sizes exactly.
"""
import os
import random
import signal
import subprocess
import time

import pytest
from fairseq import checkpoint_utils

from conftest import (
    BIN,
    free_port,
    json_logs,
    laft_stage1_args,
    laft_stage2_args,
    mbart_finetune_args,
    multi_source_xlrs_args,
    run_tool,
    sga_train_args,
    tool_env,
)

pytestmark = pytest.mark.slow

UPDATES = 6  # updates of the kill runs, saves every SAVE_EVERY updates
SAVE_EVERY = 2
DDP_UPDATES = 3
UPDATE_FREQ = 2  # batches per update of the 1-process runs
TIMING_KEYS = {"wps", "ups", "wpb_per_s", "train_wall", "gb_free", "wall", "valid_wps", "valid_wall"}
#: logged values that depend on the batches and the schedule only (DDP: equal, not approximately)
BATCH_KEYS = {"epoch", "update", "num_updates", "bsz", "wpb", "lr", "ctc_too_long", "valid_num_updates"}
NO_DROPOUT = ["--dropout", "0", "--attention-dropout", "0"]


def _mbart(request, save_dir, max_update):
    return mbart_finetune_args(request.getfixturevalue("translation_bin"), request.getfixturevalue("pretrained_dir"),
                               save_dir, max_update=max_update)


def _csr_stage1(request, save_dir, max_update):
    lexicon, _ = request.getfixturevalue("restore_lexicon")
    return mbart_finetune_args(request.getfixturevalue("translation_bin"), request.getfixturevalue("pretrained_dir"),
                               save_dir, max_update=max_update, task="code_switch_restore",
                               task_args=["--lexicon-prefix", lexicon])


def _csr_stage2(request, save_dir, max_update):
    return mbart_finetune_args(request.getfixturevalue("translation_bin"), request.getfixturevalue("pretrained_dir"),
                               save_dir, max_update=max_update, init=request.getfixturevalue("csr_stage1_checkpoint"))


def _multi_source_xlrs(request, save_dir, max_update):
    data, parallel = request.getfixturevalue("xlrs_summarization_data")
    return multi_source_xlrs_args(data, parallel, request.getfixturevalue("pretrained_dir"), save_dir,
                                  max_update=max_update) + ["--no-epoch-checkpoints"]


def _laft_stage1(request, save_dir, max_update):
    return laft_stage1_args(request.getfixturevalue("laft_data"), request.getfixturevalue("pretrained_dir"),
                            request.getfixturevalue("laft_components"), save_dir, max_update)


def _laft_stage2(request, save_dir, max_update):
    return laft_stage2_args(request.getfixturevalue("laft_data"), request.getfixturevalue("laft_stage1_checkpoint"),
                            save_dir, max_update)


def _sga(alignment):
    def args(request, save_dir, max_update):
        return sga_train_args(request.getfixturevalue("sga_bin"), request.getfixturevalue("pretrained_dir"),
                              save_dir, max_update, extra=["--alignment", alignment])
    return args


#: mode: (arguments, extra arguments). The extras turn dropout off (LAFT's recipe has none) and make
#: batches small enough that 6 updates of 2 batches stay inside epoch 1 (summarization: 120 instances).
MODES = {
    "mbart_finetune": (_mbart, [*NO_DROPOUT, "--max-tokens", "160"]),
    "csr_stage1": (_csr_stage1, [*NO_DROPOUT, "--max-tokens", "160"]),
    "csr_stage2": (_csr_stage2, [*NO_DROPOUT, "--max-tokens", "160"]),
    "multi_source_xlrs": (_multi_source_xlrs, [*NO_DROPOUT, "--max-tokens", "128", "--train-budget", "120"]),
    "laft_stage1": (_laft_stage1, []),
    "laft_stage2": (_laft_stage2, ["--max-tokens", "256"]),
    "sga_ctc": (_sga("ctc"), ["--backbone-dropout", "0", "--max-tokens", "256"]),
    "sga_mask_predict": (_sga("mask_predict"), ["--backbone-dropout", "0", "--max-tokens", "256"]),
}


@pytest.fixture(scope="session")
def csr_stage1_checkpoint(request, tmp_path_factory):
    save = tmp_path_factory.mktemp("csr_stage1")
    run_tool("fairseq-train", *_csr_stage1(request, save, 2), *MODES["csr_stage1"][1])
    return str(save / "checkpoint_last.pt")


@pytest.fixture(scope="session")
def laft_stage1_checkpoint(request, tmp_path_factory):
    save = tmp_path_factory.mktemp("laft_stage1")
    run_tool("fairseq-train", *_laft_stage1(request, save, 2), *MODES["laft_stage1"][1])
    return str(save / "checkpoint_last.pt")


@pytest.fixture(scope="module", params=list(MODES))
def mode(request):
    """``command(save_dir, max_update)``: the ``fairseq-train`` command of one training mode (its data
    fixtures built on first use), 2 batches per update (the DDP cell's reference)."""
    build, extra = MODES[request.param]

    def command(save_dir, max_update):
        return ["fairseq-train", *map(str, build(request, save_dir, max_update)), *extra,
                "--save-interval-updates", str(SAVE_EVERY), "--update-freq", str(UPDATE_FREQ)]
    return command


def _records(output):
    """Per update, every logged train and valid value except timings."""
    by_update = {}
    for kind, key in (("train_inner", "num_updates"), ("valid", "valid_num_updates")):
        for record in json_logs(output, kind):
            by_update.setdefault(int(record[key]), {}).update(
                {f"{kind}:{k}": v for k, v in record.items() if k not in TIMING_KEYS})
    return by_update


@pytest.fixture(scope="module")
def uninterrupted(mode, tmp_path_factory):
    """The records of the mode's uninterrupted 6-update run (the reference of all three cells)."""
    out = run_tool(*mode(tmp_path_factory.mktemp("uninterrupted"), UPDATES))
    records = _records(out)
    assert sorted(records) == list(range(1, UPDATES + 1))
    assert {float(r["train_inner:epoch"]) for r in records.values()} == {1.0}  # 6 updates inside epoch 1
    return records


def _checkpoint_position(path):
    """(num_updates, epoch, iterations_in_epoch) of a checkpoint, loaded as fairseq loads it."""
    state = checkpoint_utils.load_checkpoint_to_cpu(str(path))
    iterator = state["extra_state"]["train_iterator"]
    return state["optimizer_history"][-1]["num_updates"], iterator["epoch"], iterator["iterations_in_epoch"]


def _kill_when(cmd, ready, log_path, env=None, timeout=300):
    """Start ``cmd`` with its output in ``log_path``; SIGKILL it as soon as ``ready(output so far)``
    holds (polled every 20 ms). Returns its output."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, env=tool_env(PYTHONUNBUFFERED="1", **(env or {})), stdout=log,
                                stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    try:
        while not ready(open(log_path).read()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{cmd[0]} exited ({proc.returncode}) or timed out before the kill; "
                                     f"see {log_path}")
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return open(log_path).read()


def _assert_resumed_run_continues(uninterrupted, before_kill, resumed, saved):
    """The updates logged before the kill (up to the save resumed from) and by the rerun are the
    uninterrupted run's, value for value (module docstring: why equal)."""
    assert sorted(resumed) == list(range(saved + 1, UPDATES + 1))
    for update in range(1, saved + 1):
        assert before_kill[update] == uninterrupted[update], update
    for update in resumed:
        assert resumed[update] == uninterrupted[update], update


def test_kill_mid_epoch_then_rerun(mode, uninterrupted, request, tmp_path):
    kill_after = random.Random(request.node.callspec.id).randint(SAVE_EVERY + 1, UPDATES - 1)
    print(f"killing after update {kill_after}")
    save = tmp_path / "ckpt"
    output = _kill_when(mode(save, UPDATES), lambda out: kill_after in _records(out), tmp_path / "killed.log")
    saved, epoch, position = _checkpoint_position(save / "checkpoint_last.pt")
    # the last save before the kill; the save of update k itself may or may not have finished
    assert saved % SAVE_EVERY == 0 and kill_after - SAVE_EVERY <= saved <= kill_after
    assert (epoch, position) == (1, UPDATE_FREQ * saved)  # resumes inside epoch 1, after the batches it trained on
    before_kill = _records(output)
    assert sorted(before_kill)[-1] == kill_after
    _assert_resumed_run_continues(uninterrupted, before_kill, _records(run_tool(*mode(save, UPDATES))), saved)


def test_kill_inside_a_save_then_rerun(mode, uninterrupted, request, tmp_path):
    """The update-4 save writes checkpoint_1_4.pt.tmp, renames it, then copies it to
    checkpoint_last.pt.tmp and renames that: the kill hits one of the two temp files (alternating by mode)."""
    torn_name = ("checkpoint_last.pt", f"checkpoint_1_{2 * SAVE_EVERY}.pt")[list(MODES).index(request.node.callspec.id) % 2]
    save = tmp_path / "ckpt"
    last, torn = save / "checkpoint_last.pt", save / f"{torn_name}.tmp"
    saved_once = []

    def inside_second_save(_output):
        if not saved_once and last.exists():  # the update-2 save is complete
            saved_once.append(True)
            return False
        return bool(saved_once) and torn.exists()  # the update-4 save has written this temp file

    output = _kill_when(mode(save, UPDATES), inside_second_save, tmp_path / "killed.log",
                        env={"XLGEN_TEST_PAUSE_IN_SAVE": "1"})
    assert torn.exists() and _checkpoint_position(last) == (SAVE_EVERY, 1, UPDATE_FREQ * SAVE_EVERY)
    assert (save / f"checkpoint_1_{2 * SAVE_EVERY}.pt").exists() == (torn_name == "checkpoint_last.pt")
    resumed = _records(run_tool(*mode(save, UPDATES)))
    _assert_resumed_run_continues(uninterrupted, _records(output), resumed, SAVE_EVERY)
    assert _checkpoint_position(last)[0] == UPDATES
    assert not [name for name in os.listdir(save) if name.endswith(".tmp")]


def test_two_gloo_ranks_equal_one_process_with_update_freq_2(mode, uninterrupted, tmp_path):
    command = mode(tmp_path / "ddp", DDP_UPDATES)
    assert "--find-unused-parameters" not in command
    ddp = _records(run_tool("torchrun", "--nproc_per_node", "2", "--master_port", free_port(),
                            os.path.join(BIN, "fairseq-train"), *command[1:], "--update-freq", "1",
                            "--distributed-world-size", "2"))
    assert sorted(ddp) == list(range(1, DDP_UPDATES + 1))
    for update in ddp:
        shared = ddp[update].keys() & uninterrupted[update].keys()
        if update < DDP_UPDATES:  # the stop at update 3 adds a validation the reference does not have there
            assert ddp[update].keys() == uninterrupted[update].keys()
        for key in shared - {"valid:valid_bsz", "valid:valid_wpb"}:  # means per validation step, of 2 batches in DDP
            value, expected = ddp[update][key], uninterrupted[update][key]
            if key.split(":")[1] in BATCH_KEYS:
                assert value == expected, (update, key)
            elif key.endswith("ppl"):  # 2 ** loss
                assert float(value) == pytest.approx(float(expected), rel=2e-3), (update, key)
            else:  # losses, norms, XLRS
                assert float(value) == pytest.approx(float(expected), abs=2e-3), (update, key)
