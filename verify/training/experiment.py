"""The trained-network experiment: profiles, the list of cells, a map, a reduce into E1-E7.

A run is ``reduce(map_cells(run_cell, build_cells(profile, ...)))``.  Each cell is a pure
function of its (task, training configuration, seed) and returns a small
:class:`~verify.training.train.CellResult`; :func:`map_cells` is a plain serial map that
another executor may replace.  The reduce (:mod:`verify.training.claims`) turns the results
into the checks E1-E7.

Seeds: seed index ``k`` of a run with root seed ``S`` uses the integer drawn from
``SeedSequence(S, spawn_key=(k,))`` for its data and its initial weights, whatever the
condition -- so conditions are compared on common random numbers (same inputs, same ``u``,
same initial weights), and adding or dropping a condition changes no other cell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .task import TaskConfig
from .train import Cell, TrainConfig

__all__ = [
    "PROFILES",
    "ExperimentProfile",
    "ExperimentRun",
    "build_cells",
    "cell_seed",
    "map_cells",
    "run_experiment",
]


@dataclass(frozen=True)
class ExperimentProfile:
    """Sizes and conditions of one run.

    Attributes
    ----------
    name : str
    task : TaskConfig
        The base task (its seed is replaced per seed index).
    train : TrainConfig
        The base training configuration (architecture and optimizer replaced per condition).
    archs, optimizers : tuple of str
        The main grid (every pair is a condition).
    seeds : int
        Seed indices per condition.
    noise_alphas : tuple of float
        E3's conditions: the reference pair trained with SaS gradient noise of each tail
        index added to every update (the first, lightest, is the baseline), without
        clipping (``TrainConfig.grad_noise_alpha``).
    noise_scale : float
        Their common interquartile-range scale, in units of the first batch's gradient RMS
        (``TrainConfig.grad_noise_scale``).
    spectra : tuple
        Further gate spectra for the reference pair (E4), as ``TrainConfig.spectrum`` values.
    removed : tuple of int
        The block of consecutive planted lags left out of the target in the removed-lag
        control. The control is tested at the block's *probe*, its middle lag
        (:attr:`probe`): a recurrent network's learned kernel is smooth in the lag, so a lag
        between two learned ones carries part of their response whether or not the target
        has it (a single removed lag 3 between planted 2 and 4 was "learned" at 1456
        sequences); a probe with removed lags on both sides, inside the range the reference
        condition learns when the lag is planted, can show that the criterion needs the
        signal.
    isolated : bool
        Add the isolation control: the reference condition with only the probe lag in the
        target (every other planted lag removed), whose ``N_emp`` at the probe must match the
        reference's within one checkpoint step if the lags do not interact.
    """

    name: str
    task: TaskConfig
    train: TrainConfig
    archs: tuple
    optimizers: tuple
    seeds: int
    noise_alphas: tuple = (2.0, 1.6, 1.3)
    noise_scale: float = 1.0
    spectra: tuple = ()
    removed: tuple = (8, 12, 16)
    isolated: bool = False

    @property
    def probe(self) -> int:
        """The middle lag of the removed block (the lower middle for an even block)."""
        return tuple(sorted(self.removed))[(len(self.removed) - 1) // 2]

    @property
    def reference(self) -> str:
        """The condition the constant of E4 is calibrated on: the first arch and optimizer."""
        return f"{self.archs[0]}/{self.optimizers[0]}"


_QUICK_LAGS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96)
# spaced by a factor >= 2, so that the learned kernel of one lag does not reach the next
_STANDARD_LAGS = (2, 5, 12, 28, 64, 128)
_FULL_LAGS = (32, 48, 64, 96, 128, 192, 256)

PROFILES = {
    "quick": ExperimentProfile(
        name="quick",
        # equal c_k: the order of learning is then the envelope's alone
        task=TaskConfig(inputs=4, steps=128, lags=_QUICK_LAGS, coefs=(0.3,) * len(_QUICK_LAGS)),
        train=TrainConfig(
            hidden=32,
            batch=16,
            n_max=5792,
            n_first=128,
            lr=None,
            spectrum=("chrono", (("t_max", 96.0),)),
            noise_batch=32,
            n_directions=4,
            n_boot=50,
            e6_batch=512,
            e6_directions=1,
            e6_positions=4,
        ),
        archs=("gru", "lstm"),
        optimizers=("adamw", "sgdm"),
        seeds=1,
        spectra=(("homogeneous", (("r0", 0.9),)),),
    ),
    # sized for evidence: five seeds, spaced lags up to 128, a checkpoint grid of ratio
    # 2^(1/4), homogeneous spectra at two retentions beside chrono (f_hat orders that cross);
    # its cost is measured on a slice and extrapolated in the README (it does not fit a
    # 2-core hour: run it on a cluster with --workers or --scheduler)
    "standard": ExperimentProfile(
        name="standard",
        task=TaskConfig(
            inputs=4, steps=256, lags=_STANDARD_LAGS, coefs=(0.3,) * len(_STANDARD_LAGS)
        ),
        train=TrainConfig(
            hidden=32,
            batch=32,
            n_max=65536,
            n_first=256,
            ratio=2.0**0.25,
            lr=None,
            spectrum=("chrono", (("t_max", 192.0),)),
            noise_batch=64,
            n_directions=4,
            n_boot=100,
            # one direction over 16 injection positions: averaging positions brings the
            # per-sequence evidence of an untrained GRU to N_det of a few hundred sequences
            e6_batch=2048,
            e6_directions=1,
            e6_positions=16,
        ),
        archs=("gru", "lstm"),
        optimizers=("adamw", "sgdm"),
        seeds=5,
        spectra=(("homogeneous", (("r0", 0.9),)), ("homogeneous", (("r0", 0.97),))),
        removed=(28,),
        isolated=True,
    ),
    # seconds, for the tests: the whole pipeline on a toy scale
    "tiny": ExperimentProfile(
        name="tiny",
        task=TaskConfig(inputs=2, steps=24, lags=(1, 2, 4), coefs=(0.6,) * 3),
        train=TrainConfig(
            hidden=8,
            batch=16,
            n_max=512,
            n_first=64,
            lr=5e-2,
            spectrum=("chrono", (("t_max", 8.0),)),
            eval_batch=32,
            noise_batch=16,
            probe_batch=4,
            psi_batch=32,
            n_directions=2,
            n_boot=10,
            e6_batch=64,
            e6_directions=1,
            e6_positions=1,
        ),
        archs=("gru",),
        optimizers=("adamw",),
        seeds=1,
        spectra=(),
        removed=(2,),
    ),
    "full": ExperimentProfile(
        name="full",
        # the author's task: D = 16, T = 1024, H = 128, lags 32..256, c 0.6..0.26, sigma 0.3
        task=TaskConfig(
            inputs=16,
            steps=1024,
            lags=_FULL_LAGS,
            coefs=tuple(np.round(np.linspace(0.6, 0.26, len(_FULL_LAGS)), 4)),
        ),
        train=TrainConfig(
            hidden=128,
            batch=512,
            n_max=6_000_000,
            n_first=4096,
            spectrum=("chrono", (("t_max", 256.0),)),
            lr=None,
            noise_batch=128,
            psi_batch=512,
            transport_probe=1,  # E7's exact and full transport: ~1e11 flops per sequence here
        ),
        archs=("gru", "lstm", "diaggate", "constgate"),
        optimizers=("adamw", "sgd", "sgdm", "rmsprop"),
        seeds=5,
        spectra=(("homogeneous", (("r0", 0.95),)), ("beta", (("a", 16.0), ("b", 1.0)))),
        removed=(64, 96, 128),
    ),
}


def cell_seed(root: int, k: int) -> int:
    """The seed of seed index ``k`` under root seed ``root`` (module docstring)."""
    return int(np.random.SeedSequence(root, spawn_key=(k,)).generate_state(1)[0])


def _conditions(p: ExperimentProfile):
    """``(label, role, task overrides, train overrides)`` of every condition of the run."""
    a0, o0 = p.archs[0], p.optimizers[0]
    ref = f"{a0}/{o0}"
    out = [
        (f"{a}/{o}", "main", {}, {"arch": a, "optimizer": o}) for a in p.archs for o in p.optimizers
    ]
    base = {"arch": a0, "optimizer": o0}
    out += [
        (f"{ref}/gradnoise{a:g}", "tails", {},
         {**base, "clip": None, "grad_noise_alpha": a, "grad_noise_scale": p.noise_scale})
        for a in p.noise_alphas
    ]  # fmt: skip
    names = [s[0] for s in p.spectra]
    for s in p.spectra:  # two spectra of one family are told apart by their parameters
        tag = s[0] + ("".join(f"-{k}{v:g}" for k, v in s[1]) if names.count(s[0]) > 1 else "")
        out.append((f"{ref}/{tag}", "spectrum", {}, {**base, "spectrum": s}))
    out += [
        (f"{ref}/shuffled", "control_shuffled", {"shuffle_targets": True}, base),
        (
            f"{ref}/removed{p.removed[0]}-{p.removed[-1]}",
            "control_removed",
            {"removed": tuple(p.removed)},
            base,
        ),  # fmt: skip
    ]
    if p.isolated:
        others = tuple(v for v in p.task.lags if v != p.probe)
        out.append((f"{ref}/isolated{p.probe}", "control_isolated", {"removed": others}, base))
    return out


def build_cells(
    profile: ExperimentProfile,
    *,
    archs=None,
    optimizers=None,
    seeds=None,
    seed: int = 0,
    device: str = "cpu",
) -> list[Cell]:
    """The independent cells of a run.

    Parameters
    ----------
    profile : ExperimentProfile
    archs, optimizers : sequence of str, optional
        Override the profile's main grid (the first of each is the reference condition).
    seeds : int, optional
        Seed indices per condition (default: the profile's).
    seed : int
        Root seed of the run.
    device : {"cpu", "cuda"}
        Where the cells train.
    """
    from .models import ARCHS
    from .train import OPTIMIZERS

    for name, values, valid in (("arch", archs, ARCHS), ("optimizer", optimizers, OPTIMIZERS)):
        for v in values or ():
            if v not in valid:
                raise ValueError(f"{name} must be one of {sorted(valid)}, got {v!r}")
    p = replace(
        profile,
        archs=tuple(archs or profile.archs),
        optimizers=tuple(optimizers or profile.optimizers),
        seeds=int(profile.seeds if seeds is None else seeds),
    )
    if p.seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {p.seeds}")
    if not p.removed or not set(p.removed) < set(p.task.lags):
        raise ValueError(
            f"removed must be some (not all) of the planted lags {p.task.lags}, got {p.removed}"
        )
    cells = []
    for k in range(p.seeds):
        s = cell_seed(seed, k)
        for label, role, task_kw, train_kw in _conditions(p):
            task = replace(p.task, seed=s % 2**31, **task_kw)
            train = replace(p.train, device=device, **train_kw)
            cells.append(Cell(f"{label}#{k}", label, task, train, s, role))
    return cells


def map_cells(fn: Callable, cells, progress: Callable | None = None) -> list:
    """Apply ``fn`` to every cell, in order, in this process (a serial map).

    ``progress(i, total, cell, result)`` is called before (``result`` None) and after each.
    """
    cells = list(cells)
    out = []
    for i, cell in enumerate(cells):
        if progress is not None:
            progress(i, len(cells), cell, None)
        out.append(fn(cell))
        if progress is not None:
            progress(i + 1, len(cells), cell, out[-1])
    return out


@dataclass
class ExperimentRun:
    """A finished run: the checks E1-E7, the per-cell table and the raw cell results."""

    checks: list
    table: list
    cells: list
    log_c: float
    profile: str
    seed: int
    runtime_s: float
    machine: dict
    command: str = ""
    config: dict | None = None

    @property
    def results(self) -> list:
        """The checks (the name the report renderers use)."""
        return self.checks

    def as_dict(self) -> dict:
        """JSON-ready record (per-cell arrays except psi and weights)."""
        from verify.claims.base import _jsonable

        keep = (
            "name",
            "condition",
            "role",
            "seed",
            "ns",
            "ratio",
            "ratio_lo",
            "ratio_hi",
            "alpha",
            "alpha_lo",
            "alpha_hi",
            "sigma",
            "loss",
            "runtime_s",
            "timings",
            "update_noise",
            "task",
            "train",
        )
        return _jsonable(
            {
                "profile": self.profile,
                "seed": self.seed,
                "runtime_s": self.runtime_s,
                "machine": self.machine,
                "command": self.command,
                "log_C": self.log_c,
                "config": self.config,
                "checks": [c.as_dict() for c in self.checks],
                "table": self.table,
                "cells": [{k: getattr(r, k, None) for k in keep} for r in self.cells],
            }
        )


def machine() -> dict:
    """Versions and machine recorded with every run (torch included)."""
    import torch

    from verify.claims.base import machine as base_machine

    return {
        **base_machine(),
        "torch": torch.__version__,
        "torch_threads_per_cell": 1,
        "deterministic_algorithms": True,
    }


def run_experiment(
    profile: ExperimentProfile,
    *,
    archs=None,
    optimizers=None,
    seeds=None,
    seed: int = 0,
    device: str = "cpu",
    progress=None,
    mapper=None,
    command: str = "",
) -> ExperimentRun:
    """Build the cells, map them (``mapper``, default :func:`map_cells`), reduce into E1-E7."""
    import time

    from .claims import reduce_cells
    from .train import run_cell

    t0 = time.perf_counter()
    cells = build_cells(
        profile, archs=archs, optimizers=optimizers, seeds=seeds, seed=seed, device=device
    )
    results = (mapper or map_cells)(run_cell, cells, progress)
    ref = f"{cells[0].train.arch}/{cells[0].train.optimizer}"
    checks, table, log_c = reduce_cells(
        results, reference=ref, noise_alphas=profile.noise_alphas, seed=seed, probe=profile.probe
    )
    for c in checks:
        c.seed = seed
        c.params.setdefault("profile", profile.name)
    config = {
        "profile": profile.name,
        "task": profile.task.as_dict(),
        "train": profile.train.as_dict(),
        "archs": sorted({c.train.arch for c in cells}),
        "optimizers": sorted({c.train.optimizer for c in cells}),
        "seeds": len({c.seed for c in cells}),
        "reference": ref,
    }
    return ExperimentRun(
        checks=checks,
        table=table,
        cells=results,
        log_c=log_c,
        profile=profile.name,
        seed=seed,
        runtime_s=time.perf_counter() - t0,
        machine=machine(),
        command=command,
        config=config,
    )
