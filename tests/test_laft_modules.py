"""LAFT's maths (paper 001 §3) on hand-worked numbers: removal, streaming SVD, fusion, adapters,
the TM+adv gate and gradient separation, its adversary losses, and the held-out language probe."""
import torch
import pytest

from fairseq_xlgen.analysis.language_probe import probe_accuracy
from fairseq_xlgen.modules.fusion import LanguageFusion
from fairseq_xlgen.modules.language_adapter import Adapter, AdapterSet
from fairseq_xlgen.modules.language_adversary import GatedCombination, LanguageClassifier, adversarial_losses
from fairseq_xlgen.modules.language_components import (
    GramAccumulator, canonical_signs, mean_pool, remove_language_component, sentence_token_mask,
    source_language_tags)

# One sentence (B=1) of three positions in d=2: tokens (3,4) and (1,0), then a special (100,100)
# that pooling skips. c = (1,0)ᵀ (k=1). Sentence mean ē = (2,2), ‖ē‖² = 8.
STATES = torch.tensor([[[3.0, 4.0]], [[1.0, 0.0]], [[100.0, 100.0]]])
POOL_MASK = torch.tensor([[True, True, False]])
C = torch.tensor([[[1.0], [0.0]]])


def test_mean_pool_skips_masked_positions():
    assert mean_pool(STATES, POOL_MASK).tolist() == [[2.0, 2.0]]


@pytest.mark.parametrize("mode, removed_rows", [
    ("sentence", [[2.0, 0.0], [2.0, 0.0], [2.0, 0.0]]),           # c cᵀ ē = (2, 0) for every token
    ("literal", [[0.25, 0.0], [0.25, 0.0], [0.25, 0.0]]),         # c cᵀ ē / ‖ē‖² = (2, 0) / 8
    ("token", [[3.0, 0.0], [1.0, 0.0], [100.0, 0.0]]),            # c cᵀ e_i per token
])
def test_removal_forms_on_hand_worked_numbers(mode, removed_rows):
    r, removed = remove_language_component(STATES, POOL_MASK, C, mode)
    assert removed[:, 0].tolist() == removed_rows
    assert torch.equal(r, STATES - removed)


def test_sentence_removal_leaves_no_component_in_the_pooled_mean():
    torch.manual_seed(0)
    states = torch.randn(7, 3, 16) + 5
    mask = torch.rand(3, 7) > 0.3
    c = torch.linalg.qr(torch.randn(3, 16, 4))[0]  # orthonormal columns per sample
    r, _ = remove_language_component(states, mask, c, "sentence")
    assert torch.einsum("bck,bc->bk", c, mean_pool(r, mask)).abs().max() < 1e-4


def test_removal_runs_in_fp32_for_half_states():
    r, removed = remove_language_component(STATES.half(), POOL_MASK, C.half(), "sentence")
    assert r.dtype == removed.dtype == torch.float32


def test_source_language_tag_is_the_last_real_token_with_either_padding_side():
    pad = 1
    tokens = torch.tensor([[7, 8, 2, 30],  # x x </s> [L]: no padding
                           [1, 9, 2, 31],  # left-padded: <pad> x </s> [L]
                           [9, 2, 32, 1]])  # right-padded: x </s> [L] <pad>
    assert source_language_tags(tokens, pad).tolist() == [30, 31, 32]


def test_sentence_token_mask_excludes_specials():
    tokens = torch.tensor([[5, 6, 2, 30, 1], [7, 2, 31, 1, 1]])  # x </s> [lang] <pad>
    assert sentence_token_mask(tokens, torch.tensor([0, 2, 1, 30, 31])).tolist() == [
        [True, True, False, False, False], [True, False, False, False, False]]


def test_streaming_gram_equals_direct_svd_up_to_sign():
    torch.manual_seed(1)
    m = torch.randn(600, 10, dtype=torch.float64) @ torch.randn(10, 10, dtype=torch.float64) + 3
    gram = GramAccumulator(10)
    for chunk in m.split(37):
        gram.add(chunk.float())
    assert gram.count == 600 and gram.gram.shape == (10, 10) and gram.gram.dtype == torch.float64
    vectors, singular = gram.components(k=6)
    _, s, vh = torch.linalg.svd(m.float().double(), full_matrices=False)
    assert torch.allclose(singular, s[:6], rtol=1e-6)
    assert torch.allclose(vectors.abs(), vh[:6].t().abs(), atol=1e-6)
    assert torch.allclose(vectors, canonical_signs(vh[:6].t()), atol=1e-6)


def test_gram_rejects_k_outside_the_dimension():
    with pytest.raises(ValueError, match="1 <= k <= 4"):
        GramAccumulator(4).components(5)


def test_fusion_on_hand_worked_numbers():
    """B(h, c) = U(ReLU(D([h, c]))) + h with d_h = d_a = 1, D = [1, 2], U = [3], no biases."""
    fusion = LanguageFusion(1, 1)
    with torch.no_grad():
        fusion.down.weight.copy_(torch.tensor([[1.0, 2.0]]))
        fusion.up.weight.fill_(3.0)
        fusion.down.bias.zero_()
        fusion.up.bias.zero_()
    h = torch.ones(1, 1, 1)
    assert fusion(h, torch.ones(1, 1, 1)).item() == 10.0  # 3·relu(1 + 2) + 1
    assert fusion(h, -2 * torch.ones(1, 1, 1)).item() == 1.0  # relu(1 − 4) = 0
    assert sum(p.numel() for p in LanguageFusion(1024, 1024).parameters()) == 3_147_776  # issue's count


def test_adapter_ends_with_layer_norm_and_has_the_paper_size():
    adapter = Adapter(4, 3)
    with torch.no_grad():
        adapter.up.weight.zero_()
        adapter.up.bias.zero_()
    x = torch.tensor([[[1.0, 2.0, 3.0, 6.0]]])
    assert torch.allclose(adapter(x), torch.nn.functional.layer_norm(x, (4,)), atol=1e-6)
    assert sum(p.numel() for p in Adapter(1024, 1024).parameters()) == 2_101_248  # 25,214,976 / 12 layers


def test_adapter_set_applies_each_samples_adapter_and_touches_absent_ones():
    torch.manual_seed(2)
    adapters = AdapterSet(["en_XX", "zh_CN", "ru_RU"], 4, 3).train()
    x = torch.randn(5, 3, 4)
    rows = torch.tensor([1, 0, 1])
    out = adapters(x, rows)
    for b, name in enumerate(["zh_CN", "en_XX", "zh_CN"]):
        assert torch.allclose(out[:, b], adapters.adapters[name](x[:, b:b + 1])[:, 0], atol=1e-6)
    out.sum().backward()
    assert all(p.grad is not None for p in adapters.parameters())  # ru_RU too (zero): DDP sees every tensor
    assert all(p.grad.abs().sum() == 0 for p in adapters.adapters["ru_RU"].parameters())


def test_gate_and_classifier_gradients_are_separated():
    gate = GatedCombination(2)
    with torch.no_grad():
        gate.proj.weight.zero_()
        gate.proj.bias.zero_()
    h, e = torch.tensor([[[2.0, 4.0]]]), torch.tensor([[[0.0, 2.0]]])
    assert gate(h, e).tolist() == [[[1.0, 3.0]]]  # α = sigmoid(0) = 0.5

    classifier = LanguageClassifier(2)
    pooled = torch.tensor([[1.0, -1.0], [0.5, 2.0]], requires_grad=True)
    l_cls, l_adv = adversarial_losses(classifier, pooled, torch.tensor([1, 0]))
    l_cls.backward()
    assert pooled.grad is None and classifier.weight.grad.abs().sum() > 0
    classifier.weight.grad = None
    l_adv.backward()
    assert classifier.weight.grad is None and pooled.grad.abs().sum() > 0
    # L_adv is L_cls with the labels flipped: at W_c = 0 both are 2·log 2
    with torch.no_grad():
        classifier.weight.zero_()
    l_cls, l_adv = adversarial_losses(classifier, pooled, torch.tensor([1, 0]))
    assert l_cls.item() == pytest.approx(2 * torch.log(torch.tensor(2.0)).item())
    assert l_adv.item() == pytest.approx(l_cls.item())


@pytest.mark.parametrize("mode, l_adv", [
    # logits z = (1, 0.5) for labels (1, 0); L_cls = softplus(-1) + softplus(0.5) = 1.28734
    ("flip", 1.78734),        # labels (0, 1): softplus(1) + softplus(-0.5)
    ("reverse", -1.28734),    # −L_cls (gradient reversal)
    ("confusion", 1.53734),   # target 1/2: softplus(z) − z/2 summed = 0.81326 + 0.72408
])
def test_adversary_losses_by_mode(mode, l_adv):
    classifier = LanguageClassifier(2)
    with torch.no_grad():
        classifier.weight.copy_(torch.tensor([[1.0, 0.0]]))
    pooled = torch.tensor([[1.0, -1.0], [0.5, 2.0]], requires_grad=True)
    l_cls, adv = adversarial_losses(classifier, pooled, torch.tensor([1, 0]), mode)
    assert l_cls.item() == pytest.approx(1.28734, abs=1e-5)
    assert adv.item() == pytest.approx(l_adv, abs=1e-5)
    adv.backward()
    assert classifier.weight.grad is None and pooled.grad.abs().sum() > 0


def test_confusion_loss_is_flat_at_chance():
    """The domain-confusion target 1/2 has zero gradient where the classifier is at chance (logit 0);
    flipped labels still push there (towards the inverted language)."""
    classifier = LanguageClassifier(2)
    with torch.no_grad():
        classifier.weight.copy_(torch.tensor([[1.0, 0.0]]))
    for mode, flat in (("confusion", True), ("flip", False)):
        pooled = torch.tensor([[0.0, -1.0], [0.0, 2.0]], requires_grad=True)  # logits 0
        _, adv = adversarial_losses(classifier, pooled, torch.tensor([1, 1]), mode)
        adv.backward()
        assert (pooled.grad.abs().max().item() < 1e-6) == flat


def test_mlp_classifier_keeps_the_gradients_separated():
    classifier = LanguageClassifier(3, hidden_dim=4)
    assert sum(p.numel() for p in classifier.parameters()) == 3 * 4 + 4 + 4
    pooled = torch.randn(5, 3, requires_grad=True)
    l_cls, l_adv = adversarial_losses(classifier, pooled, torch.tensor([1, 0, 1, 0, 0]))
    l_cls.backward()
    assert pooled.grad is None and all(p.grad is not None for p in classifier.parameters())
    classifier.zero_grad(set_to_none=True)
    l_adv.backward()
    assert all(p.grad is None for p in classifier.parameters()) and pooled.grad.abs().sum() > 0


def test_probe_reads_a_language_that_fools_the_trained_classifier():
    """The failure mode of flipped labels: the representation of language 0 at +1, language 1 at −1
    along one axis fools a classifier that learnt the opposite signs (0% correct), yet a fresh
    logistic regression reads it perfectly."""
    x = torch.tensor([[1.0, 0.3], [1.0, -0.2], [-1.0, 0.1], [-1.0, 0.4]] * 4)
    y = torch.tensor([0, 0, 1, 1] * 4)
    fooled = (x[:, 0] > 0).long()  # the classifier's rule: positive = language 1
    assert fooled.eq(y).float().mean().item() == 0.0
    assert probe_accuracy(x[:12], y[:12], x[12:], y[12:]) == (1.0, 0.5)


def test_probe_without_language_information_is_at_chance():
    """Identical vectors for three balanced languages: every prediction is the same class, 1/3 correct."""
    x = torch.ones(12, 4)
    y = torch.tensor([0, 1, 2] * 4)
    accuracy, chance = probe_accuracy(x[:9], y[:9], x[9:], y[9:])
    assert accuracy == pytest.approx(1 / 3) and chance == pytest.approx(1 / 3)
