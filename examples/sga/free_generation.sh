#!/usr/bin/env bash
# SGA for free generation (paper 003 §4.3 (b), Tables 3-4): Mask-Predict alignment + CTC denoiser on a
# monolingual task (question/title generation, summarization), and Table 4's speed/quality trade-off.
#
#   examples/sga/free_generation.sh WORK_DIR [SIZE]     synthetic benchmark's title task, tiny XLM-R
#
# Trains one SGA model (--alignment mask_predict) on LANG (default en_XX) with one shared prompt set,
# then decodes the test split of every EVAL_LANGS language (default adds de_DE, ru_RU, zh_CN: zero-shot)
# with ITERATIONS Mask-Predict iterations (default "2 4 8"), each without the denoiser
# (--iter-decode-max-iter 0) and with it (up to MAX_ITER passes, stopping at the fixed point), and
# prints ROUGE-L, METEOR (exact + stem), the mean passes and ms per sentence (WORK_DIR/tradeoff.tsv).
# Real models: PRETRAINED=xlmr.base ARCH=xlmr_sga_base TASK_ROOT=DIR (LANG/{train,valid,test}.{source,target})
# and the paper's settings (P=128 LR=7e-4 WARMUP=4000 UPDATES=40000 MAX_TOKENS=4096 UPDATE_FREQ=8 AVERAGE=5).
# Steps already done are skipped; interrupted training resumes from checkpoint_last.pt.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${1:?usage: free_generation.sh WORK_DIR [SIZE]}; SIZE=${2:-tiny}
source "$HERE/settings.sh"
LANG_CODE=${LANG_CODE:-en_XX}; EVAL_LANGS=${EVAL_LANGS:-en_XX,de_DE,ru_RU,zh_CN}; ITERATIONS=${ITERATIONS:-2 4 8}
MAX_LENGTH=${MAX_LENGTH:-64}

if [ -z "${TASK_ROOT:-}" ]; then synthetic_task title; TASK_ROOT=$TASK_DIR; fi
: "${PRETRAINED:?with TASK_ROOT, set PRETRAINED to an xlmr.base-style directory}"
DATA=$WORK/data
log "binarize each language with the XLM-R SentencePiece model and dict.txt"
for lang in $(printf '%s\n' "$LANG_CODE" ${EVAL_LANGS//,/ } | sort -u); do
  [ -f "$DATA/$lang/.done" ] || bash "$HERE/../../data_prep/prepare_monolingual_task.sh" "$TASK_ROOT" "$lang" \
    "$PRETRAINED" "$DATA"
done

SAVE=$WORK/sga_mask_predict
common=(--user-dir "$USER_DIR" --task sga_translation --source-lang "$LANG_CODE" --target-lang "$LANG_CODE"
        --pretrained-xlmr-checkpoint "$PRETRAINED" "${optimization[@]}")
log "SGA, Mask-Predict alignment + CTC denoiser, on $LANG_CODE ($UPDATES updates)"
train "$SAVE" "$DATA" "$UPDATES" --arch "$ARCH" --alignment mask_predict --max-target-length "$MAX_LENGTH" \
  --prompt-length "$P" --criterion sga_ctc --label-smoothing 0.1 --lr "$LR"

log "decode: Mask-Predict iterations {$ITERATIONS} x {no denoiser, denoiser to the fixed point}"
printf 'lang\titerations\tdenoiser\trouge_l\tmeteor_exact_stem\tdenoising_passes\tms_per_sentence\n' > "$WORK/tradeoff.tsv.tmp"
for lang in ${EVAL_LANGS//,/ }; do
  for k in $ITERATIONS; do
    for denoiser in no yes; do
      out=$SAVE/test.$lang.mp$k.$denoiser.txt
      if [ ! -s "$out" ]; then
        fairseq-generate "$DATA" --user-dir "$USER_DIR" --task sga_translation --source-lang "$lang" \
          --target-lang "$lang" --path "$SAVE/averaged.pt" --gen-subset test --batch-size 64 --print-step \
          --model-overrides "{'mask_predict_iterations': $k}" \
          --iter-decode-max-iter "$([ "$denoiser" = yes ] && echo "$MAX_ITER" || echo 0)" \
          --bpe sentencepiece --sentencepiece-model "$PRETRAINED/sentencepiece.bpe.model" > "$out.tmp" 2> "$out.log" \
          || { tail -n 3 "$out.log" >&2; exit 1; }
        mv "$out.tmp" "$out"
      fi
      xlgen-score --hyp "$out" --ref "$TASK_ROOT/$lang/test.target" --lang "$lang" \
        --metrics rouge,meteor_exact_stem --json "$out.json" > /dev/null
      scores=$(python -c "import json,sys; s=json.load(open(sys.argv[1]))['scores']
print(f\"{s['rougeL']:.2f}\t{s['meteor_exact_stem']:.2f}\")" "$out.json")
      # step 0 runs the Mask-Predict iterations; --print-step counts the denoising passes after it
      passes=$({ grep '^I-' "$out" || true; } | awk '{s += $2} END {if (NR) printf "%.2f", s / NR; else print "-"}')
      ms=$(sed -n 's/.*Translated \([0-9,]*\) sentences ([0-9,]* tokens) in \([0-9.]*\)s.*/\1 \2/p' "$out.log" \
           | awk '{gsub(",", "", $1); printf "%.1f", 1000 * $2 / $1}')
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$lang" "$k" "$denoiser" "$scores" "$passes" "$ms" >> "$WORK/tradeoff.tsv.tmp"
    done
  done
done
mv "$WORK/tradeoff.tsv.tmp" "$WORK/tradeoff.tsv"
column -t -s $'\t' "$WORK/tradeoff.tsv"
