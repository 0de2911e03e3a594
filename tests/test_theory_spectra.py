"""Tests of theory.spectra: envelopes E[r**ell] derived from gate spectra."""

import math

import numpy as np
import pytest
import sympy as sp

import theory
from theory import ell, spectra

CASES = {
    "homogeneous": {"r0": 0.9},
    "beta": {"a": 3.0, "b": 1.5},
    "uniform": {"r1": 0.5},
    "log_uniform": {"tau_min": 2.0, "tau_max": 100.0},
}
LAGS = np.array([1.0, 3.0, 10.0, 30.0, 100.0])
# 200 000 draws per spectrum; 5 standard errors: a correct envelope fails one lag with
# probability ~6e-7, so the 4 spectra x 5 lags here fail with probability ~1e-5
N_DRAWS = 200_000
N_SE = 5.0


def mc_agreement(samples, envelope):
    """Per lag: |mean(r**ell) - envelope| <= N_SE standard errors (plus rounding)."""
    powers = samples[None, :] ** LAGS[:, None]
    mean = powers.mean(axis=1)
    se = powers.std(axis=1, ddof=1) / math.sqrt(samples.size)
    return np.abs(mean - envelope) <= N_SE * se + 1e-12


@pytest.mark.parametrize("name", sorted(CASES))
def test_envelope_is_the_monte_carlo_mean(name):
    spec = spectra.make_spectrum(name, **CASES[name])
    rng = np.random.default_rng(np.random.SeedSequence(2024))
    r = spec.sample(N_DRAWS, rng)
    assert r.shape == (N_DRAWS,) and np.all((r > 0) & (r < 1))
    ok = mc_agreement(r, spec.envelope(LAGS))
    assert ok.all(), (LAGS[~ok], spec.envelope(LAGS[~ok]))


@pytest.mark.parametrize(
    "name, other",
    [("beta", "homogeneous"), ("uniform", "beta"), ("log_uniform", "uniform")],
)
def test_negative_control_other_envelope_is_rejected(name, other):
    spec = spectra.make_spectrum(name, **CASES[name])
    wrong = spectra.make_spectrum(other, **CASES[other])
    r = spec.sample(N_DRAWS, np.random.default_rng(np.random.SeedSequence(7)))
    assert not mc_agreement(r, wrong.envelope(LAGS)).all()


def test_beta_envelope_is_the_gamma_ratio():
    a, b = spectra.BetaRetention.symbols["a"], spectra.BetaRetention.symbols["b"]
    expected = sp.gamma(a + b) * sp.gamma(a + ell) / (sp.gamma(a) * sp.gamma(a + b + ell))
    got = spectra.BetaRetention.symbolic_envelope()
    assert sp.simplify(sp.gammasimp(got - expected)) == 0


def test_uniform_envelope_closed_form():
    r1 = spectra.UniformRetention.symbols["r1"]
    expected = (1 - r1 ** (ell + 1)) / ((ell + 1) * (1 - r1))
    assert sp.simplify(spectra.UniformRetention.symbolic_envelope() - expected) == 0


def test_homogeneous_and_log_uniform_closed_forms_numerically():
    h = spectra.Homogeneous(0.8)
    np.testing.assert_allclose(h.envelope(LAGS), 0.8**LAGS, rtol=1e-13)
    lu = spectra.LogUniformTimescales(2.0, 100.0)
    # E[exp(-ell/tau)] for log-uniform tau, by quadrature in u = ln tau
    from scipy import integrate

    for lag in (1.0, 10.0, 50.0):
        ref, _ = integrate.quad(
            lambda u, lag=lag: math.exp(-lag * math.exp(-u)),
            math.log(2.0),
            math.log(100.0),
            epsabs=0,
            epsrel=1e-13,
        )
        assert lu.envelope(lag) == pytest.approx(ref / math.log(50.0), rel=1e-10)
    assert lu.envelope(0.0) == 1.0


@pytest.mark.parametrize("name", sorted(CASES))
def test_asymptotic_form_and_law(name):
    spec = spectra.make_spectrum(name, **CASES[name])
    asym = spec.asymptotic
    assert not asym.has(sp.Limit) and asym.free_symbols <= {ell}
    log_asym = sp.lambdify(ell, sp.expand_log(sp.log(asym), force=True), "mpmath")
    law = spec.law()
    gaps, law_gaps = [], []
    for lag in (1e2, 1e3, 1e4, 1e5):
        le = spec.log_envelope(lag)
        assert math.isfinite(le)
        gaps.append(abs(le - float(log_asym(lag))))
        law_gaps.append(abs(law.log(lag) - le))
    # envelope / asymptotic -> 1 and the matching law agrees at large lags
    assert gaps[-1] < 1e-3 and (gaps[-1] < gaps[0] or gaps[0] < 1e-10), gaps
    assert law_gaps[-1] < 1e-3 and (law_gaps[-1] < law_gaps[0] or law_gaps[0] < 1e-10)
    expected_law = {
        "homogeneous": theory.Exponential,
        "beta": theory.Polynomial,
        "uniform": theory.Polynomial,
        "log_uniform": theory.TemperedPowerLaw,
    }[name]
    assert type(law) is expected_law


def test_laws_have_the_stated_parameters():
    assert spectra.Homogeneous(0.9).law().tau == pytest.approx(-1 / math.log(0.9))
    assert spectra.BetaRetention(3.0, 1.5).law().beta == 1.5
    assert spectra.UniformRetention(0.5).law().A == pytest.approx(2.0)
    assert spectra.LogUniformTimescales(2.0, 100.0).law().lam == 100.0


def test_broader_spectrum_has_a_larger_window_at_large_n():
    # C6: equal mean retention, Beta spectrum (mass near 1) versus a single retention
    beta = spectra.BetaRetention(9.0, 1.0)
    homo = spectra.Homogeneous(beta.mean_retention)
    assert homo.mean_retention == pytest.approx(beta.mean_retention, rel=1e-12)
    w_beta = theory.learnability_window(beta.law(), 1.5)
    w_homo = theory.learnability_window(homo.law(), 1.5)
    assert w_beta.regime == "polynomial" and w_homo.regime == "logarithmic"
    assert w_beta(1e12) > w_homo(1e12)


@pytest.mark.parametrize(
    "name, params, which",
    [
        ("homogeneous", {"r0": 1.0}, "r0"),
        ("homogeneous", {"r0": 0.0}, "r0"),
        ("homogeneous", {"r0": float("nan")}, "r0"),
        ("beta", {"a": 0.0, "b": 1.0}, "a must"),
        ("beta", {"a": 1.0, "b": -1.0}, "b must"),
        ("uniform", {"r1": 1.0}, "r1"),
        ("uniform", {"r1": -0.1}, "r1"),
        ("log_uniform", {"tau_min": 5.0, "tau_max": 5.0}, "tau_max"),
        ("log_uniform", {"tau_min": 0.0, "tau_max": 5.0}, "tau_min"),
    ],
)
def test_bad_parameters(name, params, which):
    with pytest.raises(ValueError, match=which):
        spectra.make_spectrum(name, **params)


def test_unknown_spectrum():
    with pytest.raises(ValueError, match="unknown gate spectrum 'gaussian'"):
        spectra.make_spectrum("gaussian", a=1.0)


def test_wrong_parameter_names_name_the_expected_ones():
    with pytest.raises(ValueError, match=r"takes parameters \('a', 'b'\)"):
        spectra.make_spectrum("beta", alpha=1.0, b=2.0)
