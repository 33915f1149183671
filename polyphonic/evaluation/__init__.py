"""Measurement.

scoring   Table 1's figures: log-likelihood per frame (AIS) and accuracy
compare   a training log beside the tutorial's published one
bench     speed, compile time and memory
"""
