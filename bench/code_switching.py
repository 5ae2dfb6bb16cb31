"""Benchmark: code-switching noise (CSR) next to mBART's own noise (fairseq DenoisingDataset).

Both datasets draw their noise per item and are collated into batches of 64 sentences from
the same SentencePiece-encoded en_XX training sentences of the synthetic benchmark. The
code-switching lexicon is the benchmark's gold en_XX→de_DE lexicon in pieces (top 3). The
denoising side uses mBART's settings: whole-word span masking 35% with Poisson(3.5) span
lengths, replace-length 1, sentence permutation 1.0. Prints a table and writes JSON.

    python -m bench.code_switching                    # size small (2000 sentences)
    python -m bench.code_switching --size base        # 20000 sentences
"""
import argparse
import json
import os
import platform
import tempfile
import time
from argparse import Namespace

import numpy as np
import sentencepiece as spm
import torch
from fairseq.data import DenoisingDataset, Dictionary

from fairseq_xlgen.data.code_switching import CodeSwitchLexicon, CodeSwitchRestoreDataset, UnitSegmenter
from fairseq_xlgen.file_io import atomic_output
from fairseq_xlgen.testbed.pretrained_fixtures import build_fixtures
from fairseq_xlgen.testbed.synthetic_benchmark import generate_benchmark, load_gold_lexicon


class TokenList(list):
    """In-memory token tensors with the ``sizes`` attribute fairseq datasets carry."""

    @property
    def sizes(self):
        return np.array([len(t) for t in self])


def prepare(work, size):
    bench = os.path.join(work, f"benchmark-{size}")
    generate_benchmark(bench, size=size, progress=False)
    fixtures = os.path.join(work, f"fixtures-{size}")
    build_fixtures(fixtures, [os.path.join(bench, "mono", f"{lang}.txt") for lang in ("en_XX", "de_DE")])
    model_dir = os.path.join(fixtures, "mbart.cc25")
    dictionary = Dictionary.load(os.path.join(model_dir, "dict.txt"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "sentence.bpe.model"))

    def encode(text):
        return [dictionary.index(p) for p in sp.encode(text, out_type=str)]

    with open(os.path.join(bench, "tasks", "translation", "en_XX-de_DE", "train.en_XX"), encoding="utf-8") as f:
        sentences = TokenList(torch.tensor(encode(line.strip()) + [dictionary.eos()]) for line in f)
    gold = load_gold_lexicon(os.path.join(bench, "lexicon", "en_XX-de_DE.gold.tsv"))
    lexicon = CodeSwitchLexicon({tuple(encode(src)): [tuple(encode(t)) for t in tgts[:3]] for src, tgts in gold.items()})
    lang = dictionary.add_symbol("[en_XX]")
    mask = dictionary.add_symbol("<mask>")
    return dictionary, sentences, lexicon, lang, mask


def denoising_dataset(dictionary, sentences, mask_idx):
    with_bos = TokenList(torch.cat([torch.tensor([dictionary.bos()]), s]) for s in sentences)
    args = Namespace(mask=0.35, mask_random=0.0, insert=0.0, rotate=0.0, permute_sentences=1.0, bpe="sentencepiece",
                     replace_length=1, mask_length="span-poisson", poisson_lambda=3.5)
    whole_words = torch.from_numpy(UnitSegmenter(dictionary).starts_word.astype(np.uint8))
    return DenoisingDataset(with_bos, with_bos.sizes, dictionary, mask_idx, whole_words, shuffle=False, seed=1, args=args)


def throughput(dataset, pad, batch_size=64, repeats=3):
    """Best of ``repeats`` passes: items drawn and collated per second."""
    best, tokens = float("inf"), 0
    for epoch in range(1, repeats + 1):
        dataset.set_epoch(epoch)
        start = time.perf_counter()
        tokens = 0
        for first in range(0, len(dataset), batch_size):
            batch = dataset.collater([dataset[i] for i in range(first, min(first + batch_size, len(dataset)))])
            tokens += int(batch["net_input"]["src_tokens"].ne(pad).sum())
        best = min(best, time.perf_counter() - start)
    return {"seconds": best, "sentences_per_s": len(dataset) / best, "tokens_per_s": tokens / best}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="small", choices=("tiny", "small", "base"))
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "xlgen-bench"), help="cached inputs")
    parser.add_argument("--out", default="bench/results/code_switching.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    dictionary, sentences, lexicon, lang, mask = prepare(args.work, args.size)
    restore = CodeSwitchRestoreDataset(sentences, dictionary, lexicon, lang, seed=1)
    switched = np.array([[restore[i]["switched_words"], restore[i]["switchable_words"]]
                         for i in range(len(restore))]).sum(0)
    rows = {
        "code_switch_restore": throughput(restore, dictionary.pad()),
        "fairseq DenoisingDataset (mBART noise)": throughput(denoising_dataset(dictionary, sentences, mask),
                                                             dictionary.pad()),
    }
    print(f"{len(sentences)} sentences, batch 64, 1 thread, switch rate {switched[0] / switched[1]:.3f} "
          "of the switchable words")
    print(f"{'noise':<40} {'s/pass':>8} {'sent/s':>10} {'tok/s':>10}")
    for name, r in rows.items():
        print(f"{name:<40} {r['seconds']:8.3f} {r['sentences_per_s']:10.0f} {r['tokens_per_s']:10.0f}")
    result = {"size": args.size, "sentences": len(sentences), "switch_rate": switched[0] / switched[1],
              "machine": platform.processor() or platform.machine(), "results": rows}
    with atomic_output(args.out) as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
