"""A tiny synthesizer to listen to a piano roll right away (NumPy + ``wave`` only).

Each run of consecutive 1s of a pitch is one note: a fundamental plus two quieter
overtones, shaped by a 5 ms attack and an 80 ms release so nothing clicks.
"""

import os
import wave

import numpy as np

ATTACK = 0.005  # seconds of linear fade-in at each note start
RELEASE = 0.08  # seconds of linear fade-out after each note end (may pass the roll's end)
HARMONICS = ((1, 1.0), (2, 0.4), (3, 0.15))  # (multiple of the fundamental, amplitude)
PEAK = 0.9  # rendered audio is scaled so its peak is exactly this (if not silent)


def _check(piano_roll, r, dt, sample_rate):
    """Return the roll as a boolean array (nonzero = on); raise ValueError naming a bad value."""
    roll = np.asarray(piano_roll)
    if roll.ndim != 2:
        raise ValueError(f"piano_roll must be 2-D (frames x pitches), got shape {roll.shape}")
    if roll.shape[1] != r[1] - r[0]:
        raise ValueError(f"piano_roll has {roll.shape[1]} columns but r={tuple(r)} "
                         f"needs {r[1] - r[0]}")
    if not (isinstance(dt, (int, float, np.number)) and np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a positive number of seconds, got {dt!r}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) \
            or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive int, got {sample_rate!r}")
    return roll > 0


def render(piano_roll, r=(21, 109), dt=0.3, sample_rate=22050):
    """Return float32 mono samples in [-PEAK, PEAK] playing ``piano_roll``.

    Column j is MIDI pitch r[0] + j; each run of 1s is one note (merged, so a held note
    never retriggers) from (first frame) * dt to (last frame + 1) * dt seconds, then
    releases. Peak-normalised, so any polyphony is equally loud and never clips. The output has
    ``round(len(roll) * dt * sample_rate) + round(RELEASE * sample_rate)`` samples, so
    the last notes' release tail is kept; an all-zero roll gives silence of that length.
    """
    roll = _check(piano_roll, r, dt, sample_rate)
    tail = int(round(RELEASE * sample_rate))
    out = np.zeros(int(round(len(roll) * dt * sample_rate)) + tail)
    # +1 where a run starts, -1 one frame after it ends (padding closes runs at the edges).
    edges = np.diff(np.pad(roll.astype(np.int8), ((1, 1), (0, 0))), axis=0)
    starts, columns = np.nonzero(edges.T == 1)[::-1]
    ends = np.nonzero(edges.T == -1)[1]  # same (column, time) order as the starts
    first = np.round(starts * dt * sample_rate).astype(int)
    last = np.round(ends * dt * sample_rate).astype(int)
    for col in np.unique(columns):
        # One tone per pitch, long enough for its longest note, shared by all its notes
        # (each starts at phase 0, continuous within the note): few np.sin calls.
        mine = columns == col
        freq = 440.0 * 2.0 ** ((r[0] + col - 69) / 12)
        t = np.arange((last - first)[mine].max() + tail) / sample_rate
        tone = np.zeros_like(t)
        for h, amplitude in HARMONICS:
            if h * freq < sample_rate / 2:  # drop partials that would alias
                tone += amplitude * np.sin(2 * np.pi * h * freq * t)
        for s0, s1 in zip(first[mine], last[mine]):
            n, length = s1 - s0 + tail, (s1 - s0) / sample_rate
            envelope = np.interp(t[:n], (0, min(ATTACK, length), length, length + RELEASE),
                                 (0, 1, 1, 0))
            out[s0:s0 + n] += envelope * tone[:n]
    peak = np.abs(out).max(initial=0.0)
    if peak > 0:
        out *= PEAK / peak  # loudness independent of polyphony, never clipping
    return out.astype(np.float32)


def write_wav(filename, piano_roll, r=(21, 109), dt=0.3, sample_rate=22050):
    """Write ``render(...)`` as a 16-bit PCM mono WAV and return its duration in seconds.

    The file is written to a temporary name in the same folder and then moved into place
    with os.replace, so a crash never leaves a half-written ``filename``.
    """
    samples = render(piano_roll, r, dt, sample_rate)
    pcm = np.round(samples * 32767).astype("<i2").tobytes()
    filename = os.fspath(filename)
    folder, base = os.path.split(os.path.abspath(filename))
    tmp = os.path.join(folder, f".{base}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f, wave.open(f, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(pcm)
        os.replace(tmp, filename)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return len(samples) / sample_rate
