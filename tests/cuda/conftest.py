"""CUDA kernel tests: collected only where numba.cuda can run kernels.

``tests/test_device.py`` runs this folder in a separate pytest process under numba's CUDA
simulator (``NUMBA_ENABLE_CUDASIM=1``, tiny grids); on a machine with a GPU it also runs
in-process, and ``-m gpu`` selects the tests that need real hardware (realistic sizes).
"""

import sys
from pathlib import Path

import pytest

from verify import device

# the shared test helpers (``_recurrence_nets``) live one folder up
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pytest_configure(config):
    # the simulator runs numba.cuda.random's xoroshiro128+ on NumPy uint64 scalars, whose
    # intended wrap-around arithmetic warns; compiled kernels wrap silently
    config.addinivalue_line("filterwarnings", "ignore:overflow encountered:RuntimeWarning")
    # ... and, under the simulator, compiles those functions with an option numba deprecates
    config.addinivalue_line(
        "filterwarnings",
        "ignore:.*nopython=False:numba.core.errors.NumbaDeprecationWarning",
    )


@pytest.fixture(autouse=True)
def _needs_cuda(request):
    if not device.cuda_available():
        pytest.skip("numba.cuda cannot run kernels here (no GPU, simulator off)")
    if request.node.get_closest_marker("gpu") and device.simulator_enabled():
        pytest.skip("needs real CUDA hardware, not the simulator")
