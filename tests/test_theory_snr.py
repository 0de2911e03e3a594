"""The author's SNR test under the null (theory.snr) against simulation of its own pipeline.

Tolerances: a flipped Gaussian null's crossing is estimated from K batch |means|, whose
mean has relative SE sqrt(pi/2 - 1) / sqrt(K) = 0.76 / sqrt(K); the crossing goes as its
square, so with K = 16384 its relative SE is 1.2 % and the 5 % bar is 4.2 SE (false alarm
3e-5 per comparison).  At alpha = 1.5 the batch |means| have infinite variance; four seeds
gave 0.8-1.9 % (N* goes as the mean's -3rd power), so the same 5 % bar is used there.
"""

import math

import numpy as np
import pytest
import sympy as sp
from scipy import integrate, stats

from theory import snr
from theory.noise import alpha_symbol
from verify.noise import stable
from verify.training.psi import PSI_GRID, author_pipeline, snr_crossing


def test_closed_forms_are_sympy_objects_with_the_gaussian_case():
    eps, b = snr.epsilon_symbol, snr.batch_symbol
    gauss = snr.null_crossing_expr.subs(alpha_symbol, 2)
    assert sp.simplify(gauss - eps**2 * sp.pi * b / 4) == 0
    assert sp.simplify(snr.abs_mean_expr.subs(alpha_symbol, 2) - 2 / sp.sqrt(sp.pi)) == 0
    f = sp.lambdify((alpha_symbol, eps, b), snr.null_crossing_expr)
    for a in (1.2, 1.5, 1.9):
        assert snr.null_crossing(0.1, 1000, a) == pytest.approx(f(a, 0.1, 1000), rel=1e-12)


@pytest.mark.parametrize("alpha", [1.2, 1.5, 1.8, 2.0])
def test_abs_mean_against_the_characteristic_function(alpha):
    # E|X| = (2 / pi) int_0^inf (1 - Re phi(t)) / t^2 dt, phi(t) = exp(-|t|^alpha)
    val = integrate.quad(lambda t: (1 - math.exp(-(t**alpha))) / t**2, 0, np.inf, limit=200)[0]
    assert snr.abs_mean(alpha) == pytest.approx(2 / math.pi * val, rel=1e-8)


@pytest.mark.parametrize("batch", [16, 128, 1024])
@pytest.mark.parametrize("method", ["mcculloch", "koutrouvelis"])
def test_flipped_gaussian_null_crosses_where_the_formula_says(batch, method):
    k = 16384
    x = np.random.default_rng(batch).standard_normal((batch * k, 1))
    sim = snr_crossing(x, 2.0, batch=batch, epsilon=0.1, method=method)[0]
    assert sim == pytest.approx(0.1**2 * math.pi * batch / 4, rel=0.05)
    # the negative control: the /2 of a sigma_hat taken as the standard deviation is refused
    assert sim != pytest.approx(0.1**2 * math.pi * batch / 2, rel=0.05)


def test_flipped_heavy_tailed_null_crosses_where_the_formula_says():
    x = stable.sample(1.5, size=16 * 2**18, seed=0).reshape(-1, 1)
    sim = snr_crossing(x, 1.5, batch=16, epsilon=0.1)[0]
    assert sim == pytest.approx(snr.null_crossing(0.1, 16, 1.5), rel=0.05)
    assert sim != pytest.approx(snr.null_crossing(0.1, 16, 2.0), rel=0.05)


@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_unflipped_null_detection_probability(alpha):
    # the mean of M SaS(1) draws, with the scale known, over 4000 lags; binomial 4.4 SE
    m, lags = 128, 4000
    x = stable.sample(alpha, size=m * lags, seed=7).reshape(m, lags)
    cross = (0.1 / np.abs(x.mean(axis=0))) ** (alpha / (alpha - 1))  # SNR(n) > 0.1 for n > cross
    for n in (1, 2, 10, 100):
        p = snr.null_detect_probability(n, 0.1, m, alpha)
        se = math.sqrt(p * (1 - p) / lags)
        assert abs(np.mean(cross < n) - p) < 4.4 * se, n


def test_author_pipeline_is_the_first_grid_point_beyond_the_crossing():
    x = np.random.default_rng(3).standard_normal((512, 6)) + np.linspace(0, 0.5, 6)
    cross = snr_crossing(x, 2.0)
    req = author_pipeline(x, 2.0)
    for c, r in zip(cross, req, strict=True):
        assert r > c
        assert PSI_GRID[PSI_GRID > c][0] == r


def test_median_unflipped_requirement_of_a_small_sample():
    # M = 128, epsilon = 0.1: half the null lags need N <= 1.4 (the grid's 2)
    med = 128 * (0.1 / (math.sqrt(2) * stats.norm.ppf(0.75))) ** 2
    assert snr.null_detect_probability(med, 0.1, 128) == pytest.approx(0.5, abs=1e-9)
    assert 1.3 < med < 1.5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epsilon": 0.0, "batch": 16}, "epsilon"),
        ({"epsilon": 0.1, "batch": 0.5}, "batch"),
        ({"epsilon": 0.1, "batch": 16, "alpha": 1.0}, "alpha"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        snr.null_crossing(**kwargs)
