"""Experiment: the tutorial's configuration trained on piano rolls read as the
tutorial's own MIDI reader read them, in floating-point seconds.

The tutorial's reader (deeplearning.net `midi/utils.py`, on the Python 2
`midi` package) met the tracks one after another, each with its tick count
starting at 0, and timed an event at tick t as

    seconds = time + tempo * (t - beat) * 1e-6 / division

in floats, where `time` and `beat` were the seconds and tick of the latest
tempo event met so far (in any earlier track); a note filled frames
ceil(start / dt) up to ceil(end / dt). A note_off closed the most recent note
of its pitch if that one was still open. Our reader (midi/utils.py) computes
the same times exactly; this file transcribes the tutorial's arithmetic so
that the two sets of piano rolls, and the training runs on them, can be
compared. It is an experiment, not a user option.

    python results/tutorial-float-reader/float_reader.py OUT [--epochs 200] [--seed 48879]

compares the rolls of the Nottingham training split read both ways, then trains
the tutorial's model on the float-read rolls, writing OUT/log.tsv and a
checkpoint (running it again continues from the checkpoint).
"""

import argparse
import glob
import math
import os
import sys

import mido
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

import rnnrbm  # noqa: E402
from midi.utils import midiread  # noqa: E402


def tutorial_float_roll(path, r=rnnrbm.PITCH_RANGE, dt=rnnrbm.FRAME_SECONDS):
    """The piano roll the tutorial's reader made of `path` (float arithmetic)."""
    midi = mido.MidiFile(path, clip=True)
    division, tempo, time, beat = midi.ticks_per_beat, 500000, 0.0, 0
    notes = []  # [pitch, start, end or None], in the order met
    for track in midi.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "set_tempo":
                time = time + tempo * (tick - beat) * 1e-6 / division
                beat, tempo = tick, message.tempo
                continue
            seconds = time + tempo * (tick - beat) * 1e-6 / division
            if message.type == "note_on" and message.velocity > 0:
                notes.append([message.note, seconds, None])
            elif message.type in ("note_on", "note_off"):
                mine = [n for n in notes if n[0] == message.note]
                if mine and mine[-1][2] is None:
                    mine[-1][2] = seconds
    notes = [n for n in notes if n[2] is not None and r[0] <= n[0] < r[1]]
    roll = np.zeros((int(math.ceil(max(n[2] for n in notes) / dt)), r[1] - r[0]), np.uint8)
    for pitch, start, end in notes:
        roll[int(math.ceil(start / dt)):int(math.ceil(end / dt)), pitch - r[0]] = 1
    return roll


def compare_rolls(files):
    """Print how the float-read rolls differ from our exact reader's."""
    exact = [midiread(f, rnnrbm.PITCH_RANGE, rnnrbm.FRAME_SECONDS).piano_roll for f in files]
    floats = [tutorial_float_roll(f) for f in files]
    boundaries = moved = longer = differing = 0
    for a, b in zip(exact, floats):
        n = max(len(a), len(b))
        a = np.vstack([a, np.zeros((n - len(a), a.shape[1]), np.uint8)])
        b = np.vstack([b, np.zeros((n - len(b), b.shape[1]), np.uint8)])
        edges = lambda roll: np.diff(np.vstack([0 * roll[:1], roll, 0 * roll[:1]]).astype(int), axis=0)
        boundaries += np.count_nonzero(edges(a))
        moved += np.count_nonzero(edges(a) != edges(b))
        differing += np.count_nonzero(a != b)
        longer += len(b) != len(a)
    # A boundary moved by one frame changes two entries of the edge array.
    print(f"{len(files)} files: {sum(map(len, exact))} frames exact, {sum(map(len, floats))} "
          f"float-read, {longer} rolls of another length; {differing} cells differ; about "
          f"{moved // 2} of {boundaries} note boundaries ({50 * moved / boundaries:.2f} %) "
          "move by one frame", flush=True)
    return floats


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0xBEEF)
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(ROOT, "data", "Nottingham", "train", "*.mid")))
    rolls = compare_rolls(files)
    os.makedirs(args.out, exist_ok=True)
    checkpoint = os.path.join(args.out, "checkpoint.npz")
    if os.path.exists(checkpoint):
        model = rnnrbm.RnnRbm.load(checkpoint)
    else:
        model = rnnrbm.RnnRbm(seed=args.seed)
    model.train_rolls(rolls, 100, args.epochs, log_path=os.path.join(args.out, "log.tsv"),
                      checkpoint_path=checkpoint)


if __name__ == "__main__":
    main()
