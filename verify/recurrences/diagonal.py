"""Diagonal linear recurrences with input-dependent gates: the shared base of the new cells.

minGRU, minLSTM, the RG-LRU (Griffin, RecurrentGemma) and Mamba's selective scan all run

::

    h_t = a_t * h_{t-1} + b_t        (elementwise, per state unit q)

with ``a_t`` and ``b_t`` functions of the inputs alone, never of the state.  The Jacobian
``dh_t / dh_{t-1} = diag(a_t)`` is diagonal and the retention *is* its diagonal: the
correction ``d`` of THEORY.md's first order vanishes identically, so the zeroth, first and
diagonal orders and the exact transport are one product of retentions
``prod_j a_j`` (to rounding).  A subclass says how the inputs give ``(a, b)``
(:meth:`DiagonalRecurrence.coefficients`); the forward pass (the numba kernel
:func:`verify.recurrences.kernels.diagonal_forward` and its NumPy reference), the
retention, the Jacobians and the one-step map are written once, here.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .cells import Cell, Trajectory

__all__ = ["DiagonalRecurrence", "softplus"]


def softplus(v):
    """``log(1 + exp(v))`` on arrays, without overflow."""
    v = np.asarray(v, dtype=np.float64)
    return np.logaddexp(0.0, v)


class DiagonalRecurrence(Cell):
    """A cell ``h_t = a_t * h_{t-1} + b_t`` with ``a_t``, ``b_t`` functions of the inputs.

    Subclasses set ``hidden`` (the number of state units ``S``) and ``inputs`` and
    implement :meth:`coefficients`.  The trajectory's gates hold ``"a"`` (the retention),
    ``"b"`` (the drive) and whatever else :meth:`coefficients` returns.
    """

    kind = "diagonal"

    def coefficients(self, x) -> tuple[np.ndarray, np.ndarray, dict]:  # pragma: no cover
        """``(a, b, extras)`` for checked inputs ``x`` (B, T, D): ``a``, ``b`` (B, T, S)."""
        raise NotImplementedError

    def _start(self, x, h0):
        x = self.check_inputs(x)
        a, b, extras = self.coefficients(x)
        B, T, _ = x.shape
        h = np.empty((B, T + 1, self.hidden))
        h[:, 0] = self._initial("h0", h0, B)
        return a, b, extras, h

    def forward(self, x, h0=None) -> Trajectory:
        """Run the numba scan on ``x`` (B, T, D); ``h0`` (B, S) or (S,), zeros by default."""
        a, b, extras, h = self._start(x, h0)
        kernels.diagonal_forward(np.ascontiguousarray(a), np.ascontiguousarray(b), h)
        return Trajectory(h=h, gates={"a": a, "b": b, **extras})

    def forward_reference(self, x, h0=None) -> Trajectory:
        """NumPy reference of :meth:`forward`: the same recurrence, one position at a time."""
        a, b, extras, h = self._start(x, h0)
        for t in range(a.shape[1]):
            h[:, t + 1] = a[:, t] * h[:, t] + b[:, t]
        return Trajectory(h=h, gates={"a": a, "b": b, **extras})

    def step(self, x_t, state) -> np.ndarray:
        """One step for inputs (B, D) and states (B, S)."""
        a, b, _ = self.coefficients(self.check_inputs(np.asarray(x_t)[:, None, :]))
        return a[:, 0] * state + b[:, 0]

    def retention_and_correction(self, traj: Trajectory):
        """The retention ``a`` and a correction that is identically zero."""
        a = traj.gates["a"]
        return a, np.zeros_like(a)

    def jacobians(self, traj: Trajectory) -> np.ndarray:
        """``dh_t / dh_{t-1} = diag(a_t)``, shape (B, T, S, S)."""
        a = traj.gates["a"]
        B, T, S = a.shape
        jac = np.zeros((B, T, S, S))
        idx = np.arange(S)
        jac[..., idx, idx] = a
        return jac
