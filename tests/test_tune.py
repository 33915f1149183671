"""tune: an Optuna study of train runs shared by several workers (polyphonic/training/tune.py)."""

import json
import pickle
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from polyphonic.training import configs, options, tune  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Tiny trials: 12 pitches, 2 epochs, the criterion on 24 frames after each epoch;
# only the hidden sizes are searched (the rest given, so fixed), which keeps
# the compiled graphs the same from trial to trial.
TINY = ["--pitch-range", "60", "72", "--epochs", "2", "--select-every", "1",
        "--select-frames", "24", "--batch-size", "12", "--k", "1", "--lr", "0.01",
        "--lr-rnn", "0.01", "--momentum", "0.5", "--clip-norm", "5",
        "--pretrain-rbm-epochs", "0", "--pretrain-rbm-lr", "0.01",
        "--pretrain-rnn-epochs", "0"]


def command(*args):
    return [sys.executable, str(ROOT / "rnnrbm.py"), *map(str, args)]


@pytest.fixture
def tiny_pickle(tmp_path):
    """A data set in the paper's pickle format: 3 songs of 12 frames per split."""
    rng = np.random.default_rng(0)
    dataset = {split: [[sorted({60 + int(p) for p in rng.integers(0, 12, rng.integers(1, 4))})
                        for _ in range(12)] for _ in range(3)]
               for split in ("train", "valid", "test")}
    path = tmp_path / "tiny.pickle"
    path.write_bytes(pickle.dumps(dataset))
    return path


def test_two_workers_share_one_sqlite_study(tiny_pickle, tmp_path):
    out, trials = tmp_path / "runs", 4
    url = f"sqlite:///{out / 'study.db'}"
    out.mkdir()
    queued = [dict(n_hidden=50 + 25 * i, n_hidden_recurrent=50) for i in range(3)]
    study = optuna.create_study(storage=url, study_name="s", direction="maximize")
    for params in queued:
        study.enqueue_trial(params)
    tune_command = command("tune", "--study", "s", "--trials", trials, "--out", out,
                           "--data", tiny_pickle, *TINY)
    workers = [subprocess.Popen(tune_command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(2)]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (stdout, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr
    done = optuna.load_study(study_name="s", storage=url).get_trials()
    # Each trial number once, each run by one worker, each in its own folder.
    assert [t.number for t in done] == list(range(len(done)))
    started = [re.findall(r"^trial (\d+) started", stdout, re.M) for stdout, _ in outputs]
    assert sorted(int(n) for n in started[0] + started[1]) == list(range(len(done)))
    assert all(t.state.is_finished() and t.state != optuna.trial.TrialState.FAIL for t in done)
    # A worker starts a trial only while finished + running ones are fewer than
    # --trials: exactly 4, or 5 if both decided to start one at the same instant.
    assert trials <= len(done) <= trials + 1
    folders = [t.user_attrs["folder"] for t in done]
    assert len(set(folders)) == len(done)
    assert all((Path(f) / "valid.tsv").exists() for f in folders)
    # The queued parameter sets ran once each (counted among the trials from the
    # queue: the sampler may draw a queued set too, 3 of the space's 165 points).
    for params in queued:
        assert sum(t.system_attrs.get("fixed_params") == params for t in done) == 1
        assert [t.params for t in done if t.system_attrs.get("fixed_params") == params] \
            == [params]
    # Both workers end with the same summary, after all trials.
    bests = [re.findall(r"^best: trial (\d+)", stdout, re.M) for stdout, _ in outputs]
    assert bests[0] == bests[1] and len(bests[0]) == 1
    best = max((t for t in done if t.value is not None), key=lambda t: t.value)
    assert int(bests[0][0]) == best.number
    table = (out / "s" / "trials.tsv").read_text().splitlines()
    assert table[0].startswith("trial\tstate\tvalue\tseconds") and len(table) == len(done) + 1
    # A third worker has nothing left to do, and says so with the same best.
    again = subprocess.run(tune_command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "started" not in again.stdout
    assert re.findall(r"^best: trial (\d+)", again.stdout, re.M) == bests[0]


def test_a_trial_doing_worse_than_the_median_is_pruned():
    """Five trials reach -5 at epochs 1..4; a sixth at -9 is stopped at epoch
    2, the first the pruner judges (the warmup is a quarter of 8 epochs)."""
    study = optuna.create_study(direction="maximize", pruner=tune.make_pruner(8, 1))
    reached = {}

    def objective(value):
        def run(trial):
            values = []
            on_select = tune.reporter(trial, values)
            for epoch in range(1, 5):
                reached[trial.number] = epoch
                on_select(epoch, value)
            return max(values)
        return run

    study.optimize(objective(-5.0), n_trials=5)
    study.optimize(objective(-9.0), n_trials=1)
    states = [t.state for t in study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE] * 5 + [optuna.trial.TrialState.PRUNED]
    assert reached[5] == 2


def test_suggest_searches_only_what_is_not_given():
    study = optuna.create_study()
    trial = study.ask()
    assert set(tune.suggest(trial)) == {"lr", "lr_rnn", "n_hidden", "n_hidden_recurrent", "k",
                                        "momentum", "clip_norm", "pretrain_rbm_epochs",
                                        "pretrain_rbm_lr", "pretrain_rnn_epochs"}
    fixed = tune.given_options(["--lr=0.01", "--k", "3", "--data", "x"])
    assert fixed == {"lr", "k", "data"}
    assert set(tune.suggest(study.ask(), fixed)) == {
        "lr_rnn", "n_hidden", "n_hidden_recurrent", "momentum", "clip_norm",
        "pretrain_rbm_epochs", "pretrain_rbm_lr", "pretrain_rnn_epochs"}


def one_line_error(result, *words):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_errors_are_one_line_naming_the_value(tiny_pickle, tmp_path):
    base = ["tune", "--study", "s", "--out", tmp_path, "--data", tiny_pickle]
    for storage, words in (("nonsense", ["--storage nonsense"]),
                           ("foo://host/db", ["--storage foo://host/db"])):
        result = subprocess.run(command(*base, "--storage", storage), capture_output=True,
                                text=True, timeout=120)
        one_line_error(result, *words)
    url = f"sqlite:///{tmp_path / 'other.db'}"
    optuna.create_study(storage=url, study_name="down", direction="minimize")
    result = subprocess.run(command(*base, "--storage", url, "--study", "down"),
                            capture_output=True, text=True, timeout=120)
    one_line_error(result, "--study down", "minimises")
    result = subprocess.run(command(*base, "--resume", "x.npz"), capture_output=True,
                            text=True, timeout=120)
    one_line_error(result, "--resume")
    result = subprocess.run(command(*base, "--epochs", "0"), capture_output=True, text=True,
                            timeout=120)
    one_line_error(result, "--epochs")
    result = subprocess.run(command(*base, "--config", "tutorial", "--select-every", "1"),
                            capture_output=True, text=True, timeout=120)
    one_line_error(result, "--config tutorial", "--pretrain-rnn-epochs")


def test_an_interrupted_worker_loses_no_trial(tiny_pickle, tmp_path):
    """Ctrl+C during a trial: the worker exits 130, the trial is FAILED and
    queued again with its parameters; the next worker runs that one, resuming
    the checkpoint the interrupted run wrote."""
    epochs = 300
    tune_command = command("tune", "--study", "s", "--trials", 1, "--out", tmp_path,
                           "--data", tiny_pickle, *TINY, "--epochs", epochs,
                           "--select-every", 100, "--checkpoint-every", 1)
    worker = subprocess.Popen(tune_command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    for line in worker.stdout:
        if line.startswith("Epoch 20/"):
            worker.send_signal(signal.SIGINT)
            break
    stdout, stderr = worker.communicate(timeout=120)
    assert worker.returncode == 130, stderr
    assert "trial 0 is queued again" in stderr
    assert stderr.strip().splitlines()[-1] == "Worker stopped by Ctrl+C (SIGINT)."
    url = f"sqlite:///{tmp_path / 'study.db'}"
    failed, queued = optuna.load_study(study_name="s", storage=url).get_trials()
    assert failed.state == optuna.trial.TrialState.FAIL
    assert queued.state == optuna.trial.TrialState.WAITING and queued.params == failed.params
    again = subprocess.run(tune_command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "trial 1 started" in again.stdout and "retrying trial 0 from its checkpoint" \
        in again.stdout
    first = int(re.search(r"^Epoch (\d+)/", again.stdout, re.M).group(1))
    assert first >= 20  # epoch 20, or 21 if the signal came after its checkpoint
    trials = optuna.load_study(study_name="s", storage=url).get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.FAIL,
                                         optuna.trial.TrialState.COMPLETE]
    log = (tmp_path / "s" / "trial-0001" / "log.tsv").read_text().splitlines()
    assert len(log) == epochs + 1  # every epoch, once: the interrupted run's, then its own
    assert re.search(r"^best: trial 1,", again.stdout, re.M)


def test_importing_tune_does_not_import_optuna():
    code = ("import sys; import polyphonic.training.tune; "
            "assert not {'optuna', 'sqlalchemy'} & set(sys.modules); print('ok')")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr


def test_pretraining_keys_follow_what_pretraining_depends_on():
    """A fine-tuning option changes neither key; --n-hidden only the RBM's,
    --n-hidden-recurrent only the RNN's, a fixed option given both."""
    base = ["--config", "paper", "--data", "x.pickle"]

    def keys(*words):
        return tune.pretraining_keys(options.parse_train([*base, *words]))
    first = keys("--lr", "0.01")
    assert keys("--lr", "0.005", "--momentum", "0.5", "--k", "3") == first
    assert json.loads(first["rbm"])["n_hidden"] == 150  # the paper configuration's default
    other = keys("--n-hidden", "75")
    assert other["rbm"] != first["rbm"] and other["rnn"] == first["rnn"]
    other = keys("--n-hidden-recurrent", "75")
    assert other["rbm"] == first["rbm"] and other["rnn"] != first["rnn"]
    other = keys("--seed", "1")
    assert other["rbm"] != first["rbm"] and other["rnn"] != first["rnn"]
    other = keys("--pretrain-rnn-lr", "0.01", "--valid", "y.pickle")
    assert other["rbm"] == first["rbm"] and other["rnn"] != first["rnn"]
    assert keys("--pretrain-rbm-epochs", "0", "--pretrain-rnn-epochs", "0") == dict(rbm=None,
                                                                                   rnn=None)


def test_trials_reuse_identical_pretraining(tiny_pickle, tmp_path):
    """Trial 1 differs from trial 0 in the fine-tuning lr only: it takes both
    pretrainings of trial 0, byte for byte, without pretraining. Trial 2 has
    more RBM hidden units: its own RBM pretraining, trial 0's RNN."""
    out, url = tmp_path / "runs", f"sqlite:///{tmp_path / 'runs' / 'study.db'}"
    out.mkdir()
    words = TINY[:TINY.index("--lr")] + TINY[TINY.index("--lr") + 2:]  # lr searched
    words += ["--pretrain-rbm-epochs", "1", "--pretrain-rnn-epochs", "1", "--learn-u0"]
    study = optuna.create_study(storage=url, study_name="s", direction="maximize")
    for lr, n_hidden in ((0.01, 50), (0.005, 50), (0.01, 75)):
        study.enqueue_trial(dict(lr=lr, n_hidden=n_hidden, n_hidden_recurrent=50))
    result = subprocess.run(command("tune", "--study", "s", "--trials", 3, "--out", out,
                                    "--data", tiny_pickle, *words),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    trials = optuna.load_study(study_name="s", storage=url).get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert [t.params["lr"] for t in trials] == [0.01, 0.005, 0.01]
    runs = [result.stdout.split(f"trial {n} started")[1].split("finished")[0] for n in range(3)]
    assert "reuses" not in runs[0] and "Epoch 1/1" in runs[0]  # pretrained itself
    assert re.search(r"^trial 1 reuses the RBM pretraining of trial 0 and the RNN pretraining "
                     r"of trial 0$", runs[1], re.M)
    assert re.search(r"^trial 2 reuses the RNN pretraining of trial 0$", runs[2], re.M)
    # Pretraining prints Epoch 1/1 (one epoch); fine-tuning Epoch 1/2 and 2/2.
    assert runs[1].count("Epoch 1/1 ") == 0 and runs[2].count("Epoch 1/1 ") == 1
    folders = [out / "s" / tune.TRIAL_FOLDER.format(n) for n in range(3)]
    for name in ("rbm.npz", "rbm-log.tsv", "rnn.npz", "rnn-best.npz", "rnn-valid.tsv",
                 "rnn-log.tsv"):
        assert (folders[1] / name).read_bytes() == (folders[0] / name).read_bytes(), name
    for name in ("rnn.npz", "rnn-best.npz", "rnn-valid.tsv"):
        assert (folders[2] / name).read_bytes() == (folders[0] / name).read_bytes(), name
    assert (folders[2] / "rbm.npz").read_bytes() != (folders[0] / "rbm.npz").read_bytes()
    assert not list(folders[1].glob("*.partial*"))  # no temporary left
    keys = [(t.user_attrs["rbm_pretraining"], t.user_attrs["rnn_pretraining"]) for t in trials]
    assert keys[0] == keys[1] and keys[2][0] != keys[0][0] and keys[2][1] == keys[0][1]


def test_an_unfinished_pretraining_is_not_copied(tmp_path):
    """A checkpoint short of its epochs, an RNN whose last epoch has no
    validation row yet, or a file missing, is not taken, and nothing is left
    in the trial's folder; a finished one is copied whole."""
    source, target = tmp_path / "source", tmp_path / "target"
    source.mkdir()

    def checkpoint(name, epochs):  # what checkpoints.read_checkpoint needs of one
        history = [[epoch, -1.0, 0.1] for epoch in range(1, epochs + 1)]
        np.savez(source / name, config="{}", history=json.dumps(history),
                 rng_state="null", shuffle_state="null", W=np.zeros(2))

    checkpoint("rbm.npz", 1)
    (source / "rbm-log.tsv").write_text("epoch\tmonitor\tseconds\n1\t-1\t0.10\n")
    assert not tune.copy_pretraining("rbm", source, target, epochs=2)
    assert list(target.iterdir()) == []
    assert tune.copy_pretraining("rbm", source, target, epochs=1)
    assert sorted(p.name for p in target.iterdir()) == ["rbm-log.tsv", "rbm.npz"]
    assert (target / "rbm.npz").read_bytes() == (source / "rbm.npz").read_bytes()
    checkpoint("rnn.npz", 2)
    (source / "rnn-log.tsv").write_text("epoch\tmonitor\tseconds\n")
    (source / "rnn-valid.tsv").write_text("epoch\tvalue\n1\t-3.0\n")
    assert not tune.copy_pretraining("rnn", source, target, epochs=2)  # no best model
    (source / "rnn-best.npz").write_bytes(b"best")
    assert not tune.copy_pretraining("rnn", source, target, epochs=2)  # no row of epoch 2
    assert sorted(p.name for p in target.iterdir()) == ["rbm-log.tsv", "rbm.npz"]
    (source / "rnn-valid.tsv").write_text("epoch\tvalue\n1\t-3.0\n2\t-2.5\n")
    assert tune.copy_pretraining("rnn", source, target, epochs=2)
    assert (target / "rnn-best.npz").read_bytes() == b"best"
    assert not list(target.glob("*.partial*"))


def test_trials_anneal_longer_than_train_unless_told():
    train_default = options.parse_train(["--config", "paper"])
    trial = options.parse_train(tune.trial_words("paper", ["--select-chains", "7"]))
    assert trial.select_chains == 7  # the user's value wins
    for name in ("select_every", "select_frames", "select_temperatures"):
        assert getattr(trial, name) == tune.CRITERION[name] != getattr(train_default, name)
    assert tune.CRITERION["select_chains"] > train_default.select_chains


def test_a_named_configuration_is_queued_once_as_a_trial(tmp_path):
    storage = tune.open_storage(f"sqlite:///{tmp_path / 'study.db'}", 60)
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    # A second worker's --enqueue queues nothing more.
    assert [tune.enqueue_config(study, "paper-tuned", ["--k", "3"], {"k"}, storage)
            for _ in range(2)] == [True, False]
    assert len(study.trials) == 1
    assert re.fullmatch(r".+:\d+", study.user_attrs["enqueued:paper-tuned"])  # HOST:PID
    values = tune.suggest(study.ask(), {"k"})
    preset = configs.CONFIGS["paper-tuned"]
    assert values == {name: preset[name] for name in tune.SPACE if name != "k"}
    assert values != tune.suggest(study.ask(), {"k"})  # the next trial is the sampler's


def test_a_configuration_without_an_rnn_rate_is_queued_with_its_own_rate(tmp_path):
    """rnn-nade sets no --lr-rnn (its RNN part trains at --lr): the queued
    trial gives lr_rnn that rate, a value Optuna can store."""
    storage = tune.open_storage(f"sqlite:///{tmp_path / 'study.db'}", 60)
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    assert "lr_rnn" not in configs.CONFIGS["rnn-nade"]
    assert tune.enqueue_config(study, "rnn-nade", [], set(), storage)
    space = tune.searched(options.parse_train(["--config", "rnn-nade"]))
    values = tune.suggest(study.ask(), set(), space)
    assert values["lr_rnn"] == values["lr"] == configs.CONFIGS["rnn-nade"]["lr"]


def test_a_failed_enqueue_leaves_the_configuration_to_the_next_worker(tmp_path, monkeypatch):
    storage = tune.open_storage(f"sqlite:///{tmp_path / 'study.db'}", 60)
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")

    def fail(*args, **kwargs):
        raise RuntimeError("database gone")
    with monkeypatch.context() as patch:
        patch.setattr(study, "enqueue_trial", fail)
        with pytest.raises(RuntimeError):
            tune.enqueue_config(study, "paper", [], set(), storage)
    assert "enqueued:paper" not in study.user_attrs and not study.trials
    assert tune.enqueue_config(study, "paper", [], set(), storage)
    assert len(study.trials) == 1


# A racing worker: opens the storage, says so, then for each study name it is
# sent queues the configuration there, and says whether it did.
RACER = """
import os, sys
import optuna
from polyphonic.training import tune
storage = tune.open_storage(sys.argv[1], 60)
print("ready", flush=True)
for name in sys.stdin:
    study = optuna.load_study(study_name=name.strip(), storage=storage)
    print(tune.enqueue_config(study, "paper", [], set(), storage), os.getpid(), flush=True)
"""


def test_workers_starting_together_queue_a_configuration_once(tmp_path):
    """Eight workers call enqueue_config for one SQLite study at the same
    instant (each blocked reading the study's name, sent to all at once), in
    each of 10 studies: in each one worker queues the trial and records the
    study attribute, the others queue nothing."""
    url, workers, rounds = f"sqlite:///{tmp_path / 'study.db'}", 8, 10
    storage = tune.open_storage(url, 60)
    for n in range(rounds):
        optuna.create_study(storage=storage, study_name=f"s{n}", direction="maximize")
    errors = [tmp_path / f"racer-{i}.err" for i in range(workers)]
    racers = []
    for error in errors:
        with error.open("w") as f:
            racers.append(subprocess.Popen([sys.executable, "-c", RACER, url], cwd=ROOT,
                                           text=True, stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, stderr=f))
    try:
        assert [racer.stdout.readline() for racer in racers] == ["ready\n"] * workers, [
            error.read_text() for error in errors]
        said = []
        for n in range(rounds):
            for racer in racers:
                racer.stdin.write(f"s{n}\n")
                racer.stdin.flush()
            said.append([racer.stdout.readline().split() for racer in racers])
    finally:
        for racer in racers:
            racer.stdin.close()
            racer.wait(timeout=60)
            racer.stdout.close()
    args = options.parse_train(["--config", "paper"])
    params = {name: getattr(args, name) for name in tune.SPACE}
    studies = [optuna.load_study(study_name=f"s{n}", storage=url) for n in range(rounds)]
    assert [[(t.state, t.system_attrs.get("fixed_params")) for t in study.get_trials()]
            for study in studies] == [[(optuna.trial.TrialState.WAITING, params)]] * rounds
    for study, answers in zip(studies, said):
        assert sorted(queued for queued, _ in answers) == ["False"] * (workers - 1) + ["True"]
        winner = next(pid for queued, pid in answers if queued == "True")
        assert study.user_attrs["enqueued:paper"].endswith(f":{winner}")  # HOST:PID


def test_the_summary_of_a_missing_study_makes_no_database(tmp_path):
    out = tmp_path / "none"
    result = subprocess.run(command("tune", "--study", "s", "--summary", "--out", out),
                            capture_output=True, text=True, timeout=120)
    one_line_error(result, "--study s", "no study database", "study.db")
    assert not out.exists()


def test_midi_data_without_validation_data_is_refused_before_any_trial(tmp_path):
    songs = tmp_path / "songs"
    songs.mkdir()
    (songs / "a.mid").write_bytes(b"")  # never read: the check comes first
    result = subprocess.run(command("tune", "--study", "s", "--out", tmp_path / "runs",
                                    "--data", songs, *TINY), capture_output=True, text=True,
                            timeout=120)
    one_line_error(result, "need validation data", "--valid")
    assert not (tmp_path / "runs" / "study.db").exists()


@pytest.mark.parametrize("test_folder", [True, False])
def test_the_summary_says_how_to_evaluate_a_midi_study(tmp_path, capsys, test_folder):
    data = tmp_path / "songs"
    (data / "train").mkdir(parents=True)
    if test_folder:
        (data / "test").mkdir()
    study = optuna.create_study(direction="maximize")
    study.add_trial(optuna.trial.create_trial(value=-3.0, user_attrs=dict(
        folder=str(tmp_path / "trial-0000"), host="here", command="rnnrbm.py train --lr 0.1")))
    tune.summary(study, tmp_path / "runs", str(data / "train"))
    lines = capsys.readouterr().out.splitlines()
    assert lines[-3] == "trained with: rnnrbm.py train --lr 0.1"
    evaluate = f"evaluate {tmp_path / 'trial-0000' / 'best.npz'} --data "
    if test_folder:
        assert lines[-2] == "evaluate it on test with:"
        assert lines[-1].endswith(evaluate + str(data / "test"))
    else:
        assert lines[-2] == "evaluate it on MIDI files held out from training with:"
        assert lines[-1].endswith(evaluate + "TEST_FILES")


def test_an_rnn_nade_search_varies_only_what_it_has_on_its_exact_criterion(tiny_pickle,
                                                                          tmp_path):
    """tune --config rnn-nade: no CD-k, no RBM pretraining, no momentum with
    Adam; the criterion is the configuration's exact one (every epoch, every
    validation frame), and two trials run end to end."""
    words = tune.trial_words("rnn-nade", [])
    args = options.parse_train(words)
    assert set(tune.searched(args)) == {"lr", "lr_rnn", "n_hidden", "n_hidden_recurrent",
                                        "clip_norm", "pretrain_rnn_epochs"}
    assert (args.select_every, args.select_frames) == (1, configs.CONFIGS["rnn-nade"][
        "select_frames"])
    assert tune.searched(args)["lr"] == tune.ADAM_RATES != tune.SPACE["lr"]
    sgd = options.parse_train(tune.trial_words("rnn-nade", ["--optimizer", "sgd"]))
    assert "momentum" in tune.searched(sgd) and tune.searched(sgd)["lr"] == tune.SPACE["lr"]
    tiny = ["--pitch-range", "60", "72", "--epochs", "2", "--batch-size", "12",
            "--n-hidden", "8", "--n-hidden-recurrent", "6", "--pretrain-rnn-epochs", "1",
            "--lr", "0.01", "--lr-rnn", "0.01", "--clip-norm", "5"]
    result = subprocess.run(command("tune", "--config", "rnn-nade", "--study", "n", "--trials",
                                    2, "--out", tmp_path, "--data", tiny_pickle, *tiny),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert len(re.findall(r"^trial \d+ finished", result.stdout, re.M)) == 2
    assert "best: trial" in result.stdout
    other = subprocess.run(command("tune", "--config", "nade", "--study", "m", "--out", tmp_path,
                                   "--data", tiny_pickle), capture_output=True, text=True,
                           timeout=120)
    one_line_error(other, "--model nade: tune searches the RNN-RBM and the RNN-NADE")
