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
"""
import os
from collections import OrderedDict
from dataclasses import dataclass, field

from fairseq.data import (AppendTokenDataset, ConcatDataset, LanguagePairDataset, RoundRobinZipDatasets,
                          StripTokenDataset, TruncateDataset)
from fairseq.tasks import register_task

from fairseq_xlgen.data.indexed_data import load_binarized
from fairseq_xlgen.file_io import InputError
from fairseq_xlgen.tasks.multi_source_summarization import MultiSourceSummarizationConfig, MultiSourceSummarizationTask


@dataclass
class LanguageAdversarialSummarizationConfig(MultiSourceSummarizationConfig):
    adversarial_data: str = field(
        default="", metadata={"help": "monolingual data of data_prep/prepare_denoising.sh (DIR/LANG/train.bin)"})
    adversarial_langs: str = field(
        default="", metadata={"help": "comma-separated languages of the monolingual batches (the target languages)"})


@register_task("language_adversarial_summarization", dataclass=LanguageAdversarialSummarizationConfig)
class LanguageAdversarialSummarizationTask(MultiSourceSummarizationTask):
    def __init__(self, args, src_dict, tgt_dict):
        super().__init__(args, src_dict, tgt_dict)
        self.adversarial_langs = self._known_languages("--adversarial-langs", args.adversarial_langs,
                                                       args.langs.split(","))
        if not args.adversarial_data:
            raise InputError("--adversarial-data is required (monolingual data of data_prep/prepare_denoising.sh)")

    def _monolingual_sources(self):
        sources = []
        for lang in self.adversarial_langs:
            prefix = os.path.join(self.args.adversarial_data, lang, "train")
            dataset = load_binarized(prefix, self.src_dict, self.args.dataset_impl,
                                     f"binarize it with data_prep/prepare_denoising.sh TEXT {lang} MODEL_DIR "
                                     f"{self.args.adversarial_data}")
            eos = self.src_dict.eos()
            dataset = AppendTokenDataset(
                TruncateDataset(StripTokenDataset(dataset, eos), self.args.max_source_positions - 2), eos)
            sources.append(AppendTokenDataset(dataset, self.src_dict.index(f"[{lang}]")))
        return ConcatDataset(sources) if len(sources) > 1 else sources[0]

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
