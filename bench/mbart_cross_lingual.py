"""Does a (tiny) mBART align its languages, and does its decoder read its encoder? (issue 22)

The twin of ``bench/xlmr_cross_lingual.py`` for the mBART backbones of CSR, multi-source and LAFT.
Per backbone and language pair (source -> target of ``PAIRS``) it prints, with chance beside each:

* ``sentence``: parallel-sentence retrieval precision@1 on the benchmark's test pairs (200
  candidates) from the encoder *output*, mean-pooled over the sentence's pieces (what XLRS, LAFT's
  language components and the decoder read), in mBART's source format ``x </s> [L]``;
* ``word``: the same for single words of the gold lexicon whose concepts were never switched in
  the pretraining text (:func:`fairseq_xlgen.testbed.pretraining_corpus.held_out_forms`);

and per language the cost of copying a clean test sentence in the finetuning format every recipe
uses (source ``x </s> [L]``, target ``x </s> [L]``, decoder input ``[L] x </s>``), in bits per
target token, with the encoder output as computed and with it zeroed: the difference is what the
encoder is worth to the decoder.

    python -m bench.mbart_cross_lingual --benchmark BENCH --mbart shipped=fixtures/benchmark-small/mbart.cc25
"""
import argparse
import math
import os

import torch
import torch.nn.functional as F
from fairseq.data import data_utils

from bench.xlmr_cross_lingual import PAIRS, held_out_gold, nearest, read_lines
from fairseq_xlgen.analysis.encoder_states import pooled_encoder_states
from fairseq_xlgen.pretrained import mbart_source_tokens
from bench._results import write_results

LANGS = ("en_XX", "de_DE", "ru_RU", "zh_CN")


def encode_pieces(hub, lines):
    return [" ".join(hub.bpe.sp.encode(line, out_type=str)) for line in lines]


def pooled_output(hub, lines, lang):
    """``[N, d]`` encoder output of each line in source format, mean-pooled over its pieces (fp32)."""
    dictionary = hub.task.source_dictionary
    tokens = mbart_source_tokens(encode_pieces(hub, lines), dictionary, lang, hub.model.encoder.max_positions())
    return pooled_encoder_states(hub.model, tokens, dictionary.pad())


def retrieval_precision(hub, source_lines, src, target_lines, tgt, gold=None):
    """P@1 of each source line's nearest target line (``gold``: sets of right target indices, default i)."""
    found = nearest(pooled_output(hub, source_lines, src), pooled_output(hub, target_lines, tgt)).tolist()
    right = [{i} for i in range(len(source_lines))] if gold is None else gold
    return sum(j in r for j, r in zip(found, right)) / len(source_lines)


def finetuning_batch(sources, dictionary, lang):
    """(source, lengths, target, decoder input) of source-format sentences ``x </s> [L]`` copied as
    their own targets: fairseq's mBART finetuning collation (left-padded source, ``[L] x </s>`` in)."""
    source = data_utils.collate_tokens(sources, dictionary.pad(), left_pad=True)
    target = data_utils.collate_tokens(sources, dictionary.pad(), left_pad=False)
    prev = data_utils.collate_tokens(sources, dictionary.pad(), left_pad=False, move_eos_to_beginning=True,
                                     eos_idx=dictionary.index(f"[{lang}]"))
    return source, torch.tensor([len(s) for s in sources]), target, prev


@torch.no_grad()
def copy_cost(hub, lines, lang, zero_encoder=False, batch_size=32):
    """Bits per target token of teacher-forcing each line as its own target in the finetuning format."""
    model, dictionary = hub.model, hub.task.source_dictionary
    model.eval()
    sources = mbart_source_tokens(encode_pieces(hub, lines), dictionary, lang, model.encoder.max_positions())
    nll, count = 0.0, 0
    for start in range(0, len(sources), batch_size):
        source, lengths, target, prev = finetuning_batch(sources[start:start + batch_size], dictionary, lang)
        encoder_out = model.encoder(source, src_lengths=lengths)
        if zero_encoder:
            encoder_out["encoder_out"] = [torch.zeros_like(encoder_out["encoder_out"][0])]
        logits = model.decoder(prev, encoder_out=encoder_out)[0].float()
        keep = target.ne(dictionary.pad())
        nll += F.cross_entropy(logits[keep], target[keep], reduction="sum").item()
        count += keep.sum().item()
    return nll / count / math.log(2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmark", required=True, help="synthetic benchmark directory (lexicon/, parallel/)")
    parser.add_argument("--mbart", nargs="+", required=True, metavar="NAME=DIR", help="mBART model directories")
    parser.add_argument("--max-words", type=int, default=600, help="source words per pair")
    parser.add_argument("--json", default=os.path.join("bench", "results", "mbart_cross_lingual.json"))
    args = parser.parse_args(argv)
    from fairseq_xlgen.pretrained import MBART_LAYOUT, load_pretrained

    results = []
    print(f"{'backbone':10s} {'pair':12s} {'measure':8s}  P@1 %  chance %")
    for spec in args.mbart:
        name, directory = spec.split("=", 1)
        hub = load_pretrained(directory, MBART_LAYOUT)
        hub.eval()
        for pair in PAIRS:
            src, tgt = pair.split("-")
            prefix = os.path.join(args.benchmark, "parallel", f"test.{pair}.")
            source_lines, target_lines = read_lines(prefix + src), read_lines(prefix + tgt)
            sentence = retrieval_precision(hub, source_lines, src, target_lines, tgt)
            gold = held_out_gold(args.benchmark, pair)
            words = sorted(gold)[: args.max_words]
            targets = sorted({t for w in words for t in gold[w]})
            word = retrieval_precision(hub, words, src, targets, tgt,
                                       gold=[{targets.index(t) for t in gold[w]} for w in words])
            for measure, value, queries, candidates in (("sentence", sentence, len(source_lines), len(target_lines)),
                                                        ("word", word, len(words), len(targets))):
                results.append({"backbone": name, "pair": pair, "measure": measure, "queries": queries,
                                "candidates": candidates, "precision_at_1": value, "chance": 1 / candidates})
                print(f"{name:10s} {pair:12s} {measure:8s}  {100 * value:5.1f}  {100 / candidates:5.2f}")
        print(f"\n{'backbone':10s} {'language':9s} copy bits/token: encoder / zeroed / encoder worth")
        for lang in LANGS:
            pair = next(p for p in PAIRS if lang in p.split("-"))
            lines = read_lines(os.path.join(args.benchmark, "parallel", f"test.{pair}.{lang}"))
            with_encoder, zeroed = copy_cost(hub, lines, lang), copy_cost(hub, lines, lang, zero_encoder=True)
            results.append({"backbone": name, "language": lang, "measure": "copy_bits_per_token",
                            "sentences": len(lines), "with_encoder": with_encoder, "encoder_zeroed": zeroed,
                            "encoder_worth": zeroed - with_encoder})
            print(f"{name:10s} {lang:9s} {with_encoder:6.2f} / {zeroed:6.2f} / {zeroed - with_encoder:6.2f}")
    write_results(args.json, results)


if __name__ == "__main__":
    main()
