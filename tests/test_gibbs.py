"""The fused Gibbs kernel (gibbs.py) against the graph path, and against exact enumeration."""

import itertools

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import gibbs
import numpy_rnnrbm as ref
import rnnrbm

C = rnnrbm.BACKENDS["c"]


def chain_function(fused, dtype, k, rng_seed):
    """(W, bv, bh, v) -> (v_sample, monitor, next generator state) of build_rbm, fused or not."""
    W, bv, bh, v = (pt.matrix(name, dtype=dtype) for name in ("W", "bv", "bh", "v"))
    shared_rng = pytensor.shared(np.random.default_rng(rng_seed))
    v_sample, _, monitor, next_rng = rnnrbm.build_rbm(v, W, bv, bh, k, shared_rng, fused)
    f = pytensor.function([W, bv, bh, v], [v_sample, monitor], updates={shared_rng: next_rng},
                          mode=C)
    return lambda *args: (*f(*args), shared_rng.get_value().bit_generator.state)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_visible, n_hidden", [(37, 45), (88, 150)])
def test_fused_chain_gives_the_graph_paths_samples(dtype, n_visible, n_hidden):
    """Same seed, so the same uniforms (drawn by Generator.random in the fused
    path, by PyTensor's uniform in the graph's): the same samples, monitor and
    generator state. The sums run in tiles of 32 (float64) or 64 (float32)
    columns and half tiles: these sizes end rows of W and W^T with an
    overlapping tile, a half tile, or two half tiles (matrices narrower than
    half a tile take a plain loop: the 3 visible units below)."""
    rng = np.random.default_rng(0)
    rows, k = 60, 6
    W = rng.normal(scale=0.8, size=(n_visible, n_hidden)).astype(dtype)
    bv = rng.normal(scale=1.0, size=(rows, n_visible)).astype(dtype) - 1
    bh = rng.normal(scale=1.0, size=(rows, n_hidden)).astype(dtype)
    v = (rng.random((rows, n_visible)) < 0.2).astype(dtype)
    fused, graph = (chain_function(f, dtype, k, rng_seed=1)(W, bv, bh, v) for f in (True, False))
    np.testing.assert_array_equal(fused[0], graph[0])
    assert 0.2 < fused[0].mean() < 0.8  # the chains moved: a test that can fail
    assert fused[1] == pytest.approx(graph[1], rel=1e-12 if dtype == "float64" else 1e-5)
    assert fused[2] == graph[2]


def test_fused_chain_takes_real_valued_starts_and_shared_biases():
    """A non-binary start is weighted by its values in the first half step;
    vector biases serve every row."""
    rng = np.random.default_rng(2)
    W = rng.normal(size=(40, 33))
    bv, bh = rng.normal(size=40), rng.normal(size=33)
    v = rng.random((7, 40))
    fused, graph = (chain_function(f, "float64", 3, rng_seed=3)(W, np.tile(bv, (7, 1)),
                                                                  np.tile(bh, (7, 1)), v)
                    for f in (True, False))
    np.testing.assert_array_equal(fused[0], graph[0])
    shared_rng = pytensor.shared(np.random.default_rng(3))
    x = pt.matrix()
    v_sample, _, _, next_rng = rnnrbm.build_rbm(x, W, bv, bh, 3, shared_rng)
    np.testing.assert_array_equal(pytensor.function([x], v_sample, mode=C)(v), fused[0])


def test_generation_fused_matches_the_graph_path():
    def generate(fused):
        model = rnnrbm.build_rnnrbm(40, 36, 8, seed=4, fused=fused)
        for p in model["params"]:  # weights large enough that the chains differ by frame
            p.set_value(np.random.default_rng(5).normal(scale=0.7, size=p.get_value().shape))
        f = pytensor.function([model["u_start"], model["n_frames"], model["gibbs_steps"]],
                              model["v_t"], updates=[(model["rng"], model["rng_generate"])],
                              mode=C)
        return f(np.zeros(8), 30, 5)

    fused, graph = generate(True), generate(False)
    np.testing.assert_array_equal(fused, graph)
    assert 0.05 < fused.mean() < 0.95 and len({tuple(row) for row in fused}) > 10


def graph_ais(dtype):
    """evaluate.py's former AIS graph, fed its uniforms: (W, bv, bh, v, betas,
    uniform_h, uniform_v) -> (v, log_w)."""
    W, bv, bh, v = (pt.matrix(name, dtype=dtype) for name in ("W", "bv", "bh", "v"))
    betas = pt.dvector("betas")
    uniform_h, uniform_v = pt.dtensor3("uniform_h"), pt.dtensor3("uniform_v")

    def step(previous, beta, uniform_h, uniform_v, v, log_w):
        hidden_input = pt.dot(v, W) + bh
        log_w = log_w + (pt.softplus(beta * hidden_input)
                         - pt.softplus(previous * hidden_input)).sum(axis=1)
        h = rnnrbm.bernoulli(uniform_h, pt.sigmoid(beta * hidden_input))
        activation_v = bv + beta * pt.dot(h, W.T)
        return rnnrbm.bernoulli(uniform_v, pt.sigmoid(activation_v)), log_w

    v_out, log_w = pytensor.scan(
        step, sequences=[betas[:-1], betas[1:], uniform_h, uniform_v],
        outputs_info=[v, pt.zeros(v.shape[0], dtype="float64")], return_updates=False)
    return pytensor.function([W, bv, bh, v, betas, uniform_h, uniform_v],
                             [v_out[-1], log_w[-1]], mode=C)


def test_annealed_kernel_gives_the_graph_paths_weights_and_samples():
    """Fed the same uniforms, over 50 temperatures; in one call or two."""
    rng = np.random.default_rng(6)
    n_rbms, n_chains, n_visible, n_hidden, n_temperatures = 5, 12, 38, 70, 50
    rows = n_rbms * n_chains
    W = rng.normal(scale=0.5, size=(n_visible, n_hidden))
    bv = rng.normal(size=(n_rbms, n_visible)) - 2
    bh = rng.normal(size=(n_rbms, n_hidden))
    v = (rng.random((rows, n_visible)) < 0.1).astype(float)
    betas = np.linspace(0, 1, n_temperatures + 1)
    uniform_h = rng.random((n_temperatures, rows, n_hidden))
    uniform_v = rng.random((n_temperatures, rows, n_visible))
    want_v, want_log_w = graph_ais("float64")(W, np.tile(bv, (n_chains, 1)),
                                              np.tile(bh, (n_chains, 1)), v, betas,
                                              uniform_h, uniform_v)
    inputs = [pt.matrix(name) for name in ("W", "bv", "bh", "v")] + [
        pt.dvector(), pt.dvector(), pt.dtensor3(), pt.dtensor3()]
    f = pytensor.function(inputs, gibbs.AnnealedGibbs()(*inputs), mode=C)
    got_v, got_log_w = f(W, bv, bh, v, np.zeros(rows), betas, uniform_h, uniform_v)
    np.testing.assert_array_equal(got_v, want_v)
    np.testing.assert_allclose(got_log_w, want_log_w, rtol=1e-12, atol=1e-12)
    assert np.ptp(want_log_w) > 1  # weights that differ between chains: the test can fail
    half_v, half_log_w = f(W, bv, bh, v, np.zeros(rows), betas[:21], uniform_h[:20],
                           uniform_v[:20])
    two_calls = f(W, bv, bh, half_v, half_log_w, betas[20:], uniform_h[20:], uniform_v[20:])
    np.testing.assert_array_equal(two_calls[0], got_v)
    np.testing.assert_array_equal(two_calls[1], got_log_w)


def test_annealed_kernel_in_float32_follows_float64():
    """The same uniforms (float32 draws, exact in float64 too): samples equal
    but for probabilities within float32 rounding of a uniform, log weights
    within float32 rounding."""
    rng = np.random.default_rng(9)
    rows, n_visible, n_hidden, n_temperatures = 40, 88, 150, 30
    W = rng.normal(scale=0.1, size=(n_visible, n_hidden))
    bv, bh = rng.normal(size=(rows, n_visible)) - 3, rng.normal(size=(rows, n_hidden))
    v = (rng.random((rows, n_visible)) < 0.05).astype(float)
    uniforms = (rng.random((n_temperatures, rows, n_hidden), dtype=np.float32),
                rng.random((n_temperatures, rows, n_visible), dtype=np.float32))
    results = {}
    for dtype in ("float64", "float32"):
        inputs = [pt.matrix(dtype=dtype) for _ in range(4)] + [
            pt.dvector(), pt.dvector(), pt.tensor3(dtype=dtype), pt.tensor3(dtype=dtype)]
        f = pytensor.function(inputs, gibbs.AnnealedGibbs()(*inputs), mode=C)
        results[dtype] = f(*(x.astype(dtype) for x in (W, bv, bh, v)), np.zeros(rows),
                           np.linspace(0, 1, n_temperatures + 1),
                           *(u.astype(dtype) for u in uniforms))
    assert np.mean(results["float32"][0] != results["float64"][0]) < 1e-3
    np.testing.assert_allclose(results["float32"][1], results["float64"][1], rtol=1e-4)


def test_fused_sampler_draws_the_exact_distribution_of_each_rbm():
    """Two RBMs (3 visible, 40 hidden units) sharing W, their chains stacked
    as alternate rows, 10,000 chains each, 20 steps from zeros, against the
    distributions enumerated over the 8 visible states.

    Chi-square with 7 degrees of freedom per RBM: 24.3 is its 0.999 quantile,
    so a correct sampler fails with probability 0.2 % for a random seed (never
    with this fixed one). Checked to fail: chains all taking the first RBM's
    biases give chi-square 267 for the second. (Small errors in the
    probabilities, such as 5 % too large below 1/2, pass here, chi-square 12;
    the exact comparisons with the graph path above catch those.)
    """
    rng = np.random.default_rng(7)
    W = rng.normal(scale=0.4, size=(3, 40))
    bv, bh = rng.normal(size=(2, 3)), rng.normal(scale=0.5, size=(2, 40))
    n, k = 10000, 20
    inputs = [pt.dmatrix() for _ in range(4)] + [pt.dtensor3(), pt.dtensor3()]
    f = pytensor.function(inputs, gibbs.GibbsChain(monitor=False)(*inputs), mode=C)
    samples = f(W, bv, bh, np.zeros((2 * n, 3)), rng.random((k, 2 * n, 40)),
                rng.random((k, 2 * n, 3)))
    states = np.array(list(itertools.product([0.0, 1.0], repeat=3)))
    for i in range(2):
        log_p = -ref.free_energies(states, W, bv[i], bh[i])
        p = np.exp(log_p - np.logaddexp.reduce(log_p))
        rows = samples[i::2]
        counts = np.array([(rows == x).all(axis=1).sum() for x in states])
        chi2 = ((counts - n * p) ** 2 / (n * p)).sum()
        assert chi2 < 24.3, (i, counts, n * p)


def test_ops_refuse_inconsistent_shapes():
    inputs = [pt.dmatrix() for _ in range(4)] + [pt.dtensor3(), pt.dtensor3()]
    f = pytensor.function(inputs, gibbs.GibbsChain(monitor=True)(*inputs), mode=C)
    W, b = np.zeros((4, 3)), np.zeros((1, 4))
    with pytest.raises(ValueError, match="inconsistent shapes"):  # 2 steps of u_h, not 3
        f(W, b, np.zeros((1, 3)), np.zeros((5, 4)), np.zeros((2, 5, 3)), np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match="inconsistent shapes"):  # 5 rows, 2 bias rows
        f(W, np.zeros((2, 4)), np.zeros((1, 3)), np.zeros((5, 4)), np.zeros((3, 5, 3)),
          np.zeros((2, 5, 4)))
    with pytest.raises(TypeError):
        gibbs.GibbsChain()(W, b, np.zeros((1, 3)), np.zeros((5, 4)).astype("float32"),
                           np.zeros((3, 5, 3)), np.zeros((2, 5, 4)))


def test_results_do_not_depend_on_the_number_of_threads():
    """Rows are shared between threads (at least 16 each); 100 rows on 1, 3 and 6 threads."""
    rng = np.random.default_rng(8)
    W = rng.normal(size=(40, 50))
    bv, bh = rng.normal(size=(100, 40)), rng.normal(size=(100, 50))
    v = (rng.random((100, 40)) < 0.3).astype(float)
    uniform_h, uniform_v = rng.random((5, 100, 50)), rng.random((4, 100, 40))
    inputs = [pt.dmatrix() for _ in range(4)] + [pt.dtensor3(), pt.dtensor3()]
    results = [pytensor.function(inputs, gibbs.GibbsChain(True, threads)(*inputs), mode=C)(
        W, bv, bh, v, uniform_h, uniform_v) for threads in (1, 3, 6)]
    for result in results[1:]:
        for got, want in zip(result, results[0]):
            np.testing.assert_array_equal(got, want)


def test_float32_ais_agrees_with_float64_on_the_paper_model(nottingham_pickle):
    """AIS as evaluate runs it (100 chains x 1,000 temperatures) on 10 test
    frames of the committed Nottingham model, float32 against float64: each
    frame's log-likelihood within 0.005 nats (and their mean), given the same
    uniforms (float32 draws, exact in float64); and, as evaluate draws them
    (each dtype its own stream), the mean over the frames within the AIS
    noise. Skipped without the dataset."""
    import os

    import evaluate
    import training
    from datasets import load_pickle_rolls

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    model = os.path.join(root, "results", "paper-nottingham", "checkpoint.npz")
    data = nottingham_pickle
    state = training.read_checkpoint(model)
    params = {name: state[name].astype(np.float64) for name in ref.PARAM_NAMES}
    rolls = load_pickle_rolls(data, "test", state["config"]["r"])
    frames = np.concatenate(rolls).astype(np.float64)
    biases = [ref.rnn_biases(roll.astype(np.float64), params)[1:] for roll in rolls]
    bv, bh = (np.concatenate([b[i] for b in biases]) for i in (0, 1))
    rows = np.linspace(0, len(frames) - 1, 10).astype(int)
    W, bv, bh, frames = params["W"], bv[rows], bh[rows], frames[rows]
    n_chains, n_temperatures = 100, 1000

    def log_z(dtype):
        """evaluate.ais_log_weights' loop in `dtype`, its uniforms drawn as float32."""
        rng = np.random.default_rng(11)
        f = evaluate._compiled_ais(dtype)
        v = (rng.random((n_chains * len(bv), bv.shape[1])) < ref.sigmoid(
            np.tile(bv, (n_chains, 1)))).astype(dtype)
        log_w = np.zeros(len(v))
        betas = np.linspace(0.0, 1.0, n_temperatures + 1)
        for i in range(n_temperatures):
            uniforms = (rng.random((1, len(v), n), dtype=np.float32).astype(dtype)
                        for n in (W.shape[1], bv.shape[1]))
            v, log_w = f(*(x.astype(dtype) for x in (W, bv, bh)), v, log_w, betas[i:i + 2],
                         *uniforms)
        log_w = log_w.reshape(n_chains, len(bv))
        shift = log_w.max(axis=0)
        return (ref.softplus(bv).sum(axis=1) + W.shape[1] * np.log(2.0) + shift
                + np.log(np.exp(log_w - shift).mean(axis=0)))

    difference = log_z("float32") - log_z("float64")
    assert np.abs(difference).max() < 0.005 and abs(difference.mean()) < 0.005, difference
    assert np.any(difference != 0)  # float32 did run in float32

    rng32, rng64 = np.random.default_rng(12), np.random.default_rng(12)
    z32, stderr = evaluate.ais_log_partition(W, bv, bh, rng32, n_chains, n_temperatures,
                                             "float32")
    z64, _ = evaluate.ais_log_partition(W, bv, bh, rng64, n_chains, n_temperatures, "float64")
    noise = 2 * np.sqrt(2 * np.sum(stderr ** 2)) / len(bv)  # two standard errors of the mean
    assert abs(np.mean(z32 - z64)) < max(noise, 0.005), (z32 - z64, noise)
