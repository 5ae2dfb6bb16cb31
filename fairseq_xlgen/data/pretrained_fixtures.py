"""Tiny mBART and XLM-R checkpoints in exactly the on-disk format of mbart.cc25 and xlmr.base.

No weights can be downloaded here, so tests and demos use these instead. Each fixture is a
directory with ``model.pt`` (a legacy ``args`` namespace as the public files carry, built by
fairseq's own argument parser), ``dict.txt`` (SentencePiece pieces with corpus counts, most
frequent first, specials excluded) and the SentencePiece model under the public file name.
XLM-R state dicts use the legacy key names of the public xlmr.base file
(``decoder.sentence_encoder.*``, ``emb_layer_norm``, fused ``in_proj_weight``), which
fairseq upgrades on load. Building is deterministic for a given corpus and seed.
"""
import collections
import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field

import torch

from fairseq_xlgen.pretrained import MBART_CC25_LANGS, MBART_LAYOUT, XLMR_LAYOUT

logger = logging.getLogger(__name__)

FIXTURE_VERSION = 1


@dataclass
class TinyModelConfig:
    """Sizes of the tiny models (the public ones: 12+12 layers d=1024 / 12 layers d=768)."""

    embed_dim: int = field(default=64, metadata={"help": "model dimension"})
    ffn_dim: int = field(default=128, metadata={"help": "feed-forward dimension"})
    layers: int = field(default=2, metadata={"help": "layers per encoder/decoder"})
    heads: int = field(default=4, metadata={"help": "attention heads"})
    vocab_size: int = field(default=2000, metadata={"help": "SentencePiece vocabulary (upper bound)"})
    max_positions: int = field(default=256, metadata={"help": "learned positions"})
    seed: int = field(default=1, metadata={"help": "seed of the parameter initialization"})


def train_sentencepiece(corpus_files, model_path, vocab_size):
    """Unigram SentencePiece model over all corpus lines (as the public models use)."""
    import sentencepiece as spm

    prefix = model_path[: -len(".model")]
    spm.SentencePieceTrainer.train(
        input=",".join(corpus_files), model_prefix=prefix, vocab_size=vocab_size,
        model_type="unigram", character_coverage=0.9995, hard_vocab_limit=False,
        num_threads=1, minloglevel=2, bos_id=0, pad_id=1, eos_id=2, unk_id=3,
    )
    os.remove(prefix + ".vocab")


def write_fairseq_dictionary(spm_model, corpus_files, dict_path):
    """dict.txt as ``fairseq-preprocess`` writes it: every non-special piece with its count."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=spm_model)
    counts = collections.Counter()
    for path in corpus_files:
        with open(path, encoding="utf-8") as f:
            for line in f:
                counts.update(sp.encode(line.strip(), out_type=str))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())
              if not (sp.is_control(i) or sp.is_unknown(i))]
    pieces.sort(key=lambda p: -counts[p])  # stable: ties keep SentencePiece order
    with open(dict_path, "w", encoding="utf-8") as f:
        for piece in pieces:
            f.write(f"{piece} {counts[piece]}\n")


def _parse_fairseq_args(data_dir, argv):
    from fairseq import options

    parser = options.get_training_parser()
    return options.parse_args_and_arch(parser, [data_dir] + argv)


def _common_size_flags(cfg):
    return ["--dropout", "0.1", "--attention-dropout", "0.1", "--seed", str(cfg.seed)]


def mbart_args(data_dir, cfg):
    """The args namespace of an mbart.cc25-style pretraining run, with tiny sizes."""
    sizes = [
        "--encoder-embed-dim", str(cfg.embed_dim), "--decoder-embed-dim", str(cfg.embed_dim),
        "--encoder-ffn-embed-dim", str(cfg.ffn_dim), "--decoder-ffn-embed-dim", str(cfg.ffn_dim),
        "--encoder-layers", str(cfg.layers), "--decoder-layers", str(cfg.layers),
        "--encoder-attention-heads", str(cfg.heads), "--decoder-attention-heads", str(cfg.heads),
        "--max-source-positions", str(cfg.max_positions), "--max-target-positions", str(cfg.max_positions),
    ]
    return _parse_fairseq_args(data_dir, [
        "--task", "multilingual_denoising", "--langs", ",".join(MBART_CC25_LANGS), "--add-lang-token",
        "--arch", "mbart_large", "--layernorm-embedding", "--encoder-normalize-before",
        "--decoder-normalize-before", "--criterion", "cross_entropy", "--max-tokens", "4096", *sizes, *_common_size_flags(cfg),
    ])


def xlmr_args(data_dir, cfg):
    """The args namespace of an xlmr.base-style pretraining run, with tiny sizes."""
    return _parse_fairseq_args(data_dir, [
        "--task", "masked_lm", "--arch", "roberta_base", "--criterion", "masked_lm",
        "--encoder-embed-dim", str(cfg.embed_dim), "--encoder-ffn-embed-dim", str(cfg.ffn_dim),
        "--encoder-layers", str(cfg.layers), "--encoder-attention-heads", str(cfg.heads),
        "--max-positions", str(cfg.max_positions), "--tokens-per-sample", str(cfg.max_positions),
        "--max-tokens", "4096", *_common_size_flags(cfg),
    ])


def legacy_xlmr_state_dict(state_dict):
    """Rename a fairseq 0.12 RoBERTa state dict to the key layout of the public xlmr.base file."""
    legacy = collections.OrderedDict()
    fused = collections.defaultdict(dict)
    for key, value in state_dict.items():
        key = key.replace("encoder.", "decoder.", 1).replace(".layernorm_embedding.", ".emb_layer_norm.")
        head, sep, proj = key.rpartition(".self_attn.")
        if sep and proj.split(".")[0] in ("q_proj", "k_proj", "v_proj"):
            name, param = proj.split(".")
            fused[f"{head}.self_attn.in_proj_{param}"][name] = value
            continue
        legacy[key] = value
    for key, parts in fused.items():
        legacy[key] = torch.cat([parts["q_proj"], parts["k_proj"], parts["v_proj"]], dim=0)
    return legacy


def save_legacy_checkpoint(path, args, state_dict, num_updates=0):
    """Write ``{"args", "model", "optimizer_history", ...}`` as the public downloads store them."""
    history = {"criterion_name": args.criterion, "optimizer_name": "FairseqAdam",
               "lr_scheduler_state": {"best": None}, "num_updates": num_updates}
    torch.save(
        {"args": args, "model": state_dict, "optimizer_history": [history],
         "extra_state": {"train_iterator": {"epoch": 1}, "val_loss": None},
         "last_optimizer_state": None},
        path,
    )


def _build_model(args):
    from fairseq import tasks

    torch.manual_seed(args.seed)
    task = tasks.setup_task(args)
    return task.build_model(args)


def build_fixture(layout, out_dir, spm_model, dict_path, cfg):
    """One model directory (mbart.cc25 or xlmr.base layout) with a randomly initialized model."""
    os.makedirs(out_dir, exist_ok=True)
    shutil.copyfile(spm_model, os.path.join(out_dir, layout.spm_file))
    shutil.copyfile(dict_path, os.path.join(out_dir, "dict.txt"))
    if layout is MBART_LAYOUT:
        args = mbart_args(out_dir, cfg)
        state = _build_model(args).state_dict()
    else:
        args = xlmr_args(out_dir, cfg)
        state = legacy_xlmr_state_dict(_build_model(args).state_dict())
    args.data = "."  # the public files carry a path of their training machine; ours is relative
    save_legacy_checkpoint(os.path.join(out_dir, "model.pt"), args, state)


def build_fixtures(out_dir, corpus_files, cfg=None, force=False):
    """Build ``mbart.cc25/`` and ``xlmr.base/`` tiny fixtures under ``out_dir`` (cached).

    Returns the settings dict; rebuilds only when the corpus or the settings changed.
    """
    cfg = cfg or TinyModelConfig()
    for path in corpus_files:
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            raise ValueError(f"{path}: missing or empty corpus file; pass monolingual text, one sentence per line")
    settings = {
        "version": FIXTURE_VERSION, "config": asdict(cfg),
        "corpus": [{"path": os.path.abspath(p), "bytes": os.path.getsize(p)} for p in corpus_files],
    }
    sidecar = os.path.join(out_dir, "fixtures.json")
    if not force and os.path.isfile(sidecar):
        with open(sidecar) as f:
            if json.load(f) == settings:
                return settings
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".fixtures-", dir=parent)
    try:
        spm_model = os.path.join(tmp, "spm.model")
        dict_path = os.path.join(tmp, "dict.txt")
        train_sentencepiece(corpus_files, spm_model, cfg.vocab_size)
        write_fairseq_dictionary(spm_model, corpus_files, dict_path)
        build_fixture(MBART_LAYOUT, os.path.join(tmp, "mbart.cc25"), spm_model, dict_path, cfg)
        build_fixture(XLMR_LAYOUT, os.path.join(tmp, "xlmr.base"), spm_model, dict_path, cfg)
        os.remove(spm_model)
        os.remove(dict_path)
        with open(os.path.join(tmp, "fixtures.json"), "w") as f:
            json.dump(settings, f, indent=2)
        if os.path.isdir(out_dir):
            shutil.rmtree(out_dir)
        os.chmod(tmp, 0o755)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("built tiny mbart.cc25 and xlmr.base fixtures in %s", out_dir)
    return settings
