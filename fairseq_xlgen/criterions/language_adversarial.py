"""``language_adversarial``: L = L_cls + L_adv + L_gen of LAFT's TM+adv baseline (paper 001, appendix).

* L_gen: label-smoothed cross-entropy of the task batch (``--label-smoothing``, fairseq's own);
* L_cls: the language classifier learns whether a text is in ``--adversarial-source-lang``;
  its input, the mean-pooled task-module output, is detached, so only W_c learns from it;
* L_adv: the same classifier with flipped labels on the model's ``adversary_task_module_out`` (the
  task module run again on the detached encoder output); W_c is detached, so L_adv updates only the
  task module.

Monolingual batches (``language_adversarial_summarization``) contribute L_cls + L_adv only.
L_gen is summed over target tokens as fairseq's criterion does; L_cls and L_adv are scaled
to the same per-unit weight (their mean over texts counts as much as the mean token loss).

Options outside the paper (defaults: the paper's setting), the usual remedies of adversarial
training (examples/laft/README.md measures them): ``--adversary-loss reverse|confusion``
instead of flipped labels (:mod:`fairseq_xlgen.modules.language_adversary`),
``--adversary-weight`` λ on L_adv, ``--adversary-every k`` (L_adv on every k-th update only:
k classifier steps per adversary step) and the model's ``--adversary-hidden`` (MLP classifier).
"""
from dataclasses import dataclass, field

from fairseq import metrics
from fairseq.criterions import register_criterion
from fairseq.criterions.label_smoothed_cross_entropy import (
    LabelSmoothedCrossEntropyCriterion, LabelSmoothedCrossEntropyCriterionConfig)

from fairseq_xlgen.errors import InputError
from fairseq_xlgen.modules.language_adversary import ADVERSARY_MODES, adversarial_losses
from fairseq_xlgen.modules.language_components import mean_pool, sentence_token_mask, source_language_tags


@dataclass
class LanguageAdversarialConfig(LabelSmoothedCrossEntropyCriterionConfig):
    adversarial_source_lang: str = field(
        default="en_XX", metadata={"help": "the source language (label 1 of the language classifier)"})
    adversary_loss: str = field(
        default="flip", metadata={"help": "L_adv: flip (the paper's flipped labels), reverse (−L_cls, gradient "
                                          "reversal, Ganin & Lempitsky 2015) or confusion (cross-entropy against "
                                          "1/2, Tzeng et al. 2015)"})
    adversary_weight: float = field(default=1.0, metadata={"help": "weight λ of L_adv in the loss (paper: 1)"})
    adversary_every: int = field(
        default=1, metadata={"help": "L_adv on every k-th update only (k classifier steps per adversary step; "
                                     "paper: 1)"})


@register_criterion("language_adversarial", dataclass=LanguageAdversarialConfig)
class LanguageAdversarialCriterion(LabelSmoothedCrossEntropyCriterion):
    def __init__(self, task, sentence_avg, label_smoothing, adversarial_source_lang, adversary_loss="flip",
                 adversary_weight=1.0, adversary_every=1, ignore_prefix_size=0, report_accuracy=False):
        super().__init__(task, sentence_avg, label_smoothing, ignore_prefix_size, report_accuracy)
        if adversary_loss not in ADVERSARY_MODES:
            raise InputError(f"--adversary-loss {adversary_loss}: choose one of {', '.join(ADVERSARY_MODES)}")
        if adversary_every < 1 or adversary_weight < 0:
            raise InputError(f"--adversary-every {adversary_every} / --adversary-weight {adversary_weight}: "
                             "give k >= 1 and λ >= 0")
        self.adversary_loss, self.adversary_weight, self.adversary_every = (
            adversary_loss, adversary_weight, adversary_every)
        self.source_token = task.source_dictionary.index(f"[{adversarial_source_lang}]")
        if self.source_token == task.source_dictionary.unk():
            raise InputError(f"--adversarial-source-lang {adversarial_source_lang}: not a language of the "
                             "dictionary; use an mBART code such as en_XX")

    def adversarial_terms(self, model, net_input, encoder_out):
        """Summed L_cls, L_adv, correct classifications and texts of one batch."""
        if "task_module_out" not in encoder_out:
            raise InputError("--criterion language_adversarial needs a TM+adv model (--arch mbart_tm_adv_*)")
        src_tokens = net_input["src_tokens"]
        is_source = source_language_tags(src_tokens, model.encoder.padding_idx).eq(self.source_token)
        text = sentence_token_mask(src_tokens, model.encoder.special_token_ids)  # not the [lang] tag itself
        pooled = mean_pool(encoder_out["task_module_out"][0], text)
        pooled_adversary = mean_pool(encoder_out["adversary_task_module_out"][0], text)
        classifier = model.encoder.language_classifier
        l_cls, _ = adversarial_losses(classifier, pooled, is_source, self.adversary_loss)
        _, l_adv = adversarial_losses(classifier, pooled_adversary, is_source, self.adversary_loss)
        correct = (classifier.classifier_logits(pooled) > 0).eq(is_source).sum()
        return l_cls, l_adv, correct, len(src_tokens)

    def forward(self, model, sample, reduce=True):
        batches = sample if "task" in sample else {"task": sample}
        task = batches["task"]
        encoder_out = model.encoder(task["net_input"]["src_tokens"], src_lengths=task["net_input"]["src_lengths"])
        net_output = model.decoder(task["net_input"]["prev_output_tokens"], encoder_out=encoder_out)
        gen_loss, nll_loss = self.compute_loss(model, net_output, task, reduce=reduce)
        sample_size = task["target"].size(0) if self.sentence_avg else task["ntokens"]
        terms = [self.adversarial_terms(model, task["net_input"], encoder_out)]
        if "monolingual" in batches:
            mono = batches["monolingual"]["net_input"]
            terms.append(self.adversarial_terms(
                model, mono, model.encoder(mono["src_tokens"], src_lengths=mono["src_lengths"])))
        l_cls, l_adv, correct, texts = (sum(values) for values in zip(*terms))
        adversary_step = not model.training or model.encoder.language_classifier.num_updates % self.adversary_every == 0
        weight = self.adversary_weight if adversary_step else 0.0
        loss = gen_loss + (l_cls + weight * l_adv) * sample_size / texts
        logging_output = {
            "loss": loss.data, "nll_loss": nll_loss.data, "ntokens": task["ntokens"],
            "nsentences": task["target"].size(0), "sample_size": sample_size,
            "cls_loss": l_cls.data, "adv_loss": l_adv.data, "cls_correct": correct.data, "cls_texts": texts,
        }
        return loss, sample_size, logging_output

    @classmethod
    def reduce_metrics(cls, logging_outputs):
        super().reduce_metrics(logging_outputs)
        texts = sum(log.get("cls_texts", 0) for log in logging_outputs)
        if texts:
            for key in ("cls_loss", "adv_loss"):
                metrics.log_scalar(key, sum(log.get(key, 0) for log in logging_outputs) / texts, texts, round=3)
            metrics.log_scalar("cls_accuracy", sum(log.get("cls_correct", 0) for log in logging_outputs) / texts,
                               texts, round=3)
