"""Do the Gibbs chains of a conditional RBM mix? Marginals from several starts, compared.

An RNN-RBM's accuracy needs each frame's note marginals P(v_ti = 1 | v_<t),
and Gibbs sampling gives them only if its chains forget where they started.
A sharp RBM (large weights: the trained models of results/table1) has modes
that block Gibbs moves between them, so a chain started in one stays there;
annealed importance sampling's final states are such chains too. The check
(after Gelman and Rubin 1992, "Inference from iterative simulation using
multiple sequences": chains from dispersed starts must agree): for each
frame, run Gibbs chains at the frame's own RBM from each of STARTS,

    zeros     the empty frame, where the tutorial's generation starts;
    previous  the true frame before (zeros for a sequence's first frame);
    data      a frame drawn from elsewhere in the data (a fixed seed),

and take each start's Rao-Blackwellised marginals, the mean over chains and
steps of p(v_i = 1 | h) = sigmoid(bv + h W^T)_i. The starts agree when the
`paper` accuracy (evaluation/accuracy.py) of their marginals is the same
within TOLERANCE for every pair of starts, and only then is a sampled figure
of these frames a measurement.
"""

import numpy as np

from polyphonic.evaluation.accuracy import accuracies
from polyphonic.models.numpy_rnnrbm import sigmoid

STARTS = ("zeros", "previous", "data")
TOLERANCE = 0.01  # of accuracy (1 point) between any two starts
# Chains of 2,000 steps: on the `paper` Nottingham model's first 576 test frames the
# three starts read 69.3 / 71.8 / 69.6 % after 100 + 100 x 2 steps and agree at
# 73.5 % after 1,000 + 100 x 10, beside AIS's 74.2 % (results/table1/mixing).
DEFAULTS = dict(chains=10, burn_in=1000, samples=100, thin=10)


def chain_marginals(W, bv, bh, start, rng, chains=10, burn_in=100, samples=100, thin=2,
                    dtype="float64"):
    """Note marginals (rows x n_visible) of each RBM (rows of bv, bh) from
    `chains` Gibbs chains per RBM started at the rows of `start`: `burn_in`
    steps, then the mean of p(v | h) over `samples` states `thin` steps apart
    and over the chains (gibbs.GibbsChain)."""
    from polyphonic.evaluation.scoring import _compiled, compile_chain
    from polyphonic.models.gibbs import new_keys

    f = _compiled(compile_chain, dtype)
    W, bv, bh = (np.asarray(x, dtype=dtype) for x in (W, bv, bh))
    # Chain c of RBM i is row c * rows + i, whose biases the kernel takes from row i.
    v = np.tile(np.asarray(start, dtype=dtype), (chains, 1))
    v, _ = f(W, bv, bh, v, new_keys(rng), burn_in)
    total = np.zeros(v.shape)
    for _ in range(samples):
        v, activation = f(W, bv, bh, v, new_keys(rng), thin)
        total += sigmoid(activation.astype(np.float64))
    return (total / samples).reshape(chains, len(bv), -1).mean(axis=0)


def starting_frames(rolls, seed, rows=None):
    """{start name: rows x notes array} for the frames `rows` of `rolls`
    (indices into all their frames in order; every frame by default): zeros,
    each frame's previous true frame (zeros for a sequence's first), and a
    frame drawn at random from all of them (one draw per frame of `rolls`,
    so a frame's draw does not depend on `rows`)."""
    frames = np.concatenate(rolls)
    rows = np.arange(len(frames)) if rows is None else np.asarray(rows)
    drawn = np.random.default_rng(seed).integers(0, len(frames), len(frames))[rows]
    firsts = np.cumsum([0, *map(len, rolls)])[:-1]
    previous = frames[rows - 1] * ~np.isin(rows, firsts)[:, None]
    return dict(zeros=np.zeros((len(rows), frames.shape[1])), previous=previous,
                data=frames[drawn])


def mixing_check(W, bv, bh, frames, starts, seed, dtype="float64", given=None, pooled=False,
                 tempering=0, keep=False, **settings):
    """The check on the RBMs of some frames: bv, bh their biases (rows),
    `frames` their true notes, `starts` {name: starting frames (rows)};
    `given` {name: marginals} adds marginals estimated otherwise (AIS's final
    states: "ais") to the comparison. `pooled`: the rows are one and the
    same RBM (Table 1's RBM row), so each start's marginals are the mean
    over all its chains, not each row's own few. `tempering`: if not 0,
    the chains from each start are parallel-tempering ladders of that many
    temperatures (tempering.py), not plain Gibbs chains, and the result
    also holds the least swap acceptance of any start's ladder. `keep`: the
    result also holds each start's marginals ("marginals", not JSON). Returns a dict: each one's accuracies
    (`paper` and the others), the largest `paper` difference between two of
    them, the largest mean absolute difference of two of their marginals, the
    tolerance, and `mixed`: whether the largest `paper` difference is within it."""
    rng, extra = np.random.default_rng(seed), {}
    if tempering:
        from polyphonic.evaluation.tempering import DEFAULTS as TEMPERING, tempered_marginals

        settings = {**TEMPERING, **settings, "temperatures": tempering}
        ladders = {name: tempered_marginals(W, bv, bh, start, rng, **settings)
                   for name, start in starts.items()}
        marginals = {name: ladder[0] for name, ladder in ladders.items()}
        extra = dict(sampler="tempering", swap_acceptance_min=float(
            min(ladder[1].min() for ladder in ladders.values())))
    else:
        settings = {**DEFAULTS, **settings}
        marginals = {name: chain_marginals(W, bv, bh, start, rng, dtype=dtype, **settings)
                     for name, start in starts.items()}
    if pooled:
        marginals = {name: np.broadcast_to(m.mean(axis=0), m.shape)
                     for name, m in marginals.items()}
    marginals.update(given or {})
    if keep:
        extra["marginals"] = marginals
    scores = {name: accuracies(m, frames) for name, m in marginals.items()}
    names = list(marginals)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    spread = max(abs(scores[a]["paper"] - scores[b]["paper"]) for a, b in pairs)
    apart = max(float(np.abs(marginals[a] - marginals[b]).mean()) for a, b in pairs)
    return dict(frames=len(frames), accuracy_by_start=scores, accuracy_paper_spread=spread,
                marginal_difference=apart, tolerance=TOLERANCE, mixed=spread <= TOLERANCE,
                **settings, **extra)
