"""How fast training runs: samples per second, step time and achieved TFLOP/s.

:class:`ThroughputMeter` is a Keras callback. Add it to ``fit(callbacks=[...])`` and every epoch's
progress line gains ``samples_per_sec``, ``step_ms`` and (when the model's FLOPs are known)
``tflops``; the same figures land in ``history.history``, and ``meter.summary()`` prints a table.
The first steps of the first epoch are left out: that is where TensorFlow (or JAX) traces and
compiles the step, which says nothing about speed. It works the same on Keras's TensorFlow and
JAX backends; on JAX, whose GPU work runs asynchronously, the end of each timed window waits
for the last step's results, so a window never ends before its work does.

:func:`estimate_flops` counts a model's multiply-adds analytically (Dense, EinsumDense,
convolutions, LSTM / GRU / SimpleRNN and the attention products of MultiHeadAttention) by
running it once on a one-sample batch. Training costs about three times the forward pass (the
backward pass computes two gradients per multiply). :func:`peak_tflops` knows the dense
tensor-core peaks of common NVIDIA GPUs, so a notebook can say what fraction of the hardware
a model uses.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from course_lib.accel.backend import import_keras

# On TensorFlow, TensorFlow is imported before Keras so its start-up noise is filtered; on JAX,
# TensorFlow is not imported at all.
keras = import_keras()

#: Dense (not sparse) peak TFLOP/s by GPU and math: "bf16"/"fp16" tensor cores, "tf32" (float32
#: matmuls on tensor cores, TensorFlow's default from compute capability 8.0), "fp32" plain.
#: From the vendors' data sheets; the first matching name wins, so specific names come first.
PEAK_TFLOPS: tuple[tuple[str, dict[str, float]], ...] = (
    ("H100 PCIe", {"bf16": 756.0, "fp16": 756.0, "tf32": 378.0, "fp32": 51.0}),
    ("H100 NVL", {"bf16": 835.0, "fp16": 835.0, "tf32": 418.0, "fp32": 60.0}),
    ("H100", {"bf16": 989.0, "fp16": 989.0, "tf32": 495.0, "fp32": 67.0}),  # SXM5
    ("H200", {"bf16": 989.0, "fp16": 989.0, "tf32": 495.0, "fp32": 67.0}),
    ("A100", {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5}),
    ("L4", {"bf16": 121.0, "fp16": 121.0, "tf32": 60.0, "fp32": 30.3}),
    ("A10", {"bf16": 125.0, "fp16": 125.0, "tf32": 62.5, "fp32": 31.2}),
    ("V100", {"fp16": 125.0, "fp32": 15.7}),
    ("T4", {"fp16": 65.0, "fp32": 8.1}),
    ("P100", {"fp16": 18.7, "fp32": 9.3}),
)


def math_kind(precision: str, compute_capability: tuple[int, int] | None = None) -> str:
    """The kind of math a policy runs on a GPU: ``bf16``, ``fp16``, ``tf32`` or ``fp32``."""
    if "bfloat16" in precision:
        return "bf16"
    if "float16" in precision:
        return "fp16"
    if compute_capability is not None and compute_capability >= (8, 0):
        return "tf32"
    return "fp32"


def peak_tflops(device_name: str, math: str) -> float | None:
    """The device's dense peak for that math (see :data:`PEAK_TFLOPS`), or None if unknown."""
    for pattern, peaks in PEAK_TFLOPS:
        if re.search(rf"\b{re.escape(pattern)}\b", device_name):
            return peaks.get(math)
    return None


# ---------------------------------------------------------------------------------------------
# FLOPs
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FlopEstimate:
    """Forward-pass FLOPs for one sample, and where they come from."""

    forward_per_sample: int
    by_layer: tuple[tuple[str, str, int], ...] = ()
    uncounted: tuple[str, ...] = ()

    @property
    def training_per_sample(self) -> int:
        """Forward plus backward: about three forward passes."""
        return 3 * self.forward_per_sample

    def summary(self) -> str:
        lines = [f"{name:<28} {kind:<20} {flops:>16,}" for name, kind, flops in self.by_layer]
        lines.append(f"{'forward pass, one sample':<49} {self.forward_per_sample:>16,}")
        lines.append(f"{'training step, one sample (x3)':<49} {self.training_per_sample:>16,}")
        if self.uncounted:
            lines.append("not counted (elementwise or unknown): " + ", ".join(self.uncounted))
        return "\n".join(lines)


def _prod(values: Any) -> int:
    result = 1
    for value in values:
        result *= int(value)
    return result


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(int(dim) for dim in value.shape)


def _einsum_flops(layer: Any, output_shape: tuple[int, ...]) -> int:
    equation = layer.equation.replace("...", "")
    inputs, output = equation.split("->")
    _, kernel = inputs.split(",")
    kernel_shape = tuple(int(dim) for dim in layer.kernel.shape)
    contracted = [size for letter, size in zip(kernel, kernel_shape, strict=False) if letter not in output]
    return 2 * _prod(output_shape) * _prod(contracted)


def layer_flops(layer: Any, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> int | None:
    """Forward FLOPs of one call of ``layer`` (None for layers this does not count)."""
    layers = keras.layers
    first = args[0] if args else next(iter(kwargs.values()), None)
    if isinstance(layer, layers.Dense):
        return 2 * _prod(_shape(output)) * int(first.shape[-1])
    if isinstance(layer, layers.EinsumDense):
        return _einsum_flops(layer, _shape(output))
    if isinstance(layer, (layers.Conv1D, layers.Conv2D, layers.Conv3D)):
        return 2 * _prod(_shape(output)) * _prod(layer.kernel.shape[:-1])
    if isinstance(layer, (layers.DepthwiseConv1D, layers.DepthwiseConv2D)):
        return 2 * _prod(_shape(output)) * _prod(layer.kernel.shape[:-2])
    if isinstance(layer, (layers.SeparableConv1D, layers.SeparableConv2D)):
        out_shape = _shape(output)
        spatial = out_shape[1:-1] if layer.data_format == "channels_last" else out_shape[2:]
        depthwise = layer.depthwise_kernel.shape
        middle = int(depthwise[-2]) * int(depthwise[-1])
        per_position = middle * _prod(depthwise[:-2]) + middle * int(layer.pointwise_kernel.shape[-1])
        return 2 * _prod(spatial) * per_position
    if isinstance(layer, (layers.LSTM, layers.GRU, layers.SimpleRNN)):
        gates = 4 if isinstance(layer, layers.LSTM) else 3 if isinstance(layer, layers.GRU) else 1
        batch, steps, features = _shape(first)[:3]
        return 2 * batch * steps * gates * layer.units * (features + layer.units)
    if isinstance(layer, layers.MultiHeadAttention):
        query = kwargs.get("query", args[0] if args else None)
        value = kwargs.get("value", args[1] if len(args) > 1 else None)
        batch, query_steps = _shape(query)[:2]
        value_steps = _shape(value)[1]
        value_dim = layer.value_dim or layer.key_dim
        # scores (Q K^T) and the weighted sum of values; the projections are EinsumDense layers
        return 2 * batch * layer.num_heads * query_steps * value_steps * (layer.key_dim + value_dim)
    return None


@contextmanager
def _recording_calls() -> Iterator[list[tuple[Any, tuple[Any, ...], dict[str, Any], Any]]]:
    layer_class = keras.layers.Layer
    original: Callable[..., Any] = layer_class.__call__
    calls: list[tuple[Any, tuple[Any, ...], dict[str, Any], Any]] = []

    def recording_call(self: Any, *args: Any, **kwargs: Any) -> Any:
        output = original(self, *args, **kwargs)
        symbolic = any(isinstance(leaf, keras.KerasTensor) for leaf in keras.tree.flatten(output))
        if not symbolic:  # a model building itself traces its layers once symbolically: skip
            calls.append((self, args, kwargs, output))
        return output

    layer_class.__call__ = recording_call
    try:
        yield calls
    finally:
        layer_class.__call__ = original


def _sample_inputs(model: Any) -> Any:
    import numpy as np

    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ValueError("the model has no known input shape; pass sample=one batch of inputs")
    arrays = []
    for spec in inputs:
        shape = tuple(spec.shape)[1:]
        if any(dim is None for dim in shape):
            raise ValueError(f"input shape {shape} has unknown sizes; pass sample=one batch of inputs")
        arrays.append(np.zeros((1, *shape), dtype=spec.dtype))
    return arrays[0] if len(arrays) == 1 else arrays


def estimate_flops(model: Any, sample: Any = None) -> FlopEstimate:
    """Count the forward FLOPs of ``model`` for one sample by running it once on one sample.

    ``sample`` is a batch of inputs (only its first sample is used); without it the model's
    declared input shape is used, filled with zeros.
    """
    import numpy as np

    if sample is None:
        sample = _sample_inputs(model)
    else:
        sample = keras.tree.map_structure(lambda array: np.asarray(array)[:1], sample)
    with _recording_calls() as calls:
        model(sample, training=False)
    counted: list[tuple[str, str, int]] = []
    uncounted: set[str] = set()
    for layer, args, kwargs, output in calls:
        if layer is model:
            continue
        flops = layer_flops(layer, args, kwargs, output)
        if flops is None:
            if layer.weights and not getattr(layer, "_layers", None) and not isinstance(
                layer, (keras.layers.Embedding, keras.layers.BatchNormalization,
                        keras.layers.LayerNormalization)
            ) and not layer.__class__.__name__.endswith("Cell"):
                uncounted.add(type(layer).__name__)
            continue
        counted.append((layer.name, type(layer).__name__, int(flops)))
    return FlopEstimate(
        forward_per_sample=sum(flops for _, _, flops in counted),
        by_layer=tuple(counted),
        uncounted=tuple(sorted(uncounted)),
    )


# ---------------------------------------------------------------------------------------------
# The callback
# ---------------------------------------------------------------------------------------------

def _wait_for(logs: Any, model: Any = None) -> None:
    """Block until a step's logs and the model's weights are computed.

    On JAX the GPU runs behind Python: a step returns before its work is done. Keras hands the
    callbacks Python numbers, which already waited, except where validation starts right after
    the last step; there the weights, which the last step wrote, are what to wait for. On
    TensorFlow nothing here has ``block_until_ready`` and nothing waits.
    """
    values = list((logs or {}).values())
    values += [getattr(variable, "value", None) for variable in getattr(model, "variables", ())]
    for value in values:
        ready = getattr(value, "block_until_ready", None)
        if callable(ready):
            try:
                ready()
            except Exception:  # a value already deleted or donated: nothing to wait for
                pass


@dataclass(frozen=True)
class EpochThroughput:
    """One epoch's measured window (the first epoch's window starts after compilation)."""

    epoch: int
    samples: int
    steps: int
    seconds: float
    flops_per_sample: float | None = None
    cpu_seconds: float | None = None  # processor time of this process over the same window

    @property
    def samples_per_sec(self) -> float:
        return self.samples / self.seconds

    @property
    def step_ms(self) -> float:
        return 1000.0 * self.seconds / self.steps

    @property
    def cpu_ms_per_sample(self) -> float | None:
        """Host processor time per sample: what the Python and input-pipeline side costs."""
        return None if self.cpu_seconds is None else 1000.0 * self.cpu_seconds / self.samples

    @property
    def tflops(self) -> float | None:
        if not self.flops_per_sample:
            return None
        return self.flops_per_sample * self.samples_per_sec / 1e12


@dataclass
class _EpochState:
    started: float = 0.0
    started_cpu: float = 0.0
    first_end: float | None = None
    first_end_cpu: float = 0.0
    first_steps: int = 0
    last_step: int = -1
    train_end: float | None = None
    train_end_cpu: float = 0.0
    last_logs: Any = None


class ThroughputMeter(keras.callbacks.Callback):
    """Measure training speed; add it to ``model.fit(callbacks=[meter])``.

    Parameters
    ----------
    batch_size:
        The (global) batch size given to ``fit`` or used to batch the dataset.
    samples_per_epoch:
        Samples in one epoch, when known; it makes the last, smaller batch count exactly.
    flops_per_sample:
        Training FLOPs for one sample; ``"auto"`` (default) estimates them with
        :func:`estimate_flops` when training starts, ``None`` skips TFLOP/s.
    peak_tflops:
        The device's peak for the math in use (see :func:`peak_tflops`), to print the fraction
        reached; None leaves it out.
    """

    #: Keras may run the per-batch hook on a worker thread, so it never waits for the device.
    #: On JAX it does: the hooks then arrive in any order, after each step's logs are computed.
    #: The first epoch's window starts when the first of them arrives; the steps already done
    #: then (usually one; on JAX it can be a few) are left out with the compilation.
    async_safe = True

    def __init__(
        self,
        batch_size: int,
        *,
        samples_per_epoch: int | None = None,
        flops_per_sample: float | str | None = "auto",
        peak_tflops: float | None = None,
    ) -> None:
        super().__init__()
        self.batch_size = int(batch_size)
        self.samples_per_epoch = samples_per_epoch
        self.flops_per_sample = flops_per_sample
        self.peak_tflops = peak_tflops
        self.records: list[EpochThroughput] = []
        self.flop_note = ""
        self._state = _EpochState()
        self._epochs_seen = 0

    # -- Keras hooks -----------------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._epochs_seen = 0
        if self.flops_per_sample == "auto":
            try:
                self.flops_per_sample = float(estimate_flops(self.model).training_per_sample) or None
            except Exception as error:  # a model the estimate cannot run: no TFLOP/s, say why
                self.flops_per_sample = None
                self.flop_note = f"FLOPs unknown ({error})"

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._state = _EpochState(started=time.perf_counter(), started_cpu=time.process_time())

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        now = time.perf_counter()
        state = self._state
        if state.first_end is None:  # the first call into TensorFlow has returned: compiled
            state.first_end = now
            state.first_end_cpu = time.process_time()
            state.first_steps = batch + 1
        state.last_step = max(state.last_step, batch)
        state.last_logs = logs

    def _end_training_window(self) -> None:
        state = self._state
        if state.train_end is None:
            _wait_for(state.last_logs, self.model)  # asynchronous backends: wait for the work
            state.train_end, state.train_end_cpu = time.perf_counter(), time.process_time()

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._end_training_window()  # validation inside fit(): training time ends here

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._end_training_window()
        state = self._state
        record = self._record(epoch, state)
        self._epochs_seen += 1
        if record is None:
            return
        self.records.append(record)
        if logs is not None:
            logs["samples_per_sec"] = round(record.samples_per_sec, 1)
            logs["step_ms"] = round(record.step_ms, 3)
            if record.tflops is not None:
                logs["tflops"] = round(record.tflops, 4)

    # -- figures ---------------------------------------------------------------------------
    def _steps_in_epoch(self, state: _EpochState) -> int:
        steps = (self.params or {}).get("steps")
        counted = state.last_step + 1
        return min(counted, steps) if steps else counted

    def _samples(self, steps: int) -> int:
        samples = steps * self.batch_size
        if self.samples_per_epoch:
            samples = min(samples, self.samples_per_epoch)
        return samples

    def _record(self, epoch: int, state: _EpochState) -> EpochThroughput | None:
        steps = self._steps_in_epoch(state)
        if steps <= 0:
            return None
        samples = self._samples(steps)
        start, start_cpu = state.started, state.started_cpu
        if self._epochs_seen == 0:  # leave out the call that traced and compiled the step
            if state.first_end is None or state.first_steps >= steps:
                return None
            start, start_cpu = state.first_end, state.first_end_cpu
            samples -= state.first_steps * self.batch_size
            steps -= state.first_steps
        seconds = (state.train_end or 0.0) - start
        if seconds <= 0 or samples <= 0:
            return None
        flops = self.flops_per_sample if isinstance(self.flops_per_sample, (int, float)) else None
        return EpochThroughput(epoch=epoch, samples=samples, steps=steps, seconds=seconds,
                               flops_per_sample=flops,
                               cpu_seconds=state.train_end_cpu - start_cpu)

    @property
    def median_samples_per_sec(self) -> float | None:
        """Median over measured epochs (None before any epoch was measured)."""
        return statistics.median(r.samples_per_sec for r in self.records) if self.records else None

    @property
    def median_step_ms(self) -> float | None:
        return statistics.median(r.step_ms for r in self.records) if self.records else None

    @property
    def median_tflops(self) -> float | None:
        values = [r.tflops for r in self.records if r.tflops is not None]
        return statistics.median(values) if values else None

    def as_dict(self) -> dict[str, Any]:
        """The medians and per-epoch figures, for JSON."""
        return {
            "samples_per_sec": self.median_samples_per_sec,
            "step_ms": self.median_step_ms,
            "tflops": self.median_tflops,
            "peak_tflops": self.peak_tflops,
            "epochs": [
                {"epoch": r.epoch + 1, "samples": r.samples, "steps": r.steps,
                 "seconds": r.seconds, "samples_per_sec": r.samples_per_sec,
                 "step_ms": r.step_ms, "tflops": r.tflops,
                 "cpu_ms_per_sample": r.cpu_ms_per_sample}
                for r in self.records
            ],
        }

    def summary(self) -> str:
        """A table of the measured epochs and their median, as a notebook prints it."""
        if not self.records:
            return ("No throughput measured yet: the first epoch's first call compiles the "
                    "step, so train for more steps or another epoch.")
        lines = ["epoch   samples/s    step ms    TFLOP/s"]

        def row(label: str, sps: float, ms: float, tflops: float | None) -> str:
            shown = f"{tflops:10.3g}" if tflops is not None else f"{'-':>10}"
            return f"{label:<6}{sps:12,.0f}{ms:11.2f}{shown}"

        for record in self.records:
            lines.append(row(str(record.epoch + 1), record.samples_per_sec, record.step_ms,
                             record.tflops))
        lines.append(row("median", self.median_samples_per_sec or 0.0, self.median_step_ms or 0.0,
                         self.median_tflops))
        if self.median_tflops is not None and self.peak_tflops:
            lines.append(f"{100 * self.median_tflops / self.peak_tflops:.1f}% of the device's "
                         f"peak of {self.peak_tflops:g} TFLOP/s")
        lines.append("(the first epoch's compile step is left out)")
        if self.flop_note:
            lines.append(self.flop_note)
        return "\n".join(lines)


__all__ = [
    "PEAK_TFLOPS", "EpochThroughput", "FlopEstimate", "ThroughputMeter", "estimate_flops",
    "layer_flops", "math_kind", "peak_tflops",
]
