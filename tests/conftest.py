"""Shared test configuration: Hypothesis profiles and common fixtures."""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# ``ci`` is the default: derandomized, so every run draws the same examples, no deadline
# (numba compiles on first call), no example database written to the checkout.
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("LEARNWIN_HYPOTHESIS_PROFILE", "ci"))


def pytest_ignore_collect(collection_path, config):
    """Collect tests/cuda only where numba.cuda can run kernels (a GPU or the simulator)."""
    if collection_path.name == "cuda" and collection_path.parent == Path(__file__).parent:
        from verify.device import cuda_available

        return None if cuda_available() else True
    return None


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    """A fresh temporary working folder: it shows every file a command call touched."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
