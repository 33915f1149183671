"""How long must the mixing check's chains run? On the first test sequences of a model,
paper accuracy of the note marginals of Gibbs chains from each start, for several chain
lengths, beside AIS's (100 chains x 1,000 temperatures).

    python results/table1/mixing/calibrate.py CHECKPOINT DATASET SEQUENCES
"""

import sys
import time

import numpy as np

from polyphonic.evaluation import mixing, scoring
from polyphonic.models.numpy_rnnrbm import PARAM_NAMES
from polyphonic.music.datasets import load_pickle_rolls
from polyphonic.paths import DATA
from polyphonic.training import checkpoints

checkpoint, dataset, sequences = sys.argv[1], sys.argv[2], int(sys.argv[3])
state = checkpoints.read_checkpoint(checkpoint)
params = {n: state[n].astype(np.float64) for n in PARAM_NAMES + ("u0",) * ("u0" in state)}
rolls = load_pickle_rolls(f"{DATA}/{dataset}.pickle", "test")[:sequences]
frames = np.concatenate(rolls).astype(np.float64)
bv, bh = scoring.conditional_biases(params, rolls)
start = time.perf_counter()
_, _, ais = scoring.ais_log_partition(params["W"], bv, bh, np.random.default_rng(1), 100, 1000,
                                      "float32", marginals=True)
print(f"{checkpoint}, {len(frames)} frames of {dataset} test")
print(f"ais\t100 x 1000\t{100 * mixing.accuracies(ais, frames)['paper']:.2f}\t"
      f"({time.perf_counter() - start:.0f} s)", flush=True)
starts = mixing.starting_frames(rolls, seed=1234)
for burn_in, samples, thin in ((100, 100, 2), (1000, 100, 10), (10000, 100, 100)):
    row = []
    start = time.perf_counter()
    for name, first in starts.items():
        m = mixing.chain_marginals(params["W"], bv, bh, first, np.random.default_rng(2),
                                   chains=10, burn_in=burn_in, samples=samples, thin=thin,
                                   dtype="float32")
        row.append(f"{name} {100 * mixing.accuracies(m, frames)['paper']:.2f}")
    print(f"chains\t{burn_in} + {samples} x {thin}\t" + "\t".join(row)
          + f"\t({time.perf_counter() - start:.0f} s)", flush=True)
