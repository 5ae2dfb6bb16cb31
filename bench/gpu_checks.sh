#!/usr/bin/env bash
# The GPU checks of issue 19 in one session (~10 minutes on one H100), results as JSON in OUT_DIR:
#
#   bench/gpu_checks.sh OUT_DIR          on a CUDA machine after `make env` (a CUDA torch in .venv)
#   DRY_RUN=1 bench/gpu_checks.sh OUT    the same steps on CPU: tiny sizes, no --fp16, 2 repeats/updates
#
#   sga_decoding.json    SGA decoding speed at xlmr.base size, --fp16, batch 1 and 64, 5 repeats (bench/sga_decoding.py)
#   laft_training.json   LAFT's time per update at mbart_large size, --fp16 (bench/laft_training.py)
#   training_modes.json  3 --fp16 updates of every training mode, each loss finite (tests/test_training_updates.py)
#   gpu_checks.json      each step's exit status and seconds; the speed goals at batch 1 against ar-beam4
#                        (CTC-only >= 8x, SGA >= 4x; paper 003 Table 1 against XLM-R AT-init: 7.6x / 3.3x)
#
# MODES='sga_ctc or tm_adv' restricts the training modes (a pytest -k expression). Every step runs even if
# an earlier one failed; the exit status is 1 if any failed.
set -uo pipefail
OUT=${1:?usage: bench/gpu_checks.sh OUT_DIR}
cd "$(dirname "$0")/.."
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
PYTHON=${PYTHON:-.venv/bin/python}
export PATH="$(dirname "$PYTHON"):$PATH" PYTHONWARNINGS=ignore
if [ "${DRY_RUN:-0}" = 1 ]; then
  sga=(--device cpu --threads 1 --layers 2 --dim 64 --ffn 128 --heads 4 --vocab 1000 --prompt-length 8
       --src-pieces 5 --batch-sizes 1 2 --repeats 2 --systems ctc sga sga+1 mp2+dn ar-beam4)
  laft=(--device cpu --threads 1 --size tiny --vocab 8000 --batch 2 --updates 1 --configs full "laft stage 2")
  train_flags=""
else
  sga=(--device cuda --fp16 --batch-sizes 1 64 --src-pieces 20 --repeats 5)
  laft=(--device cuda --fp16)
  train_flags="--fp16"
fi

steps='{}'
step() {  # step NAME COMMAND...: run it, keep its exit status and wall seconds
  local name=$1 start=$SECONDS rc=0; shift
  printf '\n==> %s: %s\n' "$name" "$*"
  "$@" || rc=$?
  steps=$("$PYTHON" -c 'import json, sys; s = json.loads(sys.argv[1]); s[sys.argv[2]] = {"exit": int(sys.argv[3]),
"seconds": int(sys.argv[4])}; print(json.dumps(s))' "$steps" "$name" "$rc" "$((SECONDS - start))")
}

step sga_decoding "$PYTHON" -m bench.sga_decoding "${sga[@]}" --out "$OUT/sga_decoding.json"
step laft_training "$PYTHON" -m bench.laft_training "${laft[@]}" --out "$OUT/laft_training.json"
records=$(mktemp -d)
step training_modes env XLGEN_TRAIN_FLAGS="$train_flags" XLGEN_TRAIN_RECORDS="$records" \
  "$PYTHON" -m pytest tests/test_training_updates.py -q ${MODES:+-k "$MODES"}

"$PYTHON" - "$OUT" "$records" "$steps" "${DRY_RUN:-0}" <<'EOF'
import glob, json, math, os, sys
out, records, steps, dry_run = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4] == "1"
modes = {}
for path in sorted(glob.glob(os.path.join(records, "*.json"))):
    with open(path, encoding="utf-8") as f:
        record = json.load(f)
    modes[record["mode"]] = {"flags": record["flags"], "losses": record["losses"]}
with open(os.path.join(out, "training_modes.json"), "w", encoding="utf-8") as f:
    json.dump(modes, f, indent=1)
goals = {}
speed = os.path.join(out, "sga_decoding.json")
if os.path.isfile(speed):
    with open(speed, encoding="utf-8") as f:
        rows = {(r["system"], r["batch"]): r for r in json.load(f)["results"]}
    for system, goal in (("ctc", 8.0), ("sga", 4.0)):
        if (system, 1) in rows:
            measured = rows[system, 1]["speedup"]
            goals[f"{system} vs ar-beam4, batch 1"] = {"speedup": round(measured, 2), "goal": goal,
                                                      "met": measured >= goal}
summary = {"dry_run": dry_run, "steps": steps, "speed_goals": goals, "training_modes_with_finite_losses": sorted(
    mode for mode, record in modes.items() if all(math.isfinite(loss) for loss in record["losses"]))}
with open(os.path.join(out, "gpu_checks.json"), "w", encoding="utf-8") as f:
    json.dump(summary, f, indent=1)
print(json.dumps(summary, indent=1))
sys.exit(1 if any(s["exit"] for s in steps.values()) else 0)
EOF
rc=$?
rm -rf "$records"
exit $rc
