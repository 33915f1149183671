"""Models beside the tutorial's RNN-RBM (rnnrbm.py), and the sampler it runs on.

gibbs          fused block Gibbs chains and AIS for RBMs, as C Ops
rbm            a plain RBM (the RBM pretraining; the snippet generator's model)
rnn            the RNN alone, exact likelihood (Table 1's RNN row; RNN pretraining)
snippet        the RBM snippet generator of the first TensorFlow post
numpy_rnnrbm   the RNN-RBM in plain NumPy, written apart: the tests' reference
"""
