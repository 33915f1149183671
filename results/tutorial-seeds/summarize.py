"""The spread of the tutorial run between seeds: the monitor at chosen epochs,
per seed, with the mean and range, beside the published log.

    python results/tutorial-seeds/summarize.py LOG [LOG ...]
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from polyphonic.evaluation import compare  # noqa: E402

EPOCHS = (1, 10, 100, 200)


def main(paths):
    logs = [compare.read_log(p) for p in paths]
    published = compare.read_log(compare.PUBLISHED)
    print("| epoch | " + " | ".join(os.path.basename(os.path.dirname(p)) for p in paths)
          + " | mean | range | published |")
    print("|---" * (len(paths) + 4) + "|")
    for e in EPOCHS:
        values = [log[e] for log in logs]
        row = [e, *(f"{v:.3f}" for v in values), f"{sum(values) / len(values):.3f}",
               f"{min(values):.3f} .. {max(values):.3f}",
               f"{published[e]:.3f}" if e in published else "(not printed)"]
        print("| " + " | ".join(map(str, row)) + " |")

if __name__ == "__main__":
    main(sys.argv[1:])
