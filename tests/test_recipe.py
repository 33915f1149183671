"""The paper's recipe: separate learning rates, the schedule, pretraining and
model selection, and `train --config paper` end to end on a few songs."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rnnrbm
from polyphonic.commands import cli
from polyphonic.models.rbm import Rbm
from polyphonic.models.rnn import Rnn
from polyphonic.training import configs, pretrain, selection, workflow

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(n_hidden=8, n_hidden_recurrent=5, r=(40, 52), seed=3)


def song(rng, frames=30):
    return (rng.random((frames, 12)) < 0.3).astype(np.uint8)


def changes(model, before):
    """Largest absolute change of each parameter since `before` (name -> array)."""
    return {p.name: np.abs(p.get_value() - before[p.name]).max() for p in model.params}


def test_the_rnn_part_takes_its_own_learning_rate_and_u0_is_learned():
    rng = np.random.default_rng(0)
    model = rnnrbm.RnnRbm(lr=0.1, lr_rnn=1e-9, learn_u0=True, **SMALL)
    before = {p.name: p.get_value().copy() for p in model.params}
    model.train_function(song(rng).astype(float))
    moved = changes(model, before)
    assert set(moved) == {*rnnrbm.RBM_PART, "Wuh", "Wuv", "Wvu", "Wuu", "bu", "u0"}
    assert min(moved[name] for name in rnnrbm.RBM_PART) > 1e-4
    assert max(moved[name] for name in moved if name not in rnnrbm.RBM_PART) < 1e-8
    assert moved["u0"] > 0  # it has a gradient


def test_the_learning_rate_decays_by_epoch_and_resumes_exactly(tmp_path):
    """lr_decay = 0: epoch 1 at the full rate, every later epoch at rate 0."""
    rng = np.random.default_rng(1)
    songs = [song(rng) for _ in range(3)]
    model = rnnrbm.RnnRbm(lr=0.05, lr_decay=0.0, **SMALL)
    model.train_rolls(songs, 10, 1)
    after_one = {p.name: p.get_value().copy() for p in model.params}
    model.train_rolls(songs, 10, 3)
    assert max(changes(model, after_one).values()) == 0
    model = rnnrbm.RnnRbm(lr=0.05, lr_decay=0.5, **SMALL)
    model.train_rolls(songs, 10, 2, checkpoint_path=tmp_path / "c.npz", checkpoint_every=1)
    resumed = rnnrbm.RnnRbm.load(tmp_path / "c.npz")
    for m in (model, resumed):
        m.train_rolls(songs, 10, 3)
    for a, b in zip(model.params, resumed.params):
        np.testing.assert_array_equal(a.get_value(), b.get_value())


def test_initialise_takes_w_and_bh_from_the_rbm_and_the_recurrent_part_and_bv_from_the_rnn():
    model = rnnrbm.RnnRbm(learn_u0=True, **SMALL)
    rbm = Rbm(12, 8, seed=4)
    rnn = Rnn(5, r=(40, 52), seed=5)
    rng = np.random.default_rng(6)
    for p in (*rbm.params, *rnn.params):
        p.set_value(rng.normal(size=p.get_value().shape))
    wuh = model.params[3].get_value().copy()
    pretrain.initialise(model, rbm, rnn)
    values = {p.name: p.get_value() for p in model.params}
    sources = {p.name: p.get_value() for p in rbm.params}
    for name in ("W", "bh"):
        np.testing.assert_array_equal(values[name], sources[name])
    for p in rnn.params:
        np.testing.assert_array_equal(values[p.name], p.get_value())
    np.testing.assert_array_equal(values["Wuh"], wuh)  # neither has it: stays small
    assert np.abs(wuh).max() < 1e-3


class Recorder:
    """A stand-in model: a history and a save() that records what it saved."""

    def __init__(self, epochs):
        self.history, self.saved = [(e, 0.0, 0.0) for e in range(1, epochs + 1)], []

    def save(self, path):
        self.saved.append(len(self.history))


def test_best_checkpoint_keeps_the_best_epoch_and_forgets_epochs_a_resume_repeats(tmp_path):
    values = iter([-5.0, -4.0, -4.5, -3.0])
    model = Recorder(0)
    keeper = selection.BestCheckpoint(model, lambda: next(values), tmp_path / "best.npz",
                                      tmp_path / "valid.tsv", every=2)
    for epoch in range(1, 7):
        model.history.append((epoch, 0.0, 0.0))
        keeper(epoch)
    assert model.saved == [2, 4]  # epoch 6 (-4.5) is worse than epoch 4 (-4.0)
    assert (tmp_path / "valid.tsv").read_text() == (
        "epoch\tvalue\n2\t-5.000000\n4\t-4.000000\n6\t-4.500000\n")
    resumed = selection.BestCheckpoint(Recorder(5), lambda: next(values), tmp_path / "best.npz",
                                       tmp_path / "valid.tsv", every=2)
    assert resumed.rows == [(2, -5.0), (4, -4.0)] and resumed.best == (4, -4.0)
    resumed.model.history.append((6, 0.0, 0.0))
    resumed(6)  # -3.0 this time: the best
    assert resumed.model.saved == [6]
    # Interrupted while scoring epoch 8: the resumed run scores it on the way in.
    told = []
    again = selection.BestCheckpoint(Recorder(8), lambda: -2.0, tmp_path / "best.npz",
                                     tmp_path / "valid.tsv", every=2,
                                     on_row=lambda *row: told.append(row))
    assert again.rows[-1] == (8, -2.0) and again.model.saved == [8]
    # on_row is told the rows kept, then the one scored on the way in, then each new one.
    assert told == [(2, -5.0), (4, -4.0), (6, -3.0), (8, -2.0)]
    again.model.history += [(9, 0.0, 0.0), (10, 0.0, 0.0)]
    again(9), again(10)
    assert told[4:] == [(10, -2.0)]


def test_a_named_configuration_sets_defaults_that_options_override():
    words = ["train", "--config", "paper", "--lr", "0.5"]
    args = cli.build_parser(configs.CONFIGS["paper"]).parse_args(words)
    assert args.lr == 0.5 and args.momentum == 0.9 and args.learn_u0
    assert args.pretrain_rnn_optimizer == "adam" and args.data == "Nottingham"
    plain = cli.build_parser().parse_args(["train"])
    assert plain.momentum == 0.0 and not plain.learn_u0 and plain.pretrain_rbm_epochs == 0
    for name, preset in configs.CONFIGS.items():  # every key is an option of train
        unknown = set(preset) - set(vars(plain))
        assert not unknown, (name, unknown)


def test_train_with_the_paper_config_pretrains_selects_and_evaluates(nottingham_pickle,
                                                                     tmp_path):
    """Two epochs of everything on the paper's Nottingham split (a few minutes
    of the real recipe would not fit the suite), then evaluate the RNN-RBM kept
    by model selection and the pretrained RNN."""
    out = tmp_path / "paper"
    run = [sys.executable, str(ROOT / "rnnrbm.py")]
    train = [*run, "train", "--config", "paper", "--data", str(nottingham_pickle),
             "--epochs", "2", "--pretrain-rbm-epochs", "1", "--pretrain-rnn-epochs", "2",
             "--select-every", "1", "--select-frames", "300", "--select-chains", "3",
             "--select-temperatures", "20", "--n-hidden", "20",
             "--n-hidden-recurrent", "10", "--out", str(out)]
    result = subprocess.run(train, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    for name in ("rbm.npz", "rnn.npz", "rnn-best.npz", "best.npz", "checkpoint.npz",
                 "valid.tsv", "rnn-valid.tsv"):
        assert (out / name).exists(), name
    valid = (out / "valid.tsv").read_text().splitlines()
    assert valid[0] == "epoch\tvalue" and len(valid) == 3
    config = json.loads(str(np.load(out / "checkpoint.npz")["config"]))
    assert config["momentum"] == 0.9 and config["learn_u0"] and config["k"] == 15
    # The last row scores the last epoch's model with the chains and temperatures asked for.
    from polyphonic.evaluation import scoring
    from polyphonic.models import numpy_rnnrbm
    from polyphonic.music.datasets import load_pickle_rolls

    with np.load(out / "checkpoint.npz") as f:
        params = {name: f[name].astype(np.float64)
                  for name in (*numpy_rnnrbm.PARAM_NAMES, "u0") if name in f.files}
    frames = workflow.selection_frames(load_pickle_rolls(nottingham_pickle, "valid"), 300,
                                  config["seed"])
    expected = scoring.validation_log_likelihood(params, frames, 3, 20)
    assert float(valid[-1].split("\t")[1]) == pytest.approx(expected, abs=2e-6)
    for checkpoint, model in (("best.npz", "rnnrbm"), ("rnn-best.npz", "rnn")):
        result = subprocess.run([*run, "evaluate", str(out / checkpoint), "--pickle",
                                 str(nottingham_pickle), "--sequences", "2", "--chains", "4",
                                 "--temperatures", "20", "--jobs", "1"], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        metrics = json.loads(result.stdout)
        assert metrics["model"] == model
        assert -20 < metrics["log_likelihood_per_frame"] < 0
        assert 0 < metrics["accuracy_expected"] < 1


def test_a_pretraining_continues_only_with_its_own_settings(tmp_path, capsys):
    """rbm.npz of 1 epoch is continued by a run with the same settings, refused
    by one with others, and replaced by one with others and --overwrite; each
    run says how many epochs it found."""
    rng = np.random.default_rng(9)
    songs = [song(rng) for _ in range(2)]
    first = pretrain.pretrain_rbm(songs, tmp_path, 6, 1, 0.01, 1, 10, 3, "float64", "c")
    assert len(first.history) == 1
    assert "RBM pretraining: 1 epochs\n" in capsys.readouterr().out
    again = pretrain.pretrain_rbm(songs, tmp_path, 6, 2, 0.01, 1, 10, 3, "float64", "c")
    assert len(again.history) == 2  # epoch 1 loaded, epoch 2 trained
    assert f"RBM pretraining: 2 epochs (1 found in {tmp_path / 'rbm.npz'})\n" \
        in capsys.readouterr().out
    pretrain.pretrain_rbm(songs, tmp_path, 6, 2, 0.01, 1, 10, 3, "float64", "c")
    assert capsys.readouterr().out.startswith(
        f"RBM pretraining: 2 epochs (2 found in {tmp_path / 'rbm.npz'}, taken as they are)\n")
    with pytest.raises(ValueError, match="rbm.npz was pretrained with n_hidden=6"):
        pretrain.pretrain_rbm(songs, tmp_path, 7, 2, 0.01, 1, 10, 3, "float64", "c")
    fresh = pretrain.pretrain_rbm(songs, tmp_path, 7, 1, 0.01, 1, 10, 3, "float64", "c",
                                  replace=True)
    assert fresh.config["n_hidden"] == 7 and len(fresh.history) == 1
