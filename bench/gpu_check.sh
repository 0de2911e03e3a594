#!/usr/bin/env bash
# The GPU checks in one command, for a machine with an NVIDIA GPU and the project's
# dependencies installed (numba with its CUDA target, SciPy, SymPy, pytest, hypothesis):
#   the CUDA kernel tests in process (simulator-sized grids), the PTX compile tests,
#   the realistic-size checks (-m gpu), and every benchmark (CPU against GPU included).
# Run from the repository root: bash bench/gpu_check.sh [OUTDIR]   (default /tmp/gpu-check)
set -o pipefail
out="${1:-${OUT:-/tmp/gpu-check}}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
py="${PYTHON:-python3}"
status=0
"$py" -c "from verify import device; print(device.describe('cuda'))" 2>&1 | tee "$out/device.txt"
"$py" -m pytest tests/cuda tests/test_gpu_compile.py tests/test_device.py -m "not slow" \
    -q -p no:cacheprovider 2>&1 | tee "$out/tests.log" || status=1
"$py" -m pytest tests/cuda -m gpu -q -p no:cacheprovider 2>&1 | tee "$out/gpu_tests.log" || status=1
"$py" bench/run_all.py --threads "$(nproc)" --out "$out/summary.md" 2>&1 | tee "$out/bench.log" || status=1
exit $status
