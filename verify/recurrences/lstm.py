"""The LSTM on PyTorch's weight layout (``LSTMCell``; gate order i, f, g, o).

``c' = f c + i g``, ``h' = o tanh(c')``.
The state is ``(h, c)``, with full ``2H x 2H`` Jacobians.  The transported quantity is the
cell: ``dc_t / dc_{t-l}``, where the source perturbation of ``c_{t-l}`` also moves
``h_{t-l} = o tanh(c_{t-l})`` (the total derivative that multiplies the cell's parameter
sensitivities in backpropagation through time).  Its retention is the forget gate ``f``; its
first-order correction is ``d_j = e_{j-1} [dc_j/dh_{j-1}]_qq`` with
``e = o (1 - tanh^2 c) = dh/dc``, and ``e_0 = 0`` (the initial ``h_0`` is given).
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .cells import Trajectory, sigmoid
from .init import Chrono, retention_logit, sample_retention
from .torch_layout import TorchLayout

__all__ = ["LSTM"]


class LSTM(TorchLayout):
    """PyTorch's LSTM cell (gate order i, f, g, o); transport of the cell, retention ``f``.

    Construct with :meth:`from_torch`, :meth:`from_npz` or :meth:`init`.  The state used by
    :meth:`step` and :meth:`jacobians` is ``[h, c]`` (2H).
    """

    kind = "lstm"
    gate_names = "ifgo"
    _factor_kernel = staticmethod(kernels.lstm_factors)
    _factor_blocks = "ifg"
    _factor_extra_states = 1  # c0

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
            i[:, t] = sigmoid(pre[:, :H])
            f[:, t] = sigmoid(pre[:, H : 2 * H])
            g[:, t] = np.tanh(pre[:, 2 * H : 3 * H])
            o[:, t] = sigmoid(pre[:, 3 * H :])
            c[:, t + 1] = f[:, t] * c[:, t] + i[:, t] * g[:, t]
            h[:, t + 1] = o[:, t] * np.tanh(c[:, t + 1])
        return Trajectory(h=h, c=c, gates={"i": i, "f": f, "g": g, "o": o})

    def step(self, x_t, state) -> np.ndarray:
        """One LSTMCell step for inputs (B, D) and states ``[h, c]`` (B, 2H)."""
        H = self.hidden
        hp, cp = state[:, :H], state[:, H:]
        pre = x_t @ self.weight_ih.T + self.bias_ih + hp @ self.weight_hh.T + self.bias_hh
        i, f = sigmoid(pre[:, :H]), sigmoid(pre[:, H : 2 * H])
        g, o = np.tanh(pre[:, 2 * H : 3 * H]), sigmoid(pre[:, 3 * H :])
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
