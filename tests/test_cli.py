"""The command line end to end, as a user runs it: real processes, real files, real signals."""

import contextlib
import fcntl
import io
import json
import math
import os
import pty
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
import wave
from pathlib import Path

import mido
import numpy as np
import pytest

import rnnrbm
from midi.utils import midiread
from polyphonic import console
from polyphonic.commands import cli
from polyphonic.models.numpy_rnnrbm import PARAM_NAMES
from polyphonic.music import synth
from polyphonic.music.datasets import SPLITS
from polyphonic.training import checkpoints, workflow

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


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "checkpoint.npz"
    rnnrbm.RnnRbm(n_hidden=20, n_hidden_recurrent=10, seed=3).save(path)
    return path


def assert_clean_error(result, status, *words):
    assert result.returncode == status, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def assert_one_line_error(result, *words):
    assert_clean_error(result, 2, *words)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_tutorial_run_on_a_few_files_writes_two_samples(songs, tmp_path):
    some = tmp_path / "some"
    some.mkdir()
    for f in sorted(songs.glob("*.mid"))[:3]:
        shutil.copy(f, some)
    out = tmp_path / "out"
    result = run("--data", some / "*.mid", "--epochs", 1, "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("Epoch 1/1 -")
    assert "compiling the model" in result.stderr  # not silent while it compiles
    assert "Warning" not in result.stderr and "\r" not in result.stderr, result.stderr
    for name in ("sample1", "sample2"):
        assert mido.MidiFile(out / f"{name}.mid").length > 0
        assert midiread(out / f"{name}.mid", (21, 109), 0.3).piano_roll.shape[1] == 88
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / f"{name}.wav").is_file()
    assert (out / "log.tsv").read_text().splitlines()[0] == "epoch\tmonitor\tseconds"
    assert sorted(p.name for p in out.iterdir() if "partial" in p.name) == []


@pytest.mark.parametrize("name", cli.COMMANDS)
def test_every_subcommand_has_help_with_its_own_usage_line(name):
    result = run(name, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: rnnrbm.py {name} "), result.stdout


def test_options_before_a_command_are_an_error_not_ignored(songs, tmp_path):
    result = run("--epochs", 1, "--out", tmp_path / "x", "train", "--data", songs, cwd=tmp_path)
    assert_one_line_error(result, "before the command 'train'")
    assert not (tmp_path / "x").exists()
    assert_one_line_error(run("generate", "c.npz", "--epochs", 5), "--epochs")


def run_in_process(monkeypatch, capsys, *args):
    """cli.main in this process (to change its module globals); returns (status, stderr)."""
    monkeypatch.setattr(signal, "signal", lambda *a: None)  # keep pytest's own handlers
    status = cli.main([str(a) for a in args])
    return status, capsys.readouterr().err


def test_default_data_is_found_from_any_folder_and_missing_data_says_where(
        songs, tmp_path, monkeypatch, capsys):
    data = tmp_path / "project-data"
    monkeypatch.setattr(workflow, "DATA", str(data))
    monkeypatch.chdir(tmp_path)  # elsewhere than the project folder
    status, err = run_in_process(monkeypatch, capsys, "train", "--out", tmp_path / "a",
                                 "--epochs", 1)
    assert status == 2 and "./download.sh" in err and str(data / "Nottingham" / "train") in err
    shutil.copytree(songs, data / "Nottingham" / "train")
    status, err = run_in_process(monkeypatch, capsys, "train", "--out", tmp_path / "b",
                                 "--epochs", 1, *SMALL)
    assert status == 0, err
    assert "reading 20 MIDI files" in err


def test_midi_files_with_any_extension_case_are_read(songs, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for f, name in zip(sorted(songs.glob("*.mid")), ["a.MID", "b.midi", "c.MIDI", "d.mid"]):
        shutil.copy(f, data / name)
    (data / "notes.txt").write_text("not a song")
    result = run("train", "--data", data, "--epochs", 1, "--out", tmp_path / "run", *SMALL)
    assert result.returncode == 0, result.stderr
    assert "reading 4 MIDI files" in result.stderr


@pytest.mark.parametrize("args, words", [
    (["--epochs", "-1"], ["--epochs"]),
    (["--epochs", "0"], ["--epochs"]),
    (["train", "--dt", "0"], ["--dt"]),
    (["train", "--pitch-range", "60", "60"], ["--pitch-range 60 60"]),
    (["train", "--resume", "missing.npz"], ["--resume missing.npz"]),
    (["train", "--data", "missing/*.mid"], ["--data missing/*.mid", "no MIDI files"]),
    (["train", "--data", "missing.pickle"], ["--data missing.pickle", "no such file"]),
    (["generate", "missing.npz"], ["missing.npz"]),
    (["generate", "x.npz", "--length", "0"], ["--length"]),
    (["evaluate", "missing.npz"], ["missing.npz"]),
    (["evaluate", "x.npz", "--jobs", "0"], ["--jobs"]),
    (["evaluate", "x.npz", "--chains", "1"], ["--chains"]),
    (["compare", "missing.tsv"], ["missing.tsv"]),
])
def test_wrong_arguments_give_one_line_and_status_2(tmp_path, args, words):
    result = run(*args, cwd=tmp_path)
    assert_one_line_error(result, *words)
    assert "download.sh" not in result.stderr  # the user's own paths get no download hint


def test_every_path_a_user_gives_gets_a_one_line_error(songs, small_checkpoint, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = [
        (["train", "--data", songs, "--out", a_file], "--out"),
        (["generate", small_checkpoint, "--out", "/proc/x/y"], "--out /proc/x/y"),
        (["generate", small_checkpoint, "--prime", tmp_path / "nope.mid"], "--prime"),
        (["generate", small_checkpoint, "--prime", a_file, "--out", tmp_path], "a-file"),
        (["generate", tmp_path], "a folder"),
        (["evaluate", small_checkpoint, "--pickle", tmp_path / "no.pickle"], "no.pickle"),
        (["evaluate", small_checkpoint, "--pickle", a_file], "a-file"),
        (["compare", a_file], "a-file"),
    ]
    for args, word in cases:
        assert_one_line_error(run(*args, cwd=tmp_path), word)


def test_prime_frames_beyond_the_primer_is_refused(songs, small_checkpoint, tmp_path):
    primer = sorted(songs.glob("*.mid"))[0]
    frames = len(midiread(primer, (21, 109), 0.3).piano_roll)
    result = run("generate", small_checkpoint, "--prime", primer, "--prime-frames", frames + 1,
                 "--out", tmp_path)
    assert_one_line_error(result, f"--prime-frames {frames + 1}", f"only {frames} frames")


def test_a_tiny_dt_is_refused_with_the_size_unless_insisted(songs, tmp_path):
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(sorted(songs.glob("*.mid"))[0], one)
    result = run("train", "--data", one, "--dt", "0.0005", "--out", tmp_path / "a", *SMALL)
    assert_clean_error(result, 2, "--dt 0.0005", "frames", "--allow-long-songs")
    result = run("train", "--data", one, "--dt", "0.0005", "--allow-long-songs", "--epochs", 1,
                 "--out", tmp_path / "b", *SMALL)
    assert result.returncode == 0, result.stderr


def test_an_existing_run_is_not_overwritten_without_asking(songs, tmp_path):
    out = tmp_path / "run"
    assert run("train", "--data", songs, "--epochs", 1, "--out", out, *SMALL).returncode == 0
    before = (out / "checkpoint.npz").read_bytes()
    result = run("train", "--data", songs, "--epochs", 1, "--out", out, *SMALL)
    assert_one_line_error(result, "already holds a run", "--overwrite")
    assert (out / "checkpoint.npz").read_bytes() == before


def test_bad_files_are_skipped_with_a_warning_or_refused_with_strict(songs, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for f in sorted(songs.glob("*.mid"))[:2]:
        shutil.copy(f, data)
    (data / "broken.mid").write_text("not MIDI")
    (data / "cut.mid").write_bytes(sorted(songs.glob("*.mid"))[0].read_bytes()[:40])
    result = run("train", "--data", data, "--epochs", 1, "--out", tmp_path / "run", *SMALL)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2
    assert "broken.mid" in warnings[0] and "cut.mid" in warnings[1]
    assert all(line.endswith("; skipped") for line in warnings)

    result = run("train", "--data", data, "--epochs", 1, "--out", tmp_path / "strict", "--strict")
    assert_clean_error(result, 2, "broken.mid")
    assert not (tmp_path / "strict" / "log.tsv").exists()  # refused before training

    for f in data.glob("*.mid"):
        if f.name not in ("broken.mid", "cut.mid"):
            f.unlink()
    result = run("train", "--data", data, "--epochs", 1, "--out", tmp_path / "none")
    assert_clean_error(result, 2, "none of the 2 MIDI files")


def wait_for(condition, process, limit=300):
    deadline = time.time() + limit
    while time.time() < deadline:
        if condition():
            return
        assert process.poll() is None, "the process ended before it could be interrupted"
        time.sleep(0.02)
    raise AssertionError("waited too long")


def epochs_logged(log, count):
    return lambda: log.exists() and len(log.read_text().splitlines()) > count


def start(*args):
    return subprocess.Popen(command(*args), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_writes_a_checkpoint_and_the_printed_command_resumes_exactly(
        songs, tmp_path, sig, status):
    """Interrupt a real training process, run the printed command through a
    shell, compare with an uninterrupted run."""
    epochs = 60
    # --split train: a value equal to a command name; a folder with a space.
    train = ["train", "--data", songs, "--split", "train", "--epochs", epochs, "--seed", 5, *SMALL]
    out = tmp_path / "run a"
    interrupted = start(*train, "--out", out)
    wait_for(epochs_logged(out / "log.tsv", 2), interrupted)
    interrupted.send_signal(sig)
    stdout, stderr = interrupted.communicate(timeout=120)
    assert interrupted.returncode == status, stderr
    assert "Traceback" not in stderr
    name = "SIGTERM" if sig == signal.SIGTERM else "Ctrl+C"
    assert f"Interrupted by {name}" in stdout
    done = len(checkpoints.read_checkpoint(out / "checkpoint.npz")["history"])
    # At least the epoch before the signal (one that ends just as the signal
    # comes may be abandoned too: the state restored is from before it).
    assert 1 <= done < epochs

    resumed = subprocess.run(stdout.splitlines()[-1].strip(), shell=True, cwd=ROOT,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    straight = run(*train, "--out", tmp_path / "b")
    assert straight.returncode == 0, straight.stderr

    a, b = (checkpoints.read_checkpoint(path / "checkpoint.npz") for path in (out, tmp_path / "b"))
    assert [row[:2] for row in a["history"]] == [row[:2] for row in b["history"]]
    assert len(a["history"]) == epochs
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(a[name], b[name])
    assert a["rng_state"] == b["rng_state"]


def test_interrupted_tutorial_run_writes_no_samples_and_its_command_finishes_the_run(
        songs, tmp_path):
    out = tmp_path / "tutorial"
    process = start("--data", songs, "--epochs", 40, "--out", out, *SMALL)
    wait_for(epochs_logged(out / "log.tsv", 2), process)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    assert not list(out.glob("sample*"))
    resume = stdout.splitlines()[-1].strip()
    assert " tutorial " not in resume and "--out" in resume  # the same bare run, same folder
    resumed = subprocess.run(resume, shell=True, cwd=ROOT, capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert len(checkpoints.read_checkpoint(out / "checkpoint.npz")["history"]) == 40
    for name in ("sample1", "sample2"):
        assert all((out / f"{name}.{ext}").is_file() for ext in ("mid", "png", "wav"))


def test_ctrl_c_while_reading_or_compiling_exits_cleanly(nottingham_dir, tmp_path):
    for i, phase in enumerate(("reading", "compiling")):
        out = tmp_path / f"run{i}"
        # All 694 training files: reading takes seconds, time enough to interrupt it.
        process = start("train", "--data", nottingham_dir / "train", "--out", out, *SMALL)
        lines = []
        wait_for(lambda: lines.append(process.stderr.readline()) or phase in lines[-1], process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 130, stderr
        assert "Traceback" not in stderr and "Interrupted by Ctrl+C" in stderr, stderr


def test_ctrl_c_while_plotting_keeps_checkpoint_and_log_whole(songs, tmp_path, monkeypatch,
                                                              capsys):
    from polyphonic.evaluation import compare

    def interrupted_plot(history, path, title, published=None):
        Path(path).write_bytes(b"half a picture")
        raise KeyboardInterrupt

    monkeypatch.setattr(compare, "plot", interrupted_plot)
    out = tmp_path / "run"
    status, err = run_in_process(monkeypatch, capsys, "train", "--data", songs, "--epochs", 2,
                                 "--out", out, *SMALL)
    assert status == 130 and "Interrupted" in err
    assert len(checkpoints.read_checkpoint(out / "checkpoint.npz")["history"]) == 2
    assert len((out / "log.tsv").read_text().splitlines()) == 3
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.npz", "log.tsv"]


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
        state = checkpoints.read_checkpoint(path)
        # Not torn: the whole of W is the initial W plus one whole number of steps.
        steps = state["W"] - initial_W
        assert np.allclose(steps, round(steps.flat[0]), rtol=0, atol=1e-9)
    # What the killed writers left behind goes with the next write.
    rnnrbm.RnnRbm(n_hidden=3, n_hidden_recurrent=2).save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]


def test_a_live_writers_temporary_is_left_alone(tmp_path):
    live = tmp_path / "x.partial1.npz"  # PID 1 always exists
    dead = tmp_path / "x.partial999999999.npz"
    live.write_text("")
    dead.write_text("")
    with checkpoints.atomic_output(str(tmp_path / "x.npz")) as temporary:
        Path(temporary).write_text("new")
    assert live.exists() and not dead.exists()
    assert (tmp_path / "x.npz").read_text() == "new"


def test_corrupt_or_foreign_checkpoints_are_named(songs, tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.zeros(3))
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, **{name: np.array([{"a": 1}], dtype=object)
                         for name in (*PARAM_NAMES, *checkpoints.CHECKPOINT_JSON)})
    text = tmp_path / "text.npz"
    text.write_text("not a checkpoint at all")
    for bad in (corrupt, foreign, pickled, text):
        for args in (["generate", bad, "--out", tmp_path],
                     ["train", "--resume", bad, "--data", songs, "--out", tmp_path / "r"],
                     ["evaluate", bad]):
            result = run(*args)
            assert_one_line_error(result, bad.name, "not an rnnrbm checkpoint")
            assert "allow_pickle" not in result.stderr


def test_diverging_parameters_stop_with_the_last_good_checkpoint(songs, tmp_path):
    out = tmp_path / "run"
    result = run("train", "--data", songs, "--epochs", 1, "--out", out, *SMALL)
    assert result.returncode == 0, result.stderr
    good = checkpoints.read_checkpoint(out / "checkpoint.npz")
    result = run("train", "--data", songs, "--epochs", 3, "--out", out, "--lr", "1e308",
                 "--checkpoint-every", 1, "--overwrite", *SMALL)
    assert_clean_error(result, 1, "NaN or infinite", "checkpoint.npz")
    state = checkpoints.read_checkpoint(out / "checkpoint.npz")
    assert all(np.isfinite(state[name]).all() for name in PARAM_NAMES)
    assert good["W"].shape == state["W"].shape


def test_generate_writes_midi_png_and_a_wav_of_the_right_length(songs, small_checkpoint, tmp_path):
    primer = sorted(songs.glob("*.mid"))[0]
    result = run("generate", small_checkpoint, "-n", 2, "--length", 40,
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


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_in_a_log(songs, tmp_path):
    # A terminal: tqdm's bar (chunks, rate, time left) on stderr, redrawn in place.
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    process = subprocess.Popen(command("train", "--data", songs, "--epochs", 2,
                                       "--out", tmp_path / "tty", *SMALL),
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    seen = b""
    with contextlib.suppress(OSError):  # reading a pty whose writer closed raises EIO
        while chunk := os.read(leader, 4096):
            seen += chunk
    process.wait(timeout=300)
    os.close(leader)
    assert process.returncode == 0
    assert b"chunk/s" in seen and b"\r" in seen, seen[-500:]
    assert b"file/s" in seen  # reading the MIDI files has a bar too
    # A log: plain lines with the same figures, one per report.
    stream = io.StringIO()
    progress = console.Progress("frame", plain=True, stream=stream)
    time.sleep(0.1)  # the first batch's work: its rate counts from the reporter's start
    for done in (2000, 4000, 5000):
        progress(done, 5000)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in stream.getvalue()
    assert lines[0].startswith("2000/5000 frames (40 %)") and "left" in lines[0]
    assert float(re.search(r"([0-9.]+)frame/s", lines[0]).group(1)) <= 2000 / 0.1


def test_resume_command_keeps_every_other_argument_and_quotes_them():
    argv = ["train", "--resume", "old.npz", "--data", "my songs", "--split", "train",
            "--epochs", "9"]
    words = workflow.resume_command(argv, "run/checkpoint.npz")
    assert words.endswith("train --data 'my songs' --split train --epochs 9 "
                          "--resume run/checkpoint.npz")
    assert workflow.resume_command(["--epochs=9", "--resume=x.npz"], "c.npz").endswith(
        "rnnrbm.py --epochs=9 --resume c.npz")


def test_importing_modules_changes_nothing_and_only_entry_points_import_the_command_line():
    """Every module of the project imports without touching the environment or
    asking the compiler anything, and none but the command line's own brings
    in polyphonic.commands.cli (each is imported in a fresh interpreter)."""
    code = """
import importlib, os, pkgutil, subprocess, sys
import polyphonic
names = ["rnnrbm", "midi", "midi.utils"] + [m.name for m in pkgutil.walk_packages(
    polyphonic.__path__, "polyphonic.") if m.name != "polyphonic.commands.cli"]
for name in names:
    script = (f"import os, sys; before = dict(os.environ); import {name}; "
              "import rnnrbm; "
              "assert 'polyphonic.commands.cli' not in sys.modules, 'imports the command line'; "
              "assert dict(os.environ) == before, 'changes the environment'; "
              "assert not rnnrbm._blas_checked, 'asks the compiler about BLAS'")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if done.returncode:
        print(name, done.stderr.strip().splitlines()[-1])
print(len(names), "modules")
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0 and len(lines) == 1, result.stdout + result.stderr
    assert int(lines[0].split()[0]) >= 25, lines  # every module was found


def test_readme_python_example_runs_from_another_folder(nottingham_dir, tmp_path):
    """The README's first Python block, run by this interpreter (where setup.sh
    installed the project, pip install -e .) in a folder that is not the
    project's, with the data reached through RNNRBM_DATA."""
    text = (ROOT / "README.md").read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    data = tmp_path / "data"
    data.mkdir()
    (data / "Nottingham").symlink_to(nottingham_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "DISPLAY")}
    result = subprocess.run([sys.executable, "-c", example], cwd=elsewhere, capture_output=True,
                            text=True, timeout=600, env=dict(env, RNNRBM_DATA=str(data)))
    assert result.returncode == 0, result.stderr + (
        "\n(is the project installed in this interpreter? ./setup.sh installs it editable)"
        if "ModuleNotFoundError" in result.stderr else "")
    assert (elsewhere / "sample.mid").is_file() and (elsewhere / "sample.png").is_file()
    assert (elsewhere / "checkpoint.npz").is_file()


def test_compare_names_a_file_that_is_not_a_log(tmp_path):
    picture = tmp_path / "picture.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary")
    result = run("compare", picture)
    assert_one_line_error(result, "picture.png", "epoch", "monitor")
    table = tmp_path / "other.tsv"
    table.write_text("a\tb\n1\t2\n")
    assert_one_line_error(run("compare", table), "other.tsv", "header")


def test_evaluate_shows_progress_and_reports_its_settings(tmp_path):
    import pickle

    model = rnnrbm.RnnRbm(n_hidden=6, n_hidden_recurrent=4, r=(60, 66), seed=9)
    model.save(tmp_path / "checkpoint.npz")
    dataset = {split: [[[60, 64], [62], [], [65, 60]]] for split in SPLITS}
    (tmp_path / "tiny.pickle").write_bytes(pickle.dumps(dataset))
    result = run("evaluate", tmp_path / "checkpoint.npz", "--pickle", tmp_path / "tiny.pickle",
                 "--chains", 3, "--temperatures", 5, "--jobs", 1, "--mixing", 0,
                 "--out", tmp_path / "out" / "metrics.json")
    assert result.returncode == 0, result.stderr
    assert "4/4 frames (100 %)" in result.stderr
    assert "warning" not in result.stderr  # a checkpoint that records no data: no grid to compare
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["ais_chains"] == 3 and metrics["ais_temperatures"] == 5
    assert metrics["seconds"] >= 0 and "rnnrbm.py evaluate" in metrics["command"]


def test_transpose_reads_the_training_files_in_c(songs, nottingham_pickle):
    """--transpose shifts each song to C by midiread's rule; a pickle (transposed
    already) refuses it."""
    from midi.utils import midiread

    args = cli.build_parser().parse_args(["train", "--data", str(songs), "--transpose"])
    rolls = workflow.read_training_data(args, (21, 109), 0.3)
    files = sorted(songs.glob("*.mid"))
    shifts = [midiread(f, (21, 109), 0.3, transpose=True).transposed_by for f in files]
    assert any(shifts)  # most of these tunes are not in C
    for f, roll in zip(files, rolls):
        np.testing.assert_array_equal(roll, midiread(f, (21, 109), 0.3, transpose=True).piano_roll)
    args = cli.build_parser().parse_args(["train", "--data", str(nottingham_pickle), "--transpose"])
    with pytest.raises(console.UserError, match="--transpose"):
        workflow.read_training_data(args, (21, 109), 0.3)


# ---------------------------------------------------------------- rough edges of issue 21

@pytest.fixture
def tiny_pickle(tmp_path):
    """A data set in the paper's pickle format with one 4-frame sequence per split."""
    import pickle

    path = tmp_path / "tiny.pickle"
    path.write_bytes(pickle.dumps({split: [[[60, 64], [62], [], [65, 60]]] for split in SPLITS}))
    return path


def test_the_monitor_is_titled_with_the_model_and_its_data(songs, tiny_pickle, tmp_path,
                                                          monkeypatch, capsys):
    titles = []

    def plot(ours, path, title):
        titles.append(title)
        Path(path).write_bytes(b"")
    monkeypatch.setattr(workflow.compare, "plot", plot)
    for data in (songs, tiny_pickle):
        status, err = run_in_process(monkeypatch, capsys, "train", "--data", data, "--epochs", 1,
                                     "--out", tmp_path / data.stem, *SMALL)
        assert status == 0, err
    assert titles == [f"RNN-RBM on {workflow.display(str(songs))}: training monitor",
                      "RNN-RBM on tiny (train): training monitor"]


def test_a_resumed_run_says_where_it_resumes(songs, tmp_path):
    out = tmp_path / "run"
    assert run("train", "--data", songs, "--epochs", 1, "--out", out, *SMALL).returncode == 0
    result = run("train", "--data", songs, "--epochs", 2, "--out", out, *SMALL,
                 "--resume", out / "checkpoint.npz")
    assert result.returncode == 0, result.stderr
    assert f"resuming {out / 'checkpoint.npz'} at epoch 2 of 2" in result.stderr


def test_an_unknown_option_after_a_command_points_to_that_commands_help():
    for words, usage in ((["train", "--bogus"], "rnnrbm.py train --help"),
                         (["snippet", "train", "--bogus"], "rnnrbm.py snippet train --help"),
                         (["evaluate", "x.npz", "--bogus"], "rnnrbm.py evaluate --help")):
        result = run(*words)
        assert_one_line_error(result, "unrecognized arguments: --bogus", f"(see {usage})")


def test_an_unknown_data_set_name_lists_the_four(small_checkpoint, tmp_path):
    names = "Nottingham, JSB Chorales, MuseData, Piano-midi.de"
    assert_one_line_error(run("train", "--data", "JSB", "--out", tmp_path / "x"), "--data JSB",
                          names)
    assert_one_line_error(run("evaluate", small_checkpoint, "--pickle", "Bach"), "--pickle Bach",
                          names)
    # A path that is not a name gets no list.
    result = run("train", "--data", tmp_path / "nothing.mid", "--out", tmp_path / "x")
    assert_one_line_error(result, "nothing.mid: no such file")
    assert "Nottingham" not in result.stderr


def test_evaluate_given_a_midi_file_as_a_pickle_says_so(small_checkpoint, songs):
    midi = sorted(songs.glob("*.mid"))[0]
    result = run("evaluate", small_checkpoint, "--pickle", midi)
    assert_one_line_error(result, f"{midi} is a MIDI file", "--data")
    assert "UnpicklingError" not in result.stderr


def test_evaluate_scores_midi_files_and_warns_of_another_grid(songs, tiny_pickle, tmp_path,
                                                              monkeypatch, capsys):
    out = tmp_path / "run"
    assert run("train", "--data", songs, "--epochs", 1, "--out", out, *SMALL).returncode == 0
    quick = ["--chains", 3, "--temperatures", 5, "--jobs", 1, "--mixing", 0]  # no AIS to check
    on_midi = run("evaluate", out / "checkpoint.npz", "--data", songs, "--sequences", 1, *quick)
    assert on_midi.returncode == 0, on_midi.stderr
    assert "warning" not in on_midi.stderr  # the grid it was trained on
    metrics = json.loads(on_midi.stdout)
    assert metrics["dataset"] == str(songs) and metrics["split"] is None
    assert metrics["frames"] == len(midiread(sorted(songs.glob("*.mid"))[0], (21, 109),
                                             0.3).piano_roll)
    on_pickle = run("evaluate", out / "checkpoint.npz", "--pickle", tiny_pickle, *quick)
    assert on_pickle.returncode == 0, on_pickle.stderr
    assert ("warning: the model was trained on MIDI files at 0.3 s per frame, this is the "
            "frames of tiny (pickle)") in on_pickle.stderr
    assert_one_line_error(run("evaluate", out / "checkpoint.npz", "--data", tiny_pickle),
                          "--data", "tiny.pickle", "--pickle")
    # Transposed MIDI files are read transposed again; another pickle is another grid.
    transposed = tmp_path / "transposed"
    assert run("train", "--data", songs, "--epochs", 1, "--out", transposed, "--transpose",
               *SMALL).returncode == 0
    assert checkpoints.read_checkpoint(transposed / "checkpoint.npz")["data"]["transpose"]
    read = workflow.read_midi_data
    asked = []
    monkeypatch.setattr(workflow, "read_midi_data",
                        lambda *a, **kw: asked.append(kw["transpose"]) or read(*a, **kw))
    status, err = run_in_process(monkeypatch, capsys, "evaluate", transposed / "checkpoint.npz",
                                 "--data", songs, "--sequences", 1, *quick)
    assert status == 0 and asked == [True] and "warning" not in err, err
    on_pickle = tmp_path / "on-pickle"
    assert run("train", "--data", tiny_pickle, "--epochs", 1, "--out", on_pickle,
               *SMALL).returncode == 0
    shutil.copy(tiny_pickle, tmp_path / "other.pickle")
    other = run("evaluate", on_pickle / "checkpoint.npz", "--pickle", tmp_path / "other.pickle",
                *quick)
    assert ("warning: the model was trained on the frames of tiny (pickle), this is the frames "
            "of other (pickle)") in other.stderr


def test_the_recorded_command_keeps_non_ascii_and_pastes_back(tmp_path, tiny_pickle):
    folder = tmp_path / "modèles"
    folder.mkdir()
    rnnrbm.RnnRbm(n_hidden=6, n_hidden_recurrent=4, r=(60, 66), seed=9).save(
        folder / "première.npz")
    result = run("evaluate", folder / "première.npz", "--pickle", tiny_pickle, "--chains", 3,
                 "--temperatures", 5, "--jobs", 1)
    assert result.returncode == 0, result.stderr
    assert "première" in result.stdout and "\\u00e8" not in result.stdout
    words = shlex.split(json.loads(result.stdout)["command"])
    assert words[words.index("evaluate") + 1] == str(folder / "première.npz")
    pasted = subprocess.run(json.loads(result.stdout)["command"], shell=True, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert pasted.returncode == 0 and json.loads(pasted.stdout)["log_likelihood_per_frame"] == \
        json.loads(result.stdout)["log_likelihood_per_frame"]


def test_evaluate_random_is_the_random_row(tiny_pickle):
    result = run("evaluate", "random", "--pickle", tiny_pickle)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["model"] == "random" and metrics["exact"]
    assert metrics["log_likelihood_per_frame"] == pytest.approx(88 * math.log(0.5))
    assert metrics["accuracy_paper"] == pytest.approx((2 + 1 + 0 + 2) / 4 / 88)


def test_evaluate_warns_when_the_chains_do_not_mix(small_checkpoint, tiny_pickle, monkeypatch,
                                                   capsys):
    from polyphonic.evaluation import scoring

    evaluate = scoring.evaluate
    unmixed = dict(frames=4, accuracy_by_start={"zeros": {"paper": 0.04}, "ais": {"paper": 0.6}},
                   tolerance=0.01, mixed=False)
    monkeypatch.setattr(scoring, "evaluate",
                        lambda *a, **kw: dict(evaluate(*a, **kw), mixing=unmixed))
    status, err = run_in_process(monkeypatch, capsys, "evaluate", small_checkpoint, "--pickle",
                                 tiny_pickle, "--chains", 3, "--temperatures", 5, "--jobs", 1)
    assert status == 0
    assert ("warning: the Gibbs chains do not mix on 4 frames: accuracy_paper 4.0 % from zeros, "
            "60.0 % from ais (tolerance 1 points)") in err


def test_train_model_rnn_and_rbm_select_and_evaluate(tiny_pickle, tmp_path, monkeypatch, capsys):
    """Table 1's simple rows end to end: --model rnn (Adam) and --model rbm
    train on a pickle, keep their best validation epoch, and evaluate scores
    each: the RNN exactly, the RBM with one AIS estimate and the mixing check."""
    for model, extra in (("rnn", ["--optimizer", "adam", "--n-hidden-recurrent", 5]),
                         ("rbm", ["--n-hidden", 5, "--k", 1, "--select-chains", 20,
                                  "--select-temperatures", 50])):
        out = tmp_path / model
        status, err = run_in_process(monkeypatch, capsys, "train", "--model", model, "--data",
                                     tiny_pickle, "--epochs", 2, "--lr", 0.01, "--select-every",
                                     1, "--out", out, *extra)
        assert status == 0, err
        assert len((out / "valid.tsv").read_text().splitlines()) == 3  # header and 2 epochs
        status, err = run_in_process(monkeypatch, capsys, "evaluate", out / "best.npz",
                                     "--pickle", tiny_pickle, "--chains", 10, "--temperatures",
                                     20, "--mixing", 4, "--out", out / "metrics.json")
        assert status == 0, err
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["model"] == model and metrics["frames"] == 4
        assert ("mixing" in metrics) == (model == "rbm")
        assert metrics["log_likelihood_per_frame"] < 0


def test_nade_and_rnn_nade_train_evaluate_exactly_and_generate(tiny_pickle, tmp_path,
                                                              monkeypatch, capsys):
    """--model nade and --model rnn-nade (with RNN pretraining) train on a
    pickle and keep their best epoch; evaluate scores them exactly, its
    marginals from exact draws (an LSTM's too); generate writes RNN-NADE
    pieces, the same for the same --seed."""
    rnn_nade = ["--pretrain-rnn-epochs", 1, "--n-hidden-recurrent", 4]
    scored = {}
    for name, model, extra in (("nade", "nade", []), ("rnn-nade", "rnn-nade", rnn_nade),
                               ("lstm", "rnn-nade", [*rnn_nade, "--recurrence", "lstm"])):
        out = tmp_path / name
        status, err = run_in_process(monkeypatch, capsys, "train", "--model", model, "--data",
                                     tiny_pickle, "--epochs", 2, "--n-hidden", 5, "--optimizer",
                                     "adam", "--lr", 0.01, "--select-every", 1, "--out", out,
                                     *extra)
        assert status == 0, err
        status, err = run_in_process(monkeypatch, capsys, "evaluate", out / "best.npz",
                                     "--pickle", tiny_pickle, "--samples", 10, "--out",
                                     out / "metrics.json")
        assert status == 0, err
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["model"] == model and metrics["exact"] and metrics["frames"] == 4
        assert metrics["marginal_samples"] == 10
        scored[name] = metrics["log_likelihood_per_frame"]
    from polyphonic.models.nade import RnnNade
    from polyphonic.music.datasets import load_pickle_rolls
    lstm = RnnNade.load(tmp_path / "lstm" / "best.npz")  # scored as the model scores itself
    assert lstm.config["recurrence"] == "lstm"
    roll = load_pickle_rolls(str(tiny_pickle), "test")[0]
    assert scored["lstm"] == pytest.approx(lstm.log_likelihoods(roll).mean(), abs=1e-9)
    assert (tmp_path / "rnn-nade" / "rnn-best.npz").exists()  # pretrained
    for model in ("rnn-nade", "lstm"):
        pieces = []
        for name in ("a", "b"):
            status, err = run_in_process(monkeypatch, capsys, "generate",
                                         tmp_path / model / "best.npz", "-n", 1, "--length",
                                         12, "--seed", 5, "--out", tmp_path / model / name)
            assert status == 0, err
            pieces.append((tmp_path / model / name / "sample1.mid").read_bytes())
        assert pieces[0] == pieces[1]


def test_model_options_that_do_not_apply_are_refused(tiny_pickle, tmp_path, small_checkpoint):
    assert_one_line_error(run("train", "--model", "rbm", "--pretrain-rbm-epochs", 1, "--data",
                              tiny_pickle, "--out", tmp_path / "a"),
                          "--model rbm: the RBM pretraining is for --model rnnrbm")
    assert_one_line_error(run("train", "--model", "nade", "--pretrain-rnn-epochs", 1, "--data",
                              tiny_pickle, "--out", tmp_path / "a"),
                          "--model nade: the RNN pretraining is for --model rnnrbm and rnn-nade")
    assert_one_line_error(run("train", "--model", "nade", "--recurrence", "lstm", "--data",
                              tiny_pickle, "--out", tmp_path / "a"),
                          "--recurrence lstm: --model nade has no RNN")
    assert_one_line_error(run("train", "--optimizer", "adam", "--data", tiny_pickle, "--out",
                              tmp_path / "b"), "--optimizer adam: the RNN-RBM and the RBM")
    assert_one_line_error(run("train", "--model", "rnn", "--resume", small_checkpoint,
                              "--data", tiny_pickle, "--out", tmp_path / "c"),
                          "a model of kind 'rnnrbm', not one of --model rnn (resume it with "
                          "train --model rnnrbm)")
    assert_one_line_error(run("train", "--model", "rnn", "--momentum", 0.5, "--optimizer", "adam",
                              "--data", tiny_pickle, "--out", tmp_path / "d"),
                          "--momentum 0.5: momentum is SGD's")
    assert_one_line_error(run("train", "--model", "rbm", "--lr-decay", 0.9, "--data",
                              tiny_pickle, "--out", tmp_path / "e"),
                          "--lr-decay: --model rbm has no such setting")
    assert_one_line_error(run("evaluate", small_checkpoint, "--pickle", tiny_pickle, "--mixing",
                              0, "--tempering", 10), "--tempering 10: tempering runs in the mixing")
    assert_one_line_error(run("evaluate", small_checkpoint, "--tempering", 1),
                          "--tempering: must be 0 or an integer >= 2, not 1")
    window = tmp_path / "snippet.npz"
    from polyphonic.models.snippet import SnippetRbm
    SnippetRbm(frames=3, n_hidden=4).save(window)
    assert_one_line_error(run("evaluate", window, "--pickle", tiny_pickle),
                          "a model of kind 'snippet' over windows of several frames")


def test_evaluate_frames_scores_a_sample_of_the_split(tiny_pickle, small_checkpoint, tmp_path):
    out = tmp_path / "sample.json"
    result = run("evaluate", small_checkpoint, "--pickle", tiny_pickle, "--frames", 3,
                 "--chains", 3, "--temperatures", 5, "--jobs", 1, "--mixing", 0, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "evaluating 3 frames drawn at random from 1 sequences (4 frames)" in result.stderr
    metrics = json.loads(out.read_text())
    assert metrics["frames"] == 3 and metrics["frames_drawn_from"] == 4
