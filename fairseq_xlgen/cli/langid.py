"""xlgen-langid: language of system outputs, paper 002 Table 9 (accidental translation).

    xlgen-langid --hyp generate-test.txt --src-lang en_XX --tgt-lang de_DE [--json lid.json]
    xlgen-langid --hyp out.txt --src-lang en_XX --tgt-lang zh_CN --backend ngram
        --train-ngram en_XX=mono.en_XX --train-ngram zh_CN=mono.zh_CN [--save-ngram-model lid.json]
    xlgen-langid --hyp out.txt --src-lang en_XX --tgt-lang zh_CN --backend ngram --ngram-model lid.json

Prints the share of outputs not in the target language, the share in the source language and
the mean probabilities of both. ``--backend langid`` (default) knows 97 natural languages;
``--backend ngram`` is trained from monolingual files (e.g. the synthetic benchmark's
artificial languages). Bad input: one ``error:`` line and exit status 2.
"""
import argparse

from fairseq_xlgen.analysis.language_id import (
    LangidIdentifier,
    NgramIdentifier,
    language_id_report,
    train_ngram_identifier,
)
from fairseq_xlgen.errors import InputError, exit_on_input_error
from fairseq_xlgen.file_io import check_output_path
from fairseq_xlgen.cli.tool_io import (
    check_language,
    print_table,
    read_system_output,
    read_text,
    write_json_with_sidecar,
)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="xlgen-langid", description=__doc__.split("\n\n")[0])
    parser.add_argument("--hyp", required=True, help="fairseq-generate output or one hypothesis per line")
    parser.add_argument("--src-lang", required=True, help="source language of the task data, e.g. en_XX")
    parser.add_argument("--tgt-lang", required=True, help="language the outputs should be in, e.g. de_DE")
    parser.add_argument("--backend", choices=("langid", "ngram"), default="langid")
    parser.add_argument("--candidates", help="langid backend: comma-separated candidate languages "
                        "(default: all 97 langid languages)")
    parser.add_argument("--ngram-model", help="ngram backend: identifier saved with --save-ngram-model")
    parser.add_argument("--train-ngram", action="append", default=[], metavar="LANG=FILE",
                        help="ngram backend: monolingual training text of LANG (repeat per language)")
    parser.add_argument("--save-ngram-model", help="ngram backend: save the trained identifier here (JSON)")
    parser.add_argument("--json", help="write summary and per-line results here (settings to JSON.settings.json)")
    return parser.parse_args(argv)


def build_identifier(args):
    if args.backend == "langid":
        if args.ngram_model or args.train_ngram or args.save_ngram_model:
            raise InputError("--ngram-model/--train-ngram/--save-ngram-model need --backend ngram")
        candidates = args.candidates.split(",") if args.candidates else None
        try:
            return LangidIdentifier(candidates, name_as=(args.src_lang, args.tgt_lang))
        except ValueError as e:
            raise InputError(f"--backend langid: {e}") from None
    if bool(args.ngram_model) == bool(args.train_ngram):
        raise InputError("--backend ngram needs either --ngram-model FILE or --train-ngram LANG=FILE (repeated)")
    if args.ngram_model:
        read_text(args.ngram_model, "--ngram-model")
        try:
            return NgramIdentifier.load(args.ngram_model)
        except ValueError as e:  # also malformed JSON
            raise InputError(f"--ngram-model {args.ngram_model}: {e}; pass a file written by --save-ngram-model, "
                             "or train again with --train-ngram") from None
    corpora = {}
    for spec in args.train_ngram:
        lang, sep, path = spec.partition("=")
        if not sep or not path:
            raise InputError(f"--train-ngram {spec}: expected LANG=FILE, e.g. de_DE=mono.de_DE")
        check_language(lang, f"--train-ngram {spec}")
        corpora[lang] = read_text(path, f"--train-ngram {lang}=")
    try:
        identifier = train_ngram_identifier(corpora)
    except ValueError as e:
        raise InputError(f"--train-ngram: {e}") from None
    if args.save_ngram_model:
        identifier.save(args.save_ngram_model)
    return identifier


@exit_on_input_error
def main(argv=None):
    args = parse_args(argv)
    check_language(args.src_lang, "--src-lang")
    check_language(args.tgt_lang, "--tgt-lang")
    for flag, path in (("--json", args.json), ("--save-ngram-model", args.save_ngram_model)):
        if path:
            check_output_path(path, flag)
    hyps = read_system_output(args.hyp).hypotheses
    identifier = build_identifier(args)
    for flag, lang in (("--src-lang", args.src_lang), ("--tgt-lang", args.tgt_lang)):
        if lang not in identifier.labels:
            raise InputError(f"{flag} {lang}: the n-gram identifier knows only {', '.join(identifier.labels)}; "
                             f"train it with --train-ngram {lang}=FILE")
    report = language_id_report(identifier, hyps, args.src_lang, args.tgt_lang)
    summary = report["summary"]
    print_table(
        [["lines", summary["lines"]],
         [f"not in target language {args.tgt_lang} (%)", f"{summary['wrong_language_rate']:.2f}"],
         [f"in source language {args.src_lang} (%)", f"{summary['source_language_rate']:.2f}"],
         ["without letters, language undetermined (%)", f"{summary['no_letters_rate']:.2f}"],
         [f"mean P({args.src_lang}) (%)", f"{summary['mean_p_src']:.2f}"],
         [f"mean P({args.tgt_lang}) (%)", f"{summary['mean_p_tgt']:.2f}"]],
        ["", "value"],
    )
    if args.json:
        payload = {"hyp": args.hyp, "src_lang": args.src_lang, "tgt_lang": args.tgt_lang, **report}
        settings = {"tool": "xlgen-langid", "backend": args.backend, "labels": list(identifier.labels),
                    "ngram_model": args.ngram_model, "train_ngram": args.train_ngram}
        write_json_with_sidecar(args.json, payload, settings)


if __name__ == "__main__":
    main()
