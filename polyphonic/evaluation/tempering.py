"""Parallel tempering for the conditional RBMs whose Gibbs chains do not mix.

A Gibbs chain at a sharp RBM stays in the mode it starts in (mixing.py).
Parallel tempering (Swendsen and Wang 1986; Geyer 1991; for RBMs Desjardins
et al. 2010, "Tempered Markov chain Monte Carlo for training of restricted
Boltzmann machines", AISTATS) runs one chain per inverse temperature
beta_1 < ... < beta_K = 1 of the tempered RBM

    p_beta(v, h) proportional to exp(beta (bv . v + bh . h + v W h)),

flat at small beta, where a chain crosses between modes freely, and the RBM
itself at beta = 1. Each sweep takes one Gibbs step in every chain, then
proposes to swap the states of neighbouring temperatures, accepted with the
Metropolis probability min(1, p_i(v_j) p_j(v_i) / (p_i(v_i) p_j(v_j))) in the
free energies F_beta(v) = -beta bv . v - sum_j softplus(beta (v W + bh)_j)
(the even pairs on even sweeps, the odd ones on odd sweeps). The beta = 1
chain then samples the RBM and can reach every mode the hotter chains find.
Its note marginals are Rao-Blackwellised as mixing.chain_marginals's are.
NumPy, vectorised over rows (each frame's own RBM), chains and temperatures.
"""

import numpy as np

from polyphonic.models.numpy_rnnrbm import sigmoid, softplus

DEFAULTS = dict(temperatures=20, beta_min=0.05, chains=4, burn_in=500, samples=100, thin=5)


def betas(temperatures, beta_min):
    """The inverse temperatures, geometric from beta_min to 1 (the last)."""
    return beta_min ** np.linspace(1.0, 0.0, temperatures)


def tempered_free_energies(v, W, bv, bh, beta):
    """F_beta(v) of every state (... x rows x n_visible), rows with their own
    biases; beta broadcasts against the states (a trailing axis of 1)."""
    return -(beta * np.sum(v * bv, axis=-1, keepdims=True)
             + np.sum(softplus(beta * (v @ W + bh)), axis=-1, keepdims=True))[..., 0]


def tempered_marginals(W, bv, bh, start, rng, temperatures=20, beta_min=0.05, chains=4,
                       burn_in=500, samples=100, thin=5):
    """Note marginals (rows x n_visible) of each RBM (rows of bv, bh) from its
    beta = 1 chains, `chains` replicas of a ladder of `temperatures` chains,
    every chain started at the rows of `start`: `burn_in` sweeps, then the
    mean of p(v | h) over `samples` states `thin` sweeps apart. Returns
    (marginals, acceptance): the share of accepted swaps of each neighbouring
    pair of temperatures (temperatures - 1), which must not be near 0 for the
    ladder to carry states from hot to cold."""
    if temperatures < 2:
        raise ValueError(f"a ladder needs 2 temperatures or more, not {temperatures}")
    ladder = betas(temperatures, beta_min)[:, None, None, None]  # temperature, chain, row, unit
    v = np.broadcast_to(np.asarray(start, np.float64),
                        (temperatures, chains, *np.shape(start))).copy()
    accepted, proposed = np.zeros(temperatures - 1), np.zeros(temperatures - 1)
    total = np.zeros(np.shape(start))
    for sweep in range(burn_in + samples * thin):
        h = rng.random((*v.shape[:-1], W.shape[1])) < sigmoid(ladder * (v @ W + bh))
        activation = h @ W.T + bv
        v = (rng.random(v.shape) < sigmoid(ladder * activation)).astype(np.float64)
        first = sweep % 2  # the pairs (first, first + 1), (first + 2, first + 3), ...
        low, high = np.arange(first, temperatures - 1, 2), np.arange(first + 1, temperatures, 2)
        beta_low, beta_high = ladder[low], ladder[high]
        log_ratio = (tempered_free_energies(v[low], W, bv, bh, beta_low)
                     + tempered_free_energies(v[high], W, bv, bh, beta_high)
                     - tempered_free_energies(v[high], W, bv, bh, beta_low)
                     - tempered_free_energies(v[low], W, bv, bh, beta_high))
        swap = np.log(rng.random(log_ratio.shape)) < log_ratio
        v[low], v[high] = np.where(swap[..., None], v[high], v[low]), \
            np.where(swap[..., None], v[low], v[high])
        accepted[low] += swap.sum(axis=(1, 2))
        proposed[low] += swap[0].size
        if sweep >= burn_in and (sweep - burn_in) % thin == thin - 1:
            # p(v | h) at beta = 1 for h given the cold chain's state.
            h = rng.random((*v.shape[1:-1], W.shape[1])) < sigmoid(v[-1] @ W + bh)
            total += sigmoid(h @ W.T + bv).mean(axis=0)
    return total / samples, accepted / np.maximum(proposed, 1)
