"""``learnwin selftest``: the kill matrix, and the correct code's false alarms over seeds."""

from __future__ import annotations

import json
import sys

__all__ = ["add_parser", "run"]

DEFAULT_SEED = 20251205


def add_parser(subparsers):
    """Register ``selftest`` on an ``argparse`` sub-parser collection."""
    s = subparsers.add_parser(
        "selftest",
        help="plant errors in the code and show which claim notices each (kill matrix)",
        description=(
            "Plant plausible errors (wrong exponent, prefactor 5 %% off, H_N off by one, the "
            "zeroth order for the first, ...) through injection points and run the claims "
            "under each. Exit 0 when every planted error is killed (some claim FAILs) and "
            "the correct code passes; 1 otherwise; 2 on bad usage."
        ),
    )
    g = s.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="the quick profile (default)")
    g.add_argument("--full", action="store_true", help="the full profile")
    s.add_argument(
        "--all-claims",
        action="store_true",
        help="run every claim under every mutation (default: each mutation's designated "
        "claims only)",
    )
    s.add_argument("--mutations", help="comma-separated subset of mutations (default: all)")
    s.add_argument("--list", action="store_true", help="list the mutations and exit")
    s.add_argument(
        "--seeds",
        type=int,
        default=0,
        metavar="K",
        help="also run the correct code at K seeds (1..K) and report its false-alarm rate",
    )
    s.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help=f"suite seed of the matrix (default: {DEFAULT_SEED})")  # fmt: skip
    s.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="where the kernels run (cuda: numba.cuda; the rest stays on the CPU)",
    )
    s.add_argument("--json", help="write the matrix (and seed run) as JSON to this file")
    s.add_argument(
        "--report",
        metavar="DIR",
        help="add the page 'What this suite can detect' (selftest.md) to this report folder, "
        "with the correct code's pages of the claims run (e.g. reports)",
    )
    s.set_defaults(func=run)
    return s


def run(args) -> int:
    """Run the matrix (and the seed run); print the matrix; 0 when every error is killed."""
    from ..report.selftest import selftest_page
    from . import false_alarm_run, kill_matrix
    from .mutations import MUTATIONS, get

    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:18s} {m.description}  [designated: {', '.join(m.expected)}]")
        return 0
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    if args.seeds < 0:
        raise ValueError(f"--seeds must be >= 0, got {args.seeds}")
    from ..device import DeviceUnavailableError, check_device

    try:
        check_device(args.device)
    except DeviceUnavailableError as exc:
        raise ValueError(f"--device {args.device}: {exc}") from None
    from ..report.writer import check_report_dir, check_writable_file, write_text_atomic

    if args.json:  # refuse before the (long) run, not after
        check_writable_file(args.json, what="--json")
    if args.report:
        check_report_dir(args.report)
    muts = MUTATIONS
    if args.mutations:
        muts = [get(n.strip()) for n in args.mutations.split(",") if n.strip()]
        if not muts:
            raise ValueError("--mutations: no mutation named")
    profile = "full" if args.full else "quick"

    def say(line):
        print(line, file=sys.stderr, flush=True)

    km = kill_matrix(
        muts, profile=profile, seed=args.seed, mode="all" if args.all_claims else "expected",
        progress=say, device=args.device,
    )  # fmt: skip
    seeds = None
    if args.seeds:  # every claim
        seeds = false_alarm_run(args.seeds, None, profile, 1, progress=say, device=args.device)
    page = selftest_page(
        km.as_dict(), seeds.as_dict() if seeds else None, "learnwin " + " ".join(sys.argv[1:])
    )
    print(page)
    if args.json:
        data = {"matrix": km.as_dict(), "seeds": seeds.as_dict() if seeds else None}
        write_text_atomic(args.json, json.dumps(data, indent=2, sort_keys=True))
    if args.report:
        from ..report import write_report

        km.suite.command = "learnwin " + " ".join(sys.argv[1:])
        km.suite.extras["What this suite can detect"] = ("selftest.md", page)
        out = write_report(km.suite, args.report)
        print(f"report written to {out}/selftest.md", file=sys.stderr)
    ok = km.all_killed and (seeds is None or seeds.consistent)
    return 0 if ok else 1
