"""Feed-forward adapters chosen per sample (LAFT §3.2; Pfeiffer et al. 2020).

An adapter is A(x) = LayerNorm(x + U(ReLU(D(x)))), with D: d → d_a and U: d_a → d: the
bottleneck of Pfeiffer et al. with the layer normalization moved to the end, as LAFT's
appendix says. :class:`AdapterSet` holds one adapter per key (a language for LAFT's decoder
language adapters, a single ``task`` key for the Adapter baseline) and applies to each
sample the adapter its row selects, like fairseq's X-MOD layers do for languages.
"""
import torch
from fairseq.modules import LayerNorm
from torch import nn


class Adapter(nn.Module):
    def __init__(self, embed_dim, adapter_dim):
        super().__init__()
        self.down = nn.Linear(embed_dim, adapter_dim)
        self.up = nn.Linear(adapter_dim, embed_dim)
        self.layer_norm = LayerNorm(embed_dim)

    def forward(self, x):
        return self.layer_norm(x + self.up(torch.relu(self.down(x))))


class AdapterSet(nn.Module):
    """Adapters by name; ``forward(x, rows)`` applies adapter ``names[rows[b]]`` to sample b of x (T×B×C)."""

    def __init__(self, names, embed_dim, adapter_dim):
        super().__init__()
        self.names = list(names)
        self.adapters = nn.ModuleDict({name: Adapter(embed_dim, adapter_dim) for name in self.names})

    def forward(self, x, rows):
        out = torch.empty_like(x)
        unused = x.new_zeros(())
        for row, name in enumerate(self.names):
            index = (rows == row).nonzero(as_tuple=True)[0]
            if len(index):
                out.index_copy_(1, index, self.adapters[name](x.index_select(1, index)))
            elif self.training:  # every trainable tensor takes part in each step (DDP without unused-parameter search)
                unused = unused + sum(p.sum() for p in self.adapters[name].parameters()) * 0.0
        return out + unused
