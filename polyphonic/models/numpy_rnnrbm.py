"""The RNN-RBM training step in plain NumPy, written independently of rnnrbm.py.

It serves two roles: the tests' reference for the symbolic graph (free energy,
monitor, RNN recurrence, and the CD gradient derived here by hand, with
backpropagation through time written out), and the baseline that evaluation/bench.py
times beside the compiled step. Parameters are a dict with the tutorial's
names: W, bv, bh, Wuh, Wuv, Wvu, Wuu, bu, and u0 (the initial RNN state) when
it is learned; without it u0 is zero. train_step is the tutorial's step and
leaves u0 alone.
"""

import numpy as np

PARAM_NAMES = ("W", "bv", "bh", "Wuh", "Wuv", "Wvu", "Wuu", "bu")


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


def softplus(x):
    """log(1 + exp(x)), overflow-free; three times faster than np.logaddexp(0, x)."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def free_energies(v, W, bv, bh):
    """F(v) per row: -v . bv - sum_j softplus(v W + bh)_j."""
    return -np.sum(v * bv, axis=-1) - np.sum(softplus(v @ W + bh), axis=-1)


def exact_rbm_distribution(W, bv, bh):
    """Every binary visible vector (rows, in counting order) and its exact
    probability under the RBM, by enumeration: for tiny models only."""
    import itertools

    states = np.array(list(itertools.product([0.0, 1.0], repeat=len(bv))))
    log_p = -free_energies(states, W, bv, bh)
    p = np.exp(log_p - log_p.max())
    return states, p / p.sum()


def free_energy(v, W, bv, bh):
    """The free energy summed over all rows, as the CD cost uses it."""
    return np.sum(free_energies(v, W, bv, bh))


def reconstruction_log_likelihood(v, activation):
    """sum of v log p + (1 - v) log(1 - p) with p = sigmoid(activation), per row."""
    return np.sum(v * activation - softplus(activation)) / len(v)


def is_lstm(Wuu):
    """Whether the recurrence of weights Wuu is an LSTM: its Wuu has four blocks
    of columns (input, forget and output gates, cell input), a tanh RNN's is square."""
    return Wuu.shape[1] == 4 * Wuu.shape[0]


def rnn_step(inputs, u, Wuu):
    """The state after a frame from inputs = bu + v_t Wvu and the state u
    before it. tanh: tanh(inputs + u Wuu). An LSTM's state is [h, c]:
    with z = inputs + h Wuu in four blocks z1..z4, c' = sigmoid(z2) c +
    sigmoid(z1) tanh(z4) and h' = sigmoid(z3) tanh(c')."""
    if not is_lstm(Wuu):
        return np.tanh(inputs + u @ Wuu)
    n = Wuu.shape[0]
    z = inputs + u[:n] @ Wuu
    c = sigmoid(z[n:2 * n]) * u[n:] + sigmoid(z[:n]) * np.tanh(z[3 * n:])
    return np.concatenate([sigmoid(z[2 * n:3 * n]) * np.tanh(c), c])


def rnn_output(u, p):
    """What of the state u sets the biases: all of it, or an LSTM's h (its first half)."""
    return u[..., :u.shape[-1] // 2] if is_lstm(p["Wuu"]) else u


def rnn_states(v, p):
    """Run the RNN over the frames of v from u0 (p["u0"], zeros if absent);
    return (u, u_prev): the state after each frame and the output
    (rnn_output) of the one before it, which sets the frame's biases."""
    size = 2 * len(p["Wuu"]) if is_lstm(p["Wuu"]) else len(p["bu"])
    u0 = p.get("u0", np.zeros(size, dtype=v.dtype))
    u = np.zeros((len(v), size), dtype=v.dtype)
    u_tm1 = u0
    inputs = p["bu"] + v @ p["Wvu"]
    for t in range(len(v)):
        u[t] = u_tm1 = rnn_step(inputs[t], u_tm1, p["Wuu"])
    return u, rnn_output(np.vstack([u0[None, :], u[:-1]]), p)


def rnn_biases(v, p):
    """Run the RNN over the frames of v; return (u, bv_t, bh_t).

    u[t] is the RNN state after frame t; frame t's RBM biases come from u[t-1]
    (from u0 for the first frame), an LSTM's from its units h (rnn_output).
    """
    u, u_prev = rnn_states(v, p)
    return u, p["bv"] + u_prev @ p["Wuv"], p["bh"] + u_prev @ p["Wuh"]


def cd_cost_and_gradients(v, v_sample, p, rnn=None):
    """CD cost (F(v) - F(v_sample)) / frames and its gradient, v_sample held constant.

    With p["u0"] (a learned initial state) its gradient too.

    rnn : rnn_biases(v, p) if already computed. Returns (cost, grads) with
    grads a dict keyed like the parameters.
    """
    if is_lstm(p["Wuu"]):
        raise ValueError("cd_cost_and_gradients is written out for the tanh RNN only")
    T = len(v)
    u, bv_t, bh_t = rnn_biases(v, p) if rnn is None else rnn
    cost = (free_energy(v, p["W"], bv_t, bh_t) - free_energy(v_sample, p["W"], bv_t, bh_t)) / T
    h_pos = sigmoid(v @ p["W"] + bh_t)
    h_neg = sigmoid(v_sample @ p["W"] + bh_t)
    d_bv_t = (v_sample - v) / T
    d_bh_t = (h_neg - h_pos) / T
    u0 = p.get("u0", np.zeros_like(u[0]))
    u_prev = np.vstack([u0[None, :], u[:-1]])
    g = {
        "W": (v_sample.T @ h_neg - v.T @ h_pos) / T,
        "bv": d_bv_t.sum(0),
        "bh": d_bh_t.sum(0),
        "Wuv": u_prev.T @ d_bv_t,
        "Wuh": u_prev.T @ d_bh_t,
    }
    # Backpropagation through time: u[t] sets the biases of frame t + 1.
    d_u_direct = d_bv_t[1:] @ p["Wuv"].T + d_bh_t[1:] @ p["Wuh"].T
    d_bu = np.zeros_like(p["bu"])
    d_Wvu = np.zeros_like(p["Wvu"])
    d_Wuu = np.zeros_like(p["Wuu"])
    d_a_next = np.zeros_like(p["bu"])
    for t in range(T - 1, -1, -1):
        d_u = d_a_next @ p["Wuu"].T
        if t < T - 1:
            d_u = d_u + d_u_direct[t]
        d_a = d_u * (1.0 - u[t] ** 2)
        d_bu += d_a
        d_Wvu += np.outer(v[t], d_a)
        d_Wuu += np.outer(u_prev[t], d_a)
        d_a_next = d_a
    g.update(bu=d_bu, Wvu=d_Wvu, Wuu=d_Wuu)
    if "u0" in p:  # u0 sets frame 0's biases and feeds u[0]
        g["u0"] = d_a_next @ p["Wuu"].T + d_bv_t[0] @ p["Wuv"].T + d_bh_t[0] @ p["Wuh"].T
    return cost, g


def bernoulli(rng, prob):
    return (rng.random(prob.shape) < prob).astype(prob.dtype)


def gibbs_chain(rng, v, W, bv, bh, k):
    """k steps of block Gibbs sampling from v; return (v_sample, activation_v).

    activation_v is the visible pre-sigmoid after one more step from v_sample,
    the quantity the tutorial's monitor is computed from.
    """
    for _ in range(k):
        h = bernoulli(rng, sigmoid(v @ W + bh))
        v = bernoulli(rng, sigmoid(h @ W.T + bv))
    h = bernoulli(rng, sigmoid(v @ W + bh))
    return v, h @ W.T + bv


def train_step(p, v, rng, k=15, lr=0.001):
    """One SGD step of CD-k on the chunk v (in place on p); returns the monitor."""
    rnn = rnn_biases(v, p)
    v_sample, activation = gibbs_chain(rng, v, p["W"], rnn[1], rnn[2], k)
    _, grads = cd_cost_and_gradients(v, v_sample, p, rnn)
    for name in PARAM_NAMES:
        p[name] -= lr * grads[name]
    return reconstruction_log_likelihood(v, activation)
