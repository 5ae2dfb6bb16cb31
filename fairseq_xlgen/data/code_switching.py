"""Code-switching noise of the CSR pretext task (Zan et al., paper 004, §III-B).

Spans with Poisson(3.5) lengths are sampled over word starts, and every word in a span is
replaced by a random one of its top-k unsupervised translations, until 35% of the words of
the sentence are switched (mBART's mask ratio) or no switchable word is left. Words are
runs of SentencePiece pieces starting at a ``▁`` piece, as in mBART's whole-word masking.
"""
import csv
import logging
from collections import defaultdict

import numpy as np
import torch
from fairseq.data import FairseqDataset, data_utils

logger = logging.getLogger(__name__)

WORD_START = "\u2581"


class LexiconError(ValueError):
    """A lexicon file is malformed or does not fit the model dictionary."""


class CodeSwitchLexicon:
    """Translations as dictionary-id sequences: ``{word ids: [translation ids, ...]}``.

    Units missing from the model dictionary are dropped, never mapped to ``<unk>`` (the
    original release did the latter).
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
        dropped = 0
        with open(path, encoding="utf-8", newline="") as f:
            for line_no, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
                if not row or row[0].startswith("#"):
                    continue
                if len(row) < 2 or not row[0].strip() or not row[1].strip():
                    raise LexiconError(f"{path}:{line_no}: expected 'query<TAB>translation[<TAB>score<TAB>rank]', "
                                       f"got {row!r}; regenerate it with xlgen-induce-lexicon")
                query, translation = (_encode_unit(unit, dictionary) for unit in row[:2])
                if query is None or translation is None:
                    dropped += 1
                elif k is None or len(translations[query]) < k:
                    translations[query].append(translation)
        lexicon = cls(translations)
        if not lexicon:
            raise LexiconError(f"{path}: no entry whose units are all in the model dictionary "
                               f"({dropped} dropped); build the lexicon on the model's SentencePiece units")
        logger.info("lexicon %s: %d words with translations, %d entries dropped (units not in dictionary)",
                    path, len(lexicon), dropped)
        return lexicon


def _encode_unit(unit, dictionary):
    ids = tuple(dictionary.index(piece) for piece in unit.split())
    return None if dictionary.unk() in ids else ids


def word_start_mask(dictionary):
    """Boolean per dictionary id: does this piece begin a word? (specials count as starts)"""
    return np.array(
        [symbol.startswith(WORD_START) or i < dictionary.nspecial for i, symbol in enumerate(dictionary.symbols)],
        dtype=bool,
    )


def word_spans(tokens, is_word_start):
    """``[(start, end), ...]`` of the words of ``tokens`` (a 1-d int array without eos)."""
    starts = np.flatnonzero(is_word_start[tokens])
    if len(tokens) and (not len(starts) or starts[0] != 0):
        starts = np.concatenate([[0], starts])
    return list(zip(starts.tolist(), starts[1:].tolist() + [len(tokens)]))


def code_switch(tokens, is_word_start, lexicon, rng, ratio=0.35, poisson_lambda=3.5):
    """Switch ``ratio`` of the words of ``tokens`` by Poisson-length spans (paper 004, §III-B).

    Returns ``(switched tokens, number of switched words, number of words)``.
    """
    spans = word_spans(tokens, is_word_start)
    options = [lexicon.translations.get(tuple(tokens[s:e].tolist())) for s, e in spans]
    switchable = np.array([o is not None for o in options], dtype=bool)
    budget = min(int(round(ratio * len(spans))), int(switchable.sum()))
    chosen = np.zeros(len(spans), dtype=bool)
    while chosen.sum() < budget:
        length = max(1, int(rng.poisson(poisson_lambda)))
        start = int(rng.integers(len(spans)))
        for w in np.flatnonzero(switchable[start:start + length] & ~chosen[start:start + length]) + start:
            if chosen.sum() == budget:
                break
            chosen[w] = True
    if not chosen.any():
        return tokens, 0, len(spans)
    pieces, previous = [], 0
    for w in np.flatnonzero(chosen):
        s, e = spans[w]
        pieces.append(tokens[previous:s])
        pieces.append(np.asarray(options[w][int(rng.integers(len(options[w])))], dtype=tokens.dtype))
        previous = e
    pieces.append(tokens[previous:])
    return np.concatenate(pieces), int(chosen.sum()), len(spans)


class CodeSwitchRestoreDataset(FairseqDataset):
    """Restore pairs ``x' </s> [lang]`` → ``[lang] x </s>`` from one side of a parallel corpus.

    ``sentences`` yields ``x </s>`` (a binarized fairseq dataset). The noise of item ``i`` in
    epoch ``e`` is drawn from a generator seeded by ``(seed, e, i)``, so a resumed run sees
    the data of an uninterrupted one.
    """

    def __init__(self, sentences, dictionary, lexicon, lang_token, seed, ratio=0.35, poisson_lambda=3.5):
        self.sentences = sentences
        self.dictionary = dictionary
        self.lexicon = lexicon
        self.lang_token = lang_token
        self.seed = seed
        self.ratio = ratio
        self.poisson_lambda = poisson_lambda
        self.is_word_start = word_start_mask(dictionary)
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
        rng = np.random.default_rng([self.seed, self.epoch, index])
        switched, n_switched, n_words = code_switch(
            original[:-1], self.is_word_start, self.lexicon, rng, self.ratio, self.poisson_lambda)
        lang = np.array([self.lang_token], dtype=original.dtype)
        eos = original[-1:]
        return {
            "id": index,
            "source": torch.from_numpy(np.concatenate([switched, eos, lang])),
            "target": torch.from_numpy(np.concatenate([original, lang])),
            "prev_output_tokens": torch.from_numpy(np.concatenate([lang, original])),
            "switched_words": n_switched,
            "words": n_words,
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
            "switched_words": sum(s["switched_words"] for s in samples),
            "words": sum(s["words"] for s in samples),
        }
