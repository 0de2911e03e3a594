"""Effective learning rates and the envelope ``f(l)``.

``mu^(q)_{t,l} = Lambda^(q) Gamma^(q)_{t,l}``, with ``Lambda = eta`` for SGD and, for Adam-like
optimizers, ``Lambda^(q)`` the row average of ``eta / (sqrt(v_hat_qj) + eps)`` over the
recurrent weights of unit ``q``.  The envelope is ``f(l) = sum_q |mu^(q)_{t,l}|`` averaged
over sequences and positions ``t >= l`` (THEORY.md section 1).  The transport is streamed:
per sequence, lag and unit a running log-sum-exp over positions, so nothing of size
B x T x L x H is formed and ``log f`` is resolved far below the float64 range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory._validate import check_finite_array, check_positive

from .transport import (
    _run,
    check_lag,
    check_net,
    check_order,
    envelope_sums,
    factors_of_inputs,
    resolve_device,
    step_factors,
)

__all__ = [
    "EnvelopeResult",
    "envelope",
    "envelope_of_factors",
    "envelope_of_trajectory",
    "log_envelope",
    "measure_envelope",
    "unit_rates",
]

OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True)
class EnvelopeResult:
    """A measured envelope.

    Attributes
    ----------
    lags : ndarray of int, shape (L + 1,)
    log_f : ndarray, shape (L + 1,)
        ``log f(l)``; ``-inf`` only where every term is exactly zero.
    log_unit : ndarray, shape (L + 1, H)
        ``log`` of the per-unit mean ``|mu^(q)|`` (``f`` is its sum over units).
    rates : ndarray, shape (H,)
        The per-unit base rates ``Lambda^(q)``.
    counts : ndarray of int, shape (L + 1,)
        Number of (sequence, position) pairs averaged at each lag.
    order, optimizer : str
    """

    lags: np.ndarray
    log_f: np.ndarray
    log_unit: np.ndarray
    rates: np.ndarray
    counts: np.ndarray
    order: str
    optimizer: str

    @property
    def f(self) -> np.ndarray:
        """``exp(log_f)`` (underflows to 0 below ~1e-308; use ``log_f`` there)."""
        return np.exp(self.log_f)


def unit_rates(net, optimizer="sgd", lr=1.0, v_hat=None, eps=1e-8) -> np.ndarray:
    """Per-unit base rates ``Lambda^(q)`` (H,).

    Parameters
    ----------
    net : Cell
    optimizer : {"sgd", "adam"}
    lr : float
        The learning rate ``eta`` > 0.
    v_hat : array_like, shape (m H, K), optional
        For ``"adam"``: second-moment estimates of the recurrent weights.  Rows
        ``q, q + H, ..., q + (m-1) H`` belong to unit ``q`` (PyTorch's stacked gate blocks
        for a GRU (3H, H) or LSTM (4H, H); (H, H) for ``W_h``).
    eps : float
        Adam's epsilon, > 0.
    """
    lr = check_positive("lr", lr)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    H = net.hidden
    if optimizer == "sgd":
        if v_hat is not None:
            raise ValueError("v_hat is only used with optimizer='adam'")
        return np.full(H, lr)
    eps = check_positive("eps", eps)
    if v_hat is None:
        raise ValueError("v_hat (second-moment estimates, shape (m*H, K)) is required for adam")
    v = check_finite_array("v_hat", v_hat, ndim=2)
    if v.shape[0] % H or v.shape[0] == 0 or v.shape[1] < 1:
        raise ValueError(f"v_hat must have shape (m*H, K) with H = {H}, got {v.shape}")
    if np.any(v < 0.0):
        raise ValueError("v_hat must be >= 0 (second moments)")
    pre = lr / (np.sqrt(v) + eps)
    return pre.reshape(-1, H, v.shape[1]).mean(axis=(0, 2))


def _logsumexp(a: np.ndarray, axis) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(a - m), axis=axis)) + np.squeeze(m, axis=axis)


def measure_envelope(net, x, max_lag, order="first", optimizer="sgd", lr=1.0, v_hat=None,
                     eps=1e-8, h0=None, device=None, progress=None,
                     exact_method="kernel") -> EnvelopeResult:  # fmt: skip
    """Measure the envelope of ``net`` on inputs ``x``.

    Parameters
    ----------
    net : Cell
    x : array_like, shape (B, T, D)
    max_lag : int
        Largest lag ``L`` in [0, T].
    order : {"first", "zeroth", "diagonal", "exact"}
        Transport order (see :mod:`verify.recurrences.transport`).
    optimizer, lr, v_hat, eps
        As in :func:`unit_rates`.
    h0 : array_like, optional
        Initial hidden state.
    device : {None, "cpu", "cuda"}, optional
        Where the transport runs (:mod:`verify.device`; ``"exact"`` is CPU-only).
    progress : callable, optional
        For ``"exact"``: called as ``progress(done, total)`` after each chunk of sequences
        (its cost: :func:`verify.recurrences.transport.exact_cost`).
    exact_method : {"kernel", "table"}
        How ``"exact"`` is computed: the per-position numba kernel, or the sparse table of
        Jacobian products (:func:`verify.recurrences.full_transport.exact_diagonal_sums`,
        the same sums up to rounding, far cheaper for long lags and large H).

    Returns
    -------
    EnvelopeResult
    """
    net = check_net(net)
    order = check_order(order)
    device = resolve_device(device, order)
    x = net.check_inputs(x)
    max_lag = check_lag(max_lag, x.shape[1])
    rates = unit_rates(net, optimizer, lr, v_hat, eps)
    if order != "exact" and device == "cpu":  # one pass from inputs to factors
        fac, corr = factors_of_inputs(net, x, order, h0)
        B, T, _ = x.shape
        return _envelope_of_sums(envelope_sums(fac, corr, order, max_lag), B, T, rates,
                                 order, optimizer)  # fmt: skip
    traj = net.forward(x, h0)
    return envelope_of_trajectory(net, traj, max_lag, order, rates, optimizer, device=device,
                                  progress=progress, exact_method=exact_method)  # fmt: skip


def envelope_of_trajectory(net, traj, max_lag, order, rates, optimizer="sgd",
                           correction_scale=1.0, device=None, progress=None,
                           exact_method="kernel") -> EnvelopeResult:  # fmt: skip
    """Envelope of an already computed trajectory with given per-unit rates (H,).

    ``correction_scale`` multiplies the first-order correction ``d / r`` (1 is THEORY's
    Gamma; -1 gives the sign-flipped negative control of the fidelity check).
    """
    order = check_order(order)
    device = resolve_device(device, order)
    if order != "exact" and device == "cpu":
        fac, corr = step_factors(net, traj, order)
        return _envelope_of_sums(
            envelope_sums(fac, corr * correction_scale, order, max_lag), traj.h.shape[0],
            traj.h.shape[1] - 1, rates, order, optimizer,
        )  # fmt: skip
    if exact_method not in ("kernel", "table"):
        raise ValueError(f"exact_method must be 'kernel' or 'table', got {exact_method!r}")
    if order == "exact" and exact_method == "table" and correction_scale == 1.0:
        from .full_transport import exact_diagonal_sums

        log_terms = exact_diagonal_sums(net, traj, max_lag, progress)
        return _envelope_of_sums(_logsumexp(log_terms, axis=0), traj.h.shape[0],
                                 traj.h.shape[1] - 1, rates, order, optimizer)  # fmt: skip
    log_terms, _, _ = _run(
        net, traj, max_lag, order, np.zeros(net.hidden), False, correction_scale, device,
        progress,
    )  # fmt: skip
    return _envelope_of_sums(_logsumexp(log_terms, axis=0), traj.h.shape[0],
                             traj.h.shape[1] - 1, rates, order, optimizer)  # fmt: skip


def envelope_of_factors(r, d, max_lag, order="first", rates=None, optimizer="sgd"):
    """Envelope from the retention ``r`` and correction ``d`` (each (B, T, H)) directly.

    The product orders only (``"zeroth"``, ``"first"``, ``"diagonal"``), on the CPU:
    :func:`envelope_of_trajectory` without the network, for retentions and corrections
    computed elsewhere.  ``rates`` (H,) defaults to ones (SGD with ``lr = 1``).
    """
    order = check_order(order)
    r = check_finite_array("r", r, ndim=3)
    d = check_finite_array("d", d, ndim=3)
    if d.shape != r.shape:
        raise ValueError(f"r and d must have one shape, got {r.shape} and {d.shape}")
    B, T, H = r.shape
    rates = np.ones(H) if rates is None else np.asarray(rates, dtype=np.float64)
    if rates.shape != (H,) or np.any(~(rates > 0.0)) or not np.all(np.isfinite(rates)):
        raise ValueError(f"rates must be {H} finite positive numbers")
    if order == "diagonal":
        fac, corr = r + d, np.zeros_like(r)
    elif order == "zeroth":
        fac, corr = r, np.zeros_like(r)
    else:
        fac, corr = r, np.divide(d, r, out=np.zeros_like(d), where=r > 0.0)
    sums = envelope_sums(fac, corr, order, check_lag(max_lag, T))
    return _envelope_of_sums(sums, B, T, rates, order, optimizer)


def _envelope_of_sums(log_sums, B, T, rates, order, optimizer) -> EnvelopeResult:
    # log_sums: (L + 1, H) log of the sums over sequences and positions of |transport|
    max_lag = log_sums.shape[0] - 1
    lags = np.arange(max_lag + 1)
    counts = B * (T - np.maximum(lags, 1) + 1)
    log_unit = log_sums + np.log(rates)[None, :] - np.log(counts)[:, None]
    log_f = _logsumexp(log_unit, axis=1)
    return EnvelopeResult(lags=lags, log_f=log_f, log_unit=log_unit, rates=rates,
                          counts=counts, order=order, optimizer=optimizer)  # fmt: skip


def envelope(net, x, max_lag, order="first", optimizer="sgd", lr=1.0, v_hat=None, eps=1e-8,
             h0=None, device=None) -> np.ndarray:  # fmt: skip
    """Return the envelope ``f(l)``, shape (L + 1,); see :func:`measure_envelope`."""
    return measure_envelope(net, x, max_lag, order, optimizer, lr, v_hat, eps, h0, device).f


def log_envelope(net, x, max_lag, order="first", optimizer="sgd", lr=1.0, v_hat=None,
                 eps=1e-8, h0=None, device=None) -> np.ndarray:  # fmt: skip
    """Return ``log f(l)``, shape (L + 1,), resolvable far below 1e-300."""
    return measure_envelope(net, x, max_lag, order, optimizer, lr, v_hat, eps, h0, device).log_f
