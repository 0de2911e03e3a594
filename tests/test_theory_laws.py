"""Tests of theory.laws: the envelope templates, their inverses, evaluation and rendering."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from sympy.parsing.sympy_parser import parse_expr

import theory
from theory import ell

THETA = sp.Symbol("theta", positive=True)

DEFAULTS = {
    "exponential": {"A": 2.0, "tau": 20.0},
    "polynomial": {"A": 1.5, "beta": 1.5},
    "logarithmic": {"A": 1.0, "gamma": 2.0},
    "stretched_exponential": {"A": 1.0, "tau": 10.0, "gamma": 0.5},
    "tempered_power_law": {"A": 3.0, "beta": 1.0, "lam": 50.0},
}


def reference(name, p, x):
    """The THEORY.md table's f(ell), written directly in NumPy."""
    x = np.asarray(x, dtype=float)
    if name == "exponential":
        return p["A"] * np.exp(-x / p["tau"])
    if name == "polynomial":
        return p["A"] * (1 + x) ** (-p["beta"])
    if name == "logarithmic":
        return p["A"] * (1 + np.log1p(x)) ** (-p["gamma"])
    if name == "stretched_exponential":
        return p["A"] * np.exp(-((x / p["tau"]) ** p["gamma"]))
    return p["A"] * x ** (-p["beta"]) * np.exp(-x / p["lam"])


def table_inverse(name):
    """The THEORY.md table's H_N before the floor, as f^{-1}(theta)."""
    s = {k: v for k, v in theory.LAWS[name].symbols().items()}
    a = s["A"]
    if name == "exponential":
        return s["tau"] * sp.log(a / THETA)
    if name == "polynomial":
        return (a / THETA) ** (1 / s["beta"]) - 1
    if name == "logarithmic":
        return sp.exp((a / THETA) ** (1 / s["gamma"]) - 1) - 1
    if name == "stretched_exponential":
        return s["tau"] * sp.log(a / THETA) ** (1 / s["gamma"])
    b, lam = s["beta"], s["lam"]
    return b * lam * sp.LambertW((a / THETA) ** (1 / b) / (b * lam))


def test_registry_has_the_five_laws():
    assert set(theory.LAWS) == set(DEFAULTS)


def _eliminate_exp_of_lambertw(expr, w):
    # W(z) e^{W(z)} = z: replace exp(k W) by (z / W)**k, with W a positive symbol
    z, wsym = w.args[0], sp.Symbol("w", positive=True)
    return expr.subs(w, wsym).replace(
        lambda e: isinstance(e, sp.exp) and e.args[0].has(wsym),
        lambda e: (z / wsym) ** sp.cancel(e.args[0] / wsym),
    )


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_inverse_solves_f_equals_theta(name):
    cls = theory.LAWS[name]
    inv = cls.inverse()
    assert not inv.has(sp.I) and not inv.has(sp.ConditionSet)
    f_of_inv = cls.template.subs(ell, inv)
    for w in f_of_inv.atoms(sp.LambertW):
        f_of_inv = _eliminate_exp_of_lambertw(f_of_inv, w)
    # the inverse is used where theta <= A (log(A/theta) >= 0), so powers may be denested
    f_of_inv = sp.powdenest(sp.powsimp(f_of_inv, force=True), force=True)
    assert sp.simplify(f_of_inv - THETA) == 0


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_inverse_matches_the_theory_table(name):
    cls = theory.LAWS[name]
    inv = cls.inverse()
    diff = sp.simplify(sp.expand_log(inv - table_inverse(name), force=True))
    if diff != 0:  # fall back to numbers at random positive parameter values
        rng = np.random.default_rng(5)
        for _ in range(5):
            vals = {sym: sp.Float(rng.uniform(0.3, 3.0)) for sym in inv.free_symbols}
            vals[THETA] = sp.Float(0.05)
            assert abs(complex(sp.N(diff.subs(vals), 30))) < 1e-20
    # and the template itself is the table's f, at random parameters and lags
    p = DEFAULTS[name]
    law = cls(**p)
    lags = np.array([1.0, 2.0, 7.5, 40.0, 300.0])
    np.testing.assert_allclose(law(lags), reference(name, p, lags), rtol=1e-13)


PARAMS = {
    "exponential": {"tau": st.floats(0.5, 200.0)},
    "polynomial": {"beta": st.floats(0.2, 4.0)},
    "logarithmic": {"gamma": st.floats(0.3, 4.0)},
    "stretched_exponential": {"tau": st.floats(0.5, 100.0), "gamma": st.floats(0.2, 2.0)},
    "tempered_power_law": {"beta": st.floats(0.2, 3.0), "lam": st.floats(1.0, 500.0)},
}


@st.composite
def laws(draw):
    name = draw(st.sampled_from(sorted(PARAMS)))
    params = {k: draw(v) for k, v in PARAMS[name].items()}
    params["A"] = draw(st.floats(0.1, 10.0))
    return name, params


@given(laws(), st.floats(1.0, 1e4))
def test_numeric_evaluation_matches_reference(drawn, lag):
    name, p = drawn
    law = theory.make_law(name, **p)
    lags = np.array([lag, 2 * lag])
    ref = reference(name, p, lags)
    np.testing.assert_allclose(law(lags), ref, rtol=1e-11, atol=1e-300)
    assert isinstance(law(lag), float)
    # the log form is finite where f underflows, and agrees with log f where it does not
    logs = law.log(lags)
    assert np.all(np.isfinite(logs))
    ok = ref > 1e-290
    np.testing.assert_allclose(logs[ok], np.log(ref[ok]), rtol=1e-10, atol=1e-10)
    assert law(2 * lag) < law(lag) or law(lag) == 0.0


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_log_is_finite_far_beyond_underflow(name):
    law = theory.make_law(name, **DEFAULTS[name])
    assert math.isfinite(law.log(1e6)) and law.log(1e6) < law.log(1e3)


def test_lag_zero_is_finite_except_for_the_tempered_law():
    for name, p in DEFAULTS.items():
        law = theory.make_law(name, **p)
        assert law.min_lag == (1 if name == "tempered_power_law" else 0)
        if law.min_lag == 0:
            assert law(0.0) == pytest.approx(p["A"], rel=1e-15)
        else:
            assert law(0.0) == math.inf


def test_params_attributes_and_equality():
    law = theory.make_law("Stretched Exponential", tau=3.0, gamma=0.5)
    assert law.params == {"A": 1.0, "tau": 3.0, "gamma": 0.5}
    assert law.tau == 3.0 and law.A == 1.0
    assert law == theory.StretchedExponential(tau=3.0, gamma=0.5, A=1.0)
    assert law != theory.StretchedExponential(tau=3.0, gamma=0.6)
    assert hash(law) == hash(theory.StretchedExponential(tau=3.0, gamma=0.5))
    assert theory.make_law("tempered-power-law", beta=1.0, lam=2.0).name == "tempered_power_law"
    with pytest.raises(AttributeError):
        _ = law.beta


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_rendering_parses_back(name):
    law = theory.make_law(name, **DEFAULTS[name])
    syms = {s.name: s for s in law.template.free_symbols}
    # "lambda" is a Python keyword: give the parser another name for it
    text = law.text().replace("lambda", "lam_")
    local = {("lam_" if k == "lambda" else k): v for k, v in syms.items()}
    parsed = parse_expr(text, local_dict=local)
    assert sp.simplify(parsed - law.template) == 0
    numeric = parse_expr(law.text(numeric=True), local_dict={"ell": ell})
    assert parsed.free_symbols >= {ell}
    assert numeric.free_symbols == {ell}
    assert float(numeric.subs(ell, 3)) == pytest.approx(law(3.0), rel=1e-12)
    tex = law.latex()
    assert r"\ell" in tex and "A" in tex
    for spec in law.specs[1:]:
        assert sp.latex(spec.symbol) in tex, (spec.name, tex)
    tex_num = law.latex(numeric=True)
    assert r"\ell" in tex_num and "A" not in tex_num
    assert repr(law).startswith(type(law).__name__ + "(")


@pytest.mark.parametrize(
    "name, params, which",
    [
        ("exponential", {"tau": 0.0}, "tau"),
        ("exponential", {"tau": -2.0}, "tau"),
        ("exponential", {"tau": float("nan")}, "tau"),
        ("exponential", {"tau": float("inf")}, "tau"),
        ("exponential", {"tau": 1.0, "A": 0.0}, "A"),
        ("polynomial", {"beta": -1.0}, "beta"),
        ("polynomial", {"beta": "abc"}, "beta"),
        ("logarithmic", {"gamma": 0.0}, "gamma"),
        ("stretched_exponential", {"tau": 1.0, "gamma": float("nan")}, "gamma"),
        ("tempered_power_law", {"beta": 1.0, "lam": 0.0}, "lam"),
        ("tempered_power_law", {"beta": 1.0}, "lam"),
        ("exponential", {"tau": 1.0, "beta": 2.0}, "beta"),
    ],
)
def test_bad_parameters_name_the_parameter(name, params, which):
    with pytest.raises(ValueError, match=which):
        theory.make_law(name, **params)


def test_unknown_law_name():
    with pytest.raises(ValueError, match="unknown envelope law 'gaussian'"):
        theory.make_law("gaussian", tau=1.0)
