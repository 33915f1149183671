"""Parallel tempering (evaluation/tempering.py) against exact enumeration,
where plain Gibbs chains cannot leave the mode they start in."""

import numpy as np

from polyphonic.evaluation import mixing, tempering
from polyphonic.models.numpy_rnnrbm import exact_rbm_distribution
from tests.test_mixing import bimodal


def test_tempering_crosses_between_modes_that_gibbs_chains_cannot_leave():
    """The two-mode RBM of test_mixing (all notes off or all on, equal mass):
    from either start, the tempered chains' marginals are the exact 1/2 within
    0.06 (20 replicas x 500 samples, fixed seed; measured 0.513 and 0.516),
    where Gibbs chains read sigmoid(-4) = 0.018 or sigmoid(4) = 0.982, and
    every neighbouring pair of temperatures swaps often."""
    W, bv, bh = bimodal()
    states, p = exact_rbm_distribution(W, bv, bh)
    exact = p @ states
    assert np.allclose(exact, 0.5, atol=1e-6)
    rows = (np.tile(bv, (2, 1)), np.tile(bh, (2, 1)))
    for start in (np.zeros((2, 12)), np.ones((2, 12))):
        settings = dict(chains=20, burn_in=200, samples=500, thin=1)
        tempered, acceptance = tempering.tempered_marginals(W, *rows, start,
                                                            np.random.default_rng(1), **settings)
        np.testing.assert_allclose(tempered, exact[None].repeat(2, 0), atol=0.06)
        assert acceptance.min() > 0.5
        gibbs = mixing.chain_marginals(W, *rows, start, np.random.default_rng(1), **settings)
        assert np.abs(gibbs - 0.5).min() > 0.45


def test_tempered_marginals_of_rbms_with_their_own_biases_match_enumeration():
    rng = np.random.default_rng(3)
    W, bv, bh = rng.normal(0, 1.5, (7, 4)), rng.normal(0, 1, (3, 7)), rng.normal(0, 1, (3, 4))
    got, _ = tempering.tempered_marginals(W, bv, bh, np.zeros((3, 7)), np.random.default_rng(4),
                                          chains=50, burn_in=100, samples=400, thin=1)
    for i in range(3):
        states, p = exact_rbm_distribution(W, bv[i], bh[i])
        np.testing.assert_allclose(got[i], p @ states, atol=0.03)


def test_the_mixing_check_with_tempering_finds_the_modes_gibbs_chains_miss():
    """mixing_check(tempering=K) on the two-mode RBM: the plain check fails
    (each start stays in its mode), the tempered one passes, its marginals
    near the exact 1/2 from both starts."""
    W, bv, bh = bimodal()
    rows, frames = (np.tile(bv, (3, 1)), np.tile(bh, (3, 1))), np.ones((3, 12))
    starts = dict(zeros=np.zeros((3, 12)), previous=np.ones((3, 12)))
    assert not mixing.mixing_check(W, *rows, frames, starts, seed=1)["mixed"]
    check = mixing.mixing_check(W, *rows, frames, starts, seed=1, tempering=20, chains=20,
                                burn_in=200, samples=500, thin=1)
    assert check["mixed"] and check["sampler"] == "tempering"
    assert check["swap_acceptance_min"] > 0.5 and check["temperatures"] == 20
    assert all(abs(scores["expected"] - 0.5) < 0.06 for scores in
               check["accuracy_by_start"].values())
