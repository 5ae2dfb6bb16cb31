"""Each sample's source language in the batch: ``net_input["src_lang"]``, one name per row.

fairseq's ``LanguagePairDataset(src_lang_id=…)`` stamps one id on a whole batch, and
``ConcatDataset`` collates every batch with its first dataset's collater, so a batch mixing
pairs of ``--lang-pairs`` would carry the first pair's language for all rows. Here every item
carries its own language, and the collater puts the names in the order the inner collater
sorts the rows (by source length). Items of the k-th pair of a ``ConcatDataset`` are numbered
from ``first_id`` (the sizes of the pairs before it), so every row of a mixed batch has its own
``id``, the ``ConcatDataset`` index: per-sample seeds keyed by ``id`` (SGA's noise and masks)
never coincide across pairs.
"""
import torch
from fairseq.data import BaseWrapperDataset

from fairseq_xlgen.errors import InputError


def parse_lang_pairs(lang_pairs):
    """``--lang-pairs de_DE-en_XX,ru_RU-en_XX`` -> ``[("de_DE", "en_XX"), ("ru_RU", "en_XX")]``; "" -> []."""
    pairs = [tuple(p.split("-")) for p in lang_pairs.split(",") if p]
    for pair in pairs:
        if len(pair) != 2 or not all(pair):
            raise InputError(f"--lang-pairs {lang_pairs}: write pairs as src-tgt, comma-separated")
    return pairs


class SourceLanguageDataset(BaseWrapperDataset):
    """``dataset``'s items tagged with ``language`` and numbered from ``first_id``; batches gain
    ``net_input["src_lang"]`` (a list of names)."""

    def __init__(self, dataset, language, first_id=0):
        super().__init__(dataset)
        self.language, self.first_id = language, first_id

    def __getitem__(self, index):
        item = self.dataset[index]
        return {**item, "id": item["id"] + self.first_id, "src_lang": self.language}

    def collater(self, samples, **extra_args):
        # collate with each row's position as its id, to read back the inner collater's order
        batch = self.dataset.collater([{**s, "id": i} for i, s in enumerate(samples)], **extra_args)
        if not batch:
            return batch
        order = batch["id"].tolist()
        batch["id"] = torch.tensor([samples[i]["id"] for i in order], dtype=batch["id"].dtype)
        batch["net_input"]["src_lang"] = [samples[i]["src_lang"] for i in order]
        return batch
