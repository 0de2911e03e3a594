"""Envelopes induced by gate spectra (THEORY.md section 4, claim C6).

At zeroth order with constant retentions ``r_q`` the envelope is ``f(ell) = eta sum_q
r_q**ell``; for a continuum of units whose retention has density ``p(r)`` it is
``eta H E[r**ell]``, the Mellin transform of ``p`` at ``ell + 1``.  SymPy derives that
transform from the density (it is not typed in), and ``sympy.limit`` establishes the
asymptotic law: the limit of ``f / g`` for the stated asymptotic form ``g`` must be finite
and positive.

All envelopes here are per unit and per unit rate: multiply by ``eta H``.
"""

from __future__ import annotations

import inspect
import math
from functools import cache
from typing import ClassVar

import mpmath
import numpy as np
import sympy as sp
from scipy import special

from ._validate import check_in_range, check_positive
from .laws import EnvelopeLaw, Exponential, Polynomial, TemperedPowerLaw, ell

__all__ = [
    "SPECTRA",
    "BetaRetention",
    "GateSpectrum",
    "Homogeneous",
    "LogUniformTimescales",
    "UniformRetention",
    "make_spectrum",
]

R = sp.Symbol("r", positive=True)
TAU = sp.Symbol("tau", positive=True)
_S = sp.Symbol("s")
_MODULES = [{"expint": lambda n, z: special.expn(int(n), z)}, "scipy", "numpy"]


class GateSpectrum:
    """Distribution of retention factors r in (0, 1) over units.

    Subclasses define :meth:`_symbolic_envelope` (derived with SymPy, class-level cache),
    :meth:`_asymptotic_form` and :meth:`sample`.
    """

    name: ClassVar[str]
    symbols: ClassVar[dict[str, sp.Symbol]]

    def __init__(self, **params):
        self._params = params
        self._fn = None

    @property
    def params(self) -> dict[str, float]:
        """Parameter name -> value."""
        return dict(self._params)

    def subs_map(self):
        """Parameter symbols -> exact rationals of the numeric values."""
        return {
            self.symbols[k]: sp.nsimplify(v, rational=True, tolerance=1e-15)
            for k, v in self._params.items()
        }

    @classmethod
    def symbolic_envelope(cls) -> sp.Expr:
        """E[r**ell] with symbolic parameters."""
        return _symbolic_cached(cls)

    @property
    def expr(self) -> sp.Expr:
        """E[r**ell] for these parameters (SymPy, exact rationals)."""
        return self.symbolic_envelope().subs(self.subs_map())

    def log_envelope(self, lag):
        """Numeric ``ln E[r**ell]``, evaluated in log space (``ln Gamma`` for Gamma ratios)."""
        if self._fn is None:
            log_expr = sp.expand_log(sp.log(self.expr)).replace(
                lambda e: isinstance(e, sp.log) and isinstance(e.args[0], sp.gamma),
                lambda e: sp.loggamma(e.args[0].args[0]),
            )
            self._fn = sp.lambdify(ell, log_expr, modules=_MODULES)
        lag_arr = np.asarray(lag, dtype=float)
        with np.errstate(divide="ignore"):
            out = np.asarray(self._fn(lag_arr), dtype=float) * np.ones_like(lag_arr)
        return float(out) if out.ndim == 0 else out

    def envelope(self, lag):
        """Numeric E[r**ell] (per unit, per unit rate), vectorised over ``lag``."""
        out = np.exp(self.log_envelope(lag))
        return float(out) if np.ndim(out) == 0 else out

    @property
    def asymptotic(self) -> sp.Expr:
        """Leading term of E[r**ell] as ell -> oo: ``C g(ell)`` with C from ``sympy.limit``."""
        g = self._asymptotic_form()
        c = sp.limit(self.expr / g, ell, sp.oo)
        if c.has(sp.Limit) and self.expr.has(sp.expint):
            # E1(z) = exp(-z)/z (1 + O(1/z)) as z -> oo: substitute the leading term
            lead = self.expr.replace(
                lambda e: isinstance(e, sp.expint) and e.args[0] == 1,
                lambda e: sp.exp(-e.args[1]) / e.args[1],
            )
            c = sp.limit(lead / g, ell, sp.oo)
        if c.has(sp.Limit) or not (c.is_positive and c.is_finite):
            raise RuntimeError(f"lim f/g = {c} for {self!r}: the asymptotic form does not hold")
        return sp.nsimplify(c) * g

    @property
    def mean_retention(self) -> float:
        """E[r] (the envelope at lag 1)."""
        return float(self.envelope(1.0))

    def law(self) -> EnvelopeLaw:
        """The :mod:`theory.laws` envelope law of the asymptotic form."""
        raise NotImplementedError

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``size`` retention factors."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"


@cache
def _symbolic_cached(cls):
    return cls._symbolic_envelope()


def _mellin_at(density, lag):
    """E[r**lag] = Mellin transform of the density at s = lag + 1."""
    m = sp.mellin_transform(density, R, _S, noconds=True)
    return sp.simplify(m.subs(_S, lag + 1))


class Homogeneous(GateSpectrum):
    """Every unit has the same retention ``r0``: an exponential envelope."""

    name = "homogeneous"
    symbols = {"r0": sp.Symbol("r_0", positive=True)}

    def __init__(self, r0):
        super().__init__(r0=check_in_range("r0", r0, 0.0, 1.0, lo_open=True, hi_open=True))

    @classmethod
    def _symbolic_envelope(cls):
        # a point mass at r0: E[r**ell] = r0**ell
        return cls.symbols["r0"] ** ell

    def _asymptotic_form(self):
        return self.expr

    def law(self):
        """``Exponential(A=1, tau=-1/ln r0)``, exact."""
        return Exponential(A=1.0, tau=-1.0 / math.log(self._params["r0"]))

    def sample(self, size, rng):
        """All units at ``r0``."""
        return np.full(int(size), self._params["r0"])


class BetaRetention(GateSpectrum):
    """Retention ``r ~ Beta(a, b)``: ``E[r**ell] = B(a + ell, b) / B(a, b) ~ ell**(-b)``."""

    name = "beta"
    symbols = {"a": sp.Symbol("a", positive=True), "b": sp.Symbol("b", positive=True)}

    def __init__(self, a, b):
        super().__init__(a=check_positive("a", a), b=check_positive("b", b))

    @classmethod
    def _symbolic_envelope(cls):
        a, b = cls.symbols["a"], cls.symbols["b"]
        density = R ** (a - 1) * (1 - R) ** (b - 1) / sp.beta(a, b) * sp.Heaviside(1 - R)
        return sp.gammasimp(_mellin_at(density, ell).rewrite(sp.gamma))

    def _asymptotic_form(self):
        return ell ** (-self.symbols["b"].subs(self.subs_map()))

    def law(self):
        """``Polynomial(A=Gamma(a+b)/Gamma(a), beta=b)``: the asymptotic power law."""
        a, b = self._params["a"], self._params["b"]
        return Polynomial(A=math.exp(math.lgamma(a + b) - math.lgamma(a)), beta=b)

    def sample(self, size, rng):
        """Beta draws."""
        return rng.beta(self._params["a"], self._params["b"], size=int(size))


class UniformRetention(GateSpectrum):
    """Retention ``r ~ Uniform(r1, 1)``: ``E[r**ell] ~ ell**(-1) / (1 - r1)``."""

    name = "uniform"
    symbols = {"r1": sp.Symbol("r_1", positive=True)}

    def __init__(self, r1):
        super().__init__(r1=check_in_range("r1", r1, 0.0, 1.0, hi_open=True))

    @classmethod
    def _symbolic_envelope(cls):
        r1 = cls.symbols["r1"]
        return sp.simplify(sp.integrate(R**ell / (1 - r1), (R, r1, 1), conds="none"))

    def _asymptotic_form(self):
        return 1 / ell

    def law(self):
        """``Polynomial(A=1/(1-r1), beta=1)``: the asymptotic power law."""
        return Polynomial(A=1.0 / (1.0 - self._params["r1"]), beta=1.0)

    def sample(self, size, rng):
        """Uniform draws on (r1, 1)."""
        return rng.uniform(self._params["r1"], 1.0, size=int(size))


class LogUniformTimescales(GateSpectrum):
    """Time constants ``tau ~ LogUniform(tau_min, tau_max)``, retention ``exp(-1/tau)``.

    ``E[r**ell] = (E1(ell/tau_max) - E1(ell/tau_min)) / ln(tau_max/tau_min)``: slow
    (logarithmic) decay for ``tau_min << ell << tau_max``, then ``~ e^{-ell/tau_max} / ell``.
    """

    name = "log_uniform"
    symbols = {
        "tau_min": sp.Symbol("tau_min", positive=True),
        "tau_max": sp.Symbol("tau_max", positive=True),
    }

    def __init__(self, tau_min, tau_max):
        lo = check_positive("tau_min", tau_min)
        hi = check_positive("tau_max", tau_max)
        if hi <= lo:
            raise ValueError(f"tau_max must exceed tau_min={lo:g}, got {hi:g}")
        super().__init__(tau_min=lo, tau_max=hi)

    @classmethod
    def _symbolic_envelope(cls):
        lo, hi = cls.symbols["tau_min"], cls.symbols["tau_max"]
        density = 1 / (TAU * sp.log(hi / lo))
        raw = sp.integrate(sp.exp(-ell / TAU) * density, (TAU, lo, hi), conds="none")
        # SymPy answers with Ei of a polar argument; E1(z) = -Ei(-z) is the real form
        return sp.simplify(sp.unpolarify(raw).rewrite(sp.expint))

    def log_envelope(self, lag):
        """Numeric log-envelope; lag 0 gives 0 exactly (the expint form is 0/0 there)."""
        lag_arr = np.asarray(lag, dtype=float)
        safe = np.where(lag_arr == 0, 1.0, lag_arr)
        out = np.where(lag_arr == 0, 0.0, super().log_envelope(safe))
        bad = ~np.isfinite(out) & np.isfinite(safe)
        if bad.any():
            # E1(ell / tau_max) underflows float64 once ell / tau_max exceeds ~700: evaluate
            # the same expression with mpmath there, whose exponent range does not underflow
            if getattr(self, "_mp_fn", None) is None:
                self._mp_fn = sp.lambdify(ell, sp.log(self.expr), modules="mpmath")
            out = np.array(out, dtype=float)
            out[bad] = [float(mpmath.re(self._mp_fn(mpmath.mpf(v)))) for v in safe[bad]]
        return float(out) if out.ndim == 0 else out

    def _asymptotic_form(self):
        hi = self._params["tau_max"]
        return sp.exp(-ell / sp.nsimplify(hi)) / ell

    def law(self):
        """``TemperedPowerLaw(A=tau_max/ln(tau_max/tau_min), beta=1, lam=tau_max)``."""
        lo, hi = self._params["tau_min"], self._params["tau_max"]
        return TemperedPowerLaw(A=hi / math.log(hi / lo), beta=1.0, lam=hi)

    def sample(self, size, rng):
        """Log-uniform time constants mapped to retentions."""
        lo, hi = self._params["tau_min"], self._params["tau_max"]
        tau = np.exp(rng.uniform(math.log(lo), math.log(hi), size=int(size)))
        return np.exp(-1.0 / tau)


#: Registry: spectrum name -> class.
SPECTRA: dict[str, type[GateSpectrum]] = {
    c.name: c for c in (Homogeneous, BetaRetention, UniformRetention, LogUniformTimescales)
}


def make_spectrum(name: str, **params) -> GateSpectrum:
    """Build a gate spectrum from its registry name."""
    key = name.strip().lower().replace("-", "_")
    if key not in SPECTRA:
        raise ValueError(f"unknown gate spectrum {name!r}; choose one of {sorted(SPECTRA)}")
    cls = SPECTRA[key]
    expected = tuple(inspect.signature(cls.__init__).parameters)[1:]
    if set(params) != set(expected):
        raise ValueError(f"gate spectrum {key!r} takes parameters {expected}, got {tuple(params)}")
    return cls(**params)
