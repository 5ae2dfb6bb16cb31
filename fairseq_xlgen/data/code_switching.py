"""Code-switching noise of the CSR pretext task (Zan et al., paper 004, §III-B).

The switching unit is the lexicon's unit (:mod:`fairseq_xlgen.lexicon.switch_units`): a word
(``▁`` piece + continuation pieces) in spaced scripts, each piece in unspaced scripts such as
Chinese. A unit is *switchable* when the lexicon has a translation for it. Per sentence, the
budget is ``ratio × switchable units`` with stochastic rounding (its expectation is exactly
35% of the switchable units; mBART's ``ceil`` overshoots on short sentences). Spans of
Poisson(3.5) consecutive units, each starting at a switchable unit not yet switched, are
switched until the budget is spent: every switchable unit of a span is replaced by a random
one of its top-k translations. A Poisson draw of 0 is a span of no unit and is drawn again
(mBART turns it into an insertion, which has no code-switching analogue). If the switched
sentence exceeds ``max_tokens``, the last switched units are restored until it fits.
"""
import csv
import logging
import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import sentencepiece
import torch
from fairseq.data import FairseqDataset, data_utils

from fairseq_xlgen.errors import InputError
from fairseq_xlgen.file_io import iter_decoded_lines
from fairseq_xlgen.lexicon.switch_units import WORD_START, is_insertable, is_unspaced
from fairseq_xlgen.lexicon.word_segmentation import Word, join_words, pieces_text, split_words

logger = logging.getLogger(__name__)

#: per-sample counts summed by the collater and logged by the task
SWITCH_COUNTS = ("switched_words", "switchable_words", "words")


class LexiconError(InputError):
    """A lexicon file is malformed or does not fit the model dictionary."""


class CodeSwitchLexicon:
    """Translations as dictionary-id sequences: ``{word ids: [translation ids, ...]}``.

    Units missing from the model dictionary are dropped, never mapped to ``<unk>`` (the
    original release did the latter), and so are entries whose query or translation is not a
    whole word unit (a continuation piece such as ``lo`` of ``▁hel lo`` can never be inserted;
    a bare ``▁`` is no word).
    """

    def __init__(self, translations):
        self.translations = {key: list(values) for key, values in translations.items() if values}

    def __len__(self):
        return len(self.translations)

    @classmethod
    def from_tsv(cls, path, dictionary, k=None, encode=None):
        """Read ``query<TAB>translation[<TAB>score<TAB>rank]`` rows (xlgen-induce-lexicon output).

        A unit may be several space-separated pieces (a word-level lexicon); ``k`` keeps the
        first k translations of each query in file order (the file is ranked by similarity).
        With ``encode`` (words mode: :meth:`WordSwitcher.encode`, text → ids) units are words as
        text, and a translation whose encoding has a piece missing from the dictionary is dropped.
        """
        translations = defaultdict(list)
        dropped = not_units = 0
        with open(path, "rb") as f:
            lines = (text for _, text in iter_decoded_lines(path, f))
            for line_no, row in enumerate(csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
                if not row or row[0].startswith("#"):
                    continue
                if len(row) < 2 or not row[0].strip() or not row[1].strip():
                    raise LexiconError(f"{path}:{line_no}: expected 'query<TAB>translation[<TAB>score<TAB>rank]', "
                                       f"got {row!r}; regenerate it with xlgen-induce-lexicon")
                if encode is not None:
                    query, translation = row[0], row[1]
                    if dictionary.unk() in encode(translation):
                        dropped += 1
                        continue
                else:
                    query, translation = (_encode_unit(unit, dictionary) for unit in row[:2])
                    if query is None or translation is None:
                        dropped += 1
                        continue
                    if not (is_insertable(row[0].split()) and is_insertable(row[1].split())):
                        not_units += 1
                        continue
                if k is None or len(translations[query]) < k:
                    translations[query].append(translation)
        lexicon = cls(translations)
        if not lexicon:
            raise LexiconError(f"{path}: no entry whose units are all in the model dictionary "
                               f"({dropped} not in the dictionary, {not_units} not word units); "
                               "build the lexicon on the model's SentencePiece units with xlgen-train-embeddings")
        logger.info("lexicon %s: %d units with translations; dropped %d entries with units not in the dictionary "
                    "and %d whose query or translation is not a word unit (continuation piece, bare ▁)", path, len(lexicon), dropped, not_units)
        return lexicon


def _encode_unit(unit, dictionary):
    ids = tuple(dictionary.index(piece) for piece in unit.split())
    return None if dictionary.unk() in ids else ids


class UnitSegmenter:
    """Switching units (:mod:`~fairseq_xlgen.lexicon.switch_units`) of dictionary-id sequences."""

    def __init__(self, dictionary):
        symbols = dictionary.symbols
        self.starts_word = np.array([s.startswith(WORD_START) or i < dictionary.nspecial
                                     for i, s in enumerate(symbols)], dtype=bool)
        # a special symbol (e.g. <unk> for a piece missing from the dictionary) is a unit of its own
        self.alone = np.array([is_unspaced(s) or i < dictionary.nspecial for i, s in enumerate(symbols)], dtype=bool)

    def spans(self, tokens):
        """``[(start, end), ...]`` of the units of ``tokens`` (a 1-d int array without eos)."""
        if not len(tokens):
            return []
        alone = self.alone[tokens]
        starts = self.starts_word[tokens] | alone
        starts[1:] |= alone[:-1]
        starts[0] = True
        bounds = np.flatnonzero(starts).tolist()
        return list(zip(bounds, bounds[1:] + [len(tokens)]))


@dataclass
class SwitchResult:
    tokens: np.ndarray
    switched: int  #: units replaced by a translation
    units: int  #: units of the sentence
    switchable: int  #: units with a translation in the lexicon


def stochastic_round(x, rng):
    """``floor(x)`` or ``floor(x) + 1``, the latter with probability ``x - floor(x)`` (mean x)."""
    low = math.floor(x)
    return low + int(rng.random() < x - low)


def choose_switches(options, rng, ratio=0.35, poisson_lambda=3.5):
    """Which units to switch and into what: ``options[w]`` is the list of translations of unit
    ``w`` (None: not switchable). Returns ``({unit index: translation}, number switchable)``;
    budget and spans as in the module docstring."""
    if poisson_lambda <= 0:
        raise ValueError(f"poisson_lambda must be positive, got {poisson_lambda}")
    switchable = np.array([o is not None for o in options], dtype=bool)
    n_switchable = int(switchable.sum())
    budget = min(stochastic_round(ratio * n_switchable, rng), n_switchable)
    chosen = np.zeros(len(options), dtype=bool)
    n_chosen = 0
    while n_chosen < budget:
        length = int(rng.poisson(poisson_lambda))
        if length == 0:
            continue
        start = int(rng.choice(np.flatnonzero(switchable & ~chosen)))
        for w in range(start, min(start + length, len(options))):
            if switchable[w] and not chosen[w]:
                chosen[w] = True
                n_chosen += 1
                if n_chosen == budget:
                    break
    return {int(w): options[w][int(rng.integers(len(options[w])))] for w in np.flatnonzero(chosen)}, n_switchable


def fit_length(translations, assemble, max_tokens):
    """``(translations, assemble(translations))`` after restoring the last switched units, one at a
    time, whose restoring shortens the sentence, until it has at most ``max_tokens`` tokens."""
    tokens = assemble(translations)
    for w in sorted(translations, reverse=True):
        if max_tokens is None or len(tokens) <= max_tokens:
            break
        shorter = {u: t for u, t in translations.items() if u != w}
        candidate = assemble(shorter)
        if len(candidate) < len(tokens):
            translations, tokens = shorter, candidate
    return translations, tokens


def code_switch(tokens, segmenter, lexicon, rng, ratio=0.35, poisson_lambda=3.5, max_tokens=None):
    """Switch on average ``ratio`` of the switchable units of ``tokens`` by Poisson-length spans
    (paper 004, §III-B); see the module docstring. Returns a :class:`SwitchResult`."""
    spans = segmenter.spans(tokens)
    options = [lexicon.translations.get(tuple(tokens[s:e].tolist())) for s, e in spans]
    translations, n_switchable = choose_switches(options, rng, ratio, poisson_lambda)

    def assemble(chosen):
        pieces, previous = [], 0
        for w in sorted(chosen):
            s, e = spans[w]
            pieces.extend([tokens[previous:s], np.asarray(chosen[w], dtype=tokens.dtype)])
            previous = e
        return np.concatenate(pieces + [tokens[previous:]]) if chosen else tokens

    translations, switched = fit_length(translations, assemble, max_tokens)
    return SwitchResult(switched, len(translations), len(spans), n_switchable)


class WordSwitcher:
    """Words mode (``--lexicon-unit words``): ids → pieces → text → word units
    (:mod:`fairseq_xlgen.lexicon.word_segmentation`, unspaced runs cut by ``segmenter``); the
    switched words are written back by :func:`join_words` and the text encoded with the model's
    SentencePiece (``spm_model``). The words of a sentence are computed once (``cache_key``;
    the first ``cache_size`` sentences are kept, a few hundred bytes each).
    A sentence holding a special symbol (``<unk>``: a piece missing from the dictionary) is left
    as it is: its text cannot be encoded back."""

    def __init__(self, dictionary, segmenter, spm_model, lexicon=None, cache_size=1_000_000):
        self.dictionary, self.segmenter, self.spm_model, self.lexicon = dictionary, segmenter, spm_model, lexicon
        self.cache_size = cache_size
        self._spm = None
        self._words = {}

    def __getstate__(self):  # the SentencePiece processor is rebuilt after unpickling (data workers)
        return {**self.__dict__, "_spm": None}

    def encode(self, text):
        if self._spm is None:
            self._spm = sentencepiece.SentencePieceProcessor(model_file=self.spm_model)
        return np.array([self.dictionary.index(p) for p in self._spm.encode(text, out_type=str)], dtype=np.int64)

    def read_lexicon(self, path, k=None):
        """Load this switcher's lexicon (words as text) from an xlgen-induce-lexicon TSV."""
        self.lexicon = CodeSwitchLexicon.from_tsv(path, self.dictionary, k=k, encode=self.encode)
        return self

    def words(self, tokens, cache_key=None):
        """The word units of ``tokens``, or None when they hold a special symbol."""
        words = self._words.get(cache_key) if cache_key is not None else None
        if words is None:
            if int(tokens.min(initial=self.dictionary.nspecial)) < self.dictionary.nspecial:
                words = ()
            else:
                words = tuple(split_words(pieces_text([self.dictionary[t] for t in tokens]), self.segmenter))
            if cache_key is not None and len(self._words) < self.cache_size:
                self._words[cache_key] = words
        return words or None

    def switch(self, tokens, rng, ratio=0.35, poisson_lambda=3.5, max_tokens=None, cache_key=None):
        """:func:`code_switch` on word units; returns a :class:`SwitchResult`."""
        words = self.words(tokens, cache_key)
        if words is None:
            return SwitchResult(tokens, 0, 0, 0)
        options = [self.lexicon.translations.get(w.text) for w in words]
        translations, n_switchable = choose_switches(options, rng, ratio, poisson_lambda)

        def assemble(chosen):
            if not chosen:
                return tokens
            text = join_words([Word(chosen.get(i, w.text), w.space_before) for i, w in enumerate(words)],
                              [i in chosen for i in range(len(words))])
            return self.encode(text).astype(tokens.dtype)

        translations, switched = fit_length(translations, assemble, max_tokens)
        return SwitchResult(switched, len(translations), len(words), n_switchable)


class PieceSwitcher:
    """Pieces mode (``--lexicon-unit pieces``): :func:`code_switch` on the units of
    :class:`UnitSegmenter`, on ids."""

    def __init__(self, dictionary, lexicon):
        self.segmenter, self.lexicon = UnitSegmenter(dictionary), lexicon

    def switch(self, tokens, rng, ratio=0.35, poisson_lambda=3.5, max_tokens=None, cache_key=None):
        return code_switch(tokens, self.segmenter, self.lexicon, rng, ratio, poisson_lambda, max_tokens)


class CodeSwitchRestoreDataset(FairseqDataset):
    """Restore pairs ``x' </s> [lang]`` → ``[lang] x </s>`` from one side of a parallel corpus.

    ``sentences`` yields ``x </s>`` (a binarized fairseq dataset). The noise of item ``i`` in
    epoch ``e`` is drawn from a generator seeded by ``(seed, stream, e, i)``, so a resumed run
    sees the data of an uninterrupted one; the task gives the source and the target side
    different streams, so the two sentences of a pair are switched independently (Eq. 3 sums
    two separate restore losses). ``max_positions`` bounds the switched source with its
    ``</s> [lang]``. ``lexicon``: a :class:`CodeSwitchLexicon` of piece units, or a
    :class:`WordSwitcher` holding its lexicon of words (``--lexicon-unit words``).
    """

    def __init__(self, sentences, dictionary, lexicon, lang_token, seed, ratio=0.35, poisson_lambda=3.5,
                 stream=0, max_positions=None):
        self.sentences = sentences
        self.dictionary = dictionary
        self.lang_token = lang_token
        self.seed = seed
        self.stream = stream
        self.ratio = ratio
        self.poisson_lambda = poisson_lambda
        self.max_tokens = None if max_positions is None else max_positions - 2
        self.switcher = lexicon if isinstance(lexicon, WordSwitcher) else PieceSwitcher(dictionary, lexicon)
        self.epoch = 1

    @property
    def can_reuse_epoch_itr_across_epochs(self):
        return False  # the noise changes with the epoch

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return len(self.sentences)

    def __getitem__(self, index):
        original = self.sentences[index].numpy()
        assert original[-1] == self.dictionary.eos(), "binarized sentences end with </s>"
        rng = np.random.default_rng([self.seed, self.stream, self.epoch, index])
        result = self.switcher.switch(original[:-1], rng, self.ratio, self.poisson_lambda, self.max_tokens,
                                      cache_key=index)
        lang = np.array([self.lang_token], dtype=original.dtype)
        eos = original[-1:]
        return {
            "id": index,
            "source": torch.from_numpy(np.concatenate([result.tokens, eos, lang])),
            "target": torch.from_numpy(np.concatenate([original, lang])),
            "prev_output_tokens": torch.from_numpy(np.concatenate([lang, original])),
            "switched_words": result.switched,
            "switchable_words": result.switchable,
            "words": result.units,
        }

    def num_tokens(self, index):
        return self.sentences.sizes[index] + 1

    def size(self, index):
        return self.num_tokens(index)

    @property
    def sizes(self):
        return self.sentences.sizes + 1

    def ordered_indices(self):
        return np.argsort(self.sizes, kind="mergesort")

    def collater(self, samples):
        """Batch like ``LanguagePairDataset`` (left-padded source) and keep the switch counts."""
        if not samples:
            return {}
        pad = self.dictionary.pad()
        src_lengths = torch.LongTensor([s["source"].numel() for s in samples])
        order = src_lengths.argsort(descending=True)
        samples = [samples[i] for i in order]

        def stack(key, left_pad):
            return data_utils.collate_tokens([s[key] for s in samples], pad, left_pad=left_pad)

        target = stack("target", left_pad=False)
        return {
            "id": torch.LongTensor([s["id"] for s in samples]),
            "nsentences": len(samples),
            "ntokens": int(target.ne(pad).sum()),
            "net_input": {
                "src_tokens": stack("source", left_pad=True),
                "src_lengths": src_lengths[order],
                "prev_output_tokens": stack("prev_output_tokens", left_pad=False),
            },
            "target": target,
            **{key: sum(s[key] for s in samples) for key in SWITCH_COUNTS},
        }
