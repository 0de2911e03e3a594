"""Pure rendering: results in, markdown out (no I/O, no computation)."""

from __future__ import annotations

__all__ = ["claim_page", "index_page", "markdown_table", "summary_table"]

VERDICT = {
    "pass": "PASS",
    "partial": "PARTIAL",
    "inconclusive": "INCONCLUSIVE",
    "fail": "FAIL",
    "error": "ERROR",
}


def _cell(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: list[dict]) -> str:
    """A GitHub-flavoured markdown table from a list of dicts (keys of the first row)."""
    if not rows:
        return "_no rows_\n"
    keys = list(rows[0])
    out = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    out += ["| " + " | ".join(_cell(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(out) + "\n"


def summary_rows(results) -> list[dict]:
    """One row per claim: claim, verdict, predicted, measured, tolerance."""
    return [
        {
            "claim": r.claim,
            "verdict": VERDICT.get(r.verdict, r.verdict),
            "predicted": r.predicted,
            "measured": r.measured,
            "tolerance": r.tolerance,
            "negative control rejected": r.negative_control.get("rejected", ""),
        }
        for r in results
    ]


def summary_table(results) -> str:
    """The summary table of a run, as markdown."""
    return markdown_table(summary_rows(results))


def provenance_block(run, seeds: str) -> str:
    """Where a run comes from, as a markdown list: machine, profile, ``seeds``, runtime, command.

    ``run`` is a claims suite or an experiment run (``machine``, ``profile``, ``runtime_s``,
    ``command``); ``seeds`` says which seeds it used, after the profile on the same line.
    """
    lines = [f"- {k}: `{v}`" for k, v in run.machine.items()]
    lines += [f"- profile: `{run.profile}`, {seeds}", f"- runtime: {run.runtime_s:.1f} s"]
    if run.command:
        lines.append(f"- command: `{run.command}`")
    return "\n".join(lines) + "\n"


def _machine_block(suite) -> str:
    return provenance_block(
        suite,
        f"suite seed: `{suite.seed}`, total false-alarm budget: `{suite.false_alarm}`",
    )


def claim_page(result, suite, figures: dict[str, str] | None = None) -> str:
    """The page of one claim: statement, verdict, table, negative control, provenance."""
    parts = [
        f"# {result.claim}: {result.title}\n",
        f"**Verdict: {VERDICT.get(result.verdict, result.verdict)}**\n",
        f"- predicted: {result.predicted}",
        f"- measured: {result.measured}",
        f"- tolerance: {result.tolerance}",
        f"- negative control: {result.negative_control.get('description', '')} — "
        f"rejected: {_cell(result.negative_control.get('rejected', ''))}",
        f"- seed: `{result.seed}`, runtime {result.runtime_s:.1f} s\n",
    ]
    if result.resolution:
        parts.append("## Resolution\n")
        parts.append(
            "The smallest effects this check detects with probability >= 0.9 at its "
            "false-alarm budget:\n"
        )
        parts += [f"- {k}: {_cell(v)}" for k, v in result.resolution.items()]
        parts.append("")
    if result.notes:
        parts.append("## Notes\n")
        parts += [f"- {n}" for n in result.notes]
        parts.append("")
    for name, path in (figures or {}).items():
        parts.append(f"![{name}]({path})\n")
    parts.append("## Results\n")
    parts.append(markdown_table(result.rows))
    parts.append("## Parameters\n")
    parts += [f"- {k}: `{v}`" for k, v in result.params.items()]
    parts.append("\n## Provenance\n")
    parts.append(_machine_block(suite))
    return "\n".join(parts)


def index_page(suite, pages: dict[str, str], extras: list[str] | None = None) -> str:
    """The report's index: overall verdict, summary table, links, provenance."""
    n_pass = sum(r.passed and r.verdict != "inconclusive" for r in suite.results)
    n_open = sum(r.verdict == "inconclusive" for r in suite.results)
    undecided = f", {n_open} inconclusive (the data did not decide)" if n_open else ""
    head = [
        "# Learnability-window verification report\n",
        f"**{n_pass}/{len(suite.results)} claims pass{undecided}.**\n",
        "Claims are those of THEORY.md (L. Livi, arXiv 2512.05790); R1 is this project's own "
        "prediction. Every check has a negative control that must be rejected.\n",
        "## Summary\n",
        summary_table(suite.results),
        "## Pages\n",
    ]
    head += [f"- [{r.claim}: {r.title}]({pages[r.claim]})" for r in suite.results]
    head += [f"- {e}" for e in (extras or [])]
    head += ["\n## Provenance\n", _machine_block(suite)]
    return "\n".join(head)
