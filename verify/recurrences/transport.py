"""Per-lag transport: exact diagonal, its first- and zeroth-order expansions.

Four orders, for every position ``t`` and lag ``l <= L`` (the product over the ``l`` steps
``t-l+1..t``; lag 0 is the identity):

``"exact"``
    the diagonal of the true product of full Jacobians ``M_{t,l} = J_t ... J_{t-l+1}``
    (for the LSTM, the cell block with the source lifted through ``h = o tanh(c)``, see
    :mod:`verify.recurrences.lstm`).  Not the product of diagonals.  Cost O(T L H S^2):
    for validation-sized networks.
``"diagonal"``
    the product of the exact diagonal Jacobian entries, ``prod_j (r_j + d_j)``: a cheap
    path that ignores every off-diagonal route.
``"first"``
    THEORY.md's ``Gamma = prod_j r_j [1 + sum_j d_j / r_j]``.
``"zeroth"``
    ``prod_j r_j``, the retention product alone.

The three product orders cost O(T L H) (running sums of ``log r`` and ``d / r``).  All
products are accumulated in float64 and in log space (``log|.|`` and a sign).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory._validate import check_int
from verify.device import resolve

from . import envelope_kernels, kernels
from .cells import Cell, Trajectory

__all__ = [
    "ORDERS",
    "Transport",
    "envelope_sums",
    "envelope_sums_reference",
    "exact_cost",
    "factors_of_inputs",
    "step_factors",
    "transport",
    "transport_reference",
]

ORDERS = ("zeroth", "first", "diagonal", "exact")

#: largest B * T * (L + 1) * H materialised by :func:`transport`
MAX_TRANSPORT_ELEMENTS = 20_000_000
#: memory budget (bytes) for one chunk of full Jacobians on the exact path
JACOBIAN_CHUNK_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Transport:
    """Per-unit transport for every sequence, position and lag.

    Attributes
    ----------
    log_abs, sign : ndarray, shape (B, T, L + 1, H)
        ``log|value|`` and its sign; entry ``[b, i, l, q]`` is for position ``t = i + 1``
        (transport from ``h_{t-l}`` to ``h_t``); lags ``l > t`` are undefined
        (``log_abs = -inf``, ``sign = nan``).
    order : str
    max_lag : int
    """

    log_abs: np.ndarray
    sign: np.ndarray
    order: str
    max_lag: int

    @property
    def diagonal(self) -> np.ndarray:
        """The values ``sign * exp(log_abs)`` (NaN where undefined; may underflow to 0)."""
        return self.sign * np.exp(self.log_abs)

    @property
    def valid(self) -> np.ndarray:
        """Boolean (T, L + 1) mask of the defined (position, lag) pairs."""
        T, L1 = self.log_abs.shape[1:3]
        return np.arange(L1)[None, :] <= np.arange(1, T + 1)[:, None]


def check_order(order) -> str:
    """Return ``order`` if it is one of :data:`ORDERS`."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    return order


def check_net(net) -> Cell:
    """Return ``net`` if it is a :class:`~verify.recurrences.cells.Cell`."""
    if not isinstance(net, Cell):
        raise ValueError(
            f"net must be a recurrences.Cell (ConstGate, SharedGate, DiagGate, GRU, LSTM, MinGRU, "
            f"MinLSTM, RGLRU, Mamba), got {type(net).__name__}"
        )
    return net


def check_lag(max_lag, steps: int) -> int:
    """Return ``max_lag`` if it is an integer in [0, T]."""
    return check_int("max_lag", max_lag, lo=0, hi=steps)


def step_factors(net: Cell, traj: Trajectory, order: str):
    """Per-step linear factors ``(factor, correction)`` for a product order, each (B, T, H).

    ``zeroth``: ``(r, 0)``; ``first``: ``(r, d / r)``; ``diagonal``: ``(r + d, 0)``.
    """
    r, d = net.retention_and_correction(traj)
    zero = np.zeros_like(r)
    if order == "diagonal":
        return r + d, zero
    if order == "zeroth":
        return r, zero
    return r, np.divide(d, r, out=np.zeros_like(d), where=r > 0.0)


def factors_of_inputs(net: Cell, x, order: str, h0=None):
    """:func:`step_factors` of ``net.forward(x, h0)``, fused where the cell can.

    A cell with a factor kernel (GRU, LSTM: ``fused_factors``) forms the factors inside its
    forward kernel, without storing the trajectory; the others run ``forward`` and then
    :func:`step_factors`.
    """
    if getattr(net, "_factor_kernel", None) is not None:
        return net.fused_factors(x, order, h0)
    return step_factors(net, net.forward(x, h0), order)


def _chunks(batch: int, hidden: int) -> int:
    """Chunks of consecutive sequences for :func:`envelope_sums`: 64 tasks where B allows.

    A function of the shape only, never of the number of threads (the sums are taken per
    chunk and the chunks added in order).
    """
    blocks = -(-hidden // envelope_kernels.UNITS)
    return min(batch, max(1, -(-64 // blocks)))


def envelope_sums(fac, corr, order, max_lag) -> np.ndarray:
    """``log`` of the sum over sequences and positions of ``|transport|``, per lag and unit.

    Parameters
    ----------
    fac, corr : ndarray, shape (B, T, H)
        The per-step factors and corrections of :func:`step_factors`.
    order : {"zeroth", "first", "diagonal"}
        ``"first"`` uses ``corr`` (the value is ``prod fac * (1 + sum corr)``); the others
        ignore it.
    max_lag : int
        Largest lag ``L`` in [0, T].

    Returns
    -------
    ndarray, shape (L + 1, H)
        Entry ``[l, q]`` is ``log sum_{b, t >= max(l, 1)} |value[b, t, l, q]|`` (``-inf``
        where every term is zero), resolved far below the float64 range.

    Notes
    -----
    Runs :func:`verify.recurrences.envelope_kernels.product_envelope`: the (B, T, L + 1, H)
    transport is never formed.  The sums are taken per chunk of sequences (a fixed grid
    that depends on B and H only) and the chunks are added in order, so the result is
    the same whatever the number of threads.
    """
    order = check_order(order)
    if order == "exact":
        raise ValueError("envelope_sums covers the product orders; 'exact' has no factors")
    fac = np.ascontiguousarray(fac, dtype=np.float64)
    corr = np.ascontiguousarray(corr, dtype=np.float64)
    if fac.ndim != 3 or corr.shape != fac.shape:
        raise ValueError(f"fac and corr must be (B, T, H) arrays of one shape, got "
                         f"{fac.shape} and {corr.shape}")  # fmt: skip
    B, T, H = fac.shape
    max_lag = check_lag(max_lag, T)
    C = _chunks(B, H)
    acc = np.zeros((C, H, max_lag + 1))
    env_m = np.full((C, H, max_lag + 1), -np.inf)
    env_s = np.zeros((C, H, max_lag + 1))
    envelope_kernels.product_envelope(fac, corr, order == "first", max_lag, acc, env_m, env_s)
    with np.errstate(divide="ignore"):
        out = np.log(acc.sum(axis=0))
        if np.any(env_s > 0.0):  # some products left the float64 range
            m = env_m.max(axis=0)
            mf = np.where(np.isfinite(m), m, 0.0)
            out = np.logaddexp(out, np.log(np.sum(env_s * np.exp(env_m - mf), axis=0)) + mf)
    return np.ascontiguousarray(out[:, ::-1].T)


def envelope_sums_reference(fac, corr, order, max_lag) -> np.ndarray:
    """Plain NumPy :func:`envelope_sums`: explicit products per position and lag, linear.

    The readable definition (it underflows where the kernel does not).
    """
    fac = np.asarray(fac, dtype=np.float64)
    corr = np.asarray(corr, dtype=np.float64)
    B, T, H = fac.shape
    out = np.zeros((max_lag + 1, H))
    for i in range(T):
        for lag in range(min(max_lag, i + 1) + 1):
            seg = slice(i - lag + 1, i + 1)
            val = np.prod(fac[:, seg], axis=1)
            if order == "first":
                val = val * (1.0 + np.sum(corr[:, seg], axis=1))
            out[lag] += np.abs(val).sum(axis=0)
    with np.errstate(divide="ignore"):
        return np.log(out)


def exact_cost(batch: int, steps: int, max_lag: int, hidden: int, state: int) -> float:
    """Floating-point operations of the ``"exact"`` order (an estimate, before any work).

    Per sequence, position and lag one ``(H, S) x (S, S)`` product: ``2 H S^2`` each, over
    the ``T L - L (L - 1) / 2`` defined (position, lag) pairs.
    """
    pairs = steps * max_lag - max_lag * (max_lag - 1) / 2.0
    return 2.0 * batch * pairs * hidden * state * state


def resolve_device(device, order: str) -> str:
    """The device the transport of ``order`` runs on (``"exact"`` has no GPU kernel)."""
    return resolve(device, order != "exact", f"order={order!r}")


def _run(net, traj, max_lag, order, loglam, store, correction_scale=1.0, device="cpu",
         progress=None):  # fmt: skip
    B, T1, H = traj.h.shape
    T = T1 - 1
    shape = (B, T, max_lag + 1, H) if store else (1, 1, 1, 1)
    out_log = np.full(shape, -np.inf)
    out_sgn = np.full(shape, np.nan)
    env_m = np.full((B, max_lag + 1, H), -np.inf)
    env_s = np.zeros((B, max_lag + 1, H))
    acc = np.zeros((B, max_lag + 1, H))
    if order == "exact":
        lift = np.ascontiguousarray(net.lift(traj))
        S = net.state_size
        chunk = max(1, int(JACOBIAN_CHUNK_BYTES // (8 * T * S * S)))
        for lo in range(0, B, chunk):
            sl = slice(lo, min(B, lo + chunk))
            sub = Trajectory(
                h=traj.h[sl],
                c=None if traj.c is None else traj.c[sl],
                gates={k: v[sl] for k, v in traj.gates.items()},
            )
            jac = np.ascontiguousarray(net.jacobians(sub))
            kernels.exact_transport(
                jac, lift[sl], H, loglam, max_lag, env_m[sl], env_s[sl], store,
                out_log[sl] if store else out_log, out_sgn[sl] if store else out_sgn,
            )  # fmt: skip
            if progress is not None:
                progress(sl.stop, B)
    else:
        fac, corr = (np.ascontiguousarray(a) for a in step_factors(net, traj, order))
        if correction_scale != 1.0:
            corr = corr * correction_scale
        if device == "cuda":
            from verify.gpu.transport import product_transport
        else:
            product_transport = kernels.product_transport
        product_transport(
            fac, corr, order == "first", np.exp(loglam), loglam, max_lag, acc,
            env_m, env_s, store, out_log, out_sgn,
        )  # fmt: skip
    # log of the sum over positions, per (sequence, lag, unit): linear part + log-space part
    with np.errstate(divide="ignore"):
        log_terms = np.logaddexp(np.log(acc), env_m + np.log(env_s))
    return log_terms, out_log, out_sgn


def transport(net, x, max_lag, order="exact", h0=None, device=None) -> Transport:
    """Per-unit transport of ``net`` on inputs ``x`` for all positions and lags.

    Parameters
    ----------
    net : Cell
        A ConstGate, SharedGate, DiagGate, GRU or LSTM.
    x : array_like, shape (B, T, D)
        Input sequences.
    max_lag : int
        Largest lag ``L``, in [0, T].
    order : {"exact", "diagonal", "first", "zeroth"}
        See the module docstring.
    h0 : array_like, optional
        Initial hidden state, (B, H) or (H,); zeros by default.
    device : {None, "cpu", "cuda"}, optional
        Where the transport kernel runs (:mod:`verify.device`); the forward pass is always
        on the CPU.  ``"exact"`` has no GPU kernel.

    Returns
    -------
    Transport
        ``log_abs``/``sign``/``diagonal`` of shape (B, T, L + 1, H).  For large sizes use
        :func:`verify.recurrences.envelope`, which never materialises this array.
    """
    net = check_net(net)
    order = check_order(order)
    dev = resolve_device(device, order)
    x = net.check_inputs(x)
    B, T, _ = x.shape
    max_lag = check_lag(max_lag, T)
    size = B * T * (max_lag + 1) * net.hidden
    if size > MAX_TRANSPORT_ELEMENTS:
        raise ValueError(
            f"x and max_lag give a transport array of B*T*(L+1)*H = {size} elements, more than "
            f"{MAX_TRANSPORT_ELEMENTS}: use envelope() or smaller B, T or max_lag"
        )
    traj = net.forward(x, h0)
    _, out_log, out_sgn = _run(net, traj, max_lag, order, np.zeros(net.hidden), True, device=dev)
    return Transport(log_abs=out_log, sign=out_sgn, order=order, max_lag=max_lag)


def transport_reference(net, x, max_lag, order="exact", h0=None) -> np.ndarray:
    """Plain NumPy transport values (B, T, L + 1, H), NaN where undefined.

    The readable definition: explicit products of full Jacobian matrices (``exact``) or of
    the per-step diagonal factors, position by position and lag by lag, in linear space.
    """
    net = check_net(net)
    order = check_order(order)
    x = net.check_inputs(x)
    B, T, _ = x.shape
    max_lag = check_lag(max_lag, T)
    H = net.hidden
    traj = net.forward_reference(x, h0)
    out = np.full((B, T, max_lag + 1, H), np.nan)
    if order == "exact":
        jac = net.jacobians(traj)
        lift = net.lift(traj)
        S = net.state_size
        select = np.eye(S)[S - H :]  # rows reported: h (gated, GRU) or c (LSTM)
        for i in range(T):
            m = np.broadcast_to(np.eye(S), (B, S, S)).copy()
            for lag in range(min(max_lag, i + 1) + 1):
                if lag > 0:
                    m = m @ jac[:, i - lag + 1]
                src = i + 1 - lag
                if S == H:
                    inject = np.broadcast_to(np.eye(H), (B, H, H))
                else:  # lift a cell perturbation into (h, c) = (e dc, dc)
                    inject = np.concatenate(
                        [lift[:, src, :, None] * np.eye(H), np.broadcast_to(np.eye(H), (B, H, H))],
                        axis=1,
                    )
                out[:, i, lag] = np.diagonal(select @ m @ inject, axis1=1, axis2=2)
        return out
    r, d = net.retention_and_correction(traj)
    for i in range(T):
        for lag in range(min(max_lag, i + 1) + 1):
            seg = slice(i - lag + 1, i + 1)
            if order == "zeroth":
                out[:, i, lag] = np.prod(r[:, seg], axis=1)
            elif order == "diagonal":
                out[:, i, lag] = np.prod(r[:, seg] + d[:, seg], axis=1)
            else:
                out[:, i, lag] = np.prod(r[:, seg], axis=1) * (
                    1.0 + np.sum(d[:, seg] / r[:, seg], axis=1)
                )
    return out
