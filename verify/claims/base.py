"""The result record of a claim check, the run profiles and the false-alarm budget.

Every statistical test in the suite is a two-sided test whose z threshold is derived from
one budget: the whole default suite has total false-alarm probability :data:`SUITE_FALSE_ALARM`
(Bonferroni), split evenly over the claims and, within a claim, over its tests.

Verdicts are three-way (:func:`equivalence`, :func:`combine`).  A claim FAILs when its
prediction is refuted at that budget (a false FAIL of the correct code <= 1 % per suite);
it PASSes only when the estimate's one-sided ``1 - PASS_ERROR`` interval lies inside the
claim's stated tolerance, an equivalence test (an error as large as the tolerance PASSes
with probability <= :data:`PASS_ERROR`); between the two it is INCONCLUSIVE.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from ..detection import z_for

__all__ = [
    "CLAIMS",
    "FAILING",
    "PASS_ERROR",
    "PROFILES",
    "SUITE_FALSE_ALARM",
    "TOLERANCE_IS_RESOLUTION",
    "VERDICTS",
    "Z_PASS",
    "Z_POWER",
    "CheckResult",
    "Profile",
    "claim",
    "combine",
    "equivalence",
    "stream_seeds",
]

#: The verdicts a claim (or a check of the experiment) can reach.  ``pass``: the claim is
#: shown (its estimate's interval lies inside the tolerance) and its negative control is
#: rejected.  ``partial``: its main statement holds but a stated sub-clause does not (the
#: page says which); an honest finding, not a failure of the run.  ``inconclusive``: the
#: data cannot decide (the interval straddles the tolerance, or the manipulation did not
#: reach what the theory is about); neither a kill nor a false alarm.  ``fail``: the claim
#: or its control is refuted.  ``error``: the check raised; the message is on its page.
VERDICTS = ("pass", "partial", "inconclusive", "fail", "error")
#: Verdicts that make a run fail (exit 1).
FAILING = ("fail", "error")

#: Total false-alarm probability of one run of the whole suite.
SUITE_FALSE_ALARM = 0.01
#: One-sided z of a 0.9 detection probability (the power at which resolutions are stated).
Z_POWER = 1.2815515655446004
#: Largest probability that a claim PASSes under an error as large as its stated tolerance:
#: a PASS needs the one-sided ``1 - PASS_ERROR`` interval of every estimate inside it.
PASS_ERROR = 0.1
#: One-sided z of :data:`PASS_ERROR`.
Z_PASS = Z_POWER

#: How a claim whose tolerance is its own stated resolution reads its refutation test.
TOLERANCE_IS_RESOLUTION = (
    "FAIL when refuted at z; otherwise PASS: with the stated resolution ((z + 1.28) SE) as "
    "tolerance, every estimate's one-sided 90 % interval then lies inside it, so PASS and "
    "FAIL are complementary and no INCONCLUSIVE arises"
)

#: Order of precedence when sub-verdicts are combined into one.
_RANK = {"error": 0, "fail": 1, "inconclusive": 2, "partial": 3, "pass": 4}


def combine(*verdicts: str) -> str:
    """The verdict of a claim made of sub-verdicts: the worst of them.

    ``error`` before ``fail`` before ``inconclusive`` before ``partial`` before ``pass``:
    one refuted part refutes the claim; an undecided part leaves it undecided.
    """
    bad = [v for v in verdicts if v not in _RANK]
    if bad:
        raise ValueError(f"verdicts must be among {VERDICTS}, got {bad!r}")
    return min(verdicts, key=_RANK.__getitem__) if verdicts else "pass"


def equivalence(estimate: float, se: float, tolerance: float, z: float) -> str:
    """Three-way verdict on an effect whose prediction is 0, with standard error ``se``.

    ``fail``: the prediction is refuted, ``|estimate| > z se`` (``z`` the claim's share of
    the false-alarm budget).  ``pass``: ``|estimate| + Z_PASS se <= tolerance``, the
    one-sided ``1 - PASS_ERROR`` interval lies inside the tolerance (an effect of the
    tolerance's size passes with probability <= ``PASS_ERROR``).  ``inconclusive``
    otherwise.  A tolerance of ``(z + Z_PASS) se`` (the 90 %-power resolution) makes the
    two regions complementary.
    """
    if not (math.isfinite(estimate) and math.isfinite(se) and se >= 0):
        return "fail" if math.isfinite(se) else "inconclusive"
    if abs(estimate) > z * se:
        return "fail"
    return "pass" if abs(estimate) + Z_PASS * se <= tolerance else "inconclusive"


def stream_seeds(seed, stream: int, k: int) -> list[int]:
    """``k`` cell seeds of stream ``stream`` under the claim seed ``seed``."""
    return [int(s) for s in np.random.SeedSequence([int(seed), stream]).generate_state(k)]


@dataclass(frozen=True)
class Profile:
    """Sizes of a run: ``quick`` for CI and the default, ``full`` for the thorough grid."""

    name: str
    trials: int  # experiments per simulated power
    target_ns: tuple[int, ...]  # C2: the N(ell) values the lags are chosen to hit
    window_ns: tuple[int, ...]  # C3/C4: sample sizes spanning >= 3 decades
    window_trials: int
    shortcut_trials: int = 400_000  # C2-C5: experiments drawn through the stability shortcut
    alphas: tuple[float, ...] = (1.2, 1.5, 1.8, 2.0)
    c1_ns: tuple[int, ...] = (10, 100, 1000)
    c1_trials: int = 8000
    net_hidden: int = 32
    net_steps: int = 160
    net_cells: int = 8  # C7: networks per architecture, in units of C7_NETS_PER_NET_CELL
    #: C6, C8, C9: networks per family; 22 is the least n at which n/n shows a share
    #: >= 0.9 (one-sided Clopper-Pearson lower bound at PASS_ERROR)
    net_draws: int = 22
    #: C2: the slope's tolerance, relative to kappa (the equivalence PASS needs it)
    slope_tolerance: float = 0.25


PROFILES = {
    "quick": Profile(
        "quick",
        trials=800,
        target_ns=(100, 300, 1000, 3000),
        window_ns=(100, 1000, 10_000, 100_000),
        window_trials=300,
    ),
    "full": Profile(
        "full",
        trials=16_000,  # C2: the slope resolves +-5 % of kappa (summed samples)
        target_ns=(100, 300, 1000, 3000, 10_000),
        window_ns=(100, 1000, 10_000, 100_000, 1_000_000),
        window_trials=1500,
        shortcut_trials=2_000_000,
        c1_ns=(10, 100, 1000, 10_000),
        c1_trials=20_000,
        net_hidden=64,
        net_steps=256,
        net_cells=24,
        net_draws=48,
        slope_tolerance=0.05,
    ),
}


@dataclass
class CheckResult:
    """Structured outcome of one claim check.

    Attributes
    ----------
    claim : str
        Identifier, e.g. ``"C2"``.
    title : str
        One line stating the claim.
    verdict : str
        One of :data:`VERDICTS`: pass needs the main check to hold *and* the negative
        control to be rejected.
    predicted, measured : str
        Short summaries for the table.
    tolerance : str
        The tolerance and where it comes from.
    rows : list of dict
        The detailed table (one row per parameter point).
    negative_control : dict
        ``{"description": ..., "rejected": bool, "detail": ...}``.
    resolution : dict
        The smallest effects the check detects with probability >= 0.9 at its false-alarm
        budget, ``{effect: size}`` (e.g. ``{"K (relative)": 0.03}``), from a power analysis.
    """

    claim: str
    title: str
    verdict: str
    predicted: str
    measured: str
    tolerance: str
    rows: list[dict] = field(default_factory=list)
    negative_control: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    seed: int = 0
    runtime_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    figures: dict = field(default_factory=dict)  # name -> data for the renderer
    resolution: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    @property
    def passed(self) -> bool:
        """Whether the run may go on as passing: the verdict is ``pass`` or ``partial``."""
        return self.verdict not in FAILING

    def as_dict(self) -> dict:
        """JSON-ready dictionary."""
        return _jsonable(asdict(self))


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj


#: Registry: claim id -> (title, function(profile, seed, z_budget) -> CheckResult).
CLAIMS: dict[str, tuple[str, Callable]] = {}


def claim(cid: str, title: str):
    """Register a claim check; the wrapper times it and fills seed/runtime."""

    def deco(fn):
        def run(profile: Profile, seed: int, false_alarm: float) -> CheckResult:
            t0 = time.perf_counter()
            try:
                res = fn(profile, seed, false_alarm)
            except (KeyboardInterrupt, MemoryError):
                raise
            except Exception as exc:  # a crash is a verdict: ERROR, and the suite goes on
                res = CheckResult(
                    cid, title, "error", "-", f"{type(exc).__name__}: {exc}", "-",
                    notes=[f"The check raised {type(exc).__name__}: {exc}"],
                )  # fmt: skip
            res.claim, res.title, res.seed = cid, title, seed
            res.runtime_s = time.perf_counter() - t0
            res.params.setdefault("profile", profile.name)
            res.params.setdefault("false_alarm_budget", false_alarm)
            return res

        run.__doc__ = fn.__doc__
        run.__name__ = fn.__name__
        CLAIMS[cid] = (title, run)
        return run

    return deco


def machine() -> dict:
    """Versions and machine description recorded with every run."""
    import numba
    import scipy
    import sympy

    from .. import __version__

    return {
        "learnability_window": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sympy": sympy.__version__,
        "numba": numba.__version__,
        "threads": numba.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "platform": platform.platform(),
    }


def z_threshold(false_alarm: float, tests: int) -> float:
    """Two-sided z for ``tests`` tests sharing ``false_alarm`` (Bonferroni)."""
    return z_for(false_alarm, max(1, tests))


def fmt(x, digits: int = 4) -> str:
    """Format a number with ``digits`` significant digits."""
    if isinstance(x, int | np.integer):
        return str(int(x))
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return str(x)
    return f"{x:.{digits}g}"
