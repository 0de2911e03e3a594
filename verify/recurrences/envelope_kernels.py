"""Numba kernel of the envelope sums of the product orders, without the transport array.

:func:`product_envelope` accumulates, per lag and unit, the log of the sum over sequences
and positions of ``|transport|`` for the orders ``zeroth``, ``first`` and ``diagonal``,
without forming the (B, T, L + 1, H) array that :func:`verify.recurrences.kernels.
product_transport` stores.  It runs forward in time in blocks of :data:`BLOCK` positions,
vectorised over lags, with a range check that keeps the running products away from
underflow inside a block and a scalar log-space path for the products that leave it.  Its
NumPy reference is :func:`verify.recurrences.transport.envelope_sums_reference`; the public
wrapper is :func:`verify.recurrences.transport.envelope_sums`.  The index convention is that
of :mod:`verify.recurrences.kernels`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from verify._jit import jit, pjit

__all__ = ["BLOCK", "UNITS", "product_envelope"]


#: decades a running product may lose or gain between two range checks
_BLOCK_DECADES = 100.0
#: most positions between two range checks
_MAX_CHECK = 64
#: positions per block of the vectorised loop (each load of a source serves this many)
BLOCK = 16
#: units per task of :func:`product_envelope` (one cache line of a (B, T, H) array)
UNITS = 8


@jit
def _block_bounds(fac):
    """Positions ``g`` between range checks and the range ``[lo, hi]`` checked.

    With ``fmin``/``fmax`` the smallest non-zero and the largest ``|fac|`` of the sequence,
    a product in ``[lo, hi] = [1e-300 / fmin**g, 1e300 / fmax**g]`` stays within
    ``[1e-300, 1e300]`` (normal: no underflow, no overflow) for ``g`` more factors.  ``g``
    is the largest count (at most 64) with ``fmin**g`` and ``fmax**-g >= 1e-100``, at least
    1; ``g = 0`` (every product on the scalar path) when one factor can move a product by
    more than 200 decades.
    """
    fmin = math.inf
    fmax = 0.0
    T, H = fac.shape
    for k in range(T):
        for q in range(H):
            a = abs(fac[k, q])
            if a != 0.0 and a < fmin:
                fmin = a
            if a > fmax:
                fmax = a
    dmin = -math.log10(fmin) if fmin < 1.0 else 0.0  # decades lost per factor
    dmax = math.log10(fmax) if fmax > 1.0 else 0.0  # decades gained per factor
    d = max(dmin, dmax)
    if d > 200.0:
        return 0, 0.0, 0.0
    g = _MAX_CHECK if d * _MAX_CHECK <= _BLOCK_DECADES else max(1, int(_BLOCK_DECADES / d))
    return g, 1e-300 * 10.0 ** (dmin * g), 1e300 / 10.0 ** (dmax * g)


@jit
def _lse_add1(env_m, env_s, j, x):
    # streaming log-sum-exp into a 1-d accumulator: the sum is exp(env_m[j]) * env_s[j]
    m = env_m[j]
    if x > m:
        env_s[j] = env_s[j] * math.exp(m - x) + 1.0
        env_m[j] = x
    else:
        env_s[j] += math.exp(x - m)


@jit(fastmath={"contract"})
def _block_first(acc, av, bv, F, G1, jlo, L, use_corr):
    # acc[j] += sum_m |F_m| |av[j+m] G1_m + bv[j+m]| for j in [jlo, L) and a full block
    # (BLOCK = 16): the block's constants in scalars and one view per shift, indexed
    # from 0, so that LLVM sees affine, non-negative indices and vectorises the loop
    n = L - jlo
    o = acc[jlo:L]
    a0 = av[jlo + 0 :]
    a1 = av[jlo + 1 :]
    a2 = av[jlo + 2 :]
    a3 = av[jlo + 3 :]
    a4 = av[jlo + 4 :]
    a5 = av[jlo + 5 :]
    a6 = av[jlo + 6 :]
    a7 = av[jlo + 7 :]
    a8 = av[jlo + 8 :]
    a9 = av[jlo + 9 :]
    a10 = av[jlo + 10 :]
    a11 = av[jlo + 11 :]
    a12 = av[jlo + 12 :]
    a13 = av[jlo + 13 :]
    a14 = av[jlo + 14 :]
    a15 = av[jlo + 15 :]
    f0 = abs(F[0])
    f1 = abs(F[1])
    f2 = abs(F[2])
    f3 = abs(F[3])
    f4 = abs(F[4])
    f5 = abs(F[5])
    f6 = abs(F[6])
    f7 = abs(F[7])
    f8 = abs(F[8])
    f9 = abs(F[9])
    f10 = abs(F[10])
    f11 = abs(F[11])
    f12 = abs(F[12])
    f13 = abs(F[13])
    f14 = abs(F[14])
    f15 = abs(F[15])
    if use_corr:
        b0 = bv[jlo + 0 :]
        b1 = bv[jlo + 1 :]
        b2 = bv[jlo + 2 :]
        b3 = bv[jlo + 3 :]
        b4 = bv[jlo + 4 :]
        b5 = bv[jlo + 5 :]
        b6 = bv[jlo + 6 :]
        b7 = bv[jlo + 7 :]
        b8 = bv[jlo + 8 :]
        b9 = bv[jlo + 9 :]
        b10 = bv[jlo + 10 :]
        b11 = bv[jlo + 11 :]
        b12 = bv[jlo + 12 :]
        b13 = bv[jlo + 13 :]
        b14 = bv[jlo + 14 :]
        b15 = bv[jlo + 15 :]
        g0 = G1[0]
        g1 = G1[1]
        g2 = G1[2]
        g3 = G1[3]
        g4 = G1[4]
        g5 = G1[5]
        g6 = G1[6]
        g7 = G1[7]
        g8 = G1[8]
        g9 = G1[9]
        g10 = G1[10]
        g11 = G1[11]
        g12 = G1[12]
        g13 = G1[13]
        g14 = G1[14]
        g15 = G1[15]
        for j in range(n):
            t = o[j] + f0 * abs(a0[j] * g0 + b0[j])
            t += f1 * abs(a1[j] * g1 + b1[j])
            t += f2 * abs(a2[j] * g2 + b2[j])
            t += f3 * abs(a3[j] * g3 + b3[j])
            t += f4 * abs(a4[j] * g4 + b4[j])
            t += f5 * abs(a5[j] * g5 + b5[j])
            t += f6 * abs(a6[j] * g6 + b6[j])
            t += f7 * abs(a7[j] * g7 + b7[j])
            t += f8 * abs(a8[j] * g8 + b8[j])
            t += f9 * abs(a9[j] * g9 + b9[j])
            t += f10 * abs(a10[j] * g10 + b10[j])
            t += f11 * abs(a11[j] * g11 + b11[j])
            t += f12 * abs(a12[j] * g12 + b12[j])
            t += f13 * abs(a13[j] * g13 + b13[j])
            t += f14 * abs(a14[j] * g14 + b14[j])
            t += f15 * abs(a15[j] * g15 + b15[j])
            o[j] = t
    else:
        for j in range(n):
            t = o[j] + f0 * abs(a0[j])
            t += f1 * abs(a1[j])
            t += f2 * abs(a2[j])
            t += f3 * abs(a3[j])
            t += f4 * abs(a4[j])
            t += f5 * abs(a5[j])
            t += f6 * abs(a6[j])
            t += f7 * abs(a7[j])
            t += f8 * abs(a8[j])
            t += f9 * abs(a9[j])
            t += f10 * abs(a10[j])
            t += f11 * abs(a11[j])
            t += f12 * abs(a12[j])
            t += f13 * abs(a13[j])
            t += f14 * abs(a14[j])
            t += f15 * abs(a15[j])
            o[j] = t


@jit(fastmath={"contract"})
def _advance(av, bv, fl, gl, use_corr):
    # move open products (P, P C) to the end of a block: P F, F (P C + P G)
    if use_corr:
        for j in range(av.shape[0]):
            x = av[j]
            av[j] = x * fl
            bv[j] = fl * (bv[j] + x * gl)
    else:
        for j in range(av.shape[0]):
            av[j] = av[j] * fl


@jit
def _count_outside(x, lo, hi):
    # how many non-zero |x| lie outside [lo, hi] (branch-free: vectorised)
    n = 0
    for j in range(x.shape[0]):
        v = abs(x[j])
        n += (v != 0.0) & ((v < lo) | (v > hi))
    return n


@jit(fastmath={"contract"})
def _envelope_unit(f, c, use_corr, L, g, lo, hi, acc, env_m, env_s, a, bv, ps, cs, e):
    # One sequence and unit.  f, c: (T,) factors and corrections.  acc, env_m, env_s:
    # (L + 1,), lag l at index L - l.  a, bv: (T + L + BLOCK + 1,) zeroed, source s at index
    # s + L: its running product P and P * (correction sum).  ps, cs, e: (T,) the state
    # of the sources on the scalar path (product, correction sum, log scale).
    T = f.shape[0]
    F = np.empty(BLOCK)
    G1 = np.empty(BLOCK)
    PB = np.empty(BLOCK)
    WB = np.empty(BLOCK)
    slow = 0  # sources s < slow are on the scalar path
    since = g  # positions since the last range check
    i = 0
    while i < T:
        kk = min(BLOCK, T - i, g) if g > 0 else min(BLOCK, T - i)
        new_slow = slow
        if g == 0:
            new_slow = i  # every source on the scalar path
        elif since + kk > g:  # range check: sources that may leave it go scalar
            since = 0
            s1 = max(slow, i - L)
            if _count_outside(a[s1 + L : i + L], lo, hi) == 0:
                s1 = i  # the common case, found by a vectorised count
            for s in range(s1, i):
                v = abs(a[s + L])
                if v != 0.0 and (v < lo or v > hi):
                    new_slow = s + 1
        for r in range(slow, new_slow):  # hand the sources over to the scalar path
            ps[r] = a[r + L]
            cs[r] = bv[r + L] / a[r + L] if a[r + L] != 0.0 else 0.0
            e[r] = 0.0
            a[r + L] = 0.0
            bv[r + L] = 0.0
        slow = new_slow
        since += kk
        # F[m]: product of the factors of positions i..i+m; G1[m]: 1 + their corrections
        prod = 1.0
        gsum = 0.0
        for m in range(kk):
            prod *= f[i + m]
            gsum += c[i + m]
            F[m] = prod
            G1[m] = 1.0 + gsum
        # 1. sources born before the block, on the vectorised path: lag l = i + m + 1 - s,
        #    index j = L - l; the reads of source s = i + 1 - L + j + m land at j + m of
        #    the views below.  Unborn and scalar-path sources hold exact zeros.
        jlo = max(0, max(slow, 0) + L - i - kk)
        av = a[i + 1 :]
        bvv = bv[i + 1 :]
        if kk == BLOCK:
            _block_first(acc, av, bvv, F, G1, jlo, L, use_corr)
        else:
            for j in range(jlo, L):
                t = acc[j]
                for m in range(kk):
                    x = av[j + m] * G1[m] + bvv[j + m] if use_corr else av[j + m]
                    t += abs(F[m]) * abs(x)
                acc[j] = t
        fl = F[kk - 1]
        gl = G1[kk - 1] - 1.0
        _advance(av[jlo:L], bvv[jlo:L], fl, gl, use_corr)
        # 2. sources born in the block (at positions i + m0), lags 1..kk: lag outer, so
        #    that each lag's terms are summed in a register and stored once
        for m0 in range(kk):
            PB[m0] = 1.0
            WB[m0] = 0.0
        for lag in range(1, min(kk, L) + 1):
            t = 0.0
            for m0 in range(kk - lag + 1):
                PB[m0] *= f[i + m0 + lag - 1]
                WB[m0] += c[i + m0 + lag - 1]
                t += abs(PB[m0] * (1.0 + WB[m0])) if use_corr else abs(PB[m0])
            acc[L - lag] += t
        for m0 in range(kk):  # (a source whose lag passed L is never read again)
            a[i + m0 + L] = PB[m0]
            bv[i + m0 + L] = PB[m0] * WB[m0]
        # 3. sources on the scalar path, with a separate log scale each
        for s in range(max(0, i + 1 - L), slow):
            for m in range(kk):
                lag = i + m + 1 - s
                if lag > L:
                    continue
                v = ps[s] * f[i + m]
                x = abs(v)
                if x != 0.0 and (x < 1e-200 or x > 1e200):
                    e[s] += math.log(x)
                    v /= x
                ps[s] = v
                cs[s] += c[i + m]
                val = v * (1.0 + cs[s]) if use_corr else v
                if e[s] == 0.0:
                    acc[L - lag] += abs(val)
                elif val != 0.0:
                    _lse_add1(env_m, env_s, L - lag, math.log(abs(val)) + e[s])
        acc[L] += kk  # lag 0: the identity
        i += kk


@pjit
def product_envelope(fac, corr, use_corr, max_lag, acc, env_m, env_s):
    """Sums over positions and sequences of ``|value|`` for every lag and unit.

    The values are :func:`product_transport`'s (``use_corr``: first order), but nothing of
    size (T, L + 1) is formed.  ``acc``, ``env_m``, ``env_s``: (C, H, L + 1), lag ``l`` at
    index ``L - l``, for ``C`` chunks of consecutive sequences; chunk ``c`` holds the sum
    over its sequences and positions, in linear space in ``acc`` and as a streaming
    log-sum-exp ``exp(env_m) * env_s`` for the terms of products that left the float64
    range on the scalar path.

    The recurrence runs forward in time, one unit at a time.  Every open product (one per
    source position ``s``) is kept as ``P`` and ``P * C`` (``C`` its correction sum).  A
    block of ``BLOCK`` positions ``t + m`` multiplies each by the same ``F_m`` (the product
    of the block's factors up to ``t + m``) and shifts its sum by ``G_m``, so the term of
    source ``s`` at position ``t + m`` is ``|F_m (P (1 + G_m) + P C)|``, added at lag
    ``t + m - s``.  Looping over lags, the ``BLOCK`` terms of a lag read ``BLOCK``
    consecutive sources and are summed in a register: a branch-free loop that LLVM
    vectorises, with one store to the accumulator per ``BLOCK`` terms.  Every ``g``
    positions (:func:`_block_bounds`) the open products are checked: the sources up to the
    last one outside ``[lo, hi]`` continue on a scalar path that keeps a log scale per
    source (values down to ``exp(-1e308)`` are resolved).

    Tasks are (chunk, block of ``UNITS`` units) pairs, run in parallel; a task walks its
    sequences in order, and the units of a sequence one after the other (they share the
    cache lines of ``fac`` and ``corr``), so the sums do not depend on the number of
    threads.
    """
    B, T, H = fac.shape
    C = acc.shape[0]
    gs = np.empty(B, dtype=np.int64)
    los = np.empty(B)
    his = np.empty(B)
    for b in numba.prange(B):
        gs[b], los[b], his[b] = _block_bounds(fac[b])
    nblk = (H + UNITS - 1) // UNITS
    for task in numba.prange(C * nblk):
        ch = task // nblk
        q0 = (task % nblk) * UNITS
        a = np.empty(T + max_lag + BLOCK + 1)
        bv = np.empty(T + max_lag + BLOCK + 1)
        ps = np.empty(T)
        cs = np.empty(T)
        e = np.empty(T)
        for b in range(ch * B // C, (ch + 1) * B // C):
            for q in range(q0, min(H, q0 + UNITS)):  # neighbours share cache lines of fac
                a[:] = 0.0
                bv[:] = 0.0
                _envelope_unit(fac[b, :, q], corr[b, :, q], use_corr, max_lag, gs[b],
                               los[b], his[b], acc[ch, q], env_m[ch, q], env_s[ch, q], a,
                               bv, ps, cs, e)  # fmt: skip
