"""Symbolic theory of learnability windows in gated recurrent networks.

SymPy derivations of the sample complexity N(ell), the learnability window H_N and its
growth law for each envelope law, and the envelopes induced by gate spectra, with
vectorised numeric evaluation.

Modules
-------
noise
    kappa_alpha, the mean's scale and the SaS quantiles that set the detection threshold.
laws
    Envelope laws f(ell): exponential, polynomial, logarithmic, stretched exponential,
    tempered power law.
complexity
    N(ell) with its explicit prefactor (and the v1 exponent for comparison).
window
    H_N in closed form, its integer value and its growth regime in N.
spectra
    Envelopes derived from gate spectra (homogeneous, Beta, uniform, log-uniform).
snr
    The author's per-lag SNR test under the null: where the sign flip (or a mean
    extrapolated from few samples) declares pure noise detectable.
initialisations
    The spectra of today's standard initialisations (RG-LRU, Mamba's S4D-real, minGRU),
    their envelopes, asymptotic laws and windows.
"""

from . import initialisations, snr, spectra
from .complexity import Detection, SampleComplexity, sample_complexity
from .laws import (
    LAWS,
    EnvelopeLaw,
    Exponential,
    Logarithmic,
    Polynomial,
    StretchedExponential,
    TemperedPowerLaw,
    ell,
    make_law,
)
from .noise import detection_threshold, kappa, kappa_expr, mean_scale, sas_cdf, sas_quantile
from .window import NO_LAG, LearnabilityWindow, Regime, learnability_window

__all__ = [
    "LAWS",
    "NO_LAG",
    "Detection",
    "EnvelopeLaw",
    "Exponential",
    "LearnabilityWindow",
    "Logarithmic",
    "Polynomial",
    "Regime",
    "SampleComplexity",
    "StretchedExponential",
    "TemperedPowerLaw",
    "detection_threshold",
    "ell",
    "kappa",
    "kappa_expr",
    "learnability_window",
    "make_law",
    "mean_scale",
    "sample_complexity",
    "sas_cdf",
    "sas_quantile",
    "initialisations",
    "snr",
    "spectra",
]
