"""The runner of the Python recipes (``make demo``: examples/demo/run.py, ``make compare``:
examples/compare/run.py, ``make claims``): a tool run with its output in a log file, the synthetic
benchmark with its tiny pretrained models, the language identifier of the outputs, fairseq's update counter read into
a progress bar, and a graph of jobs run a few at a time.

Every tool runs on one thread (``OMP_NUM_THREADS=1``), so that a rerun on the same machine gives
the same numbers; a job is skipped when its output exists.
"""
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from fairseq_xlgen.file_io import atomic_output, file_sha256, read_json
from fairseq_xlgen.userdir import USER_DIR

#: the repository (the recipes, data_prep/ and fixtures/ live beside the package of an editable install)
REPO = os.path.dirname(USER_DIR)
FIXTURES = os.path.join(REPO, "fixtures")
#: the shipped sets of pretrained backbones (fixtures/NAME, built by fixtures/build.sh)
SHIPPED_SETS = ("benchmark-small", "testbed-small")


class StageError(Exception):
    pass


def run(cmd, log, progress=None, env=None):
    """Run ``cmd`` with its output appended to ``log``; ``progress(line)`` sees each line; ``env``: extra
    environment variables."""
    os.makedirs(os.path.dirname(log), exist_ok=True)
    env = dict(os.environ, PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", **(env or {}))
    with open(log, "a", encoding="utf-8") as f:
        f.write("$ " + " ".join(shlex.quote(str(c)) for c in cmd) + "\n")
        proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env)
        for line in proc.stdout:
            f.write(line)
            if progress:
                progress(line)
    if proc.wait() != 0:
        raise StageError(f"{os.path.basename(str(cmd[0]))} failed (exit {proc.returncode}); see {log}")


def done(path):
    return os.path.isfile(path) and os.path.getsize(path) > 0


def benchmark_and_fixtures(bench, pretrained, size, fixtures, log, langs):
    """The synthetic benchmark of ``size`` and tiny mbart.cc25/ + xlmr.base/ in ``pretrained``.

    ``fixtures``: the name of a shipped set (``fixtures/NAME``, e.g. testbed-small), copied by
    ``fixtures/build.sh --copy`` after it has regenerated the set's pretraining text and checked that
    the set was built from it; or a list of ``xlgen-make-fixtures`` flags: random-init or quickly
    pretrained fixtures built from the benchmark's mono/ text of ``langs`` (a smoke run).
    """
    run(["xlgen-make-benchmark", "--out", bench, "--size", size], log)
    if isinstance(fixtures, str):
        marker = os.path.join(pretrained, "shipped-set.json")
        identity = {"name": fixtures, "fixtures.json": file_sha256(os.path.join(FIXTURES, fixtures, "fixtures.json"))}
        if done(marker) and read_json(marker) == identity:
            return
        # the shipped sets were built from benchmark small: build.sh reuses the one made above
        run(["bash", os.path.join(FIXTURES, "build.sh"), "--copy", fixtures, pretrained], log,
            env={"BENCHMARK": bench} if size == "small" else None)
        with atomic_output(marker) as f:
            json.dump(identity, f)
        return
    run(["xlgen-make-fixtures", "--out", pretrained, *fixtures, "--corpus",
         *(os.path.join(bench, "mono", f"{lang}.txt") for lang in langs)], log)


def language_identifier(bench, langs, source, out, log):
    """The character n-gram identifier of ``langs``, trained on the benchmark's monolingual text."""
    if done(out):
        return
    os.makedirs(os.path.dirname(out), exist_ok=True)
    run(["xlgen-langid", "--hyp", os.path.join(bench, "mono", f"{source}.txt"), "--src-lang", source,
         "--tgt-lang", source, "--backend", "ngram",
         *(a for lang in langs for a in ("--train-ngram", f"{lang}={bench}/mono/{lang}.txt")),
         "--save-ngram-model", out], log)


class UpdateCounter:
    """Adds the updates that fairseq-train logs (``--log-format json``) to a shared tqdm bar."""

    def __init__(self, bar):
        self.bar, self.lock = bar, threading.Lock()

    def skip(self, updates):
        """Count the updates of a run finished before."""
        with self.lock:
            self.bar.update(updates)

    def progress(self):
        """A ``run(progress=...)`` callback for one fairseq-train run."""
        seen = [0]

        def read(line):
            match = re.search(r'"num_updates": "(\d+)"', line)
            if match:
                with self.lock:
                    self.bar.update(int(match.group(1)) - seen[0])
                seen[0] = int(match.group(1))
        return read


def run_graph(jobs, workers, on_done=None):
    """Run ``jobs`` ({name: (dependencies, function)}), at most ``workers`` at a time, each once its
    dependencies have finished, in the order given among those ready; ``on_done(name)`` after each.
    The first failure stops new jobs, waits for the running ones and is raised."""
    pending, running, finished = dict(jobs), {}, set()
    with ThreadPoolExecutor(workers) as pool:
        while pending or running:
            for name in [n for n, (deps, _) in pending.items() if set(deps) <= finished][:workers - len(running)]:
                running[pool.submit(pending.pop(name)[1])] = name
            if not running:
                raise StageError(f"jobs {sorted(pending)} wait for jobs that do not exist")
            complete, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in complete:
                name = running.pop(future)
                if future.exception():
                    wait(running)
                    raise future.exception()
                finished.add(name)
                if on_done:
                    on_done(name)


def grouped_bars(axes, rows, langs, keys, titles):
    """One bar group per language on each axis (one key each), a bar per row ({label, targets}); a
    language the row was trained on (``zero_shot`` false) is hatched."""
    width = 0.8 / len(rows)
    for k, row in enumerate(rows):
        xs = [i + (k - (len(rows) - 1) / 2) * width for i in range(len(langs))]
        hatches = ["" if row["targets"][lang]["zero_shot"] else "//" for lang in langs]
        for ax, key in zip(axes, keys):
            ax.bar(xs, [row["targets"][lang][key] for lang in langs], width, label=row["label"], color=f"C{k}",
                   hatch=hatches)
    for ax, title in zip(axes, titles):
        ax.set_xticks(range(len(langs)), langs)
        ax.set_title(title, fontsize=9)


def write_outputs(prefix, table, text, figure):
    """``PREFIX.md`` (text), ``PREFIX.json`` (table), ``PREFIX.png`` (a matplotlib figure), each written to a
    temporary file and renamed; returns the three paths."""
    import matplotlib.pyplot as plt

    paths = {ext: f"{prefix}.{ext}" for ext in ("md", "json", "png")}
    with atomic_output(paths["md"]) as f:
        f.write(text + "\n")
    with atomic_output(paths["json"]) as f:
        json.dump(table, f, indent=2)
    with atomic_output(paths["png"], mode="wb") as f:
        figure.savefig(f, format="png", dpi=110)
    plt.close(figure)
    return paths


def run_and_report(body, logs):
    """A driver's main: ``body()`` returns (markdown table, {md, json, png} paths), printed at the end with
    the wall time; a failed stage is one ``error:`` line and exit status 1."""
    start = time.time()
    try:
        table, paths = body()
    except StageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print("\n" + table)
    print(f"\nwall time {time.time() - start:.0f} s; table {paths['md']}, JSON {paths['json']}, plot {paths['png']}; "
          f"fairseq logs in {logs}/")
    return 0
