"""Small seeded networks of every architecture, shared by the recurrence tests."""

import numpy as np

from verify import recurrences as rec


class FixedRetention:
    """A test spectrum: the given retentions, repeated to the requested size."""

    def __init__(self, *r):
        self.r = np.asarray(r, dtype=float)

    def sample(self, size, rng):
        return np.resize(self.r, size)


class UniformStandIn:
    """Retention uniform on (lo, hi), drawn from the generator it is given."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def sample(self, size, rng):
        return rng.uniform(self.lo, self.hi, size)


KINDS = ("constgate", "sharedgate", "diaggate", "gru", "lstm")


def make_net(kind, hidden=5, inputs=3, seed=0, recurrent_scale=0.9):
    """A network with non-trivial recurrent weights (so off-diagonal transport matters)."""
    if kind == "constgate":
        return rec.ConstGate.init(
            hidden, inputs, FixedRetention(0.8), seed=seed, recurrent_scale=recurrent_scale
        )
    if kind == "sharedgate":
        return rec.SharedGate.init(
            hidden, inputs, FixedRetention(0.8), seed=seed, recurrent_scale=recurrent_scale
        )
    spec = UniformStandIn(0.5, 0.95)
    cls = {"diaggate": rec.DiagGate, "gru": rec.GRU, "lstm": rec.LSTM}[kind]
    return cls.init(hidden, inputs, spec, seed=seed, recurrent_scale=recurrent_scale)


def initial_state(net, batch, seed):
    """A random non-zero initial state (h0, and c0 for the LSTM)."""
    rng = np.random.default_rng(seed)
    return 0.5 * rng.standard_normal((batch, net.hidden))
