"""xlgen-map-embeddings: map two word2vec text embeddings into a shared space (VecMap,
Artetxe et al. 2018; see :mod:`fairseq_xlgen.lexicon.embedding_mapping`).

Writes the mapped source and target embeddings (word2vec text, atomically) and a JSON
sidecar ``<out>.json`` next to each with the settings, iterations, objective and time.
``--restarts N`` maps with seeds ``--seed`` … ``--seed + N - 1`` and keeps the mapping with
the highest final objective (no gold data in the choice); the sidecar lists every restart.
"""
import argparse
import dataclasses
import json
import logging
import os

import torch

from fairseq_xlgen.lexicon.embedding_mapping import (
    MappingConfig,
    identical_seed_pairs,
    map_embeddings_with_restarts,
    numeral_seed_pairs,
    seed_pairs_from_word_pairs,
)
from fairseq_xlgen.errors import InputFileError, exit_on_input_error, positive_int
from fairseq_xlgen.file_io import atomic_output, refuse_directory
from fairseq_xlgen.lexicon.embeddings_io import read_embeddings, read_word_pairs, write_embeddings

logger = logging.getLogger("xlgen-map-embeddings")

#: MappingConfig fields set by the mode flags rather than by a flag of their own.
_MODE_FIELDS = ("init",)


def add_config_arguments(parser):
    """One ``--flag`` per :class:`MappingConfig` field, with its default and help."""
    group = parser.add_argument_group("mapping hyper-parameters")
    for config_field in dataclasses.fields(MappingConfig):
        if config_field.name in _MODE_FIELDS:
            continue
        group.add_argument(
            "--" + config_field.name.replace("_", "-"), type=type(config_field.default),
            default=config_field.default, choices=config_field.metadata.get("choices"),
            help=f"{config_field.metadata['help']} (default: %(default)s)",
        )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="xlgen-map-embeddings", description=__doc__.split("\n\n")[0])
    parser.add_argument("--src-emb", required=True, help="source embeddings (word2vec text, frequency-sorted)")
    parser.add_argument("--tgt-emb", required=True, help="target embeddings (word2vec text, frequency-sorted)")
    parser.add_argument("--src-out", required=True, help="mapped source embeddings to write")
    parser.add_argument("--tgt-out", required=True, help="mapped target embeddings to write")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--unsupervised", dest="init", action="store_const", const="unsupervised",
                      help="fully unsupervised initialization (default)")
    mode.add_argument("--identical", dest="init", action="store_const", const="identical",
                      help="seed dictionary: strings present in both vocabularies")
    mode.add_argument("--numerals", dest="init", action="store_const", const="numerals",
                      help="seed dictionary: numerals present in both vocabularies")
    mode.add_argument("--seed-dictionary", metavar="FILE",
                      help="seed dictionary file, one 'source_word target_word' pair per line")
    parser.add_argument("--checkpoint", metavar="FILE",
                        help="save self-learning state here and resume from it if it exists")
    parser.add_argument("--checkpoint-every", type=int, default=10, help="iterations between checkpoints")
    parser.add_argument("--restarts", type=positive_int, default=1,
                        help="map with seeds --seed ... --seed + N - 1 and keep the highest final objective "
                        "(VecMap's mean best cosine); checkpoints get .seed{S} (default: %(default)s)")
    add_config_arguments(parser)
    args = parser.parse_args(argv)
    args.init = "seed_dictionary" if args.seed_dictionary else (args.init or "unsupervised")
    try:
        args.config = MappingConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(MappingConfig)})
    except ValueError as error:
        parser.error(str(error))
    if args.config.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.config.device}: CUDA is not available here; use --device cpu")
    return args


def _seed_pairs(args, src_words, tgt_words):
    """Seed pairs for --seed-dictionary (None otherwise); fail early on an empty seed."""
    if args.init in ("identical", "numerals"):
        find_pairs = identical_seed_pairs if args.init == "identical" else numeral_seed_pairs
        count = len(find_pairs(src_words, tgt_words))
        logger.info("%s seed dictionary: %d pairs", args.init, count)
        if count == 0:
            raise InputFileError(args.tgt_emb, f"no {args.init} strings shared with {args.src_emb}; "
                                 "use --unsupervised or --seed-dictionary")
        return None, 0
    if args.init != "seed_dictionary":
        return None, 0
    pairs, skipped = seed_pairs_from_word_pairs(read_word_pairs(args.seed_dictionary), src_words, tgt_words)
    logger.info("seed dictionary: %d pairs used, %d skipped (word missing from the embeddings)",
                len(pairs), skipped)
    if not pairs:
        raise InputFileError(args.seed_dictionary, "no pair has both words in the embeddings; "
                             "check that the words match the embedding vocabularies")
    return pairs, skipped


@exit_on_input_error
def main(argv=None):
    logging.basicConfig(format="%(asctime)s | %(levelname)s | %(name)s | %(message)s", level=logging.INFO)
    args = parse_args(argv)
    for path, flag in ((args.src_out, "--src-out"), (args.tgt_out, "--tgt-out")):
        refuse_directory(path, flag)
    config = args.config
    src_words, src_emb = read_embeddings(args.src_emb)
    tgt_words, tgt_emb = read_embeddings(args.tgt_emb)
    if src_emb.shape[1] != tgt_emb.shape[1]:
        raise InputFileError(args.tgt_emb, f"dimension {tgt_emb.shape[1]} differs from the source's "
                             f"{src_emb.shape[1]} ({args.src_emb}); train both with the same --dim", line=1)
    seed_pairs, seed_skipped = _seed_pairs(args, src_words, tgt_words)
    logger.info("mapping %d source and %d target words (d=%d) on %s, init=%s",
                len(src_words), len(tgt_words), src_emb.shape[1], config.device, config.init)
    result, seed, restarts = map_embeddings_with_restarts(
        src_emb, tgt_emb, config, args.restarts, checkpoint_path=args.checkpoint, seed_pairs=seed_pairs,
        src_words=src_words, tgt_words=tgt_words, checkpoint_every=args.checkpoint_every)
    write_embeddings(args.src_out, src_words, result.src_mapped)
    write_embeddings(args.tgt_out, tgt_words, result.tgt_mapped)
    sidecar = {
        "tool": "xlgen-map-embeddings",
        "src_emb": os.path.abspath(args.src_emb),
        "tgt_emb": os.path.abspath(args.tgt_emb),
        "seed_dictionary": args.seed_dictionary,
        "seed_pairs_skipped": seed_skipped,
        "config": dataclasses.asdict(config),
        "chosen_seed": seed,
        "restarts": [{"seed": s, "final_objective": objective} for s, objective in restarts],
        "iterations": result.iterations,
        "converged": result.converged,
        "final_objective": result.objective_history[-1] if result.objective_history else None,
        "objective_history": result.objective_history,
        "keep_prob_history": result.keep_prob_history,
        "iteration_seconds": [round(t, 4) for t in result.iteration_seconds],
        "final_dictionary_pairs": int(result.dictionary.shape[0]),  # a pair found both ways counts twice
        "final_dictionary_distinct_pairs": int(torch.unique(result.dictionary, dim=0).shape[0]),
        "seconds": round(result.seconds, 3),
    }
    for out in (args.src_out, args.tgt_out):
        with atomic_output(out + ".json") as f:
            json.dump(sidecar, f, indent=2)
    logger.info("%d iterations, objective %s, %.1fs; wrote %s and %s", result.iterations,
                sidecar["final_objective"], result.seconds, args.src_out, args.tgt_out)


if __name__ == "__main__":
    main()
