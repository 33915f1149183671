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

Everything here is NumPy, on the parameters of a checkpoint, except the AIS
chains: gibbs.AnnealedGibbs, a C kernel (2.2 microseconds per chain and
temperature on the paper model's test frames, uniforms included, against 9.4
for the PyTensor scan it replaced, measured side by side).
"""

import contextlib
import multiprocessing
import signal

import numpy as np

from numpy_rnnrbm import free_energies, rnn_biases, sigmoid, softplus


GROUP_CHAINS = 20000  # AIS chains run together (their states take 14 MB in float64)


def compile_ais(dtype="float64"):
    """Compile gibbs.AnnealedGibbs for the C backend: (W, bv, bh, v, log_w, betas,
    key) -> (v, log_w), called once per temperature.

    dtype : of W, the biases, the states and the uniforms (log_w, betas: float64).
    """
    import pytensor
    import pytensor.tensor as pt

    from gibbs import AnnealedGibbs
    from rnnrbm import BACKENDS

    inputs = [*(pt.matrix(name, dtype=dtype) for name in ("W", "bv", "bh", "v")),
              pt.dvector("log_w"), pt.dvector("betas"), pt.vector("key", dtype="uint64")]
    return pytensor.function(inputs, AnnealedGibbs()(*inputs), mode=BACKENDS["c"])


def ais_log_partition(W, bv, bh, rng, n_chains=100, n_temperatures=1000, dtype="float64"):
    """AIS estimate of log Z for one RBM per row of bv (rows x n_visible), bh.

    Temperatures beta_i = i / n_temperatures; the chains start from the
    exact beta = 0 distribution (independent visible units with biases bv)
    and take one Gibbs step at each beta > 0 (gibbs.AnnealedGibbs, in
    `dtype`, its uniforms too: the same streams, float32 taking the top 24
    of the bits float64 takes 53 of; the weights are summed in float64
    either way). The RBMs are
    taken in groups of GROUP_CHAINS chains, to bound the memory.
    Returns (log_Z, stderr): arrays of one entry per row; stderr is the delta
    method's standard error of the estimate, std(w) / (sqrt(chains) mean(w)).
    """
    group = max(1, GROUP_CHAINS // n_chains)
    log_w = np.concatenate([ais_log_weights(W, bv[i:i + group], bh[i:i + group], rng,
                                            n_chains, n_temperatures, dtype)
                            for i in range(0, len(bv), group)], axis=1)
    log_z0 = softplus(bv).sum(axis=1) + W.shape[1] * np.log(2.0)
    shift = log_w.max(axis=0)
    w = np.exp(log_w - shift)
    mean = w.mean(axis=0)
    stderr = w.std(axis=0, ddof=1) / (np.sqrt(n_chains) * mean)
    return log_z0 + shift + np.log(mean), stderr


def ais_log_weights(W, bv, bh, rng, n_chains, n_temperatures, dtype):
    """The AIS log-weights (chains x rows) of ais_log_partition, for all its RBMs
    at once. The chains' starting states, then for each temperature the two
    keys of the kernel's uniform streams, are drawn from `rng` in that
    order."""
    from gibbs import new_keys

    f = _compiled_ais(dtype)
    n_rows, n_visible = bv.shape
    # Chains are stacked as rows: chain c of RBM i is row c * n_rows + i,
    # whose biases the kernel takes from row i.
    v = (rng.random((n_chains * n_rows, n_visible)) < sigmoid(np.tile(bv, (n_chains, 1))))
    v = v.astype(dtype)
    log_w = np.zeros(len(v))
    betas = np.linspace(0.0, 1.0, n_temperatures + 1)
    W, bv, bh = (np.asarray(x, dtype=dtype) for x in (W, bv, bh))
    for i in range(n_temperatures):
        v, log_w = f(W, bv, bh, v, log_w, betas[i:i + 2], new_keys(rng))
    return log_w.reshape(n_chains, n_rows)


_compiled = {}


def _compiled_ais(dtype):
    """compile_ais(dtype), compiled once per process (and dtype)."""
    if dtype not in _compiled:
        _compiled[dtype] = compile_ais(dtype)
    return _compiled[dtype]


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
                                      settings["ais_temperatures"], settings["ais_dtype"])
    predicted = predict_frames(W, bv, bh, rng, settings["prediction_chains"],
                               settings["prediction_gibbs_steps"])
    return -free_energies(frames, W, bv, bh) - log_z, stderr ** 2, predicted


def evaluate_batch_star(arguments):
    return evaluate_batch(*arguments)


def evaluate(params, rolls, seed=1234, n_chains=10, n_temperatures=1000, prediction_chains=10,
             gibbs_steps=25, batch_frames=2000, jobs=1, progress=None, ais_dtype="float64"):
    """Log-likelihood per frame (with AIS standard error) and accuracy on piano rolls.

    params : dict of parameter arrays (W, bv, bh, Wuh, Wuv, Wvu, Wuu, bu).
    rolls : list of (frames x n_visible) 0/1 arrays.
    Frames are processed in batches of `batch_frames`, each with its own random
    stream spawned from `seed`, so the result does not depend on `jobs`, the
    number of worker processes; progress(frames_done, frames) is called after
    each batch. ais_dtype : the AIS chains' arithmetic (see
    ais_log_partition). Returns a dict of the figures and the settings that
    made them.
    """
    settings = dict(ais_chains=n_chains, ais_temperatures=n_temperatures, ais_dtype=ais_dtype,
                    prediction_chains=prediction_chains, prediction_gibbs_steps=gibbs_steps)
    frames = np.concatenate(rolls).astype(np.float64)
    biases = [rnn_biases(roll.astype(np.float64), params)[1:] for roll in rolls]
    bv = np.concatenate([b[0] for b in biases])
    bh = np.concatenate([b[1] for b in biases])
    starts = range(0, len(frames), batch_frames)
    seeds = np.random.SeedSequence(seed).spawn(len(starts))
    batches = [(params["W"], frames[s:s + batch_frames], bv[s:s + batch_frames],
                bh[s:s + batch_frames], seeds[i], settings) for i, s in enumerate(starts)]
    # The workers leave Ctrl+C to this process, whose leaving the `with`
    # block (Pool.__exit__) terminates them.
    workers = multiprocessing.Pool(jobs, signal.signal, (signal.SIGINT, signal.SIG_IGN)) \
        if jobs > 1 else None
    with workers or contextlib.nullcontext():
        results, done = [], 0
        for result in (workers.imap if workers else map)(evaluate_batch_star, batches):
            results.append(result)
            done += len(result[0])
            if progress:
                progress(done, len(frames))
    log_likelihoods, variances, predictions = (np.concatenate(r) for r in zip(*results))
    return dict(
        frames=len(frames),
        sequences=len(rolls),
        log_likelihood_per_frame=float(log_likelihoods.mean()),
        log_likelihood_stderr=float(np.sqrt(variances.sum()) / len(frames)),
        accuracy=float(frame_accuracy(predictions, frames)),
        **settings,
    )
