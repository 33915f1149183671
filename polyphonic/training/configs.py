"""Named configurations: plain settings, each one an option's value.

`python rnnrbm.py train --config NAME` starts from NAME's settings (CONFIGS),
`python rnnrbm.py snippet train --config NAME` from SNIPPET_CONFIGS; any
option given on the command line overrides them. The keys are the options'
names (without the dashes, - as _); `train --help` and `snippet train --help`
list the names. A checkpoint stores the model's own settings, so `generate`
and `evaluate` rebuild it whatever configuration trained it.

tutorial : the tutorial's (the defaults: `python rnnrbm.py` runs it).
paper : the recipe of Boulanger-Lewandowski et al. (2012), section 5, on the
    paper's Nottingham data (Nottingham.pickle): RBM pretraining on the
    shuffled frames, RNN pretraining on the cross-entropy (kept at its best
    validation epoch), then fine-tuning with Nesterov momentum, gradient
    clipping, a learned u0 and a decaying learning rate, keeping the epoch of
    best validation log-likelihood (best.npz). The paper gives no values for
    these; ours and how they were chosen are in docs/reproductions.md.
paper-tuned : the paper's recipe with the settings of the first JSB Chorales
    search's best trial, rounded (results/table1/jsb-search-1, trial 2):
    fine-tuning rates 0.067 (RBM part) and 0.005 (RNN part), momentum 0.94,
    norm clipped at 43, CD-25, 100 RBM and 50 RNN hidden units, RBM
    pretraining 75 epochs at 0.067; model selection's criterion on 1,000
    validation frames with 1,000 temperatures. Trained with it, every row of
    results/table1.
rbm : Table 1's RBM row, an RBM over single frames with no past (train
    --model rbm): 150 hidden units, CD-1 at learning rate 0.2 on mini-batches
    of 100 shuffled frames, 300 epochs, the epoch of best validation
    log-likelihood kept (its log Z by AIS, 100 chains x 10,000 temperatures,
    every 10 epochs: such a sharp RBM needs them, 1,000 read -4.7 to -6.3 on
    one Nottingham model that 100,000 put at -5.5, results/table1/simple-rows).
    The rate is the best of 0.01, 0.05 and 0.2 on Nottingham after 30 epochs
    (-7.14, -6.07, -5.59 on validation, 1,000 temperatures).
rnn, rnn-sgd : Table 1's RNN rows, the RNN alone (train --model rnn): 100
    tanh units, chunks of 100 frames, gradient norm clipped at 5, 100
    epochs, the epoch of best exact validation log-likelihood kept; rnn-sgd
    plain SGD at 0.03 (the best of 0.003, 0.01, 0.03, 0.1 on JSB Chorales:
    -10.11, -8.94, -8.52, -8.63 on validation) for the paper's SGD row, rnn
    Adam at 0.001 (of 0.001, 0.003, 0.01: -8.41, -8.71, -9.59) beside its
    Hessian-free row.
nade : Table 1's NADE row, a NADE over single frames (train --model nade):
    150 hidden units, Adam at 0.001 on mini-batches of 100 shuffled frames,
    norm clipped at 5, 50 epochs, the epoch of best exact validation
    log-likelihood kept.
rnn-nade : the RNN-NADE (train --model rnn-nade) with the recipe where it
    applies: the RNN pretrained as in `paper` (100 epochs, Adam 0.001, norm
    clipped at 5, best validation epoch), then the whole model by Adam at
    0.001 (standing in for the paper's Hessian-free), norm clipped at 5, 150
    NADE and 100 RNN units, 50 epochs (on JSB Chorales the best validation
    epoch of a first run was the 25th of 100), the epoch of best exact
    validation log-likelihood kept.
rnn-nade-sgd : `rnn-nade` by SGD, for the paper's SGD row: the RNN
    pretrained by SGD at rnn-sgd's 0.03, then the whole model by SGD at 0.03
    with Nesterov momentum 0.9 (as `paper` fine-tunes the RNN-RBM). The rate
    is the best of 0.001 to 0.3 on JSB Chorales (results/table1/nade,
    sgd-sweep.tsv: -6.19 per validation frame at 0.03, -6.61 at 0.01, -7.23 at 0.1);
    on the three larger sets 0.03 goes unstable and --lr 0.01 validates better.
rnn-nade-lstm : `rnn-nade` with an LSTM of 100 cells for its RNN (and its
    RNN pretraining), beyond the paper (rnnrbm.rnn_step); nothing else changed.
multiframe : the RNN-RBM of the second TensorFlow post (Musical TensorFlow,
    part 2): each conditional RBM models 5 consecutive frames of the
    note-state encoding (pitches 24..101, four frames per beat), 50 RBM and
    100 RNN hidden units, CD-15 on chunks of 100 steps; a learned u0, each
    gradient entry clipped to [-10, 10], learning rate min(0.01, 0.1 / i) on a
    chunk starting at step i (from 1) of its song (the post's code counts
    steps, its songs being cut into steps before chunking), and W, bv, bh
    from an RBM pretrained on the songs' steps (CD-1, learning rate 0.01,
    100 epochs). Generate as the
    post did with `generate CHECKPOINT --prime SONG --prime-frames 100
    --length 1500 --chain-start previous` (300 steps of 5 frames, 25 Gibbs
    steps each).

snippet (of `snippet train`) : the RBM snippet generator of the first post:
    windows of 15 frames of the note-state encoding (pitches 24..101, four
    frames per beat), 50 hidden units, CD-1, learning rate 0.005,
    mini-batches of 100 windows, 200 epochs. W starts with standard
    deviation 0.01 (the tutorial's; the post's code has 1, a slip); see
    models/snippet.py. `snippet generate CHECKPOINT` writes one-step chains from
    zeros, as the post did (--gibbs-steps for more).
"""

POST_GRID = dict(pitch_range=(24, 102), frames_per_beat=4, encoding="note-state")
"""How the posts read MIDI files: their notes 24..101, sixteenth notes, note-state."""

PAPER = dict(
    data="Nottingham",
    pretrain_rbm_epochs=20, pretrain_rbm_lr=0.01, pretrain_rbm_k=1,
    pretrain_rnn_epochs=100, pretrain_rnn_lr=0.001, pretrain_rnn_optimizer="adam",
    pretrain_rnn_clip_norm=5.0,
    lr=0.001, lr_rnn=0.001, momentum=0.9, clip_norm=5.0, learn_u0=True, lr_decay=0.99,
    k=15, epochs=200, select_every=5,
)

# Table 1's RNN rows: 100 units, chunks of 100 frames, norm clipped at 5, the
# epoch of best exact log-likelihood on the whole validation split kept.
RNN_ROW = dict(model="rnn", n_hidden_recurrent=100, clip_norm=5.0, batch_size=100, epochs=100,
               select_every=1, select_frames=10**9)

RNN_NADE = dict(
    data="Nottingham", model="rnn-nade", n_hidden=150, n_hidden_recurrent=100,
    pretrain_rnn_epochs=100, pretrain_rnn_lr=0.001, pretrain_rnn_optimizer="adam",
    pretrain_rnn_clip_norm=5.0, optimizer="adam", lr=0.001, clip_norm=5.0, batch_size=100,
    epochs=50, select_every=1, select_frames=10**9,
)

CONFIGS = {
    "tutorial": {},
    "paper": PAPER,
    "paper-tuned": {
        **PAPER, "lr": 0.067, "lr_rnn": 0.005, "momentum": 0.94, "clip_norm": 43.0, "k": 25,
        "n_hidden": 100, "n_hidden_recurrent": 50, "pretrain_rbm_epochs": 75,
        "pretrain_rbm_lr": 0.067, "select_frames": 1000, "select_temperatures": 1000,
    },
    "rbm": dict(
        data="Nottingham", model="rbm", n_hidden=150, lr=0.2, k=1, batch_size=100, epochs=300,
        select_every=10, select_chains=100, select_temperatures=10000,
    ),
    "rnn": dict(data="Nottingham", **RNN_ROW, optimizer="adam", lr=0.001),
    "rnn-sgd": dict(data="Nottingham", **RNN_ROW, optimizer="sgd", lr=0.03),
    "nade": dict(data="Nottingham", model="nade", n_hidden=150, optimizer="adam", lr=0.001,
                 clip_norm=5.0, batch_size=100, epochs=50, select_every=1,
                 select_frames=10**9),
    "rnn-nade": RNN_NADE,
    "rnn-nade-sgd": dict(RNN_NADE, pretrain_rnn_lr=0.03, pretrain_rnn_optimizer="sgd",
                         optimizer="sgd", lr=0.03, momentum=0.9),
    "rnn-nade-lstm": dict(RNN_NADE, recurrence="lstm"),
    "multiframe": dict(
        **POST_GRID, frames_per_step=5, n_hidden=50, n_hidden_recurrent=100, batch_size=100,
        k=15, lr=0.01, lr_position=10.0, learn_u0=True, clip_value=10.0,
        pretrain_rbm_epochs=100, pretrain_rbm_lr=0.01, pretrain_rbm_k=1, epochs=200,
    ),
}

SNIPPET_CONFIGS = {
    "snippet": dict(**POST_GRID, frames=15, n_hidden=50, k=1, lr=0.005, batch_size=100,
                    epochs=200),
}
