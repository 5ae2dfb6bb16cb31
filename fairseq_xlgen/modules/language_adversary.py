"""The TM + adv baseline of LAFT's appendix (paper 001): gated mechanism and language classifier.

Gate: α_i = sigmoid(W_g [h_i, e_i] + b_g), g_i = α_i·h_i + (1 − α_i)·e_i, with h the task
module's output and e the encoder's. Classifier: ŷ = sigmoid(h̄ W_cᵀ), h̄ the mean-pooled task
module output, the probability that the text is in the source language. Its two losses
train different parameters (appendix; the gradients are separated here, not by a reversal
layer): L_cls (recognise the language) updates only W_c, L_adv (fool the classifier, labels
flipped) only the task module — see :func:`classifier_logits` and :func:`adversary_logits`.
"""
import torch
import torch.nn.functional as F
from torch import nn


class GatedCombination(nn.Module):
    def __init__(self, embed_dim):
        super().__init__()
        self.proj = nn.Linear(2 * embed_dim, 1)  # W_g, b_g

    def forward(self, task_out, encoder_out):
        alpha = torch.sigmoid(self.proj(torch.cat([task_out, encoder_out], dim=-1)))
        return alpha * task_out + (1 - alpha) * encoder_out


class LanguageClassifier(nn.Module):
    def __init__(self, embed_dim):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(1, embed_dim))  # W_c, no bias as in the appendix
        nn.init.normal_(self.weight, std=embed_dim ** -0.5)

    def classifier_logits(self, pooled):
        """Logit of ŷ for L_cls: gradients reach W_c only (the pooled state is detached)."""
        return F.linear(pooled.detach().float(), self.weight.float()).squeeze(-1)

    def adversary_logits(self, pooled):
        """Logit of ŷ for L_adv: gradients reach the pooled state only (W_c is detached)."""
        return F.linear(pooled.float(), self.weight.detach().float()).squeeze(-1)


def adversarial_losses(classifier, pooled, is_source):
    """(L_cls, L_adv) summed over the batch, in fp32; ``is_source`` is 1 for source-language texts."""
    target = is_source.float()
    l_cls = F.binary_cross_entropy_with_logits(classifier.classifier_logits(pooled), target, reduction="sum")
    l_adv = F.binary_cross_entropy_with_logits(classifier.adversary_logits(pooled), 1 - target, reduction="sum")
    return l_cls, l_adv
