#!/usr/bin/env bash
# Paper 002 §5 (Tables 2-4, Figures 1-3): XLRS from classification to generation. For each task of the
# synthetic benchmark, the tiny mBART is finetuned on en_XX only (run.sh with RUNS=single); at every
# saved checkpoint XLRS (en_XX vs each language, parallel sentences) and the zero-shot score on ru_RU and
# zh_CN are recorded; then one table of Spearman's rho (XLRS vs score over the checkpoints, with its
# p-value) and label overlap d per task (§5.1, xlgen-xlrs overlap), and the XLRS curves of every task.
#
#   examples/multisource/spectrum.sh WORK_DIR [SIZE]       (SIZE tiny | small | base; default small)
#
# TASKS (default "pos paws nli qa title summarization"): understanding tasks are read as text to text
# (xlgen-text-to-text: accuracy, tag accuracy or span F1), generation tasks scored by SP-ROUGE-L. The
# paper's claim is the sign change: rho > 0 for classification, rho < 0 for generation (Table 4).
# Every other setting is run.sh's (SEED, FIXTURES, LR, JOBS). Output: WORK_DIR/spectrum.{md,json},
# WORK_DIR/xlrs.png; each task's run in WORK_DIR/TASK/ (finished steps are skipped on a rerun).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${1:?usage: spectrum.sh WORK_DIR [SIZE]}; SIZE=${2:-small}
TASKS=${TASKS:-pos paws nli qa title summarization}
mkdir -p "$WORK"
for task in $TASKS; do
  printf '\n==> task %s: finetune on en_XX, XLRS and zero-shot score per checkpoint (run.sh RUNS=single)\n' "$task" >&2
  mkdir -p "$WORK/$task"
  TASK=$task RUNS=single METRIC="" bash "$HERE/run.sh" "$WORK/$task" "$SIZE" > "$WORK/$task/run.log" 2>&1 \
    || { tail -n 20 "$WORK/$task/run.log" >&2; echo "error: run.sh with TASK=$task failed, see $WORK/$task/run.log" >&2; exit 1; }
done

curves=(); for task in $TASKS; do curves+=("$task=$WORK/$task/results/single/xlrs.json"); done
xlgen-xlrs plot --xlrs "${curves[@]}" --pairs en_XX-ru_RU,en_XX-zh_CN \
  --title "XLRS during en_XX finetuning, per task" --out "$WORK/xlrs.png" > /dev/null
python - "$WORK" $TASKS <<'EOF'
import json
import os
import sys

from fairseq_xlgen.file_io import atomic_output, read_json

work, tasks = sys.argv[1], sys.argv[2:]
rows = []
for task in tasks:
    results = os.path.join(work, task, "results")
    spearman = read_json(os.path.join(results, "single", "spearman.json"))
    settings = read_json(os.path.join(results, "single", "spearman.json.settings.json"))  # run.sh's languages
    selection = read_json(os.path.join(results, "single", "selection.json"))
    xlrs = read_json(os.path.join(results, "single", "xlrs.json"))["models"]
    targets = settings["tgt_langs"].split(",")
    mean = lambda model: sum(model["xlrs"][f"{settings['src_lang']}-{t}"] for t in targets) / len(targets)  # noqa: E731
    rows.append({"task": task, "metric": settings["metric"], "d": read_json(os.path.join(results, "overlap.json"))["mean"],
                 "rho": spearman["mean"]["rho"], "p_value": spearman["mean"]["p_value"],
                 "rho_per_target": {t: v["rho"] for t, v in spearman["per_target"].items()},
                 "xlrs_pretrained": mean(xlrs[0]), "xlrs_last": mean(xlrs[-1]),
                 "score_last": sum(selection["checkpoints"][-1]["scores"][f"test.{t}"] for t in targets) / len(targets)})
fmt = lambda v, spec: "undefined" if v is None else format(v, spec)  # noqa: E731
lines = ["| task | score | label overlap d (%) | XLRS en-ru/zh: pretrained -> last | zero-shot score, last | "
         "Spearman rho (p) | rho ru_RU / zh_CN |", "|---|---|---|---|---|---|---|"]
for r in rows:
    lines.append(f"| {r['task']} | {r['metric']} | {r['d']:.1f} | {r['xlrs_pretrained']:.3f} -> {r['xlrs_last']:.3f} | "
                 f"{r['score_last']:.1f} | {fmt(r['rho'], '+.2f')} ({fmt(r['p_value'], '.2f')}) | "
                 f"{' / '.join(fmt(v, '+.2f') for v in r['rho_per_target'].values())} |")
text = "\n".join(lines)
with atomic_output(os.path.join(work, "spectrum.md")) as f:
    f.write(text + "\n")
with atomic_output(os.path.join(work, "spectrum.json")) as f:
    json.dump(rows, f, indent=2)
print(text)
EOF
