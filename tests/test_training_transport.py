"""E7's reduce on synthetic measurements: PASS, FAIL and INCONCLUSIVE, and its control."""

import math

import numpy as np
import pytest

from verify import recurrences as rec
from verify.training.transport_fidelity import AUTHOR_RATIO, check_e7, loglog_slope, measure

L = 16


def _measure(ratio, rng, noise=0.0):
    lags = np.arange(L + 1, dtype=float)
    exact = -0.5 * np.log1p(lags)
    r = ratio * math.exp(noise * rng.standard_normal())
    first = exact[1] + r * (exact - exact[1])
    first[0] = exact[0]
    return {"log_f_first": first, "log_f_exact": exact, "log_norm": {"h": exact},
            "unit_rho": np.ones(4)}  # fmt: skip


def _cells(ratio, n=6, noise=0.02, seed=0):
    rng = np.random.default_rng(seed)
    return [(f"net{i}", {"init": _measure(1.0, rng), "final": _measure(ratio, rng, noise)})
            for i in range(n)]  # fmt: skip


def test_loglog_slope_of_a_power_law():
    lags = np.arange(L + 1, dtype=float)
    assert loglog_slope(np.r_[0.0, -1.5 * np.log(lags[1:])]) == pytest.approx(-1.5)


def test_ratio_one_passes_and_the_authors_ratio_is_rejected():
    res = check_e7(_cells(1.0))
    assert res.verdict == "pass"
    assert res.negative_control["rejected"]


def test_the_authors_ratio_fails():
    assert check_e7(_cells(AUTHOR_RATIO)).verdict == "fail"


def test_too_wide_an_interval_is_inconclusive():
    assert check_e7(_cells(1.1, n=3, noise=0.5)).verdict == "inconclusive"
    assert check_e7(_cells(1.0, n=1)).verdict == "inconclusive"


def test_measure_on_a_gru_matches_its_own_orders():
    net = rec.GRU.init(6, 2, rec.Chrono(t_max=20), seed=1)
    x = rec.random_inputs(2, 24, 2, seed=2)
    m = measure(net, x, 8)
    exact = rec.measure_envelope(net, x, 8, order="exact")
    np.testing.assert_allclose(m["log_f_exact"], exact.log_f)
    assert set(m["log_norm"]) == {"h"} and m["unit_rho"].shape == (6,)
