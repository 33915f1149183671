"""Print the LSTM RNN-RBM rows beside the tanh ones from the JSON files:
`python results/table1/rnnrbm-lstm/table.py` (from the project folder)."""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "..", "..")
# Per data set: the configuration, the tanh row's whole-split figures and its
# mixing check on the same 1,000 frames (paths from results/).
ROWS = {
    "Piano-midi.de": ("paper-tuned", "table1/piano-midi.de/metrics-test.json",
                      "table1/mixing/sampled-piano-midi.de-tuned.json"),
    "Nottingham": ("paper", "paper-nottingham/recipe/metrics-test.json",
                   "table1/mixing/sampled-nottingham-paper.json"),
    "MuseData": ("paper-tuned", "table1/musedata/metrics-test.json",
                 "table1/mixing/sampled-musedata-tuned.json"),
    "JSB Chorales": ("paper", "table1/jsb-chorales/metrics-test.json",
                     "table1/mixing/sampled-jsb-chorales-paper.json"),
}


def load(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def figures(metrics):
    """Log-likelihood (AIS s.e.[, sampling s.e.]), paper / expected accuracy."""
    if metrics is None:
        return "not run"
    errors = f"{metrics['log_likelihood_stderr']:.4f}"
    if "log_likelihood_sampling_stderr" in metrics:
        errors += f"; sampling {metrics['log_likelihood_sampling_stderr']:.3f}"
    accuracy = metrics.get("accuracy_paper", metrics.get("accuracy"))
    return (f"{metrics['log_likelihood_per_frame']:.3f} ({errors}), {100 * accuracy:.2f}"
            f" / {100 * metrics.get('accuracy_expected', metrics.get('expected_accuracy')):.2f}")


def verdict(metrics):
    if metrics is None or "mixing" not in metrics:
        return ""
    check = metrics["mixing"]
    return (" mixed" if check["mixed"] else " **unmixed**") \
        + f" ({100 * check['accuracy_paper_spread']:.2f})"


def main():
    print("| data set | settings | recurrence | whole test split | 1,000 test frames | "
          "mixing check (spread, points) |")
    print("|---|---|---|---|---|---|")
    for data, (config, whole, sampled) in ROWS.items():
        folder = os.path.join(HERE, f"{config}-{data.lower().replace(' ', '-')}")
        for recurrence, (w, s) in (
                ("tanh", (os.path.join(RESULTS, whole), os.path.join(RESULTS, sampled))),
                ("LSTM", (os.path.join(folder, "metrics-test.json"),
                          os.path.join(folder, "mixing-test.json")))):
            checked = load(s)
            print(f"| {data} | `{config}` | {recurrence} | {figures(load(w))} | "
                  f"{figures(checked)} |{verdict(checked)} |")


if __name__ == "__main__":
    main()
