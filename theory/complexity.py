"""Sample complexity N(ell) of the lag-detection test (THEORY.md section 2, claim C2).

Lag ell is declared detected when ``|mean| N**(1/kappa) / sigma > epsilon``.  Asking for
power ``1 - delta`` gives

    N(ell) = ceil( ((epsilon + q_{1-delta}) sigma / (c f(ell)))**kappa_alpha ),

so ``N(ell)`` is proportional to ``f(ell)**(-kappa_alpha)`` with an explicit prefactor.
``exponent="alpha"`` gives the form stated in the first version of the paper,
``f(ell)**(-alpha)``, with the same prefactor, for comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy import special

from ._validate import check_alpha, check_in_range, check_positive, check_probability
from .laws import EnvelopeLaw, ell
from .noise import detection_threshold, sas_quantile

__all__ = ["Detection", "SampleComplexity", "sample_complexity"]

EXPONENTS = ("kappa", "alpha")
ESTIMATORS = ("mean", "median")

# Symbols of the general formula, for rendering.
EPS, QPOW, SIGMA, GAIN, KAPPA, NSYM = sp.symbols(
    "epsilon q_{1-delta} sigma c kappa_alpha N", positive=True
)
F_OF_ELL = sp.Function("f")(ell)
#: LaTeX names of the symbols whose plain names are not valid LaTeX.
LATEX_NAMES = {QPOW: r"q_{1 - \delta}"}


@dataclass(frozen=True)
class Detection:
    """Constants of the detection test shared by N(ell) and H_N.

    Parameters
    ----------
    alpha : float
        Stability index of the gradient noise, in (1, 2].
    sigma : float
        Noise scale, > 0.
    c : float
        Signal gain (the evidence mean is ``c f(ell)``), > 0.
    delta : float
        One minus the required power, in (0, 1).
    false_alarm : float
        Two-sided false-alarm rate that sets ``epsilon``, in (0, 1).
    epsilon : float, optional
        The SNR threshold; by default the SaS(1) quantile ``q_{1 - false_alarm/2}``.
    exponent : {"kappa", "alpha"}
        ``"kappa"``: N(ell) ~ f**(-kappa_alpha) (the theory); ``"alpha"``: the v1 form.
    estimator : {"mean", "median"}
        ``"mean"``: the test of THEORY.md section 2.  ``"median"``: this project's own
        robust variant (section 7): detect when ``2 p0 sqrt(N) |median| / sigma > epsilon``
        with ``p0 = Gamma(1 + 1/alpha) / pi`` the SaS(1) density at 0, whose statistic is
        asymptotically N(0, 1) under no signal, so ``epsilon`` and ``q_{1-delta}`` are normal
        quantiles and N(ell) ~ f**(-2) for every alpha.
    """

    alpha: float
    sigma: float = 1.0
    c: float = 1.0
    delta: float = 0.1
    false_alarm: float = 0.05
    epsilon: float | None = None
    exponent: str = "kappa"
    estimator: str = "mean"

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "alpha", check_alpha(self.alpha))
        set_(self, "sigma", check_positive("sigma", self.sigma))
        set_(self, "c", check_positive("c", self.c))
        set_(self, "delta", check_probability("delta", self.delta))
        set_(self, "false_alarm", check_probability("false_alarm", self.false_alarm))
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, got {self.estimator!r}")
        if self.epsilon is None:
            if self.estimator == "median":
                set_(self, "epsilon", float(special.ndtri(1.0 - self.false_alarm / 2.0)))
            else:
                set_(self, "epsilon", detection_threshold(self.alpha, self.false_alarm))
        else:
            set_(self, "epsilon", check_in_range("epsilon", self.epsilon, 0.0))
        if self.exponent not in EXPONENTS:
            raise ValueError(f"exponent must be one of {EXPONENTS}, got {self.exponent!r}")

    @property
    def q_power(self) -> float:
        """The quantile ``q_{1-delta}`` (SaS(1), or normal for the median) that sets the power."""
        if self.estimator == "median":
            return float(special.ndtri(1.0 - self.delta))
        return sas_quantile(1.0 - self.delta, self.alpha)

    @property
    def density_at_zero(self) -> float:
        """SaS(1) density at 0, ``Gamma(1 + 1/alpha) / pi``."""
        return math.gamma(1.0 + 1.0 / self.alpha) / math.pi

    @property
    def rate(self) -> float:
        """The exponent of ``1/f`` in N(ell): kappa_alpha, or alpha for the v1 form."""
        a = self.alpha
        if self.estimator == "median":
            return 2.0
        return a / (a - 1.0) if self.exponent == "kappa" else a

    @property
    def prefactor(self) -> float:
        """``K = (epsilon + q_{1-delta}) sigma / c``: N(ell) = (K / f(ell))**rate.

        For the median test ``K`` is divided by ``2 p0`` (the median's asymptotic scale).
        """
        k = (self.epsilon + self.q_power) * self.sigma / self.c
        if self.estimator == "median":
            k /= 2.0 * self.density_at_zero
        return k

    @property
    def stat_scale(self) -> float:
        """Multiplier turning ``|estimate| N**(1/rate)`` into the test statistic."""
        if self.estimator == "median":
            return 2.0 * self.density_at_zero / self.sigma
        return 1.0 / self.sigma

    def theta(self, n):
        """Envelope threshold ``theta_N = K N**(-1/rate)``: lag ell is learnable iff f >= it."""
        n_arr = check_n(n)
        out = self.prefactor * n_arr ** (-1.0 / self.rate)
        return float(out) if out.ndim == 0 else out

    def log_theta(self, n):
        """``ln theta_N``, exact for any N >= 1 (no overflow)."""
        n_arr = check_n(n)
        out = math.log(self.prefactor) - np.log(n_arr) / self.rate
        return float(out) if out.ndim == 0 else out

    def subs_map(self) -> dict:
        """Numbers for the symbols of the general formula."""
        return {
            EPS: sp.Float(self.epsilon, 17),
            QPOW: sp.Float(self.q_power, 17),
            SIGMA: sp.Float(self.sigma, 17),
            GAIN: sp.Float(self.c, 17),
            KAPPA: sp.nsimplify(self.rate, rational=True, tolerance=1e-14),
        }

    def as_dict(self) -> dict:
        """Plain dictionary of the detection constants, derived ones included."""
        return {
            "alpha": self.alpha,
            "sigma": self.sigma,
            "c": self.c,
            "delta": self.delta,
            "false_alarm": self.false_alarm,
            "epsilon": self.epsilon,
            "q_power": self.q_power,
            "exponent": self.exponent,
            "estimator": self.estimator,
            "rate": self.rate,
            "prefactor": self.prefactor,
        }


def check_n(n) -> np.ndarray:
    """Validate a sample size (scalar or array): finite and >= 1."""
    try:
        arr = np.asarray(n, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"N must be a number >= 1, got {n!r}") from None
    if arr.size == 0 or np.any(~np.isfinite(arr)) or np.any(arr < 1):
        raise ValueError(f"N must be finite and >= 1, got {n!r}")
    return arr


#: The general formula, before the ceiling: ((epsilon + q) sigma / (c f))**kappa.
GENERAL_FORMULA = ((EPS + QPOW) * SIGMA / (GAIN * F_OF_ELL)) ** KAPPA


class SampleComplexity:
    """N(ell) for an envelope law and a detection test.

    Attributes
    ----------
    law : EnvelopeLaw
    detection : Detection
    expr : sympy.Expr
        Continuous N(ell) (before the ceiling) with the numbers substituted.
    """

    def __init__(self, law: EnvelopeLaw, detection: Detection):
        if not isinstance(law, EnvelopeLaw):
            raise ValueError(f"law must be an envelope law object, got {law!r}")
        self.law = law
        self.detection = detection
        sub = detection.subs_map()
        self.expr = GENERAL_FORMULA.subs(sub).subs(F_OF_ELL, law.expr)
        self.symbolic = GENERAL_FORMULA.subs(F_OF_ELL, law.template)

    @property
    def expr_ceil(self) -> sp.Expr:
        """N(ell) with the ceiling."""
        return sp.ceiling(self.expr)

    def _check_lag(self, lag) -> np.ndarray:
        lo = self.law.min_lag
        try:
            arr = np.asarray(lag, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"lag must be a real number >= {lo}, got {lag!r}") from None
        if not np.isfinite(arr).all() or (arr < lo).any():
            raise ValueError(
                f"lag must be finite and >= {lo} (the {self.law.name} law's smallest lag), "
                f"got {lag!r}"
            )
        return arr

    def log(self, lag):
        """``ln`` of the continuous N(ell), from ``ln f`` (finite where f underflows).

        Raises ``ValueError`` for a lag below ``law.min_lag`` (lags are >= 0), NaN or inf.
        """
        d = self.detection
        lf = np.asarray(self.law.log(self._check_lag(lag)), dtype=float)
        return d.rate * (math.log(d.prefactor) - lf)

    def continuous(self, lag):
        """N(ell) before the ceiling, as floats (``inf`` only beyond float64's range)."""
        with np.errstate(over="ignore"):
            out = np.exp(self.log(lag))
        return float(out) if np.ndim(out) == 0 else out

    def __call__(self, lag):
        """N(ell) = ceil(...): an int for a scalar lag, a float array otherwise."""
        out = np.ceil(self.continuous(lag))
        if np.ndim(out) == 0:
            return int(out) if math.isfinite(out) and out < 2**63 else float(out)
        return out

    def latex(self, numeric: bool = False) -> str:
        """LaTeX of N(ell)."""
        if numeric:
            return sp.latex(self.expr_ceil)
        body = sp.latex(GENERAL_FORMULA, symbol_names=LATEX_NAMES)
        return r"N(\ell) = \left\lceil " + body + r" \right\rceil"

    def __repr__(self) -> str:
        d = self.detection
        return (
            f"SampleComplexity({self.law!r}, alpha={d.alpha:g}, sigma={d.sigma:g}, c={d.c:g}, "
            f"delta={d.delta:g}, exponent={d.exponent!r}, estimator={d.estimator!r})"
        )

    def text(self, numeric: bool = False) -> str:
        """Plain text of N(ell)."""
        if numeric:
            return "N(ell) = " + sp.sstr(self.expr_ceil)
        return "N(ell) = ceiling(" + sp.sstr(GENERAL_FORMULA) + ")"


def sample_complexity(
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
) -> SampleComplexity:
    """Minimal sample size N(ell) to detect a lag-ell dependency with power ``1 - delta``.

    Parameters
    ----------
    law : EnvelopeLaw
        The envelope f(ell).
    alpha, sigma, c, delta, false_alarm, epsilon, exponent
        See :class:`Detection`.

    Returns
    -------
    SampleComplexity
        ``.expr`` is the SymPy form; calling it on lags gives numbers.

    Examples
    --------
    >>> import theory
    >>> n_of = theory.sample_complexity(theory.Exponential(tau=20.0), alpha=1.5)
    >>> n_of(0) < n_of(10) < n_of(20)
    True
    """
    det = Detection(alpha, sigma, c, delta, false_alarm, epsilon, exponent, estimator)
    return SampleComplexity(law, det)
