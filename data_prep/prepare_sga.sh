#!/usr/bin/env bash
# Binarize translation pairs with the XLM-R dictionary for SGA (task sga_translation, model xlmr_sga).
#
#   data_prep/prepare_sga.sh TEXT_ROOT XLMR_DIR OUT_DIR SRC-TGT [SRC-TGT ...]
#
# TEXT_ROOT/SRC-TGT/ holds {train,valid,test}.{SRC,TGT} (e.g. the synthetic benchmark's
# tasks/translation/). XLMR_DIR is xlmr.base/xlmr.large or the tiny fixture (dict.txt +
# sentencepiece.bpe.model). Each pair is encoded and binarized by prepare_translation.sh into
# OUT_DIR/pairs/SRC-TGT/ and linked into OUT_DIR, so one data directory serves every pair
# (fairseq-train --lang-pairs, fairseq-generate --source-lang/--target-lang).
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
TEXT=$1; MODEL=$2; OUT=$3; shift 3
HERE=$(cd "$(dirname "$0")" && pwd)
for pair in "$@"; do
  src=${pair%-*}; tgt=${pair#*-}
  [[ "$pair" == *-* && -n "$src" && -n "$tgt" ]] || { echo "error: $pair: write pairs as SRC-TGT" >&2; exit 2; }
  [ -d "$TEXT/$pair" ] || { echo "error: $TEXT/$pair: missing (TEXT_ROOT must hold one directory per pair)" >&2; exit 2; }
done
mkdir -p "$OUT/pairs"
for pair in "$@"; do
  src=${pair%-*}; tgt=${pair#*-}
  bash "$HERE/prepare_translation.sh" "$TEXT/$pair" "$src" "$tgt" "$MODEL" "$OUT/pairs/$pair"
  for f in "$OUT/pairs/$pair"/*.bin "$OUT/pairs/$pair"/*.idx "$OUT/pairs/$pair"/dict.*.txt; do
    ln -sfn "pairs/$pair/$(basename "$f")" "$OUT/$(basename "$f")"
  done
done
