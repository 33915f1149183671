"""`python rnnrbm.py` end to end, as a user runs it."""

import shutil
import subprocess
import sys
from pathlib import Path

import mido

from midi.utils import midiread

ROOT = Path(__file__).resolve().parents[1]


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "rnnrbm.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_one_epoch_on_a_few_files_writes_two_samples(nottingham_dir, tmp_path):
    songs = tmp_path / "songs"
    songs.mkdir()
    for f in sorted((nottingham_dir / "train").glob("*.mid"))[:3]:
        shutil.copy(f, songs)
    out = tmp_path / "out"
    result = run("--data", str(songs / "*.mid"), "--epochs", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Epoch 1/1 -"), lines
    assert "Warning" not in result.stderr, result.stderr
    for name in ("sample1", "sample2"):
        assert mido.MidiFile(out / f"{name}.mid").length > 0
        assert midiread(out / f"{name}.mid", (21, 109), 0.3).piano_roll.shape[1] == 88
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_data_names_download_sh_without_traceback(tmp_path):
    result = run("--data", str(tmp_path / "nothing" / "*.mid"), "--epochs", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert "./download.sh" in result.stderr
    assert "Traceback" not in result.stderr


def test_negative_epochs_is_a_usage_error(tmp_path):
    result = run("--epochs", "-1", cwd=tmp_path)
    assert result.returncode == 2
    assert "--epochs" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_training_file_is_named_without_traceback(tmp_path):
    bad = tmp_path / "broken.mid"
    bad.write_text("not a MIDI file")
    result = run("--data", str(tmp_path / "*.mid"), "--epochs", "1", "--out", str(tmp_path))
    assert result.returncode == 1
    assert "broken.mid" in result.stderr and "Traceback" not in result.stderr
