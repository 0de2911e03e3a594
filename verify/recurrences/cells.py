"""Gated recurrent architectures: parameters, batched forward passes and Jacobians.

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

GRU (PyTorch's ``GRUCell``; gate order r, z, n)::

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h

so PyTorch's ``z`` is the *retention*: THEORY's update gate is ``s = 1 - z_torch`` and its
retention ``1 - s`` is ``z_torch``.  THEORY's reset gate is PyTorch's ``r``.

LSTM (PyTorch's ``LSTMCell``; gate order i, f, g, o): ``c' = f c + i g``, ``h' = o tanh(c')``.
The state is ``(h, c)``, with full ``2H x 2H`` Jacobians.  The transported quantity is the
cell: ``dc_t / dc_{t-l}``, where the source perturbation of ``c_{t-l}`` also moves
``h_{t-l} = o tanh(c_{t-l})`` (the total derivative that multiplies the cell's parameter
sensitivities in backpropagation through time).  Its retention is the forget gate ``f``; its
first-order correction is ``d_j = e_{j-1} [dc_j/dh_{j-1}]_qq`` with
``e = o (1 - tanh^2 c) = dh/dc``, and ``e_0 = 0`` (the initial ``h_0`` is given).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations
from pathlib import Path

import numpy as np

from theory._validate import check_finite_array, check_in_range, check_int

from . import kernels
from .init import (
    Chrono,
    check_scale,
    normal_weights,
    retention_logit,
    sample_retention,
)

__all__ = ["GRU", "LSTM", "Cell", "ConstGate", "DiagGate", "SharedGate", "Trajectory"]


def _sigmoid(v):
    return 0.5 * (1.0 + np.tanh(0.5 * v))


def _check_shape(name: str, arr, shape: tuple, labels: str) -> np.ndarray:
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


# ======================================================================================
# the gated family: ConstGate, SharedGate, DiagGate
# ======================================================================================


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
        self.b = _check_shape("b", b, (h,), "(H,)")

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
                s[:, t] = _sigmoid(xs[:, t] + hp @ u_s.T)
            h[:, t + 1] = (1.0 - s[:, t]) * hp + s[:, t] * u[:, t]
        return Trajectory(h=h, gates={"s": s, "u": u})

    def step(self, x_t, state) -> np.ndarray:
        """One step of the update for inputs (B, D) and states (B, H)."""
        w_s, u_s, b_s = self._gate_arrays()
        u = np.tanh(x_t @ self.w_x.T + self.b + state @ self.w_h.T)
        if self.const_gate:
            s = self.s_const
        else:
            s = _sigmoid(x_t @ w_s.T + b_s + state @ u_s.T)
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
        self.w_s = _check_shape("w_s", w_s, (self.inputs,), "(D,)")
        self.u_s = _check_shape("u_s", u_s, (self.hidden,), "(H,)")
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
        self.w_s = _check_shape("w_s", w_s, (H, D), "(H, D)")
        self.u_s = _check_shape("u_s", u_s, (H, H), "(H, H)")
        self.b_s = _check_shape("b_s", b_s, (H,), "(H,)")

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


# ======================================================================================
# PyTorch-layout cells: GRU and LSTM
# ======================================================================================


class _TorchLayout(Cell):
    gate_names: str = ""
    npz_keys = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

    def __init__(self, weight_ih, weight_hh, bias_ih=None, bias_hh=None, gate_order=None):
        G = len(self.gate_names)
        order = self._check_order(gate_order)
        whh = check_finite_array("weight_hh", weight_hh, ndim=2)
        H = whh.shape[1]
        if H < 1 or whh.shape[0] != G * H:
            raise ValueError(
                f"weight_hh must have shape ({G}H, H) for {type(self).__name__} "
                f"(gate order {'/'.join(self.gate_names)}), got {whh.shape}"
            )
        wih = check_finite_array("weight_ih", weight_ih, ndim=2)
        if wih.shape[0] != G * H or wih.shape[1] < 1:
            raise ValueError(f"weight_ih must have shape ({G}H, D) = ({G * H}, D), got {wih.shape}")
        bih = np.zeros(G * H) if bias_ih is None else bias_ih
        bhh = np.zeros(G * H) if bias_hh is None else bias_hh
        bih = _check_shape("bias_ih", bih, (G * H,), f"({G}H,)")
        bhh = _check_shape("bias_hh", bhh, (G * H,), f"({G}H,)")
        perm = np.concatenate([np.arange(H) + H * order.index(g) for g in self.gate_names])
        self.hidden, self.inputs = H, wih.shape[1]
        self.weight_ih = np.ascontiguousarray(wih[perm])
        self.weight_hh = np.ascontiguousarray(whh[perm])
        self.bias_ih = np.ascontiguousarray(bih[perm])
        self.bias_hh = np.ascontiguousarray(bhh[perm])

    @property
    def n_blocks(self) -> int:  # noqa: D102
        return len(self.gate_names)

    def _check_order(self, gate_order) -> str:
        if gate_order is None:
            return self.gate_names
        if not isinstance(gate_order, str) or sorted(gate_order) != sorted(self.gate_names):
            valid = ", ".join("".join(p) for p in permutations(self.gate_names))
            raise ValueError(
                f"gate_order must be a permutation of {self.gate_names!r} naming the row blocks "
                f"of the weights (PyTorch's is {self.gate_names!r}; valid: {valid}), "
                f"got {gate_order!r}"
            )
        return gate_order

    def block(self, array: np.ndarray, gate: str) -> np.ndarray:
        """Return the H-row block of ``array`` belonging to ``gate`` (PyTorch order)."""
        k = self.gate_names.index(gate)
        return array[k * self.hidden : (k + 1) * self.hidden]

    @classmethod
    def from_torch(cls, weight_ih, weight_hh, bias_ih=None, bias_hh=None, gate_order=None):
        """Build from PyTorch-layout arrays (``weight_ih`` (GH, D), ``weight_hh`` (GH, H)).

        Parameters
        ----------
        weight_ih, weight_hh, bias_ih, bias_hh : array_like
            As in ``torch.nn.GRUCell`` / ``LSTMCell`` (biases may be None: zero).
        gate_order : str, optional
            Order of the row blocks if not PyTorch's (e.g. ``"zrn"`` for a GRU).
        """
        return cls(weight_ih, weight_hh, bias_ih, bias_hh, gate_order=gate_order)

    @classmethod
    def from_npz(cls, path, prefix: str = "", gate_order=None):
        """Load the four PyTorch-layout arrays from an ``.npz`` file.

        Keys are ``prefix + name`` for name in ``weight_ih, weight_hh, bias_ih, bias_hh``;
        the ``_l0`` suffix of a ``torch.nn.GRU``/``LSTM`` state dict is also accepted.
        """
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"path must be an existing .npz file, got {str(path)!r}")
        with np.load(path) as data:
            arrays = {}
            for key in cls.npz_keys:
                for cand in (prefix + key, prefix + key + "_l0"):
                    if cand in data:
                        arrays[key] = np.array(data[cand])
                        break
                else:
                    if key.startswith("bias"):
                        arrays[key] = None
                        continue
                    raise ValueError(
                        f"{prefix + key} is missing from {path.name}: expected keys "
                        f"{[prefix + k for k in cls.npz_keys]}, found {sorted(data.files)}"
                    )
        return cls(**arrays, gate_order=gate_order)

    def save_npz(self, path) -> None:
        """Write the PyTorch-layout arrays to ``path`` (readable by :meth:`from_npz`)."""
        np.savez(path, weight_ih=self.weight_ih, weight_hh=self.weight_hh,
                 bias_ih=self.bias_ih, bias_hh=self.bias_hh)  # fmt: skip

    def _xi(self, x):
        return np.ascontiguousarray(x @ self.weight_ih.T + self.bias_ih)

    @classmethod
    def _init_arrays(cls, hidden, inputs, seed, input_scale, recurrent_scale):
        hidden = check_int("hidden", hidden, lo=1)
        inputs = check_int("inputs", inputs, lo=1)
        G = len(cls.gate_names)
        rng = np.random.default_rng(seed)
        wih = normal_weights(rng, (G * hidden, inputs), check_scale("input_scale", input_scale),
                             inputs)  # fmt: skip
        whh = normal_weights(
            rng, (G * hidden, hidden), check_scale("recurrent_scale", recurrent_scale), hidden
        )
        return rng, hidden, wih, whh, np.zeros(G * hidden), np.zeros(G * hidden)


class GRU(_TorchLayout):
    """PyTorch's GRU cell (gate order r, z, n); retention is PyTorch's ``z``.

    Construct with :meth:`from_torch`, :meth:`from_npz` or :meth:`init`.
    """

    kind = "gru"
    gate_names = "rzn"

    @classmethod
    def init(cls, hidden, inputs, spectrum, seed=0, input_scale=1.0, recurrent_scale=0.5):
        """Seeded initialiser: the z bias is ``logit(r)`` with ``r`` drawn from ``spectrum``.

        With ``Chrono`` the z bias is ``log U(1, t_max - 1)``.
        """
        rng, H, wih, whh, bih, bhh = cls._init_arrays(
            hidden, inputs, seed, input_scale, recurrent_scale
        )
        if isinstance(spectrum, Chrono):
            bih[H : 2 * H] = spectrum.sample_bias(H, rng)
        else:
            bih[H : 2 * H] = retention_logit(sample_retention(spectrum, H, rng))
        return cls(wih, whh, bih, bhh)

    def forward(self, x, h0=None) -> Trajectory:
        """Run the numba forward pass on ``x`` (B, T, D); ``h0`` (B, H) or (H,)."""
        x = self.check_inputs(x)
        B, T, _ = x.shape
        H = self.hidden
        h = np.empty((B, T + 1, H))
        h[:, 0] = self._initial("h0", h0, B)
        r, z, n, hn = (np.empty((B, T, H)) for _ in range(4))
        kernels.gru_forward(self._xi(x), self.weight_hh, self.bias_hh, h, r, z, n, hn)
        return Trajectory(h=h, gates={"r": r, "z": z, "n": n, "hn": hn})

    def forward_reference(self, x, h0=None) -> Trajectory:
        """NumPy reference of :meth:`forward`."""
        x = self.check_inputs(x)
        B, T, _ = x.shape
        H = self.hidden
        xi = self._xi(x)
        h = np.empty((B, T + 1, H))
        h[:, 0] = self._initial("h0", h0, B)
        r, z, n, hn = (np.empty((B, T, H)) for _ in range(4))
        for t in range(T):
            hh = h[:, t] @ self.weight_hh.T + self.bias_hh
            r[:, t] = _sigmoid(xi[:, t, :H] + hh[:, :H])
            z[:, t] = _sigmoid(xi[:, t, H : 2 * H] + hh[:, H : 2 * H])
            hn[:, t] = hh[:, 2 * H :]
            n[:, t] = np.tanh(xi[:, t, 2 * H :] + r[:, t] * hn[:, t])
            h[:, t + 1] = (1.0 - z[:, t]) * n[:, t] + z[:, t] * h[:, t]
        return Trajectory(h=h, gates={"r": r, "z": z, "n": n, "hn": hn})

    def step(self, x_t, state) -> np.ndarray:
        """One GRUCell step for inputs (B, D) and states (B, H)."""
        H = self.hidden
        xi = x_t @ self.weight_ih.T + self.bias_ih
        hh = state @ self.weight_hh.T + self.bias_hh
        r = _sigmoid(xi[:, :H] + hh[:, :H])
        z = _sigmoid(xi[:, H : 2 * H] + hh[:, H : 2 * H])
        n = np.tanh(xi[:, 2 * H :] + r * hh[:, 2 * H :])
        return (1.0 - z) * n + z * state

    def _coeffs(self, traj):
        g = traj.gates
        r, z, n, hn = g["r"], g["z"], g["n"], g["hn"]
        hp = traj.h[:, :-1]
        a = (1.0 - z) * (1.0 - n * n)
        return z, a * r, a * hn * r * (1.0 - r), (hp - n) * z * (1.0 - z)

    def retention_and_correction(self, traj: Trajectory):
        """Retention ``z`` (PyTorch's) and ``d = [J]_qq - z``."""
        z, cn, cr, cz = self._coeffs(traj)
        w = self.weight_hh
        d = (
            cn * np.diag(self.block(w, "n"))
            + cr * np.diag(self.block(w, "r"))
            + cz * np.diag(self.block(w, "z"))
        )
        return z, d

    def jacobians(self, traj: Trajectory) -> np.ndarray:
        """Full ``dh'/dh = diag(z) + diag(cn) W_hn + diag(cr) W_hr + diag(cz) W_hz``."""
        z, cn, cr, cz = self._coeffs(traj)
        w = self.weight_hh
        jac = (
            cn[..., None] * self.block(w, "n")
            + cr[..., None] * self.block(w, "r")
            + cz[..., None] * self.block(w, "z")
        )
        idx = np.arange(self.hidden)
        jac[..., idx, idx] += z
        return jac


class LSTM(_TorchLayout):
    """PyTorch's LSTM cell (gate order i, f, g, o); transport of the cell, retention ``f``.

    Construct with :meth:`from_torch`, :meth:`from_npz` or :meth:`init`.  The state used by
    :meth:`step` and :meth:`jacobians` is ``[h, c]`` (2H).
    """

    kind = "lstm"
    gate_names = "ifgo"

    @property
    def state_size(self) -> int:  # noqa: D102
        return 2 * self.hidden

    @classmethod
    def init(cls, hidden, inputs, spectrum, seed=0, input_scale=1.0, recurrent_scale=0.5):
        """Seeded initialiser: the forget bias is ``logit(r)``, ``r`` drawn from ``spectrum``.

        With ``Chrono`` the forget bias is ``log U(1, t_max - 1)`` and the input bias its
        negative, as in Tallec & Ollivier.
        """
        rng, H, wih, whh, bih, bhh = cls._init_arrays(
            hidden, inputs, seed, input_scale, recurrent_scale
        )
        if isinstance(spectrum, Chrono):
            bf = spectrum.sample_bias(H, rng)
            bih[:H] = -bf
        else:
            bf = retention_logit(sample_retention(spectrum, H, rng))
        bih[H : 2 * H] = bf
        return cls(wih, whh, bih, bhh)

    def forward(self, x, h0=None, c0=None) -> Trajectory:
        """Run the numba forward pass on ``x`` (B, T, D); initial ``h0``, ``c0`` (B, H)."""
        x = self.check_inputs(x)
        B, T, _ = x.shape
        H = self.hidden
        h = np.empty((B, T + 1, H))
        c = np.empty((B, T + 1, H))
        h[:, 0] = self._initial("h0", h0, B)
        c[:, 0] = self._initial("c0", c0, B)
        i, f, g, o = (np.empty((B, T, H)) for _ in range(4))
        kernels.lstm_forward(self._xi(x), self.weight_hh, self.bias_hh, h, c, i, f, g, o)
        return Trajectory(h=h, c=c, gates={"i": i, "f": f, "g": g, "o": o})

    def forward_reference(self, x, h0=None, c0=None) -> Trajectory:
        """NumPy reference of :meth:`forward`."""
        x = self.check_inputs(x)
        B, T, _ = x.shape
        H = self.hidden
        xi = self._xi(x)
        h = np.empty((B, T + 1, H))
        c = np.empty((B, T + 1, H))
        h[:, 0] = self._initial("h0", h0, B)
        c[:, 0] = self._initial("c0", c0, B)
        i, f, g, o = (np.empty((B, T, H)) for _ in range(4))
        for t in range(T):
            pre = xi[:, t] + h[:, t] @ self.weight_hh.T + self.bias_hh
            i[:, t] = _sigmoid(pre[:, :H])
            f[:, t] = _sigmoid(pre[:, H : 2 * H])
            g[:, t] = np.tanh(pre[:, 2 * H : 3 * H])
            o[:, t] = _sigmoid(pre[:, 3 * H :])
            c[:, t + 1] = f[:, t] * c[:, t] + i[:, t] * g[:, t]
            h[:, t + 1] = o[:, t] * np.tanh(c[:, t + 1])
        return Trajectory(h=h, c=c, gates={"i": i, "f": f, "g": g, "o": o})

    def step(self, x_t, state) -> np.ndarray:
        """One LSTMCell step for inputs (B, D) and states ``[h, c]`` (B, 2H)."""
        H = self.hidden
        hp, cp = state[:, :H], state[:, H:]
        pre = x_t @ self.weight_ih.T + self.bias_ih + hp @ self.weight_hh.T + self.bias_hh
        i, f = _sigmoid(pre[:, :H]), _sigmoid(pre[:, H : 2 * H])
        g, o = np.tanh(pre[:, 2 * H : 3 * H]), _sigmoid(pre[:, 3 * H :])
        c = f * cp + i * g
        return np.concatenate([o * np.tanh(c), c], axis=1)

    def _cell_from_h(self, traj):
        """Coefficients of ``dc_t/dh_{t-1} = diag(kf) W_hf + diag(ki) W_hi + diag(kg) W_hg``."""
        i, f, g = traj.gates["i"], traj.gates["f"], traj.gates["g"]
        cp = traj.c[:, :-1]
        return cp * f * (1.0 - f), g * i * (1.0 - i), i * (1.0 - g * g)

    def lift(self, traj: Trajectory) -> np.ndarray:
        """``e_t = o_t (1 - tanh^2 c_t) = dh_t/dc_t`` for positions 0..T (``e_0 = 0``)."""
        e = np.zeros_like(traj.c)
        e[:, 1:] = traj.gates["o"] * (1.0 - np.tanh(traj.c[:, 1:]) ** 2)
        return e

    def retention_and_correction(self, traj: Trajectory):
        """Retention ``f`` and ``d_j = e_{j-1} [dc_j/dh_{j-1}]_qq``."""
        w = self.weight_hh
        kf, ki, kg = self._cell_from_h(traj)
        diag_c = (
            kf * np.diag(self.block(w, "f"))
            + ki * np.diag(self.block(w, "i"))
            + kg * np.diag(self.block(w, "g"))
        )
        return traj.gates["f"], self.lift(traj)[:, :-1] * diag_c

    def jacobians(self, traj: Trajectory) -> np.ndarray:
        """Full Jacobians of ``[h, c] -> [h', c']``, shape (B, T, 2H, 2H)."""
        H = self.hidden
        w = self.weight_hh
        o, f = traj.gates["o"], traj.gates["f"]
        kf, ki, kg = self._cell_from_h(traj)
        dc_dh = (
            kf[..., None] * self.block(w, "f")
            + ki[..., None] * self.block(w, "i")
            + kg[..., None] * self.block(w, "g")
        )
        tc = np.tanh(traj.c[:, 1:])
        e = o * (1.0 - tc * tc)
        B, T = o.shape[:2]
        jac = np.zeros((B, T, 2 * H, 2 * H))
        idx = np.arange(H)
        jac[..., :H, :H] = (tc * o * (1.0 - o))[..., None] * self.block(w, "o")
        jac[..., :H, :H] += e[..., None] * dc_dh
        jac[..., idx, H + idx] = e * f
        jac[..., H:, :H] = dc_dh
        jac[..., H + idx, H + idx] = f
        return jac
