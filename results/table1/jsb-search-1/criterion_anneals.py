"""Model selection's criterion (scoring.validation_log_likelihood, seed 4321,
float32) with several anneals, on the first 10 validation sequences of JSB
Chorales (619 frames), for three models of the first search. Run from the
project folder: python results/table1/jsb-search-1/criterion_anneals.py [CHECKPOINT ...]"""
import sys
import time

import numpy as np

sys.path.insert(0, ".")
from polyphonic.music.datasets import load_pickle_rolls  # noqa: E402
from polyphonic.evaluation.scoring import validation_log_likelihood  # noqa: E402
from polyphonic.models.numpy_rnnrbm import PARAM_NAMES  # noqa: E402

ANNEALS = [(5, 100), (5, 1000), (20, 1000)]
rolls = load_pickle_rolls("data/JSB Chorales.pickle", "valid")[:10]
for path in sys.argv[1:]:
    with np.load(path) as state:
        params = {name: state[name].astype(np.float64) for name in PARAM_NAMES + ("u0",)}
    for chains, temperatures in ANNEALS:
        start = time.perf_counter()
        value = validation_log_likelihood(params, rolls, chains, temperatures)
        print(f"{path}\t{chains} x {temperatures}\t{value:.4f}\t"
              f"{time.perf_counter() - start:.1f} s", flush=True)
