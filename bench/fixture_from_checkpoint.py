"""A pretraining checkpoint of a running (or interrupted) fixture build as a model directory, so that
``bench.mbart_cross_lingual`` / ``bench.xlmr_cross_lingual`` can measure a run at an intermediate update.

``xlgen-make-fixtures`` works in ``.OUT.build-HASH/`` (``spm.model``, ``dict.txt``, and
``pretrain-{mbart,xlmr}/checkpoints/checkpoint_last.pt``, rewritten every 5 % of the updates; the skip-gram
start is ``pretrain-*/embedding_init.pt``, update 0). Copy ``checkpoint_last.pt`` when the log reports the
update you want, then:

    python -m bench.fixture_from_checkpoint --build .OUT.build-HASH --model mbart \\
        --checkpoint C1500.pt --flags "$(cat fixtures/testbed-small.flags)" --out work/at1500
    python -m bench.mbart_cross_lingual --benchmark BENCH --mbart at1500=work/at1500/mbart.cc25

``--flags``: the build's ``xlgen-make-fixtures`` flags (the model sizes must be the checkpoint's).
"""
import argparse
import os
import shlex
import shutil
import sys
import tempfile

from fairseq_xlgen.checkpoint_loading import load_checkpoint
from fairseq_xlgen.cli.make_fixtures import config_from_flags
from fairseq_xlgen.errors import InputError
from fairseq_xlgen.file_io import replace_directory, require_file
from fairseq_xlgen.pretrained import MBART_LAYOUT, XLMR_LAYOUT
from fairseq_xlgen.testbed.pretrained_fixtures import build_fixture

#: --model: (layout, the model directory's name in a fixture set, as xlgen-make-fixtures writes it)
MODELS = {"mbart": (MBART_LAYOUT, "mbart.cc25"), "xlmr": (XLMR_LAYOUT, "xlmr.base")}


def fixture_from_checkpoint(build, model, checkpoint, flags, out):
    """``OUT/{mbart.cc25|xlmr.base}`` holding ``checkpoint``'s weights; returns (directory, update)."""
    spm_model, dict_path = os.path.join(build, "spm.model"), os.path.join(build, "dict.txt")
    for path in (spm_model, dict_path):
        require_file(path, "--build file")
    state = load_checkpoint(checkpoint)
    updates = (state.get("optimizer_history") or [{"num_updates": 0}])[-1]["num_updates"]
    layout, name = MODELS[model]
    directory = os.path.join(out, name)
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".fixture-", dir=out)  # renamed into place when complete
    try:
        build_fixture(layout, tmp, spm_model, dict_path, config_from_flags(shlex.split(flags)),
                      state=state["model"], num_updates=updates)
        replace_directory(tmp, directory)
    except RuntimeError as e:  # load_state_dict: missing keys or other shapes
        first = str(e).strip().splitlines()[1:2] or [str(e)]
        raise InputError(f"--checkpoint {checkpoint}: does not fit a {model} built with --flags ({first[0].strip()}); "
                         "pass the build's own xlgen-make-fixtures flags") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return directory, updates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", required=True, help="the fixture build directory (spm.model, dict.txt)")
    parser.add_argument("--model", required=True, choices=sorted(MODELS), help="which backbone the checkpoint is")
    parser.add_argument("--checkpoint", required=True, help="a checkpoint_last.pt (or embedding_init.pt) of that build")
    parser.add_argument("--flags", required=True, help="the build's xlgen-make-fixtures flags, as one string")
    parser.add_argument("--out", required=True, help="output directory (gets mbart.cc25/ or xlmr.base/)")
    args = parser.parse_args(argv)
    try:
        directory, update = fixture_from_checkpoint(args.build, args.model, args.checkpoint, args.flags, args.out)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    print(f"{directory}\tupdate {update}")


if __name__ == "__main__":
    main()
