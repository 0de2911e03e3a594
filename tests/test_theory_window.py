"""Tests of theory.window: H_N in closed form, its integer value, and its growth regime."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st

import theory
from theory.complexity import KAPPA, NSYM
from theory.window import KSYM

DEFAULTS = {
    "exponential": {"A": 2.0, "tau": 20.0},
    "polynomial": {"A": 1.5, "beta": 1.5},
    "logarithmic": {"A": 1.0, "gamma": 2.0},
    "stretched_exponential": {"A": 1.0, "tau": 10.0, "gamma": 0.5},
    "tempered_power_law": {"A": 3.0, "beta": 1.0, "lam": 50.0},
}
NS = np.array([1.0, 10.0, 1e3, 1e6, 1e9, 1e12])


def window(name, alpha=1.5, **kw):
    return theory.learnability_window(theory.make_law(name, **DEFAULTS[name]), alpha, **kw)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_envelope_at_the_window_is_the_threshold(name):
    win = window(name, sigma=0.3)
    h = win.continuous(NS)
    theta = win.detection.theta(NS)
    pos = h > 0
    assert pos.sum() >= 3
    np.testing.assert_allclose(win.law(h[pos]), theta[pos], rtol=1e-9)
    # where H = 0 no positive lag qualifies: f(0) < theta (finite laws only)
    if win.law.min_lag == 0:
        assert np.all(win.law(0.0) < theta[~pos] * (1 + 1e-12))
    # the closed form with symbols: f(H_N) = K N**(-1/kappa)
    f_h = type(win.law).template.subs(theory.ell, win.symbolic)
    vals = {**win.law.subs_map(), KSYM: sp.Float(win.detection.prefactor), KAPPA: 3}
    for n in (1e6, 1e9):
        got = float(f_h.subs(vals).subs(NSYM, n))
        assert got == pytest.approx(win.detection.theta(n), rel=1e-9)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_window_grows_with_n_and_shrinks_with_heavier_tails(name):
    ns = np.logspace(2, 12, 11)
    by_alpha = []
    for alpha in (1.2, 1.5, 1.8, 2.0):
        h = window(name, alpha).continuous(ns)
        assert np.all(np.diff(h) >= 0) and h[-1] > h[0], (alpha, h)
        by_alpha.append(h)
    by_alpha = np.array(by_alpha)
    assert np.all(np.diff(by_alpha, axis=0) >= 0), by_alpha  # C5
    assert np.any(np.diff(by_alpha, axis=0) > 0)


REGIMES = {
    # name: (kind, exponent as a function of kappa)
    "exponential": ("logarithmic", lambda k: 1),
    "polynomial": ("polynomial", lambda k: sp.Rational(1) / (sp.Rational(3, 2) * k)),
    "logarithmic": ("exponential", lambda k: sp.Rational(1) / (2 * k)),
    "stretched_exponential": ("polylogarithmic", lambda k: 2),
    "tempered_power_law": ("logarithmic", lambda k: 1),
}


@pytest.mark.parametrize("alpha", (1.5, 2.0))
@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_regime_labels_and_exponents(name, alpha):
    win = window(name, alpha)
    kind, exponent = REGIMES[name]
    kap = sp.nsimplify(alpha / (alpha - 1))
    assert win.regime == kind
    assert sp.simplify(win.regime_info.exponent - exponent(kap)) == 0
    lead = win.leading
    assert not lead.has(sp.Limit) and not lead.has(sp.LambertW)
    assert lead.free_symbols == {NSYM}
    coef = float(win.regime_info.coefficient)
    p = DEFAULTS[name]
    if name == "exponential":
        assert coef == pytest.approx(p["tau"] / float(kap), rel=1e-12)
    if name == "tempered_power_law":
        assert coef == pytest.approx(p["lam"] / float(kap), rel=1e-12)


def test_stretched_gamma_one_is_logarithmic():
    law = theory.StretchedExponential(tau=4.0, gamma=1.0)
    win = theory.learnability_window(law, 1.5)
    assert win.regime == "logarithmic"
    assert float(win.regime_info.coefficient) == pytest.approx(4.0 / 3.0, rel=1e-12)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_leading_term_matches_at_large_n(name):
    win = window(name, 1.7)
    rel = []
    for n in (1e50, 1e100, 1e200):
        exact, lead = win.log1p(n), win.log1p_leading(n)
        assert math.isfinite(exact) and math.isfinite(lead)
        rel.append(abs(exact - lead) / exact)
    assert rel[2] < rel[1] < rel[0] or rel[2] < 1e-12, rel
    assert rel[2] < 0.02, rel


@st.composite
def cases(draw):
    name = draw(st.sampled_from(sorted(DEFAULTS)))
    if name == "exponential":
        p = {"tau": draw(st.floats(0.5, 100.0))}
    elif name == "polynomial":
        p = {"beta": draw(st.floats(0.5, 4.0))}
    elif name == "logarithmic":
        p = {"gamma": draw(st.floats(1.0, 6.0))}
    elif name == "stretched_exponential":
        p = {"tau": draw(st.floats(0.5, 50.0)), "gamma": draw(st.floats(0.3, 2.0))}
    else:
        p = {"beta": draw(st.floats(0.3, 3.0)), "lam": draw(st.floats(1.0, 200.0))}
    p["A"] = draw(st.floats(0.2, 5.0))
    alpha = draw(st.floats(1.05, 2.0, exclude_min=True))
    n = math.exp(draw(st.floats(0.0, math.log(1e12))))
    sigma = draw(st.floats(0.05, 3.0))
    return name, p, alpha, sigma, n


def brute_force_window(law, theta, cap):
    """Largest integer lag with f(lag) >= theta, by doubling and bisection on integers."""

    def ok(lag):
        return lag == 0 and law.min_lag > 0 or law(float(lag)) >= theta

    if not ok(0):
        return 0
    hi = 1
    while ok(hi):
        hi *= 2
        if hi > cap:
            return None
    lo = hi // 2  # ok(lo) holds, ok(hi) does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


@given(cases())
def test_closed_form_matches_brute_force_search(case):
    name, p, alpha, sigma, n = case
    law = theory.make_law(name, **p)
    win = theory.learnability_window(law, alpha, sigma=sigma)
    h = win.continuous(n)
    assume(math.isfinite(h) and h < 2.0**50)
    # away from ties: the continuous window is not within 1e-9 of an integer
    assume(abs(h - round(h)) > 1e-9 * max(1.0, h))
    theta = win.detection.theta(n)
    brute = brute_force_window(law, theta, 2**52)
    assert brute is not None
    assert win(n) == brute, (h, theta)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_numeric_evaluation_finite_and_real(name):
    ns = np.logspace(0, 15, 31)
    for alpha in (1.05, 1.5, 2.0):
        win = window(name, alpha)
        h = win.continuous(ns)
        l1p = win.log1p(ns)
        assert np.all(np.isfinite(l1p)) and np.all(l1p >= 0)
        assert np.isrealobj(h)
        if name == "logarithmic":
            big = ~np.isfinite(h)
            if big.any():  # beyond float64's range only: above 2**62 the window is an int
                with pytest.raises(OverflowError, match="log1p"):
                    win(ns)
            else:
                got = [int(v) for v in win(ns)]
                assert [g for g in got if g >= 0] == [math.floor(v) for v in h[win.learnable(ns)]]
            small = ~big
            np.testing.assert_allclose(np.log1p(h[small]), l1p[small], rtol=1e-9, atol=1e-12)
        else:
            assert np.all(np.isfinite(h)), (alpha, h)
            np.testing.assert_allclose(np.log1p(h), l1p, rtol=1e-9, atol=1e-12)
            assert win(ns).dtype == np.int64


def test_logarithmic_law_overflows_with_a_pointer_to_log1p():
    win = window("logarithmic", 2.0)
    with pytest.raises(OverflowError, match=r"log1p"):
        win(1e15)
    assert math.isfinite(win.log1p(1e15))


def test_tempered_law_uses_the_real_branch():
    # at N = 1 the Lambert-W argument is small and branch 0 is real and positive
    win = theory.learnability_window(theory.TemperedPowerLaw(beta=2.0, lam=3.0), 1.3)
    h = win.continuous(np.array([1.0, 2.0, 1e4]))
    assert h.dtype == np.float64 and np.all(h > 0)
    assert isinstance(win.continuous(1.0), float)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_rendering(name):
    win = window(name)
    for numeric in (False, True):
        tex, txt = win.latex(numeric=numeric), win.text(numeric=numeric)
        assert tex.startswith("H_N = ") and r"\lfloor" in tex
        assert txt.startswith("H_N = floor(") and "N" in txt
    assert r"\kappa_{\alpha}" in win.latex() and "K" in win.latex()
    assert "kappa" not in win.text(numeric=True)
    if name == "tempered_power_law":
        assert r"W" in win.latex() and "LambertW" in win.text()


def test_bad_input():
    win = window("exponential")
    for n in (0, 0.5, float("nan"), float("inf"), -2):
        with pytest.raises(ValueError, match="N must"):
            win(n)
    with pytest.raises(ValueError, match="law"):
        theory.learnability_window(object(), 1.5)
    with pytest.raises(ValueError, match="mean does not exist"):
        theory.learnability_window(theory.Exponential(tau=1.0), 0.8)
