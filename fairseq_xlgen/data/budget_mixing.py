"""Multi-source training data under a fixed budget (Li & Murray, paper 002 §6.1).

Every run of a comparison sees the same number of training instances whatever its source
languages ("the amount of training instances used in each row is the same", Table 3): a
budget of N instances is split over the languages by their shares (largest-remainder
rounding, so the counts are exact and sum to N: budget 1000 over two equal shares is 500 +
500), and each language's instances are drawn without replacement.

Which instances are taken depends only on ``(seed, language)``: a language's instances are
the first ``count`` of a permutation seeded by the seed and the language code, kept in file
order. Hence a language's selection does not depend on the other languages, and a smaller
count takes a subset of a larger one (the 500 en_XX instances of an en_XX+de_DE run are
among the 1000 of the en_XX-only run with the same seed).
"""
import zlib
from typing import Dict, Mapping, Optional, Sequence

import numpy as np
import torch
from fairseq.data import BaseWrapperDataset, LanguagePairDataset


def budget_counts(budget: int, ratios: Sequence[float]) -> list:
    """Exact per-language counts summing to ``budget``, proportional to ``ratios`` (normalized).

    Largest-remainder rounding; equal remainders go to the earlier language.
    """
    if budget <= 0:
        raise ValueError(f"the budget must be a positive number of instances, got {budget}")
    if not ratios or any(r < 0 for r in ratios) or sum(ratios) <= 0:
        raise ValueError(f"ratios must be non-negative with a positive sum, got {list(ratios)}")
    quotas = [budget * r / sum(ratios) for r in ratios]
    counts = [int(q) for q in quotas]
    by_remainder = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in by_remainder[: budget - sum(counts)]:
        counts[i] += 1
    return counts


def language_seed(seed: int, lang: str) -> list:
    """Seed material of a language's permutation: the run's seed and a stable hash of the code."""
    return [seed, zlib.crc32(lang.encode("utf-8"))]


def select_instances(
    available: Mapping[str, int], budget: Optional[int], seed: int, ratios: Optional[Sequence[float]] = None
) -> Dict[str, np.ndarray]:
    """Sorted instance indices per language: ``budget`` in all, split by ``ratios`` (default equal).

    ``available`` maps each language (in order) to its number of instances; ``budget=None``
    takes every instance of every language (then ``ratios`` must be None).
    """
    langs = list(available)
    if budget is None:
        if ratios is not None:
            raise ValueError("ratios need a budget")
        return {lang: np.arange(available[lang]) for lang in langs}
    ratios = [1.0] * len(langs) if ratios is None else list(ratios)
    if len(ratios) != len(langs):
        raise ValueError(f"{len(ratios)} ratios for {len(langs)} languages; give one ratio per language")
    selected = {}
    for lang, count in zip(langs, budget_counts(budget, ratios)):
        if count > available[lang]:
            raise ValueError(f"{lang} needs {count} instances of the budget {budget} but has only "
                             f"{available[lang]}")
        order = np.random.default_rng(language_seed(seed, lang)).permutation(available[lang])
        selected[lang] = np.sort(order[:count])
    return selected


class IndexSubsetDataset(BaseWrapperDataset):
    """The items ``indices`` of ``dataset``, in that order (sizes follow)."""

    def __init__(self, dataset, indices):
        super().__init__(dataset)
        self.indices = np.asarray(indices, dtype=np.int64)
        self._sizes = np.asarray(dataset.sizes)[self.indices]

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __len__(self):
        return len(self.indices)

    @property
    def sizes(self):
        return self._sizes

    def num_tokens(self, index):
        return int(self._sizes[index])

    def size(self, index):
        return int(self._sizes[index])

    @property
    def supports_prefetch(self):
        return False


class PerExampleLanguagePairDataset(LanguagePairDataset):
    """A :class:`LanguagePairDataset` whose examples may be in different languages.

    Sources end with their language token (``x </s> [lang]``), targets are ``y </s>``; the
    decoder reads ``[lang] y`` (decoder sequence ``[lang] y </s>``), ``[lang]`` taken from each
    example's own source, where the parent class would put one token for the whole dataset; or
    ``output_lang_index``, one output language for every example (outputs written alike in all).
    """

    def __init__(self, *args, output_lang_index=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_lang_index = output_lang_index

    def __getitem__(self, index):
        example = super().__getitem__(index)
        if example["target"] is not None:
            first = (example["source"][-1:] if self.output_lang_index is None
                     else example["source"].new_tensor([self.output_lang_index]))
            example["prev_output_tokens"] = torch.cat([first, example["target"][:-1]])
        return example
