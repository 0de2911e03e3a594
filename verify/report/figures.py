"""Figures of the report (matplotlib, headless): data from the results, PNG out."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["make_extra_figures", "make_figures"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _slopes(ax, res):
    # C2: the theory's (K/f)^kappa against the v1 (K/f)^alpha; R1 (median test): (K/f)^2
    # against the mean test's (K/f)^kappa, its negative control
    median = res.claim == "R1"
    for p in res.figures["slopes"]:
        lf = np.array(p["log_f"])
        ln = np.array(p["log_n"])
        lo, hi = np.array(p["log_lo"]), np.array(p["log_hi"])
        f = np.exp(lf)
        line = ax.errorbar(
            f,
            np.exp(ln),
            yerr=[np.exp(ln) - np.exp(lo), np.exp(hi) - np.exp(ln)],
            fmt="o",
            label=f"alpha={p['alpha']} simulated",
        )
        c = line[0].get_color()
        # both predictions drawn from their closed forms, prefactor included (not fitted)
        fx = np.exp(np.linspace(lf.min(), lf.max(), 20))
        k = p["prefactor"]
        rival = p["alpha"] / (p["alpha"] - 1.0) if median else p["alpha"]
        ax.plot(fx, (k / fx) ** p["rate"], "-", color=c, lw=1)
        ax.plot(fx, (k / fx) ** rival, ":", color=c, lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("envelope f(lag)")
    ax.set_ylabel("minimal N")
    if median:
        ax.set_title("Median test: solid (K/f)^2 (R1), dotted slope -kappa (the mean's rate)")
    else:
        ax.set_title("N against f: solid (K/f)^kappa (theory), dotted (K/f)^alpha (v1)")
    ax.legend(fontsize=7)


def _windows(ax, res):
    rows = res.figures["windows"]
    laws = sorted({r["law"] for r in rows})
    for law in laws:
        pts = [r for r in rows if r["law"] == law]
        n = [r["N"] for r in pts]
        pred = [np.nan if r["predicted"] is None else max(r["predicted"], 0.5) for r in pts]
        emp = [max(r["empirical"], 0.5) for r in pts]
        line = ax.plot(n, pred, "-", label=f"{law} predicted")
        ax.plot(n, emp, "o", color=line[0].get_color(), label=f"{law} simulated")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel("H_N (0 drawn at 0.5)")
    ax.set_title("Learnability window: closed form and simulation (alpha = 1.5)")
    ax.legend(fontsize=6)


def _envelopes(ax, res):
    for name, d in res.figures["envelopes"].items():
        lags = np.array(d["lags"])
        line = ax.plot(lags, d["measured"], "-", label=f"{name} measured")
        if d.get("reference") is not None:
            ax.plot(lags, d["reference"], "--", color=line[0].get_color(), label=f"{name} law")
    ax.set_yscale("log")
    ax.set_xlabel("lag")
    ax.set_ylabel("f(lag)")
    ax.set_title("Envelopes of the gate spectra: measured (solid) and their laws (dashed)")
    ax.legend(fontsize=6)


def _arr(values):
    """Plot data as a float array, ``None`` (unbounded or overflowing) as NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _style_legend(ax, styles, **kw):
    """A legend of line styles only (colour-free proxies), next to the colour legend."""
    from matplotlib.lines import Line2D

    first = ax.get_legend()
    handles = [Line2D([], [], color="0.3", **st) for st in styles.values()]
    ax.legend(handles, list(styles), **kw)
    if first is not None:
        ax.add_artist(first)


def _quantiles(ax, res):
    top_level = None
    for d in res.figures["quantiles"]:
        n = np.array(d["N"], dtype=float)
        q = np.array(d["rescaled"], dtype=float)
        qc = np.array(d["clt_rescaled"], dtype=float)
        upper = [j for j, p in enumerate(d["levels"]) if p > 0.5]  # symmetric law: the rest mirror
        color = None
        for j, marker in zip(upper, "so^v", strict=False):
            line = ax.plot(
                n,
                q[:, j],
                marker + "-",
                color=color,
                lw=1,
                label=f"alpha={d['alpha']} (kappa={d['kappa']:.3g})" if color is None else None,
            )
            color = line[0].get_color()
            ax.axhline(d["predicted"][j], color=color, ls=":", lw=1)
        top_level = upper[-1]
        if d["alpha"] < 2:  # at alpha = 2 both rescalings coincide
            ax.plot(n, qc[:, top_level], "x--", color=color, lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    low = min(v for d in res.figures["quantiles"] for r in d["rescaled"] for v in r if v > 0)
    ax.set_ylim(low / 5, None)  # room below the data for the style legend
    ax.set_xlabel("N (draws per mean)")
    ax.set_ylabel("quantile of the rescaled mean")
    ax.set_title("Quantiles of N^(1/kappa) x mean: flat at the SaS(1) quantile", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    levels = res.figures["quantiles"][0]["levels"]
    upper = [p for p in levels if p > 0.5]
    styles = {
        f"{p:g} quantile, N^(1/kappa)": {"marker": m, "ls": "-"}
        for p, m in zip(upper, "so^v", strict=False)
    }
    styles["SaS(1) quantile (predicted)"] = {"ls": ":"}
    styles[f"{upper[-1]:g} quantile, N^(1/2) (control)"] = {"marker": "x", "ls": "--"}
    _style_legend(ax, styles, fontsize=7, loc="lower right")


def _growth(ax, res):
    curves = res.figures["growth"]
    top = max(max(v for v in c["predicted"] + c["empirical"] if v is not None) for c in curves)
    for c in curves:
        grid = np.array(c["N_grid"], dtype=float)
        line = ax.plot(
            grid, np.maximum(_arr(c["H_continuous"]), 0.5), "-", label=f"{c['law']} ({c['regime']})"
        )
        color = line[0].get_color()
        ax.plot(grid, np.maximum(_arr(c["H_v1_continuous"]), 0.5), ":", color=color, lw=1)
        # simulated: the continuous window f^-1(simulated critical level)
        ax.plot(c["N"], np.maximum(np.array(c["empirical"], dtype=float), 0.5), "o", color=color)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(0.4, 20 * top)
    ax.set_xlabel("N")
    ax.set_ylabel("H_N (0 drawn at 0.5)")
    ax.set_title("Growth of the window per law (regime from sympy.limit), alpha = 1.5", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    _style_legend(
        ax,
        {
            "closed form (theory)": {"ls": "-"},
            "simulated": {"marker": "o", "ls": ""},
            "v1 (N^(1/alpha)), clipped": {"ls": ":"},
        },
        fontsize=7,
        loc="lower right",
    )


def _alphas(ax, res):
    d = res.figures["alphas"]
    a = np.array(d["alpha"], dtype=float)
    emp = np.array(d["empirical"], dtype=float)
    ax.plot(a, d["predicted"], "o-", label="predicted H_N (kappa_alpha)")
    lo = _arr([i[0] for i in d["interval"]])
    hi = _arr([i[1] for i in d["interval"]])
    v1 = _arr(d["v1"])
    top = 1.15 * np.nanmax(np.concatenate([v1, emp, hi]))
    shift = 0.015 * (a.max() - a.min())
    line = ax.plot(a + shift, emp, "s", label="simulated H_N")
    color = line[0].get_color()
    # interval of windows consistent with the simulated powers; an open upper end is drawn
    # as a short arrow
    open_top = np.isnan(hi)
    upper = np.where(open_top, emp + 0.08 * top, hi)
    ax.vlines(a + shift, np.maximum(lo, 0), upper, color=color, lw=1)
    ax.plot([], [], "|-", color=color, label="consistent windows (arrow: open above)")
    if open_top.any():
        ax.plot(a[open_top] + shift, upper[open_top], "^", color=color, ms=5)
    ax.plot(a, v1, "x--", label="v1 window (exponent alpha): fails the power")
    ax.set_ylim(0, top * 1.05)
    ax.set_xlabel("alpha (smaller: heavier tails)")
    ax.set_ylabel("window H_N (lags)")
    ax.set_title(f"{d['law']} law at N = {d['N']:g}: heavier tails shrink the window", fontsize=10)
    ax.legend(fontsize=7)


def _transport(ax, res):
    for name, d in res.figures["transport"].items():
        lags = np.array(d["lags"], dtype=float)
        f0 = d["log_f_exact"][0]
        exact = np.exp(np.array(d["log_f_exact"]) - f0)
        first = np.exp(np.array(d["log_f_first"]) - f0)
        line = ax.plot(
            lags, exact, "-", lw=1.5, label=f"{name} (unit rho {d['mean_unit_rho']:.3f})"
        )
        ax.plot(lags, first, "--", color=line[0].get_color(), lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("lag")
    ax.set_ylabel("f(lag) / f_exact(0)")
    ax.set_title("Exact transport (solid) and its first-order expansion (dashed)", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    _style_legend(
        ax, {"exact": {"ls": "-"}, "first order": {"ls": "--"}}, fontsize=7, loc="upper right"
    )


def _stable_windows(ax, res):
    d = res.figures["stable_windows"]
    for name, e in d["networks"].items():
        lags = np.array(e["lags"], dtype=float)
        line = ax.plot(
            lags,
            e["measured"],
            "-",
            lw=1.5,
            label=f"{name}: max ||J|| = {e['norm']:.3f}, H_N = {e['window']}",
        )
        color = line[0].get_color()
        ax.plot(lags, _arr(e["fitted"]), "--", color=color, lw=1)
        ax.axvline(e["window"], color=color, ls=":", lw=1)
    ax.axhline(d["theta"], color="0.3", ls="-.", lw=1, label=f"theta_N at N = {d['N']:g}")
    ax.set_yscale("log")
    lo = min(min(e["measured"]) for e in d["networks"].values())
    hi = max(max(e["measured"]) for e in d["networks"].values())
    ax.set_ylim(max(lo, d["theta"] * 1e-3), 3 * hi)  # a fitted power law may diverge at 0
    ax.set_xlabel("lag")
    ax.set_ylabel("envelope f(lag)")
    ws = sorted(e["window"] for e in d["networks"].values())
    ax.set_title(
        f"Two stable networks (||J|| < 1): H_N = {ws[0]} vs {ws[-1]} where f crosses theta_N",
        fontsize=10,
    )
    ax.legend(fontsize=7, loc="upper right")
    _style_legend(
        ax,
        {
            "measured (exact transport)": {"ls": "-"},
            "fitted law": {"ls": "--"},
            "window H_N": {"ls": ":"},
        },
        fontsize=7,
        loc="lower left",
    )


def _optimizers(ax, res):
    d = res.figures["optimizers"]
    lags = np.array(d["lags"], dtype=float)
    for name, e in d["envelopes"].items():
        line = ax.plot(lags, e["measured"], "-", lw=1.5, label=f"{name}, H_N = {e['window']}")
        color = line[0].get_color()
        ax.plot(lags, _arr(e["fitted"]), "--", color=color, lw=1)
        ax.axvline(e["window"], color=color, ls=":", lw=1)
    ax.plot(lags, d["control"], ":", color="0.4", lw=1.5, label="Adam, uniform v (control: on SGD)")
    ax.axhline(d["theta"], color="0.3", ls="-.", lw=1, label=f"theta_N at N = {d['N']:g}")
    ax.set_yscale("log")
    ax.set_xlabel("lag")
    ax.set_ylabel("f(lag) / f(0)")
    ax.set_title("Envelope shape under SGD and Adam-like per-unit rates", fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    _style_legend(
        ax,
        {"measured": {"ls": "-"}, "fitted law": {"ls": "--"}, "window H_N": {"ls": ":"}},
        fontsize=7,
        loc="lower left",
    )


def _draw(maker, res, path):
    """One figure: a fresh axes, the maker draws on it, PNG out, figure closed."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    try:
        maker(ax, res)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)


_MAKERS = {
    "quantiles": _quantiles,
    "slopes": _slopes,
    "windows": _windows,
    "growth": _growth,
    "alphas": _alphas,
    "envelopes": _envelopes,
    "transport": _transport,
    "stable_windows": _stable_windows,
    "optimizers": _optimizers,
}


def _accuracy(ax, data):
    alphas = np.array(data["alphas"], dtype=float)
    maes = {m: np.array(v, dtype=float) for m, v in data["mae"].items()}
    positive = np.concatenate([v[v > 0] for v in maes.values()])
    floor = positive.min() / 2 if positive.size else 1e-6
    for method, mae in maes.items():
        line = ax.plot(alphas, np.where(mae > 0, mae, np.nan), "o-", label=method)
        zero = mae == 0  # e.g. McCulloch at alpha = 2: the estimate is capped at 2, exactly
        if zero.any():
            ax.plot(alphas[zero], np.full(zero.sum(), floor), "v", color=line[0].get_color(),
                    label=f"{method}: error exactly 0 (drawn at the floor)")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("true alpha")
    ax.set_ylabel("mean absolute error of alpha")
    ax.set_title(f"Tail-index estimators: SaS(1) samples, n = {data['n']}, {data['reps']} reps")
    ax.legend(fontsize=7)


#: makers of the figures of extra pages (they draw plain data, not a CheckResult)
_EXTRA_MAKERS = {"accuracy": _accuracy}


def make_extra_figures(stem: str, data: dict, folder) -> list[tuple[str, str]]:
    """Draw the figures of an extra page; return ``(key, path)`` pairs."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for key, d in data.items():
        path = folder / f"{stem}_{key}.png"
        _draw(_EXTRA_MAKERS[key], d, path)
        out.append((key, str(path)))
    return out


def make_figures(suite, folder) -> dict[str, dict[str, str]]:
    """Draw every figure the results carry data for; return claim -> {name: path}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict[str, str]] = {}
    for r in suite.results:
        for key, maker in _MAKERS.items():
            if key in r.figures and r.figures[key]:
                path = folder / f"{r.claim.lower()}_{key}.png"
                _draw(maker, r, path)
                out.setdefault(r.claim, {})[key] = str(path)
    return out
