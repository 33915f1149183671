"""NADE and the RNN-NADE: exact likelihoods, trained by exact gradients.

NADE (Larochelle and Murray 2011) over a frame's notes in pitch order (the
definition, note by note, is numpy_nade.py):

    h_i = sigmoid(bh + sum_{j<i} v_j W_j),   P(v_i = 1 | v_<i) = sigmoid(bv_i + h_i . V_i).

The graph here computes every h_i of every frame at once from running sums:
the sums over j < i are an exclusive cumulative sum of the rows v_j W_j along
the notes, one pass over frames x notes x hidden units instead of a product
per note. On the C backend two fused Ops (nade_kernel.py) compute the same
log-likelihoods and their exact gradient frame by frame, in cache. Alone,
with the same bv, bh for every frame, it is Table 1's NADE row (Nade). In the
RNN-NADE (Boulanger-Lewandowski, Bengio and Vincent 2012, section 4) each
frame's bv_t = bv + u_{t-1} Wuv and bh_t = bh + u_{t-1} Wuh come from the
RNN-RBM's recurrence u_t = tanh(bu + v_t Wvu + u_{t-1} Wuu), u0 learned
(RnnNade), or from an LSTM's units (rnnrbm.rnn_step); its log-likelihood is
exact too, so its gradient is the exact one, through the NADE and back
through time, with no sampling.
Sampling, for generation and for evaluation's marginals, is numpy_nade's.
"""

import numpy as np
import pytensor
import pytensor.tensor as pt

from polyphonic.models import numpy_nade
from polyphonic.models.numpy_rnnrbm import rnn_output as numpy_rnn_output
from polyphonic.models.numpy_rnnrbm import rnn_states as numpy_rnn_states
from polyphonic.models.numpy_rnnrbm import rnn_step as numpy_rnn_step
from polyphonic.training import trainable
from rnnrbm import (BACKENDS, FRAME_SECONDS, PITCH_RANGE, link_openblas, recurrent_parameters,
                    rnn_states, shared_normal, shared_zeros, state_size)

NADE_PART = ("W", "V", "bv", "bh")
RNN_PART = ("Wuh", "Wuv", "Wvu", "Wuu", "bu", "u0")


def nade_log_likelihoods(v, W, V, bv, bh):
    """Symbolic log P(v_t) of each row of v (frames x n_visible) under NADEs
    with input and output weights W, V (n_visible x n_hidden) and biases bv
    (n_visible, or one row per frame) and bh (n_hidden, or one row per frame).
    Returns (log-likelihoods per frame, the logits of P(v_ti = 1 | v_t,<i))."""
    contributions = v[:, :, None] * W[None, :, :]  # frames x notes x hidden: v_j W_j
    running = pt.cumsum(contributions, axis=1)
    before = pt.concatenate([pt.zeros_like(running[:, :1]), running[:, :-1]], axis=1)
    bh = bh[:, None, :] if bh.ndim == 2 else bh[None, None, :]
    logits = bv + (pt.sigmoid(bh + before) * V[None, :, :]).sum(axis=2)
    # v log p + (1 - v) log(1 - p) = v a - softplus(a): never log(0).
    return (v * logits - pt.softplus(logits)).sum(axis=1), logits


def frame_log_likelihoods(v, W, V, bv, bh, backend):
    """nade_log_likelihoods' log-likelihoods, by the fused C Ops of
    nade_kernel.py on the C backend (about five times faster), by the graph
    on another."""
    if backend == "c":
        from polyphonic.models.nade_kernel import nade_log_likelihood
        return nade_log_likelihood(v, W, V, bv, bh)
    return nade_log_likelihoods(v, W, V, bv, bh)[0]


class _Exact(trainable.Trainable):
    """What Nade and RnnNade share: the descent step on the exact mean
    log-likelihood, learning rates that decay by epoch, exact scores."""

    frames_per_beat, encoding = None, "piano-roll"  # how MIDI files are written (pieces.py)

    def compile(self, v, log_likelihoods, rates, optimizer, momentum, clip_norm, backend):
        mean = log_likelihoods.mean()
        self.lr_scale = pytensor.shared(np.asarray(1.0, dtype=self.dtype), name="lr_scale")
        updates, self.optimizer_state = trainable.updates(
            self.params, pytensor.grad(-mean, self.params), rates, momentum=momentum,
            method=optimizer, clip_norm=clip_norm, scale=self.lr_scale)
        mode = BACKENDS[backend]
        self.train_function = pytensor.function([v], mean, updates=updates, mode=mode)
        scores = pytensor.function([v], log_likelihoods, mode=mode)
        self.log_likelihoods = lambda roll: scores(np.asarray(roll, self.dtype))

    def start_epoch(self, epoch):
        """Learning rates times lr_decay ** (epoch - 1) in epoch `epoch` (from 1)."""
        self.lr_scale.set_value(np.asarray(self.config["lr_decay"] ** (epoch - 1), self.dtype))

    def values(self):
        """The parameters' values by name, in float64 (for numpy_nade)."""
        return {p.name: p.get_value().astype(np.float64) for p in self.params}

    def to_steps(self, roll):
        return roll

    def to_frames(self, steps):
        return steps


class Nade(_Exact):
    """A NADE over single frames, no past (Table 1's NADE row), trained on
    shuffled mini-batches of frames.

    train_function(frames) -> their mean log-likelihood, after one step.
    log_likelihoods(frames) -> log P(v) of each frame, exact.
    """

    kind = "nade"

    def __init__(self, n_visible=88, n_hidden=150, lr=0.001, optimizer="sgd", momentum=0.0,
                 clip_norm=None, lr_decay=1.0, r=PITCH_RANGE, dt=FRAME_SECONDS, seed=0xBEEF,
                 dtype="float64", init_scale=0.01, backend="c"):
        """Build and compile the model: W, V from N(0, init_scale**2), biases
        zero; the descent rule as trainable.updates; r, dt as rnnrbm.RnnRbm."""
        self.config = dict(n_visible=n_visible, n_hidden=n_hidden, lr=lr, optimizer=optimizer,
                           momentum=momentum, clip_norm=clip_norm, lr_decay=lr_decay, r=list(r),
                           dt=dt, seed=seed, dtype=dtype, init_scale=init_scale, backend=backend)
        self.r, self.dt, self.dtype = tuple(r), dt, dtype
        self.start_history(seed)
        link_openblas()
        init = np.random.default_rng(seed)
        W = shared_normal(init, (n_visible, n_hidden), init_scale, dtype, "W")
        V = shared_normal(init, (n_visible, n_hidden), init_scale, dtype, "V")
        bv, bh = shared_zeros(n_visible, dtype, "bv"), shared_zeros(n_hidden, dtype, "bh")
        self.params = (W, V, bv, bh)
        v = pt.matrix("v", dtype=dtype)
        self.compile(v, frame_log_likelihoods(v, W, V, bv, bh, backend), [lr] * 4, optimizer,
                     momentum, clip_norm, backend)

    def batches(self, dataset, batch_size):
        """Shuffled mini-batches of all frames of all songs (Trainable.shuffled_rows)."""
        return self.shuffled_rows(dataset, batch_size)

    def generate_frames(self, n, rng):
        """n frames drawn independently and exactly (uint8, n x n_visible)."""
        p = self.values()
        return numpy_nade.sample(rng, p["W"], p["V"], p["bv"][None], p["bh"][None],
                                 n)[0][:, 0].astype(np.uint8)


class RnnNade(_Exact):
    """The RNN-NADE: each frame's NADE biases set by the RNN-RBM's RNN,
    trained by back-propagation through time on the exact log-likelihood.

    train_function(chunk) -> the chunk's mean log-likelihood per frame, after
        one descent step (chunks as the RNN-RBM's: consecutive frames of a song).
    log_likelihoods(roll) -> log P(v_t | v_<t) per frame, the RNN run from u0.
    """

    kind = "rnn-nade"

    def __init__(self, n_hidden=150, n_hidden_recurrent=100, lr=0.001, lr_rnn=None,
                 optimizer="sgd", momentum=0.0, clip_norm=None, lr_decay=1.0, r=PITCH_RANGE,
                 dt=FRAME_SECONDS, seed=0xBEEF, dtype="float64", init_scale=0.01, backend="c",
                 recurrence="tanh"):
        """Build and compile the model.

        n_hidden : the NADE's hidden units; n_hidden_recurrent : the RNN's.
        recurrence : the RNN's, "tanh" or "lstm" (rnnrbm.rnn_step).
        lr : learning rate of the NADE part (W, V, bv, bh), and of the RNN
            part (Wuh, Wuv, Wvu, Wuu, bu, u0) unless lr_rnn is given.
        optimizer, momentum, clip_norm : the descent rule (trainable.updates).
        lr_decay : rates times lr_decay ** (epoch - 1).
        The rest as rnnrbm.RnnRbm; weights start from N(0, init_scale**2).
        """
        self.config = dict(n_hidden=n_hidden, n_hidden_recurrent=n_hidden_recurrent, lr=lr,
                           lr_rnn=lr_rnn, optimizer=optimizer, momentum=momentum,
                           clip_norm=clip_norm, lr_decay=lr_decay, r=list(r), dt=dt, seed=seed,
                           dtype=dtype, init_scale=init_scale, backend=backend,
                           recurrence=recurrence)
        self.r, self.dt, self.dtype = tuple(r), dt, dtype
        self.start_history(seed)
        link_openblas()
        n_visible, init = r[1] - r[0], np.random.default_rng(seed)
        shapes = dict(W=(n_visible, n_hidden), V=(n_visible, n_hidden), bv=n_visible,
                      bh=n_hidden, Wuh=(n_hidden_recurrent, n_hidden),
                      Wuv=(n_hidden_recurrent, n_visible))
        self.params = tuple(shared_normal(init, shape, init_scale, dtype, name)
                            if isinstance(shape, tuple) else shared_zeros(shape, dtype, name)
                            for name, shape in shapes.items())
        self.params += (*recurrent_parameters(init, n_visible, n_hidden_recurrent, init_scale,
                                              dtype, recurrence),
                        shared_zeros(state_size(n_hidden_recurrent, recurrence), dtype, "u0"))
        p = {param.name: param for param in self.params}
        v = pt.matrix("v", dtype=dtype)
        _, h_tm1 = rnn_states(v, p["Wvu"], p["Wuu"], p["bu"], p["u0"], recurrence)
        log_likelihoods = frame_log_likelihoods(v, p["W"], p["V"],
                                                p["bv"] + pt.dot(h_tm1, p["Wuv"]),
                                                p["bh"] + pt.dot(h_tm1, p["Wuh"]), backend)
        rates = [lr if param.name in NADE_PART or lr_rnn is None else lr_rnn
                 for param in self.params]
        self.compile(v, log_likelihoods, rates, optimizer, momentum, clip_norm, backend)

    def rnn_state(self, roll):
        """The RNN state after reading `roll` (to prime generation)."""
        return numpy_rnn_states(np.asarray(roll, np.float64), self.values())[0][-1]

    def generate_roll(self, n_frames, rng, u_start=None):
        """A (n_frames x n_visible) uint8 piano roll drawn exactly, frame by
        frame, each frame's notes by ancestral sampling of its NADE (numpy_nade),
        from the RNN state u_start (default u0)."""
        p = self.values()
        u = p["u0"] if u_start is None else np.asarray(u_start, np.float64)
        roll = np.zeros((n_frames, len(p["bv"])), dtype=np.uint8)
        for t in range(n_frames):
            h = numpy_rnn_output(u, p)
            roll[t] = numpy_nade.sample(rng, p["W"], p["V"], p["bv"] + h @ p["Wuv"],
                                        p["bh"] + h @ p["Wuh"])[0][0, 0]
            u = numpy_rnn_step(p["bu"] + roll[t] @ p["Wvu"], u, p["Wuu"])
        return roll
