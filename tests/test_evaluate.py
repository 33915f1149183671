"""AIS and the evaluation figures against exact enumeration on tiny models."""

import itertools

import numpy as np
import pytest

from polyphonic.evaluation import scoring
from polyphonic.models import numpy_rnnrbm as ref


def exact_log_partition(W, bv, bh):
    """log sum_v exp(-F(v)) by enumerating every visible vector."""
    states = np.array(list(itertools.product([0.0, 1.0], repeat=W.shape[0])))
    return np.logaddexp.reduce(-scoring.free_energies(states, W, bv, bh))


def test_free_energies_row_by_row_match_enumeration_over_hidden_units():
    rng = np.random.default_rng(0)
    W, bv, bh = rng.normal(size=(5, 4)), rng.normal(size=(3, 5)), rng.normal(size=(3, 4))
    v = (rng.random((3, 5)) < 0.5).astype(float)
    got = scoring.free_energies(v, W, bv, bh)
    hs = np.array(list(itertools.product([0.0, 1.0], repeat=4)))
    for i in range(3):
        energies = -(v[i] @ bv[i]) - hs @ bh[i] - hs @ (v[i] @ W)  # E(v, h) for every h
        assert got[i] == pytest.approx(-np.logaddexp.reduce(-energies), abs=1e-12)


def test_ais_matches_exact_log_partition_for_a_batch_of_rbms():
    """Six RBMs with their own biases, one shared W, as for six frames.

    Tolerance: five AIS standard errors plus 0.01; the errors are also
    checked to be honest (not larger than 0.05 here).
    """
    rng = np.random.default_rng(1)
    W = rng.normal(scale=1.0, size=(8, 6))
    bv, bh = rng.normal(scale=1.0, size=(6, 8)), rng.normal(scale=1.0, size=(6, 6))
    log_z, stderr = scoring.ais_log_partition(W, bv, bh, np.random.default_rng(2),
                                               n_chains=200, n_temperatures=300)
    exact = np.array([exact_log_partition(W, bv[i], bh[i]) for i in range(6)])
    assert np.all(stderr < 0.05), stderr
    assert np.all(np.abs(log_z - exact) < 5 * stderr + 0.01), (log_z - exact, stderr)


def test_ais_with_zero_weights_is_exact():
    """W = 0 makes every intermediate distribution the base one: zero variance."""
    bv, bh = np.array([[0.3, -1.0, 2.0]]), np.array([[0.5, -0.5]])
    log_z, stderr = scoring.ais_log_partition(np.zeros((3, 2)), bv, bh,
                                               np.random.default_rng(3), 5, 10)
    assert log_z[0] == pytest.approx(exact_log_partition(np.zeros((3, 2)), bv[0], bh[0]))
    assert stderr[0] == pytest.approx(0.0, abs=1e-12)


def test_effective_chains_from_the_standard_error():
    """(sum w)^2 / sum w^2 of log-normal weights, recovered from the standard
    error ais_log_partition reports (its formula, with ddof 1)."""
    w = np.exp(np.random.default_rng(3).normal(scale=2.0, size=(50, 4)))
    stderr = w.std(axis=0, ddof=1) / (np.sqrt(50) * w.mean(axis=0))
    direct = w.sum(axis=0) ** 2 / (w ** 2).sum(axis=0)
    np.testing.assert_allclose(scoring.effective_chains(stderr, 50), direct)
    assert direct.min() < 25  # unequal weights: the test can fail


def test_ais_marginals_match_enumeration():
    """Three RBMs of 4 visible units (their biases as rows, one W, weights
    large enough for several modes): the importance-weighted marginals of
    2,000 AIS chains x 200 temperatures against the exact ones, in float64
    and float32 (the same draws). Tolerance 0.03: about four standard errors
    of a mean of 2,000 values in [0, 1] whose weights are nearly equal here
    (effective sample size checked above 1,500)."""
    rng = np.random.default_rng(6)
    W = rng.normal(scale=1.5, size=(4, 7))
    bv, bh = rng.normal(size=(3, 4)) - 0.5, rng.normal(size=(3, 7))
    results = {dtype: scoring.ais_log_partition(W, bv, bh, np.random.default_rng(7), 2000, 200,
                                                 dtype, marginals=True)
               for dtype in ("float64", "float32")}
    log_z, stderr, got = results["float64"]
    for i in range(3):
        states, p = ref.exact_rbm_distribution(W, bv[i], bh[i])
        exact = p @ states
        np.testing.assert_allclose(got[i], exact, atol=0.03)
        assert np.ptp(exact) > 0.2  # marginals that differ: the test can fail
        assert log_z[i] == pytest.approx(exact_log_partition(W, bv[i], bh[i]), abs=0.02)
    assert np.all(scoring.effective_chains(stderr, 2000) > 1500)
    np.testing.assert_allclose(results["float32"][2], got, atol=1e-3)
    # Two temperatures: little more than importance sampling from the base
    # distribution, whose weights now matter (effective sample sizes 3,000 to
    # 7,000 of 20,000): weighted, the marginals are right; unweighted, off by 0.07.
    log_w, v = scoring.ais_log_weights(W, bv, bh, np.random.default_rng(8), 20000, 2, "float64")
    exact = np.array([p @ states for states, p in
                      (ref.exact_rbm_distribution(W, bv[i], bh[i]) for i in range(3))])
    weighted, unweighted = (scoring.weighted_marginals(W, bv, bh, v, weights,
                                                        np.random.default_rng(9), "float64")
                            for weights in (log_w, np.zeros_like(log_w)))
    assert np.abs(weighted - exact).max() < 0.015
    assert np.abs(unweighted - exact).max() > 0.05


def test_rnn_evaluation_is_exact():
    rng = np.random.default_rng(8)
    shapes = dict(Wvu=(5, 3), Wuu=(3, 3), bu=(3,), Wuv=(3, 5), bv=(5,), u0=(3,))
    params = {name: rng.normal(scale=0.8, size=shape) for name, shape in shapes.items()}
    rolls = [(rng.random((n, 5)) < 0.4).astype(np.uint8) for n in (6, 4)]
    log_likelihoods, tp, fp, fn = [], 0.0, 0.0, 0.0
    for roll in rolls:  # written out frame by frame
        u = params["u0"]
        for frame in roll.astype(float):
            p = 1 / (1 + np.exp(-(params["bv"] + u @ params["Wuv"])))
            log_likelihoods.append(np.sum(frame * np.log(p) + (1 - frame) * np.log(1 - p)))
            tp, fp, fn = tp + p @ frame, fp + p @ (1 - frame), fn + (1 - p) @ frame
            u = np.tanh(params["bu"] + frame @ params["Wvu"] + u @ params["Wuu"])
    result = scoring.evaluate(params, rolls, kind="rnn")
    assert result["log_likelihood_per_frame"] == pytest.approx(np.mean(log_likelihoods))
    assert result["accuracy_expected"] == pytest.approx(tp / (tp + fp + fn))
    assert result["log_likelihood_stderr"] == 0 and result["exact"]


def test_evaluate_gives_the_exact_log_likelihood_of_a_tiny_rnnrbm():
    rng = np.random.default_rng(5)
    shapes = dict(W=(6, 4), bv=(6,), bh=(4,), Wuh=(3, 4), Wuv=(3, 6), Wvu=(6, 3),
                  Wuu=(3, 3), bu=(3,))
    params = {name: rng.normal(scale=0.7, size=shape) for name, shape in shapes.items()}
    rolls = [(rng.random((n, 6)) < 0.4).astype(np.uint8) for n in (7, 5)]
    exact = []
    for roll in rolls:
        _, bv_t, bh_t = ref.rnn_biases(roll.astype(float), params)
        for t, frame in enumerate(roll.astype(float)):
            log_p = -scoring.free_energies(frame, params["W"], bv_t[t], bh_t[t])
            exact.append(log_p - exact_log_partition(params["W"], bv_t[t], bh_t[t]))
    metrics = scoring.evaluate(params, rolls, seed=6, n_chains=200, n_temperatures=200,
                                batch_frames=5, mixing=8)
    assert metrics["frames"] == 12 and metrics["sequences"] == 2
    # A small, soft RBM mixes: every start, and AIS, agree on the accuracy.
    check = metrics["mixing"]
    assert check["frames"] == 8 and set(check["accuracy_by_start"]) == {
        "zeros", "previous", "data", "ais"}
    assert check["mixed"], check
    assert metrics["log_likelihood_per_frame"] == pytest.approx(
        np.mean(exact), abs=5 * metrics["log_likelihood_stderr"] + 0.005)
    assert 0.0 <= metrics["accuracy_paper"] <= 1.0
    # A tiny RBM with 200 temperatures: the weights nearly alike.
    assert 150 < metrics["effective_chains_min"] <= metrics["effective_chains_median"] <= 200
    assert metrics["frames_below_10_effective_chains"] == 0
    # Some frames only (a first frame among them), each after its own sequence's past.
    rows = np.array([0, 4, 7, 11])
    some = scoring.evaluate(params, rolls, seed=6, n_chains=200, n_temperatures=200,
                            rows=rows, mixing=4)
    assert some["frames"] == 4 and some["mixing"]["frames"] == 4
    assert some["log_likelihood_per_frame"] == pytest.approx(
        np.mean(np.array(exact)[rows]), abs=5 * some["log_likelihood_stderr"] + 0.005)


def test_evaluation_does_not_depend_on_the_number_of_jobs():
    rng = np.random.default_rng(7)
    shapes = dict(W=(5, 3), bv=(5,), bh=(3,), Wuh=(2, 3), Wuv=(2, 5), Wvu=(5, 2),
                  Wuu=(2, 2), bu=(2,))
    params = {name: rng.normal(size=shape) for name, shape in shapes.items()}
    rolls = [(rng.random((n, 5)) < 0.4).astype(np.uint8) for n in (6, 4)]
    one, two = (scoring.evaluate(params, rolls, seed=8, n_chains=4, n_temperatures=20,
                                  batch_frames=3, jobs=jobs) for jobs in (1, 2))
    assert one == two


def test_an_interrupted_evaluation_continues_from_its_cache(tmp_path):
    """Batches kept in the cache are reused, not recomputed (one is replaced by
    a marker value to tell); a missing one is computed; the figures equal an
    uncached run's; another evaluation's cache is refused."""
    rng = np.random.default_rng(10)
    shapes = dict(W=(5, 3), bv=(5,), bh=(3,), Wuh=(2, 3), Wuv=(2, 5), Wvu=(5, 2),
                  Wuu=(2, 2), bu=(2,))
    params = {name: rng.normal(size=shape) for name, shape in shapes.items()}
    rolls = [(rng.random((n, 5)) < 0.4).astype(np.uint8) for n in (6, 4)]
    options = dict(seed=8, n_chains=4, n_temperatures=20, batch_frames=3)
    plain = scoring.evaluate(params, rolls, **options)
    cache = tmp_path / "cache"
    assert scoring.evaluate(params, rolls, cache=cache, **options) == plain
    assert sorted(p.name for p in cache.glob("batch-*.npz")) == [
        "batch-0.npz", "batch-1.npz", "batch-2.npz", "batch-3.npz"]
    (cache / "batch-3.npz").unlink()  # as if interrupted before the last batch
    np.savez(cache / "batch-0.npz", log_likelihoods=np.full(3, -100.0), variances=np.zeros(3),
             marginals=np.full((3, 5), 0.5))
    resumed = scoring.evaluate(params, rolls, cache=cache, **options)
    assert (cache / "batch-3.npz").exists()
    assert resumed["log_likelihood_per_frame"] < plain["log_likelihood_per_frame"] - 20
    with pytest.raises(ValueError, match="another evaluation"):
        scoring.evaluate(params, rolls, cache=cache, **dict(options, seed=9))


def test_command_writes_metrics_for_a_checkpoint(tmp_path):
    import json
    import pickle
    import subprocess
    import sys

    import rnnrbm

    model = rnnrbm.RnnRbm(n_hidden=6, n_hidden_recurrent=4, r=(60, 66), seed=9)
    model.save(tmp_path / "checkpoint.npz")
    dataset = {split: [[[60, 64], [62], [], [65, 60]]] for split in ("train", "valid", "test")}
    (tmp_path / "tiny.pickle").write_bytes(pickle.dumps(dataset))
    command = [sys.executable, "rnnrbm.py", "evaluate", str(tmp_path / "checkpoint.npz"),
               "--pickle", str(tmp_path / "tiny.pickle"), "--chains", "3",
               "--temperatures", "5", "--out", str(tmp_path / "metrics.json")]
    result = subprocess.run(command, capture_output=True, text=True,
                            cwd=rnnrbm.os.path.dirname(rnnrbm.__file__))
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["frames"] == 4 and metrics["split"] == "test"
    assert metrics["ais_chains"] == 3 and metrics["ais_temperatures"] == 5
    assert metrics["log_likelihood_per_frame"] < 0 and 0 <= metrics["accuracy_paper"] <= 1

    (tmp_path / "broken.npz").write_text("no checkpoint")
    command[3] = str(tmp_path / "broken.npz")
    result = subprocess.run(command, capture_output=True, text=True,
                            cwd=rnnrbm.os.path.dirname(rnnrbm.__file__))
    assert result.returncode == 2
    assert "broken.npz" in result.stderr and "Traceback" not in result.stderr
    assert "allow_pickle" not in result.stderr


def test_the_random_row_is_exact():
    rolls = [np.array([[1, 0, 0, 1], [0, 0, 0, 0]]), np.array([[1, 1, 1, 0]])]
    metrics = scoring.evaluate({}, rolls, kind="random")
    assert metrics["log_likelihood_per_frame"] == pytest.approx(4 * np.log(0.5))
    assert metrics["exact"] and metrics["log_likelihood_stderr"] == 0
    # Every note predicted on: TP = 5 sounding notes of 12, FP = the other 7.
    assert metrics["accuracy_paper"] == pytest.approx(5 / 12)
    assert metrics["accuracy_paper_per_frame"] == pytest.approx((2 / 4 + 0 + 3 / 4) / 3)
    assert metrics["accuracy_expected"] == pytest.approx(2.5 / (2.5 + 3.5 + 2.5))


def exact_rbm_over_hidden_units(W, bv, bh):
    """log Z and the note marginals of an RBM with few hidden units, by
    enumerating its hidden vectors: p(h) is proportional to
    exp(bh . h) prod_i (1 + exp(bv_i + (W h)_i)), and P(v_i = 1) is the mean
    under p(h) of sigmoid(bv + W h)_i."""
    hs = np.array(list(itertools.product([0.0, 1.0], repeat=W.shape[1])))
    log_p = hs @ bh + ref.softplus(bv + hs @ W.T).sum(axis=1)
    log_z = np.logaddexp.reduce(log_p)
    return log_z, np.exp(log_p - log_z) @ ref.sigmoid(bv + hs @ W.T)


def test_an_rbm_over_frames_is_scored_with_one_partition_function():
    """Table 1's RBM row: 30 visible units (no visible enumeration possible)
    and 6 hidden ones, exact by enumerating the 64 hidden vectors. The
    likelihood is exact up to log Z, whose AIS error (1,000 chains x 1,000
    temperatures) is reported as the error of the mean, and every frame gets
    the same marginals; the mixing check passes on a soft RBM."""
    rng = np.random.default_rng(11)
    params = dict(W=rng.normal(scale=1.0, size=(30, 6)), bv=rng.normal(size=30) - 1,
                  bh=rng.normal(size=6))
    rolls = [(rng.random((n, 30)) < 0.3).astype(np.uint8) for n in (9, 5)]
    log_z, marginals = exact_rbm_over_hidden_units(**params)
    frames = np.concatenate(rolls).astype(float)
    exact = np.mean(-scoring.free_energies(frames, params["W"], params["bv"], params["bh"]))
    metrics = scoring.evaluate(params, rolls, seed=3, n_chains=1000, n_temperatures=1000,
                                kind="rbm", mixing=14)  # 14 x 10 chains per start, pooled
    assert 0 < metrics["log_likelihood_stderr"] < 0.01
    assert metrics["log_likelihood_per_frame"] == pytest.approx(
        exact - log_z, abs=4 * metrics["log_likelihood_stderr"])
    predicted = marginals >= 0.5
    assert 0 < predicted.sum() < 30  # some notes on, some off: the accuracy can be wrong
    tp = (predicted * frames).sum()
    assert metrics["accuracy_paper"] == pytest.approx(tp / (predicted.sum() * len(frames)
                                                             + frames.sum() - tp))
    assert metrics["accuracy_expected"] == pytest.approx(
        (marginals * frames).sum() / (marginals.sum() * len(frames) + frames.sum()
                                      - (marginals * frames).sum()), abs=0.002)
    assert metrics["mixing"]["mixed"] and metrics["mixing"]["frames"] == 14
    assert set(metrics["mixing"]["accuracy_by_start"]) == {"zeros", "previous", "data"}
    assert metrics["marginals_from"].startswith("the mixing check's chains")


def test_scoring_some_rows_gives_those_frames_figures():
    """evaluate(rows=...) scores the frames it is given, each still after its
    own sequence's true past: an exact RNN's per-frame figures, selected."""
    rng = np.random.default_rng(12)
    shapes = dict(Wvu=(5, 3), Wuu=(3, 3), bu=(3,), Wuv=(3, 5), bv=(5,), u0=(3,))
    params = {name: rng.normal(scale=0.8, size=shape) for name, shape in shapes.items()}
    rolls = [(rng.random((n, 5)) < 0.4).astype(np.uint8) for n in (6, 4, 7)]
    frames = np.concatenate(rolls).astype(float)
    activations = np.concatenate([scoring.rnn_activations(params, roll.astype(float))
                                  for roll in rolls])
    per_frame = (frames * activations - ref.softplus(activations)).sum(axis=1)
    rows = np.array([0, 5, 6, 9, 10, 16])  # sequence starts and ends among them
    metrics = scoring.evaluate(params, rolls, kind="rnn", rows=rows)
    assert metrics["frames"] == 6 and metrics["frames_drawn_from"] == len(frames)
    assert metrics["log_likelihood_per_frame"] == pytest.approx(per_frame[rows].mean())
    assert metrics["log_likelihood_per_frame"] != pytest.approx(per_frame.mean())
    assert metrics["log_likelihood_sampling_stderr"] == pytest.approx(
        scoring.sampling_stderr(per_frame[rows], len(frames)))
    assert "log_likelihood_sampling_stderr" not in scoring.evaluate(params, rolls, kind="rnn")


def test_the_sampling_error_is_that_of_every_sample_of_its_size():
    """sampling_stderr squared is, on average over every subset of n of N
    values, the variance of those subsets' means (enumerated): the estimator
    of a sample drawn without replacement, finite population correction
    included; without the correction it is 1 / (1 - n/N) too large."""
    import itertools

    values = np.array([-3.1, -0.4, -2.2, -7.5, -1.0, -4.8, -2.9])
    n = 3
    subsets = [values[list(s)] for s in itertools.combinations(range(len(values)), n)]
    means = np.array([s.mean() for s in subsets])
    exact_variance = np.mean((means - values.mean()) ** 2)
    estimated = np.mean([scoring.sampling_stderr(s, len(values)) ** 2 for s in subsets])
    assert estimated == pytest.approx(exact_variance, rel=1e-12)
    assert estimated / (1 - n / len(values)) != pytest.approx(exact_variance, rel=0.1)
    assert scoring.sampling_stderr(values, len(values)) == 0.0
