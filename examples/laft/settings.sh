# Shared by examples/laft/run.sh and adversary.sh (sourced after WORK and SIZE are set): the
# training settings of SIZE, the data (benchmark, tiny mbart.cc25, binarized task and monolingual
# text, language components), fairseq-train with the recipe's flags, and the task data arguments.
# VALIDATION (default --disable-validation) and SEED (default 1) go to every fairseq-train; STAGE1_UPDATES
# (default per SIZE) sets LAFT's stage-1 updates.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib.sh"
TASK=${TASK:-summarization}; SRC=en_XX; TARGETS=${TARGETS:-de_DE,ru_RU,zh_CN}
TRANSLATE_TRAIN=${TRANSLATE_TRAIN-zh_CN}; SYSTEMS=${SYSTEMS:-laft full enc enc_top2 adapter tm_adv}
case $TASK in summarization) LENPEN=1.5; MAXLEN=60 ;; title) LENPEN=3; MAXLEN=30 ;;
  *) echo "error: TASK $TASK: choose summarization or title" >&2; exit 2 ;; esac
# updates of stage 1 and of every task finetuning; warmup; lr (paper: 1e-4 or 3e-5 for mbart-large,
# 10k warmup, linear decay; the tiny model needs a larger rate and fewer updates)
case $SIZE in
  tiny) STAGE1=60; UPDATES=120; WARMUP=20; LR=1e-3 ;;
  small) STAGE1=600; UPDATES=1500; WARMUP=150; LR=1e-3 ;;
  base) STAGE1=3000; UPDATES=6000; WARMUP=600; LR=5e-4 ;;
  *) echo "error: SIZE $SIZE: choose tiny, small or base" >&2; exit 2 ;;
esac
STAGE1=${STAGE1_UPDATES:-$STAGE1}
[[ $STAGE1 =~ ^[1-9][0-9]*$ ]] || { echo "error: STAGE1_UPDATES $STAGE1: give a positive number of updates" >&2; exit 2; }
BENCH=$WORK/benchmark; MODEL=$WORK/pretrained/mbart.cc25; DATA=$WORK/data/$TASK; MONO=$WORK/data/monolingual
RESULTS=$WORK/results; CKPT=$WORK/checkpoints; LANGS=("$SRC" ${TARGETS//,/ })
LAFT_LANGS=$(printf '%s\n' "${LANGS[@]}" | paste -sd,)
VALIDATION=("${VALIDATION[@]:---disable-validation}"); SEED=${SEED:-1}

prepare_data() {  # the benchmark, the tiny mbart.cc25, the binarized data and the language components
  log "synthetic benchmark ($SIZE) and the tiny mbart.cc25 (pretrained from SIZE small on)"
  xlgen-make-benchmark --out "$BENCH" --size "$SIZE"
  make_benchmark_fixtures "$WORK/pretrained" "$BENCH" "$SIZE"

  log "binarize the $TASK task and the monolingual text (stage 1, TM+adv) per language"
  for lang in "${LANGS[@]}"; do
    bash "$HERE/../../data_prep/prepare_monolingual_task.sh" "$BENCH/tasks/$TASK" "$lang" "$MODEL" "$DATA"
    bash "$HERE/../../data_prep/prepare_denoising.sh" "$BENCH/mono/$lang.txt" "$lang" "$MODEL" "$MONO"
  done

  log "language components c_L (k=6) of ${LANGS[*]} (§3.1 step 1)"
  [ -f "$WORK/components.pt" ] || xlgen-language-components --model-dir "$MODEL" --out "$WORK/components.pt" \
    --no-progress --text $(for lang in "${LANGS[@]}"; do echo "$lang=$BENCH/mono/$lang.txt"; done)
}

train() {  # NAME UPDATES ARGS...: fairseq-train into $CKPT/NAME (resumes; skipped when finished)
  local name=$1 updates=$2; shift 2
  local save=$CKPT/$name
  [ -f "$save/.done" ] && return 0
  log "train $name ($updates updates)"
  mkdir -p "$save"
  logged "$save/train.log" fairseq-train "$@" --user-dir "$USER_DIR" "${MBART_ARCH_FLAGS[@]}" \
    --optimizer adam --adam-betas '(0.9, 0.98)' --adam-eps 1e-6 --lr "$LR" \
    --lr-scheduler polynomial_decay --warmup-updates "$WARMUP" --total-num-update "$updates" --max-update "$updates" \
    --dropout 0.1 --attention-dropout 0.1 --max-tokens 2048 --save-dir "$save" --no-epoch-checkpoints \
    "${VALIDATION[@]}" --log-format json --log-interval 50 --seed "$SEED" --num-workers 0
  grep -o 'variant [^|]*parameters ([0-9.]*%)' "$save/train.log" | head -n 1 > "$save/trainable.txt" || true
  touch "$save/.done"
}

summarization() {  # TRAIN_LANGS: the task data (multi_source_summarization, budget = every instance)
  echo "$DATA" --task multi_source_summarization --langs "$MBART_LANGS" --train-langs "$1" --eval-lang "$1"
}


tm_adv_args() {  # TRAIN_LANG: the TM+adv baseline's data, model and criterion (monolingual batches of the other languages)
  # shellcheck disable=SC2046  # the data arguments
  echo $(summarization "$1") --task language_adversarial_summarization --adversarial-data "$MONO" \
    --adversarial-langs "$(printf '%s\n' "${LANGS[@]}" | grep -vx "$1" | paste -sd,)" --arch mbart_tm_adv_tiny \
    --finetune-from-model "$MODEL/model.pt" --criterion language_adversarial --label-smoothing 0.1 \
    --adversarial-source-lang "$1"
}
