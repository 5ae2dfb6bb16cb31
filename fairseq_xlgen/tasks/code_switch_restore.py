"""``code_switch_restore``: stage 1 of CSR two-stage finetuning (Zan et al., paper 004, §III-B).

The model restores code-switched downstream sentences in their own language, source side
``x' </s> [src]`` → ``[src] x </s>`` and target side ``y' </s> [tgt]`` → ``[tgt] y </s>``
(Eq. 3 sums both). Data are the binarized parallel files of the downstream task; the
lexicon is the unsupervised one of ``xlgen-induce-lexicon`` (``PREFIX.src2tgt.tsv`` switches
source words into the target language, ``PREFIX.tgt2src.tsv`` target words into the source
language). Stage 2 is ``translation_from_pretrained_bart`` from the stage-1 checkpoint.

Switching units, budget, spans, seeds and the positions limit: see
:mod:`fairseq_xlgen.data.code_switching` and ``examples/csr/README.md``. ``--lexicon-unit``
must be the lexicon's (checked against ``PREFIX.json``): ``pieces`` switches on ids,
``words`` on the words of the decoded text, Chinese cut by ``--word-segmenter`` (the one the
lexicon was built with), and encodes the switched text with ``--sentencepiece-model``
(:class:`~fairseq_xlgen.data.code_switching.WordSwitcher`). The source side
draws its noise from stream 0 of ``--seed``, the target side from stream 1 (the k-th pair of
``--lang-pairs``: streams 2k and 2k + 1).

``--lang-pairs en_XX-de_DE,en_XX-zh_CN`` restores several pairs of one data directory
(``data_prep/prepare_translation_pairs.sh``) in one run, each with its own lexicon
(``--lexicon-prefix`` with ``{src}``/``{tgt}`` filled per pair): beyond the paper, for zero-shot
generation into several languages (``examples/compare``: the source-language task text on
one side, each target language's monolingual text on the other; the two sides of a pair need
not be parallel, since each side restores itself).
"""
import logging
import os
from dataclasses import dataclass, field

import numpy as np
from fairseq import metrics, utils
from fairseq.data import ConcatDataset
from fairseq.tasks import register_task

from fairseq_xlgen.data.code_switching import (
    SWITCH_COUNTS, CodeSwitchLexicon, CodeSwitchRestoreDataset, WordSwitcher,
)
from fairseq_xlgen.data.indexed_data import load_binarized
from fairseq_xlgen.errors import InputError, InputFileError
from fairseq_xlgen.file_io import read_json, require_file
from fairseq_xlgen.lexicon.word_segmentation import LEXICON_UNITS, WordSegmenter, check_language
from fairseq_xlgen.tasks.pretrained_bart_config import DataclassOptions, TranslationFromPretrainedBARTConfig
from fairseq_xlgen.tasks.translation_from_pretrained_bart import TranslationFromPretrainedBARTTask

logger = logging.getLogger(__name__)

SIDES = {"both": ("source", "target"), "source": ("source",), "target": ("target",)}


@dataclass
class CodeSwitchRestoreConfig(TranslationFromPretrainedBARTConfig):
    lexicon_prefix: str = field(
        default="", metadata={"help": "lexicon prefix: PREFIX.src2tgt.tsv and PREFIX.tgt2src.tsv "
                                      "(xlgen-induce-lexicon --out-prefix)"})
    lexicon_topk: int = field(default=3, metadata={"help": "a word is replaced by a random one of its top-k translations"})
    switch_ratio: float = field(default=0.35, metadata={
        "help": "expected share of the switchable units (words; pieces in unspaced scripts) switched per sentence "
                "(mBART's mask ratio; stochastic rounding)"})
    switch_poisson_lambda: float = field(default=3.5, metadata={
        "help": "Poisson mean of a switched span's length in units (draws of 0 are drawn again)"})
    lang_pairs: str = field(
        default="", metadata={"help": "comma-separated SRC-TGT pairs restored together, e.g. en_XX-de_DE,en_XX-zh_CN "
                                      "(default: --source-lang/--target-lang); --lexicon-prefix may contain {src} "
                                      "and {tgt}, filled per pair"})
    lexicon_unit: str = field(default="pieces", metadata={
        "help": "the lexicon's unit (xlgen-train-embeddings --lexicon-unit): pieces (each piece in unspaced scripts) "
                "or words (unspaced runs cut by --word-segmenter, the switched text re-encoded with "
                "--sentencepiece-model)"})
    word_segmenter: str = field(default="jieba", metadata={
        "help": "with --lexicon-unit words: the segmenter the lexicon was built with (jieba, or jieba-dict:FILE)"})
    sentencepiece_model: str = field(default="", metadata={
        "help": "with --lexicon-unit words: the model's SentencePiece model (mbart.cc25/sentence.bpe.model)"})
    restore_sides: str = field(
        default="both", metadata={"help": "sentences to restore: both (Eq. 3), source or target; "
                                          "fairseq-generate needs one side"})


@register_task("code_switch_restore", dataclass=CodeSwitchRestoreConfig)
class CodeSwitchRestoreTask(DataclassOptions, TranslationFromPretrainedBARTTask):
    def __init__(self, args, src_dict, tgt_dict):
        super().__init__(args, src_dict, tgt_dict)
        if args.restore_sides not in SIDES:
            raise InputError(f"--restore-sides {args.restore_sides}: choose one of {', '.join(SIDES)}")
        if not 0.0 <= args.switch_ratio <= 1.0 or args.switch_poisson_lambda <= 0:
            raise InputError(f"--switch-ratio {args.switch_ratio} must lie in [0, 1] and --switch-poisson-lambda "
                             f"{args.switch_poisson_lambda} must be positive")
        if not args.lexicon_prefix:
            raise InputError("--lexicon-prefix is required (the output prefix of xlgen-induce-lexicon)")
        self.pairs = self.parse_pairs(args)
        segmenter = self._word_segmenter(args)
        self.lexicons = {}  # (src, tgt, side) -> CodeSwitchLexicon (pieces) or WordSwitcher (words)
        for src, tgt in self.pairs:
            prefix = args.lexicon_prefix.format(src=src, tgt=tgt)
            self._check_lexicon_unit(f"{prefix}.json", args.lexicon_unit)
            for side, direction in (("source", "src2tgt"), ("target", "tgt2src")):
                if side in SIDES[args.restore_sides]:
                    path = f"{prefix}.{direction}.tsv"
                    if not os.path.isfile(path):
                        raise InputFileError(path, "missing; --lexicon-prefix must name the output prefix of "
                                                   "xlgen-induce-lexicon --direction both")
                    self.lexicons[src, tgt, side] = (
                        CodeSwitchLexicon.from_tsv(path, src_dict, k=args.lexicon_topk) if segmenter is None else
                        WordSwitcher(src_dict, segmenter, args.sentencepiece_model).read_lexicon(path, args.lexicon_topk))

    def _word_segmenter(self, args):
        """The shared segmenter of words mode (None in pieces mode); refuses unspaced languages
        without one."""
        if args.lexicon_unit not in LEXICON_UNITS:
            raise InputError(f"--lexicon-unit {args.lexicon_unit}: choose one of {', '.join(LEXICON_UNITS)}")
        if args.lexicon_unit == "pieces":
            return None
        for lang in {lang for pair in self.pairs for lang in pair}:
            check_language(lang, "words", "pass --lexicon-unit pieces (and build the lexicon with it)")
        if not args.sentencepiece_model:
            raise InputError("--lexicon-unit words needs --sentencepiece-model (the model's sentence.bpe.model)")
        require_file(args.sentencepiece_model, "SentencePiece model (--sentencepiece-model)")
        return WordSegmenter(args.word_segmenter)

    @staticmethod
    def _check_lexicon_unit(sidecar, unit):
        """The lexicon's unit (xlgen-induce-lexicon's PREFIX.json, when there) must be the task's."""
        built = read_json(sidecar).get("lexicon_unit", "pieces") if os.path.isfile(sidecar) else unit
        if built != unit:
            raise InputFileError(sidecar, f"the lexicon was built with --lexicon-unit {built}, the task has "
                                          f"--lexicon-unit {unit}; pass --lexicon-unit {built}")

    @staticmethod
    def parse_pairs(args):
        """``--lang-pairs`` as (src, tgt) tuples; default the ``--source-lang``/``--target-lang`` pair."""
        if not args.lang_pairs:
            return [(args.source_lang, args.target_lang)]
        pairs = [tuple(p.split("-")) for p in args.lang_pairs.split(",")]
        langs = args.langs.split(",")
        for pair in pairs:
            if len(pair) != 2 or not all(lang in langs for lang in pair):
                raise InputError(f"--lang-pairs {args.lang_pairs}: write SRC-TGT pairs, comma-separated, "
                                 "of languages in --langs")
        if len(pairs) > 1 and "{" not in args.lexicon_prefix:
            raise InputError(f"--lexicon-prefix {args.lexicon_prefix}: with several --lang-pairs put {{src}} and "
                             "{tgt} in it, one lexicon per pair")
        return pairs

    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        paths = utils.split_paths(self.args.data)
        data_path = paths[(epoch - 1) % len(paths)]
        parts = []
        for p, (src, tgt) in enumerate(self.pairs):
            for side in SIDES[self.args.restore_sides]:
                lang = (src, tgt)[SIDES["both"].index(side)]
                stream = 2 * p + SIDES["both"].index(side)  # each pair's sides draw their own noise
                prefix = os.path.join(data_path, f"{split}.{src}-{tgt}.{lang}")
                sentences = load_binarized(prefix, self.src_dict, self.args.dataset_impl,
                                           f"binarize {split} with fairseq-preprocess --source-lang {src} "
                                           f"--target-lang {tgt}")
                parts.append(CodeSwitchRestoreDataset(
                    sentences, self.src_dict, self.lexicons[src, tgt, side], self.src_dict.index(f"[{lang}]"),
                    seed=self.args.seed, ratio=self.args.switch_ratio, poisson_lambda=self.args.switch_poisson_lambda,
                    stream=stream, max_positions=self.args.max_source_positions))
                self._log_switch_rate(split, f"{src}-{tgt} {side}", parts[-1])
        self.datasets[split] = parts[0] if len(parts) == 1 else ConcatDataset(parts)

    @staticmethod
    def _log_switch_rate(split, side, dataset, probe=1000):
        n = min(probe, len(dataset))
        switched, switchable, units = np.array([[s[key] for key in SWITCH_COUNTS]
                                                for s in map(dataset.__getitem__, range(n))]).sum(axis=0)
        logger.info("%s %s side, first %d sentences: %.1f%% of the units are switchable (lexicon coverage), "
                    "%.1f%% of those switched (target %.0f%%), %.1f%% of all units", split, side, n,
                    100 * switchable / max(units, 1), 100 * switched / max(switchable, 1), 100 * dataset.ratio,
                    100 * switched / max(units, 1))

    def build_generator(self, models, args, **unused):
        """Decode in the language of the restored side (its language token is BOS and EOS)."""
        sides = SIDES[self.args.restore_sides]
        if len(sides) != 1:
            raise InputError("--restore-sides both: fairseq-generate restores one side at a time; "
                             "pass --restore-sides source or --restore-sides target")
        target_lang = self.args.target_lang
        self.args.target_lang = self.args.source_lang if sides[0] == "source" else target_lang
        try:
            return super().build_generator(models, args, **unused)
        finally:
            self.args.target_lang = target_lang

    def train_step(self, sample, *args, **kwargs):
        loss, sample_size, logging_output = super().train_step(sample, *args, **kwargs)
        return loss, sample_size, self._with_switch_counts(logging_output, sample)

    def valid_step(self, sample, model, criterion):
        loss, sample_size, logging_output = super().valid_step(sample, model, criterion)
        return loss, sample_size, self._with_switch_counts(logging_output, sample)

    @staticmethod
    def _with_switch_counts(logging_output, sample):
        logging_output.update({key: sample[key] for key in SWITCH_COUNTS})
        return logging_output

    def reduce_metrics(self, logging_outputs, criterion):
        super().reduce_metrics(logging_outputs, criterion)
        switched, switchable, units = (sum(log.get(key, 0) for log in logging_outputs) for key in SWITCH_COUNTS)
        if switchable:
            metrics.log_scalar("switch_rate", switched / switchable, switchable, round=3)
        if units:
            metrics.log_scalar("switchable", switchable / units, units, round=3)
