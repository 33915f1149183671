"""A plain RBM over binary vectors, trained by CD-k on shuffled mini-batches.

Two uses: the RBM pretraining of the RNN-RBM (Boulanger-Lewandowski et al.
2012: an RBM trained on the fully shuffled frames of the training set
initialises W, bv, bh, and the model then starts as independent RBMs), and the
snippet generator of the project's first TensorFlow post, an RBM over windows
of consecutive frames flattened into one vector (snippet.SnippetRbm). The
Gibbs chain is the tutorial's (rnnrbm.build_rbm).
"""

import numpy as np
import pytensor
import pytensor.tensor as pt

from polyphonic.training import trainable
from rnnrbm import BACKENDS, build_rbm, link_openblas, shared_normal, shared_zeros


class Rbm(trainable.Trainable):
    """An RBM with compiled functions to train and to sample.

    train_function(batch) -> the batch's monitor (rnnrbm.build_rbm), after one
        CD-k step on the batch (rows are training vectors).
    sample(n, steps) -> n vectors, each the end of a Gibbs chain of `steps`
        steps started at zeros.
    """

    kind = "rbm"

    def __init__(self, n_visible, n_hidden=150, lr=0.01, k=1, momentum=0.0, seed=0xBEEF,
                 dtype="float64", backend="c"):
        """Build and compile the model. W is drawn from N(0, 0.01**2) (the
        tutorial's scale), the biases start at zero."""
        self.config = dict(n_visible=n_visible, n_hidden=n_hidden, lr=lr, k=k,
                           momentum=momentum, seed=seed, dtype=dtype, backend=backend)
        self.dtype = dtype
        self.start_history(seed)
        link_openblas()
        init = np.random.default_rng(seed)
        W = shared_normal(init, (n_visible, n_hidden), 0.01, dtype, "W")
        bv, bh = shared_zeros(n_visible, dtype, "bv"), shared_zeros(n_hidden, dtype, "bh")
        self.params = (W, bv, bh)
        self.rng = pytensor.shared(np.random.default_rng(init.integers(2**63)), name="rng")
        fused = backend == "c"
        v = pt.matrix("v", dtype=dtype)
        v_sample, cost, monitor, next_rng = build_rbm(v, W, bv, bh, k, self.rng, fused)
        gradients = pytensor.grad(cost, self.params, consider_constant=[v_sample])
        updates, self.optimizer_state = trainable.updates(
            self.params, gradients, [lr] * 3, momentum=momentum)
        mode = BACKENDS[backend]
        self.train_function = pytensor.function(
            [v], monitor, updates=updates + [(self.rng, next_rng)], mode=mode)
        n, steps = pt.iscalar("n"), pt.iscalar("steps")
        samples, _, _, sample_rng = build_rbm(pt.zeros((n, n_visible), dtype=dtype), W, bv, bh,
                                              steps, self.rng, fused)
        self.sample = pytensor.function([n, steps], samples,
                                        updates=[(self.rng, sample_rng)], mode=mode)

    def batches(self, dataset, batch_size):
        """Shuffled mini-batches of all frames of all songs (Trainable.shuffled_rows)."""
        return self.shuffled_rows(dataset, batch_size)
