"""Plain ``model.fit`` against the course's training path, on the book's three model families.

    python benchmarks/train_benchmark.py                   # sizes for this device (GPU or CPU)
    python benchmarks/train_benchmark.py --quick           # a short smoke run (seconds per model)
    python benchmarks/train_benchmark.py --models convnet --json results.json
    python benchmarks/train_benchmark.py --backend jax --markdown table.md   # Keras on JAX

``--backend`` picks Keras's backend for every run (``KERAS_BACKEND`` of the worker processes):
``tensorflow`` (the default) or ``jax``. On JAX nothing imports TensorFlow, so the benchmark
runs where only JAX is installed (``benchmarks/gpu_check.sh``).

Models (synthetic inputs of the real shapes, labels that depend on the inputs):

* ``convnet``     the MNIST convnet: 3 x Conv2D (32/64/128) with pooling, softmax over 10
                  classes; 28 x 28 x 1 images, batch 64.
* ``lstm``        the temperature forecaster: LSTM(16) -> Dense(1) on 120 steps x 14 features,
                  batch 256, mean squared error.
* ``transformer`` the IMDB classifier: token + position embedding (20,000 words, 256 wide, 600
                  tokens), one Transformer encoder block (2 heads, feed-forward 32), global max
                  pooling, dropout, sigmoid; batch 32.

Each (model, path) pair runs in its own Python process, so memory peaks, the global precision
policy and compiled functions never leak from one run into the next. ``plain`` is what a
learner writes: build, ``compile(optimizer, loss, metrics)``, ``fit(x, y, batch_size, epochs)``.
``course`` is ``course_lib.accel.train`` with the settings ``configure()`` picks for the device
(mixed precision, XLA, steps_per_execution on a GPU; tf.data prefetching everywhere on
TensorFlow, shuffled NumPy batches on JAX). Both use ``verbose=0`` and the same batch size,
optimizer and data. On JAX both paths are XLA-compiled (Keras always jits the step there).

Samples per second are the median over the timed epochs; the first epoch (tracing,
compilation, warm-up) is never timed. Peak memory is the process's peak resident set (host)
and, on a GPU, the backend's peak allocation on the first GPU (TensorFlow's
``get_memory_info``, JAX's ``memory_stats``). TFLOP/s use an analytic count of the
model's multiply-adds (x3 for a training step) and, on a known GPU, the fraction of its dense
peak for the math in use (TF32 for float32 on compute capability 8.0+).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODELS = ("convnet", "lstm", "transformer")
PATHS = ("plain", "course")
#: samples per epoch and epochs (1 warm-up + timed) for each size class
SIZES: dict[str, dict[str, tuple[int, int]]] = {
    "quick": {"convnet": (512, 2), "lstm": (1024, 2), "transformer": (64, 2)},
    "cpu": {"convnet": (8192, 4), "lstm": (8192, 4), "transformer": (256, 4)},
    "gpu": {"convnet": (60000, 4), "lstm": (102400, 4), "transformer": (20000, 4)},
}
BATCH_SIZES = {"convnet": 64, "lstm": 256, "transformer": 32}
VOCABULARY, SEQUENCE_LENGTH, EMBED_DIM = 20_000, 600, 256


# ---------------------------------------------------------------------------------------------
# Models and data (worker side)
# ---------------------------------------------------------------------------------------------

def build_convnet() -> Any:
    import keras
    from keras import layers

    images = keras.Input(shape=(28, 28, 1))
    features = layers.Conv2D(32, 3, activation="relu")(images)
    features = layers.MaxPooling2D(2)(features)
    features = layers.Conv2D(64, 3, activation="relu")(features)
    features = layers.MaxPooling2D(2)(features)
    features = layers.Conv2D(128, 3, activation="relu")(features)
    features = layers.Flatten()(features)
    digit = layers.Dense(10, activation="softmax")(features)
    return keras.Model(images, digit, name="mnist_convnet")


def build_lstm() -> Any:
    import keras
    from keras import layers

    weather = keras.Input(shape=(120, 14))
    state = layers.LSTM(16)(weather)
    temperature = layers.Dense(1)(state)
    return keras.Model(weather, temperature, name="jena_lstm")


def _transformer_layers() -> tuple[type, type]:
    import keras
    from keras import layers, ops

    class TokenAndPosition(layers.Layer):
        """Word embedding plus a learned embedding of each position; zeros are padding."""

        def __init__(self, length: int, vocabulary: int, width: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.words = layers.Embedding(vocabulary, width)
            self.places = layers.Embedding(length, width)

        def call(self, tokens: Any) -> Any:
            positions = ops.arange(ops.shape(tokens)[-1])
            return self.words(tokens) + self.places(positions)

        def compute_mask(self, tokens: Any, mask: Any = None) -> Any:
            return ops.not_equal(tokens, 0)

    class EncoderBlock(layers.Layer):
        """Self-attention and a small feed-forward network, each with a residual and a LayerNorm."""

        def __init__(self, width: int, hidden: int, heads: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.attention = layers.MultiHeadAttention(num_heads=heads, key_dim=width)
            self.feed_forward = keras.Sequential(
                [layers.Dense(hidden, activation="relu"), layers.Dense(width)])
            self.norm_attention = layers.LayerNormalization()
            self.norm_output = layers.LayerNormalization()
            self.supports_masking = True

        def call(self, sequence: Any, mask: Any = None) -> Any:
            attention_mask = None if mask is None else ops.expand_dims(mask, axis=1)
            attended = self.attention(sequence, sequence, attention_mask=attention_mask)
            mixed = self.norm_attention(sequence + attended)
            return self.norm_output(mixed + self.feed_forward(mixed))

        def compute_mask(self, sequence: Any, mask: Any = None) -> Any:
            return None  # the pooling after this block reads every position

    return TokenAndPosition, EncoderBlock


def build_transformer() -> Any:
    import keras
    from keras import layers

    token_and_position, encoder_block = _transformer_layers()
    tokens = keras.Input(shape=(SEQUENCE_LENGTH,), dtype="int32")
    sequence = token_and_position(SEQUENCE_LENGTH, VOCABULARY, EMBED_DIM)(tokens)
    sequence = encoder_block(EMBED_DIM, 32, 2)(sequence)
    pooled = layers.GlobalMaxPooling1D()(sequence)
    pooled = layers.Dropout(0.5)(pooled)
    positive = layers.Dense(1, activation="sigmoid")(pooled)
    return keras.Model(tokens, positive, name="imdb_transformer")


def make_data(model: str, samples: int, seed: int = 0) -> tuple[Any, Any]:
    """Synthetic inputs of the right shape, with labels a model can learn from them."""
    import numpy as np

    rng = np.random.default_rng(seed)
    if model == "convnet":
        labels = rng.integers(0, 10, samples)
        images = rng.random((samples, 28, 28, 1), dtype=np.float32)
        for digit in range(10):  # a faint bar in noise, whose place gives the class away
            rows = labels == digit
            images[rows, 2 + 2 * digit: 4 + 2 * digit, 4:24, 0] += 0.08
        return images, labels.astype("int32")
    if model == "lstm":
        steps = np.arange(120)[None, :, None]
        phase = rng.random((samples, 1, 14)) * 2 * np.pi
        series = np.sin(steps / 24 * 2 * np.pi + phase) + 0.1 * rng.standard_normal((samples, 120, 14))
        target = np.sin((120 + 24) / 24 * 2 * np.pi + phase[:, 0, 1])
        return series.astype("float32"), target.astype("float32")
    if model == "transformer":
        lengths = rng.integers(100, SEQUENCE_LENGTH + 1, samples)
        tokens = rng.integers(1, VOCABULARY, (samples, SEQUENCE_LENGTH)).astype("int32")
        tokens[np.arange(SEQUENCE_LENGTH)[None, :] >= lengths[:, None]] = 0
        labels = rng.integers(0, 2, samples)
        marker = np.where(labels == 1, 7, 11)  # one telltale word, somewhere in each review
        tokens[np.arange(samples), rng.integers(0, 100, samples)] = marker
        return tokens, labels.astype("float32")
    raise ValueError(model)


COMPILE = {
    "convnet": ("rmsprop", "sparse_categorical_crossentropy", ["accuracy"]),
    "lstm": ("rmsprop", "mse", ["mae"]),
    "transformer": ("rmsprop", "binary_crossentropy", ["accuracy"]),
}
BUILDERS = {"convnet": build_convnet, "lstm": build_lstm, "transformer": build_transformer}


def _parse_options(text: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        lowered = value.lower()
        options[name] = (True if lowered == "true" else False if lowered == "false"
                         else int(value) if value.isdigit() else value)
    return options


def _gpu_peak_bytes(backend: str) -> int | None:
    """The backend's peak allocation on its first GPU, or None."""
    try:
        if backend == "jax":
            import jax

            gpus = [device for device in jax.devices() if device.platform == "gpu"]
            stats = gpus[0].memory_stats() if gpus else None
            return int(stats["peak_bytes_in_use"]) if stats else None
        import tensorflow as tf

        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
    except Exception:
        return None


def _versions(backend: str) -> dict[str, str | None]:
    import keras

    from course_lib.accel.backend import installed_version

    versions: dict[str, str | None] = {"backend": backend, "keras": keras.__version__}
    if backend == "jax":
        import jax

        versions["jax"] = jax.__version__
        versions["jaxlib"] = installed_version("jaxlib")
        versions["tensorflow"] = None
    else:
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    return versions


def run_worker(model_name: str, path: str, samples: int, epochs: int, options: dict[str, Any]) -> dict[str, Any]:
    """Train one model one way in this process; return the figures."""
    from course_lib import accel
    from course_lib.accel.backend import check_supported, import_keras
    from course_lib.accel.devices import detect_hardware
    from course_lib.accel.throughput import ThroughputMeter, estimate_flops, math_kind, peak_tflops

    backend = check_supported()
    keras = import_keras()

    keras.utils.set_random_seed(1)
    hardware = detect_hardware()
    x, y = make_data(model_name, samples)
    batch_size = BATCH_SIZES[model_name]
    optimizer, loss, metrics = COMPILE[model_name]
    build = BUILDERS[model_name]
    started = time.perf_counter()
    if path == "plain":
        model = build()
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
        meter = ThroughputMeter(batch_size, samples_per_epoch=samples, flops_per_sample=None)
        history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[meter])
        precision = model.dtype_policy.name
        settings = (f"{precision} | XLA {'on' if model.jit_compile else 'off'} | "
                    "1 step per execution | numpy input")
    else:
        result = accel.train(build, x, y, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                             loss=loss, metrics=metrics, verbose=0, **options)
        model, history, meter = result.model, result.history, result.throughput
        precision = result.plan.precision
        pipeline = "array batches" if backend == "jax" else "tf.data"
        settings = result.plan.one_line().replace(" strategy", "") + f" | {pipeline}"
    wall = time.perf_counter() - started
    timed = [record for record in meter.records if record.epoch >= 1]  # epoch 0 is the warm-up
    speeds = [record.samples_per_sec for record in timed]
    steps = [record.step_ms for record in timed]
    cpu = [record.cpu_ms_per_sample for record in timed if record.cpu_ms_per_sample is not None]
    flops = estimate_flops(model).training_per_sample
    median_speed = statistics.median(speeds) if speeds else None
    gpu = hardware.gpus[0] if hardware.gpus else None
    peak = None
    gpu_peak_bytes = None
    if gpu is not None:
        peak = peak_tflops(gpu.name, math_kind(precision, gpu.compute_capability))
        gpu_peak_bytes = _gpu_peak_bytes(backend)
    tflops = flops * median_speed / 1e12 if median_speed else None
    return {
        "model": model_name,
        "path": path,
        "settings": settings,
        "device": hardware.describe(),
        "math": math_kind(precision, gpu.compute_capability if gpu else None) if gpu else "fp32 (CPU)",
        "batch_size": batch_size,
        "samples_per_epoch": samples,
        "epochs": epochs,
        "timed_epochs": len(timed),
        "samples_per_sec": median_speed,
        "samples_per_sec_all": speeds,
        "step_ms": statistics.median(steps) if steps else None,
        "cpu_ms_per_sample": statistics.median(cpu) if cpu else None,
        "training_flops_per_sample": flops,
        "tflops": tflops,
        "peak_tflops": peak,
        "fraction_of_peak": tflops / peak if tflops and peak else None,
        "host_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "gpu_peak_mib": gpu_peak_bytes / 2**20 if gpu_peak_bytes is not None else None,
        "final_loss": float(history.history["loss"][-1]),
        "wall_seconds": wall,
        **_versions(backend),
    }


# ---------------------------------------------------------------------------------------------
# The orchestrator
# ---------------------------------------------------------------------------------------------

def _has_gpu(backend: str = "tensorflow") -> bool:
    if backend == "jax":
        code = "import jax; print(sum(d.platform == 'gpu' for d in jax.devices()))"
    else:
        code = ("import os; os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3'); import tensorflow as tf; "
                "print(len(tf.config.list_physical_devices('GPU')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    return result.returncode == 0 and result.stdout.strip().splitlines()[-1:] not in ([], ["0"])


def _worker_env(backend: str) -> dict[str, str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
           "KERAS_BACKEND": backend}
    if backend == "jax":  # allocate GPU memory as needed, so the peak is the model's own
        env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    return env


def _run_one(model: str, path: str, samples: int, epochs: int, options: str, timeout: int,
             backend: str = "tensorflow") -> dict[str, Any]:
    label = path if path == "plain" or not options else f"course[{options}]"
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", model, path,
                   "--samples", str(samples), "--epochs", str(epochs), "--json", str(out),
                   "--course-options", options]
        env = _worker_env(backend)
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return {"model": model, "path": label, "error": f"timed out after {timeout} s"}
        if result.returncode != 0 or not out.exists():
            tail = [line for line in (result.stderr or result.stdout).strip().splitlines()
                    if line.strip()][-3:]
            return {"model": model, "path": label, "error": " | ".join(tail) or f"exit {result.returncode}"}
        figures = json.loads(out.read_text())
        figures["path"] = label
        return figures


def _fmt(value: Any, pattern: str, missing: str = "-") -> str:
    return missing if value is None else format(value, pattern)


def summarize(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (model, path): the run with the median speed, plus the spread over runs."""
    rows: list[dict[str, Any]] = []
    keys = list(dict.fromkeys((r["model"], r["path"]) for r in results))
    for model, path in keys:
        runs = [r for r in results if (r["model"], r["path"]) == (model, path)]
        good = sorted((r for r in runs if "error" not in r and r.get("samples_per_sec")),
                      key=lambda r: r["samples_per_sec"])
        if not good:
            rows.append(runs[0] if "error" in runs[0] else {**runs[0], "error": "no timed epoch"})
            continue
        row = dict(good[(len(good) - 1) // 2])  # the lower median: never flatters a path
        row["runs"] = len(good)
        row["speed_range"] = (good[0]["samples_per_sec"], good[-1]["samples_per_sec"])
        rows.append(row)
    plain = {r["model"]: r.get("samples_per_sec") for r in rows if r["path"] == "plain"}
    for row in rows:
        base = plain.get(row["model"])
        speed = row.get("samples_per_sec")
        row["ratio"] = speed / base if row["path"] != "plain" and base and speed else None
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table printed at the end (and pasted into benchmarks/README.md)."""
    lines = ["| model | path | settings | samples/s (median) | range over runs | course / plain | "
             "step ms | host CPU ms / sample | TFLOP/s | % of peak | host peak RSS MiB | "
             "GPU peak MiB | final loss |", "|" + "---|" * 13]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['path']} | FAILED: {r['error']} |" + " |" * 10)
            continue
        low, high = r.get("speed_range", (r["samples_per_sec"], r["samples_per_sec"]))
        spread = f"{low:,.0f}-{high:,.0f} ({r.get('runs', 1)} runs)"
        ratio = f"{r['ratio']:.2f}x" if r.get("ratio") else "-"
        percent = 100 * r["fraction_of_peak"] if r.get("fraction_of_peak") else None
        lines.append(
            f"| {r['model']} | {r['path']} | {r['settings'].replace(' | ', ', ')} | "
            f"{_fmt(r['samples_per_sec'], ',.0f')} | {spread} | {ratio} | "
            f"{_fmt(r['step_ms'], '.2f')} | {_fmt(r.get('cpu_ms_per_sample'), '.3f')} | "
            f"{_fmt(r['tflops'], '.3g')} | {_fmt(percent, '.1f')} | "
            f"{_fmt(r['host_peak_rss_mib'], ',.0f')} | {_fmt(r['gpu_peak_mib'], ',.0f')} | "
            f"{_fmt(r['final_loss'], '.4f')} |")
    return "\n".join(lines)


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: " + ",".join(MODELS))
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated: plain,course")
    parser.add_argument("--json", help="write every run and the summary rows to this JSON file")
    parser.add_argument("--samples", type=int, help="samples per epoch (overrides the size class)")
    parser.add_argument("--epochs", type=int, help="epochs including the untimed first one")
    parser.add_argument("--repeats", type=int, default=1,
                        help="run each path this many times, alternating the order; the table "
                             "shows the median run and the range")
    parser.add_argument("--course-options", action="append", default=None, metavar="OPTIONS",
                        help="settings for a course-path variant, e.g. steps_per_execution=8 or "
                             "jit_compile=true,precision=float32; repeat to compare several")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per run")
    parser.add_argument("--backend", choices=("tensorflow", "jax"), default="tensorflow",
                        help="Keras backend of every run (KERAS_BACKEND of the workers)")
    parser.add_argument("--markdown", help="write the header line and the table to this file")
    parser.add_argument("--size-class", choices=tuple(SIZES), help="sizes to use instead of "
                        "the device's (quick, cpu, gpu)")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="total time budget: runs that would start after it are skipped "
                             "and reported as such, and each run gets at most what is left")
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        model, path = args.worker
        options = _parse_options((args.course_options or [""])[0])
        figures = run_worker(model, path, args.samples, args.epochs, options)
        Path(args.json).write_text(json.dumps(figures, indent=2))
        return 0

    models = [name.strip() for name in args.models.split(",") if name.strip()]
    paths = [name.strip() for name in args.paths.split(",") if name.strip()]
    unknown = [name for name in models if name not in MODELS] + [p for p in paths if p not in PATHS]
    if unknown:
        parser.error(f"unknown model or path: {', '.join(unknown)}")
    runs = [("plain", "")] if "plain" in paths else []
    if "course" in paths:
        runs += [("course", options) for options in (args.course_options or [""])]
    size_class = args.size_class or (
        "quick" if args.quick else ("gpu" if _has_gpu(args.backend) else "cpu"))
    print(f"backend: {args.backend}; size class: {size_class}; each run is a separate process; "
          f"load average {_load_average()}", flush=True)
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    for model in models:
        samples, epochs = SIZES[size_class][model]
        samples, epochs = args.samples or samples, args.epochs or epochs
        for repeat in range(args.repeats):
            for path, options in (runs if repeat % 2 == 0 else list(reversed(runs))):
                left = (args.max_seconds - (time.perf_counter() - started)
                        if args.max_seconds else args.timeout)
                if left < 15:
                    label = path if path == "plain" or not options else f"course[{options}]"
                    result = {"model": model, "path": label,
                              "error": f"skipped: the {args.max_seconds} s budget was spent"}
                else:
                    result = _run_one(model, path, samples, epochs, options,
                                      int(min(args.timeout, left)), args.backend)
                result["repeat"] = repeat
                results.append(result)
                speed = result.get("samples_per_sec")
                print(f"  {model:<12} {result['path']:<32} " + (
                      f"{speed:12,.1f} samples/s" if speed else result.get("error", "no timed epoch")),
                      flush=True)
                # written after every run, so a run cut short still leaves its table behind
                report = build_report(results, args.backend, size_class,
                                      time.perf_counter() - started)
                write_outputs(report, args.json, args.markdown)
    print()
    print(report["header"])
    print(format_table(report["rows"]))
    return 1 if any("error" in r for r in results) else 0


def build_report(results: list[dict[str, Any]], backend: str, size_class: str,
                 seconds: float) -> dict[str, Any]:
    """The summary rows, the device and the versions, and a header line naming them."""
    rows = summarize(results)
    device = next((r["device"] for r in results if "device" in r), "unknown device")
    first = next((r for r in results if "keras" in r), {})
    if backend == "jax":
        stack = f"JAX {first.get('jax', '?')} (jaxlib {first.get('jaxlib', '?')})"
    else:
        stack = f"TensorFlow {first.get('tensorflow', '?')}"
    header = (f"Device: {device} | Keras {first.get('keras', '?')} on {stack} | backend {backend} | "
              f"size class {size_class} | load average at the end {_load_average()} | "
              f"total {seconds:.0f} s")
    return {"device": device, "backend": backend, "size_class": size_class, "header": header,
            "versions": {key: first.get(key) for key in ("keras", "tensorflow", "jax", "jaxlib")},
            "python": sys.version.split()[0], "seconds": seconds, "rows": rows, "runs": results}


def write_outputs(report: dict[str, Any], json_path: str | None, markdown_path: str | None) -> None:
    """The JSON (every run and the rows) and the Markdown (header line and table) files."""
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2))
    if markdown_path:
        Path(markdown_path).write_text(report["header"] + "\n\n" + format_table(report["rows"]) + "\n")


if __name__ == "__main__":
    sys.exit(main())
