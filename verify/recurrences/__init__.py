"""Gated recurrences: cells, transport, effective learning rates, envelopes and their laws.

Modules
-------
cells
    The shared interface of every architecture (:class:`Cell`) and :class:`Trajectory`.
gated
    ConstGate, SharedGate, DiagGate (seeded parameters, forward passes, Jacobians).
torch_layout, gru, lstm
    The PyTorch weight layout (``.npz`` in and out) and the GRU and LSTM on it.
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
from .envelope import EnvelopeResult, envelope, log_envelope, measure_envelope, unit_rates
from .fit import EnvelopeFit, LawFit, fit_envelope
from .gated import ConstGate, DiagGate, SharedGate
from .gru import GRU
from .init import Chrono, make_spectrum, random_inputs
from .loading import LOADERS, Loaded, LoadError, load
from .lstm import LSTM
from .transport import ORDERS, Transport, transport, transport_reference

__all__ = [
    "GRU",
    "LOADERS",
    "LSTM",
    "ORDERS",
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
    "load",
    "log_envelope",
    "make_spectrum",
    "measure_envelope",
    "random_inputs",
    "transport",
    "transport_reference",
    "unit_rates",
]
