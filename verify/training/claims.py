"""The reduce: cell results in, the checks E1-E7 out (plain NumPy, no torch).

One module per check family, each with its thresholds fixed in advance:

* :mod:`.learning` -- when a planted lag counts as learned, the cell summaries, the negative
  controls of training (shuffled targets, a removed block of lags);
* :mod:`.learning_time` -- E1 (order) and E2 (scaling, with its synthetic positive control);
* :mod:`.windows` -- E3 (heavier tails) and E4 (one calibrated constant);
* :mod:`.psi` -- E5 (the author's psi/SNR pipeline);
* :mod:`.gradient_detection` -- E6 (the theorem's detection size on real gradients);
* :mod:`.transport_fidelity` -- E7 (the diagonal first-order envelope against the exact and
  the full transport on trained networks).

Verdicts are those of :data:`verify.claims.base.VERDICTS`: ``pass``, ``partial``,
``inconclusive`` (the data cannot decide), ``fail``, ``error``.
"""

from __future__ import annotations

from .gradient_detection import check_e6
from .learning import LEARNED, controls, signal_cells, summarise, unit_envelope
from .learning_time import check_e1, check_e2, fmt_n
from .prediction import calibrate
from .psi import check_e5
from .transport_fidelity import check_e7
from .windows import calibrations, check_e3, check_e4, windows

__all__ = ["LEARNED", "reduce_cells", "summarise"]


def reduce_cells(results, *, reference: str, noise_alphas=(2.0, 1.6, 1.3), seed: int = 0,
                 probe=None):  # fmt: skip
    """All checks E1-E7 from the cell results; returns ``(checks, summary rows, log C)``."""
    sums = []
    for r in results:
        s = summarise(r)
        s["log_f_all_unit"] = unit_envelope(r)
        sums.append(s)
    control = controls(results, sums, probe)
    refs = [s for r, s in zip(results, sums, strict=True) if r.condition == reference]
    log_c = calibrate(refs)
    wins = windows(results, sums, log_c, calibrations(results, sums))
    signal = signal_cells(results, sums)
    checks = [
        check_e1(results, sums, control),
        check_e2(results, sums, control, seed),
        check_e3(results, sums, control, reference, noise_alphas),
        check_e4(results, sums, control, log_c, reference, wins),
        check_e5(signal, seed),
        check_e6([(r.name, r.e6) for r in results if getattr(r, "e6", None)], seed),
        check_e7([(r.name, r.transport) for r in results if getattr(r, "transport", None)]),
    ]
    checks[0].figures["e1_heatmap"] = [
        {"cell": r.name, "N": r.ns.tolist(), "lags": s["lags"].tolist(), "ratio": r.ratio.tolist()}
        for r, s in zip(results, sums, strict=True)
    ]
    table = [
        {
            "cell": r.name,
            "role": r.role,
            "alpha_hat": s["alpha"],
            "sigma_hat": s["sigma"],
            "N_emp (stays)": fmt_n(s),
            "N_emp (first)": fmt_n(s, "n_first"),
            "final window": int(s["window"][-1]),
            "final loss": float(r.loss[-1]),
            "runtime s": r.runtime_s,
            **_split(getattr(r, "timings", None) or {}),
        }
        for r, s in zip(results, sums, strict=True)
    ]
    return checks, table, log_c


#: Per-checkpoint diagnostics in a cell's time split (:data:`verify.training.train.SPLIT`).
DIAGNOSTICS = ("kernel and loss", "envelope", "gradient noise")


def _split(t: dict) -> dict:
    """Training and diagnostics seconds of a cell, and the diagnostics' share."""
    if not t:
        return {}
    diag = sum(t.get(k, 0.0) for k in DIAGNOSTICS)
    total = sum(t.values())
    once = sum(t.get(k, 0.0) for k in ("E6", "E7", "psi (E5)", "update check (E3)"))
    return {"training s": round(t.get("training", 0.0) + t.get("data", 0.0), 2),
            "diagnostics s": round(diag, 2),
            "diagnostics share": round(diag / total, 3) if total else None,
            "E6, E7, psi, E3 check s": round(once, 2)}  # fmt: skip
