"""Text of a trained network's window: the JSON data of ``learnwin window`` in, text out.

Pure: :func:`window_text` reads the plain dictionary that
:meth:`verify.recurrences.trained_window.WindowEstimate.as_dict` gives (the same one the
JSON file holds) and returns the page; no I/O, no computation beyond formatting.
"""

from __future__ import annotations

import math

__all__ = ["window_text"]


def _g(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _measured(m, L) -> str:
    ci = m.get("interval")
    span = ""
    if ci is not None:
        lo, hi = ("none" if v is None else str(v) for v in ci)
        span = f" [95% bootstrap over the sequences: {lo} to {hi}]"
    if not m["learnable"]:
        return "none (no measured lag clears theta_N, not even lag 0)" + span
    if m["censored"]:
        return f">= {L} (every measured lag clears theta_N; censored at max-lag {L})" + span
    return str(m["H_N"]) + span


def _fitted(f, L, half_law) -> str:
    if not f["learnable"]:
        text = "none (no lag of the law is learnable)"
    elif f["H_N"] is None:
        text = f"exp({f['log1p_H_N']:.6g}) (beyond float64)"
    else:
        text = str(f["H_N"])
    notes = []
    if f["extrapolated"]:
        need = f["max_lag_needed"]
        more = f"; --max-lag {need} would measure it" if need is not None else ""
        if f.get("steps_needed"):
            more += f" (with sequences of >= {f['steps_needed']} steps)"
        notes.append(f"EXTRAPOLATED beyond max-lag {L}{more}")
    if f["stable"] is False:
        h2 = f["half_lags_H_N"]
        notes.append(f"UNSTABLE: {'none' if h2 is None else h2} from the fit on lags "
                     f"1..{L // 2} ({half_law})")  # fmt: skip
    return text + (" [" + "; ".join(notes) + "]" if notes else "")


def _head(d) -> str:
    where = f"{d['arch'].upper()}"
    if d.get("layers", 1) > 1 or "layer" in d:
        where += f" layer {d.get('layer', 0)} of {d.get('layers', 1)}"
    where += f" from {d['weights']}"
    if d.get("prefix"):
        where += f" (prefix {d['prefix']!r})"
    return f"{where}: hidden {d['hidden']}, inputs {d['inputs']}"


def _change(log_drop) -> str:
    """``falls by 9.03x`` or ``rises by 1.36x`` for a change ``log_drop`` of a log value."""
    word = "falls" if log_drop <= 0 else "rises"
    return f"{word} by {math.exp(abs(log_drop)):.4g}x"


def _full_table(d) -> list:
    ft = d["full_transport"]
    kinds = list(ft["log_norm"])
    L = d["max_lag"]
    lags = sorted({0, 1, 2, 5, 10, 20, 50, 100, 200, 500, L} & set(range(L + 1)))
    head = "  lag  envelope f(l)  " + "  ".join(f"||d{k}_t/d{k}_(t-l)||_F" for k in kinds)
    out = ["full transport (Frobenius norms, mean over sequences and positions):", head]
    for lag in lags:
        env = math.exp(d["log_envelope"][lag])
        cols = "  ".join(f"{math.exp(ft['log_norm'][k][lag]):>20.4g}" for k in kinds)
        out.append(f"  {lag:>3}  {env:>13.4g}  {cols}")
    dec = ft["decay"]
    if dec and dec["ratio"] is not None:
        k = dec["kind"]
        env, full = _change(dec["envelope_log_drop"]), _change(dec["full_log_drop"])
        out.append(f"  from lag 1 to {dec['to_lag']}: the envelope {env}, ||d{k}/d{k}|| {full} "
                   f"(ratio {dec['ratio']:.4g})")  # fmt: skip
    if ft["explicit_pairs"]:
        out.append(f"  ({ft['explicit_pairs']} (position, lag) pairs taken from explicit products)")
    return out


def window_text(d: dict) -> str:
    """The page of one window estimate (the dictionary of its JSON)."""
    L = d["max_lag"]
    out = [_head(d), "assumed (source in brackets):"]
    for a in d["assumptions"]:
        note = f"  -- {a['note']}" if a["note"] else ""
        out.append(f"  {a['name']:<10} {_g(a['value'])} [{a['source']}]{note}")
    env = d["log_envelope"]
    out.append(f"measured envelope ({d['order']} order) at lags 0..{L}: f(0) = "
               f"{math.exp(env[0]):.4g}, f(1) = {math.exp(env[min(1, L)]):.4g}, "
               f"f({L}) = {math.exp(env[L]):.4g}")  # fmt: skip
    out.append(f"fitted envelope laws on lags 1..{L} (best first):")
    for f in d["fits"]:
        params = ", ".join(f"{k}={v:.4g}" for k, v in f["params"].items())
        out.append(f"  {f['name']:<22} {params:<40} delta-BIC = {f['delta']:.2f}")
    half = d["half_lags_law"]
    out.append(f"chosen: {d['law']}" + ("" if half is None else f"; on lags 1..{L // 2}: {half}"))
    out.append("window at each N (measured: the largest measured lag with f(l) >= theta_N; "
               "fitted: floor(H_N) of the chosen law):")  # fmt: skip
    for r in d["windows"]:
        out.append(f"  N = {r['N']:g}: theta_N = {r['theta_N']:.4g}")
        out.append(f"    measured H_N = {_measured(r['measured'], L)}")
        out.append(f"    fitted   H_N = {_fitted(r['fitted'], L, half)}")
    if "full_transport" in d:
        out += _full_table(d)
    if d["warnings"]:
        out.append("warnings:")
        out += [f"  * {w}" for w in d["warnings"]]
    return "\n".join(out) + "\n"
