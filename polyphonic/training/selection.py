"""Model selection: keep the checkpoint of the epoch that does best on validation data.

The paper selects its models by early stopping on the validation split. The
criterion for an RNN-RBM is scoring.validation_log_likelihood (a cheap AIS
with a fixed seed: what the paper reports, measured alike at every epoch);
for an RNN (the pretraining's, or train --model rnn), its exact
log-likelihood; for an RBM over frames (train --model rbm), a fixed-seed AIS
estimate of its one partition function.
"""

import os

import numpy as np

from polyphonic.training import checkpoints


def rnn_log_likelihood(model, rolls):
    """Exact log-likelihood per frame of an rnn.Rnn on `rolls`."""
    return float(np.sum([model.log_likelihoods(roll).sum() for roll in rolls])
                 / sum(map(len, rolls)))


def rnnrbm_criterion(model, rolls, n_chains=5, n_temperatures=100):
    """scoring.validation_log_likelihood of an rnnrbm.RnnRbm's current parameters on `rolls`."""
    from polyphonic.evaluation.scoring import validation_log_likelihood

    def criterion():
        params = {p.name: p.get_value().astype(np.float64) for p in model.params}
        return validation_log_likelihood(params, rolls, n_chains, n_temperatures)
    return criterion


def rbm_criterion(model, rolls, n_chains, n_temperatures, seed=4321):
    """The log-likelihood per frame on `rolls` of an RBM over single frames
    (train --model rbm): exact free energies, and one AIS estimate of its
    partition function with a fixed seed (scoring.ais_log_partition)."""
    from polyphonic.evaluation.scoring import ais_log_partition
    from polyphonic.models.numpy_rnnrbm import free_energies

    frames = np.concatenate(rolls).astype(np.float64)

    def criterion():
        W, bv, bh = (p.get_value().astype(np.float64) for p in model.params)
        log_z, _ = ais_log_partition(W, bv[None], bh[None], np.random.default_rng(seed),
                                     n_chains, n_temperatures)
        return float(np.mean(-free_energies(frames, W, bv, bh)) - log_z[0])
    return criterion


class BestCheckpoint:
    """Model selection: an `after_epoch` callback for Trainable.train_rolls.

    Every `every` epochs it computes `criterion()` (higher is better), appends
    `epoch value` to the table at `log_path`, and saves the model to `path`
    when the value is the best so far (the model first, then its row, so that
    a kill between the two never leaves a row naming a better epoch than the
    file holds). A resumed run keeps the rows of the epochs its checkpoint had
    reached (later ones are dropped: they will be recomputed) and their best
    value, and computes the row of its last epoch if that one is missing (an
    interrupt during the criterion leaves it so). `on_row(epoch, value)`, if
    given, is told every row: those kept, then each one as it is computed (tune
    reports them to Optuna; an exception it raises ends the run).
    """

    def __init__(self, model, criterion, path, log_path, every, on_row=None):
        self.model, self.criterion, self.path, self.log_path = model, criterion, path, log_path
        self.every, self.on_row = every, on_row
        self.rows = []
        if os.path.exists(log_path):
            with open(log_path) as f:
                self.rows = [(int(e), float(v)) for e, v in
                             (line.split("\t") for line in f.read().splitlines()[1:])]
        epochs = len(model.history)
        self.rows = [row for row in self.rows if row[0] <= epochs]
        self.write()
        for row in self.rows if on_row else ():
            on_row(*row)
        if epochs and epochs not in {e for e, _ in self.rows}:
            self(epochs)

    @property
    def best(self):
        return max(self.rows, key=lambda row: row[1], default=None)

    def write(self):
        with checkpoints.atomic_output(self.log_path) as temporary, open(temporary, "w") as f:
            f.write("epoch\tvalue\n" + "".join(f"{e}\t{v:.6f}\n" for e, v in self.rows))

    def __call__(self, epoch):
        if epoch % self.every:
            return
        value = self.criterion()
        best = self.best
        if best is None or value > best[1]:
            self.model.save(self.path)
        self.rows.append((epoch, value))
        self.write()
        print(f"  validation {value:.4f} (best {max(value, best[1]) if best else value:.4f})",
              flush=True)
        if self.on_row:
            self.on_row(epoch, value)
