"""``multilingual_denoising_mixed_bos``: mBART pretraining in which some blocks have no ``<s>``.

fairseq's ``multilingual_denoising`` (the mbart.cc25 pretraining task) starts every block with
``<s>``; the finetuning tasks never do (source ``x </s> [L]``, decoder ``[L] x``). mbart.cc25 bridges
the gap by scale; a tiny testbed mBART does not: pretrained on ``<s>`` blocks only, it copies a
clean sentence at 4.8 bits/token in the pretraining format but 6.2 in the finetuning format
(issue 22). ``--bos-block-share`` keeps ``<s>`` on that share of the blocks and gives the rest the
finetuning format (:class:`fairseq_xlgen.data.leading_token_dropping.LeadingBosDroppingDataset`).
The saved checkpoints are ordinary mBART checkpoints; the testbed fixtures record the task as
``multilingual_denoising``, as mbart.cc25 does.
"""
from fairseq.data import DenoisingDataset
from fairseq.tasks import register_task
from fairseq.tasks.multilingual_denoising import MultilingualDenoisingTask

from fairseq_xlgen.data.leading_token_dropping import LeadingBosDroppingDataset


@register_task("multilingual_denoising_mixed_bos")
class MultilingualDenoisingMixedBosTask(MultilingualDenoisingTask):
    @staticmethod
    def add_args(parser):
        MultilingualDenoisingTask.add_args(parser)
        parser.add_argument("--bos-block-share", type=float, default=1.0,
                            help="share of pretraining blocks that keep mBART's leading <s> (1: fairseq's "
                                 "multilingual_denoising); the others are in the finetuning format x </s> [L]")

    def __init__(self, args, dictionary):
        super().__init__(args, dictionary)
        if not 0 <= args.bos_block_share <= 1:
            raise ValueError(f"--bos-block-share {args.bos_block_share}: expected a share between 0 and 1")

    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        super().load_dataset(split, epoch=epoch, combine=combine, **kwargs)
        self._wrap_denoising(self.datasets[split])

    def _wrap_denoising(self, dataset):
        """Replace every DenoisingDataset below ``dataset`` (through .dataset / .datasets) by its wrapper."""
        for name in ("dataset", "datasets"):
            children = getattr(dataset, name, None)
            if children is None:
                continue
            for i, child in enumerate(children if isinstance(children, list) else [children]):
                if isinstance(child, DenoisingDataset):
                    child = LeadingBosDroppingDataset(child, self.source_dictionary.bos(),
                                                      self.args.bos_block_share, self.args.seed)
                    if isinstance(children, list):
                        children[i] = child
                    else:
                        setattr(dataset, name, child)
                else:
                    self._wrap_denoising(child)
