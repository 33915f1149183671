# Pretrain RBMs on JSB Chorales' training frames with more epochs / larger k.
import sys, os
sys.path.insert(0, os.getcwd())
from polyphonic.training import pretrain
from polyphonic.music.datasets import load_pickle_rolls
rolls = load_pickle_rolls("data/JSB Chorales.pickle", "train")
epochs, k, lr, out = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
os.makedirs(out, exist_ok=True)
pretrain.pretrain_rbm(rolls, out, 150, epochs, lr, k, 100, 48879, "float64", "c")
