"""Measurement.

scoring   Table 1's figures: log-likelihood per frame (AIS) and accuracy
accuracy  frame-level accuracy under each definition Table 1 may mean
mixing    whether Gibbs chains started in different places agree
tempering parallel tempering, for the chains that do not
compare   a training log beside the tutorial's published one
bench     speed, compile time and memory
bench_nade       the RNN-NADE's training step beside PyTorch's
torch_rnn_nade   the RNN-NADE written independently in PyTorch, for bench_nade
"""
