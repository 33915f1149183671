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

import json
import os
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode

from midi.utils import midiread, midiwrite
from numpy_rnnrbm import PARAM_NAMES


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


def build_rbm(v, W, bv, bh, k, rng):
    """Construct a k-step Gibbs chain starting at `v` for an RBM.

    v : vector or matrix. A matrix runs one chain per row, in parallel.
    W : (n_visible, n_hidden) weight matrix.
    bv, bh : visible and hidden biases (vectors, or matrices with one row per
        chain, as the RNN-RBM gives each frame its own biases).
    k : number of Gibbs steps (an int, or a symbolic integer scalar).
    rng : random generator variable, threaded through the chain.

    Returns (v_sample, cost, monitor, next_rng):
    v_sample : the chain's state after k steps, same shape as `v`.
    cost : (F(v) - F(v_sample)) / rows. Its gradient with `v_sample` held
        constant is the CD-k estimate of the negative log-likelihood gradient.
    monitor : sum over units of v log p + (1 - v) log(1 - p), divided by the
        number of rows, where p is the visible mean after one more Gibbs step
        from v_sample: the tutorial's training printout.
    next_rng : the generator after all draws, for the caller's updates.
    """

    # All uniforms of the chain in two draws: one Python-level random call
    # per chain instead of two per step.
    batch = [v.shape[i] for i in range(v.ndim - 1)]
    rng, uniform_h = rng.uniform(size=[k + 1, *batch, W.shape[1]], dtype=v.dtype)
    rng, uniform_v = rng.uniform(size=[k, *v.shape], dtype=v.dtype)

    def visible_activation(uniform_h, v):
        """Sample h given v; return the visible pre-sigmoid given that h."""
        h = bernoulli(uniform_h, pt.sigmoid(pt.dot(v, W) + bh))
        return pt.dot(h, W.T) + bv

    chain = pytensor.scan(
        lambda uniform_h, uniform_v, v: bernoulli(
            uniform_v, pt.sigmoid(visible_activation(uniform_h, v))),
        sequences=[uniform_h[:k], uniform_v],
        outputs_info=[v],
        return_updates=False,
    )
    v_sample = chain[-1]
    activation_v = visible_activation(uniform_h[k], v_sample)
    monitor = reconstruction_log_likelihood(v, activation_v)
    rows = v.shape[0] if v.ndim == 2 else 1
    cost = (free_energy(v, W, bv, bh) - free_energy(v_sample, W, bv, bh)) / rows
    return v_sample, cost, monitor, rng


def shared_normal(rng, shape, scale, dtype, name):
    """A shared variable drawn from N(0, scale**2), as the tutorial initialised."""
    return pytensor.shared(rng.normal(scale=scale, size=shape).astype(dtype), name=name)


def shared_zeros(shape, dtype, name):
    return pytensor.shared(np.zeros(shape, dtype=dtype), name=name)


def build_rnnrbm(n_visible, n_hidden, n_hidden_recurrent, seed=0xBEEF,
                 dtype="float64", k_train=15):
    """Construct a symbolic RNN-RBM and initialise its parameters.

    The RNN runs u_t = tanh(bu + v_t Wvu + u_{t-1} Wuu) from u_0 = 0 and sets
    the biases of the RBM at frame t to bv_t = bv + u_{t-1} Wuv and
    bh_t = bh + u_{t-1} Wuh.

    Training: given a sequence v (one frame per row) the recurrence is
    deterministic, so all bv_t, bh_t are computed first and the T conditional
    RBMs are trained as one batch by CD-`k_train`.
    Generation: each frame is sampled by a Gibbs chain of `gibbs_steps` steps
    started at zeros, then fed back into the recurrence, for `n_frames`
    frames, starting from the RNN state `u_start` (zeros, or the state after
    a primer; see `u`).

    Returns a dict with
    v : input matrix, a training sequence (frames x n_visible).
    v_sample : the negative particles of CD (hold constant in the gradient).
    cost : scalar whose gradient, with v_sample constant, is the CD
        estimate of the negative log-likelihood gradient of the sequence.
    monitor : frame-averaged reconstruction log-likelihood (see build_rbm).
    params : the eight learned shared variables W, bv, bh, Wuh, Wuv, Wvu, Wuu, bu.
    rng : the shared random generator.
    rng_train, rng_generate : its next state after a training or generation call.
    u, bv_t, bh_t : the RNN states and the per-frame RBM biases for v.
    u_start, n_frames, gibbs_steps : inputs of generation (vector, int, int).
    v_t : the generated sequence (n_frames x n_visible).
    """
    link_openblas()
    init = np.random.default_rng(seed)
    W = shared_normal(init, (n_visible, n_hidden), 0.01, dtype, "W")
    bv = shared_zeros(n_visible, dtype, "bv")
    bh = shared_zeros(n_hidden, dtype, "bh")
    Wuh = shared_normal(init, (n_hidden_recurrent, n_hidden), 0.0001, dtype, "Wuh")
    Wuv = shared_normal(init, (n_hidden_recurrent, n_visible), 0.0001, dtype, "Wuv")
    Wvu = shared_normal(init, (n_visible, n_hidden_recurrent), 0.0001, dtype, "Wvu")
    Wuu = shared_normal(init, (n_hidden_recurrent, n_hidden_recurrent), 0.0001, dtype, "Wuu")
    bu = shared_zeros(n_hidden_recurrent, dtype, "bu")
    params = (W, bv, bh, Wuh, Wuv, Wvu, Wuu, bu)  # names: PARAM_NAMES
    rng = pytensor.shared(np.random.default_rng(init.integers(2**63)), name="rng")
    u0 = pt.zeros((n_hidden_recurrent,), dtype=dtype)

    # Training: v_t Wvu for all frames is one matrix product; only the
    # u_{t-1} Wuu term has to stay inside the recurrence.
    v = pt.matrix("v", dtype=dtype)
    u = pytensor.scan(
        lambda input_t, u_tm1: pt.tanh(input_t + pt.dot(u_tm1, Wuu)),
        sequences=[bu + pt.dot(v, Wvu)],
        outputs_info=[u0],
        return_updates=False,
    )
    u_tm1 = pt.concatenate([u0[None, :], u[:-1]])
    bv_t = bv + pt.dot(u_tm1, Wuv)
    bh_t = bh + pt.dot(u_tm1, Wuh)
    v_sample, cost, monitor, rng_train = build_rbm(v, W, bv_t, bh_t, k_train, rng)

    # Generation: sample each frame, then feed it back into the recurrence.
    u_start = pt.vector("u_start", dtype=dtype)
    n_frames, gibbs_steps = pt.iscalar("n_frames"), pt.iscalar("gibbs_steps")

    def generate_step(rng, v_tm1, u_tm1):
        v_t, _, _, rng = build_rbm(pt.zeros((n_visible,), dtype=dtype), W,
                                   bv + pt.dot(u_tm1, Wuv), bh + pt.dot(u_tm1, Wuh),
                                   gibbs_steps, rng)
        u_t = pt.tanh(bu + pt.dot(v_t, Wvu) + pt.dot(u_tm1, Wuu))
        return rng, v_t, u_t

    rng_generate, v_t, _ = pytensor.scan(
        generate_step,
        outputs_info=[rng, pt.zeros((n_visible,), dtype=dtype), u_start],
        n_steps=n_frames,
        return_updates=False,
    )
    return dict(v=v, v_sample=v_sample, cost=cost, monitor=monitor, params=params,
                rng=rng, rng_train=rng_train, rng_generate=rng_generate, v_t=v_t,
                u=u, bv_t=bv_t, bh_t=bh_t, u_start=u_start, n_frames=n_frames,
                gibbs_steps=gibbs_steps)


def read_midi_rolls(files, r, dt):
    """Read MIDI files as compact (uint8) piano rolls; MidiReadError names a bad file."""
    return [midiread(f, r, dt).piano_roll for f in files]


CHECKPOINT_JSON = ("config", "history", "rng_state", "shuffle_state")


def read_checkpoint(path):
    """Return a checkpoint's entries (see RnnRbm.save), JSON ones decoded.

    Raises ValueError naming the file if it is missing, not an .npz file or
    lacks an entry.
    """
    try:
        with np.load(path) as f:
            state = {key: f[key] for key in f.files}
        for key in CHECKPOINT_JSON:
            state[key] = json.loads(str(state[key]))
        missing = [p for p in PARAM_NAMES if p not in state]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path} is not a readable rnnrbm checkpoint: "
                         f"{type(err).__name__}: {err}") from err
    if missing:
        raise ValueError(f"{path} is not a readable rnnrbm checkpoint: no {missing}")
    return state


class RnnRbm:
    """An RNN-RBM with compiled functions to train on MIDI files and to generate.

    Attributes:
    train_function(chunk) -> monitor: one SGD step on a (frames x n_visible)
        piano-roll chunk; returns the chunk's monitor (see build_rbm).
    generate_function() -> (200, n_visible) binary piano roll (a method here;
        its optional arguments change the start, length and Gibbs steps).
    rnn_state_function(roll) -> the RNN state after reading `roll` (to prime
        generation with the opening of a piece).
    """

    def __init__(self, n_hidden=150, n_hidden_recurrent=100, lr=0.001,
                 r=PITCH_RANGE, dt=FRAME_SECONDS, seed=0xBEEF, backend="c", dtype="float64"):
        """Build and compile the model.

        n_hidden : hidden units of each conditional RBM.
        n_hidden_recurrent : hidden units of the RNN.
        lr : SGD learning rate.
        r : pitch range (lowest MIDI note, one past the highest); r[1] - r[0]
            visible units. (21, 109) is the 88 keys of the piano.
        dt : seconds per frame when reading and writing MIDI files.
        seed : seeds the initial weights, the Gibbs sampler and the shuffling
            of songs, so that a run is repeatable.
        backend : "c" (PyTensor's C backend, the default) or "numba".
        dtype : "float64" (the tutorial's) or "float32".
        """
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {sorted(BACKENDS)}, not {backend!r}")
        self.config = dict(n_hidden=n_hidden, n_hidden_recurrent=n_hidden_recurrent, lr=lr,
                           r=list(r), dt=dt, seed=seed, backend=backend, dtype=dtype)
        self.r = tuple(r)
        self.dt = dt
        self.dtype = dtype
        self.shuffle_rng = np.random.default_rng(seed)
        self.history = []  # (epoch, mean monitor, seconds) of every epoch trained
        model = build_rnnrbm(r[1] - r[0], n_hidden, n_hidden_recurrent, seed, dtype)
        self.params = model["params"]
        self.rng = model["rng"]
        gradient = pytensor.grad(model["cost"], self.params,
                                 consider_constant=[model["v_sample"]])
        lr = np.asarray(lr, dtype=dtype)
        updates = [(p, p - lr * g) for p, g in zip(self.params, gradient)]
        mode = BACKENDS[backend]
        self.train_function = pytensor.function(
            [model["v"]], model["monitor"],
            updates=updates + [(self.rng, model["rng_train"])], mode=mode)
        self.generate_from = pytensor.function(
            [model["u_start"], model["n_frames"], model["gibbs_steps"]],
            model["v_t"], updates=[(self.rng, model["rng_generate"])], mode=mode)
        self.rnn_state_function = pytensor.function([model["v"]], model["u"][-1], mode=mode)

    def train(self, files, batch_size=100, num_epochs=200, **options):
        """Train by SGD on MIDI files, as the tutorial did; see `train_rolls`."""
        if not files:
            raise ValueError("no training files given (run ./download.sh to fetch the data)")
        return self.train_rolls(read_midi_rolls(files, self.r, self.dt), batch_size, num_epochs, **options)

    def train_rolls(self, dataset, batch_size=100, num_epochs=200, log_path=None,
                    checkpoint_path=None, checkpoint_every=10, progress=None):
        """Train by SGD on piano rolls (one (frames x n_visible) array per song).

        Every epoch visits the songs in a fresh random order, cuts each into
        consecutive chunks of at most `batch_size` frames, takes one SGD step
        per chunk and prints `Epoch i/N` with the mean of the chunks' monitors
        (and the epoch's seconds). Training continues from the epochs already
        done (`self.history`, restored by `load`) up to `num_epochs`.

        log_path : receives the history as a tab-separated table with the
            header `epoch monitor seconds`, one row per epoch.
        checkpoint_path : a checkpoint (see `save`) is written there every
            `checkpoint_every` epochs, at the end and when interrupted.
        progress : called as progress(chunks_done, chunks_in_epoch) after
            every chunk.

        Ctrl+C (KeyboardInterrupt) abandons the current epoch, restores the
        state from before it, so that resuming repeats exactly what an
        uninterrupted run would do, sets `self.interrupted` and returns.
        Parameters turning NaN or infinite also restore that state, then raise
        FloatingPointError. Returns the history.
        """
        self.interrupted = False
        chunks_in_epoch = sum(-(-len(roll) // batch_size) for roll in dataset)
        log = open(log_path, "w") if log_path else None
        if log:
            print("epoch\tmonitor\tseconds", file=log)
            for row in self.history:
                print("%d\t%.10g\t%.2f" % row, file=log, flush=True)
        snapshot = self.state()
        try:
            for epoch in range(len(self.history) + 1, num_epochs + 1):
                snapshot = self.state()
                start = time.perf_counter()
                monitors = []
                for s in self.shuffle_rng.permutation(len(dataset)):
                    for i in range(0, len(dataset[s]), batch_size):
                        monitors.append(self.train_function(
                            dataset[s][i:i + batch_size].astype(self.dtype)))
                        if progress:
                            progress(len(monitors), chunks_in_epoch)
                if not all(np.isfinite(p.get_value()).all() for p in self.params):
                    self.set_state(snapshot)
                    raise FloatingPointError(
                        f"parameters became NaN or infinite during epoch {epoch}; "
                        "try a smaller learning rate")
                self.history.append((epoch, float(np.mean(monitors)), time.perf_counter() - start))
                print(f"Epoch {epoch}/{num_epochs} {self.history[-1][1]:.10g} "
                      f"({self.history[-1][2]:.1f} s)", flush=True)
                if log:
                    print("%d\t%.10g\t%.2f" % self.history[-1], file=log, flush=True)
                if checkpoint_path and (epoch % checkpoint_every == 0 or epoch == num_epochs):
                    self.save(checkpoint_path)
        except KeyboardInterrupt:
            self.set_state(snapshot)
            self.interrupted = True
            if checkpoint_path:
                self.save(checkpoint_path)
            print("Interrupted by user.", flush=True)
        finally:
            if log:
                log.close()
        return self.history

    def state(self):
        """Copies of all that training changes: parameters, the sampler's and
        the shuffler's generator states, and the history."""
        return dict(params={p.name: p.get_value() for p in self.params},
                    rng_state=self.rng.get_value().bit_generator.state,
                    shuffle_state=self.shuffle_rng.bit_generator.state,
                    history=list(self.history))

    def set_state(self, state):
        """Restore what `state` returned (or a checkpoint's equivalent entries)."""
        for p in self.params:
            value = np.asarray(state["params"][p.name], dtype=self.dtype)
            if value.shape != p.get_value(borrow=True).shape:
                raise ValueError(f"{p.name} has shape {value.shape}, "
                                 f"the model needs {p.get_value(borrow=True).shape}")
            p.set_value(value)
        generator = self.rng.get_value()
        generator.bit_generator.state = state["rng_state"]
        self.rng.set_value(generator)
        self.shuffle_rng.bit_generator.state = state["shuffle_state"]
        self.history = [tuple(row) for row in state["history"]]

    def save(self, path):
        """Write a checkpoint: an .npz file with one array per parameter (by its
        name: W, bv, bh, Wuh, Wuv, Wvu, Wuu, bu) and JSON strings `config`
        (the constructor's arguments), `history` (epoch, monitor, seconds rows)
        and `rng_state`, `shuffle_state` (the two NumPy generators' states).
        Written to a temporary file and renamed, so a crash never leaves a
        half-written checkpoint in place of the previous one.
        """
        state = self.state()
        entries = {key: json.dumps(state[key]) for key in CHECKPOINT_JSON if key != "config"}
        temporary = f"{path}.tmp{os.getpid()}"
        with open(temporary, "wb") as f:
            np.savez(f, config=json.dumps(self.config), **entries, **state["params"])
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)

    @classmethod
    def load(cls, path, **overrides):
        """Rebuild a model from a checkpoint written by `save`.

        `overrides` replace configuration entries that do not change the
        parameters' shapes, such as backend. Raises ValueError naming the
        file if it is not such a checkpoint.
        """
        state = read_checkpoint(path)
        model = cls(**{**state["config"], **overrides})
        try:
            model.set_state(dict(state, params=state))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path} does not fit its own configuration: "
                             f"{type(err).__name__}: {err}") from err
        return model

    def generate_function(self, u_start=None, n_frames=200, gibbs_steps=25):
        """Sample a (n_frames x n_visible) piano roll, `gibbs_steps` Gibbs steps
        per frame, from the RNN state `u_start` (default: the initial state,
        zeros). Without arguments: the tutorial's 200 frames, 25 steps each."""
        if u_start is None:
            u_start = np.zeros(self.config["n_hidden_recurrent"], dtype=self.dtype)
        return self.generate_from(u_start, n_frames, gibbs_steps)

    def generate(self, filename, show=True):
        """Generate a piece, write it as a MIDI file and its piano roll as a PNG.

        The picture goes next to the MIDI file (same name, .png), with time in
        seconds on x and MIDI note number on y. `show` also opens it in a
        window, when a display exists. Returns the (frames x n_visible) roll.
        """
        piano_roll = self.generate_function()
        midiwrite(filename, piano_roll, self.r, self.dt)
        plot_piano_roll(piano_roll, self.r, self.dt, os.path.splitext(filename)[0] + ".png",
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
    import cli  # the command line lives beside the model: cli.py

    sys.exit(cli.main())
