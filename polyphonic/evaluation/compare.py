"""Compare a training log with the tutorial's published one (`python rnnrbm.py compare LOG`).

A log is a tab-separated table with a header line naming at least the columns
`epoch` and `monitor` (lines starting with `#` are comments): what
`RnnRbm.train` writes as log.tsv, and the format of reference/tutorial_log.tsv,
the epochs the tutorial printed (1-10 and 190-200).
"""

import math
import os

from polyphonic.paths import REFERENCE

PUBLISHED = os.path.join(REFERENCE, "tutorial_log.tsv")


def read_log(path):
    """Return {epoch: monitor} from a log file; ValueError naming the file if malformed."""
    expected = ("a tab-separated table whose first line is a header naming 'epoch' and "
                "'monitor', as training writes to log.tsv")
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#")]
    except OSError as err:
        raise ValueError(f"cannot read log {path}: {err.strerror}") from err
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a training log (not text): expected {expected}") from None
    header = lines[0].split("\t") if lines else []
    if "epoch" not in header or "monitor" not in header:
        raise ValueError(f"{path} is not a training log: no header; expected {expected}")
    epoch_column, monitor_column = header.index("epoch"), header.index("monitor")
    log = {}
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        try:
            log[int(fields[epoch_column])] = float(fields[monitor_column])
        except (IndexError, ValueError):
            raise ValueError(f"{path}: cannot read row {number}: {line!r}") from None
    return log


def comparison_rows(ours, published):
    """(epoch, ours, published, ours - published) for the epochs both logs have."""
    return [(e, ours[e], published[e], ours[e] - published[e])
            for e in sorted(ours.keys() & published.keys())]


def plot(ours, png_path, title, published=None):
    """Our monitor per epoch as a line, the published epochs (if any) as
    points, under `title` (which says what was trained on what)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    epochs = sorted(ours)
    ax.plot(epochs, [ours[e] for e in epochs], label="this port")
    if published:
        finite = sorted(e for e in published if math.isfinite(published[e]))
        ax.plot(finite, [published[e] for e in finite], "o", markersize=4,
                label="tutorial (published)")
        ax.legend()
    ax.set_xlabel("epoch")
    ax.set_ylabel("monitor (reconstruction log-likelihood per frame)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.savefig(png_path, dpi=100, bbox_inches="tight")
    plt.close(fig)
