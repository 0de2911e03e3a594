"""The CUDA kernels compile for real hardware (to PTX, through NVVM), with no GPU present.

The simulator runs the kernels as Python, so it cannot catch what only the CUDA compiler
rejects (typing, unsupported builtins).  ``numba.cuda.compile_ptx`` needs NVVM from a CUDA
toolkit but no driver; the device functions the kernels call look up the current device's
compute capability, which is pinned here to the one being compiled for.
"""

import types

import pytest

from verify import device

if device.simulator_enabled():
    pytest.skip("compile_ptx is not available under the CUDA simulator", allow_module_level=True)

cuda = pytest.importorskip("numba.cuda")
from numba import boolean, float64, int64, uint64, void  # noqa: E402


def _nvvm_problem() -> str | None:
    """Why PTX cannot be compiled here (no NVVM / CUDA toolkit), or None when it can."""
    try:
        cuda.compile_ptx(lambda a: None, void(float64[::1]), cc=(8, 0))
    except Exception as exc:  # noqa: BLE001 - the reason is reported in the skip message
        return f"{type(exc).__name__}: {exc}"[:200]
    return None


_PROBLEM = _nvvm_problem()
pytestmark = pytest.mark.skipif(_PROBLEM is not None, reason=f"cannot compile PTX: {_PROBLEM}")


def signatures():
    from verify.gpu import noise, transport

    v = float64[::1]
    a3 = float64[:, :, ::1]
    a4 = float64[:, :, :, ::1]
    f = float64
    u = uint64
    return {
        "sample": (noise._sample_kernel, void(v, int64, u, u, f, f, f, f, f, f)),
        "partial": (
            noise._partial_kernel,
            void(v, int64, int64, u, u, f, boolean, f, f, f, f, f, f),
        ),
        "mean": (noise._mean_kernel, void(v, int64, int64, v)),
        "detect": (noise._detect_kernel, void(v, int64, int64, int64, f, f, int64[::1])),
        "transport": (
            transport._product_kernel,
            void(a3, a3, boolean, v, v, int64, a3, a3, a3, boolean, a4, a4),
        ),
    }


@pytest.mark.parametrize("cc", [(8, 0), (9, 0)])
@pytest.mark.parametrize("name", ["sample", "partial", "mean", "detect", "transport"])
def test_kernel_compiles_to_ptx(monkeypatch, name, cc):
    import numba.cuda.dispatcher as dispatcher

    fake = types.SimpleNamespace(compute_capability=cc)
    monkeypatch.setattr(dispatcher, "get_current_device", lambda: fake)
    kernel, sig = signatures()[name]
    ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=cc)
    assert f".target sm_{cc[0]}{cc[1]}" in ptx
    assert ".entry" in ptx
