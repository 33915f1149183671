#!/usr/bin/env bash
# Parallel tempering in the mixing check of the models whose Gibbs chains do not
# mix: evaluate --tempering K on 100 frames drawn at random from the test split
# (AIS there is a short 20 x 100 anneal: only the check's chains matter here),
# for K = 10, 20, 40 temperatures; writes tempering-NAME-K.json here.
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=results/table1/mixing
python=${PYTHON:-.venv/bin/python}
for k in 10 20 40; do
  for model in "nottingham-tuned results/table1/nottingham/best.npz Nottingham" \
               "jsb-chorales-tuned results/table1/jsb-chorales-tuned/best.npz JSB_Chorales"; do
    read -r name checkpoint data <<<"$model"
    "$python" rnnrbm.py evaluate "$checkpoint" --pickle "${data//_/ }" --frames 100 --mixing 100 \
      --tempering "$k" --chains 20 --temperatures 100 --jobs 1 \
      --out "$here/tempering-$name-$k.json" >/dev/null 2>>"$here/tempering-stderr.txt"
  done
done
