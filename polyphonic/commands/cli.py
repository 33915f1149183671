"""The command line: `python rnnrbm.py [COMMAND] [OPTIONS]` (or `rnnrbm`, installed).

One argparse parser, one subcommand per task: tutorial (also what runs with
no command: train on the Nottingham MIDI files, then write two generated
pieces, as the tutorial's script did), train, generate, snippet, evaluate,
compare, bench and tune. Options go after their command. Each handler checks
what it was given and calls the module that does the work
(training.workflow, training.tune, evaluation.scoring, ...); this is the only
module that parses a command line of commands. Exit statuses are console.py's;
errors are one line naming the option or file at fault, never a traceback.
Default inputs are looked up in the project's folder (data/), outputs go to
its runs/ folder (ignored by git); paths a user gives are taken as given.
"""

import argparse
import os
import shlex
import signal
import sys
import time

import rnnrbm
from polyphonic.console import (EXIT_FAILED, EXIT_USAGE, PROG, Interrupted, Progress, UserError,
                                checkpoint_state, display, existing_file, interpreter_and_script,
                                interrupt, interrupt_status, output_folder, signal_name, status)
from polyphonic.evaluation import bench, compare
from polyphonic.music import pieces
from polyphonic.music.datasets import NAMES, SPLITS
from polyphonic.paths import RUNS
from polyphonic.training import checkpoints, configs, workflow
from polyphonic.training.options import (OptionParser, add_run_arguments, add_training_arguments,
                                         bounded_int, positive_int)


class ArgumentParser(OptionParser):
    """The options' parser, and a word for options written before their command."""

    def error(self, message):
        extra = message.split(": ", 1)[-1].split()
        if message.startswith("unrecognized arguments") and extra[0] in COMMANDS:
            self.exit(EXIT_USAGE, f"{PROG}: error: options before the command {extra[0]!r} are "
                                  f"not allowed: write {PROG} {extra[0]} [OPTIONS] (see {PROG} "
                                  "--help)\n")
        super().error(message)


# ---------------------------------------------------------------- train

def run_tutorial(args, argv):
    model = workflow.train(args, argv)
    for name in ("sample1", "sample2"):
        pieces.write_piece(model, model.to_frames(model.generate_function()),
                           os.path.join(args.out, name))


def run_train(args, argv):
    workflow.train(args, argv)


# ---------------------------------------------------------------- generate

def add_sampler_arguments(parser, out_default):
    """The options load_sampler reads: --seed, --backend and --out (runs/OUT_DEFAULT)."""
    parser.add_argument("--seed", type=int,
                        help="reseed the sampler (default: the checkpoint's state; an "
                             "RNN-NADE's, its training seed)")
    parser.add_argument("--backend", choices=sorted(rnnrbm.BACKENDS), default="c")
    parser.add_argument("--out", default=os.path.join(RUNS, out_default), metavar="FOLDER",
                        help=f"output folder (default: runs/{out_default} in the project folder)")


def load_sampler(cls, args):
    """(model, output folder) for generating: the model of class `cls` from
    args.checkpoint on args.backend, its sampler reseeded if args.seed is set."""
    import numpy as np

    out = output_folder("--out", args.out)
    workflow.compile_message(args.backend)
    try:
        model = cls.load(args.checkpoint, backend=args.backend)
    except ValueError as err:
        raise UserError(str(err)) from None
    if args.seed is not None and model.rng is not None:  # an RNN-NADE draws with NumPy's
        model.rng.set_value(np.random.default_rng(args.seed))
    return model, out


def run_generate(args, argv):
    import numpy as np

    from midi.utils import MidiReadError, midiread

    config = checkpoint_state("CHECKPOINT", args.checkpoint)["config"]
    kind = config.get("model", "rnnrbm")
    if kind not in ("rnnrbm", "rnn-nade"):
        raise UserError(f"CHECKPOINT {args.checkpoint}: a model of kind {kind!r}; generate "
                        "takes an RNN-RBM or an RNN-NADE" + (
                            " (snippet generate takes this one)" if kind == "snippet" else ""))
    per_step = config.get("frames_per_step", 1)
    primer = None
    if args.prime:  # read before compiling, so that a bad primer is named at once
        try:
            primer = midiread(existing_file("--prime", args.prime), config["r"], config["dt"],
                              frames_per_beat=config.get("frames_per_beat"),
                              encoding=config.get("encoding", "piano-roll"),
                              transpose=args.transpose).piano_roll
        except MidiReadError as err:
            raise UserError(str(err)) from None
        if args.prime_frames is not None and args.prime_frames > len(primer):
            raise UserError(f"--prime-frames {args.prime_frames}: {args.prime} has only "
                            f"{len(primer)} frames")
        primer = primer[:args.prime_frames or 32]
        primer = primer[:len(primer) // per_step * per_step]  # whole steps for the RNN
        if not len(primer):
            raise UserError(f"--prime-frames: fewer frames than one step of the model "
                            f"({per_step})")
    if kind == "rnn-nade":  # exact ancestral sampling, seeded; no Gibbs chains
        from polyphonic.models.nade import RnnNade

        model, out = load_sampler(RnnNade, args)
        rng = np.random.default_rng(model.config["seed"] if args.seed is None else args.seed)
        u_start = None if primer is None else model.rnn_state(primer)

        def draw():
            return model.generate_roll(args.length, rng, u_start)
    else:
        model, out = load_sampler(rnnrbm.RnnRbm, args)
        u_start = None if primer is None else model.rnn_state_function(
            model.to_steps(primer).astype(model.dtype))

        def draw():
            return model.to_frames(model.generate_function(
                u_start, -(-args.length // per_step), args.gibbs_steps, args.chain_start))
    # Every piece continues from the same RNN state, the one after the primer.
    for n in range(1, args.n + 1):
        roll = draw()
        if primer is not None:
            roll = np.vstack([primer, roll])
        pieces.write_piece(model, roll, os.path.join(out, f"sample{n}"))


# ---------------------------------------------------------------- snippet

def run_snippet(args, argv):
    """snippet train: train a snippet RBM (models/snippet.py) as `train` trains an
    RNN-RBM; snippet generate: write -n snippets of a checkpoint."""
    from polyphonic.models import snippet

    if args.snippet_command == "train":
        workflow.train(args, argv)
        return
    checkpoint_state("CHECKPOINT", args.checkpoint)
    model, out = load_sampler(snippet.SnippetRbm, args)
    for n, roll in enumerate(model.generate(args.n, args.gibbs_steps), 1):
        pieces.write_piece(model, roll, os.path.join(out, f"sample{n}"))


# ---------------------------------------------------------------- evaluate

def ladder_length(text):
    """evaluate --tempering: 0 (plain Gibbs chains) or a ladder of 2 temperatures or more."""
    value = int(text)
    if value == 1 or value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or an integer >= 2, not {text}")
    return value


def frame_model_kind(checkpoint, config):
    """What evaluate scores a checkpoint as (scoring.evaluate's kind): an
    RNN-RBM, an RNN, the Random row, or an RBM over single piano-roll frames
    (train --model rbm, or an RBM pretraining's rbm.npz); a UserError for
    anything else. Sets config's pitch range for a pretraining's RBM, which
    keeps none (it models the paper's 88 notes)."""
    kind = config.get("model", "rnnrbm")
    if kind == "snippet" and config["frames"] == 1 and config["encoding"] == "piano-roll":
        return "rbm"
    if kind == "rbm" and config["n_visible"] == rnnrbm.PITCH_RANGE[1] - rnnrbm.PITCH_RANGE[0]:
        config.setdefault("r", rnnrbm.PITCH_RANGE)
        config.setdefault("dt", rnnrbm.FRAME_SECONDS)
        return "rbm"
    if kind not in ("rnnrbm", "rnn", "nade", "rnn-nade", "random"):
        raise UserError(f"CHECKPOINT {checkpoint}: a model of kind {kind!r}"
                        + (" over windows of several frames or note states" * (kind == "snippet"))
                        + "; evaluate takes an RNN-RBM, an RNN, an RBM or a NADE over single "
                        "frames, an RNN-NADE or the word random")
    return kind


def run_evaluate(args, argv):
    import json

    import numpy as np

    from polyphonic.evaluation import scoring
    from polyphonic.models import nade, rnn
    from polyphonic.models.numpy_rnnrbm import PARAM_NAMES
    from polyphonic.music.datasets import load_pickle_rolls

    if args.checkpoint == "random":  # Table 1's Random row: no model, no checkpoint
        state, config = {}, dict(model="random", r=rnnrbm.PITCH_RANGE, dt=rnnrbm.FRAME_SECONDS)
    else:
        state = checkpoint_state("CHECKPOINT", args.checkpoint)
        config = state["config"]
    kind = frame_model_kind(args.checkpoint, config)
    if (config.get("frames_per_step", 1), config.get("encoding", "piano-roll")) != \
            (1, "piano-roll"):
        raise UserError(f"CHECKPOINT {args.checkpoint}: evaluate scores models of one "
                        "piano-roll frame per step; this one has --frames-per-step or "
                        "--encoding of its own")
    if args.tempering and (not args.mixing or kind not in ("rnnrbm", "rbm")):
        raise UserError(f"--tempering {args.tempering}: tempering runs in the mixing check of "
                        "an RNN-RBM or an RBM (--mixing FRAMES, not 0)")
    if args.out:
        output_folder("--out", os.path.dirname(os.path.abspath(args.out)))
    trained_on = state.get("data") or {}  # what the checkpoint says it was trained on
    transpose = trained_on.get("transpose", False)
    if args.data:  # MIDI files, read on the model's own grid
        dataset = args.data
        if workflow.is_pickle(dataset):
            raise UserError(f"--data {dataset}: a pickle data set; --data is for MIDI files, "
                            "--pickle for these")
        rolls = workflow.read_midi_data("--data", args.data, config["r"], config["dt"],
                                        config.get("frames_per_beat"), transpose=transpose)
    else:
        dataset = workflow.named_dataset(args.pickle or "Nottingham")
        if not os.path.exists(dataset):
            raise workflow.unknown_data("--pickle", dataset, " (run ./download.sh --pickle)"
                                        if dataset != args.pickle else "")
        existing_file("--pickle", dataset)
        if config.get("frames_per_beat"):
            raise UserError(f"CHECKPOINT {args.checkpoint}: trained on a grid of beats "
                            "(--frames-per-beat); the pickle data sets have their own grid: "
                            "evaluate it on MIDI files with --data")
        try:
            rolls = load_pickle_rolls(dataset, args.split, config["r"])
        except ValueError as err:
            raise UserError(str(err)) from None
    rolls = rolls[:args.sequences]
    scored_on = workflow.grid(dataset, config["dt"], config.get("frames_per_beat"), transpose)
    if trained_on.get("grid", scored_on) != scored_on:
        status(f"warning: the model was trained on {trained_on['grid']}, this is {scored_on}: its "
               "figures are not those of a model of this data")
    names = {"rnn": rnn.PARAM_NAMES, "rbm": ("W", "bv", "bh"), "nade": nade.NADE_PART,
             "rnn-nade": nade.NADE_PART + nade.RNN_PART, "random": ()}.get(
        kind, PARAM_NAMES + ("u0",) * ("u0" in state))
    params = {name: state[name].astype(np.float64) for name in names}
    frames = sum(map(len, rolls))
    rows = None
    if args.frames and args.frames < frames:  # a random sample, fixed by the seed
        rows = np.sort(np.random.default_rng(args.seed).choice(frames, args.frames, replace=False))
    status((f"evaluating {args.frames:,} frames drawn at random from " if rows is not None else
            "evaluating ") + f"{len(rolls)} sequences ({frames:,} frames) of "
           + (f"{display(args.data)} " if args.data else f"the {args.split} split ")
           + ({"rnn": "exactly (an RNN)", "random": "exactly (the Random row)",
               "nade": f"exactly (a NADE; marginals from {100 * args.samples:,} draws)",
               "rnn-nade": f"exactly (an RNN-NADE; marginals from {args.samples} draws per "
                           "frame)"}.get(kind) or
              f"with {args.chains} AIS chains x {args.temperatures} temperatures"
              + (" (one RBM for every frame)" if kind == "rbm" else f" on {args.jobs} processes")))
    start = time.perf_counter()
    try:
        metrics = scoring.evaluate(params, rolls, args.seed, args.chains, args.temperatures,
                                    jobs=args.jobs, progress=Progress("frame", plain=True),
                                    ais_dtype=args.ais_dtype, kind=kind, cache=args.cache,
                                    mixing=args.mixing if kind in ("rnnrbm", "rbm") else 0,
                                    rows=rows, samples=args.samples, tempering=args.tempering)
    except ValueError as err:  # a --cache folder of another evaluation
        raise UserError(f"--cache {err}") from None
    metrics["seconds"] = round(time.perf_counter() - start, 1)
    check = metrics.get("mixing")
    if check and not check["mixed"]:
        chains = "tempering ladders" if check.get("sampler") == "tempering" else "Gibbs chains"
        status(f"warning: the {chains} do not mix on {check['frames']} frames: accuracy_paper "
               + ", ".join(f"{100 * scores['paper']:.1f} % from {name}"
                           for name, scores in check["accuracy_by_start"].items())
               + f" (tolerance {100 * check['tolerance']:g} points): the accuracies and the "
               "likelihood rest on chains that stay where they start, not measurements")
    metrics.update(split=None if args.data else args.split, dataset=dataset,
                   checkpoint=args.checkpoint, seed=args.seed,
                   command=shlex.join([*interpreter_and_script(), *argv]))
    text = json.dumps(metrics, indent=2, ensure_ascii=False)  # the command pastes back as it is
    print(text)
    if args.out:
        with checkpoints.atomic_output(args.out) as path, open(path, "w") as f:
            f.write(text + "\n")


# ---------------------------------------------------------------- compare, bench, tune

def run_compare(args, argv):
    existing_file("LOG", args.log)
    existing_file("--published", args.published)
    try:
        ours, published = compare.read_log(args.log), compare.read_log(args.published)
    except ValueError as err:
        raise UserError(str(err)) from None
    print("epoch\tours\tpublished\tdifference")
    for row in compare.comparison_rows(ours, published):
        print("%d\t%.4f\t%.4f\t%+.4f" % row)
    png = args.plot or os.path.join(os.path.dirname(os.path.abspath(args.log)), "compare.png")
    output_folder("--plot", os.path.dirname(os.path.abspath(png)))
    with checkpoints.atomic_output(png) as path:
        compare.plot(ours, path, f"{display(args.log)} beside {display(args.published)}",
                     published)
    print(f"wrote {display(png)}")


def run_bench(args, argv):
    if args.rnn_nade:
        from polyphonic.evaluation import bench_nade

        existing_file("the Nottingham pickle", os.path.join(workflow.DATA, "Nottingham.pickle"),
                      " (run ./download.sh --pickle)")
        bench_nade.run(*([args.chunks] if args.chunks else []))
        return
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


def run_tune(args, argv):
    from polyphonic.training import tune  # which imports optuna when it runs

    tune.run(args, argv)


# ---------------------------------------------------------------- the parser

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
                    "Named configurations (polyphonic/training/configs.py; options given override "
                    "them): "
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
                   help="Gibbs steps per frame of an RNN-RBM (an RNN-NADE samples exactly, "
                        "with no chain; default: %(default)s)")
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
        description="The RBM snippet generator of the first TensorFlow post "
                    "(polyphonic/models/snippet.py): an "
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
    q.set_defaults(model="snippet", select_every=0, pretrain_rnn_epochs=0, **snippet_preset)
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
        "evaluate", help="log-likelihood (AIS) and accuracy on a data set or MIDI files",
        description="Log-likelihood per frame and frame-level accuracy of a trained RNN-RBM "
                    "(or of an RNN, or of Table 1's Random row, exactly) on a split of a "
                    "piano-roll dataset in the paper's pickle format or on MIDI files, as "
                    "Table 1 of the paper reports them: log P(v_t | v_<t) with each "
                    "conditional RBM's partition function estimated by annealed importance "
                    "sampling, the standard error of that estimate and how many chains it "
                    "rests on (effective_chains_*: the effective sample size of each frame's "
                    "AIS weights); accuracy TP / (TP + FP + FN) of each frame's prediction "
                    "given the true past, from the per-note marginals (for an RNN-RBM "
                    "estimated from the AIS chains' final states), under three definitions: "
                    "accuracy_paper (notes of marginal at least 1/2 predicted on, counts "
                    "summed over all frames: the paper's), accuracy_paper_per_frame (its mean "
                    "over frames) and accuracy_expected (expected counts). See "
                    "polyphonic/evaluation/accuracy.py.")
    p.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="checkpoint.npz, best.npz or rnn-best.npz written by training, or "
                        "the word random for Table 1's Random row (every note on with "
                        "probability 1/2)")
    data = p.add_mutually_exclusive_group()
    data.add_argument("--pickle", metavar="FILE",
                      help="dataset, a path or one of " + ", ".join(NAMES) + " (default: "
                           "Nottingham: data/Nottingham.pickle in the project folder)")
    data.add_argument("--data", metavar="PATH",
                      help="MIDI files instead (a folder, a glob or one file), read on the "
                           "model's own grid, e.g. data/Nottingham/test")
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
    p.add_argument("--samples", type=positive_int, default=100,
                   help="exact draws per frame for the note marginals of an RNN-NADE (a "
                        "NADE's, the same for every frame: 100 times as many, once; default: "
                        "%(default)s)")
    p.add_argument("--frames", type=positive_int, metavar="N",
                   help="score only N frames drawn at random (with --seed) from the whole "
                        "split, each still given its sequence's true past: the figures of "
                        "a random sample, in minutes, with the sampling error of its "
                        "log-likelihood (log_likelihood_sampling_stderr; default: every frame)")
    p.add_argument("--mixing", type=bounded_int(0), default=1000, metavar="FRAMES",
                   help="check on this many frames that Gibbs chains started at zeros, at the "
                        "previous true frame and at a data frame agree with each other and with "
                        "AIS on the accuracy (polyphonic/evaluation/mixing.py); 0 for no check "
                        "(default: %(default)s; an RNN-RBM or an RBM over frames, whose "
                        "chains are pooled, as one RBM serves every frame)")
    p.add_argument("--tempering", type=ladder_length, default=0, metavar="TEMPERATURES",
                   help="the mixing check's chains are parallel-tempering ladders of this many "
                        "temperatures (polyphonic/evaluation/tempering.py), for models whose "
                        "Gibbs chains do not mix; 0 for plain Gibbs chains (default: %(default)s)")
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
                                        "the NumPy reference step. polyphonic/evaluation/"
                                        "bench.py's docstring says "
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
    p.add_argument("--rnn-nade", action="store_true",
                   help="instead, the RNN-NADE's training step beside an independent PyTorch "
                        "one (polyphonic/evaluation/bench_nade.py; --chunks default 100)")

    p = commands.add_parser(
        "tune", help="hyperparameter search with Optuna: several workers, one study",
        usage=f"{PROG} tune --study NAME [--storage URL] [--trials N] [--out FOLDER] "
              "[--config NAME] [--enqueue NAME] [--summary] [TRAIN OPTIONS]",
        description="A hyperparameter search (Optuna, polyphonic/training/tune.py) over the "
                    "paper's recipe: the "
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
    args = parse_words(build_parser(), words)
    if args.command == "snippet" and getattr(args, "config", "snippet") != "snippet":
        args = parse_words(build_parser(snippet_preset=configs.SNIPPET_CONFIGS[args.config]),
                           words)
    elif args.command != "snippet" and getattr(args, "config", "tutorial") != "tutorial":
        args = parse_words(build_parser(configs.CONFIGS[args.config]), words)
    return args


def parse_words(parser, words):
    """parser.parse_args(words), but a word no parser knows is refused by the
    parser of the command it follows, whose error points to that command's
    --help (argparse leaves it to the top-level parser)."""
    args, extra = parser.parse_known_args(words)
    if extra:
        command_parser(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def command_parser(parser, args):
    """The parser of the (sub)command that `args` ran."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            name = getattr(args, action.dest, None)
            if name in action.choices:
                return command_parser(action.choices[name], args)
    return parser


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
    except UserError as err:
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
