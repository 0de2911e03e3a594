"""Checks at realistic sizes, for real CUDA hardware only (``python -m pytest -m gpu``).

Same statistics as the simulator tests (KS and binomial tests at level ``LEVEL``, each
with a negative control), on grids the simulator could not run in reasonable time.
"""

import numpy as np
import pytest
from scipy import stats

from theory import Detection
from verify import detection
from verify import recurrences as rec
from verify.noise import stable

pytestmark = pytest.mark.gpu

LEVEL = 1e-3


@pytest.mark.parametrize("alpha", [1.1, 1.5, 1.9, 2.0])
@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_gpu_sampler_matches_cpu_at_a_million(alpha, beta):
    g = stable.sample(alpha, beta, size=10**6, seed=1, device="cuda")
    c = stable.sample(alpha, beta, size=10**6, seed=2, device="cpu")
    assert stats.ks_2samp(g, c).pvalue > LEVEL
    # negative control: a 2 % change of scale is visible at this size
    assert stats.ks_2samp(g, 1.02 * c).pvalue < LEVEL


def test_gpu_detection_power_at_scale():
    det = Detection(alpha=1.5, sigma=1.0, delta=0.1, c=1.0)
    n, trials = 10_000, 20_000
    mean = det.prefactor * det.c / n ** (1.0 / det.rate)  # power 1 - delta by the closed form
    p = detection.simulate_power(det, mean, n, trials=trials, seed=3, device="cuda")
    assert stats.binomtest(p.hits, trials, p.predicted).pvalue > LEVEL
    wrong = detection.predicted_power(det, 0.9 * mean, n)
    assert stats.binomtest(p.hits, trials, wrong).pvalue < LEVEL


def test_gpu_transport_at_scale():
    net = rec.GRU.init(hidden=64, inputs=4, spectrum=rec.Chrono(t_max=100), seed=4)
    x = rec.random_inputs(16, 200, 4, seed=5)
    c = rec.measure_envelope(net, x, 150, order="first", device="cpu")
    g = rec.measure_envelope(net, x, 150, order="first", device="cuda")
    np.testing.assert_allclose(g.log_f, c.log_f, rtol=1e-10)
