"""The mixing check (evaluation/mixing.py): chains from every start agree with exact
enumeration on an RBM that mixes, and are told apart on one that cannot."""

import numpy as np

from polyphonic.evaluation import mixing
from polyphonic.models.numpy_rnnrbm import exact_rbm_distribution


def test_chains_from_every_start_find_the_exact_marginals():
    rng = np.random.default_rng(4)
    W, bv, bh = rng.normal(0, 0.8, (6, 3)), rng.normal(0, 0.5, 6), rng.normal(0, 0.5, 3)
    states, p = exact_rbm_distribution(W, bv, bh)
    exact = p @ states
    for start in (np.zeros((1, 6)), np.ones((1, 6))):
        got = mixing.chain_marginals(W, bv[None], bh[None], start, np.random.default_rng(5),
                                     chains=200, burn_in=50, samples=200, thin=1)
        # 40,000 correlated Rao-Blackwellised draws: a standard error near 0.002.
        np.testing.assert_allclose(got[0], exact, atol=0.015)


def bimodal(n=12):
    """An RBM with two modes of equal mass, every note off and every note on:
    one hidden unit switches the notes' bias from -4 to +4, and it turns on only
    when more than half of them are on, so a Gibbs chain stays in its mode
    (leaving it takes 6 of 12 notes off at once, probability about 1e-8)."""
    return np.full((n, 1), 8.0), np.full(n, -4.0), np.array([-4.0 * n])


def test_chains_that_cannot_leave_their_mode_are_reported_unmixed():
    W, bv, bh = bimodal()
    frames = np.ones((3, 12))  # every note sounds
    starts = dict(zeros=np.zeros((3, 12)), previous=np.ones((3, 12)))
    result = mixing.mixing_check(W, np.tile(bv, (3, 1)), np.tile(bh, (3, 1)), frames, starts,
                                 seed=1)
    by_start = result["accuracy_by_start"]
    assert by_start["zeros"]["paper"] == 0.0 and by_start["previous"]["paper"] == 1.0
    assert result["accuracy_paper_spread"] == 1.0 and not result["mixed"]
    assert result["marginal_difference"] > 0.9  # sigmoid(4) - sigmoid(-4) = 0.96


def test_chains_that_mix_are_reported_mixed_and_given_marginals_join_the_comparison():
    rng = np.random.default_rng(6)
    W, bv, bh = rng.normal(0, 0.5, (8, 4)), rng.normal(0, 0.5, (5, 8)), rng.normal(0, 0.5, (5, 4))
    frames = (rng.random((5, 8)) < 0.5).astype(float)
    starts = dict(zeros=np.zeros((5, 8)), previous=frames, data=frames[::-1])
    result = mixing.mixing_check(W, bv, bh, frames, starts, seed=2, chains=50)
    assert result["mixed"] and result["accuracy_paper_spread"] <= mixing.TOLERANCE
    assert result["marginal_difference"] < 0.03
    # Marginals that disagree (all notes certain) break the agreement.
    wrong = mixing.mixing_check(W, bv, bh, frames, starts, seed=2, chains=50,
                                given=dict(ais=1.0 - frames))
    assert not wrong["mixed"] and set(wrong["accuracy_by_start"]) == {*starts, "ais"}


def test_starting_frames_are_zeros_the_previous_true_frame_and_data_frames():
    rolls = [np.array([[1, 0], [0, 1], [1, 1]]), np.array([[0, 1]])]
    starts = mixing.starting_frames(rolls, seed=0)
    np.testing.assert_array_equal(starts["zeros"], np.zeros((4, 2)))
    np.testing.assert_array_equal(starts["previous"], [[0, 0], [1, 0], [0, 1], [0, 0]])
    frames = np.concatenate(rolls)
    assert all(any((row == f).all() for f in frames) for row in starts["data"])
