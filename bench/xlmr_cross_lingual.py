"""Does a (tiny) XLM-R know that words of two languages mean the same? Retrieval per layer.

SGA (paper 003) keeps XLM-R frozen: its prompts and W_K/W_V must find the translation in the
backbone's representations, so the backbone has to be cross-lingual already, as xlmr.base is.
For each backbone, layer (0 = embeddings) and language pair this prints

* ``word``: bilingual lexicon induction precision@1: each source word of the benchmark's gold
  lexicon (identical forms such as names and numerals left out) whose concept was never switched
  or paired in the testbed's pretraining text (:func:`held_out_gold`), encoded alone, retrieves
  its nearest target word by cosine of mean-pooled, mean-centred states;
* ``sentence``: parallel-sentence retrieval precision@1 on the test pairs (shared names and
  numerals make this easier than ``word``);

and, per pair, whether the model *uses* a translation in its context, as SGA's frozen layers must
(the translation-LM test of XLM): masked-token accuracy on the English side with 30% of its
pieces masked, alone, followed by its translation, and followed by another sentence's translation.

    python -m bench.xlmr_cross_lingual --benchmark BENCH --xlmr mlm=FX/xlmr.base tlm=FX_TLM/xlmr.base
"""
import argparse
import json
import os

import torch
import torch.nn.functional as F

from fairseq_xlgen.testbed.pretraining_corpus import held_out_forms
from bench._results import write_results

PAIRS = ("de_DE-en_XX", "en_XX-ru_RU", "en_XX-zh_CN")


def layer_states(hub, texts):
    """(N, L+1, d): each text's states of every layer, mean-pooled over its pieces (no <s>, </s>)."""
    rows = []
    with torch.no_grad():
        for text in texts:
            tokens = hub.encode(text)[: hub.model.max_positions()]
            states = hub.extract_features(tokens.unsqueeze(0), return_all_hiddens=True)
            rows.append(torch.stack([s[0, 1:-1].mean(0) for s in states]))
    return torch.stack(rows)


def nearest(queries, keys):
    """Index of each query's nearest key by cosine after centring each side."""
    q = F.normalize(queries - queries.mean(0), dim=-1)
    k = F.normalize(keys - keys.mean(0), dim=-1)
    return (q @ k.T).argmax(1)


def word_precision(hub, gold, max_words):
    """Per layer: share of source words whose nearest target word is a gold translation."""
    sources = sorted(gold)[:max_words]
    targets = sorted({t for s in sources for t in gold[s]})
    src, tgt = layer_states(hub, sources), layer_states(hub, targets)
    return [sum(targets[j] in gold[w] for w, j in zip(sources, nearest(src[:, layer], tgt[:, layer]).tolist()))
            / len(sources) for layer in range(src.size(1))], len(sources), len(targets)


def sentence_precision(hub, source_lines, target_lines):
    src, tgt = layer_states(hub, source_lines), layer_states(hub, target_lines)
    gold = torch.arange(len(source_lines))
    return [nearest(src[:, layer], tgt[:, layer]).eq(gold).float().mean().item() for layer in range(src.size(1))]


def in_context_accuracy(hub, english, translations, mask_share=0.3, seed=0):
    """Masked-token accuracy on ``english`` alone / + its translation / + another line's translation."""
    mask = hub.task.source_dictionary.index("<mask>")
    generator = torch.Generator().manual_seed(seed)
    counts = {"alone": [0, 0], "with translation": [0, 0], "with other translation": [0, 0]}
    with torch.no_grad():
        for i, line in enumerate(english):
            tokens = hub.encode(line)
            positions = (torch.rand(len(tokens) - 2, generator=generator) < mask_share).nonzero().flatten() + 1
            if not len(positions):
                continue
            masked = tokens.index_fill(0, positions, mask)
            for key, context in (("alone", None), ("with translation", translations[i]),
                                 ("with other translation", translations[(i + 1) % len(translations)])):
                inputs = masked if context is None else torch.cat([masked, hub.encode(context)[1:]])
                logits = hub.model(inputs[: hub.model.max_positions()].unsqueeze(0))[0][0]
                counts[key][0] += logits[positions].argmax(-1).eq(tokens[positions]).sum().item()
                counts[key][1] += len(positions)
    return {key: right / total for key, (right, total) in counts.items()}


def read_gold(path):
    gold = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            src, tgt = line.rstrip("\n").split("\t")[:2]
            if src != tgt:
                gold.setdefault(src, set()).add(tgt)
    return gold


def held_out_gold(benchmark, pair):
    """The gold lexicon of ``pair`` restricted to concepts never switched or paired in the pretraining
    text of the benchmark's seed and size (half of them): retrieving those needs real alignment."""
    with open(os.path.join(benchmark, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    keep_src, keep_tgt = (held_out_forms(meta["seed"], meta["size"], lang) for lang in pair.split("-"))
    gold = read_gold(os.path.join(benchmark, "lexicon", f"{pair}.gold.tsv"))
    gold = {s: {t for t in targets if t in keep_tgt} for s, targets in gold.items() if s in keep_src}
    return {s: targets for s, targets in gold.items() if targets}


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmark", required=True, help="synthetic benchmark directory (lexicon/, parallel/)")
    parser.add_argument("--xlmr", nargs="+", required=True, metavar="NAME=DIR", help="XLM-R model directories")
    parser.add_argument("--max-words", type=int, default=600, help="source words per pair")
    parser.add_argument("--max-sentences", type=int, default=150, help="English test lines of the in-context test")
    parser.add_argument("--json", default=os.path.join("bench", "results", "xlmr_cross_lingual.json"))
    args = parser.parse_args(argv)
    from fairseq_xlgen.pretrained import XLMR_LAYOUT, load_pretrained

    results, in_context = [], []
    print(f"{'backbone':10s} {'pair':12s} {'measure':8s}  P@1 % per layer (0 = embeddings)   chance %")
    for spec in args.xlmr:
        name, directory = spec.split("=", 1)
        hub = load_pretrained(directory, XLMR_LAYOUT)
        hub.eval()
        for pair in PAIRS:
            src_lang, tgt_lang = pair.split("-")
            words, n_src, n_tgt = word_precision(hub, held_out_gold(args.benchmark, pair), args.max_words)
            prefix = os.path.join(args.benchmark, "parallel", f"test.{pair}.")
            source_lines, target_lines = read_lines(prefix + src_lang), read_lines(prefix + tgt_lang)
            sentences = sentence_precision(hub, source_lines, target_lines)
            for measure, values, candidates in (("word", words, n_tgt), ("sentence", sentences, len(target_lines))):
                results.append({"backbone": name, "directory": directory, "pair": pair, "measure": measure,
                                "queries": n_src if measure == "word" else len(source_lines),
                                "candidates": candidates, "precision_at_1": values})
                print(f"{name:10s} {pair:12s} {measure:8s}  " + " ".join(f"{100 * v:5.1f}" for v in values)
                      + f"   {100 / candidates:.2f}")
            english, other = (source_lines, target_lines) if src_lang == "en_XX" else (target_lines, source_lines)
            accuracy = in_context_accuracy(hub, english[: args.max_sentences], other[: args.max_sentences])
            results.append({"backbone": name, "directory": directory, "pair": pair, "measure": "in_context",
                            "sentences": min(len(english), args.max_sentences), "masked_accuracy": accuracy})
            in_context.append(f"{name:10s} {pair:12s} " + "  ".join(f"{100 * v:5.1f}" for v in accuracy.values()))
    print(f"\n{'backbone':10s} {'pair':12s} masked English pieces right, %: alone / + translation / + another's")
    print("\n".join(in_context))
    write_results(args.json, results)


if __name__ == "__main__":
    main()
