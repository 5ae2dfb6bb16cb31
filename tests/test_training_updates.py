"""A few updates of every training mode, each logging a finite loss (issue 19: the GPU check of ``--fp16``).

The modes are the reliability matrix's (mBART finetune, CSR stages 1 and 2, multi-source with XLRS, LAFT stages 1
and 2, SGA with CTC and with Mask-Predict) and LAFT's TM+adv baseline. On CPU (CI) they train in fp32;
``bench/gpu_checks.sh`` runs this module on a GPU with ``XLGEN_TRAIN_FLAGS=--fp16`` (flags added to every
``fairseq-train``) and ``XLGEN_TRAIN_RECORDS=DIR`` (each mode's logged records written to ``DIR/<mode>.json``).
"""
import json
import math
import os
import shlex

import pytest

from conftest import laft_common_args, laft_summarization_args, run_tool, train_inner_logs
from test_reliability_matrix import MODES, csr_stage1_checkpoint, laft_stage1_checkpoint  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

UPDATES = 3


def _tm_adv(request, save_dir, max_update):
    """LAFT's TM+adv baseline: summarization batches and zh_CN monolingual batches for the language classifier."""
    data, pretrained = request.getfixturevalue("laft_data"), request.getfixturevalue("pretrained_dir")
    return [*laft_summarization_args(data, "language_adversarial_summarization"),
            "--adversarial-data", data / "denoising", "--adversarial-langs", "zh_CN",
            "--finetune-from-model", os.path.join(pretrained, "mbart.cc25", "model.pt"),
            "--criterion", "language_adversarial", "--label-smoothing", "0.1",
            *laft_common_args(save_dir, max_update, "mbart_tm_adv_tiny")]


TRAINING_MODES = {**MODES, "tm_adv": (_tm_adv, [])}


@pytest.mark.parametrize("name", list(TRAINING_MODES))
def test_a_few_updates_log_a_finite_loss(name, request, tmp_path):
    build, extra = TRAINING_MODES[name]
    flags = shlex.split(os.environ.get("XLGEN_TRAIN_FLAGS", ""))
    out = run_tool("fairseq-train", *build(request, tmp_path / "checkpoints", UPDATES), *extra, *flags)
    records = train_inner_logs(out)
    assert [int(r["num_updates"]) for r in records] == list(range(1, UPDATES + 1))
    losses = [r["loss"] for r in records]
    records_dir = os.environ.get("XLGEN_TRAIN_RECORDS")
    if records_dir:
        with open(os.path.join(records_dir, f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump({"mode": name, "flags": flags, "losses": losses, "records": records}, f, indent=1)
    assert all(math.isfinite(loss) for loss in losses), losses
