"""Safe loading of checkpoints and other torch pickles (every ``torch.load`` of the plugin).

A checkpoint is a pickle, and unpickling a file from an untrusted source can run arbitrary
code. The patched fairseq loads with ``torch.load(weights_only=True)`` and an allowlist of the
types real fairseq checkpoints hold (``fairseq.checkpoint_utils.checkpoint_safe_globals``);
the plugin reuses it, so a file needing any other type is refused before anything of it runs,
with one line naming the type and the opt-in ``XLGEN_TRUSTED_CHECKPOINTS=1`` for trusted files.
A missing, empty, truncated or corrupt file is one :class:`InputFileError` line as well.

Before ``fairseq-train`` loads a checkpoint into a freshly built model, our tasks call
:func:`training_checkpoint_path` and :func:`check_checkpoint_fits`, so that a checkpoint of
another architecture, a missing ``--restore-file`` (fairseq would silently train from scratch)
or a torn file stops the run with one line instead of a traceback or a wrong run.
"""
import contextlib
import os
import zipfile

import torch
import torch.utils.serialization
from fairseq import checkpoint_utils

from fairseq_xlgen.errors import InputError, InputFileError
from fairseq_xlgen.file_io import require_file

#: fairseq's default ``--restore-file``: ``SAVE_DIR/checkpoint_last.pt`` if it exists
DEFAULT_RESTORE_FILE = "checkpoint_last.pt"


@contextlib.contextmanager
def _mapped_tensors(enabled):
    """torch.load maps the tensors of a zip-format file instead of reading them (cheap peeks)."""
    config = torch.utils.serialization.config.load
    previous, config.mmap = config.mmap, enabled
    try:
        yield
    finally:
        config.mmap = previous


def load_checkpoint(path, mmap=False):
    """The object pickled in ``path``, on the CPU; :class:`InputFileError` if it is missing or unreadable,
    or needs a type outside the allowlist. ``mmap``: map the tensors of a zip-format file (shapes
    and metadata without reading the weights; a legacy-format file is read whole)."""
    require_file(path, "checkpoint")
    with open(path, "rb") as f:
        if not f.read(4).startswith((b"PK\x03\x04", b"\x80")):  # a zip archive (torch.save) or a pickle (legacy)
            raise InputFileError(path, "not a checkpoint: empty, or neither a torch.save archive nor a pickle; "
                                       "pass a checkpoint file written by fairseq-train")
    try:
        with _mapped_tensors(mmap and zipfile.is_zipfile(path)):
            return checkpoint_utils.torch_load(path, map_location="cpu")
    except checkpoint_utils.UntrustedCheckpointError as error:
        raise InputFileError(path, str(error).removeprefix(f"{path}: ")) from None
    except Exception as error:  # empty, truncated or foreign file: torch and pickle raise many types
        raise InputFileError(path, f"not a readable checkpoint ({type(error).__name__}: {str(error)[:80]}); "
                                   "it is truncated or not a torch.save file: pass a complete checkpoint") from None


def load_model_checkpoint(path, mmap=False):
    """A fairseq checkpoint (a dict with a ``model`` state dict), checked as :func:`load_checkpoint`."""
    state = load_checkpoint(path, mmap)
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
        raise InputFileError(path, "not a fairseq checkpoint (no 'model' state dict); pass a checkpoint "
                                   "written by fairseq-train")
    return state


def training_checkpoint_path(args):
    """The checkpoint ``fairseq-train`` will load into the new model (``checkpoint_utils.load_checkpoint``'s
    choice), or None when it trains from scratch; a missing ``--restore-file`` or
    ``--finetune-from-model`` is an :class:`InputError` (fairseq ignores the former)."""
    suffix = getattr(args, "checkpoint_suffix", "") or ""
    restore_file = getattr(args, "restore_file", DEFAULT_RESTORE_FILE)
    if restore_file != DEFAULT_RESTORE_FILE:
        path = restore_file.replace(".pt", suffix + ".pt")
        if not os.path.isfile(path):
            raise InputError(f"--restore-file {restore_file}: no such file (fairseq would train from scratch); "
                             "check the path, or use --finetune-from-model for a pretrained model")
        return path
    last = os.path.join(getattr(args, "save_dir", "checkpoints"), f"checkpoint_last{suffix}.pt")
    if os.path.exists(last):
        return last
    for flag in ("continue_once", "finetune_from_model"):
        path = getattr(args, flag, None)
        if path:
            if not os.path.isfile(path):
                raise InputError(f"--{flag.replace('_', '-')} {path}: no such file; check the path")
            return path
    return None


def saved_setting(state, name):
    """A training setting recorded in a checkpoint (``cfg`` of fairseq >= 0.10, else legacy ``args``)."""
    cfg = state.get("cfg") or {}
    for section in ("task", "model"):
        value = cfg.get(section) if hasattr(cfg, "get") else None
        found = value.get(name) if isinstance(value, dict) else getattr(value, name, None)
        if found is not None:
            return found
    return getattr(state.get("args"), name, None)


def check_checkpoint_fits(model, state, path, arch_hint=""):
    """One-line :class:`InputFileError` when the checkpoint ``state`` (from ``path``) has parameters the
    ``model`` lacks (another architecture, or missing architecture flags: ``arch_hint`` says which)
    or of other shapes; the keys a model's ``upgrade_state_dict`` adds may be absent."""
    own = model.state_dict()
    saved = state["model"]
    arch = saved_setting(state, "arch") or saved_setting(state, "_name")
    unexpected = sorted(set(saved) - set(own))
    if unexpected:
        raise InputFileError(path, f"{len(unexpected)} of its parameters (e.g. {unexpected[0]}) are not in the model "
                                   f"built by these flags; the checkpoint is --arch {arch}: {arch_hint or 'use it'}")
    for key, tensor in saved.items():
        if tuple(tensor.shape) != tuple(own[key].shape):
            raise InputFileError(path, f"{key} has shape {tuple(tensor.shape)}, the model built by these flags "
                                       f"{tuple(own[key].shape)}; use the checkpoint's --arch {arch} and sizes")
