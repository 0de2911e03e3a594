"""E3 and E4: the learned window against the calibrated prediction (plain NumPy).

Prediction: ``N_pred(l) = (C sigma_hat / f_hat(l))^kappa(alpha_hat)`` with one constant ``C``
calibrated on the reference condition (:mod:`verify.training.prediction`); windows are
compared by their index in the list of planted lags.  Thresholds fixed in advance.
"""

from __future__ import annotations

import math

import numpy as np

from .learning import gate, gate_note, signal_cells
from .prediction import predicted_window_idx, theory_window

__all__ = ["E4_MARGIN", "check_e3", "check_e4", "fraction_verdict", "windows"]

#: E4: fraction of (condition, N) windows predicted within E4_MARGIN planted-lag steps.
E4_MARGIN, E4_PASS, E4_PARTIAL = 1, 0.8, 0.5


def fraction_verdict(ok_fraction, pass_at, partial_at):
    """PASS / PARTIAL / FAIL from a fraction of successes; ERROR when there is none."""
    if ok_fraction is None or not np.isfinite(ok_fraction):
        return "error"
    return "pass" if ok_fraction >= pass_at else "partial" if ok_fraction >= partial_at else "fail"


def windows(results, sums, log_c):
    """Empirical and predicted window indices of every signal cell (E4's data)."""
    out = []
    for r, s in signal_cells(results, sums):
        pred = predicted_window_idx(s, log_c, r.ns) if np.isfinite(log_c) else None
        out.append(
            {
                "cell": r.name,
                "condition": r.condition,
                "lags": s["lags"].tolist(),
                "N": r.ns.tolist(),
                "emp_idx": s["window_idx"].tolist(),
                "emp": s["window"].tolist(),
                "pred_idx": None if pred is None else pred.tolist(),
                "theory_H": theory_window(s, log_c, r.ns),
            }
        )
    return out


def check_e3(results, sums, control, log_c, ref, heavy):
    """E3: heavier-tailed target noise shrinks the learned window as predicted."""
    from verify.claims.base import CheckResult

    by = {}
    for r, s in signal_cells(results, sums):
        by.setdefault(r.condition, []).append((r, s))
    pairs = [
        (ref, f"{ref}/alpha{heavy:g}", "clip on"),
        (f"{ref}/noclip", f"{ref}/alpha{heavy:g}/noclip", "clip off"),
    ]
    rows, n_ok, n_meas = [], 0, 0
    for light, hv, clip in pairs:
        if light not in by or hv not in by:
            continue
        area = {}
        for lab in (light, hv):
            emp = [np.mean(s["window_idx"]) for _, s in by[lab]]
            pred = [
                np.mean(predicted_window_idx(s, log_c, r.ns)) if np.isfinite(log_c) else math.nan
                for r, s in by[lab]
            ]
            area[lab] = (
                float(np.mean(emp)),
                float(np.mean(pred)),
                float(np.mean([s["alpha"] for _, s in by[lab]])),
            )
        d_emp = area[hv][0] - area[light][0]
        d_pred = area[hv][1] - area[light][1]
        ok = d_emp < 0 and d_pred < 0 and abs(d_emp - d_pred) <= E4_MARGIN
        n_meas += np.isfinite(d_pred)
        n_ok += bool(ok)
        rows.append(
            {
                "clipping": clip,
                "target alpha": f"2 vs {heavy:g}",
                "gradient alpha_hat (light, heavy)": f"{area[light][2]:.3f}, {area[hv][2]:.3f}",
                "mean window index (light, heavy)": f"{area[light][0]:.2f}, {area[hv][0]:.2f}",
                "change measured": d_emp,
                "change predicted": d_pred,
                "agrees": bool(ok),
            }
        )
    ungated = (
        "error" if n_meas == 0 else "pass" if n_ok == n_meas else "partial" if n_ok else "fail"
    )
    verdict = gate(ungated, control)
    result = CheckResult(
        claim="E3",
        title=f"heavier-tailed target noise (SaS alpha {heavy:g} vs Gaussian) shrinks "
        "the learned window as predicted",
        verdict=verdict,
        predicted="window shrinks (change < 0), by the amount N_pred gives with each cell's "
        "alpha_hat, sigma_hat, f_hat and the calibrated constant",
        measured=f"{n_ok}/{n_meas} clipping settings agree",
        tolerance=f"measured change < 0, predicted change < 0, and |measured - predicted| <= "
        f"{E4_MARGIN} planted-lag step (window index averaged over checkpoints)",
        rows=rows,
        negative_control=control,
    )
    return gate_note(result, ungated)


def check_e4(results, sums, control, log_c, ref, windows):
    """E4: one constant calibrated on the reference predicts every other condition's window."""
    from verify.claims.base import CheckResult

    rows, hits, total = [], 0, 0
    for w in windows:
        if w["pred_idx"] is None:
            continue
        err = np.abs(np.array(w["pred_idx"]) - np.array(w["emp_idx"]))
        within = int(np.sum(err <= E4_MARGIN))
        if w["condition"] != ref:
            hits, total = hits + within, total + len(err)
        rows.append(
            {
                "cell": w["cell"],
                "calibration": w["condition"] == ref,
                "windows within margin": f"{within}/{len(err)}",
                "empirical (last N)": w["emp"][-1],
                "predicted index (last N)": w["pred_idx"][-1],
                "theory H_N (last N)": w["theory_H"][-1],
            }
        )
    frac = hits / total if total else None
    ungated = fraction_verdict(frac, E4_PASS, E4_PARTIAL)
    result = CheckResult(
        claim="E4",
        title="one calibrated constant predicts the learned window of the other "
        "conditions (architectures, optimizers, spectra, noise, N)",
        verdict=gate(ungated, control),
        predicted=f"N_pred(l) = (C sigma_hat / f_hat(l))^kappa, log C = {log_c:.4g} calibrated "
        f"on {ref}, no free parameter elsewhere",
        measured=f"{hits}/{total} (condition, N) windows within {E4_MARGIN} planted-lag step"
        + (f" = {frac:.3f}" if frac is not None else ""),
        tolerance=f"PASS >= {E4_PASS}, PARTIAL >= {E4_PARTIAL} (calibration cells excluded)",
        rows=rows,
        negative_control=control,
        figures={"e4_windows": windows},
    )
    return gate_note(result, ungated)
