"""The models of an XLRS-during-finetuning curve (paper 002 §4, Figures 3 and 6): a pretrained
model directory (mbart.cc25-style, update 0), single checkpoint files, or the update/epoch
checkpoints of a training directory; each is loaded with its dictionary and its update count.
"""
import os
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence

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


def load_model(source: ModelSource, data: Optional[str] = None):
    """``(model, dictionary, num_updates)`` in evaluation mode on the CPU.

    Checkpoints are loaded with fairseq's ``load_model_ensemble_and_task`` (their task is set up
    again: ``data`` replaces the training data directory when it has moved); the training-time
    XLRS metric of ``multi_source_summarization`` is switched off, it is not needed to encode.
    """
    if source.kind == PRETRAINED:
        from fairseq_xlgen.pretrained import load_pretrained

        hub = load_pretrained(source.path, MBART_LAYOUT)
        hub.model.eval()  # the hub's generation-fast model.train() returns None: no chaining
        return hub.model, hub.task.source_dictionary, 0
    from fairseq import checkpoint_utils

    from fairseq_xlgen.checkpoint_loading import load_model_checkpoint, saved_setting
    from fairseq_xlgen.errors import InputFileError

    state = load_model_checkpoint(source.path, mmap=True)  # a torn or foreign file: one line, before fairseq reads it
    if "encoder.embed_tokens.weight" not in state["model"]:
        raise InputFileError(source.path, f"not an mBART-family encoder-decoder (--arch {saved_setting(state, 'arch')}); "
                                          "pass mBART checkpoints or model directories")
    overrides = {"xlrs_parallel_prefix": "", **({"data": data} if data else {})}
    state = checkpoint_utils.load_checkpoint_to_cpu(source.path, overrides)
    models, _cfg, task = checkpoint_utils.load_model_ensemble_and_task([source.path], overrides, state=state)
    num_updates = state["optimizer_history"][-1]["num_updates"] if state.get("optimizer_history") else 0
    models[0].eval()
    return models[0], task.source_dictionary, int(num_updates)
