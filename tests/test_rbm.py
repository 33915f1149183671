"""The plain RBM (models/rbm.py): its sampler and its training against exact enumeration."""

import numpy as np

from polyphonic.models import numpy_rnnrbm as ref
from polyphonic.models import rbm


def test_samples_follow_the_exact_distribution():
    """20,000 chains of 30 steps from zeros on a 3 x 2 RBM. Chi-square with 7
    degrees of freedom: 24.3 is its 0.999 quantile (fixed seed)."""
    model = rbm.Rbm(3, 2, seed=4)
    rng = np.random.default_rng(5)
    W, bv, bh = rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=2)
    for shared, value in zip(model.params, (W, bv, bh)):
        shared.set_value(value)
    n = 20000
    samples = model.sample(n, 30)
    states, p = ref.exact_rbm_distribution(W, bv, bh)
    counts = np.array([(samples == x).all(axis=1).sum() for x in states])
    assert counts.sum() == n
    chi2 = ((counts - n * p) ** 2 / (n * p)).sum()
    assert chi2 < 24.3, (counts, n * p)


def test_every_row_is_visited_once_per_epoch_in_a_new_order():
    model = rbm.Rbm(2, 2, seed=1)
    dataset = [np.arange(14).reshape(7, 2), np.arange(14, 20).reshape(3, 2)]
    epochs = []
    for _ in range(2):
        batches, count = model.batches(dataset, 4)
        batches = list(batches)
        assert count == len(batches) == 3 and [len(b) for b in batches] == [4, 4, 2]
        epochs.append(np.concatenate(batches)[:, 0])
    for order in epochs:
        assert sorted(order) == list(range(0, 20, 2))
    assert list(epochs[0]) != list(epochs[1])


def test_cd_training_raises_the_exact_log_likelihood_of_the_data():
    """Frames drawn from two patterns with noise; CD-1 must move the tiny RBM's
    exact (enumerated) log-likelihood of them well up."""
    rng = np.random.default_rng(2)
    patterns = np.array([[1, 1, 0, 0, 1], [0, 0, 1, 1, 0]], dtype=float)
    data = patterns[rng.integers(2, size=400)]
    data = np.abs(data - (rng.random(data.shape) < 0.05))
    model = rbm.Rbm(5, 4, lr=0.1, k=1, seed=3)

    def log_likelihood():
        W, bv, bh = (p.get_value() for p in model.params)
        states, p = ref.exact_rbm_distribution(W, bv, bh)
        index = (data @ (2 ** np.arange(4, -1, -1))).astype(int)
        return np.log(p[index]).mean()

    before = log_likelihood()
    model.train_rolls([data], batch_size=20, num_epochs=30)
    after = log_likelihood()
    assert before < -3.4 and after > -2.2, (before, after)
