"""Report of the trained-network experiment (E1-E7).

Rendering is pure (a run in, markdown out); :func:`write_experiment_report` writes the pages,
figures, ``results.json`` and the trained weights the way :mod:`.writer` writes the claims
report: everything into a temporary sibling folder, swapped in only when complete, so an
interrupted run leaves the previous report intact.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .render import VERDICT, markdown_table, provenance_block
from .writer import check_report_dir, swap_folder, umask_mode, write_text_atomic

__all__ = [
    "check_page",
    "experiment_index",
    "write_experiment_report",
    "write_text_atomic",
]

_TORCH_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


#: Profiles sized for CI, not for evidence: their pages say so.
SMOKE_PROFILES = ("quick", "tiny")
SMOKE_NOTE = (
    "**This is the `{profile}` profile: a smoke test of the pipeline for CI, not powered to "
    "decide.** One seed per condition and few sequences; its verdicts show that every check "
    "runs end to end. The evidence is the `standard` profile (`learnwin experiment "
    "--standard`)."
)


def _provenance(run) -> str:
    return provenance_block(run, f"root seed: `{run.seed}`")


def _smoke(run) -> list[str]:
    return [SMOKE_NOTE.format(profile=run.profile), ""] if run.profile in SMOKE_PROFILES else []


def check_page(result, run, figures: dict[str, str] | None = None) -> str:
    """The page of one check: statement, verdict, tolerance, control, figures, table."""
    nc = result.negative_control
    parts = [
        f"# {result.claim}: {result.title}\n",
        *_smoke(run),
        f"**Verdict: {VERDICT.get(result.verdict, result.verdict)}**\n",
        f"- predicted: {result.predicted}",
        f"- measured: {result.measured}",
        f"- tolerance: {result.tolerance}",
        f"- negative control: {nc.get('description', '')} — rejected: "
        f"{'yes' if nc.get('rejected') else 'no'} ({nc.get('detail', '')})",
        f"- resolution: {_resolution(result.resolution)}",
        f"- root seed: `{result.seed}`\n",
    ]
    if result.notes:
        parts += ["## Notes\n"] + [f"- {n}" for n in result.notes] + [""]
    for name, path in (figures or {}).items():
        parts.append(f"![{name}]({path})\n")
    parts += ["## Results\n", markdown_table(result.rows)]
    for name, rows in result.figures.get("tables", {}).items():
        parts += [f"## {name}\n", markdown_table(rows)]
    if result.params:
        parts += ["## Parameters\n"] + [f"- {k}: `{v}`" for k, v in result.params.items()]
    parts += ["\n## Provenance\n", _provenance(run)]
    return "\n".join(parts)


def _resolution(res: dict) -> str:
    if not res:
        return "not stated"
    return "; ".join(
        f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}" for k, v in res.items()
    )


def experiment_index(run, pages: dict[str, str], weights: list[str] | None = None) -> str:
    """The experiment's index: verdicts, per-cell table, configuration, provenance."""
    summary = [
        {
            "check": c.claim,
            "verdict": VERDICT.get(c.verdict, c.verdict),
            "measured": c.measured,
            "negative control rejected": bool(c.negative_control.get("rejected")),
        }
        for c in run.checks
    ]
    parts = [
        "# Networks that learn: the learnability window on trained networks\n",
        "Trained GRUs and LSTMs on the multi-lag regression task of THEORY.md section 8; "
        "every planted lag's learned kernel c_hat/c, the envelope f_hat of each checkpoint "
        "with the optimizer's per-unit rates, and the gradient-noise tail index alpha_hat, "
        "reduced into the checks E1-E7. Thresholds were fixed before the runs.\n",
        *_smoke(run),
        "## Verdicts\n",
        markdown_table(summary),
        "## Pages\n",
    ]
    parts += [f"- [{c.claim}: {c.title}]({pages[c.claim]})" for c in run.checks]
    parts += [
        "\n## Cells\n",
        markdown_table(run.table),
        "N_emp: sequences seen when the lag is learned (lower bootstrap bound of c_hat/c >= "
        "0.5): *stays*, from that checkpoint to the end; *first*, the first time (`-` never, "
        "`*` already at the first checkpoint).\n",
    ]
    if weights:
        parts += [
            "## Trained weights\n",
            "PyTorch layout (`weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`, plus the "
            "read-out), readable by `learnwin window --arch ARCH --weights FILE`:\n",
        ]
        parts += [f"- [{w}]({w})" for w in weights] + [""]
    parts += [
        "## Configuration\n",
        "```json",
        json.dumps(run.config, indent=1, default=str),
        "```\n",
        f"Calibrated constant (E4): log C = {run.log_c:.6g}\n",
        "## Provenance\n",
        _provenance(run),
    ]
    return "\n".join(parts)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def write_experiment_report(run, out_dir, *, figures: bool = True) -> Path:
    """Write ``index.md``, one page per check, figures, ``results.json`` and weights.

    The trained GRU/LSTM weights of the first seed go to ``weights/<cell>.npz``.
    """
    out = check_report_dir(out_dir)  # never replaces a file or a folder that is not a report
    out.parent.mkdir(parents=True, exist_ok=True, mode=umask_mode(directory=True))
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        os.chmod(tmp, umask_mode(directory=True))
        figs = {}
        if figures:
            from .experiment_figures import make_experiment_figures

            figs = make_experiment_figures(run.checks, tmp / "figures")
        pages = {}
        for c in run.checks:
            rel = {k: f"figures/{Path(v).name}" for k, v in figs.get(c.claim, {}).items()}
            pages[c.claim] = f"{c.claim.lower()}.md"
            (tmp / pages[c.claim]).write_text(check_page(c, run, rel), encoding="utf-8")
        weights = []
        for r in run.cells:
            if r.train["arch"] in ("gru", "lstm") and r.name.endswith("#0"):
                rel = f"weights/{_safe(r.name)}.npz"
                (tmp / "weights").mkdir(exist_ok=True)
                arrays = {k: r.weights[k] for k in _TORCH_KEYS}
                # the readout as a module of its own (PyTorch's nn.Linear names), so that
                # the cell's keys are the only top-level ones and load strictly
                arrays["readout.weight"] = r.weights["readout_w"]
                arrays["readout.bias"] = r.weights["readout_b"]
                np.savez(tmp / rel, **arrays)
                weights.append(rel)
        (tmp / "index.md").write_text(experiment_index(run, pages, weights), encoding="utf-8")
        (tmp / "results.json").write_text(
            json.dumps(run.as_dict(), indent=2, sort_keys=True), encoding="utf-8"
        )
        swap_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
