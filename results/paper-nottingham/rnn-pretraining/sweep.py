"""The RNN pretraining's learning rate: rnn.Rnn on Nottingham.pickle's training split,
Adam, gradient norm clipped at 5, 100 RNN units, seed 0xBEEF, one sequence or chunk per
step; after every epoch the exact validation log-likelihood per frame.

    python results/paper-nottingham/rnn-pretraining/sweep.py BATCH_FRAMES LR EPOCHS

prints `epoch valid best seconds` per epoch (run from the project folder).
"""

import os
import sys
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))

from polyphonic.music.datasets import load_pickle_rolls  # noqa: E402
from polyphonic.models.rnn import Rnn  # noqa: E402
from polyphonic.training.selection import rnn_log_likelihood  # noqa: E402

batch, lr, epochs = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
train = load_pickle_rolls("data/Nottingham.pickle", "train")
valid = load_pickle_rolls("data/Nottingham.pickle", "valid")
model = Rnn(100, lr, "adam", 0.0, 5.0, seed=0xBEEF)
best = float("-inf")
for epoch in range(1, epochs + 1):
    start = time.time()
    model.train_rolls(train, batch, epoch)
    value = rnn_log_likelihood(model, valid)
    best = max(best, value)
    print(epoch, round(value, 4), round(best, 4), round(time.time() - start, 1), flush=True)
