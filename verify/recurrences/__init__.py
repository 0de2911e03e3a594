"""Gated recurrences: cells, transport, effective learning rates, envelopes and their laws.

Modules
-------
cells
    The shared interface of every architecture (:class:`Cell`) and :class:`Trajectory`.
gated
    ConstGate, SharedGate, DiagGate (seeded parameters, forward passes, Jacobians).
torch_layout, gru, lstm
    The PyTorch weight layout (``.npz`` in and out) and the GRU and LSTM on it.
diagonal
    Diagonal linear recurrences ``h_t = a_t h_{t-1} + b_t`` (one scan, one retention path).
minimal, rglru, mamba
    minGRU and minLSTM, Griffin's RG-LRU, Mamba's selective scan in its mixer.
layer_state_dicts
    Loading those four from the state dicts of ``mingru-pytorch`` and ``transformers``.
state_dict, loading
    Strict reading of trained state dicts (keys, prefixes, layers); the registry of loaders.
full_transport
    Norms (and the exact diagonal) of the full Jacobian products, by a sparse table.
trained_window
    The measured and fitted window of a trained network, with its assumptions.
kernels
    The numba kernels (forward passes, per-lag transport), parallel over sequences.
envelope_kernels
    The numba kernel of the envelope sums, without the per-lag transport array.
init
    Gate spectra for seeded initialisers, chrono initialisation.
transport
    Exact, diagonal-product, first- and zeroth-order per-lag transport.
envelope
    Effective learning rates (SGD, Adam-like) and the envelope f(l), in log space.
fit
    Least-squares fits of the five envelope laws, AIC/BIC model choice.
diagnostics
    The checks C6-C9 of THEORY.md as functions returning plain data.

Examples
--------
>>> from verify import recurrences as rec
>>> net = rec.GRU.init(hidden=8, inputs=2, spectrum=rec.Chrono(t_max=50), seed=0)
>>> x = rec.random_inputs(batch=2, steps=20, inputs=2, seed=1)
>>> rec.envelope(net, x, max_lag=10).shape
(11,)
"""

from . import diagnostics
from .cells import Cell, Trajectory
from .diagonal import DiagonalRecurrence
from .envelope import EnvelopeResult, envelope, log_envelope, measure_envelope, unit_rates
from .fit import EnvelopeFit, LawFit, fit_envelope
from .gated import ConstGate, DiagGate, SharedGate
from .gru import GRU
from .init import Chrono, make_spectrum, random_inputs
from .layer_state_dicts import ARCHITECTURES, load_state_dict
from .loading import LOADERS, Loaded, LoadError, load
from .lstm import LSTM
from .mamba import Mamba
from .minimal import MinGRU, MinLSTM
from .rglru import RGLRU
from .transport import ORDERS, Transport, transport, transport_reference

__all__ = [
    "ARCHITECTURES",
    "GRU",
    "LOADERS",
    "LSTM",
    "ORDERS",
    "RGLRU",
    "DiagonalRecurrence",
    "Mamba",
    "MinGRU",
    "MinLSTM",
    "Cell",
    "Chrono",
    "ConstGate",
    "DiagGate",
    "EnvelopeFit",
    "EnvelopeResult",
    "LawFit",
    "LoadError",
    "Loaded",
    "SharedGate",
    "Trajectory",
    "Transport",
    "diagnostics",
    "envelope",
    "fit_envelope",
    "load_state_dict",
    "load",
    "log_envelope",
    "make_spectrum",
    "measure_envelope",
    "random_inputs",
    "transport",
    "transport_reference",
    "unit_rates",
]
