"""numba.cuda kernels: the GPU counterparts of the CPU kernels of :mod:`verify`.

Imported only when a computation runs with ``device="cuda"`` (see :mod:`verify.device`),
so the package imports and runs on machines without CUDA.

Modules
-------
streams
    Seeded xoroshiro128+ states, one per GPU stream, from a ``numpy.random.SeedSequence``.
noise
    The alpha-stable sampler, streaming trial means and the detection Monte Carlo.
transport
    The per-lag product transport of the recurrences (orders zeroth, first, diagonal).
"""
