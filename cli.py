"""The command line: `python rnnrbm.py [COMMAND] [OPTIONS]`.

One argparse parser, one subcommand per task: tutorial (also what runs with
no command: train on the Nottingham MIDI files, then write two generated
pieces, as the tutorial's script did), train, generate, evaluate, compare,
bench and tune (a hyperparameter search, tune.py). Options go after their command.

Exit statuses, the same for every command:
    0         done
    1         the run failed: training diverged, an output could not be written
    2         something given is wrong: an option, a path, or a file's contents
    130, 143  interrupted by SIGINT (Ctrl+C) or SIGTERM; finished work is kept
Errors are one line naming the option or file at fault, never a traceback.
Default inputs are looked up in the project's folder (data/), outputs go to
its runs/ folder (ignored by git); paths a user gives are taken as given.
"""

import argparse
import contextlib
import glob
import os
import shlex
import shutil
import signal
import sys
import time

import bench
import compare
import configs
import rnnrbm
import training
from datasets import NAMES, SPLITS
from midi.utils import ENCODINGS

ROOT = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(ROOT, "data")
RUNS = os.path.join(ROOT, "runs")
PROG = "rnnrbm.py"
LONG_SONG_FRAMES = 50_000  # 4 hours at the tutorial's 0.3 s per frame
EXIT_FAILED, EXIT_USAGE = 1, 2


class CommandError(Exception):
    """A one-line error for the user; `status` is the exit status."""

    def __init__(self, message, status=EXIT_USAGE):
        super().__init__(message)
        self.status = status


class Interrupted(Exception):
    """Training was interrupted and has said so; exit as the signal asks."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with errors on one line (no usage block), status 2, and no
    abbreviated options (so that a printed resume command means one thing)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message):
        extra = message.split(": ", 1)[-1].split()
        if message.startswith("unrecognized arguments") and extra[0] in COMMANDS:
            message = (f"options before the command {extra[0]!r} are not allowed: "
                       f"write {PROG} {extra[0]} [OPTIONS]")
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def bounded_int(low):
    def parse(text):
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, not {text}")
        return value
    return parse


positive_int = bounded_int(1)


def momentum_value(text):
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), not {text}")
    return value


def positive_float(text):
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def display(path):
    """`path` relative to the current folder when it lies inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def status(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- paths

def existing_file(option, path, hint=""):
    """`path` if it is a file; otherwise a CommandError naming it."""
    if not os.path.isfile(path):
        kind = "a folder, not a file" if os.path.isdir(path) else "no such file"
        raise CommandError(f"{option} {path}: {kind}{hint}")
    return path


def output_folder(option, path, create=True):
    """Create the folder `path` if needed (only check that it could be, unless
    `create`); a CommandError naming it if impossible."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise CommandError(f"{option} {path}: exists and is not a folder")
    if not create:
        return path
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        raise CommandError(f"{option} {path}: cannot create the folder: {err.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise CommandError(f"{option} {path}: the folder is not writable")
    return path


def read_checkpoint(option, path):
    """A checkpoint's entries (training.read_checkpoint), or a CommandError naming it."""
    try:
        return training.read_checkpoint(existing_file(option, path))
    except ValueError as err:
        raise CommandError(str(err)) from None


# ---------------------------------------------------------------- progress

class Progress:
    """Progress of `done` of `total` units, reported by calling it.

    On a terminal a tqdm bar (count, rate, time left); otherwise, if `plain`,
    the same figures as a plain line at each call (logs get no carriage
    returns), else nothing.
    """

    def __init__(self, unit, plain=False, stream=None):
        self.unit, self.plain = unit, plain
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty()
        self.bar, self.start = None, time.perf_counter()  # the work starts with its reporter

    def __call__(self, done, total):
        from tqdm import tqdm

        if self.terminal:
            if self.bar is None:
                self.bar = tqdm(total=total, unit=self.unit, leave=False, file=self.stream,
                                dynamic_ncols=True)
            self.bar.update(done - self.bar.n)
            if done >= total:
                self.bar.close()
                self.bar = None
        elif self.plain:
            line = tqdm.format_meter(done, total, time.perf_counter() - self.start,
                                     unit=self.unit, bar_format=(
                                         "{n_fmt}/{total_fmt} {unit}s ({percentage:.0f} %), "
                                         "{rate_fmt}, {elapsed} elapsed, {remaining} left"))
            print(line, file=self.stream, flush=True)


# ---------------------------------------------------------------- signals

received_signal = None  # the signal that interrupted this process, if any


def interrupt(signum, frame):
    """SIGINT and SIGTERM alike raise KeyboardInterrupt, remembering which came."""
    global received_signal
    received_signal = signum
    raise KeyboardInterrupt


def interrupt_status():
    """128 + the signal's number, as shells report a process ended by it."""
    return 128 + (received_signal or signal.SIGINT)


def signal_name():
    return "SIGTERM" if received_signal == signal.SIGTERM else "Ctrl+C (SIGINT)"


# ---------------------------------------------------------------- training

def add_training_arguments(parser, out_default, preset=None):
    """The options of train and tutorial; `preset` (a configs.CONFIGS entry)
    replaces their defaults."""
    add_run_arguments(parser, out_default, configs.CONFIGS, "tutorial", "frames per SGD chunk "
                      "(steps of --frames-per-step frames each in a multi-frame model)")
    parser.add_argument("--n-hidden-recurrent", type=positive_int, default=100,
                        help="hidden units of the RNN (default: %(default)s)")
    multiframe = parser.add_argument_group(
        "the multi-frame RNN-RBM", "The second TensorFlow post's model; --config multiframe "
        "sets these.")
    multiframe.add_argument("--frames-per-step", type=positive_int, default=1,
                            help="consecutive frames each conditional RBM models at once "
                                 "(default: %(default)s, the tutorial's model)")
    multiframe.add_argument("--lr-position", type=positive_float,
                            help="learning rates times min(1, P / i) on a chunk starting at "
                                 "step i (from 1) of its song (the post: --lr 0.01 "
                                 "--lr-position 10; default: no such factor)")
    add_recipe_arguments(parser)
    if preset:
        parser.set_defaults(**preset)


def add_run_arguments(parser, out_default, presets, default_preset, batch_help):
    """The options train and snippet train share: configuration, data and how
    it is read, model size, learning rate, CD-k, output, resuming."""
    parser.add_argument("--config", choices=sorted(presets), default=default_preset,
                        help="named configuration whose settings replace these defaults "
                             "(options given still win; see configs.py): "
                             + ", ".join(sorted(presets)) + " (default: %(default)s)")
    parser.add_argument("--data", metavar="PATH",
                        help="a folder of MIDI files (.mid, .midi in any case), a glob, one "
                             "MIDI file, or a piano-roll dataset in the paper's pickle format "
                             "(*.pickle, *.pkl), also by name: " + ", ".join(NAMES) +
                             " (default: data/Nottingham/train in the project folder)")
    parser.add_argument("--split", default="train", choices=SPLITS,
                        help="split of a pickle dataset (default: %(default)s)")
    parser.add_argument("--epochs", type=positive_int, default=200,
                        help="total epochs, counting those of a resumed run (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0xBEEF, help="random seed (default: %(default)s)")
    parser.add_argument("--n-hidden", type=positive_int, default=150,
                        help="hidden units of each RBM (default: %(default)s)")
    parser.add_argument("--lr", type=positive_float, default=0.001,
                        help="learning rate (default: %(default)s)")
    parser.add_argument("--batch-size", type=positive_int, default=100,
                        help=batch_help + " (default: %(default)s)")
    parser.add_argument("--dt", type=positive_float, default=rnnrbm.FRAME_SECONDS,
                        help="seconds per frame for MIDI files (default: %(default)s)")
    parser.add_argument("--pitch-range", type=int, nargs=2, metavar=("LOW", "HIGH"),
                        default=rnnrbm.PITCH_RANGE,
                        help="MIDI notes LOW..HIGH-1 (default: 21 109, the piano)")
    parser.add_argument("--frames-per-beat", type=positive_int,
                        help="frames on a grid of beats instead of --dt seconds (4: sixteenth "
                             "notes; MIDI files only)")
    parser.add_argument("--encoding", choices=ENCODINGS, default="piano-roll",
                        help="piano-roll: a bit per pitch while it sounds; note-state: also a "
                             "bit where it is struck (MIDI files only; default: %(default)s)")
    parser.add_argument("--transpose", action="store_true",
                        help="transpose each MIDI file to C major or C minor, by the smallest "
                             "interval, from its key signature or an estimate of its key "
                             "(MIDI files only; the pickle data sets are transposed already)")
    parser.add_argument("--backend", choices=sorted(rnnrbm.BACKENDS), default="c",
                        help="PyTensor backend (default: %(default)s)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="float type (default: %(default)s)")
    parser.add_argument("--out", default=os.path.join(RUNS, out_default), metavar="FOLDER",
                        help="folder for checkpoint.npz, log.tsv and monitor.png (default: "
                             f"runs/{out_default} in the project folder)")
    parser.add_argument("--checkpoint-every", type=positive_int, default=10,
                        help="epochs between checkpoints (default: %(default)s)")
    parser.add_argument("--resume", metavar="CHECKPOINT",
                        help="continue the run saved in CHECKPOINT (its model settings win)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start a new run even if --out already holds one")
    parser.add_argument("--strict", action="store_true",
                        help="stop on the first unreadable MIDI file instead of skipping it")
    parser.add_argument("--allow-long-songs", action="store_true",
                        help=f"train even if a song has more than {LONG_SONG_FRAMES:,} frames "
                             "(a very small --dt)")
    parser.add_argument("--k", type=positive_int, default=15,
                        help="Gibbs steps of contrastive divergence, CD-k (default: %(default)s)")
    parser.add_argument("--momentum", type=momentum_value, default=0.0,
                        help="Nesterov momentum, 0 for plain SGD (default: %(default)s)")


def add_recipe_arguments(parser):
    """The paper's recipe: options of train, each off unless given."""
    recipe = parser.add_argument_group(
        "the paper's recipe", "Each off (the tutorial's) unless given; --config paper sets them.")
    recipe.add_argument("--lr-rnn", type=positive_float,
                        help="learning rate of the RNN part (Wuh, Wuv, Wvu, Wuu, bu, u0; "
                             "default: --lr)")
    recipe.add_argument("--clip-norm", type=positive_float,
                        help="rescale the gradient to at most this L2 norm")
    recipe.add_argument("--clip-value", type=positive_float,
                        help="clip each gradient entry to [-V, V]")
    recipe.add_argument("--learn-u0", action=argparse.BooleanOptionalAction, default=False,
                        help="learn the RNN's initial state (default: fixed at zero)")
    recipe.add_argument("--lr-decay", type=positive_float, default=1.0,
                        help="learning rates times this each epoch (default: %(default)s)")
    recipe.add_argument("--pretrain-rbm-epochs", type=bounded_int(0), default=0,
                        help="epochs of RBM pretraining on the shuffled frames (default: none)")
    recipe.add_argument("--pretrain-rbm-lr", type=positive_float, default=0.01,
                        help="its learning rate (default: %(default)s)")
    recipe.add_argument("--pretrain-rbm-k", type=positive_int, default=1,
                        help="its CD-k (default: %(default)s)")
    recipe.add_argument("--pretrain-rnn-epochs", type=bounded_int(0), default=0,
                        help="epochs of RNN pretraining on the cross-entropy (default: none)")
    recipe.add_argument("--pretrain-rnn-lr", type=positive_float, default=0.001,
                        help="its learning rate (default: %(default)s)")
    recipe.add_argument("--pretrain-rnn-optimizer", choices=("sgd", "adam"), default="sgd",
                        help="its optimiser (default: %(default)s)")
    recipe.add_argument("--pretrain-rnn-clip-norm", type=positive_float,
                        help="its gradient norm clipping")
    recipe.add_argument("--select-every", type=bounded_int(0), default=0,
                        help="every N epochs, score the model on validation data and keep the "
                             "best in best.npz (default: never)")
    recipe.add_argument("--select-frames", type=positive_int, default=5000,
                        help="validation frames scored (default: %(default)s)")
    recipe.add_argument("--select-chains", type=positive_int, default=5,
                        help="AIS chains of the score (default: %(default)s)")
    recipe.add_argument("--select-temperatures", type=positive_int, default=100,
                        help="AIS temperatures of the score (default: %(default)s; a model "
                             "with large weights needs more: results/table1/jsb-search-1)")
    recipe.add_argument("--valid", metavar="PATH",
                        help="validation data for selection and RNN pretraining (default: the "
                             "valid split of a pickle --data, or a valid folder beside a train "
                             "folder)")


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


def midi_paths(data, hint):
    """The MIDI files `data` names: a folder's, a glob's matches, or one file."""
    from midi.utils import midi_files

    if os.path.isdir(data):
        files = midi_files(data)
    elif any(c in data for c in "*?["):
        files = sorted(glob.glob(data))
    elif os.path.isfile(data):
        files = [data]
    else:
        raise CommandError(f"--data {data}: no such file or folder{hint}")
    if not files:
        raise CommandError(f"--data {data}: no MIDI files (.mid, .midi){hint}")
    return files


def read_training_data(args, r, dt, frames_per_beat=None, encoding="piano-roll"):
    """The training piano rolls (one uint8 array per song), MIDI files read on
    the grid and in the encoding given; CommandError on bad data."""
    from datasets import load_pickle_rolls
    from midi.utils import MidiReadError, midiread

    data = training_data(args.data)
    # A hint for the data download.sh fetches, never for the user's own paths.
    hint = "" if data == args.data else " (run ./download.sh --pickle)" \
        if data.endswith(".pickle") else " (run ./download.sh to fetch the Nottingham data)"
    if data.endswith((".pickle", ".pkl")):
        existing_file("--data", data, hint)
        if frames_per_beat is not None or encoding != "piano-roll" or args.transpose:
            raise CommandError(f"--data {data}: a pickle dataset has its own grid, is a plain "
                               "piano roll and is transposed already: --frames-per-beat, "
                               "--encoding and --transpose are for MIDI files")
        try:
            rolls = load_pickle_rolls(data, args.split, r)
        except ValueError as err:
            raise CommandError(str(err)) from None
    else:
        files = midi_paths(data, hint)
        status(f"reading {len(files)} MIDI files from {display(data)}")
        rolls = []
        for f in files:
            try:
                rolls.append(midiread(f, r, dt, frames_per_beat=frames_per_beat,
                                      encoding=encoding, transpose=args.transpose).piano_roll)
            except MidiReadError as err:
                if args.strict:
                    raise CommandError(f"{err} (--strict)") from None
                status(f"warning: {err}; skipped")
        if not rolls:
            raise CommandError(f"--data {data}: none of the {len(files)} MIDI files "
                               "could be read")
    longest = max(len(roll) for roll in rolls)
    if longest > LONG_SONG_FRAMES and not args.allow_long_songs:
        raise CommandError(
            f"--dt {dt}: the longest song has {longest:,} frames ({sum(map(len, rolls)):,} in "
            f"all); an epoch would take very long. Use a larger --dt, or --allow-long-songs "
            "to insist")
    return rolls


def interpreter_and_script():
    """How this process was started, as words a shell can run from here."""
    found = shutil.which("python")
    python = "python" if found and os.path.abspath(found) == os.path.abspath(sys.executable) \
        else display(sys.executable)
    if os.sep not in python and python != "python":
        python = os.path.join(".", python)  # a shell looks bare names up in PATH
    script = sys.argv[0] if os.path.basename(sys.argv[0]) == "rnnrbm.py" \
        else display(os.path.join(ROOT, "rnnrbm.py"))
    return [python, script]


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


def read_validation_data(args, r, dt, grid):
    """Validation piano rolls for model selection and RNN pretraining, or None
    if neither is asked for; CommandError if they are and none can be found."""
    from datasets import load_pickle_rolls

    if not (args.select_every or args.pretrain_rnn_epochs):
        return None
    data = training_data(args.data)
    valid = named_dataset(args.valid) if args.valid else None
    pickle = valid or data
    if pickle.endswith((".pickle", ".pkl")):  # its valid split, whether --valid or --data
        existing_file("--valid" if valid else "--data", pickle)
        try:
            return load_pickle_rolls(pickle, "valid", r)
        except ValueError as err:
            raise CommandError(str(err)) from None
    if valid is None and os.path.basename(os.path.normpath(data)) == "train":
        valid = os.path.join(os.path.dirname(os.path.normpath(data)), "valid")
        if not os.path.isdir(valid):
            valid = None
    if valid is None:
        raise CommandError("--select-every and --pretrain-rnn-epochs need validation data: "
                           "give --valid")
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
    """An RNN-RBM built from the arguments and, if asked, pretrained (see pretrain.py)."""
    import pretrain

    model = rnnrbm.RnnRbm(args.n_hidden, args.n_hidden_recurrent, args.lr, r, dt, args.seed,
                          args.backend, args.dtype, k=args.k, lr_rnn=args.lr_rnn,
                          momentum=args.momentum, clip_norm=args.clip_norm,
                          clip_value=args.clip_value, learn_u0=args.learn_u0,
                          lr_decay=args.lr_decay, frames_per_step=args.frames_per_step,
                          encoding=args.encoding, frames_per_beat=args.frames_per_beat,
                          lr_position=args.lr_position)
    rbm = rnn = None
    if args.pretrain_rbm_epochs:  # an RBM over the model's visible vectors, its steps
        rbm = pretrain.pretrain_rbm([model.to_steps(roll) for roll in dataset], out,
                                    args.n_hidden, args.pretrain_rbm_epochs,
                                    args.pretrain_rbm_lr, args.pretrain_rbm_k, args.batch_size,
                                    args.seed, args.dtype, args.backend, args.overwrite,
                                    Progress("batch"))
        if rbm.interrupted:
            pretraining_interrupted(out, argv)
    if args.pretrain_rnn_epochs:
        trained, rnn = pretrain.pretrain_rnn(
            dataset, valid, out, args.n_hidden_recurrent, args.pretrain_rnn_epochs,
            args.pretrain_rnn_lr, args.pretrain_rnn_optimizer, 0.0, args.pretrain_rnn_clip_norm,
            args.batch_size, r, dt, args.seed, args.dtype, args.backend, args.overwrite,
            Progress("chunk"))
        if trained.interrupted:
            pretraining_interrupted(out, argv)
    pretrain.initialise(model, rbm, rnn)
    return model


def new_snippet_model(args, argv, r, dt, dataset, valid, out):
    """A snippet RBM built from the arguments of snippet train."""
    import snippet

    return snippet.SnippetRbm(args.frames, args.n_hidden, args.lr, args.k, args.momentum, r, dt,
                              args.frames_per_beat, args.encoding, args.seed, args.dtype,
                              args.backend)


def train(args, argv, model_class=rnnrbm.RnnRbm, build=new_model, on_select=None):
    """Train as the arguments say; return the model. `build` makes a new
    model of `model_class` (which loads a resumed one). A CommandError on bad
    input; KeyboardInterrupt, after the checkpoint is written, when interrupted.
    With model selection, `on_select(epoch, value)` is told each row of
    valid.tsv (selection.BestCheckpoint's on_row)."""
    import selection

    output_folder("--out", args.out, create=False)  # before the slow steps
    checkpoint = os.path.join(args.out, "checkpoint.npz")
    if args.resume:
        config = read_checkpoint("--resume", args.resume)["config"]
        kind = config.get("model", "rnnrbm")
        if kind != model_class.kind:
            raise CommandError(f"--resume {args.resume}: a model of kind {kind!r}, not "
                               f"{model_class.kind!r}")
        r, dt = tuple(config["r"]), config["dt"]  # read the data as the model was trained
        grid = dict(frames_per_beat=config.get("frames_per_beat"),
                    encoding=config.get("encoding", "piano-roll"))
    else:
        if os.path.exists(checkpoint) and not args.overwrite:
            raise CommandError(f"--out {args.out} already holds a run: continue it with "
                               f"--resume {checkpoint}, or start over with --overwrite")
        r, dt = tuple(args.pitch_range), args.dt
        if not 0 <= r[0] < r[1] <= 128:
            raise CommandError(f"--pitch-range {r[0]} {r[1]} is empty or outside MIDI notes 0..127")
        grid = dict(frames_per_beat=args.frames_per_beat, encoding=args.encoding)
        if args.pretrain_rnn_epochs and (
                args.frames_per_step > 1 or args.encoding != "piano-roll"):
            raise CommandError("--pretrain-rnn-epochs: the RNN pretraining models plain "
                               "piano-roll frames, not --frames-per-step or --encoding "
                               "note-state")
        if args.pretrain_rnn_epochs and not args.learn_u0:
            raise CommandError("--pretrain-rnn-epochs needs --learn-u0: the pretrained RNN's "
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
            model = model_class.load(args.resume, backend=args.backend)
        else:
            model = build(args, argv, r, dt, dataset, valid, out)
    except ValueError as err:
        raise CommandError(str(err)) from None
    pretrained = not args.resume and (getattr(args, "pretrain_rbm_epochs", 0)
                                      or args.pretrain_rnn_epochs)
    status(f"{'pretrained and compiled' if pretrained else 'compiled'} in "
           f"{time.perf_counter() - start:.0f} s; training")
    keeper = None
    if args.select_every:
        keeper = selection.BestCheckpoint(
            model, selection.rnnrbm_criterion(model, [model.to_steps(roll) for roll in
                                                      selection_frames(valid, args.select_frames,
                                                                       args.seed)],
                                              args.select_chains, args.select_temperatures),
            os.path.join(out, "best.npz"), os.path.join(out, "valid.tsv"), args.select_every,
            on_select)
    try:
        model.train_rolls(dataset, args.batch_size, args.epochs,
                          log_path=os.path.join(out, "log.tsv"), checkpoint_path=checkpoint,
                          checkpoint_every=args.checkpoint_every, progress=Progress("chunk"),
                          after_epoch=keeper)
    except FloatingPointError as err:
        raise CommandError(f"{err}; the last good checkpoint is {checkpoint}",
                           EXIT_FAILED) from None
    if model.interrupted:
        print(f"Interrupted by {signal_name()}. Checkpoint written to {checkpoint} after "
              f"epoch {len(model.history)}. Resume with:\n  {resume_command(argv, checkpoint)}",
              flush=True)
        raise Interrupted
    if model.history:
        with training.atomic_output(os.path.join(out, "monitor.png")) as path:
            compare.plot({row[0]: row[1] for row in model.history}, path)
    return model


def write_piece(model, roll, path_stem):
    """path_stem.mid, .png and .wav for one piano roll, each written whole or not at all."""
    import synth
    from midi.utils import midiwrite

    grid = dict(frames_per_beat=model.frames_per_beat, encoding=model.encoding)
    sounding, seconds = rnnrbm.playback(roll, model.r, model.dt, **grid)
    writers = dict(mid=lambda p: midiwrite(p, roll, model.r, model.dt, **grid),
                   png=lambda p: rnnrbm.plot_piano_roll(sounding, model.r, seconds, p),
                   wav=lambda p: synth.write_wav(p, sounding, model.r, seconds))
    for extension, write in writers.items():
        with training.atomic_output(f"{path_stem}.{extension}") as path:
            write(path)
    print(f"wrote {display(path_stem)}.mid, .png and .wav", flush=True)


def run_tutorial(args, argv):
    model = train(args, argv)
    for name in ("sample1", "sample2"):
        write_piece(model, model.to_frames(model.generate_function()),
                    os.path.join(args.out, name))


def run_train(args, argv):
    train(args, argv)


def option_words(settings):
    """Command-line words of train options given as a dict keyed as in
    configs.py: {"lr": 0.01, "n_hidden": 50, "learn_u0": True} gives
    --lr 0.01 --n-hidden 50 --learn-u0 (False gives --no-learn-u0, None nothing)."""
    words = []
    for name, value in settings.items():
        option = "--" + name.replace("_", "-")
        if value is True:
            words.append(option)
        elif value is False:
            words.append("--no-" + option[2:])
        elif isinstance(value, (list, tuple)):
            words += [option, *map(str, value)]
        elif value is not None:
            words += [option, repr(value) if isinstance(value, float) else str(value)]
    return words


def train_settings(settings, on_select=None, words=()):
    """Train from Python as `python rnnrbm.py train WORDS OPTIONS` would, the
    OPTIONS given as a dict (see option_words; "config" names a configuration,
    {"config": "paper", "data": "JSB Chorales", "epochs": 10}) after the
    command-line `words`; return the model. `on_select` as in `train`; errors
    as `train` raises them (and argparse's SystemExit for a wrong option)."""
    argv = ["train", *words, *option_words(settings)]
    return train(parse_command(argv), argv, on_select=on_select)


# ---------------------------------------------------------------- generate

def add_sampler_arguments(parser, out_default):
    """The options load_sampler reads: --seed, --backend and --out (runs/OUT_DEFAULT)."""
    parser.add_argument("--seed", type=int,
                        help="reseed the sampler (default: the checkpoint's state)")
    parser.add_argument("--backend", choices=sorted(rnnrbm.BACKENDS), default="c")
    parser.add_argument("--out", default=os.path.join(RUNS, out_default), metavar="FOLDER",
                        help=f"output folder (default: runs/{out_default} in the project folder)")


def load_sampler(cls, args):
    """(model, output folder) for generating: the model of class `cls` from
    args.checkpoint on args.backend, its sampler reseeded if args.seed is set."""
    import numpy as np

    out = output_folder("--out", args.out)
    compile_message(args.backend)
    try:
        model = cls.load(args.checkpoint, backend=args.backend)
    except ValueError as err:
        raise CommandError(str(err)) from None
    if args.seed is not None:
        model.rng.set_value(np.random.default_rng(args.seed))
    return model, out


def run_generate(args, argv):
    import numpy as np

    from midi.utils import MidiReadError, midiread

    config = read_checkpoint("CHECKPOINT", args.checkpoint)["config"]
    kind = config.get("model", "rnnrbm")
    if kind != "rnnrbm":
        raise CommandError(f"CHECKPOINT {args.checkpoint}: a model of kind {kind!r}; generate "
                           "takes an RNN-RBM" + (" (snippet generate takes this one)"
                                                  if kind == "snippet" else ""))
    per_step = config.get("frames_per_step", 1)
    primer = None
    if args.prime:  # read before compiling, so that a bad primer is named at once
        try:
            primer = midiread(existing_file("--prime", args.prime), config["r"], config["dt"],
                              frames_per_beat=config.get("frames_per_beat"),
                              encoding=config.get("encoding", "piano-roll"),
                              transpose=args.transpose).piano_roll
        except MidiReadError as err:
            raise CommandError(str(err)) from None
        if args.prime_frames is not None and args.prime_frames > len(primer):
            raise CommandError(f"--prime-frames {args.prime_frames}: {args.prime} has only "
                               f"{len(primer)} frames")
        primer = primer[:args.prime_frames or 32]
        primer = primer[:len(primer) // per_step * per_step]  # whole steps for the RNN
        if not len(primer):
            raise CommandError(f"--prime-frames: fewer frames than one step of the model "
                               f"({per_step})")
    model, out = load_sampler(rnnrbm.RnnRbm, args)
    # Every piece continues from the same RNN state, the one after the primer.
    u_start = None if primer is None else model.rnn_state_function(
        model.to_steps(primer).astype(model.dtype))
    for n in range(1, args.n + 1):
        steps = model.generate_function(u_start, -(-args.length // per_step), args.gibbs_steps,
                                        args.chain_start)
        roll = model.to_frames(steps)
        if primer is not None:
            roll = np.vstack([primer, roll])
        write_piece(model, roll, os.path.join(out, f"sample{n}"))


# ---------------------------------------------------------------- snippet

def run_snippet(args, argv):
    """snippet train: train a snippet RBM (snippet.py) as `train` trains an
    RNN-RBM; snippet generate: write -n snippets of a checkpoint."""
    import snippet

    if args.snippet_command == "train":
        train(args, argv, snippet.SnippetRbm, new_snippet_model)
        return
    read_checkpoint("CHECKPOINT", args.checkpoint)
    model, out = load_sampler(snippet.SnippetRbm, args)
    for n, roll in enumerate(model.generate(args.n, args.gibbs_steps), 1):
        write_piece(model, roll, os.path.join(out, f"sample{n}"))


# ---------------------------------------------------------------- evaluate

def run_evaluate(args, argv):
    import json

    import numpy as np

    import evaluate
    from datasets import load_pickle_rolls
    import rnn
    from numpy_rnnrbm import PARAM_NAMES

    state = read_checkpoint("CHECKPOINT", args.checkpoint)
    kind = state["config"].get("model", "rnnrbm")
    if kind not in ("rnnrbm", "rnn"):
        raise CommandError(f"CHECKPOINT {args.checkpoint}: a model of kind {kind!r}; evaluate "
                           "takes an RNN-RBM or an RNN")
    config = state["config"]
    if (config.get("frames_per_step", 1), config.get("encoding", "piano-roll"),
            config.get("frames_per_beat")) != (1, "piano-roll", None):
        raise CommandError(f"CHECKPOINT {args.checkpoint}: evaluate scores models of one "
                           "piano-roll frame per step on the pickle datasets' grid; this one "
                           "has --frames-per-step, --encoding or --frames-per-beat of its own")
    pickle = named_dataset(args.pickle or "Nottingham")
    existing_file("--pickle", pickle,
                  " (run ./download.sh --pickle)" if pickle != args.pickle else "")
    if args.out:
        output_folder("--out", os.path.dirname(os.path.abspath(args.out)))
    try:
        rolls = load_pickle_rolls(pickle, args.split, state["config"]["r"])[:args.sequences]
    except ValueError as err:
        raise CommandError(str(err)) from None
    names = rnn.PARAM_NAMES if kind == "rnn" else PARAM_NAMES + ("u0",) * ("u0" in state)
    params = {name: state[name].astype(np.float64) for name in names}
    frames = sum(map(len, rolls))
    status(f"evaluating {len(rolls)} sequences ({frames:,} frames) of the {args.split} split "
           + ("exactly (an RNN)" if kind == "rnn" else
              f"with {args.chains} AIS chains x {args.temperatures} temperatures on "
              f"{args.jobs} processes"))
    start = time.perf_counter()
    try:
        metrics = evaluate.evaluate(params, rolls, args.seed, args.chains, args.temperatures,
                                    jobs=args.jobs, progress=Progress("frame", plain=True),
                                    ais_dtype=args.ais_dtype, kind=kind, cache=args.cache)
    except ValueError as err:  # a --cache folder of another evaluation
        raise CommandError(f"--cache {err}") from None
    metrics["seconds"] = round(time.perf_counter() - start, 1)
    metrics.update(split=args.split, dataset=pickle, checkpoint=args.checkpoint,
                   seed=args.seed, command=shlex.join(["python", PROG, *argv]))
    text = json.dumps(metrics, indent=2)
    print(text)
    if args.out:
        with training.atomic_output(args.out) as path, open(path, "w") as f:
            f.write(text + "\n")


# ---------------------------------------------------------------- compare, bench

def run_compare(args, argv):
    existing_file("LOG", args.log)
    existing_file("--published", args.published)
    try:
        ours, published = compare.read_log(args.log), compare.read_log(args.published)
    except ValueError as err:
        raise CommandError(str(err)) from None
    print("epoch\tours\tpublished\tdifference")
    for row in compare.comparison_rows(ours, published):
        print("%d\t%.4f\t%.4f\t%+.4f" % row)
    png = args.plot or os.path.join(os.path.dirname(os.path.abspath(args.log)), "compare.png")
    output_folder("--plot", os.path.dirname(os.path.abspath(png)))
    with training.atomic_output(png) as path:
        compare.plot(ours, path, published)
    print(f"wrote {display(png)}")


def run_bench(args, argv):
    bench.run(args.configs, args.quick, args.chunks, not args.no_memory, args.memory_all,
              not args.no_cold)


def bench_configs(text):
    """A comma-separated list of backend-dtype names, e.g. c-float64,numba-float32."""
    configs = text.split(",")
    for config in configs:
        backend, _, dtype = config.partition("-")
        if backend not in rnnrbm.BACKENDS or dtype not in ("float64", "float32"):
            raise argparse.ArgumentTypeError(f"{config!r} is not backend-dtype, "
                                             "e.g. c-float64 or numba-float32")
    return configs


# ---------------------------------------------------------------- the parser

def run_tune(args, argv):
    import tune  # which imports optuna when it runs

    tune.run(args, argv)


COMMANDS = ("tutorial", "train", "generate", "snippet", "evaluate", "compare", "bench", "tune")
HANDLERS = dict(tutorial=run_tutorial, train=run_train, generate=run_generate, snippet=run_snippet,
                evaluate=run_evaluate, compare=run_compare, bench=run_bench, tune=run_tune)


def build_parser(preset=None, snippet_preset=configs.SNIPPET_CONFIGS["snippet"]):
    """The parser; `preset` (a configs.CONFIGS entry) sets the defaults of train
    and tutorial, `snippet_preset` (of configs.SNIPPET_CONFIGS) those of snippet train."""
    parser = ArgumentParser(
        prog=PROG, usage=f"{PROG} [COMMAND] [OPTIONS]",
        description="RNN-RBM on polyphonic music (Boulanger-Lewandowski et al., 2012). "
                    "Without a command: the tutorial's run (see tutorial --help). "
                    "Named configurations (configs.py; options given override them): "
                    "train --config " + ", ".join(sorted(configs.CONFIGS)) +
                    " (tutorial: the default); snippet train --config " +
                    ", ".join(sorted(configs.SNIPPET_CONFIGS)) + " (the default).",
        epilog="Exit status: 0 done; 1 the run failed; 2 an option, path or file is wrong; "
               "130/143 interrupted by SIGINT/SIGTERM.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", prog=PROG)

    p = commands.add_parser(
        "tutorial", help="the tutorial's run (the default): train, then write two pieces",
        description="The tutorial's run: train on the Nottingham MIDI files, then write "
                    "sample1 and sample2 (.mid, .png, .wav) to --out. Ctrl+C or SIGTERM "
                    "writes a checkpoint and prints the command that continues the run.")
    add_training_arguments(p, "tutorial", preset)

    p = commands.add_parser("train", help="train a model, with checkpoints and a log",
                            description="Train an RNN-RBM; Ctrl+C or SIGTERM writes a "
                                        "checkpoint and prints the command that resumes.")
    add_training_arguments(p, "train", preset)

    p = commands.add_parser("generate", help="generate pieces from a checkpoint",
                            description="Generate pieces from a checkpoint: sampleN.mid, "
                                        ".png and .wav in --out.")
    p.add_argument("checkpoint", metavar="CHECKPOINT")
    p.add_argument("-n", type=positive_int, default=2, help="pieces (default: %(default)s)")
    p.add_argument("--length", type=positive_int, default=200,
                   help="frames to generate per piece, rounded up to whole steps of a "
                        "multi-frame model (default: %(default)s)")
    p.add_argument("--gibbs-steps", type=positive_int, default=25,
                   help="Gibbs steps per frame (default: %(default)s)")
    p.add_argument("--chain-start", choices=("zeros", "previous"), default="zeros",
                   help="where each frame's Gibbs chain starts: at zeros (the tutorial's) or "
                        "at the frame generated before (the multi-frame post's; default: "
                        "%(default)s)")
    p.add_argument("--prime", metavar="MIDI",
                   help="start from the opening of this MIDI file (the RNN reads it first; "
                        "the pieces begin with it)")
    p.add_argument("--prime-frames", type=positive_int,
                   help="frames of the primer to use (default: 32, or all if fewer), cut to "
                        "whole steps of a multi-frame model")
    p.add_argument("--transpose", action="store_true",
                   help="transpose the primer to C major or C minor first (see train --help)")
    add_sampler_arguments(p, "samples")

    p = commands.add_parser(
        "snippet", help="the RBM snippet generator: snippet train, snippet generate",
        description="The RBM snippet generator of the first TensorFlow post (snippet.py): an "
                    "RBM over windows of consecutive frames, each flattened into one vector.")
    snippet_commands = p.add_subparsers(dest="snippet_command", metavar="COMMAND",
                                        title="commands", required=True)
    q = snippet_commands.add_parser(
        "train", help="train a snippet RBM, with checkpoints and a log",
        description="Train a snippet RBM by CD-k on shuffled mini-batches of windows; "
                    "--config snippet (the default) is the post's. Ctrl+C or SIGTERM writes a "
                    "checkpoint and prints the command that resumes.")
    add_run_arguments(q, "snippet", configs.SNIPPET_CONFIGS, "snippet",
                      "windows per mini-batch")
    q.add_argument("--frames", type=positive_int, default=1,
                   help="frames per window (default: %(default)s)")
    q.set_defaults(select_every=0, pretrain_rnn_epochs=0, **snippet_preset)
    q = snippet_commands.add_parser(
        "generate", help="write snippets from a checkpoint",
        description="Write -n snippets of a snippet RBM, each the end of a Gibbs chain from "
                    "zeros: sampleN.mid, .png and .wav in --out.")
    q.add_argument("checkpoint", metavar="CHECKPOINT")
    q.add_argument("-n", type=positive_int, default=10, help="snippets (default: %(default)s)")
    q.add_argument("--gibbs-steps", type=positive_int, default=1,
                   help="Gibbs steps of each chain (default: %(default)s, the post's)")
    add_sampler_arguments(q, "snippet-samples")

    p = commands.add_parser(
        "evaluate", help="log-likelihood (AIS) and accuracy on a pickle dataset",
        description="Log-likelihood per frame and frame-level accuracy of a trained RNN-RBM "
                    "(or of the RNN of its pretraining, exactly) on a split of a piano-roll "
                    "dataset in the paper's pickle format, as Table 1 of the paper reports "
                    "them: log P(v_t | v_<t) with each conditional RBM's partition function "
                    "estimated by annealed importance sampling, the standard error of "
                    "that estimate and how many chains it rests on (effective_chains_*: "
                    "the effective sample size of each frame's AIS weights); expected accuracy = E[TP] / (E[TP] + E[FP] + E[FN]) summed "
                    "over all frames, the expected counts of each frame's predictive "
                    "distribution given the true past (E[TP] = sum of P(note on) over the notes "
                    "that are on, and so on), with the per-note marginals estimated from the "
                    "AIS chains' final states, importance-weighted; accuracy, the same ratio "
                    "for the notes whose marginal is at least 1/2. See evaluate.py.")
    p.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="checkpoint.npz, best.npz or rnn-best.npz written by training")
    p.add_argument("--pickle", metavar="FILE",
                   help="dataset, a path or one of " + ", ".join(NAMES) + " (default: "
                        "Nottingham: data/Nottingham.pickle in the project folder)")
    p.add_argument("--split", default="test", choices=SPLITS,
                   help="split (default: %(default)s)")
    p.add_argument("--chains", type=bounded_int(2), default=100,
                   help="AIS chains per frame (default: %(default)s, the paper's; 10 for a "
                        "quick figure)")
    p.add_argument("--temperatures", type=bounded_int(2), default=1000,
                   help="AIS temperatures (default: %(default)s)")
    p.add_argument("--ais-dtype", choices=("float64", "float32"), default="float64",
                   help="arithmetic of the AIS chains (float32 is about a "
                        "third faster and agrees with float64 within 0.0001 nats per frame; "
                        "default: %(default)s)")
    p.add_argument("--sequences", type=positive_int,
                   help="evaluate only the first N sequences of the split (quick checks)")
    p.add_argument("--seed", type=int, default=1234, help="random seed (default: %(default)s)")
    p.add_argument("--jobs", type=positive_int, default=os.cpu_count() or 1,
                   help="worker processes (default: one per core)")
    p.add_argument("--out", metavar="FILE", help="write the figures as JSON here too")
    p.add_argument("--cache", metavar="FOLDER",
                   help="keep each batch's results in FOLDER as it finishes; run again with "
                        "the same arguments, an interrupted evaluation continues there")

    p = commands.add_parser("compare", help="a training log beside the tutorial's published one",
                            description="Print a training log beside the tutorial's published "
                                        "log, epoch by epoch, and draw both curves.")
    p.add_argument("log", metavar="LOG", help="our log.tsv")
    p.add_argument("--published", default=compare.PUBLISHED,
                   metavar="LOG", help="the log to compare with (default: the tutorial's)")
    p.add_argument("--plot", metavar="PNG", help="picture to write (default: compare.png beside LOG)")

    p = commands.add_parser("bench", help="speed, compile time and memory of each configuration",
                            description="The speed benchmark: training, generation, AIS, "
                                        "compile time and memory per backend and dtype, beside "
                                        "the NumPy reference step. bench.py's docstring says "
                                        "what each column measures.")
    p.add_argument("--configs", type=bench_configs,
                   default=bench.CONFIGS,
                   help="comma-separated backend-dtype list (default: all four)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: fewer chunks and calls, no cold compile, no memory")
    p.add_argument("--chunks", type=positive_int, help="training chunks timed (default: 300)")
    p.add_argument("--no-memory", action="store_true", help="skip the one-epoch run")
    p.add_argument("--memory-all", action="store_true",
                   help="one-epoch run for every config, not only the first")
    p.add_argument("--no-cold", action="store_true",
                   help="skip the cold-cache compile (about 30 s per config)")

    p = commands.add_parser(
        "tune", help="hyperparameter search with Optuna: several workers, one study",
        usage=f"{PROG} tune --study NAME [--storage URL] [--trials N] [--out FOLDER] "
              "[--config NAME] [--enqueue NAME] [--summary] [TRAIN OPTIONS]",
        description="A hyperparameter search (Optuna, tune.py) over the paper's recipe: the "
                    "learning rates of the RBM and RNN parts, hidden sizes, k, momentum, "
                    "clipping and pretraining epochs, maximising model selection's validation "
                    "criterion, poor trials stopped early by Optuna's median pruner. Each trial "
                    "is a train run in FOLDER/NAME/trial-NNNN. Any option of train (train "
                    "--help) may follow; it is passed to every trial, and a searched setting "
                    "given so is no longer searched. Run the same command on any number of "
                    "processes or machines sharing --storage: they work on one study until "
                    "--trials trials have finished. Ctrl+C or SIGTERM stops a worker; its trial "
                    "is queued again and resumes from its checkpoint.")
    p.add_argument("--study", required=True, metavar="NAME",
                   help="the study's name (letters, digits, . _ -); workers with the same "
                        "name and storage share it")
    p.add_argument("--storage", metavar="URL",
                   help="database URL Optuna accepts, e.g. postgresql+psycopg2://USER:PASSWORD@"
                        "HOST/DATABASE (default: sqlite:///FOLDER/study.db)")
    p.add_argument("--trials", type=positive_int, default=50, metavar="N",
                   help="finished (complete or pruned) trials the study stops at, counted over "
                        "all workers (default: %(default)s)")
    p.add_argument("--out", metavar="FOLDER",
                   help="folder of the study's database and trial folders (default: "
                        "runs/tune-DATA in the project folder, DATA the data set's name)")
    p.add_argument("--config", choices=sorted(configs.CONFIGS), default="paper",
                   help="named configuration the trials start from (default: %(default)s)")
    p.add_argument("--enqueue", action="append", default=[], metavar="NAME",
                   choices=sorted(configs.CONFIGS),
                   help="queue a trial with named configuration NAME's values of the searched "
                        "settings (once per study; may be given more than once), e.g. "
                        "--enqueue paper-tuned to start from a known good point")
    p.add_argument("--grace", type=positive_int, default=60, metavar="SECONDS",
                   help="a trial whose worker has sent no heartbeat for this long is marked "
                        "failed and run again (default: %(default)s)")
    p.add_argument("--summary", action="store_true",
                   help="run no trial: print the study's trials (also to FOLDER/NAME/"
                        "trials.tsv) and how to evaluate the best one")
    return parser


def parse_command(words):
    """The arguments of a command line that starts with its command (not with
    options), the named configuration's defaults applied. tune keeps the
    words it does not know, train's options, in `train_words`."""
    if words and words[0] == "tune":
        args, extra = build_parser().parse_known_args(words)
        args.train_words = extra
        return args
    args = build_parser().parse_args(words)
    if args.command == "snippet" and getattr(args, "config", "snippet") != "snippet":
        args = build_parser(snippet_preset=configs.SNIPPET_CONFIGS[args.config]).parse_args(words)
    elif args.command != "snippet" and getattr(args, "config", "tutorial") != "tutorial":
        args = build_parser(configs.CONFIGS[args.config]).parse_args(words)
    return args


def main(argv=None):
    """Run the command line on `argv` (default: sys.argv[1:]); return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    words = argv
    # No command, or options first: the tutorial's run, which keeps its options.
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        words = ["tutorial", *argv]
    args = parse_command(words)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupt)
    try:
        HANDLERS[args.command](args, argv)
    except CommandError as err:
        print(f"{PROG} {args.command}: error: {err}", file=sys.stderr)
        return err.status
    except Interrupted:
        return interrupt_status()
    except KeyboardInterrupt:
        status(f"Interrupted by {signal_name()}.")
        return interrupt_status()
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        print(f"{PROG} {args.command}: error: {where}{err.strerror or err}", file=sys.stderr)
        return EXIT_FAILED
    return 0
