"""xlgen-text-to-text: an understanding task's files as a seq2seq task (``LANG/{split}.source`` / ``.target``), the
layout ``data_prep/prepare_monolingual_task.sh`` binarizes for ``multi_source_summarization`` (paper 002's
reading of every task as text to text; the templates: :mod:`fairseq_xlgen.data.text_to_text`).

    xlgen-text-to-text --task nli --task-dir BENCH/tasks/nli --out work/nli-t2t --langs en_XX,de_DE,ru_RU,zh_CN

TASK_DIR/LANG/{train,valid,test}.FIELD: the synthetic benchmark's ``tasks/{pos,nli,paws,qa}``, or real UDPOS /
XNLI / PAWS-X / TyDiQA-GoldP files cut into the same fields. Splits a language lacks are skipped (zero-shot
languages need no train). Prints the metric that scores the task's outputs (``xlgen-xlrs --metric``).
"""
import argparse
import os

from fairseq_xlgen.cli.tool_io import read_text
from fairseq_xlgen.data.text_to_text import TEMPLATES, text_to_text
from fairseq_xlgen.errors import InputError, exit_on_input_error
from fairseq_xlgen.file_io import atomic_output

SPLITS = ("train", "valid", "test")


def convert(task, task_dir, out, langs):
    """Write ``out/LANG/SPLIT.{source,target}`` for every split present, after every input was read and checked
    (a bad file leaves nothing written); returns the number of files written."""
    template = TEMPLATES[task]
    outputs = {}
    for lang in langs:
        if not os.path.isdir(os.path.join(task_dir, lang)):
            raise InputError(f"--task-dir {task_dir}: no {lang}/ directory; --langs names the languages it holds")
        for split in SPLITS:
            if not os.path.isfile(os.path.join(task_dir, lang, f"{split}.{template.target}")):
                continue
            try:
                sources, targets = text_to_text(template, lambda field: read_text(
                    os.path.join(task_dir, lang, f"{split}.{field}"), "--task-dir"))
            except ValueError as e:
                raise InputError(f"--task-dir {task_dir}/{lang}/{split}.*: {e}") from None
            outputs[os.path.join(out, lang, f"{split}.source")] = sources
            outputs[os.path.join(out, lang, f"{split}.target")] = targets
    for path, lines in outputs.items():
        with atomic_output(path) as f:
            f.writelines(line + "\n" for line in lines)
    return len(outputs)


@exit_on_input_error
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", required=True, choices=sorted(TEMPLATES), help="the understanding task's template")
    parser.add_argument("--task-dir", required=True, help="TASK_DIR with LANG/{split}.FIELD files")
    parser.add_argument("--out", required=True, help="output directory: LANG/{split}.{source,target}")
    parser.add_argument("--langs", required=True, help="comma-separated languages, e.g. en_XX,de_DE,ru_RU,zh_CN")
    args = parser.parse_args(argv)
    langs = [lang for lang in args.langs.split(",") if lang]
    if not langs:
        raise InputError("--langs: give at least one language")
    written = convert(args.task, args.task_dir, args.out, langs)
    print(f"{written} files in {args.out}; score outputs with --metric {TEMPLATES[args.task].metric}")


if __name__ == "__main__":
    main()
