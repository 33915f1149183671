"""Talking to the user: one-line errors, status lines, progress, interrupts.

Every entry point and the training workflow share these, so that whatever
runs a command (the command line, tune, a Python caller) gets the same
behaviour: an error is one line naming the option or file at fault
(UserError, with the exit status it means), progress goes to stderr, and
SIGINT and SIGTERM interrupt alike, remembered so that the message can name
which came.

Exit statuses:
    0         done
    1         the run failed: training diverged, an output could not be written
    2         something given is wrong: an option, a path, or a file's contents
    130, 143  interrupted by SIGINT (Ctrl+C) or SIGTERM; finished work is kept
"""

import os
import shutil
import signal
import sys
import time

from polyphonic.paths import ROOT
from polyphonic.training import checkpoints

PROG = "rnnrbm" if os.path.basename(sys.argv[0]) == "rnnrbm" else "rnnrbm.py"  # as it was run
EXIT_FAILED, EXIT_USAGE = 1, 2


class UserError(Exception):
    """A one-line error for the user; `status` is the exit status."""

    def __init__(self, message, status=EXIT_USAGE):
        super().__init__(message)
        self.status = status


class Interrupted(Exception):
    """Training was interrupted and has said so; exit as the signal asks."""


def display(path):
    """`path` relative to the current folder when it lies inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def status(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- paths

def existing_file(option, path, hint=""):
    """`path` if it is a file; otherwise a UserError naming it."""
    if not os.path.isfile(path):
        kind = "a folder, not a file" if os.path.isdir(path) else "no such file"
        raise UserError(f"{option} {path}: {kind}{hint}")
    return path


def output_folder(option, path, create=True):
    """Create the folder `path` if needed (only check that it could be, unless
    `create`); a UserError naming it if impossible."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UserError(f"{option} {path}: exists and is not a folder")
    if not create:
        return path
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        raise UserError(f"{option} {path}: cannot create the folder: {err.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"{option} {path}: the folder is not writable")
    return path


def checkpoint_state(option, path):
    """A checkpoint's entries (checkpoints.read_checkpoint), or a UserError naming it."""
    try:
        return checkpoints.read_checkpoint(existing_file(option, path))
    except ValueError as err:
        raise UserError(str(err)) from None


# ---------------------------------------------------------------- progress

class Progress:
    """Progress of `done` of `total` units, reported by calling it.

    On a terminal a tqdm bar (count, rate, time left); otherwise, if `plain`,
    the same figures as a plain line at each call (logs get no carriage
    returns), else nothing.
    """

    def __init__(self, unit, plain=False, stream=None):
        self.unit, self.plain = unit, plain
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty()
        self.bar, self.start = None, time.perf_counter()  # the work starts with its reporter

    def __call__(self, done, total):
        from tqdm import tqdm

        if self.terminal:
            if self.bar is None:
                self.bar = tqdm(total=total, unit=self.unit, leave=False, file=self.stream,
                                dynamic_ncols=True)
            self.bar.update(done - self.bar.n)
            if done >= total:
                self.bar.close()
                self.bar = None
        elif self.plain:
            line = tqdm.format_meter(done, total, time.perf_counter() - self.start,
                                     unit=self.unit, bar_format=(
                                         "{n_fmt}/{total_fmt} {unit}s ({percentage:.0f} %), "
                                         "{rate_fmt}, {elapsed} elapsed, {remaining} left"))
            print(line, file=self.stream, flush=True)


# ---------------------------------------------------------------- signals

received_signal = None  # the signal that interrupted this process, if any


def interrupt(signum, frame):
    """SIGINT and SIGTERM alike raise KeyboardInterrupt, remembering which came."""
    global received_signal
    received_signal = signum
    raise KeyboardInterrupt


def interrupt_status():
    """128 + the signal's number, as shells report a process ended by it."""
    return 128 + (received_signal or signal.SIGINT)


def signal_name():
    return "SIGTERM" if received_signal == signal.SIGTERM else "Ctrl+C (SIGINT)"


def interpreter_and_script():
    """How this process was started, as words a shell can run from here: the
    installed `rnnrbm` command if that is what ran, else python and rnnrbm.py."""
    found = shutil.which(PROG)
    if PROG == "rnnrbm" and found and os.path.realpath(found) == os.path.realpath(sys.argv[0]):
        return ["rnnrbm"]
    found = shutil.which("python")
    python = "python" if found and os.path.abspath(found) == os.path.abspath(sys.executable) \
        else display(sys.executable)
    if os.sep not in python and python != "python":
        python = os.path.join(".", python)  # a shell looks bare names up in PATH
    script = sys.argv[0] if os.path.basename(sys.argv[0]) == "rnnrbm.py" \
        else display(os.path.join(ROOT, "rnnrbm.py"))
    return [python, script]
