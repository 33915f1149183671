# A plain RBM as an RNN-RBM checkpoint: the recurrent weights set to zero,
# W, bv, bh from the pretrained RBM, so every frame's conditional RBM is that RBM.
import sys, numpy as np
src, rbm, out = sys.argv[1:4]
with np.load(src) as f:
    entries = {k: f[k] for k in f.files}
with np.load(rbm) as f:
    r = {k: f[k] for k in f.files}
for name in ("Wuh", "Wuv"):
    entries[name] = np.zeros_like(entries[name])
for name in ("W", "bv", "bh"):
    entries[name] = r[name].astype(entries[name].dtype)
np.savez(out, **entries)
