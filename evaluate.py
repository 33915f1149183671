"""Test-set figures of an RNN-RBM, as in Boulanger-Lewandowski et al. (2012), Table 1.

For every frame v_t of every test sequence, the RNN run over the true frames
before it gives the conditional RBM's biases bv_t, bh_t (numpy_rnnrbm.rnn_biases).

Log-likelihood per frame: the mean over all frames of
    log P(v_t | v_<t) = -F_t(v_t) - log Z_t,
with the conditional RBM's partition function Z_t estimated by annealed
importance sampling (AIS; Neal 2001; for RBMs Salakhutdinov and Murray 2008,
"On the quantitative analysis of deep belief networks", ICML). The annealing
path multiplies the hidden units' inputs by beta from 0 to 1:
    p_beta(v) proportional to exp(bv_t . v) prod_j (1 + exp(beta (v W + bh_t)_j)),
so beta = 0 is independent visible units with biases bv_t (Z_0 known exactly)
and beta = 1 the conditional RBM; each temperature takes one Gibbs step at that
beta. log Z_t is the log of the mean importance weight over the chains. The
reported standard error is that of the AIS estimate (delta method per frame,
frames independent), not of the test set's sampling.

Frame-level accuracy (Bay et al. 2009): TP / (TP + FP + FN) summed over all
frames. Prediction rule: a note is predicted on in frame t when its
probability under the conditional RBM, estimated as the mean over chains of
sigmoid(bv_t + h W^T) after a Gibbs chain of `gibbs_steps` steps started at
zeros (the generation procedure's chain), is at least 1/2.

Everything here is NumPy, on the parameters of a checkpoint.
"""

import concurrent.futures
import contextlib
import json
import os
import sys
import time

import numpy as np

from cli import ArgumentParser, positive_int
from datasets import load_pickle_rolls
from numpy_rnnrbm import PARAM_NAMES, free_energies, rnn_biases, sigmoid, softplus
from rnnrbm import read_checkpoint


def compile_ais(n_temperatures):
    """Compile (W, bv, bh, v0, rng) -> (log_w, next_rng): AIS log-weights per chain
    and row, one PyTensor scan step per temperature (C backend, float64)."""
    import pytensor
    import pytensor.tensor as pt

    from rnnrbm import BACKENDS, bernoulli, link_openblas

    link_openblas()
    W, bv, bh, v0 = pt.matrix("W"), pt.matrix("bv"), pt.matrix("bh"), pt.matrix("v0")
    rng = pytensor.shared(np.random.default_rng(), name="ais_rng")
    betas = pt.as_tensor(np.linspace(0.0, 1.0, n_temperatures + 1))

    def step(previous, beta, rng, v, log_w):
        hidden_input = pt.dot(v, W) + bh
        log_w = log_w + (pt.softplus(beta * hidden_input)
                         - pt.softplus(previous * hidden_input)).sum(axis=1)
        # A Gibbs step that leaves p_beta invariant (wasted after beta = 1).
        rng, uniform_h = rng.uniform(size=hidden_input.shape)
        h = bernoulli(uniform_h, pt.sigmoid(beta * hidden_input))
        activation_v = bv + beta * pt.dot(h, W.T)
        rng, uniform_v = rng.uniform(size=v.shape)
        return rng, bernoulli(uniform_v, pt.sigmoid(activation_v)), log_w

    next_rng, _, log_w = pytensor.scan(
        step, sequences=[betas[:-1], betas[1:]],
        outputs_info=[rng, v0, pt.zeros(v0.shape[0], dtype="float64")],
        return_updates=False)
    f = pytensor.function([W, bv, bh, v0], log_w[-1], updates={rng: next_rng},
                          mode=BACKENDS["c"])
    return f, rng


def ais_log_partition(W, bv, bh, rng, n_chains=100, n_temperatures=1000):
    """AIS estimate of log Z for one RBM per row of bv (rows x n_visible), bh.

    Returns (log_Z, stderr): arrays of one entry per row; stderr is the delta
    method's standard error of the estimate, std(w) / (sqrt(chains) mean(w)).
    """
    f, shared_rng = _compiled_ais(n_temperatures)
    shared_rng.set_value(rng)
    n_rows, n_visible = bv.shape
    # Chains are stacked as rows: chain c of RBM i is row c * n_rows + i.
    bv_rows, bh_rows = np.tile(bv, (n_chains, 1)), np.tile(bh, (n_chains, 1))
    v0 = (rng.random(bv_rows.shape) < sigmoid(bv_rows)).astype(np.float64)
    log_w = f(W, bv_rows, bh_rows, v0).reshape(n_chains, n_rows)
    rng.bit_generator.state = shared_rng.get_value().bit_generator.state
    log_z0 = softplus(bv).sum(axis=1) + W.shape[1] * np.log(2.0)
    shift = log_w.max(axis=0)
    w = np.exp(log_w - shift)
    mean = w.mean(axis=0)
    stderr = w.std(axis=0, ddof=1) / (np.sqrt(n_chains) * mean)
    return log_z0 + shift + np.log(mean), stderr


_compiled = {}


def _compiled_ais(n_temperatures):
    if n_temperatures not in _compiled:
        _compiled[n_temperatures] = compile_ais(n_temperatures)
    return _compiled[n_temperatures]


def predict_frames(W, bv, bh, rng, n_chains=10, gibbs_steps=25):
    """0/1 prediction per row: mean over chains of p(v | h) after `gibbs_steps`
    Gibbs steps from zeros, thresholded at 1/2."""
    v = np.zeros((n_chains, *bv.shape))
    for _ in range(gibbs_steps):
        h = rng.random((n_chains, len(bv), W.shape[1])) < sigmoid(v @ W + bh)
        mean_v = sigmoid(bv + h @ W.T)
        v = (rng.random(v.shape) < mean_v).astype(float)
    return (mean_v.mean(axis=0) >= 0.5).astype(np.uint8)


def frame_accuracy(predicted, actual):
    """TP / (TP + FP + FN) over all frames and notes (Bay et al. 2009)."""
    predicted, actual = np.asarray(predicted, bool), np.asarray(actual, bool)
    tp = np.sum(predicted & actual)
    return tp / (tp + np.sum(predicted & ~actual) + np.sum(~predicted & actual))


def evaluate_batch(W, frames, bv, bh, seed, settings):
    """Per-frame log-likelihoods, their AIS variances and predictions for one batch."""
    rng = np.random.default_rng(seed)
    log_z, stderr = ais_log_partition(W, bv, bh, rng, settings["ais_chains"],
                                      settings["ais_temperatures"])
    predicted = predict_frames(W, bv, bh, rng, settings["prediction_chains"],
                               settings["prediction_gibbs_steps"])
    return -free_energies(frames, W, bv, bh) - log_z, stderr ** 2, predicted


def evaluate(params, rolls, seed=1234, n_chains=10, n_temperatures=1000, prediction_chains=10,
             gibbs_steps=25, batch_frames=2000, jobs=1, progress=None):
    """Log-likelihood per frame (with AIS standard error) and accuracy on piano rolls.

    params : dict of parameter arrays (W, bv, bh, Wuh, Wuv, Wvu, Wuu, bu).
    rolls : list of (frames x n_visible) 0/1 arrays.
    Frames are processed in batches of `batch_frames`, each with its own random
    stream spawned from `seed` (so the result does not depend on `jobs`, the
    number of worker processes); progress(batches_done, batches) is called
    after each. Returns a dict of the figures and the
    settings that made them.
    """
    settings = dict(ais_chains=n_chains, ais_temperatures=n_temperatures,
                    prediction_chains=prediction_chains, prediction_gibbs_steps=gibbs_steps)
    frames = np.concatenate(rolls).astype(np.float64)
    biases = [rnn_biases(roll.astype(np.float64), params)[1:] for roll in rolls]
    bv = np.concatenate([b[0] for b in biases])
    bh = np.concatenate([b[1] for b in biases])
    starts = range(0, len(frames), batch_frames)
    seeds = np.random.SeedSequence(seed).spawn(len(starts))
    batches = [(params["W"], frames[s:s + batch_frames], bv[s:s + batch_frames],
                bh[s:s + batch_frames], seeds[i], settings) for i, s in enumerate(starts)]
    workers = concurrent.futures.ProcessPoolExecutor(jobs) if jobs > 1 else None
    with workers or contextlib.nullcontext():
        results = []
        for result in (workers.map if workers else map)(evaluate_batch, *zip(*batches)):
            results.append(result)
            if progress:
                progress(len(results), len(batches))
    log_likelihoods, variances, predictions = (np.concatenate(r) for r in zip(*results))
    return dict(
        frames=len(frames),
        sequences=len(rolls),
        log_likelihood_per_frame=float(log_likelihoods.mean()),
        log_likelihood_stderr=float(np.sqrt(variances.sum()) / len(frames)),
        accuracy=float(frame_accuracy(predictions, frames)),
        **settings,
    )


def main(argv=None):
    parser = ArgumentParser(
        prog="rnnrbm.py evaluate",
        description="Log-likelihood per frame (AIS) and frame-level accuracy of a trained "
                    "RNN-RBM on a split of a piano-roll dataset in the paper's pickle format.")
    parser.add_argument("checkpoint", help="checkpoint.npz written by training")
    parser.add_argument("--pickle", default="data/Nottingham.pickle",
                        help="dataset (default: %(default)s)")
    parser.add_argument("--split", default="test", choices=("train", "valid", "test"))
    parser.add_argument("--chains", type=int, default=10, help="AIS chains per frame")
    parser.add_argument("--temperatures", type=int, default=1000, help="AIS temperatures")
    parser.add_argument("--sequences", type=positive_int,
                        help="evaluate only the first N sequences of the split (quick checks)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--jobs", type=int, default=os.cpu_count(),
                        help="worker processes (default: one per core)")
    parser.add_argument("--out", help="write the figures as JSON here too")
    args = parser.parse_args(argv)
    for name in ("chains", "temperatures"):
        if getattr(args, name) < 2:
            parser.error(f"--{name} must be at least 2")
    try:
        state = read_checkpoint(args.checkpoint)
        params = {name: state[name].astype(np.float64) for name in PARAM_NAMES}
        rolls = load_pickle_rolls(args.pickle, args.split, state["config"]["r"])[:args.sequences]
    except ValueError as err:
        parser.exit(1, f"rnnrbm.py evaluate: {err}\n")
    start = time.perf_counter()
    metrics = evaluate(params, rolls, args.seed, args.chains, args.temperatures, jobs=args.jobs,
                       progress=lambda done, total: print(f"batch {done}/{total} done",
                                                          file=sys.stderr, flush=True))
    metrics["seconds"] = round(time.perf_counter() - start, 1)
    metrics.update(split=args.split, dataset=args.pickle, checkpoint=args.checkpoint,
                   seed=args.seed, command="python rnnrbm.py evaluate " + " ".join(
                       argv if argv is not None else sys.argv[2:]))
    text = json.dumps(metrics, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
