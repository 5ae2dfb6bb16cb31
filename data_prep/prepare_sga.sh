#!/usr/bin/env bash
# Binarize translation pairs with the XLM-R dictionary for SGA (task sga_translation, model xlmr_sga).
#
#   data_prep/prepare_sga.sh TEXT_ROOT XLMR_DIR OUT_DIR SRC-TGT [SRC-TGT ...]
#
# prepare_translation_pairs.sh with an xlmr.base/xlmr.large directory (or the tiny fixture).
exec bash "$(dirname "$0")/prepare_translation_pairs.sh" "$@"
