"""Benchmark of the VecMap re-implementation: time per self-learning iteration and in total
against vocabulary size, on synthetic embeddings with a known translation
(``synthetic_embedding_pair`` of tests/embedding_fixtures.py: cluster/low-rank
source, random rotation plus frequency-dependent noise, jittered frequency order).

Runs on CPU, and on CUDA when available. Prints a table and writes JSON.

    python -m bench.embedding_mapping                      # 5k/10k/20k words, d=512, 10 iterations each
    python -m bench.embedding_mapping --max-iterations 0   # run each size to convergence
    python -m bench.embedding_mapping --quick              # 1k/2k words, d=128, to convergence
"""
import argparse
import json
import os
import platform

import torch

from fairseq_xlgen.lexicon.embedding_mapping import MappingConfig, csls_topk, map_embeddings
from fairseq_xlgen.testbed.embedding_pairs import synthetic_embedding_pair


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000], help="vocabulary sizes")
    parser.add_argument("--dim", type=int, default=512, help="embedding dimension (xlgen-train-embeddings' default)")
    parser.add_argument("--max-iterations", type=int, default=10,
                        help="self-learning iterations per run (0 = until convergence)")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--devices", nargs="+", default=["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0 = torch's default)")
    parser.add_argument("--quick", action="store_true", help="sizes 1000 2000, d=128, until convergence")
    parser.add_argument("--out", default="bench/results/embedding_mapping.json", help="JSON results")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.dim, args.max_iterations = [1000, 2000], 128, 0
    return args


def run_one(n_words, dim, device, dtype, max_iterations):
    """Map one synthetic pair; return timings and precision@1 against the known translation."""
    src, tgt, gold = synthetic_embedding_pair(n_words, dim, seed=0)
    config = MappingConfig(device=device, dtype=dtype, max_iterations=max_iterations)
    result = map_embeddings(src, tgt, config, progress=False)
    _, nearest = csls_topk(result.src_mapped.to(device), result.tgt_mapped.to(device), k=1,
                           batch_size=config.batch_size)
    loop_seconds = sum(result.iteration_seconds)
    return {
        "device": device, "words": n_words, "dim": dim, "dtype": dtype,
        "iterations": result.iterations, "converged": result.converged,
        "seconds_per_iteration": loop_seconds / max(result.iterations, 1),
        "init_and_final_seconds": result.seconds - loop_seconds,
        "total_seconds": result.seconds,
        "precision_at_1": (nearest[:, 0].cpu() == gold).double().mean().item(),
    }


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    header = f"{'device':6} {'words':>6} {'dim':>4} {'iters':>5} {'conv':>4} {'s/iter':>8} {'init+final s':>12} {'total s':>8} {'P@1':>6}"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {platform.processor() or platform.machine()}")
    print(header)
    for device in args.devices:
        for n_words in args.sizes:
            row = run_one(n_words, args.dim, device, args.dtype, args.max_iterations)
            rows.append(row)
            print(f"{row['device']:6} {row['words']:>6} {row['dim']:>4} {row['iterations']:>5} "
                  f"{'yes' if row['converged'] else 'no':>4} {row['seconds_per_iteration']:>8.3f} "
                  f"{row['init_and_final_seconds']:>12.2f} {row['total_seconds']:>8.1f} {row['precision_at_1']:>6.3f}",
                  flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"torch": torch.__version__, "cpu_threads": torch.get_num_threads(),
                   "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
                   "max_iterations": args.max_iterations, "results": rows}, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
