"""Word accuracy (f-measure) by training-frequency bucket, computed by compare-mt (paper 004 §V-B).

A reference word and an output word match when compare-mt aligns identical tokens; precision,
recall and f-measure are compare-mt's ``WordBucketer.calc_statistics``. Paper 004 Table VII
counts frequencies on the training targets: low < 100, mid 100-1000, high > 1000.
"""
import collections
from typing import Callable, Iterable, List, Sequence

from compare_mt.bucketers import FreqWordBucketer

#: compare-mt cutoffs of paper 004 Table VII: [0, 100) low, [100, 1000] mid, >= 1001 high.
PAPER_CUTOFFS = (100, 1001)
PAPER_BUCKET_NAMES = ("low", "mid", "high")


def _statistics(bucketer: FreqWordBucketer, hyps: List[List[str]], refs: List[List[str]]) -> List[dict]:
    (per_bucket,), *_ = bucketer.calc_statistics(refs, [hyps])
    return [
        {"matches": int(m), "ref_words": int(r), "out_words": int(o),
         "recall": 100.0 * rec, "precision": 100.0 * prec, "fmeasure": 100.0 * f}
        for m, r, o, rec, prec, f in per_bucket
    ]


def word_accuracy_by_frequency(
    hyps: Sequence[str],
    refs: Sequence[str],
    train_targets: Iterable[str],
    cutoffs: Sequence[int] = PAPER_CUTOFFS,
    names: Sequence[str] = PAPER_BUCKET_NAMES,
    tokenize: Callable[[str], List[str]] = str.split,
) -> dict:
    """Per-bucket and overall word f-measure (x100) of ``hyps`` against ``refs``.

    A word's bucket is chosen by its count in ``train_targets``; ``cutoffs`` are compare-mt's
    (bucket i holds counts below ``cutoffs[i]``, the last one the rest), ``names`` one per bucket.
    Returns ``{"buckets": [{"name", "range", "matches", "ref_words",
    "out_words", "recall", "precision", "fmeasure"}], "all": {...}}``.
    """
    if len(names) != len(cutoffs) + 1:
        raise ValueError(f"{len(cutoffs)} cutoffs make {len(cutoffs) + 1} buckets but {len(names)} names were given")
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
    counts = collections.Counter(word for line in train_targets for word in tokenize(line))
    if not counts:
        raise ValueError("the training targets contain no words")
    hyp_tokens = [tokenize(line) for line in hyps]
    ref_tokens = [tokenize(line) for line in refs]
    bucketer = FreqWordBucketer(freq_counts=counts, bucket_cutoffs=list(cutoffs))
    buckets = [
        {"name": name, "range": range_str, **stats}
        for name, range_str, stats in zip(names, bucketer.bucket_strs, _statistics(bucketer, hyp_tokens, ref_tokens))
    ]
    # One cutoff at 0 leaves every word in the bucket ">=0": compare-mt's overall statistics.
    overall = _statistics(FreqWordBucketer(freq_counts=counts, bucket_cutoffs=[0]), hyp_tokens, ref_tokens)[1]
    return {"buckets": buckets, "all": overall}
