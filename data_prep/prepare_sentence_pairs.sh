#!/usr/bin/env bash
# Binarize a sentence-pair classification task (NLI, paraphrase identification) for fairseq's
# sentence_prediction layout, with a pretrained model's units: zero-shot training in the first language,
# evaluation in all.
#
#   data_prep/prepare_sentence_pairs.sh TASK_DIR FIRST SECOND MODEL_DIR OUT_DIR LANG [LANG ...]
#
# TASK_DIR/LANG holds {train,valid,test}.{FIRST,SECOND,label}, one example per line (the synthetic
# benchmark's tasks/nli: premise hypothesis; tasks/paws: sentence1 sentence2). The first LANG needs train;
# every LANG needs valid and test. MODEL_DIR: mbart.cc25-style (dict.txt + sentence.bpe.model; an
# xlmr.base-style one is accepted, for fairseq's sentence_prediction, but untested). Writes
# OUT_DIR/{input0,input1,label}/{train,valid.LANG,test.LANG}.{bin,idx} and their dict.txt (input: the
# model's dict.txt; label: the first language's training labels, sorted). Train with --train-subset train
# --valid-subset valid.LANG; fairseq-validate --valid-subset test.LANG scores a language. Real XNLI /
# PAWS-X TSV files: cut their columns into these files first (examples/understanding/README.md).
# A finished run leaves OUT_DIR/.done.
set -euo pipefail
[ $# -ge 6 ] || { sed -n '2,17p' "$0" >&2; exit 2; }
TASK=$1; FIRST=$2; SECOND=$3; MODEL=$4; OUT=$5; shift 5; LANGS=("$@")

SPM=$MODEL/sentence.bpe.model
[ -f "$SPM" ] || SPM=$MODEL/sentencepiece.bpe.model  # xlmr.base / xlmr.large
for f in "$MODEL/dict.txt" "$SPM"; do
  [ -f "$f" ] || { echo "error: $f: missing (MODEL_DIR must be an mbart.cc25 or xlmr.base-style directory)" >&2; exit 2; }
done
[ -f "$OUT/.done" ] && { echo "$OUT: already prepared"; exit 0; }
for lang in "${LANGS[@]}"; do
  splits=(valid test); [ "$lang" = "${LANGS[0]}" ] && splits=(train valid test)
  for split in "${splits[@]}"; do
    counts=()
    for field in "$FIRST" "$SECOND" label; do
      f=$TASK/$lang/$split.$field
      [ -s "$f" ] || { echo "error: $f: missing or empty (check TASK_DIR, the field names and LANG)" >&2; exit 2; }
      counts+=("$(wc -l < "$f")")
    done
    [ "${counts[0]}" = "${counts[1]}" ] && [ "${counts[0]}" = "${counts[2]}" ] || {
      echo "error: $TASK/$lang/$split.{$FIRST,$SECOND,label}: ${counts[*]} lines; the three files must align" >&2
      exit 2; }
  done
done

WORK=$OUT.partial
rm -rf "$WORK"; mkdir -p "$WORK/spm" "$WORK/label"
inputs=(); outputs=()
for lang in "${LANGS[@]}"; do
  for split in train valid test; do
    [ -f "$TASK/$lang/$split.$FIRST" ] || continue
    [ "$split" = train ] && [ "$lang" != "${LANGS[0]}" ] && continue
    inputs+=("$TASK/$lang/$split.$FIRST" "$TASK/$lang/$split.$SECOND")
    outputs+=("$WORK/spm/$split.$lang.input0" "$WORK/spm/$split.$lang.input1")
    cp "$TASK/$lang/$split.label" "$WORK/spm/$split.$lang.label"
  done
done
sort -u "$TASK/${LANGS[0]}/train.label" | awk '{print $0 " 1"}' > "$WORK/label/dict.txt"
LOG=$WORK/prepare.log
binarize() {  # FIELD DICT: train, valid and test of every language, then named SPLIT.LANG
  local valid test
  valid=$(printf "$WORK/spm/valid.%s.$1," "${LANGS[@]}"); test=$(printf "$WORK/spm/test.%s.$1," "${LANGS[@]}")
  fairseq-preprocess --only-source --srcdict "$2" --trainpref "$WORK/spm/train.${LANGS[0]}.$1" \
    --validpref "${valid%,}" --testpref "${test%,}" --destdir "$WORK/$1" --workers "${WORKERS:-1}"
  for i in "${!LANGS[@]}"; do
    local n=$i; [ "$i" = 0 ] && n=
    for split in valid test; do
      for ext in bin idx; do mv "$WORK/$1/$split$n.$ext" "$WORK/$1/$split.${LANGS[i]}.$ext"; done
    done
  done
}
{ xlgen-spm-encode --model "$SPM" --inputs "${inputs[@]}" --outputs "${outputs[@]}" --no-progress &&
  binarize input0 "$MODEL/dict.txt" && binarize input1 "$MODEL/dict.txt" &&
  binarize label "$WORK/label/dict.txt"; } > "$LOG" 2>&1 \
  || { tail -n 20 "$LOG" >&2; echo "error: binarizing $TASK failed, see $LOG" >&2; exit 1; }
rm -rf "$OUT"; mv "$WORK" "$OUT"; touch "$OUT/.done"
echo "$OUT: ${LANGS[*]} binarized; labels: $(cut -d' ' -f1 "$OUT/label/dict.txt" | paste -sd,)"
