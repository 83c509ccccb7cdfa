#!/usr/bin/env bash
# The GPU check, through the command users run (python -m labmodels train): mnist_mlp examples/s in float32,
# mixed_float16, mixed_bfloat16 (default flags and tuned) and on the CPU, GPU utilisation, an input profile,
# time to 97 % on the digits, resume after a SIGKILL, --strategy mirrored. Under 8 minutes; a README table.
#
# Usage: benchmarks/gpu_check.sh [--install] [--cpu-smoke] [--budget SECONDS]
#   --install    make .venv-gpu and pip install -r requirements.txt "tensorflow[and-cuda]" first (needs PyPI;
#                when it fails, the check goes on with whatever Python already has TensorFlow)
#   --cpu-smoke  hide the GPUs and shrink everything: the same commands on a CPU, reporting examples/s
# Python: $PYTHON, else .venv-gpu/bin/python, else .venv/bin/python, else python3.
# Results: gpu_check.json, gpu_check.txt and gpu_check.md in $OUT when set, else ./gpu_check_results/.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

install=0
args=()
for arg in "$@"; do
  case "$arg" in
    --install) install=1 ;;
    --cpu-smoke|--budget|--budget=*|--out|--out=*|[0-9]*|/*|./*) args+=("$arg") ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$install" = 1 ]; then
  echo "== installing into .venv-gpu (timeout 240 s)"
  if python3 -m venv .venv-gpu && timeout 240 .venv-gpu/bin/pip install -q -r requirements.txt "tensorflow[and-cuda]"; then
    echo "installed"
  else
    echo "install failed (no PyPI?): going on with the Python already here"
  fi
fi

python=${PYTHON:-}
for candidate in .venv-gpu/bin/python .venv/bin/python python3; do
  [ -n "$python" ] && break
  if [ -x "$candidate" ] || command -v "$candidate" >/dev/null 2>&1; then
    # found, not imported: importing TensorFlow only to look costs seconds (each run below imports it anyway)
    if "$candidate" -c "import importlib.util as u, sys; sys.exit(not (u.find_spec('tensorflow') and u.find_spec('keras')))" \
        >/dev/null 2>&1; then python=$candidate; fi
  fi
done
if [ -z "$python" ]; then
  echo "gpu_check.sh: no Python with TensorFlow and Keras here: run with --install, or set PYTHON" >&2
  exit 2
fi
echo "== python: $python"

if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
else
  echo "nvidia-smi: not found (no NVIDIA driver here?): going on without utilisation figures"
fi

# 440 s for Python (its own budget 400 s, then writing the results); the install above has its own 240 s.
timeout 440 "$python" benchmarks/gpu_check.py --budget 400 "${args[@]}"
status=$?
[ "$status" = 124 ] && echo "gpu_check.sh: the check ran past 440 s and was stopped" >&2
exit "$status"
