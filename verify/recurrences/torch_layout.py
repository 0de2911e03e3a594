"""The PyTorch weight layout shared by the GRU and the LSTM.

``weight_ih`` (G H, D), ``weight_hh`` (G H, H), ``bias_ih`` and ``bias_hh`` (G H,), the G gate
blocks stacked in PyTorch's order (or another order named by ``gate_order``); loading from and
saving to ``.npz`` files with those keys (loading strictly, through
:mod:`verify.recurrences.state_dict`).
"""

from __future__ import annotations

from itertools import permutations

import numpy as np

from theory._validate import check_finite_array, check_int

from .cells import Cell, check_shape
from .init import check_scale, normal_weights
from .state_dict import LoadError, torch_stack

__all__ = ["TorchLayout"]


class TorchLayout(Cell):
    """A cell whose weights are G gate blocks in PyTorch's layout (subclassed by GRU and LSTM)."""

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
        bih = check_shape("bias_ih", bih, (G * H,), f"({G}H,)")
        bhh = check_shape("bias_hh", bhh, (G * H,), f"({G}H,)")
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
    def from_npz(cls, path, prefix: str = "", gate_order=None, layer=None):
        """Load the PyTorch-layout arrays from an ``.npz`` state dict, strictly.

        Keys are ``prefix + name`` for name in ``weight_ih, weight_hh, bias_ih, bias_hh``
        (a ``GRUCell``/``LSTMCell``), or the same with ``_l0, _l1, ...`` (a
        ``torch.nn.GRU``/``LSTM``, whose ``layer`` must be named when there are several):
        see :func:`verify.recurrences.state_dict.torch_stack`, whose errors (a
        :class:`~verify.recurrences.state_dict.LoadError`, a ``ValueError``) this raises.
        """
        st = torch_stack(path, prefix, cls.kind, layer)
        a = st.layers[st.layer]
        try:
            return cls(a["weight_ih"], a["weight_hh"], a.get("bias_ih"), a.get("bias_hh"),
                       gate_order=gate_order)  # fmt: skip
        except ValueError as exc:
            raise LoadError(f"prefix {prefix!r}: not {cls.kind.upper()} weights ({exc})") from None

    def save_npz(self, path) -> None:
        """Write the PyTorch-layout arrays to ``path`` (readable by :meth:`from_npz`)."""
        np.savez(path, weight_ih=self.weight_ih, weight_hh=self.weight_hh,
                 bias_ih=self.bias_ih, bias_hh=self.bias_hh)  # fmt: skip

    #: the numba kernel that goes from inputs to transport factors (kernels.gru_factors,
    #: kernels.lstm_factors), the gate blocks whose diagonals it takes, and how many state
    #: arrays it starts from besides ``h0`` (zeros: the LSTM's ``c0``)
    _factor_kernel = None
    _factor_blocks = ""
    _factor_extra_states = 0

    def fused_factors(self, x, order, h0=None):
        """The transport factors ``(fac, corr)`` of a product order in one pass over ``x``.

        What :func:`verify.recurrences.transport.step_factors` gives from
        ``forward(x, h0)``, computed in the forward kernel itself: no trajectory, gates or
        input projections of size (B, T, .) are stored.  ``order`` is ``"zeroth"``,
        ``"first"`` or ``"diagonal"``; the LSTM's cell state starts at zero.
        """
        x = self.check_inputs(x)
        B, T, _ = x.shape
        H = self.hidden
        code = {"zeroth": 0, "first": 1, "diagonal": 2}[order]
        w = self.weight_hh
        dg = np.stack([np.diag(self.block(w, g)) for g in self._factor_blocks])
        h0 = np.ascontiguousarray(self._initial("h0", h0, B))
        init = (h0, *(np.zeros((B, H)) for _ in range(self._factor_extra_states)))
        fac, corr = np.empty((B, T, H)), np.empty((B, T, H))
        self._factor_kernel(x, np.ascontiguousarray(self.weight_ih.T), self.bias_ih, w,
                            self.bias_hh, dg, *init, code, fac, corr)  # fmt: skip
        return fac, corr

    def _xi(self, x):
        # the input projections of every step as one 2-D matrix product (a 3-D ``@``
        # broadcasts into many small ones), the bias added in place
        B, T, D = x.shape
        xi = np.matmul(x.reshape(B * T, D), self.weight_ih.T)
        xi += self.bias_ih
        return xi.reshape(B, T, -1)

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
