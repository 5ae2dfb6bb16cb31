"""bench/_results.py: a bench's JSON records paths as a user would type them, not the running machine's."""
import json
import os
import sys
import tempfile

from bench._results import REPO, portable_paths, write_results


def test_machine_paths_become_portable(tmp_path):
    work = tmp_path / "work"
    value = {"command": f"{sys.executable} -m bench.x --out {work}/a.json --data {REPO}/fixtures/benchmark-small",
             "runs": [{"fixture": f"{tempfile.gettempdir()}/fx64/xlmr.base", "updates": 3}],
             "tool": os.path.join(os.path.dirname(sys.executable), "xlgen-map-embeddings") + " --unsupervised"}
    assert portable_paths(value, str(work)) == {
        "command": "python -m bench.x --out WORK/a.json --data fixtures/benchmark-small",
        "runs": [{"fixture": "$TMPDIR/fx64/xlmr.base", "updates": 3}],
        "tool": "xlgen-map-embeddings --unsupervised"}


def test_written_atomically_with_the_portable_paths(tmp_path):
    out = tmp_path / "results" / "r.json"
    write_results(str(out), {"directory": f"{REPO}/fixtures/testbed-small", "中文": 1})
    assert json.loads(out.read_text(encoding="utf-8")) == {"directory": "fixtures/testbed-small", "中文": 1}
    assert os.listdir(out.parent) == ["r.json"]
