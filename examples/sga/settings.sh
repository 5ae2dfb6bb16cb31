# Shared by examples/sga/run.sh and free_generation.sh (sourced after WORK and SIZE are set): the
# training settings of SIZE, each overridable from the environment, training with checkpoint averaging,
# and the synthetic benchmark.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
if [ "$SIZE" = tiny ]; then defaults=(200 8 1e-2 20); else defaults=(3000 32 3e-3 200); fi
UPDATES=${UPDATES:-${defaults[0]}}; P=${P:-${defaults[1]}}; LR=${LR:-${defaults[2]}}; WARMUP=${WARMUP:-${defaults[3]}}
MAX_TOKENS=${MAX_TOKENS:-2048}; UPDATE_FREQ=${UPDATE_FREQ:-1}; AVERAGE=${AVERAGE:-3}; MAX_ITER=${MAX_ITER:-10}
SEED=${SEED:-1}  # fairseq's --seed of every training (batch order, dropout, noise)
ARCH=${ARCH:-xlmr_sga_tiny}
optimization=(--optimizer adam --adam-betas '(0.9, 0.98)' --lr-scheduler inverse_sqrt --warmup-updates "$WARMUP"
              --max-tokens "$MAX_TOKENS" --update-freq "$UPDATE_FREQ")

train() {  # train SAVE_DIR DATA_DIR UPDATES [MODEL ARGS...]: with the caller's ${common[@]}, then average
  local save=$1 data=$2 updates=$3; shift 3
  [ -f "$save/averaged.pt" ] && return 0  # finished (a rerun of fairseq-train would add an epoch's first update)
  fairseq-train "$data" "${common[@]}" --max-update "$updates" --save-dir "$save" --keep-last-epochs "$AVERAGE" \
    --disable-validation --save-interval-updates $(( updates / 10 > 0 ? updates / 10 : 1 )) \
    --keep-interval-updates "$AVERAGE" --seed "$SEED" --num-workers 0 --log-interval 20 "$@"
  xlgen-average-checkpoints --dir "$save" --last "$AVERAGE" --output "$save/averaged.pt"
}

synthetic_task() {  # synthetic_task TASK: WORK/benchmark of SIZE and its tiny XLM-R; sets TASK_DIR, PRETRAINED
  log "synthetic benchmark ($SIZE) and the tiny XLM-R (masked-LM pretrained from SIZE small on: examples/lib.sh)"
  xlgen-make-benchmark --out "$WORK/benchmark" --size "$SIZE"
  make_benchmark_fixtures "$WORK/pretrained" "$WORK/benchmark" "$SIZE"
  TASK_DIR=$WORK/benchmark/tasks/$1; PRETRAINED=$WORK/pretrained/xlmr.base
}
