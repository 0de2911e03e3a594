"""Every benchmark in one run: each of our kernels against a peer, timed side by side.

Run ``python bench/run_all.py [--quick] [--threads 2] [--out bench/results/summary.md]``.

Rows (the peer is timed in the same process, right after ours, on the same problem):

* **sampler**: :func:`verify.noise.stable.sample` (numba CMS) against
  ``scipy.stats.levy_stable.rvs`` and against NumPy's ``Generator.standard_normal`` (the
  cost floor of one random variate).
* **detection Monte Carlo**: :func:`verify.detection.simulate_power` (draw ``trials x n``
  stable samples, reduce each trial to its mean, test) against the same experiment written
  with SciPy and NumPy (``levy_stable.rvs`` of shape (trials, n), ``mean``, compare).
* **transport**: the GRU envelope of :func:`verify.recurrences.log_envelope` against
  PyTorch autograd (one backward pass per position; skipped without torch).
* **CPU against GPU**, where numba.cuda has a real GPU: the same three workloads with
  ``device="cuda"`` against ``device="cpu"``.

Throughputs are items per second (samples, or sequence-steps for the transport); a
ratio is ours over the peer, > 1 when ours is faster.  Each time is the best of
``--repeat`` calls after a warm-up call (numba compiles or loads its cache first).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numba
import numpy as np
from _common import best_of, machine
from scipy import stats

from theory import Detection
from verify import detection, device
from verify import recurrences as rec
from verify.noise import stable

HERE = Path(__file__).resolve().parent


class Table:
    """Rows of (workload, ours, peer, items, ours/s, peer/s)."""

    def __init__(self, progress):
        self.rows = []
        self.progress = progress

    def add(self, workload, ours, peer, items, t_ours, t_peer):
        self.rows.append((workload, ours, peer, items / t_ours, items / t_peer))
        self.progress(f"{workload}: {ours} {items / t_ours:.3g}/s, {peer} {items / t_peer:.3g}/s")

    def markdown(self) -> str:
        out = [
            "| workload | ours | peer | ours (items/s) | peer (items/s) | ours / peer |",
            "|---|---|---|---:|---:|---:|",
        ]
        for w, a, b, ra, rb in self.rows:
            out.append(f"| {w} | {a} | {b} | {ra:.3g} | {rb:.3g} | **{ra / rb:.2f}x** |")
        return "\n".join(out)


def timed(fn, repeat):
    fn()  # warm-up: compile, load the cache, allocate
    return best_of(fn, repeat)


def bench_sampler(tab, size, scipy_size, repeat, dev="cpu"):
    t_ours = timed(lambda: stable.sample(1.5, size=size, seed=1, device=dev), repeat)
    if dev == "cuda":
        t_cpu = timed(lambda: stable.sample(1.5, size=size, seed=1, device="cpu"), repeat)
        tab.add(f"sampler, alpha 1.5, {size:.0e}", "GPU", "CPU", size, t_ours, t_cpu)
        return
    rng = np.random.default_rng(2)
    t_sp = timed(lambda: stats.levy_stable.rvs(1.5, 0.0, size=scipy_size, random_state=rng), 1)
    t_sp *= size / scipy_size
    tab.add(f"sampler, alpha 1.5, {size:.0e}", "numba CMS", "scipy levy_stable.rvs",
            size, t_ours, t_sp)  # fmt: skip
    t_np = timed(lambda: rng.standard_normal(size), repeat)
    tab.add(f"sampler, alpha 1.5, {size:.0e}", "numba CMS", "numpy standard_normal",
            size, t_ours, t_np)  # fmt: skip


def scipy_power(det, mean, n, trials, seed):
    """The detection experiment written with SciPy and NumPy (the peer)."""
    rng = np.random.default_rng(seed)
    x = stats.levy_stable.rvs(det.alpha, 0.0, loc=mean, scale=det.sigma, size=(trials, n),
                              random_state=rng)  # fmt: skip
    stat = det.stat_scale * np.abs(x.mean(axis=1)) * n ** (1.0 / det.rate)
    return int(np.count_nonzero(stat > det.epsilon))


def bench_detection(tab, n, trials, scipy_trials, repeat, dev="cpu"):
    det = Detection(alpha=1.5)
    mean = det.prefactor * det.c / n ** (1.0 / det.rate)
    label = f"detection MC, n {n}, {trials} trials"

    def ours(d):
        return lambda: detection.simulate_power(det, mean, n, trials=trials, seed=3, device=d)

    t_ours = timed(ours(dev), repeat)
    if dev == "cuda":
        tab.add(label, "GPU", "CPU", n * trials, t_ours, timed(ours("cpu"), repeat))
        return
    t_sp = timed(lambda: scipy_power(det, mean, n, scipy_trials, 4), 1) * trials / scipy_trials
    tab.add(label, "numba", "scipy + numpy", n * trials, t_ours, t_sp)


def bench_transport(tab, batch, hidden, steps, repeat, dev="cpu"):
    net = rec.GRU.init(hidden, 8, rec.Chrono(t_max=steps), seed=0)
    x = rec.random_inputs(batch, steps, 8, seed=1)
    label = f"GRU envelope, B {batch}, H {hidden}, T = L = {steps}"

    def ours(d):
        return lambda: rec.log_envelope(net, x, max_lag=steps, order="first", device=d)

    t_ours = timed(ours(dev), repeat)
    if dev == "cuda":
        tab.add(label, "GPU", "CPU", batch * steps, t_ours, timed(ours("cpu"), repeat))
        return
    try:
        import torch
    except ImportError:
        tab.progress("transport: torch is not installed, the autograd peer is skipped")
        return
    sys.path.insert(0, str(HERE))
    from bench_transport import torch_envelope

    t_torch = timed(lambda: torch_envelope(torch, net, x), max(1, repeat - 1))  # warmed up too
    tab.add(label, "numba", f"torch {torch.__version__} autograd", batch * steps,
            t_ours, t_torch)  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    p.add_argument("--threads", type=int, default=2, help="numba CPU threads (default 2)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", help="write the markdown table to this file")
    args = p.parse_args(argv)
    threads = min(args.threads, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(threads)
    q = args.quick
    gpu = device.describe("cuda") if device.cuda_available() else "none"
    header = machine(os.getloadavg()[0], gpu)

    def progress(msg):
        print(msg, file=sys.stderr, flush=True)

    tab = Table(progress)
    t0 = time.perf_counter()
    size = 10**6 if q else 10**7
    bench_sampler(tab, size, 10**4 if q else 10**5, args.repeat)
    n, trials = (1000, 200) if q else (10_000, 1000)
    bench_detection(tab, n, trials, max(10, trials // 20), args.repeat)
    bench_transport(tab, *((8, 32, 64) if q else (64, 64, 256)), args.repeat)
    if device.cuda_available() and not device.simulator_enabled():
        bench_sampler(tab, 10 * size, 0, args.repeat, dev="cuda")
        bench_detection(tab, n, 10 * trials, 0, args.repeat, dev="cuda")
        bench_transport(tab, *((8, 32, 64) if q else (256, 64, 256)), args.repeat, dev="cuda")
    else:
        progress("no CUDA GPU: the GPU rows are skipped")
    text = (
        f"# Benchmarks\n\n{header}.\n\nBest of {args.repeat} after a warm-up; total "
        f"{time.perf_counter() - t0:.0f} s. Peers marked SciPy are timed on a fraction of "
        "the work and scaled per item.\n\n" + tab.markdown() + "\n"
    )
    print(text, end="")
    if args.out:
        out = Path(args.out)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
