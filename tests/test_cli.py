"""The command line end to end, as a user runs it: real processes, real files."""

import json
import shutil
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import mido
import numpy as np
import pytest

import rnnrbm
import synth
from midi.utils import midiread

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--n-hidden", "20", "--n-hidden-recurrent", "10"]


def command(*args):
    return [sys.executable, str(ROOT / "rnnrbm.py"), *map(str, args)]


def run(*args, cwd=ROOT):
    return subprocess.run(command(*args), cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def songs(nottingham_dir, tmp_path_factory):
    """A folder with the first 20 training songs."""
    folder = tmp_path_factory.mktemp("songs")
    for f in sorted((nottingham_dir / "train").glob("*.mid"))[:20]:
        shutil.copy(f, folder)
    return folder


def assert_clean_error(result, status, *words):
    assert result.returncode == status, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def test_tutorial_run_on_a_few_files_writes_two_samples(songs, tmp_path):
    some = tmp_path / "some"
    some.mkdir()
    for f in sorted(songs.glob("*.mid"))[:3]:
        shutil.copy(f, some)
    out = tmp_path / "out"
    result = run("--data", some / "*.mid", "--epochs", 1, "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("Epoch 1/1 -")
    assert "Warning" not in result.stderr and "\r" not in result.stderr, result.stderr
    for name in ("sample1", "sample2"):
        assert mido.MidiFile(out / f"{name}.mid").length > 0
        assert midiread(out / f"{name}.mid", (21, 109), 0.3).piano_roll.shape[1] == 88
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / f"{name}.wav").is_file()
    assert (out / "log.tsv").read_text().splitlines()[0] == "epoch\tmonitor\tseconds"


@pytest.mark.parametrize("name", ["train", "generate", "evaluate", "compare", "bench"])
def test_every_subcommand_has_help(name):
    result = run(name, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")


def test_missing_data_names_download_sh(tmp_path):
    result = run("--data", tmp_path / "nothing" / "*.mid", "--epochs", 1, cwd=tmp_path)
    assert_clean_error(result, 2, "./download.sh")


@pytest.mark.parametrize("args, words", [
    (["--epochs", "-1"], ["--epochs"]),
    (["train", "--dt", "0"], ["--dt"]),
    (["train", "--pitch-range", "60", "60"], ["--pitch-range 60 60"]),
    (["train", "--resume", "missing.npz"], ["missing.npz"]),
    (["generate", "missing.npz"], ["missing.npz"]),
    (["generate", "x.npz", "--length", "0"], ["--length"]),
])
def test_wrong_arguments_give_one_line_and_status_2(tmp_path, args, words):
    result = run(*args, cwd=tmp_path)
    assert_clean_error(result, 2, *words)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_bad_files_are_skipped_with_a_warning_or_refused_with_strict(songs, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for f in sorted(songs.glob("*.mid"))[:2]:
        shutil.copy(f, data)
    (data / "broken.mid").write_text("not MIDI")
    (data / "cut.mid").write_bytes((songs / sorted(p.name for p in songs.glob("*.mid"))[0]).read_bytes()[:40])
    result = run("train", "--data", data, "--epochs", 1, "--out", tmp_path / "run", *SMALL)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2
    assert "broken.mid" in warnings[0] and "cut.mid" in warnings[1]

    result = run("train", "--data", data, "--epochs", 1, "--out", tmp_path / "strict", "--strict")
    assert_clean_error(result, 1, "broken.mid")
    assert not (tmp_path / "strict" / "log.tsv").exists()  # refused before training


def wait_for_epochs(log, count, process, limit=300):
    deadline = time.time() + limit
    while time.time() < deadline:
        if log.exists() and len(log.read_text().splitlines()) > count:
            return
        assert process.poll() is None, "training ended before it could be interrupted"
        time.sleep(0.02)
    raise AssertionError("training too slow")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_writes_a_checkpoint_and_the_resumed_run_matches(songs, tmp_path, sig):
    """Interrupt a real training process, resume it, compare with an uninterrupted run."""
    epochs = 60
    train = ["train", "--data", songs, "--epochs", epochs, "--seed", 5, *SMALL]
    interrupted = subprocess.Popen(command(*train, "--out", tmp_path / "a"), cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_epochs(tmp_path / "a" / "log.tsv", 2, interrupted)
    interrupted.send_signal(sig)
    stdout, stderr = interrupted.communicate(timeout=120)
    assert interrupted.returncode == 130, stderr
    assert "Traceback" not in stderr
    resume = stdout.splitlines()[-1].strip()
    assert resume.startswith("python rnnrbm.py train --resume ")
    done = len(rnnrbm.read_checkpoint(tmp_path / "a" / "checkpoint.npz")["history"])
    # At least the epoch before the signal (one that ends just as the signal
    # comes may be abandoned too: the state restored is from before it).
    assert 1 <= done < epochs

    resumed = subprocess.run([sys.executable, *resume.split()[1:]], cwd=ROOT,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    straight = run(*train, "--out", tmp_path / "b")
    assert straight.returncode == 0, straight.stderr

    a, b = (rnnrbm.read_checkpoint(tmp_path / name / "checkpoint.npz") for name in "ab")
    assert [row[:2] for row in a["history"]] == [row[:2] for row in b["history"]]
    assert len(a["history"]) == epochs
    for name in rnnrbm.PARAM_NAMES:
        np.testing.assert_array_equal(a[name], b[name])
    assert a["rng_state"] == b["rng_state"]


def test_kill_during_checkpoint_writes_never_leaves_an_unloadable_checkpoint(tmp_path):
    path = tmp_path / "checkpoint.npz"
    initial_W = rnnrbm.build_rnnrbm(88, 300, 300, seed=1)["params"][0].get_value()
    writer = f"""
import numpy as np, rnnrbm
model = rnnrbm.RnnRbm(n_hidden=300, n_hidden_recurrent=300, seed=1)
model.save({str(path)!r})
print("ready", flush=True)
while True:
    model.params[0].set_value(model.params[0].get_value() + 1)
    model.save({str(path)!r})
"""
    for delay in (0.05, 0.13, 0.31):
        process = subprocess.Popen([sys.executable, "-c", writer], cwd=ROOT,
                                   stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "ready"
        time.sleep(delay)
        process.kill()
        process.wait()
        state = rnnrbm.read_checkpoint(path)
        # Not torn: the whole of W is the initial W plus one whole number of steps.
        steps = state["W"] - initial_W
        assert np.allclose(steps, round(steps.flat[0]), rtol=0, atol=1e-9)


def test_corrupt_or_foreign_checkpoints_are_named(songs, tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.zeros(3))
    for bad in (corrupt, foreign):
        assert_clean_error(run("generate", bad, "--out", tmp_path), 1, bad.name)
        assert_clean_error(run("train", "--resume", bad, "--data", songs, "--out", tmp_path),
                           1, bad.name)


def test_diverging_parameters_stop_with_the_last_good_checkpoint(songs, tmp_path):
    out = tmp_path / "run"
    result = run("train", "--data", songs, "--epochs", 1, "--out", out, *SMALL)
    assert result.returncode == 0, result.stderr
    good = rnnrbm.read_checkpoint(out / "checkpoint.npz")
    result = run("train", "--data", songs, "--epochs", 3, "--out", out, "--lr", "1e308",
                 "--checkpoint-every", 1, *SMALL)
    assert_clean_error(result, 1, "NaN or infinite", "checkpoint.npz")
    state = rnnrbm.read_checkpoint(out / "checkpoint.npz")
    assert all(np.isfinite(state[name]).all() for name in rnnrbm.PARAM_NAMES)
    assert good["W"].shape == state["W"].shape


def test_generate_writes_midi_png_and_a_wav_of_the_right_length(songs, tmp_path):
    model = rnnrbm.RnnRbm(n_hidden=20, n_hidden_recurrent=10, seed=3)
    model.save(tmp_path / "checkpoint.npz")
    primer = sorted(songs.glob("*.mid"))[0]
    result = run("generate", tmp_path / "checkpoint.npz", "-n", 2, "--length", 40,
                 "--gibbs-steps", 5, "--prime", primer, "--prime-frames", 10,
                 "--seed", 1, "--out", tmp_path / "samples")
    assert result.returncode == 0, result.stderr
    for n in (1, 2):
        stem = tmp_path / "samples" / f"sample{n}"
        roll = midiread(f"{stem}.mid", (21, 109), 0.3).piano_roll
        assert len(roll) <= 50
        np.testing.assert_array_equal(roll[:10], midiread(primer, (21, 109), 0.3).piano_roll[:10])
        with wave.open(f"{stem}.wav") as w:
            assert w.getframerate() == 22050 and w.getnchannels() == 1
            assert w.getnframes() == round(50 * 0.3 * 22050) + round(synth.RELEASE * 22050)
        assert Path(f"{stem}.png").stat().st_size > 1000


def test_progress_bar_counts_chunks_and_clears_its_line():
    import io

    import cli

    stream = io.StringIO()
    bar = cli.ProgressBar(stream)
    for done in range(1, 11):
        bar(done, 10)
    text = stream.getvalue()
    assert "1/10 chunks" in text and "10/10 chunks" in text and "s left" in text
    assert text.endswith("\r")


def test_resume_command_replaces_an_earlier_resume():
    import cli

    argv = ["train", "--resume", "old.npz", "--data", "songs", "--epochs", "9"]
    assert cli.resume_command(argv, "run/checkpoint.npz") == \
        "python rnnrbm.py train --resume run/checkpoint.npz --data songs --epochs 9"
    assert cli.resume_command(["--epochs", "9"], "c.npz") == \
        "python rnnrbm.py train --resume c.npz --epochs 9"
