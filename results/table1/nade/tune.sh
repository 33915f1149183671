#!/usr/bin/env bash
# A search of the RNN-NADE on one data set, on its exact validation
# likelihood: `tune.sh DATA TRIALS EPOCHS [TRAIN OPTIONS...]` runs two tune
# workers (one per core) on one SQLite study, every trial `--config CONFIG`
# (CONFIG=rnn-nade unless set) with its searched settings (learning rates,
# hidden sizes, clipping, RNN pretraining epochs, less those the options
# fix) for EPOCHS epochs, the configuration's own values queued first. Then
# the best trial is scored on the test split. The study runs in
# runs/nade-tune/CONFIG-DATA; the table of trials, each worker's output, the
# best trial's checkpoint and logs (its train command is in summary.txt) and
# its test figures go to tune-CONFIG-DATA here.
# RNN_FROM=FOLDER puts the finished RNN pretraining in FOLDER (a run of the same
# pretraining settings, say runs/nade/rnn-nade-lstm-DATA) in the first trial's
# folder, so that no trial pretrains: with --n-hidden-recurrent and
# --pretrain-rnn-epochs given, every trial's pretraining is that one
# (tune.reuse_pretraining; pretrain.load_or_build redoes one made otherwise).
set -euo pipefail
cd "$(dirname "$0")/../../.."
python=${PYTHON:-.venv/bin/python}
command="$0 $*"
data=$1 trials=$2 epochs=$3
shift 3
options=("$@")
slug=$(tr 'A-Z ' 'a-z-' <<<"$data")
config=${CONFIG:-rnn-nade}
here=results/table1/nade/tune-$config-$slug out=runs/nade-tune/$config-$slug
mkdir -p "$here" "$out"
echo "$(date -u +%FT%TZ) commit $(git rev-parse HEAD): CONFIG=$config${RNN_FROM:+ RNN_FROM=$RNN_FROM} $command" > "$here/times.txt"
if [ -n "${RNN_FROM:-}" ]; then
  mkdir -p "$out/$config/trial-0000"
  cp "$RNN_FROM"/{rnn-log.tsv,rnn-valid.tsv,rnn-best.npz,rnn.npz} "$out/$config/trial-0000/"
fi
tune() {
  "$python" rnnrbm.py tune --study "$config" --config "$config" --enqueue "$config" \
    --trials "$trials" --out "$out" --data "$data" --epochs "$epochs" "${options[@]}" "$@"
}
tune > "$here/worker-1.txt" 2>&1 &
# The first worker creates the study and queues the configuration's trial;
# once it has started that trial, the second can find its pretraining.
for _ in $(seq 120); do
  grep -q "^trial 0 started" "$here/worker-1.txt" 2>/dev/null && break
  sleep 1
done
tune > "$here/worker-2.txt" 2>&1
wait
tune --summary > "$here/summary.txt" 2>&1
cp "$out/$config/trials.tsv" "$here/"
echo "$(date -u +%FT%TZ) trials done" >> "$here/times.txt"
best=$(sed -n 's/^best: trial [0-9]*, validation [^,]*, \(.*best\.npz\).*/\1/p' "$here/summary.txt")
cp "$best" "$(dirname "$best")"/{log.tsv,valid.tsv} "$here/"
"$python" rnnrbm.py evaluate "$best" --pickle "$data" --out "$here/metrics-test.json" \
  2> "$here/evaluate-test.log" >/dev/null
echo "$(date -u +%FT%TZ) test split evaluated" >> "$here/times.txt"
echo "best trial $best: $(grep -o '"log_likelihood[^,]*' "$here/metrics-test.json" | head -1)"
