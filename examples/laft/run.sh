#!/usr/bin/env bash
# LAFT (paper 001) and its five baselines on the synthetic benchmark, tiny mBART: language
# components -> stage 1 (text infilling on monolingual text) -> stage 2 (task finetuning on
# en_XX) -> fairseq-generate in the target languages (and en_XX) -> ROUGE-L / SP-ROUGE-L and wrong-language
# rate; zero-shot (task data in en_XX only) and translate-train (the benchmark's gold
# target-language task data stand in for machine translation). See README.md here.
#
#   examples/laft/run.sh WORK_DIR [SIZE]      (SIZE: tiny | small | base; default small)
#
# TASK=summarization (default, length penalty 1.5) or TASK=title (length penalty 3);
# TARGETS (default de_DE,ru_RU,zh_CN) zero-shot languages; TRANSLATE_TRAIN (default zh_CN)
# languages of the translate-train setting ('' skips it); SYSTEMS (default all six); LAFT_ARGS flags
# added to both LAFT stages, e.g. '--laft-removal literal' (ablations); STAGE1_UPDATES (settings.sh).
# Finished steps are skipped, so a second run continues where the first stopped.
set -euo pipefail
WORK=${1:?usage: run.sh WORK_DIR [SIZE]}; SIZE=${2:-small}
source "$(dirname "$0")/settings.sh"
prepare_data

finetune() {  # SETTING TRAIN_LANG: the six systems on TRAIN_LANG's task data
  local setting=$1 lang=$2 system
  for system in $SYSTEMS; do
    local name=$setting/$system common=(--criterion label_smoothed_cross_entropy --label-smoothing 0.1)
    case $system in
      laft)
        local laft_flags; read -ra laft_flags <<< "${LAFT_ARGS:-}"
        [ "$setting" = zero-shot ] && train laft-stage1 "$STAGE1" "$MONO" --task multilingual_denoising \
          --langs "$LAFT_LANGS" --add-lang-token --arch mbart_laft_tiny --laft-stage 1 --laft-langs "$LAFT_LANGS" \
          --language-components "$WORK/components.pt" --finetune-from-model "$MODEL/model.pt" \
          --mask 0.35 --mask-length span-poisson --poisson-lambda 3.5 --replace-length 1 --mask-random 0.1 \
          --permute-sentences 0 --rotate 0 --insert 0 --no-whole-word-mask-langs zh_CN \
          --sample-break-mode complete --tokens-per-sample 256 --multilang-sampling-alpha 0.7 "${common[@]}" "${laft_flags[@]}"
        # shellcheck disable=SC2046  # the data arguments
        train "$name" "$UPDATES" $(summarization "$lang") --arch mbart_laft_tiny --laft-stage 2 \
          --laft-langs "$LAFT_LANGS" --finetune-from-model "$CKPT/laft-stage1/checkpoint_last.pt" "${common[@]}" "${laft_flags[@]}" ;;
      tm_adv)
        # validated once, at the end: the held-out language probe of summary.py
        # shellcheck disable=SC2046
        (VALIDATION=(--validate-interval 100000); train "$name" "$UPDATES" $(tm_adv_args "$lang")) ;;
      *)
        # shellcheck disable=SC2046
        train "$name" "$UPDATES" $(summarization "$lang") --arch mbart_laft_tiny --laft-variant "$system" \
          --finetune-from-model "$MODEL/model.pt" "${common[@]}" ;;  # adapter: bottleneck d/2 by default
    esac
  done
}

generate() {  # SETTING SYSTEM LANG: decode LANG's test split (skipped when done), score it
  local out=$RESULTS/$1/$2/test.$3
  mkdir -p "$(dirname "$out")"
  if [ ! -s "$out.txt" ]; then
    fairseq-generate "$DATA" --user-dir "$USER_DIR" --task multi_source_summarization --langs "$MBART_LANGS" \
      --train-langs "$3" --eval-lang "$3" --path "$CKPT/$1/$2/checkpoint_last.pt" --gen-subset test \
      --beam 5 --lenpen "$LENPEN" --max-len-b "$MAXLEN" --batch-size 64 --remove-bpe sentencepiece \
      > "$out.tmp" 2> "$out.log" || { echo "error: fairseq-generate failed, see $out.log" >&2; exit 1; }
    mv "$out.tmp" "$out.txt"
  fi
  [ -f "$out.scores.json" ] || xlgen-score --hyp "$out.txt" --ref "$BENCH/tasks/$TASK/$3/test.target" --lang "$3" \
    --metrics rouge,sp_rouge --spm "$MODEL/sentence.bpe.model" --json "$out.scores.json" > /dev/null
  if [ -f "$RESULTS/ngram-lid.json" ]; then lid=(--ngram-model "$RESULTS/ngram-lid.json")
  else lid=(--save-ngram-model "$RESULTS/ngram-lid.json")
    for lang in "${LANGS[@]}"; do lid+=(--train-ngram "$lang=$BENCH/mono/$lang.txt"); done; fi
  [ -f "$out.langid.json" ] || xlgen-langid --hyp "$out.txt" --src-lang $SRC --tgt-lang "$3" --backend ngram \
    "${lid[@]}" --json "$out.langid.json" > /dev/null
}

finetune zero-shot $SRC
for system in $SYSTEMS; do  # the trained language too: it tells a system that did not learn from one that does not transfer
  log "zero-shot: generate $TARGETS and the trained $SRC with $system"
  for lang in ${TARGETS//,/ } $SRC; do generate zero-shot "$system" "$lang"; done
done
for lang in ${TRANSLATE_TRAIN//,/ }; do
  finetune "translate-train-$lang" "$lang"
  for system in $SYSTEMS; do generate "translate-train-$lang" "$system" "$lang"; done
done

case " $SYSTEMS " in *" laft "*)  # Figure 2 needs the zero-shot LAFT model
  log "t-SNE of encoder outputs / after removal / after fusion (Figure 2): $RESULTS/figure2.png"
  [ -f "$RESULTS/figure2.png" ] || xlgen-laft-tsne --checkpoint "$CKPT/zero-shot/laft/checkpoint_last.pt" \
    --spm "$MODEL/sentence.bpe.model" --out "$RESULTS/figure2.png" --max-sentences 200 \
    --text $(for lang in "${LANGS[@]}"; do echo "$lang=$BENCH/tasks/$TASK/$lang/test.source"; done) ;;
esac

python "$HERE/summary.py" "$WORK"
