"""Mamba's selective scan (S6) inside its mixer, as ``transformers``' ``MambaMixer``.

For inputs ``x`` (width ``M``), ``E`` inner channels, ``N`` states per channel::

    [u~; z] = in_proj(x)                       u = silu(causal depthwise conv(u~))
    [dt~; B; C] = x_proj(u)                    delta = softplus(dt_proj(dt~))     (E,)
    h_t[e, n] = exp(delta_t[e] A[e, n]) h_{t-1}[e, n] + delta_t[e] B_t[n] u_t[e]
    y_t[e] = sum_n C_t[n] h_t[e, n] + D[e] u_t[e],    out = out_proj(y * silu(z))

with ``A = -exp(A_log)``.  The state has ``S = E N`` units, unit ``q = e N + n``; its
retention is ``exp(delta_t[e] A[e, n])``.  Everything before the scan (projections, the
causal convolution) depends on the inputs only, so the transport through the state is
exactly the product of these retentions.

Weights as the module names them: ``in_proj.weight`` (2E, M), ``conv1d.weight`` (E, 1, K),
``conv1d.bias`` (E,), ``x_proj.weight`` (R + 2N, E), ``dt_proj.weight`` (E, R),
``dt_proj.bias`` (E,), ``A_log`` (E, N), ``D`` (E,), ``out_proj.weight`` (M, E);
``in_proj.bias`` and ``out_proj.bias`` where ``use_bias``.  The activation is SiLU
(``MambaConfig``'s ``hidden_act`` default; a state dict does not record it).
"""

from __future__ import annotations

import math

import numpy as np

from theory._validate import check_finite_array, check_in_range, check_int

from .cells import check_shape, sigmoid
from .diagonal import DiagonalRecurrence, softplus

__all__ = ["Mamba"]


def silu(v):
    """``v sigmoid(v)``."""
    return v * sigmoid(v)


def _optional(name, v, shape, labels):
    return None if v is None else check_shape(name, v, shape, labels)


class Mamba(DiagonalRecurrence):
    """The Mamba mixer with its selective scan (see the module docstring)."""

    kind = "mamba"
    REQUIRED = ("in_proj.weight", "conv1d.weight", "x_proj.weight", "dt_proj.weight",
                "dt_proj.bias", "A_log", "D", "out_proj.weight")  # fmt: skip
    OPTIONAL = ("in_proj.bias", "conv1d.bias", "out_proj.bias")

    def __init__(self, arrays: dict):
        a_log = check_finite_array("A_log", arrays["A_log"], ndim=2)
        E, N = a_log.shape
        w_in = check_finite_array("in_proj.weight", arrays["in_proj.weight"], ndim=2)
        if E < 1 or N < 1 or w_in.shape[0] != 2 * E or w_in.shape[1] < 1:
            raise ValueError(
                f"in_proj.weight must have shape (2E, M) = ({2 * E}, M) for A_log of shape "
                f"(E, N) = {a_log.shape}, got {w_in.shape}"
            )
        M = w_in.shape[1]
        conv = check_finite_array("conv1d.weight", arrays["conv1d.weight"], ndim=3)
        if conv.shape[:2] != (E, 1) or conv.shape[2] < 1:
            raise ValueError(f"conv1d.weight must have shape (E, 1, K) = ({E}, 1, K), "
                             f"got {conv.shape}")  # fmt: skip
        w_dt = check_finite_array("dt_proj.weight", arrays["dt_proj.weight"], ndim=2)
        if w_dt.shape[0] != E or w_dt.shape[1] < 1:
            raise ValueError(f"dt_proj.weight must have shape (E, R) = ({E}, R), got {w_dt.shape}")
        R = w_dt.shape[1]
        self.channels, self.states, self.rank, self.width = E, N, R, M
        self.hidden, self.inputs = E * N, M
        self.A_log = a_log
        self.in_proj_weight = w_in
        self.in_proj_bias = _optional("in_proj.bias", arrays.get("in_proj.bias"), (2 * E,),
                                      "(2E,)")  # fmt: skip
        self.conv_weight = conv[:, 0, :]
        self.conv_bias = _optional("conv1d.bias", arrays.get("conv1d.bias"), (E,), "(E,)")
        self.x_proj_weight = check_shape("x_proj.weight", arrays["x_proj.weight"],
                                         (R + 2 * N, E), "(R + 2N, E)")  # fmt: skip
        self.dt_proj_weight = w_dt
        self.dt_proj_bias = check_shape("dt_proj.bias", arrays["dt_proj.bias"], (E,), "(E,)")
        self.D = check_shape("D", arrays["D"], (E,), "(E,)")
        self.out_proj_weight = check_shape("out_proj.weight", arrays["out_proj.weight"],
                                           (M, E), "(M, E)")  # fmt: skip
        self.out_proj_bias = _optional("out_proj.bias", arrays.get("out_proj.bias"), (M,), "(M,)")

    @classmethod
    def from_state_dict(cls, arrays: dict):
        """Build from the mixer's state dict (keys without prefix, as NumPy arrays)."""
        return cls(arrays)

    @classmethod
    def init(cls, width, channels=None, states=16, rank=None, conv=4, seed=0, dt_min=1e-3,
             dt_max=1e-1, dt_scale=1.0, a_scale=1.0):  # fmt: skip
        """A fresh mixer as ``transformers`` initialises it (``MambaMixer.init_mamba_weights``).

        ``A[e, n] = -n`` (S4D-real; ``a_scale`` multiplies it), ``delta``'s bias
        ``softplus^{-1}(dt)`` with ``dt`` log-uniform on ``[dt_min, dt_max]``, ``dt_proj``'s
        weight ``U(-dt_scale / sqrt(R), dt_scale / sqrt(R))`` (``dt_scale = 0``: ``delta``
        does not depend on the input), ``D = 1``, the other weights as ``torch.nn``'s
        defaults (``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``).  Defaults: ``E = 2 width``,
        ``R = ceil(width / 16)``, as ``MambaConfig``.
        """
        M = check_int("width", width, lo=1)
        E = 2 * M if channels is None else check_int("channels", channels, lo=1)
        N = check_int("states", states, lo=1)
        R = math.ceil(M / 16) if rank is None else check_int("rank", rank, lo=1)
        K = check_int("conv", conv, lo=1)
        lo = check_in_range("dt_min", dt_min, 0.0, math.inf, lo_open=True)
        hi = check_in_range("dt_max", dt_max, lo, math.inf, lo_open=True)
        scale = check_in_range("dt_scale", dt_scale, 0.0, math.inf)
        a_scale = check_in_range("a_scale", a_scale, 0.0, math.inf, lo_open=True)
        rng = np.random.default_rng(seed)

        def lin(fan_out, fan_in):
            b = 1.0 / math.sqrt(fan_in)
            return rng.uniform(-b, b, size=(fan_out, fan_in))

        dt = np.exp(rng.uniform(math.log(lo), math.log(hi), size=E))
        arrays = {
            "in_proj.weight": lin(2 * E, M),
            "conv1d.weight": lin(E, K)[:, None, :],
            "conv1d.bias": rng.uniform(-1 / math.sqrt(K), 1 / math.sqrt(K), size=E),
            "x_proj.weight": lin(R + 2 * N, E),
            "dt_proj.weight": rng.uniform(-1.0, 1.0, size=(E, R)) * scale / math.sqrt(R),
            "dt_proj.bias": dt + np.log(-np.expm1(-dt)),
            "A_log": np.log(a_scale * np.broadcast_to(np.arange(1.0, N + 1), (E, N))),
            "D": np.ones(E),
            "out_proj.weight": lin(M, E),
        }
        return cls(arrays)

    # -- the mixer ------------------------------------------------------------------
    def frontend(self, x):
        """``(u, z)``, each (B, T, E): the scan's input after the causal conv, and the gate."""
        xz = x @ self.in_proj_weight.T
        if self.in_proj_bias is not None:
            xz = xz + self.in_proj_bias
        E = self.channels
        pre, z = xz[..., :E], xz[..., E:]
        K = self.conv_weight.shape[1]
        T = x.shape[1]
        padded = np.concatenate([np.zeros((x.shape[0], K - 1, E)), pre], axis=1)
        conv = np.zeros_like(pre)
        for k in range(K):  # out_t = sum_k w[k] pre_{t - (K - 1) + k}
            conv += self.conv_weight[:, k] * padded[:, k : k + T]
        if self.conv_bias is not None:
            conv = conv + self.conv_bias
        return silu(conv), z

    def coefficients(self, x):
        """``a[q] = exp(delta[e] A[e, n])``, ``b[q] = delta[e] B[n] u[e]`` for ``q = e N + n``.

        Extras: ``u``, ``z``, ``delta`` (B, T, E) and ``C`` (B, T, N), for :meth:`outputs`.
        """
        u, z = self.frontend(x)
        R, N = self.rank, self.states
        proj = u @ self.x_proj_weight.T
        dt_low, Bm, Cm = proj[..., :R], proj[..., R : R + N], proj[..., R + N :]
        delta = softplus(dt_low @ self.dt_proj_weight.T + self.dt_proj_bias)
        A = -np.exp(self.A_log)
        Bt, T = x.shape[:2]
        a = np.exp(delta[..., :, None] * A).reshape(Bt, T, self.hidden)
        b = ((delta * u)[..., :, None] * Bm[..., None, :]).reshape(Bt, T, self.hidden)
        return a, b, {"u": u, "z": z, "delta": delta, "C": Cm}

    def step(self, x_t, state) -> np.ndarray:
        """One step; defined only for a convolution of width 1 (else it needs past inputs)."""
        if self.conv_weight.shape[1] != 1:
            raise ValueError(
                f"Mamba.step needs conv width 1, got {self.conv_weight.shape[1]}: the causal "
                "convolution reads past inputs; run forward on the whole sequence"
            )
        return super().step(x_t, state)

    def outputs(self, traj) -> np.ndarray:
        """The mixer's output (B, T, M): ``out_proj((C h + D u) * silu(z))``."""
        g = traj.gates
        B, T = g["u"].shape[:2]
        h = traj.h[:, 1:].reshape(B, T, self.channels, self.states)
        y = np.einsum("bten,btn->bte", h, g["C"]) + self.D * g["u"]
        out = (y * silu(g["z"])) @ self.out_proj_weight.T
        return out if self.out_proj_bias is None else out + self.out_proj_bias
