"""``language_adversarial_summarization``: ``multi_source_summarization`` plus target-language
monolingual batches, the training data of LAFT's TM+adv baseline (paper 001, appendix:
"the adversarial training needs data from the target language ... we leverage monolingual data").

Each training step gets one task batch (``--train-langs``, as ``multi_source_summarization``)
and one monolingual batch of ``--adversarial-langs`` sources ``x </s> [lang]`` from
``--adversarial-data`` (written by ``data_prep/prepare_denoising.sh``), zipped round-robin
(:class:`fairseq.data.RoundRobinZipDatasets`, the shorter side cycles). The
``language_adversarial`` criterion takes L_gen + L_cls + L_adv from the task batch and only
L_cls + L_adv from the monolingual one. Validation and generation are those of
``multi_source_summarization``.

Validation adds ``probe_accuracy``: a fresh logistic regression
(:mod:`fairseq_xlgen.analysis.language_probe`), refit at each validation, that reads the
language from the mean-pooled task-module output of the monolingual valid split
(``--adversarial-data``/LANG/valid) of every ``--train-langs`` and ``--adversarial-langs``
language (the task's own valid split has one language); fitted on three quarters of each
language's sentences, scored on every fourth one; ``probe_chance`` is the held-out majority
share (1/number of languages). The classifier's own ``cls_accuracy`` near 0 only says that
*it* is fooled (flipped labels can invert the language rather than remove it); the probe says
whether the language is still linearly readable.
"""
import os
from collections import OrderedDict
from dataclasses import dataclass, field

import torch
from fairseq.data import (AppendTokenDataset, ConcatDataset, LanguagePairDataset, RoundRobinZipDatasets,
                          StripTokenDataset, TruncateDataset)
from fairseq.tasks import register_task
from omegaconf import II

from fairseq_xlgen.analysis.laft_representations import pooled_states
from fairseq_xlgen.analysis.language_probe import probe_accuracy
from fairseq_xlgen.data.indexed_data import load_binarized
from fairseq_xlgen.errors import InputError
from fairseq_xlgen.tasks.multi_source_summarization import (MultiSourceSummarizationConfig,
                                                           MultiSourceSummarizationTask, on_first_rank)

#: every PROBE_HELDOUT_EVERY-th sentence of a language is held out for the probe's accuracy
PROBE_HELDOUT_EVERY = 4


@dataclass
class LanguageAdversarialSummarizationConfig(MultiSourceSummarizationConfig):
    adversarial_data: str = field(
        default="", metadata={"help": "monolingual data of data_prep/prepare_denoising.sh (DIR/LANG/train.bin)"})
    adversarial_langs: str = field(
        default="", metadata={"help": "comma-separated languages of the monolingual batches (the target languages)"})
    probe_sentences: int = field(
        default=400, metadata={"help": "validation adds probe_accuracy, a fresh logistic regression reading the "
                                       "language from the pooled task-module output of the first N sentences of "
                                       "ADVERSARIAL_DATA/LANG/valid per --train-langs and --adversarial-langs "
                                       "language; 0: no probe"})
    disable_validation: bool = II("dataset.disable_validation")


@register_task("language_adversarial_summarization", dataclass=LanguageAdversarialSummarizationConfig)
class LanguageAdversarialSummarizationTask(MultiSourceSummarizationTask):
    def __init__(self, args, src_dict, tgt_dict):
        super().__init__(args, src_dict, tgt_dict)
        self.adversarial_langs = self._known_languages("--adversarial-langs", args.adversarial_langs,
                                                       args.langs.split(","))
        if not args.adversarial_data:
            raise InputError("--adversarial-data is required (monolingual data of data_prep/prepare_denoising.sh)")
        if args.probe_sentences < 0:
            raise InputError(f"--probe-sentences {args.probe_sentences}: give 0 (no probe) or more")
        self.probe_tokens, self.probe_labels, self.probe_stats = [], [], {}
        if args.probe_sentences and not args.disable_validation:
            for label, lang in enumerate(dict.fromkeys(self.train_langs + self.adversarial_langs)):
                dataset = self._monolingual_split(lang, "valid")
                count = min(len(dataset), args.probe_sentences)
                self.probe_tokens += [dataset[i] for i in range(count)]
                self.probe_labels += [label] * count

    def _monolingual_split(self, lang, split):
        """``x </s> [lang]`` of ADVERSARIAL_DATA/LANG/SPLIT."""
        prefix = os.path.join(self.args.adversarial_data, lang, split)
        dataset = load_binarized(prefix, self.src_dict, self.args.dataset_impl,
                                 f"binarize it with data_prep/prepare_denoising.sh TEXT {lang} MODEL_DIR "
                                 f"{self.args.adversarial_data}" + (" (the language probe reads every language's "
                                                                    "valid split; --probe-sentences 0 turns it off)"
                                                                    if split == "valid" else ""))
        eos = self.src_dict.eos()
        dataset = AppendTokenDataset(
            TruncateDataset(StripTokenDataset(dataset, eos), self.args.max_source_positions - 2), eos)
        return AppendTokenDataset(dataset, self.src_dict.index(f"[{lang}]"))

    def _monolingual_sources(self):
        sources = [self._monolingual_split(lang, "train") for lang in self.adversarial_langs]
        return ConcatDataset(sources) if len(sources) > 1 else sources[0]

    def begin_valid_epoch(self, epoch, model):
        """Refit the language probe on the current task module (logged by :meth:`post_validate`)."""
        super().begin_valid_epoch(epoch, model)
        if self.probe_tokens:
            self.probe_stats = on_first_rank(lambda: self.language_probe(model))

    def language_probe(self, model):
        """``{"probe_accuracy", "probe_chance"}`` of a fresh probe on the pooled task-module outputs."""
        if not hasattr(model.encoder, "task_module") or model.encoder.task_module is None:
            raise InputError("language_adversarial_summarization's language probe needs a model with a task "
                             "module (--arch mbart_tm_adv_*); --probe-sentences 0 turns it off")
        vectors = pooled_states(model, self.probe_tokens, self.src_dict.pad(), ["task_module_out"])["task_module_out"]
        labels = torch.tensor(self.probe_labels)
        position = torch.cat([torch.arange(n) for n in torch.bincount(labels).tolist()])
        heldout = position % PROBE_HELDOUT_EVERY == PROBE_HELDOUT_EVERY - 1
        accuracy, chance = probe_accuracy(vectors[~heldout], labels[~heldout], vectors[heldout], labels[heldout])
        return {"probe_accuracy": round(accuracy, 3), "probe_chance": round(chance, 3)}

    def post_validate(self, model, stats, aggregator):
        super().post_validate(model, stats, aggregator)
        stats.update(self.probe_stats)

    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        super().load_dataset(split, epoch, combine, **kwargs)
        if split != self.args.train_subset:
            return
        mono = self._monolingual_sources()
        self.datasets[split] = RoundRobinZipDatasets(OrderedDict([
            ("task", self.datasets[split]),
            ("monolingual", LanguagePairDataset(mono, mono.sizes, self.src_dict,
                                                left_pad_source=self.args.left_pad_source)),
        ]))
