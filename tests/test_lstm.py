"""The LSTM recurrence (rnnrbm.rnn_step, --recurrence lstm): its gates against
their definition, the compiled models against the NumPy transcription
(numpy_rnnrbm.rnn_states) and finite differences, and its pretraining."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.graph.replace import clone_replace

import rnnrbm
from polyphonic.models import numpy_nade
from polyphonic.models import numpy_rnnrbm as ref
from polyphonic.models.nade import RnnNade
from polyphonic.models.rnn import Rnn
from polyphonic.training import pretrain

N, H = 5, 3  # notes, LSTM cells


def lstm_params(rng, n_visible=N, scale=0.7):
    return dict(Wvu=rng.normal(scale=scale, size=(n_visible, 4 * H)),
                Wuu=rng.normal(scale=scale, size=(H, 4 * H)), bu=rng.normal(size=4 * H),
                u0=rng.normal(size=2 * H))


def gate_biases(input_gate, forget_gate, output_gate, cell_input):
    """bu of an LSTM with no weights: each gate held at a value by its bias."""
    return np.concatenate([np.full(H, value) for value in (input_gate, forget_gate, output_gate,
                                                           cell_input)])


def test_the_gates_keep_or_replace_the_cells_as_defined():
    """Input gate shut and forget gate open: the cells keep c and h = tanh(c);
    forget gate shut and input gate open: c becomes tanh(cell input); an
    output gate shut gives h = 0. (A gate's bias of +-40 sets it to 1 or 0.)"""
    c = np.array([0.5, -1.0, 2.0])
    u = np.concatenate([np.zeros(H), c])
    zero = np.zeros((H, 4 * H))
    keep = ref.rnn_step(gate_biases(-40, 40, 40, 0.3), u, zero)
    np.testing.assert_allclose(keep, np.concatenate([np.tanh(c), c]), atol=1e-12)
    replace = ref.rnn_step(gate_biases(40, -40, 40, 0.3), u, zero)
    np.testing.assert_allclose(replace[H:], np.tanh(0.3), atol=1e-12)
    np.testing.assert_allclose(replace[:H], np.tanh(np.tanh(0.3)), atol=1e-12)
    shut = ref.rnn_step(gate_biases(40, 40, -40, 0.3), u, zero)
    np.testing.assert_allclose(shut[:H], 0, atol=1e-12)


def test_the_compiled_recurrence_matches_numpy():
    rng = np.random.default_rng(1)
    p = lstm_params(rng)
    roll = (rng.random((7, N)) < 0.4).astype(float)
    v = pt.dmatrix("v")
    shared = {name: pytensor.shared(value) for name, value in p.items()}
    states = pytensor.function([v], rnnrbm.rnn_states(v, shared["Wvu"], shared["Wuu"],
                                                      shared["bu"], shared["u0"], "lstm"),
                               mode=rnnrbm.BACKENDS["c"])
    u, before = states(roll)
    expected_u, expected_before = ref.rnn_states(roll, p)
    assert u.shape == (7, 2 * H) and before.shape == (7, H)
    np.testing.assert_allclose(u, expected_u, atol=1e-12)
    np.testing.assert_allclose(before, expected_before, atol=1e-12)
    np.testing.assert_allclose(before[0], p["u0"][:H])  # the first frame reads u0's units


def lstm_rnn_nade(**settings):
    return RnnNade(n_hidden=H, n_hidden_recurrent=4, r=(60, 60 + N), init_scale=0.8, seed=5,
                   recurrence="lstm", **settings)


def test_rnn_nade_with_lstm_matches_numpy_and_its_gradient_finite_differences():
    model = lstm_rnn_nade()
    p = model.values()
    assert p["Wuu"].shape == (4, 16) and p["u0"].shape == (8,)
    np.testing.assert_array_equal(p["bu"][4:8], 1.0)  # the forget gates start open
    roll = (np.random.default_rng(11).random((6, N)) < 0.4).astype(float)

    def numpy_mean(values):
        _, bv_t, bh_t = ref.rnn_biases(roll, values)
        return numpy_nade.log_likelihoods(roll, values["W"], values["V"], bv_t, bh_t).mean()
    np.testing.assert_allclose(model.log_likelihoods(roll).mean(), numpy_mean(p), atol=1e-12)
    # One step of plain SGD at rate lr moves each parameter by lr times its gradient.
    lr = 1e-6
    stepper = lstm_rnn_nade(lr=lr)
    stepper.train_function(roll)
    moved = stepper.values()
    # Every gate's block (input 0..3, forget 4..7, output 8..11, cell input
    # 12..15) and both halves of u0 (units, cells).
    for name, index in (("bu", (1,)), ("Wuu", (1, 5)), ("bu", (9,)), ("Wvu", (2, 14)),
                        ("u0", (2,)), ("u0", (6,))):
        eps = 1e-6
        up, down = {k: v.copy() for k, v in p.items()}, {k: v.copy() for k, v in p.items()}
        up[name][index] += eps
        down[name][index] -= eps
        numeric = (numpy_mean(up) - numpy_mean(down)) / (2 * eps)
        assert (moved[name][index] - p[name][index]) / lr == pytest.approx(numeric, rel=1e-5,
                                                                           abs=1e-9)


def test_rnn_and_rnn_rbm_with_lstm_match_numpy():
    roll = (np.random.default_rng(3).random((9, N)) < 0.4).astype(float)
    model = Rnn(n_hidden_recurrent=H, r=(60, 60 + N), init_scale=0.8, seed=2, recurrence="lstm")
    p = {shared.name: shared.get_value() for shared in model.params}
    _, before = ref.rnn_states(roll, p)
    activation = p["bv"] + before @ p["Wuv"]
    expected = (roll * activation - ref.softplus(activation)).sum(axis=1)
    np.testing.assert_allclose(model.log_likelihoods(roll), expected, atol=1e-12)

    rbm = rnnrbm.RnnRbm(n_hidden=4, n_hidden_recurrent=H, r=(60, 60 + N), learn_u0=True,
                        recurrence="lstm")
    values = {shared.name: shared.get_value() for shared in rbm.params}
    values["u0"] = np.random.default_rng(4).normal(size=2 * H)
    rbm.u0.set_value(values["u0"])
    np.testing.assert_allclose(rbm.rnn_state_function(roll), ref.rnn_states(roll, values)[0][-1],
                               atol=1e-12)
    assert rbm.generate_function(n_frames=4).shape == (4, N)


def test_the_rnn_rbm_cd_gradient_through_an_lstm_matches_finite_differences():
    """With the negative particles held fixed, the CD cost (F(v) - F(v~)) / T
    of an LSTM RNN-RBM and its gradient match the NumPy free energies over
    the NumPy recurrence's biases, differentiated numerically."""
    model = rnnrbm.build_rnnrbm(N, 4, H, seed=3, learn_u0=True, recurrence="lstm", fused=False)
    rng = np.random.default_rng(8)
    for shared in model["params"]:
        shared.set_value(rng.normal(scale=0.6, size=shared.get_value().shape))
    p = {shared.name: shared.get_value() for shared in model["params"]}
    roll = (rng.random((8, N)) < 0.4).astype(float)
    negative = (rng.random((8, N)) < 0.4).astype(float)
    fixed = pt.dmatrix("fixed")
    cost = clone_replace(model["cost"], {model["v_sample"]: fixed})
    compiled = pytensor.function([model["v"], fixed],
                                 [cost, *pytensor.grad(cost, list(model["params"]))])
    values = compiled(roll, negative)

    def numpy_cost(q):
        _, bv_t, bh_t = ref.rnn_biases(roll, q)
        return (ref.free_energy(roll, q["W"], bv_t, bh_t)
                - ref.free_energy(negative, q["W"], bv_t, bh_t)) / len(roll)
    assert values[0] == pytest.approx(numpy_cost(p), abs=1e-12)
    gradient = dict(zip(p, values[1:]))
    for name, index in (("Wuu", (2, 4)), ("bu", (1,)), ("bu", (10,)), ("Wvu", (3, 11)),
                        ("u0", (1,)), ("u0", (4,)), ("Wuh", (2, 1))):
        eps = 1e-6
        up, down = {k: v.copy() for k, v in p.items()}, {k: v.copy() for k, v in p.items()}
        up[name][index] += eps
        down[name][index] -= eps
        numeric = (numpy_cost(up) - numpy_cost(down)) / (2 * eps)
        assert gradient[name][index] == pytest.approx(numeric, rel=1e-6, abs=1e-9)
        assert abs(numeric) > 1e-4  # a real test: this entry moves the cost


def test_an_lstm_pretraining_initialises_an_lstm_rnn_nade_and_no_tanh_one(tmp_path):
    rolls = [(np.random.default_rng(seed).random((20, N)) < 0.4).astype(float)
             for seed in range(3)]
    _, best = pretrain.pretrain_rnn(rolls, rolls[:1], str(tmp_path), 4, 2, 0.01, "adam", 0.0,
                                    None, 10, (60, 60 + N), 0.3, 0, "float64", "c",
                                    recurrence="lstm")
    model = lstm_rnn_nade()
    pretrain.initialise(model, rnn=best)
    values = model.values()
    for shared in best.params:  # Wvu, Wuu, bu, Wuv, bv, u0
        np.testing.assert_array_equal(values[shared.name], shared.get_value())
    with pytest.raises(ValueError, match="the pretrained Wvu has shape"):
        pretrain.initialise(RnnNade(n_hidden=H, n_hidden_recurrent=4, r=(60, 60 + N)), rnn=best)
