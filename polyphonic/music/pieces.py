"""A generated piece written three ways: MIDI, a piano-roll picture, and sound."""

import rnnrbm
from polyphonic.console import display
from polyphonic.training import checkpoints


def write_piece(model, roll, path_stem):
    """path_stem.mid, .png and .wav for one piano roll, each written whole or not at all."""
    from midi.utils import midiwrite
    from polyphonic.music import synth

    grid = dict(frames_per_beat=model.frames_per_beat, encoding=model.encoding)
    sounding, seconds = rnnrbm.playback(roll, model.r, model.dt, **grid)
    writers = dict(mid=lambda p: midiwrite(p, roll, model.r, model.dt, **grid),
                   png=lambda p: rnnrbm.plot_piano_roll(sounding, model.r, seconds, p),
                   wav=lambda p: synth.write_wav(p, sounding, model.r, seconds))
    for extension, write in writers.items():
        with checkpoints.atomic_output(f"{path_stem}.{extension}") as path:
            write(path)
    print(f"wrote {display(path_stem)}.mid, .png and .wav", flush=True)
