#!/usr/bin/env bash
# Li & Murray (paper 002) on the synthetic benchmark: single-source (en_XX) vs two-source
# (en_XX+de_DE, same budget) finetuning of the tiny mBART on summarization, zero-shot
# generation in ru_RU and zh_CN for every checkpoint, ROUGE, XLRS curves, checkpoint
# selection without target-language dev data, wrong-language rate. See README.md here.
#
#   examples/multisource/run.sh WORK_DIR [SIZE]      (SIZE: tiny | small | base; default small)
#
# Finished steps are skipped (fairseq-train resumes from checkpoint_last.pt), so a second run
# continues where the first stopped. JOBS (default 2) fairseq-generate runs at a time.
# METRIC (default sp_rougeL) selects checkpoints and correlates with XLRS: the paper reports
# ROUGE-L (rougeL); word ROUGE of unspaced zh_CN outputs is 0. LR (default 1e-3, the tiny
# benchmark's; the paper finetunes with 7e-5) is the peak learning rate. SEED (default 1) is
# fairseq-train's --seed (instances drawn, batch order, dropout). FIXTURES=NAME (SIZE small): start
# from the shipped backbones fixtures/NAME, e.g. testbed-small, instead of benchmark-small (lib.sh).
# TASK (default summarization): another task of the benchmark, a generation task (title) or an
# understanding task read as text to text (pos, nli, paws, qa: xlgen-text-to-text; METRIC then
# defaults to the task's score, e.g. accuracy). RUNS (default "single two"): the finetunes to make;
# "single" alone is paper 002 §5's XLRS-vs-quality reading of one task (spectrum.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib.sh"
WORK=${1:?usage: run.sh WORK_DIR [SIZE]}; SIZE=${2:-small}
TASK=${TASK:-summarization}; RUNS=${RUNS:-single two}; SRC=en_XX; SECOND=de_DE; ZERO_SHOT=ru_RU,zh_CN
LANGS=(en_XX de_DE ru_RU zh_CN)
# training instances (the same for both runs), epochs, a checkpoint every EVERY epochs, warmup updates.
# Epoch checkpoints (checkpoint{N}.pt): fairseq names a checkpoint that falls on an epoch end
# only so, and skips its update-interval name (checkpoint_{E}_{U}.pt) there.
case $SIZE in
  tiny) BUDGET=200; MAX_EPOCH=${MAX_EPOCH:-48}; EVERY=16; WARMUP=50 ;;
  small) BUDGET=2000; MAX_EPOCH=${MAX_EPOCH:-40}; EVERY=8; WARMUP=200 ;;
  base) BUDGET=20000; MAX_EPOCH=${MAX_EPOCH:-20}; EVERY=4; WARMUP=1000 ;;
  *) echo "error: SIZE $SIZE: choose tiny, small or base" >&2; exit 2 ;;
esac
BENCH=$WORK/benchmark; MODEL=$WORK/pretrained/mbart.cc25; DATA=$WORK/data/$TASK
PARALLEL=$WORK/data/parallel; RESULTS=$WORK/results; XLRS_LANGS=$SRC,$SECOND,$ZERO_SHOT
LR=${LR:-1e-3}; SEED=${SEED:-1}; OUTPUT_LANG=()
case $TASK in  # TASK_ROOT/LANG/{train,valid,test}.{source,target}
  summarization|title) TASK_ROOT=$BENCH/tasks/$TASK; METRIC=${METRIC:-sp_rougeL} ;;
  pos|nli|paws|qa) TASK_ROOT=$WORK/text/$TASK
    read -r metric neutral < <(python -c "from fairseq_xlgen.data.text_to_text import TEMPLATES as T
print(T['$TASK'].metric, T['$TASK'].language_neutral_output)")
    METRIC=${METRIC:-$metric}
    # labels and tags are written alike in every language: every output starts with the training language's
    # token, and is written in lower case (case carries nothing in a label set; the testbed's vocabulary has
    # no capital A, C, E, O, U, and xlgen-text-to-text --spm refuses a target the model cannot write)
    T2T_CASE=()
    if [ "$neutral" = True ]; then OUTPUT_LANG=(--output-lang $SRC); T2T_CASE=(--lowercase-targets); fi ;;
  *) echo "error: TASK $TASK: choose summarization, title, pos, nli, paws or qa" >&2; exit 2 ;;
esac
NGRAM_TRAINING=()
for lang in "${LANGS[@]}"; do
  NGRAM_TRAINING+=(--train-ngram "$lang=$BENCH/mono/$lang.txt")
done

log "synthetic benchmark ($SIZE) and the tiny pretrained mbart.cc25 (examples/lib.sh)"
xlgen-make-benchmark --out "$BENCH" --size "$SIZE"
make_benchmark_fixtures "$WORK/pretrained" "$BENCH" "$SIZE"

if [ "$TASK_ROOT" = "$WORK/text/$TASK" ] && [ ! -s "$TASK_ROOT/$SRC/test.target" ]; then
  log "the $TASK task as text to text (xlgen-text-to-text)"
  xlgen-text-to-text --task "$TASK" --task-dir "$BENCH/tasks/$TASK" --out "$TASK_ROOT" --langs "$(IFS=,; echo "${LANGS[*]}")" \
    --spm "$MODEL/sentence.bpe.model" "${T2T_CASE[@]}"
fi
log "binarize the $TASK task per language (SentencePiece + fairseq-preprocess with the model's dict)"
for lang in "${LANGS[@]}"; do
  bash "$HERE/../../data_prep/prepare_monolingual_task.sh" "$TASK_ROOT" "$lang" "$MODEL" "$DATA"
done

log "parallel sentences for XLRS: the valid split of the multi-way parallel corpus, as pieces"
mkdir -p "$PARALLEL"
for lang in "${LANGS[@]}"; do  # the pair files are named l1-l2 in alphabetical order
  pair=$(printf '%s\n' "$SRC" "$lang" | sort | paste -sd-); [ "$lang" = "$SRC" ] && pair=$SECOND-$SRC
  [ -f "$PARALLEL/valid.$lang" ] || cp "$BENCH/parallel/valid.$pair.$lang" "$PARALLEL/valid.$lang"
  xlgen-spm-encode --model "$MODEL/sentence.bpe.model" --no-progress \
    --inputs "$PARALLEL/valid.$lang" --outputs "$PARALLEL/valid.spm.$lang"
done

finetune() {  # RUN TRAIN_LANGS
  local save=$WORK/checkpoints/$1
  log "finetune $1 on $2 ($BUDGET instances, $MAX_EPOCH epochs, a checkpoint every $EVERY epochs, lr $LR)"
  mkdir -p "$save"
  logged "$save/train.log" fairseq-train "$DATA" --user-dir "$USER_DIR" --task multi_source_summarization \
    --langs "$MBART_LANGS" --train-langs "$2" --train-budget "$BUDGET" --eval-lang $SRC "${OUTPUT_LANG[@]}" \
    --xlrs-parallel-prefix "$PARALLEL/valid.spm" --xlrs-langs "$XLRS_LANGS" \
    --arch mbart_tiny "${MBART_ARCH_FLAGS[@]}" --finetune-from-model "$MODEL/model.pt" \
    --criterion label_smoothed_cross_entropy --label-smoothing 0.2 \
    --optimizer adam --adam-betas '(0.9, 0.98)' --lr "$LR" --lr-scheduler inverse_sqrt --warmup-updates $WARMUP \
    --dropout 0.1 --attention-dropout 0.1 --max-tokens 2048 --max-epoch "$MAX_EPOCH" \
    --save-dir "$save" --save-interval "$EVERY" --validate-interval "$EVERY" \
    --log-format json --log-interval 100 --seed "$SEED" --num-workers 0
  grep '| valid |' "$save/train.log" | sed 's/.*| valid | //' | tail -n 5 || true
}
for run in $RUNS; do
  case $run in
    single) finetune single $SRC ;;
    two) finetune two "$SRC,$SECOND" ;;
    *) echo "error: RUNS $RUNS: the runs are single and two" >&2; exit 2 ;;
  esac
done

# RUN CHECKPOINT LANG SPLIT: decode LANG's SPLIT with one checkpoint (skipped when done)
generate_one() {
  local out=$RESULTS/$1/$2/$4.$3.txt
  [ -s "$out" ] && return 0
  mkdir -p "$(dirname "$out")"
  fairseq-generate "$DATA" --user-dir "$USER_DIR" --task multi_source_summarization --langs "$MBART_LANGS" \
    --train-langs "$SRC" --eval-lang "$3" $OUTPUT_ARGS --path "$WORK/checkpoints/$1/$2.pt" --gen-subset "$4" \
    --beam 4 --max-len-b 60 --batch-size 64 --remove-bpe sentencepiece > "$out.tmp" 2> "$out.log" \
    || { echo "error: fairseq-generate failed, see $out.log" >&2; return 1; }
  mv "$out.tmp" "$out"
}
OUTPUT_ARGS="${OUTPUT_LANG[*]}"
export -f generate_one; export DATA RESULTS WORK SRC USER_DIR MBART_LANGS OUTPUT_ARGS
for run in $RUNS; do
  compgen -G "$WORK/checkpoints/$run/checkpoint[0-9]*.pt" > /dev/null || {
    echo "error: $WORK/checkpoints/$run: no epoch checkpoint; MAX_EPOCH ($MAX_EPOCH) must be at least $EVERY" >&2; exit 2; }
done
log "fairseq-generate with every checkpoint: $SRC valid (source dev), $ZERO_SHOT valid and test (${JOBS:-2} at a time)"
for run in $RUNS; do
  for ckpt in "$WORK/checkpoints/$run"/checkpoint[0-9]*.pt; do
    name=$(basename "$ckpt" .pt)
    echo "$run $name $SRC valid"
    for lang in ${ZERO_SHOT//,/ }; do echo "$run $name $lang valid"; echo "$run $name $lang test"; done
  done
done | xargs -P "${JOBS:-2}" -n 4 bash -ec 'generate_one "$@"' _

REFS="$TASK_ROOT/{lang}/{split}.target"
for run in $RUNS; do
  hyps="$RESULTS/$run/{checkpoint}/{split}.{lang}.txt"
  log "XLRS per checkpoint ($run; update 0 is the pretrained model)"
  xlgen-xlrs compute --models "$MODEL" "$WORK/checkpoints/$run" --parallel-prefix "$PARALLEL/valid.spm" \
    --langs "$XLRS_LANGS" --no-progress --out "$RESULTS/$run/xlrs.json"
  log "checkpoint selection ($run): $SRC dev vs lowest XLRS vs target dev, $METRIC on test"
  xlgen-xlrs select --xlrs "$RESULTS/$run/xlrs.json" --hyps "$hyps" --refs "$REFS" --metric "$METRIC" \
    --spm "$MODEL/sentence.bpe.model" --src-lang $SRC --tgt-langs $ZERO_SHOT --out "$RESULTS/$run/selection.json"
  log "Spearman rho of XLRS and zero-shot $METRIC over the checkpoints ($run)"
  xlgen-xlrs spearman --xlrs "$RESULTS/$run/xlrs.json" --hyps "$hyps" --refs "$REFS" --metric "$METRIC" \
    --spm "$MODEL/sentence.bpe.model" --src-lang $SRC --tgt-langs $ZERO_SHOT --json "$RESULTS/$run/spearman.json"
done
log "XLRS curves ($RUNS): $RESULTS/xlrs.png"
curves=(); for run in $RUNS; do curves+=("$run=$RESULTS/$run/xlrs.json"); done
xlgen-xlrs plot --xlrs "${curves[@]}" --pairs "$SRC-${ZERO_SHOT//,/,$SRC-}" \
  --title "XLRS during $TASK finetuning ($RUNS)" --out "$RESULTS/xlrs.png"
log "label overlap d of the task (test targets)"
xlgen-xlrs overlap --labels "$TASK_ROOT/{lang}/test.target" --src-lang $SRC \
  --tgt-langs "$SECOND,$ZERO_SHOT" --json "$RESULTS/overlap.json"

log "ROUGE / SP-ROUGE and language of the last checkpoint's zero-shot test outputs"
for run in $RUNS; do
  last=$(ls "$WORK/checkpoints/$run" | sed -n 's/^checkpoint\([0-9]*\)\.pt$/\1/p' | sort -n | tail -n 1)
  for lang in ${ZERO_SHOT//,/ }; do
    out=$RESULTS/$run/checkpoint$last/test.$lang
    [ -f "$out.scores.json" ] || xlgen-score --hyp "$out.txt" --ref "$TASK_ROOT/$lang/test.target" \
      --lang "$lang" --metrics rouge,sp_rouge --spm "$MODEL/sentence.bpe.model" --json "$out.scores.json" > /dev/null
    if [ -f "$RESULTS/ngram-lid.json" ]; then lid=(--ngram-model "$RESULTS/ngram-lid.json")
    else lid=("${NGRAM_TRAINING[@]}" --save-ngram-model "$RESULTS/ngram-lid.json"); fi
    [ -f "$out.langid.json" ] || xlgen-langid --hyp "$out.txt" --src-lang $SRC --tgt-lang "$lang" --backend ngram \
      "${lid[@]}" --json "$out.langid.json" > /dev/null
  done
done

python - "$RESULTS" "$METRIC" "$RUNS" "$SRC" ${ZERO_SHOT//,/ } <<'EOF'
import sys
from fairseq_xlgen.file_io import read_json as load
results, metric, runs, src, targets = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4], sys.argv[5:]
print(f"\nlast checkpoint: {src} valid {metric} (in-language) and zero-shot test outputs")
print(f"{'run':7} {src + ' dev':>9} {'target':7} {'ROUGE-L':>8} {'SP-ROUGE-L':>10} {'XLRS':>7} "
      f"{'wrong language %':>16} {'in ' + src + ' %':>9} {'no letters %':>12}")
for run in runs:
    last = load(f"{results}/{run}/xlrs.json")["models"][-1]
    in_language = {c["checkpoint"]: c for c in load(f"{results}/{run}/selection.json")["checkpoints"]}[last["name"]]
    for lang in targets:
        prefix = f"{results}/{run}/{last['name']}/test.{lang}"
        scores, lid = load(prefix + ".scores.json")["scores"], load(prefix + ".langid.json")["summary"]
        print(f"{run:7} {in_language['scores'][f'valid.{src}']:9.2f} {lang:7} {scores['rougeL']:8.2f} "
              f"{scores['sp_rougeL']:10.2f} {last['xlrs'][f'{src}-{lang}']:7.3f} "
              f"{lid['wrong_language_rate']:16.1f} {lid['source_language_rate']:9.1f} {lid['no_letters_rate']:12.1f}")
for run in runs:
    rho = load(f"{results}/{run}/spearman.json")["mean"]["rho"]
    print(f"\ncheckpoint selection, {run} run (Spearman rho of XLRS and zero-shot {metric}: "
          f"{'undefined' if rho is None else f'{rho:.2f}'})")
    print(open(f"{results}/{run}/selection.md", encoding="utf-8").read(), end="")
EOF
