"""Input errors and atomic output files, shared by the library and the command-line tools.

Every problem with user input is an :class:`InputError` whose message names the file
(and line) or flag and says what to do; the command-line tools print it as one line
``error: <message>`` and exit with status 2 (:func:`exit_on_input_error`). Outputs appear
only once complete: they are written to a temporary file next to them, then renamed.
"""
import argparse
import contextlib
import functools
import hashlib
import json
import os
import sys
import tempfile


class InputError(ValueError):
    """Bad user input: reported as one ``error:`` line with exit status 2."""


class InputFileError(InputError):
    """A missing or malformed input file; ``str(error)`` is ``file:line: what is wrong``."""

    def __init__(self, path, message, line=None):
        self.path = path
        self.line = line
        location = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{location}: {message}")


def read_json(path):
    """The JSON document in ``path`` (UTF-8)."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def require_file(path, what="input file"):
    """Raise :class:`InputFileError` unless ``path`` is an existing regular file."""
    if not os.path.isfile(path):
        raise InputFileError(path, f"{what} not found; check the path")


def refuse_directory(path, flag):
    """Fail before any work when the output ``path`` (given as ``flag``) is a directory (the final rename
    onto it would fail after the work)."""
    if os.path.isdir(path):
        raise InputError(f"{flag} {path}: is a directory; name the output file, e.g. {os.path.join(path, 'out')}")


def check_output_path(path, flag):
    """Fail before any work when the directory of the output ``path`` (given as ``flag``) is missing,
    or when ``path`` itself is a directory."""
    refuse_directory(path, flag)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InputError(f"{flag} {path}: directory {directory} does not exist; create it first")


def positive_int(value):
    """argparse type of a count that must be at least 1 (a size, a number of items or epochs)."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be a positive integer")
    return number


def non_negative_int(value):
    """argparse type of a count that may be 0."""
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value}: must be 0 or a positive integer")
    return number


def exit_on_input_error(main):
    """Decorate a command-line ``main``: an :class:`InputError` becomes ``error: ...`` on
    stderr and exit status 2, without a traceback."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except InputError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)

    return wrapper


def report_input_errors_in_one_line():
    """Inside fairseq's own tools (``fairseq-train --user-dir ...``), an uncaught :class:`InputError`,
    or an exception raised while handling one (fairseq wraps checkpoint-loading errors), prints
    ``error: <message>`` instead of a traceback (Python still exits with status 1)."""
    previous = sys.excepthook
    if getattr(previous, "reports_input_errors", False):
        return

    def hook(kind, error, traceback):
        cause = error
        while cause is not None and not isinstance(cause, InputError):  # fairseq re-raises load errors
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            previous(kind, error, traceback)
        else:
            print(f"error: {cause}", file=sys.stderr)

    hook.reports_input_errors = True
    sys.excepthook = hook


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success.

    On any exception the temporary file is removed, so a failed run never leaves a
    half-written ``path`` behind (an older complete ``path`` is kept untouched).
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp_path)
        raise


@contextlib.contextmanager
def atomic_output(path, mode="w", encoding="utf-8"):
    """Open a file that appears at ``path`` only once written completely (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp_path, open(tmp_path, mode, encoding=None if "b" in mode else encoding) as f:
        yield f


def file_sha256(path):
    """sha256 of a file's bytes (hex), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
