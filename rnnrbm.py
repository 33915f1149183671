"""Modeling and generating sequences of polyphonic music with the RNN-RBM.

A PyTensor port of the deeplearning.net tutorial that accompanies

    N. Boulanger-Lewandowski, Y. Bengio and P. Vincent, "Modeling Temporal
    Dependencies in High-Dimensional Sequences: Application to Polyphonic
    Music Generation and Transcription", ICML 2012.

An RNN-RBM is a sequence of conditional RBMs, one per time step, whose visible
and hidden biases are set by a deterministic RNN that reads the sequence so far.
`build_rbm` builds one RBM's Gibbs chain, `build_rnnrbm` the whole model, and
`RnnRbm` compiles both into a training and a generation function (C backend by
default). Running this file trains on the Nottingham folk tunes and writes two
generated pieces, as the tutorial did.
"""

import os
import subprocess
import sys

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode

from midi.utils import DEFAULT_TEMPO, midiread, midiwrite, roll_from_note_state
from polyphonic.models import gibbs
from polyphonic.training import trainable

_blas_checked = False


def link_openblas():
    """Point PyTensor's C backend at OpenBLAS when the system has it.

    A pip-installed PyTensor does not find a BLAS by itself and falls back to
    slower NumPy C-API calls (13 ms instead of 7 ms per training chunk here).
    setup.sh installs OpenBLAS; a blas__ldflags the user set wins. Called when
    a model is built (not on import, which changes nothing); asks the compiler
    once per process.
    """
    global _blas_checked
    if _blas_checked or "blas__ldflags" in os.environ.get("PYTENSOR_FLAGS", ""):
        return
    _blas_checked = True
    try:
        found = subprocess.run([pytensor.config.cxx, "-print-file-name=libopenblas.so"],
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        return
    if os.path.isabs(found):  # otherwise the linker would not find it
        pytensor.config.blas__ldflags = "-lopenblas"
        # Our matrices are too small for threads to pay (10.7 s instead of 12.2 s
        # an epoch), and threaded sums would make a seeded run unrepeatable.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


PITCH_RANGE = (21, 109)  # MIDI notes 21..108: the 88 keys of the piano
FRAME_SECONDS = 0.3  # the tutorial's dt

BACKENDS = {
    # PyTensor 3 compiles FAST_RUN with Numba by default; the tutorial's
    # compiled-to-C graph is the CVM linker with the fast_run rewrites.
    "c": Mode(linker="cvm", optimizer="fast_run"),
    "numba": "NUMBA",
}


def bernoulli(uniform, p):
    """A 0/1 sample from probabilities `p`, given uniforms of the same shape.

    u < p is exactly Bernoulli(p); it is much cheaper than PyTensor's binomial
    sampler, which calls NumPy once per draw from Python.
    """
    return pt.cast(pt.lt(uniform, p), p.dtype)


def free_energy(v, W, bv, bh):
    """Free energy F(v) = -v.bv - sum_j softplus(v W + bh)_j, summed over rows.

    exp(-F(v)) is the RBM's unnormalised marginal probability of v. The biases
    may be vectors or, in the RNN-RBM, one row per frame.
    """
    return -(v * bv).sum() - pt.softplus(pt.dot(v, W) + bh).sum()


def reconstruction_log_likelihood(v, activation):
    """Sum of v log p + (1 - v) log(1 - p) over units, divided by the rows of v.

    p = sigmoid(activation). Written as v * a - softplus(a), which equals the
    tutorial's xlogy0 form for every v in [0, 1] but never takes log(0): the
    published log's single -inf (epoch 198) came from a saturated p.
    """
    rows = v.shape[0] if v.ndim == 2 else 1
    return (v * activation - pt.softplus(activation)).sum() / rows


def build_rbm(v, W, bv, bh, k, rng, fused=True):
    """Construct a k-step Gibbs chain starting at `v` for an RBM.

    v : vector or matrix. A matrix runs one chain per row, in parallel.
    W : (n_visible, n_hidden) weight matrix.
    bv, bh : visible and hidden biases (vectors, or matrices with one row per
        chain, as the RNN-RBM gives each frame its own biases).
    k : number of Gibbs steps (an int, or a symbolic integer scalar).
    rng : random generator variable, threaded through the chain.
    fused : run the chain as one `gibbs.GibbsChain` Op (PyTensor's C backend
        only), which draws two stream keys from `rng` and makes its uniforms
        from them (gibbs.counter_uniforms), rather than as a `scan` of
        PyTensor ops (any backend) fed uniforms drawn from `rng` by NumPy.
        Different random streams; given the same uniforms, the same samples
        (tests/test_gibbs.py). A CD-15 chain on a 100-frame chunk runs
        several times faster fused (evaluation/bench.py).

    Returns (v_sample, cost, monitor, next_rng):
    v_sample : the chain's state after k steps, same shape as `v`.
    cost : (F(v) - F(v_sample)) / rows. Its gradient with `v_sample` held
        constant is the CD-k estimate of the negative log-likelihood gradient.
    monitor : sum over units of v log p + (1 - v) log(1 - p), divided by the
        number of rows, where p is the visible mean after one more Gibbs step
        from v_sample: the tutorial's training printout.
    next_rng : the generator after all draws, for the caller's updates.
    """

    if fused:
        rng, key = gibbs.draw_keys(rng)
        v_sample, activation_v = fused_chain(v, W, bv, bh, key, k)
    else:
        # All uniforms of the chain in two draws, not two per step; step k of
        # uniform_h is for the monitor's extra half step.
        batch = [v.shape[i] for i in range(v.ndim - 1)]
        rng, uniform_h = rng.uniform(size=[k + 1, *batch, W.shape[1]], dtype=v.dtype)
        rng, uniform_v = rng.uniform(size=[k, *v.shape], dtype=v.dtype)
        v_sample, activation_v = graph_chain(v, W, bv, bh, uniform_h, uniform_v)
    monitor = reconstruction_log_likelihood(v, activation_v)
    rows = v.shape[0] if v.ndim == 2 else 1
    cost = (free_energy(v, W, bv, bh) - free_energy(v_sample, W, bv, bh)) / rows
    return v_sample, cost, monitor, rng


def graph_chain(v, W, bv, bh, uniform_h, uniform_v):
    """The Gibbs chain of build_rbm as a `scan` of PyTensor ops, given its
    uniforms (k + 1 and k steps); returns (v_sample, visible activation of the
    extra half step)."""

    def visible_activation(uniform_h, v):
        """Sample h given v; return the visible pre-sigmoid given that h."""
        h = bernoulli(uniform_h, pt.sigmoid(pt.dot(v, W) + bh))
        return pt.dot(h, W.T) + bv

    k = uniform_v.shape[0]
    chain = pytensor.scan(
        lambda uniform_h, uniform_v, v: bernoulli(
            uniform_v, pt.sigmoid(visible_activation(uniform_h, v))),
        sequences=[uniform_h[:k], uniform_v],
        outputs_info=[v],
        return_updates=False,
    )
    v_sample = chain[-1]
    return v_sample, visible_activation(uniform_h[k], v_sample)


def fused_chain(v, W, bv, bh, key, k):
    """graph_chain's result from one gibbs.GibbsChain Op (a vector v is one
    row), its uniforms made from the stream keys `key`."""
    if v.ndim == 2:
        return gibbs.GibbsChain(monitor=True)(W, bv, bh, v, key, k)
    v_sample, activation_v = gibbs.GibbsChain(monitor=True)(W, bv, bh, v[None, :], key, k)
    return v_sample[0], activation_v[0]


def shared_normal(rng, shape, scale, dtype, name):
    """A shared variable drawn from N(0, scale**2), as the tutorial initialised."""
    return pytensor.shared(rng.normal(scale=scale, size=shape).astype(dtype), name=name)


def shared_zeros(shape, dtype, name):
    return pytensor.shared(np.zeros(shape, dtype=dtype), name=name)


RECURRENCES = ("tanh", "lstm")
"""The RNN's recurrences: the tutorial's tanh units, or LSTM cells (rnn_step)."""


def state_size(n_hidden_recurrent, recurrence="tanh"):
    """Length of the RNN's state u: its units, and an LSTM's cells beside them."""
    return 2 * n_hidden_recurrent if recurrence == "lstm" else n_hidden_recurrent


def recurrent_parameters(init, n_visible, n_hidden_recurrent, scale, dtype, recurrence="tanh"):
    """Wvu, Wuu (drawn from N(0, scale**2) by `init`) and bu of the recurrence.
    An LSTM's have four blocks of n_hidden_recurrent columns, one per gate
    (input, forget, output) and one for the cell's input; its forget gate's
    bias starts at 1, so that the cells start by remembering (Gers,
    Schmidhuber and Cummins 2000; Jozefowicz et al. 2015)."""
    if recurrence not in RECURRENCES:
        raise ValueError(f"recurrence must be one of {RECURRENCES}, not {recurrence!r}")
    gates = 4 if recurrence == "lstm" else 1
    columns = gates * n_hidden_recurrent
    Wvu = shared_normal(init, (n_visible, columns), scale, dtype, "Wvu")
    Wuu = shared_normal(init, (n_hidden_recurrent, columns), scale, dtype, "Wuu")
    bu = np.zeros(columns, dtype=dtype)
    if recurrence == "lstm":
        bu[n_hidden_recurrent:2 * n_hidden_recurrent] = 1.0
    return Wvu, Wuu, pytensor.shared(bu, name="bu")


def rnn_step(inputs, u_tm1, Wuu, recurrence="tanh"):
    """The RNN's state after a frame, from inputs = bu + v_t Wvu and the state
    u_tm1 before it. tanh: u_t = tanh(inputs + u_{t-1} Wuu). lstm: the state is
    [h, c], the units and the cells (Hochreiter and Schmidhuber 1997, with the
    forget gate of Gers et al. 2000): with z = inputs + h_{t-1} Wuu in four
    blocks, c_t = f * c_{t-1} + i * tanh(z_4) and h_t = o * tanh(c_t), the gates
    i, f, o = sigmoid(z_1), sigmoid(z_2), sigmoid(z_3)."""
    if recurrence != "lstm":
        return pt.tanh(inputs + pt.dot(u_tm1, Wuu))
    n = Wuu.shape[0]
    z = inputs + pt.dot(u_tm1[..., :n], Wuu)
    gate = [pt.sigmoid(z[..., g * n:(g + 1) * n]) for g in range(3)]
    c = gate[1] * u_tm1[..., n:] + gate[0] * pt.tanh(z[..., 3 * n:])
    return pt.concatenate([gate[2] * pt.tanh(c), c], axis=-1)


def rnn_output(u, recurrence="tanh"):
    """What of the RNN state u sets the next frame's biases: all of a tanh
    RNN's, an LSTM's units h (not its cells)."""
    return u[..., :u.shape[-1] // 2] if recurrence == "lstm" else u


def rnn_states(v, Wvu, Wuu, bu, u0, recurrence="tanh"):
    """The RNN's states over a sequence v (one frame per row), from u0
    (rnn_step). Returns (u, h_tm1): the state after each frame, and the output
    (rnn_output) of the state before it (u0's first), which sets its biases."""
    # v_t Wvu for all frames is one matrix product; only the u_{t-1} Wuu term
    # has to stay inside the recurrence.
    u = pytensor.scan(
        lambda input_t, u_tm1: rnn_step(input_t, u_tm1, Wuu, recurrence),
        sequences=[bu + pt.dot(v, Wvu)],
        outputs_info=[u0],
        return_updates=False,
    )
    return u, rnn_output(pt.concatenate([u0[None, :], u[:-1]]), recurrence)


def build_rnnrbm(n_visible, n_hidden, n_hidden_recurrent, seed=0xBEEF,
                 dtype="float64", k_train=15, fused=True, learn_u0=False, recurrence="tanh"):
    """Construct a symbolic RNN-RBM and initialise its parameters.

    The RNN runs u_t = tanh(bu + v_t Wvu + u_{t-1} Wuu) from u_0 (zeros; a
    learned parameter, starting at zeros, with `learn_u0`, as in the paper) and sets
    the biases of the RBM at frame t to bv_t = bv + u_{t-1} Wuv and
    bh_t = bh + u_{t-1} Wuh. With recurrence="lstm" the RNN is an LSTM instead
    (rnn_step), its units h setting the biases.

    Training: given a sequence v (one frame per row) the recurrence is
    deterministic, so all bv_t, bh_t are computed first and the T conditional
    RBMs are trained as one batch by CD-`k_train`.
    Generation: each frame is sampled by a Gibbs chain of `gibbs_steps` steps
    started at zeros (or, if `from_previous` is 1, at the frame generated
    before it; the first frame's chain starts at zeros either way), then fed
    back into the recurrence, for `n_frames` frames, starting from the RNN
    state `u_start` (zeros, or the state after a primer; see `u`).
    fused : Gibbs chains as gibbs.GibbsChain Ops (C backend only; see build_rbm).

    Returns a dict with
    v : input matrix, a training sequence (frames x n_visible).
    v_sample : the negative particles of CD (hold constant in the gradient).
    cost : scalar whose gradient, with v_sample constant, is the CD
        estimate of the negative log-likelihood gradient of the sequence.
    monitor : frame-averaged reconstruction log-likelihood (see build_rbm).
    params : the learned shared variables W, bv, bh, Wuh, Wuv, Wvu, Wuu, bu
        (numpy_rnnrbm.PARAM_NAMES), and u0 with `learn_u0`.
    u0 : the initial RNN state (a shared variable with `learn_u0`, else zeros).
    rng : the shared random generator.
    rng_train, rng_generate : its next state after a training or generation call.
    u, bv_t, bh_t : the RNN states and the per-frame RBM biases for v.
    u_start, n_frames, gibbs_steps, from_previous : inputs of generation
        (vector, int, int, int 0 or 1).
    v_t : the generated sequence (n_frames x n_visible).
    """
    link_openblas()
    init = np.random.default_rng(seed)
    W = shared_normal(init, (n_visible, n_hidden), 0.01, dtype, "W")
    bv = shared_zeros(n_visible, dtype, "bv")
    bh = shared_zeros(n_hidden, dtype, "bh")
    Wuh = shared_normal(init, (n_hidden_recurrent, n_hidden), 0.0001, dtype, "Wuh")
    Wuv = shared_normal(init, (n_hidden_recurrent, n_visible), 0.0001, dtype, "Wuv")
    Wvu, Wuu, bu = recurrent_parameters(init, n_visible, n_hidden_recurrent, 0.0001, dtype,
                                        recurrence)
    params = (W, bv, bh, Wuh, Wuv, Wvu, Wuu, bu)  # names: PARAM_NAMES
    rng = pytensor.shared(np.random.default_rng(init.integers(2**63)), name="rng")
    if learn_u0:
        u0 = shared_zeros(state_size(n_hidden_recurrent, recurrence), dtype, "u0")
        params += (u0,)
    else:
        u0 = pt.zeros((state_size(n_hidden_recurrent, recurrence),), dtype=dtype)

    v = pt.matrix("v", dtype=dtype)
    u, h_tm1 = rnn_states(v, Wvu, Wuu, bu, u0, recurrence)
    bv_t = bv + pt.dot(h_tm1, Wuv)
    bh_t = bh + pt.dot(h_tm1, Wuh)
    v_sample, cost, monitor, rng_train = build_rbm(v, W, bv_t, bh_t, k_train, rng, fused)

    # Generation: sample each frame, then feed it back into the recurrence.
    u_start = pt.vector("u_start", dtype=dtype)
    n_frames, gibbs_steps = pt.iscalar("n_frames"), pt.iscalar("gibbs_steps")
    from_previous = pt.iscalar("from_previous")

    def generate_step(rng, v_tm1, u_tm1):
        start = pt.switch(from_previous, v_tm1, pt.zeros((n_visible,), dtype=dtype))
        h_tm1 = rnn_output(u_tm1, recurrence)
        v_t, _, _, rng = build_rbm(start, W,
                                   bv + pt.dot(h_tm1, Wuv), bh + pt.dot(h_tm1, Wuh),
                                   gibbs_steps, rng, fused)
        u_t = rnn_step(bu + pt.dot(v_t, Wvu), u_tm1, Wuu, recurrence)
        return rng, v_t, u_t

    rng_generate, v_t, _ = pytensor.scan(
        generate_step,
        outputs_info=[rng, pt.zeros((n_visible,), dtype=dtype), u_start],
        n_steps=n_frames,
        return_updates=False,
    )
    return dict(v=v, v_sample=v_sample, cost=cost, monitor=monitor, params=params,
                rng=rng, rng_train=rng_train, rng_generate=rng_generate, v_t=v_t,
                u=u, u0=u0, bv_t=bv_t, bh_t=bh_t, u_start=u_start, n_frames=n_frames,
                gibbs_steps=gibbs_steps, from_previous=from_previous)


def read_midi_rolls(files, r, dt, frames_per_beat=None, encoding="piano-roll"):
    """Read MIDI files as compact (uint8) piano rolls (midi.utils.midiread's grid
    and encoding); MidiReadError names a bad file."""
    return [midiread(f, r, dt, frames_per_beat=frames_per_beat, encoding=encoding).piano_roll
            for f in files]


def frames_to_steps(roll, frames_per_step):
    """A (frames x columns) roll as (frames // m) x (m * columns) with
    m = frames_per_step: each row is m consecutive frames side by side, the
    trailing frames that fill no row dropped. The visible vectors of the
    multi-frame RNN-RBM and of the snippet RBM."""
    roll = np.asarray(roll)
    whole = len(roll) // frames_per_step * frames_per_step
    return roll[:whole].reshape(-1, frames_per_step * roll.shape[1])


def steps_to_frames(steps, frames_per_step):
    """The inverse of frames_to_steps: (steps x m * columns) back to (steps * m) x columns."""
    steps = np.asarray(steps)
    return steps.reshape(len(steps) * frames_per_step, -1)


def playback(roll, r, dt, frames_per_beat=None, encoding="piano-roll"):
    """What a roll sounds like, for pictures and audio: (the plain piano roll
    of its sounding notes, seconds per frame). On the beat grid a frame lasts
    1 / frames_per_beat of a beat at midiwrite's tempo (120 beats a minute)."""
    sounding = roll_from_note_state(roll) if encoding == "note-state" else roll
    seconds = dt if frames_per_beat is None else DEFAULT_TEMPO / 1e6 / frames_per_beat
    return sounding, seconds


def columns(r, encoding):
    """Columns of one frame: a pitch each, twice that in the note-state encoding."""
    return (r[1] - r[0]) * (2 if encoding == "note-state" else 1)


RBM_PART = ("W", "bv", "bh")
"""The parameters of the conditional RBMs themselves; the rest (Wuh, Wuv, Wvu,
Wuu, bu, u0) are the RNN part, which may have its own learning rate."""


class RnnRbm(trainable.Trainable):
    """An RNN-RBM with compiled functions to train on MIDI files and to generate.

    Training, checkpoints and exact resume come from trainable.Trainable
    (`train_rolls`, `save`, `load`, `state`).

    Attributes:
    train_function(chunk) -> monitor: one descent step on a (frames x n_visible)
        piano-roll chunk; returns the chunk's monitor (see build_rbm).
    generate_function() -> (200, n_visible) binary piano roll (a method here;
        its optional arguments change the start, length and Gibbs steps).
    rnn_state_function(roll) -> the RNN state after reading `roll` (to prime
        generation with the opening of a piece).

    With frames_per_step m > 1 every time step of the model is m consecutive
    frames (frames_to_steps): "frames" above are then steps, n_visible is m
    times a frame's columns, and to_steps, to_frames convert piano rolls.
    """

    def __init__(self, n_hidden=150, n_hidden_recurrent=100, lr=0.001,
                 r=PITCH_RANGE, dt=FRAME_SECONDS, seed=0xBEEF, backend="c", dtype="float64",
                 k=15, lr_rnn=None, momentum=0.0, clip_norm=None, clip_value=None,
                 learn_u0=False, lr_decay=1.0, frames_per_step=1, encoding="piano-roll",
                 frames_per_beat=None, lr_position=None, recurrence="tanh"):
        """Build and compile the model. The defaults are the tutorial's.

        n_hidden : hidden units of each conditional RBM.
        n_hidden_recurrent : hidden units of the RNN.
        lr : learning rate (of the RBM part W, bv, bh, and of everything
            unless lr_rnn is given).
        r : pitch range (lowest MIDI note, one past the highest); r[1] - r[0]
            visible units. (21, 109) is the 88 keys of the piano.
        dt : seconds per frame when reading and writing MIDI files.
        seed : seeds the initial weights, the Gibbs sampler and the shuffling
            of songs, so that a run is repeatable.
        backend : "c" (PyTensor's C backend, the default) or "numba".
        dtype : "float64" (the tutorial's) or "float32".
        The paper's recipe (Boulanger-Lewandowski et al. 2012, section 5):
        k : Gibbs steps of contrastive divergence (CD-k).
        lr_rnn : learning rate of the RNN part (Wuh, Wuv, Wvu, Wuu, bu, u0).
        momentum : Nesterov momentum (trainable.updates); 0 is plain SGD.
        clip_norm, clip_value : gradient clipping (trainable.clip_gradients).
        learn_u0 : learn the RNN's initial state instead of fixing it at 0.
        lr_decay : every learning rate is multiplied by lr_decay ** (epoch - 1)
            in epoch `epoch` (1 keeps it constant).
        The multi-frame RNN-RBM of the second TensorFlow post (training/configs.py):
        frames_per_step : frames modelled by each conditional RBM at once
            (1, the tutorial's model, or more; see the class docstring).
        encoding, frames_per_beat : how MIDI files are read and written
            (midi.utils.midiread); frames_per_beat replaces dt's grid.
        lr_position : every learning rate is also multiplied by
            min(1, lr_position / i) on a chunk whose first step is step i
            (from 1) of its song; None for no such factor. The post's
            schedule min(0.01, 0.1 / i) is lr=0.01, lr_position=10.
        Beyond the paper: recurrence : "tanh" (the tutorial's) or "lstm" (rnn_step).
        """
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {sorted(BACKENDS)}, not {backend!r}")
        self.config = dict(n_hidden=n_hidden, n_hidden_recurrent=n_hidden_recurrent, lr=lr,
                           r=list(r), dt=dt, seed=seed, backend=backend, dtype=dtype, k=k,
                           lr_rnn=lr_rnn, momentum=momentum, clip_norm=clip_norm,
                           clip_value=clip_value, learn_u0=learn_u0, lr_decay=lr_decay,
                           frames_per_step=frames_per_step, encoding=encoding,
                           frames_per_beat=frames_per_beat, lr_position=lr_position,
                           recurrence=recurrence)
        self.r = tuple(r)
        self.dt = dt
        self.dtype = dtype
        self.frames_per_step, self.encoding = frames_per_step, encoding
        self.frames_per_beat = frames_per_beat
        self.start_history(seed)
        # The fused Gibbs Op is C code; Numba compiles the graph path.
        model = build_rnnrbm(frames_per_step * columns(r, encoding), n_hidden,
                             n_hidden_recurrent, seed, dtype, k, fused=backend == "c",
                             learn_u0=learn_u0, recurrence=recurrence)
        self.params = model["params"]
        self.rng = model["rng"]
        self.u0 = model["u0"]
        gradient = pytensor.grad(model["cost"], self.params,
                                 consider_constant=[model["v_sample"]])
        self.lr_scale = pytensor.shared(np.asarray(1.0, dtype=dtype), name="lr_scale")
        self.epoch_scale = 1.0  # lr_decay's factor, which lr_position's multiplies
        rates = [lr if p.name in RBM_PART or lr_rnn is None else lr_rnn for p in self.params]
        updates, self.optimizer_state = trainable.updates(
            self.params, gradient, rates, momentum=momentum, clip_norm=clip_norm,
            clip_value=clip_value, scale=self.lr_scale)
        mode = BACKENDS[backend]
        self.train_function = pytensor.function(
            [model["v"]], model["monitor"],
            updates=updates + [(self.rng, model["rng_train"])], mode=mode)
        self.generate_from = pytensor.function(
            [model["u_start"], model["n_frames"], model["gibbs_steps"],
             model["from_previous"]],
            model["v_t"], updates=[(self.rng, model["rng_generate"])], mode=mode)
        self.rnn_state_function = pytensor.function([model["v"]], model["u"][-1], mode=mode)

    def start_epoch(self, epoch):
        """Set the learning rates of epoch `epoch` (from 1): lr_decay ** (epoch - 1) times their own."""
        self.epoch_scale = self.config["lr_decay"] ** (epoch - 1)
        self.lr_scale.set_value(np.asarray(self.epoch_scale, self.dtype))

    def batches(self, dataset, batch_size):
        """Trainable.batches over the songs cut into steps (to_steps), each
        chunk paired with the number, from 1, of its first step in its song
        (for lr_position)."""
        songs = [self.to_steps(roll) for roll in dataset]
        starts, count = self.chunk_starts(songs, batch_size)
        return ((songs[s][i:i + batch_size], i + 1) for s, i in starts), count

    def train_batch(self, batch):
        """One step of train_function on a (chunk, first step) pair of
        `batches`, its learning rates scaled for the chunk's position."""
        chunk, first = batch
        position = self.config["lr_position"]
        if position is not None:
            self.lr_scale.set_value(
                np.asarray(self.epoch_scale * min(1.0, position / first), self.dtype))
        return self.train_function(chunk.astype(self.dtype))

    def to_steps(self, roll):
        """A (frames x columns) roll as the model's steps (frames_to_steps)."""
        return frames_to_steps(roll, self.frames_per_step)

    def to_frames(self, steps):
        """The model's steps (e.g. generated) as a (frames x columns) roll."""
        return steps_to_frames(steps, self.frames_per_step)

    def initial_state(self):
        """The RNN state before the first frame: u0's value, or zeros."""
        if isinstance(self.u0, pytensor.compile.SharedVariable):
            return self.u0.get_value()
        return np.zeros(state_size(self.config["n_hidden_recurrent"], self.config["recurrence"]),
                        dtype=self.dtype)

    kind = "rnnrbm"

    def train(self, files, batch_size=100, num_epochs=200, **options):
        """Train by SGD on MIDI files, as the tutorial did; see `train_rolls`."""
        if not files:
            raise ValueError("no training files given (run ./download.sh to fetch the data)")
        rolls = read_midi_rolls(files, self.r, self.dt, self.frames_per_beat, self.encoding)
        return self.train_rolls(rolls, batch_size, num_epochs, **options)

    def generate_function(self, u_start=None, n_frames=200, gibbs_steps=25, chain_start="zeros"):
        """Sample a (n_frames x n_visible) piano roll, `gibbs_steps` Gibbs steps
        per frame, from the RNN state `u_start` (default: the initial state,
        zeros or the learned u0). Each frame's chain starts at zeros (the
        tutorial's) or, with chain_start="previous", at the frame before it
        (the second TensorFlow post's). Without arguments: the tutorial's 200
        frames, 25 steps each. With frames_per_step > 1, frames are steps."""
        if chain_start not in ("zeros", "previous"):
            raise ValueError(f"chain_start must be 'zeros' or 'previous', not {chain_start!r}")
        if u_start is None:
            u_start = self.initial_state()
        return self.generate_from(u_start, n_frames, gibbs_steps, int(chain_start == "previous"))

    def generate(self, filename, show=True):
        """Generate a piece, write it as a MIDI file and its piano roll as a PNG.

        The picture goes next to the MIDI file (same name, .png), with time in
        seconds on x and MIDI note number on y. `show` also opens it in a
        window, when a display exists. Returns the (frames x n_visible) roll.
        """
        piano_roll = self.to_frames(self.generate_function())
        midiwrite(filename, piano_roll, self.r, self.dt, frames_per_beat=self.frames_per_beat,
                  encoding=self.encoding)
        sounding, seconds = playback(piano_roll, self.r, self.dt, self.frames_per_beat,
                                     self.encoding)
        plot_piano_roll(sounding, self.r, seconds, os.path.splitext(filename)[0] + ".png",
                        show=show)
        return piano_roll


def plot_piano_roll(piano_roll, r, dt, png_path, show=False, title="generated piano-roll"):
    """Save a piano-roll picture to `png_path`; show it too if asked and possible."""
    import matplotlib

    can_show = show and (os.environ.get("DISPLAY") or sys.platform in ("darwin", "win32"))
    if not can_show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    ax.imshow(np.asarray(piano_roll).T, origin="lower", aspect="auto",
              interpolation="nearest", cmap="gray_r",
              extent=(0, dt * len(piano_roll), r[0], r[1]))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("MIDI note number")
    ax.set_title(title)
    fig.savefig(png_path, dpi=100, bbox_inches="tight")
    if can_show:
        plt.show()
    plt.close(fig)


if __name__ == "__main__":
    from polyphonic.commands import cli  # the command line: polyphonic/commands/cli.py

    sys.exit(cli.main())
