"""Tests of midi.utils: the Nottingham figures, hand-made files, round trips, bad files.

Expected rolls are worked out by hand in the comments. At 480 ticks per beat
and the default tempo (500000 us per beat) one tick is 1/960 s, so 288 ticks
are 0.3 s: one frame at dt=0.3.
"""

import math
import struct
from fractions import Fraction

import mido
import numpy as np
import pytest

from midi.utils import MAX_TEMPO, VELOCITY, MidiReadError, midi_files, midiread, midiwrite

R = (21, 109)


def on(note, velocity=64, channel=0):
    return mido.Message("note_on", note=note, velocity=velocity, channel=channel)


def off(note, channel=0):
    return mido.Message("note_off", note=note, channel=channel)


def tempo(microseconds):
    return mido.MetaMessage("set_tempo", tempo=microseconds)


def track(*events):
    """A mido track from ``(absolute tick, message)`` pairs, in file order."""
    messages, last = mido.MidiTrack(), 0
    for tick, message in events:
        messages.append(message.copy(time=tick - last))
        last = tick
    return messages


def save(path, *tracks, file_type=1):
    mido.MidiFile(type=file_type, ticks_per_beat=480, tracks=list(tracks)).save(path)
    return path


def raw_midi(path, *track_bodies, file_type=0, division=b"\x01\xe0"):
    """Write a MIDI file byte by byte (for what mido will not write); 0x01e0 = 480."""
    data = b"MThd" + struct.pack(">IHH", 6, file_type, len(track_bodies)) + division
    for body in track_bodies:
        data += b"MTrk" + struct.pack(">I", len(body)) + body
    path.write_bytes(data)
    return path


END_OF_TRACK = b"\x00\xff\x2f\x00"


def cells(roll, r=R):
    """``{pitch: [frames where it is 1]}`` for the pitches that sound at all."""
    return {r[0] + int(j): np.flatnonzero(roll[:, j]).tolist()
            for j in np.flatnonzero(roll.any(axis=0))}


def read(path, r=R, dt=0.3):
    roll = midiread(path, r=r, dt=dt).piano_roll
    assert roll.dtype == np.uint8 and roll.shape[1] == r[1] - r[0]
    assert set(np.unique(roll)) <= {0, 1}
    return roll


# --- The Nottingham database, against the figures in ../shared/data/README.md ---

@pytest.mark.parametrize("split, files, frames, ones, chunks", [
    ("train", 694, 147_737, 576_194, 1_912),
    ("valid", 173, 38_111, 148_222, 492),
    ("test", 170, 37_232, 146_354, 479),
])
def test_nottingham_figures(nottingham_dir, split, files, frames, ones, chunks):
    paths = sorted((nottingham_dir / split).glob("*.mid"))
    rolls = [read(path, dt=0.3) for path in paths]
    assert len(rolls) == files
    assert sum(len(roll) for roll in rolls) == frames
    assert sum(int(roll.sum()) for roll in rolls) == ones
    assert sum(math.ceil(len(roll) / 100) for roll in rolls) == chunks


# --- Timing ---

# Tempo 500000 until tick 480 (0.5 s), then 250000: 1/1920 s per tick.
# Note 60: ticks 0..3552 = 0.5 s + 3072/1920 s = 2.1 s, frames 0 up to ceil(7)=7.
# Note 62: ticks 3552..4128 = 2.1 s to 2.1 + 576/1920 = 2.4 s, frame 7 only.
# (In float seconds 2.1 / 0.3 is 7.000000000000001, one frame too many.)
TEMPO_CHANGE_NOTES = [(0, on(60)), (3552, off(60)), (3552, on(62)), (4128, off(62))]
TEMPO_CHANGE_CELLS = {60: [0, 1, 2, 3, 4, 5, 6], 62: [7]}


@pytest.mark.parametrize("tempo_track", [0, 1, 2])
def test_tempo_change_in_any_track_applies_to_all(tmp_path, tempo_track):
    tracks = [[], TEMPO_CHANGE_NOTES, []]
    tracks[tempo_track] = sorted(tracks[tempo_track] + [(480, tempo(250_000))],
                                 key=lambda event: event[0])
    roll = read(save(tmp_path / "t.mid", *(track(*events) for events in tracks)))
    assert roll.shape == (8, 88)
    assert cells(roll) == TEMPO_CHANGE_CELLS


def test_format_0_and_format_1_read_alike(tmp_path):
    events = sorted([(480, tempo(250_000))] + TEMPO_CHANGE_NOTES, key=lambda event: event[0])
    single = read(save(tmp_path / "f0.mid", track(*events), file_type=0))
    split = read(save(tmp_path / "f1.mid", track((480, tempo(250_000))),
                      track(*TEMPO_CHANGE_NOTES)))
    assert cells(single) == cells(split) == TEMPO_CHANGE_CELLS
    assert single.shape == split.shape == (8, 88)


def test_many_tempo_changes(tmp_path):
    # Ten segments of 96 ticks (1/5 beat), alternately at 250000 and 750000 us
    # per beat: 0.05 s and 0.15 s, so 0.2 s per pair and 1.0 s in all. The note
    # starts after four segments (0.4 s) and ends after all ten (1.0 s).
    changes = [(96 * i, tempo(250_000 if i % 2 == 0 else 750_000)) for i in range(10)]
    path = save(tmp_path / "t.mid", track(*changes), track((384, on(70)), (960, off(70))))
    roll = read(path, dt=0.2)
    assert roll.shape == (5, 88)
    assert cells(roll) == {70: [2, 3, 4]}


@pytest.mark.parametrize("dt, expected_cells, frames", [
    (0.3, {60: [1, 2, 3, 4, 5, 6], 64: [7, 8]}, 9),
    (0.1, {60: list(range(3, 21)), 64: list(range(21, 27))}, 27),
    (0.6, {60: [1, 2, 3], 64: [4]}, 5),
])
def test_notes_on_frame_boundaries_stay_there(tmp_path, dt, expected_cells, frames):
    # 288 ticks = 0.3 s: note 60 from 0.3 to 2.1 s, note 64 from 2.1 to 2.7 s.
    # At dt=0.6, 2.1 s is mid-frame: ceil(3.5) = 4. (In float seconds
    # 2016 ticks are 2.1 s and 2.1 / 0.3 is 7.000000000000001.)
    path = save(tmp_path / "t.mid", track((288, on(60)), (2016, off(60)),
                                          (2016, on(64)), (2592, off(64))))
    roll = read(path, dt=dt)
    assert roll.shape == (frames, 88)
    assert cells(roll) == expected_cells


def test_note_between_boundaries_rounds_start_and_end_up(tmp_path):
    # 0.1 s to 0.7 s at dt=0.3: frames ceil(1/3)=1 up to ceil(7/3)=3, i.e. 1 and 2.
    roll = read(save(tmp_path / "t.mid", track((96, on(60)), (672, off(60)))))
    assert roll.shape == (3, 88)
    assert cells(roll) == {60: [1, 2]}


# --- Pairing note events ---

def test_note_on_with_velocity_zero_ends_a_note(tmp_path):
    # Note 60 from 0 to 0.3 s and from 0.6 to 1.2 s.
    path = save(tmp_path / "t.mid", track((0, on(60)), (288, on(60, velocity=0)),
                                          (576, on(60)), (1152, on(60, velocity=0))))
    assert cells(read(path)) == {60: [0, 2, 3]}


def test_note_off_closes_only_the_latest_note_of_its_pitch(tmp_path):
    # Note 60 struck at 0 s and again at 0.3 s; note_offs at 0.6 s and 0.9 s.
    # The second note_on replaces the first, which is dropped; the first
    # note_off ends the second note (frame 1), the other note_off is ignored.
    # (A stack per pitch would give frames 0..2.)
    path = save(tmp_path / "t.mid", track((0, on(60)), (288, on(60)), (576, off(60)),
                                          (864, off(60))))
    roll = read(path)
    assert roll.shape == (2, 88)
    assert cells(roll) == {60: [1]}


def test_note_on_of_same_pitch_in_another_track_replaces_the_open_note(tmp_path):
    # Track 1: 62 from 0 to 1.2 s. Track 2: 62 from 0.3 to 0.6 s. Merged by tick,
    # the second note_on replaces the first note, so only 0.3..0.6 s remains.
    path = save(tmp_path / "t.mid", track((0, on(62)), (1152, off(62))),
                track((288, on(62)), (576, off(62))))
    assert cells(read(path)) == {62: [1]}


def test_unclosed_note_is_dropped(tmp_path):
    # Note 60 never ends; note 62 lasts 0 to 0.6 s; so 2 frames, note 62 only.
    path = save(tmp_path / "t.mid", track((0, on(60)), (0, on(62)), (576, off(62))))
    roll = read(path)
    assert roll.shape == (2, 88)
    assert cells(roll) == {62: [0, 1]}


def test_pitches_outside_range_are_ignored_length_included(tmp_path):
    # r = 60..71. Pitches 59 and 72 are outside (72 lasts longest, to 1.5 s);
    # 60 lasts 0..0.3 s and 71 lasts 0.3..0.9 s, so the roll has 3 frames.
    path = save(tmp_path / "t.mid", track(
        (0, on(59)), (0, on(60)), (0, on(72)), (288, off(60)), (288, on(71)),
        (576, off(59)), (864, off(71)), (1440, off(72))))
    roll = read(path, r=(60, 72))
    assert roll.shape == (3, 12)
    assert cells(roll, r=(60, 72)) == {60: [0], 71: [1, 2]}


def test_drum_channel_notes_are_read_as_pitches(tmp_path):
    path = save(tmp_path / "t.mid", track((0, on(36, channel=9)), (0, on(60, channel=2)),
                                          (288, off(36, channel=9)), (576, off(60, channel=2))))
    assert cells(read(path)) == {36: [0], 60: [0, 1]}


# --- Raw bytes mido will not write ---

def test_running_status(tmp_path):
    # note_on 60 and (running status) 62 at 0; after 576 ticks (0x84 0x40),
    # running-status note_ons with velocity 0 end both: 0 to 0.6 s.
    body = bytes([0x00, 0x90, 60, 64, 0x00, 62, 64, 0x84, 0x40, 60, 0, 0x00, 62, 0]) + END_OF_TRACK
    roll = read(raw_midi(tmp_path / "t.mid", body))
    assert roll.shape == (2, 88)
    assert cells(roll) == {60: [0, 1], 62: [0, 1]}


def test_data_bytes_above_127_are_clipped(tmp_path):
    # Velocity bytes 200 and 255; mido alone would reject the file.
    body = bytes([0x00, 0x90, 60, 200, 0x82, 0x20, 0x80, 60, 255]) + END_OF_TRACK
    roll = read(raw_midi(tmp_path / "t.mid", body))
    assert roll.shape == (1, 88)
    assert cells(roll) == {60: [0]}


NOTE_0_TO_0_6_S = bytes([0x00, 0x90, 60, 64, 0x84, 0x40, 0x80, 60, 0]) + END_OF_TRACK


@pytest.mark.parametrize("meta", [
    bytes([0x00, 0xFF, 0x59, 0x02, 20, 0]),               # key signature with 20 sharps
    bytes([0x00, 0xFF, 0x54, 0x05, 0xE0, 0, 0, 0, 0]),    # SMPTE offset, frame rate code 7
    bytes([0x00, 0xFF, 0x51, 0x02, 0x03, 0xD0]),          # set_tempo with 2 of 3 bytes: ignored
    bytes([0x00, 0xFF, 0x00, 0x01, 0x05]),                # sequence number with 1 of 2 bytes
], ids=["key_signature", "smpte_offset", "short_set_tempo", "short_sequence_number"])
def test_meta_events_mido_cannot_decode_are_skipped(tmp_path, meta):
    path = raw_midi(tmp_path / "t.mid", meta + NOTE_0_TO_0_6_S)
    with pytest.raises(Exception):  # the files really are ones mido rejects
        mido.MidiFile(path)
    roll = read(path)
    assert roll.shape == (2, 88)  # at the default tempo
    assert cells(roll) == {60: [0, 1]}
    assert mido.midifiles.midifiles.build_meta_message is mido.midifiles.meta.build_meta_message


def test_running_status_survives_meta_events(tmp_path):
    # A sysex, note_on 60 at 0, a marker, then a running-status note_on 60 with
    # velocity 0 after 576 ticks: note 60 from 0 to 0.6 s. (mido keeps running
    # status across meta events but not across a sysex, which the MIDI file
    # spec says cancels it, so running status right after a sysex is not read.)
    body = (bytes([0x00, 0xF0, 0x02, 0x7E, 0xF7, 0x00, 0x90, 60, 64, 0x00, 0xFF, 0x06, 0x01, 0x41,
                   0x84, 0x40, 60, 0]) + END_OF_TRACK)
    assert cells(read(raw_midi(tmp_path / "t.mid", body))) == {60: [0, 1]}


def test_set_tempo_longer_than_three_bytes_uses_the_first_three(tmp_path):
    # 0x03D090 = 250000 us per beat: 576 ticks are 0.3 s, one frame (0.6 s at 500000).
    meta = bytes([0x00, 0xFF, 0x51, 0x04, 0x03, 0xD0, 0x90, 0x00])
    body = meta + bytes([0x00, 0x90, 60, 64, 0x84, 0x40, 0x80, 60, 0]) + END_OF_TRACK
    assert read(raw_midi(tmp_path / "t.mid", body)).shape == (1, 88)


# --- Files that cannot be read ---

VALID_FILE_BYTES = (b"MThd" + struct.pack(">IHH", 6, 0, 1) + b"\x01\xe0"
                    + b"MTrk" + struct.pack(">I", len(NOTE_0_TO_0_6_S)) + NOTE_0_TO_0_6_S)


def test_valid_file_bytes_are_valid(tmp_path):
    (tmp_path / "valid.mid").write_bytes(VALID_FILE_BYTES)
    assert cells(read(tmp_path / "valid.mid")) == {60: [0, 1]}


def two_track_header_one_track():
    """A header announcing two tracks, followed by only one."""
    return VALID_FILE_BYTES[:10] + struct.pack(">H", 2) + VALID_FILE_BYTES[12:]


def track_with(body):
    """The valid file's header and one track chunk holding ``body``."""
    return VALID_FILE_BYTES[:14] + b"MTrk" + struct.pack(">I", len(body)) + body


UNREADABLE = [
    ("text", lambda path: path.write_text("This is not a MIDI file.\n" * 10),
     "not a MIDI file (it does not start with MThd)"),
    ("empty", lambda path: path.write_bytes(b""), "empty file (0 bytes), not a MIDI file"),
    ("header_cut", lambda path: path.write_bytes(VALID_FILE_BYTES[:10]),
     "truncated: the file ends inside the MIDI header (10 of 14 bytes)"),
    ("prefix_of_header", lambda path: path.write_bytes(b"MTh"),
     "truncated: the file ends inside the MIDI header (3 of 14 bytes)"),
    ("long_header_cut", lambda path: path.write_bytes(VALID_FILE_BYTES[:4] + struct.pack(">I", 8)
                                                      + VALID_FILE_BYTES[8:14]),
     "truncated: the file ends inside the MIDI header (14 of 16 bytes)"),
    ("short_header", lambda path: path.write_bytes(VALID_FILE_BYTES[:4] + struct.pack(">I", 4)
                                                   + VALID_FILE_BYTES[8:]),
     "corrupt MIDI header (length 4, at least 6 expected)"),
    ("track_header_cut", lambda path: path.write_bytes(VALID_FILE_BYTES[:18]),
     "truncated: the file ends inside track 1 of 1, in its chunk header"),
    ("track_cut", lambda path: path.write_bytes(VALID_FILE_BYTES[:30]),
     "truncated: the file ends inside track 1 of 1 (8 of its 13 bytes)"),
    ("track_missing", lambda path: path.write_bytes(two_track_header_one_track()),
     "truncated: the file ends before track 2 of 2"),
    ("not_a_track", lambda path: path.write_bytes(VALID_FILE_BYTES[:14] + b"RIFF" + bytes(20)),
     "corrupt: track 1 of 1 does not start with MTrk (byte 14)"),
    ("event_past_track_end", lambda path: path.write_bytes(track_with(bytes([0x00, 0x90, 60]))),
     "corrupt: an event runs past the end of its track"),
    ("meta_past_track_end", lambda path: path.write_bytes(track_with(bytes([0x00, 0xFF, 0x01, 9, 65]))),
     "corrupt: an event runs past the end of its track"),
    ("no_running_status", lambda path: path.write_bytes(track_with(bytes([0x00, 60, 64]))),
     "corrupt: running status without last_status"),  # mido's message
    ("system_common", lambda path: path.write_bytes(track_with(bytes([0x00, 0xF4]))),
     "corrupt: undefined status byte 0xf4"),  # mido's message
    ("smpte_division", lambda path: raw_midi(path, NOTE_0_TO_0_6_S, division=bytes([0xE7, 40])),
     "SMPTE time division is not supported"),  # -25 frames per second, 40 ticks per frame
    ("zero_division", lambda path: raw_midi(path, NOTE_0_TO_0_6_S, division=bytes(2)),
     "corrupt MIDI header (0 ticks per beat)"),
    ("format_2", lambda path: raw_midi(path, NOTE_0_TO_0_6_S, file_type=2),
     "MIDI format 2 is not supported (only 0 and 1)"),
    ("no_notes", lambda path: save(path, track((0, tempo(400_000)),
                                               (960, mido.MetaMessage("marker", text="x")))),
     "no notes with pitch in range 21..108"),
    ("only_notes_outside_range", lambda path: save(path, track(
        (0, on(10)), (0, on(120)), (288, off(10)), (288, off(120)))),
     "no notes with pitch in range 21..108"),
    ("missing", lambda path: None, "cannot read MIDI file"),
    ("folder", lambda path: path.mkdir(), "cannot read MIDI file"),
]


@pytest.mark.parametrize("case, make, reason", UNREADABLE, ids=[case for case, _, _ in UNREADABLE])
def test_unreadable_files_raise_midi_read_error_naming_the_file(tmp_path, case, make, reason):
    path = tmp_path / f"bad {case}.mid"
    make(path)
    with pytest.raises(MidiReadError) as raised:
        midiread(path)
    message = str(raised.value)
    assert type(raised.value) is MidiReadError and isinstance(raised.value, ValueError)
    assert str(path) in message and reason in message and "\n" not in message


# --- Finding MIDI files ---

def test_midi_files_finds_every_suffix_case_sorted(tmp_path):
    for name in ["b.MID", "a.mid", "c.midi", "d.MIDI", "e.Mid", "notes.txt", "f.mid.bak",
                 "midi", "g.kar"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "folder.mid").mkdir()  # a folder is not a file
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "h.mid").write_bytes(b"x")  # sub-folders are not searched
    found = midi_files(tmp_path)
    assert found == sorted(found)
    assert [path.name for path in found] == ["a.mid", "b.MID", "c.midi", "d.MIDI", "e.Mid"]
    assert all(path.parent == tmp_path for path in found)
    assert midi_files(str(tmp_path)) == found  # a str folder works too


def test_midi_files_of_a_folder_without_midi_files_is_empty(tmp_path):
    (tmp_path / "readme.txt").write_bytes(b"x")
    assert midi_files(tmp_path) == []


def test_midi_files_of_a_missing_folder_names_it(tmp_path):
    with pytest.raises(OSError, match="nowhere"):
        midi_files(tmp_path / "nowhere")


def test_midi_files_finds_the_nottingham_files(nottingham_dir):
    assert [path.name for path in midi_files(nottingham_dir / "test")] == \
        sorted(path.name for path in (nottingham_dir / "test").glob("*.mid"))
    assert len(midi_files(nottingham_dir / "test")) == 170


# --- Writing ---

def roll_with_last_frame_set(rng, frames, width, density=0.2):
    roll = (rng.random((frames, width)) < density).astype(np.uint8)
    roll[-1, rng.integers(width)] = 1
    return roll


@pytest.mark.parametrize("dt", [0.3, 0.2, 0.25, 0.125, 0.1, 0.05, 1.5, 0.000_001])
@pytest.mark.parametrize("r", [(21, 109), (36, 84)])
def test_write_then_read_gives_the_same_roll(tmp_path, dt, r):
    rng = np.random.default_rng(1234)
    roll = roll_with_last_frame_set(rng, 300, r[1] - r[0])
    midiwrite(tmp_path / "w.mid", roll, r=r, dt=dt)
    back = midiread(tmp_path / "w.mid", r=r, dt=dt).piano_roll
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, roll)


def test_written_file_contents(tmp_path):
    # Pitch 60 sounds in frames 0-1 and 3, pitch 62 in frame 3: three notes.
    roll = np.zeros((4, 88), dtype=np.uint8)
    roll[[0, 1, 3], 60 - 21] = 1
    roll[3, 62 - 21] = 1
    midiwrite(tmp_path / "w.mid", roll, dt=0.3, patch=5)
    written = mido.MidiFile(tmp_path / "w.mid")
    assert written.type == 0 and len(written.tracks) == 1
    tick, events = 0, []
    for message in written.tracks[0]:
        tick += message.time
        events.append((tick, message.type, getattr(message, "note", None)))
    per_frame = written.ticks_per_beat  # one beat per frame at tempo 300000
    assert events == [
        (0, "set_tempo", None), (0, "program_change", None), (0, "note_on", 60),
        (2 * per_frame, "note_off", 60),
        (3 * per_frame, "note_on", 60), (3 * per_frame, "note_on", 62),
        (4 * per_frame, "note_off", 60), (4 * per_frame, "note_off", 62),
        (4 * per_frame, "end_of_track", None)]
    messages = written.tracks[0]
    assert messages[0].tempo == 300_000 and messages[1].program == 5
    assert {m.velocity for m in messages if m.type == "note_on"} == {VELOCITY}


def test_large_dt_spans_several_beats(tmp_path):
    # 40 s does not fit one set_tempo (at most about 16.8 s a beat): 3 beats would
    # not divide 40 000 000 us evenly, 4 beats of 10 s do.
    roll = np.zeros((3, 88), dtype=np.uint8)
    roll[[0, 2], 0] = 1
    midiwrite(tmp_path / "w.mid", roll, dt=40)
    set_tempo = mido.MidiFile(tmp_path / "w.mid").tracks[0][0]
    assert set_tempo.tempo == 10_000_000 <= MAX_TEMPO
    np.testing.assert_array_equal(midiread(tmp_path / "w.mid", dt=40).piano_roll, roll)


def test_trailing_empty_frames_only_set_the_length(tmp_path):
    roll = np.zeros((10, 88), dtype=np.uint8)
    roll[2:5, 40] = 1
    midiwrite(tmp_path / "w.mid", roll, dt=0.3)
    assert mido.MidiFile(tmp_path / "w.mid").length == pytest.approx(3.0)
    np.testing.assert_array_equal(midiread(tmp_path / "w.mid", dt=0.3).piano_roll, roll[:5])


def test_all_zero_roll_writes_a_file_that_reads_as_no_notes(tmp_path):
    midiwrite(tmp_path / "w.mid", np.zeros((5, 88)), dt=0.2)
    assert mido.MidiFile(tmp_path / "w.mid").length == pytest.approx(1.0)
    with pytest.raises(MidiReadError, match="w.mid"):
        midiread(tmp_path / "w.mid", dt=0.2)


@pytest.mark.parametrize("dt", [Fraction(1, 3), 1e-7, 0.1 + 0.2, 0, -0.3])
def test_dt_that_no_tempo_represents_is_rejected(tmp_path, dt):
    with pytest.raises(ValueError, match="dt"):
        midiwrite(tmp_path / "w.mid", np.ones((2, 88)), dt=dt)
    assert not (tmp_path / "w.mid").exists()


@pytest.mark.parametrize("shape", [(88,), (4, 87), (4, 88, 1)])
def test_roll_of_wrong_shape_is_rejected(tmp_path, shape):
    with pytest.raises(ValueError, match="piano_roll"):
        midiwrite(tmp_path / "w.mid", np.ones(shape), dt=0.3)
