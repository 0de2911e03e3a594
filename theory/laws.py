"""Envelope laws f(ell): the decay of the effective-learning-rate envelope over lags.

Each law is an object holding a SymPy expression in the lag symbol :data:`ell` and in its
parameter symbols, the numeric values of those parameters, and a vectorised numeric
evaluator lambdified from the expression (THEORY.md section 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import ClassVar

import numpy as np
import sympy as sp

from ._validate import check_in_range

__all__ = [
    "LAWS",
    "EnvelopeLaw",
    "Exponential",
    "Logarithmic",
    "ParamSpec",
    "Polynomial",
    "StretchedExponential",
    "TemperedPowerLaw",
    "ell",
    "make_law",
]

#: The lag, a nonnegative real symbol.
ell = sp.Symbol("ell", nonnegative=True)


@dataclass(frozen=True)
class ParamSpec:
    """A law parameter: its name, SymPy symbol, valid interval and meaning."""

    name: str
    symbol: sp.Symbol
    lo: float
    hi: float
    lo_open: bool
    hi_open: bool
    doc: str

    def check(self, value) -> float:
        """Validate ``value`` against the interval; return it as a float."""
        return check_in_range(
            self.name, value, self.lo, self.hi, lo_open=self.lo_open, hi_open=self.hi_open
        )

    @property
    def interval(self) -> str:
        """The valid interval as text, e.g. ``(0, inf)``."""
        left = "(" if self.lo_open else "["
        right = ")" if self.hi_open else "]"
        hi = "inf" if self.hi == math.inf else f"{self.hi:g}"
        return f"{left}{self.lo:g}, {hi}{right}"


def _pos(name, doc, latex=None):
    return ParamSpec(name, sp.Symbol(latex or name, positive=True), 0.0, math.inf, True, True, doc)


def _template(specs, build):
    return build(*(s.symbol for s in specs))


_A = _pos("A", "scale of the envelope (its value at lag 0 where finite)")


class EnvelopeLaw:
    """Base class of the envelope laws.

    Subclasses set :attr:`name`, :attr:`specs` (the parameters, ``A`` first) and
    :attr:`template` (the SymPy expression in :data:`ell` and the parameter symbols).

    Parameters
    ----------
    **params : float
        Values for the parameters named in :attr:`specs`; ``A`` defaults to 1.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    specs: ClassVar[tuple[ParamSpec, ...]]
    template: ClassVar[sp.Expr]
    #: Smallest lag at which the law is finite (the tempered power law diverges at 0).
    min_lag: ClassVar[int] = 0

    def __init__(self, **params):
        names = [s.name for s in self.specs]
        unknown = set(params) - set(names)
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {sorted(unknown)} for the {self.name} law; "
                f"its parameters are {names}"
            )
        params.setdefault("A", 1.0)
        missing = [n for n in names if n not in params]
        if missing:
            raise ValueError(f"the {self.name} law needs parameter(s) {missing}")
        self._params = {s.name: s.check(params[s.name]) for s in self.specs}
        self._fn = None

    # -- symbolic ---------------------------------------------------------------------
    @classmethod
    def symbols(cls) -> dict[str, sp.Symbol]:
        """Parameter name -> SymPy symbol."""
        return {s.name: s.symbol for s in cls.specs}

    @property
    def params(self) -> dict[str, float]:
        """Parameter name -> numeric value."""
        return dict(self._params)

    def subs_map(self) -> dict[sp.Symbol, sp.Float]:
        """Map from parameter symbols to their numeric values (as SymPy numbers)."""
        return {s.symbol: sp.Float(self._params[s.name], 17) for s in self.specs}

    @property
    def expr(self) -> sp.Expr:
        """The envelope as a SymPy expression in :data:`ell` with the numeric parameters."""
        return self.template.subs(self.subs_map())

    @classmethod
    @cache
    def inverse(cls) -> sp.Expr:
        """Solve ``f(ell) = theta`` for ``ell`` with ``sympy.solve`` (symbolic parameters).

        Returns
        -------
        sympy.Expr
            The unique real solution, in the positive symbol ``theta``.
        """
        theta = sp.Symbol("theta", positive=True)
        sols = sp.solve(sp.Eq(cls.template, theta), ell)
        sols = [s for s in sols if not s.has(sp.I)]
        if len(sols) != 1:
            raise RuntimeError(
                f"sympy.solve gave {len(sols)} real solutions of f(ell) = theta for the "
                f"{cls.name} law; expected one"
            )
        return sols[0]

    # -- numeric ----------------------------------------------------------------------
    def __call__(self, lag):
        """Evaluate f at ``lag`` (scalar or array), vectorised."""
        if self._fn is None:
            self._fn = sp.lambdify(ell, self.expr, modules="numpy")
        lag_arr = np.asarray(lag, dtype=float)
        with np.errstate(divide="ignore", over="ignore", under="ignore"):
            out = np.asarray(self._fn(lag_arr), dtype=float) * np.ones_like(lag_arr)
        return float(out) if out.ndim == 0 else out

    def log(self, lag):
        """Natural log of f at ``lag``, computed from ``log(f)`` so it never underflows."""
        key = "_logfn"
        fn = getattr(self, key, None)
        if fn is None:
            logexpr = sp.expand_log(sp.log(self.expr), force=True)
            fn = sp.lambdify(ell, logexpr, modules="numpy")
            setattr(self, key, fn)
        lag_arr = np.asarray(lag, dtype=float)
        with np.errstate(divide="ignore"):
            out = np.asarray(fn(lag_arr), dtype=float) * np.ones_like(lag_arr)
        return float(out) if out.ndim == 0 else out

    # -- rendering --------------------------------------------------------------------
    def latex(self, numeric: bool = False) -> str:
        """LaTeX of ``f(ell)``, symbolic or with the numbers substituted."""
        e = self.expr if numeric else self.template
        return sp.latex(e)

    def text(self, numeric: bool = False) -> str:
        """Plain-text form of ``f(ell)``."""
        e = self.expr if numeric else self.template
        return sp.sstr(e)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"

    def __getattr__(self, name):
        params = self.__dict__.get("_params", {})
        if name in params:
            return params[name]
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self._params == other._params

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(self._params.items())))


class Exponential(EnvelopeLaw):
    """``f(ell) = A exp(-ell / tau)``: one time constant; H_N grows like ln N."""

    name = "exponential"
    title = "exponential"
    specs = (_A, _pos("tau", "decay time constant (lags)", "tau"))
    template = _template(specs, lambda A, tau: A * sp.exp(-ell / tau))


class Polynomial(EnvelopeLaw):
    """``f(ell) = A (1 + ell)**(-beta)``: H_N grows like a power of N."""

    name = "polynomial"
    title = "polynomial"
    specs = (_A, _pos("beta", "power-law decay exponent", "beta"))
    template = _template(specs, lambda A, beta: A * (1 + ell) ** (-beta))


class Logarithmic(EnvelopeLaw):
    """``f(ell) = A (1 + ln(1 + ell))**(-gamma)``: H_N grows exponentially in a power of N."""

    name = "logarithmic"
    title = "logarithmic"
    specs = (_A, _pos("gamma", "logarithmic decay exponent", "gamma"))
    template = _template(specs, lambda A, gamma: A * (1 + sp.log(1 + ell)) ** (-gamma))


class StretchedExponential(EnvelopeLaw):
    """``f(ell) = A exp(-(ell / tau)**gamma)``: H_N grows like a power of ln N."""

    name = "stretched_exponential"
    title = "stretched exponential"
    specs = (
        _A,
        _pos("tau", "time constant (lags)", "tau"),
        _pos("gamma", "stretching exponent", "gamma"),
    )
    template = _template(specs, lambda A, tau, gamma: A * sp.exp(-((ell / tau) ** gamma)))


class TemperedPowerLaw(EnvelopeLaw):
    """``f(ell) = A ell**(-beta) exp(-ell / lam)``: H_N involves the Lambert W function."""

    name = "tempered_power_law"
    title = "tempered power law"
    specs = (
        _A,
        _pos("beta", "power-law exponent", "beta"),
        _pos("lam", "tempering length (lags)", "lambda"),
    )
    template = _template(specs, lambda A, beta, lam: A * ell ** (-beta) * sp.exp(-ell / lam))
    min_lag = 1


#: Registry: law name -> class.
LAWS: dict[str, type[EnvelopeLaw]] = {
    c.name: c
    for c in (Exponential, Polynomial, Logarithmic, StretchedExponential, TemperedPowerLaw)
}


def make_law(name: str, **params) -> EnvelopeLaw:
    """Build a law from its registry name (``exponential``, ``polynomial``, ...)."""
    if not isinstance(name, str):
        raise TypeError(f"the law name must be a string, one of {sorted(LAWS)}; got {name!r}")
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in LAWS:
        raise ValueError(f"unknown envelope law {name!r}; choose one of {sorted(LAWS)}")
    return LAWS[key](**params)
