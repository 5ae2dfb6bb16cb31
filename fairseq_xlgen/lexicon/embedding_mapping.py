"""Fully unsupervised cross-lingual mapping of word embeddings (a VecMap re-implementation).

Artetxe, Labaka & Agirre (ACL 2018), "A robust self-learning method for fully
unsupervised cross-lingual mappings of word embeddings", written from the paper:

* §3.1 normalization: unit length, mean centering, unit length again;
* §3.2 unsupervised initialization: rows of sqrt(X Xᵀ) = U S Uᵀ (X = U S Vᵀ) sorted, so that
  a word is described by its similarity *distribution*, which is comparable across languages;
* §3.3 self-learning: orthogonal mapping for the current dictionary, then dictionary
  induction by CSLS over the most frequent words, stochastic (each similarity kept with
  probability p) and bidirectional;
* §3.4 final symmetric re-weighting (Artetxe et al., AAAI 2018): whitening, orthogonal
  mapping, re-weighting by S^0.5 on both sides, de-whitening.

Objective (our choice; it drives the convergence test): the mean CSLS score of each word's
selected nearest neighbour (after stochastic masking), averaged over the src→tgt and
tgt→src directions.

Numerics: the n×n similarity work runs in ``config.dtype`` (float32 by default: twice as
fast on CPU and what GPUs are good at; float64 is available for CPU checks); the small
d×d problems (Procrustes SVD, symmetric square roots by ``eigh``, the SVD behind
sqrt(X Xᵀ)) run in float64. Rows are assumed ordered by frequency, as word2vec writes them.

Cost per self-learning iteration: two vocab × vocab × d matmuls (X Zᵀ and Z Xᵀ, each kept
for the CSLS penalties and the nearest-neighbour pass when it fits in ``batch_size`` rows)
and top-k passes over them; ``bench/embedding_mapping.py`` measures it.
"""
import dataclasses
import logging
import math
import os
import re
import time
from dataclasses import dataclass, field

import torch

from fairseq_xlgen.checkpoint_loading import load_checkpoint
from fairseq_xlgen.file_io import InputFileError, atomic_path

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
        "help": "iterations without improvement before p is increased"})
    threshold: float = field(default=1e-6, metadata={
        "help": "minimum objective gain that counts as an improvement"})
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
    dictionary: torch.Tensor  # (n_pairs, 2) long: final (src index, tgt index) pairs
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


def _symmetric_power(matrix, power):
    """matrix^power for a symmetric positive semi-definite matrix, by eigh in float64."""
    eigenvalues, eigenvectors = torch.linalg.eigh(matrix.double())
    scaled = eigenvectors * eigenvalues.clamp_min(1e-12).pow(power)
    return scaled @ eigenvectors.T


class _Similarities:
    """Rows of ``queries @ keysᵀ``, ``batch_size`` rows at a time, for repeated top-k passes.

    When all rows fit in one batch, the matrix is computed once and kept: the second pass of
    an iteration (CSLS nearest neighbours after the CSLS penalties) then costs no matmul. A
    pass that adjusts the matrix in place consumes the kept copy. The matrix (or batch)
    lives in ``workspace[name]``, reused across iterations: fresh allocations of this size
    cost page faults on CPU.
    """

    def __init__(self, queries, keys, batch_size, workspace=None, name="similarities"):
        self.queries, self.keys = queries, keys
        self.rows_per_block = min(batch_size, queries.shape[0])
        self.workspace = {} if workspace is None else workspace
        self.name = name
        self.kept = False

    def _buffer(self):
        shape = (self.rows_per_block, self.keys.shape[0])
        buffer = self.workspace.get(self.name)
        if buffer is None or buffer.shape != shape or buffer.dtype != self.queries.dtype \
                or buffer.device != self.queries.device:
            self.workspace.pop(self.name, None)  # free the old one first
            buffer = self.workspace[self.name] = self.queries.new_empty(shape)
        return buffer

    def _blocks(self, in_place):
        n, buffer = self.queries.shape[0], self._buffer()
        if n == self.rows_per_block:
            if not self.kept:
                torch.matmul(self.queries, self.keys.T, out=buffer)
            self.kept = not in_place
            yield slice(0, n), buffer
            return
        for start in range(0, n, self.rows_per_block):
            rows = slice(start, min(start + self.rows_per_block, n))
            yield rows, torch.matmul(self.queries[rows], self.keys.T, out=buffer[: rows.stop - start])

    def topk(self, k, adjust=None):
        """Top-k of each row of ``adjust(queries @ keysᵀ)``; ``adjust(sims, rows)`` may modify
        the block in place (``rows`` is its row slice)."""
        k = min(k, self.keys.shape[0])
        values, indices = [], []
        for rows, sims in self._blocks(in_place=adjust is not None):
            if adjust is not None:
                adjust(sims, rows)
            top = sims.topk(k, dim=1)
            values.append(top.values)
            indices.append(top.indices)
        return torch.cat(values), torch.cat(indices)

    def knn_mean(self, knn):
        """r(q): mean similarity of each query to its ``knn`` nearest keys (CSLS penalty)."""
        if knn == 0:
            return self.queries.new_zeros(self.queries.shape[0])
        return self.topk(knn)[0].mean(dim=1)


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
    r_src, r_tgt = forward.knn_mean(knn), _Similarities(tgt, src, batch_size).knn_mean(knn)
    return forward.topk(k, _csls_adjustment(r_src, r_tgt, knn))


def _stochastic_nearest(similarities, r_queries, r_keys, knn, keep_prob, generator):
    """Stochastic CSLS nearest neighbour of each query (§3.3, stochastic dictionary induction).

    Keeping each similarity with probability p and taking the arg-max of the kept ones is
    the same as taking the G-th best key with G ~ Geometric(p) (failures before the first
    kept entry), so only the top max(G)+1 keys are needed instead of a full random mask.
    Returns (query indices, key indices, scores) for the queries with a kept entry.
    """
    queries, n_keys = similarities.queries, similarities.keys.shape[0]
    n_queries = queries.shape[0]
    if keep_prob >= 1.0:
        ranks = torch.zeros(n_queries, dtype=torch.long, device=queries.device)
    else:
        uniform = torch.rand(n_queries, generator=generator, device=queries.device, dtype=torch.float64)
        ranks = torch.floor(torch.log1p(-uniform) / math.log1p(-keep_prob)).long()
    kept = ranks < n_keys
    k = int(ranks[kept].max()) + 1 if bool(kept.any()) else 1
    scores, indices = similarities.topk(k, _csls_adjustment(r_queries, r_keys, knn))
    positions = ranks.clamp(max=k - 1)[:, None]
    query_ids = torch.arange(n_queries, device=queries.device)[kept]
    return query_ids, indices.gather(1, positions)[kept, 0], scores.gather(1, positions)[kept, 0]


def _induce_dictionary(x, z, knn, keep_prob, generator, batch_size, workspace=None):
    """Bidirectional CSLS dictionary (§3.3): union of src→tgt and tgt→src nearest pairs.

    ``x`` and ``z`` are unit-length rows in a shared space. The objective is the mean CSLS
    score of the selected (kept) nearest neighbours, averaged over the two directions.
    Two matmuls per call when each side fits in ``batch_size`` rows (see :class:`_Similarities`),
    four otherwise. ``workspace`` (a dict) keeps the similarity buffers for the next call.
    Returns ``(pairs (n × 2), objective)``.
    """
    workspace = {} if workspace is None else workspace
    forward = _Similarities(x, z, batch_size, workspace, "forward")
    backward = _Similarities(z, x, batch_size, workspace, "backward")
    r_x, r_z = forward.knn_mean(knn), backward.knn_mean(knn)
    src_fwd, tgt_fwd, score_fwd = _stochastic_nearest(forward, r_x, r_z, knn, keep_prob, generator)
    tgt_bwd, src_bwd, score_bwd = _stochastic_nearest(backward, r_z, r_x, knn, keep_prob, generator)
    pair_keys = torch.unique(torch.cat([src_fwd * z.shape[0] + tgt_fwd, src_bwd * z.shape[0] + tgt_bwd]))
    pairs = torch.stack([pair_keys // z.shape[0], pair_keys % z.shape[0]], dim=1)
    objective = (score_fwd.double().mean() + score_bwd.double().mean()).item() / 2
    return pairs, objective


def _sorted_similarity_profile(emb):
    """§3.2: rows of sqrt(M) = U S Uᵀ (M = emb embᵀ, emb = U S Vᵀ) sorted descending,
    then normalized (unit, center, unit)."""
    u, s, _ = torch.linalg.svd(emb.double(), full_matrices=False)
    sqrt_similarity = ((u * s) @ u.T).to(emb.dtype)
    return normalize_embeddings(sqrt_similarity.sort(dim=1, descending=True).values)


def unsupervised_initial_dictionary(x, z, config):
    """§3.2: initial dictionary from the sorted similarity profiles of the ``init_vocab``
    most frequent words (same count on both sides), by bidirectional CSLS."""
    n = min(config.init_vocab, x.shape[0], z.shape[0])
    pairs, _ = _induce_dictionary(_sorted_similarity_profile(x[:n]), _sorted_similarity_profile(z[:n]),
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
class _LoopState:
    """Everything self-learning needs to continue; saved in checkpoints."""

    pairs: torch.Tensor
    keep_prob: float
    iteration: int = 0
    best_objective: float = -math.inf
    last_improvement: int = 0
    converged: bool = False
    objective_history: list = field(default_factory=list)
    keep_prob_history: list = field(default_factory=list)
    iteration_seconds: list = field(default_factory=list)


def _checkpoint_fingerprint(x, z, config):
    """What a checkpoint must match to be resumed (not batch size, device or iteration cap)."""
    settings = dataclasses.asdict(config)
    for runtime_only in ("max_iterations", "batch_size", "device"):
        settings.pop(runtime_only)
    return {"src_shape": tuple(x.shape), "tgt_shape": tuple(z.shape), "config": settings}


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
    state = _LoopState(**saved["state"])
    state.pairs = state.pairs.to(device)
    return state


def map_embeddings(src_emb, tgt_emb, config, seed_pairs=None, src_words=None, tgt_words=None,
                   progress=True, checkpoint_path=None, checkpoint_every=10):
    """Map two monolingual embedding matrices (rows frequency-ordered) into a shared space.

    Runs §3.1–§3.4: normalization, initial dictionary (``config.init``; ``seed_pairs`` of
    (src index, tgt index) for ``"seed_dictionary"``, ``src_words``/``tgt_words`` for
    ``"identical"``/``"numerals"``), self-learning until convergence, final re-weighting.
    Convergence: p is multiplied by ``keep_prob_multiplier`` (up to 1) after
    ``stochastic_interval`` iterations without an objective gain above ``threshold``; at
    p = 1 induction is deterministic and the loop stops at the first iteration without gain.
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
        state = _LoopState(pairs=pairs, keep_prob=config.keep_prob_start)
        if progress:
            logger.info("initial dictionary (%s): %d pairs", config.init, pairs.shape[0])

    workspace = {}  # similarity buffers shared by all iterations
    while not state.converged and not (config.max_iterations and state.iteration >= config.max_iterations):
        tic = time.perf_counter()
        w = procrustes(x[state.pairs[:, 0]], z[state.pairs[:, 1]])
        pairs, objective = _induce_dictionary(x_cut @ w, z_cut, config.csls_knn, state.keep_prob,
                                              generator, config.batch_size, workspace)
        state.iteration += 1
        state.objective_history.append(objective)
        state.keep_prob_history.append(state.keep_prob)
        state.iteration_seconds.append(time.perf_counter() - tic)
        if progress:
            logger.info("iteration %d: objective %.6f, keep prob %.3f, dictionary %d pairs, %.2fs",
                        state.iteration, objective, state.keep_prob, pairs.shape[0], state.iteration_seconds[-1])
        improved = objective - state.best_objective > config.threshold
        if improved:
            state.best_objective, state.last_improvement = objective, state.iteration
        if state.keep_prob >= 1.0 and not improved:
            state.converged = True
        elif state.iteration - state.last_improvement >= config.stochastic_interval:
            state.keep_prob = min(1.0, state.keep_prob * config.keep_prob_multiplier)
            state.last_improvement = state.iteration
        state.pairs = pairs
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
