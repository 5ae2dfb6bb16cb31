"""Run many command lines of this project's console scripts in one interpreter, each in a forked child.

    python tests/bad_input_runner.py CASES.json RESULTS.json

CASES.json: ``[{"id": ..., "argv": [script, arg, ...], "cwd": DIR}, ...]``; script is an ``xlgen-*`` name of
setup.py or fairseq-train / fairseq-generate. The parent imports the xlgen modules once (seconds), then
forks one child per case, which runs the script's entry point exactly as its console script does
(``sys.exit(main())``: an uncaught exception is printed by ``sys.excepthook`` and exits 1) with its own
stdout/stderr files and working directory. RESULTS.json: ``{id: {"rc": exit status, "stderr": text, "seconds": wall time}}``.
"""
import ast
import importlib
import json
import logging
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAIRSEQ_SCRIPTS = {"fairseq-train": "fairseq_cli.train:cli_main", "fairseq-generate": "fairseq_cli.generate:cli_main"}


def console_scripts():
    """``{script: "module:function"}`` of setup.py's CONSOLE_SCRIPTS (read, not executed)."""
    with open(os.path.join(REPO, "setup.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "CONSOLE_SCRIPTS":
            return ast.literal_eval(node.value)
    raise LookupError("setup.py has no CONSOLE_SCRIPTS")


def entry_point(spec):
    module, function = spec.split(":")
    return getattr(importlib.import_module(module), function)


def run_in_child(spec, argv, cwd, out_prefix):
    """The exit status of ``argv`` run by entry point ``spec`` in a forked child."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    code = 1
    try:
        os.chdir(cwd)
        for fd, suffix in ((1, ".stdout"), (2, ".stderr")):
            target = os.open(out_prefix + suffix, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(target, fd)
            os.close(target)
        logging.root.handlers.clear()  # as in a fresh interpreter: the tool configures logging itself
        sys.argv = list(argv)
        try:
            sys.exit(entry_point(spec)())
        except SystemExit as stop:  # the interpreter's rule for sys.exit's argument
            if stop.code is None or isinstance(stop.code, int):
                code = stop.code or 0
            else:
                print(stop.code, file=sys.stderr)
        except BaseException:
            sys.excepthook(*sys.exc_info())
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main(cases_path, results_path):
    scripts = {**console_scripts(), **FAIRSEQ_SCRIPTS}
    with open(cases_path, encoding="utf-8") as f:
        cases = json.load(f)
    import fairseq_xlgen  # noqa: F401  (registers the plugin and its excepthook, as --user-dir does)

    for spec in console_scripts().values():  # imported once here; fairseq_cli configures logging on import
        importlib.import_module(spec.split(":")[0])
    results = {}
    for case in cases:
        started = time.perf_counter()
        out_prefix = os.path.join(os.path.dirname(os.path.abspath(results_path)), case["id"].replace("/", "__"))
        rc = run_in_child(scripts[case["argv"][0]], case["argv"], case["cwd"], out_prefix)
        with open(out_prefix + ".stderr", encoding="utf-8", errors="replace") as f:
            results[case["id"]] = {"rc": rc, "stderr": f.read(), "seconds": round(time.perf_counter() - started, 2)}
    with open(results_path, "w", encoding="utf-8") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
