"""Device selection, and the CUDA kernel tests run in a separate process under the simulator."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from theory import Detection
from verify import detection, device
from verify import recurrences as rec
from verify.noise import stable

ROOT = Path(__file__).resolve().parents[1]


def no_gpu(monkeypatch):
    monkeypatch.setattr(device, "cuda_available", lambda: False)


def test_device_names_are_checked():
    assert device.check_device("cpu") == "cpu"
    assert device.check_device(None) == "cpu"
    with pytest.raises(ValueError, match=r"device must be one of \('cpu', 'cuda'\)"):
        device.check_device("gpu")
    with pytest.raises(ValueError, match="device must be one of"):
        stable.sample(1.5, size=3, seed=0, device="tpu")


def test_cuda_without_a_gpu_says_so(monkeypatch):
    no_gpu(monkeypatch)
    msg = r"device='cuda' was requested but no CUDA GPU is available.*use device='cpu'"
    with pytest.raises(device.DeviceUnavailableError, match=msg):
        stable.sample(1.5, size=10, seed=0, device="cuda")
    with pytest.raises(device.DeviceUnavailableError, match=msg):
        stable.trial_means(1.5, n=10, trials=2, seed=0, device="cuda")
    det = Detection(alpha=1.5)
    with pytest.raises(device.DeviceUnavailableError, match=msg):
        detection.simulate_power(det, 0.5, 10, trials=5, seed=0, device="cuda")
    net = rec.GRU.init(hidden=2, inputs=1, spectrum=rec.Chrono(t_max=10), seed=0)
    with pytest.raises(device.DeviceUnavailableError, match=msg):
        rec.envelope(net, rec.random_inputs(1, 4, 1, seed=0), 2, device="cuda")
    with pytest.raises(device.DeviceUnavailableError, match=msg):
        with device.using("cuda"):
            pass


def test_context_sets_the_default_and_is_restored(monkeypatch):
    monkeypatch.setattr(device, "cuda_available", lambda: True)
    assert device.current() == "cpu"
    with device.using("cuda"):
        assert device.current() == "cuda"
        # computations without a GPU kernel fall back to the CPU inside a cuda context ...
        assert device.resolve(None, supported=False, what="order='exact'") == "cpu"
        assert device.resolve(None) == "cuda"
        # ... but an explicit request for one is an error that names the choice
        with pytest.raises(ValueError, match="order='exact' has no GPU kernel"):
            device.resolve("cuda", supported=False, what="order='exact'")
    assert device.current() == "cpu"


def test_cpu_results_do_not_change_with_an_explicit_cpu_device():
    a = stable.sample(1.5, size=100, seed=3)
    b = stable.sample(1.5, size=100, seed=3, device="cpu")
    assert np.array_equal(a, b)


def test_describe_names_the_device(monkeypatch):
    assert device.describe("cpu").startswith("CPU (")
    if not device.simulator_enabled():
        no_gpu(monkeypatch)
        assert device.describe("cuda") == "no CUDA GPU"
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")
    assert "simulator" in device.describe("cuda")


def test_cuda_kernels_under_the_simulator():
    """Run tests/cuda in a fresh interpreter with NUMBA_ENABLE_CUDASIM=1 (tiny grids)."""
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    cmd = [sys.executable, "-m", "pytest", "tests/cuda", "-q", "-p", "no:cacheprovider",
           "-m", "not slow and not gpu"]  # fmt: skip
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    tail = proc.stdout[-6000:] + proc.stderr[-3000:]
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout and "skipped" not in proc.stdout.splitlines()[-1], tail


@pytest.mark.skipif(device.simulator_enabled(), reason="the simulator does not warn")
def test_small_grids_launch_without_the_occupancy_warning():
    # numba warns when a launch of few blocks is configured; small problems are legitimate,
    # and under the test suite's "error" filter the warning would abort every small launch
    from verify.gpu import noise, streams

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(Warning, match="under-utili"):
            noise._mean_kernel[1, streams.THREADS_PER_BLOCK]
        with streams.quiet_small_grid():
            noise._mean_kernel[1, streams.THREADS_PER_BLOCK]
