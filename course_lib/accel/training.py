"""The course's training path: one call that builds, compiles and fits with the accelerator's settings.

::

    from course_lib import accel

    def build_model():
        inputs = keras.Input(shape=(28, 28, 1))
        ...
        return keras.Model(inputs, outputs)

    result = accel.train(build_model, train_images, train_labels, epochs=5, batch_size=64,
                         optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                         metrics=["accuracy"], validation_data=(val_images, val_labels))
    print(result.summary())          # settings, final metrics, samples/s, TFLOP/s
    result.model.evaluate(test_images, test_labels)

What it does, compared with ``model.fit`` as a learner writes it:

* builds the model inside :meth:`Accelerator.scope`, so its layers compute in the plan's
  mixed-precision policy and its variables live on every replica of the strategy;
* compiles with the plan's ``jit_compile`` (XLA) and ``steps_per_execution``;
* feeds arrays through :func:`course_lib.accel.pipelines.from_arrays` (shuffled indices, one
  gather per batch, prefetching); on Keras's JAX backend through
  :func:`course_lib.accel.pipelines.array_batches`, the same without TensorFlow;
* measures throughput with a :class:`~course_lib.accel.throughput.ThroughputMeter`.

Pass a *function* that builds the model, not a built model: precision and strategy apply when
layers are created. A model built beforehand is trained with the policy it was built with
(on the default strategy, unless it was built inside ``accelerator.scope()``).

The same call runs with ``KERAS_BACKEND=jax``: the precision policy and ``steps_per_execution``
are Keras's own there too, the step is always XLA-compiled, and the distribution is a
``keras.distribution`` (see :mod:`course_lib.accel.devices`). TensorFlow is not imported then,
unless a ``tf.data.Dataset`` is passed in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from course_lib.accel.devices import Accelerator, AccelPlan, configure, with_precision
from course_lib.errors import CourseError


@dataclass
class TrainingResult:
    """What :func:`train` returns: the trained model, its History, the settings and the speed."""

    model: Any
    history: Any
    plan: AccelPlan
    throughput: Any
    seconds: float

    def summary(self) -> str:
        """Settings, last-epoch metrics and measured speed, as a notebook prints them."""
        last = {name: values[-1] for name, values in self.history.history.items()
                if name not in ("samples_per_sec", "step_ms", "tflops")}
        metrics = "  ".join(f"{name} {value:.4f}" for name, value in last.items())
        return "\n".join([
            f"settings: {self.plan.one_line()}",
            f"last epoch: {metrics}",
            f"wall time: {self.seconds:.1f} s",
            self.throughput.summary(),
        ])


def _is_dataset(value: Any) -> bool:
    """A batched ``tf.data.Dataset`` or a ``keras.utils.PyDataset``: batches, not arrays."""
    if type(value).__module__.startswith("tensorflow") and hasattr(value, "element_spec"):
        return True
    import sys

    keras = sys.modules.get("keras")
    return keras is not None and isinstance(value, keras.utils.PyDataset)


def _uses_cudnn_recurrent_layers(model: Any) -> bool:
    import keras

    try:
        layers = model._flatten_layers(include_self=False, recursive=True)
    except AttributeError:  # not a Keras 3 model: fall back to its top-level layers
        layers = getattr(model, "layers", [])
    return any(isinstance(layer, (keras.layers.LSTM, keras.layers.GRU))
               and getattr(layer, "use_cudnn", False) in ("auto", True) for layer in layers)


def build_in_scope(build_model: Callable[[], Any], accelerator: Accelerator) -> tuple[Any, AccelPlan]:
    """Build the model with the accelerator's precision and strategy; return it and the plan used.

    cuDNN's LSTM and GRU kernels exist in float16 but not in bfloat16, so on TensorFlow a
    recurrent model that would get ``mixed_bfloat16`` on a GPU is rebuilt with ``mixed_float16``
    instead (Keras on JAX does not use cuDNN's recurrent kernels, so bfloat16 stays there).
    """
    plan = accelerator.plan
    with accelerator.scope():
        model = build_model()
    if (plan.precision == "mixed_bfloat16" and plan.hardware.gpus and plan.backend == "tensorflow"
            and _uses_cudnn_recurrent_layers(model)):
        plan = with_precision(plan, "mixed_float16",
                              "cuDNN's LSTM/GRU kernels run float16, not bfloat16 (loss scaling on)")
        with accelerator.scope(precision=plan.precision):
            model = build_model()
    return model, plan


def _built_model_plan(model: Any, accelerator: Accelerator) -> AccelPlan:
    plan = accelerator.plan
    if plan.strategy != "default" and (
            plan.backend == "jax"
            or getattr(model, "distribute_strategy", None) is not accelerator.strategy):
        raise CourseError(
            f"the {plan.strategy} strategy needs the model built inside its scope: pass the "
            "function that builds the model (train(build_model, ...)), not a built model"
        )
    built_with = model.dtype_policy.name
    if built_with != plan.precision:
        print(f"Note: this model was built with the {built_with} policy, so it trains in "
              f"{built_with}, not {plan.precision}. Pass the function that builds the model to "
              "use the accelerator's precision.")
        plan = with_precision(plan, built_with, "the model was built with it before train()")
    return plan


def _work_around_multi_worker_fit(model: Any, strategy: Any, train_data: Any) -> None:
    """Let Keras 3's ``fit`` run under MultiWorkerMirroredStrategy (keras-team/keras issue 20585).

    Two steps of Keras 3.15's ``fit`` fail with this strategy, and both are bookkeeping, not
    training:

    * before the first step, Keras builds the optimizer and metrics from one batch of the
      *distributed* dataset, averaging the per-replica values with ``strategy.reduce``, which
      this strategy rejects for such values. Building needs only shapes and dtypes, so the
      model is built from one batch of the local dataset instead;
    * after each step, Keras averages the replicas' scalar logs (loss, metrics) with
      ``strategy.reduce("MEAN", value, axis=0)``, which fails on a scalar. The step's logs are
      handed over as one-element vectors, which that reduction turns back into scalars.

    Gradients are still all-reduced by the strategy on every step, exactly as without this.
    """
    local_batch = next(iter(train_data.take(1)))

    def build_from_local_batch(iterator: Any = None, data_batch: Any = None) -> None:
        with strategy.scope():
            model._symbolic_build(data_batch=local_batch)

    def as_vectors(step: Callable[[Any], Any]) -> Callable[[Any], Any]:
        import tensorflow as tf

        def wrapped(data: Any) -> Any:
            return {name: tf.reshape(value, [1]) for name, value in step(data).items()}

        return wrapped

    model._maybe_symbolic_build = build_from_local_batch
    model.train_step = as_vectors(model.train_step)
    model.test_step = as_vectors(model.test_step)


def _peak_for(plan: AccelPlan) -> float | None:
    from course_lib.accel.throughput import math_kind, peak_tflops

    gpus = plan.hardware.gpus
    if not gpus:
        return None
    per_device = peak_tflops(gpus[0].name, math_kind(plan.precision, gpus[0].compute_capability))
    return per_device * len(gpus) if per_device else None


def train(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    optimizer: Any = "rmsprop",
    loss: Any = None,
    metrics: Sequence[Any] | None = None,
    validation_data: Any = None,
    accelerator: Accelerator | None = None,
    precision: str = "auto",
    jit_compile: bool | str = "auto",
    steps_per_execution: int | str = "auto",
    strategy: str = "auto",
    shuffle: bool = True,
    seed: int | None = None,
    deterministic: bool | None = None,
    callbacks: Sequence[Any] = (),
    verbose: int | str = "auto",
) -> TrainingResult:
    """Build (when given a function), compile and fit ``model`` with the accelerator's settings.

    Parameters
    ----------
    model:
        A function with no arguments that returns a new Keras model (preferred), or a built model.
    x, y:
        Arrays (``y`` the labels), or a batched ``tf.data.Dataset`` (or ``keras.utils.PyDataset``)
        of ``(inputs, labels)`` in ``x`` with ``y`` None. ``batch_size`` is the global batch: with 4 replicas each gets a
        quarter of it.
    optimizer, loss, metrics:
        As for ``model.compile``. A string optimizer is created inside the strategy scope.
    validation_data:
        ``(x_val, y_val)`` arrays or a batched dataset; evaluated after every epoch.
    accelerator:
        The result of :func:`course_lib.accel.configure`; without one, ``configure`` is called
        with ``precision``, ``jit_compile``, ``steps_per_execution`` and ``strategy``.
    shuffle, seed, deterministic:
        For the array pipeline (see :mod:`course_lib.accel.pipelines`): a ``seed`` alone feeds
        the same batches in the same order every run.
    callbacks, verbose:
        As for ``model.fit``; a :class:`ThroughputMeter` is always added. (``fit``'s own
        ``shuffle`` is off: the pipeline shuffles.)
    """
    from course_lib.accel.pipelines import array_batches, from_arrays, sample_count
    from course_lib.accel.throughput import ThroughputMeter

    if accelerator is None:
        accelerator = configure(precision=precision, jit_compile=jit_compile,
                                steps_per_execution=steps_per_execution, strategy=strategy)
    if callable(model) and not hasattr(model, "fit"):
        model, plan = build_in_scope(model, accelerator)
    elif hasattr(model, "fit"):
        plan = _built_model_plan(model, accelerator)
    else:
        raise CourseError(f"train() needs a Keras model or a function that builds one, got {type(model).__name__}")

    samples_per_epoch = None
    if _is_dataset(x):
        if y is not None:
            raise CourseError("with a tf.data.Dataset, the labels come from the dataset: leave y out")
        train_data = x
    else:
        samples_per_epoch = sample_count(x if y is None else (x, y))
        pipeline = array_batches if plan.backend == "jax" else from_arrays
        train_data = pipeline(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed,
                              deterministic=deterministic)
    if validation_data is not None and not _is_dataset(validation_data):
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise CourseError("validation_data must be (inputs, labels) arrays or a batched "
                              "tf.data.Dataset")
        pipeline = array_batches if plan.backend == "jax" else from_arrays
        validation_data = pipeline(*validation_data, batch_size=batch_size, shuffle=False)

    with accelerator.strategy.scope():
        model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics or []),
                      jit_compile=plan.jit_compile, steps_per_execution=plan.steps_per_execution)
    if plan.jit_compile and not model.jit_compile:  # Keras turned XLA off for this model
        plan = replace(plan, jit_compile=False, reasons={
            **plan.reasons, "jit_compile": "a layer of this model cannot be XLA-compiled "
            "(for example cuDNN's LSTM), so Keras runs the step without XLA"})
    if plan.strategy == "multi_worker":
        _work_around_multi_worker_fit(model, accelerator.strategy, train_data)
    meter = ThroughputMeter(batch_size, samples_per_epoch=samples_per_epoch,
                            peak_tflops=_peak_for(plan))
    if verbose not in (0, "0"):
        print(f"Training with {plan.one_line()} ({accelerator.replicas} replica"
              f"{'s' if accelerator.replicas != 1 else ''})")
    import contextlib

    # On JAX, Keras splits the batches over the devices only while the distribution is in force.
    fitting = accelerator.strategy.scope() if plan.backend == "jax" else contextlib.nullcontext()
    started = time.perf_counter()
    with fitting:
        history = model.fit(train_data, epochs=epochs, validation_data=validation_data,
                            callbacks=[meter, *callbacks], verbose=verbose, shuffle=False)
    return TrainingResult(model=model, history=history, plan=plan, throughput=meter,
                          seconds=time.perf_counter() - started)
