"""Print Table 1's rows of ours beside the paper's from the JSON files of this folder
and ../nade: `python results/table1/simple-rows/table.py [CONFIG ...]` (default: every
run of OURS, then, with `selected` or by default, the RNN-NADE run of best
validation score on each data set; from the project folder)."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = ("Piano-midi.de", "Nottingham", "MuseData", "JSB Chorales")
# The paper's Table 1: (log-likelihood, accuracy) per data set, in DATA's order.
PAPER = {
    "RBM": [(-10.17, 5.63), (-5.25, 5.81), (-9.56, 8.19), (-7.43, 4.47)],
    "NADE": [(-10.28, 5.82), (-5.48, 22.67), (-10.06, 7.65), (-7.19, 17.88)],
    "RNN (SGD)": [(-8.37, 19.33), (-4.46, 62.93), (-8.13, 23.25), (-8.71, 28.46)],
    "RNN (HF)": [(-7.66, 23.34), (-3.89, 66.64), (-7.19, 30.49), (-8.58, 29.41)],
    "RNN-NADE (SGD)": [(-7.48, 20.69), (-2.91, 64.95), (-6.74, 24.91), (-5.83, 32.11)],
    "RNN-NADE (HF)": [(-7.05, 23.42), (-2.31, 71.50), (-5.60, 32.60), (-5.56, 32.50)],
}
# Each run of ours (its folders' prefix): the folder beside this one that holds
# it, its train options, and the paper's rows to print beside it.
OURS = {
    "rbm": ("simple-rows", "--config rbm", ["RBM"]),
    "rnn-sgd": ("simple-rows", "--config rnn-sgd", ["RNN (SGD)"]),
    "rnn": ("simple-rows", "--config rnn", ["RNN (HF)"]),
    "nade": ("nade", "--config nade", ["NADE"]),
    "rnn-nade": ("nade", "--config rnn-nade", ["RNN-NADE (HF)"]),
    "rnn-nade-sgd": ("nade", "--config rnn-nade-sgd", ["RNN-NADE (SGD)"]),
    "rnn-nade-sgd-lr-0.01": ("nade", "--config rnn-nade-sgd --lr 0.01", []),
    "rnn-nade-lstm": ("nade", "--config rnn-nade-lstm", ["RNN-NADE (HF)"]),
    # The best trial of JSB Chorales' search (../nade/tune-rnn-nade-lstm-jsb-chorales).
    "rnn-nade-lstm-tuned": ("nade", "--config rnn-nade-lstm --lr 0.00615 --lr-rnn 0.000364 "
                            "--n-hidden 125 --clip-norm 27.2 (rounded)", []),
    # The searches' higher Adam rates (JSB Chorales 0.006, Nottingham 0.0025) on MuseData.
    "rnn-nade-lstm-lr-0.003": ("nade", "--config rnn-nade-lstm --lr 0.003 --epochs 25", []),
    # A smaller RNN against Piano-midi.de's overfitting.
    "rnn-nade-lstm-rnn-50": ("nade", "--config rnn-nade-lstm --n-hidden-recurrent 50 "
                             "--epochs 30", []),
}


def slug(name):
    return name.lower().replace(" ", "-")


def ours(folder, run, data):
    """Our figures of `run` on `data` from folder/RUN-DATA/metrics-test.json, or None."""
    path = os.path.join(folder, f"{run}-{slug(data)}", "metrics-test.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def best_validation(folder, run, data):
    """The best validation log-likelihood per frame in folder/RUN-DATA/valid.tsv
    (its epochs' exact figures), or None."""
    path = os.path.join(folder, f"{run}-{slug(data)}", "valid.tsv")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return max(float(line.split("\t")[1]) for line in list(f)[1:])


def selected_rnn_nade(data):
    """(run, metrics) of our RNN-NADE run of best validation score on `data`:
    model selection across configurations, the test split unseen."""
    folder = os.path.join(HERE, "..", "nade")
    scores = {run: best_validation(folder, run, data) for run in OURS
              if run.startswith("rnn-nade")}
    scores = {run: score for run, score in scores.items() if score is not None}
    if not scores:
        return None, None
    run = max(scores, key=scores.get)
    return run, ours(folder, run, data)


def cell(metrics):
    if metrics is None:
        return "not run"
    error = metrics["log_likelihood_stderr"]
    check = metrics.get("mixing")
    verdict = "" if check is None else " (mixed)" if check["mixed"] else " (**unmixed**)"
    return (f"{metrics['log_likelihood_per_frame']:.3f}" + (f" ({error:.3f})" if error else "")
            + f", {100 * metrics['accuracy_paper']:.2f} / {100 * metrics['accuracy_expected']:.2f}"
            + verdict)


def main(runs):
    print("| row | " + " | ".join(DATA) + " |")
    print("|---" * (len(DATA) + 1) + "|")
    for run, (folder, words, row) in OURS.items():
        if runs and run not in runs:
            continue
        found = [ours(os.path.join(HERE, "..", folder), run, data) for data in DATA]
        if not any(found):
            continue
        print(f"| ours, `{words}` | " + " | ".join(map(cell, found)) + " |")
        for paper in row:
            print_paper(paper)
    if not runs or "selected" in runs:
        chosen = [selected_rnn_nade(data) for data in DATA]
        print("| ours, RNN-NADE, the run of best validation score | "
              + " | ".join(f"{cell(metrics)} (`{run}`)" if run else cell(None)
                           for run, metrics in chosen) + " |")
        print_paper("RNN-NADE (HF)")


def print_paper(row):
    print(f"| paper, {row} | " + " | ".join(f"{ll:.2f}, {acc:.2f}" for ll, acc in PAPER[row])
          + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
