"""The trained networks: GRU, LSTM, ConstGate and DiagGate in torch, matching our cells.

Every network is a recurrence followed by a scalar linear read-out, ``y_hat_t = w^T h_t + b``.

* GRU and LSTM are ``torch.nn.GRU`` / ``torch.nn.LSTM`` (fast fused kernels for training);
  their one-layer weights are the PyTorch layout that :class:`verify.recurrences.GRU` and
  :class:`~verify.recurrences.LSTM` read.
* ConstGate and DiagGate are written here, step by step, as in :mod:`verify.recurrences`.

All four also have a *functional* forward (:func:`run_states`) of a parameter dictionary with
canonical names (``weight_ih, weight_hh, bias_ih, bias_hh`` or ``w_x, w_h, b, w_s, u_s,
b_s``), used for per-sequence gradients (``torch.func.vmap``/``grad``) and forward-mode
Jacobian-vector products, and tested against ``torch.nn`` and our NumPy cells.

Initial weights are drawn by our seeded initialisers (``rec.<Cell>.init``), so that the
gate biases realise a chosen gate spectrum (homogeneous, Beta, chrono, ...).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from verify import recurrences as rec

__all__ = ["ARCHS", "Model", "run_states"]

#: Architectures and their cell classes in :mod:`verify.recurrences`.
ARCHS = {"constgate": rec.ConstGate, "diaggate": rec.DiagGate, "gru": rec.GRU, "lstm": rec.LSTM}

_TORCH_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
_GATED_KEYS = {
    "constgate": ("w_x", "w_h", "b"),
    "diaggate": ("w_x", "w_h", "b", "w_s", "u_s", "b_s"),
}
#: Recurrent weights whose Adam second moments give the per-unit rates (rows per unit).
RECURRENT = {
    "gru": ("weight_hh",),
    "lstm": ("weight_hh",),
    "constgate": ("w_h",),
    "diaggate": ("w_h", "u_s"),
}


def _check_arch(arch: str) -> str:
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {sorted(ARCHS)}, got {arch!r}")
    return arch


def _gru_step(p, xi_t, h):
    H = h.shape[-1]
    gh = h @ p["weight_hh"].T + p["bias_hh"]
    r = torch.sigmoid(xi_t[..., :H] + gh[..., :H])
    z = torch.sigmoid(xi_t[..., H : 2 * H] + gh[..., H : 2 * H])
    n = torch.tanh(xi_t[..., 2 * H :] + r * gh[..., 2 * H :])
    return (1.0 - z) * n + z * h


def _lstm_step(p, xi_t, state):
    h, c = state
    H = h.shape[-1]
    pre = xi_t + h @ p["weight_hh"].T + p["bias_hh"]
    i = torch.sigmoid(pre[..., :H])
    f = torch.sigmoid(pre[..., H : 2 * H])
    g = torch.tanh(pre[..., 2 * H : 3 * H])
    o = torch.sigmoid(pre[..., 3 * H :])
    c = f * c + i * g
    return o * torch.tanh(c), c


def _gated_step(p, xi_t, h, s_const):
    xa, xs = xi_t
    u = torch.tanh(xa + h @ p["w_h"].T)
    s = s_const if s_const is not None else torch.sigmoid(xs + h @ p["u_s"].T)
    return (1.0 - s) * h + s * u


def _input_part(arch, p, x):
    """Input projections of all positions at once (they do not depend on the state)."""
    if arch in ("gru", "lstm"):
        return x @ p["weight_ih"].T + p["bias_ih"]
    xa = x @ p["w_x"].T + p["b"]
    xs = x @ p["w_s"].T + p["b_s"] if arch == "diaggate" else None
    return xa, xs


def run_states(arch, params, x, s_const=None, inject=None):
    """Functional forward: hidden states ``h_1..h_T``, shape (B, T, H).

    Parameters
    ----------
    arch : {"constgate", "diaggate", "gru", "lstm"}
    params : dict of Tensor
        Canonical parameter names (module docstring).
    x : Tensor, shape (B, T, D)
    s_const : float, optional
        The fixed gate of ConstGate.
    inject : tuple (int, dict), optional
        ``(s0, delta)``: at step ``s0`` (0-based, the step driven by ``x[:, s0]``) the
        recurrence uses ``params + delta`` -- a parameter perturbation at one position, whose
        forward-mode derivative is the lag-resolved gradient direction of the psi pipeline.
    """
    arch = _check_arch(arch)
    if arch == "constgate" and s_const is None:
        raise ValueError("s_const (the fixed gate of ConstGate) is required for arch='constgate'")
    B, T, _ = x.shape
    H = params["weight_hh" if arch in ("gru", "lstm") else "w_h"].shape[-1]
    xi = _input_part(arch, params, x)
    h = x.new_zeros((B, H))
    c = x.new_zeros((B, H))
    out = []
    for t in range(T):
        p = params
        if inject is not None and t == inject[0]:
            p = {k: v + inject[1][k] if k in inject[1] else v for k, v in params.items()}
            xt = _input_part(arch, p, x[:, t])
        elif arch in ("gru", "lstm"):
            xt = xi[:, t]
        else:
            xt = (xi[0][:, t], None if xi[1] is None else xi[1][:, t])
        if arch == "gru":
            h = _gru_step(p, xt, h)
        elif arch == "lstm":
            h, c = _lstm_step(p, xt, (h, c))
        else:
            h = _gated_step(p, xt, h, s_const)
        out.append(h)
    return torch.stack(out, dim=1)


def readout(params, states):
    """``y_hat = states @ w + b``, shape (B, T)."""
    return (states @ params["readout_w"].T + params["readout_b"]).squeeze(-1)


class Model(nn.Module):
    """A gated recurrence with a scalar read-out, initialised by our seeded initialisers.

    Parameters
    ----------
    arch : {"constgate", "diaggate", "gru", "lstm"}
    hidden, inputs : int
    spectrum : gate spectrum
        Passed to ``rec.<Cell>.init`` (e.g. ``rec.make_spectrum("beta", a=8, b=1)``).
    seed : int
        Seed of the weights.
    dtype : torch.dtype
        ``torch.float64`` (default) or ``torch.float32``.
    """

    def __init__(self, arch, hidden, inputs, spectrum, seed=0, dtype=torch.float64):
        super().__init__()
        self.arch = _check_arch(arch)
        cell = ARCHS[arch].init(hidden, inputs, spectrum, seed=seed)
        self.hidden, self.inputs = int(hidden), int(inputs)
        self.s_const = None
        if arch in ("gru", "lstm"):
            cls = nn.GRU if arch == "gru" else nn.LSTM
            self.rnn = cls(inputs, hidden, batch_first=True, dtype=dtype)
            with torch.no_grad():
                for k in _TORCH_KEYS:
                    getattr(self.rnn, f"{k}_l0").copy_(torch.as_tensor(getattr(cell, k)))
        else:
            self.rnn = nn.ParameterDict(
                {
                    k: nn.Parameter(torch.as_tensor(getattr(cell, k), dtype=dtype))
                    for k in _GATED_KEYS[arch]
                }
            )
            if arch == "constgate":
                self.s_const = float(cell.s_const)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(7,)))
        w = 0.1 * rng.standard_normal((1, hidden)) / np.sqrt(hidden)
        self.readout_w = nn.Parameter(torch.as_tensor(w, dtype=dtype))
        self.readout_b = nn.Parameter(torch.zeros(1, dtype=dtype))

    def canonical(self) -> dict:
        """The parameters under canonical names (the same tensors, not copies)."""
        if self.arch in ("gru", "lstm"):
            p = {k: getattr(self.rnn, f"{k}_l0") for k in _TORCH_KEYS}
        else:
            p = dict(self.rnn.items())
        p["readout_w"], p["readout_b"] = self.readout_w, self.readout_b
        return p

    def states(self, x):
        """Hidden states (B, T, H) for inputs (B, T, D)."""
        if self.arch in ("gru", "lstm"):
            return self.rnn(x)[0]
        return run_states(self.arch, self.canonical(), x, s_const=self.s_const)

    def forward(self, x):
        """Outputs ``y_hat`` (B, T) for inputs (B, T, D)."""
        return readout(self.canonical(), self.states(x))

    def arrays(self) -> dict:
        """Float64 NumPy copies of the canonical parameters (plus ``s`` for ConstGate)."""
        out = {
            k: v.detach().to(torch.float64).cpu().numpy().copy()
            for k, v in self.canonical().items()
        }
        if self.s_const is not None:
            out["s"] = np.array(self.s_const)
        return out

    def to_cell(self):
        """The network's recurrence as a :mod:`verify.recurrences` cell (float64)."""
        return cell_from_arrays(self.arch, self.arrays())


def cell_from_arrays(arch, arrays):
    """Build our NumPy cell from canonical arrays (as returned by :meth:`Model.arrays`)."""
    arch = _check_arch(arch)
    if arch in ("gru", "lstm"):
        return ARCHS[arch].from_torch(*(arrays[k] for k in _TORCH_KEYS))
    if arch == "constgate":
        return rec.ConstGate(arrays["w_x"], arrays["w_h"], arrays["b"], float(arrays["s"]))
    return rec.DiagGate(*(arrays[k] for k in _GATED_KEYS["diaggate"]))
