#!/usr/bin/env bash
# The GPU checks in one command, for a machine with an NVIDIA GPU and the project's
# dependencies installed (numba with its CUDA target, SciPy, SymPy, pytest, hypothesis;
# torch for the experiment's smoke run):
#   the CUDA kernel tests in process, the PTX compile tests, the realistic-size checks
#   (-m gpu), every benchmark (CPU against GPU included), the quick claims suite with
#   --device cuda, and the experiment's smallest profile with --device cuda.
# Each step has its own time cap in seconds (about 9 minutes in all), so that one slow
# step cannot take the others' time; a step that fails or runs out is logged and the
# script goes on. It writes eight files to OUTDIR (a step's log, its JSON, the bench table).
# Run from the repository root: bash bench/gpu_check.sh [OUTDIR]   (default /tmp/gpu-check)
set -o pipefail
out="${1:-${OUT:-/tmp/gpu-check}}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
py="${PYTHON:-python3}"
status=0
step() {  # step NAME CAP COMMAND...: run with a time cap, log to $out/NAME.log
    local name="$1" limit="$2"
    shift 2
    local t0=$SECONDS
    echo "== $name (cap ${limit} s)"
    timeout "$limit" "$@" >"$out/$name.log" 2>&1
    local rc=$?
    tail -n 15 "$out/$name.log"
    echo "== $name: exit $rc after $((SECONDS - t0)) s"
    [ "$rc" -eq 0 ] || status=1
}
{
    nvidia-smi -L
    "$py" -c "import numba, numpy, scipy, sympy; print('numba', numba.__version__, \
'numpy', numpy.__version__, 'scipy', scipy.__version__, 'sympy', sympy.__version__)"
    "$py" -c "from verify import device; print(device.describe('cuda'))"
} 2>&1
step tests 110 "$py" -m pytest tests/cuda tests/test_gpu_compile.py -m "not slow" -q \
    -p no:cacheprovider
step gpu_tests 80 "$py" -m pytest tests/cuda -m gpu -q -p no:cacheprovider
step bench 210 "$py" bench/run_all.py --threads "$(nproc)" --out "$out/summary.md"
step verify_cuda 100 "$py" -m verify verify --quick --device cuda --no-report \
    --json "$out/verify_cuda.json"
step experiment_cuda 60 "$py" -m verify experiment --tiny --device cuda --no-report \
    --json "$out/experiment_cuda.json"
exit $status
