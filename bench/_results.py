"""A bench's JSON as a user would type its paths: written atomically, with each absolute path of the machine
that ran it made portable (issue 20: the results once recorded temp directories and the venv)."""
import json
import os
import sys
import tempfile

from fairseq_xlgen.file_io import atomic_output

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def portable_paths(value, work=None):
    """``value`` (JSON-able) with, in every string: the venv's ``python`` and tools by their bare name, the
    bench's ``work`` directory as ``WORK``, the repository's paths relative to it, other temporary paths under
    ``$TMPDIR``."""
    prefixes = [(os.path.dirname(sys.executable) + os.sep, ""), (os.path.abspath(work) + os.sep, "WORK/")] if work \
        else [(os.path.dirname(sys.executable) + os.sep, "")]
    prefixes += [(REPO + os.sep, ""), (tempfile.gettempdir().rstrip(os.sep) + os.sep, "$TMPDIR/")]
    if isinstance(value, str):
        for prefix, replacement in prefixes:
            value = value.replace(prefix, replacement)
        return value
    if isinstance(value, dict):
        return {key: portable_paths(item, work) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [portable_paths(item, work) for item in value]
    return value


def write_results(path, payload, work=None):
    """``payload`` to ``path`` (JSON, indented; a temporary file renamed) with :func:`portable_paths`."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_output(path) as f:
        json.dump(portable_paths(payload, work), f, indent=2, ensure_ascii=False)
