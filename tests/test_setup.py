"""Tests of setup.sh's checks of the interpreter and of the environment folder.

These checks run before anything is installed, so each test takes well under
a second and never installs anything: every run here is refused.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "setup.sh"
BASH = shutil.which("bash")
PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def run(python, venv, *args):
    env = {**os.environ, "PYTHON": str(python), "VENV": str(venv)}
    return subprocess.run([BASH, str(SCRIPT), *args], capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL, timeout=60)


def assert_refused(r, message):
    """One line on stderr, exactly ``setup.sh: message``, and a failure status."""
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr == f"setup.sh: {message}\n"
    assert "installing" not in r.stdout


def test_interpreter_not_found(tmp_path):
    r = run("nosuchpython", tmp_path / "venv")
    assert_refused(r, "nosuchpython: not found (set PYTHON to a Python 3.11 or newer)")
    assert not (tmp_path / "venv").exists()


def test_interpreter_that_does_not_run(tmp_path):
    # Like a pyenv shim for a version that is installed but not selected.
    shim = tmp_path / "python3.13"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.13: command not found' >&2\n"
                    "echo 'The `python3.13` command exists in these Python versions:' >&2\n"
                    "exit 127\n")
    shim.chmod(0o755)
    r = run(shim, tmp_path / "venv")
    assert_refused(r, f"{shim} does not run: pyenv: python3.13: command not found")
    assert not (tmp_path / "venv").exists()


OLD_PYTHONS = [PYENV_VERSIONS / "3.10.13" / "bin" / "python3.10",
               PYENV_VERSIONS / "2.7.18" / "bin" / "python2.7"]


@pytest.mark.parametrize("python", OLD_PYTHONS, ids=lambda path: path.name)
def test_interpreter_older_than_3_11(tmp_path, python):
    if not python.is_file():
        pytest.skip(f"{python} is not installed")
    version = python.parent.parent.name
    r = run(python, tmp_path / "venv")
    assert_refused(r, f"{python} is Python {version}, older than 3.11 (set PYTHON to a newer one)")
    assert not (tmp_path / "venv").exists()


def fake_venv(folder, version):
    """A folder that looks like a virtual environment made by Python ``version``."""
    (folder / "bin").mkdir(parents=True)
    (folder / "pyvenv.cfg").write_text(f"version = {version}.0\n")
    python = folder / "bin" / "python"
    python.write_text(f"#!/bin/sh\necho {version}\n")
    python.chmod(0o755)
    return folder


def this_minor():
    return "{}.{}".format(*sys.version_info[:2])


def test_venv_made_by_another_python_version_is_refused(tmp_path):
    venv = fake_venv(tmp_path / ".venv-old", "3.9")
    before = sorted(venv.rglob("*"))
    r = run(sys.executable, venv, "--test")
    assert_refused(r, f"{venv} was made by Python 3.9, not {this_minor()} ({sys.executable}); "
                      "remove it or set VENV to another folder")
    assert sorted(venv.rglob("*")) == before  # nothing deleted, nothing added


def test_broken_venv_is_refused(tmp_path):
    venv = fake_venv(tmp_path / "venv", this_minor())
    (venv / "bin" / "python").unlink()
    r = run(sys.executable, venv)
    assert_refused(r, f"{venv} is broken (its python does not run); remove it and run setup.sh again")


def test_folder_that_is_not_a_venv_is_left_alone(tmp_path):
    folder = tmp_path / "my work"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    r = run(sys.executable, folder)
    assert_refused(r, f"{folder} exists but is not a virtual environment; "
                      "remove it or set VENV to another folder")
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_unknown_option(tmp_path):
    r = run(sys.executable, tmp_path / "venv", "--bogus")
    assert r.returncode == 2 and r.stderr == "setup.sh: unknown option: --bogus (the only option is --test)\n"
    assert not (tmp_path / "venv").exists()
