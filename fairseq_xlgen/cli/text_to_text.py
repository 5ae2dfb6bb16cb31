"""xlgen-text-to-text: an understanding task's files as a seq2seq task (``LANG/{split}.source`` / ``.target``), the
layout ``data_prep/prepare_monolingual_task.sh`` binarizes for ``multi_source_summarization`` (paper 002's
reading of every task as text to text; the templates: :mod:`fairseq_xlgen.data.text_to_text`).

    xlgen-text-to-text --task nli --task-dir BENCH/tasks/nli --out work/nli-t2t --langs en_XX,de_DE,ru_RU,zh_CN

TASK_DIR/LANG/{train,valid,test}.FIELD: the synthetic benchmark's ``tasks/{pos,nli,paws,qa}``, or real UDPOS /
XNLI / PAWS-X / TyDiQA-GoldP files cut into the same fields. Splits a language lacks are skipped (zero-shot
languages need no train). Prints the metric that scores the task's outputs (``xlgen-xlrs --metric``).

``--spm MODEL`` checks that the model can write the targets: a character its SentencePiece model maps to
``<unk>`` comes out of every output as ``<unk>``, which no reference matches (the testbed's 4000-piece model has
no capital A, C, E, O or U, so ``NOUN`` scored 0 everywhere, English included). A label set (tags, labels) that
the model cannot write is refused; for free text (answers) the share of targets with such characters is
printed. ``--lowercase-targets`` writes the targets in lower case, for label sets whose case carries nothing.
"""
import argparse
import os

from fairseq_xlgen.cli.tool_io import read_text
from fairseq_xlgen.data.text_to_text import TEMPLATES, text_to_text
from fairseq_xlgen.errors import InputError, exit_on_input_error
from fairseq_xlgen.file_io import atomic_output
from fairseq_xlgen.pretrained import load_sentencepiece

SPLITS = ("train", "valid", "test")


def _unknown(spm_model, text):
    """Whether ``spm_model`` maps some character of ``text`` to ``<unk>``."""
    return spm_model.unk_id() in spm_model.encode(text)


def check_writable(template, targets, spm_model, target_file):
    """Raise :class:`InputError` at the first label of a label set (``language_neutral_output``) holding characters
    ``spm_model`` maps to ``<unk>``; for free-text targets return a line counting them (None if there are none)."""
    unknown = {ch for ch in set("".join(targets)) - {" "} if _unknown(spm_model, ch)}
    lines = [number for number, line in enumerate(targets, 1) if unknown & set(line)]
    if not lines:
        return None
    if template.language_neutral_output:
        missing = sorted(unknown & set(targets[lines[0] - 1]))
        hint = " (their lower case is: --lowercase-targets)" if not _unknown(spm_model, "".join(missing).lower()) else ""
        raise InputError(f"{target_file}:{lines[0]}: the model's SentencePiece vocabulary has no "
                         f"{' '.join(missing)}, so no output can match this label{hint}")
    return (f"{target_file}: {len(lines)} of {len(targets)} targets ({100 * len(lines) / len(targets):.1f} %) "
            f"hold characters the model writes as <unk>")


def convert(task, task_dir, out, langs, spm_model=None, lowercase_targets=False):
    """Write ``out/LANG/SPLIT.{source,target}`` for every split present, after every input was read and checked
    (a bad file leaves nothing written). With ``spm_model``, a label set (``language_neutral_output``) must be
    writable in its pieces; for free-text targets the share that is not is reported. Returns the number of
    files written and those reports."""
    template = TEMPLATES[task]
    outputs, reports = {}, []
    for lang in langs:
        if not os.path.isdir(os.path.join(task_dir, lang)):
            raise InputError(f"--task-dir {task_dir}: no {lang}/ directory; --langs names the languages it holds")
        for split in SPLITS:
            target_file = os.path.join(task_dir, lang, f"{split}.{template.target}")
            if not os.path.isfile(target_file):
                continue
            try:
                sources, targets = text_to_text(template, lambda field: read_text(
                    os.path.join(task_dir, lang, f"{split}.{field}"), "--task-dir"))
            except ValueError as e:
                raise InputError(f"--task-dir {task_dir}/{lang}/{split}.*: {e}") from None
            if lowercase_targets:
                targets = [target.lower() for target in targets]
            report = check_writable(template, targets, spm_model, target_file) if spm_model is not None else None
            if report:
                reports.append(report)
            outputs[os.path.join(out, lang, f"{split}.source")] = sources
            outputs[os.path.join(out, lang, f"{split}.target")] = targets
    for path, lines in outputs.items():
        with atomic_output(path) as f:
            f.writelines(line + "\n" for line in lines)
    return len(outputs), reports


@exit_on_input_error
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", required=True, choices=sorted(TEMPLATES), help="the understanding task's template")
    parser.add_argument("--task-dir", required=True, help="TASK_DIR with LANG/{split}.FIELD files")
    parser.add_argument("--out", required=True, help="output directory: LANG/{split}.{source,target}")
    parser.add_argument("--langs", required=True, help="comma-separated languages, e.g. en_XX,de_DE,ru_RU,zh_CN")
    parser.add_argument("--spm", help="the pretrained model's SentencePiece model (e.g. mbart.cc25/sentence.bpe.model): "
                                      "refuse labels with characters it maps to <unk>, count such answers")
    parser.add_argument("--lowercase-targets", action="store_true",
                        help="write the targets in lower case (tags and labels, for a vocabulary without capitals)")
    args = parser.parse_args(argv)
    langs = [lang for lang in args.langs.split(",") if lang]
    if not langs:
        raise InputError("--langs: give at least one language")
    written, reports = convert(args.task, args.task_dir, args.out, langs,
                               load_sentencepiece(args.spm) if args.spm else None, args.lowercase_targets)
    for report in reports:
        print(report)
    print(f"{written} files in {args.out}; score outputs with --metric {TEMPLATES[args.task].metric}")


if __name__ == "__main__":
    main()
