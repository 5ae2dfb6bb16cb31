"""Run every benchmark script of bench/ with small defaults (``make bench``).

Each ``bench/<name>.py`` (not ``_private.py`` helpers) runs as ``python -m bench.<name>`` in its own process, one after
the other; scripts listed in :data:`SMALL_ARGS` get small settings and write their JSON to
``--out-dir`` (default ``bench/results/small/``, so the committed full-size results stay), any
other script runs with its own defaults. Exit status 1 if a script failed; the others still run.

    python -m bench.run_all                    # all scripts, small settings
    python -m bench.run_all --only code_switching embedding_mapping
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

#: small settings of the known scripts (the output file is added)
SMALL_ARGS = {
    "code_switching": ["--size", "tiny"],
    "embedding_mapping": ["--quick"],
    "csr_switch_rates": ["--size", "tiny", "--tatoeba-lines", "300",
                         "--w2v-args=--dim 32 --epochs 5 --min-count 2 --workers 1"],
    "laft_training": ["--size", "tiny", "--vocab", "8000", "--batch", "8", "--updates", "2"],
    "laft_removal": [],
    "language_components": ["--sizes", "1000", "4000"],
    "sga_decoding": ["--layers", "2", "--dim", "64", "--ffn", "128", "--heads", "4", "--vocab", "1000",
                     "--prompt-length", "8", "--batch-sizes", "1", "4", "--repeats", "1"],
    "sga_prompt_capacity": ["--sentences", "4", "--steps", "10"],
    "vecmap_fidelity": ["--lines", "3000", "--stochastic-interval", "5"],
}


def scripts():
    """The benchmark scripts: bench/*.py except this one and private helpers (``_name.py``)."""
    return sorted(name[:-3] for name in os.listdir(HERE)
                  if name.endswith(".py") and not name.startswith("_") and name != "run_all.py")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these scripts (bench/NAME.py)")
    parser.add_argument("--out-dir", default=os.path.join("bench", "results", "small"), help="JSON outputs")
    args = parser.parse_args(argv)
    names = scripts()
    unknown = sorted(set(args.only or ()) - set(names))
    if unknown:
        parser.error(f"--only {' '.join(unknown)}: no such script; choose from {', '.join(names)}")
    os.makedirs(args.out_dir, exist_ok=True)
    failed = []
    for name in args.only or names:
        cmd = [sys.executable, "-m", f"bench.{name}"]
        if name in SMALL_ARGS:
            cmd += SMALL_ARGS[name] + ["--out", os.path.join(args.out_dir, f"{name}.json")]
        print(f"== {' '.join(cmd[1:])}", flush=True)
        started = time.perf_counter()
        code = subprocess.call(cmd, cwd=os.path.dirname(HERE))
        print(f"== {name}: {'ok' if code == 0 else f'FAILED (exit {code})'} in {time.perf_counter() - started:.0f} s",
              flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
