"""GPU product transport against the CPU kernel: deterministic, so compared value by value."""

import numpy as np
import pytest
from _recurrence_nets import make_net

from verify import device
from verify import recurrences as rec


@pytest.mark.parametrize("order", ["zeroth", "first", "diagonal"])
@pytest.mark.parametrize("kind", ["gru", "lstm", "diaggate"])
def test_gpu_transport_equals_cpu(kind, order):
    net = make_net(kind, hidden=3, inputs=2, seed=1)
    x = rec.random_inputs(2, 9, 2, seed=2)
    c = rec.transport(net, x, 6, order=order, device="cpu")
    g = rec.transport(net, x, 6, order=order, device="cuda")
    np.testing.assert_array_equal(np.isfinite(c.log_abs), np.isfinite(g.log_abs))
    ok = np.isfinite(c.log_abs)
    np.testing.assert_allclose(g.log_abs[ok], c.log_abs[ok], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(g.sign[ok], c.sign[ok])


def test_gpu_envelope_equals_cpu_far_below_float_range():
    # retention 0.05 over 300 lags: products near 1e-390, past the log-scale switch
    net = rec.ConstGate.init(2, 1, rec.make_spectrum("homogeneous", r0=0.05), seed=3)
    x = rec.random_inputs(1, 300, 1, seed=4)
    c = rec.measure_envelope(net, x, 300, order="zeroth", device="cpu")
    g = rec.measure_envelope(net, x, 300, order="zeroth", device="cuda")
    assert c.log_f[-1] < -700
    np.testing.assert_allclose(g.log_f, c.log_f, rtol=1e-12)


def test_gpu_transport_refuses_the_exact_order_but_a_cuda_context_falls_back():
    net = make_net("gru", hidden=2, inputs=1, seed=5)
    x = rec.random_inputs(1, 4, 1, seed=6)
    with pytest.raises(ValueError, match="order='exact'.*device='cpu'"):
        rec.transport(net, x, 2, order="exact", device="cuda")
    with device.using("cuda"):
        t = rec.transport(net, x, 2, order="exact")
    np.testing.assert_array_equal(t.log_abs, rec.transport(net, x, 2, order="exact").log_abs)
