"""xlgen-make-benchmark: write the synthetic multilingual benchmark (docs/synthetic_benchmark.md)."""
import argparse
import sys

from fairseq_xlgen.testbed.synthetic_benchmark import LANGUAGES, SIZES, generate_benchmark


def add_benchmark_arguments(parser, out_help):
    """--out, and the --seed, --size and --langs that select a benchmark (also xlgen-make-pretraining-text's)."""
    parser.add_argument("--out", required=True, metavar="DIR", help=out_help)
    parser.add_argument("--seed", type=int, default=1, help="generation seed (default: 1)")
    parser.add_argument("--size", default="small", metavar="{" + ",".join(SIZES) + "}",
                        help="size preset (default: small)")
    parser.add_argument("--langs", default=None, metavar="LIST",
                        help=f"comma-separated subset of {','.join(LANGUAGES)} (default: all)")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="xlgen-make-benchmark",
        description="Generate the synthetic benchmark: artificial languages that borrow mBART-cc25 codes, "
                    "with monolingual, parallel, lexicon and task files.")
    add_benchmark_arguments(parser, "output directory (written atomically)")
    parser.add_argument("--force", action="store_true",
                        help="replace a benchmark of other settings in DIR (never other content)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        meta = generate_benchmark(args.out, seed=args.seed, size=args.size, langs=args.langs, force=args.force)
    except (ValueError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    print(f"benchmark ready in {args.out}: size={meta['size']} seed={meta['seed']} "
          f"langs={','.join(meta['langs'])} files={len(meta['files'])}")


if __name__ == "__main__":
    main()
