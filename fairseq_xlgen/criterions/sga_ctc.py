"""``sga_ctc``: SGA's training loss L = L1 + L2 (paper 003, Eq. 7).

L1 is the alignment unit's CTC loss over its ``<mask>`` canvas (or, with ``--alignment
mask_predict``, Mask-Predict's label-smoothed masked-token loss plus its length loss), L2 the
denoiser's CTC loss. CTC runs in fp32 with ``zero_infinity`` and per-sample canvas lengths;
a target that cannot fit its canvas is counted (``ctc_too_long``) and contributes 0, never cut.
(fairseq already registers ``ctc`` for speech, hence the name.)
"""
import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from fairseq import metrics
from fairseq.criterions import FairseqCriterion, register_criterion
from fairseq.criterions.label_smoothed_cross_entropy import label_smoothed_nll_loss
from fairseq.dataclass import FairseqDataclass

from fairseq_xlgen.modules.ctc import ctc_loss, ctc_min_input_length, pack_tokens


@dataclass
class SgaCtcConfig(FairseqDataclass):
    label_smoothing: float = field(default=0.1, metadata={"help": "label smoothing of the Mask-Predict loss"})
    length_loss_factor: float = field(default=0.1, metadata={
        "help": "weight of Mask-Predict's length-prediction loss (fairseq's cmlm default)"})


@register_criterion("sga_ctc", dataclass=SgaCtcConfig)
class SgaCtcCriterion(FairseqCriterion):
    def __init__(self, task, label_smoothing, length_loss_factor):
        super().__init__(task)
        self.eps = label_smoothing
        self.length_loss_factor = length_loss_factor
        d = task.target_dictionary
        self.blank = d.index("<mask>")
        self.specials = (d.pad(), d.bos(), d.eos())

    def targets(self, target):
        """Target pieces without ``<s>``/``</s>``/padding, left-aligned, and their lengths."""
        pad, bos, eos = self.specials
        tokens, lengths, _ = pack_tokens(target, target.ne(pad) & target.ne(bos) & target.ne(eos), pad)
        return tokens, lengths

    def _ctc(self, unit_out, targets, lengths):
        loss = ctc_loss(unit_out["lprobs"], unit_out["lengths"], targets, lengths, self.blank)
        too_long = (ctc_min_input_length(targets, lengths, self.specials[0]) > unit_out["lengths"]).sum()
        return loss, too_long

    def forward(self, model, sample, reduce=True):
        net_input = sample["net_input"]
        out = model(net_input["src_tokens"], net_input["src_lengths"], target=sample["target"], sample_ids=sample["id"],
                    src_langs=net_input.get("src_lang"))
        targets, lengths = self.targets(sample["target"])
        logging_output = {"nsentences": sample["target"].size(0), "ntokens": int(lengths.sum())}
        if "alignment" in out:
            l1, too_long = self._ctc(out["alignment"], targets, lengths)
            logging_output["ctc_too_long"] = int(too_long)
        else:
            mp = out["mask_predict"]
            l1, _ = label_smoothed_nll_loss(mp["lprobs"], mp["targets"], self.eps, ignore_index=None, reduce=True)
            length_loss = F.cross_entropy(mp["length_logits"], mp["length_targets"], reduction="sum")
            l1 = l1 + self.length_loss_factor * length_loss
            logging_output["length_loss"] = float(length_loss.detach())
        loss = l1
        logging_output["l1"] = float(l1.detach())
        if "denoising" in out:
            l2, too_long = self._ctc(out["denoising"], targets, lengths)
            loss = l1 + l2
            logging_output.update(l2=float(l2.detach()), denoiser_too_long=int(too_long))
        sample_size = logging_output["ntokens"]
        logging_output.update(loss=float(loss.detach()), sample_size=sample_size)
        return loss, sample_size, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs):
        total = lambda key: sum(log.get(key, 0) for log in logging_outputs)  # noqa: E731
        sample_size = max(total("sample_size"), 1)
        for key in ("loss", "l1", "l2", "length_loss"):
            if any(key in log for log in logging_outputs):
                metrics.log_scalar(key, total(key) / sample_size / math.log(2), sample_size, round=3)
        for key in ("ctc_too_long", "denoiser_too_long"):
            if any(key in log for log in logging_outputs):
                metrics.log_scalar_sum(key, total(key), round=0)

    @staticmethod
    def logging_outputs_can_be_summed():
        return True
