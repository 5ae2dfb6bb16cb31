import math

import pytest
import torch

from fairseq_xlgen.analysis.xlrs import (
    label_overlap,
    last_token_state,
    representation_distance,
    sentence_mean,
    select_checkpoint_by_xlrs,
    spearman,
    xlrs,
)


def test_sentence_mean_excludes_padding_and_handles_both_layouts():
    # batch of 2, T=3, C=2; sample 0 has its last position padded (right padding),
    # sample 1 its first position (fairseq's left-padded source).
    states_btc = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, -100.0]],
                               [[-50.0, 9.0], [2.0, 2.0], [4.0, 0.0]]])
    mask = torch.tensor([[False, False, True], [True, False, False]])
    expected = torch.tensor([[2.0, 3.0], [3.0, 1.0]])
    assert torch.allclose(sentence_mean(states_btc, mask, batch_first=True), expected)
    assert torch.allclose(sentence_mean(states_btc.transpose(0, 1), mask), expected)

    changed = states_btc.clone()
    changed[0, 2] = torch.tensor([-7.0, 123.0])
    changed[1, 0] = torch.tensor([0.5, 0.25])
    assert torch.equal(sentence_mean(changed, mask, batch_first=True), sentence_mean(states_btc, mask, batch_first=True))


def test_sentence_mean_rejects_mismatched_mask_and_all_padding_rows():
    states = torch.zeros(3, 2, 4)  # T=3, B=2
    with pytest.raises(ValueError, match="does not match"):
        sentence_mean(states, torch.zeros(3, 2, dtype=torch.bool))  # [T, B] instead of [B, T]
    with pytest.raises(ValueError, match="only of padding"):
        sentence_mean(states, torch.tensor([[True, True, True], [False, False, False]]))


def test_fp16_states_are_pooled_in_fp32():
    # the sum 4 * 60000 overflows fp16 (max 65504); in fp32 the mean is exact
    states = torch.full((4, 1, 3), 60000.0, dtype=torch.float16)
    pooled = sentence_mean(states, torch.zeros(1, 4, dtype=torch.bool))
    assert pooled.dtype == torch.float32
    assert torch.equal(pooled, torch.full((1, 3), 60000.0))
    value = xlrs(pooled.half(), pooled.half())
    assert isinstance(value, float) and value == pytest.approx(1.0)


def test_xlrs_identical_is_one_and_orthogonal_is_zero():
    torch.manual_seed(0)
    states = torch.randn(5, 3, 8)
    mask = torch.zeros(3, 5, dtype=torch.bool)
    mask[1, 3:] = True
    pooled = sentence_mean(states, mask)
    assert xlrs(pooled, pooled) == pytest.approx(1.0, abs=1e-6)

    a = torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    b = torch.tensor([[0.0, 3.0, 0.0], [0.0, 0.0, -1.0]])
    assert xlrs(a, b) == pytest.approx(0.0, abs=1e-7)
    # mean of cos = 1 and cos = 0
    assert xlrs(a, torch.tensor([[2.0, 0.0, 0.0], [1.0, 0.0, 0.0]])) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        xlrs(a, b[:1])


def test_last_token_picks_last_real_position():
    states = torch.arange(12, dtype=torch.float16).reshape(2, 3, 2)  # [B, T, C]
    mask = torch.tensor([[False, False, True], [True, False, False]])
    out = last_token_state(states, mask, batch_first=True)
    assert out.dtype == torch.float32
    assert torch.equal(out, torch.tensor([[2.0, 3.0], [10.0, 11.0]]))


def test_representation_distance_eq4_by_hand():
    source = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    target = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    # literal Eq. 4 on parallel rows: (|(0, 2)|^2 + |(3, 4)|^2)^(1/2) = (4 + 25)^(1/2)
    assert representation_distance(source, target, variant="parallel") == pytest.approx(math.sqrt(29.0))
    # default, §V-A's language means: |(2, 3) - (0.5, 0)| = |(1.5, 3)| = sqrt(11.25)
    assert representation_distance(source, target) == pytest.approx(math.sqrt(11.25))
    assert representation_distance(source.half(), source.half()) == 0.0


def test_distance_of_means_takes_non_parallel_sets_and_does_not_grow_with_n():
    source = torch.tensor([[2.0, 0.0], [4.0, 0.0], [0.0, 3.0]])  # mean (2, 1)
    target = torch.tensor([[-1.0, 1.0]])  # one sentence only: not parallel
    assert representation_distance(source, target) == pytest.approx(3.0)  # |(3, 0)|
    with pytest.raises(ValueError):
        representation_distance(source, target, variant="parallel")
    # repeating the data 100 times leaves the means' distance as it is; the literal sum grows 10x
    a, b = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    assert representation_distance(a.repeat(100, 1), b.repeat(100, 1)) == pytest.approx(math.sqrt(11.25))
    assert representation_distance(a.repeat(100, 1), b.repeat(100, 1), variant="parallel") == pytest.approx(
        10 * math.sqrt(29.0))
    with pytest.raises(ValueError, match="variant"):
        representation_distance(a, b, variant="sum")


def test_label_overlap_by_hand():
    # sequence level, the paper's indicator: 3 of 4 parallel examples have the same label
    assert label_overlap(["yes", "no", "yes", "no"], ["yes", "no", "no", "no"]) == pytest.approx(0.75)
    # token level: target tokens found in the parallel source label (with multiplicity):
    # "3" and "Paris" of 4 tokens, none of 2, one "7" of "7 7 x" -> 3 / 9
    source = ["the cat 3 Paris", "a dog", "7 y"]
    target = ["le chat 3 Paris", "un chien", "7 7 x"]
    assert label_overlap(source, target, level="token") == pytest.approx(3 / 9)
    with pytest.raises(ValueError):
        label_overlap(["a"], ["a", "b"])


def test_spearman_known_rankings():
    rho, p_value = spearman([1, 2, 3, 4], [1, 3, 2, 4])
    assert rho == pytest.approx(1 - 6 * 2 / (4 * (16 - 1)))  # = 0.8
    assert 0.0 < p_value < 1.0
    assert spearman([0.1, 0.2, 0.3], [30, 20, 10])[0] == pytest.approx(-1.0)
    assert spearman([0.1, 0.2], [30, 20]) == (pytest.approx(-1.0), None)  # two points: no p-value


def test_select_checkpoint_by_lowest_xlrs():
    table = {"checkpoint1.pt": 0.71, "checkpoint2.pt": 0.64, "checkpoint3.pt": float("nan"), "checkpoint4.pt": 0.69}
    assert select_checkpoint_by_xlrs(table) == "checkpoint2.pt"
    assert select_checkpoint_by_xlrs([(1000, 0.5), (2000, 0.4), (3000, 0.4)]) == 2000
    with pytest.raises(ValueError):
        select_checkpoint_by_xlrs({})
