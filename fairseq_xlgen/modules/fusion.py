"""Fusion of the subtracted language components with the task module's output (LAFT §3.2).

B(h_i, c) = U(ReLU(D([h_i, c]))) + h_i, with D: 2·d_h → d_a and U: d_a → d_h (d_a = 1024 in
the paper). The paper leaves open how the d×k matrix c_L becomes a per-token input of size
d_h. Here c is the vector that the removal subtracted from token i (c_L c_Lᵀ ē for the
default ``sentence`` removal): it is what "the subtracted language components" are for this
sentence, it is invariant to the arbitrary signs of the singular vectors, and it has the
size d_h that D's 2·d_h inputs call for.
"""
import torch
from torch import nn


class LanguageFusion(nn.Module):
    def __init__(self, embed_dim, fusion_dim):
        super().__init__()
        self.down = nn.Linear(2 * embed_dim, fusion_dim)  # D
        self.up = nn.Linear(fusion_dim, embed_dim)  # U

    def forward(self, hidden, language_vector):
        """``hidden`` h (T×B×C), ``language_vector`` c (T×B×C, broadcastable): returns B(h, c)."""
        c = language_vector.to(hidden.dtype).expand_as(hidden)
        return self.up(torch.relu(self.down(torch.cat([hidden, c], dim=-1)))) + hidden
