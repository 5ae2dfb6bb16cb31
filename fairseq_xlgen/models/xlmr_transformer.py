"""``xlmr_transformer``: the autoregressive baseline of SGA ("AT initialization", paper 003 §5, Table 1).

A fairseq :class:`~fairseq.models.transformer.TransformerModel` whose encoder is XLM-R: RoBERTa's
``sentence_encoder`` *is* a fairseq ``TransformerEncoder`` (post-norm, ``layernorm_embedding``,
learned positions offset by ``padding_idx + 1``, unscaled embeddings, GELU), so
``--pretrained-xlmr-checkpoint`` copies its weights one to one. The decoder has the encoder's
depth and width, the same post-norm/GELU style, and shares the (250k) embedding matrix with the
encoder and the output projection; everything is trained, and decoding is fairseq's beam search.

The task's dictionary must be XLM-R's dict.txt (``fairseq-preprocess --srcdict/--tgtdict
xlmr.base/dict.txt``, as ``data_prep/prepare_translation.sh`` does). fairseq's ``masked_lm``
appends ``<mask>`` to it and the translation task does not, so the copied embedding drops
that last row. The checkpoint is read whenever the model is built, also by
``fairseq-generate``; where it is absent pass ``--model-overrides
"{'pretrained_xlmr_checkpoint': None}"`` (the trained weights come from the checkpoint anyway).
"""
import logging

from fairseq.models import register_model, register_model_architecture
from fairseq.models.transformer import TransformerEncoder, TransformerModel
from fairseq.models.transformer.transformer_legacy import base_architecture as transformer_base_architecture

from fairseq_xlgen.pretrained import PretrainedModelError, load_xlmr

logger = logging.getLogger(__name__)

#: (args name, RoBERTa args name) of the sizes that must agree with the checkpoint.
_ENCODER_SIZES = (("encoder_layers", "encoder_layers"), ("encoder_embed_dim", "encoder_embed_dim"),
                  ("encoder_ffn_embed_dim", "encoder_ffn_embed_dim"),
                  ("encoder_attention_heads", "encoder_attention_heads"),
                  ("max_source_positions", "max_positions"))


def xlmr_encoder_state(hub, dictionary, args, path):
    """The XLM-R sentence encoder's state dict for a TransformerEncoder over ``dictionary``.

    Checks that the sizes match ``args`` and that ``dictionary`` is XLM-R's (up to ``<mask>``).
    """
    xlmr_args = hub.cfg.model
    for name, xlmr_name in _ENCODER_SIZES:
        if getattr(args, name) != getattr(xlmr_args, xlmr_name):
            raise ValueError(
                f"--pretrained-xlmr-checkpoint {path}: has {xlmr_name}={getattr(xlmr_args, xlmr_name)} but the "
                f"model has --{name.replace('_', '-')} {getattr(args, name)}; use the matching --arch "
                "(xlmr_transformer_base/_large/_tiny) or set the sizes")
    xlmr_symbols = hub.task.source_dictionary.symbols
    if dictionary.symbols != xlmr_symbols[: len(dictionary)] or len(xlmr_symbols) - len(dictionary) not in (0, 1):
        raise ValueError(f"--pretrained-xlmr-checkpoint {path}: the data's dictionary ({len(dictionary)} entries) "
                         f"is not the checkpoint's dict.txt ({len(xlmr_symbols)} with <mask>); binarize with "
                         "fairseq-preprocess --srcdict/--tgtdict pointing to its dict.txt")
    state = hub.model.encoder.sentence_encoder.state_dict()
    state["embed_tokens.weight"] = state["embed_tokens.weight"][: len(dictionary)]
    return state


class SourceLanguageBlindEncoder(TransformerEncoder):
    """fairseq's encoder, taking (and ignoring) the ``src_lang`` of ``sga_translation`` batches."""

    def forward(self, src_tokens, src_lengths=None, return_all_hiddens=False, token_embeddings=None, src_lang=None):
        return super().forward(src_tokens, src_lengths, return_all_hiddens, token_embeddings)


@register_model("xlmr_transformer")
class XLMRTransformerModel(TransformerModel):
    """TransformerModel with an XLM-R encoder and a decoder of the same depth and width.

    It trains and decodes on ``sga_translation`` data like ``xlmr_sga`` (one model for every source
    language: the batches' ``src_lang`` is ignored), or on fairseq's ``translation`` data.
    """

    @staticmethod
    def add_args(parser):
        TransformerModel.add_args(parser)
        parser.add_argument("--pretrained-xlmr-checkpoint", metavar="DIR_OR_FILE", default=None,
                            help="initialise the encoder (and the shared embeddings) from this xlmr.base-style "
                                 "directory or model.pt; none: random initialization")

    @classmethod
    def build_model(cls, args, task):
        path = getattr(args, "pretrained_xlmr_checkpoint", None)
        model = super().build_model(args, task)
        if path:
            try:
                hub, _ = load_xlmr(path)
            except PretrainedModelError as e:
                raise ValueError(f"--pretrained-xlmr-checkpoint {e}") from None
            model.encoder.load_state_dict(xlmr_encoder_state(hub, task.source_dictionary, args, path), strict=True)
            logger.info("encoder and shared embeddings initialised from XLM-R %s", path)
        return model

    @classmethod
    def build_encoder(cls, args, src_dict, embed_tokens):
        return SourceLanguageBlindEncoder(args, src_dict, embed_tokens)

    def forward(self, src_tokens, src_lengths, prev_output_tokens, src_lang=None, **kwargs):
        return super().forward(src_tokens, src_lengths, prev_output_tokens, **kwargs)


def fill_encoder_decoder_sizes(args, layers, dim, ffn, heads, positions):
    """Encoder and decoder of the same depth/width, in XLM-R's style (RoBERTa's base_architecture).

    Sizes given on the command line win, except the positions, which are XLM-R's.
    """
    for side in ("encoder", "decoder"):
        setattr(args, f"{side}_layers", getattr(args, f"{side}_layers", layers))
        setattr(args, f"{side}_embed_dim", getattr(args, f"{side}_embed_dim", dim))
        setattr(args, f"{side}_ffn_embed_dim", getattr(args, f"{side}_ffn_embed_dim", ffn))
        setattr(args, f"{side}_attention_heads", getattr(args, f"{side}_attention_heads", heads))
        setattr(args, f"{side}_learned_pos", getattr(args, f"{side}_learned_pos", True))
        setattr(args, f"{side}_normalize_before", getattr(args, f"{side}_normalize_before", False))
    # XLM-R's position table fixes the encoder's (and, alike, the decoder's) length; set even over
    # the translation task's default of 1024, which would otherwise stand here
    args.max_source_positions = args.max_target_positions = positions
    args.layernorm_embedding = getattr(args, "layernorm_embedding", True)
    args.no_scale_embedding = getattr(args, "no_scale_embedding", True)
    args.activation_fn = getattr(args, "activation_fn", "gelu")
    args.dropout = getattr(args, "dropout", 0.1)
    args.attention_dropout = getattr(args, "attention_dropout", 0.1)
    args.share_all_embeddings = getattr(args, "share_all_embeddings", True)
    transformer_base_architecture(args)


@register_model_architecture("xlmr_transformer", "xlmr_transformer_base")
def xlmr_transformer_base(args):
    """xlmr.base encoder (12 layers, d=768) + a 12-layer decoder."""
    fill_encoder_decoder_sizes(args, 12, 768, 3072, 12, 512)


@register_model_architecture("xlmr_transformer", "xlmr_transformer_large")
def xlmr_transformer_large(args):
    """xlmr.large encoder (24 layers, d=1024) + a 24-layer decoder."""
    fill_encoder_decoder_sizes(args, 24, 1024, 4096, 16, 512)
