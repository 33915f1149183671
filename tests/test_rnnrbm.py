"""The symbolic RNN-RBM against NumPy (models/numpy_rnnrbm.py), exact enumeration and statistics."""

import itertools

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import rnnrbm
from polyphonic.models import numpy_rnnrbm as ref

C = rnnrbm.BACKENDS["c"]


def random_params(rng, n_visible=6, n_hidden=5, n_hidden_recurrent=4, scale=0.5, u0=False):
    """Parameters large enough that every term of the gradient matters (and
    a learned initial state u0 if asked)."""
    shapes = dict(W=(n_visible, n_hidden), bv=(n_visible,), bh=(n_hidden,),
                  Wuh=(n_hidden_recurrent, n_hidden), Wuv=(n_hidden_recurrent, n_visible),
                  Wvu=(n_visible, n_hidden_recurrent),
                  Wuu=(n_hidden_recurrent, n_hidden_recurrent), bu=(n_hidden_recurrent,))
    if u0:
        shapes["u0"] = (n_hidden_recurrent,)
    return {name: rng.normal(scale=scale, size=shape) for name, shape in shapes.items()}


def binary(rng, shape, p=0.3):
    return (rng.random(shape) < p).astype("float64")


@pytest.fixture(scope="module", params=[False, True], ids=["u0 fixed", "u0 learned"])
def model(request):
    """A small symbolic RNN-RBM whose parameters the tests overwrite."""
    return rnnrbm.build_rnnrbm(6, 5, 4, seed=1, learn_u0=request.param)


def model_params(model, rng):
    return random_params(rng, u0=len(model["params"]) == 9)


def set_params(model, p):
    for shared in model["params"]:
        shared.set_value(p[shared.name])


def all_binary_vectors(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def test_free_energy_matches_enumeration_over_hidden_units():
    rng = np.random.default_rng(0)
    W, bv, bh = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=3)
    v = pt.vector()
    f = pytensor.function([v], rnnrbm.free_energy(v, W, bv, bh), mode=C)
    hs = all_binary_vectors(3)
    for x in all_binary_vectors(4):
        energies = -(x @ bv) - hs @ bh - hs @ (x @ W)  # E(v, h) for every h
        assert f(x) == pytest.approx(-np.log(np.exp(-energies).sum()), abs=1e-12)


def test_reconstruction_log_likelihood_matches_xlogy_and_stays_finite():
    rng = np.random.default_rng(1)
    v, a = pt.matrix(), pt.matrix()
    f = pytensor.function([v, a], rnnrbm.reconstruction_log_likelihood(v, a), mode=C)
    x, act = binary(rng, (7, 5)), rng.normal(scale=3, size=(7, 5))
    p = 1 / (1 + np.exp(-act))
    naive = (x * np.log(p) + (1 - x) * np.log(1 - p)).sum() / 7
    assert f(x, act) == pytest.approx(naive, rel=1e-12)
    # Saturated probabilities: the tutorial's formula gives -inf here.
    x = np.array([[1.0, 0.0]])
    assert f(x, np.array([[-800.0, 800.0]])) == pytest.approx(-1600.0)


def test_rnn_recurrence_and_biases_match_numpy(model):
    rng = np.random.default_rng(2)
    p = model_params(model, rng)
    set_params(model, p)
    f = pytensor.function([model["v"]], [model["u"], model["bv_t"], model["bh_t"]], mode=C)
    v = binary(rng, (9, 6))
    for got, want in zip(f(v), ref.rnn_biases(v, p)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.fixture(scope="module")
def cd_function(model):
    """(v, v_negative) -> [cost, monitor-free CD gradients], v_sample replaced by an input."""
    v_negative = pt.matrix("v_negative", dtype="float64")
    cost = pytensor.graph.clone_replace(model["cost"], {model["v_sample"]: v_negative})
    grads = pytensor.grad(cost, model["params"])
    return pytensor.function([model["v"], v_negative], [cost, *grads], mode=C)


def test_cd_cost_and_gradients_match_numpy(model, cd_function):
    rng = np.random.default_rng(3)
    p = model_params(model, rng)
    set_params(model, p)
    v, v_negative = binary(rng, (8, 6)), binary(rng, (8, 6), 0.5)
    cost, *grads = cd_function(v, v_negative)
    want_cost, want_grads = ref.cd_cost_and_gradients(v, v_negative, p)
    assert cost == pytest.approx(want_cost, rel=1e-12)
    for shared, got in zip(model["params"], grads):
        np.testing.assert_allclose(got, want_grads[shared.name], rtol=1e-9, atol=1e-12,
                                   err_msg=shared.name)


def test_numpy_gradients_match_finite_differences():
    """The NumPy reference's hand-derived gradient, checked independently."""
    rng = np.random.default_rng(4)
    p = random_params(rng, u0=True)
    v, v_negative = binary(rng, (5, 6)), binary(rng, (5, 6), 0.5)
    _, grads = ref.cd_cost_and_gradients(v, v_negative, p)
    eps = 1e-6
    for name in p:
        for index in list(np.ndindex(p[name].shape))[:6]:
            bumped = []
            for sign in (1, -1):
                q = {k: x.copy() for k, x in p.items()}
                q[name][index] += sign * eps
                bumped.append(ref.cd_cost_and_gradients(v, v_negative, q)[0])
            numeric = (bumped[0] - bumped[1]) / (2 * eps)
            assert grads[name][index] == pytest.approx(numeric, rel=1e-5, abs=1e-8), name


def test_gibbs_chain_samples_the_exact_rbm_distribution():
    """20,000 parallel chains after 30 steps against the enumerated distribution.

    Chi-square with 7 degrees of freedom: 24.3 is its 0.999 quantile, so a
    correct sampler fails this with probability 0.1 % (never, with the seed fixed).
    """
    rng = np.random.default_rng(5)
    W, bv, bh = rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=2)
    v = pt.matrix()
    shared_rng = pytensor.shared(np.random.default_rng(6))
    v_sample, _, _, next_rng = rnnrbm.build_rbm(v, W, bv, bh, 30, shared_rng)
    f = pytensor.function([v], v_sample, updates={shared_rng: next_rng}, mode=C)
    n = 20000
    samples = f(np.zeros((n, 3)))
    states, p = ref.exact_rbm_distribution(W, bv, bh)
    counts = np.array([(samples == x).all(axis=1).sum() for x in states])
    assert counts.sum() == n
    chi2 = ((counts - n * p) ** 2 / (n * p)).sum()
    assert chi2 < 24.3, (counts, n * p)


def test_monitor_and_cost_of_build_rbm_agree_with_numpy_given_the_same_chain():
    """With a deterministic RBM (saturated units) the chain is known exactly."""
    W = np.array([[40.0, -40.0], [-40.0, 40.0]])
    bv, bh = np.array([-20.0, -20.0]), np.array([-20.0, -20.0])
    # v=(1,0) -> h=(1,0) -> v=(1,0): a fixed point; the chain never moves.
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    v = pt.matrix()
    v_sample, cost, monitor, _ = rnnrbm.build_rbm(v, W, bv, bh, 3, pytensor.shared(np.random.default_rng(0)))
    got_sample, got_cost, got_monitor = pytensor.function([v], [v_sample, cost, monitor], mode=C)(x)
    np.testing.assert_array_equal(got_sample, x)
    assert got_cost == pytest.approx(0.0, abs=1e-12)
    activation = np.array([[1.0, 0.0], [0.0, 1.0]]) @ W.T + bv
    assert got_monitor == pytest.approx(ref.reconstruction_log_likelihood(x, activation))


@pytest.fixture(scope="module")
def small_model():
    return rnnrbm.RnnRbm(n_hidden=20, n_hidden_recurrent=10, lr=0.05, r=(60, 72), seed=7)


def toy_song(length=40):
    """An arpeggio over 12 pitches: each frame's note follows from the last."""
    roll = np.zeros((length, 12))
    roll[np.arange(length), (np.arange(length) * 4) % 12] = 1
    return roll


def test_training_on_a_toy_sequence_raises_the_monitor(small_model):
    song = toy_song()
    monitors = [small_model.train_function(song) for _ in range(150)]
    assert np.mean(monitors[-10:]) > np.mean(monitors[:10]) + 2.0, monitors[::15]


def test_training_is_repeatable_by_seed():
    song = toy_song()
    a, b, c = (rnnrbm.RnnRbm(n_hidden=20, n_hidden_recurrent=10, r=(60, 72), seed=s)
               for s in (21, 21, 22))
    runs = [[m.train_function(song) for _ in range(3)] for m in (a, b, c)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_generation_is_binary_with_the_tutorial_shape_and_repeatable_by_seed():
    a, b, c = (rnnrbm.RnnRbm(n_hidden=20, n_hidden_recurrent=10, seed=s) for s in (11, 11, 12))
    roll_a, roll_b, roll_c = a.generate_function(), b.generate_function(), c.generate_function()
    assert roll_a.shape == (200, 88)
    assert set(np.unique(roll_a)) <= {0.0, 1.0}
    np.testing.assert_array_equal(roll_a, roll_b)
    assert not np.array_equal(roll_a, roll_c)
    # An untrained model has all probabilities near 1/2.
    assert 0.45 < roll_a.mean() < 0.55
