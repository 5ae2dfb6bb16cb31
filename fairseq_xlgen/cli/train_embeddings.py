"""xlgen-train-embeddings: word2vec (gensim) embeddings of a tokenized corpus.

The corpus has one sentence per line, tokens separated by spaces. With ``--units switch``
(default) it is SentencePiece pieces (xlgen-spm-encode output) and the vocabulary is CSR's
switching units, so that word2vec, the lexicon and the switcher share one unit:
``--lexicon-unit pieces`` (default) groups pieces into words and takes each piece in unspaced
scripts (fairseq_xlgen.lexicon.switch_units; a unit's pieces joined by U+2040 into one
token); ``--lexicon-unit words`` takes the words of the text the pieces spell, unspaced runs
(Chinese) cut by ``--segmenter`` (fairseq_xlgen.lexicon.word_segmentation). ``--units
tokens`` takes the tokens as they are. Writes word2vec text format, most frequent word first (what
xlgen-map-embeddings expects), atomically, and the settings to ``OUT.json``. Defaults are
skip-gram, 512 dimensions, window 10, 10 negative samples, min-count 5, 10 epochs.
"""
import argparse
import json
import logging
import os
import tempfile
import time

import torch
from gensim.models import Word2Vec

from fairseq_xlgen.errors import InputFileError, exit_on_input_error, positive_int
from fairseq_xlgen.file_io import atomic_output, iter_decoded_lines, refuse_directory, require_file
from fairseq_xlgen.lexicon.embeddings_io import write_embeddings
from fairseq_xlgen.lexicon.switch_units import WORD_START, units_line
from fairseq_xlgen.lexicon.word_segmentation import (
    LEXICON_UNITS, MissingSegmenter, check_language, segmenter_for, words_line,
)

logger = logging.getLogger("xlgen-train-embeddings")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="xlgen-train-embeddings", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True, help="tokenized corpus, one sentence per line")
    parser.add_argument("--output", required=True, help="embeddings to write (word2vec text format)")
    parser.add_argument("--dim", type=positive_int, default=512, help="vector size (default: %(default)s)")
    parser.add_argument("--window", type=positive_int, default=10, help="context window (default: %(default)s)")
    parser.add_argument("--negative", type=positive_int, default=10, help="negative samples (default: %(default)s)")
    parser.add_argument("--min-count", type=positive_int, default=5, help="ignore rarer tokens (default: %(default)s)")
    parser.add_argument("--epochs", type=positive_int, default=10, help="training epochs (default: %(default)s)")
    parser.add_argument("--units", choices=("switch", "tokens"), default="switch",
                        help="switch: group SentencePiece pieces into CSR switching units; tokens: "
                        "the corpus's tokens as they are (default: %(default)s)")
    parser.add_argument("--lexicon-unit", choices=LEXICON_UNITS, default="pieces",
                        help="with --units switch: pieces (each piece in unspaced scripts) or words (unspaced runs "
                        "cut by --segmenter) (default: %(default)s)")
    parser.add_argument("--segmenter", metavar="SPEC",
                        help="word segmenter of unspaced runs for --lexicon-unit words: jieba, or jieba-dict:FILE "
                        "(jieba with the words and counts of the space-segmented corpus FILE, e.g. the "
                        "benchmark's *.zh_CN.words)")
    parser.add_argument("--lang", help="language code of the corpus (mBART's, e.g. zh_CN): words units are refused "
                        "for unspaced languages without a segmenter (ja_XX, my_MM)")
    parser.add_argument("--cbow", action="store_true", help="CBOW instead of skip-gram")
    parser.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1,
                        help="training threads; 1 makes runs reproducible (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.units == "tokens" and args.lexicon_unit == "words":
        parser.error("--lexicon-unit words needs --units switch (a corpus of SentencePiece pieces)")
    return args


def write_unit_corpus(path, out, segmenter=None, unit="pieces"):
    """Write the pieces corpus ``path`` as a corpus of switching-unit tokens to the open file ``out``."""
    first_text = pieces = None
    with open(path, "rb") as f:
        for line_number, line in iter_decoded_lines(path, f):
            first_text = first_text or (line.strip() and line_number)
            pieces = pieces or WORD_START in line
            try:
                out.write((words_line(line, segmenter) if unit == "words" else units_line(line)) + "\n")
            except MissingSegmenter as error:
                raise InputFileError(path, str(error), line=line_number) from None
    if first_text and not pieces:
        raise InputFileError(path, f"no SentencePiece piece (no {WORD_START}); encode it with xlgen-spm-encode "
                             "or pass --units tokens", line=first_text)


@exit_on_input_error
def main(argv=None):
    logging.basicConfig(format="%(asctime)s | %(levelname)s | %(name)s | %(message)s", level=logging.INFO)
    args = parse_args(argv)
    require_file(args.input, "corpus")
    refuse_directory(args.output, "--output")
    if args.lang:
        check_language(args.lang, args.lexicon_unit)
    segmenter = segmenter_for(args.lexicon_unit, args.segmenter)
    started = time.perf_counter()
    if args.units == "tokens":
        train(args, args.input, started)
        return
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".units",
                                     dir=os.path.dirname(os.path.abspath(args.output))) as units:
        write_unit_corpus(args.input, units, segmenter, args.lexicon_unit)
        units.flush()
        train(args, units.name, started)


def train(args, corpus, started):
    settings = {"sg": 0 if args.cbow else 1, "vector_size": args.dim, "window": args.window,
                "negative": args.negative, "min_count": args.min_count, "epochs": args.epochs,
                "workers": args.workers, "seed": args.seed}
    model = Word2Vec(**settings)
    model.build_vocab(corpus_file=corpus)
    if model.corpus_total_words == 0:
        raise InputFileError(args.input, "empty corpus (no tokens); pass a tokenized text file", line=1)
    if len(model.wv) == 0:
        raise InputFileError(args.input, f"no token occurs at least --min-count={args.min_count} times; "
                             "lower --min-count or use a larger corpus")
    model.train(corpus_file=corpus, total_examples=model.corpus_count,
                total_words=model.corpus_total_words, epochs=args.epochs)
    write_embeddings(args.output, model.wv.index_to_key, torch.from_numpy(model.wv.vectors))
    sidecar = {"tool": "xlgen-train-embeddings", "input": os.path.abspath(args.input), "units": args.units,
               "lexicon_unit": args.lexicon_unit, "segmenter": args.segmenter,
               "settings": settings, "vocabulary": len(model.wv), "corpus_words": model.corpus_total_words,
               "corpus_sentences": model.corpus_count, "seconds": round(time.perf_counter() - started, 3)}
    with atomic_output(args.output + ".json") as f:
        json.dump(sidecar, f, indent=2)
    logger.info("%d words x %d dims -> %s", len(model.wv), args.dim, args.output)


if __name__ == "__main__":
    main()
