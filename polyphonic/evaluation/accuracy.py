"""Frame-level accuracy of piano-roll predictions, under each definition Table 1 may mean.

Bay, Ehmann and Downie (2009), "Evaluation of multiple-F0 estimation and
tracking systems" (ISMIR), define the frame-level accuracy of a transcription
as TP / (TP + FP + FN), counting notes predicted on and sounding (TP), on and
silent (FP), off and sounding (FN). Boulanger-Lewandowski et al. (2012) report
an "expected frame-level accuracy" of each model's prediction of frame t from
the true frames before it, and say no more. The definitions, by name:

paper : each note predicted on when its probability is at least 1/2 (the
    round of Theano, the paper's library, sent 1/2 up), the counts summed over
    every frame of the split ("micro": a silent frame adds only its false
    positives). This reading reproduces the paper's Random row exactly: with
    p = 1/2 for every note every note is predicted on, so TP is the notes
    sounding, FP the others, FN = 0, and the accuracy is the mean polyphony
    over 88 (results/table1/random).
paper_per_frame : the same 0/1 prediction, the ratio taken in each frame and
    averaged over frames. A frame where nothing sounds and nothing is
    predicted scores 1 (a silence predicted right); one where nothing sounds
    but a note is predicted scores 0.
expected : the ratio of the expected counts of independent per-note
    predictions with these probabilities, E[TP] / (E[TP] + E[FP] + E[FN]),
    each summed over every frame. The counts are linear in each prediction,
    so E[TP] = sum p v, E[FP] = sum p (1 - v), E[FN] = sum (1 - p) v. Random
    scores n / (88 + n) for a mean polyphony n, below the paper's Random row
    on all four data sets; on an RNN of the paper's likelihood it reads about
    10 points below `paper`.
"""

import numpy as np

DEFINITIONS = ("paper", "paper_per_frame", "expected")
HEADLINE = "paper"  # the definition that reproduces the paper's figures


def counts(predicted, actual):
    """Per-frame (TP, FP, FN), each an array over frames, of `predicted`
    (0/1, or probabilities for expected counts) against the 0/1 `actual`."""
    p, v = np.asarray(predicted, np.float64), np.asarray(actual, np.float64)
    return (p * v).sum(axis=1), (p * (1 - v)).sum(axis=1), ((1 - p) * v).sum(axis=1)


def micro(predicted, actual):
    """TP / (TP + FP + FN) with the counts summed over all frames."""
    tp, fp, fn = (c.sum() for c in counts(predicted, actual))
    return float(tp / (tp + fp + fn))


def per_frame(predicted, actual):
    """The mean over frames of each frame's TP / (TP + FP + FN); 1 for a frame
    with nothing sounding and nothing predicted."""
    tp, fp, fn = counts(predicted, actual)
    total = tp + fp + fn
    return float(np.mean(np.where(total > 0, tp / np.maximum(total, 1), 1.0)))


def accuracies(probabilities, actual):
    """{definition: accuracy} of per-note probabilities (frames x notes) of
    the notes `actual` (0/1, the same shape), for every name in DEFINITIONS."""
    on = np.asarray(probabilities) >= 0.5
    return dict(paper=micro(on, actual), paper_per_frame=per_frame(on, actual),
                expected=micro(probabilities, actual))
