"""A denoising dataset wrapper that drops the leading ``<s>`` of a seeded share of its samples."""
import hashlib

from fairseq.data import BaseWrapperDataset


class LeadingBosDroppingDataset(BaseWrapperDataset):
    """Items of a :class:`fairseq.data.DenoisingDataset` with ``<s>`` removed from both sides for
    ``1 - keep_share`` of the indices (a fixed choice per index and seed).

    mBART pretraining blocks are ``<s> x </s> [L]``, decoded from ``[L] <s> x``; every finetuning
    recipe feeds ``x </s> [L]`` and decodes from ``[L] x``. A dropped item is in that finetuning
    format: the collater moves ``[L]`` to the front of the decoder input as before.
    """

    def __init__(self, dataset, bos, keep_share, seed):
        super().__init__(dataset)
        self.bos, self.keep_share, self.seed = bos, keep_share, seed

    def keeps_bos(self, index):
        digest = hashlib.sha256(f"{self.seed}/{index}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2 ** 64 < self.keep_share

    def __getitem__(self, index):
        item = self.dataset[index]
        if self.keeps_bos(index) or item["source"][0] != self.bos:
            return item
        return dict(item, source=item["source"][1:], target=item["target"][1:])
