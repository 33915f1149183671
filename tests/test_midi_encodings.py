"""Tests of midi.utils' beat grid, note-state encoding and transposition to C.

Hand-made files have 480 ticks per beat unless said otherwise, so at 4 frames
per beat a frame is 120 ticks. Expected rolls are worked out in the comments.
"""

import mido
import numpy as np
import pytest

from midi.utils import (DEFAULT_TEMPO, VELOCITY, _estimate_key, _load, _merged_events, _notes,
                        _shift_to_c, midiread, midiwrite, note_state_from_roll,
                        roll_from_note_state)

R = (21, 109)
POSTS_R = (24, 102)  # the blog posts' pitches 24..101: 78 sounding and 78 struck columns


def on(note):
    return mido.Message("note_on", note=note, velocity=64)


def off(note):
    return mido.Message("note_off", note=note)


def tempo(microseconds):
    return mido.MetaMessage("set_tempo", tempo=microseconds)


def key_signature(key):
    return mido.MetaMessage("key_signature", key=key)


def track(*events):
    """A mido track from ``(absolute tick, message)`` pairs, sorted by tick (stable)."""
    messages, last = mido.MidiTrack(), 0
    for tick, message in sorted(events, key=lambda event: event[0]):
        messages.append(message.copy(time=tick - last))
        last = tick
    return messages


def note_events(notes, ticks_per_beat=480):
    """``(tick, message)`` pairs of ``[(pitch, start beat, end beat)]``; at a tick, offs first."""
    offs = [(round(end * ticks_per_beat), off(pitch)) for pitch, _, end in notes]
    ons = [(round(start * ticks_per_beat), on(pitch)) for pitch, start, _ in notes]
    return offs + ons  # `track` sorts stably by tick, so offs stay before ons


def save(path, *tracks, ticks_per_beat=480):
    mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat, tracks=list(tracks)).save(path)
    return path


def cells(roll, r=R):
    """``{pitch: [frames where it is 1]}`` of a plain roll or of one half of a note-state one."""
    return {r[0] + int(j): np.flatnonzero(roll[:, j]).tolist()
            for j in np.flatnonzero(roll.any(axis=0))}


def halves(state):
    """The sounding and the struck half of a note-state roll."""
    width = state.shape[1] // 2
    return state[:, :width], state[:, width:]


# --- The beat grid ---

# Note 60 from beat 0 to 1.5, note 64 from 1.5 to 3: frames 0-5 and 6-11 at 4 per beat.
TWO_NOTES = [(60, 0, 1.5), (64, 1.5, 3)]
TWO_NOTES_CELLS = {60: [0, 1, 2, 3, 4, 5], 64: [6, 7, 8, 9, 10, 11]}


def test_beat_grid_ignores_tempo_changes(tmp_path):
    # Tempo 300000, then 1000000 from tick 240, then 250000 from tick 1000: on
    # the seconds grid the notes would move, on the beat grid they do not.
    changes = [(0, tempo(300_000)), (240, tempo(1_000_000)), (1000, tempo(250_000))]
    changing = save(tmp_path / "changing.mid", track(*changes), track(*note_events(TWO_NOTES)))
    steady = save(tmp_path / "steady.mid", track(*note_events(TWO_NOTES)))
    read = midiread(changing, frames_per_beat=4)
    assert read.piano_roll.dtype == np.uint8 and read.piano_roll.shape == (12, 88)
    assert cells(read.piano_roll) == TWO_NOTES_CELLS
    np.testing.assert_array_equal(midiread(steady, frames_per_beat=4).piano_roll, read.piano_roll)
    # The seconds grid does see the tempo: 1440 ticks are 1.9625 s, 7 frames of 0.3 s
    # (0.15 s for the first 240 ticks, 1.58333 s for the next 760, 0.229167 s for the rest).
    assert midiread(changing, dt=0.3).piano_roll.shape == (7, 88)
    assert midiread(steady, dt=0.3).piano_roll.shape == (5, 88)  # 3 beats of 0.5 s
    # Transposition is off by default and dt is not used on the beat grid.
    assert (read.transposed_by, read.key, read.key_source) == (0, None, None)
    np.testing.assert_array_equal(midiread(changing, dt=7, frames_per_beat=4).piano_roll,
                                  read.piano_roll)


def test_beat_grid_uses_the_files_ticks_per_beat(tmp_path):
    # At 96 ticks per beat the same notes are at ticks 0, 144 and 288.
    path = save(tmp_path / "t.mid", track(*note_events(TWO_NOTES, 96)), ticks_per_beat=96)
    assert [message.time for message in mido.MidiFile(path).tracks[0]][:3] == [0, 144, 0]
    assert cells(midiread(path, frames_per_beat=4).piano_roll) == TWO_NOTES_CELLS
    # 2 frames per beat: 60 in frames 0-2 (1.5 beats is 3 frames), 64 in 3-5.
    assert cells(midiread(path, frames_per_beat=2).piano_roll) == {60: [0, 1, 2], 64: [3, 4, 5]}


# Eighth-note triplets on one beat: 60, 62, 64 one after another, and 67 struck
# three times; 72 lasts from 1/6 to 1/4 beat.
TRIPLETS = [(60, 0, 1 / 3), (62, 1 / 3, 2 / 3), (64, 2 / 3, 1),
            (67, 0, 1 / 3), (67, 1 / 3, 2 / 3), (67, 2 / 3, 1), (72, 1 / 6, 1 / 4)]


@pytest.mark.parametrize("frames_per_beat, sounding, struck, frames", [
    # Off the grid, times round up to the next frame boundary: 1/3 beat is
    # frame 4/3, so 60 gets frames 0-1 (0 up to ceil(4/3) = 2), 62 frame 2
    # (up to ceil(8/3) = 3), 64 frame 3. 72, from frame 2/3 to 1, gets none.
    (4, {60: [0, 1], 62: [2], 64: [3], 67: [0, 1, 2, 3]},
     {60: [0], 62: [2], 64: [3], 67: [0, 2, 3]}, 4),
    # On a triplet grid every note is one frame; 72 is from frame 0.5 to 0.75: none.
    (3, {60: [0], 62: [1], 64: [2], 67: [0, 1, 2]},
     {60: [0], 62: [1], 64: [2], 67: [0, 1, 2]}, 3),
    # At 6 per beat 72 is from frame 1 to 1.5: frame 1.
    (6, {60: [0, 1], 62: [2, 3], 64: [4, 5], 67: [0, 1, 2, 3, 4, 5], 72: [1]},
     {60: [0], 62: [2], 64: [4], 67: [0, 2, 4], 72: [1]}, 6),
])
def test_triplets_round_up_to_the_next_frame(tmp_path, frames_per_beat, sounding, struck, frames):
    path = save(tmp_path / "t.mid", track(*note_events(TRIPLETS)))
    state = midiread(path, r=(60, 73), frames_per_beat=frames_per_beat,
                     encoding="note-state").piano_roll
    assert state.shape == (frames, 26)
    assert cells(halves(state)[0], r=(60, 73)) == sounding
    assert cells(halves(state)[1], r=(60, 73)) == struck
    plain = midiread(path, r=(60, 73), frames_per_beat=frames_per_beat).piano_roll
    np.testing.assert_array_equal(plain, halves(state)[0])


def random_roll(rng, frames, width):
    roll = (rng.random((frames, width)) < 0.2).astype(np.uint8)
    roll[-1, rng.integers(width)] = 1  # trailing empty frames are not read back
    return roll


@pytest.mark.parametrize("frames_per_beat, ticks_per_beat", [
    (1, 480), (3, 480), (4, 480), (7, 3360), (12, 480), (960, 960)])
def test_beat_grid_write_then_read_gives_the_same_roll(tmp_path, frames_per_beat,
                                                       ticks_per_beat):
    roll = random_roll(np.random.default_rng(frames_per_beat), 200, 78)
    midiwrite(tmp_path / "w.mid", roll, r=POSTS_R, frames_per_beat=frames_per_beat)
    written = mido.MidiFile(tmp_path / "w.mid")
    assert written.ticks_per_beat == ticks_per_beat  # a multiple of 480 and of frames_per_beat
    assert written.tracks[0][0].tempo == DEFAULT_TEMPO
    assert written.length == pytest.approx(200 / frames_per_beat * 0.5)  # 120 beats per minute
    back = midiread(tmp_path / "w.mid", r=POSTS_R, frames_per_beat=frames_per_beat).piano_roll
    np.testing.assert_array_equal(back, roll)


# --- Note-state encoding ---

def test_note_state_tells_a_repeated_note_from_a_held_one(tmp_path):
    # Pitch 60 held for beats 0-2, or struck at 0 and again at 1; pitch 26 held
    # for beat 1. Columns: sounding 0..77 (60 is 36, 26 is 2), struck 78..155.
    held = save(tmp_path / "held.mid", track(*note_events([(60, 0, 2), (26, 1, 2)])))
    repeated = save(tmp_path / "repeated.mid",
                    track(*note_events([(60, 0, 1), (60, 1, 2), (26, 1, 2)])))
    expected = np.zeros((8, 156), dtype=np.uint8)
    expected[0:8, 36] = expected[4:8, 2] = 1
    expected[0, 78 + 36] = expected[4, 78 + 2] = 1
    held_state = midiread(held, r=POSTS_R, frames_per_beat=4, encoding="note-state").piano_roll
    np.testing.assert_array_equal(held_state, expected)
    expected[4, 78 + 36] = 1  # the re-strike
    repeated_state = midiread(repeated, r=POSTS_R, frames_per_beat=4,
                              encoding="note-state").piano_roll
    assert repeated_state.dtype == np.uint8
    np.testing.assert_array_equal(repeated_state, expected)
    # The plain rolls are the same: a plain roll loses the re-strike.
    plain = midiread(repeated, r=POSTS_R, frames_per_beat=4).piano_roll
    np.testing.assert_array_equal(plain, midiread(held, r=POSTS_R, frames_per_beat=4).piano_roll)
    np.testing.assert_array_equal(roll_from_note_state(repeated_state), plain)
    np.testing.assert_array_equal(note_state_from_roll(plain), held_state)


def random_note_state(rng, frames, width):
    """A note-state roll as `midiread` gives it: struck where a run starts, and re-strikes."""
    sounding = random_roll(rng, frames, width).astype(bool)
    struck = sounding.copy()
    struck[1:] &= ~sounding[:-1] | (rng.random((frames - 1, width)) < 0.3)
    return np.hstack([sounding, struck]).astype(np.uint8)


@pytest.mark.parametrize("grid", [dict(frames_per_beat=4), dict(frames_per_beat=3),
                                  dict(dt=0.3), dict(dt=0.125)])
def test_note_state_write_then_read_gives_the_same_array(tmp_path, grid):
    state = random_note_state(np.random.default_rng(7), 300, 78)
    sounding, struck = halves(state.astype(bool))
    assert (struck[1:] & sounding[:-1]).sum() > 100  # plenty of repeated notes
    midiwrite(tmp_path / "w.mid", state, r=POSTS_R, encoding="note-state", **grid)
    back = midiread(tmp_path / "w.mid", r=POSTS_R, encoding="note-state", **grid).piano_roll
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, state)


def test_note_state_writer_strikes_new_notes_and_ignores_struck_silence(tmp_path):
    # Pitch 60: sounds in frames 0-2 and 4, struck only in 2: notes 0-1, 2 and 4
    # (a note after silence is struck whatever its bit). Pitch 61: struck in
    # frames 0 and 3 but never sounding: no note.
    state = np.zeros((5, 4), dtype=np.uint8)
    state[[0, 1, 2, 4], 0] = 1
    state[2, 2] = 1
    state[[0, 3], 3] = 1
    midiwrite(tmp_path / "w.mid", state, r=(60, 62), frames_per_beat=2, encoding="note-state")
    expected = np.zeros((5, 4), dtype=np.uint8)
    expected[[0, 1, 2, 4], 0] = 1
    expected[[0, 2, 4], 2] = 1
    back = midiread(tmp_path / "w.mid", r=(60, 62), frames_per_beat=2,
                    encoding="note-state").piano_roll
    np.testing.assert_array_equal(back, expected)


def test_written_note_state_file_contents(tmp_path):
    # Pitch 60 sounds in frames 0-2, struck in 0 and 2: at 2 frames per beat
    # (480 ticks per beat, 240 per frame) a note from 0 to 480 and one from 480 to 720,
    # the note_off before the note_on at tick 480.
    midiwrite(tmp_path / "w.mid", [[1, 1], [1, 0], [1, 1]], r=(60, 61), frames_per_beat=2,
              encoding="note-state", patch=3)
    written = mido.MidiFile(tmp_path / "w.mid")
    assert written.type == 0 and written.ticks_per_beat == 480
    tick, events = 0, []
    for message in written.tracks[0]:
        tick += message.time
        events.append((tick, message.type, getattr(message, "note", None),
                       getattr(message, "velocity", None)))
    assert events == [(0, "set_tempo", None, None), (0, "program_change", None, None),
                      (0, "note_on", 60, VELOCITY), (480, "note_off", 60, 0),
                      (480, "note_on", 60, VELOCITY), (720, "note_off", 60, 0),
                      (720, "end_of_track", None, None)]
    assert written.tracks[0][1].program == 3


def test_conversions_between_plain_and_note_state_rolls():
    roll = np.array([[1, 0], [1, 1], [0, 1], [1, 1]])
    state = note_state_from_roll(roll)
    assert state.dtype == np.uint8
    np.testing.assert_array_equal(state, [[1, 0, 1, 0], [1, 1, 0, 1], [0, 1, 0, 0],
                                          [1, 1, 1, 0]])
    np.testing.assert_array_equal(roll_from_note_state(state), roll)
    # A re-struck note (pitch 0 in frame 1) becomes a held one.
    np.testing.assert_array_equal(roll_from_note_state([[1, 1], [1, 1]]), [[1], [1]])


@pytest.mark.parametrize("call", [
    lambda: roll_from_note_state(np.ones((3, 5))),
    lambda: roll_from_note_state(np.ones(4)),
    lambda: note_state_from_roll(np.ones(4)),
], ids=["odd_columns", "1-D state", "1-D roll"])
def test_conversions_reject_wrong_shapes(call):
    with pytest.raises(ValueError, match="2-D"):
        call()


@pytest.mark.parametrize("shape", [(4, 78), (4, 155), (4, 156, 1)])
def test_note_state_roll_of_wrong_shape_is_rejected(tmp_path, shape):
    with pytest.raises(ValueError, match="156 columns"):
        midiwrite(tmp_path / "w.mid", np.ones(shape), r=POSTS_R, frames_per_beat=4,
                  encoding="note-state")
    assert not (tmp_path / "w.mid").exists()


# --- Option values ---

BAD_READ_OPTIONS = [("frames_per_beat", 0), ("frames_per_beat", -4), ("frames_per_beat", 2.5),
                    ("frames_per_beat", "4"), ("frames_per_beat", True),
                    ("encoding", "pianoroll"), ("encoding", None),
                    ("transpose", "C"), ("transpose", 1)]


@pytest.mark.parametrize("option, value", BAD_READ_OPTIONS)
def test_bad_read_options_are_named(tmp_path, option, value):
    path = save(tmp_path / "t.mid", track(*note_events(TWO_NOTES)))
    with pytest.raises(ValueError) as raised:
        midiread(path, **{option: value})
    assert type(raised.value) is ValueError  # not a MidiReadError: the file is fine
    assert option in str(raised.value) and repr(value) in str(raised.value)


@pytest.mark.parametrize("option, value", [*BAD_READ_OPTIONS[:7], ("frames_per_beat", 32_768)])
def test_bad_write_options_are_named(tmp_path, option, value):
    with pytest.raises(ValueError) as raised:
        midiwrite(tmp_path / "w.mid", np.ones((2, 88)), **{option: value})
    assert option in str(raised.value) and repr(value) in str(raised.value)
    assert not (tmp_path / "w.mid").exists()


# --- Transposition to C ---

def cadence(tonic, minor):
    """``[(pitch, start beat, end beat)]``: a scale up from ``tonic`` and a I-IV-V-I cadence.

    The harmonic minor scale and i-iv-V-i in a minor key.
    """
    third, sixth = (3, 8) if minor else (4, 9)
    scale = [0, 2, third, 5, 7, sixth, 11, 12]
    chords = [((0, third, 7), 8, 10), ((5, sixth, 12), 10, 11), ((7, 11, 14), 11, 12),
              ((0, third, 7), 12, 16)]
    return ([(tonic + step, beat, beat + 1) for beat, step in enumerate(scale)]
            + [(tonic + step, start, end) for steps, start, end in chords for step in steps])


def read_in_c(tmp_path, minor):
    """The cadence written in C (major or minor) and read without transposing."""
    path = save(tmp_path / "in_c.mid", track(*note_events(cadence(60, minor))))
    return midiread(path, frames_per_beat=4).piano_roll


@pytest.mark.parametrize("key, tonic, minor, shift", [
    ("C", 60, False, 0), ("D", 62, False, -2), ("F", 65, False, -5), ("F#", 54, False, 6),
    ("Bbm", 58, True, 2), ("Em", 64, True, -4), ("G#m", 56, True, 4)])
def test_transpose_estimates_the_key_without_a_key_signature(tmp_path, key, tonic, minor, shift):
    path = save(tmp_path / "t.mid", track(*note_events(cadence(tonic, minor))))
    read = midiread(path, frames_per_beat=4, transpose=True)
    assert (read.key, read.key_source, read.transposed_by) == (key, "estimate", shift)
    np.testing.assert_array_equal(read.piano_roll, read_in_c(tmp_path, minor))


def shifted_down(roll, semitones):
    """``roll`` with every note ``semitones`` lower (nothing falls off in these tests)."""
    assert not roll[:, :semitones].any()
    return np.hstack([roll[:, semitones:], np.zeros((len(roll), semitones), roll.dtype)])


@pytest.mark.parametrize("signature, tonic, minor, shift, lower_than_c", [
    ("D", 62, False, -2, 0), ("Am", 57, True, 3, 0), ("Gm", 55, True, 5, 0),
    ("Eb", 62, False, -3, 1),  # a D major cadence under an E-flat signature: the signature wins
])
def test_transpose_follows_the_key_signature(tmp_path, signature, tonic, minor, shift,
                                             lower_than_c):
    # The signature is in the first track, the notes in the second; a later
    # key signature (to G) does not count.
    path = save(tmp_path / "t.mid",
                track((0, key_signature(signature)), (1920, key_signature("G"))),
                track(*note_events(cadence(tonic, minor))))
    read = midiread(path, frames_per_beat=4, transpose=True)
    assert (read.key, read.key_source, read.transposed_by) == (signature, "key_signature", shift)
    expected = read_in_c(tmp_path, minor)
    if lower_than_c:
        expected = shifted_down(expected, lower_than_c)
    np.testing.assert_array_equal(read.piano_roll, expected)


@pytest.mark.parametrize("signature, shift", [
    ("Cb", 1), ("C#", -1), ("Gb", 6), ("F#m", 6), ("Ebm", -3), ("A#m", 2), ("Bb", 2), ("E", -4)])
def test_key_signature_spellings(tmp_path, signature, shift):
    path = save(tmp_path / "t.mid", track((0, key_signature(signature)),
                                          *note_events([(60, 0, 1)])))
    read = midiread(path, dt=0.5, transpose=True)
    assert (read.key, read.transposed_by) == (signature, shift)
    assert cells(read.piano_roll) == {60 + shift: [0]}


def test_notes_transposed_out_of_range_are_dropped_length_included(tmp_path):
    # F# major, up 6: 66 (beat 0) becomes 72 and 70 (beats 2-6) 76, both
    # outside r = 60..71; 61 (beat 1) becomes 67. The roll ends with 67.
    path = save(tmp_path / "t.mid", track((0, key_signature("F#")),
                                          *note_events([(66, 0, 1), (61, 1, 2), (70, 2, 6)])))
    plain = midiread(path, r=(60, 72), frames_per_beat=1).piano_roll
    assert cells(plain, r=(60, 72)) == {61: [1], 66: [0], 70: [2, 3, 4, 5]}
    read = midiread(path, r=(60, 72), frames_per_beat=1, transpose=True)
    assert read.transposed_by == 6
    assert read.piano_roll.shape == (2, 12)
    assert cells(read.piano_roll, r=(60, 72)) == {67: [1]}
    with pytest.raises(ValueError, match=r"no notes with pitch in range 60\.\.65 after "
                                         r"transposing by \+6 semitones"):
        midiread(path, r=(60, 66), frames_per_beat=1, transpose=True)


def test_no_key_when_every_pitch_class_lasts_as_long(tmp_path):
    # A chromatic scale, a beat per note: every correlation is undefined.
    path = save(tmp_path / "t.mid", track(*note_events([(60 + i, i, i + 1) for i in range(12)])))
    read = midiread(path, frames_per_beat=1, transpose=True)
    assert (read.key, read.key_source, read.transposed_by) == (None, None, 0)
    assert cells(read.piano_roll) == {60 + i: [i] for i in range(12)}


def test_key_is_estimated_from_durations_not_counts(tmp_path):
    # Many short Gs and Ds (a G major triad's root and fifth, 1/4 beat each,
    # 4 beats in all) against long C major notes (C, E, G, 8 beats each):
    # counted by notes it would look like G, weighed by duration it is C.
    short = [(pitch, beat / 4, (beat + 1) / 4) for beat in range(8) for pitch in (67, 74)]
    long = [(pitch, 2, 10) for pitch in (60, 64, 55)]
    path = save(tmp_path / "t.mid", track(*note_events(short + long)))
    read = midiread(path, frames_per_beat=4, transpose=True)
    assert (read.key, read.transposed_by) == ("C", 0)
    assert len(read.piano_roll) == 40  # 10 beats


def test_key_estimate_against_the_nottingham_key_signatures(nottingham_dir):
    # The figures in _estimate_key's docstring: every file has a key signature;
    # the estimate names the first one's key for 880 files, its shift for 883.
    files = sorted(nottingham_dir.glob("*/*.mid"))
    same_key = same_shift = 0
    for path in files:
        events = _merged_events(_load(path))
        signatures = [message.key for _, message in events if message.type == "key_signature"]
        estimate = _estimate_key(_notes(events))
        same_key += estimate == signatures[0]
        same_shift += _shift_to_c(estimate) == _shift_to_c(signatures[0])
    assert (len(files), same_key, same_shift) == (1037, 880, 883)
