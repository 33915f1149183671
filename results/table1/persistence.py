"""Frame-level accuracy of repeating the previous frame (the first frame of each
sequence predicted empty) on each data set's test split: a baseline for the
accuracy column. Run from the project folder: python results/table1/persistence.py"""
import sys

import numpy as np

sys.path.insert(0, ".")
from polyphonic.music.datasets import load_pickle_rolls  # noqa: E402
from polyphonic.evaluation.accuracy import micro as frame_accuracy  # noqa: E402

for name in ["Piano-midi.de", "Nottingham", "MuseData", "JSB Chorales"]:
    rolls = load_pickle_rolls(f"data/{name}.pickle", "test")
    previous = np.concatenate([np.vstack([np.zeros((1, roll.shape[1])), roll[:-1]])
                               for roll in rolls])
    print(f"{name}\t{100 * frame_accuracy(previous, np.concatenate(rolls)):.2f} %")
