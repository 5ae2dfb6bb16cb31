#!/usr/bin/env bash
# SGA (paper 003): frozen XLM-R + prefix prompts, CTC alignment, CTC denoiser, X→En with shared prompts.
#
#   examples/sga/run.sh WORK_DIR [SIZE]        synthetic benchmark (SIZE tiny|small|base), tiny XLM-R
#
# Trains SGA and SGA w/o denoising on TRAIN_PAIRS (default de_DE-en_XX,ru_RU-en_XX) with one
# shared prompt set, then decodes every pair of EVAL_PAIRS (default adds zh_CN-en_XX, never
# trained: zero-shot) and prints BLEU per system and pair (WORK_DIR/summary.tsv).
# Real models: PRETRAINED=xlmr.base (or xlmr.large) ARCH=xlmr_sga_base TEXT_ROOT=DIR (one
# SRC-TGT/ directory of {train,valid,test}.{SRC,TGT} per pair) and the paper's settings:
#   P=128 LR=7e-4 WARMUP=4000 UPDATES=40000 MAX_TOKENS=4096 UPDATE_FREQ=8 AVERAGE=5   (32k tokens/update on 1 GPU)
# Steps already done are skipped; interrupted training resumes from checkpoint_last.pt.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib.sh"
WORK=${1:?usage: run.sh WORK_DIR [SIZE]}; SIZE=${2:-tiny}
TRAIN_PAIRS=${TRAIN_PAIRS:-de_DE-en_XX,ru_RU-en_XX}; EVAL_PAIRS=${EVAL_PAIRS:-de_DE-en_XX,ru_RU-en_XX,zh_CN-en_XX}
if [ "$SIZE" = tiny ]; then defaults=(200 8 1e-2 20); else defaults=(3000 32 3e-3 200); fi
UPDATES=${UPDATES:-${defaults[0]}}; P=${P:-${defaults[1]}}; LR=${LR:-${defaults[2]}}; WARMUP=${WARMUP:-${defaults[3]}}
MAX_TOKENS=${MAX_TOKENS:-2048}; UPDATE_FREQ=${UPDATE_FREQ:-1}; AVERAGE=${AVERAGE:-3}; MAX_ITER=${MAX_ITER:-10}
ARCH=${ARCH:-xlmr_sga_tiny}

if [ -z "${TEXT_ROOT:-}" ]; then
  log "synthetic benchmark ($SIZE) and the tiny XLM-R (masked-LM pretrained from SIZE small on: examples/lib.sh)"
  xlgen-make-benchmark --out "$WORK/benchmark" --size "$SIZE"
  make_benchmark_fixtures "$WORK/pretrained" "$WORK/benchmark" "$SIZE"
  TEXT_ROOT=$WORK/benchmark/tasks/translation; PRETRAINED=$WORK/pretrained/xlmr.base
fi
DATA=$WORK/data
log "binarize every pair with the XLM-R SentencePiece model and dict.txt"
# shellcheck disable=SC2046
bash "$HERE/../../data_prep/prepare_sga.sh" "$TEXT_ROOT" "$PRETRAINED" "$DATA" \
  $(printf '%s\n' ${TRAIN_PAIRS//,/ } ${EVAL_PAIRS//,/ } | sort -u)

first=${TRAIN_PAIRS%%,*}
train() {  # train SAVE_DIR [MODEL ARGS...]
  local save=$1; shift
  [ -f "$save/averaged.pt" ] && return 0  # finished (a rerun of fairseq-train would add an epoch's first update)
  fairseq-train "$DATA" --user-dir "$USER_DIR" --task sga_translation --lang-pairs "$TRAIN_PAIRS" \
    --source-lang "${first%-*}" --target-lang "${first#*-}" --arch "$ARCH" --pretrained-xlmr-checkpoint "$PRETRAINED" \
    --prompt-length "$P" --criterion sga_ctc --optimizer adam --adam-betas '(0.9, 0.98)' --lr "$LR" \
    --lr-scheduler inverse_sqrt --warmup-updates "$WARMUP" --max-tokens "$MAX_TOKENS" --update-freq "$UPDATE_FREQ" \
    --max-update "$UPDATES" --save-dir "$save" --keep-last-epochs "$AVERAGE" --disable-validation \
    --save-interval-updates $(( UPDATES / 10 > 0 ? UPDATES / 10 : 1 )) --keep-interval-updates "$AVERAGE" \
    --seed 1 --num-workers 0 --log-interval 20 "$@"
  xlgen-average-checkpoints --dir "$save" --last "$AVERAGE" --output "$save/averaged.pt"
}
log "SGA: semantic encoding + CTC alignment + CTC denoising ($UPDATES updates)"
train "$WORK/sga"
log "SGA w/o denoising"
train "$WORK/sga_ctc_only" --no-denoising

printf 'system\tpair\tbleu\tmean_passes\n' > "$WORK/summary.tsv"
for system in sga sga_ctc_only; do
  iters=$MAX_ITER; [ "$system" = sga ] || iters=0  # w/o denoising: the alignment pass is the output
  for pair in ${EVAL_PAIRS//,/ }; do
    out=$WORK/$system/test.$pair.txt
    if [ ! -s "$out" ]; then
      fairseq-generate "$DATA" --user-dir "$USER_DIR" --task sga_translation \
        --source-lang "${pair%-*}" --target-lang "${pair#*-}" --path "$WORK/$system/averaged.pt" --gen-subset test \
        --iter-decode-max-iter "$iters" --print-step --max-tokens 8192 \
        --bpe sentencepiece --sentencepiece-model "$PRETRAINED/sentencepiece.bpe.model" > "$out.tmp"
      mv "$out.tmp" "$out"
    fi
    xlgen-score --hyp "$out" --ref "$TEXT_ROOT/$pair/test.${pair#*-}" --lang "${pair#*-}" --metrics bleu \
      --json "$WORK/$system/test.$pair.json" > /dev/null
    bleu=$(python -c "import json,sys; print(round(json.load(open(sys.argv[1]))['scores']['bleu'], 2))" "$WORK/$system/test.$pair.json")
    passes=$(grep '^I-' "$out" | awk '{s += $2 + 1} END {printf "%.2f", s / NR}')
    printf '%s\t%s\t%s\t%s\n' "$system" "$pair" "$bleu" "$passes" >> "$WORK/summary.tsv"
  done
done
column -t -s $'\t' "$WORK/summary.tsv"
