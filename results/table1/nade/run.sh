#!/usr/bin/env bash
# Table 1's NADE and RNN-NADE rows on the four data sets: `run.sh nade` or
# `run.sh rnn-nade` (or another configuration; then data set names to run
# only those). Each data set is one train command with the named
# configuration and one evaluate command on its best epoch (exact
# log-likelihood; marginals from 100 exact draws per frame); runs go to
# runs/nade/CONFIG-DATA, the figures (JSON, with the command that made them),
# logs and best.npz here. TRAIN="--lr 0.01" TAG=lr-0.01 run.sh ... adds
# those train options and names the runs CONFIG-TAG-DATA.
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=results/table1/nade
python=${PYTHON:-.venv/bin/python}
slug() { tr 'A-Z ' 'a-z-' <<<"$1"; }
mkdir -p runs/nade
config=$1; shift
[ $# -gt 0 ] || set -- "JSB Chorales" "Piano-midi.de" Nottingham MuseData
for data in "$@"; do
  name="$config${TAG:+-$TAG}-$(slug "$data")"
  out=runs/nade/$name
  mkdir -p "$here/$name"
  # shellcheck disable=SC2086  # TRAIN is words
  "$python" rnnrbm.py train --config "$config" --data "$data" ${TRAIN:-} --out "$out" --overwrite \
    > "$here/$name/stdout.txt" 2>&1
  cp "$out/best.npz" "$out/log.tsv" "$out/valid.tsv" "$here/$name/"
  [ -f "$out/rnn-valid.tsv" ] && cp "$out/rnn-valid.tsv" "$out/rnn-log.tsv" "$here/$name/"
  "$python" rnnrbm.py evaluate "$out/best.npz" --pickle "$data" \
    --out "$here/$name/metrics-test.json" 2> "$here/$name/evaluate-test.log" >/dev/null
done
