"""Representation-similarity maths: XLRS (paper 002), representation distance (paper 004 Eq. 4),
label overlap (paper 002 §5.1), checkpoint selection by XLRS (paper 002 §6.2), Spearman's rho.

All tensor maths runs in fp32 whatever the input precision. Padding masks follow fairseq:
``padding_mask[b, t]`` is True at padding. States are time-major ``[T, B, C]`` (fairseq's
``encoder_out``) unless ``batch_first=True`` (``[B, T, C]``); padding may be on either side.
"""
import collections
import math
from typing import Callable, Hashable, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from scipy import stats

from fairseq_xlgen.modules.language_components import mean_pool


def _batch_first_fp32(states: torch.Tensor, padding_mask: Optional[torch.Tensor], batch_first: bool) -> torch.Tensor:
    if states.dim() != 3:
        raise ValueError(f"states must be 3-D ([T, B, C] or [B, T, C]), got shape {tuple(states.shape)}")
    states = states.float() if batch_first else states.float().transpose(0, 1)
    if padding_mask is not None and tuple(padding_mask.shape) != tuple(states.shape[:2]):
        raise ValueError(
            f"padding_mask shape {tuple(padding_mask.shape)} does not match [B, T] = {tuple(states.shape[:2])}"
        )
    return states


def _non_padding(states: torch.Tensor, padding_mask: Optional[torch.Tensor]) -> torch.Tensor:
    """[B, T] bool mask of real tokens; every row must have at least one."""
    if padding_mask is None:
        return torch.ones(states.shape[:2], dtype=torch.bool, device=states.device)
    keep = ~padding_mask.bool()
    if not bool(keep.any(dim=1).all()):
        raise ValueError("a sequence consists only of padding")
    return keep


def sentence_mean(states: torch.Tensor, padding_mask: Optional[torch.Tensor] = None, batch_first: bool = False) -> torch.Tensor:
    """Mean of the non-padding token states, ``[B, C]`` fp32 (paper 002 §4 footnote 2): the modules'
    :func:`~fairseq_xlgen.modules.language_components.mean_pool`, for either layout, its mask checked."""
    states = _batch_first_fp32(states, padding_mask, batch_first)
    return mean_pool(states.transpose(0, 1), _non_padding(states, padding_mask))


def last_token_state(states: torch.Tensor, padding_mask: Optional[torch.Tensor] = None, batch_first: bool = False) -> torch.Tensor:
    """State of the last non-padding position, ``[B, C]`` fp32: paper 004 §V-A's sentence
    embedding (decoder output on the last token)."""
    states = _batch_first_fp32(states, padding_mask, batch_first)
    keep = _non_padding(states, padding_mask)
    positions = torch.arange(states.shape[1], device=states.device).expand_as(keep)
    last = torch.where(keep, positions, torch.full_like(positions, -1)).max(dim=1).values
    return states[torch.arange(states.shape[0], device=states.device), last]


def _aligned_rows(a, b) -> Tuple[torch.Tensor, torch.Tensor]:
    a, b = torch.as_tensor(a).float(), torch.as_tensor(b).float()
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(f"need two [N, C] tensors of parallel sentences, got {tuple(a.shape)} and {tuple(b.shape)}")
    return a, b


def xlrs(pooled_a, pooled_b) -> float:
    """Cross-lingual representation similarity: mean cosine similarity of aligned rows
    (parallel sentences), paper 002 §4."""
    a, b = _aligned_rows(pooled_a, pooled_b)
    return torch.nn.functional.cosine_similarity(a, b, dim=-1).mean().item()


DISTANCE_VARIANTS = ("means", "parallel")


def representation_distance(embeddings_source, embeddings_target, variant: str = "means") -> float:
    """Paper 004 §V-A, Eq. 4: cross-lingual representation distance of sentence embeddings.

    * ``"means"`` (default): ``|| mean_i e_i^source - mean_j e_j^target ||_2``. §V-A represents
      each language by its *average* sentence embedding over 20k CC-100 sentences, which are
      not parallel, so the two sets may differ in size and content; the value does not grow
      with the number of sentences and is comparable with Table VI (e.g. 11.37 → 5.17 En-Lt).
    * ``"parallel"``: Eq. 4 as printed, ``(sum_i |e_i^source - e_i^target|^2)^(1/2)`` over
      aligned rows of parallel sentences, the norm of the stacked differences: it grows with
      sqrt(N), so only values on equally many sentences compare.
    """
    if variant == "parallel":
        a, b = _aligned_rows(embeddings_source, embeddings_target)
        return torch.linalg.vector_norm(a - b).item()
    if variant != "means":
        raise ValueError(f"variant must be one of {DISTANCE_VARIANTS}, got {variant!r}")
    a, b = (torch.as_tensor(e).float() for e in (embeddings_source, embeddings_target))
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1] or not len(a) or not len(b):
        raise ValueError(f"need two non-empty [N, C] tensors with the same C, got {tuple(a.shape)} and {tuple(b.shape)}")
    return torch.linalg.vector_norm(a.mean(dim=0) - b.mean(dim=0)).item()


def select_checkpoint_by_xlrs(table: Union[Mapping[Hashable, float], Iterable[Tuple[Hashable, float]]]) -> Hashable:
    """The checkpoint with the lowest XLRS to the target language (paper 002 §6.2).

    ``table`` maps checkpoint -> XLRS (or is a sequence of pairs); NaN entries are skipped,
    ties go to the first checkpoint.
    """
    pairs = [(ckpt, value) for ckpt, value in (table.items() if isinstance(table, Mapping) else table)
             if not math.isnan(value)]
    if not pairs:
        raise ValueError("no checkpoint with an XLRS value")
    return min(pairs, key=lambda pair: pair[1])[0]


def spearman(xs: Sequence[float], ys: Sequence[float]) -> Tuple[float, Optional[float]]:
    """Spearman's rank correlation and its p-value (paper 002 Table 4), via scipy. Two points always
    rank alike or opposite: their p-value is undefined (None; scipy's NaN is not valid JSON)."""
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError(f"need two equally long sequences of at least 2 values, got {len(xs)} and {len(ys)}")
    result = stats.spearmanr(xs, ys)
    return float(result.statistic), None if len(xs) < 3 else float(result.pvalue)


def label_overlap(
    source_labels: Sequence,
    target_labels: Sequence,
    level: str = "sequence",
    tokenize: Callable[[str], List[str]] = str.split,
) -> float:
    """Cross-lingual label overlap d(s, t) of paper 002 §5.1, as a fraction in [0, 1].

    ``source_labels[i]`` and ``target_labels[i]`` are the labels of the i-th parallel example
    in the source and the target language.

    * ``level="sequence"``: d = (1/n) sum_i 1(l(c_s^i) = l(c_t^i)), the paper's equation.
    * ``level="token"``: generation viewed as classification over the vocabulary (§4, §5.5):
      each target-label token is one decision, matched when the parallel source label holds
      the same token (multiset count); d = matched tokens / target tokens. This is the reading
      behind the 0.13% reported for WikiLingua (numbers and named entities, footnote 3).

    The paper's task-level d averages d(english, t_j) over the target languages t_j.
    """
    if len(source_labels) != len(target_labels) or not source_labels:
        raise ValueError(
            f"need equally many parallel source and target labels (got {len(source_labels)} and {len(target_labels)})"
        )
    if level == "sequence":
        return sum(s == t for s, t in zip(source_labels, target_labels)) / len(source_labels)
    if level == "token":
        matched = total = 0
        for source, target in zip(source_labels, target_labels):
            target_tokens = collections.Counter(tokenize(target))
            matched += sum((target_tokens & collections.Counter(tokenize(source))).values())
            total += sum(target_tokens.values())
        if total == 0:
            raise ValueError("the target labels contain no tokens")
        return matched / total
    raise ValueError(f"level must be 'sequence' or 'token', got {level!r}")
