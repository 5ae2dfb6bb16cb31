"""Side-by-side results of examples/laft/run.sh: LAFT and the five baselines (paper 001 Tables 1-3).

    python examples/laft/summary.py WORK_DIR

Reads WORK/results/<setting>/<system>/test.<lang>.{scores,langid}.json, the hypotheses
(test.<lang>.txt), and the trainable-parameter line and the log of each training
(WORK/checkpoints/<setting>/<system>/{trainable.txt,train.log}); prints a markdown table
(ROUGE-L, SP-ROUGE-L, wrong-language rate per language, trainable share) and, to tell a
collapsed system from a weak one, the share of outputs in the source language, the share of
empty outputs, the outputs' length relative to the references (characters without spaces)
and the task finetuning's final training NLL (bits per target token, fairseq's
train_nll_loss), and for TM+adv the held-out language probe of its last validation (a fresh
logistic regression reading the language from the pooled task-module output; chance = 1/number
of languages); writes it to WORK/results/summary.md, the numbers to WORK/results/summary.json
(``{"systems": [...], "adversary": {...}}``).

With adversary.sh's runs (WORK/checkpoints/adversary/<configuration>/seed<N>/train.log) it adds
a second table: per configuration the probe accuracy, the classifier's own accuracy and the
task's valid NLL of the last validation, mean and range over the seeds.
"""
import glob
import json
import os
import re
import sys

from fairseq_xlgen.analysis.generate_output import read_hypotheses
from fairseq_xlgen.file_io import atomic_output, read_json

SYSTEMS = {"full": "mBART (full)", "enc": "mBART (enc)", "enc_top2": "mBART (enc top-2)",
           "adapter": "Adapter", "tm_adv": "TM + adv", "laft": "LAFT"}


def final_train_nll(log_path):
    """The last ``train_nll_loss`` (end-of-epoch record) of a fairseq-train JSON log, or None."""
    if not os.path.exists(log_path):
        return None
    values = re.findall(r'"train_nll_loss": "([0-9.]+)"', open(log_path, encoding="utf-8").read())
    return float(values[-1]) if values else None


def last_validation(log_path):
    """The last ``valid`` record of a fairseq-train JSON log (``{}`` when it has none)."""
    if not os.path.exists(log_path):
        return {}
    records = re.findall(r"\| valid \| (\{.*\})", open(log_path, encoding="utf-8").read())
    return json.loads(records[-1]) if records else {}


def output_stats(hyp_path):
    """(empty-output %, output length / reference length in characters without spaces) of a
    fairseq-generate log (its T- lines are the references), or (None, None)."""
    if not os.path.exists(hyp_path):
        return None, None
    out = read_hypotheses(hyp_path)
    if not out.hypotheses:
        return None, None
    chars = lambda lines: sum(len("".join((line or "").split())) for line in lines)  # noqa: E731
    empty = 100.0 * sum(not h.strip() for h in out.hypotheses) / len(out.hypotheses)
    ref_chars = chars(out.targets)
    return empty, (chars(out.hypotheses) / ref_chars if ref_chars else None)


def collect(work):
    rows = []
    for path in sorted(glob.glob(os.path.join(work, "results", "*", "*", "test.*.scores.json"))):
        setting, system = path.split(os.sep)[-3:-1]
        lang = os.path.basename(path).split(".")[1]
        scores = read_json(path)["scores"]
        lid_path = path.replace(".scores.json", ".langid.json")
        if not os.path.exists(lid_path):  # still being scored (run.sh writes the scores first)
            continue
        lid = read_json(lid_path)["summary"]
        trainable_file = os.path.join(work, "checkpoints", setting, system, "trainable.txt")
        trainable = open(trainable_file).read() if os.path.exists(trainable_file) else ""
        share = re.search(r"\(([0-9.]+)%\)", trainable)
        empty, length = output_stats(path.replace(".scores.json", ".txt"))
        log = os.path.join(work, "checkpoints", setting, system, "train.log")
        probe = last_validation(log).get("valid_probe_accuracy")
        rows.append({"setting": setting, "system": system, "lang": lang, "rougeL": scores["rougeL"],
                     "sp_rougeL": scores["sp_rougeL"], "wrong_language_rate": lid["wrong_language_rate"],
                     "source_language_rate": lid.get("source_language_rate"),
                     "empty_percent": empty, "length_ratio": length,
                     "train_nll": final_train_nll(log), "probe_percent": None if probe is None else 100 * float(probe),
                     "trainable_percent": float(share.group(1)) if share else None})
    return rows


def markdown(rows):
    lines = ["| setting | system | language | ROUGE-L | SP-ROUGE-L | wrong language % | in source language % "
             "| empty % | length / ref | train NLL | probe % | trainable % |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    fmt = lambda value, spec: "" if value is None else format(value, spec)  # noqa: E731
    order = list(SYSTEMS)
    for row in sorted(rows, key=lambda r: (r["setting"] != "zero-shot", r["setting"], r["lang"],
                                           order.index(r["system"]) if r["system"] in order else 99)):
        lines.append(f"| {row['setting']} | {SYSTEMS.get(row['system'], row['system'])} | {row['lang']} | "
                     f"{row['rougeL']:.2f} | {row['sp_rougeL']:.2f} | {row['wrong_language_rate']:.1f} | "
                     f"{fmt(row['source_language_rate'], '.1f')} | {fmt(row['empty_percent'], '.1f')} | "
                     f"{fmt(row['length_ratio'], '.2f')} | {fmt(row['train_nll'], '.2f')} | "
                     f"{fmt(row['probe_percent'], '.1f')} | {fmt(row['trainable_percent'], '.2f')} |")
    return "\n".join(lines) + "\n"


def adversary_rows(work):
    """Per adversary.sh configuration: the last validation of each seed's run."""
    rows = {}
    for log in sorted(glob.glob(os.path.join(work, "checkpoints", "adversary", "*", "seed*", "train.log"))):
        config = log.split(os.sep)[-3]
        valid = last_validation(log)
        if "valid_probe_accuracy" in valid:
            rows.setdefault(config, []).append({key: float(valid[f"valid_{key}"]) for key in (
                "probe_accuracy", "probe_chance", "cls_accuracy", "nll_loss", "num_updates")})
    return rows


def adversary_markdown(rows):
    spread = lambda values: f"{sum(values) / len(values):.3f} ({min(values):.3f}–{max(values):.3f})"  # noqa: E731
    lines = ["| configuration | seeds | updates | probe accuracy | chance | classifier accuracy | valid NLL |",
             "|---|---|---|---|---|---|---|"]
    for config, runs in rows.items():
        column = lambda key: [run[key] for run in runs]  # noqa: E731
        lines.append(f"| {config} | {len(runs)} | {int(max(column('num_updates')))} | "
                     f"{spread(column('probe_accuracy'))} | {max(column('probe_chance')):.3f} | "
                     f"{spread(column('cls_accuracy'))} | {spread(column('nll_loss'))} |")
    return "\n".join(lines) + "\n"


def main(work):
    rows = collect(work)
    table = markdown(rows)
    adversary = adversary_rows(work)
    if adversary:
        table += "\n" + adversary_markdown(adversary)
    print(table)
    with atomic_output(os.path.join(work, "results", "summary.md")) as f:
        f.write(table)
    with atomic_output(os.path.join(work, "results", "summary.json")) as f:
        json.dump({"systems": rows, "adversary": adversary}, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1])
