"""The page "What this suite can detect": the kill matrix and each claim's resolution.

Pure rendering of the plain dictionaries of :class:`verify.selftest.KillMatrix` and
:class:`verify.selftest.SeedRun` (their ``as_dict()``): no I/O, no computation.
"""

from __future__ import annotations

from .render import VERDICT, markdown_table

__all__ = ["selftest_page"]

_FAILING = ("fail", "error")


def _cell(row: dict, claim: str, baseline: dict) -> str:
    if claim not in row:
        return "·"
    v = row[claim]
    if v in _FAILING and baseline.get(claim) not in _FAILING:
        return f"**{VERDICT.get(v, v)}**"
    return VERDICT.get(v, v).lower()


def _matrix_table(km: dict) -> str:
    claims = km["claims"]
    rows = []
    for m in km["mutations"]:
        row = km["cells"].get(m["name"], {})
        killers = km["killed"].get(m["name"], [])
        rows.append(
            {
                "mutation": m["name"],
                "planted error": m["description"],
                **{c: _cell(row, c, km["baseline"]) for c in claims},
                "killed": ("yes: " + ", ".join(killers)) if killers else "**NO**",
            }
        )
    base = {"mutation": "(none)", "planted error": "the correct code"}
    base.update({c: VERDICT.get(v, v).lower() for c, v in km["baseline"].items()})
    base["killed"] = "-"
    return markdown_table([base, *rows])


def _resolution_table(km: dict) -> str:
    rows = []
    for c in km["claims"]:
        res = km["resolution"].get(c) or {}
        if not res:
            rows.append({"claim": c, "effect": "(not stated)", "detected at >= 90 % power": ""})
        for k, v in res.items():
            rows.append({"claim": c, "effect": k, "detected at >= 90 % power": v})
    return markdown_table(rows)


def _seed_block(run: dict) -> list[str]:
    lo, hi = run["rate_ci95"]
    n = len(run["seeds"])
    per = ", ".join(f"{c}: {k}" for c, k in run["per_claim"].items() if k) or "none"
    return [
        "## False alarms of the correct code\n",
        f"The correct code was run at {n} suite seeds ({run['seeds'][0]}..{run['seeds'][-1]}, "
        f"profile `{run['profile']}`, claims {', '.join(run['claims'])}).",
        f"- runs with a failing claim: **{run['failed_runs']}/{n}** "
        f"(95 % Clopper-Pearson interval of the rate: [{lo:.3f}, {hi:.3f}])",
        f"- failures per claim: {per}",
        f"- stated budget: {run['budget']:.3g} per run; at most {run['allowed']} failed runs "
        f"of {n} are consistent with it (98 % binomial quantile): "
        f"**{'consistent' if run['consistent'] else 'NOT consistent'}**",
        f"- runtime: {run['runtime_s']:.0f} s\n",
    ]


def selftest_page(km: dict, seeds: dict | None = None, command: str = "") -> str:
    """Markdown of the kill matrix ``km`` (and the false-alarm run ``seeds``, if any)."""
    n_killed = sum(bool(v) for v in km["killed"].values())
    mode = (
        "every claim under every mutation"
        if km["mode"] == "all"
        else "under each mutation, the claims designated to notice it (· = not run)"
    )
    parts = [
        "# What this suite can detect\n",
        "A PASS is evidence only if the same check would FAIL were the theory or the code "
        "wrong. Each row plants one plausible error through an injection point (no file is "
        "edited) and runs the claims with the same seed as the correct code. A mutation is "
        "killed when a claim that passes with the correct code FAILs (or raises: ERROR) "
        "under it.\n",
        f"**{n_killed}/{len(km['mutations'])} planted errors killed**; correct code "
        f"{'passes' if all(v not in _FAILING for v in km['baseline'].values()) else 'FAILS'}"
        f". Profile `{km['profile']}`, seed `{km['seed']}`, {mode}; "
        f"runtime {km['runtime_s']:.0f} s.\n",
        "## Kill matrix\n",
        _matrix_table(km),
        "## Resolution of each claim\n",
        "The smallest effects each check detects with probability >= 0.9 at its share of "
        "the false-alarm budget, from its own power analysis:\n",
        _resolution_table(km),
    ]
    if seeds:
        parts += _seed_block(seeds)
    if command:
        parts.append(f"Command: `{command}`\n")
    return "\n".join(parts)
