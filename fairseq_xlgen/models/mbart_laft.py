"""``mbart_laft``: language-agnostic finetuning of mBART (LAFT, paper 001) and its baselines.

LAFT (``--laft-variant laft``, archs ``mbart_laft_{large,base,tiny}``), §3:

    e = Encoder(x)                                  frozen mBART encoder
    r_i = e_i − removed_i                            language components removed (§3.1, source tag)
    h = TM(r)                                        task module, 2 Transformer layers
    B(h_i, c) = U(ReLU(D([h_i, removed_i]))) + h_i   fusion (§3.2)
    decoder(B, y)                                    frozen mBART decoder + one adapter per target
                                                     language after every layer (§3.2)

Stages (``--laft-stage``, §3.3): 1 = mBART text-infilling on source- and target-language
monolingual text, the task module, fusion and language adapters train; 2 = task finetuning
on source-language data, only the task module trains.

Baselines of Tables 1-3 (same code, ``--laft-variant``; one row each of :data:`VARIANTS`): ``full``
(every parameter), ``enc`` (the encoder without the shared embedding), ``enc_top2`` (the top two
encoder layers), ``adapter`` (a task adapter after every encoder and decoder layer, Pfeiffer et al.
2020, only adapters train) and ``tm_adv`` (archs ``mbart_tm_adv_*``: task module + gated mechanism
g = α·h + (1 − α)·e + language classifier, the whole model trains, with the
``language_adversarial`` criterion; appendix).

The source language is read from the source's final ``[lang]`` token, the target language
from the decoder's first token (``[lang]``), as in mBART's finetuning format (source
``x </s> [src]``, decoder ``[tgt] y …``) and in ``multilingual_denoising``.
"""
import logging
import os
import re
from dataclasses import dataclass, field, fields
from typing import Callable, Optional

import torch
from fairseq.dataclass import ChoiceEnum, FairseqDataclass
from fairseq.dataclass.utils import gen_parser_from_dataclass
from fairseq.models import register_model, register_model_architecture
from fairseq.models.bart.model import BARTModel, mbart_base_architecture, mbart_large_architecture
from fairseq.models.transformer import TransformerConfig, TransformerDecoderBase, TransformerEncoderBase
from fairseq.modules.transformer_layer import TransformerDecoderLayerBase, TransformerEncoderLayerBase

from fairseq_xlgen.data.language_components_file import components_for, encoder_fingerprint, load_components
from fairseq_xlgen.errors import InputError
from fairseq_xlgen.modules.fusion import LanguageFusion
from fairseq_xlgen.modules.language_adapter import AdapterSet
from fairseq_xlgen.modules.language_adversary import GatedCombination, LanguageClassifier
from fairseq_xlgen.modules.language_components import (REMOVAL_MODES, remove_language_component, sentence_token_mask,
                                                       source_language_tags, special_token_ids)
from fairseq_xlgen.modules.task_module import TaskModule

logger = logging.getLogger(__name__)

#: State-dict entries that a plain mBART checkpoint lacks; filled with the new model's values on load.
ADDED_KEYS = re.compile(r"^encoder\.(task_module|fusion|gate|language_classifier)\.|^encoder\.language_components$"
                        r"|^(en|de)coder\.layers\.\d+\.adapters\.")


def _every_parameter(name, stage, encoder_layers):
    return True


def _encoder_without_embeddings(name, stage, encoder_layers):
    # the shared embedding (encoder.embed_tokens = decoder input and output) stays frozen
    return name.startswith("encoder.") and not name.startswith("encoder.embed_tokens.")


def _top_two_encoder_layers(name, stage, encoder_layers):
    return name.startswith(tuple(f"encoder.layers.{i}." for i in (encoder_layers - 2, encoder_layers - 1)))


def _adapters(name, stage, encoder_layers):
    return ".adapters." in name


def _laft_stage(name, stage, encoder_layers):
    if stage == 1:  # §3.3 (1) and §3.2: TM, fusion and the language adapters
        return name.startswith(("encoder.task_module.", "encoder.fusion.")) or (
            name.startswith("decoder.layers.") and ".adapters." in name)
    return name.startswith("encoder.task_module.")  # §3.3 (2)


@dataclass(frozen=True)
class LaftVariant:
    """One system of paper 001's Tables 1-3: what it adds to mBART and which parameters train.

    ``head``: what follows the encoder: ``None``; ``"laft"`` (language components removed → task module
    → fusion, §3.1-3.2); ``"tm_adv"`` (task module → gate, and a language classifier, appendix).
    ``adapters``: ``None``; ``"task"`` (one adapter after every encoder and decoder layer, Pfeiffer et al.
    2020); ``"language"`` (one adapter per target language after every decoder layer, §3.2).
    ``trains(name, stage, encoder_layers)``: whether a parameter trains (``stage``: LAFT's §3.3 stage).
    """

    head: Optional[str]
    adapters: Optional[str]
    trains: Callable[[str, int, int], bool]


VARIANTS = {
    "laft": LaftVariant(head="laft", adapters="language", trains=_laft_stage),
    "full": LaftVariant(head=None, adapters=None, trains=_every_parameter),
    "enc": LaftVariant(head=None, adapters=None, trains=_encoder_without_embeddings),
    "enc_top2": LaftVariant(head=None, adapters=None, trains=_top_two_encoder_layers),
    "adapter": LaftVariant(head=None, adapters="task", trains=_adapters),
    "tm_adv": LaftVariant(head="tm_adv", adapters=None, trains=_every_parameter),
}


@dataclass
class MBartLaftConfig(FairseqDataclass):
    """The options ``mbart_laft`` adds to mBART's (``BARTModel.add_args``); the archs fill the defaults."""

    laft_variant: ChoiceEnum(list(VARIANTS)) = field(default="laft", metadata={
        "help": "laft (paper 001) or a baseline of its Tables 1-3: full, enc, enc_top2, adapter, tm_adv (use with "
                "--criterion language_adversarial)"})
    laft_stage: int = field(default=2, metadata={
        "help": "LAFT stage (§3.3): 1 = generation pretraining on monolingual text (task module, fusion, language "
                "adapters train), 2 = task finetuning (task module trains)"})
    laft_langs: str = field(default="", metadata={
        "help": "comma-separated languages with language components and decoder adapters (the source and every "
                "target language), e.g. en_XX,zh_CN"})
    language_components: str = field(default="", metadata={
        "help": "file of xlgen-language-components (needed when starting from plain mBART)"})
    laft_k: int = field(default=6, metadata={"help": "language components per language (paper: k = 6)"})
    laft_removal: ChoiceEnum(list(REMOVAL_MODES)) = field(default="sentence", metadata={
        "help": "sentence: e_i − c cᵀ ē (default); literal: e_i − c cᵀ ē / ‖ē‖² (paper's equation as printed); "
                "token: e_i − c cᵀ e_i"})
    task_module_layers: int = field(default=2, metadata={"help": "Transformer layers of the task module"})
    fusion_dim: int = field(default=1024, metadata={"help": "d_a of the fusion D/U layers (paper: 1024)"})
    adapter_dim: Optional[int] = field(default=None, metadata={
        "help": "bottleneck of the language adapters (LAFT) or task adapters (adapter baseline); default "
                "encoder_embed_dim // 2 (Pfeiffer et al. 2020b's reduction factor 2)"})
    adversary_hidden: int = field(default=0, metadata={
        "help": "TM+adv: hidden units of an MLP language classifier (0: linear W_c, the paper's)"})


def check_laft_args(args):
    """A one-line error for options that cannot build the model."""
    if args.laft_stage not in (1, 2):
        raise InputError(f"--laft-stage {args.laft_stage}: must be 1 or 2")
    if VARIANTS[args.laft_variant].head == "laft" and not laft_langs(args):
        raise InputError("--laft-langs is required with --laft-variant laft (e.g. --laft-langs en_XX,zh_CN)")
    for flag in ("laft_k", "task_module_layers", "fusion_dim", "adapter_dim"):
        if getattr(args, flag) < 1:
            raise InputError(f"--{flag.replace('_', '-')} {getattr(args, flag)}: must be at least 1")
    if args.adversary_hidden < 0:
        raise InputError(f"--adversary-hidden {args.adversary_hidden}: must be 0 (linear) or more")


def language_rows(tokens, language_token_ids, side):
    """Row in ``language_token_ids`` of each sample's language token; a clear error if one has none."""
    matches = tokens.unsqueeze(-1) == language_token_ids
    if not matches.any(-1).all():
        raise InputError(f"{side} language token is not one of the model's --laft-langs; the data must be in "
                         "mBART's format (source 'x </s> [xx_YY]', decoder '[xx_YY] y') with full language "
                         "codes (-s en_XX, not -s en) and every language listed in --laft-langs")
    return matches.float().argmax(-1)


class AdapterSelection:
    """Which adapter each sample of the current batch uses; set by the encoder/decoder before its layers run."""

    rows = None


class AdaptedEncoderLayer(TransformerEncoderLayerBase):
    def __init__(self, cfg, adapters, selection):
        super().__init__(cfg)
        self.adapters = adapters
        self.selection = selection

    def forward(self, *args, **kwargs):
        return self.adapters(super().forward(*args, **kwargs), self.selection.rows)


class AdaptedDecoderLayer(TransformerDecoderLayerBase):
    def __init__(self, cfg, no_encoder_attn, adapters, selection):
        super().__init__(cfg, no_encoder_attn)
        self.adapters = adapters
        self.selection = selection

    def forward(self, *args, **kwargs):
        x, *rest = super().forward(*args, **kwargs)
        return (self.adapters(x, self.selection.rows), *rest)


def laft_langs(args):
    return [lang for lang in (args.laft_langs or "").split(",") if lang]


class LaftEncoder(TransformerEncoderBase):
    """mBART's encoder followed by removal → task module → fusion (LAFT) or task module → gate (TM+adv)."""

    def __init__(self, args, dictionary, embed_tokens):
        self.variant = VARIANTS[args.laft_variant]
        self.selection = AdapterSelection()
        self.adapter_dim = args.adapter_dim
        super().__init__(TransformerConfig.from_namespace(args), dictionary, embed_tokens)
        d = args.encoder_embed_dim
        self.removal = args.laft_removal
        self.task_module = None
        if self.variant.head is not None:
            self.task_module = TaskModule(args, args.task_module_layers)
            self.register_buffer("special_token_ids", special_token_ids(dictionary), persistent=False)
        if self.variant.head == "laft":
            langs = laft_langs(args)
            self.fusion = LanguageFusion(d, args.fusion_dim)
            self.register_buffer("language_components", torch.zeros(len(langs), d, args.laft_k))
            self.register_buffer("language_token_ids", language_token_ids(dictionary, langs), persistent=False)
            self.components_path = args.language_components
            self.components_source = None
            self.components_payload = None
            if self.components_path and os.path.exists(self.components_path):
                self.load_components_file()
        if self.variant.head == "tm_adv":
            self.gate = GatedCombination(d)
            self.language_classifier = LanguageClassifier(d, args.adversary_hidden)

    def _apply(self, fn, *args, **kwargs):
        """``model.half()`` (``--fp16``) leaves c_L in fp32: removal and projection stay fp32 (§3.1)."""
        components = getattr(self, "language_components", None)
        super()._apply(fn, *args, **kwargs)
        if components is not None and self.language_components.dtype != torch.float32:
            self.language_components = components.to(self.language_components.device, torch.float32)
        return self

    def build_encoder_layer(self, cfg):
        if self.variant.adapters != "task":
            return super().build_encoder_layer(cfg)
        return AdaptedEncoderLayer(cfg, AdapterSet(["task"], cfg.encoder.embed_dim, self.adapter_dim), self.selection)

    def load_components_file(self):
        path = self.components_path
        self.components_payload = load_components(path)
        langs = [f"{self.dictionary[i]}"[1:-1] for i in self.language_token_ids.tolist()]
        d, k = self.language_components.shape[1:]
        self.language_components.copy_(components_for(self.components_payload, path, langs, d, k))
        self.components_source = path

    def check_components_match(self, state_dict, prefix):
        """Called when loading a checkpoint without components (plain mBART): take them from the file."""
        if self.components_payload is None:
            if not self.components_path:
                raise InputError("--language-components is required when LAFT starts from a plain mBART "
                                 "checkpoint (estimate them with xlgen-language-components)")
            self.load_components_file()  # the one-line error of a missing or malformed file
        keys = [k for k in self.state_dict() if not ADDED_KEYS.match("encoder." + k)]
        fingerprint = encoder_fingerprint({k: state_dict[prefix + k] for k in keys}, keys)
        if fingerprint != self.components_payload["encoder_fingerprint"]:
            raise InputError(f"{self.components_path}: estimated with another model (encoder sha256 "
                             f"{self.components_payload['encoder_fingerprint'][:12]}…, this checkpoint's "
                             f"{fingerprint[:12]}…); re-run xlgen-language-components with this model")

    def forward(self, src_tokens, src_lengths=None, return_all_hiddens: bool = False, token_embeddings=None):
        if self.variant.adapters == "task":
            self.selection.rows = src_tokens.new_zeros(src_tokens.shape[0])
        out = super().forward(src_tokens, src_lengths, return_all_hiddens, token_embeddings)
        if self.task_module is None:
            return out
        e = out["encoder_out"][0]
        padding = src_tokens.eq(self.padding_idx)
        if self.variant.head == "tm_adv":
            h = self.task_module(e, padding)
            # L_adv's input (criterion language_adversarial): the task module on the detached encoder output, so
            # that L_adv updates the task module alone; without gradients (validation) that is h itself
            adversary_h = self.task_module(e.detach(), padding) if torch.is_grad_enabled() else h
            return {**out, "encoder_out": [self.gate(h, e)], "task_module_out": [h],
                    "adversary_task_module_out": [adversary_h]}
        if self.components_source is None:
            raise InputError("LAFT has no language components: pass --language-components FILE "
                             "(xlgen-language-components) or load a LAFT checkpoint")
        rows = language_rows(source_language_tags(src_tokens, self.padding_idx), self.language_token_ids, "source")
        r, removed = remove_language_component(
            e, sentence_token_mask(src_tokens, self.special_token_ids), self.language_components[rows], self.removal)
        r = r.to(e.dtype)
        h = self.task_module(r, padding)
        return {**out, "encoder_out": [self.fusion(h, removed)], "pre_removal": [e], "task_module_input": [r],
                "task_module_out": [h]}


class LaftDecoder(TransformerDecoderBase):
    """mBART's decoder with an adapter after every layer: per target language (LAFT) or one task adapter."""

    def __init__(self, args, dictionary, embed_tokens):
        self.selection = AdapterSelection()
        self.adapter_dim = args.adapter_dim
        adapters = VARIANTS[args.laft_variant].adapters
        self.adapter_names = {"language": laft_langs(args), "task": ["task"]}.get(adapters)
        cfg = TransformerConfig.from_namespace(args)
        super().__init__(cfg, dictionary, embed_tokens, no_encoder_attn=cfg.no_cross_attention)
        if adapters == "language":
            self.register_buffer("language_token_ids", language_token_ids(dictionary, self.adapter_names),
                                 persistent=False)

    def build_decoder_layer(self, cfg, no_encoder_attn=False):
        if self.adapter_names is None:
            return super().build_decoder_layer(cfg, no_encoder_attn)
        adapters = AdapterSet(self.adapter_names, cfg.decoder.embed_dim, self.adapter_dim)
        return AdaptedDecoderLayer(cfg, no_encoder_attn, adapters, self.selection)

    def forward(self, prev_output_tokens, encoder_out=None, incremental_state=None, **kwargs):
        if self.adapter_names == ["task"]:
            self.selection.rows = prev_output_tokens.new_zeros(prev_output_tokens.shape[0])
        elif self.adapter_names is not None:  # the first decoder token is [tgt_lang], also while generating
            self.selection.rows = language_rows(prev_output_tokens[:, 0], self.language_token_ids, "target")
        return super().forward(prev_output_tokens, encoder_out, incremental_state, **kwargs)


def language_token_ids(dictionary, langs):
    ids = [dictionary.index(f"[{lang}]") for lang in langs]
    unknown = [lang for lang, i in zip(langs, ids) if i == dictionary.unk()]
    if unknown:
        raise InputError(f"--laft-langs: [{'], ['.join(unknown)}] not in the dictionary; use mBART language "
                         "codes (en_XX, zh_CN, ...) and list every pretraining language in --langs")
    return torch.tensor(ids, dtype=torch.long)


@register_model("mbart_laft")
class MBartLaftModel(BARTModel):
    @staticmethod
    def add_args(parser):
        BARTModel.add_args(parser)
        gen_parser_from_dataclass(parser, MBartLaftConfig(), delete_default=True)

    @classmethod
    def build_model(cls, args, task):
        check_laft_args(args)
        model = super().build_model(args, task)
        model.set_trainable()
        return model

    @classmethod
    def build_encoder(cls, args, src_dict, embed_tokens):
        return LaftEncoder(args, src_dict, embed_tokens)

    @classmethod
    def build_decoder(cls, args, tgt_dict, embed_tokens):
        return LaftDecoder(args, tgt_dict, embed_tokens)

    def set_trainable(self):
        """``requires_grad`` per variant and stage; frozen tensors stay out of fairseq's optimizer."""
        name_of_variant, stage = self.args.laft_variant, self.args.laft_stage
        variant = VARIANTS[name_of_variant]
        for name, parameter in self.named_parameters():
            parameter.requires_grad_(variant.trains(name, stage, self.args.encoder_layers))
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        total = sum(p.numel() for p in self.parameters())
        logger.info("mbart_laft variant %s%s: %d trainable of %d parameters (%.2f%%)", name_of_variant,
                    f" stage {stage}" if variant.head == "laft" else "", trainable, total, 100 * trainable / total)

    def upgrade_state_dict_named(self, state_dict, name):
        """Starting from plain mBART: the LAFT/baseline modules keep their initialization, and LAFT's
        components come from ``--language-components`` (checked against this encoder's weights)."""
        super().upgrade_state_dict_named(state_dict, name)
        prefix = name + "." if name else ""
        if not any(key.startswith(prefix) and ADDED_KEYS.match(key[len(prefix):]) for key in state_dict):
            if self.encoder.variant.head == "laft":
                self.encoder.check_components_match(state_dict, prefix + "encoder.")
            for key, value in self.state_dict().items():
                if ADDED_KEYS.match(key):
                    state_dict[prefix + key] = value
        elif self.encoder.variant.head == "laft":
            self.encoder.components_source = "checkpoint"
            if self.encoder.components_payload is not None and not torch.equal(
                    state_dict[prefix + "encoder.language_components"].float(),
                    self.encoder.language_components.cpu()):
                logger.warning("%s differs from the components in the checkpoint; the checkpoint's are used",
                               self.encoder.components_path)


def laft_defaults(args, variant="laft"):
    """Fill the :class:`MBartLaftConfig` options a command did not give (``variant``: the arch's variant)."""
    for option in fields(MBartLaftConfig):
        if not hasattr(args, option.name):
            setattr(args, option.name, variant if option.name == "laft_variant" else option.default)
    if args.adapter_dim is None:  # Pfeiffer et al. 2020b's language adapters (reduction factor 2): 512 for mbart-large
        args.adapter_dim = args.encoder_embed_dim // 2


@register_model_architecture("mbart_laft", "mbart_laft_large")
def mbart_laft_large_architecture(args):
    mbart_large_architecture(args)
    laft_defaults(args)


@register_model_architecture("mbart_laft", "mbart_laft_base")
def mbart_laft_base_architecture(args):
    mbart_base_architecture(args)
    laft_defaults(args)


@register_model_architecture("mbart_laft", "mbart_tm_adv_large")
def mbart_tm_adv_large_architecture(args):
    mbart_large_architecture(args)
    laft_defaults(args, "tm_adv")


@register_model_architecture("mbart_laft", "mbart_tm_adv_base")
def mbart_tm_adv_base_architecture(args):
    mbart_base_architecture(args)
    laft_defaults(args, "tm_adv")
