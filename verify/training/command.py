"""``learnwin experiment``: train networks, measure their windows, check E1-E7, write a report.

This module imports torch only inside :func:`run`, so that ``learnwin`` works without the
``train`` extra (the command then says how to install it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

__all__ = ["DEFAULT_REPORT", "add_parser", "run"]

DEFAULT_REPORT = "reports/experiment"
DEFAULT_SEED = 20251205
ARCH_CHOICES = ("gru", "lstm", "diaggate", "constgate")
OPTIMIZER_CHOICES = ("adamw", "sgd", "sgdm", "rmsprop")


def add_parser(subparsers):
    """Register ``experiment`` on an ``argparse`` sub-parser collection."""
    e = subparsers.add_parser(
        "experiment",
        help="train GRUs/LSTMs on the multi-lag task and check E1-E7 (needs torch)",
    )
    g = e.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="the quick profile (default)")
    g.add_argument(
        "--standard",
        action="store_true",
        help="sized for evidence: 5 seeds, spaced lags up to 128 (a cluster: --workers)",
    )
    g.add_argument("--full", action="store_true", help="the author's scale (cluster or GPU)")
    g.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # seconds, for tests
    e.add_argument(
        "--arch",
        action="append",
        choices=ARCH_CHOICES,
        help="architecture(s) of the main grid (repeat; the first is the reference)",
    )
    e.add_argument(
        "--optimizer",
        action="append",
        choices=OPTIMIZER_CHOICES,
        help="optimizer(s) of the main grid (repeat; the first is the reference)",
    )
    e.add_argument("--seeds", type=int, help="seed indices per condition")
    e.add_argument("--seed", type=int, default=DEFAULT_SEED, help="root seed of the run")
    e.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="where the networks train (cuda: torch on the GPU)",
    )
    e.add_argument("--json", help="write all results as JSON to this file")
    e.add_argument(
        "--report", default=DEFAULT_REPORT, help=f"report folder (default: {DEFAULT_REPORT})"
    )
    e.add_argument("--no-report", action="store_true", help="do not write a report")
    from verify.parallel import add_arguments as executor_opts

    executor_opts(e)  # --workers, --scheduler, --scheduler-file: cells on Dask
    e.set_defaults(func=run)
    return e


def _progress(stream):
    def show(i, total, cell, res):
        if res is None:
            print(f"[{i + 1}/{total}] {cell.name} ...", file=stream, flush=True)
        else:
            w = res.ratio[-1] >= 0.5
            lags = [lag for lag, ok in zip(res.task["lags"], w, strict=True) if ok]
            print(
                f"[{i}/{total}] {cell.name} done ({res.runtime_s:.1f} s): learned lags {lags}, "
                f"alpha_hat {res.alpha[-1]:.3f}",
                file=stream,
                flush=True,
            )

    return show


def _cluster_map(fn, cells, progress=None):
    from verify.parallel import map_cells

    return map_cells(fn, cells, label="experiment")


def run(args) -> int:
    """Run the experiment; exit 0 when every check passes, 1 otherwise, 2 on bad usage."""
    try:
        import torch
    except ImportError:
        print(
            'learnwin experiment: error: torch is not installed; pip install -e ".[train]"',
            file=sys.stderr,
        )
        return 2
    from .experiment import PROFILES, run_experiment

    if args.device == "cuda" and not torch.cuda.is_available():
        print(
            "learnwin experiment: error: --device cuda: torch sees no CUDA GPU on this machine",
            file=sys.stderr,
        )
        return 2
    if args.seeds is not None and args.seeds < 1:
        print(
            f"learnwin experiment: error: --seeds must be >= 1, got {args.seeds}", file=sys.stderr
        )
        return 2
    if args.seed < 0:
        print(f"learnwin experiment: error: --seed must be >= 0, got {args.seed}", file=sys.stderr)
        return 2
    from verify.report.writer import check_report_dir, check_writable_file

    if args.json:  # refused before the training, not after it
        check_writable_file(args.json, what="--json")
    if not args.no_report:
        check_report_dir(args.report)
    chosen = [n for n in ("full", "standard", "tiny") if getattr(args, n)]
    profile = PROFILES[chosen[0] if chosen else "quick"]
    command = "learnwin " + " ".join(sys.argv[1:]) if sys.argv and sys.argv[0] else ""
    from verify import parallel

    t0 = time.perf_counter()
    with parallel.from_args(args, progress=parallel.stderr_progress(sys.stderr)) as ex:
        # serially, the detailed per-cell lines; on a cluster, the executor's progress
        mapper = None if isinstance(ex, parallel.Serial) else _cluster_map
        run_ = run_experiment(
            profile,
            archs=args.arch,
            optimizers=args.optimizer,
            seeds=args.seeds,
            seed=args.seed,
            device=args.device,
            progress=_progress(sys.stderr),
            mapper=mapper,
            command=command,
        )
    print(
        f"experiment ({profile.name}, seed {args.seed}): {len(run_.cells)} cells in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    for c in run_.checks:
        print(f"  {c.claim} {c.verdict.upper():8s} {c.measured}")
    if args.json:
        from verify.report.writer import write_text_atomic

        write_text_atomic(args.json, json.dumps(run_.as_dict(), indent=2, sort_keys=True))
    if not args.no_report:
        from verify.report.experiment import write_experiment_report

        out = write_experiment_report(run_, Path(args.report))
        print(f"report: {out / 'index.md'}")
    return 0 if all(c.verdict == "pass" for c in run_.checks) else 1
