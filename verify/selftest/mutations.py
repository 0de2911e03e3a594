"""Plausible errors planted through injection points, never by editing files.

Each :class:`Mutation` is a context manager factory: inside ``with mutation.applied():``
one definition of the theory or of the engines is replaced by a plausibly wrong one (a
wrong exponent, a prefactor 5 % off, the window off by one, the zeroth order for the first,
noise 5 % too wide, ...).  The replacement is installed wherever the original object is
bound (a function imported by name into other modules is replaced there too) and every
``functools`` cache of the package is cleared on entry and exit, so that no result computed
with the correct code leaks into the mutated run or back.

numba kernels are never patched: the injection points are the Python-level definitions the
kernels are called from (the sampler's argument check, the transport's entry point, the
theory's properties).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

__all__ = ["MUTATIONS", "Mutation", "clear_caches", "get", "patch_everywhere"]


def _package_modules():
    return [
        m
        for name, m in list(sys.modules.items())
        if m is not None
        and (name in ("theory", "verify") or name.startswith(("theory.", "verify.")))
    ]


def clear_caches() -> int:
    """Clear every ``functools`` cache held by a module of ``theory`` or ``verify``.

    Caches held on classes (``@classmethod @cache``) are cleared too.  Returns how many were
    cleared.
    """
    n = 0
    seen = set()
    for mod in _package_modules():
        for value in list(vars(mod).values()):
            targets = [value]
            if isinstance(value, type) and value.__module__ == mod.__name__:
                for attr in vars(value).values():
                    targets.append(getattr(attr, "__func__", attr))
            for t in targets:
                clear = getattr(t, "cache_clear", None)
                if callable(clear) and id(t) not in seen:
                    seen.add(id(t))
                    clear()
                    n += 1
    return n


@contextlib.contextmanager
def patch_everywhere(owner, name: str, make: Callable) -> Iterator[None]:
    """Replace ``owner.name`` by ``make(original)`` wherever the original is bound.

    ``owner`` is a module or a class.  For a module attribute, every module of the package
    that imported the same object by name (``from .x import f``) gets the replacement too.
    For a class attribute (a property, a method, possibly inherited), the class alone; the
    original is the raw descriptor (``inspect.getattr_static``).  Restored on exit.
    """
    is_class = isinstance(owner, type)
    own = name in vars(owner)
    original = inspect.getattr_static(owner, name) if is_class else getattr(owner, name)
    replacement = make(original)
    bound = [(owner, name)]
    if not is_class:
        for mod in _package_modules():
            for attr, value in list(vars(mod).items()):
                if value is original and (mod, attr) != (owner, name):
                    bound.append((mod, attr))
    clear_caches()
    try:
        for obj, attr in bound:
            setattr(obj, attr, replacement)
        yield
    finally:
        for obj, attr in bound:
            if obj is owner and is_class and not own:
                delattr(owner, name)
            else:
                setattr(obj, attr, original)
        clear_caches()


def _property(make_value):
    """``make(orig_property) -> property`` computing ``make_value(self, orig_value)``."""

    def make(orig):
        return property(lambda self: make_value(self, orig.fget(self)), doc=orig.__doc__)

    return make


# ------------------------------------------------------------------------------ injections
def _detection():
    from theory.complexity import Detection

    return Detection


def _window():
    from theory.window import LearnabilityWindow

    return LearnabilityWindow


def _rate_alpha():
    def value(self, rate):
        return rate if self.estimator == "median" else self.alpha

    return patch_everywhere(_detection(), "rate", _property(value))


def _prefactor(factor):
    return patch_everywhere(_detection(), "prefactor", _property(lambda s, k: k * factor))


def _q_power_gauss():
    """q_{1-delta} of the Gaussian law of the same scale at alpha = 2, whatever alpha is."""
    from scipy import special

    def value(self, q):
        if self.estimator == "median":
            return q
        return math.sqrt(2.0) * float(special.ndtri(1.0 - self.delta))

    return patch_everywhere(_detection(), "q_power", _property(value))


def _q_power_two_sided():
    """q_{1-delta/2} for q_{1-delta}: a two-sided quantile where a one-sided one belongs."""
    from theory.noise import sas_quantile

    def value(self, q):
        if self.estimator == "median":
            return q
        return sas_quantile(1.0 - self.delta / 2.0, self.alpha)

    return patch_everywhere(_detection(), "q_power", _property(value))


def _window_call(shift=0, ceil=False):
    """H_N shifted by ``shift`` lags, or rounded up (``ceil``) where a lag is learnable."""
    cls = _window()

    def make(orig):
        def call(self, n):
            out = orig(self, n)
            if ceil:
                h = np.asarray(self.continuous(n), dtype=float)
                up = (np.asarray(out) >= 0) & (h > np.asarray(out, dtype=float))
                out = np.asarray(out) + up.astype(np.int64)
                return int(out) if out.ndim == 0 else out
            return out + shift

        return call

    return patch_everywhere(cls, "__call__", make)


def _inverse_exponent():
    """Stretched exponential: ``tau (ln(A/theta))**gamma`` for ``**(1/gamma)``."""
    from theory import laws

    cls = laws.StretchedExponential

    def make(orig):
        def inverse(klass):
            expr = orig.__func__(klass)
            g = next(s for s in expr.free_symbols if s.name == "gamma")
            return expr.subs(g, 1 / g)

        return classmethod(inverse)

    return patch_everywhere(cls, "inverse", make)


def _sampler(sigma_factor=1.0, beta=None):
    from verify.noise import stable

    def make(orig):
        def check(alpha, b, sigma, param):
            a, b2, s = orig(alpha, b, sigma, param)
            return a, (b2 if beta is None else beta), s * sigma_factor

        return check

    return patch_everywhere(stable, "_check_common", make)


def _first_as_zeroth():
    """Every request for the first order is served the zeroth order."""
    transport = importlib.import_module("verify.recurrences.transport")  # not the function

    def make(orig):
        def check(order):
            order = orig(order)
            return "zeroth" if order == "first" else order

        return check

    return patch_everywhere(transport, "check_order", make)


def _correction_scaled(factor):
    """The first-order correction sum ``d / r`` multiplied by ``factor``."""
    transport = importlib.import_module("verify.recurrences.transport")  # not the function

    def make(orig):
        def factors(net, traj, order):
            fac, corr = orig(net, traj, order)
            return (fac, corr * factor) if order == "first" else (fac, corr)

        return factors

    return patch_everywhere(transport, "step_factors", make)


def _mean_scale_exponent(exponent=None, shift=0.0):
    """theory.mean_scale with exponent ``exponent`` (the Gaussian: 1/2), or 1/kappa + ``shift``."""
    from theory import noise

    def make(orig):
        def mean_scale(alpha, sigma, n):
            e = exponent if exponent is not None else 1.0 / noise.kappa(alpha) + shift
            return orig(alpha, sigma, n) * np.asarray(n, dtype=float) ** (
                1.0 / noise.kappa(alpha) - e
            )

        return mean_scale

    return patch_everywhere(noise, "mean_scale", make)


def _adam_as_sgd():
    envelope = importlib.import_module("verify.recurrences.envelope")  # not the function

    def make(orig):
        def rates(net, optimizer="sgd", lr=1.0, v_hat=None, eps=1e-8):
            return orig(net, "sgd", lr, None, eps)

        return rates

    return patch_everywhere(envelope, "unit_rates", make)


def _mellin_beta():
    """Beta(a, b) spectrum: the Mellin transform evaluated at ``ell + 1`` for ``ell``."""
    from theory import spectra

    cls = spectra.BetaRetention

    def make(orig):
        def sym(klass):
            expr = orig.__func__(klass)
            return expr.subs(spectra.ell, spectra.ell + 1)

        return classmethod(sym)

    return patch_everywhere(cls, "_symbolic_envelope", make)


def _epsilon_one_sided():
    """Epsilon = q_{1-delta0} (one-sided) for q_{1-delta0/2}: false alarms doubled."""
    from theory import complexity
    from theory.noise import sas_quantile

    def make(orig):
        def threshold(alpha, false_alarm=0.05):
            return sas_quantile(1.0 - false_alarm, alpha)

        return threshold

    return patch_everywhere(complexity, "detection_threshold", make)


def _s4d_dt_range():
    """Mamba's closed form with delta log-uniform on [1e-4, 1e-2] for [1e-3, 1e-1]."""
    from theory.initialisations import S4DReal

    def make(orig):
        def init(self, states=16, dt_min=1e-3, dt_max=1e-1, a_scale=1.0):
            orig(self, states, dt_min / 10.0, dt_max / 10.0, a_scale)

        return init

    return patch_everywhere(S4DReal, "__init__", make)


def _s4d_scaling():
    """Fresh Mamba layers drawn with A_n = -n/2 for S4D-real's A_n = -n."""
    from verify.recurrences.mamba import Mamba

    def make(orig):
        def init(klass, *args, **kwargs):
            kwargs["a_scale"] = 0.5 * kwargs.get("a_scale", 1.0)
            return orig.__func__(klass, *args, **kwargs)

        return classmethod(init)

    return patch_everywhere(Mamba, "init", make)


def _diagonal_correction():
    """A spurious first-order correction d = r / 100 in the diagonal recurrences."""
    from verify.recurrences.diagonal import DiagonalRecurrence

    def make(orig):
        def retention(self, traj):
            r, d = orig(self, traj)
            return r, d + 0.01 * r

        return retention

    return patch_everywhere(DiagonalRecurrence, "retention_and_correction", make)


@dataclass(frozen=True)
class Mutation:
    """One planted error.

    Attributes
    ----------
    name : str
        Short identifier (``"K*0.95"``).
    description : str
        What is wrong, in words.
    apply : callable
        Returns a context manager that installs the error.
    expected : tuple of str
        Claims that read the mutated definition and are meant to notice it (the cheap
        designated killers used by the fast matrix; the full matrix runs every claim).
    kind : {"error", "resolution"}
        ``"error"``: a plausible mistake every run must catch.  ``"resolution"``: an error
        planted at the size a claim states it resolves (detected with probability >= 0.9,
        so one run in ten may miss it): its row measures power, it is not required.
    """

    name: str
    description: str
    apply: Callable = field(repr=False)
    expected: tuple[str, ...] = ()
    kind: str = "error"

    @contextlib.contextmanager
    def applied(self):
        """Install the error for the duration of the ``with`` block."""
        with self.apply():
            yield self


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("kappa->alpha", "N(l) ~ f^-alpha (the v1 exponent) instead of f^-kappa_alpha",
             _rate_alpha, ("C2", "C3")),
    Mutation("K*0.95", "prefactor K = (eps + q) sigma / c too small by 5 %",
             lambda: _prefactor(0.95), ("C2",)),
    Mutation("K*1.05", "prefactor K too large by 5 %", lambda: _prefactor(1.05), ("C2",)),
    Mutation("H+1", "H_N one lag too long", lambda: _window_call(shift=1), ("C3",)),
    Mutation("H-1", "H_N one lag too short", lambda: _window_call(shift=-1), ("C3",)),
    Mutation("ceil", "H_N = ceil(f^-1(theta_N)) instead of floor",
             lambda: _window_call(ceil=True), ("C3",)),
    Mutation("inverse", "stretched exponential inverted with (ln(A/theta))^gamma for ^(1/gamma)",
             _inverse_exponent, ("C3",)),
    Mutation("q-gauss", "q_{1-delta} taken from the Gaussian whatever alpha is",
             _q_power_gauss, ("C2",)),
    Mutation("q-two-sided", "q_{1-delta/2} for q_{1-delta}", _q_power_two_sided, ("C2",)),
    Mutation("eps-one-sided", "epsilon = q_{1-delta0} instead of q_{1-delta0/2}",
             _epsilon_one_sided, ("C2",)),
    Mutation("sigma*1.05", "the sampler's noise 5 % wider than asked",
             lambda: _sampler(sigma_factor=1.05), ("C1", "C2")),
    Mutation("skewed", "the sampler draws skewed noise (beta = 0.5) for symmetric",
             lambda: _sampler(beta=0.5), ("C1", "C2")),
    Mutation("zeroth-for-first", "the first-order transport computes the zeroth order",
             _first_as_zeroth, ("C7",)),
    Mutation("correction*3", "the first-order correction sum d/r taken three times",
             lambda: _correction_scaled(3.0), ("C7",)),
    Mutation("correction*2", "the first-order correction sum d/r taken twice",
             lambda: _correction_scaled(2.0), ("C7",)),
    Mutation("correction*0.5", "half the first-order correction sum d/r",
             lambda: _correction_scaled(0.5), ("C7",)),
    Mutation("correction*-1", "the first-order correction with the wrong sign",
             lambda: _correction_scaled(-1.0), ("C7",)),
    Mutation("scale-gauss", "theory.mean_scale with the Gaussian N^(-1/2) for N^(-1/kappa)",
             lambda: _mean_scale_exponent(exponent=0.5), ("C1",)),
    Mutation("adam-as-sgd", "Adam's per-unit rates ignored (every optimizer treated as SGD)",
             _adam_as_sgd, ("C9",)),
    Mutation("mellin", "Beta spectrum's Mellin transform evaluated at ell + 1",
             _mellin_beta, ("C6",)),
    Mutation("s4d-dt-range", "Mamba's closed form with delta on [1e-4, 1e-2] for [1e-3, 1e-1]",
             _s4d_dt_range, ("C10",)),
    Mutation("s4d-scaling", "fresh Mamba layers with A_n = -n/2 for S4D-real's -n",
             _s4d_scaling, ("C10",)),
    Mutation("diagonal-correction", "a spurious correction d = r/100 in the diagonal cells",
             _diagonal_correction, ("C10",)),
    # each at the size its claim states it resolves with power >= 0.9 (quick profile)
    Mutation("K*1.0055", "prefactor K too large by C2's resolution (0.55 %)",
             lambda: _prefactor(1.0055), ("C2",), "resolution"),
    Mutation("K*0.9945", "prefactor K too small by C2's resolution (0.55 %)",
             lambda: _prefactor(0.9945), ("C2",), "resolution"),
    Mutation("sigma*1.021", "the sampler's noise wider by C1's scale resolution (2.1 %)",
             lambda: _sampler(sigma_factor=1.021), ("C1",), "resolution"),
    Mutation("scale-exponent+0.009", "theory.mean_scale's exponent 1/kappa off by C1's "
             "resolution (0.009)", lambda: _mean_scale_exponent(shift=0.009), ("C1",),
             "resolution"),
    Mutation("correction*1.5", "the first-order correction taken x1.5 (C7's resolution)",
             lambda: _correction_scaled(1.5), ("C7",), "resolution"),
)  # fmt: skip


def get(name: str) -> Mutation:
    """The mutation called ``name``; a ValueError lists the valid names."""
    for m in MUTATIONS:
        if m.name == name:
            return m
    raise ValueError(f"unknown mutation {name!r}; available: {[m.name for m in MUTATIONS]}")
