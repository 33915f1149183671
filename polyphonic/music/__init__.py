"""Music in and out, beside midi/: the paper's piano-roll data sets, and pieces.

datasets   the paper's four data sets in its pickle format
synth      a small synthesizer: a piano roll as a WAV file
pieces     a generated piece written as MIDI, piano-roll picture and WAV
"""
