"""The models of an XLRS-during-finetuning curve (paper 002 §4, Figures 3 and 6): a pretrained
model directory (mbart.cc25-style, update 0), single checkpoint files, or the update/epoch
checkpoints of a training directory; :func:`fairseq_xlgen.pretrained.load_mbart` loads each with its dictionary
and its update count.
"""
import os
import re
from dataclasses import dataclass
from typing import List, Sequence

from fairseq_xlgen.pretrained import MBART_LAYOUT

PRETRAINED, CHECKPOINT = "pretrained", "checkpoint"
#: checkpoint files of one training run: fairseq's epoch and update checkpoints
CHECKPOINT_FILE = re.compile(r"^checkpoint(\d+|_\d+_\d+)\.pt$")


@dataclass(frozen=True)
class ModelSource:
    """One model of a curve: ``kind`` is :data:`PRETRAINED` (a model directory) or :data:`CHECKPOINT`."""

    path: str
    kind: str

    @property
    def name(self) -> str:
        """The checkpoint file stem (``checkpoint_3_300``) or the model directory name (``mbart.cc25``)."""
        base = os.path.basename(os.path.normpath(self.path))
        return base[: -len(".pt")] if self.kind == CHECKPOINT else base


def is_pretrained_dir(path: str) -> bool:
    return all(os.path.isfile(p) for p in MBART_LAYOUT.paths(path).values())


def list_model_sources(paths: Sequence[str]) -> List[ModelSource]:
    """Expand model directories, checkpoint files and training directories (whose
    ``checkpoint{N}.pt`` / ``checkpoint_{E}_{U}.pt`` files are taken; ``checkpoint_last`` and
    ``checkpoint_best`` repeat one of them and are skipped)."""
    sources = []
    for path in paths:
        if os.path.isfile(path):
            sources.append(ModelSource(path, CHECKPOINT))
        elif os.path.isdir(path) and is_pretrained_dir(path):
            sources.append(ModelSource(path, PRETRAINED))
        elif os.path.isdir(path):
            found = sorted(name for name in os.listdir(path) if CHECKPOINT_FILE.match(name))
            if not found:
                raise FileNotFoundError(
                    f"{path}: no checkpoint{{N}}.pt or checkpoint_{{E}}_{{U}}.pt files and not a model directory "
                    f"(model.pt, dict.txt, {MBART_LAYOUT.spm_file}); pass --save-dir of fairseq-train")
            sources.extend(ModelSource(os.path.join(path, name), CHECKPOINT) for name in found)
        else:
            raise FileNotFoundError(f"{path}: no such checkpoint file or directory")
    return sources

