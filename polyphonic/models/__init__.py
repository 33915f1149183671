"""Models beside the tutorial's RNN-RBM (rnnrbm.py), and the sampler it runs on.

gibbs          fused block Gibbs chains and AIS for RBMs, as C Ops
rbm            a plain RBM (the RBM pretraining; the snippet generator's model)
rnn            the RNN alone, exact likelihood (Table 1's RNN row; RNN pretraining)
nade           NADE and the RNN-NADE, exact likelihood (Table 1's NADE and RNN-NADE rows)
nade_kernel    NADE's log-likelihood and its gradient as fused C Ops
snippet        the RBM snippet generator of the first TensorFlow post
numpy_rnnrbm   the RNN-RBM in plain NumPy, written apart: the tests' reference
numpy_nade     NADE note by note in NumPy: the reference, and the exact sampler
"""
