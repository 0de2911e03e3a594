"""The shared base of the gated recurrent architectures: :class:`Cell` and :class:`Trajectory`.

All five cells of THEORY.md section 1 share one interface.  ``forward`` runs the numba
kernel of :mod:`verify.recurrences.kernels`; ``forward_reference`` is the readable NumPy
definition that tests compare it with.  From a :class:`Trajectory` a cell gives

* ``retention_and_correction``: per position the retention ``r_j`` and the correction
  ``d_j`` of the diagonal Jacobian entry, ``[J_j]_qq = r_j + d_j`` (first-order transport);
* ``jacobians``: the full Jacobians of the state map (exact transport);
* ``lift``: for the LSTM, how a cell perturbation reaches ``h`` at the source position.

Conventions
-----------
Positions are ``t = 1..T``: ``x[:, t-1]`` drives ``h_{t-1} -> h_t``, ``h_0`` is the initial
state (zeros unless given), and ``J_t = dh_t/dh_{t-1}``.

The architectures: :mod:`~verify.recurrences.gated` (ConstGate, SharedGate, DiagGate),
:mod:`~verify.recurrences.gru` and :mod:`~verify.recurrences.lstm` (on the PyTorch weight
layout of :mod:`~verify.recurrences.torch_layout`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from theory._validate import check_finite_array

__all__ = ["Cell", "Trajectory", "check_shape", "sigmoid"]


def sigmoid(v):
    """The logistic function on arrays, without overflow warnings."""
    return 0.5 * (1.0 + np.tanh(0.5 * v))


def check_shape(name: str, arr, shape: tuple, labels: str) -> np.ndarray:
    """``arr`` as a finite float array of exactly ``shape``, or a ValueError naming ``name``."""
    a = check_finite_array(name, arr, ndim=len(shape))
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {labels} = {shape}, got {a.shape}")
    return a


@dataclass(frozen=True)
class Trajectory:
    """The states and gates of a batched forward pass.

    Attributes
    ----------
    h : ndarray, shape (B, T + 1, H)
        Hidden states, ``h[:, 0]`` the initial state.
    gates : dict of ndarray, each (B, T, H)
        Gate activations at positions 1..T (names depend on the cell).
    c : ndarray, shape (B, T + 1, H), or None
        LSTM cell states.
    """

    h: np.ndarray
    gates: dict = field(default_factory=dict)
    c: np.ndarray | None = None


class Cell:
    """Common interface of the gated cells (see the module docstring for conventions)."""

    kind = "cell"
    #: number of H-row blocks of recurrent weights (for Adam-like per-unit rates)
    n_blocks = 1

    hidden: int
    inputs: int

    @property
    def state_size(self) -> int:
        """Dimension of the recurrent state (``H``, or ``2H`` for the LSTM)."""
        return self.hidden

    # -- input checking ---------------------------------------------------------------
    def check_inputs(self, x) -> np.ndarray:
        """Return ``x`` as float64 (B, T, D), or raise ``ValueError``."""
        x = check_finite_array("x", x, ndim=3)
        if x.shape[2] != self.inputs or x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(
                f"x must have shape (B, T, D) with B, T >= 1 and D = {self.inputs}, got {x.shape}"
            )
        return x

    def _initial(self, name: str, v, batch: int) -> np.ndarray:
        if v is None:
            return np.zeros((batch, self.hidden))
        a = check_finite_array(name, v)
        if a.shape == (self.hidden,):
            a = np.broadcast_to(a, (batch, self.hidden))
        if a.shape != (batch, self.hidden):
            raise ValueError(
                f"{name} must have shape (B, H) = {(batch, self.hidden)} or (H,), got {a.shape}"
            )
        return a

    # -- to be provided by subclasses -------------------------------------------------
    def forward(self, x, h0=None) -> Trajectory:  # pragma: no cover - interface
        """Run the numba forward pass on ``x`` (B, T, D)."""
        raise NotImplementedError

    def forward_reference(self, x, h0=None) -> Trajectory:  # pragma: no cover - interface
        """Run the NumPy reference forward pass on ``x`` (B, T, D)."""
        raise NotImplementedError

    def step(self, x_t, state) -> np.ndarray:  # pragma: no cover - interface
        """Map the state (B, S) to the next state given the input ``x_t`` (B, D)."""
        raise NotImplementedError

    def retention_and_correction(self, traj: Trajectory):  # pragma: no cover - interface
        """Return ``(r, d)``, each (B, T, H): retention and diagonal-Jacobian correction."""
        raise NotImplementedError

    def jacobians(self, traj: Trajectory) -> np.ndarray:  # pragma: no cover - interface
        """Return the full Jacobians ``J_t``, shape (B, T, S, S), for positions 1..T."""
        raise NotImplementedError

    def lift(self, traj: Trajectory) -> np.ndarray:
        """Return the source lift (B, T + 1, H) used by the exact transport (zeros here)."""
        return np.zeros((traj.h.shape[0], traj.h.shape[1], self.hidden))
