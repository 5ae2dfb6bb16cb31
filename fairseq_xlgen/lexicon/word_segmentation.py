"""Word units for CSR's lexicon and switcher in scripts written without spaces (paper 004 §III-B).

The paper switches *words* and its worked example is Chinese ("举行" → "held"). With
``--lexicon-unit words`` the unit of word2vec, of the lexicon and of the switcher is a word of
the text that mBART's SentencePiece pieces spell (pieces joined, ``▁`` read as a space):

* every whitespace-separated token is split into runs of unspaced-script characters (Han,
  Kana, Thai, Myanmar, …: :data:`~fairseq_xlgen.lexicon.switch_units.UNSPACED_RANGES`), runs
  of other letters and digits (one word, an inner apostrophe or hyphen included: ``iPhone``,
  ``don't``, ``12``) and single other characters (punctuation: ``,`` ``。`` are words of their
  own, so that "meeting" is the same word before "。" as before a space);
* a run of unspaced characters is cut into words by one shared segmenter
  (:class:`WordSegmenter`): ``jieba`` (jieba's dictionary and HMM, for real Chinese) or
  ``jieba-dict:FILE`` (jieba's maximum-probability cut with the words and counts of the
  space-segmented corpus FILE as its only dictionary, no HMM: the benchmark's gold
  segmentation, ``*.zh_CN.words``).

mBART languages written without spaces for which no segmenter is given here (ja_XX, my_MM)
are refused in words mode (:func:`check_language`); ``--lexicon-unit pieces`` still works.

Writing a switched sentence back (:func:`join_words`): words that were not switched keep the
spacing they had; next to a switched-in word, two words that both contain unspaced-script
characters are written together ("举行会议"), a word without letters or digits (punctuation)
keeps the original spacing, and otherwise a space separates them: an English word inside
Chinese text stands between spaces ("我们 held 了会议"), as in mixed Chinese typesetting, and a
Chinese word inside English text keeps the English spaces ("they 举行 the meeting"). The text is
then encoded with the model's SentencePiece, which gives the pieces mBART would see for that
text. Switching back restores the original text (tested on zh_CN and ru_RU).
"""
import io
import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import List, Optional, Sequence

from fairseq_xlgen.errors import InputError, InputFileError
from fairseq_xlgen.file_io import require_file
from fairseq_xlgen.lexicon.switch_units import UNSPACED_RANGES, WORD_START, is_unspaced

LEXICON_UNITS = ("pieces", "words")
#: mBART languages written without spaces that have no word segmenter here (words mode refuses them)
NO_SEGMENTER = {"ja_XX": "Japanese", "my_MM": "Burmese"}
DEFAULT_SEGMENTERS = {"zh_CN": "jieba"}

_UNSPACED_CLASS = "".join(f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in UNSPACED_RANGES)
_RUNS = re.compile(f"[{_UNSPACED_CLASS}]+|[^\\W{_UNSPACED_CLASS}]+(?:['’-][^\\W{_UNSPACED_CLASS}]+)*|\\S")


def check_language(lang, unit, how_to_fix="pass --lexicon-unit pieces"):
    """Refuse ``words`` units for an unspaced mBART language that has no segmenter here."""
    if unit == "words" and lang in NO_SEGMENTER:
        raise InputError(f"{lang}: {NO_SEGMENTER[lang]} is written without spaces and has no word segmenter "
                         f"here (only Chinese: jieba); {how_to_fix}")


class WordSegmenter:
    """Cuts a run of unspaced-script characters into words (see the module docstring).

    ``spec``: ``jieba``, or ``jieba-dict:FILE`` with FILE a corpus segmented by spaces (its
    words and their counts become jieba's dictionary). jieba (MIT licence) loads its own
    dictionary in about 1-2 s on first use (then cached in the temp directory).
    """

    def __init__(self, spec):
        self.spec = spec
        kind, _, path = spec.partition(":")
        if kind not in ("jieba", "jieba-dict") or (kind == "jieba-dict") != bool(path):
            raise InputError(f"--segmenter {spec}: use jieba, or jieba-dict:FILE (a corpus segmented by spaces)")
        if path:
            require_file(path, "segmented corpus of the segmenter")
        self.dictionary_corpus = path or None
        self._tokenizer = None

    def __getstate__(self):  # the jieba tokenizer holds a lock: rebuilt after unpickling (data workers)
        return {"spec": self.spec, "dictionary_corpus": self.dictionary_corpus, "_tokenizer": None}

    def _load(self):
        import jieba

        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        if self.dictionary_corpus is None:
            tokenizer.initialize()
        else:
            counts = Counter()
            with open(self.dictionary_corpus, encoding="utf-8") as f:
                for line in f:
                    counts.update(word for word in line.split() if is_unspaced(word))
            if not counts:
                raise InputFileError(self.dictionary_corpus, "no word of an unspaced script; pass the "
                                     "space-segmented text (e.g. the benchmark's *.zh_CN.words)")
            entries = "".join(f"{word} {count}\n" for word, count in sorted(counts.items()))
            tokenizer.FREQ, tokenizer.total = tokenizer.gen_pfdict(io.BytesIO(entries.encode("utf-8")))
            tokenizer.initialized = True
        return tokenizer

    def segment(self, run: str) -> List[str]:
        """The words of ``run``, a string of unspaced-script characters."""
        if self._tokenizer is None:
            self._tokenizer = self._load()
        return self._tokenizer.lcut(run, HMM=self.dictionary_corpus is None)


def segmenter_for(unit, spec) -> Optional[WordSegmenter]:
    """The segmenter of ``spec`` in words mode (None in pieces mode or without a spec)."""
    return WordSegmenter(spec) if unit == "words" and spec else None


class MissingSegmenter(InputError):
    """Words mode met unspaced-script text without a segmenter."""


@dataclass(frozen=True)
class Word:
    text: str
    space_before: bool


def pieces_text(pieces: Sequence[str]) -> str:
    """The text SentencePiece ``pieces`` spell (``▁`` is a space)."""
    return "".join(pieces).replace(WORD_START, " ").strip()


def split_words(text: str, segmenter: Optional[WordSegmenter]) -> List[Word]:
    """The word units of ``text`` (module docstring); unspaced runs need ``segmenter``."""
    words = []
    for token in text.split():
        for i, match in enumerate(_RUNS.finditer(token)):
            run = match.group()
            if not is_unspaced(run[0]):
                words.append(Word(run, i == 0 and bool(words)))
                continue
            if segmenter is None:
                raise MissingSegmenter(f"{run!r} is written without spaces: words units need a segmenter "
                                       "(--segmenter jieba for Chinese) or use --lexicon-unit pieces")
            words.extend(Word(w, i == 0 and j == 0 and bool(words)) for j, w in enumerate(segmenter.segment(run)))
    return words


def _has_letters(text):
    return any(c.isalnum() for c in text)


def join_words(words: Sequence[Word], switched: Sequence[bool]) -> str:
    """Text of ``words`` (their ``text`` possibly replaced by translations) with the spacing rule
    of the module docstring next to the words flagged in ``switched``."""
    out = []
    for i, word in enumerate(words):
        if i:
            space = word.space_before
            previous = words[i - 1]
            if (switched[i] or switched[i - 1]) and _has_letters(previous.text) and _has_letters(word.text):
                space = not (is_unspaced(previous.text) and is_unspaced(word.text))
            out.append(" " if space else "")
        out.append(word.text)
    return "".join(out)


def words_line(piece_line: str, segmenter: Optional[WordSegmenter]) -> str:
    """A line of SentencePiece pieces as a line of word units separated by spaces."""
    return " ".join(word.text for word in split_words(pieces_text(piece_line.split()), segmenter))
