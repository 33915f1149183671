"""Measurement.

scoring   Table 1's figures: log-likelihood per frame (AIS) and accuracy
accuracy  frame-level accuracy under each definition Table 1 may mean
mixing    whether Gibbs chains started in different places agree
compare   a training log beside the tutorial's published one
bench     speed, compile time and memory
"""
