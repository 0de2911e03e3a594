"""E6: the theorem's detection size on real gradients (the reduce, plain NumPy).

Each trained cell that measured it carries, at its untrained start and at its last
checkpoint, the lag-resolved per-sequence gradients of :mod:`verify.training.lag_signal`
and ``log f_hat`` at the planted lags with unit rates (the gradient carries the transport;
the optimizer's rate multiplies the update afterwards, so it is no part of the signal).
:func:`verify.training.detection_size.measure_network` turns them into ``N_det(l)``.

The theory (THEORY.md sections 2 and 8): ``N_det(l) = ((eps + q_{1-delta}) sigma /
(c f(l)))^kappa``, so ``log N_det`` against ``log f_hat`` has slope ``-kappa(alpha_hat)``
(v1: ``-alpha_hat``).  Decision, fixed in advance: per measurable network (at least
:data:`MIN_LAGS` lags with ``N_det`` inside the grid, spanning at least :data:`MIN_SPAN`
nats of ``log f_hat``) the deviation ``d = slope + kappa``; over networks its mean with a
95 % t-interval; PASS when the interval lies inside ``(-MARGIN, MARGIN)``, FAIL when it
lies outside, INCONCLUSIVE when it straddles a bound or fewer than two networks are
measurable.  Views and the test: :mod:`verify.training.detection_size`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from . import detection_size as ds

__all__ = ["MARGIN", "check_e6", "equivalence", "positive_control"]

#: Equivalence margin on the slope (the same as E2's).
MARGIN = 0.5
#: A network is measurable with at least this many lags inside the grid over this span.
MIN_LAGS, MIN_SPAN = 3, 1.0
#: The view that decides (the lag's own contribution, the literal per-lag statistic).
PRIMARY = "own"
#: Positive control: tail index, seeds and the span of its synthetic envelope.
CONTROL_ALPHA, CONTROL_SEEDS, CONTROL_SEQUENCES = 1.5, 8, 8192
CONTROL_LOG_F = np.linspace(0.0, -2.0, 10)


def equivalence(d, margin=MARGIN):
    """Mean of ``d`` with its 95 % t-interval and the verdict of the equivalence test."""
    d = np.asarray([v for v in d if np.isfinite(v)], dtype=float)
    if d.size < 2:
        return {
            "n": int(d.size),
            "mean": math.nan,
            "ci": [math.nan, math.nan],
            "verdict": "inconclusive",
        }
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    lo, hi = d.mean() - half, d.mean() + half
    verdict = (
        "pass"
        if -margin < lo and hi < margin
        else "fail"
        if hi <= -margin or lo >= margin
        else "inconclusive"
    )  # noqa: E501
    return {
        "n": int(d.size),
        "mean": float(d.mean()),
        "ci": [float(lo), float(hi)],
        "verdict": verdict,
    }


def _measurable(m):
    ok = m.get("measurable")
    return ok is not None and ok.sum() >= MIN_LAGS and m["log_f_span"] >= MIN_SPAN


def positive_control(seed=0, alpha=CONTROL_ALPHA, seeds=CONTROL_SEEDS):
    """Synthetic SaS evidence of known ``alpha`` and signal through the same estimator.

    Recovered when the equivalence test against ``-kappa(alpha)`` passes; the v1 exponent
    is rejected when the same test against ``-alpha`` fails.
    """
    ms = []
    for k in range(seeds):
        g, total = ds.synthetic_contributions(
            alpha, CONTROL_LOG_F, sequences=CONTROL_SEQUENCES, seed=seed + 1000 + k
        )
        ms.append(ds.measure_network(g, total, CONTROL_LOG_F, view=PRIMARY, seed=seed + k))
    kap = equivalence([m["slope"] + m["kappa"] for m in ms if _measurable(m)])
    v1 = equivalence([m["slope"] + m["alpha"] for m in ms if _measurable(m)])
    return {
        "alpha": alpha,
        "alpha_hat": [m["alpha"] for m in ms],
        "slopes": [m["slope"] for m in ms],
        "kappa": kap,
        "v1": v1,
        "recovered": kap["verdict"] == "pass",
        "v1_rejected": v1["verdict"] == "fail",
    }


def _negative_control(measures, seed):
    """The same evidence with a random sign per sequence: no lag may be detected."""
    found, lags, fa, draws = 0, 0, [], 0
    rng = np.random.default_rng(seed)
    for g, total, log_f in measures:
        xi = rng.choice([-1.0, 1.0], size=(1, g.shape[1], 1))
        m = ds.measure_network(g * xi, total * xi[..., 0], log_f, view=PRIMARY, seed=seed)
        if m.get("n_det") is None:
            continue
        found += int(np.isfinite(m["n_det"]).sum())
        lags += len(log_f)
        fa += list(m["power_at_max"])
        draws += ds.DRAWS * len(log_f)
    rate = float(np.mean(fa)) if fa else math.nan
    # the false-alarm rate at the largest N: the level plus 3 binomial sd over the lags
    bound = ds.LEVEL + 3.0 * math.sqrt(ds.LEVEL * (1 - ds.LEVEL) / max(len(fa), 1))
    return found, lags, rate, bound


def _row(name, when, m):
    ok = m.get("measurable")
    n_ok = 0 if ok is None else int(ok.sum())
    closed = m.get("n_closed")
    return {
        "network": f"{name} ({when})",
        "alpha_hat [95% CI]": f"{m['alpha']:.3f} [{m['alpha_ci'][0]:.3f}, {m['alpha_ci'][1]:.3f}]",
        "lags with N_det in the grid": f"{n_ok}/{len(m['log_f'])}",
        "log f_hat span (nats)": m.get("log_f_span", 0.0),
        "slope [95% CI]": "-"
        if not np.isfinite(m.get("slope", math.nan))
        else f"{m['slope']:.2f} [{m['slope_ci'][0]:.2f}, {m['slope_ci'][1]:.2f}]",
        "-kappa(alpha_hat)": -m["kappa"] if np.isfinite(m.get("kappa", math.nan)) else "-",
        "median closed-form N": "-" if closed is None else f"{np.median(closed):.3g}",
    }


def check_e6(cells, seed):
    """E6 from the cells that measured it: ``(name, e6 dict)`` pairs; see module docstring."""
    from verify.claims.base import CheckResult

    rows, d, d_v1, d_grad, measures, fig = [], [], [], [], [], []
    n_seq = 0
    for name, e6 in cells:
        for when in ("init", "final"):
            if when not in e6:
                continue
            g, total, log_f = e6[when]["g"], e6[when]["total"], e6[when]["log_f"]
            n_seq = max(n_seq, g.shape[1] // 2)
            measures.append((g, total, log_f))
            m = ds.measure_network(g, total, log_f, view=PRIMARY, seed=seed)
            mg = ds.measure_network(g, total, log_f, view="gradient", seed=seed)
            rows.append(_row(name, when, m))
            rows[-1]["gradient view: lags in grid"] = (
                "-" if mg.get("measurable") is None else int(mg["measurable"].sum())
            )
            if _measurable(m):
                d.append(m["slope"] + m["kappa"])
                d_v1.append(m["slope"] + m["alpha"])
                fig.append(
                    {
                        "network": f"{name} ({when})",
                        "log_f": log_f.tolist(),
                        "n_det": m["n_det"].tolist(),
                        "kappa": m["kappa"],
                    }
                )
            if _measurable(mg):
                d_grad.append(mg["slope"] + mg["kappa"])
    pos = positive_control(seed)
    found, n_lags, fa_rate, fa_bound = _negative_control(measures, seed + 7)
    control = {
        "description": "the same per-sequence evidence with a random sign per sequence (zero "
        "mean, same tails): no lag may be detected; and synthetic SaS evidence of alpha "
        f"{CONTROL_ALPHA} with a known signal must give back -kappa and reject -alpha",
        "rejected": bool(
            found == 0
            and not fa_rate > fa_bound  # nan (nothing measured) does not count against it
            and pos["recovered"]
            and pos["v1_rejected"]
        ),
        "detail": f"random signs: {found}/{n_lags} lags detected, false-alarm rate at the "
        f"largest N {fa_rate:.3f} (bound {fa_bound:.3f}); synthetic: slope + kappa = "
        f"{pos['kappa']['mean']:.3f} {_ci(pos['kappa'])} ({pos['kappa']['verdict']}), "
        f"slope + alpha = {pos['v1']['mean']:.3f} {_ci(pos['v1'])} ({pos['v1']['verdict']})",
    }
    eq, v1, grad = equivalence(d), equivalence(d_v1), equivalence(d_grad)
    verdict = eq["verdict"]
    if not control["rejected"]:
        verdict = "fail" if measures else "error"
    notes = [
        f"Test: level delta0 = {ds.LEVEL}, power 1 - delta = {1 - ds.DELTA}; {ds.DRAWS} "
        f"subsamples per N on a grid of ratio 2^(1/4) up to {n_seq} sequences (half of each "
        "network's batch: the other half fixes the sign of each direction's mean).",
        f"Decided on the '{PRIMARY}' view (the lag's own contribution, the corrected psi). "
        f"The 'gradient' view (the lag's signal against the whole per-sequence gradient's "
        f"noise): slope + kappa = {grad['mean']:.3f} {_ci(grad)} over {grad['n']} measurable "
        "networks.",
        f"v1's rival: slope + alpha_hat = {v1['mean']:.3f} {_ci(v1)} ({v1['verdict']} "
        f"against the same margin, {v1['n']} networks).",
        "Where N_det lies beyond the grid, the closed form at the measured alpha_hat, sigma_hat "
        "and mean says how many sequences a decision would need (last column).",
    ]
    return CheckResult(
        claim="E6",
        title="on real gradients the detection size N_det(l) scales as f_hat(l)^(-kappa)",
        verdict=verdict,
        predicted="slope of log N_det on log f_hat = -kappa(alpha_hat); v1: -alpha_hat",
        measured=f"slope + kappa = {eq['mean']:.3f} {_ci(eq)} over {eq['n']} measurable "
        f"networks (of {len(rows)})",
        tolerance=f"equivalence margin |slope + kappa| < {MARGIN}: PASS when the 95 % "
        "t-interval over networks lies inside, FAIL when outside, INCONCLUSIVE otherwise or "
        f"with fewer than 2 networks having >= {MIN_LAGS} lags inside the grid over >= "
        f"{MIN_SPAN} nat of log f_hat",
        rows=rows,
        negative_control=control,
        notes=notes,
        figures={"e6_ndet": fig},
        resolution={
            "slope + kappa (95 % half-width)": _half(eq),
            "margin": MARGIN,
            "largest N resolved (sequences)": n_seq,
        },
        params={"positive_control": pos},
    )


def _ci(e):
    return f"[{e['ci'][0]:.3f}, {e['ci'][1]:.3f}]"


def _half(e):
    return (e["ci"][1] - e["ci"][0]) / 2 if np.all(np.isfinite(e["ci"])) else math.inf
