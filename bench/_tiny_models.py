"""The tiny synthetic benchmark and tiny mbart.cc25 fixture, built once per directory, for
benchmarks run without a model of their own (``make bench``)."""
import os

BENCH_LANGS = ("en_XX", "de_DE", "ru_RU", "zh_CN")


def tiny_benchmark_and_mbart(work):
    """``(mbart.cc25 directory, {lang: monolingual text file})`` under ``work`` (cached)."""
    from fairseq_xlgen.testbed.pretrained_fixtures import build_fixtures
    from fairseq_xlgen.testbed.synthetic_benchmark import generate_benchmark

    benchmark = os.path.join(work, "benchmark")
    generate_benchmark(benchmark, seed=1, size="tiny", progress=False)
    mono = {lang: os.path.join(benchmark, "mono", f"{lang}.txt") for lang in BENCH_LANGS}
    build_fixtures(os.path.join(work, "fixtures"), list(mono.values()))
    return os.path.join(work, "fixtures", "mbart.cc25"), mono
