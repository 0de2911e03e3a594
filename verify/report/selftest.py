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


def _kind(m: dict) -> str:
    return m.get("kind", "error")


def _matrix_table(km: dict, kind: str = "error") -> str:
    claims = km["claims"]
    rows = []
    for m in (m for m in km["mutations"] if _kind(m) == kind):
        row = km["cells"].get(m["name"], {})
        killers = km["killed"].get(m["name"], [])
        rows.append(
            {
                "mutation": m["name"],
                "planted error": m["description"],
                **{c: _cell(row, c, km["baseline"]) for c in claims},
                "killed": ("yes: " + ", ".join(killers))
                if killers
                else ("**NO**" if kind == "error" else "missed"),
            }
        )
    if kind != "error":
        return markdown_table(rows)
    base = {"mutation": "(none)", "planted error": "the correct code"}
    base.update({c: VERDICT.get(v, v).lower() for c, v in km["baseline"].items()})
    base["killed"] = "-"
    return markdown_table([base, *rows])


def _inconclusive_line(km: dict) -> str:
    inc = km.get("inconclusive") or {}
    runs = 1 + len(km["cells"])
    per = ", ".join(f"{c}: {k}" for c, k in inc.items() if k) or "none"
    return (
        f"INCONCLUSIVE verdicts (neither a kill nor a false alarm) over the {runs} runs of the "
        f"matrix (correct code and each mutation, the claims run in each): {per}.\n"
    )


def _resolution_table(km: dict) -> str:
    rows = []
    for c in km["claims"]:
        res = km["resolution"].get(c) or {}
        if not res:
            rows.append({"claim": c, "effect": "(not stated)", "detected at >= 90 % power": ""})
        for k, v in res.items():
            rows.append({"claim": c, "effect": k, "detected at >= 90 % power": v})
    return markdown_table(rows)


def _seed_list(seeds: list[int]) -> str:
    """``a..b`` for consecutive seeds, else the seeds themselves."""
    if list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}..{seeds[-1]}"
    return ", ".join(map(str, seeds))


def _seed_block(run: dict) -> list[str]:
    lo, hi = run["rate_ci95"]
    n = len(run["seeds"])
    per = ", ".join(f"{c}: {k}" for c, k in run["per_claim"].items() if k) or "none"
    inc = run.get("inconclusive_per_claim") or {}
    inc_per = ", ".join(f"{c}: {k}" for c, k in inc.items() if k) or "none"
    inc_runs = run.get("inconclusive_runs", 0)
    return [
        "## False alarms of the correct code\n",
        f"The correct code was run at {n} suite seeds ({_seed_list(run['seeds'])}, "
        f"profile `{run['profile']}`, claims {', '.join(run['claims'])}).",
        f"- runs with a failing claim: **{run['failed_runs']}/{n}** "
        f"(95 % Clopper-Pearson interval of the rate: [{lo:.3f}, {hi:.3f}])",
        f"- failures per claim: {per}",
        f"- runs with an INCONCLUSIVE claim and no failure: **{inc_runs}/{n}** "
        f"({inc_runs / n:.0%}); INCONCLUSIVE verdicts per claim: {inc_per} (neither a pass "
        "nor a false alarm: the data did not decide)",
        f"- stated budget: {run['budget']:.3g} per run; at most {run['allowed']} failed runs "
        f"of {n} are consistent with it (98 % binomial quantile): "
        f"**{'consistent' if run['consistent'] else 'NOT consistent'}**",
        f"- runtime: {run['runtime_s']:.0f} s\n",
    ]


def selftest_page(km: dict, seeds: dict | None = None, command: str = "") -> str:
    """Markdown of the kill matrix ``km`` (and the false-alarm run ``seeds``, if any)."""
    errors = [m for m in km["mutations"] if _kind(m) == "error"]
    planted = [m for m in km["mutations"] if _kind(m) != "error"]
    n_killed = sum(bool(km["killed"].get(m["name"])) for m in errors)
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
        "under it; INCONCLUSIVE (the data did not decide) is neither a kill nor a false "
        "alarm.\n",
        f"**{n_killed}/{len(errors)} planted errors killed**; correct code "
        f"{'passes' if all(v not in _FAILING for v in km['baseline'].values()) else 'FAILS'}"
        f". Profile `{km['profile']}`, seed `{km['seed']}`, {mode}; "
        f"runtime {km['runtime_s']:.0f} s.\n",
        "## Kill matrix\n",
        _matrix_table(km),
        _inconclusive_line(km),
        "## Resolution of each claim\n",
        "The smallest effects each check detects with probability >= 0.9 at its share of "
        "the false-alarm budget, from its own power analysis:\n",
        _resolution_table(km),
    ]
    if planted:
        n_hit = sum(bool(km["killed"].get(m["name"])) for m in planted)
        parts += [
            "## Power against the stated resolutions\n",
            "Each row plants an error at the size a claim states it detects with probability "
            ">= 0.9 (quick profile), so about one row in ten may be missed by chance; a PASS "
            "under such an error is the equivalence test's stated error (<= 0.1). "
            f"Detected (FAIL) at this seed: **{n_hit}/{len(planted)}**.\n",
            _matrix_table(km, "resolution"),
        ]
    if seeds:
        parts += _seed_block(seeds)
    if command:
        parts.append(f"Command: `{command}`\n")
    return "\n".join(parts)
