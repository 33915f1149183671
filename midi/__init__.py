"""Piano-roll MIDI reading and writing, and finding MIDI files (see `midi.utils`)."""

from .utils import (MidiRead, MidiReadError, midi_files, midiread, midiwrite, note_state_from_roll,
                    roll_from_note_state)

__all__ = ["MidiRead", "MidiReadError", "midi_files", "midiread", "midiwrite",
           "note_state_from_roll", "roll_from_note_state"]
