"""CSR switch rates per language with an induced lexicon (paper 004 §III-B; issue 11 item 1).

For each language pair, the downstream training text is encoded with an mBART-format
SentencePiece model, the lexicon pipeline runs (data_prep/build_lexicon.sh: word2vec on
switching units → unsupervised VecMap → top-3 CSLS, both directions, restricted to
dict.txt), and the training sentences of each side are code-switched with their lexicon
(source with src2tgt, target with tgt2src). Reported per side: units, the share of units the
lexicon can switch, the switch rate over the switchable units (target 0.35) and over all units;
on the benchmark also the lexicon's precision@1 against the gold lexicon (words compared as
text, so multi-piece words count).

* the synthetic benchmark (en_XX-de_DE, en_XX-ru_RU, en_XX-zh_CN) with the tiny fixture's
  SentencePiece model trained on its four monolingual corpora;
* real Tatoeba en-zh pairs (../shared/data/tatoeba-en-zh, CC-BY 2.0 FR) with a SentencePiece
  model trained on them, written in mBART's format (sentence.bpe.model + dict.txt).

    python -m bench.csr_switch_rates                         # benchmark small + 2000 Tatoeba pairs
    python -m bench.csr_switch_rates --tatoeba-lines 0       # the full Tatoeba file (29k pairs)
"""
import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
from fairseq.data import Dictionary

from fairseq_xlgen.data.code_switching import CodeSwitchLexicon, UnitSegmenter, code_switch
from fairseq_xlgen.data.pretrained_fixtures import build_fixtures, train_sentencepiece, write_fairseq_dictionary
from fairseq_xlgen.data.synthetic_benchmark import LANGUAGES, generate_benchmark

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


def switch_counts(piece_path, dictionary, lexicon, seed=1):
    segmenter, rng = UnitSegmenter(dictionary), np.random.default_rng(seed)
    counts = np.zeros(3, dtype=np.int64)
    with open(piece_path, encoding="utf-8") as f:
        for line in f:
            tokens = np.array([dictionary.index(p) for p in line.split()], dtype=np.int64)
            r = code_switch(tokens, segmenter, lexicon, rng)
            counts += (r.switched, r.switchable, r.units)
    switched, switchable, units = counts.tolist()
    return {"units": units, "switchable_share": switchable / units, "switch_rate": switched / max(switchable, 1),
            "switched_of_all_units": switched / units}


def measure_pair(name, model_dir, texts, work, w2v_args, gold=None):
    """Lexicon pipeline on one pair (precision@1 against ``gold`` word pairs when given), then
    the switch counts of both sides."""
    src, tgt = list(texts)
    spm_dir, lex_dir = os.path.join(work, name, "spm"), os.path.join(work, name, "lexicon")
    if not os.path.isfile(os.path.join(spm_dir, f"train.{tgt}")):
        encode_texts(os.path.join(model_dir, "sentence.bpe.model"), texts, spm_dir)
    started = time.perf_counter()
    run("bash", os.path.join(REPO, "data_prep", "build_lexicon.sh"), spm_dir, src, tgt, model_dir, lex_dir,
        env={"W2V_ARGS": w2v_args, "LEX_ARGS": f"--gold {gold}" if gold else ""})
    seconds = time.perf_counter() - started
    with open(os.path.join(lex_dir, "lexicon.json"), encoding="utf-8") as f:
        precision = json.load(f)["precision"]
    dictionary = Dictionary.load(os.path.join(model_dir, "dict.txt"))
    rows = {}
    for lang, direction in ((src, "src2tgt"), (tgt, "tgt2src")):
        lexicon = CodeSwitchLexicon.from_tsv(os.path.join(lex_dir, f"lexicon.{direction}.tsv"), dictionary, k=3)
        rows[lang] = {"lexicon_units": len(lexicon), **switch_counts(os.path.join(spm_dir, f"train.{lang}"),
                                                                    dictionary, lexicon)}
    return {"pair": name, "pipeline_seconds": round(seconds, 1), "precision": precision, "sides": rows}


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
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "xlgen-bench", "csr-switch-rates"))
    parser.add_argument("--out", default="bench/results/csr_switch_rates.json")
    args = parser.parse_args(argv)
    results = []
    bench = os.path.join(args.work, f"benchmark-{args.size}")
    generate_benchmark(bench, size=args.size, progress=False)
    fixtures = os.path.join(args.work, f"fixtures-{args.size}")
    build_fixtures(fixtures, [os.path.join(bench, "mono", f"{lang}.txt") for lang in LANGUAGES])
    for src, tgt in BENCHMARK_PAIRS:
        name = f"{src}-{tgt}"
        text_dir = os.path.join(bench, "tasks", "translation", name)
        texts = {lang: os.path.join(text_dir, f"train.{lang}") for lang in (src, tgt)}
        results.append(measure_pair(f"benchmark {name}", os.path.join(fixtures, "mbart.cc25"), texts,
                                    os.path.join(args.work, args.size), args.w2v_args,
                                    gold=os.path.join(bench, "lexicon", f"{name}.gold.tsv")))
    if args.tatoeba_lines >= 0:
        model_dir, texts = tatoeba_model(args.work, args.tatoeba_lines, args.tatoeba_vocab)
        results.append(measure_pair(f"tatoeba en_XX-zh_CN ({args.tatoeba_lines or 'all'} pairs)", model_dir, texts,
                                    model_dir, args.w2v_args))
    print(f"{'pair':<42} {'side':<6} {'units':>7} {'switchable':>10} {'rate':>6} {'of all':>6}")
    for r in results:
        for lang, s in r["sides"].items():
            print(f"{r['pair']:<42} {lang:<6} {s['units']:>7} {s['switchable_share']:>10.3f} {s['switch_rate']:>6.3f} "
                  f"{s['switched_of_all_units']:>6.3f}")
        for direction, p in r["precision"].items():
            print(f"{r['pair']:<42} {direction}: precision@1 {p['p@1']:.3f} on {p['evaluated_words']} gold words")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".tmp", "w") as f:
        json.dump({"size": args.size, "w2v_args": args.w2v_args, "machine": platform.machine(), "results": results},
                  f, indent=2)
    os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
