"""The claims of THEORY.md as named checks, and the suite that runs them.

Each check returns a :class:`CheckResult`: verdict, predicted and measured values, the
tolerance and its source, the detailed rows, the negative control, seed, parameters and
runtime.  :func:`run_suite` runs a selection with one false-alarm budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .. import parallel
from ..device import describe, using
from . import diagonal, expansion, growth, networks, noise, window  # noqa: F401  (registers)
from .base import CLAIMS, PROFILES, SUITE_FALSE_ALARM, CheckResult, Profile, machine

__all__ = ["CLAIMS", "PROFILES", "CheckResult", "Profile", "SuiteResult", "claim_seed", "run_suite"]

ORDER = ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10", "R1")


#: Claims that read another claim's simulations: C4 judges the growth of the very windows
#: C3 simulated, so it shares C3's seed (and, through a cache, its simulations).
SHARED_SEED = {"C4": "C3"}


def claim_seed(seed: int, cid: str) -> int:
    """Seed of one claim, derived from the suite seed and the claim id only."""
    key = int.from_bytes(SHARED_SEED.get(cid, cid).encode(), "little")
    return int(np.random.SeedSequence([int(seed), key]).generate_state(1)[0])


@dataclass
class SuiteResult:
    """All results of one run, with what is needed to reproduce it."""

    results: list[CheckResult]
    seed: int
    profile: str
    false_alarm: float
    machine: dict
    runtime_s: float
    command: str = ""
    extras: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Whether every claim passed."""
        return all(r.passed for r in self.results)

    def as_dict(self) -> dict:
        """JSON-ready dictionary."""
        return {
            "seed": self.seed,
            "profile": self.profile,
            "false_alarm": self.false_alarm,
            "machine": self.machine,
            "runtime_s": self.runtime_s,
            "command": self.command,
            "passed": self.passed,
            "results": [r.as_dict() for r in self.results],
        }


def available() -> list[str]:
    """Registered claim ids in report order."""
    return [c for c in ORDER if c in CLAIMS] + sorted(set(CLAIMS) - set(ORDER))


def _check_suite_args(claims, profile, seed, false_alarm):
    """Validate :func:`run_suite`'s arguments; return (profile, claim ids, seed, budget)."""
    from theory._validate import check_int, check_probability

    if isinstance(profile, str):
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
        prof = PROFILES[profile]
    elif isinstance(profile, Profile):
        prof = profile
    else:
        raise TypeError(f"profile must be a profile name or a Profile, got {profile!r}")
    if claims is None:
        ids = available()
    elif isinstance(claims, str | bytes):
        raise TypeError(
            f"claims must be a list of claim ids such as ['C4'], not the string {claims!r}"
        )
    else:
        try:
            ids = list(claims)
        except TypeError:
            raise TypeError(f"claims must be a list of claim ids, got {claims!r}") from None
        if not ids:
            raise ValueError("claims is empty; give claim ids, or None for all")
        bad = [c for c in ids if not isinstance(c, str)]
        if bad:
            raise TypeError(f"claims must be claim id strings, got {bad!r}")
        ids = list(dict.fromkeys(ids))  # each claim once, in the order given
    unknown = [c for c in ids if c not in CLAIMS]
    if unknown:
        raise ValueError(f"unknown claim(s) {unknown}; available: {available()}")
    seed = check_int("seed", seed, lo=0)
    false_alarm = check_probability("false_alarm", false_alarm)
    return prof, ids, seed, false_alarm


def run_suite(
    claims=None,
    profile: str | Profile = "quick",
    seed: int = 20251205,
    *,
    false_alarm: float = SUITE_FALSE_ALARM,
    progress: Callable[[str, int, int, CheckResult | None], None] | None = None,
    device: str | None = None,
    client=None,
) -> SuiteResult:
    """Run the selected claims (all by default) and collect their results.

    The false-alarm budget is split evenly over *all* registered claims, so a claim's
    tolerance does not depend on which others were selected.  ``device=None`` is the
    current context's device (:func:`verify.device.using`).  With ``device="cuda"`` every
    computation that has a GPU kernel (the noise Monte Carlo of the mean test, the product
    transport) runs on the GPU and the rest on the CPU (:mod:`verify.device`); the GPU's
    random streams differ from the CPU's, so the numbers differ, in distribution only.

    ``client`` runs the claims' cells on a Dask cluster: a ``distributed.Client`` or a
    :mod:`verify.parallel` executor (``None``: the current one, serial by default).  The
    results are the same whatever the executor.
    """
    prof, ids, seed, false_alarm = _check_suite_args(claims, profile, seed, false_alarm)
    share = false_alarm / len(CLAIMS)
    t0 = time.perf_counter()
    out = []
    with using(device) as dev, parallel.using(client) as executor:
        for i, cid in enumerate(ids):
            if progress:
                progress(cid, i, len(ids), None)
            res = CLAIMS[cid][1](prof, claim_seed(seed, cid), share)
            out.append(res)
            if progress:
                progress(cid, i + 1, len(ids), res)
        info = {**machine(), "device": describe(dev), "executor": executor.name}
    return SuiteResult(out, int(seed), prof.name, false_alarm, info, time.perf_counter() - t0)
