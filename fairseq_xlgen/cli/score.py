"""xlgen-score: score a fairseq-generate log or a plain hypothesis file against references.

    xlgen-score --hyp generate-test.txt --ref test.zh_CN --lang zh_CN --spm sentence.bpe.model
        [--metrics bleu,chrf,rouge,sp_rouge,meteor_exact_stem,accuracy,tag_accuracy,span] [--train-ref train.zh_CN] [--json scores.json]

``meteor_exact_stem`` is METEOR with exact and stem matches only (no WordNet synonyms; see
:mod:`fairseq_xlgen.analysis.scoring`). Lines still in SentencePiece pieces (with ``▁``) are
decoded first. ``--train-ref`` adds word accuracy by training frequency (paper 004 Table VII).
``--json`` writes the scores and, next to them, ``<json>.settings.json`` with the settings that
produced them. Bad input: one ``error:`` line and exit status 2.
"""
import argparse
import os
from typing import List

from fairseq_xlgen.analysis.scoring import METRICS, bleu_tokenize, score_outputs
from fairseq_xlgen.analysis.word_accuracy import PAPER_BUCKET_NAMES, PAPER_CUTOFFS, word_accuracy_by_frequency
from fairseq_xlgen.cli.tool_io import (
    check_language,
    print_table,
    read_sentences,
    read_system_output,
    write_json_with_sidecar,
)
from fairseq_xlgen.errors import InputError, exit_on_input_error
from fairseq_xlgen.file_io import check_output_path


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="xlgen-score", description=__doc__.split("\n\n")[0])
    parser.add_argument("--hyp", required=True, help="fairseq-generate output or one hypothesis per line")
    parser.add_argument("--ref", required=True, help="references, one per line, in sample-id order")
    parser.add_argument("--lang", required=True, help="target language: mBART code (zh_CN) or ISO code (zh)")
    parser.add_argument("--spm", help="SentencePiece model for SP-ROUGE")
    parser.add_argument("--metrics", help=f"comma-separated subset of {','.join(METRICS)} "
                        "(default: bleu,chrf,rouge, plus sp_rouge with --spm)")
    parser.add_argument("--train-ref", help="training targets: adds word accuracy by training frequency")
    parser.add_argument("--word-buckets", default=",".join(map(str, PAPER_CUTOFFS)),
                        help="frequency cutoffs of the low/mid/high buckets (compare-mt style: "
                        "low < first, high >= last; default: paper 004's <100, 100-1000, >1000)")
    parser.add_argument("--json", help="write the scores here (and the settings to JSON.settings.json)")
    return parser.parse_args(argv)


def parse_cutoffs(text: str) -> List[int]:
    try:
        cutoffs = [int(x) for x in text.split(",")]
    except ValueError:
        cutoffs = []
    if len(cutoffs) != len(PAPER_BUCKET_NAMES) - 1 or cutoffs != sorted(cutoffs):
        raise InputError(f"--word-buckets {text}: give two increasing integers, e.g. 100,1001")
    return cutoffs


@exit_on_input_error
def main(argv=None):
    args = parse_args(argv)
    check_language(args.lang, "--lang")
    if args.json:
        check_output_path(args.json, "--json")
    metrics = args.metrics.split(",") if args.metrics else None
    for metric in metrics or ():
        if metric not in METRICS:
            raise InputError(f"--metrics: unknown metric {metric!r}; choose from {','.join(METRICS)} "
                             "(METEOR is meteor_exact_stem: no WordNet synonyms)")
    if args.spm and not os.path.isfile(args.spm):
        raise InputError(f"--spm {args.spm}: no such file; pass a SentencePiece .model file")
    if metrics and "sp_rouge" in metrics and not args.spm:
        raise InputError("--metrics sp_rouge needs --spm MODEL (a SentencePiece model)")
    cutoffs = parse_cutoffs(args.word_buckets)

    hyps = read_system_output(args.hyp).hypotheses
    refs = read_sentences(args.ref, "--ref")
    if len(hyps) != len(refs):
        raise InputError(
            f"--hyp {args.hyp} has {len(hyps)} hypotheses but --ref {args.ref} has {len(refs)} references; "
            "pass parallel files (one hypothesis per reference line)"
        )
    train_refs = read_sentences(args.train_ref, "--train-ref") if args.train_ref else None

    result = score_outputs(hyps, refs, args.lang, metrics=metrics, spm_model=args.spm)
    rows = [[name, f"{value:.2f}"] for name, value in result["scores"].items()]
    print_table(rows, ["metric", "score"])
    payload = {"hyp": args.hyp, "ref": args.ref, "lang": args.lang, "lines": len(hyps), "scores": result["scores"]}

    if train_refs:
        try:
            accuracy = word_accuracy_by_frequency(
                hyps, refs, train_refs, cutoffs=cutoffs, tokenize=bleu_tokenize(args.lang)
            )
        except ValueError as e:
            raise InputError(f"--train-ref {args.train_ref}: {e}") from None
        print()
        print_table(
            [[b["name"], b["range"], b["ref_words"], f"{b['fmeasure']:.2f}"]
             for b in accuracy["buckets"] + [{"name": "all", "range": "", **accuracy["all"]}]],
            ["bucket", "train count", "ref words", "f-measure"],
        )
        payload["word_accuracy"] = accuracy

    if args.json:
        write_json_with_sidecar(args.json, payload, {"tool": "xlgen-score", **result["settings"],
                                                     "train_ref": args.train_ref, "word_buckets": cutoffs})


if __name__ == "__main__":
    main()
