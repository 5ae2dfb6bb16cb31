#!/usr/bin/env bash
# Sequence-level knowledge distillation (Kim & Rush 2016): an autoregressive teacher regenerates
# the training targets, and the non-autoregressive student trains on its outputs.
#
#   data_prep/distill_targets.sh DATA_BIN TEXT_ROOT OUT_ROOT TEACHER SPM_MODEL SRC-TGT [SRC-TGT ...]
#
# DATA_BIN: the binarized pairs the teacher was trained on (prepare_translation_pairs.sh);
# TEXT_ROOT/SRC-TGT/{train,valid,test}.{SRC,TGT}: their text; TEACHER: its checkpoint (e.g. SGA's
# AR baseline, xlmr_transformer); SPM_MODEL: the SentencePiece model that detokenizes its output.
# Writes OUT_ROOT/SRC-TGT/ with the teacher's train-split output as train.TGT (one line per
# source line, in the source's order) and links to every other file of TEXT_ROOT/SRC-TGT/, so
# OUT_ROOT is a TEXT_ROOT for prepare_translation_pairs.sh. A pair already distilled is skipped.
# Environment: TASK (default sga_translation), BEAM (default 4, the paper's AR baseline),
# GENERATE_ARGS (default "--max-len-a 1.2 --max-len-b 10 --max-tokens 8192"), USER_DIR (default
# this repository's fairseq_xlgen).
set -euo pipefail
[ $# -ge 6 ] || { sed -n '2,17p' "$0" >&2; exit 2; }
DATA=$1; TEXT=$2; OUT=$3; TEACHER=$4; SPM=$5; shift 5
HERE=$(cd "$(dirname "$0")" && pwd)
TASK=${TASK:-sga_translation}; BEAM=${BEAM:-4}; USER_DIR=${USER_DIR:-$HERE/../fairseq_xlgen}
read -r -a generate_args <<< "${GENERATE_ARGS:---max-len-a 1.2 --max-len-b 10 --max-tokens 8192}"
for path in "$TEACHER" "$SPM"; do
  [ -f "$path" ] || { echo "error: $path: missing (TEACHER is a checkpoint file, SPM_MODEL a SentencePiece model)" >&2; exit 2; }
done
for pair in "$@"; do
  [ -d "$TEXT/$pair" ] || { echo "error: $TEXT/$pair: missing (TEXT_ROOT must hold one directory per pair)" >&2; exit 2; }
done
for pair in "$@"; do
  src=${pair%-*}; tgt=${pair#*-}; dir=$OUT/$pair
  [ -s "$dir/train.$tgt" ] && continue
  mkdir -p "$dir"
  for f in "$TEXT/$pair"/*; do
    [ "$(basename "$f")" = "train.$tgt" ] || ln -sfn "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" "$dir/$(basename "$f")"
  done
  echo "distill $pair: $TEACHER (beam $BEAM) regenerates $(wc -l < "$TEXT/$pair/train.$src") training targets" >&2
  fairseq-generate "$DATA" --user-dir "$USER_DIR" --task "$TASK" --source-lang "$src" --target-lang "$tgt" \
    --path "$TEACHER" --gen-subset train --beam "$BEAM" "${generate_args[@]}" \
    --bpe sentencepiece --sentencepiece-model "$SPM" > "$dir/generate-train.txt.tmp"
  # H-<id>\t<score>\t<detokenized text>, in batch order: back to the source's order
  grep '^H-' "$dir/generate-train.txt.tmp" | sed 's/^H-//' | sort -s -t $'\t' -n -k1,1 | cut -f3 > "$dir/train.$tgt.tmp"
  expected=$(wc -l < "$TEXT/$pair/train.$src"); got=$(wc -l < "$dir/train.$tgt.tmp")
  if [ "$got" != "$expected" ]; then
    echo "error: $dir/generate-train.txt.tmp: $got hypotheses for $expected source lines of $TEXT/$pair/train.$src" \
         "(a sample was skipped: raise --max-positions or shorten the sources)" >&2
    exit 1
  fi
  mv "$dir/generate-train.txt.tmp" "$dir/generate-train.txt"
  mv "$dir/train.$tgt.tmp" "$dir/train.$tgt"
done
