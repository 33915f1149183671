"""Expected frame-level accuracy (the expected counts of accuracy.micro) of
predictions that are the same for every frame, on each test split: first the
note frequencies of the training split, which any model of single frames
trained to its maximum likelihood (the paper's RBM and NADE rows) has as its
marginals; then the best any fixed prediction can do, knowing the test split's
frequencies (the counts being linear in each note's prediction, the best is
on for the k most frequent notes and off for the rest, for the best k).
Run from the project folder: python results/table1/stationary.py"""
import sys

import numpy as np

sys.path.insert(0, ".")
from polyphonic.music.datasets import load_pickle_rolls  # noqa: E402
from polyphonic.evaluation.accuracy import micro as frame_accuracy  # noqa: E402

print("data set\ttraining frequencies\tbest fixed prediction")
for name in ["Piano-midi.de", "Nottingham", "MuseData", "JSB Chorales"]:
    frequencies = np.concatenate(load_pickle_rolls(f"data/{name}.pickle", "train")).mean(axis=0)
    test = np.concatenate(load_pickle_rolls(f"data/{name}.pickle", "test"))
    order = np.argsort(test.mean(axis=0))[::-1]
    best = max(frame_accuracy(np.tile(np.isin(np.arange(test.shape[1]), order[:k]),
                                      (len(test), 1)), test) for k in range(1, 30))
    print(f"{name}\t{100 * frame_accuracy(np.tile(frequencies, (len(test), 1)), test):.2f} %"
          f"\t{100 * best:.2f} %")
