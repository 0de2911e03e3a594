"""GPU per-lag product transport (orders ``zeroth``, ``first`` and ``diagonal``).

The recurrence is :func:`verify.recurrences.kernels.product_transport`'s, reorganised for
the GPU: one thread per (sequence, unit) pair walks every position and lag of that unit,
with the running product, its log scale and the running correction sum in registers.
Neighbouring threads are neighbouring units, so the loads of the per-step factors coalesce.
Each thread owns its slices of the outputs, so there are no races and the results are
deterministic.  The ``"exact"`` order (products of full Jacobians) has no GPU kernel.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from .streams import launch

__all__ = ["product_transport"]


@cuda.jit(device=True)
def _lse_add(env_m, env_s, b, lag, q, x):
    # streaming log-sum-exp, as the CPU kernel's: the sum is exp(env_m) * env_s
    if x == -math.inf:
        return
    m = env_m[b, lag, q]
    if x > m:
        env_s[b, lag, q] = env_s[b, lag, q] * math.exp(m - x) + 1.0
        env_m[b, lag, q] = x
    else:
        env_s[b, lag, q] += math.exp(x - m)


@cuda.jit
def _product_kernel(fac, corr, use_corr, lam, loglam, max_lag, acc, env_m, env_s, store,
                    out_log, out_sgn):  # fmt: skip
    k = cuda.grid(1)
    B, T, H = fac.shape
    if k >= B * H:
        return
    b = k // H
    q = k % H
    for i in range(T):
        p = 1.0
        e = 0.0
        cs = 0.0
        top = i + 1 if i + 1 < max_lag else max_lag
        for lag in range(top + 1):
            j = i - lag + 1
            if lag > 0:
                v = p * fac[b, j, q]
                a = abs(v)
                if a != 0.0 and (a < 1e-200 or a > 1e200):
                    e += math.log(a)
                    v /= a
                p = v
                cs += corr[b, j, q]
            val = p * (1.0 + cs) if use_corr else p
            if e == 0.0:
                acc[b, lag, q] += abs(val) * lam[q]
            elif val != 0.0:
                _lse_add(env_m, env_s, b, lag, q, math.log(abs(val)) + e + loglam[q])
            if store:
                if val == 0.0:
                    out_log[b, i, lag, q] = -math.inf
                    out_sgn[b, i, lag, q] = 0.0
                else:
                    out_log[b, i, lag, q] = math.log(abs(val)) + e
                    out_sgn[b, i, lag, q] = 1.0 if val > 0.0 else -1.0


def product_transport(fac, corr, use_corr, lam, loglam, max_lag, acc, env_m, env_s, store,
                      out_log, out_sgn):  # fmt: skip
    """GPU :func:`verify.recurrences.kernels.product_transport`: same arguments and outputs.

    The values agree with the CPU kernel's to rounding (the CUDA compiler may fuse
    multiply-adds, and libdevice's ``log``/``exp`` are not the C library's).

    The host arrays ``acc``, ``env_m``, ``env_s`` (and ``out_log``/``out_sgn`` when ``store``)
    are updated in place.
    """
    B, _, H = fac.shape
    d_acc, d_m, d_s = (cuda.to_device(a) for a in (acc, env_m, env_s))
    d_log = cuda.to_device(out_log)
    d_sgn = cuda.to_device(out_sgn)
    d_fac = cuda.to_device(np.ascontiguousarray(fac))
    d_corr = cuda.to_device(np.ascontiguousarray(corr))
    launch(
        _product_kernel, B * H, d_fac, d_corr, bool(use_corr), cuda.to_device(lam),
        cuda.to_device(loglam), int(max_lag), d_acc, d_m, d_s, bool(store), d_log, d_sgn,
    )  # fmt: skip
    d_acc.copy_to_host(acc)
    d_m.copy_to_host(env_m)
    d_s.copy_to_host(env_s)
    if store:
        d_log.copy_to_host(out_log)
        d_sgn.copy_to_host(out_sgn)
