"""The RG-LRU of Griffin and Hawk (De et al. 2024), as RecurrentGemma's ``RecurrentGemmaRglru``.

For inputs ``x`` of width ``H`` split into ``heads`` blocks (block-diagonal gate weights)::

    r_t = sigmoid(x_t W_a + b_a),  i_t = sigmoid(x_t W_x + b_x)        (per block)
    log a_t = -c r_t softplus(Lambda)                                   (c = 8)
    h_t = a_t h_{t-1} + sqrt(1 - a_t**2) (i_t x_t)

so the retention is ``a_t = a**(c r_t)`` with ``a = exp(-softplus(Lambda))``.  Weights as the
module names them: ``recurrent_param`` (H,), ``input_gate_weight`` and
``recurrent_gate_weight`` (heads, H/heads, H/heads), ``input_gate_bias`` and
``recurrent_gate_bias`` (heads, H/heads).

The module resets the state where ``position_ids == 0`` (a document boundary: nothing is
transported across it, and the first input is not normalised).  This cell is the layer
away from a boundary: positions ``1..T`` continue a document from the state ``h_0``.
"""

from __future__ import annotations

import numpy as np

from theory._validate import check_finite_array, check_in_range, check_int, check_positive

from .cells import check_shape, sigmoid
from .diagonal import DiagonalRecurrence, softplus

__all__ = ["RGLRU", "RGLRU_C"]

#: The constant ``c`` of ``a_t = a**(c r_t)`` (fixed in Griffin and in RecurrentGemma).
RGLRU_C = 8.0


class RGLRU(DiagonalRecurrence):
    """RecurrentGemma's RG-LRU layer (see the module docstring)."""

    kind = "rglru"

    def __init__(self, recurrent_param, input_gate_weight, input_gate_bias,
                 recurrent_gate_weight, recurrent_gate_bias, c=RGLRU_C):  # fmt: skip
        lam = check_finite_array("recurrent_param", recurrent_param, ndim=1)
        wa = check_finite_array("recurrent_gate_weight", recurrent_gate_weight, ndim=3)
        nh, bw = wa.shape[0], wa.shape[1]
        if nh < 1 or bw < 1 or wa.shape[2] != bw or lam.shape != (nh * bw,):
            raise ValueError(
                "recurrent_gate_weight must have shape (heads, H/heads, H/heads) and "
                f"recurrent_param (H,), got {wa.shape} and {lam.shape}"
            )
        self.heads, self.block = nh, bw
        self.hidden = self.inputs = nh * bw
        self.recurrent_param = lam
        self.recurrent_gate_weight = wa
        self.input_gate_weight = check_shape(
            "input_gate_weight", input_gate_weight, (nh, bw, bw), "(heads, H/heads, H/heads)"
        )
        self.input_gate_bias = check_shape(
            "input_gate_bias", input_gate_bias, (nh, bw), "(heads, H/heads)"
        )
        self.recurrent_gate_bias = check_shape(
            "recurrent_gate_bias", recurrent_gate_bias, (nh, bw), "(heads, H/heads)"
        )
        self.c = check_positive("c", c)

    KEYS = ("recurrent_param", "input_gate_weight", "input_gate_bias",
            "recurrent_gate_weight", "recurrent_gate_bias")  # fmt: skip

    @classmethod
    def from_state_dict(cls, arrays: dict):
        """Build from the module's state dict (keys without prefix, as NumPy arrays)."""
        return cls(*(arrays[k] for k in cls.KEYS))

    @classmethod
    def init(cls, hidden, heads=1, seed=0, min_rad=0.9, max_rad=0.999, w_init_variance_scale=0.01,
             gate=None):  # fmt: skip
        """A fresh layer as RecurrentGemma initialises it.

        ``a**2`` uniform on ``[min_rad**2, max_rad**2]`` (``a = exp(-softplus(Lambda))``, the
        ring-area law of the LRU), gate weights ``N(0, w_init_variance_scale / (H/heads))``,
        gate biases zero.

        Parameters
        ----------
        gate : float in (0, 1), optional
            Hold the recurrence gate at ``r_t = gate`` (zero recurrent-gate weights, bias
            ``logit(gate)``): the retention is then ``a**(c gate)`` exactly.
        """
        hidden = check_int("hidden", hidden, lo=1)
        heads = check_int("heads", heads, lo=1)
        if hidden % heads:
            raise ValueError(f"hidden must be a multiple of heads = {heads}, got {hidden}")
        lo = check_in_range("min_rad", min_rad, 0.0, 1.0, lo_open=True, hi_open=True)
        hi = check_in_range("max_rad", max_rad, lo, 1.0, lo_open=True, hi_open=True)
        scale = check_positive("w_init_variance_scale", w_init_variance_scale)
        rng = np.random.default_rng(seed)
        bw = hidden // heads
        std = np.sqrt(scale / bw)
        wx = rng.normal(0.0, std, size=(heads, bw, bw))
        wa = rng.normal(0.0, std, size=(heads, bw, bw))
        sq = rng.uniform(lo**2, hi**2, size=hidden)
        # softplus(Lambda) = -log(a) = -log(a**2) / 2, Lambda = softplus^{-1}(that)
        sp_val = -0.5 * np.log(sq)
        lam = np.log(np.expm1(sp_val))
        ba = np.zeros((heads, bw))
        if gate is not None:
            g = check_in_range("gate", gate, 0.0, 1.0, lo_open=True, hi_open=True)
            wa = np.zeros_like(wa)
            ba = np.full((heads, bw), np.log(g) - np.log1p(-g))
        return cls(lam, wx, np.zeros((heads, bw)), wa, ba)

    def _blocks(self, x, w, bias):
        B, T, _ = x.shape
        xb = x.reshape(B, T, self.heads, self.block)
        return (np.einsum("bthi,hij->bthj", xb, w) + bias).reshape(B, T, self.hidden)

    def coefficients(self, x):
        """``a = exp(-c r softplus(Lambda))``, ``b = sqrt(1 - a**2) i x``; extras ``r``, ``i``."""
        r = sigmoid(self._blocks(x, self.recurrent_gate_weight, self.recurrent_gate_bias))
        i = sigmoid(self._blocks(x, self.input_gate_weight, self.input_gate_bias))
        log_a = -self.c * r * softplus(self.recurrent_param)
        a = np.exp(log_a)
        b = np.sqrt(-np.expm1(2.0 * log_a)) * (i * x)
        return a, b, {"r": r, "i": i}

    def outputs(self, traj) -> np.ndarray:
        """The layer's output: ``h_1..h_T`` (B, T, H)."""
        return traj.h[:, 1:]
