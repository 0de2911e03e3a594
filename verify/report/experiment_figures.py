"""Figures of the trained-network experiment (matplotlib, headless): plain data in, PNG out.

Each maker draws one key of a check's ``figures`` data (the check modules of
:mod:`verify.training`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import NullFormatter

from .figures import _plt

__all__ = ["make_experiment_figures"]


def _grid(n):
    cols = min(n, 4)
    rows = -(-n // cols)
    plt = _plt()
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return plt, fig, axes.ravel()[:n]


def _heatmap(data, path):
    plt, fig, axes = _grid(len(data))
    im = None
    for ax, d in zip(axes, data, strict=True):
        ratio = np.array(d["ratio"], dtype=float).T  # lags x checkpoints
        im = ax.imshow(ratio, aspect="auto", origin="lower", vmin=0.0, vmax=1.2, cmap="viridis")
        ax.set_yticks(range(len(d["lags"])), [str(v) for v in d["lags"]], fontsize=6)
        step = max(1, len(d["N"]) // 5)
        ax.set_xticks(range(0, len(d["N"]), step), [str(v) for v in d["N"][::step]], fontsize=6)
        ax.set_title(d["cell"], fontsize=8)
        ax.set_xlabel("sequences seen", fontsize=7)
        ax.set_ylabel("planted lag", fontsize=7)
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="c_hat / c (learned >= 0.5)")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _slopes(data, path):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for d in data:
        x, y = np.array(d["log_f"]), np.array(d["log_n"])
        line = ax.plot(x, y, "o", label=f"{d['cell']}: slope {d['slope']:.2f}")
        c = line[0].get_color()
        xs = np.linspace(x.min(), x.max(), 10)
        mx, my = x.mean(), y.mean()
        ax.plot(xs, my - d["kappa"] * (xs - mx), "-", color=c, lw=1)
        ax.plot(xs, my - d["alpha"] * (xs - mx), ":", color=c, lw=1)
    ax.set_xlabel("log f_hat(lag) (time-averaged over checkpoints)")
    ax.set_ylabel("log N_emp(lag)")
    ax.set_title(
        "Solid: slope -kappa(alpha_hat); dotted: v1 slope -alpha_hat (through the centroid)",
        fontsize=8,
    )
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _windows(data, path):
    plt, fig, axes = _grid(len(data))
    for ax, d in zip(axes, data, strict=True):
        lags = np.concatenate([[0], d["lags"]])
        n = np.array(d["N"], dtype=float)
        ax.step(n, lags[np.array(d["emp_idx"])], where="post", label="empirical")
        if d["pred_idx"] is not None:
            ax.step(n, lags[np.array(d["pred_idx"])], where="post", ls="--", label="predicted")
        th = np.array([np.nan if v is None else v for v in d["theory_H"]], dtype=float)
        if np.isfinite(th).any():
            ax.plot(n, th, ":", label="theory H_N (fitted law)")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # the minor labels overlap
        ax.set_ylim(-2, max(lags) * 1.1)
        ax.set_title(d["cell"], fontsize=8)
        ax.set_xlabel("sequences seen", fontsize=7)
        ax.set_ylabel("window (lag)", fontsize=7)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _psi(data, path):
    plt, fig, axes = _grid(len(data))
    for ax, d in zip(axes, data, strict=True):
        lags = np.arange(len(d["n_req"]))
        sig = np.array([np.nan if v is None else v for v in d["n_req"]], dtype=float)
        nul = np.array([np.nan if v is None else v for v in d["n_req_null"]], dtype=float)
        ax.plot(lags, sig, ".", ms=3, label="psi")
        ax.plot(lags, nul, "x", ms=3, label="null psi (random signs)")
        ax.axhline(d["n_seen"], color="k", lw=0.8, label="sequences seen")
        for lag in d["planted"]:
            ax.axvline(lag, color="0.8", lw=0.5)
        ax.set_yscale("log")
        ax.set_title(d["cell"], fontsize=8)
        ax.set_xlabel("lag (grey: planted)", fontsize=7)
        ax.set_ylabel("author's N_required", fontsize=7)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _ndet(data, path):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for d in data:
        x, y = np.array(d["log_f"]), np.log(np.array(d["n_det"], dtype=float))
        ok = np.isfinite(y)
        line = ax.plot(x[ok], y[ok], "o", label=d["network"])
        if ok.sum() >= 2:
            xs = np.linspace(x[ok].min(), x[ok].max(), 10)
            mx, my = x[ok].mean(), y[ok].mean()
            ax.plot(xs, my - d["kappa"] * (xs - mx), "-", color=line[0].get_color(), lw=1)
    ax.set_xlabel("log f_hat(lag) (transport, unit rates)")
    ax.set_ylabel("log N_det(lag) (subsampling)")
    ax.set_title("Lines: slope -kappa(alpha_hat) through the centroid", fontsize=8)
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


_MAKERS = {
    "e1_heatmap": _heatmap,
    "e2_slopes": _slopes,
    "e4_windows": _windows,
    "e5_psi": _psi,
    "e6_ndet": _ndet,
}


def make_experiment_figures(checks, folder) -> dict[str, dict[str, str]]:
    """Draw every figure the checks carry data for; return claim -> {name: path}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict[str, str]] = {}
    for c in checks:
        for key, maker in _MAKERS.items():
            if c.figures.get(key):
                path = folder / f"{key}.png"
                maker(c.figures[key], path)
                out.setdefault(c.claim, {})[key] = str(path)
    return out
