"""NADE and the RNN-NADE against enumeration, finite differences and the
note-by-note NumPy transcription (models/numpy_nade.py)."""

import itertools

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import stats

from polyphonic.models import numpy_nade
from polyphonic.models.nade import Nade, RnnNade, nade_log_likelihoods
from polyphonic.models.numpy_rnnrbm import rnn_biases

N, H = 5, 3
STATES = np.array(list(itertools.product([0.0, 1.0], repeat=N)))


def tiny_nade(seed, scale=1.5):
    rng = np.random.default_rng(seed)
    return dict(W=rng.normal(scale=scale, size=(N, H)), V=rng.normal(scale=scale, size=(N, H)),
                bv=rng.normal(size=N), bh=rng.normal(size=H))


def compiled_log_likelihoods():
    v, W, V, bv, bh = pt.dmatrix("v"), pt.dmatrix("W"), pt.dmatrix("V"), pt.dvector("bv"), \
        pt.dvector("bh")
    log_likelihoods, _ = nade_log_likelihoods(v, W, V, bv, bh)
    total = log_likelihoods.sum()
    return pytensor.function([v, W, V, bv, bh],
                             [log_likelihoods, *pytensor.grad(total, [W, V, bv, bh])])


def test_probabilities_sum_to_one_and_match_the_transcription():
    f = compiled_log_likelihoods()
    for seed in range(3):
        p = tiny_nade(seed)
        compiled = f(STATES, p["W"], p["V"], p["bv"], p["bh"])[0]
        np.testing.assert_allclose(compiled, numpy_nade.log_likelihoods(STATES, **p), atol=1e-12)
        assert np.exp(compiled).sum() == pytest.approx(1.0, abs=1e-12)
        assert np.ptp(compiled) > 2  # far from uniform: the sum could be wrong


def test_gradient_matches_finite_differences_of_the_transcription():
    f = compiled_log_likelihoods()
    p = tiny_nade(4)
    v = STATES[np.random.default_rng(5).integers(0, len(STATES), 7)]
    gradients = dict(zip(("W", "V", "bv", "bh"), f(v, p["W"], p["V"], p["bv"], p["bh"])[1:]))
    eps = 1e-6
    for name, gradient in gradients.items():
        for index in np.ndindex(p[name].shape):
            up, down = ({**p, name: p[name].copy()} for _ in range(2))
            up[name][index] += eps
            down[name][index] -= eps
            numeric = (numpy_nade.log_likelihoods(v, **up).sum()
                       - numpy_nade.log_likelihoods(v, **down).sum()) / (2 * eps)
            assert gradient[index] == pytest.approx(numeric, abs=1e-6), (name, index)


def test_the_sampler_draws_from_the_enumerated_distribution():
    """Chi-square of 20,000 exact draws against the 32 enumerated
    probabilities: p-value above 0.001 (fixed seed); the same draws against
    another NADE's probabilities are rejected, so the test can fail. Its
    Rao-Blackwellised marginals match the exact ones within 0.01 (about four
    standard errors of a mean of 20,000 draws)."""
    p, other = tiny_nade(6), tiny_nade(7)
    probabilities = np.exp(numpy_nade.log_likelihoods(STATES, **p))
    v, q = numpy_nade.sample(np.random.default_rng(8), p["W"], p["V"], p["bv"][None],
                             p["bh"][None], 20000)
    index = (v[:, 0] @ (2 ** np.arange(N)[::-1])).astype(int)
    counts = np.bincount(index, minlength=len(STATES))
    assert stats.chisquare(counts, 20000 * probabilities).pvalue > 1e-3
    wrong = np.exp(numpy_nade.log_likelihoods(STATES, **other))
    assert stats.chisquare(counts, 20000 * wrong).pvalue < 1e-6
    exact = probabilities @ STATES
    np.testing.assert_allclose(q[:, 0].mean(axis=0), exact, atol=0.01)
    np.testing.assert_allclose(numpy_nade.marginals(np.random.default_rng(9), p["W"], p["V"],
                                                    p["bv"], p["bh"], 20000), exact[None],
                               atol=0.01)


def test_the_nade_model_scores_and_trains_on_frames():
    rng = np.random.default_rng(10)
    model = Nade(n_visible=N, n_hidden=H, lr=0.1, r=(60, 60 + N), init_scale=0.5, seed=3)
    p = model.values()
    frames = (rng.random((40, N)) < 0.3).astype(float)
    before = model.log_likelihoods(frames)
    np.testing.assert_allclose(before, numpy_nade.log_likelihoods(frames, p["W"], p["V"],
                                                                  p["bv"], p["bh"]), atol=1e-12)
    assert np.exp(model.log_likelihoods(STATES)).sum() == pytest.approx(1.0)
    assert model.train_function(frames) == pytest.approx(before.mean())  # before its step
    for _ in range(20):
        model.train_function(frames)
    assert model.log_likelihoods(frames).mean() > before.mean() + 0.1


def test_rnn_nade_likelihood_matches_numpy_and_sums_to_one_in_each_frame():
    model = RnnNade(n_hidden=H, n_hidden_recurrent=4, r=(60, 60 + N), init_scale=0.8, seed=5)
    p = model.values()
    roll = (np.random.default_rng(11).random((6, N)) < 0.4).astype(float)
    _, bv_t, bh_t = rnn_biases(roll, p)
    expected = [numpy_nade.log_likelihoods(frame[None], p["W"], p["V"], bv, bh)[0]
                for frame, bv, bh in zip(roll, bv_t, bh_t)]
    np.testing.assert_allclose(model.log_likelihoods(roll), expected, atol=1e-10)
    assert np.ptp(expected) > 0.5
    for bv, bh in zip(bv_t, bh_t):  # every frame's conditional distribution is one
        total = np.exp(numpy_nade.log_likelihoods(STATES, p["W"], p["V"], bv, bh)).sum()
        assert total == pytest.approx(1.0, abs=1e-12)


def test_rnn_nade_trains_and_generation_is_reproducible_by_seed():
    model = RnnNade(n_hidden=H, n_hidden_recurrent=4, lr=0.05, r=(60, 60 + N), seed=5)
    roll = (np.random.default_rng(12).random((30, N)) < 0.4).astype(float)
    before = model.log_likelihoods(roll).mean()
    for _ in range(30):
        model.train_function(roll)
    assert model.log_likelihoods(roll).mean() > before + 0.1
    a, b, c = (model.generate_roll(20, np.random.default_rng(seed)) for seed in (1, 1, 2))
    assert a.shape == (20, N) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


@pytest.mark.parametrize("dtype, tolerance", [("float64", 1e-12), ("float32", 2e-5)])
def test_the_fused_kernel_matches_the_graph_and_its_gradient(dtype, tolerance):
    """nade_kernel's Ops against nade_log_likelihoods' graph: the
    log-likelihoods and the gradients of a weighted sum of them with respect
    to W, V, per-frame bv and shared bh, on random weights and sparse frames."""
    from polyphonic.models.nade_kernel import nade_log_likelihood
    from rnnrbm import BACKENDS

    v, W, V, bv = (pt.matrix(dtype=dtype) for _ in range(4))
    bh = pt.vector(dtype=dtype)
    functions = []
    for log_likelihoods in (nade_log_likelihoods(v, W, V, bv, bh)[0],
                            nade_log_likelihood(v, W, V, bv, bh)):
        cost = (log_likelihoods * pt.arange(1, log_likelihoods.shape[0] + 1)).sum()
        functions.append(pytensor.function(
            [v, W, V, bv, bh], [log_likelihoods, *pytensor.grad(cost, [W, V, bv, bh])],
            mode=BACKENDS["c"]))
    rng = np.random.default_rng(13)
    values = [np.asarray(x, dtype) for x in (rng.random((9, 20)) < 0.2,
                                             rng.normal(0, 0.8, (20, 7)),
                                             rng.normal(0, 0.8, (20, 7)),
                                             rng.normal(size=(9, 20)), rng.normal(size=7))]
    graph, fused = (f(*values) for f in functions)
    assert graph[3].shape == (9, 20) and graph[4].shape == (7,)
    for a, b in zip(graph, fused):
        np.testing.assert_allclose(b, a, rtol=tolerance, atol=tolerance * np.abs(a).max())


def test_the_independent_pytorch_model_is_the_same_model():
    """evaluation/torch_rnn_nade.py (the benchmark's PyTorch RNN-NADE) from
    the same parameters scores a roll as ours does, and its step and ours
    move the log-likelihood alike (Adam and norm clipping, written a little
    differently: our epsilon is added to the uncorrected root, PyTorch's to
    the corrected one, and its clipping divides by the norm plus 1e-6: within
    1e-5 after three steps, where the steps move it by 0.16)."""
    torch = pytest.importorskip("torch")
    from polyphonic.evaluation.torch_rnn_nade import TorchRnnNade

    torch.set_num_threads(1)
    ours = RnnNade(n_hidden=H, n_hidden_recurrent=4, lr=0.01, optimizer="adam", clip_norm=1.0,
                   r=(60, 60 + N), init_scale=0.8, seed=5)
    theirs = TorchRnnNade(ours.values(), lr=0.01, clip_norm=1.0)
    roll = (np.random.default_rng(14).random((8, N)) < 0.4).astype(float)
    np.testing.assert_allclose(theirs.log_likelihoods(roll), ours.log_likelihoods(roll),
                               atol=1e-12)
    before = ours.log_likelihoods(roll).mean()
    for _ in range(3):
        assert theirs.step(roll) == pytest.approx(ours.train_function(roll), abs=1e-5)
    np.testing.assert_allclose(theirs.log_likelihoods(roll), ours.log_likelihoods(roll),
                               atol=1e-5)
    assert ours.log_likelihoods(roll).mean() > before + 0.1  # the steps moved it
