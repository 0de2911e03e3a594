"""The gated family of THEORY.md section 1: ConstGate, SharedGate and DiagGate.

All three run ``h' = (1 - s) h + s tanh(W_x x + W_h h + b)`` and differ in the gate ``s``:
a fixed scalar, one input-dependent scalar shared by all units, or one gate per unit.
"""

from __future__ import annotations

import numpy as np

from theory._validate import check_finite_array, check_in_range, check_int

from . import kernels
from .cells import Cell, Trajectory, check_shape, sigmoid
from .init import Chrono, check_scale, normal_weights, retention_logit, sample_retention

__all__ = ["ConstGate", "DiagGate", "SharedGate"]


class _Gated(Cell):
    """Shared machinery: ``h' = (1 - s) h + s tanh(W_x x + W_h h + b)``."""

    const_gate = False
    s_const = 0.0

    def _gate_arrays(self):
        """Return ``(W_s, U_s, b_s)`` as (H, D), (H, H), (H,) arrays."""
        raise NotImplementedError

    def _set_core(self, w_x, w_h, b, inputs=None):
        h = np.asarray(w_h).shape[0] if np.ndim(w_h) == 2 else -1
        self.w_h = check_finite_array("w_h", w_h, ndim=2)
        if self.w_h.shape != (h, h) or h < 1:
            raise ValueError(f"w_h must have shape (H, H), got {self.w_h.shape}")
        self.hidden = h
        w_x = check_finite_array("w_x", w_x, ndim=2)
        if w_x.shape[0] != h or w_x.shape[1] < 1:
            raise ValueError(f"w_x must have shape (H, D) = ({h}, D), got {w_x.shape}")
        self.w_x = w_x
        self.inputs = w_x.shape[1]
        self.b = check_shape("b", b, (h,), "(H,)")

    def _projections(self, x):
        w_s, _, b_s = self._gate_arrays()
        xa = x @ self.w_x.T + self.b
        xs = x @ w_s.T + b_s
        return np.ascontiguousarray(xa), np.ascontiguousarray(xs)

    def forward(self, x, h0=None) -> Trajectory:
        """Run the numba forward pass on ``x`` (B, T, D); ``h0`` (B, H) or (H,)."""
        x = self.check_inputs(x)
        B, T, _ = x.shape
        xa, xs = self._projections(x)
        _, u_s, _ = self._gate_arrays()
        h = np.empty((B, T + 1, self.hidden))
        h[:, 0] = self._initial("h0", h0, B)
        s = np.empty((B, T, self.hidden))
        u = np.empty((B, T, self.hidden))
        kernels.gated_forward(xa, xs, self.w_h, u_s, self.const_gate, self.s_const, h, s, u)
        return Trajectory(h=h, gates={"s": s, "u": u})

    def forward_reference(self, x, h0=None) -> Trajectory:
        """NumPy reference of :meth:`forward`."""
        x = self.check_inputs(x)
        B, T, _ = x.shape
        xa, xs = self._projections(x)
        _, u_s, _ = self._gate_arrays()
        h = np.empty((B, T + 1, self.hidden))
        h[:, 0] = self._initial("h0", h0, B)
        s = np.empty((B, T, self.hidden))
        u = np.empty((B, T, self.hidden))
        for t in range(T):
            hp = h[:, t]
            u[:, t] = np.tanh(xa[:, t] + hp @ self.w_h.T)
            if self.const_gate:
                s[:, t] = self.s_const
            else:
                s[:, t] = sigmoid(xs[:, t] + hp @ u_s.T)
            h[:, t + 1] = (1.0 - s[:, t]) * hp + s[:, t] * u[:, t]
        return Trajectory(h=h, gates={"s": s, "u": u})

    def step(self, x_t, state) -> np.ndarray:
        """One step of the update for inputs (B, D) and states (B, H)."""
        w_s, u_s, b_s = self._gate_arrays()
        u = np.tanh(x_t @ self.w_x.T + self.b + state @ self.w_h.T)
        if self.const_gate:
            s = self.s_const
        else:
            s = sigmoid(x_t @ w_s.T + b_s + state @ u_s.T)
        return (1.0 - s) * state + s * u

    def retention_and_correction(self, traj: Trajectory):
        """Retention ``1 - s`` and ``d = s tanh'(a) [W_h]_qq + (u - h) s (1 - s) [U_s]_qq``."""
        _, u_s, _ = self._gate_arrays()
        s, u = traj.gates["s"], traj.gates["u"]
        hp = traj.h[:, :-1]
        d = s * (1.0 - u * u) * np.diag(self.w_h)
        if not self.const_gate:
            d = d + (u - hp) * s * (1.0 - s) * np.diag(u_s)
        return 1.0 - s, d

    def jacobians(self, traj: Trajectory) -> np.ndarray:
        """Full Jacobians ``diag(1-s) + diag(s tanh'(a)) W_h + diag((u-h) s(1-s)) U_s``."""
        _, u_s, _ = self._gate_arrays()
        s, u = traj.gates["s"], traj.gates["u"]
        hp = traj.h[:, :-1]
        jac = (s * (1.0 - u * u))[..., None] * self.w_h
        if not self.const_gate:
            jac += ((u - hp) * s * (1.0 - s))[..., None] * u_s
        idx = np.arange(self.hidden)
        jac[..., idx, idx] += 1.0 - s
        return jac


def _gated_core_init(hidden, inputs, seed, input_scale, recurrent_scale):
    hidden = check_int("hidden", hidden, lo=1)
    inputs = check_int("inputs", inputs, lo=1)
    rng = np.random.default_rng(seed)
    w_x = normal_weights(rng, (hidden, inputs), check_scale("input_scale", input_scale), inputs)
    w_h = normal_weights(
        rng, (hidden, hidden), check_scale("recurrent_scale", recurrent_scale), hidden
    )
    return rng, hidden, inputs, w_x, w_h


def _homogeneous_retention(spectrum, hidden, rng, kind) -> float:
    r = sample_retention(spectrum, hidden, rng)
    if not np.all(r == r[0]):
        raise ValueError(
            f"spectrum must be homogeneous for {kind} (one gate shared by all units), "
            f"got {spectrum!r} with retentions from {r.min():.4g} to {r.max():.4g}"
        )
    return float(r[0])


class ConstGate(_Gated):
    """Fixed scalar gate ``s``: ``h' = (1 - s) h + s tanh(W_x x + W_h h + b)``.

    Parameters
    ----------
    w_x : array_like, shape (H, D)
    w_h : array_like, shape (H, H)
    b : array_like, shape (H,)
    s : float
        The gate, in (0, 1]; retention ``1 - s``, time constant ``-1/ln(1 - s)``.
    """

    kind = "constgate"
    const_gate = True

    def __init__(self, w_x, w_h, b, s):
        self._set_core(w_x, w_h, b)
        self.s_const = check_in_range("s", s, 0.0, 1.0, lo_open=True)

    def _gate_arrays(self):
        H, D = self.hidden, self.inputs
        return np.zeros((H, D)), np.zeros((H, H)), np.zeros(H)

    @classmethod
    def init(cls, hidden, inputs, spectrum, seed=0, input_scale=1.0, recurrent_scale=0.5):
        """Seeded initialiser; ``spectrum`` must be homogeneous (one retention ``r0``)."""
        rng, hidden, inputs, w_x, w_h = _gated_core_init(
            hidden, inputs, seed, input_scale, recurrent_scale
        )
        r0 = _homogeneous_retention(spectrum, hidden, rng, "ConstGate")
        return cls(w_x, w_h, np.zeros(hidden), 1.0 - r0)


class SharedGate(_Gated):
    """One scalar gate for all units, ``s = sigmoid(w_s . x + u_s . h + b_s)``.

    Parameters
    ----------
    w_x : array_like, shape (H, D)
    w_h : array_like, shape (H, H)
    b : array_like, shape (H,)
    w_s : array_like, shape (D,)
    u_s : array_like, shape (H,)
    b_s : float
    """

    kind = "sharedgate"

    def __init__(self, w_x, w_h, b, w_s, u_s, b_s):
        self._set_core(w_x, w_h, b)
        self.w_s = check_shape("w_s", w_s, (self.inputs,), "(D,)")
        self.u_s = check_shape("u_s", u_s, (self.hidden,), "(H,)")
        self.b_s = check_in_range("b_s", b_s)

    def _gate_arrays(self):
        H = self.hidden
        return (
            np.ascontiguousarray(np.broadcast_to(self.w_s, (H, self.inputs))),
            np.ascontiguousarray(np.broadcast_to(self.u_s, (H, H))),
            np.full(H, self.b_s),
        )

    @classmethod
    def init(cls, hidden, inputs, spectrum, seed=0, input_scale=1.0, recurrent_scale=0.5,
             gate_input_scale=0.5, gate_recurrent_scale=0.5):  # fmt: skip
        """Seeded initialiser; ``spectrum`` must be homogeneous (the bias gives ``r0``)."""
        rng, hidden, inputs, w_x, w_h = _gated_core_init(
            hidden, inputs, seed, input_scale, recurrent_scale
        )
        r0 = _homogeneous_retention(spectrum, hidden, rng, "SharedGate")
        w_s = normal_weights(rng, inputs, check_scale("gate_input_scale", gate_input_scale),
                             inputs)  # fmt: skip
        u_s = normal_weights(
            rng, hidden, check_scale("gate_recurrent_scale", gate_recurrent_scale), hidden
        )
        return cls(w_x, w_h, np.zeros(hidden), w_s, u_s, float(retention_logit(1.0 - r0)))


class DiagGate(_Gated):
    """One gate per unit, ``s = sigmoid(W_s x + U_s h + b_s)``.

    Parameters
    ----------
    w_x : array_like, shape (H, D)
    w_h : array_like, shape (H, H)
    b : array_like, shape (H,)
    w_s : array_like, shape (H, D)
    u_s : array_like, shape (H, H)
    b_s : array_like, shape (H,)
    """

    kind = "diaggate"

    def __init__(self, w_x, w_h, b, w_s, u_s, b_s):
        self._set_core(w_x, w_h, b)
        H, D = self.hidden, self.inputs
        self.w_s = check_shape("w_s", w_s, (H, D), "(H, D)")
        self.u_s = check_shape("u_s", u_s, (H, H), "(H, H)")
        self.b_s = check_shape("b_s", b_s, (H,), "(H,)")

    def _gate_arrays(self):
        return self.w_s, self.u_s, self.b_s

    @classmethod
    def init(cls, hidden, inputs, spectrum, seed=0, input_scale=1.0, recurrent_scale=0.5,
             gate_input_scale=0.5, gate_recurrent_scale=0.5):  # fmt: skip
        """Seeded initialiser: ``b_s = logit(1 - r)`` with ``r`` drawn from ``spectrum``.

        With small ``gate_*_scale`` each unit's retention is the drawn ``r``.
        """
        rng, hidden, inputs, w_x, w_h = _gated_core_init(
            hidden, inputs, seed, input_scale, recurrent_scale
        )
        if isinstance(spectrum, Chrono):
            b_s = -spectrum.sample_bias(hidden, rng)
        else:
            b_s = retention_logit(1.0 - sample_retention(spectrum, hidden, rng))
        w_s = normal_weights(
            rng, (hidden, inputs), check_scale("gate_input_scale", gate_input_scale), inputs
        )
        u_s = normal_weights(
            rng, (hidden, hidden), check_scale("gate_recurrent_scale", gate_recurrent_scale),
            hidden,
        )  # fmt: skip
        return cls(w_x, w_h, np.zeros(hidden), w_s, u_s, b_s)
