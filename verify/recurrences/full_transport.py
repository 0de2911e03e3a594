"""The full transport: Frobenius norms of products of full Jacobians, per lag.

For positions ``t`` and lags ``l`` the product ``M_{t,l} = J_t ... J_{t-l+1}`` maps a
perturbation of the state at ``t - l`` to the state at ``t``.  The envelope's transport
keeps only its diagonal (or an expansion of it); routes *between* units are left out.  This
module measures the whole product, averaged over sequences and positions ``t >= max(l, 1)``
as the envelope is:

``"h"``
    ``||dh_t / dh_{t-l}||_F`` (for the LSTM with ``c_{t-l}`` held fixed);
``"c"`` (LSTM)
    ``||dc_t / dc_{t-l}||_F`` with the source lifted through ``h = o tanh(c)``, the quantity
    whose diagonal the LSTM's envelope transports (:mod:`verify.recurrences.lstm`).

Algorithm
---------
Every product over a range ``[a, b]`` of Jacobian indices (``2 <= b - a + 1 <= L``) is
split at one point ``m`` of a disjoint sparse table (levels ``k``, blocks of ``2^k``
indices, ``m`` the last index of a block's left half): ``M = X_b Y_a`` with
``X_b = J_b ... J_{m+1}`` and ``Y_a = J_m ... J_a``.  Each block needs ``O(L)`` products on
each side, and then ``||X Y||_F^2 = <X^T X, Y Y^T>`` (row and column subsets for the ``h`` and
``c`` blocks) gives every pair from the Gram matrices, all pairs of a block in one matrix
product: ``O(T log L)`` matrix products per sequence instead of ``O(T L)``.  Products are
kept normalised with a running log scale (no under- or overflow).  Where the Gram identity
would lose accuracy to cancellation (``<G, K>`` small next to ``||G|| ||K||``) the pair's
product is formed explicitly, so every norm carries a relative rounding error below about
1e-8 (:data:`CANCELLATION`; far below it where no pair cancels).
:func:`full_transport_reference` is the plain definition (explicit products, linear space).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cells import Trajectory
from .transport import check_lag, check_net

__all__ = [
    "FullTransport",
    "exact_diagonal_cost",
    "exact_diagonal_sums",
    "full_transport",
    "full_transport_cost",
    "full_transport_reference",
    "kinds_of",
]

#: Pairs whose Gram inner product is below this fraction (times the state size) of
#: ``||G||_F ||K||_F`` are recomputed from the explicit product (see the module docstring):
#: the rounding error of ``<G, K>`` is then at most about ``eps / CANCELLATION``, 2e-8
#: relative (1e-8 on the norm).
CANCELLATION = 1e-8
#: Pairs recomputed from explicit products at a time (bounds the memory of the guard).
EXPLICIT_CHUNK = 64


@dataclass(frozen=True)
class FullTransport:
    """Mean Frobenius norms of the full transport, per lag.

    Attributes
    ----------
    lags : ndarray of int, shape (L + 1,)
    log_norm : dict of str to ndarray, shape (L + 1,)
        ``log`` of the mean norm over sequences and positions, per kind (``"h"``; for the
        LSTM also ``"c"``).
    counts : ndarray of int, shape (L + 1,)
        Number of (sequence, position) pairs averaged at each lag.
    explicit : int
        Pairs whose norm was taken from the explicit product (the cancellation guard).
    """

    lags: np.ndarray
    log_norm: dict
    counts: np.ndarray
    explicit: int = 0

    @property
    def kinds(self) -> tuple:
        """The kinds measured, in order."""
        return tuple(self.log_norm)

    def norm(self, kind: str) -> np.ndarray:
        """``exp(log_norm[kind])``."""
        return np.exp(self.log_norm[kind])


def kinds_of(net) -> tuple:
    """The kinds of full transport of a cell: ``("h",)``, or ``("h", "c")`` for the LSTM."""
    return ("h",) if net.state_size == net.hidden else ("h", "c")


def _segments(T: int, max_lag: int):
    """Split points ``(m, lo, hi)`` of the sparse table.

    Left indices ``lo..m``, right ``m+1..hi`` (0-based Jacobian indices), limited to ranges
    of at most ``max_lag``.
    """
    out = []
    k = 1
    while (1 << (k - 1)) < T:
        size, half = 1 << k, 1 << (k - 1)
        for base in range(0, T, size):
            m = base + half - 1
            if m + 1 >= T:
                continue
            lo = max(base, m - max_lag + 2)
            hi = min(base + size - 1, T - 1, m + max_lag - 1)
            if hi > m and lo <= m:
                out.append((m, lo, hi))
        k += 1
    return out


def exact_diagonal_cost(batch: int, steps: int, max_lag: int, hidden: int, state: int) -> float:
    """Floating-point operations of :func:`exact_diagonal_sums` (an estimate)."""
    S, H = state, hidden
    flops = 0.0
    if max_lag >= 2:
        for m, lo, hi in _segments(steps, max_lag):
            n_l, n_r = m - lo + 1, hi - m
            flops += (n_l + n_r - 2) * 2.0 * S**3 + 2.0 * n_l * n_r * S * H
    return batch * flops


def full_transport_cost(batch: int, steps: int, max_lag: int, hidden: int, state: int) -> float:
    """Floating-point operations of :func:`full_transport` (an estimate, before any work)."""
    S, H = state, hidden
    grams = S**3 if S == H else 4 * S * S * H
    n_kinds = 1 if S == H else 2
    flops = 0.0
    if max_lag >= 2:
        for m, lo, hi in _segments(steps, max_lag):
            n_l, n_r = m - lo + 1, hi - m
            flops += (n_l + n_r - 2) * 2.0 * S**3 + (n_l + n_r) * grams
            flops += 2.0 * n_l * n_r * S * S * n_kinds
    return batch * flops


def _frob(a, axes=(-2, -1)):
    return np.sqrt(np.sum(a * a, axis=axes))


def _restricted(m_prod, H, lift_src, kinds):
    """Norms of the kinds' blocks of explicit products ``m_prod`` (..., S, S)."""
    out = {"h": _frob(m_prod[..., :H, :H])}
    if "c" in kinds:
        cl = m_prod[..., H:, :H] * lift_src[..., None, :] + m_prod[..., H:, H:]
        out["c"] = _frob(cl)
    return out


def _normalised_chain(jac, order, left):
    """Running products along ``order``, normalised with a running log scale.

    ``left``: ``Y_a = J_m ... J_a`` for ``order = m, m-1, ...`` (each new factor on the
    right); otherwise ``X_b = J_b ... J_{m+1}`` for ``order = m+1, m+2, ...`` (on the left).
    """
    n = len(order)
    S = jac.shape[1]
    prods = np.empty((n, S, S))
    logs = np.empty(n)
    cur, acc = jac[order[0]].copy(), 0.0
    for j in range(n):
        if j:
            cur = cur @ jac[order[j]] if left else jac[order[j]] @ cur
        s = float(np.sqrt(np.sum(cur * cur)))
        if s == 0.0:  # an exactly zero product stays zero: no scale to take
            s = 1.0
        cur = cur / s
        acc += np.log(s)
        prods[j], logs[j] = cur, acc
    return prods, logs


def _gram_rows(a):
    """``a[n]^T a[n]`` for each ``n`` (``np.dot(a.T, a)`` runs BLAS's symmetric rank-k update)."""
    out = np.empty((a.shape[0], a.shape[2], a.shape[2]))
    for n in range(a.shape[0]):
        m = np.ascontiguousarray(a[n])
        out[n] = np.dot(m.T, m)
    return out


def _grams(prods, H, kinds, side, lift):
    """Gram matrices per kind, flattened to (n, S*S).

    Right side (``X``): ``X_rows^T X_rows`` for the output rows of the kind; left side
    (``Y``): ``Y_cols Y_cols^T`` for its input columns (the ``c`` columns lifted).
    """
    n, S, _ = prods.shape
    out = {}
    if side == "right":
        gh = _gram_rows(prods[:, :H, :])
        out["h"] = gh
        if "c" in kinds:
            out["c"] = _gram_rows(prods[:, H:, :])
    else:
        yt = prods.transpose(0, 2, 1)  # rows of yt are the columns of Y
        kh = _gram_rows(yt[:, :H, :])
        out["h"] = kh
        if "c" in kinds:
            yl = yt[:, H:, :] + yt[:, :H, :] * lift[:, :, None]
            out["c"] = _gram_rows(yl)
    return {k: v.reshape(n, S * S) for k, v in out.items()}


def _explicit(xs, ys, rows, cols, H, lift_left, kinds):
    """Norms of the kinds' blocks of ``xs[rows] @ ys[cols]``, a chunk of pairs at a time."""
    out = {k: np.empty(len(rows)) for k in kinds}
    for lo in range(0, len(rows), EXPLICIT_CHUNK):
        r, c = rows[lo : lo + EXPLICIT_CHUNK], cols[lo : lo + EXPLICIT_CHUNK]
        part = _restricted(xs[r] @ ys[c], H, lift_left[c], kinds)
        for k in kinds:
            out[k][lo : lo + EXPLICIT_CHUNK] = part[k]
    return out


def _sequence(jac, lift, H, max_lag, kinds, sink):
    """Add the log norms of one sequence to ``sink[kind]`` (lists of (lags, log norms))."""
    T, S, _ = jac.shape
    explicit = 0
    idx = np.arange(T)
    if max_lag >= 1:
        norms = _restricted(jac, H, lift[idx], kinds)
        for k in kinds:
            with np.errstate(divide="ignore"):
                sink[k].append((np.ones(T, dtype=np.int64), np.log(norms[k])))
    if max_lag < 2:
        return explicit
    for m, lo, hi in _segments(T, max_lag):
        left = np.arange(m, lo - 1, -1)  # a = m, m-1, ..., lo
        right = np.arange(m + 1, hi + 1)  # b = m+1, ..., hi
        ys, ly = _normalised_chain(jac, left, True)
        xs, lx = _normalised_chain(jac, right, False)
        lag = right[:, None] - left[None, :] + 1
        ok = lag <= max_lag
        gx = _grams(xs, H, kinds, "right", None)
        ky = _grams(ys, H, kinds, "left", lift[left])
        scale = lx[:, None] + ly[None, :]
        bad_any = np.zeros_like(ok)
        vals = {}
        for k in kinds:
            v = gx[k] @ ky[k].T
            bound = (
                np.sqrt(np.sum(gx[k] ** 2, axis=1))[:, None]
                * np.sqrt(np.sum(ky[k] ** 2, axis=1))[None, :]
            )
            bad_any |= ok & ~(v > CANCELLATION * S * bound)
            vals[k] = v
        rows, cols = np.nonzero(bad_any)
        explicit += len(rows)
        direct = _explicit(xs, ys, rows, cols, H, lift[left], kinds) if len(rows) else None
        for k in kinds:
            with np.errstate(divide="ignore", invalid="ignore"):
                logn = 0.5 * np.log(np.maximum(vals[k], 0.0)) + scale
            if direct is not None:
                with np.errstate(divide="ignore"):
                    logn[rows, cols] = np.log(direct[k]) + scale[rows, cols]
            sink[k].append((lag[ok], logn[ok]))
    return explicit


def _reduce(parts, max_lag):
    lags = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    vals = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0)
    m = np.full(max_lag + 1, -np.inf)
    np.maximum.at(m, lags, vals)
    mf = np.where(np.isfinite(m), m, 0.0)
    s = np.zeros(max_lag + 1)
    np.add.at(s, lags, np.exp(vals - mf[lags]))
    with np.errstate(divide="ignore"):
        return np.log(s) + mf


def full_transport(net, x, max_lag, h0=None, progress=None) -> FullTransport:
    """Mean Frobenius norms of the full transport of ``net`` on inputs ``x``, per lag.

    Parameters
    ----------
    net : Cell
    x : array_like, shape (B, T, D)
    max_lag : int
        Largest lag ``L``, in [0, T].
    h0 : array_like, optional
        Initial hidden state.
    progress : callable, optional
        Called as ``progress(done, total)`` after each sequence.

    Returns
    -------
    FullTransport
        Cost: :func:`full_transport_cost` floating-point operations.
    """
    net = check_net(net)
    x = net.check_inputs(x)
    B, T, _ = x.shape
    max_lag = check_lag(max_lag, T)
    H = net.hidden
    kinds = kinds_of(net)
    traj = net.forward(x, h0)
    lift = net.lift(traj)
    sink = {k: [] for k in kinds}
    explicit = 0
    for b in range(B):
        sub = Trajectory(h=traj.h[b : b + 1], c=None if traj.c is None else traj.c[b : b + 1],
                         gates={k: v[b : b + 1] for k, v in traj.gates.items()})  # fmt: skip
        jac = np.ascontiguousarray(net.jacobians(sub)[0])
        explicit += _sequence(jac, lift[b], H, max_lag, kinds, sink)
        if progress is not None:
            progress(b + 1, B)
    lags = np.arange(max_lag + 1)
    counts = B * (T - np.maximum(lags, 1) + 1)
    log_norm = {}
    for k in kinds:
        log_sum = _reduce(sink[k], max_lag)
        log_sum[0] = 0.5 * np.log(H) + np.log(B * T)  # lag 0: the identity
        log_norm[k] = log_sum - np.log(counts)
    return FullTransport(lags=lags, log_norm=log_norm, counts=counts, explicit=explicit)


def full_transport_reference(net, x, max_lag, h0=None) -> dict:
    """Plain NumPy norms per kind, (B, T, L + 1) (NaN where ``l > t``): explicit products."""
    net = check_net(net)
    x = net.check_inputs(x)
    B, T, _ = x.shape
    max_lag = check_lag(max_lag, T)
    H, S = net.hidden, net.state_size
    kinds = kinds_of(net)
    traj = net.forward_reference(x, h0)
    jac = net.jacobians(traj)
    lift = net.lift(traj)
    out = {k: np.full((B, T, max_lag + 1), np.nan) for k in kinds}
    for i in range(T):
        prod = np.broadcast_to(np.eye(S), (B, S, S)).copy()
        for lag in range(min(max_lag, i + 1) + 1):
            if lag:
                prod = prod @ jac[:, i - lag + 1]
            norms = _restricted(prod, H, lift[:, i + 1 - lag], kinds)
            for k in kinds:
                out[k][:, i, lag] = norms[k]
    return out


def _diagonal_values(prod_rows, prod_cols):
    """``[R C]_qq`` for every pair: rows (nR, H, S), columns (nL, S, H) -> (nR, nL, H)."""
    return np.matmul(prod_rows.transpose(1, 0, 2), prod_cols.transpose(2, 1, 0)).transpose(1, 2, 0)


def _sequence_diagonal(jac, lift, H, max_lag):
    """``log sum_t |diag M_{t,l}|`` (L + 1, H) of one sequence (the exact order's sums)."""
    T, S, _ = jac.shape
    lstm = S != H
    parts_lag, parts_val = [np.zeros(T, dtype=np.int64)], [np.zeros((T, H))]  # lag 0: ones
    idx = np.arange(T)
    if max_lag >= 1:
        qq = np.arange(H)
        d1 = jac[:, H + qq, qq] * lift[idx] + jac[:, H + qq, H + qq] if lstm else jac[:, qq, qq]
        with np.errstate(divide="ignore"):
            parts_lag.append(np.ones(T, dtype=np.int64))
            parts_val.append(np.log(np.abs(d1)))
    if max_lag >= 2:
        for m, lo, hi in _segments(T, max_lag):
            left = np.arange(m, lo - 1, -1)
            right = np.arange(m + 1, hi + 1)
            ys, ly = _normalised_chain(jac, left, True)
            xs, lx = _normalised_chain(jac, right, False)
            if lstm:  # c rows of X; the lifted c columns of Y
                rows = xs[:, H:, :]
                cols = ys[:, :, H:] + ys[:, :, :H] * lift[left][:, None, :]
            else:
                rows, cols = xs, ys
            vals = _diagonal_values(rows, cols)  # (nR, nL, H)
            lag = right[:, None] - left[None, :] + 1
            ok = lag <= max_lag
            with np.errstate(divide="ignore"):
                logv = np.log(np.abs(vals)) + (lx[:, None] + ly[None, :])[..., None]
            parts_lag.append(lag[ok])
            parts_val.append(logv[ok])
    lags = np.concatenate(parts_lag)
    vals = np.concatenate(parts_val)
    mx = np.full((max_lag + 1, H), -np.inf)
    np.maximum.at(mx, lags, vals)
    mf = np.where(np.isfinite(mx), mx, 0.0)
    acc = np.zeros((max_lag + 1, H))
    np.add.at(acc, lags, np.exp(vals - mf[lags]))
    with np.errstate(divide="ignore"):
        return np.log(acc) + mf


def exact_diagonal_sums(net, traj, max_lag, progress=None) -> np.ndarray:
    """The exact order's per-sequence sums, ``log sum_t |[M_{t,l}]_qq|``, shape (B, L + 1, H).

    The same quantity as the ``"exact"`` kernel of :mod:`verify.recurrences.transport`
    (for the LSTM the c-block with the source lifted through ``h = o tanh(c)``), through
    the sparse table of this module: ``O(T log L)`` matrix products per sequence and an
    ``O(H S)`` diagonal per (position, lag) pair, instead of ``O(T L H S^2)``.
    ``progress(done, total)`` is called after each sequence.
    """
    B = traj.h.shape[0]
    H = net.hidden
    lift = net.lift(traj)
    out = np.empty((B, max_lag + 1, H))
    for b in range(B):
        sub = Trajectory(h=traj.h[b : b + 1], c=None if traj.c is None else traj.c[b : b + 1],
                         gates={k: v[b : b + 1] for k, v in traj.gates.items()})  # fmt: skip
        jac = np.ascontiguousarray(net.jacobians(sub)[0])
        out[b] = _sequence_diagonal(jac, lift[b], H, max_lag)
        if progress is not None:
            progress(b + 1, B)
    return out
