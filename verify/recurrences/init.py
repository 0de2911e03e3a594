"""Seeded initialisers: gate biases drawn to realise a chosen gate spectrum.

A gate spectrum is any object with ``sample(size, rng)`` returning retention factors
``r`` in (0, 1) — the classes of :mod:`theory.spectra` (homogeneous, Beta retention,
uniform retention, log-uniform time constants) or :class:`Chrono` defined here.  The bias
of the retention gate is then ``logit(r)`` (or ``logit(1 - r)`` for a gate ``s = 1 - r``),
so that with small gate weights the unit's retention is ``r``.
"""

from __future__ import annotations

import numpy as np

from theory._validate import check_in_range, check_int, check_positive

__all__ = [
    "Chrono",
    "make_spectrum",
    "normal_weights",
    "random_inputs",
    "retention_logit",
    "sample_retention",
]

#: Spectrum names accepted by :func:`make_spectrum`, with their parameters.
SPECTRUM_NAMES = {
    "homogeneous": ("r0",),
    "beta": ("a", "b"),
    "uniform": ("r1",),
    "log_uniform": ("tau_min", "tau_max"),
    "chrono": ("t_max",),
}


class Chrono:
    """Chrono initialisation (Tallec & Ollivier, 2018) as a retention spectrum.

    The retention-gate bias is ``log(u)`` with ``u ~ U(1, t_max - 1)``, so the retention
    is ``sigmoid(log u) = u / (1 + u)`` and the time constants spread up to about
    ``t_max``.

    Parameters
    ----------
    t_max : float
        Longest expected dependency, > 2.
    """

    def __init__(self, t_max: float):
        self.t_max = check_in_range("t_max", t_max, 2.0, lo_open=True)

    def sample_bias(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """Return ``size`` chrono biases ``log(U(1, t_max - 1))``."""
        return np.log(rng.uniform(1.0, self.t_max - 1.0, size=size))

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """Return ``size`` retention factors ``u / (1 + u)``, ``u ~ U(1, t_max - 1)``."""
        u = rng.uniform(1.0, self.t_max - 1.0, size=size)
        return u / (1.0 + u)

    def __repr__(self) -> str:
        return f"Chrono(t_max={self.t_max:g})"


def make_spectrum(name: str, **params):
    """Build a gate spectrum by name.

    Parameters
    ----------
    name : {"homogeneous", "beta", "uniform", "log_uniform", "chrono"}
        The spectrum family; parameters as in :data:`SPECTRUM_NAMES`.
    **params
        Parameters of the family, e.g. ``make_spectrum("beta", a=2, b=0.5)``.

    Returns
    -------
    object
        A :mod:`theory.spectra` instance (or :class:`Chrono`).
    """
    if name not in SPECTRUM_NAMES:
        raise ValueError(f"spectrum must be one of {sorted(SPECTRUM_NAMES)}, got {name!r}")
    expected = SPECTRUM_NAMES[name]
    if set(params) != set(expected):
        raise ValueError(f"spectrum {name!r} takes parameters {expected}, got {tuple(params)}")
    if name == "chrono":
        return Chrono(**params)
    from theory import spectra

    return spectra.make_spectrum(name, **params)


def sample_retention(spectrum, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``size`` retention factors from ``spectrum`` and check they lie in (0, 1).

    ``spectrum`` is a spectrum object or a name understood by :func:`make_spectrum`
    given as ``(name, params_dict)``.
    """
    if isinstance(spectrum, tuple) and len(spectrum) == 2 and isinstance(spectrum[0], str):
        spectrum = make_spectrum(spectrum[0], **dict(spectrum[1]))
    elif isinstance(spectrum, str):
        raise ValueError(
            f"spectrum {spectrum!r} needs parameters: pass (name, params) or a spectrum object; "
            f"names are {sorted(SPECTRUM_NAMES)}"
        )
    if not callable(getattr(spectrum, "sample", None)):
        raise ValueError(
            "spectrum must be a gate spectrum (an object with sample(size, rng), e.g. from "
            f"theory.spectra) or (name, params) with name in {sorted(SPECTRUM_NAMES)}, "
            f"got {spectrum!r}"
        )
    size = check_int("hidden", size, lo=1)
    r = np.asarray(spectrum.sample(size, rng), dtype=np.float64).reshape(-1)
    if r.shape != (size,) or not np.all((r > 0.0) & (r < 1.0)):
        raise ValueError(f"spectrum {spectrum!r} must sample {size} retention factors in (0, 1)")
    return r


def retention_logit(r: np.ndarray) -> np.ndarray:
    """Return ``logit(r) = log(r / (1 - r))``, the bias giving ``sigmoid(bias) = r``."""
    return np.log(r) - np.log1p(-r)


def normal_weights(rng: np.random.Generator, shape, scale: float, fan_in: int) -> np.ndarray:
    """Gaussian weights with standard deviation ``scale / sqrt(fan_in)`` (``scale`` >= 0)."""
    scale = check_in_range("scale", scale, 0.0)
    fan_in = check_int("fan_in", fan_in, lo=1)
    return rng.standard_normal(shape) * (scale / np.sqrt(fan_in))


def check_scale(name: str, value) -> float:
    """Return a non-negative weight scale."""
    return check_in_range(name, value, 0.0)


def check_lr(value) -> float:
    """Return a positive learning rate."""
    return check_positive("lr", value)


def random_inputs(batch: int, steps: int, inputs: int, seed=0, scale: float = 1.0) -> np.ndarray:
    """Seeded standard-normal input sequences of shape (batch, steps, inputs), times ``scale``."""
    batch = check_int("batch", batch, lo=1)
    steps = check_int("steps", steps, lo=1)
    inputs = check_int("inputs", inputs, lo=1)
    scale = check_scale("scale", scale)
    return scale * np.random.default_rng(seed).standard_normal((batch, steps, inputs))
