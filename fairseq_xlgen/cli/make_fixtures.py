"""Build tiny mbart.cc25 / xlmr.base fixtures (pretrained on-disk format) from a text corpus.

    xlgen-make-fixtures --out work/fixtures --corpus work/bench/mono/*.txt
    xlgen-make-fixtures --out work/fixtures --corpus work/bench/mono/{en_XX,de_DE,ru_RU,zh_CN}.txt \\
        --pretrain-updates 1000     # mBART denoising-pretrained instead of random (minutes on CPU)
    xlgen-make-fixtures --out work/fixtures --corpus work/bench/mono/{en_XX,de_DE,ru_RU,zh_CN}.txt \\
        --xlmr-pretrain-updates 1000 --xlmr-heldout test.en_XX test.zh_CN   # masked-LM pretrained XLM-R

``--xlmr-parallel SRC TGT`` (repeatable) adds the sentence pairs of two aligned files to the
XLM-R masked-LM pretraining as one line each (translation LM), meant to give the tiny backbone the
cross-lingual knowledge SGA assumes; 2000 updates at d=256 did not (examples/sga/README.md).
``--xlmr-heldout`` prints the XLM-R fixture's masked-token accuracy on the first
``--heldout-lines`` lines of each file and writes it to ``OUT/xlmr_mlm_accuracy.json``.
"""
import argparse
import json
import logging
import os
import sys
from dataclasses import fields

from fairseq_xlgen.testbed.pretrained_fixtures import build_fixtures, masked_lm_accuracy
from fairseq_xlgen.testbed.sizes import TinyModelConfig
from fairseq_xlgen.file_io import atomic_output


def read_heldout(paths, lines):
    """``{file name: first ``lines`` non-empty lines}``; a missing or empty file is an input error."""
    texts = {}
    for path in paths:
        if not os.path.isfile(path):
            raise ValueError(f"--xlmr-heldout {path}: no such file; pass text files, one sentence per line")
        with open(path, encoding="utf-8") as f:
            texts[os.path.basename(path)] = [line.strip() for line in f if line.strip()][:lines]
        if not texts[os.path.basename(path)]:
            raise ValueError(f"--xlmr-heldout {path}: empty file; pass text files, one sentence per line")
    return texts


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output directory (gets mbart.cc25/ and xlmr.base/)")
    parser.add_argument("--corpus", required=True, nargs="+", help="text files, one sentence per line")
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    parser.add_argument("--prebuilt", default=None, help="directory of fixtures built earlier (e.g. the repository's "
                        "fixtures/benchmark-small): copied instead of building when made from the same corpus "
                        "and settings")
    parser.add_argument("--xlmr-heldout", nargs="+", default=[], help="held-out text files: report the XLM-R "
                        "fixture's masked-token accuracy on each")
    parser.add_argument("--xlmr-parallel", nargs=2, action="append", default=[], metavar=("SRC", "TGT"),
                        help="sentence-aligned text files whose pairs join the XLM-R masked-LM pretraining as one "
                        "line each (translation LM); repeat for more pairs")
    parser.add_argument("--heldout-lines", type=int, default=200, help="lines of each held-out file used")
    for f in fields(TinyModelConfig):
        parser.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default, help=f.metadata["help"])
    return parser


def model_config(args):
    """The :class:`TinyModelConfig` of parsed command-line arguments."""
    return TinyModelConfig(**{f.name: getattr(args, f.name) for f in fields(TinyModelConfig)})


def config_from_flags(flags):
    """The :class:`TinyModelConfig` that ``xlgen-make-fixtures FLAGS`` builds (e.g. fixtures/benchmark-small.flags)."""
    return model_config(build_parser().parse_args(["--out", "-", "--corpus", "-", *flags]))


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s | %(message)s")
    cfg = model_config(args)
    try:
        heldout = read_heldout(args.xlmr_heldout, args.heldout_lines)
        settings = build_fixtures(args.out, args.corpus, cfg, force=args.force, prebuilt=args.prebuilt,
                                  parallel=[tuple(pair) for pair in args.xlmr_parallel])
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    if heldout:
        from fairseq_xlgen.pretrained import XLMR_LAYOUT, load_pretrained

        hub = load_pretrained(os.path.join(args.out, "xlmr.base"), XLMR_LAYOUT)
        report = {"xlmr_pretrain_updates": cfg.xlmr_pretrain_updates,
                  "pretrain_seconds": settings.get("pretrain_seconds", {}).get("xlmr"), "heldout": {}}
        for name, lines in heldout.items():
            report["heldout"][name] = {"lines": len(lines), **masked_lm_accuracy(hub, lines)}
            scores = report["heldout"][name]
            print(f"{name}\tlines {len(lines)}\tmasked {scores['masked']}\taccuracy {100 * scores['accuracy']:.2f}"
                  f"\tloss {scores['loss']:.3f}", file=sys.stderr)
        with atomic_output(os.path.join(args.out, "xlmr_mlm_accuracy.json")) as f:
            json.dump(report, f, indent=2)
    print(f"{args.out}/mbart.cc25 {args.out}/xlmr.base")


if __name__ == "__main__":
    main()
