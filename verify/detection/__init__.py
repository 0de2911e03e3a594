"""Monte Carlo of the lag-detection test: power, minimal N(ell) and empirical windows.

The evidence for lag ell is ``X_n = c f(ell) + xi_n`` with real alpha-stable draws
(:func:`verify.noise.stable.trial_means` sums them; the stability shortcut is a cross-check only).
The test of :class:`theory.Detection` declares detection when
``stat_scale * |estimate| * N**(1/rate) > epsilon``.  Memory stays O(trials).

Confidence intervals for a power are Wilson score intervals; the z value is passed in by
the caller, which derives it from its false-alarm budget.

Modules
-------
:mod:`.power`
    Simulated and exact power at one N, Wilson intervals, family-wise z values.
:mod:`.minimal`
    The empirical minimal N(ell): the ``1 - delta`` crossing of the simulated power.
:mod:`.critical`
    The signed statistic and the critical signal level at one N.
"""

from __future__ import annotations

from .critical import CriticalLevel, critical_level, exact_critical_s, simulate_statistic
from .critical import standardised_signal as standardised_signal  # not in __all__, as before
from .minimal import GRID as GRID  # not in __all__, as before
from .minimal import MinimalN, exact_minimal_n, minimal_n
from .power import (
    PowerEstimate,
    one_sided_power,
    powers_at,
    predicted_power,
    sas_density,
    simulate_power,
    wilson,
    z_for,
)

__all__ = [
    "CriticalLevel",
    "MinimalN",
    "PowerEstimate",
    "critical_level",
    "exact_critical_s",
    "exact_minimal_n",
    "minimal_n",
    "one_sided_power",
    "powers_at",
    "predicted_power",
    "sas_density",
    "simulate_power",
    "simulate_statistic",
    "wilson",
    "z_for",
]
