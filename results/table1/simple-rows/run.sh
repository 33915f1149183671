#!/usr/bin/env bash
# Table 1's simple rows on the four data sets: `run.sh rbm` (the RBM row) or
# `run.sh rnn` (the RNN rows: rnn-sgd, then rnn). Each data set is one train
# command with a named configuration and one evaluate command on its best
# epoch (an RBM's log Z with 100,000 AIS temperatures, and again with 10,000
# to see that they agree); runs go to runs/simple-rows/CONFIG-DATA, the
# figures (JSON, with the command that made them), logs and best.npz here.
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=results/table1/simple-rows
python=${PYTHON:-.venv/bin/python}
slug() { tr 'A-Z ' 'a-z-' <<<"$1"; }

row() {  # row CONFIG DATA [EVALUATE OPTIONS...]
  local config=$1 data=$2 name out; shift 2
  name="$config-$(slug "$data")"
  out=runs/simple-rows/$name
  mkdir -p "$here/$name"
  "$python" rnnrbm.py train --config "$config" --data "$data" --out "$out" --overwrite \
    > "$here/$name/stdout.txt" 2>&1
  cp "$out/best.npz" "$out/log.tsv" "$out/valid.tsv" "$here/$name/"
  "$python" rnnrbm.py evaluate "$out/best.npz" --pickle "$data" --jobs 1 "$@" \
    --out "$here/$name/metrics-test.json" 2> "$here/$name/evaluate-test.log" >/dev/null
}

mkdir -p runs/simple-rows
for data in "JSB Chorales" "Piano-midi.de" Nottingham MuseData; do
  case $1 in
    rbm) row rbm "$data" --temperatures 100000
         name="rbm-$(slug "$data")"  # the same at 10,000 temperatures: has AIS converged?
         "$python" rnnrbm.py evaluate "$here/$name/best.npz" --pickle "$data" --temperatures \
           10000 --mixing 0 --out "$here/$name/metrics-test-10000.json" 2>/dev/null >/dev/null ;;
    rnn) row rnn-sgd "$data"; row rnn "$data" ;;
  esac
done
