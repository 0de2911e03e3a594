"""The package-wide cache stamp: editing any module of ``verify`` invalidates every kernel."""

import os

import pytest

from verify import _jit
from verify.noise import cms, stable


def test_package_stamp_changes_with_any_file(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    before = _jit.package_stamp(tmp_path)
    assert [name for name, _, _ in before] == ["a.py", "sub/b.py"]
    assert _jit.package_stamp(tmp_path) == before
    st = os.stat(tmp_path / "sub" / "b.py")
    os.utime(tmp_path / "sub" / "b.py", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert _jit.package_stamp(tmp_path) != before
    (tmp_path / "c.py").write_text("")
    assert len(_jit.package_stamp(tmp_path)) == 3


def test_package_kernels_use_the_package_stamp():
    stable.sample(1.5, size=3, seed=0)  # compiled or loaded: the cache object exists
    cache = getattr(cms.sample_par, "_cache", None)
    locator = getattr(getattr(cache, "_impl", None), "_locator", None)
    if locator is None:
        pytest.skip("this numba keeps its cache locator elsewhere")
    assert type(locator).__name__ == "PackageCacheLocator"
    covered = {name for name, _, _ in locator.get_source_stamp()}
    assert {"noise/elementary.py", "noise/cms.py", "noise/stable.py", "gpu/noise.py"} <= covered
