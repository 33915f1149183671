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
frames independent), not of the test set's sampling. When only a random sample
of the split's frames is scored (evaluate's `rows`), the error of its mean as an
estimate of the whole split's is reported beside it (sampling_stderr).

Frame-level accuracy (Bay et al. 2009) is computed from each frame's per-note
marginals P(v_ti = 1 | v_<t) under each definition of evaluation/accuracy.py:
`paper` (the notes of marginal at least 1/2 predicted on, counts summed over
all frames), which reproduces the paper's Random row, its per-frame mean, and
`expected` (the ratio of expected counts). The marginals of a conditional RBM
come from the AIS chains' final states, importance-weighted
(weighted_marginals): chains that do not mix make them, and these figures,
wrong. For the RNN alone (kind="rnn") and the Random row (kind="random")
likelihood and marginals are exact.

Everything here is NumPy, on the parameters of a checkpoint, except the Gibbs
chains: gibbs.AnnealedGibbs for AIS, a C kernel (1.7 microseconds per chain and
temperature in float64, 1.2 in float32, on the paper model's test frames,
uniforms included; 9.4 for the PyTensor scan it replaced), and
gibbs.GibbsChain for the half step of the marginals.
"""

import contextlib
import hashlib
import json
import multiprocessing
import os
import signal

import numpy as np

from polyphonic.evaluation.accuracy import accuracies
from polyphonic.models.numpy_rnnrbm import free_energies, rnn_biases, rnn_states, sigmoid, softplus

GROUP_CHAINS = 20000  # AIS chains run together (their states take 14 MB in float64)


def compile_ais(dtype="float64"):
    """Compile gibbs.AnnealedGibbs for the C backend: (W, bv, bh, v, log_w, betas,
    key) -> (v, log_w), called once per temperature.

    dtype : of W, the biases, the states and the uniforms (log_w, betas: float64).
    """
    import pytensor
    import pytensor.tensor as pt

    from polyphonic.models.gibbs import AnnealedGibbs
    from rnnrbm import BACKENDS

    inputs = [*(pt.matrix(name, dtype=dtype) for name in ("W", "bv", "bh", "v")),
              pt.dvector("log_w"), pt.dvector("betas"), pt.vector("key", dtype="uint64")]
    return pytensor.function(inputs, AnnealedGibbs()(*inputs), mode=BACKENDS["c"])


def ais_log_partition(W, bv, bh, rng, n_chains=100, n_temperatures=1000, dtype="float64",
                      marginals=False):
    """AIS estimate of log Z for one RBM per row of bv (rows x n_visible), bh.

    Temperatures beta_i = i / n_temperatures; the chains start from the
    exact beta = 0 distribution (independent visible units with biases bv)
    and take one Gibbs step at each beta > 0 (gibbs.AnnealedGibbs, in
    `dtype`, its uniforms too: the same streams, float32 taking the top 24
    of the bits float64 takes 53 of; the weights are summed in float64
    either way). The RBMs are taken in groups of GROUP_CHAINS chains, to
    bound the memory.
    Returns (log_Z, stderr): arrays of one entry per row; stderr is the delta
    method's standard error of the estimate, std(w) / (sqrt(chains) mean(w)).
    With `marginals`, also each RBM's note marginals P(v_i = 1) (rows x
    n_visible) from the chains' final states (weighted_marginals).
    """
    group = max(1, GROUP_CHAINS // n_chains)
    parts = [ais_log_weights(W, bv[i:i + group], bh[i:i + group], rng, n_chains,
                             n_temperatures, dtype) for i in range(0, len(bv), group)]
    log_w = np.concatenate([part[0] for part in parts], axis=1)
    log_z0 = softplus(bv).sum(axis=1) + W.shape[1] * np.log(2.0)
    shift = log_w.max(axis=0)
    w = np.exp(log_w - shift)
    mean = w.mean(axis=0)
    stderr = w.std(axis=0, ddof=1) / (np.sqrt(n_chains) * mean)
    log_z = log_z0 + shift + np.log(mean)
    if not marginals:
        return log_z, stderr
    return log_z, stderr, np.concatenate([
        weighted_marginals(W, bv[i:i + group], bh[i:i + group], v, part_log_w, rng, dtype)
        for i, (part_log_w, v) in zip(range(0, len(bv), group), parts)])


def ais_log_weights(W, bv, bh, rng, n_chains, n_temperatures, dtype):
    """The AIS log-weights (chains x rows) of ais_log_partition, for all its
    RBMs at once, and the chains' final states (chain c of RBM i in row
    c * rows + i). The chains' starting states, then for each temperature
    the two keys of the kernel's uniform streams, are drawn from `rng` in
    that order."""
    from polyphonic.models.gibbs import new_keys

    f = _compiled(compile_ais, dtype)
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
    return log_w.reshape(n_chains, n_rows), v


def effective_chains(stderr, n_chains):
    """The effective sample size (sum w)^2 / sum w^2 of each RBM's AIS weights,
    from ais_log_partition's standard error (std(w) with ddof 1, over
    sqrt(chains) mean(w)): n / (1 + (n - 1) stderr^2). Near n when the weights
    are alike; near 1 when one chain carries the estimate, which is then
    unreliable however small the reported standard error (Neal 2001, sec. 3)."""
    return n_chains / (1.0 + (n_chains - 1) * np.asarray(stderr) ** 2)


def weighted_marginals(W, bv, bh, v, log_w, rng, dtype):
    """Note marginals of each RBM (rows of bv, bh) from AIS's final states v
    (chains stacked as in ais_log_weights) and their log-weights (chains x
    rows): the importance-weighted mean over chains of p(v_i = 1 | h) =
    sigmoid(bv + h W^T)_i, h drawn given each final state (one more half
    Gibbs step at beta = 1, gibbs.GibbsChain with k = 0, which leaves the
    target distribution unchanged; averaging p(v | h) rather than v is the
    Rao-Blackwellised estimate). AIS's weighted states stand for samples of
    the RBM far better than a short Gibbs chain from zeros: on a trained
    model's validation frames such a chain of 25 steps, the generation
    procedure's, gave an expected accuracy of 52.7 %, of 200 steps 59.3 %,
    of 1,000 steps 61.0 % (results/paper-nottingham)."""
    from polyphonic.models.gibbs import new_keys

    f = _compiled(compile_chain, dtype)
    n_chains, n_rows = log_w.shape
    _, activation = f(*(np.asarray(x, dtype=dtype) for x in (W, bv, bh)), v, new_keys(rng), 0)
    p = sigmoid(activation.astype(np.float64)).reshape(n_chains, n_rows, -1)
    w = np.exp(log_w - log_w.max(axis=0))
    return np.einsum("cr,crn->rn", w / w.sum(axis=0), p)


_cache = {}


def _compiled(compile, dtype):
    """compile(dtype), compiled once per process (and dtype)."""
    if (compile, dtype) not in _cache:
        _cache[compile, dtype] = compile(dtype)
    return _cache[compile, dtype]


def compile_chain(dtype="float64"):
    """Compile gibbs.GibbsChain with its monitor for the C backend: (W, bv, bh,
    v, key, k) -> (v after k steps, visible input of one more half step)."""
    import pytensor
    import pytensor.tensor as pt

    from polyphonic.models.gibbs import GibbsChain
    from rnnrbm import BACKENDS

    inputs = [*(pt.matrix(name, dtype=dtype) for name in ("W", "bv", "bh", "v")),
              pt.vector("key", dtype="uint64"), pt.lscalar("k")]
    return pytensor.function(inputs, GibbsChain(monitor=True)(*inputs), mode=BACKENDS["c"])


def conditional_biases(params, rolls):
    """(bv, bh): the biases of every frame's conditional RBM, the RNN run over
    the true frames of each roll, stacked in the order of np.concatenate(rolls)."""
    biases = [rnn_biases(roll.astype(np.float64), params)[1:] for roll in rolls]
    return (np.concatenate([b[0] for b in biases]), np.concatenate([b[1] for b in biases]))


def rnn_activations(params, roll):
    """The RNN's visible logits bv + u_{t-1} Wuv for every frame of `roll`, from u0."""
    _, u_prev = rnn_states(roll, params)
    return params["bv"] + u_prev @ params["Wuv"]


def evaluate_batch(W, frames, bv, bh, seed, settings):
    """Per-frame log-likelihoods, their AIS variances and note marginals for one batch."""
    rng = np.random.default_rng(seed)
    log_z, stderr, marginals = ais_log_partition(W, bv, bh, rng, settings["ais_chains"],
                                                 settings["ais_temperatures"],
                                                 settings["ais_dtype"], marginals=True)
    return -free_energies(frames, W, bv, bh) - log_z, stderr ** 2, marginals


def evaluate_batch_star(arguments):
    return evaluate_batch(*arguments)


def evaluate(params, rolls, seed=1234, n_chains=100, n_temperatures=1000, batch_frames=2000,
             jobs=1, progress=None, ais_dtype="float64", kind="rnnrbm", cache=None, mixing=0,
             rows=None, samples=100, tempering=0):
    """Log-likelihood per frame (with AIS standard error) and accuracies on piano rolls.

    params : dict of parameter arrays: an RNN-RBM's (W, bv, bh, Wuh, Wuv, Wvu,
        Wuu, bu, and u0 if learned) or, with kind="rnn", an RNN's (Wvu, Wuu,
        bu, Wuv, bv, u0), whose likelihood and marginals are exact; with
        kind="rbm" an RBM's over single frames (W, bv, bh: Table 1's RBM row,
        the same RBM for every frame, so one AIS estimate of its log Z, and
        its marginals from the mixing check's Gibbs chains, every start
        pooled, or without the check from AIS's final states); with kind="nade" a
        NADE's over single frames (W, V, bv, bh) and with kind="rnn-nade" an
        RNN-NADE's (those and Wuh, Wuv, Wvu, Wuu, bu, u0), whose likelihood
        is exact and whose marginals come from `samples` exact draws per
        frame (nade_figures); with kind="random" none: Table 1's Random row,
        every note on with probability 1/2, exact.
    rolls : list of (frames x n_visible) 0/1 arrays.
    Frames are processed in batches of `batch_frames`, each with its own random
    stream spawned from `seed`, so the result does not depend on `jobs`, the
    number of worker processes; progress(frames_done, frames) is called after
    each batch. ais_dtype : the arithmetic of the AIS chains
    (see ais_log_partition). cache : a folder that keeps each batch's results
    as it finishes and gives back those an earlier call with the same inputs
    left there, so that an interrupted evaluation continues where it stopped
    (ValueError if the folder holds another evaluation's). mixing : for an
    RNN-RBM, the number of frames (drawn with `seed`) on which Gibbs chains
    from several starts and the AIS marginals are compared
    (mixing.mixing_check; its result under "mixing"); 0 for none. tempering :
    if not 0, the check's chains are parallel-tempering ladders of that many
    temperatures (evaluation/tempering.py). rows : the
    indices (into np.concatenate(rolls)) of the only frames to score, each
    still given its sequence's true past (a random sample: the figures then
    include frames_drawn_from and log_likelihood_sampling_stderr); None for all. Returns a dict of
    the figures (accuracy_NAME for each definition of accuracy.DEFINITIONS,
    from the note marginals) and the settings that made them.
    """
    frames = np.concatenate(rolls).astype(np.float64)
    population = len(frames)
    scored = np.arange(population) if rows is None else np.asarray(rows)
    frames = frames[scored]
    stderr = 0.0
    if kind == "random":
        log_likelihoods = np.full(len(frames), frames.shape[1] * np.log(0.5))
        variances, marginals = np.zeros(len(frames)), np.full(frames.shape, 0.5)
        settings = dict(exact=True)
    elif kind in ("nade", "rnn-nade"):
        log_likelihoods, marginals = nade_figures(params, rolls, scored, kind, seed, samples)
        variances = np.zeros(len(frames))
        settings = dict(exact=True, marginal_samples=samples)
        if progress:
            progress(len(frames), len(frames))
    elif kind == "rbm":
        settings = dict(ais_chains=n_chains, ais_temperatures=n_temperatures,
                        ais_dtype=ais_dtype)
        W, bv, bh = params["W"], params["bv"], params["bh"]
        log_z, log_z_stderr, rbm_marginals = ais_log_partition(
            W, bv[None], bh[None], np.random.default_rng(seed), n_chains, n_temperatures,
            ais_dtype, marginals=True)
        log_likelihoods = -free_energies(frames, W, bv, bh) - log_z[0]
        # One estimate of log Z serves every frame: its error does not average out.
        stderr, variances = float(log_z_stderr[0]), log_z_stderr ** 2
        marginals = np.broadcast_to(rbm_marginals, frames.shape)
        if mixing:
            # 100 AIS chains are too few for one RBM's marginals (on JSB Chorales they
            # put notes above 1/2 that 30,000 Gibbs chains from three starts, agreeing,
            # put below): its figures take the check's chains, every start pooled.
            check = check_mixing(W, *(np.broadcast_to(b, (len(frames), len(b)))
                                      for b in (bv, bh)),
                                 rolls, None, mixing, seed, ais_dtype, scored, pooled=True,
                                 tempering=tempering, keep=True)
            pooled = np.mean([m[0] for m in check.pop("marginals").values()], axis=0)
            marginals = np.broadcast_to(pooled, frames.shape)
            settings.update(mixing=check, marginals_from="the mixing check's chains, "
                            "every start pooled")
        if progress:
            progress(len(frames), len(frames))
    elif kind == "rnn":
        activations = np.concatenate([rnn_activations(params, roll.astype(np.float64))
                                      for roll in rolls])[scored]
        log_likelihoods = np.sum(frames * activations - softplus(activations), axis=1)
        variances, marginals = np.zeros(len(frames)), sigmoid(activations)
        settings = dict(exact=True)
        if progress:
            progress(len(frames), len(frames))
    else:
        settings = dict(ais_chains=n_chains, ais_temperatures=n_temperatures,
                        ais_dtype=ais_dtype)
        bv, bh = (b[scored] for b in conditional_biases(params, rolls))
        starts = range(0, len(frames), batch_frames)
        seeds = np.random.SeedSequence(seed).spawn(len(starts))
        batches = [(params["W"], frames[s:s + batch_frames], bv[s:s + batch_frames],
                    bh[s:s + batch_frames], seeds[i], settings) for i, s in enumerate(starts)]
        # The workers leave Ctrl+C to this process, whose leaving the `with`
        # block early (Pool.__exit__) terminates them.
        kept = BatchCache(cache, params, frames, [seed, batch_frames, settings]) if cache \
            else None
        results = {i: kept.load(i) for i in range(len(batches)) if kept and kept.has(i)}
        todo = [i for i in range(len(batches)) if i not in results]
        workers = multiprocessing.Pool(jobs, signal.signal, (signal.SIGINT, signal.SIG_IGN)) \
            if jobs > 1 and todo else None
        with workers or contextlib.nullcontext():
            done = sum(len(result[0]) for result in results.values())
            computed = (workers.imap if workers else map)(evaluate_batch_star,
                                                         [batches[i] for i in todo])
            for i, result in zip(todo, computed):
                results[i] = result
                if kept:
                    kept.save(i, result)
                done += len(result[0])
                if progress:
                    progress(done, len(frames))
            if workers:  # a clean shutdown: terminate() (the with block's exit) can hang
                workers.close()
                workers.join()
        log_likelihoods, variances, marginals = (
            np.concatenate(r) for r in zip(*(results[i] for i in range(len(batches)))))
        stderr = float(np.sqrt(variances.sum()) / len(frames))
        if mixing:
            settings["mixing"] = check_mixing(params["W"], bv, bh, rolls, marginals, mixing,
                                              seed, ais_dtype, scored, tempering=tempering)
    return dict(
        model=kind,
        frames=len(frames),
        sequences=len(rolls),
        log_likelihood_per_frame=float(log_likelihoods.mean()),
        log_likelihood_stderr=stderr,
        **({} if rows is None else dict(
            frames_drawn_from=population,
            log_likelihood_sampling_stderr=sampling_stderr(log_likelihoods, population))),
        **{f"accuracy_{name}": value for name, value in accuracies(marginals, frames).items()},
        **settings,
        **({} if settings.get("exact") else ais_diagnostics(variances, n_chains)),
    )


def sampling_stderr(values, population):
    """The standard error of values.mean() as an estimate of the mean over a
    population of `population` items from which `values` were drawn uniformly
    at random without replacement: s / sqrt(n) * sqrt(1 - n / population), s
    the sample's standard deviation (ddof 1), with the finite population
    correction (Cochran, Sampling Techniques, 3rd ed. 1977, theorem 2.2); 0
    when the sample is the whole population."""
    n = len(values)
    if n < 2:
        return float("nan") if n < population else 0.0
    return float(np.std(values, ddof=1) / np.sqrt(n) * np.sqrt(1 - n / population))


def nade_figures(params, rolls, scored, kind, seed, samples):
    """(log-likelihoods, marginals) of the frames `scored` (indices into
    np.concatenate(rolls)) under a NADE (one for every frame) or an
    RNN-NADE (each frame's biases from the RNN run over the true frames
    before it): the exact log-likelihood, and the Rao-Blackwellised note
    marginals of `samples` exact draws per frame (numpy_nade.marginals; for
    a NADE, of `samples` x 100 draws, once)."""
    from polyphonic.models import numpy_nade

    frames = np.concatenate(rolls).astype(np.float64)[scored]
    W, V, rng = params["W"], params["V"], np.random.default_rng(seed)
    if kind == "nade":
        bv, bh = params["bv"], params["bh"]
        marginals = np.broadcast_to(numpy_nade.marginals(rng, W, V, bv, bh, samples * 100),
                                    frames.shape)
    else:
        bv, bh = (b[scored] for b in conditional_biases(params, rolls))
        marginals = numpy_nade.marginals(rng, W, V, bv, bh, samples)
    return numpy_nade.log_likelihoods(frames, W, V, bv, bh), marginals


def check_mixing(W, bv, bh, rolls, ais_marginals, n_frames, seed, dtype, scored, pooled=False,
                 tempering=0, keep=False):
    """mixing.mixing_check on `n_frames` of the scored frames (`scored`:
    their indices into np.concatenate(rolls); bv, bh and ais_marginals are
    theirs) drawn with `seed` (all if fewer), their AIS marginals among the
    compared (None: none); `pooled`, `tempering` and `keep` as mixing_check's."""
    from polyphonic.evaluation.mixing import mixing_check, starting_frames

    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(scored), min(n_frames, len(scored)), replace=False))
    starts = starting_frames(rolls, seed, scored[pick])
    given = None if ais_marginals is None else dict(ais=ais_marginals[pick])
    return mixing_check(W, bv[pick], bh[pick], np.concatenate(rolls)[scored[pick]], starts,
                        seed, dtype, given=given, pooled=pooled, tempering=tempering, keep=keep)


def ais_diagnostics(variances, n_chains):
    """How far the AIS estimates of evaluate can be trusted: the median and
    least effective chains per frame (effective_chains), and the share of
    frames whose estimate rests on fewer than 10 effective chains."""
    ess = effective_chains(np.sqrt(variances), n_chains)
    return dict(effective_chains_median=float(np.median(ess)),
                effective_chains_min=float(ess.min()),
                frames_below_10_effective_chains=float(np.mean(ess < 10)))


class BatchCache:
    """evaluate's batches kept in a folder: batch-N.npz each, and a fingerprint
    of what they were computed from (parameters, frames, seed, settings)."""

    def __init__(self, folder, params, frames, settings):
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
        for name in sorted(params):
            digest.update(name.encode() + np.ascontiguousarray(params[name]).tobytes())
        digest.update(np.ascontiguousarray(frames).tobytes())
        self.folder, fingerprint = folder, digest.hexdigest()
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "fingerprint.txt")
        if os.path.exists(path):
            with open(path) as f:
                if f.read().strip() != fingerprint:
                    raise ValueError(f"{folder} holds the batches of another evaluation (other "
                                     "checkpoint, data or settings): remove it or use another")
        else:
            with open(path, "w") as f:
                f.write(fingerprint + "\n")

    def path(self, i):
        return os.path.join(self.folder, f"batch-{i}.npz")

    def has(self, i):
        return os.path.exists(self.path(i))

    def load(self, i):
        with np.load(self.path(i)) as f:
            return f["log_likelihoods"], f["variances"], f["marginals"]

    def save(self, i, result):
        from polyphonic.training.checkpoints import atomic_output

        with atomic_output(self.path(i)) as temporary, open(temporary, "wb") as f:
            np.savez(f, log_likelihoods=result[0], variances=result[1], marginals=result[2])


def validation_log_likelihood(params, rolls, n_chains=5, n_temperatures=100, seed=4321,
                              dtype="float32"):
    """Model selection's criterion: the mean AIS log-likelihood per frame of an
    RNN-RBM on `rolls`, with few chains and temperatures and a fixed seed.

    A cheap AIS underestimates log Z, so the figure is optimistic, but with
    the same frames, seed and settings at every evaluation its errors are
    alike from one epoch to the next, which is what choosing an epoch needs;
    it measures what the paper reports, unlike the training monitor. Not
    alike between models whose weights differ much in size: the sharper the
    conditional RBMs, the more optimistic a short anneal (a JSB Chorales model
    trained at a high rate: -3.27 per frame with 5 x 100, -5.68 with
    100 x 1,000; results/table1/jsb-search-1).
    """
    frames = np.concatenate(rolls).astype(np.float64)
    bv, bh = conditional_biases(params, rolls)
    log_z, _ = ais_log_partition(params["W"], bv, bh, np.random.default_rng(seed), n_chains,
                                 n_temperatures, dtype)
    return float(np.mean(-free_energies(frames, params["W"], bv, bh) - log_z))
