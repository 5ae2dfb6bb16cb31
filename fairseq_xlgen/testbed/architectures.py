"""Architectures matching the tiny pretrained fixtures (:class:`~fairseq_xlgen.testbed.sizes.TinyModelConfig`
defaults), for every model that a tiny backbone initialises.

``--arch mbart_tiny`` stands where a real run says ``--arch mbart_large``, ``--arch xlmr_tiny`` where it
says ``roberta_base``, and ``mbart_laft_tiny`` / ``mbart_tm_adv_tiny`` / ``xlmr_sga_tiny`` /
``xlmr_transformer_tiny`` where it says ``*_large`` or ``*_base``; everything else in a command stays the
same. The plugin registers them on import, after the models (``fairseq_xlgen/__init__.py``).
"""
from fairseq.models import register_model_architecture
from fairseq.models.bart.model import mbart_large_architecture
from fairseq.models.roberta.model import base_architecture as roberta_base_architecture

from fairseq_xlgen.models.mbart_laft import laft_defaults
from fairseq_xlgen.models.xlmr_sga import fill_encoder_sizes
from fairseq_xlgen.models.xlmr_transformer import fill_encoder_decoder_sizes
from fairseq_xlgen.testbed.sizes import TinyModelConfig

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


def _tiny_laft(args, variant):
    mbart_tiny_architecture(args)
    _set_default(args, "fusion_dim", args.encoder_embed_dim)
    laft_defaults(args, variant)


@register_model_architecture("mbart_laft", "mbart_laft_tiny")
def mbart_laft_tiny_architecture(args):
    _tiny_laft(args, "laft")


@register_model_architecture("mbart_laft", "mbart_tm_adv_tiny")
def mbart_tm_adv_tiny_architecture(args):
    _tiny_laft(args, "tm_adv")


@register_model_architecture("xlmr_sga", "xlmr_sga_tiny")
def xlmr_sga_tiny(args):
    """The tiny XLM-R fixture's sizes (``TinyModelConfig.xlmr_*``)."""
    fill_encoder_sizes(args, _TINY.xlmr_layers, _TINY.xlmr_embed_dim, _TINY.xlmr_ffn_dim, _TINY.xlmr_heads,
                       _TINY.max_positions)


@register_model_architecture("xlmr_transformer", "xlmr_transformer_tiny")
def xlmr_transformer_tiny(args):
    """The tiny XLM-R fixture's sizes (``TinyModelConfig.xlmr_*``) on both sides."""
    fill_encoder_decoder_sizes(args, _TINY.xlmr_layers, _TINY.xlmr_embed_dim, _TINY.xlmr_ffn_dim, _TINY.xlmr_heads,
                               _TINY.max_positions)
