#!/usr/bin/env bash
# The learning rate of the RNN-NADE's SGD row, chosen on JSB Chorales (the
# smallest set) as rnn-sgd's was: `--config rnn-nade-sgd` (SGD everywhere:
# the RNN pretrained by SGD at rnn-sgd's 0.03, then the whole model by SGD
# with Nesterov momentum 0.9, as `paper` fine-tunes the RNN-RBM) and --lr, one run per
# rate given (default the grid 0.001 0.003 0.01 0.03 0.1 0.3), two at a time.
# The best exact validation log-likelihood of every rate run so far goes to
# sgd-sweep.tsv.
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=results/table1/nade
python=${PYTHON:-.venv/bin/python}
[ $# -gt 0 ] || set -- 0.001 0.003 0.01 0.03 0.1 0.3
mkdir -p runs/nade-sgd-sweep
run() {
  "$python" rnnrbm.py train --config rnn-nade-sgd --data "JSB Chorales" --lr "$1" \
    --out "runs/nade-sgd-sweep/lr-$1" --overwrite > "runs/nade-sgd-sweep/lr-$1.txt" 2>&1
}
for lr in "$@"; do
  run "$lr" &
  [ "$(jobs -r | wc -l)" -lt 2 ] || wait -n
done
wait
printf 'lr\tbest epoch\tvalid log-likelihood per frame\n' > "$here/sgd-sweep.tsv"
for lr in $(ls runs/nade-sgd-sweep | sed -n 's/^lr-\(.*\)\.txt$/\1/p' | sort -g); do
  # valid.tsv: epoch, criterion; the best row
  sort -t$'\t' -k2,2g "runs/nade-sgd-sweep/lr-$lr/valid.tsv" | grep -v "^epoch" | tail -1 |
    sed "s/^/$lr\t/" >> "$here/sgd-sweep.tsv"
done
cat "$here/sgd-sweep.tsv"
