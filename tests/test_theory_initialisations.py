"""The spectra of the standard initialisations: closed forms, asymptotic laws, windows."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

import theory
from theory import initialisations as ini
from theory.laws import ell


def test_rglru_closed_form_is_the_integral():
    spec = ini.rglru(gate=0.5)
    w1, w2, s = 0.81, 0.999**2, 2.0
    for lag in (0, 1, 7, 100, 2000):
        want = mpmath.quad(lambda w, k=lag: w ** (s * k), [w1, w2]) / (w2 - w1)
        assert spec.envelope(float(lag)) == pytest.approx(float(want), rel=1e-10)
        assert float(spec.expr.subs(ell, lag)) == pytest.approx(float(want), rel=1e-10)


def test_s4d_real_closed_form_is_the_integral():
    spec = ini.S4DReal(states=3, dt_min=1e-3, dt_max=1e-1)
    lo, hi = math.log(1e-3), math.log(1e-1)
    for lag in (1, 30, 1000, 20000):
        want = sum(mpmath.quad(lambda v, n=n, k=lag: mpmath.exp(-n * k * mpmath.exp(v)),
                               [lo, hi]) for n in (1, 2, 3)) / (3 * (hi - lo))  # fmt: skip
        assert spec.envelope(float(lag)) == pytest.approx(float(want), rel=1e-8)
    assert float(spec.expr.subs(ell, 30)) == pytest.approx(spec.envelope(30.0), rel=1e-10)


def test_samplers_follow_the_closed_forms():
    rng = np.random.default_rng(0)
    for spec in (ini.rglru(), ini.S4DReal(16), ini.griffin_paper()):
        r = spec.sample(400_000, rng)
        for lag in (1, 10, 100):
            m, se = np.mean(r**lag), np.std(r**lag) / np.sqrt(r.size)
            assert abs(m - spec.envelope(float(lag))) < 5 * se, (spec, lag)


def test_asymptotic_laws_from_limits():
    rg = ini.rglru()
    law = rg.law()
    assert law.name == "tempered_power_law" and law.params["beta"] == 1.0
    big = 5000.0
    assert rg.envelope(big) / float(rg.asymptotic.subs(ell, big)) == pytest.approx(1, rel=1e-3)
    assert law(big) / rg.envelope(big) == pytest.approx(1, rel=1e-3)
    mb = ini.S4DReal(16)
    assert mb.law().params["lam"] == pytest.approx(1000.0)
    huge = 2e5
    ratio = mb.envelope(huge) / float(mb.asymptotic.subs(ell, huge))
    assert ratio == pytest.approx(1, rel=1e-2)
    assert sp.simplify(ini.mingru_at_init().expr - sp.Rational(1, 2) ** ell) == 0


def test_wrong_spectra_differ():
    good = ini.S4DReal(16)
    assert ini.S4DReal(16, dt_min=1e-4, dt_max=1e-2).envelope(100.0) > 2 * good.envelope(100.0)
    assert ini.S4DReal(16, a_scale=0.5).envelope(100.0) > 1.3 * good.envelope(100.0)
    # the text's law (a**c uniform on [0.9, 0.999]) retains far longer than the code's
    assert ini.griffin_paper().envelope(50.0) > 5 * ini.rglru().envelope(50.0)


def test_window_of_the_exact_envelope():
    spec = ini.rglru()
    h = ini.window(spec.log_envelope, 2.0, 1e4)
    theta = theory.Detection(2.0).theta(1e4)
    assert spec.envelope(float(h)) >= theta > spec.envelope(float(h + 1))
    assert ini.window(spec.log_envelope, 2.0, 1e6) > h
    assert ini.window(spec.log_envelope, 2.0, 1.0) == -1  # lag 0 needs more than one sample
    hom = ini.mingru_at_init()
    assert ini.window(hom.log_envelope, 2.0, 1e4) == int(
        math.floor(math.log(theta) / math.log(0.5))
    )


def test_bad_parameters_named():
    with pytest.raises(ValueError, match="dt_max must exceed"):
        ini.S4DReal(dt_min=0.1, dt_max=0.01)
    with pytest.raises(ValueError, match="gate"):
        ini.rglru(gate=1.5)
    with pytest.raises(ValueError, match="w2"):
        ini.UniformPowerRetention(0.9, 0.5, 1.0)
