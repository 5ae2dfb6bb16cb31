"""xlgen-understanding-baselines: majority and lexical baselines of the synthetic benchmark's understanding
tasks (docs/synthetic_benchmark.md, "Understanding tasks"), on the test split of every language.

    xlgen-understanding-baselines --benchmark work/bench [--src-lang en_XX] [--json baselines.json]

Zero-shot rows train on the source language's training split only; "in-language" rows train on the
evaluated language's own (an upper bound of what lexical cues give, not a transfer result).
"""
import argparse
import os

from fairseq_xlgen.analysis import scoring, understanding
from fairseq_xlgen.cli.tool_io import print_table, read_text, write_json_with_sidecar
from fairseq_xlgen.errors import InputError, exit_on_input_error
from fairseq_xlgen.file_io import check_output_path
from fairseq_xlgen.testbed.synthetic_benchmark import segmentation_path

SENTENCE_ENDS = frozenset({".", "。", "?", "？"})
PAIR_FIELDS = {"nli": ("premise", "hypothesis"), "paws": ("sentence1", "sentence2")}


class TaskFiles:
    """Reads ``tasks/TASK/LANG/SPLIT.FIELD`` of a benchmark; text fields as word lists (the gold
    segmentation of unspaced languages)."""

    def __init__(self, benchmark, task):
        self.directory = os.path.join(benchmark, "tasks", task)

    def lines(self, lang, split, field):
        path = os.path.join(self.directory, lang, f"{split}.{field}")
        return read_text(path, "--benchmark")

    def words(self, lang, split, field):
        path = os.path.join(self.directory, lang, f"{split}.{field}")
        segmented = segmentation_path(path)
        return [line.split() for line in read_text(segmented if os.path.isfile(segmented) else path, "--benchmark")]

    def pairs(self, lang, split, fields):
        return list(zip(*(self.words(lang, split, field) for field in fields)))


def _sentences(words):
    sentences, current = [], []
    for word in words:
        current.append(word)
        if word in SENTENCE_ENDS:
            sentences.append(current)
            current = []
    return sentences + ([current] if current else [])


def baselines(benchmark, src, langs):
    """Rows of (task, baseline, language, metric, score)."""
    rows = []
    for task, fields in PAIR_FIELDS.items():
        files = TaskFiles(benchmark, task)
        train_pairs, train_labels = files.pairs(src, "train", fields), files.lines(src, "train", "label")
        majority = understanding.majority_label(train_labels)
        for lang in langs:
            test_pairs, test_labels = files.pairs(lang, "test", fields), files.lines(lang, "test", "label")
            rows += [
                (task, f"majority ({src} train)", lang, "accuracy",
                 100 * scoring.accuracy([majority] * len(test_labels), test_labels)),
                (task, f"word overlap ({src} train, zero-shot)", lang, "accuracy",
                 100 * understanding.pair_classifier_accuracy(train_pairs, train_labels, test_pairs, test_labels)),
                (task, "overlap + bags of words (in-language)", lang, "accuracy",
                 100 * understanding.pair_classifier_accuracy(
                     files.pairs(lang, "train", fields), files.lines(lang, "train", "label"), test_pairs, test_labels,
                     bag_of_words=True)),
            ]
    files = TaskFiles(benchmark, "pos")
    source = files.words(src, "train", "words"), files.words(src, "train", "tags")
    majority_tag = understanding.majority_label([tag for tags in source[1] for tag in tags])
    for lang in langs:
        test_words, test_tags = files.words(lang, "test", "words"), files.words(lang, "test", "tags")
        flat = [tag for tags in test_tags for tag in tags]
        rows += [
            ("pos", f"majority tag ({src} train)", lang, "accuracy",
             100 * scoring.accuracy([majority_tag] * len(flat), flat)),
            ("pos", f"word -> tag lookup ({src} train, zero-shot)", lang, "accuracy",
             100 * understanding.tag_lookup_accuracy(*source, test_words, test_tags)),
            ("pos", "word -> tag lookup (in-language)", lang, "accuracy",
             100 * understanding.tag_lookup_accuracy(files.words(lang, "train", "words"),
                                                     files.words(lang, "train", "tags"), test_words, test_tags)),
        ]
    files = TaskFiles(benchmark, "qa")
    for lang in langs:
        predictions = [" ".join(understanding.sentence_window_answer(_sentences(context), question))
                       for context, question in zip(files.words(lang, "test", "context"),
                                                    files.words(lang, "test", "question"))]
        scores = scoring.span_scores(predictions, files.lines(lang, "test", "answer"))
        rows += [("qa", "best-overlap sentence less the question", lang, metric, scores[metric])
                 for metric in ("f1", "exact_match")]
    return rows


def build_parser():
    parser = argparse.ArgumentParser(prog="xlgen-understanding-baselines", description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmark", required=True, metavar="DIR", help="a benchmark of xlgen-make-benchmark")
    parser.add_argument("--src-lang", default="en_XX", help="the language zero-shot baselines train on")
    parser.add_argument("--json", metavar="FILE", help="also write the rows here (with a settings sidecar)")
    return parser


@exit_on_input_error
def main(argv=None):
    args = build_parser().parse_args(argv)
    langs = sorted(os.listdir(os.path.join(args.benchmark, "tasks", "pos"))) \
        if os.path.isdir(os.path.join(args.benchmark, "tasks", "pos")) else []
    if not langs:
        raise InputError(f"--benchmark {args.benchmark}: no tasks/pos/; generate it with xlgen-make-benchmark "
                         "(generator version 3 or later)")
    if args.src_lang not in langs:
        raise InputError(f"--src-lang {args.src_lang}: not in the benchmark; choose one of {', '.join(langs)}")
    if args.json:
        check_output_path(args.json, "--json")
    rows = baselines(args.benchmark, args.src_lang, langs)
    print_table([(task, baseline, lang, metric, f"{score:.1f}") for task, baseline, lang, metric, score in rows],
                ["task", "baseline", "language", "metric", "score"])
    if args.json:
        write_json_with_sidecar(args.json, {"rows": [dict(zip(("task", "baseline", "language", "metric", "score"), row))
                                                     for row in rows]},
                                {"benchmark": os.path.abspath(args.benchmark), "src_lang": args.src_lang})


if __name__ == "__main__":
    main()
