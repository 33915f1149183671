"""The multi-frame RNN-RBM (RnnRbm with frames_per_step > 1) and the second
post's training and generation choices: its step against the NumPy reference
on concatenated frames, the position schedule, generation's chain start, and
`train --config multiframe` then `generate` end to end."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytensor
import pytensor.tensor as pt

import rnnrbm
from midi.utils import midiread
from polyphonic.commands import cli
from polyphonic.models import numpy_rnnrbm as ref
from polyphonic.training import configs

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(n_hidden=5, n_hidden_recurrent=4, r=(60, 62), encoding="note-state", seed=3)


def concatenated(roll, m):
    """Rows of m consecutive frames side by side, written out frame by frame
    (independently of rnnrbm.frames_to_steps)."""
    return np.array([np.concatenate([roll[t + j] for j in range(m)])
                     for t in range(0, len(roll) - m + 1, m)])


def test_steps_and_frames_convert_both_ways_dropping_the_leftover_frames():
    roll = np.arange(7 * 4).reshape(7, 4)
    steps = rnnrbm.frames_to_steps(roll, 3)
    np.testing.assert_array_equal(steps, concatenated(roll, 3))
    np.testing.assert_array_equal(rnnrbm.steps_to_frames(steps, 3), roll[:6])
    np.testing.assert_array_equal(rnnrbm.frames_to_steps(roll, 1), roll)


def negative_particles(model):
    """(chunk -> the CD chain's end) drawn as train_function's chain draws it
    from the model's random state (same keys, same kernel), without moving it."""
    p = {shared.name: shared for shared in model.params}
    v = pt.matrix("v", dtype="float64")
    _, u_tm1 = rnnrbm.rnn_states(v, p["Wvu"], p["Wuu"], p["bu"], model.u0)
    bv_t, bh_t = p["bv"] + pt.dot(u_tm1, p["Wuv"]), p["bh"] + pt.dot(u_tm1, p["Wuh"])
    v_sample = rnnrbm.build_rbm(v, p["W"], bv_t, bh_t, model.config["k"], model.rng)[0]
    return pytensor.function([v], v_sample, mode=rnnrbm.BACKENDS["c"])


def test_each_step_is_the_numpy_cd_step_on_concatenated_frames_at_its_position_rate():
    """Three songs of note-state frames, 3 frames per step, chunks of 4 steps:
    every train_batch moves each parameter (u0 included) by
    -lr * min(1, P / i) * the NumPy reference's gradient (free energies of the
    concatenated frames), i the chunk's first step in its song."""
    lr, position = 0.1, 2.0
    model = rnnrbm.RnnRbm(lr=lr, lr_position=position, frames_per_step=3, learn_u0=True, k=2,
                          **SMALL)
    assert model.params[0].get_value().shape == (3 * 4, 5)  # 3 frames x (2 pitches x 2 bits)
    rng = np.random.default_rng(4)
    for shared in model.params:
        shared.set_value(rng.normal(scale=0.5, size=shared.get_value().shape))
    songs = [(rng.random((n, 4)) < 0.4).astype(np.uint8) for n in (14, 25, 9)]
    wanted_chunks = {(s, i): concatenated(song, 3)[i:i + 4]
                     for s, song in enumerate(songs) for i in range(0, len(song) // 3, 4)}
    chain = negative_particles(model)
    model.start_epoch(1)
    batches, count = model.batches(songs, 4)
    firsts = []
    for chunk, first in batches:
        assert any(np.array_equal(chunk, want) for (s, i), want in wanted_chunks.items()
                   if i + 1 == first)
        before = {shared.name: shared.get_value() for shared in model.params}
        v = chunk.astype(float)
        _, grads = ref.cd_cost_and_gradients(v, chain(v), before)
        model.train_batch((chunk, first))
        rate = lr * min(1.0, position / first)
        for shared in model.params:
            moved = before[shared.name] - shared.get_value()
            np.testing.assert_allclose(moved, rate * grads[shared.name], rtol=1e-8, atol=1e-13,
                                       err_msg=shared.name)
        firsts.append(first)
    assert count == len(firsts) == len(wanted_chunks) and sorted(firsts) == [1, 1, 1, 5]


def test_a_resumed_multiframe_run_repeats_an_uninterrupted_one(tmp_path):
    rng = np.random.default_rng(7)
    songs = [(rng.random((n, 4)) < 0.4).astype(np.uint8) for n in (30, 17, 44)]
    options = dict(lr=0.05, lr_position=3.0, lr_decay=0.8, frames_per_step=2, learn_u0=True,
                   clip_value=1.0, **SMALL)
    model = rnnrbm.RnnRbm(**options)
    model.train_rolls(songs, 5, 2, checkpoint_path=tmp_path / "c.npz", checkpoint_every=1)
    resumed = rnnrbm.RnnRbm.load(tmp_path / "c.npz")
    assert resumed.config == model.config
    for m in (model, resumed):
        m.train_rolls(songs, 5, 4)
    assert [row[1] for row in model.history] == [row[1] for row in resumed.history]
    for a, b in zip(model.params, resumed.params):
        np.testing.assert_array_equal(a.get_value(), b.get_value())


def transition_counts(frames):
    """counts[a, b]: how often state b (a 2-bit frame, as a number) follows state a."""
    codes = (frames @ [2, 1]).astype(int)
    counts = np.zeros((4, 4))
    np.add.at(counts, (codes[:-1], codes[1:]), 1)
    return counts


def test_generation_chains_start_at_zeros_or_at_the_previous_frame():
    """With the RNN cut off (Wuv = Wuh = 0) and one Gibbs step per frame, the
    generated frames are independent draws of one step from zeros, or, with
    chain_start="previous", a Markov chain whose transition is one Gibbs step
    from the previous frame: both against exact enumeration. Chi-square, 0.999
    quantiles: 16.3 with 3 degrees of freedom, 32.9 with 12 (fixed seeds)."""
    model = rnnrbm.RnnRbm(n_hidden=2, n_hidden_recurrent=3, r=(60, 62), seed=5)
    rng = np.random.default_rng(6)
    for shared in model.params:
        scale = 0.0 if shared.name in ("Wuv", "Wuh") else 1.5
        shared.set_value(rng.normal(scale=scale, size=shared.get_value().shape))
    W, bv, bh = (shared.get_value() for shared in model.params[:3])
    states, _ = ref.exact_rbm_distribution(W, bv, bh)
    hiddens = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])

    def one_step(start):
        p_h = np.prod(np.where(hiddens == 1, ref.sigmoid(start @ W + bh),
                               1 - ref.sigmoid(start @ W + bh)), axis=1)
        p_v_h = ref.sigmoid(hiddens @ W.T + bv)
        return np.prod(np.where(states[:, None] == 1, p_v_h, 1 - p_v_h), axis=2) @ p_h

    transition = np.array([one_step(start) for start in states])  # rows: from
    n = 20000
    frames = model.generate_function(n_frames=n, gibbs_steps=1)
    counts = transition_counts(frames).sum(0)
    expected = (n - 1) * transition[0]
    assert ((counts - expected) ** 2 / expected).sum() < 16.3
    frames = model.generate_function(n_frames=n, gibbs_steps=1, chain_start="previous")
    counts = transition_counts(frames)
    expected = counts.sum(1, keepdims=True) * transition
    assert ((counts - expected) ** 2 / expected).sum() < 32.9


def test_the_multiframe_preset_is_the_posts_and_every_key_an_option_of_train():
    words = ["train", "--config", "multiframe", "--epochs", "3"]
    args = cli.build_parser(configs.CONFIGS["multiframe"]).parse_args(words)
    assert (args.frames_per_step, args.n_hidden, args.n_hidden_recurrent, args.encoding,
            args.frames_per_beat, tuple(args.pitch_range)) == (5, 50, 100, "note-state", 4,
                                                                (24, 102))
    assert args.learn_u0 and args.clip_value == 10 and args.lr * args.lr_position == 0.1
    assert (args.pretrain_rbm_epochs, args.pretrain_rbm_lr, args.pretrain_rbm_k) == (100, 0.01, 1)
    assert args.epochs == 3
    assert not set(configs.CONFIGS["multiframe"]) - set(vars(args))


def test_train_multiframe_then_generate_as_the_post(nottingham_dir, tmp_path):
    """One epoch (and one of RBM pretraining) on three songs, then a piece
    primed with 100 frames of a song, 300 more frames, chains from the previous step."""
    songs = tmp_path / "songs"
    songs.mkdir()
    for f in sorted((nottingham_dir / "train").glob("*.mid"))[:3]:
        shutil.copy(f, songs)
    run = [sys.executable, str(ROOT / "rnnrbm.py")]
    out = tmp_path / "run"
    result = subprocess.run([*run, "train", "--config", "multiframe", "--data", songs,
                             "--epochs", "1", "--pretrain-rbm-epochs", "1", "--out", out],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (out / "rbm.npz").is_file() and "Epoch 1/1 -" in result.stdout
    config = json.loads(str(np.load(out / "checkpoint.npz")["config"]))
    assert (config["frames_per_step"], config["encoding"], config["frames_per_beat"],
            config["r"], config["lr_position"]) == (5, "note-state", 4, [24, 102], 10.0)
    primer = sorted(songs.glob("*.mid"))[0]
    result = subprocess.run([*run, "generate", out / "checkpoint.npz", "-n", "1", "--prime",
                             primer, "--prime-frames", "100", "--length", "300",
                             "--chain-start", "previous", "--seed", "2",
                             "--out", tmp_path / "samples"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    grid = dict(frames_per_beat=4, encoding="note-state")
    piece = midiread(tmp_path / "samples" / "sample1.mid", (24, 102), **grid).piano_roll
    opening = midiread(primer, (24, 102), **grid).piano_roll[:100]
    assert len(piece) <= 400 and piece.shape[1] == 156
    np.testing.assert_array_equal(piece[:99], opening[:99])  # the last may join a generated note
    assert (tmp_path / "samples" / "sample1.wav").is_file()
    result = subprocess.run([*run, "evaluate", out / "checkpoint.npz"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2 and "frames-per-step" in result.stderr
