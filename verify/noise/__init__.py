"""The alpha-stable noise engine: sampler, trial statistics and tail-index estimators.

Modules, from the bottom up
---------------------------
elementary
    Branch-free ``sin``, ``cos``, ``log``, ``exp`` that vectorise inside numba loops and give
    bit-identical results on NumPy arrays.
cms
    The Chambers-Mallows-Stuck transform (one scalar definition, compiled for the CPU here
    and as a CUDA device function in :mod:`verify.gpu.noise`), the seeded stream layout and
    the CPU kernels.  Imports nothing above it.
stable
    The public face: :func:`~verify.noise.stable.sample`, the streaming trial statistics and
    their NumPy references; validates, then dispatches down to :mod:`cms` or the GPU.
mcculloch, tail
    McCulloch's quantile tables; the alpha estimators (McCulloch, Koutrouvelis, block sums)
    with bootstrap intervals.
accuracy
    The estimators' accuracy table (``python -m verify.noise.accuracy``).
"""
