"""Language components of a multilingual encoder: estimation and removal (LAFT, paper 001 §3.1).

Step 1 (estimation): the sentence vectors of one language's monolingual text are the rows of
M_L ∈ R^{n×d}; its first k right singular vectors are the language's components
c_L ∈ R^{d×k}. They are the top-k eigenvectors of the Gram matrix M_Lᵀ M_L, which
:class:`GramAccumulator` sums in float64 one batch at a time, so memory is O(d²) whatever n.
M_L is not centred (as in LIR, Yang et al. 2021): its first component is the direction of
the language's mean, which is the language identity LAFT removes.

Step 2 (removal), with e_i the encoder state of token i and ē the mean-pooled sentence state
(:func:`mean_pool`), in three forms (:data:`REMOVAL_MODES`):

* ``sentence`` (default): r_i = e_i − c_L c_Lᵀ ē — the sentence mean's language component
  removed from every token;
* ``literal``: r_i = e_i − c_L (c_Lᵀ ē) / ‖ē‖², the paper's equation as printed (the removed
  vector has norm ≤ 1/‖ē‖, so it removes almost nothing from states of norm ≫ 1);
* ``token``: r_i = e_i − c_L c_Lᵀ e_i, each token's own projection (LIR's form).

All of it runs in float32 or wider whatever the model's dtype (``--fp16``).
"""
import re

import torch

REMOVAL_MODES = ("sentence", "literal", "token")


def mean_pool(states, mask):
    """Mean of ``states`` (T×B×C, fairseq's layout) over the positions where ``mask`` (B×T) is True."""
    weights = mask.t().unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(0) / weights.sum(0).clamp_min(1)


class GramAccumulator:
    """Streaming M_Lᵀ M_L in float64 (§3.1 step 1): ``add`` sentence vectors batch by batch."""

    def __init__(self, dim, gram=None, count=0):
        self.gram = torch.zeros(dim, dim, dtype=torch.float64) if gram is None else gram.to(torch.float64)
        self.count = count

    def add(self, sentence_vectors):
        rows = sentence_vectors.detach().to(device="cpu", dtype=torch.float64)
        self.gram += rows.t() @ rows
        self.count += rows.shape[0]

    def components(self, k):
        """The first k right singular vectors of M_L (d×k) and its k largest singular values."""
        if not 0 < k <= self.gram.shape[0]:
            raise ValueError(f"k={k}: choose 1 <= k <= {self.gram.shape[0]} (the model dimension)")
        eigenvalues, eigenvectors = torch.linalg.eigh(self.gram)
        order = torch.argsort(eigenvalues, descending=True)[:k]
        vectors = eigenvectors[:, order]
        return canonical_signs(vectors), eigenvalues[order].clamp_min(0).sqrt()


def canonical_signs(vectors):
    """Flip each column so that its entry of largest magnitude is positive (SVD signs are arbitrary)."""
    pivot = vectors.gather(0, vectors.abs().argmax(0, keepdim=True))
    return vectors * torch.where(pivot < 0, -1.0, 1.0).to(vectors.dtype)


def remove_language_component(states, pool_mask, components, mode="sentence"):
    """r = e − removed (§3.1 step 2); returns ``(r, removed)`` in float32, T×B×C each.

    ``states`` T×B×C; ``pool_mask`` B×T (True at the sentence's own tokens); ``components``
    B×C×k, each sample's c_L (orthonormal columns). ``removed`` is what the fusion adds back.
    """
    if mode not in REMOVAL_MODES:
        raise ValueError(f"removal mode {mode!r}: choose one of {', '.join(REMOVAL_MODES)}")
    e = states.float()
    c = components.float()
    if mode == "token":
        coefficients = torch.einsum("tbc,bck->tbk", e, c)
        removed = torch.einsum("tbk,bck->tbc", coefficients, c)
    else:
        mean = mean_pool(e, pool_mask)  # B×C
        removed = torch.einsum("bck,bk->bc", c, torch.einsum("bck,bc->bk", c, mean))
        if mode == "literal":
            removed = removed / mean.pow(2).sum(-1, keepdim=True).clamp_min(1e-12)
        removed = removed.unsqueeze(0).expand_as(e)
    return e - removed, removed


def sentence_token_mask(tokens, special_token_ids):
    """B×T mask of a sentence's own tokens: not padding, BOS/EOS or a language tag (what ē averages)."""
    return ~torch.isin(tokens, special_token_ids)


def source_language_tags(tokens, pad):
    """Each row's language tag: mBART's source ends ``x </s> [L]``, so its last non-padding token (left- or
    right-padded batches)."""
    position = tokens.ne(pad).long().cumsum(1).argmax(1)
    return tokens.gather(1, position.unsqueeze(1)).squeeze(1)


LANGUAGE_TAG = re.compile(r"^\[[a-z]{2,3}_[A-Z]{2}\]$")


def special_token_ids(dictionary):
    """BOS, EOS, padding and every language tag ``[xx_YY]`` of a fairseq dictionary: the
    positions that :func:`sentence_token_mask` leaves out of ē."""
    tags = [i for i, symbol in enumerate(dictionary.symbols) if LANGUAGE_TAG.match(symbol)]
    return torch.tensor([dictionary.bos(), dictionary.eos(), dictionary.pad(), *tags], dtype=torch.long)
