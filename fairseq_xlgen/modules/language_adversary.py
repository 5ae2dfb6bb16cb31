"""The TM + adv baseline of LAFT's appendix (paper 001): gated mechanism and language classifier.

Gate: α_i = sigmoid(W_g [h_i, e_i] + b_g), g_i = α_i·h_i + (1 − α_i)·e_i, with h the task
module's output and e the encoder's. Classifier: ŷ = sigmoid(h̄ W_cᵀ), h̄ the mean-pooled task
module output, the probability that the text is in the source language (``hidden_dim`` > 0:
an MLP discriminator, W_c(ReLU(W_h h̄ + b_h)), an option outside the paper). Its two losses
train different parameters (appendix; the gradients are separated here, not by a reversal
layer): L_cls (recognise the language) updates only the classifier, L_adv (fool it) only the
task module — see :func:`classifier_logits` and :func:`adversary_logits`.

L_adv (``mode``): ``flip`` is the paper's, the classifier's loss with flipped labels;
``reverse`` is −L_cls, the gradient reversal of Ganin & Lempitsky (2015); ``confusion`` is the
cross-entropy against ŷ = 1/2, the domain confusion loss of Tzeng et al. (2015), whose
minimum is a classifier at chance rather than one that is always wrong.
"""
import torch
import torch.nn.functional as F
from torch import nn

ADVERSARY_MODES = ("flip", "reverse", "confusion")


class GatedCombination(nn.Module):
    def __init__(self, embed_dim):
        super().__init__()
        self.proj = nn.Linear(2 * embed_dim, 1)  # W_g, b_g

    def forward(self, task_out, encoder_out):
        alpha = torch.sigmoid(self.proj(torch.cat([task_out, encoder_out], dim=-1)))
        return alpha * task_out + (1 - alpha) * encoder_out


class LanguageClassifier(nn.Module):
    def __init__(self, embed_dim, hidden_dim=0):
        super().__init__()
        self.hidden = nn.Linear(embed_dim, hidden_dim) if hidden_dim else None  # W_h, b_h (MLP option)
        self.weight = nn.Parameter(torch.empty(1, hidden_dim or embed_dim))  # W_c, no bias as in the appendix
        nn.init.normal_(self.weight, std=(hidden_dim or embed_dim) ** -0.5)
        self.num_updates = 0

    def set_num_updates(self, num_updates):
        """The trainer's update number (fairseq calls it before each training step): ``--adversary-every``."""
        self.num_updates = num_updates

    def _logits(self, pooled, parameters):
        x = pooled.float()
        if self.hidden is not None:
            x = F.relu(F.linear(x, parameters["hidden.weight"].float(), parameters["hidden.bias"].float()))
        return F.linear(x, parameters["weight"].float()).squeeze(-1)

    def classifier_logits(self, pooled):
        """Logit of ŷ for L_cls: gradients reach the classifier only (the pooled state is detached)."""
        return self._logits(pooled.detach(), dict(self.named_parameters()))

    def adversary_logits(self, pooled):
        """Logit of ŷ for L_adv: gradients reach the pooled state only (the classifier is detached)."""
        return self._logits(pooled, {name: p.detach() for name, p in self.named_parameters()})


def adversarial_losses(classifier, pooled, is_source, mode="flip"):
    """(L_cls, L_adv) summed over the batch, in fp32; ``is_source`` is 1 for source-language texts."""
    if mode not in ADVERSARY_MODES:
        raise ValueError(f"adversary mode {mode!r}: choose one of {', '.join(ADVERSARY_MODES)}")
    target = is_source.float()
    l_cls = F.binary_cross_entropy_with_logits(classifier.classifier_logits(pooled), target, reduction="sum")
    logits = classifier.adversary_logits(pooled)
    if mode == "reverse":
        return l_cls, -F.binary_cross_entropy_with_logits(logits, target, reduction="sum")
    adversary_target = 1 - target if mode == "flip" else torch.full_like(target, 0.5)
    return l_cls, F.binary_cross_entropy_with_logits(logits, adversary_target, reduction="sum")
