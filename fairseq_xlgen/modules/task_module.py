"""The task module (TM) of LAFT (paper 001 §3): Transformer encoder layers between the
encoder and the decoder, with the backbone's layer settings (appendix: "the same as the
transformer layer in the mBART-large model"; two layers).

No final LayerNorm: the module is exactly its layers (25,192,448 parameters for two
mBART-large layers, Table 3's 3.8%). mBART's layers are pre-norm, so the module's output
is the input's residual stream plus the layers' updates.
"""
from fairseq.modules import TransformerEncoderLayer
from torch import nn


class TaskModule(nn.Module):
    def __init__(self, args, num_layers=2):
        super().__init__()
        self.layers = nn.ModuleList(TransformerEncoderLayer(args) for _ in range(num_layers))

    def forward(self, x, padding_mask):
        """``x`` T×B×C, ``padding_mask`` B×T (True at padding)."""
        for layer in self.layers:
            x = layer(x, encoder_padding_mask=padding_mask if padding_mask.any() else None)
        return x
