"""``sentence_prediction_from_pretrained_bart``: fairseq's ``sentence_prediction`` (BART's classification
head on the decoder's last ``</s>`` state, ``--add-prev-output-tokens``) for mBART checkpoints.

fairseq's task reads ``input0/dict.txt`` and adds ``<mask>``. mbart.cc25's embedding table also holds the
25 language tokens between the dictionary and ``<mask>`` (as ``translation_from_pretrained_bart`` adds
them), so the plain task cannot load the checkpoint. This one adds ``--langs``' tokens first, in the
checkpoint's order, and checks the list against the checkpoint. Everything else is fairseq's: the data
layout (``input0/``, ``input1/``, ``label/``, from ``data_prep/prepare_sentence_pairs.sh``), the
``sentence_prediction`` criterion and its accuracy, ``fairseq-validate`` on each language's split.

Inputs carry no language token: the classifier sees the same kind of sequence in every language, and a
token seen only at test time (``[de_DE]`` in a model finetuned on en_XX) cannot shift its decision.
Used for NLI and paraphrase identification (paper 004 Table V, paper 002 §5.3).
"""
import os
from dataclasses import dataclass, field
from typing import Optional

from fairseq.data import Dictionary
from fairseq.tasks import register_task
from fairseq.tasks.sentence_prediction import SentencePredictionConfig, SentencePredictionTask

from fairseq_xlgen.checkpoint_loading import load_model_checkpoint, training_checkpoint_path
from fairseq_xlgen.errors import InputError, InputFileError
from fairseq_xlgen.pretrained import MBART_CC25_LANGS
from fairseq_xlgen.tasks.translation_from_pretrained_bart import check_pretrained_mbart_fits


@dataclass
class SentencePredictionFromPretrainedBARTConfig(SentencePredictionConfig):
    langs: Optional[str] = field(default=",".join(MBART_CC25_LANGS), metadata={
        "help": "comma-separated language codes of the pretrained mBART, in its order (its language tokens "
                "follow the dictionary in the embedding table; default: mbart.cc25's 25)"})


@register_task("sentence_prediction_from_pretrained_bart", dataclass=SentencePredictionFromPretrainedBARTConfig)
class SentencePredictionFromPretrainedBARTTask(SentencePredictionTask):
    @classmethod
    def setup_task(cls, cfg, **kwargs):
        if not cfg.num_classes or cfg.num_classes < 2:
            raise InputError(f"--num-classes {cfg.num_classes}: give the number of labels (2 or more), as in "
                             "DATA/label/dict.txt")
        task = super().setup_task(cfg, **kwargs)
        labels = len(task.label_dictionary) - task.label_dictionary.nspecial - 1  # less <mask>
        if labels != cfg.num_classes:
            raise InputError(f"--num-classes {cfg.num_classes}: {cfg.data}/label/dict.txt lists {labels} labels; "
                             "pass that number")
        return task

    @classmethod
    def load_dictionary(cls, filename):
        try:
            return Dictionary.load(filename)
        except FileNotFoundError:
            raise InputFileError(filename, "missing; binarize the data with data_prep/prepare_sentence_pairs.sh") \
                from None

    def __init__(self, cfg, data_dictionary, label_dictionary):
        for lang in (cfg.langs or "").split(","):
            data_dictionary.add_symbol(f"[{lang}]")
        data_dictionary.add_symbol("<mask>")
        label_dictionary.add_symbol("<mask>")  # fairseq's label offset counts it, as its own task does
        super().__init__(cfg, data_dictionary, label_dictionary)

    def build_model(self, cfg, from_checkpoint=False):
        model = super().build_model(cfg, from_checkpoint)
        path = None if from_checkpoint else training_checkpoint_path(cfg)
        if path is not None:  # fairseq-train: the checkpoint this new model will load
            check_pretrained_mbart_fits(model, load_model_checkpoint(path, mmap=True), path, self.dictionary,
                                        os.path.join(self.cfg.data, "input0", "dict.txt"), len(self.cfg.langs.split(",")))
        return model
