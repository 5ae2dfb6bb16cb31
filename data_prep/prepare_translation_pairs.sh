#!/usr/bin/env bash
# Binarize several translation pairs into one data directory with a pretrained model's units.
#
#   data_prep/prepare_translation_pairs.sh TEXT_ROOT MODEL_DIR OUT_DIR SRC-TGT [SRC-TGT ...]
#
# TEXT_ROOT/SRC-TGT/ holds {train,valid,test}.{SRC,TGT} (e.g. the synthetic benchmark's
# tasks/translation/). MODEL_DIR is an mbart.cc25 or xlmr.base/xlmr.large directory (or a tiny
# fixture: dict.txt + its SentencePiece model). Each pair is encoded and binarized by
# prepare_translation.sh into OUT_DIR/pairs/SRC-TGT/ and linked into OUT_DIR, so one data
# directory serves every pair (sga_translation / code_switch_restore --lang-pairs,
# fairseq-generate --source-lang/--target-lang).
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
