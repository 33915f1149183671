"""Everything of rnnrbm but the tutorial's model (rnnrbm.py) and the MIDI files (midi/).

The folders are the roles:
    models/      the other models and the fused Gibbs sampler the RNN-RBM runs on
    music/       piano-roll data sets, and pieces written as MIDI, pictures and sound
    training/    the training workflow, named configurations, pretraining, model
                 selection and the hyperparameter search
    evaluation/  Table 1's figures (AIS), the tutorial's log compared, the benchmark
    commands/    the command line, the only module that parses it
A module imports nothing heavy at import time and changes nothing.
"""
