"""``course_lib.accel`` on Keras's JAX backend, as on TensorFlow.

What a learner (or the GPU check, on a machine with JAX and no TensorFlow) would notice if it
broke: ``KERAS_BACKEND=jax`` making ``course_lib.accel`` import TensorFlow and fail, the course
path learning something else than plain ``fit`` on JAX, ``keras.distribution.DataParallel``
replicas drifting apart, or the array pipeline dropping or repeating samples.

Keras fixes its backend when it is first imported, so the JAX checks run in processes of their
own, started from the normal (TensorFlow) test run:

* :func:`test_accel_tests_pass_on_the_jax_backend` runs pytest with ``KERAS_BACKEND=jax`` on
  :data:`JAX_RUN_FILES` (the training and throughput tests, and this file, whose JAX-only tests
  are skipped on TensorFlow), with JAX's CPU split into two devices for the data-parallel test;
* :func:`test_a_machine_without_tensorflow` blocks ``import tensorflow`` altogether, as on the
  GPU check's machine, and runs configure, train, the meter, the FLOP count and the doctor.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from course_lib.accel.backend import configured_backend
from course_lib.accel.pipelines import array_batches

ROOT = Path(__file__).resolve().parents[1]
JAX_RUN_FILES = ("tests/test_accel_training.py", "tests/test_accel_throughput.py",
                 "tests/test_accel_jax.py")
ON_JAX = configured_backend() == "jax"
jax_only = pytest.mark.skipif(not ON_JAX, reason="runs in the KERAS_BACKEND=jax test run")
tensorflow_run_only = pytest.mark.skipif(ON_JAX, reason="starts the JAX run; not from inside it")


def _jax_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.update(extra)
    return env


# -- the array pipeline (both backends) -----------------------------------------------------------

def _epoch(batches) -> tuple[list[int], list[int], list[int]]:
    ids, labels, sizes = [], [], []
    for index in range(len(batches)):
        x, y = batches[index]
        ids.extend(x[:, 0].astype(int).tolist())
        labels.extend(y.astype(int).tolist())
        sizes.append(len(x))
    batches.on_epoch_end()
    return ids, labels, sizes


def test_array_batches_give_every_sample_once_per_epoch_in_a_new_order():
    ids = np.arange(103)
    x, y = np.stack([ids, ids * 10], axis=1).astype("float32"), 2 * ids
    batches = array_batches(x, y, batch_size=10, seed=3)
    first, labels, sizes = _epoch(batches)
    second, _, _ = _epoch(batches)
    assert sorted(first) == list(range(103)) == sorted(second)  # none missing, none twice
    assert labels == [2 * i for i in first]  # labels travel with their inputs
    assert sizes == [10] * 10 + [3]  # the last, smaller batch is kept
    assert first != sorted(first) and first != second  # shuffled, and anew every epoch
    again, _, _ = _epoch(array_batches(x, y, batch_size=10, seed=3))
    assert again == first  # a seed repeats the run
    in_order, _, _ = _epoch(array_batches(x, y, batch_size=10, shuffle=False))
    assert in_order == list(range(103))
    _, _, full = _epoch(array_batches(x, y, batch_size=10, drop_remainder=True))
    assert full == [10] * 10
    (inputs_only,) = array_batches(x, batch_size=4, shuffle=False)[0]
    assert inputs_only.shape == (4, 2)


# -- in the JAX run -----------------------------------------------------------------------------

@jax_only
def test_configure_on_jax_matches_what_jax_sees():
    import jax
    import keras

    from course_lib import accel

    accelerator = accel.configure()
    plan = accelerator.plan
    assert plan.backend == "jax" and plan.jit_compile is True  # Keras always jits on JAX
    assert len(plan.hardware.gpus) == sum(d.platform == "gpu" for d in jax.devices())
    assert accelerator.replicas == 1 and "Keras backend        jax" in accelerator.summary()
    with accelerator.scope(precision="mixed_bfloat16"):
        layer = keras.layers.Dense(2)
    assert layer.compute_dtype == "bfloat16" and keras.config.dtype_policy().name == "float32"


@jax_only
def test_data_parallel_replicas_learn_what_one_device_learns():
    """keras.distribution.DataParallel over two CPU devices: the batch is split, the gradients
    averaged, so the weights match one device's run on the same batches (up to rounding)."""
    import jax
    import keras

    from course_lib import accel

    if len(jax.devices()) < 2:
        pytest.skip("needs XLA_FLAGS=--xla_force_host_platform_device_count=2 (the JAX run sets it)")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")

    def build():
        inputs = keras.Input(shape=(8,))
        hidden = keras.layers.Dense(16, activation="relu")(inputs)
        return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(hidden))

    results = {}
    for strategy in ("default", "data_parallel"):
        keras.utils.set_random_seed(0)
        results[strategy] = accel.train(build, x, y, epochs=2, batch_size=64, shuffle=False,
                                        strategy=strategy, optimizer="sgd", verbose=0,
                                        loss="sparse_categorical_crossentropy")
    parallel = results["data_parallel"]
    assert parallel.plan.strategy == "data_parallel"
    assert accel.configure(strategy="data_parallel").replicas == len(jax.devices())
    kernel = parallel.model.layers[1].kernel.value
    assert len(kernel.sharding.device_set) == len(jax.devices())  # a copy on every device
    for one, two in zip(results["default"].model.get_weights(), parallel.model.get_weights(),
                        strict=True):
        np.testing.assert_allclose(one, two, atol=1e-5)


# -- started from the TensorFlow run ----------------------------------------------------------------

NO_TENSORFLOW = textwrap.dedent("""
    import importlib.abc, json, sys

    class NoTensorFlow(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] == "tensorflow":
                raise ModuleNotFoundError("No module named 'tensorflow' (blocked by the test)")

    sys.meta_path.insert(0, NoTensorFlow())
    import numpy as np
    from course_lib import accel
    from course_lib.accel import doctor
    import keras

    def build():
        inputs = keras.Input(shape=(6,))
        hidden = keras.layers.Dense(8, activation="relu")(inputs)
        return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    result = accel.train(build, x, y, epochs=3, batch_size=32, seed=0, verbose=0,
                         precision="mixed_bfloat16", steps_per_execution=4, optimizer="adam",
                         loss="binary_crossentropy", metrics=["accuracy"],
                         validation_data=(x[:64], y[:64]))
    facts = doctor.gather_facts()
    print(json.dumps({
        "backend": keras.config.backend(),
        "summary": result.summary(),
        "policy": result.model.dtype_policy.name,
        "steps_per_execution": result.model.steps_per_execution,
        "samples_per_sec": result.throughput.median_samples_per_sec,
        "flops": accel.estimate_flops(build()).forward_per_sample,
        "doctor": doctor.format_report(facts, doctor.diagnose(facts)),
        "tensorflow_imported": any(name.split(".")[0] == "tensorflow" for name in sys.modules),
    }))
""")


@tensorflow_run_only
@pytest.mark.slow
def test_a_machine_without_tensorflow():
    result = subprocess.run([sys.executable, "-c", NO_TENSORFLOW], capture_output=True, text=True,
                            timeout=600, cwd=ROOT, env=_jax_env())
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax" and not report["tensorflow_imported"]
    assert report["policy"] == "mixed_bfloat16" and report["steps_per_execution"] == 4
    assert report["samples_per_sec"] > 0 and report["flops"] == 2 * 6 * 8 + 2 * 8
    assert "settings: mixed_bfloat16 | XLA on | 4 steps per execution" in report["summary"]
    assert "Keras backend        jax" in report["doctor"] and "PROBLEM" not in report["doctor"]


@tensorflow_run_only
@pytest.mark.slow
def test_accel_tests_pass_on_the_jax_backend():
    """The accel tests again, with ``KERAS_BACKEND=jax`` (JAX's CPU build, two CPU devices)."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs",
               "--disable-warnings", "-o", "addopts=", "--timeout=1000", *JAX_RUN_FILES]
    env = _jax_env(XLA_FLAGS="--xla_force_host_platform_device_count=2")
    result = subprocess.run(command, capture_output=True, text=True, timeout=1150, cwd=ROOT,
                            env=env)
    tail = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, tail
    summary = tail.strip().splitlines()[-1]  # e.g. "29 passed, 2 skipped, 8 warnings in 485.37s"
    assert re.search(r"\d+ passed", summary) and not re.search(r"\d+ (failed|error)", summary), tail
    assert "needs XLA_FLAGS" not in tail  # the data-parallel test really ran
