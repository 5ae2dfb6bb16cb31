#!/usr/bin/env bash
# CSR on cross-lingual NLI (paper 004 §IV, Table V): stage 1 code-switching restore, stage 2 classification
# finetuning on en_XX only, zero-shot accuracy in every other language, against the mBART finetune of the same
# update count; with the induced (unsupervised) lexicons and, where a gold lexicon is known, with it (an upper
# bound on what the lexicon can give).
#
#   examples/csr/nli.sh WORK_DIR [SIZE]        synthetic benchmark's tasks/nli (SIZE tiny|small), tiny mBART
#
# Systems (WORK_DIR/<system>/): baseline (the mBART finetune, STAGE1_UPDATES + STAGE2_UPDATES updates), csr
# (stage 1 with the induced lexicons, then STAGE2_UPDATES), csr_gold (stage 1 with the gold lexicons; synthetic
# benchmark or GOLD_DIR). Stage 1 restores both sides of each pair en_XX-X (--lang-pairs): the en_XX task text
# (premises and hypotheses) switched into X, and X's monolingual text switched into en_XX, one lexicon per pair,
# in word units (zh_CN cut by SEGMENTER). Stage 2: fairseq's sentence_prediction with BART's classification
# head (task sentence_prediction_from_pretrained_bart), the checkpoint best on en_XX's valid split (no
# target-language data selects it). Output: WORK_DIR/summary.tsv, accuracy % per system and language and the
# mean over the zero-shot languages (Table V's layout).
#
# Real data (XNLI on mbart.cc25): TASK_DIR (LANG/{train,valid,test}.{premise,hypothesis,label}, cut from the
# TSV files as examples/understanding/README.md shows), MONO_DIR (LANG.txt: raw monolingual text of each
# language), PRETRAINED=mbart.cc25 ARCH=mbart_large, LANGS (default en_XX,de_DE,ru_RU,zh_CN; the first is
# trained), GOLD_DIR (optional: en_XX-X.gold.tsv word pairs, e.g. MUSE's) and the paper's settings:
#   BATCH=128 LR=5e-6 STAGE2_UPDATES=30700 (10 epochs of MultiNLI) SEGMENTER=jieba W2V_ARGS="--workers 8"
# SEED=N sets fairseq's --seed of every training (default 1). Steps already done are skipped.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib.sh"
WORK=${1:?usage: nli.sh WORK_DIR [SIZE]}; SIZE=${2:-tiny}
LANGS=${LANGS:-en_XX,de_DE,ru_RU,zh_CN}; ARCH=${ARCH:-mbart_tiny}; SEED=${SEED:-1}
read -r -a langs <<< "${LANGS//,/ }"; SRC=${langs[0]}; targets=("${langs[@]:1}")
if [ "$SIZE" = tiny ]; then defaults=(20 40 10); else defaults=(500 2500 100); fi
STAGE1_UPDATES=${STAGE1_UPDATES:-${defaults[0]}}; STAGE2_UPDATES=${STAGE2_UPDATES:-${defaults[1]}}
WARMUP=${WARMUP:-${defaults[2]}}; STAGE1_LR=${STAGE1_LR:-1e-3}; LR=${LR:-5e-4}; BATCH=${BATCH:-32}
MAX_TOKENS=${MAX_TOKENS:-2048}

if [ -z "${TASK_DIR:-}" ]; then
  log "synthetic benchmark ($SIZE) and tiny pretrained models"
  xlgen-make-benchmark --out "$WORK/benchmark" --size "$SIZE"
  make_benchmark_fixtures "$WORK/pretrained" "$WORK/benchmark" "$SIZE"
  TASK_DIR=$WORK/benchmark/tasks/nli; MONO_DIR=$WORK/benchmark/mono; PRETRAINED=$WORK/pretrained/mbart.cc25
  GOLD_DIR=$WORK/benchmark/lexicon; W2V_ARGS=${W2V_ARGS:---dim 100 --epochs 20 --min-count 3}
  SEGMENTER=${SEGMENTER:-jieba-dict:$MONO_DIR/zh_CN.words.txt}  # the gold segmentation of the zh_CN text
fi
: "${MONO_DIR:?with TASK_DIR, set MONO_DIR (LANG.txt of monolingual text per language)}"
: "${PRETRAINED:?with TASK_DIR, set PRETRAINED to an mbart.cc25-style directory}"
SEGMENTER=${SEGMENTER:-jieba}; SPM_MODEL=$PRETRAINED/sentence.bpe.model
export W2V_ARGS SEGMENTER LEXICON_UNIT=words  # code_switch_restore takes one unit for all its pairs
pairs=$(printf "$SRC-%s," "${targets[@]}"); pairs=${pairs%,}
for lang in "${targets[@]}"; do  # the gold lexicons, checked before any work
  gold=${GOLD_DIR:+$GOLD_DIR/$SRC-$lang.gold.tsv}
  [ -z "$gold" ] || [ -s "$gold" ] || {
    echo "error: $gold: missing or empty (GOLD_DIR needs $SRC-TGT.gold.tsv word pairs per target language)" >&2; exit 2; }
  [ -z "$gold" ] || awk -F'\t' 'NF != 2 || $1 == "" || $2 == "" {
    printf "error: %s:%d: expected source<TAB>target, got \"%s\"\n", FILENAME, FNR, $0 > "/dev/stderr"; exit 2}' "$gold"
done

log "binarize the NLI pairs with mBART's units ($LANGS)"
bash "$HERE/../../data_prep/prepare_sentence_pairs.sh" "$TASK_DIR" premise hypothesis "$PRETRAINED" \
  "$WORK/data/nli" "${langs[@]}"
# BART's sentence-pair reading (fairseq's GLUE recipe), for training and for scoring alike
classification=(--task sentence_prediction_from_pretrained_bart
                --num-classes "$(wc -l < "$WORK/data/nli/label/dict.txt")" --init-token 0 --separator-token 2 --add-prev-output-tokens --max-positions 256)

log "stage 1 text: $SRC task text on one side, each target's monolingual text on the other"
for lang in "${langs[@]}"; do
  xlgen-spm-encode --model "$SPM_MODEL" --no-progress --inputs "$MONO_DIR/$lang.txt" \
    --outputs "$WORK/data/mono-spm/train.$lang"
done
if [ ! -f "$WORK/data/csr/.done" ]; then
  for lang in "${targets[@]}"; do
    dir=$WORK/text/csr/$SRC-$lang; mkdir -p "$dir"
    cat "$TASK_DIR/$SRC/train.premise" "$TASK_DIR/$SRC/train.hypothesis" > "$dir/all.$SRC"
    head -n 100 "$dir/all.$SRC" > "$dir/valid.$SRC"; tail -n +101 "$dir/all.$SRC" > "$dir/train.$SRC"
    head -n 100 "$MONO_DIR/$lang.txt" > "$dir/valid.$lang"; tail -n +101 "$MONO_DIR/$lang.txt" > "$dir/train.$lang"
    rm "$dir/all.$SRC"
  done
  # shellcheck disable=SC2046
  bash "$HERE/../../data_prep/prepare_translation_pairs.sh" "$WORK/text/csr" "$PRETRAINED" "$WORK/data/csr" \
    ${pairs//,/ }
  touch "$WORK/data/csr/.done"
fi

lexicons=(induced)
for lang in "${targets[@]}"; do
  log "induced lexicon $SRC-$lang: word2vec -> VecMap -> top-3 CSLS, words"
  bash "$HERE/../../data_prep/build_lexicon.sh" "$WORK/data/mono-spm" "$SRC" "$lang" "$PRETRAINED" \
    "$WORK/lexicons/induced/$SRC-$lang"
done
if [ -n "${GOLD_DIR:-}" ]; then
  lexicons+=(gold)
  for lang in "${targets[@]}"; do  # word pairs in both directions, in xlgen-induce-lexicon's layout
    out=$WORK/lexicons/gold/$SRC-$lang; gold=$GOLD_DIR/$SRC-$lang.gold.tsv; mkdir -p "$out"
    awk -F'\t' -v src2tgt="$out/lexicon.src2tgt.tsv.tmp" -v tgt2src="$out/lexicon.tgt2src.tsv.tmp" \
      '{print $1 "\t" $2 "\t1.0\t1" > src2tgt; print $2 "\t" $1 "\t1.0\t1" > tgt2src}' "$gold"
    mv "$out/lexicon.src2tgt.tsv.tmp" "$out/lexicon.src2tgt.tsv"; mv "$out/lexicon.tgt2src.tsv.tmp" "$out/lexicon.tgt2src.tsv"
    printf '{"tool": "examples/csr/nli.sh", "gold": "%s", "lexicon_unit": "words"}\n' "$gold" > "$out/lexicon.json"
  done
fi

stage1() {  # stage1 LEXICON: code-switching restore of every pair with the lexicons of LEXICON
  local save=$WORK/stage1_$1
  [ -f "$save/checkpoint_last.pt" ] && grep -q "done training" "$save/train.log" 2>/dev/null && return 0
  mkdir -p "$save"
  logged "$save/train.log" fairseq-train "$WORK/data/csr" --user-dir "$USER_DIR" --task code_switch_restore \
    --langs "$MBART_LANGS" --lang-pairs "$pairs" --source-lang "$SRC" --target-lang "${targets[0]}" \
    --lexicon-prefix "$WORK/lexicons/$1/{src}-{tgt}/lexicon" --lexicon-unit words --word-segmenter "$SEGMENTER" \
    --sentencepiece-model "$SPM_MODEL" --arch "$ARCH" "${MBART_ARCH_FLAGS[@]}" \
    --criterion label_smoothed_cross_entropy --label-smoothing 0.2 --optimizer adam --adam-betas '(0.9, 0.98)' \
    --lr "$STAGE1_LR" --lr-scheduler inverse_sqrt --warmup-updates "$WARMUP" --dropout 0.1 --attention-dropout 0.1 \
    --max-tokens "$MAX_TOKENS" --finetune-from-model "$PRETRAINED/model.pt" --max-update "$STAGE1_UPDATES" \
    --save-dir "$save" --disable-validation --no-epoch-checkpoints --seed "$SEED" --num-workers 0 --log-interval 50
}
classify() {  # classify SYSTEM INIT UPDATES: en_XX classification finetune, the checkpoint best on en_XX valid
  local save=$WORK/$1 every=$(( $3 / 10 > 0 ? $3 / 10 : 1 ))
  [ -f "$save/checkpoint_best.pt" ] && grep -q "done training" "$save/train.log" 2>/dev/null && return 0
  mkdir -p "$save"
  logged "$save/train.log" fairseq-train "$WORK/data/nli" --user-dir "$USER_DIR" "${classification[@]}" \
    --arch "$ARCH" "${MBART_ARCH_FLAGS[@]}" --finetune-from-model "$2" --criterion sentence_prediction \
    --optimizer adam --adam-betas '(0.9, 0.98)' --lr "$LR" --lr-scheduler polynomial_decay \
    --warmup-updates "$WARMUP" --total-num-update "$3" --max-update "$3" --batch-size "$BATCH" \
    --dropout 0.1 --attention-dropout 0.1 --train-subset train --valid-subset "valid.$SRC" \
    --validate-interval-updates "$every" --save-interval-updates "$every" --keep-interval-updates 1 \
    --best-checkpoint-metric accuracy --maximize-best-checkpoint-metric --no-epoch-checkpoints \
    --save-dir "$save" --seed "$SEED" --num-workers 0 --log-interval 50
}

log "baseline: mBART finetuned on $SRC NLI, $(( STAGE1_UPDATES + STAGE2_UPDATES )) updates"
classify baseline "$PRETRAINED/model.pt" $(( STAGE1_UPDATES + STAGE2_UPDATES ))
systems=(baseline)
for lexicon in "${lexicons[@]}"; do
  system=csr; [ "$lexicon" = induced ] || system=csr_$lexicon
  log "$system: stage 1 code-switching restore with the $lexicon lexicons ($STAGE1_UPDATES updates)"
  stage1 "$lexicon"
  log "$system: stage 2 classification finetuning from stage 1 ($STAGE2_UPDATES updates)"
  classify "$system" "$WORK/stage1_$lexicon/checkpoint_last.pt" "$STAGE2_UPDATES"
  systems+=("$system")
done

log "accuracy on each language's test split (fairseq-validate)"
header=$(printf '\t%s' "${langs[@]}"); printf 'system%s\tzero_shot_mean\n' "$header" > "$WORK/summary.tsv.tmp"
for system in "${systems[@]}"; do
  row=$system
  for lang in "${langs[@]}"; do
    logged "$WORK/$system/test.$lang.log" fairseq-validate "$WORK/data/nli" --user-dir "$USER_DIR" \
      "${classification[@]}" --criterion sentence_prediction --path "$WORK/$system/checkpoint_best.pt" \
      --valid-subset "test.$lang" --batch-size 64 --num-workers 0
    accuracy=$(sed -n "s/.*valid on 'test\.$lang' subset |.*| accuracy \([0-9.]*\).*/\1/p" "$WORK/$system/test.$lang.log")
    [ -n "$accuracy" ] || { echo "error: no accuracy in $WORK/$system/test.$lang.log" >&2; exit 1; }
    row+=$'\t'$accuracy
  done
  # the mean over the zero-shot languages (every column after the first language's)
  awk -F'\t' '{s = 0; for (i = 3; i <= NF; i++) s += $i; printf "%s\t%.2f\n", $0, s / (NF - 2)}' <<< "$row" \
    >> "$WORK/summary.tsv.tmp"
done
mv "$WORK/summary.tsv.tmp" "$WORK/summary.tsv"
column -t -s $'\t' "$WORK/summary.tsv"
