"""The snippet generator of the first TensorFlow post: a plain RBM over short
windows of music.

Each song (by default in the note-state encoding, pitches 24..101, four
frames per beat) is cut into windows of `frames` consecutive frames, each
window flattened into one visible vector (rnnrbm.frames_to_steps; the frames
left over at a song's end are dropped). An rbm.Rbm, the same code as the
RBM pretraining of the paper's recipe, learns these vectors by CD-k on
mini-batches of shuffled windows; a snippet is the end of a Gibbs chain
started at zeros, reshaped back into frames.

Where this differs from the post: W starts from N(0, 0.01**2), the tutorial's
scale (the post's code passes 0.01 as the mean, so its standard deviation is
1, a slip); the gradient is that of the free-energy difference, so the
update uses the hidden units' probabilities where the post's formulas use
their samples (the same update on average, less noisy); every window of
every song is used, in a fresh random order each epoch (the post's loop
skipped each song's first window and kept the songs' order).
"""

import numpy as np

from polyphonic.models.rbm import Rbm
from rnnrbm import FRAME_SECONDS, columns, frames_to_steps, read_midi_rolls, steps_to_frames

POST_PITCH_RANGE = (24, 102)  # the posts' notes 24..101


class SnippetRbm(Rbm):
    """An RBM over windows of `frames` frames, which reads and writes MIDI.

    sample(n, steps) -> n flattened windows (rbm.Rbm); generate(n, steps)
    -> the same as n (frames x columns) piano rolls in the model's encoding.
    """

    kind = "snippet"

    def __init__(self, frames=15, n_hidden=50, lr=0.005, k=1, momentum=0.0,
                 r=POST_PITCH_RANGE, dt=FRAME_SECONDS, frames_per_beat=4, encoding="note-state",
                 seed=0xBEEF, dtype="float64", backend="c"):
        """The defaults are the post's (see the module docstring for W).

        frames : frames per window (the post's num_timesteps).
        r, dt, frames_per_beat, encoding : how MIDI files are read and
            written (midi.utils.midiread); frames_per_beat replaces dt's grid.
        The rest as rbm.Rbm.
        """
        super().__init__(frames * columns(r, encoding), n_hidden, lr, k, momentum, seed, dtype,
                         backend)
        self.config = dict(frames=frames, n_hidden=n_hidden, lr=lr, k=k, momentum=momentum,
                           r=list(r), dt=dt, frames_per_beat=frames_per_beat, encoding=encoding,
                           seed=seed, dtype=dtype, backend=backend)
        self.r, self.dt, self.frames_per_step = tuple(r), dt, frames
        self.frames_per_beat, self.encoding = frames_per_beat, encoding

    def to_steps(self, roll):
        """A song's (frames x columns) roll as its windows, one per row."""
        return frames_to_steps(roll, self.frames_per_step)

    def to_frames(self, steps):
        """Windows (rows) back to a (frames x columns) roll."""
        return steps_to_frames(steps, self.frames_per_step)

    def batches(self, dataset, batch_size):
        """rbm.Rbm's shuffled mini-batches, of the windows of all songs."""
        return super().batches([self.to_steps(roll) for roll in dataset], batch_size)

    def train(self, files, batch_size=100, num_epochs=200, **options):
        """Train on MIDI files, read on the model's grid; see `train_rolls`."""
        rolls = read_midi_rolls(files, self.r, self.dt, self.frames_per_beat, self.encoding)
        return self.train_rolls(rolls, batch_size, num_epochs, **options)

    def generate(self, n, steps=1):
        """n snippets, each the end of a Gibbs chain of `steps` steps from
        zeros (the post takes one), as (frames x columns) uint8 rolls."""
        return [self.to_frames(row[None, :]).astype(np.uint8) for row in self.sample(n, steps)]
