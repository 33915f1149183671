"""The RNN alone (models/rnn.py) against NumPy (models/numpy_rnnrbm.py) and finite differences."""

import numpy as np
import pytest

from polyphonic.models import numpy_rnnrbm as ref
from polyphonic.models import rnn


def random_params(rng, n_visible=6, n_hidden_recurrent=4, scale=0.5):
    shapes = dict(Wvu=(n_visible, n_hidden_recurrent), Wuu=(n_hidden_recurrent,) * 2,
                  bu=(n_hidden_recurrent,), Wuv=(n_hidden_recurrent, n_visible),
                  bv=(n_visible,), u0=(n_hidden_recurrent,))
    return {name: rng.normal(scale=scale, size=shape) for name, shape in shapes.items()}


def numpy_log_likelihoods(v, p):
    """log P(v_t | v_<t) per frame: independent Bernoullis with p_t = sigmoid(bv_t)."""
    _, u_prev = ref.rnn_states(v, p)
    activation = p["bv"] + u_prev @ p["Wuv"]
    prob = ref.sigmoid(activation)
    return np.sum(v * np.log(prob) + (1 - v) * np.log(1 - prob), axis=1), prob


@pytest.fixture(scope="module")
def model():
    return rnn.Rnn(n_hidden_recurrent=4, r=(60, 66), lr=0.1, seed=1)


def set_params(model, p):
    for shared in model.params:
        shared.set_value(p[shared.name])


def test_log_likelihoods_and_probabilities_match_numpy(model):
    rng = np.random.default_rng(0)
    p = random_params(rng)
    set_params(model, p)
    v = (rng.random((9, 6)) < 0.4).astype(float)
    want_ll, want_prob = numpy_log_likelihoods(v, p)
    np.testing.assert_allclose(model.log_likelihoods(v), want_ll, rtol=1e-12)
    np.testing.assert_allclose(model.probabilities(v), want_prob, rtol=1e-12)


def test_a_training_step_follows_the_gradient_of_the_exact_likelihood(model):
    """One SGD step (lr 0.1) against central finite differences of the NumPy
    mean log-likelihood, for every entry of every parameter."""
    rng = np.random.default_rng(1)
    p = random_params(rng)
    set_params(model, p)
    v = (rng.random((7, 6)) < 0.4).astype(float)
    monitor = model.train_function(v)
    assert monitor == pytest.approx(numpy_log_likelihoods(v, p)[0].mean(), rel=1e-12)
    for shared in model.params:
        name, step = shared.name, shared.get_value() - p[shared.name]
        gradient = np.zeros_like(p[name])
        for i in np.ndindex(p[name].shape):
            for sign in (1, -1):
                q = {k: a.copy() for k, a in p.items()}
                q[name][i] += sign * 1e-6
                gradient[i] += sign * numpy_log_likelihoods(v, q)[0].mean() / 2e-6
        np.testing.assert_allclose(step, 0.1 * gradient, rtol=1e-5, atol=1e-9, err_msg=name)


def test_training_learns_a_repeating_pattern():
    pattern = np.eye(6)[[0, 2, 4, 1, 3, 5] * 6]
    model = rnn.Rnn(n_hidden_recurrent=8, r=(60, 66), lr=0.01, optimizer="adam", seed=2,
                    init_scale=0.3)
    before = model.log_likelihoods(pattern).mean()
    model.train_rolls([pattern], batch_size=100, num_epochs=300)
    after = model.log_likelihoods(pattern).mean()
    assert before < -3.5 and after > -0.5, (before, after)
