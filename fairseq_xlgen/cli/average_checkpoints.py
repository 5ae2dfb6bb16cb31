"""xlgen-average-checkpoints: average the parameters of the last N checkpoints of a run.

    xlgen-average-checkpoints --dir checkpoints/ --last 5 --output checkpoints/averaged.pt

Uses the interval checkpoints (``checkpoint_E_U.pt``, ``--save-interval-updates``) ordered by
update, else the epoch checkpoints (``checkpointE.pt``). Parameters are averaged in fp32 and
cast back; the rest of the newest checkpoint (cfg, task state) is kept. Written atomically.
"""
import argparse
import os
import re
import sys

from fairseq.checkpoint_utils import torch_persistent_save

from fairseq_xlgen.checkpoint_loading import load_model_checkpoint
from fairseq_xlgen.errors import InputError, exit_on_input_error, positive_int
from fairseq_xlgen.file_io import check_output_path

_PATTERNS = (re.compile(r"checkpoint_\d+_(\d+)\.pt$"), re.compile(r"checkpoint(\d+)\.pt$"))


def last_checkpoints(directory, n):
    """The ``n`` newest interval (else epoch) checkpoints of ``directory``, oldest first."""
    if not os.path.isdir(directory):
        raise InputError(f"--dir {directory}: no such directory")
    for pattern in _PATTERNS:
        found = sorted((int(m.group(1)), os.path.join(directory, name))
                       for name in os.listdir(directory) if (m := pattern.match(name)))
        if found:
            if len(found) < n:
                raise InputError(f"--last {n}: only {len(found)} checkpoints in {directory}; lower --last")
            return [path for _, path in found[-n:]]
    raise InputError(f"--dir {directory}: no checkpoint_E_U.pt or checkpointE.pt files; "
                     "train with --save-interval-updates or keep epoch checkpoints")


def average_checkpoints(paths):
    """Mean of the model tensors of ``paths`` in the newest checkpoint's state."""
    average, state = None, None
    for path in paths:
        state = load_model_checkpoint(path)
        model = state["model"]
        if average is None:
            average = {k: v.float().clone() for k, v in model.items()}
        elif model.keys() != average.keys() or any(v.shape != average[k].shape for k, v in model.items()):
            raise InputError(f"{path}: its parameters differ from {paths[0]}; average checkpoints of one run")
        else:
            for k, v in model.items():
                average[k] += v.float()
    state["model"] = {k: (v / len(paths)).to(state["model"][k].dtype) for k, v in average.items()}
    return state


@exit_on_input_error
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dir", help="checkpoint directory of one run")
    source.add_argument("--inputs", nargs="+", help="explicit checkpoint files")
    parser.add_argument("--last", type=positive_int, default=5, help="with --dir: how many of the newest checkpoints")
    parser.add_argument("--output", required=True, help="averaged checkpoint to write")
    args = parser.parse_args(argv)
    check_output_path(args.output, "--output")
    paths = args.inputs or last_checkpoints(args.dir, args.last)
    for path in paths:
        if not os.path.isfile(path):
            raise InputError(f"--inputs {path}: no such file")
    torch_persistent_save(average_checkpoints(paths), args.output)  # writes a temp file, then renames
    print(f"averaged {len(paths)} checkpoints -> {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
