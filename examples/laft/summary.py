"""Side-by-side results of examples/laft/run.sh: LAFT and the five baselines (paper 001 Tables 1-3).

    python examples/laft/summary.py WORK_DIR

Reads WORK/results/<setting>/<system>/test.<lang>.{scores,langid}.json and the trainable
parameter line each training logged (WORK/checkpoints/<setting>/<system>/trainable.txt);
prints a markdown table (ROUGE-L, SP-ROUGE-L, wrong-language rate per language, trainable
share) and writes it to WORK/results/summary.md, the numbers to WORK/results/summary.json.
"""
import glob
import json
import os
import re
import sys

from fairseq_xlgen.file_io import atomic_output

SYSTEMS = {"full": "mBART (full)", "enc": "mBART (enc)", "enc_top2": "mBART (enc top-2)",
           "adapter": "Adapter", "tm_adv": "TM + adv", "laft": "LAFT"}


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def collect(work):
    rows = []
    for path in sorted(glob.glob(os.path.join(work, "results", "*", "*", "test.*.scores.json"))):
        setting, system = path.split(os.sep)[-3:-1]
        lang = os.path.basename(path).split(".")[1]
        scores = read_json(path)["scores"]
        lid = read_json(path.replace(".scores.json", ".langid.json"))["summary"]
        trainable_file = os.path.join(work, "checkpoints", setting, system, "trainable.txt")
        trainable = open(trainable_file).read() if os.path.exists(trainable_file) else ""
        share = re.search(r"\(([0-9.]+)%\)", trainable)
        rows.append({"setting": setting, "system": system, "lang": lang, "rougeL": scores["rougeL"],
                     "sp_rougeL": scores["sp_rougeL"], "wrong_language_rate": lid["wrong_language_rate"],
                     "trainable_percent": float(share.group(1)) if share else None})
    return rows


def markdown(rows):
    lines = ["| setting | system | language | ROUGE-L | SP-ROUGE-L | wrong language % | trainable % |",
             "|---|---|---|---|---|---|---|"]
    order = list(SYSTEMS)
    for row in sorted(rows, key=lambda r: (r["setting"] != "zero-shot", r["setting"], r["lang"],
                                           order.index(r["system"]) if r["system"] in order else 99)):
        share = "" if row["trainable_percent"] is None else f"{row['trainable_percent']:.2f}"
        lines.append(f"| {row['setting']} | {SYSTEMS.get(row['system'], row['system'])} | {row['lang']} | "
                     f"{row['rougeL']:.2f} | {row['sp_rougeL']:.2f} | {row['wrong_language_rate']:.1f} | {share} |")
    return "\n".join(lines) + "\n"


def main(work):
    rows = collect(work)
    table = markdown(rows)
    print(table)
    with atomic_output(os.path.join(work, "results", "summary.md")) as f:
        f.write(table)
    with atomic_output(os.path.join(work, "results", "summary.json")) as f:
        json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1])
