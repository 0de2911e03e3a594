"""Helpers shared by the benchmark scripts."""

import os
import platform
import time

import numba
import numpy as np
import scipy


def best_of(fn, repeat):
    """Best wall time of ``repeat`` calls of ``fn`` (seconds)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (or what ``platform`` knows)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(load: float, gpu: str | None = None) -> str:
    """One line: CPU, threads, GPU (when given), OS, versions and the load before timing."""
    gpu_part = f"GPU: {gpu}; " if gpu is not None else ""
    return (
        f"{cpu_name()}, {os.cpu_count()} logical CPUs, {gpu_part}"
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
        f"NumPy {np.__version__}, SciPy {scipy.__version__}, numba {numba.__version__} "
        f"({numba.get_num_threads()} threads); load average at start {load:.2f}"
    )


def write_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so no half-written page is left."""
    from pathlib import Path

    out = Path(path)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
