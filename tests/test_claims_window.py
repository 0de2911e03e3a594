"""The detection and window claims (C1-C5, R1) fail under plausible planted errors.

Each error is planted by monkeypatching one definition (never by editing a file), at the
same places a mutation matrix would: ``theory.complexity.Detection.prefactor``, ``.rate``,
``.q_power``, ``.theta``/``.log_theta``; ``theory.complexity.detection_threshold``;
``theory.window.LearnabilityWindow.__call__``; ``theory.laws.StretchedExponential.inverse``;
``verify.noise.stable._check_common``.  The claims run on a small profile ``MUT``; with
the correct code they pass (a false alarm has probability at most ``FA`` per claim), and
under each error the listed claims must reach the verdict ``fail`` (not ``error``: a wrong
theory is a FAIL with numbers).  The sizes of the planted errors (5 %, one lag) lie far
above the resolutions the claims state (checked below), so each kill is a power statement,
not luck.  Seeds are fixed: the outcomes are reproducible.
"""

import math

import numpy as np
import pytest

import theory
from theory import complexity, laws
from theory import window as twin
from verify.claims import base
from verify.claims import growth as cg
from verify.claims import levels as cl
from verify.claims import noise as _noise  # noqa: F401  (registers C1, C2, R1)
from verify.claims import window as cw
from verify.noise import stable

#: False-alarm budget handed to each claim check.
FA = 1e-3
SEED = 20240611

MUT = base.Profile(
    "mutations",
    trials=600,
    target_ns=(100, 1000, 3000),
    window_ns=(100, 1000, 10_000, 100_000),
    window_trials=100,
    shortcut_trials=200_000,
    alphas=(1.2, 1.5, 2.0),
    c1_ns=(10, 100),
    c1_trials=2000,
)


def _run(cid, seed=SEED, profile=MUT):
    return base.CLAIMS[cid][1](profile, seed, FA)


def _clear_theory_caches():
    twin.symbolic_regime.cache_clear()
    twin._h_of_l.cache_clear()
    laws.StretchedExponential.inverse.__func__.cache_clear()


# ------------------------------------------------------------------------------------------
# planted errors
# ------------------------------------------------------------------------------------------
def _prop(mp, name, fn):
    orig = getattr(complexity.Detection, name)
    mp.setattr(complexity.Detection, name, property(lambda self: fn(self, orig.fget(self))))


def _prefactor(factor):
    return lambda mp: _prop(mp, "prefactor", lambda s, k: k * factor)


def _rate_alpha(mp):
    _prop(mp, "rate", lambda s, r: r if s.estimator == "median" else s.alpha)


def _q_two_sided(mp):
    q = lambda s, v: v if s.estimator == "median" else theory.sas_quantile(1 - s.delta / 2, s.alpha)  # noqa: E731, E501
    _prop(mp, "q_power", q)


def _eps_one_sided(mp):
    mp.setattr(complexity, "detection_threshold", lambda a, fa=0.05: theory.sas_quantile(1 - fa, a))


def _theta(factor):
    def plant(mp):
        theta, log_theta = complexity.Detection.theta, complexity.Detection.log_theta
        mp.setattr(complexity.Detection, "theta", lambda self, n: theta(self, n) * factor)
        mp.setattr(
            complexity.Detection, "log_theta", lambda self, n: log_theta(self, n) + math.log(factor)
        )

    return plant


def _window_shift(shift):
    def plant(mp):
        call = twin.LearnabilityWindow.__call__
        mp.setattr(twin.LearnabilityWindow, "__call__", lambda self, n: call(self, n) + shift)

    return plant


def _window_ceil(mp):
    call = twin.LearnabilityWindow.__call__

    def ceil_call(self, n):
        h = call(self, n)
        if h < 0:
            return h
        return int(np.ceil(self.continuous(n)))

    mp.setattr(twin.LearnabilityWindow, "__call__", ceil_call)


def _inverse_gamma(mp):
    orig = laws.StretchedExponential.inverse.__func__

    def inverse(klass):
        expr = orig(klass)
        g = next(s for s in expr.free_symbols if s.name == "gamma")
        return expr.subs(g, 1 / g)

    mp.setattr(laws.StretchedExponential, "inverse", classmethod(inverse))


def _sampler(sigma_factor=1.0, beta=None):
    def plant(mp):
        orig = stable._check_common

        def check(alpha, b, sigma, param):
            a, b2, s = orig(alpha, b, sigma, param)
            return a, (b2 if beta is None else beta), s * sigma_factor

        mp.setattr(stable, "_check_common", check)

    return plant


def _median_rate_kappa(mp):
    _prop(mp, "rate", lambda s, r: s.alpha / (s.alpha - 1) if s.estimator == "median" else r)


_slow = pytest.mark.slow
#: (name, plant, claims that must FAIL); the default run takes one error per claim and
#: the cheap ones, the rest are marked slow.
MUTATIONS = [
    ("K*0.95", _prefactor(0.95), ("C2", "C3", "C5")),
    pytest.param("K*1.05", _prefactor(1.05), ("C2", "C3", "C5"), marks=_slow),
    ("kappa->alpha", _rate_alpha, ("C2", "C3", "C4", "C5")),
    pytest.param("H+1", _window_shift(1), ("C3", "C5"), marks=_slow),
    ("H-1", _window_shift(-1), ("C3", "C5")),
    ("ceil", _window_ceil, ("C3", "C5")),
    pytest.param("theta*1.05", _theta(1.05), ("C3", "C5"), marks=_slow),
    pytest.param("q-two-sided", _q_two_sided, ("C2", "C3", "C5"), marks=_slow),
    ("eps-one-sided", _eps_one_sided, ("C2",)),
    pytest.param("sigma*1.05", _sampler(sigma_factor=1.05), ("C1", "C2", "C3"), marks=_slow),
    pytest.param("skewed", _sampler(beta=0.5), ("C1", "C2"), marks=_slow),
    pytest.param("inverse", _inverse_gamma, ("C3", "C4"), marks=_slow),
    ("median-rate-kappa", _median_rate_kappa, ("R1",)),
]


@pytest.fixture(scope="module")
def baseline():
    return {cid: _run(cid) for cid in ("C1", "C2", "C3", "C4", "C5", "R1")}


@pytest.mark.parametrize("cid", ["C1", "C2", "C3", "C4", "C5", "R1"])
def test_correct_code_passes_with_resolution(baseline, cid):
    # false alarm: each claim fails with the correct code with probability <= FA
    r = baseline[cid]
    assert r.verdict == "pass", r.as_dict()
    assert r.negative_control["rejected"] is True
    assert r.resolution, "every claim states its resolution"


def test_resolutions_are_below_the_planted_errors(baseline):
    # the planted errors (5 % in K, sigma, theta; one lag) must lie above what is resolved
    assert baseline["C2"].resolution["K (relative)"] < 0.05
    assert baseline["C3"].resolution["theta_N (relative)"] < 0.05
    assert baseline["C5"].resolution["theta_N (relative)"] < 0.05
    assert baseline["C4"].resolution["growth rate (relative)"] < 0.10
    assert baseline["C1"].resolution["sigma (relative)"] < 0.05


@pytest.mark.parametrize("name, plant, killers", MUTATIONS)
def test_planted_error_is_killed(monkeypatch, name, plant, killers):
    _clear_theory_caches()
    plant(monkeypatch)
    try:
        for cid in killers:
            r = _run(cid)
            assert r.verdict == "fail", (name, cid, r.measured, r.notes)
    finally:
        monkeypatch.undo()
        _clear_theory_caches()


# ------------------------------------------------------------------------------------------
# the pieces the window claims are built from
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("law", cw.WINDOW_LAWS, ids=[law.name for law in cw.WINDOW_LAWS])
def test_window_at_agrees_with_the_closed_form(law):
    det = theory.Detection(1.5)
    win = theory.LearnabilityWindow(law, det)
    for n in (100, 1000, 10_000, 100_000):
        theta = det.theta(n)
        assert cw.window_at(law, theta) == win(n)
        h = cw.continuous_window_at(law, theta)
        assert h == pytest.approx(win.continuous(n), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("law", cw.WINDOW_LAWS, ids=[law.name for law in cw.WINDOW_LAWS])
def test_growth_coordinate_is_affine_in_log_n_with_the_sympy_rate(law):
    # deterministic: along the closed-form windows the coordinate grows exactly at the rate
    # the SymPy leading term states
    det = theory.Detection(1.5)
    win = theory.LearnabilityWindow(law, det)
    y_of, _ = cg._growth(law)
    ns = np.array([1e3, 1e5, 1e7])
    ys = [y_of(cw.continuous_window_at(law, det.theta(n))) for n in ns]
    slopes = np.diff(ys) / np.diff(np.log(ns))
    assert slopes == pytest.approx(cg.sympy_growth(law, win.regime_info), rel=1e-6)


def test_window_at_no_lag():
    law = theory.Exponential(A=3.0, tau=5.0)
    assert cw.window_at(law, 3.5) == cl.NO_LAG
    assert cw.window_at(law, 3.0) == 0
    assert cw.continuous_window_at(law, 3.5) == 0.0
    # the tempered power law diverges at 0: lag 0 always qualifies
    assert cw.window_at(theory.TemperedPowerLaw(A=3.0, beta=0.5, lam=20.0), 1e3) == 0
