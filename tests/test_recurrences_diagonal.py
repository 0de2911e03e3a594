"""The diagonal cells: kernel against reference, retention, Jacobians, checked arguments."""

from __future__ import annotations

import numpy as np
import pytest

import verify.recurrences as rec

CELLS = {
    "mingru": lambda: rec.MinGRU.init(5, 3, seed=0, project_out=True),
    "minlstm": lambda: rec.MinLSTM.init(5, 3, seed=1),
    "rglru": lambda: rec.RGLRU.init(6, heads=2, seed=2, w_init_variance_scale=1.0),
    "mamba": lambda: rec.Mamba.init(3, states=2, seed=3),
}


@pytest.mark.parametrize("name", sorted(CELLS))
def test_kernel_equals_reference_and_transport_is_exact(name):
    net = CELLS[name]()
    x = rec.random_inputs(3, 25, net.inputs, seed=4)
    h0 = np.random.default_rng(5).standard_normal(net.hidden)
    a, b = net.forward(x, h0), net.forward_reference(x, h0)
    np.testing.assert_allclose(a.h, b.h, rtol=0, atol=1e-13)
    r, d = net.retention_and_correction(a)
    assert np.all(d == 0.0) and np.all((r > 0) & (r < 1))
    exact = rec.transport(net, x, 20, order="exact").diagonal
    for order in ("zeroth", "first", "diagonal"):
        np.testing.assert_allclose(rec.transport(net, x, 20, order=order).diagonal, exact,
                                   rtol=1e-12, atol=0, equal_nan=True)  # fmt: skip


@pytest.mark.parametrize("name", ["mingru", "minlstm", "rglru"])
def test_step_is_one_position(name):
    net = CELLS[name]()
    x = rec.random_inputs(2, 4, net.inputs, seed=6)
    traj = net.forward(x)
    np.testing.assert_allclose(net.step(x[:, 2], traj.h[:, 2]), traj.h[:, 3], atol=1e-14)


def test_mamba_step_needs_conv_width_one():
    with pytest.raises(ValueError, match="conv width 1"):
        CELLS["mamba"]().step(np.zeros((1, 3)), np.zeros((1, 6)))
    net = rec.Mamba.init(3, states=2, conv=1, seed=0)
    x = rec.random_inputs(2, 4, 3, seed=6)
    traj = net.forward(x)
    np.testing.assert_allclose(net.step(x[:, 2], traj.h[:, 2]), traj.h[:, 3], atol=1e-14)


def test_gru_is_not_diagonal():
    """Negative control: for a GRU the first order is not the exact transport."""
    net = rec.GRU.init(5, 3, spectrum=rec.Chrono(t_max=20), seed=0)
    x = rec.random_inputs(2, 25, 3, seed=4)
    gap = np.nanmax(np.abs(rec.transport(net, x, 20, order="first").diagonal
                           - rec.transport(net, x, 20, order="exact").diagonal))  # fmt: skip
    assert gap > 1e-3


def test_rglru_gate_held():
    net = rec.RGLRU.init(8, heads=2, seed=0, gate=0.5)
    traj = net.forward(rec.random_inputs(1, 3, 8, seed=1))
    a2 = np.exp(-2.0 * np.logaddexp(0.0, net.recurrent_param))  # a**2
    np.testing.assert_allclose(traj.gates["a"][0, 0], a2**2, rtol=1e-13)
    assert np.all((a2 >= 0.81 - 1e-12) & (a2 <= 0.999**2 + 1e-12))


def test_bad_arguments_named():
    with pytest.raises(ValueError, match=r"to_hidden_and_gate.weight must have shape \(2H, D\)"):
        rec.MinGRU(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="hidden must be a multiple of heads"):
        rec.RGLRU.init(7, heads=2)
    with pytest.raises(ValueError, match="dt_min must lie in"):
        rec.Mamba.init(4, dt_min=0.0)
    with pytest.raises(ValueError, match="x must have shape"):
        CELLS["mamba"]().forward(np.zeros((1, 4, 5)))
    with pytest.raises(ValueError, match=r"in_proj.weight must have shape \(2E, M\)"):
        net = rec.Mamba.init(2, states=2)
        rec.Mamba({"in_proj.weight": np.zeros((3, 2)), "A_log": net.A_log})
