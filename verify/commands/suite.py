"""``learnwin verify`` and ``learnwin report``: run the claims, summarise, write the report.

Both run a selection of the claims (:func:`verify.claims.run_suite`) on the executor the
flags ask for (:mod:`verify.parallel`), print the summary table and write the report;
``verify`` may skip the report and add a JSON file of every result.  Exit 0 when every
claim passes, 1 when one fails.
"""

from __future__ import annotations

import json
import sys

from .usage import EXIT_FAIL, EXIT_OK, UsageError, check_device, check_json_path, write_atomic

__all__ = ["cmd_report", "cmd_verify"]


def _progress(stream):
    def show(cid, done, total, res):
        if res is None:
            print(f"[{done + 1}/{total}] {cid} ...", file=stream, flush=True)
        else:
            print(
                f"[{done}/{total}] {cid} {res.verdict.upper()} ({res.runtime_s:.1f} s)",
                file=stream,
                flush=True,
            )

    return show


def _run(args, *, write_report: bool):
    from ..claims import available, run_suite
    from ..parallel import from_args, stderr_progress
    from ..report import summary_table
    from ..report import write_report as write
    from ..report.writer import check_report_dir

    check_device(args.device)
    claims = None
    if args.claims is not None:
        claims = [c.strip().upper() for c in args.claims.split(",") if c.strip()]
        if not claims:
            raise UsageError(f"--claims: no claim ids given; available: {','.join(available())}")
        bad = [c for c in claims if c not in available()]
        if bad:
            raise UsageError(f"--claims: unknown claim(s) {bad}; available: {available()}")
        claims = list(dict.fromkeys(claims))  # C4,C4 runs C4 once
    out = getattr(args, "report", None) or getattr(args, "out", None)
    flag = "--report" if hasattr(args, "report") else "--out"
    if write_report and out:  # checked before the run: a refused path costs nothing
        check_report_dir(out, what=flag)
    check_json_path(getattr(args, "json", None))
    profile = "full" if args.full else "quick"
    with from_args(args, progress=stderr_progress(sys.stderr)):  # closed also on Ctrl-C
        suite = run_suite(
            claims, profile, args.seed, progress=_progress(sys.stderr), device=args.device
        )
    suite.command = "learnwin " + " ".join(sys.argv[1:])
    print(summary_table(suite.results))
    n_open = sum(r.verdict == "inconclusive" for r in suite.results)
    n_pass = sum(r.passed for r in suite.results) - n_open
    undecided = f", {n_open} inconclusive (the data did not decide)" if n_open else ""
    print(f"{n_pass}/{len(suite.results)} claims pass{undecided} "
          f"({suite.runtime_s:.1f} s, seed {suite.seed}, profile {profile})")  # fmt: skip
    if args.json:
        write_atomic(args.json, json.dumps(suite.as_dict(), indent=2, sort_keys=True))
    if write_report and out:
        if getattr(args, "with_tail_table", True):
            suite.extras["alpha-estimator accuracy"] = ("tail_accuracy.md", *_tail_table(args))
        path = write(suite, out)
        print(f"report written to {path}/index.md")
    return EXIT_OK if suite.passed else EXIT_FAIL


def _tail_table(args):
    from ..noise.accuracy import accuracy_table, render_markdown

    if args.full:
        table = accuracy_table(seed=args.seed % 2**32)
    else:
        table = accuracy_table(alphas=(1.1, 1.4, 1.7, 2.0), reps=2, seed=args.seed % 2**32)
    text = "# Tail-index estimator accuracy\n\n" + render_markdown(table)
    return text, {"accuracy": table.plot_data()}


def cmd_verify(args):
    """Run the claims; the report is written unless ``--no-report``."""
    if args.no_report:
        args.report = None
    return _run(args, write_report=True)


def cmd_report(args):
    """Run the claims and write the report to ``--out``."""
    args.json = None
    return _run(args, write_report=True)
