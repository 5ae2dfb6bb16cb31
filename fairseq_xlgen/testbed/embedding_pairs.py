"""Synthetic embeddings with a known translation, for the VecMap tests and bench/embedding_mapping.py (the testbed of
the lexicon induction: word vectors whose true alignment is known)."""
import math

import torch

from fairseq_xlgen.lexicon.embedding_mapping import normalize_embeddings


def synthetic_embedding_pair(n_words, dim, noise=0.05, n_clusters=50, rank=None, shuffle_window=0.3, seed=0):
    """Synthetic source/target embeddings with a known translation, for tests and benchmarks.

    Source: low-rank cluster structure (words around ``n_clusters`` centres in a ``rank``-
    dimensional subspace, embedded in ``dim`` dimensions, plus small isotropic noise) so that
    similarity distributions differ across words, as §3.2 needs. Target: a random orthogonal
    rotation of the source plus noise that grows with frequency rank (rare words have worse
    embeddings, Zipf-like), rows re-ordered by a frequency rank jittered by a factor
    exp(N(0, shuffle_window)). Returns ``(src, tgt, gold)`` with ``tgt[gold[i]]`` the
    translation of ``src[i]``.
    """
    generator = torch.Generator().manual_seed(seed)
    rank = rank or max(2, dim // 2)
    centres = torch.randn(n_clusters, rank, generator=generator, dtype=torch.float64) * 2.0
    cluster_sizes = 1.0 / torch.arange(1, n_clusters + 1, dtype=torch.float64)
    clusters = torch.multinomial(cluster_sizes, n_words, replacement=True, generator=generator)
    latent = centres[clusters] + torch.randn(n_words, rank, generator=generator, dtype=torch.float64)
    projection = torch.randn(rank, dim, generator=generator, dtype=torch.float64) / math.sqrt(rank)
    src = latent @ projection + 0.1 * torch.randn(n_words, dim, generator=generator, dtype=torch.float64)
    src = normalize_embeddings(src, ("unit",))
    rotation, _ = torch.linalg.qr(torch.randn(dim, dim, generator=generator, dtype=torch.float64))
    frequency_noise = noise * (1 + torch.log1p(torch.arange(n_words, dtype=torch.float64)))[:, None]
    rotated = src @ rotation + frequency_noise * torch.randn(n_words, dim, generator=generator, dtype=torch.float64) / math.sqrt(dim)
    jittered_rank = torch.arange(1, n_words + 1, dtype=torch.float64) * torch.exp(
        shuffle_window * torch.randn(n_words, generator=generator, dtype=torch.float64))
    order = torch.argsort(jittered_rank)  # tgt row r holds the translation of src word order[r]
    gold = torch.empty(n_words, dtype=torch.long)
    gold[order] = torch.arange(n_words)
    return src.float(), rotated[order].float(), gold
