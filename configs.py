"""Named configurations of `train`: plain settings, each one an option's value.

`python rnnrbm.py train --config NAME` starts from NAME's settings; any option
given on the command line overrides them. The keys are the options' names
(without the dashes, - as _); `train --help` lists the names. A checkpoint
stores the model's own settings, so `generate` and `evaluate` rebuild it
whatever configuration trained it.

tutorial : the tutorial's (the defaults: `python rnnrbm.py` runs it).
paper : the recipe of Boulanger-Lewandowski et al. (2012), section 5, on the
    paper's Nottingham data (Nottingham.pickle): RBM pretraining on the
    shuffled frames, RNN pretraining on the cross-entropy (kept at its best
    validation epoch), then fine-tuning with Nesterov momentum, gradient
    clipping, a learned u0 and a decaying learning rate, keeping the epoch of
    best validation log-likelihood (best.npz). The paper gives no values for
    these; ours and how they were chosen are in the README (Reproductions).
"""

CONFIGS = {
    "tutorial": {},
    "paper": dict(
        data="Nottingham",
        pretrain_rbm_epochs=20, pretrain_rbm_lr=0.01, pretrain_rbm_k=1,
        pretrain_rnn_epochs=100, pretrain_rnn_lr=0.003, pretrain_rnn_optimizer="adam",
        pretrain_rnn_clip_norm=5.0,
        lr=0.001, lr_rnn=0.001, momentum=0.9, clip_norm=5.0, learn_u0=True, lr_decay=0.99,
        k=15, epochs=200, select_every=5,
    ),
}
