"""Input and output shared by the command-line tools (no entry point here).

Text files given as a flag, fairseq-generate logs, language codes, JSON results with their
settings sidecar, tables on stdout: every problem is one
:class:`~fairseq_xlgen.errors.InputError` naming the flag or file. (Output paths:
``file_io.check_output_path``; SentencePiece models: ``pretrained.load_sentencepiece``.)
"""
import json
import os
import sys
import time
from typing import List

from fairseq_xlgen.analysis.generate_output import GenerateOutput, decode_piece_lines, hypotheses_from_lines, read_lines
from fairseq_xlgen.analysis.language_id import iso_code
from fairseq_xlgen.errors import InputError
from fairseq_xlgen.file_io import atomic_output


def read_text(path: str, flag: str) -> List[str]:
    """Non-empty UTF-8 text file given as ``flag``, as lines."""
    if not os.path.isfile(path):
        raise InputError(f"{flag} {path}: no such file; check the path")
    try:
        lines = read_lines(path)
    except UnicodeDecodeError:
        raise InputError(f"{flag} {path}: not UTF-8 text; pass a UTF-8 text file") from None
    if not lines:
        raise InputError(f"{flag} {path}: empty file; pass a file with one sentence per line")
    return lines


def read_sentences(path: str, flag: str) -> List[str]:
    """Lines of a text file, SentencePiece pieces decoded when present."""
    return decode_piece_lines(read_text(path, flag))


def read_system_output(path: str, flag: str = "--hyp") -> GenerateOutput:
    """Hypotheses of a fairseq-generate log (ids must be 0..n-1) or of a plain file, pieces decoded."""
    output = hypotheses_from_lines(read_text(path, flag))
    if output.ids != list(range(len(output.ids))):
        missing = sorted(set(range(max(output.ids) + 1)) - set(output.ids))
        raise InputError(
            f"{flag} {path}: fairseq-generate output lacks sample ids {missing[:10]}; "
            "generate the whole subset again"
        )
    output.hypotheses = decode_piece_lines(output.hypotheses)
    return output


def check_language(lang: str, flag: str) -> str:
    try:
        return iso_code(lang)
    except ValueError as e:
        raise InputError(f"{flag}: {e}") from None


def write_json_with_sidecar(path: str, payload: dict, settings: dict) -> None:
    """Write ``path`` and ``path.settings.json``, each via a temporary file and a rename."""
    sidecar = {"argv": sys.argv, "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **settings}
    for target, obj in ((path + ".settings.json", sidecar), (path, payload)):
        with atomic_output(target) as f:
            json.dump(obj, f, ensure_ascii=False, indent=2)
            f.write("\n")


def print_table(rows, header) -> None:
    """Print rows under a header: first column left-aligned, the others right-aligned."""
    table = [[str(cell) for cell in row] for row in [header] + rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join([row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])]))
