#!/usr/bin/env bash
# Everything issue 13 must show, in one call on a GPU machine (docs/gpu.md, "Running the check"):
# the GPU's name, the device-parametrized test suite on cuda:0, CPU/GPU training parity and the
# benchmark beside PyTorch CUDA. Logs go to $OUT (the device tool's folder) or benchmarks/results.
#
#   bash benchmarks/gpu_check.sh [tests|parity|bench ...]   (default: all three)
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-benchmarks/results}
mkdir -p "$OUT"
export PYTHONPATH=src PYTHONUNBUFFERED=1
# One kernel cache for every pytest worker, so each CuPy kernel is compiled once.
export CUPY_CACHE_DIR=${CUPY_CACHE_DIR:-/tmp/wick-cupy-cache}
PY=${PYTHON:-python3}
steps=${*:-tests parity bench}
status=0

{
  date -u +"%Y-%m-%d %H:%M:%S UTC"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  $PY -c "import cupy, numpy, torch; print('cupy', cupy.__version__, '| numpy', numpy.__version__, \
'| torch', torch.__version__, '| CUDA runtime', cupy.cuda.runtime.runtimeGetVersion())"
} 2>&1 | tee "$OUT/gpu-env.txt"

for step in $steps; do
  case $step in
    tests)
      # cuda:0 only: the CPU cases run in CI. -n 8: pytest-xdist is on the GPU image.
      timeout 300 $PY -m pytest -q -n 8 -p no:cacheprovider --device cuda:0 -rfEs \
        --timeout 120 tests 2>&1 | tee "$OUT/gpu-tests.txt" | tail -60 || status=1 ;;
    parity)
      timeout 150 $PY benchmarks/gpu_parity.py --devices cpu,cuda:0 2>&1 \
        | tee "$OUT/gpu-parity.txt" || status=1 ;;
    bench)
      timeout 240 $PY benchmarks/bench_gpu.py --device cuda:0 2>&1 \
        | tee "$OUT/gpu-bench.txt" || status=1 ;;
    *) echo "unknown step $step (tests, parity, bench)"; status=2 ;;
  esac
done
exit $status
