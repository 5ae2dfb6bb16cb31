"""CSR switch rates per language with an induced lexicon (paper 004 §III-B; issue 11 item 1).

For each language pair, the downstream training text is encoded with an mBART-format
SentencePiece model, the lexicon pipeline runs with the recipe's defaults
(data_prep/build_lexicon.sh: word2vec on switching units, words for pairs with zh_CN → unsupervised
VecMap with 5 restarts → top-3 CSLS, both directions, restricted to dict.txt), and the training
sentences of each side are code-switched with their lexicon (source with src2tgt, target with
tgt2src). Reported per side: units, the share of units the lexicon can switch, the switch rate
over the switchable units (target 0.35) and over all units; on the benchmark also the lexicon's
precision@1 against the gold lexicon (words compared as text, so multi-piece words count), and
for ``--map-seeds`` the mapping of every seed on its own (final objective, precision@1 both
ways): how often the restarts' choice by objective is the best seed by precision. On the
benchmark, zh_CN words are cut with the gold segmentation's words
(``SEGMENTER=jieba-dict:…/train.zh_CN.words``); on Tatoeba with jieba. Pairs run side by side,
each program on one thread.

* the synthetic benchmark (en_XX-de_DE, en_XX-ru_RU, en_XX-zh_CN) with the tiny fixture's
  SentencePiece model trained on its four monolingual corpora;
* real Tatoeba en-zh pairs (../shared/data/tatoeba-en-zh, CC-BY 2.0 FR) with a SentencePiece
  model trained on them, written in mBART's format (sentence.bpe.model + dict.txt).

    python -m bench.csr_switch_rates                         # benchmark small + 2000 Tatoeba pairs
    python -m bench.csr_switch_rates --tatoeba-lines 0       # the full Tatoeba file (29k pairs)
    python -m bench.csr_switch_rates --map-seeds 10          # + every mapping seed 0-9 on its own
"""
import argparse
import gzip
import os
from concurrent.futures import ThreadPoolExecutor
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
from fairseq.data import Dictionary

from fairseq_xlgen.data.code_switching import CodeSwitchLexicon, PieceSwitcher, WordSwitcher
from fairseq_xlgen.testbed.pretrained_fixtures import build_fixtures, train_sentencepiece, write_fairseq_dictionary
from fairseq_xlgen.testbed.synthetic_benchmark import LANGUAGES, generate_benchmark
from fairseq_xlgen.file_io import read_json
from fairseq_xlgen.lexicon.word_segmentation import WordSegmenter
from bench._results import write_results

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TATOEBA = os.path.join(os.path.dirname(REPO), "shared", "data", "tatoeba-en-zh", "en-zh.tsv.gz")
BENCHMARK_PAIRS = (("en_XX", "de_DE"), ("en_XX", "ru_RU"), ("en_XX", "zh_CN"))


def run(*cmd, env=None):
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), OMP_NUM_THREADS="1",
               PYTHONHASHSEED="0", **(env or {}))
    proc = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}")


def encode_texts(spm_model, texts, spm_dir):
    """``{lang: path of its training text}`` → SPM_DIR/train.{lang} in pieces."""
    os.makedirs(spm_dir, exist_ok=True)
    outputs = [os.path.join(spm_dir, f"train.{lang}") for lang in texts]
    run("xlgen-spm-encode", "--model", spm_model, "--inputs", *texts.values(), "--outputs", *outputs, "--no-progress")


def switch_counts(piece_path, dictionary, switcher, seed=1):
    rng = np.random.default_rng(seed)
    counts = np.zeros(3, dtype=np.int64)
    with open(piece_path, encoding="utf-8") as f:
        for line in f:
            tokens = np.array([dictionary.index(p) for p in line.split()], dtype=np.int64)
            r = switcher.switch(tokens, rng)
            counts += (r.switched, r.switchable, r.units)
    switched, switchable, units = counts.tolist()
    return {"units": units, "switchable_share": switchable / units, "switch_rate": switched / max(switchable, 1),
            "switched_of_all_units": switched / units}


def seed_study(lex_dir, src, tgt, gold, seeds):
    """Each mapping seed on its own: final objective and precision@1. The pipeline's restarts
    left their runs' checkpoints (``mapping.ckpt.seed{s}``), so their seeds resume finished."""
    rows = []
    for seed in seeds:
        out = os.path.join(lex_dir, f"seed{seed}")
        os.makedirs(out, exist_ok=True)
        if not os.path.isfile(os.path.join(out, "lexicon.json")):
            run("xlgen-map-embeddings", "--src-emb", os.path.join(lex_dir, f"w2v.{src}.vec"),
                "--tgt-emb", os.path.join(lex_dir, f"w2v.{tgt}.vec"), "--src-out", os.path.join(out, f"mapped.{src}.vec"),
                "--tgt-out", os.path.join(out, f"mapped.{tgt}.vec"), "--seed", seed,
                "--checkpoint", os.path.join(lex_dir, f"mapping.ckpt.seed{seed}"))
            run("xlgen-induce-lexicon", "--src-emb", os.path.join(out, f"mapped.{src}.vec"),
                "--tgt-emb", os.path.join(out, f"mapped.{tgt}.vec"), "--out-prefix", os.path.join(out, "lexicon"),
                "--k", 1, "--gold", gold, "--lexicon-unit", read_json(os.path.join(lex_dir, "lexicon.json"))["lexicon_unit"])
        mapping = read_json(os.path.join(out, f"mapped.{src}.vec.json"))
        precision = read_json(os.path.join(out, "lexicon.json"))["precision"]
        rows.append({"seed": seed, "final_objective": mapping["final_objective"], "iterations": mapping["iterations"],
                     "p@1": {d: p["p@1"] for d, p in precision.items()}})
    return rows


def restart_choice(rows, restarts):
    """For consecutive groups of ``restarts`` seeds: the seed of the best objective, its
    precision@1, whether it is the group's best-precision seed (mean of both directions) and
    how far its mean precision@1 is from that seed's."""
    groups = []
    for start in range(0, len(rows) - restarts + 1, restarts):
        group = rows[start:start + restarts]
        chosen = max(group, key=lambda r: r["final_objective"])  # first of equal objectives, as --restarts
        mean = {r["seed"]: sum(r["p@1"].values()) / len(r["p@1"]) for r in group}
        groups.append({"seeds": [r["seed"] for r in group], "chosen_seed": chosen["seed"], "chosen_p@1": chosen["p@1"],
                       "chosen_is_best_p@1": mean[chosen["seed"]] == max(mean.values()),
                       "gap_to_best_mean_p@1": max(mean.values()) - mean[chosen["seed"]],
                       "worst_p@1": min(group, key=lambda r: mean[r["seed"]])["p@1"]})
    return groups


def measure_pair(name, model_dir, texts, work, w2v_args, gold=None, segmenter=None, restarts=5, map_seeds=()):
    """Lexicon pipeline on one pair (precision@1 against ``gold`` word pairs when given), then
    the switch counts of both sides; with ``map_seeds``, the seed study."""
    src, tgt = list(texts)
    spm_dir, lex_dir = os.path.join(work, name, "spm"), os.path.join(work, name, "lexicon")
    spm_model = os.path.join(model_dir, "sentence.bpe.model")
    if not os.path.isfile(os.path.join(spm_dir, f"train.{tgt}")):
        encode_texts(spm_model, texts, spm_dir)
    started = time.perf_counter()
    run("bash", os.path.join(REPO, "data_prep", "build_lexicon.sh"), spm_dir, src, tgt, model_dir, lex_dir,
        env={"W2V_ARGS": w2v_args, "LEX_ARGS": f"--gold {gold}" if gold else "", "RESTARTS": str(restarts),
             **({"SEGMENTER": segmenter} if segmenter else {})})
    seconds = time.perf_counter() - started
    lexicon_json = read_json(os.path.join(lex_dir, "lexicon.json"))
    mapping = read_json(os.path.join(lex_dir, f"mapped.{src}.vec.json"))
    dictionary = Dictionary.load(os.path.join(model_dir, "dict.txt"))
    word_segmenter = WordSegmenter(segmenter or "jieba") if lexicon_json["lexicon_unit"] == "words" else None
    rows = {}
    for lang, direction in ((src, "src2tgt"), (tgt, "tgt2src")):
        path = os.path.join(lex_dir, f"lexicon.{direction}.tsv")
        if word_segmenter is None:
            switcher = PieceSwitcher(dictionary, CodeSwitchLexicon.from_tsv(path, dictionary, k=3))
        else:
            switcher = WordSwitcher(dictionary, word_segmenter, spm_model).read_lexicon(path, k=3)
        rows[lang] = {"lexicon_units": len(switcher.lexicon),
                      **switch_counts(os.path.join(spm_dir, f"train.{lang}"), dictionary, switcher)}
    result = {"pair": name, "lexicon_unit": lexicon_json["lexicon_unit"], "segmenter": word_segmenter and segmenter,
              "pipeline_seconds": round(seconds, 1), "restarts": mapping["restarts"],
              "chosen_seed": mapping["chosen_seed"], "precision": lexicon_json["precision"], "sides": rows}
    if gold and map_seeds:
        result["seed_study"] = seed_study(lex_dir, src, tgt, gold, map_seeds)
        result["restart_choice"] = restart_choice(result["seed_study"], restarts)
    return result


def tatoeba_model(work, lines, vocab_size):
    """en/zh training text of the first ``lines`` Tatoeba pairs (0 = all) and an mBART-format
    SentencePiece model + dict.txt trained on them."""
    out = os.path.join(work, f"tatoeba-{lines or 'all'}")
    os.makedirs(out, exist_ok=True)
    texts = {"en_XX": os.path.join(out, "train.en_XX"), "zh_CN": os.path.join(out, "train.zh_CN")}
    model = os.path.join(out, "sentence.bpe.model")
    if not os.path.isfile(os.path.join(out, "dict.txt")):
        with gzip.open(TATOEBA, "rt", encoding="utf-8-sig") as f:
            pairs = [row[:2] for row in (line.rstrip("\n").split("\t") for i, line in enumerate(f)
                                        if not lines or i < lines) if len(row) >= 2]
        for k, lang in enumerate(texts):
            with open(texts[lang], "w", encoding="utf-8") as f:
                f.writelines(pair[k] + "\n" for pair in pairs)
        train_sentencepiece(list(texts.values()), model, vocab_size)
        write_fairseq_dictionary(model, list(texts.values()), os.path.join(out, "dict.txt"))
    return out, texts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="small", choices=("tiny", "small", "base"), help="benchmark size")
    parser.add_argument("--tatoeba-lines", type=int, default=2000, help="Tatoeba pairs (0 = all 29k, -1 = skip)")
    parser.add_argument("--tatoeba-vocab", type=int, default=4000, help="Tatoeba SentencePiece vocabulary")
    parser.add_argument("--w2v-args", default="--dim 100 --epochs 20 --min-count 3 --workers 1",
                        help="xlgen-train-embeddings flags")
    parser.add_argument("--restarts", type=int, default=5, help="mapping restarts of the pipeline (RESTARTS)")
    parser.add_argument("--map-seeds", type=int, default=10,
                        help="benchmark pairs: also map with seeds 0..N-1 one by one (0 = skip)")
    parser.add_argument("--jobs", type=int, default=3, help="pairs measured side by side (one thread each)")
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "xlgen-bench", "csr-switch-rates"))
    parser.add_argument("--out", default="bench/results/csr_switch_rates.json")
    args = parser.parse_args(argv)
    bench = os.path.join(args.work, f"benchmark-{args.size}")
    generate_benchmark(bench, size=args.size, progress=False)
    fixtures = os.path.join(args.work, f"fixtures-{args.size}")
    build_fixtures(fixtures, [os.path.join(bench, "mono", f"{lang}.txt") for lang in LANGUAGES])
    jobs = []
    for src, tgt in BENCHMARK_PAIRS:
        name = f"{src}-{tgt}"
        text_dir = os.path.join(bench, "tasks", "translation", name)
        texts = {lang: os.path.join(text_dir, f"train.{lang}") for lang in (src, tgt)}
        segmenter = f"jieba-dict:{text_dir}/train.zh_CN.words" if "zh_CN" in texts else None
        jobs.append((f"benchmark {name}", os.path.join(fixtures, "mbart.cc25"), texts,
                     os.path.join(args.work, args.size), args.w2v_args, os.path.join(bench, "lexicon", f"{name}.gold.tsv"),
                     segmenter, args.restarts, range(args.map_seeds)))
    if args.tatoeba_lines >= 0:
        model_dir, texts = tatoeba_model(args.work, args.tatoeba_lines, args.tatoeba_vocab)
        jobs.append((f"tatoeba en_XX-zh_CN ({args.tatoeba_lines or 'all'} pairs)", model_dir, texts, model_dir,
                     args.w2v_args, None, "jieba", args.restarts))
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda job: measure_pair(*job), jobs))
    print(f"{'pair':<42} {'side':<6} {'units':>7} {'switchable':>10} {'rate':>6} {'of all':>6}")
    for r in results:
        for lang, s in r["sides"].items():
            print(f"{r['pair']:<42} {lang:<6} {s['units']:>7} {s['switchable_share']:>10.3f} {s['switch_rate']:>6.3f} "
                  f"{s['switched_of_all_units']:>6.3f}")
        for direction, p in r["precision"].items():
            print(f"{r['pair']:<42} {direction}: precision@1 {p['p@1']:.3f} on {p['evaluated_words']} gold words "
                  f"({r['lexicon_unit']}, seed {r['chosen_seed']} of {len(r['restarts'])} restarts)")
        for row in r.get("seed_study", []):
            print(f"{r['pair']:<42} seed {row['seed']}: objective {row['final_objective']:.5f}, precision@1 "
                  + " / ".join(f"{d} {p:.3f}" for d, p in row["p@1"].items()))
        for group in r.get("restart_choice", []):
            print(f"{r['pair']:<42} seeds {group['seeds']}: best objective seed {group['chosen_seed']} "
                  f"{'is' if group['chosen_is_best_p@1'] else 'is not'} the best-precision seed "
                  f"(mean precision@1 {group['gap_to_best_mean_p@1']:.4f} below it)")
    write_results(args.out, {"size": args.size, "w2v_args": args.w2v_args, "restarts": args.restarts,
                             "machine": platform.machine(), "results": results}, work=args.work)


if __name__ == "__main__":
    main()
