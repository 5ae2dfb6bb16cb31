# Shared pieces of the example recipes (sourced, not run).
# mBART conventions: all 25 cc25 languages in --langs, and the store_true flags without which
# the mbart.cc25 keys go missing.
MBART_LANGS=$(python -c "from fairseq_xlgen.pretrained import MBART_CC25_LANGS; print(','.join(MBART_CC25_LANGS))")
MBART_ARCH_FLAGS=(--layernorm-embedding --encoder-normalize-before --decoder-normalize-before)
USER_DIR=$(xlgen-userdir)
export PYTHONWARNINGS=ignore

log() { printf '\n==> %s\n' "$*" >&2; }

# Keep only the detokenized hypotheses (D- lines) of fairseq-generate output, in sample order.
hypotheses() { grep '^D-' "$1" | sed 's/^D-//' | sort -n -k1,1 | cut -f3; }
