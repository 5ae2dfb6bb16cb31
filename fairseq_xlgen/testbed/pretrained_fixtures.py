"""Tiny mBART and XLM-R checkpoints in exactly the on-disk format of mbart.cc25 and xlmr.base.

No weights can be downloaded here, so tests and demos use these instead. Each fixture is a
directory with ``model.pt`` (a legacy ``args`` namespace as the public files carry, built by
fairseq's own argument parser), ``dict.txt`` (SentencePiece pieces with corpus counts, most
frequent first, specials excluded) and the SentencePiece model under the public file name.
XLM-R state dicts use the legacy key names of the public xlmr.base file
(``decoder.sentence_encoder.*``, ``emb_layer_norm``, fused ``in_proj_weight``), which
fairseq upgrades on load. Building is deterministic for a given corpus and seed.

By default the weights are randomly initialized. With ``pretrain_updates > 0`` the mBART
fixture is really pretrained like mbart.cc25: ``fairseq-train --task multilingual_denoising``
with mBART's noise on the corpus (one file per language, named ``<cc25 code>.txt``), then
saved in the same legacy format (``num_updates`` in ``optimizer_history``); the fairseq log
is kept as ``pretrain_mbart.log`` next to the model directories. Likewise
``xlmr_pretrain_updates > 0`` pretrains the XLM-R fixture like xlmr.base: ``fairseq-train
--task masked_lm`` (RoBERTa's 15% masking, 80/10/10) on all corpus files concatenated into
one stream of complete lines, as XLM-R mixes its languages; log ``pretrain_xlmr.log``, wall
time in ``fixtures.json``. ``xlmr_parallel`` pairs of files add translation-LM lines (XLM's
TLM, Conneau & Lample 2019: a sentence and its translation as one line, masked together) to
that stream: the benchmark's languages share no words, so masked-LM on monolingual text alone
leaves a tiny model with no cross-lingual knowledge, which real XLM-R gets from its scale and
SGA relies on. SentencePiece and ``dict.txt`` come from the monolingual corpus only.
:func:`masked_lm_accuracy` measures the result on held-out text.
The sizes are :class:`fairseq_xlgen.testbed.sizes.TinyModelConfig` (apart, so that the ``*_tiny``
architectures need not import this builder). The XLM-R sizes (``xlmr_*``) are
separate from mBART's so that a larger frozen backbone for SGA does not change the mBART fixture.
"""
import collections
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict

import torch

from fairseq_xlgen.checkpoint_loading import load_checkpoint
from fairseq_xlgen.file_io import atomic_output, atomic_path, file_sha256, replace_directory
from fairseq_xlgen.pretrained import MBART_CC25_LANGS, MBART_LAYOUT, MBART_TEXT_INFILLING_FLAGS, XLMR_LAYOUT
from fairseq_xlgen.testbed.sizes import TinyModelConfig

logger = logging.getLogger(__name__)

FIXTURE_VERSION = 2
#: settings added since: they identify a fixture only when changed from their default, so fixtures
#: built before them (e.g. the shipped fixtures/benchmark-small) still match
SETTINGS_ADDED_AFTER_VERSION_2 = {"bos_block_share": 1.0, "embedding_init": "random", "xlmr_pretrain_lr": 0.0,
                                  "xlmr_embedding_init": "random", "xlmr_mask_prob": 0.15}
EMBEDDING_INITS = ("random", "skipgram")


def train_sentencepiece(corpus_files, model_path, vocab_size):
    """Unigram SentencePiece model over all corpus lines (as the public models use)."""
    import sentencepiece as spm

    with atomic_path(model_path) as prefix:  # SentencePiece writes PREFIX.model and PREFIX.vocab
        spm.SentencePieceTrainer.train(
            input=",".join(corpus_files), model_prefix=prefix, vocab_size=vocab_size,
            model_type="unigram", character_coverage=0.9995, hard_vocab_limit=False,
            num_threads=1, minloglevel=2, bos_id=0, pad_id=1, eos_id=2, unk_id=3,
        )
        os.remove(prefix + ".vocab")
        os.replace(prefix + ".model", prefix)


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
    with atomic_output(dict_path) as f:
        for piece in pieces:
            f.write(f"{piece} {counts[piece]}\n")


def _parse_fairseq_args(data_dir, argv):
    from fairseq import options

    parser = options.get_training_parser()
    return options.parse_args_and_arch(parser, [data_dir] + argv)


def _common_size_flags(cfg):
    return ["--dropout", "0.1", "--attention-dropout", "0.1", "--seed", str(cfg.seed)]


def mbart_argv(cfg, langs=MBART_CC25_LANGS):
    """Command-line arguments of an mbart.cc25-style pretraining run, with tiny sizes."""
    sizes = [
        "--encoder-embed-dim", str(cfg.embed_dim), "--decoder-embed-dim", str(cfg.embed_dim),
        "--encoder-ffn-embed-dim", str(cfg.ffn_dim), "--decoder-ffn-embed-dim", str(cfg.ffn_dim),
        "--encoder-layers", str(cfg.layers), "--decoder-layers", str(cfg.layers),
        "--encoder-attention-heads", str(cfg.heads), "--decoder-attention-heads", str(cfg.heads),
        "--max-source-positions", str(cfg.max_positions), "--max-target-positions", str(cfg.max_positions),
    ]
    return [
        "--task", "multilingual_denoising", "--langs", ",".join(langs), "--add-lang-token",
        "--arch", "mbart_large", "--layernorm-embedding", "--encoder-normalize-before",
        "--decoder-normalize-before", "--criterion", "cross_entropy", "--max-tokens", "4096", *sizes, *_common_size_flags(cfg),
    ]


def mbart_args(data_dir, cfg):
    """The args namespace of an mbart.cc25-style pretraining run, with tiny sizes."""
    return _parse_fairseq_args(data_dir, mbart_argv(cfg))


def xlmr_argv(cfg):
    """Command-line arguments of an xlmr.base-style pretraining run, with tiny sizes."""
    return [
        "--task", "masked_lm", "--arch", "roberta_base", "--criterion", "masked_lm",
        "--encoder-embed-dim", str(cfg.xlmr_embed_dim), "--encoder-ffn-embed-dim", str(cfg.xlmr_ffn_dim),
        "--encoder-layers", str(cfg.xlmr_layers), "--encoder-attention-heads", str(cfg.xlmr_heads),
        "--max-positions", str(cfg.max_positions), "--tokens-per-sample", str(cfg.max_positions),
        "--max-tokens", str(cfg.xlmr_max_tokens), *_common_size_flags(cfg),
    ]


def xlmr_args(data_dir, cfg):
    """The args namespace of an xlmr.base-style pretraining run, with tiny sizes."""
    return _parse_fairseq_args(data_dir, xlmr_argv(cfg))


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


def corpus_languages(corpus_files):
    """``{cc25 code: [files]}`` from file names ``<code>.txt`` (pretraining needs each file's language)."""
    langs = collections.OrderedDict()
    for path in corpus_files:
        lang = os.path.basename(path)[: -len(".txt")] if path.endswith(".txt") else None
        if lang not in MBART_CC25_LANGS:
            raise ValueError(f"{path}: pretraining needs one file per language named <cc25 code>.txt "
                             f"(e.g. en_XX.txt), codes: {','.join(MBART_CC25_LANGS)}")
        langs.setdefault(lang, []).append(path)
    return langs


def _run_logged(cmd, log):
    """Run a fairseq command line, echo its output (progress) to stderr and append it to ``log``."""
    with open(log, "a", encoding="utf-8") as f:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = []
        for line in proc.stdout:
            sys.stderr.write(line)
            f.write(line)
            lines = (lines + [line])[-20:]
        if proc.wait() != 0:
            raise RuntimeError(f"{cmd[2]} failed (exit {proc.returncode}):\n" + "".join(lines))


def _binarize_corpus(files, spm_model, dict_path, encoded, dest, log, parallel=()):
    """SentencePiece-encode ``files`` into one text file and binarize it with the fixture's dict.

    ``parallel``: (source file, target file) pairs; each line pair becomes one line, source pieces then
    target pieces (translation LM).
    """
    import sentencepiece as spm

    done = os.path.join(dest, ".binarized")
    if os.path.isfile(done):  # a resumed build
        return
    sp = spm.SentencePieceProcessor(model_file=spm_model)
    pieces = lambda line: sp.encode(line.strip(), out_type=str)  # noqa: E731
    with open(encoded, "w", encoding="utf-8") as out:
        for path in files:
            with open(path, encoding="utf-8") as f:
                out.writelines(" ".join(pieces(line)) + "\n" for line in f if line.strip())
        for source, target in parallel:
            with open(source, encoding="utf-8") as src, open(target, encoding="utf-8") as tgt:
                out.writelines(" ".join(pieces(a) + pieces(b)) + "\n" for a, b in zip(src, tgt) if a.strip() or b.strip())
    _run_logged([sys.executable, "-m", "fairseq_cli.preprocess", "--only-source", "--srcdict", dict_path,
                 "--trainpref", encoded, "--destdir", dest, "--workers", "1"], log)
    open(done, "w").close()


def _pretrain_schedule_argv(lr, updates, save_dir, scheduler=("inverse_sqrt",)):
    """Adam, warmup over 10% of the updates then ``scheduler``, no validation; checkpoint_last.pt every 5% of
    the updates, from which a rerun resumes (fairseq restores the optimizer, the schedule and the position
    in the epoch, and seeds dropout by update). Masked-LM noise is seeded per sample, so a resumed XLM-R
    ends with the uninterrupted weights; mBART's DenoisingDataset draws its random-token replacements from
    torch's global generator, so a resumed mBART ends close to them, not bit-equal."""
    return [
        "--optimizer", "adam", "--adam-betas", "(0.9, 0.98)", "--adam-eps", "1e-6", "--clip-norm", "1.0",
        "--lr", str(lr), "--lr-scheduler", *scheduler, "--warmup-updates", str(max(1, updates // 10)),
        "--max-update", str(updates), "--disable-validation", "--valid-subset", "train",  # (fairseq loads it anyway)
        "--no-epoch-checkpoints", "--save-dir", save_dir,
        "--save-interval-updates", str(max(1, updates // 20)), "--keep-interval-updates", "1",
        "--num-workers", "0", "--log-format", "json", "--log-interval", str(max(1, updates // 20)),
    ]


def _pretrain(data, argv, save_dir, updates, log):
    """fairseq-train ``argv`` on ``data`` up to ``updates`` (resuming from ``save_dir``'s checkpoint_last.pt where
    an interrupted run left one); returns the trained state dict."""
    last = os.path.join(save_dir, "checkpoint_last.pt")
    state = load_checkpoint(last) if os.path.isfile(last) else None
    if state is None or state["optimizer_history"][-1]["num_updates"] != updates:  # else: finished before
        if state is not None:
            logger.info("resuming the pretraining from %s", last)
        _run_logged([sys.executable, "-m", "fairseq_cli.train", data, *argv], log)
        state = load_checkpoint(last)
    assert state["optimizer_history"][-1]["num_updates"] == updates, state["optimizer_history"][-1]
    return state["model"]


def piece_vectors(encoded_files, dim, seed):
    """Joint skip-gram vectors of the pieces of SentencePiece-encoded files (all languages in one space:
    the code-switched pretraining text puts words of several languages in one context)."""
    from gensim.models import Word2Vec

    sentences = []
    for path in encoded_files:
        with open(path, encoding="utf-8") as f:
            sentences.extend(line.split() for line in f if line.strip())
    model = Word2Vec(sentences, vector_size=dim, window=5, negative=10, min_count=1, sg=1, epochs=5, workers=1,
                     seed=seed)
    return {piece: torch.from_numpy(model.wv[piece].copy()) for piece in model.wv.index_to_key}


def embedding_init_argv(init, data_dir, train_argv, encoded_files, seed, work_dir):
    """``--finetune-from-model`` flags of a model whose token embeddings are skip-gram vectors (``init``: random or
    skipgram): the first run starts from it, a resumed run from its checkpoint_last.pt.

    The model is built from ``train_argv`` as the pretraining run builds it; each dictionary row with a
    vector gets it, centred and scaled to the mean norm of the random rows (fp32); other rows (specials,
    language tokens, ``<mask>``) keep fairseq's initialization.
    """
    if init == "random":
        return []
    path = os.path.join(work_dir, "embedding_init.pt")
    if os.path.isfile(path):
        return ["--finetune-from-model", path]
    args = _parse_fairseq_args(data_dir, train_argv)
    model = _build_model(args)
    # the first embed_tokens: mBART's encoder's (shared with the decoder), XLM-R's sentence encoder's (and LM head's)
    weight = next(module for name, module in model.named_modules() if name.endswith("embed_tokens")).weight.data
    vectors = piece_vectors(encoded_files, weight.shape[1], seed)
    found = [(row, vectors[symbol]) for row, symbol in enumerate(model.encoder.dictionary.symbols) if symbol in vectors]
    rows, matrix = torch.tensor([row for row, _ in found]), torch.stack([v for _, v in found]).float()
    matrix = torch.nn.functional.normalize(matrix - matrix.mean(0), dim=1)
    weight[rows] = matrix * weight.float().norm(dim=1).mean()
    with atomic_path(path) as tmp:
        save_legacy_checkpoint(tmp, args, model.state_dict())
    return ["--finetune-from-model", path]


def _mixed_bos_argv(cfg):
    """The pretraining task for blocks partly in the finetuning format (none when all keep ``<s>``)."""
    if cfg.bos_block_share == 1:
        return []
    from fairseq_xlgen.userdir import USER_DIR

    return ["--user-dir", USER_DIR, "--task", "multilingual_denoising_mixed_bos",
            "--bos-block-share", str(cfg.bos_block_share)]


def pretrain_mbart(work_dir, corpus_files, spm_model, dict_path, cfg, log):
    """``cfg.pretrain_updates`` updates of mBART denoising on the corpus; returns the model's state dict.

    fairseq's ``multilingual_denoising`` task needs data for every language in ``--langs``, so
    the run lists only the corpus languages; its dict.txt already holds all 25 ``[lang]``
    tokens in cc25 order, so the embedding rows come out exactly as in the 25-language model.
    """
    langs = corpus_languages(corpus_files)
    data = os.path.join(work_dir, "data")
    os.makedirs(data, exist_ok=True)
    with open(dict_path, encoding="utf-8") as src, open(os.path.join(data, "dict.txt"), "w", encoding="utf-8") as dst:
        dst.write(src.read() + "".join(f"[{lang}] 1\n" for lang in MBART_CC25_LANGS))
    for lang, files in langs.items():
        _binarize_corpus(files, spm_model, dict_path, os.path.join(work_dir, f"{lang}.spm"),
                              os.path.join(data, lang), log)
    n = cfg.pretrain_updates
    save_dir = os.path.join(work_dir, "checkpoints")
    argv = [
        *mbart_argv(cfg, langs=list(langs)),
        *MBART_TEXT_INFILLING_FLAGS,
        "--bpe", "sentencepiece", "--sentencepiece-model", spm_model,  # word boundaries of whole-word masking
        "--no-whole-word-mask-langs", "zh_CN,ja_XX",  # no spaces: mask subwords
        "--sample-break-mode", "complete", "--tokens-per-sample", str(cfg.pretrain_tokens_per_sample),
        "--multilang-sampling-alpha", "0.7", *_pretrain_schedule_argv(cfg.pretrain_lr, n, save_dir),
        *_mixed_bos_argv(cfg),
    ]
    encoded = [os.path.join(work_dir, f"{lang}.spm") for lang in langs]
    init = embedding_init_argv(cfg.embedding_init, data, argv, encoded, cfg.seed, work_dir)
    return _pretrain(data, argv + init, save_dir, n, log)


def pretrain_xlmr(work_dir, corpus_files, spm_model, dict_path, cfg, log, parallel=()):
    """``cfg.xlmr_pretrain_updates`` updates of masked-LM training on the corpus; returns the state dict.

    All files form one dataset, so batches mix languages as XLM-R's do (without XLM-R's
    per-language resampling); fairseq's ``masked_lm`` task appends ``<mask>`` to the fixture's
    dict.txt, as for xlmr.base.
    """
    data = os.path.join(work_dir, "data")
    _binarize_corpus(corpus_files, spm_model, dict_path, os.path.join(work_dir, "all.spm"), data, log,
                          parallel=parallel)
    n = cfg.xlmr_pretrain_updates
    save_dir = os.path.join(work_dir, "checkpoints")
    argv = [
        *xlmr_argv(cfg), "--sample-break-mode", "complete",
        # overrides xlmr_argv's tokens_per_sample (= max_positions, kept in the saved args as xlmr.base's):
        # argparse keeps the last value given
        "--tokens-per-sample", str(cfg.pretrain_tokens_per_sample),
        "--mask-prob", str(cfg.xlmr_mask_prob),  # the saved args keep xlmr.base's 0.15
        # XLM-R's (RoBERTa's) linear decay to 0, which keeps the rate high for longer than inverse-sqrt
        *_pretrain_schedule_argv(cfg.xlmr_pretrain_lr or cfg.pretrain_lr, n, save_dir,
                                 scheduler=("polynomial_decay", "--total-num-update", str(n))),
    ]
    encoded = [os.path.join(work_dir, "all.spm")]
    init = embedding_init_argv(cfg.xlmr_embedding_init, data, argv, encoded, cfg.seed, work_dir)
    return _pretrain(data, argv + init, save_dir, n, log)


def build_fixture(layout, out_dir, spm_model, dict_path, cfg, state=None, num_updates=0):
    """One model directory (mbart.cc25 or xlmr.base layout); randomly initialized unless ``state`` is given."""
    os.makedirs(out_dir, exist_ok=True)
    shutil.copyfile(spm_model, os.path.join(out_dir, layout.spm_file))
    shutil.copyfile(dict_path, os.path.join(out_dir, "dict.txt"))
    args = mbart_args(out_dir, cfg) if layout is MBART_LAYOUT else xlmr_args(out_dir, cfg)
    model = _build_model(args)  # also fills the architecture's defaults into args, as a training run does
    if state is not None:
        model.load_state_dict(state, strict=True)  # a trained state dict must fit the architecture exactly
    state = model.state_dict() if layout is MBART_LAYOUT else legacy_xlmr_state_dict(model.state_dict())
    args.data = "."  # the public files carry a path of their training machine; ours is relative
    save_legacy_checkpoint(os.path.join(out_dir, "model.pt"), args, state, num_updates)


def _file_identity(path):
    return {"name": os.path.basename(path), "bytes": os.path.getsize(path), "sha256": file_sha256(path)}


def fixture_settings(corpus_files, cfg, parallel=()):
    """What identifies a fixture: the format version, the sizes and the corpus by name and content."""
    config = {key: value for key, value in asdict(cfg).items()
              if key not in SETTINGS_ADDED_AFTER_VERSION_2 or value != SETTINGS_ADDED_AFTER_VERSION_2[key]}
    settings = {"version": FIXTURE_VERSION, "config": config, "corpus": [_file_identity(p) for p in corpus_files]}
    if parallel:
        settings["xlmr_parallel"] = [[_file_identity(p) for p in pair] for pair in parallel]
    return settings


def check_parallel_files(parallel):
    """Each (source, target) pair exists, is non-empty and has as many lines on both sides."""
    for pair in parallel:
        counts = []
        for path in pair:
            if not os.path.isfile(path) or os.path.getsize(path) == 0:
                raise ValueError(f"--xlmr-parallel {path}: missing or empty file; pass a sentence-aligned "
                                 "pair of text files")
            with open(path, "rb") as f:
                counts.append(sum(1 for _ in f))
        if counts[0] != counts[1]:
            raise ValueError(f"--xlmr-parallel {pair[0]} {pair[1]}: {counts[0]} and {counts[1]} lines; "
                             "the files of a pair must be sentence-aligned")


def _matching_fixture(directory, settings):
    """The sidecar of the fixtures in ``directory`` if they were built with ``settings``, else None."""
    sidecar = os.path.join(directory, "fixtures.json")
    if not os.path.isfile(sidecar):
        return None
    with open(sidecar) as f:
        cached = json.load(f)
    return cached if {k: v for k, v in cached.items() if k != "pretrain_seconds"} == settings else None


def build_fixtures(out_dir, corpus_files, cfg=None, force=False, prebuilt=None, parallel=()):
    """Build ``mbart.cc25/`` and ``xlmr.base/`` tiny fixtures under ``out_dir`` (cached).

    Returns the settings dict (plus ``pretrain_seconds`` of each pretrained model: the wall time of the run
    that finished it); rebuilds only when the corpus (by content) or the settings changed. The build works
    in ``.<out_dir name>.build-<settings hash>/`` beside it and removes it when done: an interrupted build
    (even by kill -9) resumes from there when run again with the same corpus and settings. ``prebuilt``: a directory of
    fixtures built earlier (e.g. the repository's ``fixtures/benchmark-small``), copied instead
    of building when it was built from the same corpus with the same settings. ``parallel``:
    (source file, target file) pairs of translation-LM lines for the XLM-R pretraining.
    """
    cfg = cfg or TinyModelConfig()
    for flag, init in (("--embedding-init", cfg.embedding_init), ("--xlmr-embedding-init", cfg.xlmr_embedding_init)):
        if init not in EMBEDDING_INITS:
            raise ValueError(f"{flag} {init}: expected one of {', '.join(EMBEDDING_INITS)}")
    for path in corpus_files:
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            raise ValueError(f"{path}: missing or empty corpus file; pass monolingual text, one sentence per line")
    if cfg.pretrain_updates > 0:
        corpus_languages(corpus_files)  # fail before any work
    if parallel and cfg.xlmr_pretrain_updates == 0:
        raise ValueError("--xlmr-parallel: used only by the XLM-R pretraining; give --xlmr-pretrain-updates too")
    check_parallel_files(parallel)
    settings = fixture_settings(corpus_files, cfg, parallel)
    if not force:
        cached = _matching_fixture(out_dir, settings)
        if cached is not None:
            return cached
    source = prebuilt and _matching_fixture(prebuilt, settings)
    if prebuilt and source is None:
        logger.warning("%s: built from another corpus or with other settings; building the fixtures anew", prebuilt)
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    if source is not None:
        tmp = tempfile.mkdtemp(prefix=".fixtures-", dir=parent)
        try:
            shutil.copytree(prebuilt, tmp, dirs_exist_ok=True)
            replace_directory(tmp, out_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        logger.info("copied the prebuilt fixtures of %s to %s", prebuilt, out_dir)
        return source
    build = os.path.join(parent, f".{os.path.basename(os.path.abspath(out_dir))}.build-{_settings_hash(settings)}")
    if os.path.isdir(build):
        logger.info("resuming the interrupted fixture build in %s", build)
    stage = os.path.join(build, "stage")  # what becomes out_dir
    os.makedirs(stage, exist_ok=True)
    spm_model = os.path.join(build, "spm.model")
    dict_path = os.path.join(build, "dict.txt")
    if not os.path.isfile(dict_path):
        train_sentencepiece(corpus_files, spm_model, cfg.vocab_size)
        write_fairseq_dictionary(spm_model, corpus_files, dict_path)
    trained, seconds = {}, {}
    for name, updates, pretrain in (("mbart", cfg.pretrain_updates, pretrain_mbart),
                                    ("xlmr", cfg.xlmr_pretrain_updates, pretrain_xlmr)):
        if updates > 0:
            work, start = os.path.join(build, f"pretrain-{name}"), time.time()
            os.makedirs(work, exist_ok=True)
            extra = {"parallel": parallel} if name == "xlmr" else {}
            trained[name] = pretrain(work, corpus_files, spm_model, dict_path, cfg,
                                     log=os.path.join(stage, f"pretrain_{name}.log"), **extra)
            seconds[name] = round(time.time() - start, 1)
    build_fixture(MBART_LAYOUT, os.path.join(stage, "mbart.cc25"), spm_model, dict_path, cfg,
                  state=trained.get("mbart"), num_updates=cfg.pretrain_updates)
    build_fixture(XLMR_LAYOUT, os.path.join(stage, "xlmr.base"), spm_model, dict_path, cfg,
                  state=trained.get("xlmr"), num_updates=cfg.xlmr_pretrain_updates)
    if seconds:
        settings["pretrain_seconds"] = seconds
    with open(os.path.join(stage, "fixtures.json"), "w") as f:
        json.dump(settings, f, indent=2)
    replace_directory(stage, out_dir)
    shutil.rmtree(build)
    logger.info("built tiny mbart.cc25 and xlmr.base fixtures in %s", out_dir)
    return settings


def _settings_hash(settings):
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def masked_lm_accuracy(hub, lines, mask_prob=0.15, seed=0, batch_size=32):
    """Masked-token accuracy and loss of an XLM-R hub model (``XLMRModel.from_pretrained``) on text.

    In each line ``mask_prob`` of the non-special tokens (at least one) are replaced by
    ``<mask>`` with a fixed seed; returns ``{"accuracy", "loss" (mean NLL in nats), "masked"}``.
    Runs in eval mode (no dropout; ``from_pretrained`` leaves the model in training mode).
    """
    from fairseq.data import data_utils

    was_training = hub.model.training
    hub.model.eval()
    generator = torch.Generator().manual_seed(seed)
    mask_idx = hub.task.source_dictionary.index("<mask>")
    pad = hub.task.source_dictionary.pad()
    correct, nll, total = 0, 0.0, 0
    encoded = [hub.encode(line)[: hub.model.max_positions()] for line in lines if line.strip()]
    with torch.no_grad():
        for start in range(0, len(encoded), batch_size):
            targets = data_utils.collate_tokens(encoded[start:start + batch_size], pad_idx=pad)
            inner = (targets != pad) & (targets != hub.task.source_dictionary.bos()) & \
                (targets != hub.task.source_dictionary.eos())
            mask = inner & (torch.rand(targets.shape, generator=generator) < mask_prob)
            first = inner.float().argmax(dim=1)  # lines with no masked token get their first one
            mask[torch.arange(len(targets)), first] |= ~mask.any(dim=1) & inner.any(dim=1)
            logits = hub.model(targets.masked_fill(mask, mask_idx), masked_tokens=mask)[0].float()
            gold = targets[mask]
            correct += (logits.argmax(dim=-1) == gold).sum().item()
            nll += torch.nn.functional.cross_entropy(logits, gold, reduction="sum").item()
            total += gold.numel()
    hub.model.train(was_training)
    if total == 0:
        raise ValueError("no tokens to mask: pass non-empty lines")
    return {"accuracy": correct / total, "loss": nll / total, "masked": total}
