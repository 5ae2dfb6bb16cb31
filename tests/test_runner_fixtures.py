"""The recipes' runner (fairseq_xlgen/testbed/runner.py): benchmark_and_fixtures with a shipped set:
`fixtures/build.sh --copy` regenerates the set's input text, finds the shipped weights built from it and copies
them; a rerun copies nothing."""
import filecmp
import os

import pytest

from conftest import REPO, tool_env

from fairseq_xlgen.testbed.runner import benchmark_and_fixtures


@pytest.mark.slow
def test_the_shipped_set_is_copied_once_and_bit_for_bit(tmp_path, monkeypatch):
    for key, value in tool_env().items():
        monkeypatch.setenv(key, value)
    pretrained, log = tmp_path / "pretrained", tmp_path / "prepare.log"
    benchmark_and_fixtures(str(tmp_path / "benchmark"), str(pretrained), "small", "benchmark-small", str(log), None)
    shipped = os.path.join(REPO, "fixtures", "benchmark-small")
    for name in ("mbart.cc25", "xlmr.base"):
        files = sorted(os.listdir(os.path.join(shipped, name)))
        match, mismatch, errors = filecmp.cmpfiles(os.path.join(shipped, name), pretrained / name, files, shallow=False)
        assert (match, mismatch, errors) == (files, [], [])
    assert "copied the prebuilt fixtures" in log.read_text()
    assert not os.path.exists(str(pretrained) + ".build"), "build.sh removes its work directory"
    before = log.read_text()
    benchmark_and_fixtures(str(tmp_path / "benchmark"), str(pretrained), "small", "benchmark-small", str(log), None)
    assert "build.sh" not in log.read_text()[len(before):]  # the marker says the set is in place
