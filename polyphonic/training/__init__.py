"""Training and selection.

workflow     a training run as the train command does it, callable from Python
options      train's settings: their defaults, checks and how they read as options
configs      named configurations (tutorial, paper, paper-tuned, multiframe, snippet)
trainable    descent updates and the epoch loop with exact resume
checkpoints  checkpoints, and files written whole or not at all
pretrain     the paper's RBM and RNN pretraining
selection    model selection on validation data
tune         the hyperparameter search (Optuna)
"""
