"""Files in and out, shared by the library and the command-line tools: checked inputs (UTF-8 line by line,
JSON, existing files), output paths checked before any work, and outputs that appear only once complete
(written to a temporary file next to them, then renamed). Problems are :mod:`fairseq_xlgen.errors`.
"""
import contextlib
import hashlib
import json
import os
import shutil
import tempfile

from fairseq_xlgen.errors import InputError, InputFileError


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


def replace_directory(tmp_dir, out_dir):
    """Put the complete directory ``tmp_dir`` (a sibling of ``out_dir``) at ``out_dir``: an existing ``out_dir`` is
    swapped out first and removed after, so ``out_dir`` is at every moment either the old or the new one."""
    os.chmod(tmp_dir, 0o755)  # mkdtemp's 0o700 would hide it from other users
    if os.path.lexists(out_dir):
        old_dir = tmp_dir + ".old"
        os.replace(out_dir, old_dir)
        os.replace(tmp_dir, out_dir)
        shutil.rmtree(old_dir)
    else:
        os.replace(tmp_dir, out_dir)


def file_sha256(path):
    """sha256 of a file's bytes (hex), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def iter_decoded_lines(path, binary_file):
    """Yield ``(line number, text)`` of a file opened in binary mode, decoding each line as
    UTF-8 so that an encoding error is reported at its exact line."""
    for line_number, raw in enumerate(binary_file, start=1):
        try:
            yield line_number, raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputFileError(path, "not valid UTF-8; re-encode the file as UTF-8", line=line_number) from None
