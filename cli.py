"""The command line: `python rnnrbm.py [COMMAND] ...`.

Without a command it does what the tutorial's script did: train on the
Nottingham MIDI files, then write two generated pieces. Commands:
train, generate, evaluate, compare, bench. Errors in what the user gave
(arguments, files) end with a one-line message, never a traceback.
"""

import argparse
import glob
import os
import signal
import sys
import time

import numpy as np

import rnnrbm
from datasets import SPLITS, load_pickle_rolls
from midi.utils import MidiReadError, midiread, midiwrite

DOWNLOAD_HINT = "run ./download.sh to fetch the Nottingham data"


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with errors on one line (no usage block) and status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text}")
    return value


def non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {text}")
    return value


def positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def add_training_arguments(parser, out_default):
    parser.add_argument("--data", default="data/Nottingham/train/*.mid",
                        help="MIDI folder or glob, or a piano-roll dataset in the paper's "
                             "pickle format (*.pickle, *.pkl) (default: %(default)s)")
    parser.add_argument("--split", default="train", choices=SPLITS,
                        help="split of a pickle dataset (default: %(default)s)")
    parser.add_argument("--epochs", type=non_negative_int, default=200,
                        help="total epochs, counting those of a resumed run (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0xBEEF, help="random seed (default: %(default)s)")
    parser.add_argument("--n-hidden", type=positive_int, default=150,
                        help="hidden units of each RBM (default: %(default)s)")
    parser.add_argument("--n-hidden-recurrent", type=positive_int, default=100,
                        help="hidden units of the RNN (default: %(default)s)")
    parser.add_argument("--lr", type=positive_float, default=0.001,
                        help="learning rate (default: %(default)s)")
    parser.add_argument("--batch-size", type=positive_int, default=100,
                        help="frames per SGD chunk (default: %(default)s)")
    parser.add_argument("--dt", type=positive_float, default=rnnrbm.FRAME_SECONDS,
                        help="seconds per frame for MIDI files (default: %(default)s)")
    parser.add_argument("--pitch-range", type=int, nargs=2, metavar=("LOW", "HIGH"),
                        default=rnnrbm.PITCH_RANGE,
                        help="MIDI notes LOW..HIGH-1 (default: 21 109, the piano)")
    parser.add_argument("--backend", choices=sorted(rnnrbm.BACKENDS), default="c",
                        help="PyTensor backend (default: %(default)s)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="float type (default: %(default)s)")
    parser.add_argument("--out", default=out_default,
                        help="folder for checkpoint.npz, log.tsv and monitor.png "
                             "(default: %(default)s)")
    parser.add_argument("--checkpoint-every", type=positive_int, default=10,
                        help="epochs between checkpoints (default: %(default)s)")
    parser.add_argument("--resume", metavar="CHECKPOINT",
                        help="continue the run saved in CHECKPOINT (its model settings win)")
    parser.add_argument("--strict", action="store_true",
                        help="stop on the first unreadable MIDI file instead of skipping it")


def check_pitch_range(parser, low, high):
    if not 0 <= low < high <= 128:
        parser.error(f"--pitch-range {low} {high} is empty or outside MIDI notes 0..127")


def read_training_data(parser, args):
    """The training piano rolls, or exit with a one-line message."""
    r = tuple(args.pitch_range)
    if args.data.endswith((".pickle", ".pkl")):
        if not os.path.isfile(args.data):
            parser.error(f"--data {args.data}: no such file ({DOWNLOAD_HINT} --pickle)")
        try:
            return load_pickle_rolls(args.data, args.split, r)
        except ValueError as err:
            parser.exit(1, f"rnnrbm.py: {err}\n")
    pattern = os.path.join(args.data, "*.mid") if os.path.isdir(args.data) else args.data
    files = sorted(glob.glob(pattern))
    if not files:
        parser.exit(2, f"rnnrbm.py: no MIDI files match {pattern!r}; {DOWNLOAD_HINT}.\n")
    rolls = []
    for f in files:
        try:
            rolls.append(midiread(f, r, args.dt).piano_roll)
        except MidiReadError as err:
            if args.strict:
                parser.exit(1, f"rnnrbm.py: {err} (--strict)\n")
            print(f"warning: skipping {err}", file=sys.stderr)
    if not rolls:
        parser.exit(1, f"rnnrbm.py: none of the {len(files)} files in {pattern!r} "
                       f"could be read; {DOWNLOAD_HINT}.\n")
    return rolls


class ProgressBar:
    """One line per epoch on a terminal: chunks done, chunks per second, time left."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.start, self.last_draw = None, 0.0

    def __call__(self, done, total):
        now = time.perf_counter()
        if done == 1 or self.start is None:
            self.start = now
        if now - self.last_draw < 0.2 and done < total:
            return
        self.last_draw = now
        rate = (done - 1) / (now - self.start) if now > self.start else 0.0
        left = f"{(total - done) / rate:4.0f} s left" if rate else "   ? s left"
        bar = "#" * (30 * done // total)
        print(f"\r[{bar:<30}] {done}/{total} chunks {rate:5.1f}/s {left}", end="",
              file=self.stream, flush=True)
        if done == total:
            print("\r" + " " * 79 + "\r", end="", file=self.stream, flush=True)
            self.start = None


def raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def resume_command(argv, checkpoint):
    """The command line that continues this run from `checkpoint`."""
    kept, skip = [], False
    for a in argv:
        if skip or a == "train" or a.startswith("--resume="):
            skip = False
        elif a == "--resume":
            skip = True
        else:
            kept.append(a)
    return " ".join(["python rnnrbm.py", "train", "--resume", checkpoint, *kept])


def train(parser, args, argv):
    """Train as the arguments say; returns the model (exits on bad input)."""
    check_pitch_range(parser, *args.pitch_range)
    if args.resume:
        if not os.path.isfile(args.resume):
            parser.error(f"--resume {args.resume}: no such file")
        try:  # the data must be read as the checkpoint's model was trained
            config = rnnrbm.read_checkpoint(args.resume)["config"]
        except ValueError as err:
            parser.exit(1, f"rnnrbm.py: {err}\n")
        args.pitch_range, args.dt = config["r"], config["dt"]
    dataset = read_training_data(parser, args)
    os.makedirs(args.out, exist_ok=True)
    try:
        if args.resume:
            model = rnnrbm.RnnRbm.load(args.resume, backend=args.backend)
        else:
            model = rnnrbm.RnnRbm(args.n_hidden, args.n_hidden_recurrent, args.lr,
                                  tuple(args.pitch_range), args.dt, args.seed,
                                  args.backend, args.dtype)
    except ValueError as err:
        parser.exit(1, f"rnnrbm.py: {err}\n")
    checkpoint = os.path.join(args.out, "checkpoint.npz")
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)  # SIGTERM stops like Ctrl+C
    try:
        model.train_rolls(dataset, args.batch_size, args.epochs,
                          log_path=os.path.join(args.out, "log.tsv"),
                          checkpoint_path=checkpoint, checkpoint_every=args.checkpoint_every,
                          progress=ProgressBar() if sys.stderr.isatty() else None)
    except FloatingPointError as err:
        parser.exit(1, f"rnnrbm.py: {err}; the last good checkpoint is {checkpoint}\n")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if model.history:
        import compare  # it imports this module: ArgumentParser

        compare.plot({row[0]: row[1] for row in model.history},
                     os.path.join(args.out, "monitor.png"))
    if model.interrupted:
        print(f"Checkpoint written to {checkpoint} after epoch {len(model.history)}. "
              f"Resume with:\n  {resume_command(argv, checkpoint)}", flush=True)
    return model


def write_piece(model, roll, path_stem):
    """sample.mid, sample.png and sample.wav for one piano roll."""
    import synth

    midiwrite(path_stem + ".mid", roll, model.r, model.dt)
    rnnrbm.plot_piano_roll(roll, model.r, model.dt, path_stem + ".png")
    synth.write_wav(path_stem + ".wav", roll, model.r, model.dt)
    print(f"wrote {path_stem}.mid, .png and .wav")


def run_tutorial(parser, args, argv):
    model = train(parser, args, argv)
    for name in ("sample1", "sample2"):
        write_piece(model, model.generate_function(), os.path.join(args.out, name))


def run_train(parser, args, argv):
    model = train(parser, args, argv)
    if model.interrupted:
        sys.exit(130)


def run_generate(parser, args, argv):
    if not os.path.isfile(args.checkpoint):
        parser.error(f"{args.checkpoint}: no such file")
    if args.prime and not os.path.isfile(args.prime):
        parser.error(f"--prime {args.prime}: no such file")
    try:
        model = rnnrbm.RnnRbm.load(args.checkpoint, backend=args.backend)
        primer = None
        if args.prime:
            primer = midiread(args.prime, model.r, model.dt).piano_roll[:args.prime_frames]
    except ValueError as err:  # MidiReadError included
        parser.exit(1, f"rnnrbm.py: {err}\n")
    if args.seed is not None:
        model.rng.set_value(np.random.default_rng(args.seed))
    os.makedirs(args.out, exist_ok=True)
    # Every piece continues from the same RNN state, the one after the primer.
    u_start = None if primer is None else model.rnn_state_function(primer.astype(model.dtype))
    for n in range(1, args.n + 1):
        roll = model.generate_function(u_start, args.length, args.gibbs_steps)
        if primer is not None:
            roll = np.vstack([primer, roll])
        write_piece(model, roll, os.path.join(args.out, f"sample{n}"))


def build_parser():
    parser = ArgumentParser(
        prog="rnnrbm.py",
        description="RNN-RBM on polyphonic music (Boulanger-Lewandowski et al., 2012). "
                    "Without a command: the tutorial's run, training on the Nottingham "
                    "MIDI files and writing sample1 and sample2 (.mid, .png, .wav).")
    add_training_arguments(parser, out_default=".")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = commands.add_parser("train", help="train a model, with checkpoints and a log",
                            description="Train an RNN-RBM; Ctrl+C or SIGTERM writes a "
                                        "checkpoint and prints the command that resumes.")
    add_training_arguments(p, out_default="run")

    p = commands.add_parser("generate", help="generate pieces from a checkpoint",
                            description="Generate pieces from a checkpoint: sampleN.mid, "
                                        ".png and .wav in --out.")
    p.add_argument("checkpoint")
    p.add_argument("-n", type=positive_int, default=2, help="pieces (default: %(default)s)")
    p.add_argument("--length", type=positive_int, default=200,
                   help="frames to generate per piece (default: %(default)s)")
    p.add_argument("--gibbs-steps", type=positive_int, default=25,
                   help="Gibbs steps per frame (default: %(default)s)")
    p.add_argument("--prime", metavar="MIDI",
                   help="start from the opening of this MIDI file (the RNN reads it first; "
                        "the pieces begin with it)")
    p.add_argument("--prime-frames", type=positive_int, default=32,
                   help="frames of the primer to use (default: %(default)s)")
    p.add_argument("--seed", type=int, help="reseed the sampler (default: the checkpoint's state)")
    p.add_argument("--backend", choices=sorted(rnnrbm.BACKENDS), default="c")
    p.add_argument("--out", default="samples", help="output folder (default: %(default)s)")

    for name, text in (("evaluate", "log-likelihood (AIS) and accuracy on a pickle dataset"),
                       ("compare", "a training log beside the tutorial's published one"),
                       ("bench", "speed, compile time and memory of each configuration")):
        commands.add_parser(name, help=text, add_help=False)
    return parser


DELEGATED = ("evaluate", "compare", "bench")  # modules with their own main(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in DELEGATED:  # these parse their own arguments
        module = __import__(argv[0])
        return module.main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = dict(train=run_train, generate=run_generate)
    return handlers.get(args.command, run_tutorial)(parser, args, argv)
