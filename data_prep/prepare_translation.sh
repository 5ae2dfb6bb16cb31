#!/usr/bin/env bash
# Binarize a parallel corpus for mBART-style finetuning with a pretrained model's own units.
#
#   data_prep/prepare_translation.sh TEXT_DIR SRC TGT MODEL_DIR OUT_DIR
#
# TEXT_DIR holds {train,valid,test}.{SRC,TGT} (one sentence per line; missing splits are
# skipped, train is required). MODEL_DIR is an mbart.cc25-style directory (dict.txt +
# sentence.bpe.model). Writes OUT_DIR/spm/ (SentencePiece pieces) and the fairseq binaries in
# OUT_DIR. Steps already done are skipped; a finished run leaves OUT_DIR/.done.
set -euo pipefail
[ $# -eq 5 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
TEXT=$1; SRC=$2; TGT=$3; MODEL=$4; OUT=$5

SPM=$MODEL/sentence.bpe.model
[ -f "$SPM" ] || SPM=$MODEL/sentencepiece.bpe.model
for f in "$MODEL/dict.txt" "$SPM" "$TEXT/train.$SRC" "$TEXT/train.$TGT"; do
  [ -f "$f" ] || { echo "error: $f: missing (check TEXT_DIR, SRC/TGT codes and MODEL_DIR)" >&2; exit 2; }
done
[ -f "$OUT/.done" ] && { echo "$OUT: already prepared"; exit 0; }

mkdir -p "$OUT/spm"
splits=(); inputs=(); outputs=()
for split in train valid test; do
  [ -f "$TEXT/$split.$SRC" ] || continue
  splits+=("$split")
  for lang in "$SRC" "$TGT"; do
    inputs+=("$TEXT/$split.$lang"); outputs+=("$OUT/spm/$split.$lang")
  done
done
xlgen-spm-encode --model "$SPM" --inputs "${inputs[@]}" --outputs "${outputs[@]}"

prefs=(--trainpref "$OUT/spm/train")
for split in "${splits[@]:1}"; do prefs+=("--${split}pref" "$OUT/spm/$split"); done
fairseq-preprocess --source-lang "$SRC" --target-lang "$TGT" "${prefs[@]}" --destdir "$OUT" \
  --srcdict "$MODEL/dict.txt" --tgtdict "$MODEL/dict.txt" --workers "${WORKERS:-1}"
touch "$OUT/.done"
