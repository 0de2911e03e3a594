"""C6-C9: claims about gated networks, end to end.

Each check measures envelopes of simulated networks (:mod:`verify.recurrences`), fits a law,
takes the symbolic H_N of the fitted law, and simulates the detection test with the
*measured* envelope as evidence mean at the predicted window and one lag beyond it.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

import theory
from theory import spectra

from .. import detection as det_mc
from .. import recurrences as rec
from ..recurrences import diagnostics as diag
from ..recurrences.fit import fit_envelope
from .base import CheckResult, claim, fmt, z_threshold

__all__ = ["check_c6", "check_c7", "check_c8", "check_c9", "end_to_end"]

ALPHA = 1.5
E2E_N = 10_000


def end_to_end(lags, log_f, law, *, n, trials, seed, z, alpha=ALPHA):
    """Fitted-law window against the simulated test on the measured envelope.

    Returns the window of the fitted law, the window of the measured envelope itself
    (largest lag with ``f >= theta_N``), and the simulated powers (with their exact
    predictions from the measured envelope) at the fitted window and one lag beyond.
    """
    det = theory.Detection(alpha)
    h_fit = theory.learnability_window(law, alpha)(n)
    f = np.exp(np.asarray(log_f, dtype=float))
    theta = det.theta(n)
    ok = np.flatnonzero(f >= theta)
    h_meas = int(lags[ok.max()]) if ok.size else 0
    means = {lag: f[lag] for lag in (h_fit, h_fit + 1) if lag <= lags[-1]}
    powers = det_mc.powers_at(det, means, n, trials=trials, seed=seed, z=z)
    consistent = all(abs(p.z_score) <= z for p in powers.values()) and len(powers) == 2
    return {
        "h_fit": h_fit,
        "h_measured": h_meas,
        "powers": powers,
        "consistent": consistent,
        "fit_within_one_lag": abs(h_fit - h_meas) <= max(1, round(0.05 * h_meas)),
    }


def _finite_list(values):
    """Plot data: floats, ``None`` where a fitted law diverges (e.g. a power law at lag 0)."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def _e2e_row(label, e, law):
    pw = e["powers"]
    cells = {lag: f"{p.power:.3f} ({p.predicted:.3f})" for lag, p in pw.items()}
    return {
        "network": label,
        "fitted law": repr(law),
        "H_N fitted law": e["h_fit"],
        "H_N measured envelope": e["h_measured"],
        "power at H (exact)": cells.get(e["h_fit"], "-"),
        "power at H+1 (exact)": cells.get(e["h_fit"] + 1, "-"),
        "consistent": e["consistent"] and e["fit_within_one_lag"],
    }


@claim("C6", "Broader gate spectra: power-law envelopes and larger windows")
def check_c6(profile, seed, false_alarm):
    """DiagGate networks realise each spectrum's SymPy envelope; broad beats narrow."""
    hidden, max_lag = 32 * profile.net_hidden, 150
    specs = {
        "homogeneous r0=0.9": spectra.Homogeneous(0.9),
        "Beta(9, 1)": spectra.BetaRetention(9.0, 1.0),
        "Uniform(0.8, 1)": spectra.UniformRetention(0.8),
        "LogUniform(2, 200)": spectra.LogUniformTimescales(2.0, 200.0),
    }
    z = z_threshold(false_alarm, 2 * 2 + len(specs))
    rows, ok = [], True
    for i, (label, sp_) in enumerate(specs.items()):
        r = diag.spectrum_envelope_check(sp_, hidden=hidden, max_lag=max_lag, seed=seed % 2**31 + i)
        ok &= r["passed"]
        rows.append({"network": label, "max |z| vs SymPy envelope": fmt(r["max_abs_z"], 3),
                     "max rel. error": fmt(r["max_rel_error"], 3),
                     "passed": r["passed"]})  # fmt: skip
    neg = diag.spectrum_envelope_check(
        specs["Beta(9, 1)"], reference=specs["Uniform(0.8, 1)"], hidden=hidden, max_lag=max_lag,
        seed=seed % 2**31,
    )  # fmt: skip
    win = diag.broad_spectrum_windows(
        specs["homogeneous r0=0.9"], specs["Beta(9, 1)"], hidden=hidden, max_lag=max_lag,
        seed=seed % 2**31,
    )  # fmt: skip
    ok &= win["passed"]
    figs, e2e_rows = {}, []
    for j, label in enumerate(("homogeneous r0=0.9", "Beta(9, 1)")):
        net = diag.spectrum_network(specs[label], hidden, seed=seed % 2**31 + 10 + j)
        x = rec.random_inputs(2, max_lag + 1, net.inputs, seed=seed % 2**31 + 20 + j)
        res = rec.measure_envelope(net, x, max_lag, order="first", lr=1.0 / hidden)
        law = fit_envelope(res).best
        e = end_to_end(res.lags, res.log_f, law, n=E2E_N, trials=profile.window_trials,
                       seed=seed + j, z=z)  # fmt: skip
        ok &= e["consistent"] and e["fit_within_one_lag"]
        e2e_rows.append(_e2e_row(label, e, law))
        figs[label] = {"lags": res.lags.tolist(), "measured": np.exp(res.log_f).tolist(),
                       "reference": specs[label].envelope(res.lags).tolist()}  # fmt: skip
    wn, wb = win["windows_narrow"], win["windows_broad"]
    rows += e2e_rows
    return CheckResult(
        "C6", "", "pass" if ok and not neg["passed"] else "fail",
        predicted="envelopes E[r^l] (SymPy); broad window > narrow at large N",
        measured="H_N narrow " + ", ".join(map(str, wn.astype(int))) + " vs broad "
        + ", ".join(map(str, wb.astype(int))) + f" at N = {[f'{v:g}' for v in win['n_values']]}",
        tolerance="|z| <= 5 per lag (finite-unit Monte Carlo error) + 1e-3 relative; "
        f"simulated powers within {z:.2f} SE",
        rows=rows,
        negative_control={"description": "Beta(9,1) network checked against the Uniform(0.8,1) "
                          "envelope (same mean retention)", "rejected": not neg["passed"]},
        params={"hidden": hidden, "max_lag": max_lag, "alpha": ALPHA, "N_end_to_end": E2E_N,
                "fitted laws": {k: repr(v) for k, v in win["laws"].items()}},
        figures={"envelopes": figs},
    )  # fmt: skip


def _arch_nets(profile, seed):
    h = profile.net_hidden // 2
    chrono = rec.Chrono(t_max=50)
    beta = spectra.BetaRetention(9.0, 1.0)
    return {
        "ConstGate": rec.ConstGate.init(h, 2, spectra.Homogeneous(0.95), seed=seed),
        "SharedGate": rec.SharedGate.init(h, 2, spectra.Homogeneous(0.95), seed=seed),
        "DiagGate": rec.DiagGate.init(h, 2, beta, seed=seed),
        "GRU": rec.GRU.init(h, 2, chrono, seed=seed),
        "LSTM": rec.LSTM.init(h, 2, chrono, seed=seed),
    }


#: Accuracy bar of the first order: max |log f_first - log f_exact| over lags.
LOG_ERROR_BAR = 0.2


@claim("C7", "The first-order expansion keeps the ordering of the exact transport")
def check_c7(profile, seed, false_alarm):
    """Per-unit Spearman rho (first order vs exact) and conservativeness per architecture."""
    s = seed % 2**31
    x = rec.random_inputs(2, profile.net_steps, 2, seed=s + 1)
    max_lag = profile.net_steps // 2
    rows, rhos, ok, neg, fig = [], [], True, True, {}
    for name, net in _arch_nets(profile, s).items():
        r = diag.first_order_fidelity(net, x, max_lag)
        fig[name] = {"lags": np.asarray(r["lags"]).tolist(),
                     "log_f_first": np.asarray(r["log_f_first"]).tolist(),
                     "log_f_exact": np.asarray(r["log_f_exact"]).tolist(),
                     "mean_unit_rho": r["mean_unit_rho"]}  # fmt: skip
        bad = diag.first_order_fidelity(net, x, max_lag, correction_sign=-1.0)
        rhos.append(r["mean_unit_rho"])
        good = r["mean_unit_rho"] >= 0.972 and r["max_abs_log_error"] <= LOG_ERROR_BAR
        ok &= good
        # negative control of the rank criterion: the first-order envelope with its lags
        # shuffled (seeded) must fall below the bar
        perm = np.random.default_rng(s + 7).permutation(r["log_f_first"].size)
        rho_shuffled = float(spearmanr(r["log_f_first"][perm], r["log_f_exact"]).statistic)
        neg &= rho_shuffled < 0.972
        rows.append({"architecture": name, "mean unit rho": fmt(r["mean_unit_rho"], 4),
                     "min unit rho": fmt(r["min_unit_rho"], 4),
                     "max |log error|": fmt(r["max_abs_log_error"], 3),
                     "decay first / exact": f"{r['decay_first']:.4g} / {r['decay_exact']:.4g}",
                     "conservative": r["conservative"],
                     "sign-flipped |log error|": fmt(bad["max_abs_log_error"], 3),
                     "shuffled-lag rho": fmt(rho_shuffled, 3)})  # fmt: skip
    return CheckResult(
        "C7", "", "pass" if ok and neg else "fail",
        predicted="mean rho >= 0.972 (paper: mean 0.998, min 0.972); first order decays faster",
        measured=f"mean unit rho {np.mean(rhos):.4f}, min over architectures {np.min(rhos):.4f}; "
        f"first order decays faster (conservative) in {sum(bool(w['conservative']) for w in rows)}"
        f"/{len(rows)} architectures",
        tolerance=f"mean per-unit rho >= 0.972 and max |log error| <= {LOG_ERROR_BAR} "
        "(deterministic accuracy bar; no sampling)",
        rows=rows,
        negative_control={"description": "first-order envelope with its lags shuffled: its "
                          "rho must fall below 0.972 in every architecture", "rejected": bool(neg)},
        params={"steps": profile.net_steps, "max_lag": max_lag, "hidden": profile.net_hidden // 2},
        notes=["The envelope-level rho is 1 for any two monotone envelopes, so the per-unit "
               "rho and the log error are what the verdict uses; 'conservative' is reported "
               "but not required.",
               "Flipping the sign of the first-order correction changes the log error only "
               "modestly (column 'sign-flipped'): at these sizes most of the first order's "
               "error is of higher order, so the rank diagnostic of the paper is a weak test "
               "of the expansion."],
        figures={"transport": fig},
    )  # fmt: skip


@claim("C8", "Stability is not learnability: stable networks, windows 10x apart")
def check_c8(profile, seed, false_alarm):
    """Two ConstGate networks with Jacobian norms < 1 whose windows differ >= 10x."""
    z = z_threshold(false_alarm, 4)
    r = diag.stability_vs_learnability()
    same = diag.stability_vs_learnability(retentions=(0.98, 0.98))
    rows, ok, fig = [], r["passed"], {}
    for k, (ret, law) in enumerate(zip((0.5, 0.98), r["laws"], strict=True)):
        spec = spectra.Homogeneous(ret)
        net = rec.ConstGate.init(16, 2, spec, seed=k, recurrent_scale=0.1)
        x = rec.random_inputs(2, 400, 2, seed=k + 100)
        res = rec.measure_envelope(net, x, 300, order="exact", lr=1.0 / 16)
        e = end_to_end(res.lags, res.log_f, law, n=E2E_N, trials=profile.window_trials,
                       seed=seed + k, z=z)  # fmt: skip
        ok &= e["consistent"] and e["fit_within_one_lag"]
        row = _e2e_row(f"ConstGate r={ret}", e, law)
        row["max Jacobian norm"] = fmt(float(r["norms"][k]), 4)
        row["H_N at 1e6"] = int(r["windows"][k])
        rows.append(row)
        fig[f"ConstGate r={ret}"] = {
            "lags": res.lags.tolist(), "measured": np.exp(res.log_f).tolist(),
            "fitted": _finite_list(law(res.lags)),
            "norm": float(r["norms"][k]), "window": int(r["windows"][k]),
        }  # fmt: skip
    return CheckResult(
        "C8", "", "pass" if ok and not same["passed"] else "fail",
        predicted="both norms < 1, window ratio >= 10",
        measured=f"norms {np.round(r['norms'], 3).tolist()}, windows {r['windows'].tolist()}, "
        f"ratio {r['ratio']:.3g}",
        tolerance="norm < 1 and ratio >= 10 (the claim's own bar); end-to-end powers within "
        f"{z:.2f} SE",
        rows=rows,
        negative_control={"description": "two networks with the same retention (0.98)",
                          "rejected": not same["passed"]},
        params={"retentions": [0.5, 0.98], "N": 1e6, "alpha": ALPHA},
        figures={"stable_windows": {"N": 1e6, "theta": theory.Detection(ALPHA).theta(1e6),
                                    "networks": fig}},
    )  # fmt: skip


#: Sample size at which C9 compares the optimizers' windows.
C9_N = 1e6


def _optimizer_detection(r, profile, seed, false_alarm):
    """Simulate the test at the edge of the larger measured window, under both envelopes.

    The window of each normalised measured envelope is its largest lag with ``f >= theta_N``.
    At the edge lag of the larger one, the optimizer with the larger window must detect
    more often than the other (one-sided two-proportion z test), and each simulated power
    must agree with its exact prediction.  Trials are drawn through the stability shortcut
    (the mean of N draws in one draw; C2 cross-checks it against summing), so N = 1e6 is
    affordable.
    """
    det = theory.Detection(ALPHA)
    theta = det.theta(C9_N)
    lags = np.asarray(r["lags"])
    f = {k: np.exp(r[key] - r[key][0]) for k, key in (("SGD", "log_f_sgd"), ("Adam", "log_f_adam"))}
    h = {k: int(lags[np.flatnonzero(v >= theta).max()]) if np.any(v >= theta) else 0
         for k, v in f.items()}  # fmt: skip
    z = z_threshold(false_alarm, 3)  # two consistency tests and the difference test
    big, small = sorted(h, key=h.get, reverse=True)
    lag = h[big]
    trials = 20 * profile.window_trials
    seeds = np.random.SeedSequence([seed, 9]).generate_state(2)
    pw = {k: det_mc.simulate_power(det, float(f[k][lag]), int(C9_N), trials=trials,
                                   seed=int(sd), z=z, method="shortcut")
          for k, sd in zip((big, small), seeds, strict=True)}  # fmt: skip
    pooled = (pw[big].hits + pw[small].hits) / (2 * trials)
    se = np.sqrt(max(pooled * (1 - pooled), 1e-12) * 2 / trials)
    z_diff = (pw[big].power - pw[small].power) / se
    consistent = all(abs(p.z_score) <= z for p in pw.values())
    return {"windows": h, "lag": lag, "powers": pw, "z_diff": float(z_diff), "z": z,
            "passed": bool(h[big] != h[small] and z_diff > z and consistent)}  # fmt: skip


@claim("C9", "Adam-like per-unit rates reshape the envelope")
def check_c9(profile, seed, false_alarm):
    """Envelope shape (normalised at lag 0) under SGD and Adam rates for the same gates."""
    s = seed % 2**31
    net = rec.GRU.init(profile.net_hidden // 2, 2, rec.Chrono(t_max=50), seed=s)
    x = rec.random_inputs(2, profile.net_steps, 2, seed=s + 1)
    max_lag = profile.net_steps // 2
    rng = np.random.default_rng(s + 2)
    rows_v = 3 * net.hidden
    # per-unit second moments (one value per unit, shared by its gate rows and columns)
    per_unit = np.exp(rng.normal(0.0, 3.0, size=net.hidden)) * 1e-6
    v_hat = np.tile(per_unit, rows_v // net.hidden)[:, None] * np.ones((1, net.hidden))
    r = diag.optimizer_reshapes_envelope(net, x, max_lag, v_hat, lr=1e-3)
    ctl = diag.optimizer_reshapes_envelope(net, x, max_lag, np.full_like(v_hat, 1e-6), lr=1e-3)
    windows, fig = {}, {}
    for label, log_f in (("SGD", r["log_f_sgd"]), ("Adam", r["log_f_adam"])):
        lf = log_f - log_f[0]  # both normalised to f(0) = 1
        law = fit_envelope(lf, r["lags"], log=True).best
        windows[label] = (law, theory.learnability_window(law, ALPHA)(1e6))
        fig[label] = {"measured": np.exp(lf).tolist(),
                      "fitted": _finite_list(law(r["lags"])),
                      "window": int(windows[label][1])}  # fmt: skip
    control = ctl["log_f_adam"] - ctl["log_f_adam"][0]
    change = r["max_abs_log_shape_change"]
    e2e = _optimizer_detection(r, profile, seed, false_alarm)
    ctl_e2e = _optimizer_detection(ctl, profile, seed, false_alarm)
    ok = change > 0.1 and windows["SGD"][1] != windows["Adam"][1] and e2e["passed"]
    return CheckResult(
        "C9", "", "pass" if ok and ctl["max_abs_log_shape_change"] < 1e-9
        and not ctl_e2e["passed"] else "fail",
        predicted="shape of f changes under per-unit rates; H_N changes",
        measured=f"max |log shape change| = {change:.3g}; H_N(1e6) SGD {windows['SGD'][1]} vs "
        f"Adam {windows['Adam'][1]}; simulated power at lag {e2e['lag']}: "
        + ", ".join(f"{k} {p.power:.3f}" for k, p in e2e["powers"].items())
        + f" (z = {e2e['z_diff']:.1f})",
        tolerance="shape change > 0.1 nats and different windows; at the edge of the larger "
        f"measured window the larger-window optimizer detects more often (z > {e2e['z']:.2f}, "
        f"one-sided) and both powers lie within {e2e['z']:.2f} SE of their exact predictions; "
        "the control's change < 1e-9 (rounding)",
        rows=[{"optimizer": k, "fitted law (f(0)=1)": repr(v[0]), "H_N at N=1e6": v[1],
               "H_N measured envelope": e2e["windows"][k],
               f"power at lag {e2e['lag']} (exact)":
                   f"{e2e['powers'][k].power:.3f} ({e2e['powers'][k].predicted:.3f})"}
              for k, v in windows.items()] + [{"optimizer": "Adam rate spread (max/min)",
                                               "fitted law (f(0)=1)": fmt(r["rate_spread"], 3),
                                               "H_N at N=1e6": ""}],
        negative_control={"description": "uniform second moments (Adam = rescaled SGD): "
                          "no shape change and no difference in simulated detection",
                          "rejected": bool(ctl["max_abs_log_shape_change"] < 1e-9
                                           and not ctl_e2e["passed"]),
                          "detail": f"{ctl['max_abs_log_shape_change']:.2e}; windows "
                          f"{ctl_e2e['windows']}, z = {ctl_e2e['z_diff']:.2f}"},
        params={"hidden": net.hidden, "max_lag": max_lag,
                "v_hat": "per unit lognormal(0, 3) * 1e-6",
                "alpha": ALPHA, "N": C9_N,
                "trials": e2e["powers"][next(iter(e2e["powers"]))].trials},
        figures={"optimizers": {"lags": np.asarray(r["lags"]).tolist(), "N": 1e6,
                                "theta": theory.Detection(ALPHA).theta(1e6), "envelopes": fig,
                                "control": np.exp(control).tolist()}},
    )  # fmt: skip
