"""Device selection: the CPU (numba) kernels, or their CUDA (numba.cuda) counterparts.

Every public function with a GPU version takes ``device=None | "cpu" | "cuda"``:

* ``"cpu"``: the numba CPU kernels (always available).
* ``"cuda"``: the numba.cuda kernels of :mod:`verify.gpu`.  If no CUDA GPU is usable a
  :class:`DeviceUnavailableError` says so; asking for a computation that has no GPU
  kernel (the median and trimmed-mean estimators, the ``"exact"`` transport order) is a
  ``ValueError`` that names the argument.
* ``None`` (the default): the device of the current context, ``"cpu"`` unless set with
  :func:`using`.  Under a ``"cuda"`` context every computation that has a GPU kernel runs
  on the GPU and the others stay on the CPU, so a whole verification suite can be pointed
  at the GPU (``learnwin verify --device cuda``).

The GPU streams are xoroshiro128+ generators, not the CPU's PCG64 streams: a seed gives
bit-identical numbers on a given device and launch-independent layout, and CPU and GPU
agree in distribution, not number by number.  With ``NUMBA_ENABLE_CUDASIM=1`` numba's
CUDA simulator stands in for a GPU (slowly; for tests on tiny grids).
"""

from __future__ import annotations

import contextlib
import contextvars
import os

__all__ = [
    "DEVICES",
    "DeviceUnavailableError",
    "check_device",
    "cuda_available",
    "current",
    "describe",
    "resolve",
    "using",
]

#: The device names understood by ``device=`` arguments.
DEVICES = ("cpu", "cuda")

_CURRENT: contextvars.ContextVar[str] = contextvars.ContextVar("verify_device", default="cpu")


class DeviceUnavailableError(RuntimeError):
    """``device="cuda"`` was asked for but no CUDA GPU (or simulator) is usable."""


def simulator_enabled() -> bool:
    """Whether numba's CUDA simulator is switched on (``NUMBA_ENABLE_CUDASIM=1``)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def cuda_available() -> bool:
    """Whether numba.cuda can run kernels here (a GPU with a driver, or the simulator)."""
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:  # noqa: BLE001 - any import or driver failure means "no GPU"
        return False


def _unavailable_message() -> str:
    return (
        "device='cuda' was requested but no CUDA GPU is available on this machine "
        "(numba.cuda.is_available() is False: no NVIDIA driver or device was found); "
        "use device='cpu', or install the 'gpu' extra on a machine with an NVIDIA GPU"
    )


def check_device(device) -> str:
    """Return ``device`` (``None`` resolved to the context's) if it is one of :data:`DEVICES`.

    Raises
    ------
    ValueError
        If ``device`` is not ``None``, ``"cpu"`` or ``"cuda"``.
    DeviceUnavailableError
        If ``"cuda"`` is asked for and no GPU is usable.
    """
    if device is None:
        device = _CURRENT.get()
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES} or None, got {device!r}")
    if device == "cuda" and not cuda_available():
        raise DeviceUnavailableError(_unavailable_message())
    return device


def current() -> str:
    """The device of the current context (``"cpu"`` unless inside :func:`using`)."""
    return _CURRENT.get()


def resolve(device, supported: bool = True, what: str = "") -> str:
    """The device a computation runs on.

    Parameters
    ----------
    device : {None, "cpu", "cuda"}
        As passed by the caller.
    supported : bool
        Whether this computation has a GPU kernel.
    what : str
        The unsupported choice, named in the error (e.g. ``"estimator='median'"``).

    Returns
    -------
    str
        ``"cpu"`` or ``"cuda"``.  An explicit ``"cuda"`` for an unsupported computation is
        a ``ValueError``; a ``"cuda"`` context falls back to the CPU for it.
    """
    explicit = device is not None
    dev = check_device(device)
    if dev == "cuda" and not supported:
        if explicit:
            raise ValueError(f"{what} has no GPU kernel: use device='cpu' for it")
        return "cpu"
    return dev


@contextlib.contextmanager
def using(device: str):
    """Context in which ``device=None`` means ``device`` (checked on entry)."""
    dev = check_device(device)
    token = _CURRENT.set(dev)
    try:
        yield dev
    finally:
        _CURRENT.reset(token)


def describe(device: str = "cuda") -> str:
    """One line naming the device: the GPU's name, "CUDA simulator", or the CPU."""
    if device == "cpu":
        import platform

        return f"CPU ({platform.machine()}, {os.cpu_count()} logical CPUs)"
    if simulator_enabled():
        return "numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1)"
    if not cuda_available():
        return "no CUDA GPU"
    from numba import cuda

    dev = cuda.get_current_device()
    name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
    cc = ".".join(str(v) for v in dev.compute_capability)
    return f"{name} (compute capability {cc})"
