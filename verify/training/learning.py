"""Learning time on trained networks: when a planted lag counts as learned (plain NumPy).

Conventions (fixed before any trained network was looked at)
------------------------------------------------------------
* A planted lag is *learned* at a checkpoint when the lower bound of the 95 % bootstrap
  interval of ``c_hat / c`` is at least :data:`LEARNED` (half of the planted dependency is
  carried by the output, and the data show it); the point estimate alone flickers around
  0.5 on a plateau.
* ``N_emp(l)`` has two readings: *first* -- sequences seen at the first checkpoint where
  ``l`` is learned; *stays* -- the first checkpoint from which ``l`` is learned at every
  later checkpoint, to the end (the one the checks use).  ``inf``: never.  Lags learned
  already at the first checkpoint are *censored* (only an upper bound).
* The empirical window at a checkpoint is the largest planted lag learned there; windows are
  compared by their index in the list of planted lags (0: none learned).
* The envelope of a cell is ``log f_hat`` averaged over its checkpoints; its ``alpha_hat`` and
  ``sigma_hat`` are the medians over checkpoints.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "LEARNED",
    "controls",
    "gate",
    "gate_note",
    "kappa",
    "signal_cells",
    "summarise",
    "unit_envelope",
]

#: Lower bootstrap bound of c_hat / c at which a planted lag counts as learned.
LEARNED = 0.5


def kappa(alpha: float) -> float:
    """``alpha / (alpha - 1)``; nan for alpha <= 1 (no mean: the theory does not apply)."""
    return alpha / (alpha - 1.0) if alpha > 1.0 else math.nan


def _first(learned):
    return np.where(learned.any(axis=0), learned.argmax(axis=0), -1)


def _stays(learned):
    """Index of the first checkpoint from which each lag is learned to the end (-1: never)."""
    out = np.full(learned.shape[1], -1)
    for k in range(learned.shape[1]):
        col = learned[:, k]
        if col[-1]:
            off = np.nonzero(~col)[0]
            out[k] = 0 if off.size == 0 else int(off[-1]) + 1
    return out


def _log_rate(r) -> np.ndarray:
    """Per-checkpoint ``log`` mean rate of a cell (0 for results that predate it)."""
    lr = np.asarray(getattr(r, "log_rate", ()), dtype=float)
    return lr if lr.size == len(r.ns) else np.zeros(len(r.ns))


def unit_envelope(r) -> np.ndarray:
    """Mean over checkpoints of ``log f_hat - log mean rate``, at every lag 0..L."""
    return np.mean(np.asarray(r.log_f) - _log_rate(r)[:, None], axis=0)


def summarise(r) -> dict:
    """Derived quantities of one :class:`~verify.training.train.CellResult` (or alike)."""
    lags = np.asarray(r.task["lags"])
    learned = np.asarray(r.ratio_lo) >= LEARNED
    ns = np.asarray(r.ns, dtype=float)
    first, stays = _first(learned), _stays(learned)
    n_first = np.where(first >= 0, ns[np.maximum(first, 0)], np.inf)
    n_emp = np.where(stays >= 0, ns[np.maximum(stays, 0)], np.inf)
    idx = np.array([np.max(np.nonzero(row)[0]) + 1 if row.any() else 0 for row in learned])
    alpha = float(np.median(r.alpha))
    return {
        "lags": lags,
        "learned": learned,
        "n_emp": n_emp,
        "n_first": n_first,
        "censored": stays == 0,
        "censored_first": first == 0,
        "window_idx": idx,
        "window": np.concatenate([[0], lags])[idx],
        "log_f": np.mean(np.asarray(r.log_f)[:, lags], axis=0),
        # the envelope with the optimizer's mean rate divided out: sigma_hat is in the
        # gradient's units, so N_pred = (C sigma / f)^kappa needs f in them too (E3, E4)
        "log_f_unit": unit_envelope(r)[lags],
        "alpha": alpha,
        "alpha_lo": float(np.median(r.alpha_lo)),
        "alpha_hi": float(np.median(r.alpha_hi)),
        "sigma": float(np.median(r.sigma)),
        "kappa": kappa(alpha),
    }


def signal_cells(results, sums):
    """``(result, summary)`` of the cells trained on the real target (controls left out)."""
    return [(r, s) for r, s in zip(results, sums, strict=True) if not r.role.startswith("control")]


def controls(results, sums, probe=None) -> dict:
    """The negative controls: shuffled targets, and a block of planted lags removed.

    ``probe``: the removed lag tested (default: the block's middle); see
    :attr:`verify.training.experiment.ExperimentProfile.probe` for why a block.
    """
    shuffled = [s for r, s in zip(results, sums, strict=True) if r.role == "control_shuffled"]
    removed = [(r, s) for r, s in zip(results, sums, strict=True) if r.role == "control_removed"]
    n_shuf = int(sum(s["learned"].sum() for s in shuffled))
    n_rem, block, lag = 0, (), None
    for r, s in removed:
        block = tuple(sorted(r.task["removed"]))
        if probe is not None and probe not in block:
            raise ValueError(f"probe {probe} is not in the removed block {list(block)}")
        lag = probe if probe is not None else block[(len(block) - 1) // 2]  # its middle
        k = list(s["lags"]).index(lag)
        n_rem += int(s["learned"][:, k].sum())
    rejected = bool(shuffled and removed and n_shuf == 0 and n_rem == 0)
    iso = isolation(results, sums, lag)
    return {
        "isolation": iso,
        "description": "shuffled targets (nothing may be learned) and a block of planted lags "
        f"{list(block)} removed from the target (its middle lag {lag} may never be learned)",
        "rejected": rejected,
        "detail": f"shuffled: {n_shuf} (checkpoint, lag) pairs learned; removed lag {lag}: "
        f"learned at {n_rem} checkpoints"
        + (f"; isolation: {iso['detail']}" if iso["cells"] else ""),
    }


def isolation(results, sums, probe) -> dict:
    """The isolation control: ``N_emp`` at the probe alone against the same seed with all lags.

    Lags do not interact when, seed by seed, the two ``N_emp`` (stays) agree within one
    checkpoint step (a factor of the grid ratio); ``agree`` counts the seeds where they do.
    """
    by = {(r.condition, r.seed): s for r, s in zip(results, sums, strict=True)}
    pairs = []
    for r, s in zip(results, sums, strict=True):
        if r.role != "control_isolated":
            continue
        ref = by.get((r.condition.rsplit("/isolated", 1)[0], r.seed))
        if ref is None:
            continue
        k = list(s["lags"]).index(probe)
        pairs.append((float(s["n_emp"][k]), float(ref["n_emp"][k]), float(r.train["ratio"])))
    agree = sum(
        (np.isinf(a) and np.isinf(b))
        or (np.isfinite(a) and np.isfinite(b) and abs(math.log(a / b)) <= math.log(q) + 1e-9)
        for a, b, q in pairs
    )
    return {
        "cells": len(pairs),
        "agree": int(agree),
        "pairs": pairs,
        "detail": f"N_emp({probe}) alone vs with its neighbours agree within one checkpoint "
        f"step in {agree}/{len(pairs)} seeds ({', '.join(f'{a:g} vs {b:g}' for a, b, _ in pairs)})",
    }


def gate(verdict, control):
    """A check cannot pass while its negative control is not rejected."""
    return "fail" if verdict in ("pass", "partial") and not control["rejected"] else verdict


def gate_note(result, ungated):
    """Record on the page what the data said before the control gate, when it differs."""
    if ungated != result.verdict:
        result.notes.append(
            f"Before the negative-control gate the data read {ungated.upper()}; the verdict is "
            f"{result.verdict.upper()} because the control was not rejected "
            f"({result.negative_control.get('detail', '')})."
        )
    return result
