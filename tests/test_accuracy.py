"""Frame-level accuracy under its three definitions (evaluation/accuracy.py), against a
note-by-note count, and the paper's Random row recomputed from the four test splits."""

import itertools

import numpy as np
import pytest

from polyphonic.evaluation import accuracy
from polyphonic.music.datasets import load_pickle_rolls


def counted(predicted, actual):
    """TP, FP, FN of each frame, note by note."""
    rows = []
    for p_frame, v_frame in zip(predicted, actual):
        tp = fp = fn = 0.0
        for p, v in zip(p_frame, v_frame):
            tp, fp, fn = tp + p * v, fp + p * (1 - v), fn + (1 - p) * v
        rows.append((tp, fp, fn))
    return rows


def test_each_definition_against_counting_note_by_note():
    rng = np.random.default_rng(1)
    actual = (rng.random((40, 7)) < 0.3).astype(int)
    actual[:3] = 0  # silent frames
    probabilities = rng.random((40, 7)) ** 2
    probabilities[1] = 0.0  # a silence predicted right
    probabilities[5, 2] = 0.5  # exactly 1/2 counts as on
    on = (probabilities >= 0.5).astype(float)
    assert on[5, 2] == 1
    rows = counted(on, actual)
    tp, fp, fn = map(sum, zip(*rows))
    frames = [1.0 if t + f + n == 0 else t / (t + f + n) for t, f, n in rows]
    etp, efp, efn = map(sum, zip(*counted(probabilities, actual)))
    got = accuracy.accuracies(probabilities, actual)
    assert set(got) == set(accuracy.DEFINITIONS)
    assert got["paper"] == pytest.approx(tp / (tp + fp + fn))
    assert got["paper_per_frame"] == pytest.approx(np.mean(frames))
    assert got["expected"] == pytest.approx(etp / (etp + efp + efn))
    assert frames[1] == 1.0 and frames[0] == 0.0  # frame 0 predicts notes in a silence


def test_a_perfect_prediction_scores_one_and_its_opposite_zero():
    actual = np.array(list(itertools.product([0, 1], repeat=4)))
    for name, value in accuracy.accuracies(actual.astype(float), actual).items():
        assert value == 1.0, name
    opposite = accuracy.accuracies(1.0 - actual, actual)
    assert opposite["paper"] == opposite["expected"] == 0.0
    assert opposite["paper_per_frame"] == 0.0  # the all-on guess in the silent frame scores 0


def test_frame_accuracy_counts_true_and_false_positives_and_negatives():
    actual = np.array([[1, 1, 0, 0], [0, 1, 1, 0]])
    predicted = np.array([[1, 0, 1, 0], [0, 1, 1, 1]])
    # TP = 3, FP = 2, FN = 1
    assert accuracy.micro(predicted, actual) == pytest.approx(3 / 6)


def test_expected_accuracy_uses_the_marginals_as_expected_counts():
    actual = np.array([[1, 1, 0, 0], [0, 0, 0, 0]])
    marginals = np.array([[0.5, 1.0, 0.25, 0.0], [0.25, 0.0, 0.0, 0.0]])
    # E[TP] = 1.5, E[FP] = 0.25 + 0.25, E[FN] = 0.5; the empty frame adds only FP.
    assert accuracy.micro(marginals, actual) == pytest.approx(1.5 / 2.5)


# The paper's Random row (Table 1, accuracy in %) and what each definition gives
# for p = 1/2 everywhere: `paper` predicts every note on (mean polyphony / 88),
# `expected` gives n / (88 + n).
PAPER_RANDOM = {"Nottingham": 4.53, "Piano-midi.de": 3.35, "MuseData": 3.74, "JSB Chorales": 4.42}


@pytest.mark.parametrize("name", sorted(PAPER_RANDOM))
def test_the_paper_definition_reproduces_the_random_row(name, paper_pickle):
    frames = np.concatenate(load_pickle_rolls(paper_pickle(name), "test"))
    got = accuracy.accuracies(np.full(frames.shape, 0.5), frames)
    assert round(100 * got["paper"], 2) == PAPER_RANDOM[name]
    polyphony = frames.sum(axis=1).mean()
    assert got["paper"] == pytest.approx(polyphony / 88)
    assert got["expected"] == pytest.approx(polyphony / (88 + polyphony))
    assert round(100 * got["expected"], 2) < PAPER_RANDOM[name]  # `expected` misses the row
