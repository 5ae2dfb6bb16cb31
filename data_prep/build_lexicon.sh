#!/usr/bin/env bash
# Unsupervised translation lexicon of CSR (paper 004 §III-B) from the downstream corpus only.
#
#   data_prep/build_lexicon.sh SPM_DIR SRC TGT MODEL_DIR OUT_DIR
#
# SPM_DIR/train.{SRC,TGT}: the downstream training text in the pretrained model's
# SentencePiece pieces (prepare_translation.sh writes them to OUT/spm/). Steps: word2vec per
# language on CSR's switching units (words, each piece in unspaced scripts such as Chinese;
# the unit the switcher uses) (gensim; skip-gram, 512 dims, window 10, negative 10,
# min-count 5, 10 epochs) → fully unsupervised VecMap mapping → top-k CSLS lexicon in both
# directions, restricted to whole units of MODEL_DIR/dict.txt. Writes
# OUT_DIR/lexicon.{src2tgt,tgt2src}.tsv (+ .ids.tsv, .json).
# Finished steps are skipped. Extra flags: W2V_ARGS (xlgen-train-embeddings), MAP_ARGS
# (xlgen-map-embeddings, e.g. "--identical" or "--device cuda"), LEX_ARGS (xlgen-induce-lexicon).
set -euo pipefail
[ $# -eq 5 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
SPM=$1; SRC=$2; TGT=$3; MODEL=$4; OUT=$5
for f in "$SPM/train.$SRC" "$SPM/train.$TGT" "$MODEL/dict.txt"; do
  [ -f "$f" ] || { echo "error: $f: missing (run data_prep/prepare_translation.sh first)" >&2; exit 2; }
done
mkdir -p "$OUT"

for lang in "$SRC" "$TGT"; do
  [ -f "$OUT/w2v.$lang.vec" ] || xlgen-train-embeddings --input "$SPM/train.$lang" --output "$OUT/w2v.$lang.vec" ${W2V_ARGS:-}
done
[ -f "$OUT/mapped.$TGT.vec" ] || xlgen-map-embeddings --src-emb "$OUT/w2v.$SRC.vec" --tgt-emb "$OUT/w2v.$TGT.vec" \
  --src-out "$OUT/mapped.$SRC.vec" --tgt-out "$OUT/mapped.$TGT.vec" --checkpoint "$OUT/mapping.ckpt" ${MAP_ARGS:-}
[ -f "$OUT/lexicon.json" ] || xlgen-induce-lexicon --src-emb "$OUT/mapped.$SRC.vec" --tgt-emb "$OUT/mapped.$TGT.vec" \
  --out-prefix "$OUT/lexicon" --direction both --k 3 --dict "$MODEL/dict.txt" ${LEX_ARGS:-}
echo "$OUT/lexicon.src2tgt.tsv $OUT/lexicon.tgt2src.tsv"
