"""Cells: numba forward against NumPy, Jacobians against finite differences, PyTorch oracle."""

import numpy as np
import pytest
from _recurrence_nets import KINDS, FixedRetention, UniformStandIn, initial_state, make_net
from hypothesis import given
from hypothesis import strategies as st

from verify import recurrences as rec
from verify.recurrences import kernels


@pytest.mark.parametrize("kind", KINDS)
def test_numba_forward_matches_reference(kind):
    net = make_net(kind, hidden=6, inputs=3, seed=1)
    x = rec.random_inputs(4, 15, 3, seed=2)
    h0 = initial_state(net, 4, seed=3)
    a, b = net.forward(x, h0), net.forward_reference(x, h0)
    np.testing.assert_allclose(a.h, b.h, rtol=0, atol=1e-13)
    for name in a.gates:
        np.testing.assert_allclose(a.gates[name], b.gates[name], rtol=0, atol=1e-13)
    assert np.all(np.isfinite(a.h)) and np.ptp(a.h[:, -1]) > 1e-3  # dynamics not trivial


@given(hidden=st.integers(1, 7), steps=st.integers(1, 9), seed=st.integers(0, 2**31))
def test_forward_matches_step_composition(hidden, steps, seed):
    # the batched forward is the composition of single steps, for any size
    net = rec.DiagGate.init(hidden, 2, UniformStandIn(0.2, 0.99), seed=seed)
    x = rec.random_inputs(2, steps, 2, seed=seed + 1)
    traj = net.forward(x)
    h = np.zeros((2, hidden))
    for t in range(steps):
        h = net.step(x[:, t], h)
    np.testing.assert_allclose(traj.h[:, -1], h, rtol=0, atol=1e-13)


def test_gated_kernel_serial_and_parallel_agree():
    net = make_net("diaggate", hidden=4, seed=5)
    x = rec.random_inputs(3, 7, 3, seed=6)
    xa, xs = net._projections(x)
    outs = []
    for fn in (kernels.gated_forward, kernels.gated_forward.py_func):
        h = np.zeros((3, 8, 4))
        s, u = np.empty((3, 7, 4)), np.empty((3, 7, 4))
        fn(xa, xs, net.w_h, net.u_s, False, 0.0, h, s, u)
        outs.append(h)
    np.testing.assert_array_equal(outs[0], outs[1])


def _state(net, traj, t):
    if net.kind == "lstm":
        return np.concatenate([traj.h[:, t], traj.c[:, t]], axis=1)
    return traj.h[:, t]


@pytest.mark.parametrize("kind", KINDS)
def test_jacobians_match_central_differences(kind):
    net = make_net(kind, hidden=4, inputs=3, seed=7)
    x = rec.random_inputs(2, 6, 3, seed=8)
    traj = net.forward(x, initial_state(net, 2, seed=9))
    jac = net.jacobians(traj)
    step = 1e-6
    for t in (0, 3, 5):
        s0 = _state(net, traj, t)
        fd = np.empty_like(jac[:, t])
        for k in range(net.state_size):
            e = np.zeros(net.state_size)
            e[k] = step
            fd[:, :, k] = (net.step(x[:, t], s0 + e) - net.step(x[:, t], s0 - e)) / (2 * step)
        # central differences: truncation O(step^2) ~ 1e-12, rounding ~ 1e-16/step ~ 1e-10
        np.testing.assert_allclose(jac[:, t], fd, rtol=0, atol=1e-8)


@pytest.mark.parametrize("kind", ["constgate", "sharedgate", "diaggate", "gru"])
def test_retention_plus_correction_is_the_jacobian_diagonal(kind):
    net = make_net(kind, seed=11)
    traj = net.forward(rec.random_inputs(2, 5, 3, seed=12))
    r, d = net.retention_and_correction(traj)
    np.testing.assert_allclose(
        r + d, np.diagonal(net.jacobians(traj), axis1=2, axis2=3), rtol=0, atol=1e-14
    )
    assert np.all((r > 0) & (r < 1)) and np.max(np.abs(d)) > 1e-3


def test_lstm_correction_is_cell_loop_through_h():
    # d_j = [dh_{j-1}/dc_{j-1}]_qq [dc_j/dh_{j-1}]_qq with dh/dc = o (1 - tanh^2 c)
    net = make_net("lstm", seed=13)
    traj = net.forward(rec.random_inputs(2, 5, 3, seed=14))
    f, d = net.retention_and_correction(traj)
    jac = net.jacobians(traj)
    H = net.hidden
    dc_dh = np.diagonal(jac[:, :, H:, :H], axis1=2, axis2=3)
    e = net.lift(traj)
    np.testing.assert_allclose(d, e[:, :-1] * dc_dh, rtol=0, atol=1e-15)
    np.testing.assert_allclose(f, np.diagonal(jac[:, :, H:, H:], axis1=2, axis2=3), atol=0)
    assert np.all(d[:, 0] == 0.0)  # e_0 = 0: h_0 is given, not read out from c_0


@pytest.mark.parametrize("cls", [rec.GRU, rec.LSTM])
def test_npz_round_trip_and_gate_order(cls, tmp_path):
    net = cls.init(4, 2, UniformStandIn(0.3, 0.9), seed=15)
    path = tmp_path / "cell.npz"
    net.save_npz(path)
    back = cls.from_npz(path)
    x = rec.random_inputs(2, 6, 2, seed=16)
    np.testing.assert_array_equal(net.forward(x).h, back.forward(x).h)
    # the same weights with the gate blocks stored in reversed order
    order = cls.gate_names[::-1]
    H = net.hidden
    rev = lambda a: np.concatenate([net.block(a, g) for g in order])  # noqa: E731
    swapped = cls.from_torch(
        rev(net.weight_ih), rev(net.weight_hh), rev(net.bias_ih), rev(net.bias_hh), gate_order=order
    )
    np.testing.assert_array_equal(net.forward(x).h, swapped.forward(x).h)
    # ...and read in PyTorch's order they give a different network (the order matters)
    wrong = cls.from_torch(
        rev(net.weight_ih), rev(net.weight_hh), rev(net.bias_ih), rev(net.bias_hh)
    )
    assert np.max(np.abs(wrong.forward(x).h - net.forward(x).h)) > 1e-3
    assert back.hidden == H


def test_chrono_biases():
    spec = rec.Chrono(t_max=100)
    net = rec.LSTM.init(64, 2, spec, seed=17)
    bf = net.block(net.bias_ih, "f")
    assert np.all((bf >= 0) & (bf <= np.log(99))) and np.ptp(bf) > 2
    np.testing.assert_array_equal(net.block(net.bias_ih, "i"), -bf)
    gru = rec.GRU.init(64, 2, spec, seed=17)
    assert np.all(gru.block(gru.bias_ih, "z") <= np.log(99))


def test_diaggate_bias_realises_drawn_retention():
    net = rec.DiagGate.init(
        50, 2, UniformStandIn(0.1, 0.999), seed=18, gate_input_scale=0.0, gate_recurrent_scale=0.0
    )
    traj = net.forward(rec.random_inputs(1, 3, 2, seed=19))
    r, _ = net.retention_and_correction(traj)
    expected = np.random.default_rng(18)
    expected.standard_normal((50, 2)), expected.standard_normal((50, 50))
    np.testing.assert_allclose(r[0, 0], expected.uniform(0.1, 0.999, 50), rtol=1e-12)


# -------------------------------------------------------------------------- bad input
def test_bad_input_messages(tmp_path):
    net = make_net("gru", hidden=4, inputs=3)
    good = dict(
        weight_ih=net.weight_ih, weight_hh=net.weight_hh, bias_ih=net.bias_ih, bias_hh=net.bias_hh
    )
    with pytest.raises(ValueError, match=r"weight_hh must have shape \(3H, H\)"):
        rec.GRU.from_torch(**{**good, "weight_hh": np.zeros((16, 4))})  # LSTM-sized
    with pytest.raises(ValueError, match=r"weight_ih must have shape \(3H, D\)"):
        rec.GRU.from_torch(**{**good, "weight_ih": np.zeros((11, 3))})
    with pytest.raises(ValueError, match=r"bias_hh must have shape \(3H,\)"):
        rec.GRU.from_torch(**{**good, "bias_hh": np.zeros(4)})
    bad = net.weight_hh.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="weight_hh contains 1 non-finite"):
        rec.GRU.from_torch(**{**good, "weight_hh": bad})
    with pytest.raises(ValueError, match="gate_order must be a permutation of 'rzn'"):
        rec.GRU.from_torch(**good, gate_order="rzh")
    x = rec.random_inputs(2, 5, 3)
    x[1, 2, 0] = np.inf
    with pytest.raises(ValueError, match="x contains 1 non-finite"):
        net.forward(x)
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, D\).*D = 3"):
        net.forward(np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match="x must be a 3-d array"):
        net.forward(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"h0 must have shape \(B, H\)"):
        net.forward(rec.random_inputs(2, 5, 3), h0=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="spectrum must be one of"):
        rec.make_spectrum("cauchy", r0=0.5)
    with pytest.raises(ValueError, match="spectrum must be a gate spectrum"):
        rec.DiagGate.init(4, 2, spectrum=0.9)
    with pytest.raises(ValueError, match="spectrum must be homogeneous for ConstGate"):
        rec.ConstGate.init(4, 2, spectrum=FixedRetention(0.5, 0.9))
    with pytest.raises(ValueError, match="s must lie in"):
        rec.ConstGate(np.zeros((2, 1)), np.zeros((2, 2)), np.zeros(2), s=1.5)
    with pytest.raises(ValueError, match="t_max must lie in"):
        rec.Chrono(t_max=1.0)
    with pytest.raises(ValueError, match="missing key.*weight_hh"):
        np.savez(tmp_path / "w.npz", weight_ih=net.weight_ih)
        rec.GRU.from_npz(tmp_path / "w.npz")
    with pytest.raises(ValueError, match="w_s must have shape"):
        rec.DiagGate(
            np.zeros((2, 1)),
            np.zeros((2, 2)),
            np.zeros(2),
            np.zeros((2, 2)),
            np.zeros((2, 2)),
            np.zeros(2),
        )


# ---------------------------------------------------------------- PyTorch oracle
@pytest.mark.parametrize("cls", [rec.GRU, rec.LSTM])
def test_forward_equals_torch_cell(cls):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    H, D, B, T = 6, 3, 4, 20
    tcell = (torch.nn.GRUCell if cls is rec.GRU else torch.nn.LSTMCell)(D, H).double()
    sd = {k: v.detach().numpy() for k, v in tcell.state_dict().items()}
    net = cls.from_torch(**sd)
    x = rec.random_inputs(B, T, D, seed=20)
    traj = net.forward(x)
    h = torch.zeros(B, H, dtype=torch.float64)
    c = torch.zeros(B, H, dtype=torch.float64)
    with torch.no_grad():
        for t in range(T):
            xt = torch.from_numpy(x[:, t])
            if cls is rec.GRU:
                h = tcell(xt, h)
            else:
                h, c = tcell(xt, (h, c))
            np.testing.assert_allclose(traj.h[:, t + 1], h.numpy(), rtol=0, atol=1e-12)
            if cls is rec.LSTM:
                np.testing.assert_allclose(traj.c[:, t + 1], c.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("cls", [rec.GRU, rec.LSTM])
def test_exact_transport_equals_autograd(cls):
    torch = pytest.importorskip("torch")
    net = cls.init(4, 2, UniformStandIn(0.5, 0.95), seed=21, recurrent_scale=1.0)
    x = rec.random_inputs(1, 8, 2, seed=22)
    tr = rec.transport(net, x, max_lag=5, order="exact")
    traj = net.forward(x)
    H = net.hidden
    tcell = (torch.nn.GRUCell if cls is rec.GRU else torch.nn.LSTMCell)(2, H).double()
    tcell.load_state_dict(
        {
            k: torch.from_numpy(getattr(net, k))
            for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        }
    )
    xt = torch.from_numpy(x[0])
    t_end, lag = 8, 5
    src = t_end - lag

    def run(v):  # the source state at position src -> h_t (GRU) or c_t (LSTM)
        if cls is rec.GRU:
            h = v
            for t in range(src, t_end):
                h = tcell(xt[t : t + 1], h[None])[0]
            return h
        o_src = torch.from_numpy(traj.gates["o"][0, src - 1])
        h, c = o_src * torch.tanh(v), v  # h_src read out from the perturbed cell
        for t in range(src, t_end):
            h, c = (a[0] for a in tcell(xt[t : t + 1], (h[None], c[None])))
        return c

    start = traj.h[0, src] if cls is rec.GRU else traj.c[0, src]
    jac = torch.autograd.functional.jacobian(run, torch.from_numpy(start.copy()))
    np.testing.assert_allclose(
        tr.diagonal[0, t_end - 1, lag], np.diag(jac.numpy()), rtol=1e-10, atol=1e-14
    )
    # the diagonal of the product is not the product of the diagonals
    diag_prod = rec.transport(net, x, max_lag=5, order="diagonal").diagonal[0, t_end - 1, lag]
    assert np.max(np.abs(diag_prod - np.diag(jac.numpy()))) > 1e-4
