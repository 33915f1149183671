"""Piano-roll MIDI reading and writing, and finding MIDI files (see `midi.utils`)."""

from .utils import MidiRead, MidiReadError, midi_files, midiread, midiwrite

__all__ = ["MidiRead", "MidiReadError", "midi_files", "midiread", "midiwrite"]
