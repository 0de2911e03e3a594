"""minGRU and minLSTM ("Were RNNs all we needed?", Feng et al. 2024), as ``mingru-pytorch``.

The gates see the input only::

    minGRU:   z = sigmoid(W_z x),  h~ = g(W_h x),  h' = (1 - z) h + z h~
    minLSTM:  f = sigmoid(W_f x),  i = sigmoid(W_i x),  f' = f / (f + i),  i' = i / (f + i),
              h' = f' h + i' h~

with ``g(v) = v + 1/2`` for ``v >= 0`` and ``sigmoid(v)`` below (the positive activation of
the log-space form), no biases.  The retention is ``1 - z`` (minGRU) or ``f'`` (minLSTM).
Weights in the layout of ``minGRU_pytorch``: ``to_hidden_and_gate.weight`` (2H, D), rows
``[W_h; W_z]``; ``to_hidden_and_f_i_gate.weight`` (3H, D), rows ``[W_h; W_f; W_i]``;
``to_out.weight`` (D, H) where the layer projects back (``expansion_factor != 1``).
"""

from __future__ import annotations

import numpy as np

from theory._validate import check_finite_array, check_int

from .cells import sigmoid
from .diagonal import DiagonalRecurrence

__all__ = ["MinGRU", "MinLSTM", "positive_activation"]


def positive_activation(v):
    """The positive activation ``g``: ``v + 1/2`` for ``v >= 0``, ``sigmoid(v)`` below."""
    return np.where(v >= 0.0, v + 0.5, sigmoid(np.minimum(v, 0.0)))


class _MinimalRNN(DiagonalRecurrence):
    """The shared layout of minGRU and minLSTM: one stacked input projection, no biases."""

    blocks = 0
    weight_key = ""

    def __init__(self, weight, weight_out=None):
        w = check_finite_array(self.weight_key, weight, ndim=2)
        G = self.blocks
        if w.shape[0] < G or w.shape[0] % G or w.shape[1] < 1:
            raise ValueError(
                f"{self.weight_key} must have shape ({G}H, D) for {type(self).__name__}, "
                f"got {w.shape}"
            )
        self.hidden, self.inputs = w.shape[0] // G, w.shape[1]
        self.weight = np.ascontiguousarray(w)
        self.weight_out = None
        if weight_out is not None:
            wo = check_finite_array("to_out.weight", weight_out, ndim=2)
            if wo.shape[1] != self.hidden:
                raise ValueError(f"to_out.weight must have shape (D, H = {self.hidden}), "
                                 f"got {wo.shape}")  # fmt: skip
            self.weight_out = np.ascontiguousarray(wo)

    @classmethod
    def init(cls, hidden, inputs, seed=0, project_out=False):
        """A fresh layer as ``torch.nn.Linear`` draws it: ``U(-1/sqrt(D), 1/sqrt(D))``.

        The gate's bias is zero (the layer has none): with inputs of a symmetric law the
        mean retention is exactly 1/2 at every position (:mod:`theory.initialisations`).
        """
        hidden = check_int("hidden", hidden, lo=1)
        inputs = check_int("inputs", inputs, lo=1)
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(inputs)
        w = rng.uniform(-bound, bound, size=(cls.blocks * hidden, inputs))
        wo = None
        if project_out:
            wo = rng.uniform(-1 / np.sqrt(hidden), 1 / np.sqrt(hidden), size=(inputs, hidden))
        return cls(w, wo)

    @classmethod
    def from_state_dict(cls, arrays: dict):
        """Build from the module's state dict (keys without prefix, as NumPy arrays)."""
        return cls(arrays[cls.weight_key], arrays.get("to_out.weight"))

    def _pre(self, x):
        return (x @ self.weight.T).reshape(*x.shape[:2], self.blocks, self.hidden)

    def outputs(self, traj) -> np.ndarray:
        """The layer's output (B, T, D or H): ``to_out`` of ``h_1..h_T`` where there is one."""
        h = traj.h[:, 1:]
        return h if self.weight_out is None else h @ self.weight_out.T


class MinGRU(_MinimalRNN):
    """minGRU: retention ``1 - sigmoid(W_z x)``, drive ``sigmoid(W_z x) g(W_h x)``."""

    kind = "mingru"
    blocks = 2
    weight_key = "to_hidden_and_gate.weight"

    def coefficients(self, x):
        """``a = 1 - z``, ``b = z g(W_h x)``; extras: the update gate ``z``."""
        pre = self._pre(x)
        z = sigmoid(pre[:, :, 1])
        return sigmoid(-pre[:, :, 1]), z * positive_activation(pre[:, :, 0]), {"z": z}


class MinLSTM(_MinimalRNN):
    """minLSTM: retention ``f / (f + i)``, drive ``i / (f + i) g(W_h x)``."""

    kind = "minlstm"
    blocks = 3
    weight_key = "to_hidden_and_f_i_gate.weight"

    def coefficients(self, x):
        """``a = f'``, ``b = i' g(W_h x)``; extras: ``f`` and ``i`` before normalising."""
        pre = self._pre(x)
        f, i = sigmoid(pre[:, :, 1]), sigmoid(pre[:, :, 2])
        total = f + i
        return f / total, i / total * positive_activation(pre[:, :, 0]), {"f": f, "i": i}
