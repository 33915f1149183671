"""Checkpoints and output files written whole or not at all.

A checkpoint is an .npz file of named arrays (a model's parameters and its
optimiser's state) and JSON entries (settings, history, random states); see
trainable.Trainable.save. `atomic_output` is how every file here is written,
so that a crash or an interrupt never leaves half a file in place of the old one.
"""

import contextlib
import glob
import json
import os
import zipfile

import numpy as np

CHECKPOINT_JSON = ("config", "history", "rng_state", "shuffle_state")
OPTIONAL_JSON = ("data",)  # entries newer checkpoints may have


def read_checkpoint(path):
    """Return a checkpoint's entries (see Trainable.save), JSON ones decoded.

    Raises ValueError naming the file, and saying what is wrong with it, if it
    is missing, not an .npz file, or not one that Trainable.save wrote.
    """
    def refuse(reason):
        return ValueError(f"{path} is not an rnnrbm checkpoint: {reason}")

    try:
        with np.load(path) as f:
            missing = [key for key in CHECKPOINT_JSON if key not in f.files]
            if missing:
                raise refuse(f"it has no entries {', '.join(missing)}")
            state = {}
            for key in f.files:
                try:
                    state[key] = f[key]
                except ValueError:  # NumPy refuses object arrays without allow_pickle
                    raise refuse(f"its entry {key!r} holds Python objects") from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise refuse(f"not a readable .npz file ({type(err).__name__}: {err})") from None
    except ValueError as err:
        if "is not an rnnrbm checkpoint" in str(err):
            raise
        raise refuse("not an .npz file") from None  # NumPy's text would advise allow_pickle
    for key in (*CHECKPOINT_JSON, *(key for key in OPTIONAL_JSON if key in state)):
        try:
            state[key] = json.loads(str(state[key]))
        except ValueError:
            raise refuse(f"its entry {key!r} is not JSON") from None
    return state


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary name beside `path` (same extension) to write to; it
    replaces `path` when the block succeeds and is deleted otherwise, so that a
    crash or interrupt never leaves a half-written file in place of the old one.

    Temporaries that a killed process left (its PID gone) are deleted first.
    """
    stem, extension = os.path.splitext(os.fspath(path))
    for stale in glob.glob(f"{glob.escape(stem)}.partial*{glob.escape(extension)}"):
        pid = stale[len(stem) + len(".partial"):len(stale) - len(extension)]
        if pid.isdigit() and not process_exists(int(pid)):
            with contextlib.suppress(OSError):
                os.remove(stale)
    temporary = f"{stem}.partial{os.getpid()}{extension}"
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)


def process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
