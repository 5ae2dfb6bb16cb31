"""``code_switch_restore``: stage 1 of CSR two-stage finetuning (Zan et al., paper 004, §III-B).

The model restores code-switched downstream sentences in their own language, source side
``x' </s> [src]`` → ``[src] x </s>`` and target side ``y' </s> [tgt]`` → ``[tgt] y </s>``
(Eq. 3 sums both). Data are the binarized parallel files of the downstream task; the
lexicon is the unsupervised one of ``xlgen-induce-lexicon`` (``PREFIX.src2tgt.tsv`` switches
source words into the target language, ``PREFIX.tgt2src.tsv`` target words into the source
language). Stage 2 is ``translation_from_pretrained_bart`` from the stage-1 checkpoint.
"""
import logging
import os
from dataclasses import dataclass, field

import numpy as np
from fairseq import metrics, utils
from fairseq.data import ConcatDataset, data_utils
from fairseq.dataclass import FairseqDataclass
from fairseq.dataclass.utils import gen_parser_from_dataclass
from fairseq.tasks import register_task
from fairseq.tasks.translation_from_pretrained_bart import TranslationFromPretrainedBARTTask

from fairseq_xlgen.data.code_switching import CodeSwitchLexicon, CodeSwitchRestoreDataset

logger = logging.getLogger(__name__)

SIDES = {"both": ("source", "target"), "source": ("source",), "target": ("target",)}


@dataclass
class CodeSwitchRestoreConfig(FairseqDataclass):
    lexicon_prefix: str = field(
        default="", metadata={"help": "lexicon prefix: PREFIX.src2tgt.tsv and PREFIX.tgt2src.tsv "
                                      "(xlgen-induce-lexicon --out-prefix)"})
    lexicon_topk: int = field(default=3, metadata={"help": "a word is replaced by a random one of its top-k translations"})
    switch_ratio: float = field(default=0.35, metadata={"help": "share of words switched per sentence (mBART's mask ratio)"})
    switch_poisson_lambda: float = field(default=3.5, metadata={"help": "mean length (in words) of a switched span"})
    restore_sides: str = field(
        default="both", metadata={"help": "sentences to restore: both (Eq. 3), source or target; "
                                          "fairseq-generate needs one side"})


@register_task("code_switch_restore")
class CodeSwitchRestoreTask(TranslationFromPretrainedBARTTask):
    @staticmethod
    def add_args(parser):
        TranslationFromPretrainedBARTTask.add_args(parser)
        gen_parser_from_dataclass(parser, CodeSwitchRestoreConfig())

    def __init__(self, args, src_dict, tgt_dict):
        super().__init__(args, src_dict, tgt_dict)
        if args.restore_sides not in SIDES:
            raise ValueError(f"--restore-sides {args.restore_sides}: choose one of {', '.join(SIDES)}")
        if not args.lexicon_prefix:
            raise ValueError("--lexicon-prefix is required (the output prefix of xlgen-induce-lexicon)")
        self.lexicons = {}
        for side, direction in (("source", "src2tgt"), ("target", "tgt2src")):
            if side in SIDES[args.restore_sides]:
                path = f"{args.lexicon_prefix}.{direction}.tsv"
                if not os.path.isfile(path):
                    raise FileNotFoundError(f"{path}: missing; --lexicon-prefix must name the output prefix of "
                                            f"xlgen-induce-lexicon --direction both")
                self.lexicons[side] = CodeSwitchLexicon.from_tsv(path, src_dict, k=args.lexicon_topk)

    def _language(self, side):
        return self.args.source_lang if side == "source" else self.args.target_lang

    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        paths = utils.split_paths(self.args.data)
        data_path = paths[(epoch - 1) % len(paths)]
        src, tgt = self.args.source_lang, self.args.target_lang
        parts = []
        for side in SIDES[self.args.restore_sides]:
            lang = self._language(side)
            prefix = os.path.join(data_path, f"{split}.{src}-{tgt}.{lang}")
            sentences = data_utils.load_indexed_dataset(prefix, self.src_dict, self.args.dataset_impl)
            if sentences is None:
                raise FileNotFoundError(f"{prefix}.bin: missing; binarize {split} with fairseq-preprocess "
                                        f"--source-lang {src} --target-lang {tgt}")
            parts.append(CodeSwitchRestoreDataset(
                sentences, self.src_dict, self.lexicons[side], self.src_dict.index(f"[{lang}]"),
                seed=self.args.seed, ratio=self.args.switch_ratio,
                poisson_lambda=self.args.switch_poisson_lambda))
            self._log_switch_rate(split, side, parts[-1])
        self.datasets[split] = parts[0] if len(parts) == 1 else ConcatDataset(parts)

    @staticmethod
    def _log_switch_rate(split, side, dataset, probe=1000):
        counts = np.array([[s["switched_words"], s["words"]] for s in map(dataset.__getitem__, range(
            min(probe, len(dataset))))]).sum(axis=0)
        logger.info("%s %s side: %.1f%% of words switched in the first %d sentences (target %.0f%%; "
                    "lower means the lexicon covers fewer words)", split, side,
                    100 * counts[0] / max(counts[1], 1), min(probe, len(dataset)), 100 * dataset.ratio)

    def build_generator(self, models, args, **unused):
        """Decode in the language of the restored side (its language token is BOS and EOS)."""
        sides = SIDES[self.args.restore_sides]
        if len(sides) != 1:
            raise ValueError("--restore-sides both: fairseq-generate restores one side at a time; "
                             "pass --restore-sides source or --restore-sides target")
        target_lang = self.args.target_lang
        self.args.target_lang = self._language(sides[0])
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
        logging_output["switched_words"] = sample["switched_words"]
        logging_output["words"] = sample["words"]
        return logging_output

    def reduce_metrics(self, logging_outputs, criterion):
        super().reduce_metrics(logging_outputs, criterion)
        switched = sum(log.get("switched_words", 0) for log in logging_outputs)
        words = sum(log.get("words", 0) for log in logging_outputs)
        if words:
            metrics.log_scalar("switch_rate", switched / words, words, round=3)
