"""Figures of the report (matplotlib, headless): data from the results, PNG out."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["make_figures"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _slopes(ax, res):
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
        ax.plot(fx, (k / fx) ** p["rate"], "-", color=c, lw=1)
        ax.plot(fx, (k / fx) ** p["alpha"], ":", color=c, lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("envelope f(lag)")
    ax.set_ylabel("minimal N")
    ax.set_title("N against f: solid (K/f)^kappa (theory), dotted (K/f)^alpha (v1)")
    ax.legend(fontsize=7)


def _windows(ax, res):
    rows = res.figures["windows"]
    laws = sorted({r["law"] for r in rows})
    for law in laws:
        pts = [r for r in rows if r["law"] == law]
        n = [r["N"] for r in pts]
        pred = [max(r["predicted"], 0.5) for r in pts]
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
    ax.legend(fontsize=6)


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


_MAKERS = {"slopes": _slopes, "windows": _windows, "envelopes": _envelopes}


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
