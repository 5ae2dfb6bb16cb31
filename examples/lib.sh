# Shared pieces of the example recipes (sourced, not run).
# mBART conventions: all 25 cc25 languages in --langs, and the store_true flags without which
# the mbart.cc25 keys go missing.
MBART_LANGS=$(python -c "from fairseq_xlgen.pretrained import MBART_CC25_LANGS; print(','.join(MBART_CC25_LANGS))")
MBART_ARCH_FLAGS=(--layernorm-embedding --encoder-normalize-before --decoder-normalize-before)
USER_DIR=$(xlgen-userdir)
export PYTHONWARNINGS=ignore

log() { printf '\n==> %s\n' "$*" >&2; }

# logged LOG COMMAND...: COMMAND's output into LOG; when it fails, its last 20 lines and a one-line error, exit 1.
logged() {
  local log=$1; shift
  "$@" > "$log" 2>&1 || { tail -n 20 "$log" >&2; echo "error: $1 failed, see $log" >&2; exit 1; }
}

# Keep only the detokenized hypotheses (D- lines) of fairseq-generate output, in sample order.
hypotheses() { grep '^D-' "$1" | sed 's/^D-//' | sort -n -k1,1 | cut -f3; }

# Tiny mbart.cc25 / xlmr.base fixtures from a synthetic benchmark's monolingual text, with the
# settings of fixtures/benchmark-small.flags (an 8000-piece SentencePiece model, mBART denoising
# and XLM-R masked-LM pretraining). At SIZE small (seed 1) the shipped fixtures/benchmark-small
# are copied (xlgen-make-fixtures --prebuilt checks corpus sha256 and settings); other sizes
# pretrain anew. SIZE tiny: random init (a smoke run). FIXTURE_ARGS replaces these flags.
# FIXTURES=NAME (SIZE small): the shipped set fixtures/NAME instead, e.g. testbed-small (the
# cross-lingual backbones of issue 22), copied by fixtures/build.sh --copy after it has checked that
# the set was built from this benchmark's pretraining text; copied again when the shipped set's
# fixtures.json changes (as the Python runner's shipped-set.json marker does).
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
make_benchmark_fixtures() {  # make_benchmark_fixtures OUT_DIR BENCHMARK_DIR SIZE
  if [ -n "${FIXTURES:-}" ]; then
    [ "$3" = small ] || { echo "error: FIXTURES=$FIXTURES: the shipped sets are built from SIZE small" >&2; exit 2; }
    cmp -s "$1/fixtures.json" "$REPO/fixtures/$FIXTURES/fixtures.json" \
      || BENCHMARK=$2 bash "$REPO/fixtures/build.sh" --copy "$FIXTURES" "$1" > /dev/null
    return
  fi
  local args=${FIXTURE_ARGS:-}
  if [ -z "$args" ]; then
    if [ "$3" = tiny ]; then args="--vocab-size 8000"
    else args="$(cat "$REPO/fixtures/benchmark-small.flags") --prebuilt $REPO/fixtures/benchmark-small"; fi
  fi
  # shellcheck disable=SC2086  # a list of flags
  xlgen-make-fixtures --out "$1" $args --corpus "$2"/mono/{en_XX,de_DE,ru_RU,zh_CN}.txt
}
