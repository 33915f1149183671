"""music/synth.py: WAV format, pitch, note merging, silence, no clipping, validation, atomic write."""

import os
import wave

import numpy as np
import pytest

from polyphonic.music import synth

SR = 22050
TAIL = round(synth.RELEASE * SR)  # release samples appended after the roll's end


def roll_with(pitches, frames, on=slice(None)):
    """A (frames x 88) roll with the given MIDI pitches on during the frames ``on``."""
    roll = np.zeros((frames, 88), dtype=np.int8)
    for p in pitches:
        roll[on, p - 21] = 1
    return roll


def expected_samples(frames, dt, sample_rate=SR):
    """round(frames * dt * rate) for the roll plus round(RELEASE * rate) of release tail."""
    return round(frames * dt * sample_rate) + round(synth.RELEASE * sample_rate)


def windowed_rms(x, window):
    return np.sqrt(np.convolve(x.astype(np.float64) ** 2, np.ones(window) / window, "valid"))


def test_wav_header_duration_and_samples_read_back(tmp_path):
    roll, dt, rate = roll_with([60, 64, 67], 10, slice(2, 7)), 0.3, 8000
    path = tmp_path / "song.wav"
    duration = synth.write_wav(path, roll, dt=dt, sample_rate=rate)
    # frames = round(len(roll) * dt * rate) + round(RELEASE * rate): roll plus release tail
    n = 24000 + 640
    assert expected_samples(10, dt, rate) == n
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (rate, 1, 2)
        assert w.getnframes() == n
        assert w.getnframes() / w.getframerate() == pytest.approx(duration) == 3.08
        pcm = np.frombuffer(w.readframes(n), dtype="<i2")
    samples = synth.render(roll, dt=dt, sample_rate=rate)
    np.testing.assert_allclose(pcm / 32767, samples, atol=1 / 32767)
    assert np.abs(pcm).max() > 20000  # not silence


@pytest.mark.parametrize("pitch, hz", [(69, 440.0), (81, 880.0), (57, 220.0)])
def test_dominant_frequency_is_the_pitch(pitch, hz):
    samples = synth.render(roll_with([pitch], 4), dt=0.3, sample_rate=SR)
    spectrum = np.abs(np.fft.rfft(samples))
    peak_hz = np.argmax(spectrum) * SR / len(samples)
    assert abs(peak_hz - hz) <= SR / len(samples)  # within one FFT bin (~0.8 Hz)


def test_held_note_is_one_note_without_dips_at_frame_boundaries():
    dt, window = 0.3, 100  # 100 samples ~ 2 periods of 440 Hz, shorter than the attack ramp
    frame = round(dt * SR)
    held = synth.render(roll_with([69], 4), dt=dt, sample_rate=SR)[:4 * frame]
    # Retriggering the note every frame (one note per frame) restarts the attack each time.
    one = synth.render(roll_with([69], 1), dt=dt, sample_rate=SR)[:frame]
    retriggered = np.tile(one, 4)
    interior = slice(round(0.02 * SR), 4 * frame - round(0.02 * SR))  # skip first/last 20 ms

    def dip(x):
        rms = windowed_rms(x[interior], window)
        return rms.min() / rms.max()

    assert dip(held) > 0.97
    assert dip(retriggered) < 0.9  # the check does see per-frame clicks


def test_release_fades_out_smoothly_after_the_note_and_past_the_roll_end():
    samples = synth.render(roll_with([69], 3), dt=0.3, sample_rate=SR)
    end = round(3 * 0.3 * SR)
    assert len(samples) == end + TAIL
    tail = np.abs(samples[end:])
    assert tail[:50].max() > 0.5 and tail[-10:].max() < 0.01  # fades, ends near silence
    # No click: no sample-to-sample step anywhere (attack, release, end) exceeds the
    # steepest step of the steady tone (a hard cut would step by up to ~0.9).
    steady = np.abs(np.diff(samples[round(0.1 * SR):round(0.8 * SR)])).max()
    assert np.abs(np.diff(samples)).max() <= steady * 1.001


def test_all_zero_roll_is_silence_of_the_right_length():
    samples = synth.render(np.zeros((7, 88)), dt=0.25, sample_rate=SR)
    assert samples.dtype == np.float32
    assert len(samples) == expected_samples(7, 0.25)
    assert not samples.any()


def test_silence_before_a_note_starts_and_after_its_release():
    dt = 0.2
    samples = synth.render(roll_with([72], 8, slice(3, 5)), dt=dt, sample_rate=SR)
    start, end = round(3 * dt * SR), round(5 * dt * SR)
    assert len(samples) == expected_samples(8, dt)
    assert not samples[:start].any()
    assert np.abs(samples[start:end]).max() > 0.5
    assert not samples[end + TAIL:].any()


def test_all_88_pitches_on_does_not_clip():
    samples = synth.render(np.ones((3, 88)), dt=0.1, sample_rate=SR)
    peak = np.abs(samples).max()
    assert np.isfinite(samples).all()
    assert 0.5 < peak <= synth.PEAK <= 0.9


@pytest.mark.parametrize("kwargs, message", [
    (dict(piano_roll=np.ones(88)), r"2-D.*\(88,\)"),
    (dict(piano_roll=np.ones((4, 87))), r"87 columns"),
    (dict(piano_roll=np.ones((4, 88)), r=(21, 108)), r"87"),
    (dict(piano_roll=np.ones((4, 88)), dt=0), r"dt.*0"),
    (dict(piano_roll=np.ones((4, 88)), dt=-0.3), r"dt.*-0\.3"),
    (dict(piano_roll=np.ones((4, 88)), sample_rate=0), r"sample_rate.*0"),
    (dict(piano_roll=np.ones((4, 88)), sample_rate=22050.5), r"sample_rate.*22050\.5"),
])
def test_bad_inputs_raise_value_error_naming_the_value(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        synth.render(**kwargs)
    with pytest.raises(ValueError, match=message):
        synth.write_wav(tmp_path / "x.wav", **kwargs)
    assert not list(tmp_path.iterdir())


def test_write_leaves_no_temporary_files(tmp_path):
    synth.write_wav(tmp_path / "a.wav", roll_with([60], 2))
    synth.write_wav(tmp_path / "a.wav", roll_with([62], 3))  # overwrite in place
    assert os.listdir(tmp_path) == ["a.wav"]
    with wave.open(str(tmp_path / "a.wav"), "rb") as w:
        assert w.getnframes() == expected_samples(3, 0.3)


def test_crash_while_writing_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "a.wav"
    synth.write_wav(path, roll_with([60], 2))
    before = path.read_bytes()

    def crash(self, data):
        raise OSError("disk full")

    monkeypatch.setattr(wave.Wave_write, "writeframes", crash)
    with pytest.raises(OSError, match="disk full"):
        synth.write_wav(path, roll_with([62], 5))
    assert os.listdir(tmp_path) == ["a.wav"]
    assert path.read_bytes() == before
