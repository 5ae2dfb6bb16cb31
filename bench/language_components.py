"""Benchmark of xlgen-language-components (LAFT §3.1): throughput (sentences/s) and peak memory
against corpus size. Memory must stay flat: the Gram matrix is d×d whatever the number of
sentences.

Each size runs the real command in its own process (its own peak RSS), on a text file of
that many lines cycled from the given monolingual text. Prints a table, writes JSON.

    python -m bench.language_components --model-dir work/pretrained/mbart.cc25 \\
        --text work/benchmark/mono/en_XX.txt                     # 10k, 100k, 1M sentences
"""
import argparse
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

from fairseq_xlgen.file_io import atomic_output


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", help="mbart.cc25-format directory (default: the tiny fixture, built)")
    parser.add_argument("--text", help="monolingual text, cycled to each size (default: the tiny benchmark's)")
    parser.add_argument("--work", default="work/bench-tiny", help="where the default fixture is built")
    parser.add_argument("--lang", default="en_XX")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", default="bench/results/language_components.json")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not args.model_dir:
        from bench._tiny_models import tiny_benchmark_and_mbart

        args.model_dir, mono = tiny_benchmark_and_mbart(args.work)
        args.text = args.text or mono[args.lang]
    with open(args.text, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            corpus = os.path.join(tmp, f"{size}.txt")
            with open(corpus, "w", encoding="utf-8") as f:
                f.writelines(itertools.islice(itertools.cycle(lines), size))
            start = time.perf_counter()
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            subprocess.run([sys.executable, "-m", "fairseq_xlgen.cli.language_components", "--model-dir",
                            args.model_dir, "--text", f"{args.lang}={corpus}", "--max-sentences", str(size),
                            "--batch-size", str(args.batch_size), "--no-progress",
                            "--out", os.path.join(tmp, f"{size}.pt")], check=True, capture_output=True)
            seconds = time.perf_counter() - start
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            rows.append({"sentences": size, "seconds": seconds, "sentences_per_second": size / seconds,
                         "peak_rss_mb": peak / 1024, "peak_grew": peak > before})
            print(f"{size:>9,} sentences {seconds:8.1f} s {size / seconds:9.0f} sentences/s  "
                  f"peak RSS {peak / 1024:7.0f} MB", flush=True)
    with atomic_output(args.out) as f:
        json.dump({"settings": vars(args), "machine": {"platform": platform.platform()}, "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
