"""Read MIDI files into piano rolls and write piano rolls as MIDI files.

A piano roll is a 2-D array: one row per time frame of ``dt`` seconds, one
column per MIDI pitch in the half-open range ``r = (lowest, highest + 1)``;
a cell is 1 while that pitch sounds during that frame.

Times are exact. Every note time is a ``fractions.Fraction`` of seconds,
worked out through the file's whole tempo map, and ``dt`` is taken as the
decimal number that ``str(dt)`` shows, so ``dt=0.3`` means exactly 3/10 s and
not the binary float nearest to it. A note that starts or ends on a frame
boundary therefore stays on it; naive float seconds would move some boundaries
by one frame and break write-then-read round trips.

Files are read and written with mido (MIT licence). Reading is lenient (see
`_load`): meta events mido cannot decode are skipped, data bytes above 127
clipped, and a file that cannot be read gets a one-line reason.
"""

import itertools
import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import mido
import numpy as np
from mido.midifiles import meta as mido_meta
from mido.midifiles import midifiles as mido_midifiles

DEFAULT_TEMPO = 500_000
"""Microseconds per beat before the first set_tempo event (the MIDI default, 120 bpm)."""

MAX_TEMPO = 0xFFFFFF
"""Largest tempo a set_tempo event can hold (24 bits of microseconds per beat)."""

TICKS_PER_BEAT = 480
"""Time resolution of written files; any value works, as notes fall on whole beats."""

VELOCITY = 64
"""Velocity of written notes: the MIDI default for keyboards without velocity sensing."""

MIDI_SUFFIXES = (".mid", ".midi")
"""File name suffixes of MIDI files, compared in lower case (.MID and .Midi count too)."""


class MidiReadError(ValueError):
    """A file that cannot be read as a piano roll. The message names the file."""


@dataclass
class MidiRead:
    """What `midiread` returns.

    ``piano_roll`` is a (frames, pitches) uint8 array of 0s and 1s; uint8 keeps
    a whole training set small in memory.
    """

    piano_roll: np.ndarray


def midi_files(folder):
    """Return the sorted paths (``pathlib.Path``) of the MIDI files in ``folder``.

    A MIDI file is a regular file whose suffix is one of `MIDI_SUFFIXES` in any
    case: ``a.mid``, ``B.MID``, ``c.midi`` and ``d.MIDI`` all count. Sub-folders
    are not searched. Raises OSError (naming the folder) if ``folder`` cannot
    be listed, e.g. because it does not exist.
    """
    return sorted(path for path in Path(folder).iterdir()
                  if path.suffix.lower() in MIDI_SUFFIXES and path.is_file())


def _exact_dt(dt):
    """Return ``dt`` as an exact Fraction of seconds, via its decimal ``str()``.

    ``Fraction(0.3)`` would be the binary float 0.29999999999999998889...;
    ``Fraction("0.3")`` is exactly 3/10, which is what the caller means.
    """
    exact = Fraction(str(dt))
    if exact <= 0:
        raise ValueError(f"dt must be positive, got {dt!r}")
    return exact


def _lenient_build_meta_message(meta_type, data, delta=0):
    """Build a meta message as mido does, or an UnknownMetaMessage if mido cannot.

    mido raises KeyError, IndexError or KeySignatureError for meta events with
    out-of-range or missing fields (a key signature with 20 sharps, a 2-byte
    tempo), and has no option to skip them (mido issue #187). No meta event but
    set_tempo matters for a piano roll, so such an event is kept undecoded
    instead of failing the whole file; a malformed set_tempo is thereby ignored.
    """
    try:
        return mido_meta.build_meta_message(meta_type, data, delta)
    except Exception:  # any decoding failure of this one event
        return mido_meta.UnknownMetaMessage(meta_type, data, delta)


_lenient_meta_lock = threading.Lock()


@contextmanager
def _lenient_meta_messages():
    """Make mido's file reader use `_lenient_build_meta_message` inside the block.

    mido has no option for this, so the module global its track reader calls
    (``mido.midifiles.midifiles.build_meta_message``, not public API) is swapped
    for the duration of the block only (under a lock, so threads cannot
    interleave the swap and restore); mido behaves as usual elsewhere. As this
    relies on a mido internal, requirements.txt pins mido to the releases the
    tests run with (.ci/run tests the lowest and the newest).
    """
    with _lenient_meta_lock:
        original = mido_midifiles.build_meta_message
        mido_midifiles.build_meta_message = _lenient_build_meta_message
        try:
            yield
        finally:
            mido_midifiles.build_meta_message = original


HEADER_BYTES = 14
"""Length of a MIDI file's header chunk: "MThd", length 6, format, tracks, division."""


def _chunk_problem(data):
    """Return what is wrong with the chunks of the MIDI file ``data``, or None.

    Only the chunk structure is checked, not the events inside tracks (those
    are mido's to read): the header chunk ("MThd", a length of at least 6 and
    that many bytes), then for each track the header announces an 8-byte chunk
    header ("MTrk" and a length) and as many bytes as it declares. Used to say
    why mido could not read a file, as mido reports a truncated one as a bare
    EOFError.
    """
    if not data:
        return "empty file (0 bytes), not a MIDI file"
    if data[:4] != b"MThd"[:len(data)]:
        return "not a MIDI file (it does not start with MThd)"
    header_end = HEADER_BYTES if len(data) < 8 else 8 + int.from_bytes(data[4:8], "big")
    if len(data) < header_end:
        return (f"truncated: the file ends inside the MIDI header "
                f"({len(data)} of {header_end} bytes)")
    if header_end < HEADER_BYTES:
        return f"corrupt MIDI header (length {header_end - 8}, at least 6 expected)"

    tracks, pos = int.from_bytes(data[10:12], "big"), header_end
    for number in range(1, tracks + 1):
        where = f"track {number} of {tracks}"
        if pos >= len(data):
            return f"truncated: the file ends before {where}"
        if len(data) < pos + 8:
            return f"truncated: the file ends inside {where}, in its chunk header"
        if data[pos:pos + 4] != b"MTrk":
            return f"corrupt: {where} does not start with MTrk (byte {pos})"
        start, pos = pos + 8, pos + 8 + int.from_bytes(data[pos + 4:pos + 8], "big")
        if pos > len(data):
            return (f"truncated: the file ends inside {where} "
                    f"({len(data) - start} of its {pos - start} bytes)")
    return None


def _read_error(filename, err):
    """Return the MidiReadError saying why mido failed to read ``filename`` with ``err``.

    A file that cannot be read at all gets the operating system's reason, one
    whose chunks are wrong `_chunk_problem`'s. Otherwise mido failed on an
    event inside a track, and the message is mido's (with an EOFError, which
    has none, an event ran past the end of its track).
    """
    try:
        data = Path(filename).read_bytes()
    except OSError as os_err:
        return MidiReadError(f"cannot read MIDI file {filename}: {os_err.strerror or os_err}")
    problem = _chunk_problem(data)
    if problem is None:
        if isinstance(err, EOFError):
            problem = "corrupt: an event runs past the end of its track"
        elif type(err) is OSError and str(err):  # mido's messages for bad bytes
            problem = f"corrupt: {err}"
        else:
            problem = f"corrupt: {type(err).__name__}" + (f": {err}" if str(err) else "")
    return MidiReadError(f"{filename}: {problem}")


def _load(filename):
    """Return the parsed ``mido.MidiFile`` of a format 0 or 1 MIDI file.

    Read by mido with ``clip=True`` (data bytes above 127 become 127 instead
    of failing the file) and with meta events it cannot decode kept undecoded
    (`_lenient_meta_messages`).

    Raises MidiReadError naming the file and saying what is wrong: it cannot
    be read, is empty, is not a MIDI file, ends inside its header or inside a
    track, has a corrupt chunk or event, uses SMPTE timing or a format other
    than 0 and 1.
    """
    try:
        with _lenient_meta_messages():
            midi_file = mido.MidiFile(filename, clip=True)
    except Exception as err:  # mido signals bad input with many exception types
        raise _read_error(filename, err) from err
    if midi_file.type not in (0, 1):
        raise MidiReadError(f"{filename}: MIDI format {midi_file.type} is not supported "
                            "(only 0 and 1)")
    if midi_file.ticks_per_beat < 0:  # the header's division field is signed; < 0 is SMPTE
        raise MidiReadError(f"{filename}: SMPTE time division is not supported")
    if midi_file.ticks_per_beat == 0:
        raise MidiReadError(f"{filename}: corrupt MIDI header (0 ticks per beat)")
    return midi_file


def _notes(midi_file):
    """Return ``[(pitch, start, end), ...]`` for every closed note of a `_load`ed file.

    Times are exact Fractions of seconds. All tracks are merged by absolute
    tick (at equal ticks, earlier tracks first and file order within a track)
    and one tempo map applies to all of them, wherever its set_tempo events
    are. Channels are not told apart (drums on channel 10 are read as pitches).

    A note_on with velocity 0 is a note_off. Each pitch has at most one open
    note, its most recent note_on: a note_off closes it, and a note_off with no
    open note of its pitch is ignored. A note_on of a pitch that is already
    open replaces the open note, which is dropped like any note never closed.
    This is the pairing of the tutorial's reader (a note_off closes the most
    recent note of its pitch if that one is still open), and the one that
    reproduces its Nottingham piano rolls: pairing note_offs with older open
    notes instead (a stack per pitch) sets about 2 % more cells.
    """
    events = []
    for track in midi_file.tracks:
        tick = 0
        for message in track:
            tick += message.time
            events.append((tick, message))
    events.sort(key=lambda event: event[0])  # stable sort keeps the order above

    seconds, last_tick, tempo = Fraction(0), 0, DEFAULT_TEMPO
    ticks_per_beat = midi_file.ticks_per_beat
    sounding = {}  # pitch -> start time of its most recent note, while open
    notes = []
    for tick, message in events:
        seconds += Fraction((tick - last_tick) * tempo, 1_000_000 * ticks_per_beat)
        last_tick = tick
        if message.type == "set_tempo":
            tempo = message.tempo
        elif message.type == "note_on" and message.velocity > 0:
            sounding[message.note] = seconds
        elif message.type in ("note_on", "note_off") and message.note in sounding:
            notes.append((message.note, sounding.pop(message.note), seconds))
    return notes


def midiread(filename, r=(21, 109), dt=0.2):
    """Read a MIDI file (format 0 or 1) into a piano roll.

    Returns a `MidiRead` whose ``piano_roll`` has ``ceil(last_end / dt)`` rows
    and ``r[1] - r[0]`` columns, where ``last_end`` is the latest end of a note
    with a pitch in ``r``. A note from ``start`` to ``end`` seconds sets frames
    ``ceil(start / dt)`` up to but not including ``ceil(end / dt)``. Notes with
    pitches outside ``r`` are ignored entirely, length included, so the roll
    ends with the last note it can show. Drum notes (channel 10) are read as
    pitches like any other (see `_notes` for how note events pair up).

    Raises MidiReadError (a ValueError) naming the file if it is missing, not
    MIDI, truncated, uses SMPTE timing or a format other than 0 and 1, or
    has no note in ``r``.
    """
    frame = _exact_dt(dt)
    notes = [note for note in _notes(_load(filename)) if r[0] <= note[0] < r[1]]
    frames = math.ceil(max((end for _, _, end in notes), default=0) / frame)
    if frames == 0:
        raise MidiReadError(f"{filename}: no notes with pitch in range {r[0]}..{r[1] - 1}")

    roll = np.zeros((frames, r[1] - r[0]), dtype=np.uint8)
    for pitch, start, end in notes:
        roll[math.ceil(start / frame):math.ceil(end / frame), pitch - r[0]] = 1
    return MidiRead(piano_roll=roll)


def _frame_timing(dt):
    """Return ``(beats_per_frame, tempo)`` with which one frame lasts exactly ``dt``.

    A frame is a whole number of beats at an integer tempo in microseconds per
    beat, so ``dt`` must be a whole number of microseconds (ValueError if not).
    A frame is one beat unless ``dt`` exceeds the largest tempo (about 16.8 s);
    then it is the fewest beats that divide ``dt`` into a valid tempo.
    """
    microseconds = _exact_dt(dt) * 1_000_000
    if microseconds.denominator != 1:
        raise ValueError(f"dt={dt!r} s is not a whole number of microseconds, "
                         "so a MIDI tempo cannot make frames last exactly dt")
    microseconds = int(microseconds)
    beats = next(k for k in itertools.count(-(-microseconds // MAX_TEMPO))
                 if microseconds % k == 0)
    return beats, microseconds // beats


def midiwrite(filename, piano_roll, r=(21, 109), dt=0.2, patch=0):
    """Write a piano roll as a one-track (format 0) MIDI file.

    Column ``j`` of ``piano_roll`` is pitch ``r[0] + j``; any non-zero cell
    means the pitch sounds. Each run of consecutive frames of one pitch becomes
    one note with velocity `VELOCITY`, on channel 1 with program ``patch``.
    Frames last exactly ``dt`` (see `_frame_timing`), so ``midiread`` with the
    same ``r`` and ``dt`` gives back the same roll, up to its last frame with
    a note: trailing empty frames only set the track length and are not read
    back, and an all-zero roll writes a valid file that ``midiread`` rejects
    as having no notes.

    Raises ValueError if the roll is not 2-D with ``r[1] - r[0]`` columns, if
    ``dt`` is not a whole number of microseconds or if ``patch`` is not 0..127.
    """
    roll = np.asarray(piano_roll)
    if roll.ndim != 2 or roll.shape[1] != r[1] - r[0]:
        raise ValueError(f"piano_roll must be 2-D with {r[1] - r[0]} columns "
                         f"(pitches {r[0]}..{r[1] - 1}), got shape {roll.shape}")
    beats_per_frame, tempo = _frame_timing(dt)
    ticks_per_frame = beats_per_frame * TICKS_PER_BEAT

    # +1 where a run of a pitch starts, -1 on the frame after a run ends.
    sounding = np.zeros((len(roll) + 2, roll.shape[1]), dtype=np.int8)
    sounding[1:-1] = roll != 0
    changes = np.diff(sounding, axis=0)

    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo),
                            mido.Message("program_change", program=patch)])
    last_tick = 0
    for frame in np.flatnonzero(changes.any(axis=1)):
        tick = int(frame) * ticks_per_frame
        # Note-offs before note-ons at the same tick, the usual order.
        for kind, columns in (("note_off", changes[frame] < 0), ("note_on", changes[frame] > 0)):
            for column in np.flatnonzero(columns):
                velocity = VELOCITY if kind == "note_on" else 0
                track.append(mido.Message(kind, note=r[0] + int(column), velocity=velocity,
                                          time=tick - last_tick))
                last_tick = tick
    track.append(mido.MetaMessage("end_of_track", time=len(roll) * ticks_per_frame - last_tick))
    mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT, tracks=[track]).save(filename)
