"""xlgen-induce-lexicon: translation lexicon from mapped embeddings (top-k by CSLS).

Words are CSR switching units of xlgen-train-embeddings. ``--lexicon-unit pieces``
(default): a unit's pieces joined by U+2040; with ``--dict`` only whole units whose pieces
are all in the dictionary are kept, a unit is written as its pieces separated by spaces, and
``PREFIX.<direction>.ids.tsv`` holds fairseq dictionary ids in the first two columns.
``--lexicon-unit words``: words as text (Chinese cut by the segmenter); with ``--dict`` (and
``--spm-model``) only words whose SentencePiece pieces are all in the dictionary are kept (no
ids file: a word's pieces depend on its context). Writes ``PREFIX.src2tgt.tsv`` and/or
``PREFIX.tgt2src.tsv`` with lines ``query<TAB>translation<TAB>score<TAB>rank`` (rank 1 = most
similar), plus the sidecar ``PREFIX.json`` (which records the unit, checked by
code_switch_restore).
"""
import argparse
import functools
import json
import logging
import os
import time

import sentencepiece

from fairseq_xlgen.errors import InputFileError, exit_on_input_error, non_negative_int, positive_int
from fairseq_xlgen.file_io import atomic_output, require_file
from fairseq_xlgen.lexicon.embeddings_io import read_embeddings, read_word_pairs
from fairseq_xlgen.lexicon.lexicon_induction import (
    induce_lexicon,
    lexicon_to_ids,
    precision_at_k,
    read_fairseq_dictionary,
    restrict_to_dictionary,
    write_lexicon_tsv,
)
from fairseq_xlgen.lexicon.switch_units import UNIT_JOINER, WORD_START
from fairseq_xlgen.lexicon.word_segmentation import LEXICON_UNITS

logger = logging.getLogger("xlgen-induce-lexicon")

DIRECTIONS = {"src2tgt": ("src2tgt",), "tgt2src": ("tgt2src",), "both": ("src2tgt", "tgt2src")}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="xlgen-induce-lexicon", description=__doc__.split("\n\n")[0])
    parser.add_argument("--src-emb", required=True, help="mapped source embeddings (xlgen-map-embeddings output)")
    parser.add_argument("--tgt-emb", required=True, help="mapped target embeddings (xlgen-map-embeddings output)")
    parser.add_argument("--out-prefix", required=True, help="output prefix: PREFIX.src2tgt.tsv, PREFIX.json, ...")
    parser.add_argument("--direction", choices=tuple(DIRECTIONS), default="both",
                        help="which lexicon(s) to write (default: %(default)s)")
    parser.add_argument("--k", type=positive_int, default=3, help="candidates per word (default: %(default)s)")
    parser.add_argument("--knn", type=non_negative_int, default=10,
                        help="CSLS neighbourhood size; 0 = the dot product of §III (cosine of the unit-length "
                        "mapped embeddings) (default: %(default)s)")
    parser.add_argument("--dict", metavar="DICT_TXT",
                        help="fairseq dict.txt of the model: keep only its units and also write ids")
    parser.add_argument("--lexicon-unit", choices=LEXICON_UNITS, default="pieces",
                        help="the embeddings' units (xlgen-train-embeddings --lexicon-unit) (default: %(default)s)")
    parser.add_argument("--spm-model", metavar="MODEL",
                        help="the model's SentencePiece model; with --lexicon-unit words and --dict, keeps the words "
                        "whose pieces are all in the dictionary")
    parser.add_argument("--gold", metavar="TSV",
                        help="gold lexicon (source word, target word per line): report precision@1 and @k; "
                        "units and gold words are compared as text without ▁, so multi-piece words count")
    parser.add_argument("--batch-size", type=positive_int, default=10000, help="similarity rows computed at once")
    parser.add_argument("--device", default="cpu", help="torch device (default: %(default)s)")
    return parser.parse_args(argv)


@exit_on_input_error
def main(argv=None):
    logging.basicConfig(format="%(asctime)s | %(levelname)s | %(name)s | %(message)s", level=logging.INFO)
    args = parse_args(argv)
    started = time.perf_counter()
    src_words, src_emb = read_embeddings(args.src_emb)
    tgt_words, tgt_emb = read_embeddings(args.tgt_emb)
    encode = None
    if args.lexicon_unit == "words":
        for path, words in ((args.src_emb, src_words), (args.tgt_emb, tgt_words)):
            piece_unit = next((w for w in words if WORD_START in w or UNIT_JOINER in w), None)
            if piece_unit is not None:
                raise InputFileError(path, f"{piece_unit!r} is a unit of SentencePiece pieces: these embeddings were "
                                     "trained with --lexicon-unit pieces; pass --lexicon-unit pieces or retrain")
        if args.dict:
            if not args.spm_model:
                raise InputFileError(args.dict, "--lexicon-unit words with --dict needs --spm-model (the model's "
                                     "sentence.bpe.model) to encode the words")
            require_file(args.spm_model, "SentencePiece model")
            spm = sentencepiece.SentencePieceProcessor(model_file=args.spm_model)
            encode = functools.partial(spm.encode, out_type=str)
    if src_emb.shape[1] != tgt_emb.shape[1]:
        raise InputFileError(args.tgt_emb, f"dimension {tgt_emb.shape[1]} differs from the source's "
                             f"{src_emb.shape[1]} ({args.src_emb}); pass the two outputs of one "
                             "xlgen-map-embeddings run", line=1)
    dictionary = read_fairseq_dictionary(args.dict) if args.dict else None
    if dictionary is not None:
        n_src, n_tgt = len(src_words), len(tgt_words)
        src_words, src_emb = restrict_to_dictionary(src_words, src_emb, dictionary, encode)
        tgt_words, tgt_emb = restrict_to_dictionary(tgt_words, tgt_emb, dictionary, encode)
        logger.info("kept %d/%d source and %d/%d target units present in %s",
                    len(src_words), n_src, len(tgt_words), n_tgt, args.dict)
        if not src_words or not tgt_words:
            raise InputFileError(args.dict, "no embedding word is a token of this dictionary; "
                                 "were the embeddings trained on text encoded with the model's SentencePiece?")
    sides = {"src": (src_words, src_emb.to(args.device)), "tgt": (tgt_words, tgt_emb.to(args.device))}
    gold = read_word_pairs(args.gold) if args.gold else None
    outputs, precision = {}, {}
    for direction in DIRECTIONS[args.direction]:
        (query_words, query_emb), (key_words, key_emb) = sides[direction[:3]], sides[direction[-3:]]
        entries = induce_lexicon(query_words, query_emb, key_words, key_emb, k=args.k, knn=args.knn,
                                 batch_size=args.batch_size)
        path = f"{args.out_prefix}.{direction}.tsv"
        write_lexicon_tsv(path, entries)
        outputs[direction] = path
        if dictionary is not None and args.lexicon_unit == "pieces":
            ids_path = f"{args.out_prefix}.{direction}.ids.tsv"
            write_lexicon_tsv(ids_path, lexicon_to_ids(entries, dictionary))
            outputs[direction + ".ids"] = ids_path
        logger.info("%s: %d entries for %d words -> %s", direction, len(entries), len(query_words), path)
        if gold is not None:
            pairs = gold if direction == "src2tgt" else [(t, s) for s, t in gold]
            (p1, evaluated), (pk, _) = precision_at_k(entries, pairs, 1), precision_at_k(entries, pairs, args.k)
            precision[direction] = {"p@1": p1, f"p@{args.k}": pk, "evaluated_words": evaluated}
            print(f"{direction}: precision@1 {p1:.3f}, precision@{args.k} {pk:.3f} on {evaluated} gold words")
    sidecar = {
        "tool": "xlgen-induce-lexicon",
        "src_emb": os.path.abspath(args.src_emb),
        "tgt_emb": os.path.abspath(args.tgt_emb),
        "dict": os.path.abspath(args.dict) if args.dict else None,
        "lexicon_unit": args.lexicon_unit,
        "direction": args.direction, "k": args.k, "knn": args.knn,
        "outputs": outputs,
        "gold": os.path.abspath(args.gold) if args.gold else None, "precision": precision,
        "seconds": round(time.perf_counter() - started, 3),
    }
    with atomic_output(f"{args.out_prefix}.json") as f:
        json.dump(sidecar, f, indent=2)


if __name__ == "__main__":
    main()
