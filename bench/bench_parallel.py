"""The claims suite serially and on a local Dask cluster: wall time, identical results, cells.

``python bench/bench_parallel.py [--full] [--claims C1,C3] [--workers 2] [--no-warmup]
[--out FILE]``

Runs the suite (the quick profile unless ``--full``) once serially and once on a
``--workers`` LocalCluster, in this process, after one untimed serial warm-up of the same
selection (so that both timed runs find numba's kernels in the on-disk cache).  Reports the
wall times and the speed-up (the cluster's start included), checks that the JSON results
(runtimes aside) are identical, and writes the distribution of cell durations from the
serial run with a scaling model. The model takes the cluster's task durations (one numba
thread per worker, as on a cluster of one-thread workers): per map, the wall time is at
least its longest task and at least its total task time over the workers; the driver's
own time (SymPy, reduces) stays serial. The serial run's cells use every numba thread, so
on a machine with as many cores as workers the cluster can gain only the serial run's
single-threaded parts.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict

from _common import machine

from verify import parallel
from verify.claims import run_suite

BINS = ((0.0, 0.1), (0.1, 1.0), (1.0, 10.0), (10.0, float("inf")))


def _result_json(r) -> str:
    d = r.as_dict()
    d.pop("runtime_s")
    return json.dumps(d, sort_keys=True)


def _differ(a, b) -> list[str]:
    """Claims whose JSON results (runtimes aside) differ between two runs."""
    return [x.claim for x, y in zip(a.results, b.results, strict=True)
            if _result_json(x) != _result_json(y)]  # fmt: skip


def timed(claims, profile, seed, executor):
    """Wall time of the suite on ``executor`` (started before the clock when given)."""
    t0 = time.perf_counter()
    suite = run_suite(claims, profile, seed, client=executor)
    return time.perf_counter() - t0, suite


def model(timings, driver_s, workers):
    """Predicted wall time on ``workers`` one-thread workers from one-thread task timings."""
    by_label = defaultdict(list)
    for t in timings:
        by_label[t.label].append(t.seconds)
    maps_s = sum(max(sum(v) / workers, max(v)) for v in by_label.values())
    return driver_s + maps_s, by_label


def render(args, load, serial_s, serial_ex, dask_s, start_s, differ, cluster_ex) -> str:
    """The markdown report."""
    lines = [
        f"# Claims suite: serial against {args.workers} Dask workers",
        "",
        machine(load),
        "",
        f"Profile `{args.profile}`, claims {args.claims or 'all'}, seed {args.seed}.  "
        f"Load average (1 min) before timing: {load:.2f}; after: {os.getloadavg()[0]:.2f}.",
        "",
        "| run | wall (s) | speed-up |",
        "|---|---|---|",
        f"| serial (numba {serial_ex.threads} threads in this process) | {serial_s:.1f} | 1.00 |",
        f"| `--workers {args.workers}` incl. cluster start ({start_s:.1f} s) | "
        f"{dask_s + start_s:.1f} | {serial_s / (dask_s + start_s):.2f} |",
        f"| `--workers {args.workers}`, suite only | {dask_s:.1f} | {serial_s / dask_s:.2f} |",
        "",
        "JSON results identical (runtimes aside): "
        + ("**yes**.  " if not differ else f"**NO** ({', '.join(differ)}).  ")
        + f"Tasks sent to the cluster: {len(cluster_ex.timings)} for "
        f"{sum(t.cells for t in cluster_ex.timings)} cells.",
        "",
        "## Cell durations (serial run)",
        "",
        "| duration | cells | share of cell time |",
        "|---|---|---|",
    ]
    ts = [t.seconds for t in serial_ex.timings]
    total = sum(ts) or 1.0
    for lo, hi in BINS:
        sel = [t for t in ts if lo <= t < hi]
        lines.append(f"| {lo:g}-{hi:g} s | {len(sel)} | {sum(sel) / total:.1%} |")
    lines += ["", "| map | cells | total (s) | median (s) | longest (s) |", "|---|---|---|---|---|"]
    driver_s = max(0.0, serial_s - total)
    _, by_label = model(serial_ex.timings, driver_s, 1)
    for label, v in by_label.items():
        v = sorted(v)
        lines.append(f"| {label} | {len(v)} | {sum(v):.1f} | {v[len(v) // 2]:.2f} | {v[-1]:.2f} |")
    lines += [
        "",
        f"Driver time outside cells (SymPy, reduces, figures' data): {driver_s:.1f} s.",
        "",
        "## Scaling model",
        "",
        f"From the cluster run's {len(cluster_ex.timings)} task durations (one numba thread "
        f"each; {sum(t.seconds for t in cluster_ex.timings):.1f} worker-seconds in all) and "
        "the driver's time above: per map, at least its longest task and at least its "
        "total over the workers. The serial run's cells used "
        f"{serial_ex.threads} numba threads each, so with as many cores as workers the "
        "cluster gains only the serial run's single-threaded parts.",
        "",
        "| one-thread workers | predicted wall (s) |",
        "|---|---|",
    ]
    for w in (1, 2, 8, 64):
        lines.append(f"| {w} | {model(cluster_ex.timings, driver_s, w)[0]:.1f} |")
    return "\n".join(lines) + "\n"


class _Threads(parallel.Serial):
    """Serial, recording numba's thread count for the report."""

    def __init__(self):
        import numba

        super().__init__()
        self.threads = numba.get_num_threads()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="the full profile (default: quick)")
    p.add_argument("--claims", help="comma-separated claim ids (default: all)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=20251205)
    p.add_argument("--out", help="write the markdown report here")
    p.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up run")
    args = p.parse_args()
    args.profile = "full" if args.full else "quick"
    claims = args.claims.split(",") if args.claims else None

    if not args.no_warmup:
        run_suite(claims, "quick", args.seed)  # warm-up: numba's on-disk cache
    load = os.getloadavg()[0]
    serial_ex = _Threads()
    serial_s, serial = timed(claims, args.profile, args.seed, serial_ex)
    print(f"serial: {serial_s:.1f} s (load average at start {load:.2f})", flush=True)
    t0 = time.perf_counter()
    with parallel.local(args.workers) as cluster_ex:
        start_s = time.perf_counter() - t0
        dask_s, on_cluster = timed(claims, args.profile, args.seed, cluster_ex)
    print(f"--workers {args.workers}: {dask_s:.1f} s + {start_s:.1f} s start", flush=True)
    differ = _differ(serial, on_cluster)
    if differ:
        print(f"results differ in {differ}", flush=True)
    text = render(args, load, serial_s, serial_ex, dask_s, start_s, differ, cluster_ex)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
