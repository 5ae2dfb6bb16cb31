"""Switching units of CSR (paper 004 §III-B), shared by word2vec, the lexicon and the switcher.

The paper switches *words*; its worked example is Chinese ("举行" → "held"). On text in
mBART's SentencePiece pieces a unit is:

* in spaced scripts (Latin, Cyrillic, Hangul, ...), a word: a ``▁`` piece and the
  continuation pieces that follow it, multi-piece words included;
* in unspaced scripts (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar), each piece: a
  sentence there is one ``▁`` run, so word-level grouping would make it a single unit.

A piece is *unspaced* when it holds a character of one of those scripts (by code point
block, whatever the language code says). A piece starts a unit when it starts with ``▁``,
is unspaced, or follows an unspaced piece. A unit can be inserted as a translation only if
it starts a word by itself (its first piece has ``▁`` or is unspaced); a continuation piece
of a spaced word never can, and neither can a bare ``▁`` piece (the space SentencePiece
keeps before an unspaced-script piece it did not merge, e.g. at the start of a Chinese
sentence): it is a unit of its own that is never switched.

In word2vec files a unit is one token, its pieces joined by :data:`UNIT_JOINER`; lexicon
TSV files write a unit as its pieces separated by spaces.
"""
from typing import List, Sequence

WORD_START = "\u2581"
#: joins the pieces of a unit into one word2vec token (U+2040 CHARACTER TIE, not whitespace)
UNIT_JOINER = "\u2040"

#: code point ranges of scripts written without spaces between words
UNSPACED_RANGES = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3005, 0x3007),  # ideographic iteration mark, closing mark, number zero
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # halfwidth Katakana
    (0x20000, 0x3134F),  # CJK extensions B-G
)


def is_unspaced_char(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in UNSPACED_RANGES)


def is_unspaced(piece: str) -> bool:
    """Does this piece hold a character of an unspaced script?"""
    return any(is_unspaced_char(c) for c in piece)


def unit_starts(pieces: Sequence[str]) -> List[bool]:
    """Per piece: does it start a switching unit? (the first piece always does)"""
    unspaced = [is_unspaced(p) for p in pieces]
    return [i == 0 or p.startswith(WORD_START) or unspaced[i] or unspaced[i - 1] for i, p in enumerate(pieces)]


def group_units(pieces: Sequence[str]) -> List[List[str]]:
    """The switching units of a sentence's pieces, in order."""
    units = []
    for piece, start in zip(pieces, unit_starts(pieces)):
        if start:
            units.append([piece])
        else:
            units[-1].append(piece)
    return units


def is_insertable(pieces: Sequence[str]) -> bool:
    """Is this unit a word that can be switched or stand in a sentence as a translation? Not a
    continuation piece, and not a bare ``▁`` (SentencePiece's space before an unspaced-script
    piece it did not merge, e.g. at the start of a Chinese sentence: a unit of no word)."""
    return (bool(pieces) and "".join(pieces) != WORD_START
            and (pieces[0].startswith(WORD_START) or is_unspaced(pieces[0])))


def unit_token(pieces: Sequence[str]) -> str:
    return UNIT_JOINER.join(pieces)


def unit_pieces(token: str) -> List[str]:
    return token.split(UNIT_JOINER)


def unit_surface(token: str) -> str:
    """The text of a unit token, a space-separated unit or a gold word, without ``▁`` (for
    comparing units with gold words: ``▁ca⁀t``, ``▁ca t``, ``▁cat`` and ``cat`` are all ``cat``)."""
    return "".join(token.replace(UNIT_JOINER, " ").split()).replace(WORD_START, "")


def units_line(piece_line: str) -> str:
    """A line of space-separated pieces as a line of unit tokens."""
    return " ".join(unit_token(unit) for unit in group_units(piece_line.split()))
