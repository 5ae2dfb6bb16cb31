#!/usr/bin/env bash
# LAFT (paper 001) and its five baselines on the synthetic benchmark, tiny mBART: language
# components -> stage 1 (text infilling on monolingual text) -> stage 2 (task finetuning on
# en_XX) -> fairseq-generate in the target languages -> ROUGE-L / SP-ROUGE-L and wrong-language
# rate; zero-shot (task data in en_XX only) and translate-train (the benchmark's gold
# target-language task data stand in for machine translation). See README.md here.
#
#   examples/laft/run.sh WORK_DIR [SIZE]      (SIZE: tiny | small | base; default small)
#
# TASK=summarization (default, length penalty 1.5) or TASK=title (length penalty 3);
# TARGETS (default de_DE,ru_RU,zh_CN) zero-shot languages; TRANSLATE_TRAIN (default zh_CN)
# languages of the translate-train setting ('' skips it); SYSTEMS (default all six).
# Finished steps are skipped, so a second run continues where the first stopped.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib.sh"
WORK=${1:?usage: run.sh WORK_DIR [SIZE]}; SIZE=${2:-small}
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
BENCH=$WORK/benchmark; MODEL=$WORK/pretrained/mbart.cc25; DATA=$WORK/data/$TASK; MONO=$WORK/data/monolingual
RESULTS=$WORK/results; CKPT=$WORK/checkpoints; LANGS=("$SRC" ${TARGETS//,/ })
LAFT_LANGS=$(printf '%s\n' "${LANGS[@]}" | paste -sd,)

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

train() {  # NAME UPDATES ARGS...: fairseq-train into $CKPT/NAME (resumes; skipped when finished)
  local name=$1 updates=$2; shift 2
  local save=$CKPT/$name
  [ -f "$save/.done" ] && return 0
  log "train $name ($updates updates)"
  mkdir -p "$save"
  fairseq-train "$@" --user-dir "$USER_DIR" "${MBART_ARCH_FLAGS[@]}" \
    --optimizer adam --adam-betas '(0.9, 0.98)' --adam-eps 1e-6 --lr "$LR" \
    --lr-scheduler polynomial_decay --warmup-updates "$WARMUP" --total-num-update "$updates" --max-update "$updates" \
    --dropout 0.1 --attention-dropout 0.1 --max-tokens 2048 --save-dir "$save" --no-epoch-checkpoints \
    --disable-validation --log-format json --log-interval 50 --seed 1 --num-workers 0 > "$save/train.log" 2>&1 \
    || { tail -n 20 "$save/train.log" >&2; echo "error: fairseq-train failed, see $save/train.log" >&2; exit 1; }
  grep -o 'variant [^|]*parameters ([0-9.]*%)' "$save/train.log" | head -n 1 > "$save/trainable.txt" || true
  touch "$save/.done"
}

summarization() {  # TRAIN_LANGS: the task data (multi_source_summarization, budget = every instance)
  echo "$DATA" --task multi_source_summarization --langs "$MBART_LANGS" --train-langs "$1" --eval-lang "$1"
}

finetune() {  # SETTING TRAIN_LANG: the six systems on TRAIN_LANG's task data
  local setting=$1 lang=$2 system
  for system in $SYSTEMS; do
    local name=$setting/$system common=(--criterion label_smoothed_cross_entropy --label-smoothing 0.1)
    case $system in
      laft)
        [ "$setting" = zero-shot ] && train laft-stage1 "$STAGE1" "$MONO" --task multilingual_denoising \
          --langs "$LAFT_LANGS" --add-lang-token --arch mbart_laft_tiny --laft-stage 1 --laft-langs "$LAFT_LANGS" \
          --language-components "$WORK/components.pt" --finetune-from-model "$MODEL/model.pt" \
          --mask 0.35 --mask-length span-poisson --poisson-lambda 3.5 --replace-length 1 --mask-random 0.1 \
          --permute-sentences 0 --rotate 0 --insert 0 --no-whole-word-mask-langs zh_CN \
          --sample-break-mode complete --tokens-per-sample 256 --multilang-sampling-alpha 0.7 "${common[@]}"
        # shellcheck disable=SC2046  # the data arguments
        train "$name" "$UPDATES" $(summarization "$lang") --arch mbart_laft_tiny --laft-stage 2 \
          --laft-langs "$LAFT_LANGS" --finetune-from-model "$CKPT/laft-stage1/checkpoint_last.pt" "${common[@]}" ;;
      tm_adv)
        # shellcheck disable=SC2046
        train "$name" "$UPDATES" $(summarization "$lang") --task language_adversarial_summarization \
          --adversarial-data "$MONO" --adversarial-langs "$(printf '%s\n' "${LANGS[@]}" | grep -vx "$lang" | paste -sd,)" \
          --arch mbart_tm_adv_tiny \
          --finetune-from-model "$MODEL/model.pt" --criterion language_adversarial --label-smoothing 0.1 \
          --adversarial-source-lang "$lang" ;;
      *)
        local extra=(); [ "$system" = adapter ] && extra=(--adapter-dim 32)  # d/2, as 512 for mbart-large
        # shellcheck disable=SC2046
        train "$name" "$UPDATES" $(summarization "$lang") --arch mbart_laft_tiny --laft-variant "$system" \
          --finetune-from-model "$MODEL/model.pt" "${extra[@]}" "${common[@]}" ;;
    esac
  done
}

generate() {  # SETTING SYSTEM LANG: decode LANG's test split (skipped when done), score it
  local out=$RESULTS/$1/$2/test.$3
  mkdir -p "$(dirname "$out")"
  if [ ! -s "$out.txt" ]; then
    fairseq-generate "$DATA" --user-dir "$USER_DIR" --task multi_source_summarization --langs "$MBART_LANGS" \
      --train-langs "$3" --eval-lang "$3" --path "$CKPT/$1/$2/checkpoint_last.pt" --gen-subset test \
      --beam 5 --lenpen "$LENPEN" --max-len-b "$MAXLEN" --batch-size 64 --remove-bpe sentencepiece \
      > "$out.tmp" 2> "$out.log" || { echo "error: fairseq-generate failed, see $out.log" >&2; exit 1; }
    mv "$out.tmp" "$out.txt"
  fi
  [ -f "$out.scores.json" ] || xlgen-score --hyp "$out.txt" --ref "$BENCH/tasks/$TASK/$3/test.target" --lang "$3" \
    --metrics rouge,sp_rouge --spm "$MODEL/sentence.bpe.model" --json "$out.scores.json" > /dev/null
  if [ -f "$RESULTS/ngram-lid.json" ]; then lid=(--ngram-model "$RESULTS/ngram-lid.json")
  else lid=(--save-ngram-model "$RESULTS/ngram-lid.json")
    for lang in "${LANGS[@]}"; do lid+=(--train-ngram "$lang=$BENCH/mono/$lang.txt"); done; fi
  [ -f "$out.langid.json" ] || xlgen-langid --hyp "$out.txt" --src-lang $SRC --tgt-lang "$3" --backend ngram \
    "${lid[@]}" --json "$out.langid.json" > /dev/null
}

finetune zero-shot $SRC
for system in $SYSTEMS; do
  log "zero-shot: generate $TARGETS with $system"
  for lang in ${TARGETS//,/ }; do generate zero-shot "$system" "$lang"; done
done
for lang in ${TRANSLATE_TRAIN//,/ }; do
  finetune "translate-train-$lang" "$lang"
  for system in $SYSTEMS; do generate "translate-train-$lang" "$system" "$lang"; done
done

log "t-SNE of encoder outputs / after removal / after fusion (Figure 2): $RESULTS/figure2.png"
[ -f "$RESULTS/figure2.png" ] || xlgen-laft-tsne --checkpoint "$CKPT/zero-shot/laft/checkpoint_last.pt" \
  --spm "$MODEL/sentence.bpe.model" --out "$RESULTS/figure2.png" --max-sentences 200 \
  --text $(for lang in "${LANGS[@]}"; do echo "$lang=$BENCH/tasks/$TASK/$lang/test.source"; done)

python "$HERE/summary.py" "$WORK"
