"""SGA's tensor modules on hand-made inputs: prefix attention, CTC pieces, denoiser noise (paper 003 §4)."""
import math
import types

import numpy as np
import pytest
import torch
from fairseq.modules import MultiheadAttention

from fairseq_xlgen.modules.ctc import blank_rule_argmax, ctc_collapse, ctc_loss, ctc_min_input_length
from fairseq_xlgen.modules.prefix_attention import Prefix, PrefixInjector, concat_prefixes
from fairseq_xlgen.modules.sga_noise import corrupt, corrupt_batch, noise_rng


def _attention(dim=8, heads=2):
    torch.manual_seed(0)
    attn = MultiheadAttention(dim, heads, self_attention=True).eval()
    return attn, PrefixInjector([types.SimpleNamespace(self_attn=attn)])


def _manual_attention(attn, x, key_padding_mask, prefix):
    """softmax(q [K_p; K_x]^T / sqrt(d_h)) [V_p; V_x], per head, then out_proj: the definition."""
    length, bsz, dim = x.shape
    heads, head_dim = attn.num_heads, attn.head_dim
    q = attn.q_proj(x).transpose(0, 1) * head_dim ** -0.5
    keys = torch.cat([prefix.key, attn.k_proj(x).transpose(0, 1)], 1)
    values = torch.cat([prefix.value, attn.v_proj(x).transpose(0, 1)], 1)
    mask = torch.cat([prefix.padding_mask, key_padding_mask], 1)
    split = lambda t: t.reshape(bsz, -1, heads, head_dim).transpose(1, 2)  # noqa: E731
    scores = split(q) @ split(keys).transpose(-1, -2)
    scores = scores.masked_fill(mask[:, None, None, :], float("-inf")).softmax(-1)
    out = (scores @ split(values)).transpose(1, 2).reshape(bsz, length, dim)
    return attn.out_proj(out).transpose(0, 1)


def _run(attn, x, key_padding_mask):
    return attn(query=x, key=x, value=x, key_padding_mask=key_padding_mask, need_weights=False)[0]


def test_prefix_attention_equals_attention_over_concatenated_keys_values():
    attn, injector = _attention()
    torch.manual_seed(1)
    x = torch.randn(3, 2, 8)
    kpm = torch.tensor([[False, False, False], [False, False, True]])
    prefix = Prefix(torch.randn(2, 4, 8), torch.randn(2, 4, 8), torch.tensor([[False] * 4, [True, False, False, True]]))
    with injector.prefixes([prefix]):
        got = _run(attn, x, kpm)
    want = _manual_attention(attn, x, kpm, prefix)
    assert torch.allclose(got, want, atol=1e-6)
    plain = _run(attn, x, kpm)  # outside the block: the pretrained attention, untouched
    empty = Prefix(torch.zeros(2, 0, 8), torch.zeros(2, 0, 8), torch.zeros(2, 0, dtype=torch.bool))
    assert torch.allclose(plain, _manual_attention(attn, x, kpm, empty), atol=1e-6)
    assert not torch.allclose(plain, got, atol=1e-3)


def test_padding_in_semantic_prefix_changes_nothing():
    """A padded semantic prefix (garbage behind the mask) acts as the same prefix without the padding."""
    attn, injector = _attention()
    torch.manual_seed(2)
    x = torch.randn(3, 1, 8)
    kpm = torch.zeros(1, 3, dtype=torch.bool)
    sem_k, sem_v, prompt_k, prompt_v = (torch.randn(1, n, 8) for n in (2, 2, 3, 3))
    prompt = Prefix(prompt_k, prompt_v, torch.zeros(1, 3, dtype=torch.bool))
    short = concat_prefixes(Prefix(sem_k, sem_v, torch.zeros(1, 2, dtype=torch.bool)), prompt)
    garbage = torch.full((1, 3, 8), 1e3)
    padded = concat_prefixes(Prefix(torch.cat([sem_k, garbage], 1), torch.cat([sem_v, -garbage], 1),
                                    torch.tensor([[False, False, True, True, True]])), prompt)
    with injector.prefixes([short]):
        a = _run(attn, x, kpm)
    with injector.prefixes([padded]):
        b = _run(attn, x, kpm)
    assert torch.allclose(a, b, atol=1e-6)


BLANK, PAD = 9, 1


def test_ctc_collapse_merges_repeats_then_drops_blanks():
    a, b = 5, 6
    tokens = torch.tensor([[a, a, BLANK, a, b, b, BLANK, BLANK],
                           [BLANK, BLANK, BLANK, BLANK, BLANK, BLANK, BLANK, BLANK],
                           [b, BLANK, b, a, PAD, PAD, PAD, PAD]])
    scores = torch.arange(24, dtype=torch.float).view(3, 8)
    out, lengths, out_scores = ctc_collapse(tokens, BLANK, PAD, scores)
    assert lengths.tolist() == [3, 0, 3]
    assert out.tolist() == [[a, a, b], [PAD, PAD, PAD], [b, b, a]]
    assert out_scores.tolist() == [[0.0, 3.0, 4.0], [0.0, 0.0, 0.0], [16.0, 18.0, 19.0]]


def test_blank_rule_replaces_only_low_confidence_blanks():
    probs = torch.tensor([[[0.55, 0.30, 0.15],    # blank best but < 0.6 -> second best (1)
                           [0.70, 0.20, 0.10],    # confident blank stays
                           [0.20, 0.25, 0.55]]])  # a real token is untouched
    tokens, scores = blank_rule_argmax(probs.log(), blank=0, threshold=0.6)
    assert tokens.tolist() == [[1, 0, 2]]
    assert torch.allclose(scores.exp(), torch.tensor([[0.30, 0.70, 0.55]]))
    plain, _ = blank_rule_argmax(probs.log(), blank=0, threshold=0.0)
    assert plain.tolist() == [[0, 0, 2]]


def test_ctc_loss_by_hand_and_infeasible_targets():
    """T=2, target [a]: the paths a a, a -, - a; a target longer than its canvas gives 0 and is counted."""
    p = torch.tensor([[[0.6, 0.4], [0.3, 0.7]]])  # (B, T, V), blank = 0, a = 1
    loss = ctc_loss(p.log(), torch.tensor([2]), torch.tensor([[1]]), torch.tensor([1]), blank=0)
    by_hand = 0.4 * 0.7 + 0.4 * 0.3 + 0.6 * 0.7
    assert loss.item() == pytest.approx(-math.log(by_hand), rel=1e-5)
    targets = torch.tensor([[2, 2, PAD], [2, 3, 4]])
    need = ctc_min_input_length(targets, torch.tensor([2, 3]), PAD)
    assert need.tolist() == [3, 3]  # a repeat needs a blank in between
    lprobs = torch.randn(2, 2, 5).log_softmax(-1)
    assert ctc_loss(lprobs, torch.tensor([2, 2]), targets, torch.tensor([2, 3]), blank=0).item() == 0.0
    lprobs = torch.randn(2, 3, 5).log_softmax(-1)
    assert ctc_loss(lprobs, torch.tensor([3, 3]), targets, torch.tensor([2, 3]), blank=0).item() > 0.0


LOW, HIGH = 4, 10004  # real pieces; the blank lies outside


def test_noise_proportions_on_a_large_sample():
    blank = HIGH
    n_sent, length = 4000, 50
    counts, rates = np.zeros(3), []
    for i in range(n_sent):
        tokens = np.arange(LOW, LOW + length)  # distinct pieces, so a copy is recognisable
        out = corrupt(tokens, np.ones(length, dtype=bool), blank, (LOW, HIGH), noise_rng(1, 0, i))
        changed = out != tokens
        rates.append(changed.mean())
        counts += [(out[changed] == blank).sum(), (~np.isin(out[changed], tokens) & (out[changed] != blank)).sum(),
                   np.isin(out[changed], tokens).sum()]
    shares = counts / counts.sum()
    assert counts.sum() > 15000
    assert np.mean(rates) == pytest.approx(0.1, abs=0.005)  # E[U(0, 0.2)]
    assert np.mean(np.asarray(rates) > 0.3) < 0.005  # rates come from U(0, 0.2), binomial spread aside
    assert shares == pytest.approx([0.4, 0.3, 0.3], abs=0.015)


def test_noise_never_touches_or_copies_specials_and_is_seeded():
    blank = 50
    bos, eos, pad = 0, 2, 1
    tokens = torch.tensor([[bos, 7, blank, 8, blank, 9, eos, pad, pad],
                           [bos, blank, 11, blank, blank, blank, blank, blank, eos]])
    canvas = tokens.ne(bos) & tokens.ne(eos) & tokens.ne(pad)
    seen = torch.zeros(2, 9, dtype=torch.bool)
    for update in range(300):
        out = corrupt_batch(tokens, canvas, blank, (4, blank), [noise_rng(3, update, i) for i in range(2)], max_rate=1.0)
        assert torch.equal(out[~canvas], tokens[~canvas])  # specials and padding stay
        inside = out[canvas]
        assert not ((inside < 4) & (inside != blank)).any()  # never <s>, </s>, <pad>, <unk>
        seen |= out.ne(tokens)
    assert seen[canvas].all()
    again = [noise_rng(3, 7, i) for i in range(2)]
    first = corrupt_batch(tokens, canvas, blank, (4, blank), [noise_rng(3, 7, i) for i in range(2)], max_rate=1.0)
    assert torch.equal(first, corrupt_batch(tokens, canvas, blank, (4, blank), again, max_rate=1.0))
    with pytest.raises(ValueError, match="blank"):
        corrupt(np.array([5]), np.array([True]), 6, (4, 10), noise_rng(0, 0, 0))
