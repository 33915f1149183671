"""Hyperparameter search with Optuna: `python rnnrbm.py tune --study NAME`.

An Optuna study over the paper's recipe (`suggest`: the learning rates of the
RBM and RNN parts, hidden sizes, CD-k, momentum, gradient clipping, the
pretraining epochs), maximising the criterion model selection computes
(selection.rnnrbm_criterion: a fixed-seed AIS log-likelihood per frame on
validation frames, every --select-every epochs; tune anneals longer than
train does by default, CRITERION). Each trial (`objective`)
is a normal `train` run, `--config paper` plus the options the user gave plus
the trial's values, in FOLDER/STUDY/trial-NNNN with its own checkpoints; each
criterion value is reported to Optuna, whose median pruner stops a trial
doing worse than the completed trials did at the same epoch.

Workers: any number of processes, on one machine or many, run the same
command against one database (`--storage`, SQLite beside the runs by
default) and share the study by name. Optuna gives each trial its own number
(and each queued trial to one worker only: for SQLite we make every
transaction BEGIN IMMEDIATE, see `open_storage`). A worker starts a trial
only while finished + running trials are fewer than --trials, so the study
ends with exactly --trials finished trials unless two workers decide to start
one at the same instant (then at most workers - 1 more); it then waits for
the trials other workers are running, so that every worker prints the same
final summary.

Interruptions: a worker sends a heartbeat every --grace / 6 seconds while it
runs a trial; a trial silent for --grace seconds (its worker killed, its
machine gone) is marked FAILED by the next worker that looks, and queued
again with the same parameters (optuna's RetryHeartbeatStaleTrialCallback);
Ctrl+C or SIGTERM queues it again at once. The retried trial, a new number,
starts from a copy of the interrupted trial's folder and resumes its
checkpoint (when the folder is on this machine or a shared file system).
So an interrupted worker loses at most its current trial's progress since
its last checkpoint, and restarting it continues the study.

Pretraining is shared: it is deterministic given its settings, so a new
trial whose RBM (or RNN) pretraining would be the same as an earlier trial's
(`pretraining_keys`, recorded in each trial's user attributes) starts with a
copy of that trial's finished pretraining files (`reuse_pretraining`), which
pretrain.load_or_build takes as they are. The RBM and the RNN may come from
different trials.

Importing this module is cheap: optuna is imported inside the functions.
"""

import collections
import contextlib
import json
import os
import random
import re
import shlex
import shutil
import socket
import sys
import time
import warnings

from polyphonic import console
from polyphonic.console import UserError, display, status
from polyphonic.paths import RUNS
from polyphonic.training import checkpoints, options, workflow

TRIAL_FOLDER = "trial-{:04d}"
POLL_SECONDS = 5  # how often a worker with nothing to run looks at the study again
# Train options tune does not pass on: it sets each trial's folder, resumes it
# itself, and trains on the train split.
RESERVED = ("--out", "--resume", "--overwrite", "--split")
# The files of each pretraining (pretrain.py), in the order they are copied and
# put in place: the checkpoint, which makes load_or_build take the rest, last;
# the RNN's validation table before its best model, which is written first.
# Model selection's criterion in a search, unless the user gives these: a
# longer anneal than train's default (5 chains x 100 temperatures), because
# trials are compared with one another, and a short anneal flatters sharp
# models most: on 619 validation frames of JSB Chorales a model trained at a
# high rate scored -3.49 with 5 x 100, -5.57 with 20 x 1,000 and -5.72 with
# 100 x 10,000 (results/table1/jsb-search-1, criterion-anneals.txt); about 12 s
# per evaluation with 150 hidden units.
CRITERION = {"select_every": 10, "select_frames": 500, "select_chains": 20,
             "select_temperatures": 1000}
PRETRAINING_FILES = {"rbm": ("rbm-log.tsv", "rbm.npz"),
                     "rnn": ("rnn-log.tsv", "rnn-valid.tsv", "rnn-best.npz", "rnn.npz")}


# The searched settings: (suggest_ method, low, high, its options).
SPACE = {
    "lr": ("float", 1e-4, 0.1, {"log": True}),
    "lr_rnn": ("float", 1e-4, 0.1, {"log": True}),
    "n_hidden": ("int", 50, 400, {"step": 25}),
    "n_hidden_recurrent": ("int", 50, 300, {"step": 25}),
    "k": ("int", 1, 25, {}),
    "momentum": ("float", 0.0, 0.95, {}),
    "clip_norm": ("float", 0.5, 50.0, {"log": True}),
    "pretrain_rbm_epochs": ("int", 0, 300, {"step": 25}),
    "pretrain_rbm_lr": ("float", 1e-3, 0.3, {"log": True}),
    "pretrain_rnn_epochs": ("int", 0, 150, {"step": 25}),
}


SEARCHABLE = ("rnnrbm", "rnn-nade")  # the models whose options SPACE covers


# Adam's learning rates: its step is about the rate itself whatever the
# gradient's size, and on JSB Chorales an RNN trained by Adam scored -8.41,
# -8.71 and -9.59 per validation frame at 0.001, 0.003 and 0.01 (configs.py).
ADAM_RATES = ("float", 1e-4, 1e-2, {"log": True})


def searched(args):
    """The part of SPACE a search varies for the parsed train arguments
    `args` ({option: range}): all of it for the RNN-RBM; for the RNN-NADE
    (--config rnn-nade) the options it has (no CD-k, no RBM pretraining),
    momentum only with SGD, and with Adam the rates of ADAM_RATES."""
    if args.model == "rnnrbm":
        return dict(SPACE)
    space = {name: bounds for name, bounds in SPACE.items()
             if name not in ("k", "pretrain_rbm_epochs", "pretrain_rbm_lr")
             and (name != "momentum" or args.optimizer == "sgd")}
    if args.optimizer == "adam":
        space.update(lr=ADAM_RATES, lr_rnn=ADAM_RATES)
    return space


def suggest(trial, fixed=(), space=SPACE):
    """The trial's values of the train options searched over `space` (as
    SPACE), a dict keyed as in configs.py; options named in `fixed` (given by
    the user) are not searched.

    Ranges are around configs.CONFIGS["paper"] (lr and lr_rnn 0.001, 150 and
    100 hidden units, CD-15, momentum 0.9, norm clipped at 5, 20 epochs of RBM
    pretraining at 0.01 and 100 of RNN pretraining), wide enough to find better
    values, learning rates and the clipping norm on a log scale. The RBM
    pretraining's rate reaches 0.3 and its epochs 300: a plain RBM on JSB
    Chorales' frames, CD-1, 300 epochs, scores -9.41 per test frame at 0.01
    and -7.61 at 0.2 (results/paper-nottingham/plain-rbm).
    """
    return {name: getattr(trial, "suggest_" + kind)(name, low, high, **options)
            for name, (kind, low, high, options) in space.items() if name not in fixed}


def enqueue_config(study, name, words, fixed, storage):
    """Queue, once per study, a trial with the named configuration's values of
    the searched settings (the train options `words` applied, `fixed` not
    searched): a search then starts from a known good point. True if this
    call queued it.

    Optuna's skip_if_exists is not enough: it reads the trials and inserts in
    separate transactions, so workers starting together could each queue the
    trial. The one worker that claims the study attribute enqueued:NAME in
    `storage` (the RDBStorage; `claim`) queues it.
    """
    args = options.parse_train(["--config", name, *words])
    params = {option: getattr(args, option) for option in searched(args) if option not in fixed}
    if "lr_rnn" in params and params["lr_rnn"] is None:  # unset: the RNN part trains at lr
        params["lr_rnn"] = args.lr
    with claim(storage, study.study_name, f"enqueued:{name}") as claimed:
        if claimed:  # skip_if_exists: a study whose trial was queued before claims existed
            study.enqueue_trial(params, skip_if_exists=True)
    return claimed


@contextlib.contextmanager
def claim(storage, study_name, key):
    """A context giving True if this call inserted the user attribute `key`
    (its value: this worker, "HOST:PID") of the study in the RDBStorage
    `storage`, False if it was there: the table's unique (study_id, key) lets
    one insert only, even by workers starting at the same instant. A claim
    whose block raises is deleted again, so that a later worker may claim it."""
    from sqlalchemy import column, delete, insert, table
    from sqlalchemy.exc import IntegrityError

    attributes = table("study_user_attributes", column("study_id"), column("key"),
                       column("value_json"))  # Optuna's table, the same since 2.6 (models.py)
    study_id = storage.get_study_id_from_name(study_name)
    try:
        with storage.engine.begin() as connection:
            connection.execute(insert(attributes).values(
                study_id=study_id, key=key,
                value_json=json.dumps(f"{socket.gethostname()}:{os.getpid()}")))
        claimed = True
    except IntegrityError:
        claimed = False
    try:
        yield claimed
    except BaseException:
        if claimed:
            with contextlib.suppress(Exception), storage.engine.begin() as connection:
                connection.execute(delete(attributes).where(attributes.c.study_id == study_id,
                                                            attributes.c.key == key))
        raise


def make_pruner(epochs, select_every):
    """Optuna's MedianPruner: a trial stops when its best criterion so far is
    below the median of the completed trials' values at the same epoch.

    The median needs no model of the learning curves and no tuning of its own
    (it is Optuna's default); it judges a trial only against values reached at
    the same point, and one noisy trial cannot move it much. n_startup_trials=5:
    no pruning before five trials have completed, a median of fewer says little. n_warmup_steps:
    a quarter of the epochs (at least one selection), because a small learning
    rate starts slowly and may still end best.
    """
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=5,
                                       n_warmup_steps=max(select_every, epochs // 4))


def reporter(trial, values):
    """The on_select callback of workflow.train for `trial`: report each criterion
    value at its epoch (appending it to `values`) and stop the trial with
    optuna.TrialPruned when the pruner says so."""
    import optuna

    def on_select(epoch, value):
        values.append(value)
        trial.report(value, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned(f"validation {value:.4f} at epoch {epoch}")
    return on_select


def frozen(trial):
    """The FrozenTrial (stored state) of a running optuna Trial."""
    return next(t for t in trial.study.get_trials(deepcopy=False) if t.number == trial.number)


def requeue(trial):
    """Queue `trial` again with its parameters, as a heartbeat-stale one is."""
    import optuna

    optuna.storages.RetryHeartbeatStaleTrialCallback()(trial.study, frozen(trial))


def pretraining_keys(args):
    """{"rbm": KEY, "rnn": KEY} for a train run of the parsed arguments `args`:
    every setting its RBM or RNN pretraining (workflow.new_model, pretrain.py)
    depends on, as a JSON string; None for a pretraining the run does not do.
    Pretraining is deterministic, so runs with the same key pretrain alike."""
    data = workflow.training_data(args.data)
    common = dict(data=os.path.abspath(data), split=args.split,
                  pitch_range=list(args.pitch_range), dt=args.dt,
                  frames_per_beat=args.frames_per_beat, encoding=args.encoding,
                  transpose=args.transpose, frames_per_step=args.frames_per_step,
                  batch_size=args.batch_size, seed=args.seed, dtype=args.dtype,
                  backend=args.backend)
    rbm = dict(common, n_hidden=args.n_hidden, epochs=args.pretrain_rbm_epochs,
               lr=args.pretrain_rbm_lr, k=args.pretrain_rbm_k)
    rnn = dict(common, valid=os.path.abspath(workflow.named_dataset(args.valid)) if args.valid
               else None, n_hidden_recurrent=args.n_hidden_recurrent,
               epochs=args.pretrain_rnn_epochs, lr=args.pretrain_rnn_lr,
               optimizer=args.pretrain_rnn_optimizer, clip_norm=args.pretrain_rnn_clip_norm)
    if args.recurrence != "tanh":  # so that the keys of earlier studies stay as they were
        rnn["recurrence"] = args.recurrence
    return {kind: json.dumps(settings, sort_keys=True) if settings["epochs"] else None
            for kind, settings in (("rbm", rbm), ("rnn", rnn))}


def reuse_pretraining(trial, keys, out):
    """Copy into `out` the finished pretraining of another trial of the study
    with the same key (pretraining_keys; the lowest number first), for the RBM
    and for the RNN separately; return {"rbm" or "rnn": that trial's number}."""
    others = sorted((t for t in trial.study.get_trials(deepcopy=False)
                     if t.number != trial.number), key=lambda t: t.number)
    reused = {}
    for kind, key in keys.items():
        if key is None:
            continue
        for other in others:
            folder = other.user_attrs.get("folder")
            if (other.user_attrs.get(f"{kind}_pretraining") == key and folder
                    and os.path.isdir(folder)
                    and copy_pretraining(kind, folder, out, json.loads(key)["epochs"])):
                reused[kind] = other.number
                break
    return reused


def copy_pretraining(kind, source, out, epochs):
    """Copy the files of the "rbm" or "rnn" pretraining (PRETRAINING_FILES)
    from the folder `source` to `out` if it has finished all its `epochs`;
    True if it had. Each file is copied to a temporary name and checked there
    (its checkpoint has all epochs; the RNN's validation table, copied before
    its best model, has the last epoch's row, written after that model), so
    that a pretraining still under way, or files replaced while they are
    copied, are never taken; then they are renamed, the checkpoint last."""
    names = PRETRAINING_FILES[kind]
    os.makedirs(out, exist_ok=True)
    temporaries = {}
    for name in names:
        stem, extension = os.path.splitext(name)  # atomic_output's name: cleaned if left
        temporaries[name] = os.path.join(out, f"{stem}.partial{os.getpid()}{extension}")
    try:
        for name in names:
            shutil.copyfile(os.path.join(source, name), temporaries[name])
        history = checkpoints.read_checkpoint(temporaries[f"{kind}.npz"])["history"]
        if len(history) != epochs:
            return False
        if kind == "rnn":
            with open(temporaries["rnn-valid.tsv"]) as f:
                if str(epochs) not in (line.split("\t")[0] for line in f.read().splitlines()):
                    return False
        for name in names:
            os.replace(temporaries[name], os.path.join(out, name))
        return True
    except (OSError, ValueError):  # a file missing or unreadable: not finished
        return False
    finally:
        for temporary in temporaries.values():
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)


def objective(trial, base_words, fixed, runs_folder):
    """One trial: a train run of `base_words` (train's words: --config and the
    user's options) and the suggested values in runs_folder/trial-NNNN;
    returns its best model-selection criterion value. A retried trial starts
    from a copy of the folder of the trial it retries, resuming its checkpoint;
    a new one, with a copy of any other trial's finished pretraining that is
    the same as its own would be (reuse_pretraining)."""
    import optuna

    params = suggest(trial, fixed, searched(options.parse_train(base_words)))
    out = os.path.join(runs_folder, TRIAL_FOLDER.format(trial.number))
    keys = pretraining_keys(options.parse_train([*base_words,
                                               *options.option_words(params)]))
    history = optuna.storages.RetryHeartbeatStaleTrialCallback.retry_history(frozen(trial))
    settings = dict(params, out=out)
    retried = ""
    if history:
        previous = os.path.join(runs_folder, TRIAL_FOLDER.format(history[-1]))
        retried = f", retrying trial {history[-1]}"
        if os.path.isdir(previous):
            shutil.copytree(previous, out, dirs_exist_ok=True)
        checkpoint = os.path.join(out, "checkpoint.npz")
        if os.path.exists(checkpoint):
            settings["resume"] = checkpoint
            retried += " from its checkpoint"
    elif os.path.exists(out):
        settings["overwrite"] = True  # a folder left by an earlier study of this name
    trial.set_user_attr("folder", os.path.abspath(out))
    trial.set_user_attr("host", socket.gethostname())
    for kind, key in keys.items():
        trial.set_user_attr(f"{kind}_pretraining", key)
    trial.set_user_attr("command", shlex.join([*console.interpreter_and_script(), "train",
                                               *base_words, *options.option_words(settings)]))
    print(f"trial {trial.number} started (worker {socket.gethostname()}:{os.getpid()}"
          f"{retried}): {' '.join(options.option_words(params))}, in {display(out)}", flush=True)
    if not history:
        reused = reuse_pretraining(trial, keys, out)
        if reused:
            print(f"trial {trial.number} reuses " + " and ".join(
                f"the {kind.upper()} pretraining of trial {number}"
                for kind, number in reused.items()), flush=True)
    values = []
    try:
        workflow.train_settings(settings, reporter(trial, values), base_words)
    except optuna.TrialPruned as err:
        print(f"trial {trial.number} pruned: {err}", flush=True)
        raise
    except UserError as err:
        if err.status != console.EXIT_FAILED:
            raise
        print(f"trial {trial.number} pruned: {err}", flush=True)  # training diverged
        raise optuna.TrialPruned(str(err)) from None
    except (console.Interrupted, KeyboardInterrupt):
        requeue(trial)
        print(f"trial {trial.number} is queued again; it resumes from its checkpoint when a "
              "worker runs the tune command again", file=sys.stderr, flush=True)
        raise
    if not values:
        raise UserError(f"trial {trial.number}: training computed no selection criterion")
    print(f"trial {trial.number} finished: {max(values):.4f}", flush=True)
    return max(values)


# ---------------------------------------------------------------- storage and study

def open_storage(url, grace):
    """An optuna RDBStorage for `url` with heartbeats (a trial silent for
    `grace` seconds is failed and queued again), or a UserError naming it.

    SQLite ignores the row locks Optuna relies on to hand a queued trial to
    one worker only; every transaction is made BEGIN IMMEDIATE (SQLAlchemy's
    recipe for serialisable SQLite), which serialises them, and waits up to
    60 s for the lock.
    """
    import optuna

    sqlite = url.startswith("sqlite")
    kwargs = dict(connect_args={"timeout": 60}) if sqlite else {}
    for attempt in range(3):  # workers starting together may race to create the tables
        try:
            storage = optuna.storages.RDBStorage(
                url, engine_kwargs=kwargs, heartbeat_interval=max(1, grace // 6),
                grace_period=grace,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback())
            break
        except ImportError as err:
            raise UserError(f"--storage {shown(url)}: no driver for this database "
                            f"({err.__cause__ or err}); for PostgreSQL: pip install "
                            "psycopg2-binary and write postgresql+psycopg2://USER:PASSWORD@"
                            "HOST/DATABASE") from None
        except Exception as err:
            if attempt == 2 or not type(err).__name__.endswith(("OperationalError",
                                                               "IntegrityError",
                                                               "StorageInternalError")):
                raise UserError(f"--storage {shown(url)}: {first_line(err)}") from None
            time.sleep(random.uniform(0.5, 2))
    if sqlite:
        from sqlalchemy import event

        @event.listens_for(storage.engine, "connect")
        def connect(dbapi_connection, record):
            dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN, not sqlite3

        @event.listens_for(storage.engine, "begin")
        def begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        storage.engine.dispose()  # connections made from now on get the hooks
    return storage


def sqlite_file(url):
    """The file of an SQLite database URL (None for another database or in memory)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # not a URL: open_storage names it
        return None
    return parsed.database if parsed.get_backend_name() == "sqlite" and parsed.database \
        and parsed.database != ":memory:" else None


def shown(url):
    """A database URL as printed: its password, if any, as ***."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL: shown as given
        return url


def first_line(err):
    """An exception's message, first line only (database errors run on)."""
    text = str(getattr(err, "orig", None) or err).strip()
    return (text.splitlines() or [type(err).__name__])[0]


def open_study(storage, name, url, base_words, sampler=None, pruner=None):
    """The study `name` in `storage`, created if new; a UserError if it
    exists and minimises, or was started with other train options."""
    import optuna

    study = optuna.create_study(storage=storage, study_name=name, direction="maximize",
                                load_if_exists=True, sampler=sampler, pruner=pruner)
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise UserError(f"--study {name}: the study in {shown(url)} minimises its "
                        "objective; tune maximises the validation criterion: choose "
                        "another --study")
    options = study.user_attrs.get("train_options")
    if options is None:
        study.set_user_attr("train_options", base_words)
    elif options != base_words:
        raise UserError(f"--study {name}: its trials run with the train options "
                        f"{shlex.join(options)!r}, this worker's are "
                        f"{shlex.join(base_words)!r}: give the same ones, or another --study")
    return study


# ---------------------------------------------------------------- the worker

def work(study, trials, objective_function):
    """Run trials until `trials` have finished (complete or pruned) in the
    whole study; start one only while finished + running ones are fewer,
    otherwise wait for the others' (failing heartbeat-stale ones, which
    queues them again for this worker or another)."""
    import optuna
    from optuna.trial import TrialState

    waiting = False
    while True:
        optuna.storages.fail_stale_trials(study)
        counts = collections.Counter(t.state for t in study.get_trials(deepcopy=False))
        finished = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]
        if finished >= trials:
            return
        if finished + counts[TrialState.RUNNING] < trials:
            study.optimize(objective_function, n_trials=1)  # a queued trial first, if any
            waiting = False
        else:
            if not waiting:
                print(f"waiting for {counts[TrialState.RUNNING]} trial(s) under way on other "
                      "workers", flush=True)
                waiting = True
            time.sleep(POLL_SECONDS)


def summary(study, runs_folder, data):
    """Print the study's trials as a table (and write it to
    runs_folder/trials.tsv), then the best trial, the train command that
    made it and how to evaluate it."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    names = sorted({name for t in trials for name in t.params})
    rows = [["trial", "state", "value", "seconds", *names, "host", "folder"]]
    for t in trials:
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete and t.datetime_start else None
        rows.append([t.number, t.state.name, "" if t.value is None else f"{t.value:.6f}",
                     "" if seconds is None else f"{seconds:.1f}",
                     *(t.params.get(name, "") for name in names),
                     t.user_attrs.get("host", ""), t.user_attrs.get("folder", "")])
    text = "".join("\t".join(map(str, row)) + "\n" for row in rows)
    print(text, end="")
    os.makedirs(runs_folder, exist_ok=True)
    path = os.path.join(runs_folder, "trials.tsv")
    with checkpoints.atomic_output(path) as temporary, open(temporary, "w") as f:
        f.write(text)
    counts = collections.Counter(t.state for t in trials)
    print(f"study {study.study_name}: {len(trials)} trials ("
          + ", ".join(f"{n} {s.name.lower()}" for s, n in sorted(counts.items(),
                                                                  key=lambda c: c[0].value))
          + f"); table in {display(path)}")
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if not complete:
        print("best: none yet (no trial has completed)")
        return
    best = max(complete, key=lambda t: (t.value, -t.number))
    checkpoint = os.path.join(best.user_attrs.get("folder", ""), "best.npz")
    print(f"best: trial {best.number}, validation {best.value:.4f}, {display(checkpoint)} "
          f"(on {best.user_attrs.get('host', '?')})")
    if "command" in best.user_attrs:  # a plain train command that makes the same model again
        print(f"trained with: {best.user_attrs['command']}")
    evaluate = [*console.interpreter_and_script(), "evaluate", display(checkpoint)]
    if workflow.is_pickle(workflow.named_dataset(data)):
        print(f"evaluate it on test with:\n  {shlex.join([*evaluate, '--pickle', data])}")
        return
    test = workflow.beside_train(data, "test")
    if test:
        print(f"evaluate it on test with:\n  {shlex.join([*evaluate, '--data', display(test)])}")
    else:
        print(f"evaluate it on MIDI files held out from training with:\n  "
              f"{shlex.join(evaluate)} --data TEST_FILES")


def given_options(words):
    """The dests of the options in train's `words` (no abbreviations are
    allowed, so each --name is one option)."""
    return {word[2:].split("=")[0].replace("-", "_") for word in words if word.startswith("--")}


def trial_words(config, words):
    """Train's words for every trial: --config `config`, tune's CRITERION
    settings that the user's `words` do not give (for an RNN-RBM: a model of
    exact likelihood keeps its configuration's exact criterion), then `words`."""
    given = given_options(words)
    exact = options.parse_train(["--config", config, *words]).model in workflow.EXACT
    return ["--config", config, *options.option_words(
        {name: value for name, value in CRITERION.items()
         if name not in given and not exact}), *words]


def run(args, argv):
    """The tune command (see commands/cli.py's parser and this module's docstring)."""
    try:
        import optuna
    except ImportError:
        raise UserError("tune needs Optuna: pip install 'optuna>=4.9' (requirements.txt "
                        "lists it), e.g. .venv/bin/pip install -r requirements.txt") from None
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our own lines say what happens
    if not re.fullmatch(r"[A-Za-z0-9._-]+", args.study):
        raise UserError(f"--study {args.study}: use letters, digits, '.', '_' and '-' only "
                        "(it names a folder)")
    for word in args.train_words:
        if word.split("=")[0] in RESERVED:
            raise UserError(f"{word}: tune does not pass this on (it sets each trial's "
                            "folder and resumes it itself, on the train split; its own "
                            "--out is the study's folder)")
    given = given_options(args.train_words)
    base_words = trial_words(args.config, args.train_words)
    # The user's train options, checked now rather than in every trial: parsed
    # as train parses them (argparse names a wrong one and exits with status 2).
    trial_args = options.parse_train(base_words, prog=f"{console.PROG} tune")
    if trial_args.model not in SEARCHABLE:
        raise UserError(f"--model {trial_args.model}: tune searches the RNN-RBM and the "
                        "RNN-NADE (--config rnn-nade)")
    if not trial_args.select_every:
        raise UserError("--select-every 0: tune maximises model selection's criterion; "
                        f"give --select-every N (tune's default: {CRITERION['select_every']})")
    if "pretrain_rnn_epochs" not in given and trial_args.model == "rnnrbm" and (
            not trial_args.learn_u0 or trial_args.frames_per_step > 1
            or trial_args.encoding != "piano-roll"):
        raise UserError(f"--config {args.config}: tune searches --pretrain-rnn-epochs, which "
                        "needs --learn-u0 and one piano-roll frame per step: give those, or "
                        "--pretrain-rnn-epochs 0")
    path = workflow.training_data(trial_args.data)
    data = trial_args.data or path  # as the evaluate command of the summary names it
    name = "Nottingham" if not trial_args.data else workflow.dataset_name(path) \
        if workflow.is_pickle(path) else os.path.basename(os.path.normpath(path))
    name = re.sub(r"\s+", "-", name)
    if not args.summary:  # the data is there, before anything is made for it
        if workflow.is_pickle(path):
            console.existing_file("--data", path)
        else:
            workflow.midi_paths(path, "")
        workflow.validation_data(trial_args)  # rather than in every trial
    out = console.output_folder("--out", args.out or os.path.join(RUNS, f"tune-{name}"),
                                create=not args.summary)
    url = args.storage or "sqlite:///" + os.path.abspath(os.path.join(out, "study.db"))
    database = sqlite_file(url)
    if args.summary and database is not None and not os.path.isfile(database):
        raise UserError(f"--study {args.study}: no study database {display(database)} (--summary "
                        "reads a study, it makes none; --out or --storage names where one is)")
    runs_folder = os.path.join(out, args.study)
    storage = open_storage(url, args.grace)
    if args.summary:
        try:
            study = optuna.load_study(study_name=args.study, storage=storage)
        except KeyError:
            names = optuna.get_all_study_names(storage)
            raise UserError(f"--study {args.study}: no such study in {shown(url)} (it has: "
                            f"{', '.join(names) or 'none'})") from None
        stored = study.user_attrs.get("train_options")
        if stored:  # the data the trials ran on, for the evaluate command
            data = options.parse_train([*stored]).data or data
    else:
        sampler = optuna.samplers.TPESampler(constant_liar=True)  # a seed of its own per worker
        study = open_study(storage, args.study, url, base_words, sampler,
                           make_pruner(trial_args.epochs, trial_args.select_every))
        for name in args.enqueue:
            enqueue_config(study, name, args.train_words, given, storage)
        status(f"worker {socket.gethostname()}:{os.getpid()} on study {args.study} in "
               f"{shown(url)}, until {args.trials} trials have finished; trials in "
               f"{display(runs_folder)}")
        try:
            work(study, args.trials,
                 lambda trial: objective(trial, base_words, given, runs_folder))
        except (console.Interrupted, KeyboardInterrupt):
            status(f"Worker stopped by {console.signal_name()}.")
            raise console.Interrupted from None
    summary(study, runs_folder, data)
