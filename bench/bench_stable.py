"""Throughput of the numba CMS sampler against SciPy's levy_stable.rvs and NumPy's normal.

Run ``python bench/bench_stable.py [--size N] [--threads 2] [--out bench/results/stable.md]``.
SciPy is timed on a smaller sample (``--scipy-size``) and reported per sample. The report
also says whether LLVM vectorised the CMS loop (and how wide).
"""

from __future__ import annotations

import argparse
import os
import re

import numba
import numpy as np
from _common import best_of, machine
from scipy import stats

from verify._jit import jit
from verify.noise import cms, stable


def simd_width() -> str:
    """How LLVM compiled the CMS loop of the block kernel (an uncached copy is compiled).

    The only divisions of ``_fill_block`` are in the CMS transform, so the widest
    ``fdiv <N x double>`` in its LLVM IR is the number of samples per SIMD instruction.
    """
    fn = jit(cms.fill_block.py_func, cache=False)
    out = np.empty(stable.BLOCK)
    fn(np.random.default_rng(0), out, 0, stable.BLOCK, 1.5, 0.0, 0.0, 0.0, 1.0, 0.0)
    ir = fn.inspect_llvm(fn.signatures[0])
    widths = [int(w) for w in re.findall(r"fdiv <(\d+) x double>", ir)]
    return f"{max(widths)} doubles per instruction" if widths else "not vectorised"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=10**7)
    p.add_argument("--scipy-size", type=int, default=10**5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--alpha", type=float, default=1.5)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    a, n = args.alpha, args.size
    load = os.getloadavg()[0]  # before this script adds its own load

    stable.sample(a, size=1000, seed=0)  # compile / load from cache
    stable.sample(a, size=1000, seed=0, parallel=False)
    rows = []
    t = best_of(lambda: stable.sample(a, size=n, seed=1), args.repeat)
    rows.append((f"stable.sample (numba, {numba.get_num_threads()} threads)", n, n / t))
    t = best_of(lambda: stable.sample(a, size=n, seed=1, parallel=False), args.repeat)
    rows.append(("stable.sample (numba, serial)", n, n / t))
    t = best_of(lambda: stable.sample(a, 0.5, size=n, seed=1), args.repeat)
    rows.append((f"stable.sample beta=0.5 ({numba.get_num_threads()} threads)", n, n / t))
    rng = np.random.default_rng(2)
    t = best_of(lambda: rng.standard_normal(n), args.repeat)
    rows.append(("numpy Generator.standard_normal (1 thread)", n, n / t))
    ns = args.scipy_size
    t = best_of(lambda: stats.levy_stable.rvs(a, 0.0, size=ns, random_state=rng), args.repeat)
    rows.append((f"scipy.stats.levy_stable.rvs (size {ns}, scaled)", ns, ns / t))

    ours, normal, sp = rows[0][2], rows[3][2], rows[4][2]
    lines = [
        f"alpha = {a}, beta = 0, best of {args.repeat}. Machine: {machine(load)}.",
        "",
        f"CMS loop of the block kernel (alpha != 1): {simd_width()}.",
        "",
        "| generator | samples | samples/s |",
        "|---|---:|---:|",
        *[f"| {name} | {size:.0e} | {rate:.3g} |" for name, size, rate in rows],
        "",
        f"* numba sampler / SciPy levy_stable.rvs: **{ours / sp:.1f}x** (target >= 10x)",
        f"* numba sampler / NumPy standard_normal: **{ours / normal:.2f}** (target >= 1/3)",
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
