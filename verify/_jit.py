"""The house numba decorators: one place for the jit options used by every kernel.

Kernels are cached on disk (``cache=True``).  numba invalidates a cached kernel when the
file that *defines* it changes, but not when a function it inlines from another module
does (the CMS kernels of :mod:`verify.noise.cms` inline :mod:`verify.noise.elementary`).  So that
an edited helper can never leave a stale kernel behind, the kernels of this package are
cached under one stamp for the whole package: the size and modification time of every
``.py`` file of ``verify`` (any change recompiles them all).  Where numba's cache
internals differ from what this expects, or ``NUMBA_CACHE_DIR`` is set, its own per-file
stamp is used instead.
"""

from __future__ import annotations

from pathlib import Path

import numba

__all__ = ["jit", "package_stamp", "pjit"]

_OPTIONS = dict(cache=True, error_model="numpy", nogil=True)

_PACKAGE = Path(__file__).resolve().parent


def package_stamp(root: Path = _PACKAGE) -> tuple:
    """(relative path, size, mtime) of every ``.py`` file under ``root``, sorted."""
    out = []
    for path in sorted(root.rglob("*.py")):
        st = path.stat()
        out.append((path.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns))
    return tuple(out)


def _install_package_locator() -> bool:
    """Put a locator with the package-wide stamp first in numba's cache locators."""
    try:
        from numba.core import caching

        base = caching.InTreeCacheLocator
        impl = caching.CacheImpl
        classes = impl._locator_classes
    except (ImportError, AttributeError):  # another numba: keep its per-file stamps
        return False

    class PackageCacheLocator(base):
        """In-tree cache of this package's kernels, stamped by the whole package."""

        _stamp = None

        @classmethod
        def from_function(cls, py_func, py_file):
            if numba.config.CACHE_DIR:  # the user chose where caches go: numba's own locator
                return None
            try:
                inside = Path(py_file).resolve().is_relative_to(_PACKAGE)
            except (OSError, ValueError):
                return None
            return super().from_function(py_func, py_file) if inside else None

        def get_source_stamp(self):
            if PackageCacheLocator._stamp is None:
                PackageCacheLocator._stamp = package_stamp()
            return PackageCacheLocator._stamp

    if not any(c.__name__ == "PackageCacheLocator" for c in classes):
        classes.insert(0, PackageCacheLocator)
    return True


_install_package_locator()


def jit(fn=None, **kw):
    """Compile ``fn`` for the CPU, serially, with the house options."""
    opts = {**_OPTIONS, **kw}
    if fn is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(fn)


def pjit(fn=None, **kw):
    """Compile ``fn`` for the CPU with ``parallel=True`` (use ``numba.prange`` inside)."""
    opts = {**_OPTIONS, "parallel": True, **kw}
    if fn is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(fn)
