"""``translation_from_pretrained_bart`` with input checks: fairseq's mBART finetuning task, registered again
under its own name (so ``fairseq-train/generate --user-dir ... --task translation_from_pretrained_bart``
gets it), and the base of our mBART tasks (``code_switch_restore``, ``multi_source_summarization``).

fairseq runs a job silently wrong, or stops it with a traceback, on the mBART mistakes users make most;
each is one ``error:`` line here, raised before any training step:

* ``--langs`` not the checkpoint's list (length or order): the language tokens get other rows;
* ``-s en`` / ``-t de`` instead of ``en_XX`` / ``de_DE``: the language token becomes ``<unk>``;
* ``--arch mbart_*`` without ``--layernorm-embedding --encoder-normalize-before
  --decoder-normalize-before``: parameters of the checkpoint have no place in the model;
* a ``--restore-file`` that does not exist (fairseq trains from scratch), a missing
  ``--finetune-from-model``, a torn or foreign checkpoint, a missing or truncated split or dictionary;
* ``fairseq-generate --bpe sentencepiece --remove-bpe sentencepiece``: decoded twice, every space stripped.
"""
import os

from fairseq import utils
from fairseq.tasks import TASK_REGISTRY
from fairseq.tasks.translation_from_pretrained_bart import TranslationFromPretrainedBARTTask as FairseqTask

from fairseq_xlgen.checkpoint_loading import (check_checkpoint_fits, load_model_checkpoint, saved_setting,
                                              training_checkpoint_path)
from fairseq_xlgen.data.indexed_data import load_binarized
from fairseq_xlgen.errors import InputError, InputFileError
from fairseq_xlgen.pretrained import MBART_ARCH_FLAGS

NAME = "translation_from_pretrained_bart"


def check_pretrained_mbart_fits(model, state, path, dictionary, dictionary_path, n_langs):
    """One-line errors before training when the mBART checkpoint ``state`` (from ``path``) does not fit
    ``model``: its embedding rows are not ``dictionary``'s (the data's dict.txt, ``n_langs`` language tokens
    and ``<mask>``), or its parameters are not the model's."""
    rows = state["model"].get("encoder.embed_tokens.weight")
    if rows is not None and rows.shape[0] != len(dictionary):
        raise InputFileError(dictionary_path, f"with the {n_langs} --langs and <mask> gives {len(dictionary)} "
                                              f"embedding rows, {path} has {rows.shape[0]}; binarize with the model's "
                                              "dict.txt and pass the --langs it was trained with (mbart.cc25: all 25)")
    check_checkpoint_fits(model, state, path, f"for mBART pass {' '.join(MBART_ARCH_FLAGS)}")


class TranslationFromPretrainedBARTTask(FairseqTask):
    @classmethod
    def load_dictionary(cls, filename):
        try:
            return super().load_dictionary(filename)
        except FileNotFoundError:
            raise InputFileError(filename, "missing; binarize the data with fairseq-preprocess --srcdict "
                                           "MODEL_DIR/dict.txt (data_prep/prepare_translation.sh)") from None
        except ValueError as error:  # fairseq's message quotes the bad line, newline included
            raise InputFileError(filename, f"{' '.join(str(error).split())}; use the pretrained model's dict.txt") \
                from None

    @classmethod
    def setup_task(cls, args, **kwargs):
        langs = (args.langs or "").split(",")
        for flag, lang in (("--source-lang", args.source_lang), ("--target-lang", args.target_lang)):
            if lang is not None and lang not in langs:
                raise InputError(f"{flag} {lang}: not a language of --langs, its token [{lang}] would be <unk>; "
                                 "use the model's codes (en_XX, not en) and binarize with them")
        return super().setup_task(args, **kwargs)

    def __init__(self, args, src_dict, tgt_dict):
        super().__init__(args, src_dict, tgt_dict)
        if getattr(args, "bpe", None) == "sentencepiece" and getattr(args, "post_process", None) == "sentencepiece":
            raise InputError("--remove-bpe sentencepiece with --bpe sentencepiece decodes twice and strips every "
                             "space; keep --bpe sentencepiece (and --sentencepiece-model) and drop --remove-bpe")

    def build_model(self, args, from_checkpoint=False):
        model = super().build_model(args, from_checkpoint)
        if from_checkpoint:  # fairseq-generate and hub loading: the saved --langs must be these
            self.check_langs(getattr(args, "langs", None), getattr(args, "task", None), "the checkpoint")
            return model
        path = training_checkpoint_path(args)  # fairseq-train: the checkpoint this new model will load
        if path is not None:
            state = load_model_checkpoint(path, mmap=True)
            self.check_langs(saved_setting(state, "langs"), saved_setting(state, "task"), path)
            check_pretrained_mbart_fits(model, state, path, self.src_dict, self.dictionary_path(), len(self.langs))
        return model

    def dictionary_path(self):
        return os.path.join(utils.split_paths(self.args.data)[0], f"dict.{self.args.source_lang}.txt")

    def check_langs(self, saved, saved_task, source):
        """The rows of the language tokens follow --langs. A task of this family appends all of --langs to
        dict.txt; ``multilingual_denoising`` may list fewer languages than its rows hold (the dict.txt of
        data_prep/prepare_denoising.sh has all 25), so there only a list of the same length is compared
        (the rows check catches the rest)."""
        appends_langs = issubclass(TASK_REGISTRY.get(saved_task, object), FairseqTask)
        if saved and saved.split(",") != self.langs and (appends_langs or len(saved.split(",")) == len(self.langs)):
            raise InputError(f"--langs {','.join(self.langs)}: {source} was trained with --langs {saved}; pass "
                             "that list in that order (the language tokens' rows follow it)")

    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        paths = utils.split_paths(self.args.data)
        data_path = paths[(epoch - 1) % len(paths)]
        src, tgt = self.args.source_lang, self.args.target_lang
        pair = f"{src}-{tgt}" if os.path.exists(os.path.join(data_path, f"{split}.{src}-{tgt}.{src}.idx")) \
            else f"{tgt}-{src}"
        for lang in (src, tgt):
            load_binarized(os.path.join(data_path, f"{split}.{pair}.{lang}"), self.src_dict, self.args.dataset_impl,
                           f"binarize {split} with fairseq-preprocess --source-lang {src} --target-lang {tgt}")
        super().load_dataset(split, epoch, combine, **kwargs)


TASK_REGISTRY[NAME] = TranslationFromPretrainedBARTTask
