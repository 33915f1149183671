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

from selection import BestCheckpoint, rnn_log_likelihood

RBM_TAKES = ("W", "bv", "bh")
RNN_TAKES = ("Wvu", "Wuu", "bu", "Wuv", "bv", "u0")


def pretrain_rbm(rolls, out, n_hidden, epochs, lr, k, batch_size, seed, dtype, backend,
                 progress=None):
    """An rbm.Rbm over all frames of `rolls` (batches of `batch_size` frames
    drawn without replacement), trained for `epochs` epochs by CD-k, or
    continued from out/rbm.npz. Returns the model; its `interrupted` says if
    Ctrl+C stopped it (after writing its checkpoint)."""
    from rbm import Rbm

    path = os.path.join(out, "rbm.npz")
    if os.path.exists(path):
        model = Rbm.load(path, backend=backend)
    else:
        model = Rbm(rolls[0].shape[1], n_hidden, lr, k, seed=seed, dtype=dtype, backend=backend)
    print(f"RBM pretraining: {epochs} epochs", flush=True)
    model.train_rolls(rolls, batch_size, epochs, log_path=os.path.join(out, "rbm-log.tsv"),
                      checkpoint_path=path, checkpoint_every=1, progress=progress)
    return model


def pretrain_rnn(rolls, valid_rolls, out, n_hidden_recurrent, epochs, lr, optimizer, momentum,
                 clip_norm, batch_size, r, dt, seed, dtype, backend, progress=None):
    """An rnn.Rnn trained by BPTT on chunks of `batch_size` frames, or
    continued from out/rnn.npz; after each epoch its exact validation
    log-likelihood per frame goes to rnn-valid.tsv and the best epoch's model
    to rnn-best.npz. Returns (model, best): the model trained, and the best
    one (itself without validation rolls)."""
    from rnn import Rnn

    path, best_path = os.path.join(out, "rnn.npz"), os.path.join(out, "rnn-best.npz")
    if os.path.exists(path):
        model = Rnn.load(path, backend=backend)
    else:
        model = Rnn(n_hidden_recurrent, lr, optimizer, momentum, clip_norm, r, dt, seed, dtype,
                    backend=backend)
    keeper = None
    if valid_rolls:
        keeper = BestCheckpoint(model, lambda: rnn_log_likelihood(model, valid_rolls),
                                best_path, os.path.join(out, "rnn-valid.tsv"), every=1)
    print(f"RNN pretraining: {epochs} epochs", flush=True)
    model.train_rolls(rolls, batch_size, epochs, log_path=os.path.join(out, "rnn-log.tsv"),
                      checkpoint_path=path, checkpoint_every=1, progress=progress,
                      after_epoch=keeper)
    if keeper and os.path.exists(best_path) and not model.interrupted:
        return model, Rnn.load(best_path, backend=backend)
    return model, model


def initialise(model, rbm=None, rnn=None):
    """Set an RNN-RBM's parameters from a pretrained RBM and/or RNN (see the
    module docstring); parameters neither has keep their initial values."""
    values = {}
    for source, names in ((rbm, RBM_TAKES), (rnn, RNN_TAKES)):
        if source is not None:
            own = {p.name: p.get_value() for p in source.params}
            values.update({name: own[name] for name in names if name in own})
    for p in model.params:
        if p.name in values:
            p.set_value(np.asarray(values[p.name], dtype=p.dtype))
