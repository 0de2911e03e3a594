"""Numba kernels: batched forward passes and per-lag transport, parallel over sequences.

Each kernel has the three layers of the house style: a per-sequence function compiled with
:func:`verify._jit.jit`, a ``prange`` loop over the batch compiled with
:func:`verify._jit.pjit`, and (in :mod:`verify.recurrences.cells` and
:mod:`verify.recurrences.transport`) a thin public wrapper that validates and casts.
The readable definitions are the NumPy references in those modules; tests compare the two.

Index convention shared by every kernel: positions are ``t = 1..T``; array index ``i``
along the time axis of a per-step array (gates, Jacobians) holds position ``t = i + 1``;
state arrays of length ``T + 1`` hold ``h_0`` (the initial state) at index 0.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from verify._jit import jit, pjit

__all__ = [
    "exact_transport",
    "gated_forward",
    "gru_forward",
    "lstm_forward",
    "product_transport",
]


@jit
def _sigmoid(v):
    if v >= 0.0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


# --------------------------------------------------------------------------------------
# forward passes
# --------------------------------------------------------------------------------------


@jit
def _gated_sequence(xa, xs, w_h, u_s, const_gate, s_const, h, s_out, u_out):
    T, H = xa.shape
    for t in range(T):
        for q in range(H):
            acc_a = xa[t, q]
            for k in range(H):
                acc_a += w_h[q, k] * h[t, k]
            if const_gate:
                s = s_const
            else:
                acc_s = xs[t, q]
                for k in range(H):
                    acc_s += u_s[q, k] * h[t, k]
                s = _sigmoid(acc_s)
            u = math.tanh(acc_a)
            h[t + 1, q] = (1.0 - s) * h[t, q] + s * u
            s_out[t, q] = s
            u_out[t, q] = u


@pjit
def gated_forward(xa, xs, w_h, u_s, const_gate, s_const, h, s_out, u_out):
    """Run the gated update of THEORY.md section 1 on a batch (ConstGate/SharedGate/DiagGate).

    ``xa``, ``xs``: (B, T, H) input projections (with biases) of the candidate and the gate;
    ``h``: (B, T + 1, H) with ``h[:, 0]`` set to the initial state, filled in place, as are
    the gates ``s_out`` and candidates ``u_out = tanh(a)``, both (B, T, H).
    """
    for b in numba.prange(xa.shape[0]):
        _gated_sequence(xa[b], xs[b], w_h, u_s, const_gate, s_const, h[b], s_out[b], u_out[b])


@jit
def _gru_sequence(xi, w_hh, b_hh, h, r_out, z_out, n_out, hn_out):
    T = xi.shape[0]
    H = h.shape[1]
    hh = np.empty(3 * H)
    wt = np.ascontiguousarray(w_hh.T)  # (H, 3H): the loop over g below is contiguous
    for t in range(T):
        # hh = b_hh + W_hh h, each entry summed over k in order (as a dot product would
        # be, term by term), with the loop over g innermost so that it vectorises
        hh[:] = b_hh
        for k in range(H):
            hk = h[t, k]
            for g in range(3 * H):
                hh[g] += wt[k, g] * hk
        for q in range(H):
            r = _sigmoid(xi[t, q] + hh[q])
            z = _sigmoid(xi[t, H + q] + hh[H + q])
            n = math.tanh(xi[t, 2 * H + q] + r * hh[2 * H + q])
            h[t + 1, q] = n + z * (h[t, q] - n)
            r_out[t, q] = r
            z_out[t, q] = z
            n_out[t, q] = n
            hn_out[t, q] = hh[2 * H + q]


@pjit
def gru_forward(xi, w_hh, b_hh, h, r_out, z_out, n_out, hn_out):
    """Run ``torch.nn.GRUCell`` on a batch; ``xi = x W_ih^T + b_ih`` is (B, T, 3H)."""
    for b in numba.prange(xi.shape[0]):
        _gru_sequence(xi[b], w_hh, b_hh, h[b], r_out[b], z_out[b], n_out[b], hn_out[b])


@jit
def _lstm_sequence(xi, w_hh, b_hh, h, c, i_out, f_out, g_out, o_out):
    T = xi.shape[0]
    H = h.shape[1]
    pre = np.empty(4 * H)
    wt = np.ascontiguousarray(w_hh.T)  # (H, 4H), as in _gru_sequence
    for t in range(T):
        for g in range(4 * H):
            pre[g] = xi[t, g] + b_hh[g]
        for k in range(H):
            hk = h[t, k]
            for g in range(4 * H):
                pre[g] += wt[k, g] * hk
        for q in range(H):
            ig = _sigmoid(pre[q])
            fg = _sigmoid(pre[H + q])
            gg = math.tanh(pre[2 * H + q])
            og = _sigmoid(pre[3 * H + q])
            cn = fg * c[t, q] + ig * gg
            c[t + 1, q] = cn
            h[t + 1, q] = og * math.tanh(cn)
            i_out[t, q] = ig
            f_out[t, q] = fg
            g_out[t, q] = gg
            o_out[t, q] = og


@pjit
def lstm_forward(xi, w_hh, b_hh, h, c, i_out, f_out, g_out, o_out):
    """Run ``torch.nn.LSTMCell`` on a batch; ``xi = x W_ih^T + b_ih`` is (B, T, 4H)."""
    for b in numba.prange(xi.shape[0]):
        _lstm_sequence(xi[b], w_hh, b_hh, h[b], c[b], i_out[b], f_out[b], g_out[b], o_out[b])


# --------------------------------------------------------------------------------------
# transport
# --------------------------------------------------------------------------------------


@jit
def _lse_add(env_m, env_s, lag, q, x):
    # streaming log-sum-exp: the sum is exp(env_m) * env_s
    if x == -math.inf:
        return
    m = env_m[lag, q]
    if x > m:
        env_s[lag, q] = env_s[lag, q] * math.exp(m - x) + 1.0
        env_m[lag, q] = x
    else:
        env_s[lag, q] += math.exp(x - m)


@jit
def _product_sequence(fac, corr, use_corr, lam, loglam, max_lag, acc, env_m, env_s, store,
                      out_log, out_sgn):  # fmt: skip
    T, H = fac.shape
    p = np.empty(H)  # running product, kept in [1e-200, 1e200] ...
    e = np.empty(H)  # ... times exp(e): e stays 0 unless the product leaves that range
    cs = np.empty(H)
    for i in range(T):
        p[:] = 1.0
        e[:] = 0.0
        cs[:] = 0.0
        for lag in range(min(max_lag, i + 1) + 1):
            k = i - lag + 1
            for q in range(H):
                if lag > 0:
                    v = p[q] * fac[k, q]
                    a = abs(v)
                    if a != 0.0 and (a < 1e-200 or a > 1e200):
                        e[q] += math.log(a)
                        v /= a
                    p[q] = v
                    cs[q] += corr[k, q]
                val = p[q] * (1.0 + cs[q]) if use_corr else p[q]
                if e[q] == 0.0:  # the common case: accumulate in linear space
                    acc[lag, q] += abs(val) * lam[q]
                elif val != 0.0:
                    _lse_add(env_m, env_s, lag, q, math.log(abs(val)) + e[q] + loglam[q])
                if store:
                    if val == 0.0:
                        out_log[i, lag, q] = -math.inf
                        out_sgn[i, lag, q] = 0.0
                    else:
                        out_log[i, lag, q] = math.log(abs(val)) + e[q]
                        out_sgn[i, lag, q] = 1.0 if val > 0.0 else -1.0


@pjit
def product_transport(fac, corr, use_corr, lam, loglam, max_lag, acc, env_m, env_s, store,
                      out_log, out_sgn):  # fmt: skip
    """Per-unit products of per-step factors over every lag, without underflow.

    For position index ``i`` and lag ``l`` the value is ``prod_{k=i-l+1..i} fac[k]``, times
    ``1 + sum_k corr[k]`` when ``use_corr`` (the first-order expansion).  The running
    product and sum over ``k`` are THEORY.md's Gamma accumulated backwards from each ``i``
    (prefix sums of ``log r`` and ``d / r``), so the cost is O(T L H) per sequence.  The
    product is kept in float64 with a separate log scale ``e`` that is only touched when it
    leaves [1e-200, 1e200].  ``|value| * lam`` is summed over positions into ``acc``
    (B, L + 1, H) while ``e = 0``, and into a streaming log-sum-exp ``env_m``/``env_s``
    otherwise; when ``store`` the values are also written as ``log|.|`` and sign to
    ``out_log``/``out_sgn`` (B, T, L + 1, H) (undefined lags are left untouched).
    """
    for b in numba.prange(fac.shape[0]):
        _product_sequence(
            fac[b], corr[b], use_corr, lam, loglam, max_lag, acc[b],
            env_m[b], env_s[b], store, out_log[b], out_sgn[b],
        )  # fmt: skip


@jit
def _exact_sequence(jac, lift, hidden, loglam, max_lag, env_m, env_s, store, out_log, out_sgn):
    T, S, _ = jac.shape
    H = hidden
    off = S - H  # 0 for an H-dim state; H for the LSTM's (h, c), whose c rows are reported
    n = np.zeros((H, S))
    for i in range(T):
        n[:, :] = 0.0
        for q in range(H):
            n[q, off + q] = 1.0
        logscale = 0.0
        for lag in range(min(max_lag, i + 1) + 1):
            if lag > 0:
                n = np.dot(n, jac[i - lag + 1])
                mx = np.max(np.abs(n))
                if mx > 0.0 and (mx > 1e100 or mx < 1e-100):
                    n /= mx
                    logscale += math.log(mx)
            src = i + 1 - lag
            for q in range(H):
                if off == 0:
                    v = n[q, q]
                else:
                    v = n[q, off + q] + n[q, q] * lift[src, q]
                if v == 0.0:
                    v_log = -math.inf
                    v_sg = 0.0
                else:
                    v_log = math.log(abs(v)) + logscale
                    v_sg = 1.0 if v > 0.0 else -1.0
                if store:
                    out_log[i, lag, q] = v_log
                    out_sgn[i, lag, q] = v_sg
                _lse_add(env_m, env_s, lag, q, v_log + loglam[q])


@pjit
def exact_transport(jac, lift, hidden, loglam, max_lag, env_m, env_s, store, out_log, out_sgn):
    """Diagonal of the true product of full Jacobians, for every position and lag.

    ``jac``: (B, T, S, S) Jacobians of the state map at positions 1..T.  For each position
    the product ``N_l = P M_{t,l}`` (``P`` selects the reported rows) is accumulated by
    right-multiplication, ``N_{l+1} = N_l J_{t-l}``, with a running log scale so that it
    never under- or overflows: O(T L H S^2) per sequence.  For ``S = 2H`` (LSTM, state
    ``(h, c)``) the reported quantity is the c-block with the source perturbation lifted
    through ``h = o tanh(c)``: ``[N_l]_{q, H+q} + [N_l]_{q, q} lift[t - l, q]``.
    Outputs as for :func:`product_transport` (all terms go to the log-sum-exp).
    """
    for b in numba.prange(jac.shape[0]):
        _exact_sequence(
            jac[b], lift[b], hidden, loglam, max_lag,
            env_m[b], env_s[b], store, out_log[b], out_sgn[b],
        )  # fmt: skip


# --------------------------------------------------------------------------------------
# envelope sums of the product orders, without the (B, T, L + 1, H) transport
# --------------------------------------------------------------------------------------

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
