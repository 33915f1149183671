"""Training machinery shared by every model here: descent updates and the
epoch loop with exact resume (checkpoints: checkpoints.py).

The tutorial trains with plain SGD. The paper's recipe (Boulanger-Lewandowski
et al. 2012, and the tutorial's list of what it leaves out) adds separate
learning rates for the RBM and RNN parts, Nesterov momentum and gradient
clipping; the paper's RNN pretraining may use an adaptive method. Each is an
argument of `updates`; with the defaults it is the tutorial's SGD.
"""

import json
import os
import time

import numpy as np
import pytensor
import pytensor.tensor as pt

from polyphonic.training.checkpoints import CHECKPOINT_JSON, atomic_output, read_checkpoint


def clip_gradients(gradients, clip_norm=None, clip_value=None):
    """Gradients clipped entry by entry to [-clip_value, clip_value], then
    rescaled so that their joint L2 norm is at most `clip_norm` (Pascanu et al.
    2013, "On the difficulty of training recurrent neural networks")."""
    if clip_value is not None:
        gradients = [pt.cast(pt.clip(g, -clip_value, clip_value), g.dtype) for g in gradients]
    if clip_norm is not None:
        norm = pt.sqrt(sum((g ** 2).sum() for g in gradients))
        scale = pt.minimum(1.0, clip_norm / pt.maximum(norm, 1e-12))
        gradients = [g * pt.cast(scale, g.dtype) for g in gradients]
    return gradients


def updates(params, gradients, learning_rates, momentum=0.0, method="sgd", clip_norm=None,
            clip_value=None, scale=None):
    """The (shared variable, new value) pairs of one descent step.

    learning_rates : one per parameter (a number each).
    scale : a shared scalar multiplying every learning rate (a schedule sets
        it between steps), or None.
    method : "sgd" (with `momentum`: Nesterov momentum in the form of Bengio,
        Boulanger-Lewandowski and Pascanu 2013, "Advances in optimizing recurrent
        networks": v <- momentum v - lr g; p <- p + momentum v_new - lr g)
        or "adam" (Kingma and Ba 2015, with their default betas and epsilon).
    Gradients are clipped first (see clip_gradients). The optimiser's own state
    (velocities, moments) is returned in `state`: a list of shared variables
    to save with the parameters.
    Returns (updates, state).
    """
    gradients = clip_gradients(gradients, clip_norm, clip_value)
    pairs, state = [], []
    if method == "adam":
        step = pytensor.shared(np.float64(0.0), name="adam_step")
        t = step + 1.0
        state.append(step)
        pairs.append((step, t))
    for p, g, lr in zip(params, gradients, learning_rates):
        def constant(x):  # in the parameter's dtype, so float32 stays float32
            return pt.as_tensor(np.asarray(x, dtype=p.dtype))

        lr = constant(lr) if scale is None else constant(lr) * pt.cast(scale, p.dtype)
        zeros = np.zeros_like(p.get_value(borrow=True))
        if method == "adam":
            m = pytensor.shared(zeros, name=f"{p.name}_m")
            s = pytensor.shared(zeros.copy(), name=f"{p.name}_s")
            m_new = constant(0.9) * m + constant(0.1) * g
            s_new = constant(0.999) * s + constant(0.001) * g ** 2
            correction = pt.cast(pt.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t), p.dtype)
            pairs += [(m, m_new), (s, s_new),
                      (p, p - lr * correction * m_new / (pt.sqrt(s_new) + constant(1e-8)))]
            state += [m, s]
        elif method == "sgd" and momentum:
            velocity = pytensor.shared(zeros, name=f"{p.name}_velocity")
            new_velocity = constant(momentum) * velocity - lr * g
            pairs += [(velocity, new_velocity), (p, p + constant(momentum) * new_velocity - lr * g)]
            state.append(velocity)
        elif method == "sgd":
            pairs.append((p, p - lr * g))
        else:
            raise ValueError(f"method must be 'sgd' or 'adam', not {method!r}")
    return pairs, state


# ---------------------------------------------------------------- the epoch loop

class Trainable:
    """What every model trained here shares: checkpoints, exact resume, the epoch loop.

    A subclass's constructor sets `config` (its own arguments, JSON-able),
    `params` (named shared variables), `optimizer_state` (named shared
    variables the update rule keeps, e.g. velocities), `rng` (the shared NumPy
    Generator its sampler threads through its functions, or None), `dtype`,
    and `train_function(batch) -> monitor`, and calls `start_history(seed)`.
    `kind` names the model in its checkpoints.
    """

    kind = None
    optimizer_state = ()
    rng = None
    data = None  # what it was trained on (workflow.data_source), kept in its checkpoints

    def start_epoch(self, epoch):
        """Called before each epoch (from 1), so that a schedule can set its
        learning rates from the epoch's number (exact resume needs no state)."""

    def start_history(self, seed):
        self.shuffle_rng = np.random.default_rng(seed)
        self.history = []  # (epoch, mean monitor, seconds) of every epoch trained
        self.interrupted = False

    def batches(self, dataset, batch_size):
        """The training batches of one epoch, and how many there are: the songs
        in a fresh random order, each cut into consecutive chunks of at most
        `batch_size` frames (the tutorial's way)."""
        starts, count = self.chunk_starts(dataset, batch_size)
        return (dataset[s][i:i + batch_size] for s, i in starts), count

    def shuffled_rows(self, dataset, batch_size):
        """Mini-batches of `batch_size` rows drawn without replacement from all
        rows of all arrays in `dataset` (every row once per epoch), and how
        many there are: the batches of models of single rows (frames, windows)."""
        rows = np.concatenate(dataset)
        order = self.shuffle_rng.permutation(len(rows))
        return ((rows[order[i:i + batch_size]] for i in range(0, len(rows), batch_size)),
                -(-len(rows) // batch_size))

    def chunk_starts(self, dataset, batch_size):
        """(song, first row) of each chunk of `batches`, in training order, and
        how many there are; the order is drawn now, from the shuffler."""
        count = sum(-(-len(roll) // batch_size) for roll in dataset)
        order = self.shuffle_rng.permutation(len(dataset))
        starts = ((s, i) for s in order for i in range(0, len(dataset[s]), batch_size))
        return starts, count

    def train_batch(self, batch):
        """One descent step on a batch of `batches`; returns its monitor."""
        return self.train_function(batch.astype(self.dtype))

    def train_rolls(self, dataset, batch_size=100, num_epochs=200, log_path=None,
                    checkpoint_path=None, checkpoint_every=10, progress=None, after_epoch=None):
        """Train on piano rolls (one (frames x n_visible) array per song).

        Every epoch takes one step (`train_batch`) per batch (see
        `batches`) and prints `Epoch i/N` with the mean of the batches'
        monitors (and the epoch's seconds). Training continues from the epochs
        already done (`self.history`, restored by `load`) up to `num_epochs`.

        log_path : receives the history as a tab-separated table with the
            header `epoch monitor seconds`, one row per epoch.
        checkpoint_path : a checkpoint (see `save`) is written there every
            `checkpoint_every` epochs, at the end and when interrupted.
        progress : called as progress(batches_done, batches_in_epoch) after
            every batch.
        after_epoch : called as after_epoch(epoch) after each epoch's
            checkpoint (model selection, for example); Ctrl+C during it keeps
            the finished epoch.

        Ctrl+C (KeyboardInterrupt) abandons the current epoch, restores the
        state from before it, so that resuming repeats exactly what an
        uninterrupted run would do, sets `self.interrupted` and returns.
        Parameters or the epoch's monitor turning NaN or infinite also restore
        that state, then raise FloatingPointError. Returns the history.
        """
        self.interrupted = False
        log = open(log_path, "w") if log_path else None
        if log:
            print("epoch\tmonitor\tseconds", file=log)
            for row in self.history:
                print("%d\t%.10g\t%.2f" % row, file=log, flush=True)
        snapshot = self.state()
        try:
            for epoch in range(len(self.history) + 1, num_epochs + 1):
                snapshot = self.state()
                self.start_epoch(epoch)
                start = time.perf_counter()
                batches, count = self.batches(dataset, batch_size)
                monitors = []
                for batch in batches:
                    monitors.append(self.train_batch(batch))
                    if progress:
                        progress(len(monitors), count)
                monitor = float(np.mean(monitors))
                # Finite parameters so large that the activations overflow
                # show only in the monitor (inf - inf).
                if not (np.isfinite(monitor)
                        and all(np.isfinite(p.get_value()).all() for p in self.params)):
                    self.set_state(snapshot)
                    raise FloatingPointError(
                        f"the parameters or the monitor became NaN or infinite during epoch "
                        f"{epoch}; try a smaller learning rate")
                self.history.append((epoch, monitor, time.perf_counter() - start))
                print(f"Epoch {epoch}/{num_epochs} {self.history[-1][1]:.10g} "
                      f"({self.history[-1][2]:.1f} s)", flush=True)
                if log:
                    print("%d\t%.10g\t%.2f" % self.history[-1], file=log, flush=True)
                if checkpoint_path and (epoch % checkpoint_every == 0 or epoch == num_epochs):
                    self.save(checkpoint_path)
                if after_epoch:
                    snapshot = self.state()  # an interrupt from here on keeps the epoch
                    after_epoch(epoch)
        except KeyboardInterrupt:
            self.set_state(snapshot)
            self.interrupted = True
            if checkpoint_path:
                self.save(checkpoint_path)
        finally:
            if log:
                log.close()
        return self.history

    def state(self):
        """Copies of all that training changes: parameters, the optimiser's
        state, the sampler's and the shuffler's generator states, the history."""
        return dict(params={p.name: p.get_value() for p in (*self.params, *self.optimizer_state)},
                    rng_state=self.rng.get_value().bit_generator.state if self.rng else None,
                    shuffle_state=self.shuffle_rng.bit_generator.state,
                    history=list(self.history))

    def set_state(self, state):
        """Restore what `state` returned (or a checkpoint's equivalent entries)."""
        for p in (*self.params, *self.optimizer_state):
            value = np.asarray(state["params"][p.name], dtype=p.dtype)
            if value.shape != p.get_value(borrow=True).shape:
                raise ValueError(f"{p.name} has shape {value.shape}, "
                                 f"the model needs {p.get_value(borrow=True).shape}")
            p.set_value(value)
        if self.rng:
            generator = self.rng.get_value()
            generator.bit_generator.state = state["rng_state"]
            self.rng.set_value(generator)
        self.shuffle_rng.bit_generator.state = state["shuffle_state"]
        self.history = [tuple(row) for row in state["history"]]

    def save(self, path):
        """Write a checkpoint: an .npz file with one array per parameter and per
        optimiser state variable (by name), and JSON strings `config` (the
        constructor's arguments and `model`, the kind of model), `history`
        (epoch, monitor, seconds rows) and `rng_state`, `shuffle_state` (the
        NumPy generators' states), and `data`, what it was trained on, when
        known (workflow.data_source). Written through `atomic_output`, so a crash
        never leaves a half-written checkpoint in place of the previous one.
        """
        state = self.state()
        entries = {key: json.dumps(state[key]) for key in CHECKPOINT_JSON if key != "config"}
        config = json.dumps(dict(self.config, model=self.kind))
        if self.data:
            entries["data"] = json.dumps(self.data)
        with atomic_output(path) as temporary, open(temporary, "wb") as f:
            np.savez(f, config=config, **entries, **state["params"])
            f.flush()
            os.fsync(f.fileno())

    @classmethod
    def load(cls, path, **overrides):
        """Rebuild a model from a checkpoint written by `save`.

        `overrides` replace configuration entries that do not change the
        parameters' shapes, such as backend. Raises ValueError naming the
        file if it is not such a checkpoint, or one of another kind of model.
        """
        state = read_checkpoint(path)
        config = dict(state["config"])
        kind = config.pop("model", "rnnrbm")  # checkpoints before kinds were RNN-RBMs
        if kind != cls.kind:
            raise ValueError(f"{path} holds a model of kind {kind!r}, not {cls.kind!r}")
        model = cls(**{**config, **overrides})
        model.data = state.get("data")
        try:
            model.set_state(dict(state, params=state))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path} does not fit its own configuration: "
                             f"{type(err).__name__}: {err}") from err
        return model
