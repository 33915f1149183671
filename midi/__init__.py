"""Piano-roll MIDI reading and writing (see `midi.utils`), built on mido."""

from .utils import MidiRead, MidiReadError, midiread, midiwrite

__all__ = ["MidiRead", "MidiReadError", "midiread", "midiwrite"]
