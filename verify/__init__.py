"""Numerical engines and claim checks for the learnability-window theory.

Packages and modules, in the order data flows through them
-----------------------------------------------------------
noise
    The alpha-stable engine: the CMS sampler, streaming trial statistics
    (:mod:`verify.noise.stable`, also importable as ``verify.stable``) and the tail-index
    estimators (:mod:`verify.noise.tail`, also ``verify.tail``).
recurrences
    Gated recurrent cells, exact and first-order transport, effective learning rates,
    envelopes and envelope-law fitting.
detection
    Monte Carlo of the lag-detection test: power, minimal N(ell), empirical windows.
claims
    The claims C1-C9 of THEORY.md as named checks returning structured results.
device
    ``device="cpu" | "cuda"`` selection and the ``using`` context.
gpu
    The numba.cuda kernels (imported only when a computation runs on the GPU).
"""

__version__ = "0.1.0"

_ALIASES = {"stable": "verify.noise.stable", "tail": "verify.noise.tail"}


def __getattr__(name):
    """Import ``verify.stable`` and ``verify.tail`` (the noise engine's faces) on first use."""
    if name in _ALIASES:
        import importlib

        return importlib.import_module(_ALIASES[name])
    raise AttributeError(f"module 'verify' has no attribute {name!r}")
