"""The gate spectra of today's standard initialisations, their envelopes and windows.

For a diagonal linear recurrence ``h_t = a_t h_{t-1} + b_t`` the transport is the product
of retentions, so an initialiser that draws each unit's retention from a law *is* a gate
spectrum, and the envelope per unit is ``E[prod_j a_j]`` in closed form:

* **RG-LRU** (Griffin, RecurrentGemma): ``a_t = a**(c r_t)`` with ``c = 8`` and ``a**2``
  uniform on ``[min_rad**2, max_rad**2]`` (``[0.9**2, 0.999**2]``: the ring-area law of the
  code; Griffin's text describes ``a**c`` uniform on ``[0.9, 0.999]``, also covered).  With
  the recurrence gate at ``r_t = rho``, ``a_t = w**s`` with ``w`` uniform and ``s = c rho / 2``:
  :class:`UniformPowerRetention`, ``E[r**ell] = (w_2**(s ell + 1) - w_1**(s ell + 1)) /
  ((s ell + 1)(w_2 - w_1)) ~ ell**-1 w_2**(s ell)``.  Gate biases are zero at init and the
  gate weights small (variance 0.01 / block width), so ``r_t`` is near 1/2.
* **Mamba** (S4D-real): state ``n = 1..N`` of channel ``e`` retains ``exp(-n delta_e)``, with
  ``delta = softplus(dt bias)`` log-uniform on ``[dt_min, dt_max]`` (``[1e-3, 1e-1]``) where
  the input-dependent part of ``delta`` is off: :class:`S4DReal`, a mixture over ``n`` of
  log-uniform time constants ``1 / (n delta)``, ``E[r**ell] = (1/N) sum_n (E1(n ell dt_min)
  - E1(n ell dt_max)) / ln(dt_max / dt_min) ~ e^{-ell dt_min} / ell``.
* **minGRU** (no biases): the retention ``sigmoid(-w.x_t)`` has mean exactly 1/2 for inputs
  of any symmetric law and is independent across positions for independent inputs, so
  ``E[prod_j a_j] = 2**-ell``: :func:`mingru_at_init`, ``Homogeneous(1/2)``.

:func:`window` gives H_N from the exact envelope (the largest lag whose envelope reaches
the threshold ``theta_N`` of :class:`theory.complexity.Detection`); the asymptotic laws'
windows come from :func:`theory.learnability_window`.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ._validate import check_in_range, check_int, check_positive
from .complexity import Detection
from .laws import TemperedPowerLaw, ell
from .spectra import GateSpectrum, Homogeneous, LogUniformTimescales

__all__ = [
    "RGLRU_C",
    "S4DReal",
    "UniformPowerRetention",
    "griffin_paper",
    "mingru_at_init",
    "rglru",
    "window",
]

#: The constant ``c`` of the RG-LRU's ``a_t = a**(c r_t)``.
RGLRU_C = 8
W = sp.Symbol("w", positive=True)


class UniformPowerRetention(GateSpectrum):
    """Retention ``r = w**s`` with ``w ~ Uniform(w_1, w_2)``, ``0 < w_1 < w_2 < 1``, ``s > 0``."""

    name = "uniform_power"
    symbols = {
        "w1": sp.Symbol("w_1", positive=True),
        "w2": sp.Symbol("w_2", positive=True),
        "s": sp.Symbol("s", positive=True),
    }

    def __init__(self, w1, w2, s):
        lo = check_in_range("w1", w1, 0.0, 1.0, lo_open=True, hi_open=True)
        hi = check_in_range("w2", w2, lo, 1.0, lo_open=True, hi_open=True)
        super().__init__(w1=lo, w2=hi, s=check_positive("s", s))

    @classmethod
    def _symbolic_envelope(cls):
        w1, w2, s = (cls.symbols[k] for k in ("w1", "w2", "s"))
        return sp.simplify(sp.integrate(W ** (s * ell) / (w2 - w1), (W, w1, w2), conds="none"))

    def log_envelope(self, lag):
        """``ln E[r**ell]``, the closed form of :attr:`expr` in a stable form.

        ``(k+1) ln w_2 + log1p(-(w_1/w_2)**(k+1)) - ln(k+1) - ln(w_2 - w_1)``, ``k = s ell``.
        """
        w1, w2, s = (self._params[k] for k in ("w1", "w2", "s"))
        k1 = s * np.asarray(lag, dtype=float) + 1.0
        out = k1 * math.log(w2) + np.log1p(-((w1 / w2) ** k1)) - np.log(k1) - math.log(w2 - w1)
        return float(out) if np.ndim(out) == 0 else out

    def _asymptotic_form(self):
        p = self.subs_map()
        w2, s = p[self.symbols["w2"]], p[self.symbols["s"]]
        return sp.exp(s * ell * sp.log(w2)) / ell

    @property
    def asymptotic(self) -> sp.Expr:
        """Leading term ``C w_2**(s ell) / ell``, C from ``sympy.limit`` on the symbolic form.

        The limit is taken with ``w_2 = e^{-v}`` and ``w_1 = e^{-v-p}``, ``v, p > 0`` (so
        that SymPy knows ``w_1 < w_2 < 1``), then the numbers are substituted.
        """
        w1, w2, s = (self.symbols[k] for k in ("w1", "w2", "s"))
        p, v = sp.Symbol("p", positive=True), sp.Symbol("v", positive=True)
        g = sp.exp(-v * s * ell) / ell
        ratio = self.symbolic_envelope().subs({w1: sp.exp(-v - p), w2: sp.exp(-v)}) / g
        c = sp.limit(ratio, ell, sp.oo)
        num = {v: -math.log(self._params["w2"]), s: self._params["s"],
               p: math.log(self._params["w2"] / self._params["w1"])}  # fmt: skip
        c_num = c.subs(num) if not c.has(sp.Limit) else c
        if c.has(sp.Limit) or not (c_num.is_positive and c_num.is_finite):
            raise RuntimeError(f"lim f/g = {c} for {self!r}: the asymptotic form does not hold")
        return sp.Float(c_num, 15) * self._asymptotic_form()

    def law(self):
        """``TemperedPowerLaw(A=w_2 / (s (w_2 - w_1)), beta=1, lam=-1 / (s ln w_2))``."""
        w1, w2, s = (self._params[k] for k in ("w1", "w2", "s"))
        return TemperedPowerLaw(A=w2 / (s * (w2 - w1)), beta=1.0, lam=-1.0 / (s * math.log(w2)))

    def sample(self, size, rng):
        """``w**s`` for uniform ``w``."""
        w1, w2, s = (self._params[k] for k in ("w1", "w2", "s"))
        return rng.uniform(w1, w2, size=int(size)) ** s


def rglru(gate=0.5, min_rad=0.9, max_rad=0.999, c=RGLRU_C) -> UniformPowerRetention:
    """RecurrentGemma's RG-LRU at init with the recurrence gate at ``gate``.

    ``a**2 ~ Uniform(min_rad**2, max_rad**2)`` and ``a_t = a**(c gate) = (a**2)**(c gate / 2)``.
    """
    lo = check_in_range("min_rad", min_rad, 0.0, 1.0, lo_open=True, hi_open=True)
    hi = check_in_range("max_rad", max_rad, lo, 1.0, lo_open=True, hi_open=True)
    g = check_in_range("gate", gate, 0.0, 1.0, lo_open=True)
    return UniformPowerRetention(lo**2, hi**2, check_positive("c", c) * g / 2.0)


def griffin_paper(gate=0.5, lo=0.9, hi=0.999) -> UniformPowerRetention:
    """Griffin's text: ``a**c ~ Uniform(lo, hi)``, so ``a_t = (a**c)**gate``."""
    g = check_in_range("gate", gate, 0.0, 1.0, lo_open=True)
    return UniformPowerRetention(lo, hi, g)


def mingru_at_init() -> Homogeneous:
    """The minGRU at init: zero-bias gates, independent symmetric inputs, ``2**-ell``."""
    return Homogeneous(0.5)


class _StateTimescales(LogUniformTimescales):
    """One S4D-real state: log-uniform time constants, parameters kept as floats.

    (Exact rationals of ``1 / (n dt)`` have numerators beyond int64, which the lambdified
    form cannot take.)
    """

    def subs_map(self):
        """Parameter symbols -> 17-digit floats."""
        return {self.symbols[k]: sp.Float(v, 17) for k, v in self._params.items()}


class S4DReal(GateSpectrum):
    """Mamba's S4D-real spectrum: retention ``exp(-a_scale n delta)``, ``n`` uniform on 1..N.

    ``delta`` log-uniform on ``[dt_min, dt_max]``; ``a_scale = 1`` is S4D-real (``A_n = -n``).
    """

    name = "s4d_real"
    symbols = {
        "dt_min": sp.Symbol("dt_min", positive=True),
        "dt_max": sp.Symbol("dt_max", positive=True),
    }

    def __init__(self, states=16, dt_min=1e-3, dt_max=1e-1, a_scale=1.0):
        self.states = check_int("states", states, lo=1)
        self.a_scale = check_positive("a_scale", a_scale)
        lo = check_positive("dt_min", dt_min)
        hi = check_positive("dt_max", dt_max)
        if hi <= lo:
            raise ValueError(f"dt_max must exceed dt_min={lo:g}, got {hi:g}")
        super().__init__(dt_min=lo, dt_max=hi)
        # state n: time constants 1 / (a n delta), log-uniform on [1/(a n dt_max), 1/(a n dt_min)]
        self.components = [
            _StateTimescales(1.0 / (self.a_scale * n * hi), 1.0 / (self.a_scale * n * lo))
            for n in range(1, self.states + 1)
        ]

    @classmethod
    def _symbolic_envelope(cls):
        return LogUniformTimescales.symbolic_envelope()  # per state; see ``expr``

    @property
    def expr(self) -> sp.Expr:
        """``(1/N) sum_n E[exp(-a n delta ell)]``, each term a log-uniform Mellin transform."""
        return sp.Add(*(c.expr for c in self.components)) / self.states

    def log_envelope(self, lag):
        """``ln E[r**ell]``: a log-sum-exp of the states' log-envelopes (no underflow)."""
        parts = np.array([np.atleast_1d(c.log_envelope(lag)) for c in self.components])
        m = parts.max(axis=0)
        m = np.where(np.isfinite(m), m, 0.0)
        out = np.log(np.exp(parts - m).sum(axis=0)) + m - math.log(self.states)
        return float(out[0]) if np.ndim(lag) == 0 else out

    def _asymptotic_form(self):
        lo = sp.nsimplify(self.a_scale * self._params["dt_min"], rational=True)
        return sp.exp(-ell * lo) / ell

    @property
    def asymptotic(self) -> sp.Expr:
        """Leading term ``C e^{-ell a dt_min} / ell``, C from ``sympy.limit``, state by state.

        With ``E1(z) ~ e^{-z} / z`` substituted, the state ``n = 1`` gives the limit and every
        state ``n = 1 + m`` (``m > 0``) gives 0; both limits are taken on symbolic ``m``,
        ``dt_min``, ``dt_max = dt_min (1 + q)`` (``q > 0``) and ``a``.
        """
        lo, q, a = sp.symbols("dt_min q a", positive=True)
        hi = lo * (1 + q)
        m = sp.Symbol("m", positive=True)
        g = sp.exp(-ell * a * lo) / ell

        def state(n):  # lim of the E1 difference over g, term by term, E1(z) -> e^{-z}/z
            out = 0
            for sign, z in ((1, n * a * lo * ell), (-1, n * a * hi * ell)):
                term = sp.powsimp(sp.expand(sp.exp(-z) / z / g), combine="exp")
                out += sign * sp.limit(term, ell, sp.oo)
            return out / sp.log(1 + q)

        lead, rest = state(1), state(1 + m)
        if lead.has(sp.Limit) or rest.has(sp.Limit) or rest != 0:
            raise RuntimeError(f"limits {lead}, {rest} for {self!r}: the asymptotic form fails")
        num = {lo: self._params["dt_min"], a: self.a_scale,
               q: self._params["dt_max"] / self._params["dt_min"] - 1.0}  # fmt: skip
        c = sp.Float(lead.subs(num) / self.states, 15)
        if not (c.is_positive and c.is_finite):
            raise RuntimeError(f"lim f/g = {c} for {self!r}: the asymptotic form does not hold")
        return c * self._asymptotic_form()

    def law(self):
        """``TemperedPowerLaw(A=1/(a dt_min N ln(dt_max/dt_min)), beta=1, lam=1/(a dt_min))``."""
        lo, hi = self._params["dt_min"], self._params["dt_max"]
        rate = self.a_scale * lo
        return TemperedPowerLaw(A=1.0 / (rate * self.states * math.log(hi / lo)), beta=1.0,
                                lam=1.0 / rate)  # fmt: skip

    def sample(self, size, rng):
        """Per unit: ``n`` uniform on 1..N, ``delta`` log-uniform; retention ``exp(-a n delta)``."""
        lo, hi = self._params["dt_min"], self._params["dt_max"]
        n = rng.integers(1, self.states + 1, size=int(size))
        delta = np.exp(rng.uniform(math.log(lo), math.log(hi), size=int(size)))
        return np.exp(-self.a_scale * n * delta)

    def __repr__(self) -> str:
        p = self._params
        return (f"S4DReal(states={self.states}, dt_min={p['dt_min']:g}, dt_max={p['dt_max']:g}, "
                f"a_scale={self.a_scale:g})")  # fmt: skip


def window(log_envelope, alpha, n, units=1.0, sigma=1.0, c=1.0, delta=0.1, max_lag=10**9):
    """H_N of an exact envelope: the largest lag with ``units f(ell) >= theta_N``.

    Parameters
    ----------
    log_envelope : callable
        ``ell -> ln f(ell)`` per unit (e.g. a spectrum's ``log_envelope``), non-increasing.
    alpha, sigma, c, delta
        The detection test (:class:`theory.complexity.Detection`).
    n : float
        The sample size N >= 1.
    units : float
        The number of units (times the learning rate): ``f = units E[r**ell]``.
    max_lag : int
        Search bound; a window reaching it is returned as ``max_lag``.

    Returns
    -------
    int
        H_N, or -1 where not even lag 0 is learnable.
    """
    det = Detection(alpha, sigma, c, delta)
    units = check_positive("units", units)
    level = det.log_theta(n) - math.log(units)

    def ok(lag):
        return float(log_envelope(float(lag))) >= level

    if not ok(0):
        return -1
    hi = 1
    while hi < max_lag and ok(hi):
        hi *= 2
    if hi >= max_lag and ok(max_lag):
        return int(max_lag)
    lo = hi // 2  # ok(lo), not ok(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return int(lo)
