"""The full transport: against its plain reference and against torch autograd (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from verify import recurrences as rec
from verify.recurrences import full_transport as ft_mod
from verify.recurrences.full_transport import (
    full_transport,
    full_transport_cost,
    full_transport_reference,
)


def _mean_reference(net, x, max_lag):
    ref = full_transport_reference(net, x, max_lag)
    T = x.shape[1]
    valid = np.arange(max_lag + 1)[None, :] <= np.arange(1, T + 1)[:, None]
    return {k: np.nanmean(np.where(valid[None], v, np.nan), axis=(0, 1)) for k, v in ref.items()}


@pytest.mark.parametrize("cls", [rec.GRU, rec.LSTM, rec.DiagGate])
def test_sparse_table_equals_explicit_products(cls):
    net = cls.init(hidden=5, inputs=3, spectrum=rec.Chrono(t_max=20), seed=1,
                   recurrent_scale=1.2)  # fmt: skip
    x = rec.random_inputs(2, 70, 3, seed=2)
    got = full_transport(net, x, 40)
    ref = _mean_reference(net, x, 40)
    assert got.kinds == (("h", "c") if cls is rec.LSTM else ("h",))
    for k in got.kinds:
        np.testing.assert_allclose(got.norm(k), ref[k], rtol=1e-11)
    assert got.counts[5] == 2 * (70 - 5 + 1)


def test_the_cancellation_guard_gives_the_same_norms(monkeypatch):
    net = rec.LSTM.init(hidden=4, inputs=2, spectrum=rec.Chrono(t_max=20), seed=3)
    x = rec.random_inputs(2, 30, 2, seed=4)
    fast = full_transport(net, x, 20)
    monkeypatch.setattr(ft_mod, "CANCELLATION", np.inf)  # every pair from its product
    slow = full_transport(net, x, 20)
    assert fast.explicit < slow.explicit
    assert slow.explicit == 2 * sum(30 - lag + 1 for lag in range(2, 21))
    for k in fast.kinds:
        np.testing.assert_allclose(fast.norm(k), slow.norm(k), rtol=1e-11)


def test_a_wrong_split_is_noticed():
    """Negative control: dropping one level of the sparse table changes the norms."""
    net = rec.GRU.init(hidden=4, inputs=2, spectrum=rec.Chrono(t_max=20), seed=5)
    x = rec.random_inputs(1, 40, 2, seed=6)
    ref = _mean_reference(net, x, 20)["h"]
    real = ft_mod._segments
    try:
        ft_mod._segments = lambda T, L: [s for s in real(T, L) if s[0] % 4 != 1]
        bad = full_transport(net, x, 20).norm("h")
    finally:
        ft_mod._segments = real
    assert not np.allclose(bad, ref, rtol=1e-6)


@pytest.mark.parametrize("cls", [rec.GRU, rec.LSTM, rec.DiagGate])
def test_the_exact_order_by_sparse_table_equals_its_kernel(cls):
    net = cls.init(hidden=5, inputs=3, spectrum=rec.Chrono(t_max=20), seed=1,
                   recurrent_scale=1.0)  # fmt: skip
    x = rec.random_inputs(3, 50, 3, seed=2)
    kernel = rec.measure_envelope(net, x, 30, order="exact")
    table = rec.measure_envelope(net, x, 30, order="exact", exact_method="table")
    np.testing.assert_allclose(table.log_unit, kernel.log_unit, rtol=0, atol=1e-12)
    first = rec.measure_envelope(net, x, 30, order="first")  # negative control: another order
    assert np.max(np.abs(first.log_unit - table.log_unit)) > 1e-6


def test_cost_counts_the_products():
    assert full_transport_cost(1, 10, 1, 4, 8) == 0.0
    assert full_transport_cost(2, 300, 100, 8, 16) == 2 * full_transport_cost(1, 300, 100, 8, 16)
    assert full_transport_cost(1, 300, 100, 8, 16) > full_transport_cost(1, 300, 50, 8, 16)


torch = pytest.importorskip("torch")


def _pair_norms(cell, xs, h_s, c_s, o_s):
    """Frobenius norms of dh_t/dh_s and of the lifted dc_t/dc_s over the inputs ``xs``.

    ``o_s`` is the output gate at the source (None for h_0, which is given: no lift).
    """
    lstm = c_s is not None

    def run(h, c):
        h, c = h[None], None if c is None else c[None]
        for x_j in xs:
            if lstm:
                h, c = cell(x_j[None], (h, c))
            else:
                h = cell(x_j[None], h)
        return h[0], (c[0] if lstm else None)

    jac = torch.autograd.functional.jacobian
    out = {"h": float(torch.linalg.norm(jac(lambda v: run(v, c_s)[0], h_s)))}
    if lstm:

        def lifted(c0):
            return run(h_s if o_s is None else o_s * torch.tanh(c0), c0)[1]

        out["c"] = float(torch.linalg.norm(jac(lifted, c_s)))
    return out


def _autograd_norms(net, x, max_lag):
    """Mean Frobenius norms of dh_t/dh_s (and lifted dc_t/dc_s) by torch autograd."""
    H = net.hidden
    lstm = isinstance(net, rec.LSTM)
    cell = (torch.nn.LSTMCell if lstm else torch.nn.GRUCell)(net.inputs, H).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(torch.from_numpy(getattr(net, name)))
    B, T, _ = x.shape
    sums = {k: np.zeros(max_lag + 1) for k in (("h", "c") if lstm else ("h",))}
    xt = torch.from_numpy(x)
    for b in range(B):
        hs, cs, os_ = (
            [torch.zeros(H, dtype=torch.float64)],
            [torch.zeros(H, dtype=torch.float64)],
            [None],
        )
        with torch.no_grad():
            for t in range(T):
                if lstm:
                    h, c = cell(xt[b, t][None], (hs[-1][None], cs[-1][None]))
                    pre = cell.weight_ih @ xt[b, t] + cell.bias_ih + cell.weight_hh @ hs[-1]
                    os_.append(torch.sigmoid((pre + cell.bias_hh)[3 * H :]))
                    hs.append(h[0])
                    cs.append(c[0])
                else:
                    hs.append(cell(xt[b, t][None], hs[-1][None])[0])
        for s in range(T):
            for lag in range(1, min(max_lag, T - s) + 1):
                norms = _pair_norms(cell, xt[b, s : s + lag], hs[s], cs[s] if lstm else None,
                                    os_[s] if lstm else None)  # fmt: skip
                for k, v in norms.items():
                    sums[k][lag] += v
    counts = B * (T - np.maximum(np.arange(max_lag + 1), 1) + 1)
    return {k: v[1:] / counts[1:] for k, v in sums.items()}


@pytest.mark.parametrize("cls", [rec.GRU, rec.LSTM])
def test_full_transport_agrees_with_torch_autograd(cls):
    net = cls.init(hidden=4, inputs=3, spectrum=rec.Chrono(t_max=15), seed=7,
                   recurrent_scale=1.0)  # fmt: skip
    x = rec.random_inputs(2, 12, 3, seed=8)
    got = full_transport(net, x, 9)
    want = _autograd_norms(net, x, 9)
    for k, v in want.items():
        np.testing.assert_allclose(got.norm(k)[1:], v, rtol=1e-10, atol=0)
