"""The options of fairseq's ``translation_from_pretrained_bart`` task as a dataclass.

fairseq 0.12.2 registers that task without a dataclass: it adds ``--langs`` and
``--prepend-bos`` to :class:`~fairseq.tasks.translation.TranslationConfig` in argparse only, so
``fairseq-hydra-train`` cannot configure it ("Could not infer task type"). Our tasks built on
it (``code_switch_restore``, ``multi_source_summarization``, ``language_adversarial_summarization``)
extend this dataclass, so the same fields, defaults and help strings serve ``fairseq-train``
flags and ``fairseq-hydra-train`` YAML alike.
"""
from dataclasses import dataclass, field
from typing import Optional

from fairseq.dataclass.utils import gen_parser_from_dataclass
from fairseq.tasks.translation import TranslationConfig
from omegaconf import II


@dataclass
class TranslationFromPretrainedBARTConfig(TranslationConfig):
    langs: Optional[str] = field(default=None, metadata={
        "help": "comma-separated list of monolingual language, for example, \"en,de,fr\". These should match the "
                "langs from pretraining (and be in the same order). You should always add all pretraining "
                "language idx during finetuning."})
    prepend_bos: bool = field(default=False, metadata={
        "help": "prepend bos token to each sentence, which matches mBART pretraining"})
    seed: int = II("common.seed")


class DataclassOptions:
    """Mixin for tasks registered with a dataclass whose fairseq parent has an argparse-only
    ``add_args``: the registered dataclass alone defines the command-line flags."""

    @classmethod
    def add_args(cls, parser):
        gen_parser_from_dataclass(parser, getattr(cls, "__dataclass")())  # set by register_task
