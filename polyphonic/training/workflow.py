"""A training run, as `python rnnrbm.py train` does it, callable from Python.

`train(args, argv)` reads the data the settings name, builds (and if asked
pretrains) the model or resumes it, trains it with checkpoints, model
selection and a log, and returns it; `train_settings` does the same from a
dict of settings. The command line and tune call these; bad input is
a console.UserError naming the option or file, an interrupt
console.Interrupted after the checkpoint is written.
"""

import argparse
import contextlib
import glob
import os
import shlex
import time

from polyphonic.console import (EXIT_FAILED, Interrupted, Progress, UserError, checkpoint_state,
                                display, existing_file, interpreter_and_script, output_folder,
                                signal_name, status)
from polyphonic.evaluation import compare
from polyphonic.music.datasets import NAMES
from polyphonic.paths import DATA
from polyphonic.training import checkpoints, options
from polyphonic.training.options import LONG_SONG_FRAMES


def named_dataset(path):
    """`path` itself if it exists; else, if it names one of the paper's data
    sets (NAMES, with or without .pickle), that data set's pickle in data/."""
    name = path[:-len(".pickle")] if path.endswith(".pickle") else path
    if not os.path.exists(path) and name in NAMES:
        return os.path.join(DATA, f"{name}.pickle")
    return path


def training_data(data):
    """train's --data as a path: named_dataset(data), or by default the
    Nottingham MIDI files' training split in data/."""
    return named_dataset(data) if data else os.path.join(DATA, "Nottingham", "train")


def is_pickle(path):
    return path.endswith((".pickle", ".pkl"))


def unknown_data(option, path, hint=""):
    """The UserError for a --data or --pickle that names nothing: the four
    data sets' names, if it looks like a name (no folder, no extension)."""
    names = ("; the paper's data sets are " + ", ".join(NAMES)
             if os.sep not in path and not os.path.splitext(path)[1] else "")
    return UserError(f"{option} {path}: no such file or folder{names}{hint}")


def dataset_name(path):
    """A pickle data set's name: its file name without the extension."""
    return os.path.splitext(os.path.basename(path))[0]


def grid(path, dt, frames_per_beat=None, transpose=False):
    """The frame grid of the data at `path` read with these settings, in words:
    a pickle data set has its own, MIDI files are read on the one asked for."""
    if is_pickle(path):
        return f"the frames of {dataset_name(path)} (pickle)"
    return (f"MIDI files at {frames_per_beat} frames per beat" if frames_per_beat
            else f"MIDI files at {dt:g} s per frame") + (", transposed to C" if transpose else "")


def data_source(path, split, dt, frames_per_beat=None, transpose=False):
    """What a model is trained on, as its checkpoints keep it (Trainable.data):
    the data set's name or the MIDI files' folder as given, and their grid."""
    pickle = is_pickle(path)
    return dict(name=dataset_name(path) if pickle else path, split=split if pickle else None,
                grid=grid(path, dt, frames_per_beat, transpose), transpose=transpose)


def model_name(model):
    """The model's kind in words, for titles."""
    if model.kind == "snippet":
        return "RBM" if model.config["frames"] == 1 else "snippet RBM"
    if model.kind in EXACT:
        return {"rnn": "RNN", "nade": "NADE", "rnn-nade": "RNN-NADE"}[model.kind]
    return "multi-frame RNN-RBM" if model.config.get("frames_per_step", 1) > 1 else "RNN-RBM"


def midi_paths(data, hint, option="--data"):
    """The MIDI files `data` (given as `option`) names: a folder's, a glob's
    matches, or one file."""
    from midi.utils import midi_files

    if os.path.isdir(data):
        files = midi_files(data)
    elif any(c in data for c in "*?["):
        files = sorted(glob.glob(data))
    elif os.path.isfile(data):
        files = [data]
    else:
        raise unknown_data(option, data, hint)
    if not files:
        raise UserError(f"{option} {data}: no MIDI files (.mid, .midi){hint}")
    return files


def read_training_data(args, r, dt, frames_per_beat=None, encoding="piano-roll"):
    """The training piano rolls (one uint8 array per song), MIDI files read on
    the grid and in the encoding given; UserError on bad data."""
    from polyphonic.music.datasets import load_pickle_rolls

    data = training_data(args.data)
    # A hint for the data download.sh fetches, never for the user's own paths.
    hint = "" if data == args.data else " (run ./download.sh --pickle)" \
        if data.endswith(".pickle") else " (run ./download.sh to fetch the Nottingham data)"
    if is_pickle(data):
        existing_file("--data", data, hint)
        if frames_per_beat is not None or encoding != "piano-roll" or args.transpose:
            raise UserError(f"--data {data}: a pickle dataset has its own grid, is a plain "
                            "piano roll and is transposed already: --frames-per-beat, "
                            "--encoding and --transpose are for MIDI files")
        try:
            rolls = load_pickle_rolls(data, args.split, r)
        except ValueError as err:
            raise UserError(str(err)) from None
    else:
        rolls = read_midi_data("--data", data, r, dt, frames_per_beat, encoding, args.transpose,
                               args.strict, hint)
    longest = max(len(roll) for roll in rolls)
    if longest > LONG_SONG_FRAMES and not args.allow_long_songs:
        raise UserError(
            f"--dt {dt}: the longest song has {longest:,} frames ({sum(map(len, rolls)):,} in "
            f"all); an epoch would take very long. Use a larger --dt, or --allow-long-songs "
            "to insist")
    return rolls


def read_midi_data(option, data, r, dt, frames_per_beat=None, encoding="piano-roll",
                   transpose=False, strict=False, hint=""):
    """The piano rolls of the MIDI files `data` names (midi_paths), read on
    the grid and in the encoding given, with a progress bar on a terminal; a
    file that cannot be read is skipped with a warning (or, if `strict`, a
    UserError), and so is everything if none can."""
    from midi.utils import MidiReadError, midiread

    files = midi_paths(data, hint, option)
    status(f"reading {len(files)} MIDI files from {display(data)}")
    rolls, progress = [], Progress("file")
    for done, f in enumerate(files, 1):
        try:
            rolls.append(midiread(f, r, dt, frames_per_beat=frames_per_beat,
                                  encoding=encoding, transpose=transpose).piano_roll)
        except MidiReadError as err:
            if strict:
                raise UserError(f"{err} (--strict)") from None
            status(f"warning: {err}; skipped")
        progress(done, len(files))
    if not rolls:
        raise UserError(f"{option} {data}: none of the {len(files)} MIDI files could be read")
    return rolls


def resume_command(argv, checkpoint):
    """The command that continues this run from `checkpoint`: the same
    arguments, any --resume replaced, quoted for a shell."""
    kept, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word == "--resume":
            skip = True
        elif not word.startswith("--resume="):
            kept.append(word)
    return shlex.join([*interpreter_and_script(), *kept, "--resume", checkpoint])


def compile_message(backend):
    status(f"compiling the model ({backend} backend; about 30 s the first time, "
           "seconds once PyTensor has cached it)")


def beside_train(data, split):
    """The folder `split` (valid, test) beside `data` if `data` is a folder named
    train and it exists, as in the Nottingham MIDI files' layout; else None."""
    beside = os.path.join(os.path.dirname(os.path.normpath(data)), split)
    if os.path.basename(os.path.normpath(data)) == "train" and os.path.isdir(beside):
        return beside
    return None


def validation_data(args):
    """Where the validation data of a run is, or None if it needs none (no model
    selection, no RNN pretraining): --valid; else the valid split of a pickle
    --data, or a valid folder beside a train folder of MIDI files. UserError if
    it needs some and none can be found."""
    if not (args.select_every or args.pretrain_rnn_epochs):
        return None
    data = training_data(args.data)
    if args.valid:
        return named_dataset(args.valid)
    if is_pickle(data):
        return data
    beside = beside_train(data, "valid")
    if beside:
        return beside
    raise UserError("--select-every and --pretrain-rnn-epochs need validation data: "
                    "give --valid")


def read_validation_data(args, r, dt, grid):
    """Validation piano rolls for model selection and RNN pretraining
    (validation_data), or None if neither is asked for."""
    from polyphonic.music.datasets import load_pickle_rolls

    valid = validation_data(args)
    if valid is None:
        return None
    if is_pickle(valid):  # its valid split, whether --valid or --data
        existing_file("--valid" if args.valid else "--data", valid)
        try:
            return load_pickle_rolls(valid, "valid", r)
        except ValueError as err:
            raise UserError(str(err)) from None
    return read_training_data(argparse.Namespace(**dict(vars(args), data=valid)), r, dt, **grid)


def selection_frames(rolls, frames, seed):
    """Whole sequences of `rolls`, in a random order fixed by `seed`, until
    they hold at least `frames` frames (all of them if they hold fewer)."""
    import numpy as np

    chosen, total = [], 0
    for i in np.random.default_rng(seed).permutation(len(rolls)):
        if total >= frames:
            break
        chosen.append(rolls[i])
        total += len(rolls[i])
    return chosen


def pretraining_interrupted(out, argv):
    """Say how to continue an interrupted pretraining (its checkpoints are in
    `out`): the same command, which continues a pretraining of the same
    settings (pretrain.load_or_build)."""
    print(f"Interrupted by {signal_name()} during pretraining; its checkpoints are in "
          f"{display(out)}. Continue with:\n  {shlex.join([*interpreter_and_script(), *argv])}",
          flush=True)
    raise Interrupted


def new_model(args, argv, r, dt, dataset, valid, out):
    """An RNN-RBM built from the arguments and, if asked, pretrained (see training/pretrain.py)."""
    import rnnrbm
    from polyphonic.training import pretrain

    model = rnnrbm.RnnRbm(args.n_hidden, args.n_hidden_recurrent, args.lr, r, dt, args.seed,
                          args.backend, args.dtype, k=args.k, lr_rnn=args.lr_rnn,
                          momentum=args.momentum, clip_norm=args.clip_norm,
                          clip_value=args.clip_value, learn_u0=args.learn_u0,
                          lr_decay=args.lr_decay, frames_per_step=args.frames_per_step,
                          encoding=args.encoding, frames_per_beat=args.frames_per_beat,
                          lr_position=args.lr_position, recurrence=args.recurrence)
    rbm = None
    if args.pretrain_rbm_epochs:  # an RBM over the model's visible vectors, its steps
        rbm = pretrain.pretrain_rbm([model.to_steps(roll) for roll in dataset], out,
                                    args.n_hidden, args.pretrain_rbm_epochs,
                                    args.pretrain_rbm_lr, args.pretrain_rbm_k, args.batch_size,
                                    args.seed, args.dtype, args.backend, args.overwrite,
                                    Progress("batch"))
        if rbm.interrupted:
            pretraining_interrupted(out, argv)
    pretrain.initialise(model, rbm, pretrained_rnn(args, argv, r, dt, dataset, valid, out))
    return model


def pretrained_rnn(args, argv, r, dt, dataset, valid, out):
    """The RNN pretraining's best RNN (training/pretrain.py), if asked for, else None."""
    from polyphonic.training import pretrain

    if not args.pretrain_rnn_epochs:
        return None
    trained, rnn = pretrain.pretrain_rnn(
        dataset, valid, out, args.n_hidden_recurrent, args.pretrain_rnn_epochs,
        args.pretrain_rnn_lr, args.pretrain_rnn_optimizer, 0.0, args.pretrain_rnn_clip_norm,
        args.batch_size, r, dt, args.seed, args.dtype, args.backend,
        recurrence=args.recurrence, replace=args.overwrite, progress=Progress("chunk"))
    if trained.interrupted:
        pretraining_interrupted(out, argv)
    return rnn


def new_snippet_model(args, argv, r, dt, dataset, valid, out):
    """A snippet RBM built from the arguments of snippet train."""
    from polyphonic.models import snippet

    return snippet.SnippetRbm(args.frames, args.n_hidden, args.lr, args.k, args.momentum, r, dt,
                              args.frames_per_beat, args.encoding, args.seed, args.dtype,
                              args.backend)


def new_frame_rbm(args, argv, r, dt, dataset, valid, out):
    """train --model rbm: an RBM over single frames, the snippet RBM with
    windows of one frame (Table 1's RBM row)."""
    from polyphonic.models import snippet

    return snippet.SnippetRbm(1, args.n_hidden, args.lr, args.k, args.momentum, r, dt, None,
                              "piano-roll", args.seed, args.dtype, args.backend)


def new_rnn(args, argv, r, dt, dataset, valid, out):
    """train --model rnn: the RNN alone (Table 1's RNN rows)."""
    from polyphonic.models.rnn import Rnn

    return Rnn(args.n_hidden_recurrent, args.lr, args.optimizer, args.momentum, args.clip_norm,
               r, dt, args.seed, args.dtype, backend=args.backend, recurrence=args.recurrence)


def new_nade(args, argv, r, dt, dataset, valid, out):
    """train --model nade: a NADE over single frames (Table 1's NADE row)."""
    from polyphonic.models.nade import Nade

    return Nade(r[1] - r[0], args.n_hidden, args.lr, args.optimizer, args.momentum,
                args.clip_norm, args.lr_decay, r, dt, args.seed, args.dtype,
                backend=args.backend)


def new_rnn_nade(args, argv, r, dt, dataset, valid, out):
    """train --model rnn-nade: the RNN-NADE, its RNN part from the RNN
    pretraining if asked for (training/pretrain.py)."""
    from polyphonic.models.nade import RnnNade
    from polyphonic.training import pretrain

    model = RnnNade(args.n_hidden, args.n_hidden_recurrent, args.lr, args.lr_rnn, args.optimizer,
                    args.momentum, args.clip_norm, args.lr_decay, r, dt, args.seed, args.dtype,
                    backend=args.backend, recurrence=args.recurrence)
    pretrain.initialise(model, rnn=pretrained_rnn(args, argv, r, dt, dataset, valid, out))
    return model


def model_class(kind):
    """The class that loads a checkpoint of model `kind` (train's --model, or snippet)."""
    if kind == "rnnrbm":
        import rnnrbm
        return rnnrbm.RnnRbm
    if kind == "rnn":
        from polyphonic.models.rnn import Rnn
        return Rnn
    if kind in ("nade", "rnn-nade"):
        from polyphonic.models.nade import Nade, RnnNade
        return Nade if kind == "nade" else RnnNade
    from polyphonic.models.snippet import SnippetRbm
    return SnippetRbm


BUILDERS = {"rnnrbm": new_model, "rnn": new_rnn, "rbm": new_frame_rbm, "nade": new_nade,
            "rnn-nade": new_rnn_nade, "snippet": new_snippet_model}
EXACT = ("rnn", "nade", "rnn-nade")  # kinds whose likelihood is exact


def selection_criterion(model, rolls, args):
    """Model selection's criterion (higher is better) of the model being
    trained, on the validation rolls: an RNN-RBM's cheap fixed-seed AIS
    (selection.rnnrbm_criterion), the exact log-likelihood of an RNN, a NADE
    or an RNN-NADE, an RBM's log-likelihood with one AIS estimate of its
    single partition function."""
    from polyphonic.training import selection

    rolls = selection_frames(rolls, args.select_frames, args.seed)
    if model.kind in EXACT:
        return lambda: selection.rnn_log_likelihood(model, rolls)
    if model.kind == "snippet":
        return selection.rbm_criterion(model, rolls, args.select_chains,
                                       args.select_temperatures)
    return selection.rnnrbm_criterion(model, [model.to_steps(roll) for roll in rolls],
                                      args.select_chains, args.select_temperatures)


def check_model_options(args):
    """UserError for options that do not apply to the --model being trained."""
    model = args.model
    if model == "snippet":
        return
    if model != "rnnrbm" and args.pretrain_rbm_epochs:
        raise UserError(f"--model {model}: the RBM pretraining is for --model rnnrbm")
    if model not in ("rnnrbm", "rnn-nade") and args.pretrain_rnn_epochs:
        raise UserError(f"--model {model}: the RNN pretraining is for --model rnnrbm and "
                        "rnn-nade")
    if model in ("rbm", "nade") and (args.frames_per_step > 1 or args.encoding != "piano-roll"
                           or args.frames_per_beat):
        raise UserError(f"--model {model} models single piano-roll frames: --frames-per-step, "
                        "--encoding and --frames-per-beat are for the RNN-RBM and the snippet "
                        "RBM (snippet train)")
    if model in ("rbm", "nade") and args.recurrence != "tanh":
        raise UserError(f"--recurrence {args.recurrence}: --model {model} has no RNN")
    if model in ("rnn", "rnn-nade") and (args.frames_per_step > 1
                                         or args.encoding != "piano-roll"):
        raise UserError(f"--model {model} models piano-roll frames: --frames-per-step and "
                        "--encoding note-state are for the RNN-RBM")
    if args.optimizer != "sgd" and model not in EXACT:
        raise UserError(f"--optimizer {args.optimizer}: the RNN-RBM and the RBM train by "
                        "SGD (--model rnn, nade and rnn-nade take adam)")
    if args.optimizer == "adam" and args.momentum:
        raise UserError(f"--momentum {args.momentum}: momentum is SGD's; Adam keeps its own")
    unused = [option for option, given, models in (
        ("--lr-decay", args.lr_decay != 1.0, ("rnn", "rbm")),
        ("--clip-value", args.clip_value is not None, ("rnn", "rbm", "nade", "rnn-nade")),
        ("--clip-norm", args.clip_norm is not None, ("rbm",)),
        ("--lr-rnn", args.lr_rnn is not None, ("rnn", "rbm", "nade"))) if given and model in models]
    if unused:
        raise UserError(f"{unused[0]}: --model {model} has no such setting")


def train(args, argv, on_select=None):
    """Train as the arguments say; return the model: args.model names its
    kind (BUILDERS makes a new one, model_class loads a resumed one;
    snippet train's is "snippet"). A UserError on bad input;
    KeyboardInterrupt, after the checkpoint is written, when interrupted.
    With model selection, `on_select(epoch, value)` is told each row of
    valid.tsv (selection.BestCheckpoint's on_row)."""
    from polyphonic.training import selection

    build, loader = BUILDERS[args.model], model_class(args.model)
    output_folder("--out", args.out, create=False)  # before the slow steps
    checkpoint = os.path.join(args.out, "checkpoint.npz")
    if args.resume:
        config = checkpoint_state("--resume", args.resume)["config"]
        kind = config.get("model", "rnnrbm")
        one_frame = kind == "snippet" and config.get("frames") == 1 \
            and config.get("encoding") == "piano-roll"
        if kind != loader.kind or (args.model == "rbm" and not one_frame):
            trains = ("train --model rbm" if one_frame else "snippet train") \
                if kind == "snippet" else f"train --model {kind}"
            raise UserError(f"--resume {args.resume}: a model of kind {kind!r}, not one of "
                            + ("snippet train" if args.model == "snippet" else
                               f"--model {args.model}") + f" (resume it with {trains})")
        r, dt = tuple(config["r"]), config["dt"]  # read the data as the model was trained
        grid = dict(frames_per_beat=config.get("frames_per_beat"),
                    encoding=config.get("encoding", "piano-roll"))
    else:
        if os.path.exists(checkpoint) and not args.overwrite:
            raise UserError(f"--out {args.out} already holds a run: continue it with "
                            f"--resume {checkpoint}, or start over with --overwrite")
        r, dt = tuple(args.pitch_range), args.dt
        if not 0 <= r[0] < r[1] <= 128:
            raise UserError(f"--pitch-range {r[0]} {r[1]} is empty or outside MIDI notes 0..127")
        grid = dict(frames_per_beat=args.frames_per_beat, encoding=args.encoding)
        if args.pretrain_rnn_epochs and (
                args.frames_per_step > 1 or args.encoding != "piano-roll"):
            raise UserError("--pretrain-rnn-epochs: the RNN pretraining models plain "
                            "piano-roll frames, not --frames-per-step or --encoding "
                            "note-state")
        check_model_options(args)
        if args.pretrain_rnn_epochs and not args.learn_u0 and args.model == "rnnrbm":
            raise UserError("--pretrain-rnn-epochs needs --learn-u0: the pretrained RNN's "
                            "initial state u0 is one of the parameters it hands on")
    dataset = read_training_data(args, r, dt, **grid)
    valid = read_validation_data(args, r, dt, grid)
    out = output_folder("--out", args.out)
    if args.overwrite and not args.resume:  # the old run's selection must not mix with ours
        for name in ("best.npz", "valid.tsv"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(out, name))
    compile_message(args.backend)
    start = time.perf_counter()
    try:
        if args.resume:
            model = loader.load(args.resume, backend=args.backend)
        else:
            model = build(args, argv, r, dt, dataset, valid, out)
            model.data = data_source(training_data(args.data), args.split, dt,
                                     args.frames_per_beat, args.transpose)
    except ValueError as err:
        raise UserError(str(err)) from None
    if args.resume:
        status(f"resuming {display(args.resume)} at epoch {len(model.history) + 1} of "
               f"{args.epochs}" if len(model.history) < args.epochs else
               f"{display(args.resume)} has all {args.epochs} epochs already; nothing to train")
    pretrained = not args.resume and (getattr(args, "pretrain_rbm_epochs", 0)
                                      or args.pretrain_rnn_epochs)
    status(f"{'pretrained and compiled' if pretrained else 'compiled'} in "
           f"{time.perf_counter() - start:.0f} s; training")
    keeper = None
    if args.select_every:
        keeper = selection.BestCheckpoint(
            model, selection_criterion(model, valid, args), os.path.join(out, "best.npz"),
            os.path.join(out, "valid.tsv"), args.select_every, on_select)
    try:
        model.train_rolls(dataset, args.batch_size, args.epochs,
                          log_path=os.path.join(out, "log.tsv"), checkpoint_path=checkpoint,
                          checkpoint_every=args.checkpoint_every, progress=Progress("chunk"),
                          after_epoch=keeper)
    except FloatingPointError as err:
        raise UserError(f"{err}; the last good checkpoint is {checkpoint}",
                        EXIT_FAILED) from None
    if model.interrupted:
        print(f"Interrupted by {signal_name()}. Checkpoint written to {checkpoint} after "
              f"epoch {len(model.history)}. Resume with:\n  {resume_command(argv, checkpoint)}",
              flush=True)
        raise Interrupted
    if model.history:
        with checkpoints.atomic_output(os.path.join(out, "monitor.png")) as path:
            compare.plot({row[0]: row[1] for row in model.history}, path,
                         f"{model_name(model)} on {monitor_data(args)}: training monitor")
    return model


def monitor_data(args):
    """The training data in words: a pickle's name and split, or the MIDI path."""
    data = training_data(args.data)
    if is_pickle(data):
        return f"{dataset_name(data)} ({args.split})"
    return display(data)


def train_settings(settings, on_select=None, words=()):
    """Train from Python as `python rnnrbm.py train WORDS OPTIONS` would, the
    OPTIONS given as a dict (see option_words; "config" names a configuration,
    {"config": "paper", "data": "JSB Chorales", "epochs": 10}) after the
    command-line `words`; return the model. `on_select` as in `train`; errors
    as `train` raises them (and argparse's SystemExit for a wrong option)."""
    argv = ["train", *words, *options.option_words(settings)]
    return train(options.parse_train(argv[1:]), argv, on_select=on_select)
