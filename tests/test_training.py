"""trainable.updates against NumPy transcriptions of each rule, step by step."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import rnnrbm
from polyphonic.training import trainable


def quadratic_steps(method, steps=4, dtype="float64", **options):
    """Run `steps` updates on f(a, b) = sum(c * a**2) + sum(b**3 / 3); return the
    parameter values after each step."""
    c = np.array([1.0, -2.0, 3.0])
    a = pytensor.shared(np.array([0.5, -1.0, 2.0], dtype=dtype), name="a")
    b = pytensor.shared(np.array([1.5, 0.25], dtype=dtype), name="b")
    cost = (c * a ** 2).sum() + (b ** 3 / 3).sum()
    pairs, _ = trainable.updates([a, b], pytensor.grad(cost, [a, b]), [0.1, 0.05],
                                method=method, **options)
    step = pytensor.function([], [], updates=pairs, mode=rnnrbm.BACKENDS["c"])
    values = []
    for _ in range(steps):
        step()
        values.append((a.get_value(), b.get_value()))
    return values


def numpy_steps(method, steps=4, momentum=0.0, clip_norm=None, clip_value=None):
    c = np.array([1.0, -2.0, 3.0])
    params = [np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25])]
    lrs = [0.1, 0.05]
    velocity = [np.zeros_like(p) for p in params]
    m = [np.zeros_like(p) for p in params]
    s = [np.zeros_like(p) for p in params]
    values = []
    for t in range(1, steps + 1):
        grads = [2 * c * params[0], params[1] ** 2]
        if clip_value is not None:
            grads = [np.clip(g, -clip_value, clip_value) for g in grads]
        if clip_norm is not None:
            norm = np.sqrt(sum((g ** 2).sum() for g in grads))
            grads = [g * min(1.0, clip_norm / norm) for g in grads]
        for i, (g, lr) in enumerate(zip(grads, lrs)):
            if method == "adam":
                m[i] = 0.9 * m[i] + 0.1 * g
                s[i] = 0.999 * s[i] + 0.001 * g ** 2
                # Kingma and Ba's efficient form (end of their section 2).
                step = lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
                params[i] = params[i] - step * m[i] / (np.sqrt(s[i]) + 1e-8)
            else:
                # Sutskever et al. (2013): the gradient at the look-ahead point,
                # rewritten (Bengio et al. 2013) to use the gradient at params.
                previous = velocity[i]
                velocity[i] = momentum * previous - lr * g
                params[i] = params[i] - momentum * previous + (1 + momentum) * velocity[i]
        values.append([p.copy() for p in params])
    return values


@pytest.mark.parametrize("options", [
    dict(), dict(momentum=0.9), dict(momentum=0.5, clip_norm=1.0), dict(clip_value=0.5),
])
def test_sgd_with_momentum_and_clipping_matches_numpy(options):
    got, want = quadratic_steps("sgd", **options), numpy_steps("sgd", **options)
    for (a, b), (a_ref, b_ref) in zip(got, want):
        np.testing.assert_allclose(a, a_ref, rtol=1e-12)
        np.testing.assert_allclose(b, b_ref, rtol=1e-12)


def test_adam_matches_numpy():
    for (a, b), (a_ref, b_ref) in zip(quadratic_steps("adam"), numpy_steps("adam")):
        np.testing.assert_allclose(a, a_ref, rtol=1e-12)
        np.testing.assert_allclose(b, b_ref, rtol=1e-12)


def test_float32_parameters_stay_float32():
    for method, options in (("sgd", dict(momentum=0.9, clip_value=1.0, clip_norm=2.0)),
                            ("adam", {})):
        (a, b), *_ = quadratic_steps(method, steps=1, dtype="float32", **options)
        assert a.dtype == b.dtype == np.float32


def test_unknown_method_is_refused():
    p = pytensor.shared(np.zeros(2), name="p")
    with pytest.raises(ValueError, match="rmsprop"):
        trainable.updates([p], [pt.ones(2)], [0.1], method="rmsprop")


def test_a_learning_rate_scale_multiplies_every_step():
    """scale = 0.5 halves each SGD step; scale = 0 stops training."""
    a = pytensor.shared(np.array([1.0, -2.0]), name="a")
    scale = pytensor.shared(np.float64(0.5), name="scale")
    pairs, _ = trainable.updates([a], [2 * a], [0.1], scale=scale)
    step = pytensor.function([], [], updates=pairs, mode=rnnrbm.BACKENDS["c"])
    step()
    np.testing.assert_allclose(a.get_value(), [1.0 - 0.5 * 0.1 * 2.0, -2.0 + 0.5 * 0.1 * 4.0])
    scale.set_value(np.float64(0.0))
    before = a.get_value()
    step()
    np.testing.assert_array_equal(a.get_value(), before)
