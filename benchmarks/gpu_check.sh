#!/usr/bin/env bash
# The GPU check: the training benchmark (plain fit against course_lib.accel.train on the convnet,
# LSTM and Transformer of the chapters) on Keras's JAX backend, for a machine with an NVIDIA GPU,
# JAX with CUDA, Python 3.12, no TensorFlow and no package index.
#
#   benchmarks/gpu_check.sh --prepare            # here, where pip reaches an index: fetch the wheels
#   benchmarks/gpu_check.sh --out DIR            # there: install them --no-index, check, benchmark
#   benchmarks/gpu_check.sh --dry-run --out DIR  # any CPU (CI): the same steps at smoke sizes
#
# --prepare downloads Keras and the two pure-Python or small packages it needs that such a machine
# lacks (namex, optree), as cp312 manylinux x86-64 wheels, into .whl/ (ignored by git; --wheels
# DIR for another folder). Copy that folder along with the repository. The run installs them with
# `pip install --no-index --no-deps --target` into a folder of its own (nothing in the machine's
# Python changes), checks that Keras runs on JAX and sees the GPU, records `course doctor`, then
# runs benchmarks/train_benchmark.py --backend jax on generated data of the chapters' shapes
# within a time budget (default 420 s, so the whole check ends inside 8 minutes) and writes
#   DIR/gpu_check.json   every run's figures, the device and the versions
#   DIR/gpu_check.md     the header line (GPU, backend, versions) and the Markdown table
#   DIR/doctor.txt       what `course doctor` says on that machine
# --dry-run uses the smoke sizes, does not ask for a GPU, and uses the Keras already installed
# when there is no wheel folder. Exit status: 0 when every run produced figures.
#
# Environment: PYTHON (default python3), GPU_CHECK_BUDGET (seconds for the benchmark, or
# --budget), GPU_CHECK_EXTRA_WHEELS (more name==version wheels for --prepare).
set -euo pipefail

# Everything below is one function, read whole before it runs: editing this file while a check
# runs cannot change the running check.
main() {
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WHEELS="$ROOT/.whl"
OUT_DIR="$ROOT/benchmarks/results/gpu-check"
BUDGET="${GPU_CHECK_BUDGET:-420}"
MODE=run
MODELS="convnet,lstm,transformer"
# Keras as pinned in requirements/base.txt; namex and optree as Keras 3.15.1 resolves them (the
# other packages Keras needs, absl-py, numpy, rich, h5py, ml-dtypes and packaging, are on a
# machine with JAX already: JAX itself needs numpy and ml-dtypes).
KERAS_VERSION="$(sed -n 's/^keras==\([0-9.]*\).*/\1/p' "$ROOT/requirements/base.txt")"
EXTRA_WHEELS=("namex==0.1.0" "optree==0.20.0")
# More wheels for --prepare, e.g. GPU_CHECK_EXTRA_WHEELS="typing-extensions==4.15.0" where the
# run reports a missing package.
read -r -a MORE_WHEELS <<< "${GPU_CHECK_EXTRA_WHEELS:-}"
EXTRA_WHEELS+=("${MORE_WHEELS[@]}")

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prepare) MODE=prepare ;;
    --dry-run) MODE=dry-run ;;
    --wheels) WHEELS="$(cd "$2" 2>/dev/null && pwd || echo "$2")"; shift ;;
    --out) OUT_DIR="$2"; shift ;;
    --models) MODELS="$2"; shift ;;
    --budget) BUDGET="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu_check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '\n== %s\n' "$*"; }

if [ "$MODE" = prepare ]; then
  say "downloading Keras $KERAS_VERSION, ${EXTRA_WHEELS[*]} (cp312, manylinux x86-64) into $WHEELS"
  mkdir -p "$WHEELS"
  "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d "$WHEELS" "keras==$KERAS_VERSION" "${EXTRA_WHEELS[@]}"
  ls -l "$WHEELS"
  echo "Copy $WHEELS with the repository; run benchmarks/gpu_check.sh there (--wheels DIR if moved)."
  exit 0
fi

mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
export KERAS_BACKEND=jax
export XLA_PYTHON_CLIENT_PREALLOCATE="${XLA_PYTHON_CLIENT_PREALLOCATE:-false}"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-3}"
export PYTHONUNBUFFERED=1
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

say "installing Keras for JAX"
shopt -s nullglob
wheels=("$WHEELS"/*.whl)
if [ ${#wheels[@]} -gt 0 ]; then
  SITE="$(mktemp -d "${TMPDIR:-/tmp}/gpu-check-site.XXXXXX")"
  "$PYTHON" -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir \
    --disable-pip-version-check --target "$SITE" "${wheels[@]}"
  export PYTHONPATH="$SITE:$PYTHONPATH"
  echo "installed from $WHEELS into $SITE: $(cd "$WHEELS" && ls -- *.whl | tr '\n' ' ')"
elif [ "$MODE" = dry-run ] && "$PYTHON" -c "import keras" >/dev/null 2>&1; then
  echo "no wheels in $WHEELS: using the Keras already installed (dry run)"
else
  echo "gpu_check: no wheels in $WHEELS and this is no dry run. Run benchmarks/gpu_check.sh" \
       "--prepare where pip reaches an index, and bring $WHEELS along." >&2
  exit 3
fi

say "what runs here"
"$PYTHON" - "$MODE" <<'EOF'
import importlib.util, platform, sys

# Keras 3.15's own needs (and optree's), which the wheels do not bring: the machine must have them.
needed = ["absl", "numpy", "rich", "h5py", "ml_dtypes", "packaging", "optree", "namex",
          "typing_extensions", "jax", "keras"]
missing = [name for name in needed if importlib.util.find_spec(name) is None]
if missing:
    sys.exit("missing here: " + ", ".join(missing) + ". Add their wheels with --prepare "
             "(GPU_CHECK_EXTRA_WHEELS='name==version ...') and bring the folder along.")
import jax
import keras

mode = sys.argv[1]
gpus = [device for device in jax.devices() if device.platform == "gpu"]
print(f"Python {platform.python_version()} | JAX {jax.__version__} | Keras {keras.__version__} "
      f"on {keras.config.backend()} | devices: {', '.join(d.device_kind for d in jax.devices())}")
if keras.config.backend() != "jax":
    sys.exit("Keras did not start on JAX: is KERAS_BACKEND overridden?")
if "tensorflow" in sys.modules:
    print("note: TensorFlow was imported, though nothing here needs it")
if not gpus and mode != "dry-run":
    sys.exit("JAX sees no GPU here (a jax without its CUDA plugin?); --dry-run runs on a CPU")
EOF
"$PYTHON" -m course_lib doctor > "$OUT_DIR/doctor.txt" 2>&1 || true
cat "$OUT_DIR/doctor.txt"

SIZE=gpu
[ "$MODE" = dry-run ] && SIZE=quick
say "benchmark on JAX: $MODELS, size class $SIZE, budget $BUDGET s"
status=0
timeout --signal=TERM "$((BUDGET + 60))" "$PYTHON" "$ROOT/benchmarks/train_benchmark.py" \
  --backend jax --size-class "$SIZE" --models "$MODELS" --max-seconds "$BUDGET" \
  --timeout "$BUDGET" --json "$OUT_DIR/gpu_check.json" --markdown "$OUT_DIR/gpu_check.md" \
  || status=$?
if [ ! -s "$OUT_DIR/gpu_check.md" ]; then
  echo "gpu_check: the benchmark wrote no table (exit $status)" >&2
  exit "${status/#0/1}"
fi
say "written: $OUT_DIR/gpu_check.json, $OUT_DIR/gpu_check.md, $OUT_DIR/doctor.txt"
exit "$status"
}

main "$@"
