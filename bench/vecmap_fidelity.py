"""VecMap fidelity on real data: our mapping against the original VecMap, side by side (issue 11).

Testbed ../shared/data/multi30k-en-fr (its README gives the setting): the 29k Multi30k
captions of each side as monolingual corpora, lowercased and split by ``\\w+|[^\\w\\s]``;
word2vec by ``xlgen-train-embeddings --units tokens`` (skip-gram, 300 dims, window 10,
negative 10, min-count 3, 10 epochs, seed 1, one worker); fully unsupervised mapping
en → fr by ``xlgen-map-embeddings --unsupervised`` and, when a checkout of the original is
given, by its ``map_embeddings.py --unsupervised`` (Artetxe et al. 2018,
github.com/artetxem/vecmap, GPL: not shipped here; run from its own directory with this
Python and NumPy). Both mapped outputs are scored the same way: precision@1 by nearest
neighbour and by CSLS (k = 10) over the MUSE dictionary's source words that are in the
source vocabulary, correct when the prediction is any of the word's dictionary targets.
Each program runs with ``--threads`` BLAS/OpenMP threads; wall time includes reading and
writing the embeddings.

    python -m bench.vecmap_fidelity --original /path/to/vecmap          # ours and the original
    python -m bench.vecmap_fidelity                                      # ours only
    python -m bench.vecmap_fidelity --original ... --stochastic-interval 10   # shorter schedule
    python -m bench.vecmap_fidelity --lines 3000 --stochastic-interval 5       # small smoke run

Finished steps (tokenized text, embeddings, each program's mapping and its timing) are kept in
``--work`` and reused; delete a step's directory to run it again.
"""
import argparse
import gzip
import json
import os
import platform
import re
import subprocess
import sys
import time

import torch

from fairseq_xlgen.lexicon.embedding_mapping import csls_topk
from fairseq_xlgen.lexicon.embeddings_io import read_embeddings
from bench._results import write_results

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(REPO), "shared", "data", "multi30k-en-fr")
TOKEN = re.compile(r"\w+|[^\w\s]")
W2V_ARGS = ("--dim", "300", "--window", "10", "--negative", "10", "--min-count", "3", "--epochs", "10",
            "--units", "tokens", "--workers", "1", "--seed", "1")


def thread_env(threads):
    bin_dir = os.path.dirname(sys.executable)
    return dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), OMP_NUM_THREADS=str(threads),
                OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONHASHSEED="0")


def run(cmd, threads, cwd=None, log=None):
    """Run ``cmd``; returns its wall seconds. Fails with the command's last output."""
    started = time.perf_counter()
    with open(log or os.devnull, "w") as out:
        proc = subprocess.run([str(c) for c in cmd], env=thread_env(threads), cwd=cwd, stdout=out,
                              stderr=subprocess.STDOUT)
    if proc.returncode:
        tail = open(log).read()[-3000:] if log else ""
        raise SystemExit(f"{' '.join(map(str, cmd))} failed (exit {proc.returncode}):\n{tail}")
    return time.perf_counter() - started


def embeddings(data, work, lang, threads, lines):
    """Tokenized side ``lang`` (its first ``lines`` captions; 0 = all) → word2vec embeddings (cached)."""
    out = os.path.join(work, "embeddings" + (f"-{lines}" if lines else ""), f"{lang}.vec")
    if not os.path.isfile(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        tokens = os.path.join(os.path.dirname(out), f"train.{lang}.tok")
        with gzip.open(os.path.join(data, f"train.{lang}.gz"), "rt", encoding="utf-8") as f, \
                open(tokens, "w", encoding="utf-8") as o:
            o.writelines(" ".join(TOKEN.findall(line.lower())) + "\n" for i, line in enumerate(f)
                         if not lines or i < lines)
        run(["xlgen-train-embeddings", "--input", tokens, "--output", out, *W2V_ARGS], threads)
    return out


def mapping(name, cmd_for, work, src, tgt, threads, cwd=None):
    """Run one mapping program (cached with its wall time); returns (mapped src, mapped tgt, info)."""
    out = os.path.join(work, name)
    src_out, tgt_out, info_path = (os.path.join(out, f) for f in ("mapped.src.vec", "mapped.tgt.vec", "run.json"))
    if not os.path.isfile(info_path):
        os.makedirs(out, exist_ok=True)
        cmd = cmd_for(src_out, tgt_out, os.path.join(out, "iterations.tsv"))
        seconds = run(cmd, threads, cwd=cwd, log=os.path.join(out, "output.log"))
        with open(info_path, "w") as f:
            json.dump({"command": " ".join(map(str, cmd)), "threads": threads, "wall_seconds": round(seconds, 1)}, f)
    with open(info_path) as f:
        info = json.load(f)
    info["iterations"] = count_iterations(name, out)
    return src_out, tgt_out, info


def count_iterations(name, out):
    if name == "ours":
        with open(os.path.join(out, "mapped.src.vec.json")) as f:
            return json.load(f)["iterations"]
    with open(os.path.join(out, "iterations.tsv")) as f:  # the original's --log: one line per iteration
        return sum(1 for _ in f)


def read_dictionary(path):
    gold = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            src, tgt = line.rstrip("\n").split("\t")[:2]
            gold.setdefault(src, set()).add(tgt)
    return gold


def precision_at_1(src_path, tgt_path, gold):
    """P@1 (nearest neighbour, CSLS k=10) over the gold source words in the source vocabulary."""
    src_words, src = read_embeddings(src_path)
    tgt_words, tgt = read_embeddings(tgt_path)
    queries = [i for i, w in enumerate(src_words) if w in gold]
    scores = {}
    for name, knn in (("nn", 0), ("csls", 10)):
        _, nearest = csls_topk(src, tgt, k=1, knn=knn)
        hits = sum(tgt_words[int(nearest[i, 0])] in gold[src_words[i]] for i in queries)
        scores[name] = hits / len(queries)
    return scores, len(queries)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--original", metavar="DIR", help="checkout of github.com/artetxem/vecmap (optional)")
    parser.add_argument("--data", default=DATA, help="multi30k-en-fr directory")
    parser.add_argument("--src", default="en", help="source side (the dictionary is en→fr)")
    parser.add_argument("--tgt", default="fr")
    parser.add_argument("--lines", type=int, default=0, help="first N captions of each side (0 = all 29k)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads of each program")
    parser.add_argument("--stochastic-interval", type=int, default=50,
                        help="VecMap's stochastic interval, given to both programs (50 = its default)")
    parser.add_argument("--work", default=os.path.join("/tmp", "xlgen-bench", "vecmap-fidelity"))
    parser.add_argument("--out", default="bench/results/vecmap_fidelity.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    work = os.path.join(args.work, f"{args.src}-{args.tgt}-interval{args.stochastic_interval}"
                        + (f"-lines{args.lines}" if args.lines else ""))
    src, tgt = (embeddings(args.data, args.work, lang, args.threads, args.lines) for lang in (args.src, args.tgt))
    programs = {"ours": (lambda s, t, log: [
        "xlgen-map-embeddings", "--unsupervised", "--src-emb", src, "--tgt-emb", tgt, "--src-out", s, "--tgt-out", t,
        "--stochastic-interval", args.stochastic_interval], None)}
    if args.original:
        original = os.path.abspath(args.original)
        programs["original"] = (lambda s, t, log: [
            sys.executable, os.path.join(original, "map_embeddings.py"), "--unsupervised",
            "--stochastic_interval", args.stochastic_interval, "--log", log, src, tgt, s, t], original)
    gold = read_dictionary(os.path.join(args.data, f"muse.{args.src}-{args.tgt}.tsv.gz"))
    rows = []
    for name, (cmd_for, cwd) in programs.items():
        src_out, tgt_out, info = mapping(name, cmd_for, work, src, tgt, args.threads, cwd)
        scores, evaluated = precision_at_1(src_out, tgt_out, gold)
        rows.append({"program": name, **info, "p_at_1_nn": scores["nn"], "p_at_1_csls": scores["csls"],
                     "evaluated_words": evaluated})
    print(f"{args.src}→{args.tgt}, {args.threads} thread(s) each, stochastic interval {args.stochastic_interval}, "
          f"{platform.processor() or platform.machine()}")
    print(f"{'program':<9} {'iters':>5} {'wall s':>8} {'s/iter':>7} {'P@1 NN':>7} {'P@1 CSLS':>8} {'words':>6}")
    for r in rows:
        print(f"{r['program']:<9} {r['iterations']:>5} {r['wall_seconds']:>8.1f} "
              f"{r['wall_seconds'] / max(r['iterations'], 1):>7.2f} {100 * r['p_at_1_nn']:>7.1f} "
              f"{100 * r['p_at_1_csls']:>8.1f} {r['evaluated_words']:>6}")
    if len(rows) == 2:
        print(f"wall time original / ours: {rows[1]['wall_seconds'] / rows[0]['wall_seconds']:.2f}×; "
              f"CSLS P@1 ours − original: {100 * (rows[0]['p_at_1_csls'] - rows[1]['p_at_1_csls']):+.1f}")
    write_results(args.out, {"pair": f"{args.src}-{args.tgt}", "lines": args.lines, "threads": args.threads,
                             "stochastic_interval": args.stochastic_interval, "w2v_args": " ".join(W2V_ARGS),
                             "machine": platform.machine(), "torch": torch.__version__, "results": rows},
                  work=args.work)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
