#!/usr/bin/env bash
# Binarize one language of a monolingual seq2seq task (summarization, title generation, ...)
# for the multi_source_summarization task (paper 002 §6), with a pretrained model's units.
#
#   data_prep/prepare_monolingual_task.sh TASK_DIR LANG MODEL_DIR OUT_DIR
#
# TASK_DIR/LANG holds {train,valid,test}.{source,target} (one document / label per line;
# missing splits are skipped, at least one is needed: evaluation-only languages have no train).
# MODEL_DIR is an mbart.cc25-style directory (dict.txt + sentence.bpe.model) or an xlmr.base-style
# one (dict.txt + sentencepiece.bpe.model: data for sga_translation). Writes
# OUT_DIR/dict.txt (the model's dictionary, shared by all languages), OUT_DIR/LANG/spm/
# (SentencePiece pieces) and OUT_DIR/LANG/{split}.source-target.{source,target}.{bin,idx}.
# Run once per language with the same OUT_DIR. A finished language leaves OUT_DIR/LANG/.done.
set -euo pipefail
[ $# -eq 4 ] || { sed -n '2,13p' "$0" >&2; exit 2; }
TASK=$1; LANG_CODE=$2; MODEL=$3; OUT=$4

SPM=$MODEL/sentence.bpe.model
[ -f "$SPM" ] || SPM=$MODEL/sentencepiece.bpe.model  # xlmr.base / xlmr.large
for f in "$MODEL/dict.txt" "$SPM"; do
  [ -f "$f" ] || { echo "error: $f: missing (MODEL_DIR must be an mbart.cc25 or xlmr.base-style directory)" >&2; exit 2; }
done
splits=()
for split in train valid test; do
  [ -f "$TASK/$LANG_CODE/$split.source" ] || continue
  [ -f "$TASK/$LANG_CODE/$split.target" ] || {
    echo "error: $TASK/$LANG_CODE/$split.target: missing (every $split.source needs its $split.target)" >&2; exit 2; }
  splits+=("$split")
done
[ ${#splits[@]} -gt 0 ] || {
  echo "error: $TASK/$LANG_CODE: no {train,valid,test}.source files (check TASK_DIR and LANG)" >&2; exit 2; }
mkdir -p "$OUT"
if [ -f "$OUT/dict.txt" ]; then
  cmp -s "$MODEL/dict.txt" "$OUT/dict.txt" || {
    echo "error: $OUT/dict.txt differs from $MODEL/dict.txt: OUT_DIR was prepared with another model; use a new OUT_DIR" >&2
    exit 2; }
else
  cp "$MODEL/dict.txt" "$OUT/dict.txt.tmp" && mv "$OUT/dict.txt.tmp" "$OUT/dict.txt"
fi
DEST=$OUT/$LANG_CODE
[ -f "$DEST/.done" ] && { echo "$DEST: already prepared"; exit 0; }

mkdir -p "$DEST/spm"
inputs=(); outputs=(); prefs=()
for split in "${splits[@]}"; do
  for side in source target; do
    inputs+=("$TASK/$LANG_CODE/$split.$side"); outputs+=("$DEST/spm/$split.$side")
  done
  prefs+=("--${split}pref" "$DEST/spm/$split")
done
LOG=$DEST/prepare.log
{ xlgen-spm-encode --model "$SPM" --inputs "${inputs[@]}" --outputs "${outputs[@]}" --no-progress &&
  fairseq-preprocess --source-lang source --target-lang target "${prefs[@]}" --destdir "$DEST" \
    --srcdict "$MODEL/dict.txt" --tgtdict "$MODEL/dict.txt" --workers "${WORKERS:-1}"; } > "$LOG" 2>&1 \
  || { tail -n 20 "$LOG" >&2; echo "error: binarizing $LANG_CODE failed, see $LOG" >&2; exit 1; }
touch "$DEST/.done"
echo "$DEST: ${splits[*]} binarized ($(grep -o '[0-9.]*% replaced' "$LOG" | sort -g | tail -n 1) by <unk> at most)"
