"""Safe loading of checkpoints and other torch pickles (every ``torch.load`` of the plugin).

A checkpoint is a pickle, and unpickling a file from an untrusted source can run arbitrary
code. The patched fairseq loads with ``torch.load(weights_only=True)`` and an allowlist of the
types real fairseq checkpoints hold (``fairseq.checkpoint_utils.checkpoint_safe_globals``);
the plugin reuses it, so a file needing any other type is refused before anything of it runs,
with one line naming the type and the opt-in ``XLGEN_TRUSTED_CHECKPOINTS=1`` for trusted files.
"""
from fairseq import checkpoint_utils

from fairseq_xlgen.file_io import InputFileError


def load_checkpoint(path):
    """The object pickled in ``path``, on the CPU; :class:`InputFileError` if it needs a type outside the allowlist."""
    try:
        return checkpoint_utils.torch_load(path, map_location="cpu")
    except checkpoint_utils.UntrustedCheckpointError as error:
        raise InputFileError(path, str(error).removeprefix(f"{path}: ")) from None
