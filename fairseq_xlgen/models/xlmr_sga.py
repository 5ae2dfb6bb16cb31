"""``xlmr_sga``: frozen XLM-R as a non-autoregressive generator with prefix prompts (SGA, paper 003 §4).

Three passes through the *same* frozen XLM-R (LM head included), each with its own prompts:

* semantic encoding (Eq. 1-2): the source ``<s> x </s>`` with prompt θ_ps; the output h_s^l of
  every layer l is projected by one shared pair W_K, W_V (d×d, no bias) into layer l's semantic
  keys/values; source padding is masked in that prefix;
* alignment (Eq. 3-4): a canvas ``<s> <mask>×T </s>`` with prefix concat[semantic, θ_pa].
  CTC (default): T = ``--upsample-ratio`` × source pieces, per sample. Mask-Predict: T is
  predicted from the semantic pass's ``<s>`` state, trained with masked-token cross-entropy;
* denoising (Eq. 5-6): a CTC canvas with prefix concat[semantic, θ_pd], CTC loss.

**What the denoiser consumes** (identical in training and decoding): a CTC canvas of the same
length as its output, i.e. for CTC alignment the *uncollapsed* alignment argmax (blank rule
applied, blanks kept), for Mask-Predict its output with every token duplicated ×2 (§4.4), and
in later decoding passes the previous pass's uncollapsed argmax. The blank rule belongs to that
input (and to the denoising passes, as in the authors' decoder): an alignment pass that no
denoising pass follows decodes with plain argmax and collapse (standard CTC greedy decoding).
Training adds noise (:mod:`~fairseq_xlgen.modules.sga_noise`) to that canvas (one unrolled step,
as the authors).
During decoding the canvas travels in ``DecoderOut.history[-1]``, while ``output_tokens``
holds the collapsed sentence ``<s> y </s>`` that fairseq's ``IterativeRefinementGenerator``
compares across passes for its adaptive (fixed-point) stop.

**Prompt sharing** (§5.4): one prompt set serves every source language (default), so an
unseen source language decodes zero-shot; ``--prompt-languages de_DE,ru_RU`` instead gives each
listed source language its own prompts of every unit, chosen per sample from the batch's
``src_lang`` (W_K/W_V stay shared).

The CTC blank is ``<mask>`` (never a target piece). Output distributions exclude ``<s>``,
``</s>`` and ``<pad>``; Mask-Predict also excludes ``<mask>``.

**Checkpoints** keep only the trainable tensors plus ``backbone_sha256`` (the sha256 of the
backbone's model.pt, stored as 32 float bytes so that checkpoint averaging keeps it exact);
the backbone is reloaded from ``--pretrained-xlmr-checkpoint`` (saved in the checkpoint's
config; override with ``--model-overrides``) and loading stops with a one-line error when the
file is missing or its sha256 differs.
"""
import contextlib
import logging
import os
from argparse import Namespace
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from fairseq.dataclass import ChoiceEnum, FairseqDataclass
from fairseq.iterative_refinement_generator import DecoderOut
from fairseq.models import BaseFairseqModel, register_model, register_model_architecture
from fairseq.modules import FairseqDropout
from omegaconf import II, open_dict

from fairseq_xlgen.data.source_language_dataset import parse_lang_pairs
from fairseq_xlgen.errors import InputError
from fairseq_xlgen.file_io import file_sha256
from fairseq_xlgen.modules.ctc import blank_rule_argmax, ctc_collapse, pack_tokens
from fairseq_xlgen.modules.prefix_attention import Prefix, PrefixInjector, concat_prefixes, prompt_prefix
from fairseq_xlgen.modules.sga_noise import corrupt_batch, noise_rng
from fairseq_xlgen.pretrained import PretrainedModelError, load_xlmr

logger = logging.getLogger(__name__)

UNITS = ("semantic", "alignment", "denoising")


@dataclass
class XlmrSgaConfig(FairseqDataclass):
    pretrained_xlmr_checkpoint: str = field(default="", metadata={
        "help": "xlmr.base / xlmr.large directory (model.pt, dict.txt, sentencepiece.bpe.model) or its "
                "model.pt; empty: a randomly initialized backbone of the arch's sizes (tests only)"})
    prompt_length: int = field(default=128, metadata={"help": "P: prompt length per unit and layer"})
    upsample_ratio: int = field(default=2, metadata={"help": "CTC canvas length = ratio x source pieces"})
    alignment: ChoiceEnum(["ctc", "mask_predict"]) = field(default="ctc", metadata={
        "help": "alignment unit: ctc (translation) or mask_predict (free generation, §4.3)"})
    no_denoising: bool = field(default=False, metadata={"help": "no denoising unit (SGA w/o denoising)"})
    blank_threshold: float = field(default=0.6, metadata={
        "help": "a CTC blank with probability below this becomes the second-best token in the denoiser's input "
                "(training and decoding) and in the denoising passes; an alignment pass with no denoising pass "
                "after it decodes with plain argmax"})
    noise_max_rate: float = field(default=0.2, metadata={"help": "denoiser noise rate ~ U(0, this)"})
    mask_predict_iterations: int = field(default=4, metadata={"help": "Mask-Predict iterations of decoding step 0"})
    max_target_length: int = field(default=256, metadata={"help": "Mask-Predict: lengths predicted in [0, this]"})
    prompt_init_std: float = field(default=0.02, metadata={"help": "std of the prompts' normal initialization"})
    prompt_languages: str = field(default="", metadata={
        "help": "per-language prompts: comma-separated source languages, each with its own prompts of every unit "
                "(W_K/W_V stay shared); a sample uses its source language's, a language not listed is an error; "
                "empty (default): one prompt set for all directions (§5.4), so unseen source languages decode "
                "zero-shot"})
    backbone_dropout: Optional[float] = field(default=None, metadata={
        "help": "dropout, attention and activation dropout of the frozen XLM-R in training (default: its "
                "checkpoint's); 0 makes a step independent of the torch RNG (DDP equals --update-freq)"})
    encoder_layers: Optional[int] = field(default=None, metadata={"help": "random-init backbone: layers"})
    encoder_embed_dim: Optional[int] = field(default=None, metadata={"help": "random-init backbone: d"})
    encoder_ffn_embed_dim: Optional[int] = field(default=None, metadata={"help": "random-init backbone: FFN dim"})
    encoder_attention_heads: Optional[int] = field(default=None, metadata={"help": "random-init backbone: heads"})
    max_positions: Optional[int] = field(default=None, metadata={"help": "random-init backbone: positions"})
    seed: int = II("common.seed")
    lang_pairs: str = II("task.lang_pairs")  # sga_translation's: the prompt sets are checked against them
    source_lang: Optional[str] = II("task.source_lang")


def load_backbone(path, dictionary):
    """The RoBERTa model of an XLM-R directory or model.pt whose dictionary is the data's; and the file path."""
    if not os.path.exists(path):
        raise PretrainedModelError(f"{path}: missing; --pretrained-xlmr-checkpoint must name an xlmr.base/xlmr.large "
                                   "directory or its model.pt (for a trained checkpoint: fairseq-generate "
                                   "--model-overrides \"{'pretrained_xlmr_checkpoint': 'DIR'}\")")
    hub, model_file = load_xlmr(path)
    if hub.task.source_dictionary.symbols != dictionary.symbols:
        raise PretrainedModelError(f"{path}: its dictionary ({len(hub.task.source_dictionary)} symbols) differs from "
                                   f"the data's ({len(dictionary)}); binarize with the model's dict.txt "
                                   "(data_prep/prepare_sga.sh)")
    return hub.model, model_file


def prompt_languages(cfg):
    """The source languages of ``--prompt-languages`` in order (prompt set i = language i); [] when shared."""
    return [lang for lang in cfg.prompt_languages.split(",") if lang]


def _sizes_namespace(cfg):
    """RoBERTa arguments of a randomly initialized backbone (a loaded checkpoint brings its own sizes)."""
    return Namespace(**{k: getattr(cfg, k) for k in ("encoder_layers", "encoder_embed_dim", "encoder_ffn_embed_dim",
                                                      "encoder_attention_heads", "max_positions")})


class _EncoderOutReorder:
    """``model.encoder`` for the generator: only reorders the semantic pass's outputs."""

    @staticmethod
    def reorder_encoder_out(encoder_out, new_order):
        return {k: v.index_select(1 if k in ("sem_key", "sem_value") else 0, new_order)  # L x B x S x d
                for k, v in encoder_out.items()}


@register_model("xlmr_sga", dataclass=XlmrSgaConfig)
class XlmrSgaModel(BaseFairseqModel):
    """SGA on a frozen XLM-R; see the module docstring."""

    def __init__(self, cfg, xlmr, dictionary, backbone_sha256=None):
        super().__init__()
        self.cfg = cfg
        self.dictionary = dictionary
        self.xlmr = xlmr
        for p in self.xlmr.parameters():
            p.requires_grad_(False)
        self.blank = dictionary.index("<mask>")
        if self.blank == dictionary.unk():
            raise ValueError("xlmr_sga: the dictionary has no <mask> symbol (the CTC blank); use the XLM-R task")
        self.pad, self.bos, self.eos = dictionary.pad(), dictionary.bos(), dictionary.eos()
        encoder = xlmr.encoder.sentence_encoder
        layers, dim = len(encoder.layers), encoder.embed_tokens.embedding_dim
        self.units = UNITS[:2] if cfg.no_denoising else UNITS
        self.prompt_languages = prompt_languages(cfg)
        sets = (len(self.prompt_languages),) if self.prompt_languages else ()  # per language: sets x L x P x d
        self.prompts = nn.ParameterDict({
            f"{unit}_{kind}": nn.Parameter(torch.randn(*sets, layers, cfg.prompt_length, dim) * cfg.prompt_init_std)
            for unit in self.units for kind in ("key", "value")})
        self._decoding_languages = None
        self.project_key = nn.Linear(dim, dim, bias=False)  # W_K (Eq. 2), shared by all layers
        self.project_value = nn.Linear(dim, dim, bias=False)  # W_V
        self.length_predictor = nn.Linear(dim, cfg.max_target_length + 1) if cfg.alignment == "mask_predict" else None
        self.injector = PrefixInjector(encoder.layers)
        self.encoder = _EncoderOutReorder()
        excluded = torch.zeros(len(dictionary), dtype=torch.bool)
        excluded[[self.pad, self.bos, self.eos]] = True
        self.register_buffer("excluded_ctc", excluded, persistent=False)
        excluded_mp = excluded.clone()
        excluded_mp[self.blank] = True
        self.register_buffer("excluded_mask_predict", excluded_mp, persistent=False)
        sha = torch.zeros(32) if backbone_sha256 is None else torch.tensor(list(backbone_sha256), dtype=torch.float)
        self.register_buffer("backbone_sha256", sha)
        self.num_updates = 0
        # real pieces: every symbol after the specials except the blank, which dictionary.add_symbol put last
        if self.blank != len(dictionary) - 1:
            raise ValueError("xlmr_sga: <mask> must be the last dictionary symbol (as in XLM-R)")
        self.piece_range = (dictionary.nspecial, self.blank)

    # ------------------------------------------------------------------ construction
    @classmethod
    def build_model(cls, cfg, task):
        for flag in ("prompt_length", "upsample_ratio", "mask_predict_iterations", "max_target_length"):
            if getattr(cfg, flag) < 1:
                raise InputError(f"--{flag.replace('_', '-')} {getattr(cfg, flag)}: must be at least 1")
        dictionary = task.target_dictionary
        languages = set(prompt_languages(cfg))
        pairs = parse_lang_pairs(cfg.lang_pairs)  # the task's languages: fail before any work
        cls.check_one_target_per_prompt_set(cfg, pairs, cfg.lang_pairs)
        needed = {src for src, _ in pairs} | ({cfg.source_lang} if cfg.source_lang else set())
        if languages and needed - languages:
            raise InputError(f"--prompt-languages {cfg.prompt_languages}: no prompts for source language(s) "
                             f"{','.join(sorted(needed - languages))} of --lang-pairs/--source-lang; list each, "
                             "or leave it empty for one shared prompt set (which decodes unseen languages)")
        if cfg.pretrained_xlmr_checkpoint:
            with open_dict(cfg):  # saved checkpoints name the backbone by its absolute path
                cfg.pretrained_xlmr_checkpoint = os.path.abspath(cfg.pretrained_xlmr_checkpoint)
            xlmr, model_file = load_backbone(cfg.pretrained_xlmr_checkpoint, dictionary)
            sha = bytes.fromhex(file_sha256(model_file))
        else:
            from fairseq.models.roberta import RobertaModel

            xlmr, sha = RobertaModel.build_model(_sizes_namespace(cfg), task), None
        if cfg.backbone_dropout is not None:
            if not 0 <= cfg.backbone_dropout < 1:
                raise ValueError(f"--backbone-dropout {cfg.backbone_dropout}: give a probability in [0, 1)")
            for module in xlmr.modules():
                if isinstance(module, FairseqDropout):
                    module.p = cfg.backbone_dropout
        model = cls(cfg, xlmr, dictionary, sha)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
        logger.info("xlmr_sga: %d trainable of %d parameters (%.2f%%); units %s, P=%d", trainable, total,
                    100.0 * trainable / total, ",".join(model.units), cfg.prompt_length)
        return model

    def set_num_updates(self, num_updates):
        self.num_updates = num_updates
        super().set_num_updates(num_updates)

    def max_positions(self):
        positions = self.xlmr.encoder.max_positions()
        return ((positions - 2) // self.cfg.upsample_ratio + 2, positions)

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """Trainable tensors and ``backbone_sha256`` only: the frozen backbone is reloaded from its file."""
        state = super().state_dict(*args, destination=destination, prefix=prefix, keep_vars=keep_vars)
        for key in [k for k in state if k.startswith(prefix + "xlmr.")]:
            del state[key]
        return state

    @staticmethod
    def check_one_target_per_prompt_set(cfg, pairs, lang_pairs):
        """Refuse two target languages behind one prompt set: no prompt or input names the output language
        (§5.4 shares prompts across *source* languages only), so such a model writes either at random."""
        per_language = bool(prompt_languages(cfg))
        targets = {}
        for src, tgt in pairs:
            targets.setdefault(src if per_language else "", set()).add(tgt)
        for src, tgts in sorted(targets.items()):
            if len(tgts) > 1:
                shared = f"the prompts of {src}" if src else "one shared prompt set"
                raise InputError(f"--lang-pairs {lang_pairs}: target languages {','.join(sorted(tgts))} behind "
                                 f"{shared}, and nothing tells xlmr_sga which to write; train one model per target "
                                 "language")

    def load_state_dict(self, state_dict, strict=True, model_cfg=None, args=None):
        saved = state_dict.get("backbone_sha256")
        if saved is not None and self.backbone_sha256.any() and not torch.equal(
                saved.float().round().cpu(), self.backbone_sha256.float().cpu()):
            raise PretrainedModelError(
                f"{self.cfg.pretrained_xlmr_checkpoint}: sha256 {bytes(self.backbone_sha256.float().byte().tolist()).hex()} "
                f"differs from the backbone this checkpoint was trained on "
                f"({bytes(saved.float().round().byte().tolist()).hex()}); point --pretrained-xlmr-checkpoint "
                "(--model-overrides at generation) to that file")
        own = super().state_dict()
        trainable = {k for k in own if not k.startswith("xlmr.")}
        given = {k for k in state_dict if not k.startswith("xlmr.")}
        if strict and trainable != given:
            raise InputError(f"xlmr_sga checkpoint of another configuration: missing {sorted(trainable - given)[:3]}, "
                             f"unexpected {sorted(given - trainable)[:3]}; pass the --arch, --alignment and "
                             "--no-denoising it was trained with")
        merged = {k: v for k, v in own.items() if k.startswith("xlmr.")}
        merged.update({k: v for k, v in state_dict.items() if k in given})
        return nn.Module.load_state_dict(self, merged, strict=strict)

    # ------------------------------------------------------------------ passes
    def prompt_sets(self, src_langs, batch_size, device):
        """Each row's prompt set (B,) from its source language under ``--prompt-languages``; None when shared."""
        if not self.prompt_languages:
            return None
        if src_langs is None or len(src_langs) != batch_size:
            raise InputError(f"--prompt-languages {self.cfg.prompt_languages}: the batch names no source language "
                             "per sample; use --task sga_translation")
        unknown = sorted(set(src_langs) - set(self.prompt_languages))
        if unknown:
            raise InputError(f"--source-lang {','.join(unknown)}: no prompts of its own (--prompt-languages "
                             f"{self.cfg.prompt_languages}); per-language prompts cannot decode unseen languages, "
                             "shared prompts (the default) can")
        return torch.tensor([self.prompt_languages.index(lang) for lang in src_langs], device=device)

    def _prompt(self, unit, batch_size, prompt_set=None):
        """Layer-wise prefixes of ``unit``'s prompt: shared by all rows, or each row's own language's set."""
        key, value = self.prompts[f"{unit}_key"], self.prompts[f"{unit}_value"]
        if prompt_set is None:
            return [prompt_prefix(key[layer], value[layer], batch_size) for layer in range(key.size(0))]
        key, value = key[prompt_set], value[prompt_set]  # B x L x P x d
        unmasked = torch.zeros(key.shape[:1] + key.shape[2:3], dtype=torch.bool, device=key.device)
        return [Prefix(key[:, layer], value[:, layer], unmasked) for layer in range(key.size(1))]

    def encode(self, src_tokens, src_langs=None):
        """Semantic pass (Eq. 1-2): layer-l keys/values h_s^l W_K, h_s^l W_V and the source padding mask.

        ``src_langs``: each row's source language, which picks its prompts under ``--prompt-languages``.
        """
        prompt_set = self.prompt_sets(src_langs, src_tokens.size(0), src_tokens.device)
        with self.injector.prefixes(self._prompt("semantic", src_tokens.size(0), prompt_set)):
            out = self.xlmr.encoder.sentence_encoder(src_tokens, return_all_hiddens=True)
        states = torch.stack(out["encoder_states"][1:]).transpose(1, 2)  # L x B x S x d
        encoder_out = {"sem_key": self.project_key(states), "sem_value": self.project_value(states),
                       "sem_mask": src_tokens.eq(self.pad),
                       "src_pieces": src_tokens.ne(self.pad).sum(1) - 2}
        if prompt_set is not None:
            encoder_out["prompt_set"] = prompt_set
        if self.length_predictor is not None:
            encoder_out["length_logits"] = self.length_predictor(states[-1, :, 0])
        return encoder_out

    def unit_logits(self, unit, tokens, encoder_out):
        """Alignment or denoising pass (Eq. 4/6): prefix concat[semantic, unit prompt] in every layer."""
        semantic = [Prefix(k, v, encoder_out["sem_mask"]) for k, v in zip(encoder_out["sem_key"], encoder_out["sem_value"])]
        prompts = self._prompt(unit, tokens.size(0), encoder_out.get("prompt_set"))
        prefixes = [concat_prefixes(s, p) for s, p in zip(semantic, prompts)]
        with self.injector.prefixes(prefixes):
            features, _ = self.xlmr.encoder.extract_features(tokens)
        return self.xlmr.encoder.output_layer(features)

    def _lprobs(self, logits, excluded):
        """fp32 log-softmax without the excluded symbols (a finite -1e4, as CTC's backward turns -inf into NaN)."""
        return F.log_softmax(logits.float().masked_fill(excluded, -1e4), dim=-1)

    def frame(self, body, lengths):
        """``<s> body </s>`` per row, right-padded; ``body`` (B, W) holds ``lengths`` tokens per row."""
        width = int(lengths.max()) + 2 if body.size(0) else 2
        out = body.new_full((body.size(0), width), self.pad)
        out[:, 0] = self.bos
        cols = torch.arange(width - 2, device=body.device).unsqueeze(0)
        inside = cols < lengths.unsqueeze(1)
        out[:, 1:-1][inside] = body[:, : width - 2][inside]
        out[torch.arange(body.size(0), device=body.device), lengths + 1] = self.eos
        return out

    def frame_scores(self, scores, lengths):
        """Scores aligned with :meth:`frame`'s output (0 at ``<s>``, ``</s>`` and padding)."""
        out = scores.new_zeros((scores.size(0), int(lengths.max()) + 2 if scores.size(0) else 2))
        inside = torch.arange(out.size(1) - 2, device=scores.device).unsqueeze(0) < lengths.unsqueeze(1)
        out[:, 1:-1][inside] = scores[:, : out.size(1) - 2][inside]
        return out

    def body(self, framed):
        """Inverse of :meth:`frame`: (B, W) body right-padded and the lengths."""
        keep = framed.ne(self.pad) & framed.ne(self.bos) & framed.ne(self.eos)
        tokens, lengths, _ = pack_tokens(framed, keep, self.pad)
        return tokens, lengths

    def alignment_canvas(self, encoder_out):
        lengths = self.cfg.upsample_ratio * encoder_out["src_pieces"].clamp(min=1)
        body = lengths.new_full((lengths.size(0), int(lengths.max())), self.blank)
        return self.frame(body, lengths), lengths

    def ctc_pass(self, unit, canvas, encoder_out):
        """Log-probs (B, T, V) of the canvas positions (fp32) and the canvas lengths."""
        lprobs = self._lprobs(self.unit_logits(unit, canvas, encoder_out), self.excluded_ctc)
        return lprobs[:, 1:-1], canvas.ne(self.pad).sum(1) - 2

    def canvas_argmax(self, lprobs, lengths, blank_rule=True):
        """The framed uncollapsed argmax; ``blank_rule``: a weak blank becomes the second-best token (§4.4)."""
        tokens, scores = blank_rule_argmax(lprobs, self.blank, self.cfg.blank_threshold if blank_rule else 0.0)
        return self.frame(tokens, lengths), scores

    def duplicate(self, framed):
        """Mask-Predict output → denoiser canvas: every token twice (§4.4)."""
        tokens, lengths = self.body(framed)
        return self.frame(tokens.repeat_interleave(2, dim=1), 2 * lengths)

    def _rngs(self, sample_ids, stream):
        return [noise_rng(self.cfg.seed, self.num_updates, i, stream) for i in sample_ids.tolist()]

    def forward(self, src_tokens, src_lengths, target, sample_ids, src_langs=None):
        """Training: the alignment unit's and the denoiser's outputs (losses are the criterion's).

        ``target`` is ``<s> y </s>`` right-padded; noise and masks are seeded by
        (seed, update, sample id); ``src_langs`` as in :meth:`encode`.
        """
        encoder_out = self.encode(src_tokens, src_langs)
        out = {}
        if self.cfg.alignment == "ctc":
            canvas, lengths = self.alignment_canvas(encoder_out)
            lprobs, lengths = self.ctc_pass("alignment", canvas, encoder_out)
            out["alignment"] = {"lprobs": lprobs, "lengths": lengths}
            with torch.no_grad():
                aligned, _ = self.canvas_argmax(lprobs, lengths)
        else:
            gold, gold_lengths = self.body(target)
            masked = self.mask_predict_masks(gold, gold_lengths, sample_ids)
            inputs = self.frame(gold.masked_fill(masked, self.blank), gold_lengths)
            lprobs = self._lprobs(self.unit_logits("alignment", inputs, encoder_out), self.excluded_mask_predict)
            lprobs = lprobs[:, 1:-1]
            out["mask_predict"] = {"lprobs": lprobs[masked], "targets": gold[masked],
                                   "length_logits": encoder_out["length_logits"].float(),
                                   "length_targets": gold_lengths.clamp(max=self.cfg.max_target_length)}
            with torch.no_grad():
                predicted = torch.where(masked, lprobs.argmax(-1), gold)
                aligned = self.duplicate(self.frame(predicted, gold_lengths))
        if "denoising" in self.units:
            canvas_mask = aligned.ne(self.pad) & aligned.ne(self.bos) & aligned.ne(self.eos)
            noisy = corrupt_batch(aligned, canvas_mask, self.blank, self.piece_range, self._rngs(sample_ids, 0),
                                  self.cfg.noise_max_rate)
            lprobs, lengths = self.ctc_pass("denoising", noisy, encoder_out)
            out["denoising"] = {"lprobs": lprobs, "lengths": lengths}
        return out

    def mask_predict_masks(self, gold, lengths, sample_ids):
        """Mask-Predict's training masks: a number uniform in [1, n], at uniformly chosen positions."""
        masks = torch.zeros_like(gold, dtype=torch.bool)
        for row, (n, rng) in enumerate(zip(lengths.tolist(), self._rngs(sample_ids, 1))):
            if n > 0:
                chosen = rng.choice(n, size=rng.integers(1, n + 1), replace=False)
                masks[row, torch.from_numpy(np.sort(chosen)).to(gold.device)] = True
        return masks

    # ------------------------------------------------------------------ decoding (IterativeRefinementGenerator)
    allow_length_beam = False
    allow_ensemble = False

    @contextlib.contextmanager
    def decoding_source_languages(self, src_langs):
        """The rows' source languages for :meth:`forward_encoder` (the generator passes only tokens and lengths)."""
        self._decoding_languages = src_langs
        try:
            yield
        finally:
            self._decoding_languages = None

    def forward_encoder(self, encoder_inputs):
        return self.encode(encoder_inputs[0], self._decoding_languages)

    def initialize_output_tokens(self, encoder_out, src_tokens):
        """Step 0's input: the alignment canvas of ``<mask>`` (CTC: ratio × source; Mask-Predict: predicted length)."""
        if self.cfg.alignment == "ctc":
            canvas, _ = self.alignment_canvas(encoder_out)
        else:
            limit = (self.xlmr.encoder.max_positions() - 2) // 2
            lengths = encoder_out["length_logits"].argmax(-1).clamp(1, limit)
            canvas = self.frame(lengths.new_full((lengths.size(0), int(lengths.max())), self.blank), lengths)
        scores = canvas.new_zeros(canvas.shape, dtype=torch.float)
        return DecoderOut(output_tokens=canvas, output_scores=scores, attn=None, step=0, max_step=0, history=[canvas])

    def mask_predict(self, canvas, encoder_out):
        """Mask-Predict decoding (Ghazvininejad et al. 2019): re-mask the n·(N−t)/N least confident tokens."""
        iterations = self.cfg.mask_predict_iterations
        body = canvas.ne(self.pad) & canvas.ne(self.bos) & canvas.ne(self.eos)
        lengths = body.sum(1)
        tokens, scores = canvas.clone(), torch.zeros(canvas.shape, device=canvas.device)
        for t in range(iterations):
            lprobs = self._lprobs(self.unit_logits("alignment", tokens, encoder_out), self.excluded_mask_predict)
            best, predicted = lprobs.max(-1)
            masked = tokens.eq(self.blank)
            tokens = torch.where(masked, predicted, tokens)
            scores = torch.where(masked, best, scores)
            if t == iterations - 1:
                break
            remask = (lengths.float() * (iterations - 1 - t) / iterations).long()
            order = scores.masked_fill(~body, float("inf")).argsort(dim=1)
            ranks = torch.empty_like(order).scatter_(1, order, torch.arange(order.size(1), device=order.device).expand_as(order))
            tokens = tokens.masked_fill(ranks < remask.unsqueeze(1), self.blank)
        return tokens, scores

    def forward_decoder(self, decoder_out, encoder_out, **unused):
        """One pass: step 0 = alignment, later steps = CTC denoising of ``history[-1]``; CTC collapse here.

        The blank rule shapes the denoiser's input; an alignment pass that no denoising pass follows
        (w/o-denoising models, ``--iter-decode-max-iter 0``) is plain CTC greedy decoding: argmax, collapse.
        """
        canvas = decoder_out.history[-1]
        if decoder_out.step == 0 and self.cfg.alignment == "mask_predict":
            tokens, scores = self.mask_predict(canvas, encoder_out)
            next_canvas = self.duplicate(tokens) if "denoising" in self.units else tokens
            return decoder_out._replace(output_tokens=tokens, output_scores=scores,
                                        history=decoder_out.history + [next_canvas])
        unit = "alignment" if decoder_out.step == 0 else "denoising"
        if unit not in self.units:  # SGA w/o denoising: the alignment output is the fixed point
            return decoder_out
        lprobs, lengths = self.ctc_pass(unit, canvas, encoder_out)
        denoised_next = "denoising" in self.units and decoder_out.max_step > 1  # the generator's max_iter + 1
        next_canvas, scores = self.canvas_argmax(lprobs, lengths, blank_rule=unit == "denoising" or denoised_next)
        body = next_canvas[:, 1:-1].masked_fill(next_canvas[:, 1:-1].eq(self.eos), self.pad)  # the frame's </s>
        # the input canvas may be wider than this batch's longest (the generator drops finished sentences)
        collapsed, lengths, collapsed_scores = ctc_collapse(body, self.blank, self.pad, scores[:, : body.size(1)])
        tokens, scores = self.frame(collapsed, lengths), self.frame_scores(collapsed_scores, lengths)
        return decoder_out._replace(output_tokens=tokens, output_scores=scores,
                                    history=decoder_out.history + [next_canvas])


def fill_encoder_sizes(args, layers, dim, ffn, heads, positions):
    """XLM-R's encoder sizes where the command line gave none."""
    for name, value in (("encoder_layers", layers), ("encoder_embed_dim", dim), ("encoder_ffn_embed_dim", ffn),
                        ("encoder_attention_heads", heads), ("max_positions", positions)):
        if getattr(args, name, None) is None:
            setattr(args, name, value)


@register_model_architecture("xlmr_sga", "xlmr_sga_base")
def xlmr_sga_base(args):
    """xlmr.base: 12 layers, d=768 (a loaded checkpoint brings its own sizes)."""
    fill_encoder_sizes(args, 12, 768, 3072, 12, 512)


@register_model_architecture("xlmr_sga", "xlmr_sga_large")
def xlmr_sga_large(args):
    """xlmr.large: 24 layers, d=1024."""
    fill_encoder_sizes(args, 24, 1024, 4096, 16, 512)
