"""The RBM snippet generator (models/snippet.py): its CD-1 update against the first
post's formulas in NumPy, its sampler against exact enumeration, its windows,
and `snippet train` / `snippet generate` with the post's configuration."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytensor
import pytest

import rnnrbm
from midi.utils import midiread, roll_from_note_state
from polyphonic.commands import cli
from polyphonic.models import numpy_rnnrbm as ref
from polyphonic.models.snippet import SnippetRbm
from polyphonic.training import configs

ROOT = Path(__file__).resolve().parents[1]


def tiny(**options):
    """A snippet RBM over windows of 2 frames of one pitch in the note-state
    encoding: 4 visible units, so every visible vector can be enumerated."""
    return SnippetRbm(frames=2, r=(60, 61), **{"n_hidden": 3, "seed": 1, **options})


def set_random_params(model, rng, scale=1.0):
    values = [rng.normal(scale=scale, size=p.get_value().shape) for p in model.params]
    for shared, value in zip(model.params, values):
        shared.set_value(value)
    return values


def test_windows_are_consecutive_frames_side_by_side():
    model = SnippetRbm(frames=3, r=(60, 62), encoding="piano-roll", n_hidden=2)
    song = np.arange(2 * 8).reshape(8, 2)  # 8 frames: two windows, 2 frames left over
    (batch,), count = model.batches([song], 10)
    assert count == 1
    assert sorted(map(tuple, batch)) == [tuple(range(0, 6)), tuple(range(6, 12))]
    np.testing.assert_array_equal(model.to_frames(batch[np.argsort(batch[:, 0])]), song[:6])


def post_update(x, x_sample, W, bv, bh, lr, h):
    """The post's CD update: W += lr/B (x^T h(x) - x~^T h(x~)), bv += lr/B sum(x - x~),
    bh += lr/B sum(h(x) - h(x~)), B the rows of the batch; h gives the hidden units."""
    size = len(x)
    h_x, h_sample = h(x), h(x_sample)
    return (W + lr / size * (x.T @ h_x - x_sample.T @ h_sample),
            bv + lr / size * (x - x_sample).sum(0),
            bh + lr / size * (h_x - h_sample).sum(0))


def test_cd1_update_is_the_posts_with_the_hidden_probabilities():
    """One train_function step against the post's formulas given the same
    negative particles (the chain the step ran, redrawn from the same random
    state). The post puts sampled hidden units in its formulas; ours uses their
    probabilities, whose update is the mean of the post's: checked by averaging
    the post's over many hidden samples."""
    model = tiny(lr=0.1)
    rng = np.random.default_rng(2)
    W, bv, bh = set_random_params(model, rng)
    x = (rng.random((7, 4)) < 0.4).astype(float)
    v = pytensor.tensor.matrix("v", dtype="float64")
    negative = rnnrbm.build_rbm(v, *model.params, 1, model.rng)[0]
    x_sample = pytensor.function([v], negative, mode=rnnrbm.BACKENDS["c"])(x)
    model.train_function(x)

    def probabilities(rows):
        return ref.sigmoid(rows @ W + bh)

    want = post_update(x, x_sample, W, bv, bh, 0.1, probabilities)
    for shared, value in zip(model.params, want):
        np.testing.assert_allclose(shared.get_value(), value, rtol=1e-12, atol=1e-14)
    draws = np.random.default_rng(3)

    def samples(rows):
        return ref.bernoulli(draws, probabilities(rows))

    sampled = [post_update(x, x_sample, W, bv, bh, 0.1, samples) for _ in range(20000)]
    for values, value in zip(zip(*sampled), want):
        np.testing.assert_allclose(np.mean(values, axis=0), value, atol=1e-3)


def one_step_from_zeros(W, bv, bh):
    """Exact distribution, over every visible vector, of one Gibbs step from zeros."""
    states, _ = ref.exact_rbm_distribution(W, bv, bh)
    hiddens = np.array(np.meshgrid(*[[0.0, 1.0]] * len(bh), indexing="ij")).reshape(len(bh), -1).T
    p_h = np.prod(np.where(hiddens == 1, ref.sigmoid(bh), 1 - ref.sigmoid(bh)), axis=1)
    p_v_given_h = ref.sigmoid(hiddens @ W.T + bv)  # (hiddens, visible)
    p_v = np.prod(np.where(states[:, None, :] == 1, p_v_given_h, 1 - p_v_given_h), axis=2)
    return states, p_v @ p_h


@pytest.mark.parametrize("steps", [1, 30])
def test_snippets_follow_the_exact_distribution(steps):
    """20,000 snippets of one Gibbs step (the post's) against the exact
    one-step distribution, of 30 steps against the RBM's own. Chi-square with
    15 degrees of freedom: 37.7 is its 0.999 quantile (fixed seeds)."""
    model = tiny()
    W, bv, bh = set_random_params(model, np.random.default_rng(4))
    states, p = (one_step_from_zeros if steps == 1 else ref.exact_rbm_distribution)(W, bv, bh)
    n = 20000
    snippets = model.generate(n, steps)
    assert snippets[0].shape == (2, 2) and snippets[0].dtype == np.uint8
    rows = np.array([model.to_steps(s)[0] for s in snippets])
    counts = np.array([(rows == x).all(axis=1).sum() for x in states])
    assert counts.sum() == n
    chi2 = ((counts - n * p) ** 2 / (n * p)).sum()
    assert chi2 < 37.7, (counts, n * p)


def test_the_snippet_preset_is_the_posts_and_every_key_an_option():
    args = cli.build_parser().parse_args(["snippet", "train"])
    assert (args.config, args.frames, args.n_hidden, args.k, args.lr, args.batch_size,
            args.epochs) == ("snippet", 15, 50, 1, 0.005, 100, 200)
    assert (tuple(args.pitch_range), args.frames_per_beat, args.encoding) == (
        (24, 102), 4, "note-state")
    assert cli.build_parser().parse_args(["snippet", "train", "--frames", "4"]).frames == 4
    for name, preset in configs.SNIPPET_CONFIGS.items():
        assert not set(preset) - set(vars(args)), name
    help_text = subprocess.run([sys.executable, str(ROOT / "rnnrbm.py"), "--help"],
                               capture_output=True, text=True).stdout
    for name in (*configs.CONFIGS, *configs.SNIPPET_CONFIGS):
        assert name in help_text


def test_snippet_train_and_generate_with_the_post_configuration(nottingham_dir, tmp_path):
    songs = tmp_path / "songs"
    songs.mkdir()
    for f in sorted((nottingham_dir / "train").glob("*.mid"))[:3]:
        shutil.copy(f, songs)
    run = [sys.executable, str(ROOT / "rnnrbm.py"), "snippet"]
    result = subprocess.run([*run, "train", "--data", songs, "--epochs", "1",
                             "--out", tmp_path / "run"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Epoch 1/1 -")
    config = json.loads(str(np.load(tmp_path / "run" / "checkpoint.npz")["config"]))
    assert config["model"] == "snippet" and config["frames"] == 15
    assert config["encoding"] == "note-state" and config["frames_per_beat"] == 4
    result = subprocess.run([*run, "generate", tmp_path / "run" / "checkpoint.npz", "-n", "3",
                             "--seed", "1", "--out", tmp_path / "samples"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # The same snippets, drawn again from the checkpoint with the same seed.
    model = SnippetRbm.load(tmp_path / "run" / "checkpoint.npz")
    model.rng.set_value(np.random.default_rng(1))
    for n, want in enumerate(model.generate(3), 1):
        stem = tmp_path / "samples" / f"sample{n}"
        assert (stem.with_suffix(".png")).stat().st_size > 1000
        assert (stem.with_suffix(".wav")).is_file()
        if not want.any():  # after one epoch a snippet may well be silent: a file with no notes
            with pytest.raises(ValueError, match="no notes"):
                midiread(stem.with_suffix(".mid"), (24, 102), frames_per_beat=4,
                         encoding="note-state")
            continue
        roll = midiread(stem.with_suffix(".mid"), (24, 102), frames_per_beat=4,
                        encoding="note-state").piano_roll
        # The sounding half comes back exactly, up to the last note's end (the
        # writer keeps only struck bits that start or split a sounding note).
        sounding = roll_from_note_state(want)
        np.testing.assert_array_equal(roll_from_note_state(roll), sounding[:len(roll)])
        assert not sounding[len(roll):].any()
