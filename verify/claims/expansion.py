"""C7 on ensembles of networks: the first-order expansion against the exact transport.

Per architecture (ConstGate, SharedGate, DiagGate, GRU, LSTM) the check draws networks,
transports each exactly and to first and zeroth order (:func:`verify.recurrences.diagnostics.
expansion_accuracy`), and decides three things on the ensemble: the first order is closer
to the exact transport than the zeroth order (a one-sided t test on the per-network log error
ratio), its per-unit ranking of lags follows the exact one (a share of networks above the
paper's minimum Spearman rho), and whether it decays faster (the "conservative" clause, with
its own per-architecture verdict: ``partial`` when only it fails).
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
from .base import CheckResult, claim
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
#: C7 draws this many networks per architecture for each of the profile's ``net_cells``
#: (40 in the quick profile): at level 1e-4 a t bound on 8 networks (7 df, t = 7.1) could not
#: tell a correction x3 from the right one; small networks make 40 per architecture cheap.
C7_NETS_PER_NET_CELL = 5


@functools.cache
def _t_quantile(p: float, df: int) -> float:
    # the resolution's bootstrap asks for the same quantile thousands of times
    return float(stats.t.ppf(p, df))


def _closer(log_ratio, level):
    """One-sided t test: the mean log ratio shown >= log C7_MARGIN means "not closer"."""
    lr = np.asarray(log_ratio, dtype=float)
    n = lr.size
    sd = float(lr.std(ddof=1)) if n > 1 else 0.0
    lower = float(lr.mean() - _t_quantile(1 - level, n - 1) * sd / np.sqrt(n))
    return {"gm": float(np.exp(lr.mean())), "lower": float(np.exp(lower)),
            "holds": bool(lower < np.log(C7_MARGIN))}  # fmt: skip


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
    r = diag.expansion_accuracy(net, x, cell["max_lag"])
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
    """Per architecture: accuracy against the zeroth order, ordering, conservativeness."""
    hidden, steps = profile.net_hidden // 2, profile.net_steps // 2
    max_lag, n = steps // 2, C7_NETS_PER_NET_CELL * profile.net_cells
    cells = [{"arch": a, "seed": s % 2**31, "hidden": hidden, "steps": steps, "max_lag": max_lag}
             for i, a in enumerate(ARCHS) for s in cell_seeds(seed, n, 70 + i)]  # fmt: skip
    res = map_cells(_c7_cell, cells, label="C7")
    by = {a: [r for c, r in zip(cells, res, strict=True) if c["arch"] == a] for a in ARCHS}
    # half the budget to the ordering share, half to the accuracy t tests (one per
    # architecture); the conservative clause's t tests make a 'partial', never a 'fail'
    level = false_alarm / 2
    rho_test = fraction_test([r["mean_unit_rho"] >= RHO_BAR for r in res], level)
    acc_level = level / len(ARCHS)
    rng = np.random.default_rng(seed % 2**31)
    rows, fig, cons_all, fail_by_arch = [], {}, [], []
    main_ok, neg_ok = rho_test["holds"], True
    scales = diag.CORRECTION_SCALES
    for a, rs in by.items():
        sq0 = np.array([r["sq_err_zeroth"] for r in rs])
        sq1 = np.array([r["sq_err_first"] for r in rs])
        sqk = np.array([r["sq_err_scaled"] for r in rs])  # (n, scales)
        ratio = _pooled_ratio(sq1, sq0)
        log_ratio = 0.5 * (np.log(np.maximum(sq1, 1e-300)) - np.log(np.maximum(sq0, 1e-300)))
        acc = _closer(log_ratio, acc_level)
        share = fraction_test(log_ratio < 0.0, acc_level)  # reported, not tested
        idx = rng.integers(0, len(rs), (200, len(rs)))
        # resolution: multiples k of the correction that fail the test in >= 90 % of
        # bootstrap ensembles
        log_k = 0.5 * (np.log(np.maximum(sqk, 1e-300))
                       - np.log(np.maximum(sq0, 1e-300))[:, None])  # fmt: skip
        fail_p = [np.mean([not _closer(log_k[i, j], acc_level)["holds"] for i in idx])
                  for j in range(len(scales))]  # fmt: skip
        fail_by_arch.append(fail_p)
        acc_ok = acc["holds"]
        j3 = list(scales).index(3.0)
        x3 = _closer(log_k[:, j3], acc_level)
        # negative controls: the zeroth order in place of the first (ratio exactly 1) must
        # fail the accuracy test; the lag-shuffled first order must fail the rho bar
        zeroth = _closer(np.zeros_like(log_ratio), acc_level)
        neg_ok &= (not zeroth["holds"]) and all(r["rho_shuffled"] < RHO_BAR for r in rs)
        rel = np.array([(r["decay_first"] - r["decay_exact"]) / abs(r["decay_exact"]) for r in rs])
        t_up = rel.mean() + stats.t.ppf(1 - level / len(ARCHS), len(rel) - 1) * rel.std(ddof=1) \
            / np.sqrt(len(rel))  # fmt: skip
        cons = bool(t_up >= 0.0)  # not shown to decay slower than exact
        cons_all.append(cons)
        main_ok &= acc_ok
        rhos = [r["mean_unit_rho"] for r in rs]
        rows.append({
            "architecture": a, "networks": len(rs),
            "RMS log error first / zeroth (pooled)": f"{ratio:.3f}",
            "geometric mean ratio (lower bound)": f"{acc['gm']:.3f} ({acc['lower']:.3f})",
            "accurate": acc_ok,
            "networks where first is closer": describe_fraction(share),
            "at correction x3 (power)": f"{x3['gm']:.2f} ({x3['lower']:.2f}; "
            f"{fail_p[j3]:.2f})",
            "mean / min unit rho": f"{np.mean(rhos):.4f} / {np.min(rhos):.4f}",
            "share with rho >= 0.972": f"{np.mean([v >= RHO_BAR for v in rhos]):.2f}",
            "decay (first - exact) / exact": f"{rel.mean():+.4f} (upper bound {t_up:+.4f})",
            "conservative share": f"{np.mean([r['conservative'] for r in rs]):.2f}",
            "conservative": cons,
        })  # fmt: skip
        fig[a] = rs[0]["fig"]
    all_rho = [r["mean_unit_rho"] for r in res]
    n_cons = sum(cons_all)
    verdict = "fail" if not (main_ok and neg_ok) else ("pass" if all(cons_all) else "partial")
    # the claim fails when any architecture fails: its power against a correction k is
    # 1 - prod(1 - p_arch(k)) over the (independent) architectures
    claim_p = 1.0 - np.prod(1.0 - np.asarray(fail_by_arch), axis=0)
    res_k = min((k for k, p in zip(scales, claim_p, strict=True) if k > 1 and p >= 0.9),
                default=None)  # fmt: skip
    return CheckResult(
        "C7", "", verdict,
        predicted="first order closer to the exact transport than the zeroth order by at least "
        f"a tenth (geometric mean over networks of the RMS log-error ratio not shown >= "
        f"{C7_MARGIN:g}) per architecture; unit "
        f"rho >= 0.972 in >= {P0:.0%} of networks "
        "(paper: mean 0.998, min 0.972); first order decays faster (conservative)",
        measured=f"{len(res)} networks: mean unit rho {np.mean(all_rho):.4f}, min "
        f"{np.min(all_rho):.4f}, share >= 0.972 {describe_fraction(rho_test)}; geometric-mean "
        "error ratio (lower bound) "
        + ", ".join(f"{r['architecture']} {r['geometric mean ratio (lower bound)']}"
                    for r in rows)
        + f"; conservative in {n_cons}/{len(ARCHS)} architectures",
        tolerance=f"accuracy: per architecture the mean log ratio is not shown >= log "
        f"{C7_MARGIN:g} (its one-sided t lower bound at level {acc_level:.1e} stays below); "
        "rho share: "
        f"Clopper-Pearson upper bound >= {P0} at level "
        f"{level:.1e}; conservative unless a one-sided t bound shows slower decay",
        rows=rows,
        negative_control={"description": "the zeroth order in place of the first must fail the "
                          "accuracy test and the first-order envelope with its lags shuffled must "
                          "fall below rho 0.972, in every architecture (a correction x3 is a "
                          "resolution, not a control: its rejection rate per architecture is "
                          "the power column)", "rejected": bool(neg_ok)},
        params={"steps": steps, "max_lag": max_lag, "hidden": hidden, "networks per arch": n},
        notes=["The envelope-level rho is 1 for any two monotone envelopes, so the per-unit "
               "rho is the ordering statistic; the accuracy against the zeroth order is what "
               "tests the expansion itself.",
               f"The conservative clause has its own verdict per architecture (column "
               f"'conservative'); the claim is 'partial' when the rest holds but it fails in "
               f"some architecture: here {n_cons}/{len(ARCHS)}."],
        figures={"transport": fig},
        resolution={"smallest correction multiple k > 1 failed (claim level)":
                    res_k if res_k is not None else "none"},
    )  # fmt: skip
