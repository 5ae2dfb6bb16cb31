#!/usr/bin/env bash
# CSR two-stage finetuning (Zan et al., paper 004) end to end, with the mBART baseline.
#
#   examples/csr/run.sh WORK_DIR [SIZE]        synthetic benchmark (SIZE tiny|small|base), tiny mBART
#
# On the synthetic benchmark the tiny mBART comes from make_benchmark_fixtures (examples/lib.sh:
# the shipped pretrained fixtures at SIZE small, random init at tiny; FIXTURE_ARGS).
#
# Own data: TEXT_DIR (with {train,valid,test}.{SRC,TGT}), SRC, TGT, PRETRAINED (an unpacked
# mbart.cc25) and ARCH=mbart_large in the environment, e.g.
#   TEXT_DIR=data/iwslt SRC=en_XX TGT=vi_VN PRETRAINED=mbart.cc25 ARCH=mbart_large \
#   STAGE1_UPDATES=5000 STAGE2_UPDATES=25000 LR=3e-5 WARMUP=2500 DROPOUT=0.3 MAX_TOKENS=1024 \
#   examples/csr/run.sh work/csr-en-vi
# Lexicon (data_prep/build_lexicon.sh): LEXICON_UNIT (words when SRC or TGT is zh_CN, ja_XX or my_MM,
# else pieces), SEGMENTER for Chinese words (jieba; on the benchmark the gold segmentation,
# jieba-dict:TEXT_DIR/train.zh_CN.words), RESTARTS of the unsupervised mapping (5); stage 1 uses the
# lexicon's unit and the same segmenter.
# Zero-shot translation (paper 004 §IV-C, Table III: a YY->En model translates XX->En): ZERO_SHOT="ru_RU zh_CN"
# decodes and scores each XX-TGT pair of ZERO_SHOT_ROOT (one XX-TGT/ directory with test.{XX,TGT}; on the
# benchmark its tasks/translation) with both systems, e.g. SRC=de_DE TGT=en_XX ZERO_SHOT="ru_RU zh_CN".
# SEED=N sets fairseq's --seed of every training (default 1).
# Steps already done are skipped; interrupted training resumes from checkpoint_last.pt.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib.sh"
WORK=${1:?usage: run.sh WORK_DIR [SIZE]}; SIZE=${2:-tiny}
SRC=${SRC:-en_XX}; TGT=${TGT:-de_DE}; ARCH=${ARCH:-mbart_tiny}
if [ "$SIZE" = tiny ]; then defaults=(200 600 1e-3 100 0.1); else defaults=(500 2500 1e-3 250 0.1); fi
STAGE1_UPDATES=${STAGE1_UPDATES:-${defaults[0]}}; STAGE2_UPDATES=${STAGE2_UPDATES:-${defaults[1]}}
LR=${LR:-${defaults[2]}}; WARMUP=${WARMUP:-${defaults[3]}}; DROPOUT=${DROPOUT:-${defaults[4]}}
MAX_TOKENS=${MAX_TOKENS:-2048}; AVERAGE=${AVERAGE:-3}; SEED=${SEED:-1}; ZERO_SHOT=${ZERO_SHOT:-}

if [ -z "${TEXT_DIR:-}" ]; then
  log "synthetic benchmark ($SIZE) and tiny pretrained models"
  xlgen-make-benchmark --out "$WORK/benchmark" --size "$SIZE"
  make_benchmark_fixtures "$WORK/pretrained" "$WORK/benchmark" "$SIZE"
  TEXT_DIR=$WORK/benchmark/tasks/translation/$SRC-$TGT; PRETRAINED=$WORK/pretrained/mbart.cc25
  ZERO_SHOT_ROOT=${ZERO_SHOT_ROOT:-$WORK/benchmark/tasks/translation}
  W2V_ARGS=${W2V_ARGS:---dim 100 --epochs 20 --min-count 3}
  # the benchmark's gold word pairs: precision@1/@3 of the induced lexicon (words compared as text, so
  # multi-piece words count)
  LEX_ARGS="${LEX_ARGS:-} --gold $WORK/benchmark/lexicon/$SRC-$TGT.gold.tsv"
  # zh_CN words: cut as the benchmark's gold segmentation of the training text cuts them
  case " $SRC $TGT " in *" zh_CN "*) SEGMENTER=${SEGMENTER:-jieba-dict:$TEXT_DIR/train.zh_CN.words} ;; esac
fi
SEGMENTER=${SEGMENTER:-jieba}  # Chinese words of --lexicon-unit words (build_lexicon.sh and stage 1 alike)
SPM_MODEL=$PRETRAINED/sentence.bpe.model
[ -f "$SPM_MODEL" ] || SPM_MODEL=$PRETRAINED/sentencepiece.bpe.model
export W2V_ARGS LEX_ARGS SEGMENTER
DATA=$WORK/data; LEX=$WORK/lexicon

for f in "$TEXT_DIR/train.$SRC" "$TEXT_DIR/train.$TGT"; do
  [ -f "$f" ] || { echo "error: $f: missing (TEXT_DIR needs the training pairs; check SRC and TGT)" >&2; exit 2; }
done
zero_shot_pairs=()
for lang in ${ZERO_SHOT//,/ }; do
  [ "$lang" != "$SRC" ] && [ "$lang" != "$TGT" ] \
    || { echo "error: ZERO_SHOT=$ZERO_SHOT: $lang is a language of the trained pair $SRC-$TGT" >&2; exit 2; }
  zero_shot_pairs+=("$lang-$TGT")
done
[ ${#zero_shot_pairs[@]} -eq 0 ] || [ -n "${ZERO_SHOT_ROOT:-}" ] \
  || { echo "error: ZERO_SHOT=$ZERO_SHOT: set ZERO_SHOT_ROOT to a directory of XX-$TGT/ test pairs" >&2; exit 2; }
log "binarize with the pretrained SentencePiece model and dict.txt"
bash "$HERE/../../data_prep/prepare_translation.sh" "$TEXT_DIR" "$SRC" "$TGT" "$PRETRAINED" "$DATA"
if [ ${#zero_shot_pairs[@]} -gt 0 ]; then
  log "binarize the zero-shot pairs (${zero_shot_pairs[*]}), never trained on"
  bash "$HERE/../../data_prep/prepare_translation_pairs.sh" "$ZERO_SHOT_ROOT" "$PRETRAINED" "$WORK/zero_shot" \
    "${zero_shot_pairs[@]}"
fi
log "unsupervised lexicon: word2vec -> VecMap -> top-3 CSLS"
bash "$HERE/../../data_prep/build_lexicon.sh" "$DATA/spm" "$SRC" "$TGT" "$PRETRAINED" "$LEX"

common=(--user-dir "$USER_DIR" --langs "$MBART_LANGS" --source-lang "$SRC" --target-lang "$TGT"
        --arch "$ARCH" "${MBART_ARCH_FLAGS[@]}" --criterion label_smoothed_cross_entropy --label-smoothing 0.2
        --optimizer adam --adam-betas '(0.9, 0.98)' --lr "$LR" --lr-scheduler inverse_sqrt --warmup-updates "$WARMUP"
        --dropout "$DROPOUT" --attention-dropout 0.1 --max-tokens "$MAX_TOKENS" --seed "$SEED" --num-workers 0
        --log-interval 100 --no-epoch-checkpoints)
finetune() {  # finetune SAVE_DIR INIT_CHECKPOINT UPDATES [TASK ARGS...]
  local save=$1 init=$2 updates=$3; shift 3
  fairseq-train "$DATA" "${common[@]}" --finetune-from-model "$init" --max-update "$updates" --save-dir "$save" \
    --save-interval-updates $(( updates / 10 > 0 ? updates / 10 : 1 )) --keep-interval-updates "$AVERAGE" "$@"
}

UNIT=$(python -c "import json, sys; print(json.load(open(sys.argv[1]))['lexicon_unit'])" "$LEX/lexicon.json")
log "stage 1: code-switching restore ($STAGE1_UPDATES updates, $UNIT units)"
finetune "$WORK/stage1" "$PRETRAINED/model.pt" "$STAGE1_UPDATES" \
  --task code_switch_restore --lexicon-prefix "$LEX/lexicon" --lexicon-unit "$UNIT" \
  --word-segmenter "$SEGMENTER" --sentencepiece-model "$SPM_MODEL"
log "stage 2: standard finetuning from stage 1 ($STAGE2_UPDATES updates)"
finetune "$WORK/stage2" "$WORK/stage1/checkpoint_last.pt" "$STAGE2_UPDATES" --task translation_from_pretrained_bart
log "baseline: mBART finetuned directly, same total updates"
finetune "$WORK/baseline" "$PRETRAINED/model.pt" $(( STAGE1_UPDATES + STAGE2_UPDATES )) \
  --task translation_from_pretrained_bart

decode() {  # decode SYSTEM DATA_DIR SOURCE_LANG TEXT_DIR SUFFIX: beam 5 on test, then BLEU and chrF
  local system=$1 data=$2 src=$3 text=$4 suffix=$5
  local out=$WORK/$system/generate-test$suffix.txt
  if [ ! -s "$out" ]; then
    fairseq-generate "$data" --user-dir "$USER_DIR" \
      --task translation_from_pretrained_bart --langs "$MBART_LANGS" --source-lang "$src" --target-lang "$TGT" \
      --path "$WORK/$system/averaged.pt" --gen-subset test --beam 5 --batch-size 64 --remove-bpe sentencepiece \
      > "$out.tmp"
    mv "$out.tmp" "$out"
  fi
  xlgen-score --hyp "$out" --ref "$text/test.$TGT" --lang "$TGT" \
    --metrics bleu,chrf --train-ref "$TEXT_DIR/train.$TGT" --json "$WORK/$system/scores$suffix.json"
}
for system in baseline stage2; do
  log "$system: average the last $AVERAGE checkpoints, generate test (beam 5), score"
  [ -f "$WORK/$system/averaged.pt" ] || xlgen-average-checkpoints --dir "$WORK/$system" --last "$AVERAGE" \
    --output "$WORK/$system/averaged.pt"
  decode "$system" "$DATA" "$SRC" "$TEXT_DIR" ""
  for pair in "${zero_shot_pairs[@]}"; do
    decode "$system" "$WORK/zero_shot" "${pair%-*}" "$ZERO_SHOT_ROOT/$pair" ".$pair"
  done
done

log "cross-lingual representation distance (Eq. 4, Table VI) on the test set"
xlgen-xlrs distance --models "$PRETRAINED" "$WORK/baseline/averaged.pt" "$WORK/stage2/averaged.pt" \
  --mono-prefix "$DATA/spm/test" --langs "$SRC,$TGT" --data "$DATA" --no-progress --out "$WORK/distance.json"
python "$HERE/summary.py" "$WORK"
