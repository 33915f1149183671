"""Piano-roll datasets in the pickle format of Boulanger-Lewandowski et al. (2012).

The paper's four datasets (Nottingham, Piano-midi.de, MuseData, JSB Chorales)
share one layout: a dict with keys 'train', 'valid' and 'test', each a list of
sequences, each sequence a list of frames, each frame a list of the MIDI note
numbers sounding in it. Nottingham.pickle is transposed to C major / C minor
and has one frame per eighth note.
"""

import pickle

import numpy as np

SPLITS = ("train", "valid", "test")
NAMES = ("Nottingham", "JSB Chorales", "MuseData", "Piano-midi.de")  # NAME.pickle each


class _PlainDataUnpickler(pickle.Unpickler):
    """Unpickle lists, dicts, strings and numbers only: a pickle naming any
    class or function could run code, and these files need none."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


_UNREADABLE = (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError, IndexError,
               ValueError)  # what a file that is not such a data set raises on the way


def _unreadable(path, split, err):
    """The ValueError for a file that is not one of these data sets, saying why
    in words (the unpickler's own messages, like 'invalid load key', say little)."""
    reason = {pickle.UnpicklingError: "not a pickle file", EOFError: "the file ends early",
              KeyError: f"no split {split!r} in it"}.get(type(err), f"{type(err).__name__}: {err}")
    if isinstance(err, pickle.UnpicklingError) and str(err).startswith("refusing"):
        reason = f"it {err} (these data sets hold only lists and numbers)"
    return ValueError(f"{path} is not a piano-roll data set in the paper's pickle format "
                      f"({reason})")


def load_pickle_rolls(path, split, r=(21, 109)):
    """Return the sequences of one split as (frames, r[1] - r[0]) uint8 piano rolls.

    Notes outside the range r are dropped. Raises ValueError naming the file
    if it is not such a dataset, or the split is unknown.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    try:
        with open(path, "rb") as f:
            midi = f.read(4) == b"MThd"
            f.seek(0)
            data = None if midi else _PlainDataUnpickler(f).load()
    except _UNREADABLE as err:
        raise _unreadable(path, split, err) from err
    if midi:
        raise ValueError(f"{path} is a MIDI file, not a piano-roll data set in the paper's "
                         "pickle format (MIDI files go to --data)")
    try:
        rolls = []
        for sequence in data[split]:
            roll = np.zeros((len(sequence), r[1] - r[0]), dtype=np.uint8)
            for t, notes in enumerate(sequence):
                pitches = [p - r[0] for p in notes if r[0] <= p < r[1]]
                roll[t, pitches] = 1
            rolls.append(roll)
    except _UNREADABLE as err:
        raise _unreadable(path, split, err) from err
    if not rolls:
        raise ValueError(f"{path}: split {split!r} holds no sequences")
    return rolls
