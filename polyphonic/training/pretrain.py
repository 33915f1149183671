"""The paper's pretraining of the RNN-RBM, and initialising it from the pretrained models.

Boulanger-Lewandowski, Bengio and Vincent (2012), section 5: W, bv, bh start as
those of an RBM trained on the fully shuffled frames of the training set, so
that the RNN-RBM starts as independent RBMs (its recurrent weights small); and
the recurrent part Wvu, Wuu, bu, Wuv, bv, u0 as that of an RNN trained alone to
predict each frame's notes as independent Bernoullis (rnn.Rnn), which "can have
the most impact". bv is taken from the RNN when there is one: in both models it
is the visible bias, and the RNN's is fitted with Wuv.

Each pretraining writes its checkpoint and log into the run's folder (rbm.npz,
rnn.npz, rbm-log.tsv, rnn-log.tsv): run again, it continues from them or, if
they are complete, takes them as they are. The RNN keeps the epoch of best
validation log-likelihood (exact, so cheap: every epoch) in rnn-best.npz and
that one initialises the RNN-RBM.
"""

import os

import numpy as np

from polyphonic.training.selection import BestCheckpoint, rnn_log_likelihood


def pretrain_rbm(rolls, out, n_hidden, epochs, lr, k, batch_size, seed, dtype, backend,
                 replace=False, progress=None):
    """An rbm.Rbm over all frames of `rolls` (batches of `batch_size` frames
    drawn without replacement), trained for `epochs` epochs by CD-k, or
    continued from out/rbm.npz (see load_or_build for `replace`). Returns the
    model; its `interrupted` says if Ctrl+C stopped it (after writing its
    checkpoint)."""
    from polyphonic.models.rbm import Rbm

    path = os.path.join(out, "rbm.npz")
    model = load_or_build(Rbm, path, backend, replace, n_visible=rolls[0].shape[1], n_hidden=n_hidden,
                          lr=lr, k=k, seed=seed, dtype=dtype)
    announce("RBM", model, epochs, path)
    model.train_rolls(rolls, batch_size, epochs, log_path=os.path.join(out, "rbm-log.tsv"),
                      checkpoint_path=path, checkpoint_every=1, progress=progress)
    return model


def pretrain_rnn(rolls, valid_rolls, out, n_hidden_recurrent, epochs, lr, optimizer, momentum,
                 clip_norm, batch_size, r, dt, seed, dtype, backend, *, recurrence="tanh",
                 replace=False, progress=None):
    """An rnn.Rnn (its units `recurrence`, tanh or lstm) trained by BPTT on
    chunks of `batch_size` frames, or continued from out/rnn.npz (see
    load_or_build for `replace`); after each epoch its exact validation
    log-likelihood per frame goes to rnn-valid.tsv and the best epoch's model
    to rnn-best.npz. Returns (model, best): the model trained, and the best
    one (itself without validation rolls)."""
    from polyphonic.models.rnn import Rnn

    path, best_path = os.path.join(out, "rnn.npz"), os.path.join(out, "rnn-best.npz")
    model = load_or_build(Rnn, path, backend, replace, n_hidden_recurrent=n_hidden_recurrent, lr=lr,
                          optimizer=optimizer, momentum=momentum, clip_norm=clip_norm, r=list(r),
                          dt=dt, seed=seed, dtype=dtype, recurrence=recurrence)
    keeper = None
    if valid_rolls:
        keeper = BestCheckpoint(model, lambda: rnn_log_likelihood(model, valid_rolls),
                                best_path, os.path.join(out, "rnn-valid.tsv"), every=1)
    announce("RNN", model, epochs, path)
    model.train_rolls(rolls, batch_size, epochs, log_path=os.path.join(out, "rnn-log.tsv"),
                      checkpoint_path=path, checkpoint_every=1, progress=progress,
                      after_epoch=keeper)
    if keeper and os.path.exists(best_path) and not model.interrupted:
        return model, Rnn.load(best_path, backend=backend)
    return model, model


def announce(kind, model, epochs, path):
    """Say what the pretraining will do: all its epochs, the rest of them, or
    none (those in `path` are taken as they are)."""
    done = min(len(model.history), epochs)
    found = f" ({done} found in {path}{', taken as they are' if done == epochs else ''})" \
        if done else ""
    print(f"{kind} pretraining: {epochs} epochs{found}", flush=True)


def load_or_build(cls, path, backend, replace, **settings):
    """The model at `path`, to continue its pretraining, if it exists and was
    made with these settings, else a new cls(**settings). One made with other
    settings is replaced if `replace` (--overwrite), else refused (ValueError
    naming the file)."""
    if not os.path.exists(path):
        return cls(**settings, backend=backend)
    model = cls.load(path, backend=backend)
    for key, value in settings.items():
        if model.config.get(key) != value:
            if replace:
                return cls(**settings, backend=backend)
            raise ValueError(f"{path} was pretrained with {key}={model.config.get(key)!r}, "
                             f"this run asks for {value!r}: remove it, start over with "
                             "--overwrite, or use another --out")
    return model


def initialise(model, rbm=None, rnn=None):
    """Set an RNN-RBM's parameters from a pretrained RBM and/or RNN (see the
    module docstring); parameters neither has keep their initial values.
    ValueError if a parameter's shape differs."""
    from polyphonic.models.rnn import PARAM_NAMES as RNN_PART
    from rnnrbm import RBM_PART

    values = {}
    for source, names in ((rbm, RBM_PART), (rnn, RNN_PART)):
        if source is not None:
            own = {p.name: p.get_value() for p in source.params}
            values.update({name: own[name] for name in names if name in own})
    for p in model.params:
        if p.name in values:
            if values[p.name].shape != p.get_value(borrow=True).shape:
                raise ValueError(f"the pretrained {p.name} has shape {values[p.name].shape}, "
                                 f"the model's is {p.get_value(borrow=True).shape}")
            p.set_value(np.asarray(values[p.name], dtype=p.dtype))
