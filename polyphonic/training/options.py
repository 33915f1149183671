"""The settings of a training run, as options: defaults, checks, and words.

A run of `train` (or `snippet train`) is described by its options: these
functions add them to a parser (the command line's and `parse_train`'s are
the same), parse a run's words with its named configuration's defaults
(training/configs.py), and write settings back as words (`option_words`), which is how
a trial of the search records the command that reruns it.
"""

import argparse
import os
import textwrap

from midi.utils import ENCODINGS
from polyphonic.console import EXIT_USAGE, PROG
from polyphonic.music.datasets import NAMES, SPLITS
from polyphonic.paths import RUNS
from polyphonic.training import configs

LONG_SONG_FRAMES = 50_000  # 4 hours at the tutorial's 0.3 s per frame
MODELS = ("rnnrbm", "rnn", "rbm", "nade", "rnn-nade")  # train --model: workflow.BUILDERS


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help text, its lines never broken inside a hyphenated name
    such as rnn-nade-sgd (textwrap breaks on hyphens by default)."""

    def _split_lines(self, text, width):
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text, width, indent):
        return textwrap.fill(" ".join(text.split()), width, initial_indent=indent,
                             subsequent_indent=indent, break_on_hyphens=False)


class OptionParser(argparse.ArgumentParser):
    """argparse with errors on one line (no usage block), status 2, no
    abbreviated options (so that a printed resume command means one thing),
    and names kept whole in its help (HelpFormatter)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message):
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


def add_training_arguments(parser, out_default, preset=None):
    """The options of train and tutorial; `preset` (a configs.CONFIGS entry)
    replaces their defaults."""
    import rnnrbm  # as add_run_arguments does

    add_run_arguments(parser, out_default, configs.CONFIGS, "tutorial", "frames per SGD chunk "
                      "(steps of --frames-per-step frames each in a multi-frame model; "
                      "frames per mini-batch of --model rbm)")
    parser.add_argument("--model", choices=MODELS, default="rnnrbm",
                        help="what to train: rnnrbm, the RNN-RBM; rnn, the RNN alone, its "
                             "notes independent given the past (Table 1's RNN rows); rbm, an "
                             "RBM over single frames, no past (Table 1's RBM row; --n-hidden, "
                             "--lr, --k, --momentum); nade, a NADE over single frames "
                             "(Table 1's NADE row); rnn-nade, the RNN-NADE, exact likelihood "
                             "(--n-hidden its NADE's units) (default: %(default)s)")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                        help="descent rule of --model rnn, nade and rnn-nade: sgd (with "
                             "--momentum) or adam (default: %(default)s)")
    parser.add_argument("--n-hidden-recurrent", type=positive_int, default=100,
                        help="hidden units of the RNN (default: %(default)s)")
    parser.add_argument("--recurrence", choices=rnnrbm.RECURRENCES, default="tanh",
                        help="the RNN's units (of --model rnnrbm, rnn and rnn-nade, and of "
                             "the RNN pretraining): tanh, the tutorial's, or lstm, LSTM cells "
                             "with input, forget and output gates (default: %(default)s)")
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
    import rnnrbm  # its defaults; PyTensor is imported only when a parser is built

    parser.add_argument("--config", choices=sorted(presets), default=default_preset,
                        help="named configuration whose settings replace these defaults "
                             "(options given still win; see polyphonic/training/configs.py): "
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


def option_words(settings):
    """Command-line words of train options given as a dict keyed as in
    training/configs.py: {"lr": 0.01, "n_hidden": 50, "learn_u0": True} gives
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


def parse_train(words, prog=f"{PROG} train"):
    """The settings of `train WORDS` (an argparse Namespace), the named
    configuration's (--config) defaults applied; argparse's SystemExit(2) for
    a wrong option."""
    def parse(preset):
        parser = OptionParser(prog=prog)
        add_training_arguments(parser, "train", preset)
        return parser.parse_args(words)
    args = parse(None)
    return parse(configs.CONFIGS[args.config]) if args.config != "tutorial" else args
