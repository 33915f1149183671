"""The RNN of the RNN-RBM alone, predicting each frame's notes as independent Bernoullis.

    P(v_t | v_<t) = prod_i p_ti^v_ti (1 - p_ti)^(1 - v_ti),  p_t = sigmoid(bv + u_{t-1} Wuv),

with the RNN-RBM's recurrence u_t = tanh(bu + v_t Wvu + u_{t-1} Wuu) from a
learned u_0 (rnnrbm.rnn_states), or an LSTM's units (rnnrbm.rnn_step). Its
likelihood is exact, so it is the "RNN" row of Table 1 of Boulanger-Lewandowski,
Bengio and Vincent (2012); trained on the cross-entropy by back-propagation
through time, its parameters (Wvu, Wuu, bu, Wuv, bv, u0) initialise the
RNN-RBM's recurrent part, the paper's RNN pretraining.
"""

import numpy as np
import pytensor
import pytensor.tensor as pt

from polyphonic.training import trainable
from rnnrbm import (BACKENDS, FRAME_SECONDS, PITCH_RANGE, link_openblas, recurrent_parameters,
                    rnn_states, shared_normal, shared_zeros, state_size)

PARAM_NAMES = ("Wvu", "Wuu", "bu", "Wuv", "bv", "u0")


def build_rnn(n_visible, n_hidden_recurrent, seed=0xBEEF, dtype="float64", init_scale=0.01,
              recurrence="tanh"):
    """Construct the symbolic RNN and initialise its parameters (weights drawn
    from N(0, init_scale**2), biases and u0 zero; rnnrbm.recurrent_parameters),
    its recurrence tanh units or LSTM cells (rnnrbm.rnn_step).

    Returns a dict with
    v : input matrix, a sequence (frames x n_visible).
    params : the shared variables, in the order of PARAM_NAMES.
    probabilities : p_t for every frame (frames x n_visible).
    log_likelihoods : log P(v_t | v_<t) for every frame, exact.
    u : the RNN state after each frame.
    """
    link_openblas()
    init = np.random.default_rng(seed)
    Wvu, Wuu, bu = recurrent_parameters(init, n_visible, n_hidden_recurrent, init_scale, dtype,
                                        recurrence)
    Wuv = shared_normal(init, (n_hidden_recurrent, n_visible), init_scale, dtype, "Wuv")
    bv = shared_zeros(n_visible, dtype, "bv")
    u0 = shared_zeros(state_size(n_hidden_recurrent, recurrence), dtype, "u0")
    v = pt.matrix("v", dtype=dtype)
    u, h_tm1 = rnn_states(v, Wvu, Wuu, bu, u0, recurrence)
    activation = bv + pt.dot(h_tm1, Wuv)
    # v log p + (1 - v) log(1 - p) = v a - softplus(a): never log(0).
    log_likelihoods = (v * activation - pt.softplus(activation)).sum(axis=1)
    return dict(v=v, params=(Wvu, Wuu, bu, Wuv, bv, u0), u=u,
                probabilities=pt.sigmoid(activation), log_likelihoods=log_likelihoods)


class Rnn(trainable.Trainable):
    """The RNN with compiled functions to train by BPTT and to score sequences.

    train_function(chunk) -> mean log-likelihood per frame of the chunk (exact),
        after one descent step on its cross-entropy.
    log_likelihoods(roll) -> log P(v_t | v_<t) per frame, the RNN run from u0.
    probabilities(roll) -> P(note on in frame t | v_<t) per frame and note.
    """

    kind = "rnn"

    def __init__(self, n_hidden_recurrent=100, lr=0.001, optimizer="sgd", momentum=0.0,
                 clip_norm=None, r=PITCH_RANGE, dt=FRAME_SECONDS, seed=0xBEEF,
                 dtype="float64", init_scale=0.01, backend="c", recurrence="tanh"):
        """Build and compile the model.

        recurrence : "tanh" or "lstm" (rnnrbm.rnn_step).
        lr, optimizer ("sgd" or "adam"), momentum (Nesterov, with sgd),
        clip_norm : the descent rule (trainable.updates).
        r, dt, seed, dtype, backend : as for rnnrbm.RnnRbm.
        init_scale : standard deviation of the initial weights.
        """
        self.config = dict(n_hidden_recurrent=n_hidden_recurrent, lr=lr, optimizer=optimizer,
                           momentum=momentum, clip_norm=clip_norm, r=list(r), dt=dt, seed=seed,
                           dtype=dtype, init_scale=init_scale, backend=backend,
                           recurrence=recurrence)
        self.r, self.dt, self.dtype = tuple(r), dt, dtype
        self.start_history(seed)
        model = build_rnn(r[1] - r[0], n_hidden_recurrent, seed, dtype, init_scale, recurrence)
        self.params = model["params"]
        mean = model["log_likelihoods"].mean()
        updates, self.optimizer_state = trainable.updates(
            self.params, pytensor.grad(-mean, self.params), [lr] * len(self.params),
            momentum=momentum, method=optimizer, clip_norm=clip_norm)
        mode = BACKENDS[backend]
        self.train_function = pytensor.function([model["v"]], mean, updates=updates, mode=mode)
        scores = pytensor.function([model["v"]], [model["log_likelihoods"],
                                                  model["probabilities"]], mode=mode)
        self.log_likelihoods = lambda roll: scores(np.asarray(roll, dtype))[0]
        self.probabilities = lambda roll: scores(np.asarray(roll, dtype))[1]
