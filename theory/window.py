"""The learnability window H_N and its growth law in N (THEORY.md section 3, C3-C5).

``H_N = max{ell : N(ell) <= N} = floor(f^{-1}(theta_N))`` with
``theta_N = K N**(-1/kappa_alpha)``.  The inverse comes from ``sympy.solve``
(:meth:`EnvelopeLaw.inverse`); the growth regime and its leading term come from
``sympy.limit`` on the closed form with ``N = exp(x)``.  Where SymPy's limit cannot
handle the Lambert W function, its asymptotic expansion ``W(z) = ln z - ln ln z + o(1)``
is substituted first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import mpmath
import numpy as np
import sympy as sp
from scipy import special
from sympy.codegen.rewriting import optimize, optims_c99

from .complexity import KAPPA, NSYM, Detection
from .laws import EnvelopeLaw

__all__ = ["NO_LAG", "LearnabilityWindow", "Regime", "learnability_window"]

#: What the window returns when no lag is learnable (``N(0) > N``): one below lag 0.
NO_LAG = -1

THETA = sp.Symbol("theta", positive=True)
KSYM = sp.Symbol("K", positive=True)  # prefactor (epsilon + q) sigma / c
XSYM = sp.Symbol("x", positive=True)  # x = ln N
LSYM = sp.Symbol("L", real=True)  # L = ln(A / theta_N)

_NUMPY_MODULES = [{"LambertW": lambda z: np.real(special.lambertw(z, 0))}, "numpy", "scipy"]


class UnevaluatedLimitError(RuntimeError):
    """SymPy returned an unevaluated limit: the regime could not be established."""


@dataclass(frozen=True)
class Regime:
    """How H_N grows with N.

    Attributes
    ----------
    kind : str
        ``"logarithmic"`` (c ln N), ``"polylogarithmic"`` (c (ln N)**p),
        ``"polynomial"`` (c N**p) or ``"exponential"`` (exp(c N**p)).
    exponent : sympy.Expr
        ``p`` above (1 for logarithmic).
    coefficient : sympy.Expr
        ``c`` above.
    leading : sympy.Expr
        The leading term as an expression in N.
    """

    kind: str
    exponent: sp.Expr
    coefficient: sp.Expr
    leading: sp.Expr

    def subs(self, mapping) -> Regime:
        """Substitute numbers, re-deciding ``logarithmic`` vs ``polylogarithmic``."""
        p = _short_number(sp.sympify(self.exponent).subs(mapping))
        c = sp.sympify(self.coefficient).subs(mapping)
        kind = self.kind
        if kind in ("logarithmic", "polylogarithmic"):
            kind = "logarithmic" if p == 1 else "polylogarithmic"
        return Regime(kind, p, c, _leading(kind, p, c))


def _short_number(x):
    """A simple rational where ``x`` is one (``1``, ``3/2``), else a 6-digit float.

    ``sympy.nsimplify`` alone turns 1/0.8447 into 473443650230633/400000000000000.
    """
    if not x.is_number:
        return x
    r = sp.nsimplify(x, rational=True, tolerance=1e-12)
    if isinstance(r, sp.Rational) and r.q <= 1000:
        return r
    return sp.Float(x, 6)


def _leading(kind, p, c):
    n = NSYM
    if kind == "polynomial":
        return c * n**p
    if kind == "logarithmic":
        return c * sp.log(n)
    if kind == "polylogarithmic":
        return c * sp.log(n) ** p
    return sp.exp(c * n**p)


def _limit(expr):
    try:
        out = sp.limit(expr, XSYM, sp.oo)
    except (RecursionError, NotImplementedError, ValueError, TypeError) as exc:
        raise UnevaluatedLimitError(f"sympy.limit failed on {expr}: {exc}") from exc
    if out.has(sp.Limit) or out.has(sp.nan) or out is sp.nan:
        raise UnevaluatedLimitError(f"sympy.limit left {expr} unevaluated")
    return sp.simplify(out)


def _prepare(h):
    return sp.powsimp(sp.expand_power_base(h, force=True), force=True)


@cache
def symbolic_regime(law_cls: type[EnvelopeLaw]) -> Regime:
    """Growth regime of H_N for a law class, with symbolic parameters, K and kappa.

    Takes ``N = exp(x)`` and the limits, as ``x -> oo``, of ``ln H / x`` (polynomial when
    finite and positive), ``ln H / ln x`` (logarithmic or polylogarithmic when it is zero)
    and ``ln ln H / x`` (exponential when it is infinite).
    """
    h = _prepare(law_cls.inverse().subs(THETA, KSYM * sp.exp(-XSYM / KAPPA)))
    try:
        p = _limit(sp.log(h) / XSYM)
    except UnevaluatedLimitError:
        if not h.has(sp.LambertW):
            raise
        # W(z) = ln z - ln ln z + o(1) as z -> oo
        h = _prepare(h.replace(sp.LambertW, lambda z: sp.log(z) - sp.log(sp.log(z))))
        p = _limit(sp.log(h) / XSYM)
    if p == 0:
        q = _limit(sp.log(h) / sp.log(XSYM))
        if not (q.is_positive and q.is_finite):
            raise UnevaluatedLimitError(f"ln H / ln ln N -> {q}: unrecognised growth")
        c = _limit(h / XSYM**q)
        kind = "logarithmic" if q == 1 else "polylogarithmic"
        return Regime(kind, q, c, _leading(kind, q, c))
    if p == sp.oo:
        r = _limit(sp.log(sp.log(h)) / XSYM)
        if not (r.is_positive and r.is_finite):
            raise UnevaluatedLimitError(f"ln ln H / ln N -> {r}: unrecognised growth")
        c = _limit(sp.log(h) / sp.exp(r * XSYM))
        return Regime("exponential", r, c, _leading("exponential", r, c))
    if p.is_positive and p.is_finite:
        c = _limit(h / sp.exp(p * XSYM))
        return Regime("polynomial", p, c, _leading("polynomial", p, c))
    raise UnevaluatedLimitError(f"ln H / ln N -> {p}: unrecognised growth")


@cache
def _h_of_l(law_cls: type[EnvelopeLaw]) -> sp.Expr:
    """H as a function of ``L = ln(A / theta)`` (symbolic parameters)."""
    a = law_cls.specs[0].symbol
    h = law_cls.inverse().subs(THETA, a * sp.exp(-LSYM))
    return sp.simplify(_prepare(h))


class LearnabilityWindow:
    """H_N for an envelope law and a detection test.

    Attributes
    ----------
    expr : sympy.Expr
        The closed form of H_N before the floor, in the symbol ``N``, numbers substituted.
    symbolic : sympy.Expr
        The same with symbolic law parameters, ``K`` and ``kappa_alpha``.
    regime : str
        Growth regime in N, established with ``sympy.limit``.
    leading : sympy.Expr
        Leading term of H_N as N -> oo.
    """

    def __init__(self, law: EnvelopeLaw, detection: Detection):
        if not isinstance(law, EnvelopeLaw):
            raise ValueError(f"law must be an envelope law object, got {law!r}")
        self.law = law
        self.detection = detection
        cls = type(law)
        self.symbolic = cls.inverse().subs(THETA, KSYM * NSYM ** (-1 / KAPPA))
        num = {**law.subs_map(), KSYM: sp.Float(detection.prefactor, 17)}
        num[KAPPA] = detection.subs_map()[KAPPA]
        self._num = num
        self.expr = self.symbolic.subs(num)
        self.theta_expr = (KSYM * NSYM ** (-1 / KAPPA)).subs(num)
        reg = symbolic_regime(cls).subs(num)
        self.regime_info = reg
        self.regime = reg.kind
        self.leading = reg.leading
        h_l = _h_of_l(cls).subs(law.subs_map())
        self._np = sp.lambdify(LSYM, optimize(h_l, optims_c99), modules=_NUMPY_MODULES)
        self._mp_log1p = sp.lambdify(LSYM, sp.log(1 + h_l), modules="mpmath")
        self._finite_at_zero = law.min_lag == 0
        self._mp_leading = None

    # -- numeric ----------------------------------------------------------------------
    def _big_l(self, n):
        return math.log(self.law.params["A"]) - self.detection.log_theta(n)

    def _qualifies(self, big_l):
        # where f(0) is finite, no lag qualifies when theta_N > f(0) = A, i.e. L < 0
        return (big_l >= 0) if self._finite_at_zero else np.ones_like(big_l, dtype=bool)

    def log1p(self, n):
        """``ln(1 + H_N)`` before the floor: finite for every N >= 1, whatever the law."""
        big_l = np.atleast_1d(np.asarray(self._big_l(n), dtype=float))
        ok = self._qualifies(big_l)
        out = np.zeros_like(big_l)
        with mpmath.workdps(30):
            for i in np.flatnonzero(ok):
                out[i] = float(self._mp_log1p(mpmath.mpf(big_l[i])).real)
        return float(out[0]) if np.ndim(n) == 0 else out

    def continuous(self, n):
        """H_N before the floor, as floats; ``inf`` only where it exceeds float64's range.

        Clipped at 0 where no lag qualifies (for plotting); :meth:`__call__` and
        :meth:`learnable` tell that case apart.
        """
        big_l = np.atleast_1d(np.asarray(self._big_l(n), dtype=float))
        ok = self._qualifies(big_l)
        out = np.zeros_like(big_l)
        with np.errstate(over="ignore", invalid="ignore"):
            out[ok] = np.asarray(self._np(big_l[ok]), dtype=float) * np.ones(ok.sum())
        bad = ok & ~np.isfinite(out)
        if bad.any():  # e.g. exp(L / beta) overflowing inside Lambert W: go through mpmath
            with np.errstate(over="ignore"):
                out[bad] = np.expm1(self.log1p(np.asarray(n, dtype=float).reshape(-1)[bad]))
        out = np.maximum(out, 0.0)
        return float(out[0]) if np.ndim(n) == 0 else out

    def learnable(self, n):
        """Whether at least one lag of the law's domain (``ell >= law.min_lag``) is learnable.

        ``False`` where even the first lag needs more than ``N`` samples, i.e. where
        ``self(N) < law.min_lag``.
        """
        h = self(n)
        if np.ndim(h) == 0:
            return h >= self.law.min_lag
        return np.array([v >= self.law.min_lag for v in h], dtype=bool)

    def __call__(self, n):
        """The integer window ``floor(H_N)``: the largest lag ``ell`` with ``N(ell) <= N``.

        Returns :data:`NO_LAG` (``-1``) where no lag qualifies, i.e. where ``N(0) > N``
        (never ``0``, which would read as "lag 0 is learnable").  For the tempered power
        law, whose envelope diverges at 0, ``N(0) = 0`` and the result is ``>= 0``; use
        :meth:`learnable` to ask whether a lag of the law's domain qualifies.

        A scalar ``N`` gives a Python ``int`` (exact beyond 2**63 as the floor of the
        float64 window); an array gives an ``int64`` array, or an object array of Python
        ints where a window exceeds 2**62.

        Raises
        ------
        OverflowError
            Only when H_N exceeds float64's range (about 1.8e308 lags); use
            :meth:`log1p` for its logarithm.
        """
        big_l = np.atleast_1d(np.asarray(self._big_l(n), dtype=float))
        ok = self._qualifies(big_l)
        h = np.atleast_1d(np.asarray(self.continuous(n), dtype=float))
        if np.any(np.isinf(h)):
            raise OverflowError(
                "the learnability window exceeds float64's range (1.8e308 lags) at this N; "
                "use .log1p(N) for its logarithm"
            )
        if np.all(h < 2.0**62):
            out = np.where(ok, np.floor(h), NO_LAG).astype(np.int64)
        else:
            out = np.array(
                [int(math.floor(v)) if q else NO_LAG for v, q in zip(h, ok, strict=True)],
                dtype=object,
            )
        return int(out[0]) if np.ndim(n) == 0 else out

    def log1p_leading(self, n):
        """``ln(1 + leading(N))`` evaluated with mpmath, for comparing growth at large N."""
        if self._mp_leading is None:
            self._mp_leading = sp.lambdify(NSYM, sp.log(1 + self.leading), modules="mpmath")
        return float(self._mp_leading(mpmath.mpf(n)).real)

    # -- rendering --------------------------------------------------------------------
    def __repr__(self) -> str:
        d = self.detection
        return (
            f"LearnabilityWindow({self.law!r}, alpha={d.alpha:g}, sigma={d.sigma:g}, "
            f"c={d.c:g}, delta={d.delta:g}, regime={self.regime!r})"
        )

    def latex(self, numeric: bool = False) -> str:
        """LaTeX of H_N before the floor."""
        e = self.expr if numeric else self.symbolic
        return r"H_N = \left\lfloor " + sp.latex(e) + r" \right\rfloor"

    def text(self, numeric: bool = False) -> str:
        """Plain text of H_N before the floor."""
        e = self.expr if numeric else self.symbolic
        return "H_N = floor(" + sp.sstr(e) + ")"


def learnability_window(
    law: EnvelopeLaw,
    alpha,
    sigma=1.0,
    c=1.0,
    delta=0.1,
    *,
    false_alarm=0.05,
    epsilon=None,
    exponent: str = "kappa",
    estimator: str = "mean",
) -> LearnabilityWindow:
    """The learnability window H_N of an envelope law under SaS noise.

    Parameters
    ----------
    law : EnvelopeLaw
    alpha, sigma, c, delta, false_alarm, epsilon, exponent
        See :class:`theory.complexity.Detection`.

    Returns
    -------
    LearnabilityWindow
        Call it on N for the integer window; ``.expr``, ``.regime``, ``.leading``.

    Examples
    --------
    >>> import theory
    >>> win = theory.learnability_window(theory.Exponential(tau=20.0), alpha=1.5)
    >>> win.regime
    'logarithmic'
    >>> win(10**6) > win(10**3)
    True
    """
    det = Detection(alpha, sigma, c, delta, false_alarm, epsilon, exponent, estimator)
    return LearnabilityWindow(law, det)
