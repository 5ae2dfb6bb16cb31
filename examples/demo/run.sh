#!/usr/bin/env bash
# The embedded default job: synthetic benchmark -> tiny mbart.cc25 -> finetune en_XX->de_DE
# with fairseq-train --user-dir -> fairseq-generate -> BLEU / chrF / ROUGE.
#
#   examples/demo/run.sh WORK_DIR [SIZE]      (SIZE: tiny | small | base; default small)
#
# The tiny mBART comes from make_benchmark_fixtures (examples/lib.sh: 8000 SentencePiece pieces,
# mBART denoising pretraining from SIZE small on; FIXTURE_ARGS overrides). Every step is
# skipped when its output exists, so a second run only re-scores.
# With real data, point PRETRAINED at the unpacked mbart.cc25 and use --arch mbart_large.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib.sh"
WORK=${1:?usage: run.sh WORK_DIR [SIZE]}; SIZE=${2:-small}
SRC=en_XX; TGT=de_DE
MAX_UPDATE=${MAX_UPDATE:-$([ "$SIZE" = tiny ] && echo 200 || echo 1500)}
BENCH=$WORK/benchmark; PRETRAINED=$WORK/pretrained; DATA=$WORK/data/$SRC-$TGT; CKPT=$WORK/checkpoints/$SRC-$TGT

log "synthetic benchmark ($SIZE)"
xlgen-make-benchmark --out "$BENCH" --size "$SIZE"
log "tiny pretrained models in the mbart.cc25 / xlmr.base formats"
make_benchmark_fixtures "$PRETRAINED" "$BENCH" "$SIZE"
log "SentencePiece + fairseq-preprocess with the pretrained dictionary"
bash "$HERE/../../data_prep/prepare_translation.sh" "$BENCH/tasks/translation/$SRC-$TGT" $SRC $TGT \
  "$PRETRAINED/mbart.cc25" "$DATA"

log "finetune ($MAX_UPDATE updates; resumes from $CKPT/checkpoint_last.pt if present)"
fairseq-train "$DATA" --user-dir "$USER_DIR" \
  --task translation_from_pretrained_bart --langs "$MBART_LANGS" --source-lang $SRC --target-lang $TGT \
  --arch mbart_tiny "${MBART_ARCH_FLAGS[@]}" --finetune-from-model "$PRETRAINED/mbart.cc25/model.pt" \
  --criterion label_smoothed_cross_entropy --label-smoothing 0.2 \
  --optimizer adam --adam-betas '(0.9, 0.98)' --lr 1e-3 --lr-scheduler inverse_sqrt --warmup-updates 200 \
  --dropout 0.1 --attention-dropout 0.1 --max-tokens 2048 --max-update "$MAX_UPDATE" \
  --save-dir "$CKPT" --no-epoch-checkpoints --save-interval-updates 500 --keep-interval-updates 1 \
  --log-interval 100 --seed 1 --num-workers 0

log "fairseq-generate on test"
OUT=$WORK/results/$SRC-$TGT; mkdir -p "$OUT"
fairseq-generate "$DATA" --user-dir "$USER_DIR" \
  --task translation_from_pretrained_bart --langs "$MBART_LANGS" --source-lang $SRC --target-lang $TGT \
  --path "$CKPT/checkpoint_last.pt" --gen-subset test --beam 5 --batch-size 64 \
  --remove-bpe sentencepiece > "$OUT/generate-test.txt"

log "scores ($SRC -> $TGT, test)"
xlgen-score --hyp "$OUT/generate-test.txt" --ref "$BENCH/tasks/translation/$SRC-$TGT/test.$TGT" --lang $TGT \
  --spm "$PRETRAINED/mbart.cc25/sentence.bpe.model" --json "$OUT/scores.json"
