"""xlgen-language-components: estimate LAFT's language components c_L (paper 001 §3.1 step 1).

Parses the flags and calls :func:`fairseq_xlgen.analysis.language_component_estimation.estimate_components`
(the mBART encoder over each language's monolingual text, mean-pooled sentence vectors, the top-k
right singular vectors of their uncentred matrix; one output file for all languages, written
atomically; killed and restarted with the same arguments, it resumes from ``OUT.partial``, saved
every ``--save-every`` sentences).

    xlgen-language-components --model-dir mbart.cc25 --out components.pt \\
        --text en_XX=cc100.en.txt zh_CN=cc100.zh.txt --max-sentences 1000000
"""
import argparse
import logging
import sys

import torch

from fairseq_xlgen.analysis.language_component_estimation import estimate_components
from fairseq_xlgen.errors import exit_on_input_error, positive_int


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="xlgen-language-components", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", required=True, help="mbart.cc25-format directory (model.pt, dict.txt, "
                                                           "sentence.bpe.model)")
    parser.add_argument("--text", nargs="+", required=True, metavar="LANG=FILE",
                        help="monolingual text per language, one sentence per line (e.g. en_XX=mono/en_XX.txt)")
    parser.add_argument("--out", required=True, help="output file (e.g. components.pt)")
    parser.add_argument("--k", type=positive_int, default=6, help="components per language (paper: 6)")
    parser.add_argument("--max-sentences", type=positive_int, default=1_000_000,
                        help="sentences per language (paper: 1M); the first non-empty lines are used")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="sentences per encoder batch")
    parser.add_argument("--max-length", type=positive_int, default=256, help="pieces kept per sentence")
    parser.add_argument("--save-every", type=positive_int, default=20000, help="sentences between resume points")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--fp16", action="store_true", help="run the encoder in fp16 (the Gram sum stays float64)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    texts = {}
    for item in args.text:
        lang, sep, path = item.partition("=")
        if not sep or not lang or not path:
            parser.error(f"--text {item}: expected LANG=FILE, e.g. en_XX=mono/en_XX.txt")
        texts[lang] = path
    args.texts = texts
    return args


@exit_on_input_error
def main(argv=None):
    logging.basicConfig(format="%(name)s | %(message)s", level=logging.INFO, stream=sys.stderr)
    args = parse_args(argv)
    estimate_components(args.model_dir, args.texts, args.out, args.k, args.max_sentences, args.batch_size,
                        args.max_length, args.save_every, args.device, args.fp16, progress=not args.no_progress)
    print(args.out)


if __name__ == "__main__":
    main()
