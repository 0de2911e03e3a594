"""Synthetic cells and a synthetic claim for the executor tests (importable by the workers).

The claim is a map over (alpha, seed) cells, each drawing SaS samples from its own seed with
``verify.noise.stable``, and a reduce into a ``CheckResult``: the shape of a real claim at a
fraction of its cost.  ``python tests/_parallel_cells.py ARGS`` runs ``learnwin ARGS`` with
the claim registered (for the command-line tests).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from verify.claims import CLAIMS
from verify.claims.base import CheckResult, claim
from verify.parallel import map_cells

CLAIM_ID = "XP"
ALPHAS = (1.2, 1.5, 1.8, 2.0)


def draw_cell(cell):
    """Median, mean and 0.9-quantile of SaS(1) draws from the cell's own seed."""
    from verify.noise import stable

    alpha, size, seed, pause = cell
    if pause:
        time.sleep(pause)
    if size == 0:  # a cell that only waits (for tests of the machinery, not the numbers)
        return {"alpha": alpha, "seed": seed, "median": 0.0, "mean": 0.0, "q90": 0.0}
    x = stable.sample(alpha, size=size, seed=seed)
    return {
        "alpha": alpha,
        "seed": seed,
        "median": float(np.median(x)),
        "mean": float(x.mean()),
        "q90": float(np.quantile(x, 0.9)),
    }


def cells(seed, n, *, size=20_000, pause=0.0):
    """``n`` cells cycling over :data:`ALPHAS`, seeds from one ``SeedSequence``."""
    seeds = np.random.SeedSequence(seed).generate_state(n)
    return [(ALPHAS[i % len(ALPHAS)], size, int(s), pause) for i, s in enumerate(seeds)]


def worker_state(_):
    """What a worker's numba and environment say about threads."""
    import numba

    return {
        "env": os.environ.get("NUMBA_NUM_THREADS"),
        "threads": numba.get_num_threads(),
        "pid": os.getpid(),
    }


def failing_cell(i):
    """Raise on cell 3 (a cell that crashes)."""
    if i == 3:
        raise ArithmeticError(f"cell {i} cannot be computed")
    return i


def register(n_cells=12, pause=0.0, size=20_000):
    """Register the synthetic claim :data:`CLAIM_ID`; return its id (pop it when done)."""

    def check(profile, seed, false_alarm):
        rows = map_cells(draw_cell, cells(seed, n_cells, size=size, pause=pause), label=CLAIM_ID)
        # the sample median of SaS is a consistent estimator of 0: a sanity reduce
        ok = all(abs(r["median"]) < 0.1 for r in rows)
        return CheckResult(
            CLAIM_ID,
            "synthetic",
            "pass" if ok else "fail",
            "0",
            f"{max(abs(r['median']) for r in rows):.4g}",
            "0.1",
            rows=rows,
        )

    claim(CLAIM_ID, "synthetic: medians of SaS draws")(check)
    return CLAIM_ID


def unregister():
    """Remove the synthetic claim from the registry."""
    CLAIMS.pop(CLAIM_ID, None)


if __name__ == "__main__":
    import _parallel_cells  # the importable module, so that its cells pickle by reference

    from verify.cli import main

    _parallel_cells.register(
        n_cells=int(os.environ.get("XP_CELLS", "12")),
        pause=float(os.environ.get("XP_PAUSE", "0")),
        size=int(os.environ.get("XP_SIZE", "20000")),
    )
    sys.exit(main(sys.argv[1:]))
