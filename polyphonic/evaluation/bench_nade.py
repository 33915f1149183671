"""Benchmark the RNN-NADE's training step beside an independent PyTorch one:
`python rnnrbm.py bench --rnn-nade`.

Both train `--config rnn-nade`'s model (150 NADE and 100 RNN units, Adam at
0.001, gradient norm clipped at 5) from the same initial parameters on the
same chunks: the first `chunks` full 100-frame chunks of Nottingham.pickle's
training split, songs in order. Ours is models/nade.RnnNade on the C backend
(the fused NADE Ops); PyTorch's is evaluation/torch_rnn_nade.py, on one
thread as ours runs. A row's figure is the median over `repeats` passes of
the mean milliseconds per step; the passes of ours and PyTorch's alternate,
so that load from elsewhere affects both alike. Before timing, both score the
first chunk from the same parameters (weights drawn with standard
deviation 0.1, so that the check means something; the step's cost does not
depend on them): the largest difference of their log-likelihoods is printed,
the check that they are one model. Without PyTorch the table has our rows
only (PyTorch is no dependency: `pip install torch==2.13.0` puts it in).
"""

import statistics
import sys
import time

import numpy as np

from polyphonic.paths import DATA

DEFAULTS = dict(chunks=100, warmup=5, repeats=5)


def load_chunks(n, frames=100):
    """The first n full chunks of `frames` frames of Nottingham.pickle's train split."""
    import os

    from polyphonic.music.datasets import load_pickle_rolls

    chunks = []
    for roll in load_pickle_rolls(os.path.join(DATA, "Nottingham.pickle"), "train",
                                  (21, 109)):
        chunks += [roll[i:i + frames] for i in range(0, len(roll) - frames + 1, frames)]
        if len(chunks) >= n:
            return chunks[:n]
    return chunks


def timed(step, chunks):
    """Mean milliseconds of step(chunk) over the chunks."""
    start = time.perf_counter()
    for chunk in chunks:
        step(chunk)
    return (time.perf_counter() - start) / len(chunks) * 1000


def run(chunks=DEFAULTS["chunks"], warmup=DEFAULTS["warmup"], repeats=DEFAULTS["repeats"]):
    from polyphonic.evaluation.bench import machine_header
    from polyphonic.models.nade import RnnNade

    try:
        import torch
        torch.set_num_threads(1)
        from polyphonic.evaluation.torch_rnn_nade import TorchRnnNade
        versions = f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread"
    except ImportError:
        torch, versions = None, "PyTorch not installed: its rows are left out"
    print("\n".join(machine_header()))
    data = load_chunks(chunks)
    print(f"- {versions}; {len(data)} chunks of 100 frames, warm-up {warmup}, {repeats} "
          "passes\n", flush=True)
    rows = []
    for dtype in ("float64", "float32"):
        print(f"measuring {dtype} ...", file=sys.stderr, flush=True)
        ours = RnnNade(lr=0.001, optimizer="adam", clip_norm=5.0, dtype=dtype, init_scale=0.1)
        steps = {"ours (C)": lambda chunk: ours.train_function(chunk.astype(dtype))}
        if torch:
            theirs = TorchRnnNade(ours.values(), 0.001, 5.0, dtype)
            first = data[0].astype(dtype)
            difference = np.abs(ours.log_likelihoods(first) - theirs.log_likelihoods(first)).max()
            steps["PyTorch"] = theirs.step
        for step in steps.values():
            timed(step, data[:warmup])
        passes = {name: [] for name in steps}
        for _ in range(repeats):
            for name, step in steps.items():
                passes[name].append(timed(step, data))
        ms = {name: statistics.median(values) for name, values in passes.items()}
        for name in steps:
            rows.append((f"{name} {dtype}", ms[name],
                         ms.get("PyTorch", float("nan")) / ms[name] if torch else None,
                         difference if torch and name == "PyTorch" else None))
    print("| implementation | train ms/chunk | PyTorch's / this | log-likelihood difference "
          "from ours |\n|---|---|---|---|")
    for name, ms, ratio, difference in rows:
        print(f"| {name} | {ms:.2f} | " + (f"{ratio:.2f}x" if ratio is not None else "-")
              + " | " + (f"{difference:.1e}" if difference is not None else "-") + " |")
