#!/usr/bin/env bash
# Binarize monolingual text of one language for fairseq's multilingual_denoising task (mBART's
# text-infilling objective; LAFT stage 1, paper 001 §3.3), with a pretrained model's units.
#
#   data_prep/prepare_denoising.sh TEXT LANG MODEL_DIR OUT_DIR [VALID_LINES]
#
# TEXT: one sentence or short document per line. MODEL_DIR: an mbart.cc25-style directory.
# Writes OUT_DIR/LANG/{train,valid}.{bin,idx} (the last VALID_LINES lines, default 100, are
# the valid split) and OUT_DIR/dict.txt = the model's dict.txt plus the 25 cc25 language
# tokens in pretraining order, so that --langs may list only the languages present while
# the embedding rows stay those of the 25-language model. Run once per language, same OUT_DIR.
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
TEXT=$1; LANG_CODE=$2; MODEL=$3; OUT=$4; VALID=${5:-100}
SPM=$MODEL/sentence.bpe.model
for f in "$MODEL/dict.txt" "$SPM"; do
  [ -f "$f" ] || { echo "error: $f: missing (MODEL_DIR must be an mbart.cc25-style directory)" >&2; exit 2; }
done
[ -s "$TEXT" ] || { echo "error: $TEXT: missing or empty (monolingual text of $LANG_CODE)" >&2; exit 2; }
CC25=$(python -c "from fairseq_xlgen.pretrained import MBART_CC25_LANGS as L; print(' '.join(L))")
case " $CC25 " in *" $LANG_CODE "*) ;; *)
  echo "error: LANG $LANG_CODE is not an mbart.cc25 language code ($CC25)" >&2; exit 2;; esac
mkdir -p "$OUT"
want=$(mktemp); trap 'rm -f "$want"' EXIT
{ cat "$MODEL/dict.txt"; for lang in $CC25; do echo "[$lang] 1"; done; } > "$want"
if [ -f "$OUT/dict.txt" ]; then
  cmp -s "$want" "$OUT/dict.txt" || {
    echo "error: $OUT/dict.txt was prepared with another model; use a new OUT_DIR" >&2; exit 2; }
else
  cp "$want" "$OUT/dict.txt.tmp" && mv "$OUT/dict.txt.tmp" "$OUT/dict.txt"
fi
DEST=$OUT/$LANG_CODE
[ -f "$DEST/.done" ] && { echo "$DEST: already prepared"; exit 0; }
mkdir -p "$DEST/spm"
LOG=$DEST/prepare.log
{ grep -v '^[[:space:]]*$' "$TEXT" > "$DEST/spm/all.txt"
  lines=$(wc -l < "$DEST/spm/all.txt")
  [ "$lines" -gt "$VALID" ] || { echo "$TEXT: $lines non-empty lines, need more than VALID_LINES=$VALID"; exit 2; }
  head -n $((lines - VALID)) "$DEST/spm/all.txt" > "$DEST/spm/train.txt"
  tail -n "$VALID" "$DEST/spm/all.txt" > "$DEST/spm/valid.txt"
  xlgen-spm-encode --model "$SPM" --inputs "$DEST/spm/train.txt" "$DEST/spm/valid.txt" \
    --outputs "$DEST/spm/train" "$DEST/spm/valid" --no-progress
  fairseq-preprocess --only-source --trainpref "$DEST/spm/train" --validpref "$DEST/spm/valid" \
    --destdir "$DEST" --srcdict "$MODEL/dict.txt" --workers "${WORKERS:-1}"; } > "$LOG" 2>&1 || { tail -n 5 "$LOG" >&2; echo "error: binarizing $LANG_CODE failed, see $LOG" >&2; exit 1; }
rm -f "$DEST/spm/all.txt" "$DEST/dict.txt"
touch "$DEST/.done"
echo "$DEST: train and valid binarized"
