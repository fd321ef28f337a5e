"""The course training path against plain ``model.fit``: same data, same seed, same accuracy.

These tests run twice in CI: on Keras's TensorFlow backend, and on JAX
(``tests/test_accel_jax.py`` starts that run with ``KERAS_BACKEND=jax``).

What a learner would notice if it broke: switching to ``accel.train`` costs accuracy, the
GPU settings (XLA, several steps per call, mixed precision) change what the model learns,
or a model built the wrong way trains in a precision nobody asked for.
"""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.accel.devices import Accelerator, GpuInfo, Hardware, plan_for
from course_lib.errors import CourseError


@pytest.fixture(scope="module")
def keras():
    from course_lib.accel.backend import import_keras

    return import_keras()


@pytest.fixture(scope="module")
def blobs():
    """Four overlapping Gaussian clouds in 20 dimensions: 4 epochs reach about 85% (1 epoch: 62%)."""
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=1.0, size=(4, 20))
    labels = rng.integers(0, 4, 2400)
    points = (centers[labels] + rng.normal(scale=1.8, size=(2400, 20))).astype("float32")
    return (points[:2000], labels[:2000]), (points[2000:], labels[2000:])


def _builder(keras):
    def build():
        inputs = keras.Input(shape=(20,))
        hidden = keras.layers.Dense(32, activation="relu")(inputs)
        return keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(hidden))
    return build


COMPILE = {"optimizer": "adam", "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}


@pytest.fixture(scope="module")
def plain_accuracy(keras, blobs):
    (x, y), (x_test, y_test) = blobs
    keras.utils.set_random_seed(1)
    model = _builder(keras)()
    model.compile(**COMPILE)
    model.fit(x, y, batch_size=32, epochs=4, verbose=0)
    return model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]


@pytest.mark.parametrize(
    "settings",
    [
        {},  # what configure() picks on this machine
        {"jit_compile": True, "steps_per_execution": 8},  # the GPU settings, run on the CPU
        {"precision": "mixed_bfloat16"},  # the A100/H100 policy
        {"precision": "mixed_float16"},  # the V100/T4 policy, with loss scaling
    ],
    ids=["auto", "xla+steps_per_execution", "mixed_bfloat16", "mixed_float16"],
)
def test_course_path_reaches_the_accuracy_of_plain_fit(keras, blobs, plain_accuracy, settings):
    from course_lib import accel

    (x, y), (x_test, y_test) = blobs
    keras.utils.set_random_seed(1)
    result = accel.train(_builder(keras), x, y, epochs=4, batch_size=32, seed=1, verbose=0,
                         **COMPILE, **settings)
    accuracy = result.model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
    assert plain_accuracy > 0.78
    assert abs(accuracy - plain_accuracy) < 0.04, (accuracy, plain_accuracy)
    expected_policy = settings.get("precision", result.plan.precision)
    assert result.model.dtype_policy.name == expected_policy == result.plan.precision
    scaled = isinstance(result.model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == result.plan.loss_scaling == (expected_policy == "mixed_float16")
    if "jit_compile" in settings:
        assert result.model.jit_compile is True and result.model.steps_per_execution == 8
    assert len(result.history.history["samples_per_sec"]) == 4
    summary = result.summary()
    assert f"settings: {result.plan.one_line()}" in summary and "samples/s" in summary
    assert keras.config.dtype_policy().name == "float32"  # the global policy is left alone


def test_validation_data_and_a_dataset_input(keras, blobs):
    """A tf.data pipeline trains on both backends (on JAX where TensorFlow is installed)."""
    from course_lib import accel

    (x, y), (x_test, y_test) = blobs
    dataset = accel.from_arrays(x, y, batch_size=64, seed=0)
    result = accel.train(_builder(keras), dataset, epochs=2, batch_size=64, verbose=0,
                         validation_data=(x_test, y_test), **COMPILE)
    assert len(result.history.history["val_accuracy"]) == 2
    assert result.history.history["val_accuracy"][-1] > 0.6
    with pytest.raises(CourseError, match="leave y out"):
        accel.train(_builder(keras), dataset, y, verbose=0, **COMPILE)


def test_a_model_built_beforehand_keeps_its_policy_and_says_so(keras, blobs, capsys):
    from course_lib import accel

    (x, y), _ = blobs
    model = _builder(keras)()  # float32, built outside any scope
    result = accel.train(model, x[:256], y[:256], precision="mixed_bfloat16", verbose=0, **COMPILE)
    assert result.plan.precision == "float32" == result.model.dtype_policy.name
    assert "built with the float32 policy" in capsys.readouterr().out
    with pytest.raises(CourseError, match="pass the function that builds the model"):
        accel.train(_builder(keras)(), x[:64], y[:64], strategy="mirrored", verbose=0, **COMPILE)
    with pytest.raises(CourseError, match="a function that builds one"):
        accel.train("model.keras", x, y, verbose=0, **COMPILE)


def test_recurrent_model_on_an_ampere_gpu_is_built_in_float16(keras):
    """cuDNN's LSTM has float16 kernels, not bfloat16 ones: on TensorFlow the path switches by
    itself; on JAX (no cuDNN LSTM) bfloat16 stays."""
    from course_lib.accel.training import build_in_scope

    backend = keras.config.backend()
    plan = plan_for(Hardware(gpus=(GpuInfo("NVIDIA A100-SXM4-40GB", (8, 0)),)), backend=backend)
    if backend == "jax":
        from course_lib.accel.devices import JaxDistribution

        strategy = JaxDistribution("default")
    else:
        import tensorflow as tf

        strategy = tf.distribute.get_strategy()
    accelerator = Accelerator(plan=plan, strategy=strategy)

    def recurrent():
        inputs = keras.Input(shape=(12, 3))
        return keras.Model(inputs, keras.layers.Dense(1)(keras.layers.LSTM(8)(inputs)))

    model, used = build_in_scope(recurrent, accelerator)
    if backend == "jax":
        assert used.precision == "mixed_bfloat16" == model.dtype_policy.name
        return
    assert used.precision == "mixed_float16" and used.loss_scaling
    assert "cuDNN" in used.reasons["precision"]
    assert model.dtype_policy.name == "mixed_float16"
    dense_only, kept = build_in_scope(_builder(keras), accelerator)
    assert kept.precision == "mixed_bfloat16" == dense_only.dtype_policy.name


@pytest.mark.filterwarnings("ignore:Model doesn't support `jit_compile=True`")
def test_plan_says_so_when_keras_cannot_compile_the_model_with_xla(keras, blobs):
    from course_lib import accel

    class NotCompilable(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_jit = False

        def call(self, inputs):
            return inputs

    def build():
        inputs = keras.Input(shape=(20,))
        hidden = NotCompilable()(keras.layers.Dense(8, activation="relu")(inputs))
        return keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(hidden))

    (x, y), _ = blobs
    result = accel.train(build, x[:128], y[:128], jit_compile=True, verbose=0, **COMPILE)
    assert result.model.jit_compile is False and result.plan.jit_compile is False
    assert "cannot be XLA-compiled" in result.plan.reasons["jit_compile"]
    assert "XLA off" in result.summary()
