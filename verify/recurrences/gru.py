"""The GRU on PyTorch's weight layout (``GRUCell``; gate order r, z, n).

::

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h

so PyTorch's ``z`` is the *retention*: THEORY's update gate is ``s = 1 - z_torch`` and its
retention ``1 - s`` is ``z_torch``.  THEORY's reset gate is PyTorch's ``r``.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .cells import Trajectory, sigmoid
from .init import Chrono, retention_logit, sample_retention
from .torch_layout import TorchLayout

__all__ = ["GRU"]


class GRU(TorchLayout):
    """PyTorch's GRU cell (gate order r, z, n); retention is PyTorch's ``z``.

    Construct with :meth:`from_torch`, :meth:`from_npz` or :meth:`init`.
    """

    kind = "gru"
    gate_names = "rzn"
    _factor_kernel = staticmethod(kernels.gru_factors)
    _factor_blocks = "rzn"

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
            r[:, t] = sigmoid(xi[:, t, :H] + hh[:, :H])
            z[:, t] = sigmoid(xi[:, t, H : 2 * H] + hh[:, H : 2 * H])
            hn[:, t] = hh[:, 2 * H :]
            n[:, t] = np.tanh(xi[:, t, 2 * H :] + r[:, t] * hn[:, t])
            h[:, t + 1] = (1.0 - z[:, t]) * n[:, t] + z[:, t] * h[:, t]
        return Trajectory(h=h, gates={"r": r, "z": z, "n": n, "hn": hn})

    def step(self, x_t, state) -> np.ndarray:
        """One GRUCell step for inputs (B, D) and states (B, H)."""
        H = self.hidden
        xi = x_t @ self.weight_ih.T + self.bias_ih
        hh = state @ self.weight_hh.T + self.bias_hh
        r = sigmoid(xi[:, :H] + hh[:, :H])
        z = sigmoid(xi[:, H : 2 * H] + hh[:, H : 2 * H])
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
