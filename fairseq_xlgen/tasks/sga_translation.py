"""``sga_translation``: bilingual or multilingual data in the XLM-R dictionary for ``xlmr_sga`` (paper 003).

Data are ``fairseq-preprocess`` binaries made with the XLM-R ``dict.txt`` on both sides
(``data_prep/prepare_sga.sh``); ``<mask>`` is appended as XLM-R's ``masked_lm`` task does,
so the symbols equal the pretrained model's. Sentences are ``<s> x </s>`` on both sides, right
padded (XLM-R's own input format). ``--lang-pairs de_DE-en_XX,ru_RU-en_XX`` trains one
model on several pairs of one data directory; by default all pairs share one prompt set (§5.4),
so a source language never trained on decodes zero-shot with ``--source-lang`` set to it.
Batches name each row's source language (``net_input["src_lang"]``), from which
``xlmr_sga --prompt-languages`` picks per-language prompts.

``fairseq-generate`` decodes with fairseq's :class:`IterativeRefinementGenerator`: step 0 is
the alignment unit, each further step a CTC denoising pass, up to ``--iter-decode-max-iter``
passes, stopping early at a fixed point unless ``--iter-decode-force-max-iter``.
"""
import contextlib
import logging
from dataclasses import dataclass, field

from fairseq import utils
from fairseq.data import ConcatDataset, Dictionary, LanguagePairDataset
from fairseq.tasks import register_task
from fairseq.tasks.translation import TranslationConfig, TranslationTask, load_langpair_dataset

from fairseq_xlgen.data.source_language_dataset import SourceLanguageDataset
from fairseq_xlgen.file_io import InputError

logger = logging.getLogger(__name__)


@dataclass
class SgaTranslationConfig(TranslationConfig):
    left_pad_source: bool = field(default=False, metadata={"help": "pad source on the left (XLM-R: right)"})
    lang_pairs: str = field(default="", metadata={
        "help": "comma-separated src-tgt pairs trained together (all binarized in DATA); "
                "empty: the --source-lang/--target-lang pair; evaluation uses --source-lang/--target-lang"})


@register_task("sga_translation", dataclass=SgaTranslationConfig)
class SgaTranslationTask(TranslationTask):
    @classmethod
    def load_dictionary(cls, filename):
        """The XLM-R dictionary: dict.txt plus ``<mask>`` (the CTC blank and Mask-Predict's mask)."""
        dictionary = Dictionary.load(filename)
        dictionary.add_symbol("<mask>")
        return dictionary

    @classmethod
    def setup_task(cls, cfg, **kwargs):
        pairs = cls.parse_pairs(cfg.lang_pairs)
        if pairs and (cfg.source_lang is None or cfg.target_lang is None):
            cfg.source_lang, cfg.target_lang = pairs[0]
        task = super().setup_task(cfg, **kwargs)
        if task.src_dict.symbols != task.tgt_dict.symbols:
            raise InputError(f"{cfg.data}: dict.{cfg.source_lang}.txt and dict.{cfg.target_lang}.txt differ; "
                             "binarize both sides with the XLM-R dict.txt (data_prep/prepare_sga.sh)")
        return task

    @staticmethod
    def parse_pairs(lang_pairs):
        pairs = [tuple(p.split("-")) for p in lang_pairs.split(",") if p]
        for pair in pairs:
            if len(pair) != 2 or not all(pair):
                raise InputError(f"--lang-pairs {lang_pairs}: write pairs as src-tgt, comma-separated")
        return pairs

    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        paths = utils.split_paths(self.cfg.data)
        data_path = paths[(epoch - 1) % len(paths)] if split == self.cfg.train_subset else paths[0]
        pairs = self.parse_pairs(self.cfg.lang_pairs) if split == self.cfg.train_subset else []
        pairs = pairs or [(self.cfg.source_lang, self.cfg.target_lang)]
        datasets = [SourceLanguageDataset(load_langpair_dataset(
            data_path, split, src, self.src_dict, tgt, self.tgt_dict, combine=combine,
            dataset_impl=self.cfg.dataset_impl, upsample_primary=self.cfg.upsample_primary,
            left_pad_source=self.cfg.left_pad_source, left_pad_target=self.cfg.left_pad_target,
            max_source_positions=self.cfg.max_source_positions, max_target_positions=self.cfg.max_target_positions,
            prepend_bos=True, truncate_source=self.cfg.truncate_source, num_buckets=self.cfg.num_batch_buckets,
            shuffle=(split != "test"), pad_to_multiple=self.cfg.required_seq_len_multiple,
        ), src) for src, tgt in pairs]
        self.datasets[split] = datasets[0] if len(datasets) == 1 else ConcatDataset(datasets)

    def build_dataset_for_inference(self, src_tokens, src_lengths, constraints=None):
        return SourceLanguageDataset(LanguagePairDataset(src_tokens, src_lengths, self.source_dictionary,
                                                         append_bos=True, left_pad_source=self.cfg.left_pad_source),
                                     self.cfg.source_lang)

    def inference_step(self, generator, models, sample, prefix_tokens=None, constraints=None):
        """fairseq's, with each row's source language handed to the model (per-language prompts)."""
        with contextlib.ExitStack() as stack:
            for model in models:
                stack.enter_context(model.decoding_source_languages(sample["net_input"].get("src_lang")))
            return super().inference_step(generator, models, sample, prefix_tokens, constraints)

    def build_generator(self, models, args, **unused):
        from fairseq.iterative_refinement_generator import IterativeRefinementGenerator

        return IterativeRefinementGenerator(
            self.target_dictionary,
            max_iter=getattr(args, "iter_decode_max_iter", 10),
            adaptive=not getattr(args, "iter_decode_force_max_iter", False),
            retain_history=getattr(args, "retain_iter_history", False),
        )
