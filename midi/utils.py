"""Read MIDI files into piano rolls and write piano rolls as MIDI files.

A piano roll is a 2-D array: one row per time frame, one column per MIDI pitch
in the half-open range ``r = (lowest, highest + 1)``; a cell is 1 while that
pitch sounds during that frame.

Frames last ``dt`` seconds (the tutorial's grid, the default), or with
``frames_per_beat`` a fixed fraction of a beat (a quarter note) whatever the
tempo, so that a piece gives the same roll at any tempo. The ``"note-state"``
encoding adds a second bit per pitch, set in the frame where a note starts,
so that a repeated note differs from a held one (`midiread` gives the column
layout). `midiread` can also transpose a piece to C major or C minor.

Times are exact. Every note time is a ``fractions.Fraction`` of seconds,
worked out through the file's whole tempo map (or of beats, from the file's
ticks per beat), and ``dt`` is taken as the decimal number that ``str(dt)``
shows, so ``dt=0.3`` means exactly 3/10 s and not the binary float nearest to
it. A note that starts or ends on a frame boundary therefore stays on it;
naive float seconds would move some boundaries by one frame and break
write-then-read round trips.

Files are read and written with mido (MIT licence). Reading is lenient (see
`_load`): meta events mido cannot decode are skipped, data bytes above 127
clipped, and a file that cannot be read gets a one-line reason.
"""

import bisect
import itertools
import math
import numbers
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
"""Time resolution of files written on the seconds grid, where frames are whole beats.

On the beat grid a file has the least common multiple of this and
``frames_per_beat`` ticks per beat, so that every frame is whole ticks.
"""

MAX_TICKS_PER_BEAT = 0x7FFF
"""Largest ticks per beat a MIDI header can hold (15 bits; the 16th marks SMPTE timing)."""

ENCODINGS = ("piano-roll", "note-state")
"""Values of the ``encoding`` option of `midiread` and `midiwrite`."""

VELOCITY = 64
"""Velocity of written notes: the MIDI default for keyboards without velocity sensing."""

MIDI_SUFFIXES = (".mid", ".midi")
"""File name suffixes of MIDI files, compared in lower case (.MID and .Midi count too)."""

KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
"""Krumhansl and Kessler's (1982) probe-tone ratings of the 12 pitch classes in a
major and a minor key, from the tonic up by semitones (see `_estimate_key`)."""

MAJOR_KEYS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_KEYS = ("Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm")
"""Names of the keys by tonic pitch class (0 is C), as mido names key signatures: of two
spellings the one with fewer accidentals, F# and Ebm where both have six."""

NOTE_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
"""Pitch class of each note letter without accidentals."""


class MidiReadError(ValueError):
    """A file that cannot be read as a piano roll. The message names the file."""


@dataclass
class MidiRead:
    """What `midiread` returns.

    ``piano_roll`` is a (frames, columns) uint8 array of 0s and 1s in the
    encoding asked for (`midiread` gives the columns); uint8 keeps a whole
    training set small in memory.

    With ``transpose=True``, ``key`` is the key found before transposing (a
    name like ``"D"`` or ``"Bbm"``), ``key_source`` says where it came from
    (``"key_signature"`` or ``"estimate"``; both None if the file gave no key,
    see `_file_key`) and ``transposed_by`` is the shift applied to every note,
    in semitones (-5..+6, up when positive). Without, they are None, None, 0.
    """

    piano_roll: np.ndarray
    transposed_by: int = 0
    key: str | None = None
    key_source: str | None = None


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
    set_tempo (and key_signature, when transposing) matters for a piano roll,
    so such an event is kept undecoded instead of failing the whole file; a
    malformed set_tempo or key_signature is thereby ignored.
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


def _merged_events(midi_file):
    """Return ``[(tick, message), ...]``: the events of all tracks of a `_load`ed file.

    Tracks are merged by absolute tick (at equal ticks, earlier tracks first
    and file order within a track), as one tempo map and one key apply to all
    of them, wherever their set_tempo and key_signature events are.
    """
    events = []
    for track in midi_file.tracks:
        tick = 0
        for message in track:
            tick += message.time
            events.append((tick, message))
    events.sort(key=lambda event: event[0])  # stable sort keeps the order above
    return events


def _notes(events):
    """Return ``[(pitch, start, end), ...]`` in ticks for every closed note of ``events``.

    ``events`` are `_merged_events`. Channels are not told apart (drums on
    channel 10 are read as pitches).

    A note_on with velocity 0 is a note_off. Each pitch has at most one open
    note, its most recent note_on: a note_off closes it, and a note_off with no
    open note of its pitch is ignored. A note_on of a pitch that is already
    open replaces the open note, which is dropped like any note never closed.
    This is the pairing of the tutorial's reader (a note_off closes the most
    recent note of its pitch if that one is still open), and the one that
    reproduces its Nottingham piano rolls: pairing note_offs with older open
    notes instead (a stack per pitch) sets about 2 % more cells. Notes of one
    pitch therefore never overlap, and each has its own first frame in the
    note-state encoding.
    """
    sounding = {}  # pitch -> start tick of its most recent note, while open
    notes = []
    for tick, message in events:
        if message.type == "note_on" and message.velocity > 0:
            sounding[message.note] = tick
        elif message.type in ("note_on", "note_off") and message.note in sounding:
            notes.append((message.note, sounding.pop(message.note), tick))
    return notes


def _seconds(events, ticks_per_beat):
    """Return a function giving the exact time in seconds (a Fraction) of a tick.

    The tempo is `DEFAULT_TEMPO` until the first set_tempo of ``events``
    (`_merged_events`) and each set_tempo holds from its tick on (the last
    one, if several share a tick).
    """
    ticks, starts, tempos = [0], [Fraction(0)], [DEFAULT_TEMPO]

    def seconds(tick):
        segment = bisect.bisect_right(ticks, tick) - 1
        return starts[segment] + Fraction((tick - ticks[segment]) * tempos[segment],
                                          1_000_000 * ticks_per_beat)

    for tick, message in events:
        if message.type != "set_tempo":
            continue
        if tick > ticks[-1]:
            starts.append(seconds(tick))
            ticks.append(tick)
            tempos.append(message.tempo)
        else:  # the events are sorted, so this tempo starts at the same tick as the last
            tempos[-1] = message.tempo
    return seconds


def _frame_length(dt, frames_per_beat):
    """Return the exact length of a frame, a Fraction of beats or of seconds.

    On the beat grid it is ``1 / frames_per_beat`` beats and ``dt`` is not
    used; otherwise ``dt`` seconds. Raises ValueError naming the value if
    ``frames_per_beat`` is not None or a positive integer, or (on the seconds
    grid) if ``dt`` is not positive.
    """
    if frames_per_beat is None:
        return _exact_dt(dt)
    if (isinstance(frames_per_beat, bool) or not isinstance(frames_per_beat, numbers.Integral)
            or frames_per_beat <= 0):
        raise ValueError(f"frames_per_beat must be a positive integer or None, "
                         f"got {frames_per_beat!r}")
    return Fraction(1, int(frames_per_beat))


def _check_encoding(encoding):
    """Raise ValueError naming ``encoding`` unless it is one of `ENCODINGS`."""
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(map(repr, ENCODINGS))}, "
                         f"got {encoding!r}")


def _key_tonic(key):
    """Return the tonic pitch class (0 is C) of a key named as mido names key signatures.

    E.g. ``"D"`` is 2, ``"Bbm"`` 10, ``"Cb"`` 11: the letter, up a semitone
    per ``#``, down per ``b`` (a trailing ``m``, minor, does not count).
    """
    return (NOTE_LETTERS[key[0]] + key.count("#") - key.count("b")) % 12


def _estimate_key(notes):
    """Return the name of the key that best fits ``notes`` (pitch, start, end), or None.

    The Krumhansl-Schmuckler key-finding method (C. L. Krumhansl, Cognitive
    Foundations of Musical Pitch, 1990) with the key profiles of C. L.
    Krumhansl and E. J. Kessler, Tracing the dynamic changes in perceived
    tonal organization in a spatial representation of musical keys,
    Psychological Review 89 (1982), `KK_MAJOR` and `KK_MINOR`: the total
    duration of each pitch class, in ticks (so neither the tempo nor the grid
    plays a part), is correlated (Pearson) with the profile of
    each of the 24 keys, turned to start on its tonic, and the key with the
    highest correlation wins (on a tie, the first of C..B major, then C..B
    minor). Returns None when the 12 durations are all equal, as then no
    correlation is defined.

    Measured on the 1,037 Nottingham files, which all have a key signature:
    the estimate names the key of the first one for 880 files (84.9 %) and
    gives the same shift to C (`_shift_to_c`) for 883 (85.1 %). Most misses
    name the key a fifth above the signature's (D read as A 39 times, G as D
    35, C as G 12), the next most its relative minor (G as Em 10, D as Bm 7).
    """
    durations = np.zeros(12)
    for pitch, start, end in notes:
        durations[pitch % 12] += end - start
    if np.ptp(durations) == 0:
        return None
    fits = [(np.corrcoef(durations, np.roll(profile, tonic))[0, 1], names[tonic])
            for profile, names in ((KK_MAJOR, MAJOR_KEYS), (KK_MINOR, MINOR_KEYS))
            for tonic in range(12)]
    return max(fits, key=lambda fit: fit[0])[1]


def _file_key(events, notes):
    """Return ``(key, source)``: the key of a file and where it was found.

    The key of the file's first key_signature event, with source
    ``"key_signature"``; later key signatures (modulations) are not used.
    Without one, `_estimate_key` of all its ``notes`` (whatever their
    pitch range), with source ``"estimate"``; ``(None, None)`` if that gives
    no key either.
    """
    for _, message in events:
        if message.type == "key_signature":
            return message.key, "key_signature"
    key = _estimate_key(notes)
    return key, None if key is None else "estimate"


def _shift_to_c(key):
    """Return the semitones, -5..+6, that move the tonic of ``key`` to C.

    A major key goes to C major and a minor key to C minor, by the smallest
    shift (F# and Gb go up 6 rather than down 6).
    """
    return (5 - _key_tonic(key)) % 12 - 5


def _encode(spans, frames, width, encoding):
    """Return the uint8 roll of ``frames`` rows in which ``spans`` sound.

    ``spans`` are ``(column, first frame, end frame)`` of notes, ``width`` the
    number of pitches. Encodings as `midiread` describes; a span with no frame
    (first == end) sets nothing, so no note is struck without sounding.
    """
    roll = np.zeros((frames, width * (2 if encoding == "note-state" else 1)), dtype=np.uint8)
    for column, first, end in spans:
        roll[first:end, column] = 1
        if encoding == "note-state" and first < end:
            roll[first, width + column] = 1
    return roll


def midiread(filename, r=(21, 109), dt=0.2, *, frames_per_beat=None, encoding="piano-roll",
             transpose=False):
    """Read a MIDI file (format 0 or 1) into a piano roll.

    Frames last ``dt`` seconds, through the file's tempo map, or, if
    ``frames_per_beat`` (a positive integer) is given, ``1 / frames_per_beat``
    beats whatever the tempo: times in beats are the file's ticks over its
    ticks per beat, tempo changes play no part, and ``dt`` is not used. Four
    frames per beat is a sixteenth-note grid.

    Returns a `MidiRead` whose ``piano_roll`` has ``ceil(last_end / frame)``
    rows, where ``last_end`` is the latest end of a note with a pitch in ``r``
    and ``frame`` the frame length. A note from ``start`` to ``end`` sets
    frames ``ceil(start / frame)`` up to but not including ``ceil(end /
    frame)``, on either grid: a note on a frame boundary stays on it, any
    other time moves to the next boundary (an eighth-note triplet at 4 frames
    per beat, starting at 0, 1/3 and 2/3 beat, gets frames 0-1, 2 and 3), and
    a note between two boundaries sets no frame. Notes with pitches outside
    ``r`` are ignored entirely, length included, so the roll ends with the
    last note it can show. Drum notes (channel 10) are read as pitches like
    any other (see `_notes` for how note events pair up).

    ``encoding="piano-roll"`` (the default) gives ``r[1] - r[0]`` columns,
    column ``j`` being pitch ``r[0] + j``, 1 while it sounds.
    ``encoding="note-state"`` gives twice as many: the same "sounding"
    columns, then as many "struck" columns, column ``r[1] - r[0] + j`` being
    1 in the first frame of each note of pitch ``r[0] + j``. A note struck
    again while it sounds ends there and a new one starts, so a repeated note
    has two struck bits where a held one has one; a struck bit always has its
    sounding bit. This is the layout of the blog posts that ported this
    model to TensorFlow (their ``midiToNoteStateMatrix``, with pitches
    24..101, i.e. ``r=(24, 102)``, at 4 frames per beat; their prose calls
    the two halves note-on and note-off, their code stores these two bits).
    Their reader takes each frame's state at its middle; ours rounds times
    as above, the same rule on both grids.

    With ``transpose=True`` every note is shifted by the smallest interval
    (-5..+6 semitones) that takes the file's key to C major, or C minor for a
    minor key (`_file_key`: its key signature, else an estimate from its
    notes); notes shifted out of ``r`` are dropped, like any note outside it.
    The result reports the shift and the key. Off by default.

    Raises MidiReadError (a ValueError) naming the file if it is missing, not
    MIDI, truncated, uses SMPTE timing or a format other than 0 and 1, or
    has no note in ``r``; ValueError naming the value for a bad ``dt``,
    ``frames_per_beat``, ``encoding`` or ``transpose``.
    """
    frame = _frame_length(dt, frames_per_beat)
    _check_encoding(encoding)
    if not isinstance(transpose, (bool, np.bool_)):
        raise ValueError(f"transpose must be True or False, got {transpose!r}")
    midi_file = _load(filename)
    events = _merged_events(midi_file)
    notes = _notes(events)

    shift, key, source = 0, None, None
    if transpose:
        key, source = _file_key(events, notes)
        shift = 0 if key is None else _shift_to_c(key)
    if frames_per_beat is None:
        time = _seconds(events, midi_file.ticks_per_beat)
    else:
        def time(tick):
            return Fraction(tick, midi_file.ticks_per_beat)
    spans = [(pitch + shift - r[0], math.ceil(time(start) / frame), math.ceil(time(end) / frame))
             for pitch, start, end in notes if r[0] <= pitch + shift < r[1]]
    frames = max((end for _, _, end in spans), default=0)
    if frames == 0:
        moved = f" after transposing by {shift:+d} semitones" if shift else ""
        raise MidiReadError(f"{filename}: no notes with pitch in range {r[0]}..{r[1] - 1}{moved}")
    return MidiRead(piano_roll=_encode(spans, frames, r[1] - r[0], encoding),
                    transposed_by=shift, key=key, key_source=source)


def note_state_from_roll(piano_roll):
    """Return the note-state encoding of a plain piano roll, (frames, 2 * pitches) uint8.

    Columns as `midiread` gives them: the roll's cells (any non-zero cell
    sounds), then a struck bit in the first frame of each run of a pitch. A
    plain roll cannot tell a repeated note from a held one, so each run
    becomes one note: converting a roll read from a file loses its repeated
    notes, which ``midiread(..., encoding="note-state")`` keeps.
    """
    sounding = np.asarray(piano_roll) != 0
    if sounding.ndim != 2:
        raise ValueError(f"piano_roll must be 2-D, got shape {sounding.shape}")
    struck = sounding.copy()
    struck[1:] &= ~sounding[:-1]
    return np.hstack([sounding, struck]).astype(np.uint8)


def roll_from_note_state(note_state):
    """Return the plain piano roll of a note-state roll, (frames, pitches) uint8.

    That is its sounding half (any non-zero cell sounds); the struck bits are
    dropped, so a repeated note becomes one held note.
    """
    state = np.asarray(note_state)
    if state.ndim != 2 or state.shape[1] % 2:
        raise ValueError(f"note_state must be 2-D with an even number of columns, "
                         f"got shape {state.shape}")
    return (state[:, :state.shape[1] // 2] != 0).astype(np.uint8)


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


def _write_timing(dt, frames_per_beat):
    """Return ``(ticks_per_beat, ticks_per_frame, tempo)`` of a file written on a grid.

    On the seconds grid frames last exactly ``dt`` (`_frame_timing`). On the
    beat grid the tempo is `DEFAULT_TEMPO` (120 beats per minute; it does not
    matter to `midiread` on that grid) and a beat has the least common
    multiple of `TICKS_PER_BEAT` and ``frames_per_beat`` ticks, so a frame is
    whole ticks; ValueError if that exceeds `MAX_TICKS_PER_BEAT`.
    """
    if frames_per_beat is None:
        beats_per_frame, tempo = _frame_timing(dt)
        return TICKS_PER_BEAT, beats_per_frame * TICKS_PER_BEAT, tempo
    _frame_length(dt, frames_per_beat)
    ticks_per_beat = math.lcm(TICKS_PER_BEAT, int(frames_per_beat))
    if ticks_per_beat > MAX_TICKS_PER_BEAT:
        raise ValueError(f"frames_per_beat={frames_per_beat!r} needs {ticks_per_beat} ticks "
                         f"per beat, more than a MIDI file holds ({MAX_TICKS_PER_BEAT})")
    return ticks_per_beat, ticks_per_beat // int(frames_per_beat), DEFAULT_TEMPO


def midiwrite(filename, piano_roll, r=(21, 109), dt=0.2, patch=0, *, frames_per_beat=None,
              encoding="piano-roll"):
    """Write a piano roll as a one-track (format 0) MIDI file.

    ``piano_roll`` is in ``encoding``, with columns as `midiread` gives them
    for ``r``; any non-zero cell counts as 1. In a plain piano roll each run
    of consecutive frames of one pitch becomes one note. In a note-state roll
    a note also ends and a new one starts where the pitch is struck while
    already sounding; a struck bit without its sounding bit is ignored, and a
    pitch that starts sounding is struck whether its bit says so or not.
    Notes have velocity `VELOCITY`, on channel 1 with program ``patch``.

    Frames last exactly ``dt`` seconds (see `_frame_timing`) or, with
    ``frames_per_beat``, ``1 / frames_per_beat`` beats (`_write_timing`), so
    ``midiread`` with the same ``r``, grid and encoding gives back the same
    roll, up to its last frame with a note (and for a note-state roll, with
    the struck bits corrected as above): trailing empty frames only set the
    track length and are not read back, and an all-zero roll writes a valid
    file that ``midiread`` rejects as having no notes.

    Raises ValueError if the roll is not 2-D with the encoding's number of
    columns for ``r``, if ``dt`` is not a whole number of microseconds (on the
    seconds grid), if ``frames_per_beat`` or ``encoding`` is not valid or if
    ``patch`` is not 0..127.
    """
    _check_encoding(encoding)
    width = r[1] - r[0]
    roll = np.asarray(piano_roll)
    columns, per_pitch = (2 * width, "2 per pitch, ") if encoding == "note-state" else (width, "")
    if roll.ndim != 2 or roll.shape[1] != columns:
        raise ValueError(f"piano_roll must be 2-D with {columns} columns "
                         f"({per_pitch}pitches {r[0]}..{r[1] - 1}), got shape {roll.shape}")
    ticks_per_beat, ticks_per_frame, tempo = _write_timing(dt, frames_per_beat)

    state = (note_state_from_roll(roll) if encoding == "piano-roll" else roll) != 0
    # Row b of these is boundary b, the start of frame b (the last row is the roll's end).
    silence = np.zeros((1, width), dtype=bool)
    before = np.vstack([silence, state[:, :width]])  # sounding in frame b - 1
    after = np.vstack([state[:, :width], silence])  # sounding in frame b
    struck = np.vstack([state[:, width:], silence])
    # A note starts where its pitch sounds after silence or is struck again; a
    # sounding note ends where its pitch falls silent or is struck again.
    note_ons = after & (struck | ~before)
    note_offs = before & (~after | note_ons)

    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo),
                            mido.Message("program_change", program=patch)])
    last_tick = 0
    for boundary in np.flatnonzero((note_ons | note_offs).any(axis=1)):
        tick = int(boundary) * ticks_per_frame
        # Note-offs before note-ons at the same tick: the usual order, and the
        # one in which `_notes` reads a repeated note as two notes.
        for kind, ends_or_starts in (("note_off", note_offs[boundary]),
                                     ("note_on", note_ons[boundary])):
            for column in np.flatnonzero(ends_or_starts):
                velocity = VELOCITY if kind == "note_on" else 0
                track.append(mido.Message(kind, note=r[0] + int(column), velocity=velocity,
                                          time=tick - last_tick))
                last_tick = tick
    track.append(mido.MetaMessage("end_of_track", time=len(roll) * ticks_per_frame - last_tick))
    mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat, tracks=[track]).save(filename)
