"""Every benchmark in one run: each of our kernels against its strongest peer, timed side by side.

Run ``python bench/run_all.py [--quick] [--threads 2] [--out bench/results/summary.md]``.

Rows (the peer is timed in the same process, right after ours, on the same problem):

* **sampler**: :func:`verify.stable.sample` (numba CMS) against
  ``scipy.stats.levy_stable.rvs`` and against NumPy's ``Generator.standard_normal`` (the
  cost floor of one random variate); on one thread, against drawing its own two random
  numbers (a uniform and an exponential) in numba, its floor.
* **detection Monte Carlo**: :func:`verify.detection.simulate_power` (draw ``trials x n``
  stable samples, reduce each trial to its mean, test) against the same experiment written
  with SciPy and NumPy (``levy_stable.rvs`` of shape (trials, n), ``mean``, compare).
* **transport** (``bench_transport.py``; skipped without torch): the GRU first-order
  envelope from ``(r, d)`` (:func:`verify.recurrences.envelope.envelope_of_factors`)
  against the prefix-sum method vectorised in PyTorch and in NumPy (handed ``(r, d)`` as
  well); :func:`verify.recurrences.log_envelope` with its forward pass against PyTorch
  autograd; the exact order against ``torch.func`` Jacobians with batched products.  Each
  peer's ``log f`` is checked equal to ours to 1e-10 relative before timing (except the
  autograd row, a different quantity, as labelled).
* **CPU against GPU**, where numba.cuda has a real GPU: the same workloads with
  ``device="cuda"`` against ``device="cpu"``.

Throughputs are items per second (samples; unit-updates for the transport, one per
sequence, position, lag >= 1 and unit); a ratio is ours over the peer, > 1 when ours is
faster.  Each time is the best of ``--repeat`` calls after a warm-up call (numba compiles
or loads its cache first).  The *roof* column places ours against a ceiling measured in
the same run (``roofline.py``): the arithmetic ceiling (multiply-adds per second of the
same threads on cached data) for the transport kernels, the cost of the random draws
for the sampler.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numba
import numpy as np
from _common import best_of, machine, write_atomic
from scipy import stats

from theory import Detection
from verify import detection, device, stable
from verify import recurrences as rec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_transport as bt  # noqa: E402
import roofline  # noqa: E402


class Table:
    """Rows of (workload, ours, peer, ours/s, peer/s, roof) and the notes under the table."""

    def __init__(self, progress):
        self.rows = []
        self.notes = []
        self.progress = progress

    def add(self, workload, ours, peer, items, t_ours, t_peer, roof=""):
        self.rows.append((workload, ours, peer, items / t_ours, items / t_peer, roof))
        self.progress(f"{workload}: {ours} {items / t_ours:.3g}/s, {peer} {items / t_peer:.3g}/s")

    def markdown(self) -> str:
        out = [
            "| workload | ours | peer (what it computes) | ours (items/s) | peer (items/s) "
            "| ours / peer | ours vs roof |",
            "|---|---|---|---:|---:|---:|---|",
        ]
        for w, a, b, ra, rb, roof in self.rows:
            out.append(f"| {w} | {a} | {b} | {ra:.3g} | {rb:.3g} | **{ra / rb:.2f}x** | {roof} |")
        return "\n".join(out)


@contextmanager
def threads_each(torch, n):
    """numba and torch on ``n`` threads inside the block, their previous count after it."""
    before = numba.get_num_threads()
    numba.set_num_threads(n)
    torch.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(before)
        torch.set_num_threads(before)


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
    # one thread against its floor: drawing the uniform and the exponential alone
    t_serial = timed(lambda: stable.sample(1.5, size=size, seed=1, parallel=False), repeat)
    t_draw = roofline.draw_floor(size, repeat) * size
    t_np2 = timed(lambda: (rng.random(size), rng.standard_exponential(size)), repeat)
    ns = 1e9 / size
    roof = (
        f"{t_serial * ns:.1f} ns/sample, draws alone {t_draw * ns:.1f} ns: {t_draw / t_serial:.0%}"
    )
    tab.add(f"sampler, alpha 1.5, {size:.0e}, 1 thread", "numba CMS",
            "its uniform + exponential drawn in numba (floor)", size, t_serial, t_draw,
            roof)  # fmt: skip
    tab.add(f"sampler, alpha 1.5, {size:.0e}, 1 thread", "numba CMS",
            "numpy Generator random + standard_exponential", size, t_serial, t_np2)  # fmt: skip


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


def bench_transport(tab, batch, hidden, steps, repeat, peak, peak1=None, dev="cpu"):
    """The GRU envelope rows (first order from (r, d), with forward, exact order)."""
    net, x, r, d = bt.problem(batch, hidden, steps)
    L = steps
    n = bt.updates(batch, hidden, steps, L)
    label = f"GRU envelope, first order, B {batch}, H {hidden}, T = L = {steps}"
    if dev == "cuda":

        def ours(dv):
            return lambda: rec.log_envelope(net, x, max_lag=L, order="first", device=dv)

        tab.add(label, "GPU", "CPU", n, timed(ours("cuda"), repeat), timed(ours("cpu"), repeat))
        return
    try:
        import torch
    except ImportError:
        tab.progress("transport: torch is not installed, the PyTorch peers are skipped")
        return
    torch.set_num_threads(numba.get_num_threads())
    rt, dt = torch.from_numpy(r), torch.from_numpy(d)
    mine = bt.ours_first(r, d, L)
    gaps = [
        bt.check_agree("torch prefix-sum", mine, bt.torch_prefix(torch, rt, dt, L)),
        bt.check_agree("numpy prefix-sum", mine, bt.numpy_prefix(r, d, L)),
    ]
    t_ours = timed(lambda: bt.ours_first(r, d, L), repeat)
    t_tp = timed(lambda: bt.torch_prefix(torch, rt, dt, L), repeat)
    t_np = timed(lambda: bt.numpy_prefix(r, d, L), repeat)
    # one update: two multiply-adds and an absolute value -> arithmetic bound at peak / 2
    roof = f"{2 * n / t_ours / peak:.0%} of the arithmetic roof"
    tab.add(label + ", from (r, d)", "numba", f"torch {torch.__version__} prefix-sum "
            "(cumsum log r, d / r; one pass per lag)", n, t_ours, t_tp, roof)  # fmt: skip
    tab.add(label + ", from (r, d)", "numba", "numpy prefix-sum (the same method)", n,
            t_ours, t_np, roof)  # fmt: skip
    # the same on one thread each: on a shared machine, the ratio with equal resources
    threads = numba.get_num_threads()
    with threads_each(torch, 1):
        t_ours1 = timed(lambda: bt.ours_first(r, d, L), repeat)
        t_tp1 = timed(lambda: bt.torch_prefix(torch, rt, dt, L), repeat)
    tab.add(label + ", from (r, d), 1 thread each", "numba", "torch prefix-sum (as above)",
            n, t_ours1, t_tp1, f"{2 * n / t_ours1 / peak1:.0%} of the 1-thread roof")  # fmt: skip
    # the prefix-sum peers stream ~128 bytes per (sequence, position, lag, unit) element:
    # nine tensor passes (two reads and a write each for the two differences, the product;
    # a read and a write for exp, + 1, abs; a read for the sum)
    elems = n + batch * steps * hidden
    tab.notes.append(
        f"The prefix-sum peers move ~128 bytes per element ({elems:.3g} elements): torch "
        f"{128 * elems / t_tp / 1e9:.1f} GB/s, numpy {128 * elems / t_np / 1e9:.1f} GB/s, "
        f"against a streaming triad of {tab.bandwidth / 1e9:.1f} GB/s on the same threads "
        "(their temporaries of B x T x H doubles partly stay in the L3 cache)."
    )
    # end to end from the inputs, against the PyTorch pipeline (nn.GRU, gates, prefix sums)
    gru = bt.torch_gru(torch, net)
    gaps.append(bt.check_agree("torch pipeline", bt.ours_pipeline(net, x, L),
                               bt.torch_pipeline(torch, gru, x, L)))  # fmt: skip
    # multiply-adds of the whole pipeline: the forward's products (3H (H + D) per step and
    # sequence) and two per unit-update of the envelope
    D = x.shape[2]
    madds = 2 * n + batch * steps * 3 * hidden * (hidden + D)
    e2e = {}
    for th in (threads, 1):
        with threads_each(torch, th):
            t_op = timed(lambda: bt.ours_pipeline(net, x, L), repeat)
            t_tpp = timed(lambda: bt.torch_pipeline(torch, gru, x, L), repeat)
        e2e[th] = (t_op, t_tpp)
        pk = peak if th == threads else peak1
        tab.add(label + f", end to end from the inputs{', 1 thread each' if th == 1 else ''}",
                "numba (fused forward + factors, envelope kernel)",
                "torch nn.GRU + batched gates + prefix-sum (eager)", n, t_op, t_tpp,
                f"{madds / t_op / pk:.0%} of the {'1-thread ' if th == 1 else ''}multiply-add "
                "roof (forward products + envelope)")  # fmt: skip
    best_torch = min(e2e, key=lambda k: e2e[k][1])
    tab.notes.append(
        f"End to end, the PyTorch pipeline was fastest on {best_torch} thread(s) "
        f"({e2e[best_torch][1] * 1e3:.0f} ms; on {threads}: {e2e[threads][1] * 1e3:.0f} ms); "
        f"ours on {threads} threads ({e2e[threads][0] * 1e3:.0f} ms) is "
        f"{e2e[best_torch][1] / e2e[threads][0]:.1f}x its best setting."
    )
    # end to end, forward pass included, against reverse mode (a different quantity);
    # autograd costs T backward passes of up to T steps, so it runs on a quarter of T
    ta = max(8, steps // 4)
    xa = x[:, :ta]
    na = bt.updates(batch, hidden, ta, ta)
    t_full = timed(lambda: rec.log_envelope(net, xa, max_lag=ta, order="first"), repeat)
    t_ag = best_of(lambda: bt.torch_autograd(torch, net, xa), 1)
    tab.add(f"GRU envelope, first order, B {batch}, H {hidden}, T = L = {ta}, with forward "
            "pass", "numba", "torch autograd (true Jacobian column sums, one backward per "
            "position; one call)", na, t_full, t_ag)  # fmt: skip
    # the exact order, smaller: O(T L H^3) per sequence
    eb, eh, et = (2, 16, 16) if batch < 64 else (8, 32, 64)
    enet, ex, _, _ = bt.problem(eb, eh, et, seed=5)
    mine = bt.ours_exact(enet, ex, et)
    gaps.append(bt.check_agree("torch exact", mine, bt.torch_exact(torch, enet, ex, et)))
    ne = bt.updates(eb, eh, et, et)
    t_oe = timed(lambda: bt.ours_exact(enet, ex, et), repeat)
    t_te = timed(lambda: bt.torch_exact(torch, enet, ex, et), repeat)
    roof = f"{ne * eh * eh / t_oe / peak:.0%} of the multiply-add roof"
    tab.add(f"GRU envelope, exact order, B {eb}, H {eh}, T = L = {et}", "numba",
            "torch.func vmap(jacrev) Jacobians + batched matmul per lag", ne, t_oe, t_te,
            roof)  # fmt: skip
    tab.notes.append(
        "Before timing, every peer's log f (except autograd's, a different quantity) was "
        f"checked equal to ours to 1e-10 relative; the largest gap was {max(gaps):.1e}."
    )


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
    peak = roofline.madd_peak(args.repeat)
    numba.set_num_threads(1)
    peak1 = roofline.madd_peak(args.repeat)
    numba.set_num_threads(threads)
    tab.bandwidth = roofline.stream_bandwidth(args.repeat)
    progress(f"roofline: {peak:.3g} multiply-adds/s, triad {tab.bandwidth / 1e9:.1f} GB/s")
    size = 10**6 if q else 10**7
    bench_sampler(tab, size, 10**4 if q else 10**5, args.repeat)
    n, trials = (1000, 200) if q else (10_000, 1000)
    bench_detection(tab, n, trials, max(10, trials // 20), args.repeat)
    bench_transport(tab, *((8, 32, 64) if q else (64, 64, 256)), args.repeat, peak, peak1)
    if device.cuda_available() and not device.simulator_enabled():
        bench_sampler(tab, 10 * size, 0, args.repeat, dev="cuda")
        bench_detection(tab, n, 10 * trials, 0, args.repeat, dev="cuda")
        bench_transport(tab, *((8, 32, 64) if q else (256, 64, 256)), args.repeat, peak, dev="cuda")
    else:
        progress("no CUDA GPU: the GPU rows are skipped")
    text = (
        f"# Benchmarks\n\n{header}.\n\nBest of {args.repeat} after a warm-up; total "
        f"{time.perf_counter() - t0:.0f} s. Peers marked SciPy are timed on a fraction of "
        "the work and scaled per item.\n\n"
        f"Roofline, measured in this run on the same {threads} threads: {peak:.3g} "
        f"multiply-adds/s on cached data (numba, vectorised; {peak1:.3g} on one thread), "
        "a streaming triad of "
        f"{tab.bandwidth / 1e9:.1f} GB/s.\n\n"
        + tab.markdown()
        + "\n\n"
        + "".join(f"* {note}\n" for note in tab.notes)
    )
    print(text, end="")
    if args.out:
        write_atomic(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
