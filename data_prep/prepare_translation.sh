#!/usr/bin/env bash
# Binarize a parallel corpus for mBART-style finetuning with a pretrained model's own units.
#
#   data_prep/prepare_translation.sh TEXT_DIR SRC TGT MODEL_DIR OUT_DIR
#
# TEXT_DIR holds {train,valid,test}.{SRC,TGT} (one sentence per line; missing splits are skipped,
# at least one is required: a test-only pair serves zero-shot evaluation). MODEL_DIR is an
# mbart.cc25-style directory (dict.txt + sentence.bpe.model). Writes OUT_DIR/spm/ (SentencePiece
# pieces) and the fairseq binaries in OUT_DIR. Steps already done are skipped; a finished run leaves OUT_DIR/.done.
set -euo pipefail
[ $# -eq 5 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
TEXT=$1; SRC=$2; TGT=$3; MODEL=$4; OUT=$5

SPM=$MODEL/sentence.bpe.model
[ -f "$SPM" ] || SPM=$MODEL/sentencepiece.bpe.model
for f in "$MODEL/dict.txt" "$SPM"; do
  [ -f "$f" ] || { echo "error: $f: missing (check MODEL_DIR)" >&2; exit 2; }
done
splits=(); inputs=(); outputs=()
for split in train valid test; do
  [ -f "$TEXT/$split.$SRC" ] || [ -f "$TEXT/$split.$TGT" ] || continue
  for lang in "$SRC" "$TGT"; do
    [ -f "$TEXT/$split.$lang" ] || { echo "error: $TEXT/$split.$lang: missing (each split needs both sides)" >&2; exit 2; }
    inputs+=("$TEXT/$split.$lang"); outputs+=("$OUT/spm/$split.$lang")
  done
  splits+=("$split")
done
[ ${#splits[@]} -gt 0 ] || { echo "error: $TEXT: no {train,valid,test}.$SRC (check TEXT_DIR and the SRC/TGT codes)" >&2; exit 2; }
[ -f "$OUT/.done" ] && { echo "$OUT: already prepared"; exit 0; }

mkdir -p "$OUT/spm"
xlgen-spm-encode --model "$SPM" --inputs "${inputs[@]}" --outputs "${outputs[@]}"

prefs=()
for split in "${splits[@]}"; do prefs+=("--${split}pref" "$OUT/spm/$split"); done
fairseq-preprocess --source-lang "$SRC" --target-lang "$TGT" "${prefs[@]}" --destdir "$OUT" \
  --srcdict "$MODEL/dict.txt" --tgtdict "$MODEL/dict.txt" --workers "${WORKERS:-1}"
touch "$OUT/.done"
