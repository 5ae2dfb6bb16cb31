"""xlgen-make-pretraining-text: the testbed backbones' pretraining text (partly code-switched).

    xlgen-make-pretraining-text --out work/pretrain-text --seed 1 --size small --lines 20000 --switch-share 0.3

Writes ``OUT/<code>.txt`` per language: fresh documents of the benchmark of that seed and size, with
``--switch-share`` of the words of half of the concepts switched into another language
(:mod:`fairseq_xlgen.testbed.pretraining_corpus`); the input of ``xlgen-make-fixtures --corpus``.
"""
import argparse
import sys

from fairseq_xlgen.cli.make_benchmark import add_benchmark_arguments
from fairseq_xlgen.testbed.pretraining_corpus import write_pretraining_corpus


def build_parser():
    parser = argparse.ArgumentParser(prog="xlgen-make-pretraining-text", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_benchmark_arguments(parser, "output directory (one <code>.txt per language, pairs.SRC-TGT.* per pair)")
    parser.add_argument("--lines", type=int, default=20000, help="documents per language (default: 20000)")
    parser.add_argument("--switch-share", type=float, default=0.3,
                        help="share of the switchable words written in another language (default: 0.3)")
    parser.add_argument("--pairs", default="", metavar="LIST", help="comma-separated SRC-TGT pairs: also write "
                        "OUT/pairs.SRC-TGT.{SRC,TGT}, translations of fresh meanings (for xlgen-make-fixtures "
                        "--xlmr-parallel; none of the benchmark's parallel sentences)")
    parser.add_argument("--pair-lines", type=int, default=10000, help="sentence pairs per --pairs entry")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        pairs = [tuple(pair.split("-", 1)) for pair in args.pairs.split(",") if pair]
        paths, pair_paths = write_pretraining_corpus(args.out, args.seed, args.size, args.lines, args.switch_share,
                                                     args.langs, pairs, args.pair_lines)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    print(" ".join(paths + [path for pair in pair_paths for path in pair]))


if __name__ == "__main__":
    main()
