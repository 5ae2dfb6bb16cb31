"""Architectures matching the tiny pretrained fixtures (:class:`TinyModelConfig` defaults).

``--arch mbart_tiny`` stands where a real run says ``--arch mbart_large``, and ``--arch
xlmr_tiny`` where it says ``roberta_base``; everything else in a command stays the same.
"""
from fairseq.models import register_model_architecture
from fairseq.models.bart.model import mbart_large_architecture
from fairseq.models.roberta.model import base_architecture as roberta_base_architecture

from fairseq_xlgen.pretrained import TinyModelConfig

_TINY = TinyModelConfig()


def _set_default(args, name, value):
    setattr(args, name, getattr(args, name, value))


@register_model_architecture("bart", "mbart_tiny")
def mbart_tiny_architecture(args):
    for side in ("encoder", "decoder"):
        _set_default(args, f"{side}_embed_dim", _TINY.embed_dim)
        _set_default(args, f"{side}_ffn_embed_dim", _TINY.ffn_dim)
        _set_default(args, f"{side}_layers", _TINY.layers)
        _set_default(args, f"{side}_attention_heads", _TINY.heads)
    _set_default(args, "max_source_positions", _TINY.max_positions)
    _set_default(args, "max_target_positions", _TINY.max_positions)
    mbart_large_architecture(args)


@register_model_architecture("roberta", "xlmr_tiny")
def xlmr_tiny_architecture(args):
    """The default XLM-R fixture's sizes (``TinyModelConfig.xlmr_*``)."""
    _set_default(args, "encoder_embed_dim", _TINY.xlmr_embed_dim)
    _set_default(args, "encoder_ffn_embed_dim", _TINY.xlmr_ffn_dim)
    _set_default(args, "encoder_layers", _TINY.xlmr_layers)
    _set_default(args, "encoder_attention_heads", _TINY.xlmr_heads)
    _set_default(args, "max_positions", _TINY.max_positions)
    roberta_base_architecture(args)
