"""Transport and envelopes: numba kernels against the NumPy definitions, log-space range."""

import numpy as np
import pytest
from _recurrence_nets import KINDS, initial_state, make_net

from verify import recurrences as rec
from verify.recurrences import envelope_kernels, kernels
from verify.recurrences.envelope import envelope_of_factors, envelope_of_trajectory
from verify.recurrences.transport import envelope_sums, envelope_sums_reference, step_factors


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("order", rec.ORDERS)
def test_transport_matches_reference(kind, order):
    net = make_net(kind, hidden=4, inputs=3, seed=30)
    x = rec.random_inputs(2, 9, 3, seed=31)
    h0 = initial_state(net, 2, seed=32)
    got = rec.transport(net, x, max_lag=7, order=order, h0=h0)
    ref = rec.transport_reference(net, x, max_lag=7, order=order, h0=h0)
    undefined = ~got.valid
    assert np.all(np.isnan(ref[:, undefined])) and np.all(np.isnan(got.diagonal[:, undefined]))
    # log-space accumulation vs linear products: a few ulps per step
    np.testing.assert_allclose(
        got.diagonal[:, ~undefined], ref[:, ~undefined], rtol=1e-12, atol=1e-15
    )
    np.testing.assert_array_equal(got.diagonal[:, :, 0], 1.0)  # lag 0 is the identity


def test_orders_differ_where_they_should():
    # the control for the agreement above: the four orders are four different numbers
    net = make_net("diaggate", hidden=4, seed=33)
    x = rec.random_inputs(2, 9, 3, seed=34)
    vals = {o: rec.transport(net, x, 6, o).diagonal[:, -1, 1:] for o in rec.ORDERS}
    for a in rec.ORDERS:
        for b in rec.ORDERS:
            if a < b:
                assert np.max(np.abs(vals[a] - vals[b])) > 1e-4, (a, b)


def test_product_kernel_serial_and_parallel_agree():
    net = make_net("gru", hidden=5, seed=35)
    x = rec.random_inputs(3, 11, 3, seed=36)
    traj = net.forward(x)
    fac, co = (np.ascontiguousarray(a) for a in step_factors(net, traj, "first"))
    fac[1, 2:5] *= 1e-150  # drive some products through the log-scale path
    outs = []
    for fn in (kernels.product_transport, kernels.product_transport.py_func):
        acc, m, s = np.zeros((3, 9, 5)), np.full((3, 9, 5), -np.inf), np.zeros((3, 9, 5))
        ol, os_ = np.full((3, 11, 9, 5), -np.inf), np.full((3, 11, 9, 5), np.nan)
        fn(fac, co, True, np.ones(5), np.zeros(5), 8, acc, m, s, True, ol, os_)
        outs.append((acc, m, s, ol, os_))
    for a, b in zip(*outs, strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(outs[0][1]).any()  # the log-space accumulator was used


@pytest.mark.parametrize("order", rec.ORDERS)
def test_envelope_is_mean_l1_norm_of_transport(order):
    net = make_net("lstm", hidden=4, seed=37)
    x = rec.random_inputs(3, 10, 3, seed=38)
    ref = rec.transport_reference(net, x, max_lag=10, order=order)
    lr = 0.3
    expected = [
        np.mean(np.sum(np.abs(lr * ref[:, max(lag, 1) - 1 :, lag]), axis=-1)) for lag in range(11)
    ]
    f = rec.envelope(net, x, max_lag=10, order=order, lr=lr)
    assert f.shape == (11,)
    np.testing.assert_allclose(f, expected, rtol=1e-12)
    assert f[0] == pytest.approx(lr * net.hidden)


def test_log_envelope_resolves_below_float64_range():
    # ConstGate with W_h = 0: transport is exactly (1 - s)^l, far below 1e-308 at l = 300
    H, r = 3, 0.01
    net = rec.ConstGate(np.ones((H, 1)), np.zeros((H, H)), np.zeros(H), s=1 - r)
    x = rec.random_inputs(2, 300, 1, seed=39)
    for order in rec.ORDERS:
        res = rec.measure_envelope(net, x, max_lag=300, order=order)
        lags = np.arange(301)
        np.testing.assert_allclose(res.log_f, np.log(H) + lags * np.log(r), rtol=1e-12)
        assert res.log_f[-1] < np.log(1e-300) - 600  # about 3e-600
        assert res.f[-1] == 0.0  # where the linear value underflows, log_f does not


def test_adam_rates():
    net = make_net("gru", hidden=4, seed=40)
    x = rec.random_inputs(2, 8, 3, seed=41)
    sgd = rec.measure_envelope(net, x, 6, order="first", lr=0.1)
    v = np.full((12, 4), 0.04)  # uniform second moments: Adam is SGD with eta / (0.2 + eps)
    adam = rec.measure_envelope(net, x, 6, order="first", optimizer="adam", lr=0.1, v_hat=v)
    np.testing.assert_allclose(adam.f, sgd.f / (0.2 + 1e-8), rtol=1e-12)
    v2 = np.arange(1.0, 49.0).reshape(12, 4)
    rates = rec.unit_rates(net, "adam", lr=1.0, v_hat=v2, eps=0.0 + 1e-8)
    q = 1
    rows = v2[[q, q + 4, q + 8]]
    assert rates[q] == pytest.approx(np.mean(1.0 / (np.sqrt(rows) + 1e-8)), rel=1e-14)


def test_bad_transport_input():
    net = make_net("diaggate", hidden=3, seed=42)
    x = rec.random_inputs(2, 5, 3)
    with pytest.raises(ValueError, match=r"max_lag must be an integer \[0, 5\]"):
        rec.transport(net, x, max_lag=6)
    with pytest.raises(ValueError, match=r"max_lag must be an integer \[0, 5\]"):
        rec.envelope(net, x, max_lag=6)
    with pytest.raises(ValueError, match="order must be one of"):
        rec.envelope(net, x, max_lag=3, order="second")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        rec.envelope(net, x, max_lag=3, optimizer="lbfgs")
    with pytest.raises(ValueError, match="v_hat .* is required"):
        rec.envelope(net, x, max_lag=3, optimizer="adam")
    with pytest.raises(ValueError, match=r"v_hat must have shape \(m\*H, K\) with H = 3"):
        rec.envelope(net, x, max_lag=3, optimizer="adam", v_hat=np.ones((4, 3)))
    with pytest.raises(ValueError, match="v_hat must be >= 0"):
        rec.envelope(net, x, max_lag=3, optimizer="adam", v_hat=-np.ones((3, 3)))
    with pytest.raises(ValueError, match="lr must lie in"):
        rec.envelope(net, x, max_lag=3, lr=0.0)
    with pytest.raises(ValueError, match="net must be a recurrences.Cell"):
        rec.envelope("gru", x, max_lag=3)
    with pytest.raises(ValueError, match="transport array of B\\*T\\*\\(L\\+1\\)\\*H"):
        rec.transport(make_net("diaggate", hidden=64), rec.random_inputs(64, 256, 3), 256)


def _factors(kind, order, batch, steps, hidden, seed):
    net = make_net(kind, hidden=hidden, seed=seed)
    traj = net.forward(rec.random_inputs(batch, steps, 3, seed=seed + 1))
    return step_factors(net, traj, order)


@pytest.mark.parametrize("order", ["zeroth", "first", "diagonal"])
@pytest.mark.parametrize(
    ("kind", "batch", "steps", "hidden", "max_lag"),
    [
        ("gru", 3, 21, 5, 21),  # T not a multiple of the kernel's block of 8 positions
        ("lstm", 2, 17, 3, 9),  # L < T
        ("diaggate", 5, 9, 4, 5),
        ("gru", 1, 12, 2, 1),  # L smaller than a block
        ("constgate", 2, 1, 3, 1),  # one step
        ("gru", 2, 6, 3, 0),  # lag 0 only
    ],
)
def test_envelope_sums_match_reference(order, kind, batch, steps, hidden, max_lag):
    fac, corr = _factors(kind, order, batch, steps, hidden, seed=50)
    got = envelope_sums(fac, corr, order, max_lag)
    ref = envelope_sums_reference(fac, corr, order, max_lag)
    assert got.shape == (max_lag + 1, hidden)
    # different summation orders of the same positive terms: a few ulps per position
    np.testing.assert_allclose(np.exp(got - ref), 1.0, rtol=1e-12)


def test_envelope_sums_scalar_path_matches_reference():
    # factors of 1e-150 and 1e-120: the block loop cannot bound the products, so products
    # below its range finish on the scalar log-scale path; the linear reference still
    # resolves them (1e-270 at worst)
    fac, corr = _factors("gru", "first", 3, 24, 4, seed=51)
    fac[1, 2] *= 1e-150
    fac[1, 13, :2] *= 1e-120
    fac[2, 5:7] *= 1e-90
    for order in ("first", "zeroth"):
        got = envelope_sums(fac, corr, order, 20)
        ref = envelope_sums_reference(fac, corr, order, 20)
        np.testing.assert_allclose(np.exp(got - ref), 1.0, rtol=1e-12)
    # and the log-sum-exp accumulator was used: without factor 1e-150 the sum of lag 20 of
    # unit 0 would be larger by far
    acc, m, s = (np.zeros((1, 4, 21)), np.full((1, 4, 21), -np.inf), np.zeros((1, 4, 21)))
    envelope_kernels.product_envelope(fac, corr, True, 20, acc, m, s)
    assert np.isfinite(m).any()


def test_envelope_sums_resolve_below_float64_range():
    # constant factor 1e-3: lag l of every position is 1e-3l, to 1e-900 at l = 300
    B, T, H = 2, 300, 3
    fac, corr = np.full((B, T, H), 1e-3), np.zeros((B, T, H))
    got = envelope_sums(fac, corr, "zeroth", T)
    lags = np.arange(T + 1)
    expected = np.log(B * (T - np.maximum(lags, 1) + 1)) + lags * np.log(1e-3)
    np.testing.assert_allclose(got, np.repeat(expected[:, None], H, axis=1), rtol=1e-12)


def test_product_envelope_is_the_same_whatever_the_thread_count():
    import numba

    fac, corr = _factors("gru", "first", 7, 40, 5, seed=52)
    fac[3, 11] *= 1e-160  # some sources on the scalar path too
    outs = []
    threads = numba.get_num_threads()
    try:
        for n in sorted({1, threads}):
            numba.set_num_threads(n)
            outs.append(envelope_sums(fac, corr, "first", 33))
    finally:
        numba.set_num_threads(threads)
    bufs = []
    for fn in (envelope_kernels.product_envelope, envelope_kernels.product_envelope.py_func):
        acc, m, s = np.zeros((2, 5, 34)), np.full((2, 5, 34), -np.inf), np.zeros((2, 5, 34))
        fn(fac, corr, True, 33, acc, m, s)
        bufs.append((acc, m, s))
    for a, b in zip(*bufs, strict=True):
        np.testing.assert_array_equal(a, b)
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])


@pytest.mark.parametrize("order", ["zeroth", "first", "diagonal"])
def test_envelope_of_factors_is_the_envelope(order):
    net = make_net("gru", hidden=4, seed=53)
    x = rec.random_inputs(3, 15, 3, seed=54)
    want = rec.measure_envelope(net, x, 12, order=order, lr=0.5)
    r, d = net.retention_and_correction(net.forward(x))
    got = envelope_of_factors(r, d, 12, order, rates=np.full(4, 0.5))
    np.testing.assert_allclose(got.log_f, want.log_f, rtol=1e-13)
    np.testing.assert_array_equal(got.counts, want.counts)
    with pytest.raises(ValueError, match="rates must be 4 finite positive numbers"):
        envelope_of_factors(r, d, 12, order, rates=np.zeros(4))
    with pytest.raises(ValueError, match="r and d must have one shape"):
        envelope_of_factors(r, d[:, :3], 12, order)
    with pytest.raises(ValueError, match="envelope_sums covers the product orders"):
        envelope_sums(r, d, "exact", 3)


def test_envelope_sums_with_a_factor_beyond_200_decades():
    # one factor of 1e-250: no block can be bounded (g = 0), every product is scalar
    fac, corr = _factors("gru", "first", 2, 14, 3, seed=55)
    fac[0, 6, 1] = 1e-250
    got = envelope_sums(fac, corr, "first", 10)
    ref = envelope_sums_reference(fac, corr, "first", 10)
    np.testing.assert_allclose(np.exp(got - ref), 1.0, rtol=1e-12)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("order", ["zeroth", "first", "diagonal"])
def test_fused_factors_match_the_two_pass_route(kind, order):
    # one pass from the inputs (kernels.gru_factors / lstm_factors) against forward +
    # step_factors; they differ in how the input projection is summed (in order, against
    # BLAS) and in libm's tanh against the branch-free one in the LSTM's lift
    net = make_net(kind, hidden=6, inputs=4, seed=60)
    x = rec.random_inputs(3, 21, 4, seed=61)
    h0 = initial_state(net, 3, seed=62)
    fac, corr = net.fused_factors(x, order, h0)
    ref_fac, ref_corr = step_factors(net, net.forward_reference(x, h0), order)
    np.testing.assert_allclose(fac, ref_fac, rtol=0, atol=1e-13)
    np.testing.assert_allclose(corr, ref_corr, rtol=0, atol=1e-13)
    if order != "first":
        assert not np.any(corr)
    else:
        assert np.ptp(corr) > 1e-3  # a correction that is not trivially zero


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_fused_factors_are_the_same_whatever_the_thread_count(kind):
    import numba

    net = make_net(kind, hidden=9, inputs=3, seed=63)
    x = rec.random_inputs(5, 17, 3, seed=64)
    outs = []
    threads = numba.get_num_threads()
    try:
        for n in sorted({1, threads}):
            numba.set_num_threads(n)
            outs.append(net.fused_factors(x, "first"))
    finally:
        numba.set_num_threads(threads)
    if kind == "gru":  # the prange loop run as plain Python gives the same numbers
        w = net.weight_hh
        dg = np.stack([np.diag(net.block(w, g)) for g in "rzn"])
        fac, corr = np.empty((5, 17, 9)), np.empty((5, 17, 9))
        kernels.gru_factors.py_func(x, np.ascontiguousarray(net.weight_ih.T), net.bias_ih, w,
                                    net.bias_hh, dg, np.zeros((5, 9)), 1, fac, corr)  # fmt: skip
        for a, b in zip(outs[0], (fac, corr), strict=True):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(outs[0], outs[-1], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_log_envelope_takes_the_fused_route_and_agrees_with_the_trajectory_route(kind, monkeypatch):
    net = make_net(kind, hidden=5, inputs=3, seed=65)
    x = rec.random_inputs(4, 30, 3, seed=66)
    trajs = {o: net.forward(x) for o in ("zeroth", "first", "diagonal")}

    def no_forward(*args, **kwargs):
        raise AssertionError("the fused route must not run the trajectory forward pass")

    monkeypatch.setattr(net, "forward", no_forward)
    for order in ("zeroth", "first", "diagonal"):
        fused = rec.measure_envelope(net, x, 20, order=order)
        traj = envelope_of_trajectory(net, trajs[order], 20, order, np.ones(5))
        np.testing.assert_allclose(fused.log_f, traj.log_f, rtol=1e-12)
        np.testing.assert_allclose(fused.log_unit, traj.log_unit, rtol=1e-12)
