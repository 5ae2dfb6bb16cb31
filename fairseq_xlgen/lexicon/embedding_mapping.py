"""Fully unsupervised cross-lingual mapping of word embeddings (a VecMap re-implementation).

Artetxe, Labaka & Agirre (ACL 2018), "A robust self-learning method for fully
unsupervised cross-lingual mappings of word embeddings", written from the paper, with the
details the paper leaves open set as the authors' public implementation sets them:

* §3.1 normalization: unit length, mean centering, unit length again;
* §3.2 unsupervised initialization: rows of sqrt(X Xᵀ) = U S Uᵀ (X = U S Vᵀ) sorted, so that
  a word is described by its similarity *distribution*, which is comparable across languages;
* §3.3 self-learning: orthogonal mapping for the current dictionary, then dictionary
  induction by CSLS over the most frequent words, stochastic and bidirectional;
* §3.4 final symmetric re-weighting (Artetxe et al., AAAI 2018): whitening, orthogonal
  mapping, re-weighting by S^0.5 on both sides, de-whitening.

Dictionary induction (§3.3) as VecMap does it:

* stochastic: each similarity is kept with probability p and a *dropped* one counts as 0
  (VecMap multiplies the matrix by a 0/1 mask before the arg-max), so when every kept
  candidate of a word scores below 0 the word goes to the first dropped candidate in
  frequency order;
* the CSLS score compared with that 0 is cos(x, z) − r(z)/2, VecMap's NN-equivalent form of
  2 cos(x, z) − r(x) − r(z) (same arg-max per row, different sign);
* bidirectional: the dictionary is the *concatenation* of every src→tgt and every tgt→src
  nearest pair, so a pair found in both directions counts twice in the next Procrustes
  problem (and in the final whitening).

Objective and convergence (VecMap's): the objective is the mean over words of the *best*
cosine similarity (no CSLS, no dropout), averaged over both directions; it improves when
``objective − best ≥ threshold``. Before each iteration ``it`` (1-based), if
``it − last_improvement > stochastic_interval``, p is multiplied by ``keep_prob_multiplier``
(up to 1) and the count restarts, or, when p was already 1, self-learning ends: at p = 1
the loop too waits the full interval.

Numerics: the n×n similarity work runs in ``config.dtype`` (float32 by default, as VecMap);
the small d×d problems (Procrustes SVD, symmetric square roots by ``eigh``, the SVD behind
sqrt(X Xᵀ)) run in float64. Rows are assumed ordered by frequency, as word2vec writes them.

Cost per self-learning iteration: one vocab × vocab × d matmul X Zᵀ (its transpose is
copied for the tgt→src direction) when the vocabulary fits in ``batch_size`` rows, two
top-k passes per direction (the k nearest for the CSLS penalties and the best cosine,
then the few best CSLS candidates the stochastic draw needs); VecMap does four matmuls
and k arg-max passes. On CPU the top-k passes search only the columns that can hold the
answer, with NumPy, and give torch's exact result (:func:`_row_topk`).
``bench/embedding_mapping.py`` and ``bench/vecmap_fidelity.py`` measure it.
"""
import dataclasses
import logging
import math
import os
import re
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from fairseq_xlgen.checkpoint_loading import load_checkpoint
from fairseq_xlgen.errors import InputFileError
from fairseq_xlgen.file_io import atomic_path

logger = logging.getLogger(__name__)

INIT_MODES = ("unsupervised", "identical", "numerals", "seed_dictionary")
NUMERAL = re.compile(r"[0-9]+(?:[.,:/][0-9]+)*")


@dataclass
class MappingConfig:
    """Hyper-parameters of the mapping; defaults are the paper's (§3, §4)."""

    init: str = field(default="unsupervised", metadata={
        "help": "initial dictionary: unsupervised (§3.2), identical strings, shared numerals, "
                "or an explicit seed dictionary (pass seed_pairs)", "choices": INIT_MODES})
    init_vocab: int = field(default=4000, metadata={
        "help": "most frequent words of each side used by the unsupervised initialization (§3.2)"})
    init_csls_knn: int = field(default=10, metadata={
        "help": "CSLS neighbourhood size for the initial dictionary"})
    vocab_cutoff: int = field(default=20000, metadata={
        "help": "most frequent words of each side used for dictionary induction (§3.3)"})
    csls_knn: int = field(default=10, metadata={
        "help": "CSLS neighbourhood size k in self-learning (0 = plain cosine)"})
    keep_prob_start: float = field(default=0.1, metadata={
        "help": "initial probability p of keeping a similarity in stochastic induction (§3.3)"})
    keep_prob_multiplier: float = field(default=2.0, metadata={
        "help": "factor applied to p when the objective stalls"})
    stochastic_interval: int = field(default=50, metadata={
        "help": "p is increased (at p = 1: self-learning ends) after more than this many iterations "
                "without improvement"})
    threshold: float = field(default=1e-6, metadata={
        "help": "an iteration improves when objective - best objective >= threshold "
                "(objective: mean best cosine, both directions)"})
    max_iterations: int = field(default=0, metadata={
        "help": "stop self-learning after this many iterations (0 = until convergence)"})
    src_reweight: float = field(default=0.5, metadata={
        "help": "exponent of S applied to the source side in the final re-weighting (§3.4)"})
    tgt_reweight: float = field(default=0.5, metadata={
        "help": "exponent of S applied to the target side in the final re-weighting (§3.4)"})
    batch_size: int = field(default=20000, metadata={
        "help": "rows of the similarity matrices computed at once (memory: 2 × batch × vocab_cutoff values); "
                "when vocab_cutoff rows fit, each matrix is computed once per iteration instead of twice"})
    dtype: str = field(default="float32", metadata={
        "help": "precision of the similarity computations", "choices": ("float32", "float64")})
    device: str = field(default="cpu", metadata={"help": "torch device, e.g. cpu or cuda"})
    seed: int = field(default=0, metadata={"help": "seed of the stochastic dictionary induction"})

    def __post_init__(self):
        for config_field in dataclasses.fields(self):
            choices = config_field.metadata.get("choices")
            if choices and getattr(self, config_field.name) not in choices:
                raise ValueError(f"{config_field.name} must be one of {choices}, got {getattr(self, config_field.name)!r}")
        if not 0 < self.keep_prob_start <= 1 or self.keep_prob_multiplier <= 1:
            raise ValueError("need 0 < keep_prob_start <= 1 and keep_prob_multiplier > 1")
        if min(self.init_vocab, self.vocab_cutoff, self.batch_size, self.stochastic_interval) < 1:
            raise ValueError("init_vocab, vocab_cutoff, batch_size and stochastic_interval must be positive")
        if min(self.init_csls_knn, self.csls_knn, self.max_iterations) < 0:
            raise ValueError("init_csls_knn, csls_knn and max_iterations must be >= 0")


@dataclass
class MappingResult:
    """Output of :func:`map_embeddings`; rows keep the input order."""

    src_mapped: torch.Tensor  # (n_src, d), on CPU
    tgt_mapped: torch.Tensor  # (n_tgt, d), on CPU
    dictionary: torch.Tensor  # (n_pairs, 2) long: final (src index, tgt index) pairs, a pair found both ways twice
    iterations: int
    converged: bool  # False if stopped by max_iterations
    objective_history: list  # per iteration
    keep_prob_history: list  # per iteration
    iteration_seconds: list  # per iteration
    seconds: float  # total, including initialization and the final step


def normalize_embeddings(emb, steps=("unit", "center", "unit")):
    """Apply §3.1 normalization steps in order: ``unit`` (rows to length 1), ``center``
    (each dimension to mean 0)."""
    for step in steps:
        if step == "unit":
            emb = emb / emb.norm(dim=1, keepdim=True).clamp_min(1e-12)
        elif step == "center":
            emb = emb - emb.mean(dim=0, keepdim=True)
        else:
            raise ValueError(f"unknown normalization step {step!r} (use 'unit' or 'center')")
    return emb


def procrustes(x, z):
    """Orthogonal W minimizing ||x W − z||_F: W = U Vᵀ with U S Vᵀ = xᵀ z (§3.3, step 1)."""
    u, _, vh = torch.linalg.svd((x.T @ z).double())
    return (u @ vh).to(x.dtype)


def _matmul_transposed(a, b, out=None):
    """``a @ bᵀ`` (into ``out`` if given). On CPU through NumPy's BLAS, which shares the
    tensors' memory: the venv's OpenBLAS sgemm measured 1.7× faster than torch's MKL on the
    2-core AMD EPYC machine (bench/vecmap_fidelity.py); elsewhere ``torch.matmul``."""
    if a.device.type != "cpu":
        return torch.matmul(a, b.T, out=out)
    out = a.new_empty(a.shape[0], b.shape[0]) if out is None else out
    np.matmul(a.numpy(), b.numpy().T, out=out.numpy())
    return out


def _symmetric_power(matrix, power):
    """matrix^power for a symmetric positive semi-definite matrix, by eigh in float64."""
    eigenvalues, eigenvectors = torch.linalg.eigh(matrix.double())
    scaled = eigenvectors * eigenvalues.clamp_min(1e-12).pow(power)
    return scaled @ eigenvectors.T


def _largest_columns(array, m):
    """Column indices (rows × m, in column order) of the m largest values of each row of a
    NumPy array, and which rows have exactly m values at least their m-th largest (the
    others, with a tie there or a NaN, get meaningless indices). By a partial sort of the
    values (NumPy's introselect; several times faster than its arg-partition) and a mask."""
    n_rows, n = array.shape
    threshold = np.partition(array, n - m, axis=1)[:, n - m]
    mask = array >= threshold[:, None]
    unique = mask.sum(axis=1) == m
    mask[~unique] = False
    columns = np.zeros((n_rows, m), dtype=np.int64)
    columns[unique] = mask.nonzero()[1].reshape(-1, m)
    return columns, unique


def _row_topk(sims, k):
    """``sims.topk(k, dim=1)`` of a 2-d tensor: the same values and indices, ties included,
    several times faster on CPU for k ≪ row length. torch's CPU top-k costs ~15 µs a row of
    4.8k floats (also for k = 1), NumPy's arg-max ~1 µs.

    k = 1: NumPy's arg-max, which returns the first maximal index, as torch's top-k does (a
    later equal value never displaces the kept one). Larger k: the columns are split into g
    groups (column j in group j mod g) and only the k + 1 groups with the largest maxima are
    searched (NumPy's partial sorts): they hold the k + 1 largest values of the row (a value
    outside them lies in a group whose maximum is at most each of theirs, so they hold k + 1
    values at least as large). Where those k + 1 values strictly decrease, the top k (values,
    indices, order) is unique, hence torch's; a row with a tie among them (or a NaN, or −inf)
    gets ``torch.topk`` itself, whose order of tied entries is its own.
    """
    n_rows, n = sims.shape
    k = min(k, n)
    group_size = int(math.sqrt(n / (k + 1)))
    n_groups = n // max(group_size, 1)
    if sims.device.type != "cpu" or sims.requires_grad or not sims.is_contiguous() or n_rows == 0 or k < 1 \
            or (k > 1 and (group_size < 4 or n_groups < 2 * (k + 1))):
        return sims.topk(k, dim=1)
    if k == 1:
        indices = torch.from_numpy(sims.numpy().argmax(axis=1))[:, None]
        values = sims.gather(1, indices)
        return (values, indices) if not bool(values.isnan().any()) else sims.topk(k, dim=1)
    array = sims.numpy()
    grouped = n_groups * group_size  # columns [grouped, n) are in no group: always candidates
    groups, unique = _largest_columns(array[:, :grouped].reshape(n_rows, group_size, n_groups).max(axis=1), k + 1)
    flat_columns = (groups + np.arange(0, n_rows * n, n)[:, None])[:, :, None] \
        + np.arange(0, grouped, n_groups)[None, None, :]  # (rows, k + 1, group size)
    candidates = array.reshape(-1).take(flat_columns).reshape(n_rows, -1)
    if grouped < n:
        candidates = np.concatenate([candidates, array[:, grouped:]], axis=1)
    best, best_unique = _largest_columns(candidates, k + 1)
    best_values = np.take_along_axis(candidates, best, axis=1)
    order = np.argsort(-best_values, axis=1)  # descending (ties: see below)
    values, best = np.take_along_axis(best_values, order, axis=1), np.take_along_axis(best, order, axis=1)
    in_group = best < (k + 1) * group_size  # candidate q: offset q % group size in group q // group size
    columns = np.where(in_group, np.take_along_axis(groups, np.minimum(best // group_size, k), axis=1)
                       + n_groups * (best % group_size), grouped + best - (k + 1) * group_size)
    values, indices = torch.from_numpy(values), torch.from_numpy(columns)
    unique = torch.from_numpy(unique & best_unique)
    ambiguous = (~(values[:, 1:] < values[:, :-1]) | values[:, :-1].isinf()).any(dim=1)
    ambiguous = ambiguous.logical_or_(~unique).nonzero()[:, 0]
    values, indices = values[:, :k].contiguous(), indices[:, :k].contiguous()
    if ambiguous.numel():
        exact = sims[ambiguous].topk(k, dim=1)
        values[ambiguous], indices[ambiguous] = exact.values, exact.indices
    return values, indices


class _Similarities:
    """Rows of ``queries @ keysᵀ``, ``batch_size`` rows at a time, for repeated top-k passes.

    When all rows fit in one batch, the matrix is computed once and kept: the second pass of
    an iteration (CSLS nearest neighbours after the CSLS penalties) then costs no matmul, and
    a ``transpose_of`` matrix kept untouched gives this one by a transposed copy instead of a
    matmul. A pass that adjusts the matrix in place consumes the kept copy. The matrix (or
    batch) lives in ``workspace[name]``, reused across iterations: fresh allocations of this
    size cost page faults on CPU.
    """

    def __init__(self, queries, keys, batch_size, workspace=None, name="similarities", transpose_of=None):
        self.queries, self.keys = queries, keys
        self.rows_per_block = min(batch_size, queries.shape[0])
        self.workspace = {} if workspace is None else workspace
        self.name = name
        self.transpose_of = transpose_of
        self.kept = False

    def _buffer(self):
        shape = (self.rows_per_block, self.keys.shape[0])
        buffer = self.workspace.get(self.name)
        if buffer is None or buffer.shape != shape or buffer.dtype != self.queries.dtype \
                or buffer.device != self.queries.device:
            self.workspace.pop(self.name, None)  # free the old one first
            buffer = self.workspace[self.name] = self.queries.new_empty(shape)
        return buffer

    def blocks(self, in_place):
        """Yield ``(row slice, similarity block)``; ``in_place`` if the caller modifies the block."""
        n, buffer = self.queries.shape[0], self._buffer()
        if n == self.rows_per_block:
            if not self.kept:
                source = self.transpose_of
                if source is not None and source.kept and source.rows_per_block == source.queries.shape[0]:
                    buffer.copy_(source.workspace[source.name].T)
                else:
                    _matmul_transposed(self.queries, self.keys, out=buffer)
            self.kept = not in_place
            yield slice(0, n), buffer
            return
        for start in range(0, n, self.rows_per_block):
            rows = slice(start, min(start + self.rows_per_block, n))
            yield rows, _matmul_transposed(self.queries[rows], self.keys, out=buffer[: rows.stop - start])

    def topk(self, k, adjust=None):
        """Top-k of each row of ``adjust(queries @ keysᵀ)``; ``adjust(sims, rows)`` may modify
        the block in place (``rows`` is its row slice)."""
        k = min(k, self.keys.shape[0])
        values, indices = [], []
        for rows, sims in self.blocks(in_place=adjust is not None):
            if adjust is not None:
                adjust(sims, rows)
            top_values, top_indices = _row_topk(sims, k)
            values.append(top_values)
            indices.append(top_indices)
        return torch.cat(values), torch.cat(indices)

    def knn_mean_and_best(self, knn):
        """r(q), the mean similarity of each query to its ``knn`` nearest keys (CSLS penalty;
        0 if ``knn`` = 0), and each query's best similarity (VecMap's objective term)."""
        values, _ = self.topk(max(knn, 1))
        r = values.mean(dim=1) if knn else torch.zeros_like(values[:, 0])
        return r, values[:, 0]


def _csls_adjustment(penalty_queries, penalty_keys, knn):
    """In-place map of cosine batches to CSLS = 2 cos − r(query) − r(key); identity if knn=0."""
    if knn == 0:
        return None

    def adjust(sims, rows):
        sims.mul_(2).sub_(penalty_queries[rows, None]).sub_(penalty_keys[None, :])

    return adjust


def csls_topk(src, tgt, k, knn=10, batch_size=10000):
    """Top-k targets of each source row by CSLS (Conneau et al. 2018), best first.

    CSLS(x, z) = 2 cos(x, z) − r_tgt(x) − r_src(z), r = mean cosine of the ``knn`` nearest
    neighbours in the other language; ``knn=0`` gives plain cosine. Rows are normalized to
    unit length here. Returns ``(scores, indices)``, both (n_src × min(k, n_tgt)).
    """
    src, tgt = normalize_embeddings(src, ("unit",)), normalize_embeddings(tgt, ("unit",))
    forward = _Similarities(src, tgt, batch_size)
    r_src, _ = forward.knn_mean_and_best(knn)
    r_tgt, _ = _Similarities(tgt, src, batch_size).knn_mean_and_best(knn)
    return forward.topk(k, _csls_adjustment(r_src, r_tgt, knn))


#: Rank quantile of the stochastic draw that sets the common top-k width; rows drawn deeper
#: get a second, wider top-k of their own (see :func:`_stochastic_nearest`).
_COMMON_RANK_QUANTILE = 0.97
#: Columns examined per step when searching for a row's first dropped column.
_DROPPED_SCAN_WIDTH = 16


def _geometric_ranks(n, keep_prob, generator, device):
    """Rank (0 = best) of the first kept entry when each entry is kept with ``keep_prob``:
    Geometric(p) failures, by inversion."""
    if keep_prob >= 1.0:
        return torch.zeros(n, dtype=torch.long, device=device)
    uniform = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
    return torch.floor(torch.log1p(-uniform) / math.log1p(-keep_prob)).long()


def _first_dropped_columns(above, kept, n_keys, keep_prob, generator):
    """Lowest column index whose similarity was dropped, for rows whose dropout mask is
    fixed on some columns: the ``above[i]`` columns (ranked above the kept one; padded with
    −1) dropped, column ``kept[i]`` kept, every other column dropped with probability 1 − p."""
    result = torch.full_like(kept, n_keys)
    pending = torch.arange(kept.shape[0], device=kept.device)
    for start in range(0, n_keys, _DROPPED_SCAN_WIDTH):
        if pending.numel() == 0:
            break
        columns = torch.arange(start, min(start + _DROPPED_SCAN_WIDTH, n_keys), device=kept.device)
        dropped = torch.rand(pending.numel(), columns.numel(), generator=generator, device=kept.device) >= keep_prob
        dropped |= (above[pending, :, None] == columns[None, None, :]).any(dim=1)
        dropped &= kept[pending, None] != columns[None, :]
        found = dropped.any(dim=1)
        result[pending[found]] = columns[dropped[found].int().argmax(dim=1)]
        pending = pending[~found]
    return result


def _stochastic_nearest(similarities, r_keys, keep_prob, generator):
    """Stochastic CSLS nearest key of every query, as VecMap draws it (§3.3).

    VecMap scores cos(q, k) − r(k)/2 (CSLS up to a per-query shift), keeps each score with
    probability p, sets the dropped ones to 0 and takes the arg-max. Drawn here without the
    full random mask: the best kept score is the G-th best score, G ~ Geometric(p) (so only
    the top G+1 scores are needed); if it is positive it wins; if it is negative the 0 of a
    dropped entry wins, and the arg-max is the first dropped column (ties at 0 go to the
    lowest index), drawn column by column given what the ranks fix; if all are dropped, 0.
    Returns the key index of every query.
    """
    queries, n_keys = similarities.queries, similarities.keys.shape[0]
    ranks = _geometric_ranks(queries.shape[0], keep_prob, generator, queries.device)
    half_r_keys = r_keys / 2
    chosen, fallback_parts = [], []
    for rows, sims in similarities.blocks(in_place=True):
        sims.sub_(half_r_keys[None, :])
        block_ranks = ranks[rows].clamp(max=n_keys - 1)
        width = min(n_keys, int(torch.quantile(block_ranks.double(), _COMMON_RANK_QUANTILE)) + 1)
        top_values, top_indices = _row_topk(sims, width)
        values = torch.empty(block_ranks.shape, dtype=sims.dtype, device=sims.device)
        indices = torch.empty_like(block_ranks)
        common = block_ranks < width
        values[common] = top_values[common].gather(1, block_ranks[common, None])[:, 0]
        indices[common] = top_indices[common].gather(1, block_ranks[common, None])[:, 0]
        deep = (~common).nonzero()[:, 0]
        if deep.numel():  # rows drawn below the common width: a wider top-k of those rows only
            deep_values, deep_indices = sims[deep].topk(int(block_ranks[deep].max()) + 1, dim=1)
            values[deep] = deep_values.gather(1, block_ranks[deep, None])[:, 0]
            indices[deep] = deep_indices.gather(1, block_ranks[deep, None])[:, 0]
        if keep_prob < 1.0:
            negative = (values < 0).nonzero()[:, 0]
            if negative.numel():  # a dropped 0 wins: note the columns ranked above the kept one
                depth = int(block_ranks[negative].max())
                above = indices.new_full((negative.numel(), depth), -1)
                is_common = common[negative]
                above[is_common, :min(depth, width)] = top_indices[negative[is_common], :depth]
                if deep.numel():
                    deep_position = torch.full_like(block_ranks, -1)
                    deep_position[deep] = torch.arange(deep.numel(), device=sims.device)
                    above[~is_common] = deep_indices[deep_position[negative[~is_common]], :depth]
                above.masked_fill_(torch.arange(depth, device=sims.device)[None, :] >= block_ranks[negative, None], -1)
                fallback_parts.append((rows.start + negative, above, indices[negative]))
        chosen.append(indices)
    chosen = torch.cat(chosen)
    if fallback_parts:  # one draw for all blocks, so that batching does not change the result
        depth = max(above.shape[1] for _, above, _ in fallback_parts)
        above = torch.cat([torch.nn.functional.pad(above, (0, depth - above.shape[1]), value=-1)
                           for _, above, _ in fallback_parts])
        query_ids = torch.cat([ids for ids, _, _ in fallback_parts])
        kept = torch.cat([kept for _, _, kept in fallback_parts])
        chosen[query_ids] = _first_dropped_columns(above, kept, n_keys, keep_prob, generator)
    chosen[ranks >= n_keys] = 0  # every score dropped: the arg-max of a row of zeros
    return chosen


def induce_dictionary(x, z, knn, keep_prob, generator, batch_size, workspace=None):
    """Bidirectional CSLS dictionary (§3.3) and VecMap's objective.

    ``x`` and ``z`` are unit-length rows in a shared space. Returns ``(pairs, objective)``:
    ``pairs`` (n_x + n_z) × 2 is the src→tgt nearest pair of every source row followed by the
    tgt→src nearest pair of every target row (a pair found both ways appears twice, as in
    VecMap's ``--direction union``); ``objective`` is the mean best cosine of the source rows
    and of the target rows, averaged (not affected by ``keep_prob`` or CSLS). One matmul per
    call when each side fits in ``batch_size`` rows (see :class:`_Similarities`), four
    otherwise. ``workspace`` (a dict) keeps the similarity buffers for the next call.
    """
    workspace = {} if workspace is None else workspace
    forward = _Similarities(x, z, batch_size, workspace, "forward")
    backward = _Similarities(z, x, batch_size, workspace, "backward", transpose_of=forward)
    r_x, best_x = forward.knn_mean_and_best(knn)
    r_z, best_z = backward.knn_mean_and_best(knn)
    tgt_fwd = _stochastic_nearest(forward, r_z, keep_prob, generator)
    src_bwd = _stochastic_nearest(backward, r_x, keep_prob, generator)
    pairs = torch.cat([torch.stack([torch.arange(x.shape[0], device=x.device), tgt_fwd], dim=1),
                       torch.stack([src_bwd, torch.arange(z.shape[0], device=z.device)], dim=1)])
    objective = (best_x.double().mean() + best_z.double().mean()).item() / 2
    return pairs, objective


def _sorted_similarity_profile(emb):
    """§3.2: rows of sqrt(M) = U S Uᵀ (M = emb embᵀ, emb = U S Vᵀ) sorted (ascending, as
    VecMap; any fixed order gives the same similarities), then normalized (unit, center, unit)."""
    u, s, _ = torch.linalg.svd(emb.double(), full_matrices=False)
    u = u.to(emb.dtype)
    sqrt_similarity = _matmul_transposed(u * s.to(emb.dtype), u)
    if sqrt_similarity.device.type == "cpu":  # NumPy's sort: 3× torch's on CPU (measured)
        sqrt_similarity.numpy().sort(axis=1)
    else:
        sqrt_similarity = sqrt_similarity.sort(dim=1).values
    return normalize_embeddings(sqrt_similarity)


def unsupervised_initial_dictionary(x, z, config):
    """§3.2: initial dictionary from the sorted similarity profiles of the ``init_vocab``
    most frequent words (same count on both sides), by bidirectional CSLS (every word of both
    sides with its nearest, as in :func:`induce_dictionary`)."""
    n = min(config.init_vocab, x.shape[0], z.shape[0])
    pairs, _ = induce_dictionary(_sorted_similarity_profile(x[:n]), _sorted_similarity_profile(z[:n]),
                                 config.init_csls_knn, 1.0, None, config.batch_size)
    return pairs


def identical_seed_pairs(src_words, tgt_words):
    """Seed pairs (src index, tgt index) of the strings present in both vocabularies."""
    tgt_index = {word: j for j, word in enumerate(tgt_words)}
    return [(i, tgt_index[word]) for i, word in enumerate(src_words) if word in tgt_index]


def numeral_seed_pairs(src_words, tgt_words):
    """Seed pairs of the numerals (e.g. ``1999``, ``3.5``; SentencePiece's ``▁`` ignored)
    present in both vocabularies."""
    return [(i, j) for i, j in identical_seed_pairs(src_words, tgt_words)
            if NUMERAL.fullmatch(src_words[i].lstrip("▁"))]


def seed_pairs_from_word_pairs(word_pairs, src_words, tgt_words):
    """Index pairs for the ``(src word, tgt word)`` pairs whose words are both known;
    returns ``(pairs, number of skipped pairs)``."""
    src_index = {word: i for i, word in enumerate(src_words)}
    tgt_index = {word: j for j, word in enumerate(tgt_words)}
    pairs = [(src_index[s], tgt_index[t]) for s, t in word_pairs if s in src_index and t in tgt_index]
    return pairs, len(word_pairs) - len(pairs)


def _initial_pairs(x, z, config, seed_pairs, src_words, tgt_words):
    if (seed_pairs is not None) != (config.init == "seed_dictionary"):
        raise ValueError("pass seed_pairs exactly when config.init == 'seed_dictionary'")
    if config.init == "unsupervised":
        return unsupervised_initial_dictionary(x, z, config)
    if config.init in ("identical", "numerals"):
        if src_words is None or tgt_words is None:
            raise ValueError(f"config.init={config.init!r} needs src_words and tgt_words")
        seed_pairs = (identical_seed_pairs if config.init == "identical" else numeral_seed_pairs)(src_words, tgt_words)
    pairs = torch.as_tensor(seed_pairs, dtype=torch.long, device=x.device).reshape(-1, 2)
    if pairs.shape[0] == 0:
        raise ValueError(f"the {config.init} seed dictionary is empty; use another initialization")
    if bool((pairs < 0).any()) or int(pairs[:, 0].max()) >= x.shape[0] or int(pairs[:, 1].max()) >= z.shape[0]:
        raise ValueError("seed pair index out of range of the embeddings")
    return pairs


def _symmetric_reweighting(x, z, pairs, config):
    """§3.4 final mapping on dictionary ``pairs``: whitening W1 = (X_Dᵀ X_D)^{-1/2} (same for
    Z), orthogonal mapping U S Vᵀ = (X_D W1x)ᵀ (Z_D W1z), re-weighting by S^{reweight}, and
    de-whitening of each side with respect to itself (Uᵀ (X_Dᵀ X_D)^{1/2} U, Vᵀ (Z_Dᵀ Z_D)^{1/2} V)."""
    x_dict, z_dict = x[pairs[:, 0]].double(), z[pairs[:, 1]].double()
    src_cov, tgt_cov = x_dict.T @ x_dict, z_dict.T @ z_dict
    src_whiten, tgt_whiten = _symmetric_power(src_cov, -0.5), _symmetric_power(tgt_cov, -0.5)
    u, s, vh = torch.linalg.svd((x_dict @ src_whiten).T @ (z_dict @ tgt_whiten))
    v = vh.T
    src_map = src_whiten @ u @ torch.diag(s.pow(config.src_reweight)) @ u.T @ _symmetric_power(src_cov, 0.5) @ u
    tgt_map = tgt_whiten @ v @ torch.diag(s.pow(config.tgt_reweight)) @ v.T @ _symmetric_power(tgt_cov, 0.5) @ v
    return x @ src_map.to(x.dtype), z @ tgt_map.to(z.dtype)


@dataclass
class SelfLearningState:
    """Everything self-learning needs to continue (saved in checkpoints), and VecMap's
    schedule of the keep probability and of convergence."""

    pairs: torch.Tensor
    keep_prob: float
    iteration: int = 0
    best_objective: float = -math.inf
    last_improvement: int = 0
    converged: bool = False
    objective_history: list = field(default_factory=list)
    keep_prob_history: list = field(default_factory=list)
    iteration_seconds: list = field(default_factory=list)

    def before_iteration(self, config):
        """VecMap's check before iteration ``it`` = ``iteration + 1``: after more than
        ``stochastic_interval`` iterations without improvement, multiply p (up to 1) and
        restart the count, or, if p is already 1, end. Returns False when self-learning ends."""
        it = self.iteration + 1
        if it - self.last_improvement > config.stochastic_interval:
            if self.keep_prob >= 1.0:
                self.converged = True
                return False
            self.keep_prob = min(1.0, self.keep_prob * config.keep_prob_multiplier)
            self.last_improvement = it
        return True

    def record(self, objective, config):
        """Count an iteration with ``objective``; ``objective − best ≥ threshold`` improves."""
        self.iteration += 1
        self.objective_history.append(objective)
        self.keep_prob_history.append(self.keep_prob)
        if objective - self.best_objective >= config.threshold:
            self.best_objective, self.last_improvement = objective, self.iteration


#: Changes when the meaning of a saved self-learning state changes (2: VecMap's dictionary
#: with repeated pairs and its schedule), so that an older checkpoint is not resumed.
_CHECKPOINT_FORMAT = 2


def _checkpoint_fingerprint(x, z, config):
    """What a checkpoint must match to be resumed (not batch size, device or iteration cap)."""
    settings = dataclasses.asdict(config)
    for runtime_only in ("max_iterations", "batch_size", "device"):
        settings.pop(runtime_only)
    return {"format": _CHECKPOINT_FORMAT, "src_shape": tuple(x.shape), "tgt_shape": tuple(z.shape), "config": settings}


def _save_checkpoint(path, state, generator, fingerprint):
    with atomic_path(path) as tmp_path:
        torch.save({"fingerprint": fingerprint, "state": dataclasses.asdict(state) | {"pairs": state.pairs.cpu()},
                    "rng": generator.get_state()}, tmp_path)


def _load_checkpoint(path, generator, fingerprint, device):
    saved = load_checkpoint(path)
    if saved["fingerprint"] != fingerprint:
        raise InputFileError(path, "checkpoint was made for other embeddings or settings; "
                             "delete it or use another checkpoint path")
    generator.set_state(saved["rng"])
    state = SelfLearningState(**saved["state"])
    state.pairs = state.pairs.to(device)
    return state


def map_embeddings(src_emb, tgt_emb, config, seed_pairs=None, src_words=None, tgt_words=None,
                   progress=True, checkpoint_path=None, checkpoint_every=10):
    """Map two monolingual embedding matrices (rows frequency-ordered) into a shared space.

    Runs §3.1–§3.4: normalization, initial dictionary (``config.init``; ``seed_pairs`` of
    (src index, tgt index) for ``"seed_dictionary"``, ``src_words``/``tgt_words`` for
    ``"identical"``/``"numerals"``), self-learning until convergence, final re-weighting.
    Convergence as VecMap's (:class:`SelfLearningState`): p is multiplied by
    ``keep_prob_multiplier`` (up to 1) after more than ``stochastic_interval`` iterations
    without an objective gain of ``threshold``, and the loop ends after as many at p = 1.
    With ``checkpoint_path``, the loop state is saved every ``checkpoint_every`` iterations
    and at the end, and a matching checkpoint is resumed from.
    """
    started = time.perf_counter()
    device, dtype = torch.device(config.device), getattr(torch, config.dtype)
    if src_emb.shape[1] != tgt_emb.shape[1]:
        raise ValueError(f"dimension mismatch: source {src_emb.shape[1]}, target {tgt_emb.shape[1]}")
    x = normalize_embeddings(src_emb.to(device, dtype))
    z = normalize_embeddings(tgt_emb.to(device, dtype))
    x_cut, z_cut = x[: config.vocab_cutoff], z[: config.vocab_cutoff]
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed)
    fingerprint = _checkpoint_fingerprint(x, z, config)
    if checkpoint_path and os.path.exists(checkpoint_path):
        state = _load_checkpoint(checkpoint_path, generator, fingerprint, device)
        logger.info("resumed from %s at iteration %d (keep prob %.2f)", checkpoint_path, state.iteration, state.keep_prob)
    else:
        pairs = _initial_pairs(x, z, config, seed_pairs, src_words, tgt_words)
        state = SelfLearningState(pairs=pairs, keep_prob=config.keep_prob_start)
        if progress:
            logger.info("initial dictionary (%s): %d pairs", config.init, pairs.shape[0])

    workspace = {}  # similarity buffers shared by all iterations
    while not (config.max_iterations and state.iteration >= config.max_iterations) and state.before_iteration(config):
        tic = time.perf_counter()
        w = procrustes(x[state.pairs[:, 0]], z[state.pairs[:, 1]])
        state.pairs, objective = induce_dictionary(x_cut @ w, z_cut, config.csls_knn, state.keep_prob,
                                                   generator, config.batch_size, workspace)
        state.record(objective, config)
        state.iteration_seconds.append(time.perf_counter() - tic)
        if progress:
            logger.info("iteration %d: objective %.6f, keep prob %.3f, %.2fs", state.iteration, objective,
                        state.keep_prob, state.iteration_seconds[-1])
        if checkpoint_path and state.iteration % checkpoint_every == 0:
            _save_checkpoint(checkpoint_path, state, generator, fingerprint)
    if checkpoint_path:
        _save_checkpoint(checkpoint_path, state, generator, fingerprint)

    src_mapped, tgt_mapped = _symmetric_reweighting(x, z, state.pairs, config)
    return MappingResult(
        src_mapped=src_mapped.cpu(), tgt_mapped=tgt_mapped.cpu(), dictionary=state.pairs.cpu(),
        iterations=state.iteration, converged=state.converged, objective_history=state.objective_history,
        keep_prob_history=state.keep_prob_history, iteration_seconds=state.iteration_seconds,
        seconds=time.perf_counter() - started,
    )


def map_embeddings_with_restarts(src_emb, tgt_emb, config, restarts, checkpoint_path=None, **kwargs):
    """Run :func:`map_embeddings` with seeds ``config.seed``, …, ``config.seed + restarts - 1`` and
    keep the run with the highest final objective (VecMap's mean best cosine after the last
    self-learning iteration): fully unsupervised self-learning can end in a bad optimum for an
    unlucky draw of the stochastic dictionary induction, and a worse mapping leaves a lower
    objective; no gold data takes part in the choice. A restart with seed s is the single run
    with seed s (its checkpoint, if any, is ``checkpoint_path.seed{s}``).
    Returns ``(best result, its seed, [(seed, final objective), …])``.
    """
    if restarts < 1:
        raise ValueError(f"restarts must be >= 1, got {restarts}")
    best = best_seed = best_objective = None
    objectives = []
    for seed in range(config.seed, config.seed + restarts):
        run_config = dataclasses.replace(config, seed=seed)
        path = checkpoint_path if restarts == 1 or not checkpoint_path else f"{checkpoint_path}.seed{seed}"
        result = map_embeddings(src_emb, tgt_emb, run_config, checkpoint_path=path, **kwargs)
        objective = result.objective_history[-1] if result.objective_history else -math.inf
        objectives.append((seed, objective))
        logger.info("restart with seed %d: final objective %.6f after %d iterations", seed, objective, result.iterations)
        if best is None or objective > best_objective:
            best, best_seed, best_objective = result, seed, objective
    return best, best_seed, objectives
