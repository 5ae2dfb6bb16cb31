#!/usr/bin/env bash
# TM+adv's language adversary and the usual remedies of adversarial training (paper 001 appendix;
# examples/laft/README.md): run.sh's TM+adv baseline (task data en_XX, monolingual batches of the
# other languages) trained UPDATES updates per configuration and seed, validated every VALID_EVERY
# updates. summary.py then tabulates the last validation: the held-out probe accuracy (a fresh
# logistic regression reading the language from the pooled task-module output; 4 languages,
# chance 0.25), the classifier's own accuracy and the task's valid NLL, over the seeds.
#
#   examples/laft/adversary.sh WORK_DIR [SIZE]    (SIZE as run.sh; WORK_DIR may be run.sh's)
#
# UPDATES (default 300), VALID_EVERY (default 100), SEEDS (default "1 2 3"), CONFIGS (default all:
# none paper reverse confusion every5 mlp combined).
set -euo pipefail
WORK=${1:?usage: adversary.sh WORK_DIR [SIZE]}; SIZE=${2:-small}
ADV_UPDATES=${UPDATES:-300}; VALID_EVERY=${VALID_EVERY:-100}; SEEDS=${SEEDS:-1 2 3}
CONFIGS=${CONFIGS:-none paper reverse confusion every5 mlp combined}
VALIDATION=(--validate-interval-updates "$VALID_EVERY" --validate-interval 1000)
source "$(dirname "$0")/settings.sh"
prepare_data

declare -A FLAGS=(
  [none]="--adversary-weight 0"             # the classifier trains, the task module ignores it
  [paper]=""                                # flipped labels, linear classifier, one step each (appendix)
  [reverse]="--adversary-loss reverse"      # gradient reversal (Ganin & Lempitsky 2015)
  [confusion]="--adversary-loss confusion"  # cross-entropy against 1/2 (Tzeng et al. 2015)
  [every5]="--adversary-every 5"            # 5 classifier steps per adversary step
  [mlp]="--adversary-hidden 256"            # MLP classifier (one hidden layer of 256)
  # all of them at once, with λ = 10 on L_adv
  [combined]="--adversary-loss confusion --adversary-every 5 --adversary-hidden 256 --adversary-weight 10"
)
for config in $CONFIGS; do
  [ -n "${FLAGS[$config]+set}" ] || { echo "error: CONFIGS: $config is not one of ${!FLAGS[*]}" >&2; exit 2; }
  for seed in $SEEDS; do
    # shellcheck disable=SC2046,SC2086  # the data arguments, the configuration's flags
    SEED=$seed train "adversary/$config/seed$seed" "$ADV_UPDATES" $(tm_adv_args "$SRC") ${FLAGS[$config]}
  done
done
python "$HERE/summary.py" "$WORK"
