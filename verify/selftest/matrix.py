"""The kill matrix (mutation x claim) and the false-alarm run over many seeds.

A mutation is *killed* when some claim that passed with the correct code reaches a failing
verdict (``fail`` or ``error``) under it; a kill by ``error`` (the mutated code made a
check raise) is marked as such, since a wrong theory should produce a FAIL with numbers,
not a crash.  An INCONCLUSIVE verdict counts neither as a kill nor as a false alarm; the
matrix and the seed run count how often it occurs.  A mutation of kind ``"resolution"``
plants an error at the size a claim states it resolves: its row measures that power and
is not required for :attr:`KillMatrix.all_killed`.  The correct code runs first, with the
same seed, so every cell compares like with like: the claims are deterministic given the
seed, and a claim that never reads the mutated definition gives exactly its baseline
verdict.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from scipy import stats

from ..claims import available, run_suite
from ..claims.base import FAILING, SUITE_FALSE_ALARM
from .mutations import MUTATIONS, Mutation, clear_caches

__all__ = ["KillMatrix", "SeedRun", "false_alarm_run", "kill_matrix"]


@dataclass
class KillMatrix:
    """Verdicts of the claims under each mutation, beside the correct code's.

    Attributes
    ----------
    profile : str
    seed : int
    claims : list of str
        The claims of the baseline run.
    baseline : dict
        ``claim -> verdict`` with the correct code.
    cells : dict
        ``mutation name -> {claim -> verdict}`` for the claims run under that mutation
        (a claim absent from a row was not run: see ``mode``).
    details : dict
        ``mutation name -> {claim -> measured}`` for the failing cells.
    mode : str
        ``"expected"``: each mutation ran its designated claims only; ``"all"``: every claim.
    resolution : dict
        ``claim -> {effect: size}``, each claim's minimal detectable effects (baseline run).
    """

    profile: str
    seed: int
    claims: list[str]
    baseline: dict[str, str]
    mutations: list[dict] = field(default_factory=list)
    cells: dict[str, dict[str, str]] = field(default_factory=dict)
    details: dict[str, dict[str, str]] = field(default_factory=dict)
    mode: str = "expected"
    resolution: dict[str, dict] = field(default_factory=dict)
    runtime_s: float = 0.0
    suite: object = field(default=None, repr=False)  # the correct code's SuiteResult

    def killers(self, name: str) -> list[str]:
        """Claims that turned from a passing to a failing verdict under mutation ``name``."""
        row = self.cells.get(name, {})
        return [c for c, v in row.items() if v in FAILING and self.baseline.get(c) not in FAILING]

    def killed(self, name: str) -> bool:
        """Whether some claim noticed mutation ``name``."""
        return bool(self.killers(name))

    @property
    def baseline_passes(self) -> bool:
        """Whether the correct code passes every claim of the run."""
        return all(v not in FAILING for v in self.baseline.values())

    @property
    def all_killed(self) -> bool:
        """Whether every planted error (kind "error") was noticed and the correct code passed."""
        return self.baseline_passes and all(
            self.killed(m["name"]) for m in self.mutations if m.get("kind", "error") == "error"
        )

    def inconclusive(self) -> dict[str, int]:
        """Per claim, the runs (baseline and mutations) in which it was INCONCLUSIVE."""
        rows = [self.baseline, *self.cells.values()]
        return {c: sum(r.get(c) == "inconclusive" for r in rows) for c in self.claims}

    def as_dict(self) -> dict:
        """JSON-ready dictionary."""
        return {
            "profile": self.profile,
            "seed": self.seed,
            "mode": self.mode,
            "claims": self.claims,
            "baseline": self.baseline,
            "mutations": self.mutations,
            "cells": self.cells,
            "details": self.details,
            "killed": {m["name"]: self.killers(m["name"]) for m in self.mutations},
            "all_killed": self.all_killed,
            "inconclusive": self.inconclusive(),
            "resolution": self.resolution,
            "runtime_s": self.runtime_s,
        }


def _suite(claims, profile, seed, device=None):
    clear_caches()
    return run_suite(claims, profile, seed, device=device)


def _run(claims, profile, seed, device=None):
    return {r.claim: r for r in _suite(claims, profile, seed, device).results}


def kill_matrix(
    mutations: Sequence[Mutation] = MUTATIONS,
    claims: Sequence[str] | None = None,
    profile: str = "quick",
    seed: int = 20251205,
    *,
    mode: str = "expected",
    progress: Callable[[str], None] | None = None,
    device: str | None = None,
) -> KillMatrix:
    """Run the correct code, then the claims under every mutation; tabulate the verdicts.

    Parameters
    ----------
    mutations : sequence of Mutation
        The planted errors (all of :data:`~verify.selftest.mutations.MUTATIONS` by default).
    claims : sequence of str, optional
        Claims of the baseline run (default: every claim a mutation expects, or all with
        ``mode="all"``).
    profile : {"quick", "full"}
    seed : int
        Suite seed, the same for the baseline and every mutated run.
    mode : {"expected", "all"}
        ``"expected"`` runs, under each mutation, only the claims designated to notice it
        (fast; the other cells are left empty); ``"all"`` runs every claim of the baseline.
    progress : callable, optional
        Called with a line of text after each run.
    """
    if mode not in ("expected", "all"):
        raise ValueError(f"mode must be 'expected' or 'all', got {mode!r}")
    t0 = time.perf_counter()
    say = progress or (lambda line: None)
    if claims is None:
        if mode == "all":
            claims = available()
        else:
            wanted = {c for m in mutations for c in m.expected}
            claims = [c for c in available() if c in wanted]
    claims = list(claims)
    base_suite = _suite(claims, profile, seed, device)
    base = {r.claim: r for r in base_suite.results}
    say("correct code: " + ", ".join(f"{c} {r.verdict.upper()}" for c, r in base.items()))
    km = KillMatrix(
        profile=profile,
        seed=int(seed),
        claims=claims,
        baseline={c: r.verdict for c, r in base.items()},
        mode=mode,
        resolution={c: dict(r.resolution) for c, r in base.items()},
        suite=base_suite,
    )
    for i, m in enumerate(mutations):
        km.mutations.append({"name": m.name, "description": m.description,
                             "expected": list(m.expected), "kind": m.kind})  # fmt: skip
        run_claims = claims if mode == "all" else [c for c in claims if c in m.expected]
        with m.applied():
            res = _run(run_claims, profile, seed, device)
        km.cells[m.name] = {c: r.verdict for c, r in res.items()}
        km.details[m.name] = {c: r.measured for c, r in res.items() if r.verdict in FAILING}
        verdict = "killed by " + ", ".join(km.killers(m.name)) if km.killed(m.name) else "SURVIVED"
        say(f"[{i + 1}/{len(mutations)}] {m.name}: {verdict}")
    clear_caches()
    km.runtime_s = time.perf_counter() - t0
    return km


@dataclass
class SeedRun:
    """The correct code at many suite seeds, and how often a run fails.

    Attributes
    ----------
    seeds : list of int
    verdicts : list of dict
        ``claim -> verdict`` per seed.
    budget : float
        The suite's stated false-alarm probability per run.
    """

    profile: str
    claims: list[str]
    seeds: list[int]
    verdicts: list[dict[str, str]]
    budget: float = SUITE_FALSE_ALARM
    runtime_s: float = 0.0

    @property
    def failed_runs(self) -> int:
        """Runs in which at least one claim failed."""
        return sum(any(v in FAILING for v in d.values()) for d in self.verdicts)

    def per_claim(self) -> dict[str, int]:
        """Failures per claim over the seeds."""
        return {c: sum(d.get(c) in FAILING for d in self.verdicts) for c in self.claims}

    def inconclusive_per_claim(self) -> dict[str, int]:
        """INCONCLUSIVE verdicts per claim over the seeds (neither a pass nor a false alarm)."""
        return {c: sum(d.get(c) == "inconclusive" for d in self.verdicts) for c in self.claims}

    @property
    def inconclusive_runs(self) -> int:
        """Runs in which at least one claim was INCONCLUSIVE and none failed."""
        return sum(
            any(v == "inconclusive" for v in d.values())
            and not any(v in FAILING for v in d.values())
            for d in self.verdicts
        )

    def rate_ci(self, level: float = 0.95) -> tuple[float, float]:
        """Clopper-Pearson interval of the per-run failure rate."""
        k, n = self.failed_runs, len(self.seeds)
        lo = 0.0 if k == 0 else float(stats.beta.ppf((1 - level) / 2, k, n - k + 1))
        hi = 1.0 if k == n else float(stats.beta.ppf((1 + level) / 2, k + 1, n - k))
        return lo, hi

    @property
    def allowed(self) -> int:
        """Most failed runs consistent with the budget: the 98 % binomial quantile."""
        return int(stats.binom.ppf(0.98, len(self.seeds), self.budget))

    @property
    def consistent(self) -> bool:
        """Whether the observed failures are within :attr:`allowed`."""
        return self.failed_runs <= self.allowed

    def as_dict(self) -> dict:
        """JSON-ready dictionary."""
        lo, hi = self.rate_ci()
        return {
            "profile": self.profile,
            "claims": self.claims,
            "seeds": self.seeds,
            "verdicts": self.verdicts,
            "failed_runs": self.failed_runs,
            "per_claim": self.per_claim(),
            "inconclusive_per_claim": self.inconclusive_per_claim(),
            "inconclusive_runs": self.inconclusive_runs,
            "rate_ci95": [lo, hi],
            "budget": self.budget,
            "allowed": self.allowed,
            "consistent": self.consistent,
            "runtime_s": self.runtime_s,
        }


def false_alarm_run(
    n_seeds: int,
    claims: Sequence[str] | None = None,
    profile: str = "quick",
    first_seed: int = 1,
    *,
    progress: Callable[[str], None] | None = None,
    device: str | None = None,
) -> SeedRun:
    """Run the correct code at seeds ``first_seed .. first_seed + n_seeds - 1``."""
    if not isinstance(n_seeds, int) or isinstance(n_seeds, bool) or n_seeds < 1:
        raise ValueError(f"seeds must be an integer >= 1, got {n_seeds!r}")
    t0 = time.perf_counter()
    claims = list(claims) if claims else available()
    seeds = list(range(int(first_seed), int(first_seed) + n_seeds))
    out = []
    for i, s in enumerate(seeds):
        res = _run(claims, profile, s, device)
        out.append({c: r.verdict for c, r in res.items()})
        bad = [c for c, r in res.items() if r.verdict in FAILING]
        undecided = [c for c, r in res.items() if r.verdict == "inconclusive"]
        if progress:
            line = "FAIL " + ",".join(bad) if bad else "pass"
            if undecided:
                line += "; INCONCLUSIVE " + ",".join(undecided)
            progress(f"[{i + 1}/{n_seeds}] seed {s}: {line}")
    run = SeedRun(profile, claims, seeds, out)
    run.runtime_s = time.perf_counter() - t0
    return run
