"""``multi_source_summarization``: monolingual seq2seq finetuning of mBART on one or more
source languages under a fixed data budget (Li & Murray, paper 002 §6).

Any monolingual generation task (summarization, title generation, story completion) whose
examples keep one language: source ``x </s> [lang]``, decoder sequence ``[lang] y </s>``
(input ``[lang] y``, output ``y </s>``), with ``lang`` each example's own language. Training
mixes ``--train-langs`` into ``--train-budget`` instances
(:mod:`fairseq_xlgen.data.budget_mixing`: exact counts, chosen by ``--seed``); every other
split (valid, test) is read in ``--eval-lang``, the language fairseq-generate decodes in, so
one checkpoint is evaluated zero-shot on any language.

Generation starts from ``[eval_lang]`` (BOS) and stops at ``</s>``. Unlike
``translation_from_pretrained_bart`` (target ``y </s> [lang]``, ``[lang]`` as BOS and EOS of
generation), no output ever ends with a language token: a model finetuned on en_XX never
learns to emit ``[ru_RU]``, and generation with EOS ``[ru_RU]`` would run to the length limit.

``--xlrs-parallel-prefix`` adds XLRS between parallel sentences (§4) to the validation
metrics as ``xlrs_{a}_{b}``: computed once per validation in :meth:`begin_valid_epoch` (on the
first data-parallel rank, sent to the others), added to the printed and logged stats in
:meth:`post_validate` (fairseq 0.12.2's hooks).

Data: ``DATA/dict.txt`` and ``DATA/{lang}/{split}.source-target.{source,target}.{bin,idx}``,
written by ``data_prep/prepare_monolingual_task.sh``.
"""
import logging
import os
from dataclasses import dataclass, field

import torch
from fairseq import utils
from fairseq.data import AppendTokenDataset, ConcatDataset, StripTokenDataset, TruncateDataset
from fairseq.distributed import utils as distributed_utils
from fairseq.tasks import FairseqTask, register_task

from fairseq_xlgen.analysis.encoder_states import (
    check_pieces,
    language_pairs,
    read_parallel_sentences,
    xlrs_by_pair,
)
from fairseq_xlgen.data.budget_mixing import IndexSubsetDataset, PerExampleLanguagePairDataset, select_instances
from fairseq_xlgen.data.indexed_data import load_binarized
from fairseq_xlgen.errors import InputError, InputFileError
from fairseq_xlgen.tasks.pretrained_bart_config import DataclassOptions, TranslationFromPretrainedBARTConfig
from fairseq_xlgen.tasks.translation_from_pretrained_bart import TranslationFromPretrainedBARTTask

logger = logging.getLogger(__name__)


def on_first_rank(compute):
    """``compute()`` on the first data-parallel rank, sent to the others (every rank then holds the
    same value; a rank's own model states could differ in the last bits on some devices)."""
    ranks = distributed_utils.get_data_parallel_world_size()
    value = compute() if ranks == 1 or distributed_utils.get_data_parallel_rank() == 0 else None
    if ranks > 1:
        value = distributed_utils.broadcast_object(value, src_rank=0, group=distributed_utils.get_data_parallel_group())
    return value


@dataclass
class MultiSourceSummarizationConfig(TranslationFromPretrainedBARTConfig):
    train_langs: str = field(
        default="", metadata={"help": "comma-separated languages of the training data, e.g. en_XX,de_DE "
                                      "(one language: the single-source baseline)"})
    train_budget: int = field(
        default=0, metadata={"help": "training instances taken from all --train-langs together (paper 002 §6.1: "
                                     "the same budget for single- and multi-source runs); 0: every instance"})
    train_ratios: str = field(
        default="", metadata={"help": "comma-separated shares of the budget per --train-langs language "
                                      "(normalized; default: equal shares)"})
    eval_lang: str = field(
        default="", metadata={"help": "language of the valid/test splits and of generation "
                                      "(default: the first --train-langs language)"})
    output_lang: str = field(
        default="", metadata={"help": "the language token that starts every output (decoder BOS), in training and "
                                      "generation, instead of each example's own: for outputs written the same in "
                                      "every language (labels, tags: paper 002's understanding tasks read as text "
                                      "to text), the training language"})
    xlrs_parallel_prefix: str = field(
        default="", metadata={"help": "validation adds XLRS between the SentencePiece-encoded parallel "
                                      "sentences PREFIX.{lang} (xlgen-spm-encode) of --xlrs-langs"})
    xlrs_langs: str = field(
        default="", metadata={"help": "languages of the XLRS validation metric; the first is paired with "
                                      "each other one (xlrs_en_XX_de_DE, ...)"})
    xlrs_max_sentences: int = field(
        default=512, metadata={"help": "parallel sentences used for XLRS (a seeded sample; paper: 512)"})


@register_task("multi_source_summarization", dataclass=MultiSourceSummarizationConfig)
class MultiSourceSummarizationTask(DataclassOptions, TranslationFromPretrainedBARTTask):
    @classmethod
    def setup_task(cls, args, **kwargs):
        paths = utils.split_paths(args.data or "")
        if not paths:
            raise InputError("DATA: missing; pass the directory written by data_prep/prepare_monolingual_task.sh")
        dict_path = os.path.join(paths[0], "dict.txt")
        if not os.path.isfile(dict_path):
            raise InputFileError(dict_path, "missing; prepare DATA with data_prep/prepare_monolingual_task.sh")
        dictionary = cls.load_dictionary(dict_path)
        return cls(args, dictionary, dictionary)

    def __init__(self, args, src_dict, tgt_dict):
        if not args.langs:
            raise InputError("--langs is required: the pretrained model's languages, in pretraining order")
        langs = args.langs.split(",")
        self.train_langs = self._known_languages("--train-langs", args.train_langs, langs)
        args.eval_lang = args.eval_lang or self.train_langs[0]
        self._known_languages("--eval-lang", args.eval_lang, langs)
        if args.output_lang:
            self._known_languages("--output-lang", args.output_lang, langs)
        for flag, value in (("--source-lang", args.source_lang), ("--target-lang", args.target_lang)):
            if value not in (None, args.eval_lang):
                raise InputError(f"{flag} {value}: not used by multi_source_summarization; the languages are "
                                 "--train-langs (training) and --eval-lang (valid/test and generation)")
        # the parent's inference dataset (fairseq-interactive) appends [source_lang] to the input
        args.source_lang = args.target_lang = args.eval_lang
        super().__init__(args, src_dict, tgt_dict)
        self.train_ratios = self._parse_ratios(args)
        self.xlrs_pieces, self.xlrs_pairs, self.xlrs_scores = {}, [], {}
        if args.xlrs_parallel_prefix:
            xlrs_langs = self._known_languages("--xlrs-langs", args.xlrs_langs, langs)
            if args.xlrs_max_sentences < 1:
                raise InputError(f"--xlrs-max-sentences {args.xlrs_max_sentences}: give a positive number")
            try:
                self.xlrs_pairs = language_pairs(xlrs_langs)
                self.xlrs_pieces = read_parallel_sentences(
                    args.xlrs_parallel_prefix, xlrs_langs, args.xlrs_max_sentences, args.seed)
                for lang, lines in self.xlrs_pieces.items():
                    check_pieces(lines, f"{args.xlrs_parallel_prefix}.{lang}")
            except (OSError, ValueError) as e:
                raise InputError(f"--xlrs-parallel-prefix: {e}") from None

    def dictionary_path(self):
        return os.path.join(utils.split_paths(self.args.data)[0], "dict.txt")

    @staticmethod
    def _known_languages(flag, value, langs):
        chosen = [lang for lang in (value or "").split(",") if lang]
        if not chosen:
            raise InputError(f"{flag} is required (comma-separated language codes of --langs)")
        for lang in chosen:
            if lang not in langs:
                raise InputError(f"{flag} {lang}: not in --langs; use the pretrained model's codes, e.g. en_XX")
        return chosen

    def _parse_ratios(self, args):
        if not args.train_ratios:
            return None
        if not args.train_budget:
            raise InputError("--train-ratios needs --train-budget")
        try:
            ratios = [float(r) for r in args.train_ratios.split(",")]
        except ValueError:
            ratios = []
        if len(ratios) != len(self.train_langs) or min(ratios) < 0 or sum(ratios) <= 0:
            raise InputError(f"--train-ratios {args.train_ratios}: give {len(self.train_langs)} non-negative "
                             "numbers, one per --train-langs language, e.g. 0.5,0.5")
        return ratios

    def _load_side(self, data_path, lang, split, side):
        prefix = os.path.join(data_path, lang, f"{split}.source-target.{side}")
        return load_binarized(prefix, self.src_dict, self.args.dataset_impl,
                              f"binarize {lang} with data_prep/prepare_monolingual_task.sh TASK_DIR {lang} MODEL_DIR "
                              f"DATA (it needs {lang}/{split}.source and .target)")

    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        """``train``: the budget's instances of every ``--train-langs`` language; other splits: ``--eval-lang``."""
        paths = utils.split_paths(self.args.data)
        data_path = paths[(epoch - 1) % len(paths)]
        is_train = split == self.args.train_subset
        langs = self.train_langs if is_train else [self.args.eval_lang]
        sides = {lang: [self._load_side(data_path, lang, split, side) for side in ("source", "target")]
                 for lang in langs}
        if is_train:
            try:
                chosen = select_instances({lang: len(src) for lang, (src, _) in sides.items()},
                                          self.args.train_budget or None, self.args.seed, self.train_ratios)
            except ValueError as e:
                raise InputError(f"--train-budget {self.args.train_budget}: {e} in "
                                 f"{data_path}/LANG/{split}.source-target.source; lower the budget or change "
                                 "--train-ratios") from None
            sides = {lang: [IndexSubsetDataset(d, chosen[lang]) for d in pair] for lang, pair in sides.items()}
            logger.info("%s: %s (budget %s, seed %d)", split,
                        ", ".join(f"{lang} {len(chosen[lang])}" for lang in langs),
                        self.args.train_budget or "all", self.args.seed)
        sources, targets = [], []
        for lang, (src, tgt) in sides.items():
            lang_index = self.src_dict.index(f"[{lang}]")
            if self.args.truncate_source:
                eos = self.src_dict.eos()
                src = AppendTokenDataset(
                    TruncateDataset(StripTokenDataset(src, eos), self.args.max_source_positions - 2), eos)
            sources.append(AppendTokenDataset(src, lang_index))
            targets.append(tgt)
        src, tgt = (ConcatDataset(parts) if len(parts) > 1 else parts[0] for parts in (sources, targets))
        self.datasets[split] = PerExampleLanguagePairDataset(
            src, src.sizes, self.src_dict, tgt, tgt.sizes, self.tgt_dict,
            left_pad_source=self.args.left_pad_source, left_pad_target=self.args.left_pad_target,
            num_buckets=self.args.num_batch_buckets, pad_to_multiple=self.args.required_seq_len_multiple,
            output_lang_index=self.src_dict.index(f"[{self.args.output_lang}]") if self.args.output_lang else None)

    def build_generator(self, models, args, **kwargs):
        """fairseq's generic generator (EOS ``</s>``); the parent's would stop at ``[lang]``."""
        return FairseqTask.build_generator(self, models, args, **kwargs)

    def inference_step(self, generator, models, sample, prefix_tokens=None, constraints=None):
        """Decode in ``--eval-lang`` (or ``--output-lang``): its language token is the first decoder input (BOS)."""
        with torch.no_grad():
            return generator.generate(models, sample, prefix_tokens=prefix_tokens, constraints=constraints,
                                      bos_token=self.tgt_dict.index(f"[{self.args.output_lang or self.args.eval_lang}]"))

    def begin_valid_epoch(self, epoch, model):
        """Compute XLRS once per validation (logged by :meth:`post_validate`), under data-parallel
        training on the first rank only (:func:`on_first_rank`)."""
        super().begin_valid_epoch(epoch, model)
        if not self.xlrs_pairs:
            return
        self.xlrs_scores = on_first_rank(lambda: {
            f"xlrs_{name.replace('-', '_')}": value
            for name, value in xlrs_by_pair(model, self.src_dict, self.xlrs_pieces, self.xlrs_pairs).items()})

    def post_validate(self, model, stats, aggregator):
        """Add the XLRS of this validation to the validation stats fairseq prints and logs."""
        stats.update(self.xlrs_scores)
