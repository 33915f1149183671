#!/usr/bin/env bash
# A search of the RNN-NADE on one data set, on its exact validation
# likelihood: `tune.sh DATA TRIALS EPOCHS [TRAIN OPTIONS...]` runs two tune
# workers (one per core) on one SQLite study, every trial `--config CONFIG`
# (CONFIG=rnn-nade unless set) with its searched settings (learning rates,
# hidden sizes, clipping, RNN pretraining epochs, less those the options
# fix) for EPOCHS epochs, the configuration's own values queued first. Then
# the best trial is scored on the test split. The study runs in
# runs/nade-tune/CONFIG-DATA; the table of trials, each worker's output and
# the best trial's test figures go to tune-CONFIG-DATA here.
set -euo pipefail
cd "$(dirname "$0")/../../.."
python=${PYTHON:-.venv/bin/python}
data=$1 trials=$2 epochs=$3
shift 3
options=("$@")
slug=$(tr 'A-Z ' 'a-z-' <<<"$data")
config=${CONFIG:-rnn-nade}
here=results/table1/nade/tune-$config-$slug out=runs/nade-tune/$config-$slug
mkdir -p "$here" "$out"
tune() {
  "$python" rnnrbm.py tune --study "$config" --config "$config" --enqueue "$config" \
    --trials "$trials" --out "$out" --data "$data" --epochs "$epochs" "${options[@]}" "$@"
}
tune > "$here/worker-1.txt" 2>&1 &
sleep 5  # the first worker creates the study and queues the configuration's trial
tune > "$here/worker-2.txt" 2>&1
wait
tune --summary > "$here/summary.txt" 2>&1
cp "$out/$config/trials.tsv" "$here/"
best=$(sed -n 's/^best: trial [0-9]*, validation [^,]*, \(.*best\.npz\).*/\1/p' "$here/summary.txt")
"$python" rnnrbm.py evaluate "$best" --pickle "$data" --out "$here/metrics-test.json" \
  2> "$here/evaluate-test.log" >/dev/null
echo "best trial $best: $(grep -o '"log_likelihood[^,]*' "$here/metrics-test.json" | head -1)"
