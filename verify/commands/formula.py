"""``learnwin formula``: the closed forms and numbers of one envelope law.

The law f(ell), the minimal sample size N(ell) and the window H_N, as text, LaTeX or JSON,
with H_N and theta_N at the sample sizes asked for.  The window's rows and their wording
are shared with ``learnwin window`` (:mod:`.window`).
"""

from __future__ import annotations

import json

from .usage import EXIT_OK, check_ns

__all__ = ["cmd_formula", "theory_n_of", "window_row", "window_text"]


def _formula_payload(args):
    import theory

    check_ns(args.N)
    params = dict(args.param or [])
    law = theory.make_law(args.law, **params)
    n_of = theory.sample_complexity(law, args.alpha, args.sigma, args.c, args.delta)
    win = theory.learnability_window(law, args.alpha, args.sigma, args.c, args.delta)
    d = n_of.detection
    payload = {
        "law": law.name,
        "params": law.params,
        "detection": d.as_dict(),
        "kappa": theory.kappa(args.alpha),
        "envelope": {"text": law.text(), "latex": law.latex()},
        "sample_complexity": {"text": n_of.text(), "latex": n_of.latex()},
        "window": {
            "text": win.text(),
            "latex": win.latex(),
            "numeric_text": win.text(numeric=True),
            "regime": win.regime,
            "leading": str(win.leading),
        },
        "values": [],
    }
    for n in args.N or []:
        payload["values"].append({**window_row(win, n), "theta_N": d.theta(n)})
    return payload, law, n_of, win


def window_row(win, n):
    """H_N at one N: -1 and ``learnable: false`` when no lag is learnable."""
    try:
        h = win(n)
    except OverflowError:
        h = None
    return {"N": n, "H_N": h, "learnable": h is None or bool(win.learnable(n)),
            "log1p_H_N": win.log1p(n)}  # fmt: skip


def window_text(win, v):
    """How one H_N reads: a lag, 'none', or its size where it exceeds float64."""
    if v["H_N"] is None:
        return f"exp({v['log1p_H_N']:.6g}) (beyond float64)"
    if not v["learnable"]:
        lo = win.law.min_lag
        n_lo = theory_n_of(win)(lo)
        return f"none: no lag is learnable (N({lo}) = {n_lo} > N)"
    return str(v["H_N"])


def theory_n_of(win):
    """N(ell) with the window's detection constants."""
    from theory import SampleComplexity

    return SampleComplexity(win.law, win.detection)


def cmd_formula(args):
    """Print the closed forms for a law."""
    payload, law, n_of, win = _formula_payload(args)
    if args.format == "json":
        print(json.dumps(payload, indent=2))
        return EXIT_OK
    latex = args.format == "latex"
    d = payload["detection"]
    print(f"law: {law!r}")
    print("f(ell) = " + (law.latex() if latex else law.text()))
    print(n_of.latex() if latex else n_of.text())
    print(win.latex() if latex else win.text())
    print(win.latex(numeric=True) if latex else win.text(numeric=True))
    print(
        f"alpha = {d['alpha']:g}, kappa = {payload['kappa']:.6g}, epsilon = {d['epsilon']:.6g}, "
        f"q_(1-delta) = {d['q_power']:.6g}, K = {d['prefactor']:.6g}"
    )
    print(f"growth in N: {win.regime}, leading term {win.leading}")
    for v in payload["values"]:
        print(f"N = {v['N']:g}: H_N = {window_text(win, v)}")
    return EXIT_OK
