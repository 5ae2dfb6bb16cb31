"""xlgen-xlrs: cross-lingual representation similarity of mBART models (Li & Murray, paper 002)
and cross-lingual representation distance (Zan et al., paper 004 Eq. 4).

    xlgen-xlrs compute  --models mbart.cc25 checkpoints/ --parallel-prefix par --langs en_XX,de_DE,zh_CN
                        [--spm sentence.bpe.model] --out xlrs.json          (§4: XLRS per checkpoint)
    xlgen-xlrs plot     --xlrs en=xlrs.en.json en+de=xlrs.en_de.json --out xlrs.png   (Figures 3, 6)
    xlgen-xlrs select   --xlrs xlrs.json --hyps 'out/{checkpoint}/{split}.{lang}.txt'
                        --refs 'task/{lang}/{split}.target' --src-lang en_XX --tgt-langs de_DE,zh_CN
                        --out selection.json                                 (§6.2, Tables 7-8)
    xlgen-xlrs spearman --xlrs xlrs.json --hyps ... --refs ... --src-lang en_XX --tgt-langs ...   (Table 4)
    xlgen-xlrs overlap  --labels 'task/{lang}/test.target' --src-lang en_XX --tgt-langs de_DE,zh_CN   (§5.1)
    xlgen-xlrs distance --models mbart.cc25 baseline/averaged.pt stage2/averaged.pt --mono-prefix mono
                        --langs en_XX,de_DE --out distance.json   (paper 004 Eq. 4, Table VI)

``distance`` measures by default the distance of the two languages' mean last-token decoder
embeddings (§V-A: each language is its average sentence embedding, over monolingual,
non-parallel sentences, --mono-prefix; --parallel-prefix works too); ``--variant parallel`` is
Eq. 4 as printed, the norm of the stacked differences of parallel sentences (grows with sqrt N).

``compute`` and ``distance`` cache each model's result in ``OUT.cache.json`` and resume from
it. Written files appear atomically, JSON outputs with ``OUT.settings.json``. Bad input: one ``error:``
line and exit status 2.
"""
import argparse
import hashlib
import json
import os
import sys
from typing import Dict, List

import torch

from fairseq_xlgen.analysis.checkpoint_selection import (
    CheckpointResult,
    select_checkpoints,
    selection_markdown,
    xlrs_score_correlation,
)
from fairseq_xlgen.analysis.checkpoints import list_model_sources
from fairseq_xlgen.analysis.encoder_states import (
    check_pieces,
    distance_by_pair,
    language_pairs,
    pair_name,
    read_monolingual_sentences,
    read_parallel_sentences,
    xlrs_by_pair,
)
from fairseq_xlgen.analysis.model_measurement import measure_models, write_json
from fairseq_xlgen.analysis.plots import plot_xlrs_curves
from fairseq_xlgen.pretrained import load_sentencepiece
from fairseq_xlgen.analysis.scoring import METRICS, WordTokenizer, score_outputs
from fairseq_xlgen.analysis.xlrs import label_overlap
from fairseq_xlgen.errors import InputError, exit_on_input_error, positive_int
from fairseq_xlgen.file_io import atomic_output, check_output_path
from fairseq_xlgen.cli.tool_io import (
    check_language,
    print_table,
    read_sentences,
    read_system_output,
    read_text,
    write_json_with_sidecar,
)

PLACEHOLDERS = ("checkpoint", "lang", "split")


def comma_list(text: str) -> List[str]:
    return [item for item in text.split(",") if item]


def check_languages(text: str, flag: str) -> List[str]:
    langs = comma_list(text)
    if not langs:
        raise InputError(f"{flag}: give comma-separated language codes, e.g. en_XX,de_DE")
    for lang in langs:
        check_language(lang, flag)
    return langs


# ---------------------------------------------------------------- compute


def encode_sentences(args, langs) -> Dict[str, List[str]]:
    """The sampled sentences (parallel, or per language with --mono-prefix) as SentencePiece
    pieces (encoded with --spm, or checked)."""
    mono = getattr(args, "mono_prefix", None)
    flag, prefix = ("--mono-prefix", mono) if mono else ("--parallel-prefix", args.parallel_prefix)
    read = read_monolingual_sentences if mono else read_parallel_sentences
    try:
        lines = read(prefix, langs, args.max_sentences, args.seed)
    except (OSError, ValueError) as e:
        raise InputError(f"{flag}: {e}") from None
    if args.spm:
        processor = load_sentencepiece(args.spm)
        return {lang: [" ".join(pieces) for pieces in processor.encode(v, out_type=str)] for lang, v in lines.items()}
    for lang, v in lines.items():
        try:
            check_pieces(v, f"{prefix}.{lang}")
        except ValueError as e:
            raise InputError(f"{flag} {e}; or pass --spm MODEL to encode raw text") from None
    return lines


def measure_and_report(args, measure: str, by_pair):
    """The ``measure`` (``xlrs`` or ``distance``) of every model of --models for every pair, printed and
    written to --out: ``by_pair(model, dictionary, pieces, pairs, batch_size) -> {pair: value}``."""
    langs = check_languages(args.langs, "--langs")
    try:
        pairs = language_pairs(langs, comma_list(args.pairs or ""))
    except ValueError as e:
        raise InputError(f"--pairs: {e}") from None
    check_output_path(args.out, "--out")
    if args.spm and not os.path.isfile(args.spm):
        raise InputError(f"--spm {args.spm}: no such file; pass the model's SentencePiece .model file")
    try:
        sources = list_model_sources(args.models)
    except FileNotFoundError as e:
        raise InputError(f"--models {e}") from None
    pieces = encode_sentences(args, list(dict.fromkeys(lang for pair in pairs for lang in pair)))
    device = "cuda" if torch.cuda.is_available() and not args.cpu else "cpu"
    mono = getattr(args, "mono_prefix", None)
    settings = {"measure": measure, "pairs": [pair_name(p) for p in pairs],
                "parallel_prefix": None if mono else os.path.abspath(args.parallel_prefix),
                "mono_prefix": mono and os.path.abspath(mono), "variant": getattr(args, "variant", None),
                "parallel_sha1": hashlib.sha1(json.dumps(pieces, sort_keys=True).encode("utf-8")).hexdigest(),
                "max_sentences": args.max_sentences, "seed": args.seed, "spm": args.spm, "fp16": args.fp16}
    def by_model(model, dictionary):
        return by_pair(model, dictionary, pieces, pairs, args.batch_size)

    rows = measure_models(sources, measure, by_model, settings, args.out + ".cache.json", args.data, device,
                          args.fp16, progress=not args.no_progress)
    label = "name" if len({r["name"] for r in rows}) == len(rows) else "model"  # e.g. two averaged.pt
    print_table([[r[label], r["num_updates"]] + [f"{r[measure][p]:.4f}" for p in settings["pairs"]] for r in rows],
                ["model", "updates"] + [f"{measure} {p}" for p in settings["pairs"]])
    write_json_with_sidecar(args.out, {"pairs": settings["pairs"], "models": rows},
                            {"tool": f"xlgen-xlrs {args.command}", **settings, "models": args.models, "device": device})


def compute(args):
    measure_and_report(args, "xlrs", xlrs_by_pair)


def distance(args):
    if args.variant == "parallel" and args.mono_prefix:
        raise InputError("--variant parallel needs parallel sentences: pass --parallel-prefix, not --mono-prefix")
    if not (args.mono_prefix or args.parallel_prefix):
        raise InputError("pass --mono-prefix (sentences per language) or --parallel-prefix")

    def by_pair(model, dictionary, pieces, pairs, batch_size):
        return distance_by_pair(model, dictionary, pieces, pairs, batch_size, variant=args.variant)
    measure_and_report(args, "distance", by_pair)


# ---------------------------------------------------------------- plot


def read_xlrs_table(path: str, flag: str = "--xlrs") -> dict:
    try:
        table = json.loads("\n".join(read_text(path, flag)))
    except ValueError:
        table = None
    if not isinstance(table, dict) or not {"pairs", "models"} <= table.keys():
        raise InputError(f"{flag} {path}: not the JSON written by xlgen-xlrs compute --out")
    return table


def plot(args):
    check_output_path(args.out, "--out")
    curves = {}
    for spec in args.xlrs:
        label, sep, path = spec.rpartition("=")
        table = read_xlrs_table(path)
        pairs = comma_list(args.pairs) if args.pairs else table["pairs"]
        for pair in pairs:
            if pair not in table["pairs"]:
                raise InputError(f"--pairs {pair}: not in --xlrs {path} (has {', '.join(table['pairs'])})")
            name = f"{label}: {pair}" if sep else pair
            curves[name] = [(r["num_updates"], r["xlrs"][pair]) for r in table["models"]]
    plot_xlrs_curves(curves, args.out, title=args.title)
    write_json(args.out + ".settings.json", {"argv": sys.argv, "tool": "xlgen-xlrs plot", "xlrs": args.xlrs,
                                             "title": args.title, "curves": curves})
    print(f"wrote {args.out} (plotted points in {args.out}.settings.json)")


# ---------------------------------------------------------------- select / spearman


def fill_pattern(pattern: str, flag: str, **values) -> str:
    try:
        return pattern.format(**values)
    except (KeyError, IndexError, ValueError):
        raise InputError(f"{flag} {pattern}: use only the placeholders {{{'}, {'.join(PLACEHOLDERS)}}}") from None


def metric_family(metric: str) -> str:
    """The :data:`METRICS` entry that produces a score key (``rougeL`` -> ``rouge``)."""
    if metric in ("span_f1", "span_em"):
        return "span"
    family = "sp_rouge" if metric.startswith("sp_rouge") else "rouge" if metric.startswith("rouge") else metric
    if family not in METRICS or family == "span" or (family != metric and metric[len(family):] not in ("1", "2", "L")):
        raise InputError(f"--metric {metric}: choose bleu, chrf, rouge1/2/L, sp_rouge1/2/L, accuracy, tag_accuracy, "
                         "span_f1 or span_em")
    return family


def score_checkpoints(table: dict, args, lang_splits) -> List[CheckpointResult]:
    """Score every finetuned checkpoint of an XLRS table on the ``(lang, split)`` outputs."""
    family = metric_family(args.metric)
    if family == "sp_rouge" and not args.spm:
        raise InputError(f"--metric {args.metric} needs --spm MODEL (the model's SentencePiece model)")
    references = {}
    results = []
    for row in table["models"]:
        if row["kind"] == "pretrained":
            continue  # never finetuned: not a candidate
        result = CheckpointResult(row["name"], row["num_updates"], row["xlrs"])
        for lang, split in lang_splits:
            hyp_path = fill_pattern(args.hyps, "--hyps", checkpoint=row["name"], lang=lang, split=split)
            if (lang, split) not in references:
                ref_path = fill_pattern(args.refs, "--refs", checkpoint=row["name"], lang=lang, split=split)
                references[(lang, split)] = (ref_path, read_sentences(ref_path, "--refs"))
            ref_path, refs = references[(lang, split)]
            hyps = read_system_output(hyp_path, "--hyps").hypotheses
            if len(hyps) != len(refs):
                raise InputError(f"--hyps {hyp_path} has {len(hyps)} hypotheses but --refs {ref_path} has "
                                 f"{len(refs)} lines; generate the whole {split} split")
            scores = score_outputs(hyps, refs, lang, metrics=[family], spm_model=args.spm)["scores"]
            result.scores[(lang, split)] = scores[args.metric]
        results.append(result)
    if not results:
        raise InputError(f"--xlrs {args.xlrs}: no finetuned checkpoints in the table")
    return results


def score_settings(args) -> dict:
    return {"xlrs": args.xlrs, "hyps": args.hyps, "refs": args.refs, "metric": args.metric, "spm": args.spm,
            "src_lang": args.src_lang, "tgt_langs": args.tgt_langs}


def checked_pair_languages(args, table):
    check_language(args.src_lang, "--src-lang")
    tgt_langs = check_languages(args.tgt_langs, "--tgt-langs")
    for tgt in tgt_langs:
        if not {f"{args.src_lang}-{tgt}", f"{tgt}-{args.src_lang}"} & set(table["pairs"]):
            raise InputError(f"--tgt-langs {tgt}: --xlrs {args.xlrs} has no XLRS for {args.src_lang}-{tgt} "
                             f"(has {', '.join(table['pairs'])}); compute it with xlgen-xlrs compute --pairs")
    return tgt_langs


def select(args):
    check_output_path(args.out, "--out")
    table = read_xlrs_table(args.xlrs)
    tgt_langs = checked_pair_languages(args, table)
    lang_splits = [(args.src_lang, args.dev_split)] + [(t, s) for t in tgt_langs for s in (args.dev_split,
                                                                                           args.test_split)]
    results = score_checkpoints(table, args, lang_splits)
    selection = select_checkpoints(results, args.src_lang, tgt_langs, args.dev_split, args.test_split)
    selection["checkpoints"] = [{"checkpoint": r.name, "num_updates": r.num_updates, "xlrs": r.xlrs,
                                 "scores": {f"{split}.{lang}": v for (lang, split), v in r.scores.items()}}
                                for r in results]
    markdown = selection_markdown(selection, args.metric)
    print(markdown, end="")
    markdown_path = os.path.splitext(args.out)[0] + ".md"
    with atomic_output(markdown_path) as f:
        f.write(markdown)
    write_json_with_sidecar(args.out, selection, {"tool": "xlgen-xlrs select", **score_settings(args),
                                                  "dev_split": args.dev_split, "test_split": args.test_split})


def correlate(args):
    table = read_xlrs_table(args.xlrs)
    tgt_langs = checked_pair_languages(args, table)
    if args.json:
        check_output_path(args.json, "--json")
    results = score_checkpoints(table, args, [(t, args.split) for t in tgt_langs])
    correlation = xlrs_score_correlation(results, args.src_lang, tgt_langs, args.split)
    print_table([[name, "undefined (constant scores)" if c["rho"] is None else f"{c['rho']:.3f}",
                  "" if c["p_value"] is None else f"{c['p_value']:.3g}", c["points"]]
                 for name, c in [("mean over targets", correlation["mean"]), *correlation["per_target"].items()]],
                ["target", "spearman rho", "p-value", "checkpoints"])
    if args.json:
        write_json_with_sidecar(args.json, correlation, {"tool": "xlgen-xlrs spearman", **score_settings(args),
                                                         "split": args.split})


# ---------------------------------------------------------------- overlap


def overlap(args):
    check_language(args.src_lang, "--src-lang")
    tgt_langs = check_languages(args.tgt_langs, "--tgt-langs")
    if args.json:
        check_output_path(args.json, "--json")
    source = read_text(fill_pattern(args.labels, "--labels", lang=args.src_lang), "--labels")
    per_target = {}
    for tgt in tgt_langs:
        path = fill_pattern(args.labels, "--labels", lang=tgt)
        try:
            per_target[tgt] = 100.0 * label_overlap(source, read_text(path, "--labels"), level=args.level,
                                                    tokenize=WordTokenizer().tokenize)
        except ValueError as e:
            raise InputError(f"--labels {path}: {e}") from None
    # the task-level d: §5.1's text says the average over target languages, its equation a sum
    mean, total = sum(per_target.values()) / len(per_target), sum(per_target.values())
    print_table([[f"{args.src_lang}-{t}", f"{d:.2f}"] for t, d in per_target.items()]
                + [["mean over targets (d, text)", f"{mean:.2f}"], ["sum over targets (d, equation)", f"{total:.2f}"]],
                ["pair", f"label overlap d, {args.level} level (%)"])
    if args.json:
        write_json_with_sidecar(args.json, {"per_target": per_target, "mean": mean, "sum": total},
                                {"tool": "xlgen-xlrs overlap", "labels": args.labels, "level": args.level,
                                 "src_lang": args.src_lang, "tgt_langs": tgt_langs})


# ---------------------------------------------------------------- arguments


def add_scoring_args(parser):
    parser.add_argument("--xlrs", required=True, help="XLRS table of one training run (xlgen-xlrs compute --out)")
    parser.add_argument("--hyps", required=True, help="fairseq-generate output per checkpoint, language and split, "
                        "a pattern with {checkpoint} (file stem, e.g. checkpoint_3_300), {lang} and {split}")
    parser.add_argument("--refs", required=True, help="references, a pattern with {lang} and {split}")
    parser.add_argument("--src-lang", required=True, help="source (training) language, e.g. en_XX")
    parser.add_argument("--tgt-langs", required=True, help="comma-separated zero-shot target languages")
    parser.add_argument("--metric", default="rougeL", help="score key: rouge1/2/L, sp_rouge1/2/L, bleu, chrf, or "
                        "for understanding tasks read as text to text accuracy, tag_accuracy, span_f1 or span_em "
                        "(default rougeL, the paper's ROUGE-L)")
    parser.add_argument("--spm", help="SentencePiece model for the sp_rouge metrics")


def add_model_args(p, measure, max_sentences, paper, parallel_required=True):
    p.add_argument("--models", nargs="+", required=True, help="checkpoint files, training save dirs (their "
                   "checkpoint{N}.pt / checkpoint_{E}_{U}.pt) and pretrained model dirs (update 0)")
    p.add_argument("--parallel-prefix", required=parallel_required, help="parallel sentences PREFIX.{lang}, line i "
                   "translating line i; SentencePiece pieces unless --spm is given")
    p.add_argument("--langs", required=True, help="comma-separated languages, e.g. en_XX,de_DE,zh_CN")
    p.add_argument("--pairs", help="comma-separated pairs such as en_XX-de_DE (default: first language with "
                   "each other one)")
    p.add_argument("--spm", help="SentencePiece model: encode raw-text parallel files with it")
    p.add_argument("--max-sentences", type=positive_int, default=max_sentences,
                   help=f"seeded sample of parallel lines (default: %(default)s, {paper})")
    p.add_argument("--seed", type=int, default=1, help="seed of the sample (the task's --seed gives the same lines)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="sentences per forward pass")
    p.add_argument("--data", help="data directory for loading checkpoints whose training data moved")
    p.add_argument("--cpu", action="store_true", help="stay on the CPU even when a GPU is present")
    p.add_argument("--fp16", action="store_true", help="run the model in fp16 (pooling and the maths stay fp32)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--out", required=True, help=f"{measure} table (JSON); OUT.cache.json caches each model")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="xlgen-xlrs", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("compute", help="XLRS of models/checkpoints on parallel sentences (§4)")
    add_model_args(p, "XLRS", max_sentences=512, paper="paper: 512")
    p.set_defaults(run=compute)

    p = commands.add_parser("distance", help="paper 004 Eq. 4: Euclidean distance of the languages' mean "
                            "last-token decoder outputs (Table VI)")
    add_model_args(p, "distance", max_sentences=20000, paper="paper: 20k", parallel_required=False)
    p.add_argument("--mono-prefix", help="sentences per language PREFIX.{lang}, not parallel, any number of lines "
                   "(the paper's CC-100 sample); instead of --parallel-prefix")
    p.add_argument("--variant", choices=("means", "parallel"), default="means",
                   help="means: distance of the two languages' mean embeddings (§V-A, default); parallel: Eq. 4 "
                   "as printed, norm of the stacked differences of parallel sentences (grows with sqrt N)")
    p.set_defaults(run=distance)

    p = commands.add_parser("plot", help="XLRS against updates, one line per run and pair (PNG)")
    p.add_argument("--xlrs", nargs="+", required=True, metavar="[LABEL=]FILE", help="XLRS tables (compute --out)")
    p.add_argument("--pairs", help="comma-separated pairs to draw (default: all of each table)")
    p.add_argument("--title", default="XLRS during finetuning")
    p.add_argument("--out", required=True, help="PNG file")
    p.set_defaults(run=plot)

    p = commands.add_parser("select", help="checkpoint selection by source dev, lowest XLRS, target dev (§6.2)")
    add_scoring_args(p)
    p.add_argument("--dev-split", default="valid")
    p.add_argument("--test-split", default="test")
    p.add_argument("--out", required=True, help="selection (JSON); the markdown table goes to OUT without .json + .md")
    p.set_defaults(run=select)

    p = commands.add_parser("spearman", help="rank correlation of XLRS and zero-shot scores over checkpoints (Table 4)")
    add_scoring_args(p)
    p.add_argument("--split", default="test")
    p.add_argument("--json", help="write the correlations here")
    p.set_defaults(run=correlate)

    p = commands.add_parser("overlap", help="cross-lingual label overlap d of a task (§5.1): per target, and "
                            "their mean (the text; reproduces the paper's magnitudes) and sum (the equation)")
    p.add_argument("--labels", required=True, help="parallel labels per language, a pattern with {lang}")
    p.add_argument("--src-lang", required=True)
    p.add_argument("--tgt-langs", required=True, help="comma-separated languages")
    p.add_argument("--level", choices=("sequence", "token"), default="token",
                   help="sequence: identical labels (the paper's equation); token: matched label words")
    p.add_argument("--json", help="write the overlaps here")
    p.set_defaults(run=overlap)
    return parser.parse_args(argv)


@exit_on_input_error
def main(argv=None):
    args = parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
