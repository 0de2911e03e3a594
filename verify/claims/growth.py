"""C4: the growth of the window H_N in N, per envelope law, against the SymPy leading term.

Each law has a growth coordinate ``y(H)`` that is affine in ln N along the closed form
(``f(H) = theta_N = K N**(-1/kappa)``); the weighted slope of ``y`` over the simulated
windows of C3's levels (:mod:`.levels`, same seed, same cells) is compared with the slope
that the SymPy leading term of H_N states, and the v1 exponent's slope must be rejected.
"""

from __future__ import annotations

import math

import numpy as np

import theory

from .base import TOLERANCE_IS_RESOLUTION, Z_POWER, CheckResult, claim, fmt, z_threshold
from .levels import WINDOW_ALPHA, WINDOW_LAWS, c3_grid, finite, level_record

__all__ = ["EXPECTED_REGIME", "check_c4", "sympy_growth"]

#: Expected growth regime of each law (THEORY.md section 3 table).
EXPECTED_REGIME = {
    "exponential": "logarithmic",
    "polynomial": "polynomial",
    "logarithmic": "exponential",
    "stretched_exponential": "polylogarithmic",
    "tempered_power_law": "logarithmic",
}


def _growth(law):
    """The law's growth coordinate ``y(h)``, affine in ln N, and ``dy / d(-ln f)``.

    From ``f(H) = theta_N = K N**(-1/kappa)``: exponential ``y = h`` (slope tau/kappa),
    polynomial ``y = ln(1 + h)`` (1/(beta kappa)), logarithmic ``y = ln(1 + ln(1 + h))``
    (1/(gamma kappa)), stretched exponential ``y = h**gamma`` (tau**gamma / kappa),
    tempered power law ``y = h + beta lam ln h`` (lam / kappa).
    """
    p = law.params
    name = law.name
    if name == "exponential":
        return (lambda h: h), p["tau"]
    if name == "polynomial":
        return (lambda h: math.log1p(h)), 1.0 / p["beta"]
    if name == "logarithmic":
        return (lambda h: math.log1p(math.log1p(h))), 1.0 / p["gamma"]
    if name == "stretched_exponential":
        return (lambda h: h ** p["gamma"]), p["tau"] ** p["gamma"]
    if name == "tempered_power_law":
        bl = p["beta"] * p["lam"]
        return (lambda h: h + bl * math.log(h)), p["lam"]
    raise ValueError(f"no growth coordinate for the {name} law")


def sympy_growth(law, regime) -> float:
    """The slope of the growth coordinate in ln N that the SymPy leading term states.

    Logarithmic: the coefficient c of ``c ln N``; polylogarithmic ``c (ln N)**p``:
    ``c**(1/p)``; polynomial ``c N**p`` and exponential ``exp(c N**p)``: the exponent p.
    """
    kind = regime.kind
    c, p = float(regime.coefficient), float(regime.exponent)
    if kind == "logarithmic":
        return c
    if kind == "polylogarithmic":
        return c ** (1.0 / p)
    return p


def _wls(x, y, se):
    w = 1.0 / np.asarray(se) ** 2
    x, y = np.asarray(x), np.asarray(y)
    xb, yb = np.sum(w * x) / np.sum(w), np.sum(w * y) / np.sum(w)
    sxx = np.sum(w * (x - xb) ** 2)
    return float(np.sum(w * (x - xb) * (y - yb)) / sxx), float(1.0 / math.sqrt(sxx))


@claim("C4", "Growth of H_N in N: logarithmic, polynomial, exponential, ... per law")
def check_c4(profile, seed, false_alarm):
    """Growth of the simulated windows in ln N against the SymPy leading term, per law."""
    det = theory.Detection(WINDOW_ALPHA)
    v1 = theory.Detection(WINDOW_ALPHA, exponent="alpha")
    z = z_threshold(false_alarm, len(WINDOW_LAWS))
    grid = c3_grid(profile, seed, z)  # C3's cells: the same seed gives the same levels
    rows, fig, ok, neg, worst = [], [], True, True, 0.0
    ln_n = [math.log(n) for n in profile.window_ns]
    decades = math.log10(max(profile.window_ns) / min(profile.window_ns))
    for law in WINDOW_LAWS:
        y_of, m = _growth(law)
        recs = [level_record(law, det, grid[(law, n)]) for n in profile.window_ns]
        ys = [y_of(r["h_sim"]) for r in recs]
        se = [m * r["se_log_f"] for r in recs]
        g_hat, g_se = _wls(ln_n, ys, se)
        reason = None
        try:
            win = theory.LearnabilityWindow(law, det)
            regime, g_sym = win.regime_info, sympy_growth(law, win.regime_info)
            g_v1 = sympy_growth(law, theory.LearnabilityWindow(law, v1).regime_info)
        except (OverflowError, ValueError, ArithmeticError, RuntimeError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            regime, g_sym, g_v1 = None, math.nan, math.nan
        regime_ok = regime is not None and regime.kind == EXPECTED_REGIME[law.name]
        g_ok = reason is None and abs(g_hat - g_sym) <= z * g_se
        v1_rejected = not abs(g_hat - g_v1) <= z * g_se
        ok &= regime_ok and g_ok and decades >= 3
        neg &= v1_rejected
        rel_res = (z + Z_POWER) * g_se / abs(g_sym) if reason is None else math.inf
        worst = max(worst, rel_res)
        rows.append(
            {
                "law": law.name,
                "regime (sympy.limit)": regime.kind if regime else reason,
                "expected": EXPECTED_REGIME[law.name],
                "leading term": str(regime.leading) if regime else "-",
                "growth (SymPy)": fmt(g_sym, 5),
                "growth simulated": f"{g_hat:.5g} +- {g_se:.2g}",
                "growth v1": fmt(g_v1, 5),
                "v1 rejected": v1_rejected,
                "resolution (relative)": fmt(rel_res, 3),
            }
        )
        fig.append(_growth_curve(law, det, v1, profile.window_ns, recs))
    return CheckResult(
        "C4",
        "",
        "pass" if ok and neg else "fail",
        predicted="regime per THEORY.md table; growth rate from the SymPy leading term",
        measured=f"{sum(r['regime (sympy.limit)'] == r['expected'] for r in rows)}/{len(rows)}"
        " regimes match; growth: "
        + ", ".join(f"{r['law']} {r['growth simulated']} ({r['growth (SymPy)']})" for r in rows),
        tolerance=f"|growth simulated - SymPy| <= {z:.2f} SE (weighted fit of the law's "
        "growth coordinate on ln N over the simulated levels); regime label exact. "
        + TOLERANCE_IS_RESOLUTION,
        rows=rows,
        negative_control={
            "description": "the v1 growth (N^(1/alpha) for N^(1/kappa) in theta_N)",
            "rejected": bool(neg),
        },
        params={
            "alpha": WINDOW_ALPHA,
            "Ns": list(profile.window_ns),
            "shortcut_trials": profile.shortcut_trials,
        },  # fmt: skip
        notes=[
            "Growth coordinates (affine in ln N by f(H) = K N^(-1/kappa)): exponential "
            "y = H (slope tau/kappa), polynomial ln(1+H) (1/(beta kappa)), logarithmic "
            "ln(1+ln(1+H)) (1/(gamma kappa)), stretched exponential H^gamma "
            "(tau^gamma/kappa = c^(1/p) of c (ln N)^p), tempered power law H + beta lam ln H "
            "(lam/kappa, the coefficient of the leading lam/kappa ln N).  H is the simulated "
            "continuous window f^-1(level), the level from C3's simulations.",
        ],
        figures={"growth": fig},
        resolution={"growth rate (relative)": round(worst, 5)},
    )


def _growth_curve(law, det, v1, ns, recs):
    """Plot data of C4: closed-form H_N on a fine grid of N, and the simulated windows."""
    grid = np.geomspace(min(ns), max(ns), 60)
    try:
        win = theory.LearnabilityWindow(law, det)
        cont = np.asarray(win.continuous(grid), dtype=float)
        pred, regime = [int(win(n)) for n in ns], win.regime
    except (OverflowError, ValueError, ArithmeticError):
        cont, pred, regime = np.full(grid.size, np.nan), [None] * len(ns), "-"
    try:
        v1_cont = np.asarray(theory.LearnabilityWindow(law, v1).continuous(grid), dtype=float)
    except (OverflowError, ValueError, ArithmeticError):
        v1_cont = np.full(grid.size, np.nan)
    return {
        "law": law.name,
        "regime": regime,
        "N_grid": grid.tolist(),
        "H_continuous": [finite(h) for h in cont],
        "H_v1_continuous": [finite(h) for h in v1_cont],
        "N": list(ns),
        "predicted": pred,
        "empirical": [r["h_sim"] for r in recs],
    }
