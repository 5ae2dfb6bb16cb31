"""CTC pieces of SGA (§4.3-4.4; Libovický & Helcl 2018): loss, blank rule, collapse.

The blank is XLM-R's ``<mask>`` symbol: the LM head already scores it, and it can never be a
target piece (SentencePiece never emits it, and targets are stripped of specials). The
authors' code used the real piece ``▁`` as blank, which made every word-initial ``▁`` of a
target unreachable.
"""
import torch
import torch.nn.functional as F


def pack_tokens(tokens: torch.Tensor, keep: torch.Tensor, pad: int, scores: torch.Tensor = None):
    """Left-align the ``keep`` positions of each row, right-padded with ``pad`` (and 0 scores).

    Returns ``(packed tokens (B, max kept), lengths (B,), packed scores or None)``.
    """
    lengths = keep.sum(1)
    width = max(int(lengths.max()), 1) if tokens.size(0) else 1
    out = tokens.new_full((tokens.size(0), width), pad)
    rows = torch.arange(tokens.size(0), device=tokens.device).unsqueeze(1).expand_as(tokens)
    cols = keep.long().cumsum(1) - 1
    out[rows[keep], cols[keep]] = tokens[keep]
    packed_scores = None
    if scores is not None:
        packed_scores = scores.new_zeros(out.shape)
        packed_scores[rows[keep], cols[keep]] = scores[keep]
    return out, lengths, packed_scores


def ctc_collapse(tokens: torch.Tensor, blank: int, pad: int, scores: torch.Tensor = None):
    """CTC's B mapping per row: merge repeats, then drop blanks (``a a - a b`` → ``a a b``).

    ``pad`` positions are dropped as well. Returns ``pack_tokens``'s triple.
    """
    previous = torch.cat([tokens.new_full((tokens.size(0), 1), pad), tokens[:, :-1]], 1)
    keep = tokens.ne(blank) & tokens.ne(pad) & tokens.ne(previous)
    return pack_tokens(tokens, keep, pad, scores)


def blank_rule_argmax(lprobs: torch.Tensor, blank: int, threshold: float):
    """Argmax where a blank with probability below ``threshold`` becomes the second-best token.

    The same rule is applied to the canvas the denoiser is trained on and reads in decoding, and
    to the denoising passes (the authors' training replaced every blank, their inference only
    low-confidence ones). ``threshold`` 0 gives the plain argmax, CTC's greedy decoding, which
    ``xlmr_sga`` uses for an alignment pass that no denoising pass follows. Returns
    ``(tokens, their log-probs)``.
    """
    top = lprobs.topk(2, dim=-1)
    best, second = top.indices[..., 0], top.indices[..., 1]
    weak_blank = best.eq(blank) & (top.values[..., 0].exp() < threshold)
    tokens = torch.where(weak_blank, second, best)
    scores = torch.where(weak_blank, top.values[..., 1], top.values[..., 0])
    return tokens, scores


def ctc_min_input_length(targets: torch.Tensor, target_lengths: torch.Tensor, pad: int) -> torch.Tensor:
    """Shortest canvas on which CTC can emit each target: its length plus one blank per adjacent repeat."""
    repeats = (targets[:, 1:].eq(targets[:, :-1]) & targets[:, 1:].ne(pad)).sum(1)
    return target_lengths + repeats


def ctc_loss(lprobs: torch.Tensor, input_lengths: torch.Tensor, targets: torch.Tensor,
             target_lengths: torch.Tensor, blank: int) -> torch.Tensor:
    """Summed CTC negative log-likelihood in fp32, per-sample input lengths, ``zero_infinity``.

    ``lprobs`` (B, T, V) log-probabilities; infeasible samples (target longer than its canvas)
    contribute 0 and must be counted by the caller (:func:`ctc_min_input_length`).
    """
    return F.ctc_loss(lprobs.float().transpose(0, 1), targets, input_lengths, target_lengths,
                      blank=blank, reduction="sum", zero_infinity=True)
