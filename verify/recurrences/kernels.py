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
from verify.noise import elementary as el

__all__ = [
    "diagonal_forward",
    "exact_transport",
    "gated_forward",
    "gru_factors",
    "gru_forward",
    "lstm_factors",
    "lstm_forward",
    "product_transport",
]


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
                s = el.sigmoid(acc_s)
            u = el.tanh(acc_a)
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
def _gru_gates(xi_t, hh, H, rg, zg, ng):
    # hh = b_hh + W_hh h was formed by the caller; the gates into local buffers with the
    # branch-free functions of verify.noise.elementary, so that this loop vectorises
    for q in range(H):
        rg[q] = el.sigmoid(xi_t[q] + hh[q])
        zg[q] = el.sigmoid(xi_t[H + q] + hh[H + q])
        ng[q] = el.tanh(xi_t[2 * H + q] + rg[q] * hh[2 * H + q])


@jit
def _add_product(wt, v, out):
    # out += v W^T for wt = W^T (K, G): each entry summed over k in order (as a dot product
    # would be, term by term), with the loop over g innermost so that it vectorises
    for k in range(v.shape[0]):
        vk = v[k]
        for g in range(out.shape[0]):
            out[g] += wt[k, g] * vk


@jit
def _recurrent_product(wt, b_hh, h_t, hh):
    # hh = b_hh + W_hh h
    hh[:] = b_hh
    _add_product(wt, h_t, hh)


@jit
def _input_projection(x_t, w_it, b_ih, out):
    # out = b_ih + x_t W_ih^T
    out[:] = b_ih
    _add_product(w_it, x_t, out)


@jit
def _gru_sequence(xi, w_hh, b_hh, h, r_out, z_out, n_out, hn_out):
    T = xi.shape[0]
    H = h.shape[1]
    hh = np.empty(3 * H)
    rg = np.empty(H)
    zg = np.empty(H)
    ng = np.empty(H)
    wt = np.ascontiguousarray(w_hh.T)  # (H, 3H): the loop over g is contiguous
    for t in range(T):
        _recurrent_product(wt, b_hh, h[t], hh)
        _gru_gates(xi[t], hh, H, rg, zg, ng)
        for q in range(H):
            h[t + 1, q] = ng[q] + zg[q] * (h[t, q] - ng[q])
            r_out[t, q] = rg[q]
            z_out[t, q] = zg[q]
            n_out[t, q] = ng[q]
            hn_out[t, q] = hh[2 * H + q]


@pjit
def gru_forward(xi, w_hh, b_hh, h, r_out, z_out, n_out, hn_out):
    """Run ``torch.nn.GRUCell`` on a batch; ``xi = x W_ih^T + b_ih`` is (B, T, 3H)."""
    for b in numba.prange(xi.shape[0]):
        _gru_sequence(xi[b], w_hh, b_hh, h[b], r_out[b], z_out[b], n_out[b], hn_out[b])


@jit
def _gru_factor_sequence(x, w_it, b_ih, w_hh, b_hh, dg, h0, order, fac, corr):
    T, D = x.shape
    H = h0.shape[0]
    G = 3 * H
    xi = np.empty(G)
    hh = np.empty(G)
    rg = np.empty(H)
    zg = np.empty(H)
    ng = np.empty(H)
    h = h0.copy()
    wt = np.ascontiguousarray(w_hh.T)
    for t in range(T):
        _input_projection(x[t], w_it, b_ih, xi)
        _recurrent_product(wt, b_hh, h, hh)
        _gru_gates(xi, hh, H, rg, zg, ng)
        for q in range(H):
            z = zg[q]
            n = ng[q]
            r = rg[q]
            hn = hh[2 * H + q]
            hp = h[q]
            # d of [J]_qq = z + d, term by term in GRU.retention_and_correction's order
            a = (1.0 - z) * (1.0 - n * n)
            d = (a * r) * dg[2, q] + (a * hn * r * (1.0 - r)) * dg[0, q]
            d = d + ((hp - n) * z * (1.0 - z)) * dg[1, q]
            if order == 2:  # diagonal: the whole diagonal entry
                fac[t, q] = z + d
                corr[t, q] = 0.0
            else:
                fac[t, q] = z
                corr[t, q] = el._select(z > 0.0, d / z, 0.0) if order == 1 else 0.0
            h[q] = n + z * (hp - n)


@pjit
def gru_factors(x, w_it, b_ih, w_hh, b_hh, dg, h0, order, fac, corr):
    """The GRU's transport factors straight from its inputs, nothing else stored.

    ``x`` (B, T, D); ``w_it`` = ``W_ih^T`` (D, 3H); ``dg`` (3, H) the diagonals of the
    recurrent blocks (r, z, n); ``h0`` (B, H).  Writes :func:`step_factors`' pair to
    ``fac`` and ``corr`` (B, T, H): ``order`` 0 (zeroth) ``(z, 0)``, 1 (first)
    ``(z, d / z)`` (0 where ``z = 0``), 2 (diagonal) ``(z + d, 0)``.  The states, gates and
    input projections live in per-sequence buffers of length ``3H``: one pass, no
    (B, T, .) intermediate.  The arithmetic is :func:`gru_forward`'s and
    ``GRU.retention_and_correction``'s, term by term, except the input projection, which
    is summed here in order (the two-pass route takes it from a BLAS matrix product): the
    two agree to rounding, and each is the same at any number of threads.
    """
    for b in numba.prange(x.shape[0]):
        _gru_factor_sequence(x[b], w_it, b_ih, w_hh, b_hh, dg, h0[b], order, fac[b], corr[b])


@jit
def _lstm_sequence(xi, w_hh, b_hh, h, c, i_out, f_out, g_out, o_out):
    T = xi.shape[0]
    H = h.shape[1]
    pre = np.empty(4 * H)
    wt = np.ascontiguousarray(w_hh.T)  # (H, 4H), as in _gru_sequence
    for t in range(T):
        for g in range(4 * H):
            pre[g] = xi[t, g] + b_hh[g]
        _add_product(wt, h[t], pre)
        for q in range(H):
            ig = el.sigmoid(pre[q])
            fg = el.sigmoid(pre[H + q])
            gg = el.tanh(pre[2 * H + q])
            og = el.sigmoid(pre[3 * H + q])
            cn = fg * c[t, q] + ig * gg
            c[t + 1, q] = cn
            h[t + 1, q] = og * el.tanh(cn)
            i_out[t, q] = ig
            f_out[t, q] = fg
            g_out[t, q] = gg
            o_out[t, q] = og


@pjit
def lstm_forward(xi, w_hh, b_hh, h, c, i_out, f_out, g_out, o_out):
    """Run ``torch.nn.LSTMCell`` on a batch; ``xi = x W_ih^T + b_ih`` is (B, T, 4H)."""
    for b in numba.prange(xi.shape[0]):
        _lstm_sequence(xi[b], w_hh, b_hh, h[b], c[b], i_out[b], f_out[b], g_out[b], o_out[b])


@jit
def _lstm_factor_sequence(x, w_it, b_ih, w_hh, b_hh, dg, h0, c0, order, fac, corr):
    T, D = x.shape
    H = h0.shape[0]
    G = 4 * H
    pre = np.empty(G)
    ig, fg, gg, og = np.empty(H), np.empty(H), np.empty(H), np.empty(H)
    h = h0.copy()
    c = c0.copy()
    e = np.zeros(H)  # the lift dh/dc of the previous position (0 before the first)
    wt = np.ascontiguousarray(w_hh.T)
    for t in range(T):
        # x W_ih^T + b_ih, then + b_hh + W_hh h
        _input_projection(x[t], w_it, b_ih, pre)
        for g in range(G):
            pre[g] += b_hh[g]
        _add_product(wt, h, pre)
        for q in range(H):  # branch-free gates: vectorises
            ig[q] = el.sigmoid(pre[q])
            fg[q] = el.sigmoid(pre[H + q])
            gg[q] = el.tanh(pre[2 * H + q])
            og[q] = el.sigmoid(pre[3 * H + q])
        for q in range(H):
            i, f, g, o, cp = ig[q], fg[q], gg[q], og[q], c[q]
            # d = e_{t-1} [dc_t/dh_{t-1}]_qq, in LSTM.retention_and_correction's order
            diag_c = (cp * f * (1.0 - f)) * dg[1, q] + (g * i * (1.0 - i)) * dg[0, q]
            diag_c = diag_c + (i * (1.0 - g * g)) * dg[2, q]
            d = e[q] * diag_c
            if order == 2:
                fac[t, q] = f + d
                corr[t, q] = 0.0
            else:
                fac[t, q] = f
                corr[t, q] = el._select(f > 0.0, d / f, 0.0) if order == 1 else 0.0
            cn = f * cp + i * g
            tc = el.tanh(cn)
            c[q] = cn
            h[q] = o * tc
            e[q] = o * (1.0 - tc * tc)


@pjit
def lstm_factors(x, w_it, b_ih, w_hh, b_hh, dg, h0, c0, order, fac, corr):
    """The LSTM's transport factors straight from its inputs (as :func:`gru_factors`).

    ``w_it`` = ``W_ih^T`` (D, 4H); ``dg`` (3, H) the diagonals of the recurrent blocks
    (i, f, g); ``h0``, ``c0`` (B, H).  Retention ``f`` and correction
    ``d_t = e_{t-1} [dc_t/dh_{t-1}]_qq`` (``e`` the lift ``o (1 - tanh^2 c)``, 0 before the
    first position), written as ``(f, 0)``, ``(f, d / f)`` or ``(f + d, 0)`` for ``order``
    0, 1, 2.
    """
    for b in numba.prange(x.shape[0]):
        _lstm_factor_sequence(x[b], w_it, b_ih, w_hh, b_hh, dg, h0[b], c0[b], order, fac[b],
                              corr[b])  # fmt: skip


@jit
def _diagonal_sequence(a, b, h):
    T, S = a.shape
    for t in range(T):
        for q in range(S):
            h[t + 1, q] = a[t, q] * h[t, q] + b[t, q]


@pjit
def diagonal_forward(a, b, h):
    """``h[:, t + 1] = a[:, t] * h[:, t] + b[:, t]``: the diagonal linear recurrences.

    ``a`` and ``b`` are (B, T, S); ``h`` is (B, T + 1, S) with ``h[:, 0]`` set, filled in
    place.
    """
    for i in numba.prange(a.shape[0]):
        _diagonal_sequence(a[i], b[i], h[i])


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
