"""SIGKILL inside a checkpoint save never tears a checkpoint (patch hunks in fairseq/checkpoint_utils.py).

fairseq writes the first name of a save to ``<name>.tmp`` and renames it; stock 0.12.2 then
copied it in place onto the other names, ``checkpoint_last.pt`` included. The patch copies to
``<name>.tmp`` and renames too, and ``XLGEN_TEST_PAUSE_IN_SAVE=<seconds>`` pauses before each
rename, so the test can kill fairseq-train while a temp file is complete but not yet in place.
"""
import os
import signal
import subprocess
import time

import pytest
from fairseq import checkpoint_utils

from conftest import mbart_finetune_args, run_tool, tool_env, train_inner_logs

pytestmark = pytest.mark.slow


def _wait_for(predicate, proc, what, timeout=180):
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"fairseq-train exited ({proc.returncode}) or timed out before {what}")
        time.sleep(0.02)


def _updates(path):
    return checkpoint_utils.load_checkpoint_to_cpu(str(path))["optimizer_history"][-1]["num_updates"]


@pytest.mark.parametrize("torn", ["checkpoint_1_4.pt", "checkpoint_last.pt"])
def test_kill_inside_a_save_keeps_checkpoint_last_and_the_run_resumes(translation_bin, pretrained_dir, tmp_path,
                                                                       torn):
    """Kill while the update-4 save has written ``torn``.tmp (the first name, then the copy to
    checkpoint_last.pt): checkpoint_last.pt still holds update 2, and rerunning finishes the run."""
    save = tmp_path / "ckpt"
    cmd = ["fairseq-train", *map(str, mbart_finetune_args(translation_bin, pretrained_dir, save, max_update=4)),
           "--save-interval-updates", "2"]
    last, tmp = save / "checkpoint_last.pt", save / f"{torn}.tmp"
    with open(tmp_path / "killed.log", "w") as log:
        proc = subprocess.Popen(cmd, env=tool_env(XLGEN_TEST_PAUSE_IN_SAVE="1"), stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for(last.exists, proc, "the update-2 save")
            _wait_for(tmp.exists, proc, f"the update-4 save wrote {tmp.name}")
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=30) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert tmp.exists() and _updates(last) == 2
    assert (save / "checkpoint_1_4.pt").exists() == (torn == "checkpoint_last.pt")

    resumed = train_inner_logs(run_tool(*cmd))
    assert [int(r["num_updates"]) for r in resumed] == [3, 4]
    assert _updates(last) == 4 and _updates(save / "checkpoint_1_4.pt") == 4
    assert not [name for name in os.listdir(save) if name.endswith(".tmp")]
