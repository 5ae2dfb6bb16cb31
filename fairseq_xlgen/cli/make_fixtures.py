"""Build tiny mbart.cc25 / xlmr.base fixtures (pretrained on-disk format) from a text corpus.

    xlgen-make-fixtures --out work/fixtures --corpus work/bench/mono/*.txt
    xlgen-make-fixtures --out work/fixtures --corpus work/bench/mono/{en_XX,de_DE,ru_RU,zh_CN}.txt \
        --pretrain-updates 1000     # mBART denoising-pretrained instead of random (minutes on CPU)
"""
import argparse
import logging
import sys
from dataclasses import fields

from fairseq_xlgen.data.pretrained_fixtures import TinyModelConfig, build_fixtures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output directory (gets mbart.cc25/ and xlmr.base/)")
    parser.add_argument("--corpus", required=True, nargs="+", help="text files, one sentence per line")
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    for f in fields(TinyModelConfig):
        parser.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default, help=f.metadata["help"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s | %(message)s")
    cfg = TinyModelConfig(**{f.name: getattr(args, f.name) for f in fields(TinyModelConfig)})
    try:
        build_fixtures(args.out, args.corpus, cfg, force=args.force)
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    print(f"{args.out}/mbart.cc25 {args.out}/xlmr.base")


if __name__ == "__main__":
    main()
