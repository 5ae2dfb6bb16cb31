"""``sga_translation``: bilingual or multilingual data in the XLM-R dictionary for ``xlmr_sga`` (paper 003).

Data are ``fairseq-preprocess`` binaries made with the XLM-R ``dict.txt`` on both sides
(``data_prep/prepare_sga.sh``); ``<mask>`` is appended as XLM-R's ``masked_lm`` task does,
so the symbols equal the pretrained model's. Sentences are ``<s> x </s>`` on both sides, right
padded (XLM-R's own input format). ``--lang-pairs de_DE-en_XX,ru_RU-en_XX`` trains one
model on several pairs of one data directory; by default all pairs share one prompt set (§5.4),
so a source language never trained on decodes zero-shot with ``--source-lang`` set to it.
Batches name each row's source language (``net_input["src_lang"]``), from which
``xlmr_sga --prompt-languages`` picks per-language prompts.

A same-language pair such as ``en_XX-en_XX`` is a monolingual task (summarization, title
generation: the paper's free generation, §4.3 (b)) and reads ``DATA/en_XX/{split}.source-target.
{source,target}`` with ``DATA/dict.txt``, as ``data_prep/prepare_monolingual_task.sh`` writes them
with the XLM-R directory; ``--source-lang de_DE --target-lang de_DE`` then decodes de_DE zero-shot.

``fairseq-generate`` decodes ``xlmr_sga`` with fairseq's :class:`IterativeRefinementGenerator`:
step 0 is the alignment unit, each further step a CTC denoising pass, up to
``--iter-decode-max-iter`` passes, stopping early at a fixed point unless
``--iter-decode-force-max-iter``. The AR baseline ``xlmr_transformer`` decodes on the same data
with fairseq's beam search (``--beam``, ``--lenpen``); its targets start with XLM-R's ``<s>``,
which is stripped from the output like ``</s>``.
"""
import logging
import os
from dataclasses import dataclass, field

from fairseq import utils
from fairseq.data import ConcatDataset, Dictionary, LanguagePairDataset
from fairseq.tasks import register_task
from fairseq.tasks.translation import TranslationConfig, TranslationTask, load_langpair_dataset

from fairseq_xlgen.data.source_language_dataset import SourceLanguageDataset, parse_lang_pairs
from fairseq_xlgen.errors import InputError

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
        pairs = parse_lang_pairs(cfg.lang_pairs)
        if pairs and (cfg.source_lang is None or cfg.target_lang is None):
            cfg.source_lang, cfg.target_lang = pairs[0]
        data = utils.split_paths(cfg.data)[0]
        pair_dictionary = os.path.join(data, f"dict.{cfg.source_lang}.txt")
        if cfg.source_lang == cfg.target_lang and not os.path.isfile(pair_dictionary):
            return cls.setup_monolingual_task(cfg, data)
        for lang in (cfg.source_lang, cfg.target_lang):
            if lang is not None and not os.path.isfile(os.path.join(data, f"dict.{lang}.txt")):
                raise InputError(f"{os.path.join(data, f'dict.{lang}.txt')}: missing; binarize DATA with "
                                 "data_prep/prepare_sga.sh TEXT_ROOT XLMR_DIR DATA SRC-TGT")
        task = super().setup_task(cfg, **kwargs)
        if task.src_dict.symbols != task.tgt_dict.symbols:
            raise InputError(f"{cfg.data}: dict.{cfg.source_lang}.txt and dict.{cfg.target_lang}.txt differ; "
                             "binarize both sides with the XLM-R dict.txt (data_prep/prepare_sga.sh)")
        return task

    @classmethod
    def setup_monolingual_task(cls, cfg, data):
        """Same-language pairs: one ``DATA/dict.txt`` (``prepare_monolingual_task.sh``)."""
        path = os.path.join(data, "dict.txt")
        if not os.path.isfile(path):
            raise InputError(f"{path}: missing; binarize the {cfg.source_lang} task with "
                             "data_prep/prepare_monolingual_task.sh TASK_DIR LANG XLMR_DIR DATA")
        dictionary = cls.load_dictionary(path)
        return cls(cfg, dictionary, dictionary)

    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        paths = utils.split_paths(self.cfg.data)
        data_path = paths[(epoch - 1) % len(paths)] if split == self.cfg.train_subset else paths[0]
        pairs = parse_lang_pairs(self.cfg.lang_pairs) if split == self.cfg.train_subset else []
        pairs = pairs or [(self.cfg.source_lang, self.cfg.target_lang)]
        datasets = []
        for src, tgt in pairs:  # ids continue across pairs: the ConcatDataset's indices (SourceLanguageDataset)
            datasets.append(SourceLanguageDataset(load_langpair_dataset(
                **self.pair_files(data_path, src, tgt), split=split, src_dict=self.src_dict, tgt_dict=self.tgt_dict,
                combine=combine,
                dataset_impl=self.cfg.dataset_impl, upsample_primary=self.cfg.upsample_primary,
                left_pad_source=self.cfg.left_pad_source, left_pad_target=self.cfg.left_pad_target,
                max_source_positions=self.cfg.max_source_positions, max_target_positions=self.cfg.max_target_positions,
                prepend_bos=True, truncate_source=self.cfg.truncate_source, num_buckets=self.cfg.num_batch_buckets,
                shuffle=(split != "test"), pad_to_multiple=self.cfg.required_seq_len_multiple,
            ), src, first_id=sum(len(d) for d in datasets)))
        self.datasets[split] = datasets[0] if len(datasets) == 1 else ConcatDataset(datasets)

    @staticmethod
    def pair_files(data_path, src, tgt):
        """``load_langpair_dataset``'s ``data_path``, ``src`` and ``tgt`` of a pair: a same-language pair is a
        monolingual task in ``DATA/LANG/{split}.source-target.{source,target}``."""
        if src == tgt:
            return dict(data_path=os.path.join(data_path, src), src="source", tgt="target")
        return dict(data_path=data_path, src=src, tgt=tgt)

    def build_dataset_for_inference(self, src_tokens, src_lengths, constraints=None):
        return SourceLanguageDataset(LanguagePairDataset(src_tokens, src_lengths, self.source_dictionary,
                                                         append_bos=True, left_pad_source=self.cfg.left_pad_source),
                                     self.cfg.source_lang)

    def inference_step(self, generator, models, sample, prefix_tokens=None, constraints=None):
        """fairseq's; for SGA (the NAT generator, one model) each row's source language is handed to the model
        first (per-language prompts): the generator passes only tokens and lengths to ``forward_encoder``."""
        from fairseq.iterative_refinement_generator import IterativeRefinementGenerator

        if not isinstance(generator, IterativeRefinementGenerator):  # the AR baseline: beam search
            return super().inference_step(generator, models, sample, prefix_tokens, constraints)
        with models[0].decoding_source_languages(sample["net_input"].get("src_lang")):
            return super().inference_step(generator, models, sample, prefix_tokens, constraints)

    def build_generator(self, models, args, **kwargs):
        from fairseq.iterative_refinement_generator import IterativeRefinementGenerator

        if not hasattr(models[0], "initialize_output_tokens"):  # the AR baseline: beam search
            strip = {self.target_dictionary.bos(), self.target_dictionary.eos()}
            return super().build_generator(models, args, extra_gen_cls_kwargs={"symbols_to_strip_from_output": strip})

        return IterativeRefinementGenerator(
            self.target_dictionary,
            max_iter=getattr(args, "iter_decode_max_iter", 10),
            adaptive=not getattr(args, "iter_decode_force_max_iter", False),
            retain_history=getattr(args, "retain_iter_history", False),
        )
