"""Tests of theory.complexity: N(ell) with its prefactor, and the v1 exponent."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import theory


def scipy_prefactor(alpha, sigma, c, delta, false_alarm):
    eps = stats.levy_stable.ppf(1 - false_alarm / 2, alpha, 0.0)
    q = stats.levy_stable.ppf(1 - delta, alpha, 0.0)
    return (eps + q) * sigma / c


@given(
    alpha=st.floats(1.05, 2.0),
    sigma=st.floats(0.1, 10.0),
    c=st.floats(0.1, 10.0),
    delta=st.floats(0.05, 0.5),
    tau=st.floats(1.0, 50.0),
)
def test_prefactor_against_scipy_quantiles(alpha, sigma, c, delta, tau):
    law = theory.Exponential(tau=tau)
    n_of = theory.sample_complexity(law, alpha, sigma, c, delta)
    kap = alpha / (alpha - 1)
    k = scipy_prefactor(alpha, sigma, c, delta, 0.05)
    for lag in (0.0, 1.0, 3.0 * tau):
        expected = (k / math.exp(-lag / tau)) ** kap
        assert n_of.continuous(lag) == pytest.approx(expected, rel=1e-9)
        if expected < 1e15 and abs(expected - round(expected)) > 1e-6 * expected:
            assert n_of(lag) == math.ceil(expected)


@pytest.mark.parametrize("alpha", (1.2, 1.5, 1.8))
def test_loglog_slope_kappa_versus_v1(alpha):
    law = theory.Polynomial(beta=1.0)
    lags = np.array([10.0, 30.0, 100.0, 300.0, 1000.0])
    logf = np.log(law(lags))
    ours = theory.sample_complexity(law, alpha)
    v1 = theory.sample_complexity(law, alpha, exponent="alpha")
    slope = np.polyfit(logf, np.log(ours.continuous(lags)), 1)[0]
    slope_v1 = np.polyfit(logf, np.log(v1.continuous(lags)), 1)[0]
    assert slope == pytest.approx(-alpha / (alpha - 1), rel=1e-9)
    assert slope_v1 == pytest.approx(-alpha, rel=1e-9)
    ratio = ours.continuous(lags) / v1.continuous(lags)
    assert np.all(np.diff(ratio) > 0), ratio  # the two predictions part ways with the lag
    # the ratio is K**(kappa - alpha) f**(alpha - kappa): its growth is fixed by the slopes
    growth = math.exp((logf[0] - logf[-1]) * (alpha / (alpha - 1) - alpha))
    assert ratio[-1] / ratio[0] == pytest.approx(growth, rel=1e-9)


def test_v1_coincides_at_alpha_two():
    law = theory.StretchedExponential(tau=5.0, gamma=0.7)
    ours = theory.sample_complexity(law, 2.0)
    v1 = theory.sample_complexity(law, 2.0, exponent="alpha")
    lags = np.arange(0.0, 40.0)
    np.testing.assert_allclose(ours.continuous(lags), v1.continuous(lags), rtol=1e-14)
    assert ours.detection.rate == v1.detection.rate == 2


@pytest.mark.parametrize(
    "name, params",
    [
        ("exponential", {"tau": 8.0}),
        ("polynomial", {"beta": 0.8}),
        ("tempered_power_law", {"beta": 0.5, "lam": 20.0}),
    ],
)
def test_window_is_the_largest_lag_with_n_at_most_n(name, params):
    law = theory.make_law(name, **params)
    n_of = theory.sample_complexity(law, 1.6, sigma=0.5)
    win = theory.learnability_window(law, 1.6, sigma=0.5)
    lags = np.arange(law.min_lag, 400 if name == "exponential" else 5000)
    n_needed = n_of(lags)
    assert np.all(np.diff(n_needed) >= 0)
    for n in (1, 7, 50, 1000, 10**5, 10**7):
        ok = lags[n_needed <= n]
        # a law infinite at lag 0 (tempered) always has lag 0: the window is then 0, not none
        # none learnable: -1 (NO_LAG), or 0 for the tempered law, whose N(0) = 0
        brute = int(ok.max()) if ok.size else law.min_lag - 1
        assert win(n) == brute, (n, win.continuous(n))


def test_expr_matches_numbers_and_renders():
    law = theory.Polynomial(A=2.0, beta=1.5)
    n_of = theory.sample_complexity(law, 1.5, sigma=2.0, c=0.5)
    val = float(n_of.expr.subs(theory.ell, 9))
    assert val == pytest.approx(n_of.continuous(9.0), rel=1e-12)
    assert int(n_of.expr_ceil.subs(theory.ell, 9)) == n_of(9)
    for s in (n_of.latex(), n_of.latex(numeric=True), n_of.text(), n_of.text(numeric=True)):
        assert isinstance(s, str) and s
    assert r"\kappa_{\alpha}" in n_of.latex() and r"\lceil" in n_of.latex()
    assert "ceiling" in n_of.text() and "kappa_alpha" in n_of.text()
    assert "ell" in n_of.text(numeric=True) and "kappa" not in n_of.text(numeric=True)
    assert n_of.detection.as_dict()["rate"] == pytest.approx(3.0)


def test_n_is_finite_and_integer_where_representable():
    n_of = theory.sample_complexity(theory.Exponential(tau=1.0), 1.1)
    assert isinstance(n_of(0), int) and n_of(0) >= 1
    assert isinstance(n_of(40), float)  # beyond 2**63: kept as a float
    assert math.isfinite(n_of.log(1e6))
    assert n_of.continuous(1e6) == math.inf


@pytest.mark.parametrize(
    "kwargs, which",
    [
        ({"alpha": 1.0}, "mean does not exist"),
        ({"alpha": 2.5}, "alpha"),
        ({"alpha": float("nan")}, "alpha"),
        ({"sigma": 0.0}, "sigma"),
        ({"sigma": -1.0}, "sigma"),
        ({"c": 0.0}, "c must"),
        ({"c": float("nan")}, "c must"),
        ({"delta": 0.0}, "delta"),
        ({"delta": 1.0}, "delta"),
        ({"false_alarm": 1.5}, "false_alarm"),
        ({"epsilon": -1.0}, "epsilon"),
        ({"exponent": "beta"}, "exponent"),
    ],
)
def test_bad_input(kwargs, which):
    args = {"alpha": 1.5, **kwargs}
    with pytest.raises(ValueError, match=which):
        theory.sample_complexity(theory.Exponential(tau=2.0), **args)
    with pytest.raises(ValueError, match=which):
        theory.learnability_window(theory.Exponential(tau=2.0), **args)


def test_bad_law_and_n():
    with pytest.raises(ValueError, match="law"):
        theory.sample_complexity("exponential", 1.5)
    det = theory.sample_complexity(theory.Exponential(tau=2.0), 1.5).detection
    for n in (0.5, float("nan"), -1):
        with pytest.raises(ValueError, match="N must"):
            det.theta(n)
