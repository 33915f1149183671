# A tiny piano-roll data set in the paper's pickle format: 3 songs of 12 frames
# per split, 1-3 notes among MIDI 60..71 per frame (seeded).
import pickle, sys
import numpy as np
rng = np.random.default_rng(0)
dataset = {split: [[sorted({60 + int(p) for p in rng.integers(0, 12, rng.integers(1, 4))})
                    for _ in range(12)] for _ in range(3)] for split in ("train", "valid", "test")}
open(sys.argv[1], "wb").write(pickle.dumps(dataset))
