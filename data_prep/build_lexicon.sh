#!/usr/bin/env bash
# Unsupervised translation lexicon of CSR (paper 004 §III-B) from the downstream corpus only.
#
#   data_prep/build_lexicon.sh SPM_DIR SRC TGT MODEL_DIR OUT_DIR
#
# SPM_DIR/train.{SRC,TGT}: the downstream training text in the pretrained model's
# SentencePiece pieces (prepare_translation.sh writes them to OUT/spm/). Steps: word2vec per
# language on CSR's switching units, the unit the switcher uses (gensim; skip-gram, 512 dims,
# window 10, negative 10, min-count 5, 10 epochs) → fully unsupervised VecMap mapping, RESTARTS
# seeds (default 5), the highest final objective kept → top-k CSLS lexicon in both directions,
# restricted to units MODEL_DIR's dict.txt can spell. Writes OUT_DIR/lexicon.{src2tgt,tgt2src}.tsv
# (+ .json; .ids.tsv with pieces units). Units: LEXICON_UNIT=words (default when SRC or TGT is
# written without spaces: zh_CN, ja_XX, my_MM; Chinese cut by SEGMENTER, default jieba, or
# jieba-dict:FILE) or pieces (default otherwise; each piece in unspaced scripts).
# Finished steps are skipped. Extra flags: W2V_ARGS (xlgen-train-embeddings), MAP_ARGS
# (xlgen-map-embeddings, e.g. "--identical" or "--device cuda"), LEX_ARGS (xlgen-induce-lexicon).
set -euo pipefail
[ $# -eq 5 ] || { sed -n '2,18p' "$0" >&2; exit 2; }
SPM=$1; SRC=$2; TGT=$3; MODEL=$4; OUT=$5
case " $SRC $TGT " in *" zh_CN "*|*" ja_XX "*|*" my_MM "*) unit=words ;; *) unit=pieces ;; esac
LEXICON_UNIT=${LEXICON_UNIT:-$unit}; SEGMENTER=${SEGMENTER:-jieba}; RESTARTS=${RESTARTS:-5}
SPM_MODEL=$MODEL/sentence.bpe.model
[ -f "$SPM_MODEL" ] || SPM_MODEL=$MODEL/sentencepiece.bpe.model
units=(--lexicon-unit "$LEXICON_UNIT")
for f in "$SPM/train.$SRC" "$SPM/train.$TGT" "$MODEL/dict.txt" "$SPM_MODEL"; do
  [ -f "$f" ] || { echo "error: $f: missing (run data_prep/prepare_translation.sh first)" >&2; exit 2; }
done
mkdir -p "$OUT"

for lang in "$SRC" "$TGT"; do
  segmenter=(); [ "$LEXICON_UNIT" = words ] && segmenter=(--segmenter "$SEGMENTER")
  [ -f "$OUT/w2v.$lang.vec" ] || xlgen-train-embeddings --input "$SPM/train.$lang" --output "$OUT/w2v.$lang.vec" \
    --lang "$lang" "${units[@]}" "${segmenter[@]}" ${W2V_ARGS:-}
done
[ -f "$OUT/mapped.$TGT.vec" ] || xlgen-map-embeddings --src-emb "$OUT/w2v.$SRC.vec" --tgt-emb "$OUT/w2v.$TGT.vec" \
  --src-out "$OUT/mapped.$SRC.vec" --tgt-out "$OUT/mapped.$TGT.vec" --checkpoint "$OUT/mapping.ckpt" \
  --restarts "$RESTARTS" ${MAP_ARGS:-}
[ -f "$OUT/lexicon.json" ] || xlgen-induce-lexicon --src-emb "$OUT/mapped.$SRC.vec" --tgt-emb "$OUT/mapped.$TGT.vec" \
  --out-prefix "$OUT/lexicon" --direction both --k 3 --dict "$MODEL/dict.txt" --spm-model "$SPM_MODEL" \
  "${units[@]}" ${LEX_ARGS:-}
echo "$OUT/lexicon.src2tgt.tsv $OUT/lexicon.tgt2src.tsv"
