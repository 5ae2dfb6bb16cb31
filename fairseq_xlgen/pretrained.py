"""Loading the public pretrained models (mbart.cc25, xlmr.base, xlmr.large) and checking them: one loader per
model family (:func:`load_mbart`, :func:`load_xlmr`, both over :func:`load_pretrained`), and mBART's input format
(:func:`mbart_source_tokens`). Every file is read through :mod:`fairseq_xlgen.checkpoint_loading` (safe loading).

The same functions load the real downloads and the tiny fixtures built by
:mod:`fairseq_xlgen.testbed.pretrained_fixtures`, which share their on-disk format:

* ``mbart.cc25/``: ``model.pt`` (fairseq ``args`` namespace, ``multilingual_denoising`` task),
  ``dict.txt`` and ``sentence.bpe.model``. Language tokens ``[xx_YY]`` are appended to the
  dictionary in ``--langs`` order, then ``<mask>``.
* ``xlmr.base/`` and ``xlmr.large/``: ``model.pt`` (``masked_lm`` task, legacy
  ``decoder.sentence_encoder.*`` keys), ``dict.txt`` and ``sentencepiece.bpe.model``;
  ``<mask>`` is appended to the dictionary.
"""
import os
from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch

from fairseq_xlgen.checkpoint_loading import load_model_checkpoint, saved_setting
from fairseq_xlgen.errors import InputError, InputFileError

#: The 25 languages of mbart.cc25 in pretraining order; all must be passed as ``--langs``.
MBART_CC25_LANGS = (
    "ar_AR,cs_CZ,de_DE,en_XX,es_XX,et_EE,fi_FI,fr_XX,gu_IN,hi_IN,it_IT,ja_XX,kk_KZ,ko_KR,"
    "lt_LT,lv_LV,my_MM,ne_NP,nl_XX,ro_RO,ru_RU,si_LK,tr_TR,vi_VN,zh_CN"
).split(",")

#: mBART's finetuning flags that must accompany ``--arch mbart_*`` (store_true flags).
MBART_ARCH_FLAGS = ("--layernorm-embedding", "--encoder-normalize-before", "--decoder-normalize-before")

#: mBART's text-infilling noise for fairseq's ``multilingual_denoising`` (mBART §2.2): 35 % of the words masked
#: in Poisson(3.5) spans, each span by one ``<mask>`` (10 % of the masks a random token instead), no sentence
#: permutation, rotation or insertion. The fixtures' pretraining and LAFT's stage 1 use it.
MBART_TEXT_INFILLING_FLAGS = ("--mask", "0.35", "--mask-length", "span-poisson", "--poisson-lambda", "3.5",
                              "--replace-length", "1", "--mask-random", "0.1", "--permute-sentences", "0",
                              "--rotate", "0", "--insert", "0")


class PretrainedModelError(InputError):
    """A pretrained model directory is incomplete or does not match its dictionary."""


@dataclass(frozen=True)
class PretrainedLayout:
    """File names of one pretrained model family."""

    family: str
    spm_file: str
    task: str

    def paths(self, model_dir):
        return {name: os.path.join(model_dir, name) for name in ("model.pt", "dict.txt", self.spm_file)}


MBART_LAYOUT = PretrainedLayout("mbart", "sentence.bpe.model", "multilingual_denoising")
XLMR_LAYOUT = PretrainedLayout("xlmr", "sentencepiece.bpe.model", "masked_lm")


def check_model_dir(model_dir, layout):
    """Raise a one-line :class:`PretrainedModelError` naming the first missing file."""
    for name, path in layout.paths(model_dir).items():
        if not os.path.isfile(path):
            raise PretrainedModelError(
                f"{path}: missing; a {layout.family} model directory needs model.pt, dict.txt "
                f"and {layout.spm_file} (download the official archive or run xlgen-make-fixtures)"
            )


def count_dictionary_lines(dict_path):
    with open(dict_path, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


def expected_vocab_size(dict_path, layout, langs=MBART_CC25_LANGS):
    """Rows of the embedding matrix: 4 specials + dict.txt (+ language tokens) + ``<mask>``."""
    size = 4 + count_dictionary_lines(dict_path) + 1
    return size + len(langs) if layout is MBART_LAYOUT else size


def load_sentencepiece(path):
    """A SentencePiece processor; one-line :class:`InputFileError` for a missing or non-model file."""
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor()
    try:
        processor.load(path)
    except (OSError, RuntimeError):
        raise InputFileError(path, "not a SentencePiece model (or missing); pass the model's .model file, e.g. "
                                   "mbart.cc25/sentence.bpe.model") from None
    return processor


def load_pretrained(model_dir, layout, **overrides):
    """Load with fairseq's hub loader (``BARTModel``/``XLMRModel.from_pretrained``), checked first."""
    check_model_dir(model_dir, layout)
    paths = layout.paths(model_dir)
    load_sentencepiece(paths[layout.spm_file])
    state = load_model_checkpoint(paths["model.pt"], mmap=True)
    key = "encoder.embed_tokens.weight" if layout is MBART_LAYOUT else _xlmr_embedding_key(state["model"], paths)
    if key not in state["model"]:
        raise PretrainedModelError(f"{paths['model.pt']}: no {key}; not a {layout.family} checkpoint")
    rows = state["model"][key].shape[0]
    langs = (saved_setting(state, "langs") or ",".join(MBART_CC25_LANGS)).split(",")
    want = expected_vocab_size(paths["dict.txt"], layout, langs)
    if rows != want:
        raise PretrainedModelError(
            f"{paths['dict.txt']}: gives {want} embedding rows but {paths['model.pt']} has {rows}; "
            "use the dict.txt shipped with this model.pt"
        )
    if layout is MBART_LAYOUT:
        from fairseq.models.bart import BARTModel

        return BARTModel.from_pretrained(
            model_dir, checkpoint_file="model.pt", bpe="sentencepiece",
            sentencepiece_model=paths[layout.spm_file], **overrides,
        )
    from fairseq.models.roberta import XLMRModel

    return XLMRModel.from_pretrained(model_dir, checkpoint_file="model.pt", bpe="sentencepiece", **overrides)


def load_xlmr(path):
    """fairseq's XLM-R hub (``XLMRModel``) of an xlmr.base/xlmr.large-style directory, or of a checkpoint file
    inside one (its dict.txt and SentencePiece model beside it), and the weights file it read."""
    from fairseq.models.roberta import XLMRModel

    if os.path.isdir(path):
        return load_pretrained(path, XLMR_LAYOUT), os.path.join(path, "model.pt")
    model_dir, name = os.path.split(os.path.abspath(path))
    if not os.path.isfile(path):
        raise PretrainedModelError(f"{path}: no such file or directory; name an xlmr.base-style directory (model.pt, "
                                   "dict.txt, sentencepiece.bpe.model) or its model.pt")
    if not os.path.isfile(os.path.join(model_dir, "dict.txt")):
        raise PretrainedModelError(f"{model_dir}/dict.txt: missing; an XLM-R checkpoint needs its dict.txt beside it")
    if name == "model.pt":
        return load_pretrained(model_dir, XLMR_LAYOUT), path
    return XLMRModel.from_pretrained(model_dir, checkpoint_file=name, bpe="sentencepiece"), path


def load_mbart(path: str, data: Optional[str] = None):
    """``(model, dictionary, num_updates)`` of an mbart.cc25-style directory (update 0) or of a fairseq checkpoint
    of an mBART-family encoder-decoder, in evaluation mode on the CPU.

    Checkpoints are loaded with fairseq's ``load_model_ensemble_and_task`` (their task is set up again: ``data``
    replaces the training data directory when it has moved); the training-time XLRS metric of
    ``multi_source_summarization`` is switched off, it is not needed to encode.
    """
    if os.path.isdir(path):
        hub = load_pretrained(path, MBART_LAYOUT)
        hub.model.eval()  # the hub's generation-fast model.train() returns None: no chaining
        return hub.model, hub.task.source_dictionary, 0
    from fairseq import checkpoint_utils

    state = load_model_checkpoint(path, mmap=True)  # a torn or foreign file: one line, before fairseq reads it
    if "encoder.embed_tokens.weight" not in state["model"]:
        raise InputFileError(path, f"not an mBART-family encoder-decoder (--arch {saved_setting(state, 'arch')}); "
                                   "pass mBART checkpoints or model directories")
    overrides = {"xlrs_parallel_prefix": "", **({"data": data} if data else {})}
    state = checkpoint_utils.load_checkpoint_to_cpu(path, overrides)
    models, _cfg, task = checkpoint_utils.load_model_ensemble_and_task([path], overrides, state=state)
    num_updates = state["optimizer_history"][-1]["num_updates"] if state.get("optimizer_history") else 0
    models[0].eval()
    return models[0], task.source_dictionary, int(num_updates)


def mbart_source_tokens(piece_lines: Sequence[str], dictionary, lang: str, max_positions: int) -> List[torch.Tensor]:
    """Token ids in mBART's source format ``x </s> [lang]``; longer inputs keep their first
    ``max_positions - 2`` pieces."""
    lang_index = dictionary.index(f"[{lang}]")
    if lang_index == dictionary.unk():
        raise ValueError(f"[{lang}] is not in the model dictionary; the language must be one of the model's --langs")
    tokens = []
    for line in piece_lines:
        ids = dictionary.encode_line(line, add_if_not_exist=False, append_eos=False).long()[: max_positions - 2]
        tokens.append(torch.cat([ids, ids.new_tensor([dictionary.eos(), lang_index])]))
    return tokens


#: The sizes an XLM-R checkpoint records, by the stem of their fairseq flags (``--encoder-layers``, ...).
XLMR_SIZE_FLAGS = {"layers": "encoder_layers", "embed-dim": "encoder_embed_dim",
                   "ffn-embed-dim": "encoder_ffn_embed_dim", "attention-heads": "encoder_attention_heads"}


def xlmr_encoder_decoder_size_flags(path: str) -> List[str]:
    """``--encoder-*`` and ``--decoder-*`` size flags giving both sides of an ``xlmr_transformer`` (the AR
    baseline of paper 003) the sizes of the XLM-R at ``path`` (a directory or its model.pt): a backbone of
    other sizes than its ``--arch`` names, such as a testbed fixture."""
    model_pt = os.path.join(path, "model.pt") if os.path.isdir(path) else path
    state = load_model_checkpoint(model_pt, mmap=True)
    flags = []
    for stem, name in XLMR_SIZE_FLAGS.items():
        value = saved_setting(state, name)
        if value is None:
            raise PretrainedModelError(f"{model_pt}: records no {name}; not an XLM-R checkpoint")
        flags += [f"--encoder-{stem}", str(value), f"--decoder-{stem}", str(value)]
    return flags


def _xlmr_embedding_key(state_dict, paths):
    for prefix in ("encoder", "decoder"):
        key = f"{prefix}.sentence_encoder.embed_tokens.weight"
        if key in state_dict:
            return key
    raise PretrainedModelError(f"{paths['model.pt']}: no sentence_encoder.embed_tokens.weight; not an XLM-R checkpoint")
