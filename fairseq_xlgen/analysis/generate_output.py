"""Read system outputs: ``fairseq-generate`` logs or plain one-line-per-sample files.

fairseq-generate prints, per sample id ``i`` (in batch order, not id order)::

    S-i <tab> source            T-i <tab> reference
    H-i <tab> score <tab> text  (post-processed, e.g. BPE removed)
    D-i <tab> score <tab> text  (additionally detokenized)
    P-i <tab> positional scores

With ``--nbest k`` there are k H/D lines per id; the first one is the best.
"""
import re
from dataclasses import dataclass
from typing import Iterable, List, Optional

SPM_SPACE = "\u2581"  # SentencePiece's word-boundary mark "▁"

_GENERATE_LINE = re.compile(r"^([A-Z])-(\d+)\t")


@dataclass
class GenerateOutput:
    """Samples of one fairseq-generate run, sorted by sample id."""

    ids: List[int]
    hypotheses: List[str]
    scores: List[float]
    sources: List[Optional[str]]
    targets: List[Optional[str]]


def read_lines(path: str) -> List[str]:
    """Lines of a UTF-8 text file without their line breaks."""
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def is_generate_output(lines: Iterable[str]) -> bool:
    """True when the lines contain fairseq-generate ``H-i`` or ``D-i`` records."""
    return any(
        (m := _GENERATE_LINE.match(line)) is not None and m.group(1) in "HD" for line in lines
    )


def parse_generate_output(lines: Iterable[str]) -> GenerateOutput:
    """Collect the best hypothesis per sample id; ``D-`` (detokenized) wins over ``H-``.

    Log lines and other record types (``P-``, ``A-``, ``E-``, ``I-``) are ignored.
    """
    fields = {"S": {}, "T": {}, "H": {}, "D": {}}
    for line in lines:
        match = _GENERATE_LINE.match(line)
        if match is None or match.group(1) not in fields:
            continue
        kind, sample_id = match.group(1), int(match.group(2))
        rest = line[match.end():]
        if kind in "HD":
            score, _, text = rest.partition("\t")
            fields[kind].setdefault(sample_id, (float(score), text))
        else:
            fields[kind].setdefault(sample_id, rest)
    best = {**fields["H"], **fields["D"]}
    ids = sorted(best)
    return GenerateOutput(
        ids=ids,
        hypotheses=[best[i][1] for i in ids],
        scores=[best[i][0] for i in ids],
        sources=[fields["S"].get(i) for i in ids],
        targets=[fields["T"].get(i) for i in ids],
    )


def hypotheses_from_lines(lines: List[str]) -> GenerateOutput:
    """Parse fairseq-generate records, or take plain lines as hypotheses (ids = line numbers)."""
    if is_generate_output(lines):
        return parse_generate_output(lines)
    return GenerateOutput(
        ids=list(range(len(lines))),
        hypotheses=list(lines),
        scores=[float("nan")] * len(lines),
        sources=[None] * len(lines),
        targets=[None] * len(lines),
    )


def read_hypotheses(path: str) -> GenerateOutput:
    """Read a fairseq-generate log or a plain hypothesis file."""
    return hypotheses_from_lines(read_lines(path))


def decode_piece_lines(lines: Iterable[str]) -> List[str]:
    """Decode the lines that still carry SentencePiece marks; leave the others unchanged."""
    return [decode_pieces(line) if SPM_SPACE in line else line for line in lines]


def decode_pieces(line: str) -> str:
    """Undo SentencePiece segmentation: ``"▁Hel lo ▁world"`` -> ``"Hello world"``.

    Same rule as ``SentencePieceProcessor.decode_pieces`` (and fairseq's
    ``--post-process sentencepiece``), without needing the model.
    """
    return line.replace(" ", "").replace(SPM_SPACE, " ").strip()
