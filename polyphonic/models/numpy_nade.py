"""NADE in plain NumPy, note by note: the reference the compiled model is tested
against, and the exact sampler that generation and evaluation use.

NADE (Larochelle and Murray 2011, "The neural autoregressive distribution
estimator", AISTATS) factors a frame's distribution over its notes in pitch
order, P(v) = prod_i P(v_i | v_<i), each factor a logistic unit on a hidden
layer that reads the notes before it:

    h_i = sigmoid(bh + sum_{j<i} v_j W_j),   P(v_i = 1 | v_<i) = sigmoid(bv_i + h_i . V_i),

W and V (n_visible x n_hidden) the input and output weights. The likelihood is
exact and so is ancestral sampling, note after note. In the RNN-NADE
(Boulanger-Lewandowski et al. 2012) bv and bh are each frame's own, set by the
RNN as the RNN-RBM sets its RBMs' (numpy_rnnrbm.rnn_biases); here they are
either one vector for every row or one row per frame.
"""

import numpy as np

from polyphonic.models.numpy_rnnrbm import sigmoid, softplus


def log_likelihoods(v, W, V, bv, bh):
    """log P(v_t) of each row of v (rows x n_visible, 0/1), the product of the
    definition's factors taken one note at a time."""
    rows, n_visible = v.shape
    bv = np.broadcast_to(bv, v.shape)
    a = np.array(np.broadcast_to(bh, (rows, W.shape[1])), dtype=np.float64)
    h, total = sigmoid(a), np.zeros(rows)
    for i in range(n_visible):
        logit = bv[:, i] + h @ V[i]
        total += v[:, i] * logit - softplus(logit)
        update(a, h, np.flatnonzero(v[:, i]), W[i])
    return total


def update(a, h, on, w):
    """Add note i's input weights `w` to the activations `a` of the rows `on`
    (those where the note sounds) and recompute their hidden units h: a
    frame has few notes on, so few rows change at each note."""
    if on.size:
        a[on] += w
        h[on] = sigmoid(a[on])


def sample(rng, W, V, bv, bh, samples=1):
    """`samples` exact draws of each row's NADE (bv: rows x n_visible, bh:
    rows x n_hidden), note by note, and the probability each note had when it
    was drawn. Returns (v, p), both samples x rows x n_visible. The mean of p
    over samples is the Rao-Blackwellised estimate of the note marginals
    P(v_i = 1): unbiased, as E[P(v_i = 1 | v_<i)] = P(v_i = 1), and of less
    variance than the mean of v."""
    bv, bh = np.atleast_2d(bv), np.atleast_2d(bh)
    rows, n_visible = bv.shape
    a = np.tile(bh, (samples, 1)).astype(np.float64)
    bv, h = np.tile(bv, (samples, 1)), sigmoid(a)
    # Notes by rows (transposed), so that each note's values are contiguous.
    v, p, bv = np.zeros((n_visible, len(a))), np.zeros((n_visible, len(a))), bv.T.copy()
    for i in range(n_visible):
        p[i] = sigmoid(bv[i] + h @ V[i])
        v[i] = rng.random(len(a)) < p[i]
        update(a, h, np.flatnonzero(v[i]), W[i])
    return v.T.reshape(samples, rows, n_visible), p.T.reshape(samples, rows, n_visible)


def marginals(rng, W, V, bv, bh, samples=100, group=4000):
    """Note marginals of each row's NADE (rows x n_visible): the
    Rao-Blackwellised mean of `sample`'s probabilities over `samples` draws,
    the rows taken `group // samples` at a time to bound the memory."""
    bv, bh = np.atleast_2d(bv), np.atleast_2d(bh)
    step = max(1, group // samples)
    return np.concatenate([sample(rng, W, V, bv[i:i + step], bh[i:i + step], samples)[1]
                           .mean(axis=0) for i in range(0, len(bv), step)])
