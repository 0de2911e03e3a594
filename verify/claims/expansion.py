"""C7 on ensembles of networks: the first-order expansion against the exact transport.

Per architecture (ConstGate, SharedGate, DiagGate, GRU, LSTM) the check draws networks,
transports each exactly and to first and zeroth order (:func:`verify.recurrences.diagnostics.
expansion_accuracy`), and decides four things on the ensemble: the first order is closer
to the exact transport than the zeroth order by a stated margin (t intervals on the
per-network log error ratio), its correction has the right size (the multiple of the
correction that minimises the ensemble's error lies within [0.8, 1.25]: a correction taken
x1.5, x0.5, x2 or with the wrong sign fails), its per-unit ranking of lags follows the exact
one (a share of networks above the paper's minimum Spearman rho), and whether it decays
faster (the "conservative" clause, with its own per-architecture verdict: ``partial`` when
only it fails).  Each of the first three is three-way: PASS when shown, FAIL when refuted,
INCONCLUSIVE between.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import stats
from scipy.stats import spearmanr

from theory import spectra

from .. import recurrences as rec
from ..parallel import map_cells
from ..recurrences import diagnostics as diag
from .base import Z_PASS, CheckResult, claim, combine, z_threshold
from .ensembles import P0, cell_seeds, describe_fraction, fraction_test

__all__ = ["check_c7"]

ARCHS = ("ConstGate", "SharedGate", "DiagGate", "GRU", "LSTM")
#: The paper's minimum per-run Spearman rho.
RHO_BAR = 0.972
#: Accuracy: against the product of the exact diagonal entries (what the expansion
#: expands), the first order must be closer than the zeroth order by a stated margin, per
#: architecture: the ensemble's geometric mean of the per-network ratio of RMS log errors
#: (first / zeroth) below C7_MARGIN = 0.9, i.e. at least a tenth of the zeroth order's
#: error removed. The claim fails when a one-sided t lower bound on the mean log ratio
#: reaches log 0.9. Without a margin, any first order statistically indistinguishable from
#: the zeroth order would pass (the zeroth order itself fails only on an exact tie). The log
#: makes the per-network ratios (heavy-tailed: 0.02 to 4) fit for a t test; their skew makes
#: the level approximate. The share of networks in which the first order is closer is
#: reported, not tested: it is 0.65-0.85 for ConstGate and SharedGate, so "closer in >= 90 %
#: of networks" does not hold there. An earlier fixed bar of 0.85 on the pooled ratio failed
#: 1 of 50 suite seeds (SharedGate, pooled ratio 1.09).
C7_MARGIN = 0.9
#: The multiples of the correction at which each network's error is measured (1 is the
#: first order itself); the ensemble's best multiple is the vertex of a parabola through
#: the mean normalised errors.
C7_SCALES = (0.5, 0.75, 1.25, 1.5)
#: Tolerance on the best multiple of the correction: [1/1.25, 1.25].  A correction taken
#: x1.5 moves the best multiple to about 0.67, x0.5 to about 2: both outside.
C7_MULTIPLE = (0.8, 1.25)
#: Planted multiples the check tries on its own networks (the sign: -1): a correction taken
#: ``c`` times evaluated at the multiples ``c * (1, *C7_SCALES)`` is exactly what the check
#: would see were the correction planted ``c`` times, so the verdict it would give is
#: measured on the same networks, not approximated.
C7_PLANTED = (1.5, 0.5, 2.0, -1.0)
#: Every multiple each network's error is measured at: the check's own, then per planted
#: ``c`` the planted first order and its multiples.
C7_ALL_SCALES = (*C7_SCALES, *(c * k for c in C7_PLANTED for k in (1.0, *C7_SCALES)))
#: C7 draws this many networks per architecture for each of the profile's ``net_cells``
#: (40 in the quick profile): at level 1e-4 a t bound on 8 networks (7 df, t = 7.1) could not
#: tell a correction x3 from the right one; small networks make 40 per architecture cheap.
C7_NETS_PER_NET_CELL = 5


@functools.cache
def _t_quantile(p: float, df: int) -> float:
    # the resolution's bootstrap asks for the same quantile thousands of times
    return float(stats.t.ppf(p, df))


def _closer(log_ratio, level):
    """Three-way t test of "the mean log ratio (first / zeroth) lies below log C7_MARGIN".

    FAIL when the one-sided lower bound at ``level`` reaches the margin (shown not closer);
    PASS when the one-sided upper bound at PASS_ERROR stays below it (shown closer).
    """
    lr = np.asarray(log_ratio, dtype=float)
    n = lr.size
    sd = float(lr.std(ddof=1)) if n > 1 else 0.0
    se = sd / np.sqrt(n)
    lower = float(lr.mean() - _t_quantile(1 - level, n - 1) * se)
    upper = float(lr.mean() + _t_quantile(1 - 0.1, n - 1) * se)
    margin = np.log(C7_MARGIN)
    verdict = "fail" if lower >= margin else ("pass" if upper < margin else "inconclusive")
    return {"gm": float(np.exp(lr.mean())), "lower": float(np.exp(lower)),
            "upper": float(np.exp(upper)), "verdict": verdict,
            "holds": verdict != "fail"}  # fmt: skip


def _vertex(curve, ks):
    """Minimiser of the least-squares parabola through ``(ks, curve)``; nan without one."""
    c2, c1, _ = np.polyfit(ks, curve, 2)
    return float(-c1 / (2 * c2)) if c2 > 0 and np.isfinite(c1) else float("nan")


def best_multiple(sq_first, sq_scaled):
    """The ensemble's best multiple of the correction, and its jackknife standard error.

    Each network's squared log error at the multiples ``(1, *C7_SCALES)`` is divided by its
    error at 1 (so every network weighs alike); the mean curve's parabola vertex is the
    multiple that minimises the ensemble's error.  Under a correction planted ``c`` times,
    it moves to about ``1 / c``.
    """
    ks = np.array((1.0, *C7_SCALES))
    sq = np.column_stack([sq_first, sq_scaled])
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = sq / sq[:, :1]
    if not np.all(np.isfinite(norm)):
        return float("nan"), float("nan")
    k = _vertex(norm.mean(axis=0), ks)
    n = norm.shape[0]
    loo = np.array([_vertex(np.delete(norm, j, axis=0).mean(axis=0), ks) for j in range(n)])
    se = float(np.sqrt((n - 1) / n * np.sum((loo - loo.mean()) ** 2)))
    return k, se


def _multiple_verdict(k, se, z):
    """Three-way: the best multiple's interval inside :data:`C7_MULTIPLE` (PASS), outside (FAIL)."""
    lo, hi = C7_MULTIPLE
    if not (np.isfinite(k) and np.isfinite(se)):
        return "fail"  # no minimum: the error does not depend on the correction
    if k + z * se < lo or k - z * se > hi:
        return "fail"
    return "pass" if lo <= k - Z_PASS * se and k + Z_PASS * se <= hi else "inconclusive"


def _planted_verdict(block, sq0, level, z_k):
    """Accuracy and multiple verdicts of one architecture under a planted correction.

    ``block`` holds each network's squared log error at ``c * (1, *C7_SCALES)``: column 0 is
    the planted first order, the rest its multiples.
    """
    k_hat, k_se = best_multiple(block[:, 0], block[:, 1:])
    acc = _closer(_log_error_ratio(block[:, 0], sq0), level)
    return combine(acc["verdict"], _multiple_verdict(k_hat, k_se, z_k))


def _log_error_ratio(sq1, sq0):
    """Per network, ``log`` of the RMS error ratio (first / zeroth) from squared errors."""
    return 0.5 * (np.log(np.maximum(sq1, 1e-300)) - np.log(np.maximum(sq0, 1e-300)))


def _arch_net(arch, hidden, seed):
    chrono = rec.Chrono(t_max=50)
    if arch == "ConstGate":
        return rec.ConstGate.init(hidden, 2, spectra.Homogeneous(0.95), seed=seed)
    if arch == "SharedGate":
        return rec.SharedGate.init(hidden, 2, spectra.Homogeneous(0.95), seed=seed)
    if arch == "DiagGate":
        return rec.DiagGate.init(hidden, 2, spectra.BetaRetention(9.0, 1.0), seed=seed)
    if arch == "GRU":
        return rec.GRU.init(hidden, 2, chrono, seed=seed)
    return rec.LSTM.init(hidden, 2, chrono, seed=seed)


def _c7_cell(cell: dict) -> dict:
    net = _arch_net(cell["arch"], cell["hidden"], cell["seed"])
    x = rec.random_inputs(2, cell["steps"], 2, seed=cell["seed"] + 1)
    r = diag.expansion_accuracy(net, x, cell["max_lag"], scales=C7_ALL_SCALES)
    keep = ("sq_err_first", "sq_err_zeroth", "sq_err_scaled", "mean_unit_rho", "min_unit_rho",
            "decay_first", "decay_exact", "conservative", "err_first", "err_zeroth")  # fmt: skip
    out = {k: r[k] for k in keep}
    out["fig"] = {
        "lags": r["lags"].tolist(),
        "log_f_first": r["log_f_first"].tolist(),
        "log_f_exact": r["log_f_exact"].tolist(),
        "mean_unit_rho": r["mean_unit_rho"],
    }
    perm = np.random.default_rng(cell["seed"] + 7).permutation(r["log_f_first"].size)
    out["rho_shuffled"] = float(spearmanr(r["log_f_first"][perm], r["log_f_exact"]).statistic)
    return out


def _pooled_ratio(sq_num, sq_den):
    return float(np.sqrt(np.sum(sq_num) / np.sum(sq_den))) if np.sum(sq_den) > 0 else np.inf


@claim("C7", "The first-order expansion keeps the ordering of the exact transport")
def check_c7(profile, seed, false_alarm):
    """Per architecture: accuracy against the zeroth order, the correction's size, ordering."""
    hidden, steps = profile.net_hidden // 2, profile.net_steps // 2
    max_lag, n = steps // 2, C7_NETS_PER_NET_CELL * profile.net_cells
    cells = [{"arch": a, "seed": s % 2**31, "hidden": hidden, "steps": steps, "max_lag": max_lag}
             for i, a in enumerate(ARCHS) for s in cell_seeds(seed, n, 70 + i)]  # fmt: skip
    res = map_cells(_c7_cell, cells, label="C7")
    by = {a: [r for c, r in zip(cells, res, strict=True) if c["arch"] == a] for a in ARCHS}
    # half the budget to the ordering share, half to the accuracy and multiple tests (two
    # per architecture); the conservative clause's t tests make a 'partial', never a 'fail'
    level = false_alarm / 2
    rho_test = fraction_test([r["mean_unit_rho"] >= RHO_BAR for r in res], level)
    acc_level = level / (2 * len(ARCHS))
    z_k = z_threshold(acc_level, 1)
    rows, fig, cons_all, verdicts, neg_ok = [], {}, [], [rho_test["verdict"]], True
    planted = {c: [] for c in C7_PLANTED}
    n_k = len(C7_SCALES)
    for a, rs in by.items():
        sq0 = np.array([r["sq_err_zeroth"] for r in rs])
        sq1 = np.array([r["sq_err_first"] for r in rs])
        sq_all = np.array([r["sq_err_scaled"] for r in rs])  # (n, C7_ALL_SCALES)
        sqk = sq_all[:, :n_k]
        ratio = _pooled_ratio(sq1, sq0)
        log_ratio = _log_error_ratio(sq1, sq0)
        acc = _closer(log_ratio, acc_level)
        share = fraction_test(log_ratio < 0.0, acc_level)  # reported, not tested
        k_hat, k_se = best_multiple(sq1, sqk)
        k_verdict = _multiple_verdict(k_hat, k_se, z_k)
        for j, c in enumerate(C7_PLANTED):
            block = sq_all[:, n_k + j * (n_k + 1) : n_k + (j + 1) * (n_k + 1)]
            planted[c].append(_planted_verdict(block, sq0, acc_level, z_k))
        verdicts += [acc["verdict"], k_verdict]
        # negative controls: the zeroth order in place of the first (ratio exactly 1) must
        # fail the accuracy test; the lag-shuffled first order must fail the rho bar
        zeroth = _closer(np.zeros_like(log_ratio), acc_level)
        neg_ok &= zeroth["verdict"] == "fail" and all(r["rho_shuffled"] < RHO_BAR for r in rs)
        rel = np.array([(r["decay_first"] - r["decay_exact"]) / abs(r["decay_exact"]) for r in rs])
        t_up = rel.mean() + stats.t.ppf(1 - level / len(ARCHS), len(rel) - 1) * rel.std(ddof=1) \
            / np.sqrt(len(rel))  # fmt: skip
        cons = bool(t_up >= 0.0)  # not shown to decay slower than exact
        cons_all.append(cons)
        rhos = [r["mean_unit_rho"] for r in rs]
        rows.append({
            "architecture": a, "networks": len(rs),
            "RMS log error first / zeroth (pooled)": f"{ratio:.3f}",
            "geometric mean ratio [lower, upper]": f"{acc['gm']:.3f} [{acc['lower']:.3f}, "
            f"{acc['upper']:.3f}]",
            "closer than zeroth": acc["verdict"].upper(),
            "best multiple of the correction (SE)": f"{k_hat:.3f} ({k_se:.3f})",
            "multiple in [0.8, 1.25]": k_verdict.upper(),
            "networks where first is closer": describe_fraction(share),
            "mean / min unit rho": f"{np.mean(rhos):.4f} / {np.min(rhos):.4f}",
            "share with rho >= 0.972": f"{np.mean([v >= RHO_BAR for v in rhos]):.2f}",
            "decay (first - exact) / exact": f"{rel.mean():+.4f} (upper bound {t_up:+.4f})",
            "conservative share": f"{np.mean([r['conservative'] for r in rs]):.2f}",
            "conservative": cons,
        })  # fmt: skip
        fig[a] = rs[0]["fig"]
    all_rho = [r["mean_unit_rho"] for r in res]
    n_cons = sum(cons_all)
    verdict = combine(*verdicts, "pass" if neg_ok else "fail")
    if verdict == "pass" and not all(cons_all):
        verdict = "partial"
    # the claim's accuracy and multiple tests under each planted correction, worst
    # architecture first (the rho share and the controls are left as measured)
    planted_verdicts = {c: combine(*v) for c, v in planted.items()}
    lo_k, hi_k = C7_MULTIPLE
    return CheckResult(
        "C7", "", verdict,
        predicted="first order closer to the exact transport than the zeroth order by at least "
        f"a tenth (geometric mean over networks of the RMS log-error ratio < {C7_MARGIN:g}) "
        f"and its correction of the right size (the best multiple of it in [{lo_k:g}, "
        f"{hi_k:g}]) per architecture; unit "
        f"rho >= 0.972 in >= {P0:.0%} of networks "
        "(paper: mean 0.998, min 0.972); first order decays faster (conservative)",
        measured=f"{len(res)} networks: mean unit rho {np.mean(all_rho):.4f}, min "
        f"{np.min(all_rho):.4f}, share >= 0.972 {describe_fraction(rho_test)}; geometric-mean "
        "error ratio [bounds] "
        + ", ".join(f"{r['architecture']} {r['geometric mean ratio [lower, upper]']}"
                    for r in rows)
        + "; best multiple "
        + ", ".join(f"{r['architecture']} {r['best multiple of the correction (SE)']}"
                    for r in rows)
        + f"; conservative in {n_cons}/{len(ARCHS)} architectures",
        tolerance=f"accuracy per architecture: FAIL when the mean log ratio's one-sided t lower "
        f"bound (level {acc_level:.1e}) reaches log {C7_MARGIN:g}, PASS when its one-sided "
        f"90 % upper bound stays below; best multiple: FAIL when its interval at z = "
        f"{z_k:.2f} (jackknife SE) lies outside [{lo_k:g}, {hi_k:g}], PASS when its one-sided "
        "90 % interval lies inside; rho share: FAIL when the Clopper-Pearson upper bound "
        f"(level {level:.1e}) is below {P0}, PASS when the one-sided 90 % lower bound reaches "
        "it; conservative unless a one-sided t bound shows slower decay",
        rows=rows,
        negative_control={"description": "the zeroth order in place of the first must fail the "
                          "accuracy test and the first-order envelope with its lags shuffled must "
                          "fall below rho 0.972, in every architecture (a correction planted "
                          "x1.5, x0.5, x2 or with the wrong sign is tried on the same networks: "
                          "the verdicts it would get are under resolution)",
                          "rejected": bool(neg_ok)},
        params={"steps": steps, "max_lag": max_lag, "hidden": hidden, "networks per arch": n,
                "correction multiples": [1.0, *C7_SCALES]},
        notes=["The envelope-level rho is 1 for any two monotone envelopes, so the per-unit "
               "rho is the ordering statistic; the accuracy against the zeroth order and the "
               "best multiple of the correction are what test the expansion itself.",
               "The best multiple is the vertex of the parabola through the ensemble's mean "
               "error at multiples 0.5-1.5 of the correction, each network's error divided "
               "by its error at 1. A correction planted c times does not move it to 1/c: the "
               "error grows much faster above the right multiple than below it (GRU: x5 the "
               "first order's error at 0.75, x30 at 1.5), so the parabola through the shifted "
               "multiples puts its vertex high, and networks are reweighted by their error at "
               "the planted first order. The check therefore evaluates each network at c "
               "times its multiples and reports the verdict the accuracy and multiple tests "
               "would reach under a correction planted c times (resolution): measured on "
               "these networks, not approximated.",
               f"The conservative clause has its own verdict per architecture (column "
               f"'conservative'); the claim is 'partial' when the rest passes but it fails in "
               f"some architecture: here {n_cons}/{len(ARCHS)}."],
        figures={"transport": fig},
        resolution={
            "best multiple of the correction: tolerance of a PASS": f"[{lo_k:g}, {hi_k:g}]",
            **{f"verdict under a correction planted x{c:g} (same networks)": v.upper()
               for c, v in planted_verdicts.items()},
        },
    )  # fmt: skip
