#!/usr/bin/env bash
# The mixing check of every committed RNN-RBM on 1,000 frames drawn at random
# from its whole test split (evaluate --frames 1000 --mixing 1000: AIS 100 x
# 1,000 in float32 on those frames, and Gibbs chains from three starts);
# writes sampled-NAME.json here, each with its command.
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=results/table1/mixing
python=${PYTHON:-.venv/bin/python}
check() {  # check NAME CHECKPOINT DATA
  "$python" rnnrbm.py evaluate "$2" --pickle "$3" --frames 1000 --mixing 1000 \
    --ais-dtype float32 --jobs 1 --out "$here/sampled-$1.json" >/dev/null 2>>"$here/sampled-stderr.txt"
}
check jsb-chorales-paper results/table1/jsb-chorales/best.npz "JSB Chorales"
check jsb-chorales-tuned results/table1/jsb-chorales-tuned/best.npz "JSB Chorales"
check piano-midi.de-tuned results/table1/piano-midi.de/best.npz Piano-midi.de
check nottingham-paper results/paper-nottingham/recipe/best.npz Nottingham
check nottingham-tuned results/table1/nottingham/best.npz Nottingham
check musedata-tuned results/table1/musedata/best.npz MuseData
