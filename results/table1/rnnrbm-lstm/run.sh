#!/usr/bin/env bash
# The RNN-RBM with an LSTM recurrence, beyond the paper: `run.sh CONFIG DATA...`
# trains `--config CONFIG --recurrence lstm` on each data set (the
# configuration of that data set's measured tanh row in ../README.md), then
# evaluates its best epoch as those rows were: AIS 100 chains x 1,000
# temperatures in float32 on the whole test split (metrics-test.json), and the
# mixing check on 1,000 test frames drawn at random (evaluate --frames 1000
# --mixing 1000, mixing-test.json). Runs go to runs/rnnrbm-lstm/CONFIG-DATA;
# the figures (JSON, with their commands), logs, best.npz and the commit and
# times of each step to CONFIG-DATA here.
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=results/table1/rnnrbm-lstm
python=${PYTHON:-.venv/bin/python}
slug() { tr 'A-Z ' 'a-z-' <<<"$1"; }
config=$1; shift
for data in "$@"; do
  name="$config-$(slug "$data")"
  out=runs/rnnrbm-lstm/$name dest=$here/$name
  mkdir -p "$out" "$dest"
  stamp() { echo "$(date -u +%FT%TZ) $1" >> "$dest/times.txt"; }
  echo "commit $(git rev-parse HEAD)" > "$dest/times.txt"
  stamp "train --config $config --recurrence lstm --data \"$data\""
  "$python" rnnrbm.py train --config "$config" --recurrence lstm --data "$data" --out "$out" \
    --overwrite > "$dest/stdout.txt" 2>&1
  cp "$out"/{best.npz,log.tsv,valid.tsv,rbm-log.tsv,rnn-log.tsv,rnn-valid.tsv} "$dest/"
  stamp "evaluate (whole test split)"
  "$python" rnnrbm.py evaluate "$out/best.npz" --pickle "$data" --ais-dtype float32 --jobs 1 \
    --out "$dest/metrics-test.json" 2> "$dest/evaluate-test.log" >/dev/null
  stamp "evaluate --frames 1000 --mixing 1000"
  "$python" rnnrbm.py evaluate "$out/best.npz" --pickle "$data" --frames 1000 --mixing 1000 \
    --ais-dtype float32 --jobs 1 --out "$dest/mixing-test.json" 2> "$dest/mixing-test.log" >/dev/null
  stamp done
done
