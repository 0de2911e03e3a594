"""The learnability window of a trained network: measured, fitted, and what was assumed.

One result, :class:`WindowEstimate`, that a text page and a JSON file both render:

* the **measured** window at each N, read off the measured envelope: the largest measured
  lag ``l <= L`` with ``f(l) >= theta_N`` (``N(l) <= N``), marked *censored* when even
  ``f(L)`` clears the threshold (the window is then at least ``L``);
* the **fitted** window, ``floor(H_N)`` of the law chosen by BIC, marked *extrapolated*
  when it lies beyond the largest measured lag ``L``, with the smallest ``max_lag`` that
  would measure it;
* its **stability**: the laws refitted on the first half of the lags give ``H_N`` within
  :data:`STABILITY_TOL` (relative) of the whole fit, or the row is flagged unstable; and a
  **degenerate** fit (a time scale outside the measured lags, an exponent at its bound, a
  law that misses the measured envelope by more than :data:`MISFIT_TOL`) is flagged;
* the **assumptions**: probe, max-lag, order, optimizer, lr, alpha, sigma, c, delta,
  layer, each with its source (``given``, ``estimated``, ``default``, ``file``);
* optionally the **full transport** (:mod:`.full_transport`) and how much faster the
  diagonal envelope decays than it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .envelope import EnvelopeResult
from .fit import EnvelopeFit, fit_envelope, law_log_values

__all__ = [
    "DECAY_WARN",
    "MISFIT_TOL",
    "STABILITY_TOL",
    "Assumption",
    "WindowEstimate",
    "decay_comparison",
    "estimate_window",
    "fit_diagnostics",
    "measured_interval",
]

#: Largest relative change of H_N between the half-lag fit and the whole fit of a stable row.
STABILITY_TOL = 0.25
#: Largest factor between the fitted law and the measured envelope over the fitted lags.
MISFIT_TOL = 2.0
#: The diagonal envelope is said to decay much faster than the full transport when, from
#: lag 1 to lag L, it falls by more than this factor further.
DECAY_WARN = 10.0
#: Time scales (tau, lam) beyond this multiple of the largest measured lag are unidentified.
SCALE_MAX = 1e3
#: Bootstrap resamples of the probe sequences for the measured window's interval.
BOOT = 400

SOURCES = ("given", "estimated", "default", "file")


@dataclass(frozen=True)
class Assumption:
    """One input of the estimate and where it came from."""

    name: str
    value: object
    source: str
    note: str = ""

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")

    def as_dict(self) -> dict:  # noqa: D102
        return {"name": self.name, "value": self.value, "source": self.source,
                "note": self.note}  # fmt: skip


def _floor_window(win, n):
    """``(H, learnable, log1p)``: H is None beyond float64, -1 where no lag is learnable."""
    try:
        h = win(n)
    except OverflowError:
        return None, True, float(win.log1p(n))
    learnable = bool(win.learnable(n))
    return (int(h) if learnable else -1), learnable, float(win.log1p(n))


def fit_diagnostics(fit: EnvelopeFit, max_lag: int) -> list:
    """Reasons the chosen law is degenerate (an empty list when none)."""
    name = fit.best_name
    p = fit.fit(name).params
    out = []
    lo = float(np.min(fit.lags))
    for key in ("tau", "lam"):
        if key in p and p[key] < lo:
            out.append(f"{name}: {key} = {p[key]:.3g} is below the first fitted lag ({lo:g})")
        if key in p and p[key] > SCALE_MAX * max_lag:
            out.append(f"{name}: {key} = {p[key]:.3g} is more than {SCALE_MAX:g} x max-lag: "
                       "no decay scale is resolved by the measured lags")  # fmt: skip
    for key in ("beta", "gamma"):
        if key in p and p[key] <= 1e-9:
            out.append(f"{name}: {key} = {p[key]:.3g} sits at its bound (no decay fitted)")
    resid = law_log_values(name, p, fit.lags) - fit.log_f
    worst = float(np.exp(np.max(np.abs(resid))))
    if worst > MISFIT_TOL:
        at = int(fit.lags[int(np.argmax(np.abs(resid)))])
        out.append(f"{name} misses the measured envelope by a factor {worst:.3g} at lag {at} "
                   f"(tolerance {MISFIT_TOL:g})")  # fmt: skip
    return out


def decay_comparison(envelope: EnvelopeResult, full, kind: str) -> dict:
    """How far the diagonal envelope falls from lag 1 to L, against the full transport's ``kind``.

    ``ratio`` is ``[f(L) / f(1)] / [n(L) / n(1)]``: below ``1 / DECAY_WARN`` the envelope
    decays much faster than the full transport (routes between units carry memory that the
    diagonal leaves out).
    """
    L = int(envelope.lags[-1])
    if L < 2:
        return {"kind": kind, "ratio": None, "warn": False, "from_lag": 1, "to_lag": L}
    d_env = float(envelope.log_f[L] - envelope.log_f[1])
    d_full = float(full.log_norm[kind][L] - full.log_norm[kind][1])
    log_ratio = d_env - d_full
    return {"kind": kind, "from_lag": 1, "to_lag": L, "envelope_log_drop": d_env,
            "full_log_drop": d_full, "ratio": math.exp(log_ratio),
            "warn": bool(log_ratio < -math.log(DECAY_WARN))}  # fmt: skip


@dataclass(frozen=True)
class WindowEstimate:
    """A trained network's learnability window: measured, fitted, and what was assumed.

    Attributes
    ----------
    envelope : EnvelopeResult
    fit, half_fit : EnvelopeFit
        The laws on lags ``1..L`` and on ``1..L//2`` (``half_fit`` None below 8 lags).
    detection : dict
        The detection constants (:meth:`theory.complexity.Detection.as_dict`).
    rows : tuple of dict
        Per N: ``theta_N``, the measured and the fitted window (see the module docstring).
    degenerate : tuple of str
        Why the chosen law is degenerate (empty when it is not).
    assumptions : tuple of Assumption
    warnings : tuple of str
    meta : dict
        What was loaded (architecture, file, layer, sizes).
    full : FullTransport or None
    decay : dict or None
        :func:`decay_comparison` of the envelope with the full transport.
    """

    envelope: EnvelopeResult
    fit: EnvelopeFit
    half_fit: EnvelopeFit | None
    detection: dict
    rows: tuple
    degenerate: tuple
    assumptions: tuple
    warnings: tuple = ()
    meta: dict = field(default_factory=dict)
    full: object = None
    decay: dict | None = None

    @property
    def max_lag(self) -> int:
        """The largest measured lag ``L``."""
        return int(self.envelope.lags[-1])

    def as_dict(self) -> dict:
        """Plain data for JSON (no NaN: H_N is null where no lag is learnable)."""
        out = {
            **self.meta,
            "assumptions": [a.as_dict() for a in self.assumptions],
            "detection": self.detection,
            "max_lag": self.max_lag,
            "order": self.envelope.order,
            "envelope": [float(v) for v in self.envelope.f],
            "log_envelope": [float(v) for v in self.envelope.log_f],
            "fits": self.fit.table(),
            "law": self.fit.best_name,
            "law_params": self.fit.fit(self.fit.best_name).params,
            "half_lags_law": None if self.half_fit is None else self.half_fit.best_name,
            "degenerate": list(self.degenerate),
            "windows": [dict(r) for r in self.rows],
            "warnings": list(self.warnings),
        }
        if self.full is not None:
            out["full_transport"] = {
                "norm": "Frobenius, mean over sequences and positions",
                "log_norm": {
                    k: [float(v) for v in self.full.log_norm[k]] for k in self.full.kinds
                },  # fmt: skip
                "explicit_pairs": int(self.full.explicit),
                "decay": self.decay,
            }
        return out


def _row(n, det, envelope, win, half_win, L, steps):
    log_theta = float(det.log_theta(n))
    ok = envelope.log_f >= log_theta
    measured = _measured(envelope.log_f, log_theta)
    h, learnable, log1p = _floor_window(win, n)
    beyond = (h is None) or (learnable and h > L)
    need = None
    if beyond and h is not None:
        need = h + 1
    row = {
        "N": float(n),
        "theta_N": math.exp(log_theta),
        "measured": {
            "H_N": measured if measured >= 0 else None,
            "learnable": measured >= 0,
            "censored": bool(ok[-1]),
        },  # fmt: skip
        "fitted": {
            "H_N": h if learnable else None,
            "learnable": learnable,
            "log1p_H_N": log1p,
            "extrapolated": bool(beyond),
            "max_lag_needed": need,
            "steps_needed": None if need is None or need <= steps else need,
        },  # fmt: skip
    }
    if half_win is not None:
        hh, hl, _ = _floor_window(half_win, n)
        if not learnable and not hl:
            stable = True
        elif learnable != hl or h is None or hh is None:
            stable = False
        else:
            stable = abs(h - hh) <= STABILITY_TOL * max(1, h)
        row["fitted"]["half_lags_H_N"] = hh if hl else None
        row["fitted"]["stable"] = bool(stable)
    else:
        row["fitted"]["half_lags_H_N"] = None
        row["fitted"]["stable"] = None
    return row


def _measured(log_f, log_theta):
    ok = log_f >= log_theta
    return int(np.flatnonzero(ok)[-1]) if ok.any() else -1


def measured_interval(sequence_log_f, log_theta, n_boot=BOOT, level=0.95, seed=0):
    """Percentile-bootstrap interval of the measured window over the probe sequences.

    ``sequence_log_f`` (B, L + 1) holds each sequence's envelope (the envelope is their
    mean: every sequence has the same positions per lag).  Returns ``(lo, hi)`` (-1: none
    learnable) or None for fewer than 2 sequences.
    """
    logs = np.asarray(sequence_log_f, dtype=float)
    B = logs.shape[0]
    if B < 2:
        return None
    rng = np.random.default_rng(seed)
    m = np.max(logs, axis=0)
    m = np.where(np.isfinite(m), m, 0.0)
    lin = np.exp(logs - m)
    hs = np.empty(n_boot, dtype=np.int64)
    for i in range(n_boot):
        pick = rng.integers(0, B, B)
        with np.errstate(divide="ignore"):
            hs[i] = _measured(np.log(lin[pick].mean(axis=0)) + m, log_theta)
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(hs, [a, 1.0 - a], method="inverted_cdf")
    return int(lo), int(hi)


def estimate_window(envelope: EnvelopeResult, ns, alpha, sigma=1.0, c=1.0, delta=0.1, *,
                    steps, assumptions=(), warnings=(), meta=None, full=None,
                    sequence_log_f=None,
                    full_kind="h") -> WindowEstimate:  # fmt: skip
    """Measured and fitted windows of a measured envelope at the sample sizes ``ns``.

    Parameters
    ----------
    envelope : EnvelopeResult
        The measured envelope (lags ``0..L``).
    ns : sequence of float
        Sample sizes >= 1.
    alpha, sigma, c, delta
        The detection constants (:class:`theory.complexity.Detection`).
    steps : int
        Length of the probe sequences (the largest ``max_lag`` they allow).
    assumptions, warnings, meta
        Recorded as given (see :class:`WindowEstimate`).
    full : FullTransport, optional
        The full transport; ``full_kind`` names the kind the envelope is compared with.
    sequence_log_f : array_like, shape (B, L + 1), optional
        Each probe sequence's envelope: gives the measured window a bootstrap interval
        over the sequences (:func:`measured_interval`, 95 %, seeded).
    """
    import theory

    L = int(envelope.lags[-1])
    fit = fit_envelope(envelope)
    half_fit = fit_envelope(envelope, max_lag=L // 2) if L >= 8 else None
    consts = {"sigma": sigma, "c": c, "delta": delta}
    win = theory.learnability_window(fit.best, alpha, **consts)
    half_win = None if half_fit is None else theory.learnability_window(half_fit.best, alpha,
                                                                        **consts)  # fmt: skip
    det = win.detection
    rows = tuple(_row(n, det, envelope, win, half_win, L, steps) for n in ns)
    for r in rows:
        ci = (None if sequence_log_f is None else
              measured_interval(sequence_log_f, float(det.log_theta(r["N"]))))  # fmt: skip
        r["measured"]["interval"] = None if ci is None else [None if v < 0 else v for v in ci]
    degenerate = tuple(fit_diagnostics(fit, L))
    warns = list(warnings)
    if degenerate:
        warns.append("the fitted law is degenerate: " + "; ".join(degenerate))
    if any(r["fitted"]["extrapolated"] for r in rows):
        warns.append(f"a fitted H_N lies beyond the largest measured lag {L}: it is an "
                     "extrapolation of the law, not a measurement")  # fmt: skip
    if any(r["fitted"]["stable"] is False for r in rows):
        warns.append(f"the fit is unstable: on lags 1..{L // 2} it gives an H_N more than "
                     f"{STABILITY_TOL:.0%} from the fit on 1..{L}")  # fmt: skip
    decay = None
    if full is not None:
        decay = decay_comparison(envelope, full, full_kind)
        if decay["warn"]:
            warns.append(
                f"the diagonal envelope decays much faster than the full transport: from lag "
                f"1 to {L} it falls {1 / decay['ratio']:.3g} times further than "
                f"||d{full_kind}_t/d{full_kind}_(t-l)|| (ratio {decay['ratio']:.3g} < "
                f"1/{DECAY_WARN:g}); memory that runs between units is not in the envelope"
            )
    return WindowEstimate(envelope=envelope, fit=fit, half_fit=half_fit,
                          detection=det.as_dict(), rows=rows, degenerate=degenerate,
                          assumptions=tuple(assumptions), warnings=tuple(warns),
                          meta=dict(meta or {}), full=full, decay=decay)  # fmt: skip
