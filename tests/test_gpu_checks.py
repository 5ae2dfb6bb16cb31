"""bench/gpu_checks.sh's CPU dry run (DRY_RUN=1): every step runs and writes the JSON the GPU session returns."""
import json
import math
import os

import pytest

from conftest import REPO, run_tool

pytestmark = pytest.mark.slow


def test_dry_run_writes_every_json(tmp_path):
    out = tmp_path / "out"
    run_tool("bash", os.path.join(REPO, "bench", "gpu_checks.sh"), out, env={"DRY_RUN": "1", "MODES": "sga_ctc"},
             timeout=1200)
    with open(out / "gpu_checks.json", encoding="utf-8") as f:
        summary = json.load(f)
    assert summary["dry_run"] is True
    assert {name: step["exit"] for name, step in summary["steps"].items()} == {
        "sga_decoding": 0, "laft_training": 0, "training_modes": 0}
    assert set(summary["speed_goals"]) == {"ctc vs ar-beam4, batch 1", "sga vs ar-beam4, batch 1"}
    assert summary["training_modes_with_finite_losses"] == ["sga_ctc"]

    with open(out / "sga_decoding.json", encoding="utf-8") as f:
        speed = json.load(f)
    assert speed["settings"]["fp16"] is False and speed["settings"]["device"] == "cpu"
    assert [(r["system"], r["batch"]) for r in speed["results"]] == [
        (system, batch) for batch in (1, 2) for system in ("ctc", "sga", "sga+1", "mp2+dn", "ar-beam4")]
    assert all(len(r["all_ms"]) == 2 for r in speed["results"])  # 2 timed repeats after the warm-up
    assert [load["batch"] for load in speed["load_average"]] == [1, 2]
    sga = next(r for r in speed["results"] if r["system"] == "sga" and r["batch"] == 1)
    assert sga["mean_denoising_passes"] == 1.625  # the default 1.62 over 8 sentences: 1, 2, 1, 2, 2, 1, 2, 2

    with open(out / "laft_training.json", encoding="utf-8") as f:
        laft = json.load(f)
    assert [r["config"] for r in laft["results"]] == ["full", "laft stage 2"]

    with open(out / "training_modes.json", encoding="utf-8") as f:
        modes = json.load(f)
    assert list(modes) == ["sga_ctc"] and modes["sga_ctc"]["flags"] == []
    assert len(modes["sga_ctc"]["losses"]) == 3 and all(math.isfinite(x) for x in modes["sga_ctc"]["losses"])
