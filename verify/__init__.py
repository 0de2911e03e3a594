"""Numerical engines and claim checks for the learnability-window theory.

Modules
-------
stable
    Chambers-Mallows-Stuck sampler for alpha-stable noise and streaming trial statistics.
tail
    Tail-index (alpha) and scale estimators: McCulloch, Koutrouvelis, block sums.
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
