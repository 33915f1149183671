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
#
# Run again, it skips the steps whose results are here and continues the
# others where they stopped (training from its checkpoint, evaluations from
# their caches). STEPS="train" runs only the named steps (of train, evaluate,
# mixing); JOBS=2 evaluates in two processes; RNN_FROM=FOLDER starts the
# training with the finished RNN pretraining in FOLDER (another run's, made
# with the same pretraining settings: pretraining is deterministic, and
# pretrain.load_or_build redoes one made otherwise).
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=results/table1/rnnrbm-lstm
python=${PYTHON:-.venv/bin/python}
steps=" ${STEPS:-train evaluate mixing} "
slug() { tr 'A-Z ' 'a-z-' <<<"$1"; }
config=$1; shift
for data in "$@"; do
  name="$config-$(slug "$data")"
  out=runs/rnnrbm-lstm/$name dest=$here/$name
  mkdir -p "$out" "$dest"
  stamp() { echo "$(date -u +%FT%TZ) commit $(git rev-parse --short HEAD): $1" >> "$dest/times.txt"; }
  train=(train --config "$config" --recurrence lstm --data "$data" --out "$out")
  if [[ $steps == *" train "* && ! -f $dest/best.npz ]]; then
    if [ -f "$out/checkpoint.npz" ]; then
      train+=(--resume "$out/checkpoint.npz")
    else
      train+=(--overwrite)
      [ -z "${RNN_FROM:-}" ] || cp "$RNN_FROM"/{rnn-log.tsv,rnn-valid.tsv,rnn-best.npz,rnn.npz} "$out/"
    fi
    stamp "${train[*]}${RNN_FROM:+ (RNN pretraining from $RNN_FROM)}"
    "$python" rnnrbm.py "${train[@]}" >> "$dest/stdout.txt" 2>&1
    cp "$out"/{log.tsv,valid.tsv,rbm-log.tsv,rnn-log.tsv,rnn-valid.tsv,best.npz} "$dest/"
  fi
  evaluate=(evaluate "$out/best.npz" --pickle "$data" --ais-dtype float32 --jobs "${JOBS:-1}")
  if [[ $steps == *" evaluate "* && -f $dest/best.npz && ! -f $dest/metrics-test.json ]]; then
    stamp "${evaluate[*]} (whole test split)"
    "$python" rnnrbm.py "${evaluate[@]}" --cache "$out/cache-test" \
      --out "$dest/metrics-test.json" 2>> "$dest/evaluate-test.log" >/dev/null
  fi
  if [[ $steps == *" mixing "* && -f $dest/best.npz && ! -f $dest/mixing-test.json ]]; then
    stamp "${evaluate[*]} --frames 1000 --mixing 1000"
    "$python" rnnrbm.py "${evaluate[@]}" --frames 1000 --mixing 1000 --cache "$out/cache-mixing" \
      --out "$dest/mixing-test.json" 2>> "$dest/mixing-test.log" >/dev/null
  fi
  stamp "done: ${steps# }"
done
