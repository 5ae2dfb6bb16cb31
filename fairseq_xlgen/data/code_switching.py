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
import torch
from fairseq.data import FairseqDataset, data_utils

from fairseq_xlgen.file_io import InputError
from fairseq_xlgen.lexicon.embeddings_io import iter_decoded_lines
from fairseq_xlgen.lexicon.switch_units import WORD_START, is_insertable, is_unspaced

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
    def from_tsv(cls, path, dictionary, k=None):
        """Read ``query<TAB>translation[<TAB>score<TAB>rank]`` rows (xlgen-induce-lexicon output).

        A unit may be several space-separated pieces (a word-level lexicon); ``k`` keeps the
        first k translations of each query in file order (the file is ranked by similarity).
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
                query, translation = (_encode_unit(unit, dictionary) for unit in row[:2])
                if query is None or translation is None:
                    dropped += 1
                elif not (is_insertable(row[0].split()) and is_insertable(row[1].split())):
                    not_units += 1
                elif k is None or len(translations[query]) < k:
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


def code_switch(tokens, segmenter, lexicon, rng, ratio=0.35, poisson_lambda=3.5, max_tokens=None):
    """Switch on average ``ratio`` of the switchable units of ``tokens`` by Poisson-length spans
    (paper 004, §III-B); see the module docstring. Returns a :class:`SwitchResult`."""
    if poisson_lambda <= 0:
        raise ValueError(f"poisson_lambda must be positive, got {poisson_lambda}")
    spans = segmenter.spans(tokens)
    options = [lexicon.translations.get(tuple(tokens[s:e].tolist())) for s, e in spans]
    switchable = np.array([o is not None for o in options], dtype=bool)
    n_switchable = int(switchable.sum())
    budget = min(stochastic_round(ratio * n_switchable, rng), n_switchable)
    chosen = np.zeros(len(spans), dtype=bool)
    n_chosen = 0
    while n_chosen < budget:
        length = int(rng.poisson(poisson_lambda))
        if length == 0:
            continue
        start = int(rng.choice(np.flatnonzero(switchable & ~chosen)))
        for w in range(start, min(start + length, len(spans))):
            if switchable[w] and not chosen[w]:
                chosen[w] = True
                n_chosen += 1
                if n_chosen == budget:
                    break
    translations = {int(w): options[w][int(rng.integers(len(options[w])))] for w in np.flatnonzero(chosen)}
    if max_tokens is not None:
        length = len(tokens) + sum(len(t) - (spans[w][1] - spans[w][0]) for w, t in translations.items())
        for w in sorted(translations, reverse=True):
            if length <= max_tokens:
                break
            grown = len(translations[w]) - (spans[w][1] - spans[w][0])
            if grown > 0:
                del translations[w]
                length -= grown
    if not translations:
        return SwitchResult(tokens, 0, len(spans), n_switchable)
    pieces, previous = [], 0
    for w in sorted(translations):
        s, e = spans[w]
        pieces.append(tokens[previous:s])
        pieces.append(np.asarray(translations[w], dtype=tokens.dtype))
        previous = e
    pieces.append(tokens[previous:])
    return SwitchResult(np.concatenate(pieces), len(translations), len(spans), n_switchable)


class CodeSwitchRestoreDataset(FairseqDataset):
    """Restore pairs ``x' </s> [lang]`` → ``[lang] x </s>`` from one side of a parallel corpus.

    ``sentences`` yields ``x </s>`` (a binarized fairseq dataset). The noise of item ``i`` in
    epoch ``e`` is drawn from a generator seeded by ``(seed, stream, e, i)``, so a resumed run
    sees the data of an uninterrupted one; the task gives the source and the target side
    different streams, so the two sentences of a pair are switched independently (Eq. 3 sums
    two separate restore losses). ``max_positions`` bounds the switched source with its
    ``</s> [lang]``.
    """

    def __init__(self, sentences, dictionary, lexicon, lang_token, seed, ratio=0.35, poisson_lambda=3.5,
                 stream=0, max_positions=None):
        self.sentences = sentences
        self.dictionary = dictionary
        self.lexicon = lexicon
        self.lang_token = lang_token
        self.seed = seed
        self.stream = stream
        self.ratio = ratio
        self.poisson_lambda = poisson_lambda
        self.max_tokens = None if max_positions is None else max_positions - 2
        self.segmenter = UnitSegmenter(dictionary)
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
        result = code_switch(original[:-1], self.segmenter, self.lexicon, rng, self.ratio, self.poisson_lambda,
                             max_tokens=self.max_tokens)
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
