"""xlgen-train-embeddings: word2vec (gensim) embeddings of a tokenized corpus.

The corpus has one sentence per line, tokens separated by spaces (e.g. the output of
xlgen-spm-encode). Writes word2vec text format, most frequent word first (what
xlgen-map-embeddings expects), atomically, and the settings to ``OUT.json``. Defaults are
skip-gram, 512 dimensions, window 10, 10 negative samples, min-count 5, 10 epochs.
"""
import argparse
import json
import logging
import os
import time

import torch
from gensim.models import Word2Vec

from fairseq_xlgen.file_io import InputFileError, atomic_output, exit_on_input_error, require_file
from fairseq_xlgen.lexicon.embeddings_io import write_embeddings

logger = logging.getLogger("xlgen-train-embeddings")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="xlgen-train-embeddings", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True, help="tokenized corpus, one sentence per line")
    parser.add_argument("--output", required=True, help="embeddings to write (word2vec text format)")
    parser.add_argument("--dim", type=int, default=512, help="vector size (default: %(default)s)")
    parser.add_argument("--window", type=int, default=10, help="context window (default: %(default)s)")
    parser.add_argument("--negative", type=int, default=10, help="negative samples (default: %(default)s)")
    parser.add_argument("--min-count", type=int, default=5, help="ignore rarer tokens (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (default: %(default)s)")
    parser.add_argument("--cbow", action="store_true", help="CBOW instead of skip-gram")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="training threads; 1 makes runs reproducible (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    return parser.parse_args(argv)


@exit_on_input_error
def main(argv=None):
    logging.basicConfig(format="%(asctime)s | %(levelname)s | %(name)s | %(message)s", level=logging.INFO)
    args = parse_args(argv)
    require_file(args.input, "corpus")
    started = time.perf_counter()
    settings = {"sg": 0 if args.cbow else 1, "vector_size": args.dim, "window": args.window,
                "negative": args.negative, "min_count": args.min_count, "epochs": args.epochs,
                "workers": args.workers, "seed": args.seed}
    model = Word2Vec(**settings)
    model.build_vocab(corpus_file=args.input)
    if model.corpus_total_words == 0:
        raise InputFileError(args.input, "empty corpus (no tokens); pass a tokenized text file", line=1)
    if len(model.wv) == 0:
        raise InputFileError(args.input, f"no token occurs at least --min-count={args.min_count} times; "
                             "lower --min-count or use a larger corpus")
    model.train(corpus_file=args.input, total_examples=model.corpus_count,
                total_words=model.corpus_total_words, epochs=args.epochs)
    write_embeddings(args.output, model.wv.index_to_key, torch.from_numpy(model.wv.vectors))
    sidecar = {"tool": "xlgen-train-embeddings", "input": os.path.abspath(args.input),
               "settings": settings, "vocabulary": len(model.wv), "corpus_words": model.corpus_total_words,
               "corpus_sentences": model.corpus_count, "seconds": round(time.perf_counter() - started, 3)}
    with atomic_output(args.output + ".json") as f:
        json.dump(sidecar, f, indent=2)
    logger.info("%d words x %d dims -> %s", len(model.wv), args.dim, args.output)


if __name__ == "__main__":
    main()
