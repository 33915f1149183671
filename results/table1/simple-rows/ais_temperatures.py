import sys, numpy as np, time
from polyphonic.evaluation.scoring import ais_log_partition
from polyphonic.models.numpy_rnnrbm import free_energies
from polyphonic.music.datasets import load_pickle_rolls
from polyphonic.training.checkpoints import read_checkpoint
st = read_checkpoint(sys.argv[1]); W, bv, bh = (st[k].astype(float) for k in ("W", "bv", "bh"))
frames = np.concatenate(load_pickle_rolls(sys.argv[2], "valid", (21, 109))).astype(float)
F = np.mean(-free_energies(frames, W, bv, bh))
for chains, temps in [(100, 1000), (100, 10000), (100, 100000)]:
    for seed in (1, 2):
        t = time.perf_counter()
        lz, se = ais_log_partition(W, bv[None], bh[None], np.random.default_rng(seed), chains, temps)
        print(chains, temps, seed, round(F - lz[0], 3), round(se[0], 3), round(time.perf_counter() - t, 1), flush=True)
