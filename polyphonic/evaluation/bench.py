"""Benchmark the RNN-RBM: training and generation speed, compile time, memory.

Prints the machine and library versions, then a markdown table with one row
per configuration (backend x dtype) and a last row for the NumPy reference:

train ms/chunk : median over `repeats` passes of the mean time of one
    `train_function` call, on the first `chunks` full 100-frame chunks of the
    Nottingham training split (songs in sorted file order, each cut into
    consecutive 100-frame slices as `RnnRbm.train` does, its shorter last
    slice left out; cast to the dtype per call), after `warmup` calls.
    (Sizes: DEFAULTS and QUICK below.)
vs NumPy : numpy_rnnrbm.train_step's (float64) ms/chunk / this row's, both
    timed in the same process on the same chunks, their passes alternating,
    so that load from elsewhere affects both alike. The reference row's own
    figure comes from a process of its own.
generate s : median of `generate_calls` calls of `generate_function` (200
    frames, 25 Gibbs steps each) after one warm-up call.
AIS min : minutes that `evaluate` would take for the Nottingham test split
    (44,463 frames) with 100 chains x 1,000 temperatures on 2 processes, from
    the seconds of AIS (ais_log_partition, the row's dtype; the C kernel
    whatever the backend, so only for C rows) on AIS_FRAMES frames spread
    over the split, of the committed model
    results/paper-nottingham/ablation/tutorial-recipe, on one core. Under
    the table: the float32 estimate of the mean log-likelihood per frame on
    those frames minus the float64 one (the same keys, so the same draws:
    float32 takes the top 24 of the 53 bits float64 takes).
import s : `import rnnrbm` (which imports PyTensor) in a fresh process; it is
    NOT included in the compile times.
compile s cold / warm : constructing `RnnRbm(...)` and calling its train and
    generate functions once each (the Numba backend compiles lazily, on the
    first call; one call's own run time is < 0.1 s), in a fresh process with an
    empty PyTensor cache (base_compiledir, where PyTensor also keeps its Numba
    cache, and NUMBA_CACHE_DIR in a new temporary dir), then in a second
    process reusing those dirs. With --no-cold only warm, on the default cache.
epoch peak MB / epoch s : a fresh process builds the model and trains exactly
    one epoch on the whole training split; peak resident memory of that
    process (ru_maxrss: includes import, compile and the loaded songs) and
    the epoch's own seconds (excluding reading the MIDI files).

Every measurement runs in its own subprocess, so configurations share no
cache or memory state and a crash only fails its own row (reason in `notes`).
Warning lines the workers print on stderr are listed under the table.
"""

import contextlib
import datetime
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from polyphonic.paths import DATA, RESULTS, ROOT

TRAIN_GLOB = os.path.join(DATA, "Nottingham", "train", "*.mid")
CONFIGS = ["c-float64", "c-float32", "numba-float64", "numba-float32"]
CHUNK_FRAMES = 100  # RnnRbm.train's default batch_size
DEFAULTS = dict(chunks=300, warmup=20, repeats=5, generate_calls=7)
QUICK = dict(chunks=60, warmup=10, repeats=3, generate_calls=3)
AIS_FRAMES = 20
AIS_MODEL = os.path.join(RESULTS, "paper-nottingham", "ablation", "tutorial-recipe",
                         "checkpoint.npz")
AIS_DATA = os.path.join(DATA, "Nottingham.pickle")
TIMEOUT = 1800  # seconds per worker process
MAX_WARNINGS = 20  # distinct warning lines listed under the table
RESULT = "BENCH_RESULT "  # prefix of the line a worker reports its result on


# ---------------------------------------------------------------- workers
# These run in the subprocesses; they import PyTensor only when called.

def model_defaults():
    """RnnRbm's constructor defaults (r, dt, n_hidden, lr, ...)."""
    import inspect

    from rnnrbm import RnnRbm

    return {k: v.default for k, v in inspect.signature(RnnRbm).parameters.items()}


def load_chunks(n):
    """The first n full training chunks, read from as few files as needed (uint8)."""
    from midi.utils import midiread

    d = model_defaults()
    chunks = []
    for path in sorted(glob.glob(TRAIN_GLOB)):
        roll = midiread(path, d["r"], d["dt"]).piano_roll
        chunks += [roll[i:i + CHUNK_FRAMES] for i in range(0, len(roll) - CHUNK_FRAMES + 1,
                                                             CHUNK_FRAMES)]
        if len(chunks) >= n:
            return chunks[:n]
    raise SystemExit(f"only {len(chunks)} full chunks in {TRAIN_GLOB}")


def time_per_call(steps, chunks, warmup, repeats):
    """For each of `steps`, the median over passes of the mean ms of step(chunk),
    after warm-up calls; the steps' passes alternate."""
    for step in steps:
        for chunk in chunks[:warmup]:
            step(chunk)
    passes = [[] for _ in steps]
    for _ in range(repeats):
        for step, times in zip(steps, passes):
            start = time.perf_counter()
            for chunk in chunks:
                step(chunk)
            times.append((time.perf_counter() - start) * 1000 / len(chunks))
    return [statistics.median(times) for times in passes]


def numpy_params():
    """RnnRbm's initial parameters as NumPy arrays (built, not compiled), and its lr."""
    from rnnrbm import PITCH_RANGE, build_rnnrbm

    d = model_defaults()
    model = build_rnnrbm(PITCH_RANGE[1] - PITCH_RANGE[0], d["n_hidden"],
                         d["n_hidden_recurrent"], d["seed"])
    return {p.name: p.get_value() for p in model["params"]}, d["lr"]


def worker_speed(config, chunks, warmup, repeats, generate_calls):
    """Train ms/chunk, and unless config is 'numpy' NumPy's ms/chunk timed
    alternately with it and generate s/sample."""
    import numpy as np

    from polyphonic.models import numpy_rnnrbm

    data = load_chunks(chunks)
    rng = np.random.default_rng(0)
    params, lr = numpy_params()
    reference = lambda c: numpy_rnnrbm.train_step(params, c.astype("float64"), rng, lr=lr)
    if config == "numpy":
        return dict(train_ms=time_per_call([reference], data, warmup, repeats)[0])
    from rnnrbm import RnnRbm
    backend, dtype = config.split("-")
    model = RnnRbm(backend=backend, dtype=dtype)
    step = lambda c: model.train_function(c.astype(dtype))
    train_ms, numpy_ms = time_per_call([step, reference], data, warmup, repeats)
    generate = lambda _: model.generate_function()
    generate_s = time_per_call([generate], [None], 1, generate_calls)[0] / 1000
    return dict(train_ms=train_ms, numpy_ms=numpy_ms, generate_s=generate_s)


def worker_ais(config):
    """AIS min (see the docstring at the top) and the mean log-likelihood of the frames."""
    import numpy as np

    from polyphonic.evaluation import scoring
    from polyphonic.models.numpy_rnnrbm import PARAM_NAMES, free_energies, rnn_biases
    from polyphonic.music.datasets import load_pickle_rolls
    from polyphonic.training import checkpoints

    dtype = config.split("-")[1]
    state = checkpoints.read_checkpoint(AIS_MODEL)
    params = {name: state[name].astype(np.float64) for name in PARAM_NAMES}
    rolls = load_pickle_rolls(AIS_DATA, "test", state["config"]["r"])
    frames = np.concatenate(rolls).astype(np.float64)
    biases = [rnn_biases(roll.astype(np.float64), params)[1:] for roll in rolls]
    bv, bh = (np.concatenate([b[i] for b in biases]) for i in (0, 1))
    rows = np.linspace(0, len(frames) - 1, AIS_FRAMES).astype(int)
    scoring._compiled(scoring.compile_ais, dtype)  # compile outside the timing
    start = time.thread_time()
    log_z, _ = scoring.ais_log_partition(params["W"], bv[rows], bh[rows],
                                          np.random.default_rng(0), 100, 1000, dtype)
    seconds = time.thread_time() - start
    log_likelihood = -free_energies(frames[rows], params["W"], bv[rows], bh[rows]) - log_z
    return dict(ais_min=seconds / AIS_FRAMES * len(frames) / 2 / 60,
                ais_log_likelihood=float(log_likelihood.mean()))


def worker_compile(config):
    """Seconds to import rnnrbm, then to build RnnRbm(config) and call each of
    its functions once (Numba compiles on the first call, not in the constructor)."""
    start = time.perf_counter()
    from rnnrbm import RnnRbm
    imported = time.perf_counter()
    backend, dtype = config.split("-")
    chunk = load_chunks(1)[0].astype(dtype)
    built = time.perf_counter()
    model = RnnRbm(backend=backend, dtype=dtype)
    model.train_function(chunk)
    model.generate_function()
    return dict(import_s=imported - start, compile_s=time.perf_counter() - built)


def worker_epoch(config):
    """Peak RSS (MB) of a process that trains one epoch, and the epoch's seconds."""
    import resource

    from rnnrbm import RnnRbm
    backend, dtype = config.split("-")
    model = RnnRbm(backend=backend, dtype=dtype)
    with contextlib.redirect_stdout(open(os.devnull, "w")):
        history = model.train(sorted(glob.glob(TRAIN_GLOB)), num_epochs=1)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux
    return dict(peak_mb=peak_kb / 1024, epoch_s=history[0][2])


WORKERS = dict(speed=worker_speed, compile=worker_compile, epoch=worker_epoch, ais=worker_ais)


# ---------------------------------------------------------------- parent

def run_worker(kind, warnings, env=None, **kwargs):
    """Run WORKERS[kind](**kwargs) in a fresh process; return its dict.

    On failure returns {"error": [short reason]}. Warning lines from the
    worker's stderr are added to the `warnings` set.
    """
    command = [sys.executable, "-m", "polyphonic.evaluation.bench", "--worker",
               json.dumps(dict(kind=kind, **kwargs))]
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return dict(error=[f"timed out after {TIMEOUT} s"])
    warnings.update(line.strip() for line in done.stderr.splitlines()
                    if "Warning" in line or "WARNING" in line)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    last = [line for line in done.stderr.splitlines() if line.strip()] or ["no output"]
    return dict(error=[f"exit {done.returncode}: {last[-1].strip()[:80]}"])


def measure_compile(config, cold, warnings):
    """import s and compile s warm (and cold, in new empty cache dirs if `cold`)."""
    if not cold:
        return run_worker("compile", warnings, config=config)
    cache = tempfile.mkdtemp(prefix="bench-pytensor-")
    env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(cache, "numba-cache"),
               PYTENSOR_FLAGS=",".join(filter(None, [os.environ.get("PYTENSOR_FLAGS"),
                                                     f"base_compiledir={cache}"])))
    try:
        first = run_worker("compile", warnings, env=env, config=config)
        second = run_worker("compile", warnings, env=env, config=config)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    if "error" in first:
        return first
    return dict(second, cold_s=first["compile_s"])


def machine_header():
    """Date, CPU, versions and the BLAS PyTensor links, as markdown lines."""
    import numpy
    import pytensor

    import rnnrbm
    from polyphonic.models import gibbs

    rnnrbm.link_openblas()  # sets blas__ldflags and OPENBLAS_NUM_THREADS

    with open("/proc/cpuinfo") as f:
        cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    return [f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
            f"- machine: {cpu}, os.cpu_count() = {os.cpu_count()}, {platform.platform()}",
            f"- Python {platform.python_version()}, PyTensor {pytensor.__version__}, "
            f"NumPy {numpy.__version__}",
            f"- blas__ldflags: {pytensor.config.blas__ldflags!r}, OPENBLAS_NUM_THREADS="
            f"{os.environ.get('OPENBLAS_NUM_THREADS', '(unset)')}, threads per Gibbs Op "
            f"(RNNRBM_THREADS): {gibbs.default_threads()} (inherited by all workers)"]


COLUMNS = [("train ms/chunk", "train_ms", "{:.2f}"), ("vs NumPy", "speedup", "{:.2f}x"),
           ("generate s", "generate_s", "{:.3f}"), ("AIS min", "ais_min", "{:.0f}"),
           ("import s", "import_s", "{:.2f}"),
           ("compile s cold", "cold_s", "{:.1f}"), ("compile s warm", "compile_s", "{:.2f}"),
           ("epoch peak MB", "peak_mb", "{:.0f}"), ("epoch s", "epoch_s", "{:.1f}"),
           ("notes", "error", "failed: {}")]


def table(rows):
    """Markdown table of {name: result dict}; '-' for what was not measured."""
    lines = ["| config | " + " | ".join(c[0] for c in COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 1) + "|"]
    for name, result in rows.items():
        cells = [fmt.format(result[key]) if key in result else "-" for _, key, fmt in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(configs=CONFIGS, quick=False, chunks=None, memory=True, memory_all=False, cold=True):
    """Measure `configs` ("backend-dtype" names) and print the table (see the top).

    quick : QUICK sizes, no cold compile, no memory. chunks : training chunks
    timed instead of the default. memory : the one-epoch run for the first
    config (every config with memory_all). cold : cold-cache compile times.
    """
    sizes = dict(QUICK if quick else DEFAULTS)
    sizes["chunks"] = chunks or sizes["chunks"]
    cold, memory = cold and not quick, memory and not quick

    start = time.perf_counter()
    print("\n".join(machine_header()))
    print(f"- {sizes['chunks']} chunks of {CHUNK_FRAMES} frames, warm-up {sizes['warmup']}, "
          f"{sizes['repeats']} passes; generation: median of {sizes['generate_calls']} calls\n",
          flush=True)
    warnings, rows = set(), {}
    reference = run_worker("speed", warnings, config="numpy", **sizes)
    for i, config in enumerate(configs):
        print(f"measuring {config} ...", file=sys.stderr, flush=True)
        parts = [run_worker("speed", warnings, config=config, **sizes),
                 measure_compile(config, cold, warnings)]
        if memory and (i == 0 or memory_all):
            parts.append(run_worker("epoch", warnings, config=config))
        if config.startswith("c-"):
            parts.append(run_worker("ais", warnings, config=config))
        rows[config] = row = {}
        errors = sum((part.pop("error", []) for part in parts), [])
        for part in parts:
            row.update(part)
        if errors:
            row["error"] = "; ".join(dict.fromkeys(errors))  # each reason once
    rows["numpy-float64 (reference)"] = reference
    if "error" in reference:
        reference["error"] = "; ".join(reference["error"])
    for row in rows.values():
        numpy_ms = row.get("numpy_ms", reference.get("train_ms"))
        if "train_ms" in row and numpy_ms:
            row["speedup"] = numpy_ms / row["train_ms"]
    print(table(rows))
    ais = [rows.get(f"c-{dtype}", {}).get("ais_log_likelihood") for dtype in ("float32", "float64")]
    if None not in ais:
        print(f"\nAIS log-likelihood per frame, float32 minus float64, mean over {AIS_FRAMES} "
              f"frames (same seed, so the same draws): {ais[0] - ais[1]:+.5f}")
    print(f"\ntotal benchmark time: {time.perf_counter() - start:.0f} s")
    if warnings:
        shown = sorted(warnings)[:MAX_WARNINGS]
        print(f"\n{len(warnings)} distinct warning lines printed by the workers:\n"
              + "\n".join(shown) + ("\n..." if len(warnings) > len(shown) else ""))


if __name__ == "__main__":
    if sys.argv[1:2] != ["--worker"]:
        sys.exit("this module runs the benchmark's measurements; the benchmark is "
                 "`python rnnrbm.py bench`")
    job = json.loads(sys.argv[2])  # one measurement, in its own process (run_worker)
    print(RESULT + json.dumps(WORKERS[job.pop("kind")](**job)), flush=True)
