"""Tests of theory.noise: kappa_alpha, the mean's scale and the SaS(1) cdf and quantiles."""

import math
import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy import special, stats

import theory
from theory import noise

ALPHAS = (1.1, 1.3, 1.5, 1.7, 1.9, 2.0)
# |x| <= 50: the range where scipy's levy_stable cdf is itself accurate to ~1e-12
XS = np.array([-50.0, -7.5, -2.0, -0.4, 0.0, 0.05, 0.7, 1.3, 3.0, 12.0, 50.0])
PS = (0.01, 0.1, 0.3, 0.5, 0.8, 0.9, 0.95, 0.975, 0.995)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_sas_cdf_matches_scipy(alpha):
    ours = theory.sas_cdf(XS, alpha)
    ref = stats.levy_stable.cdf(XS, alpha, 0.0)
    bad = np.abs(ours - ref) > 1e-8
    assert not bad.any(), list(zip(XS[bad], ours[bad], ref[bad], strict=True))


@pytest.mark.parametrize("alpha", ALPHAS)
def test_sas_quantile_matches_scipy(alpha):
    for p in PS:
        q = theory.sas_quantile(p, alpha)
        # the scipy cdf at our quantile is p; and the scipy ppf agrees
        assert abs(stats.levy_stable.cdf(q, alpha, 0.0) - p) < 1e-8, (p, q)
        assert q == pytest.approx(stats.levy_stable.ppf(p, alpha, 0.0), rel=1e-8, abs=1e-10)


@pytest.mark.parametrize("alpha", (1.1, 1.5, 1.9))
@pytest.mark.parametrize("x", (300.0, 620.0, 999.0))
def test_sas_cdf_far_tail_matches_series_without_warnings(alpha, x):
    # Bergstrom's series for the upper tail of SaS(1):
    # P(X > x) = (1/pi) sum_k (-1)**(k+1) Gamma(k alpha)/k! sin(k pi alpha/2) x**(-k alpha);
    # six terms are exact to far below 1e-12 at x >= 300 for these alpha
    tail = (
        sum(
            (-1) ** (k + 1)
            * special.gamma(k * alpha)
            / math.factorial(k)
            * math.sin(k * math.pi * alpha / 2)
            * x ** (-k * alpha)
            for k in range(1, 7)
        )
        / math.pi
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = theory.sas_cdf(x, alpha)
        got_neg = theory.sas_cdf(-x, alpha)
    assert got == pytest.approx(1.0 - tail, abs=1e-12)
    assert got_neg == pytest.approx(tail, abs=1e-12)


def test_alpha_two_is_normal_with_variance_two():
    norm = stats.norm(scale=math.sqrt(2.0))
    np.testing.assert_allclose(theory.sas_cdf(XS, 2.0), norm.cdf(XS), rtol=0, atol=1e-14)
    for p in PS:
        assert theory.sas_quantile(p, 2.0) == pytest.approx(norm.ppf(p), rel=1e-12)


@pytest.mark.parametrize("p", (0.05, 0.2, 0.5, 0.7, 0.9, 0.99))
def test_alpha_one_quantile_is_cauchy(p):
    assert theory.sas_quantile(p, 1.0) == pytest.approx(
        math.tan(math.pi * (p - 0.5)), rel=1e-9, abs=1e-12
    )


@given(
    alpha=st.floats(1.05, 2.0),
    p=st.floats(0.02, 0.98),
)
def test_quantile_inverts_cdf_and_is_symmetric(alpha, p):
    q = theory.sas_quantile(p, alpha)
    assert theory.sas_cdf(q, alpha) == pytest.approx(p, abs=1e-10)
    assert theory.sas_quantile(1.0 - p, alpha) == pytest.approx(-q, rel=1e-9, abs=1e-10)


def test_quantiles_grow_as_alpha_falls():
    # heavier tails: the upper quantiles that set the detection threshold increase
    qs = [theory.sas_quantile(0.95, a) for a in (2.0, 1.8, 1.5, 1.2)]
    assert all(b > a for a, b in zip(qs, qs[1:], strict=False)), qs


@pytest.mark.parametrize("false_alarm", (0.01, 0.05, 0.2))
@pytest.mark.parametrize("alpha", (1.2, 1.6, 2.0))
def test_detection_threshold_has_the_stated_false_alarm_rate(alpha, false_alarm):
    eps = theory.detection_threshold(alpha, false_alarm)
    two_sided = 2.0 * stats.levy_stable.sf(eps, alpha, 0.0)
    assert two_sided == pytest.approx(false_alarm, rel=1e-7)


def test_kappa_at_two_and_symbolic():
    assert theory.kappa(2) == 2
    assert theory.kappa_expr.subs(noise.alpha_symbol, 2) == 2
    a = noise.alpha_symbol
    assert sp.simplify(theory.kappa_expr - a / (a - 1)) == 0
    assert sp.limit(theory.kappa_expr, a, 1, dir="+") == sp.oo
    assert theory.kappa(1.5) == pytest.approx(3.0, rel=1e-15)


@given(
    alpha=st.floats(1.01, 2.0),
    sigma=st.floats(1e-3, 1e3),
    log_n=st.floats(0.0, math.log(1e12)),
)
def test_mean_scale(alpha, sigma, log_n):
    n = math.exp(log_n)
    kap = alpha / (alpha - 1.0)
    assert theory.mean_scale(alpha, sigma, n) == pytest.approx(sigma * n ** (-1.0 / kap), rel=1e-12)
    ns = np.array([1.0, n])
    np.testing.assert_allclose(theory.mean_scale(alpha, sigma, ns), sigma * ns ** (-1 / kap))


def test_mean_scale_alpha_two_is_root_n():
    assert theory.mean_scale(2.0, 3.0, 100) == pytest.approx(0.3, rel=1e-14)


@pytest.mark.parametrize("alpha", (1.0, 0.5, 0.999))
def test_alpha_at_most_one_is_rejected_with_the_reason(alpha):
    with pytest.raises(ValueError, match=r"alpha.*mean does not exist"):
        theory.kappa(alpha)
    with pytest.raises(ValueError, match=r"alpha.*mean does not exist"):
        theory.mean_scale(alpha, 1.0, 10)


@pytest.mark.parametrize("alpha", (2.0001, 3.0, -1.0, 0.0, float("nan"), float("inf"), "x"))
def test_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha"):
        theory.kappa(alpha)
    with pytest.raises(ValueError, match="alpha"):
        theory.sas_quantile(0.9, alpha)
    with pytest.raises(ValueError, match="alpha"):
        theory.sas_cdf(0.3, alpha)


@pytest.mark.parametrize("p", (0.0, 1.0, -0.1, 1.5, float("nan")))
def test_bad_probability(p):
    with pytest.raises(ValueError, match="p must"):
        theory.sas_quantile(p, 1.5)
    with pytest.raises(ValueError, match="false_alarm"):
        theory.detection_threshold(1.5, p)


@pytest.mark.parametrize("sigma", (0.0, -1.0, float("nan")))
def test_bad_sigma(sigma):
    with pytest.raises(ValueError, match="sigma"):
        theory.mean_scale(1.5, sigma, 10)


@pytest.mark.parametrize("n", (0.5, 0, -3, float("nan"), float("inf")))
def test_bad_n(n):
    with pytest.raises(ValueError, match="N must"):
        theory.mean_scale(1.5, 1.0, n)
