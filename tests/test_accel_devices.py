"""Precision, strategy, XLA and steps-per-execution choices from described machines.

What a learner would notice if these broke: a T4 on Colab training in bfloat16 (slow, emulated),
two GPUs left half idle, mixed precision slowing a laptop down, or a TF_CONFIG typo silently
training alone.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from course_lib.accel import devices
from course_lib.accel.devices import ClusterInfo, GpuInfo, Hardware, parse_tf_config, plan_for
from course_lib.errors import CourseError

A100 = GpuInfo("NVIDIA A100-SXM4-40GB", (8, 0))
H100 = GpuInfo("NVIDIA H100 80GB HBM3", (9, 0))
T4 = GpuInfo("Tesla T4", (7, 5))
V100 = GpuInfo("Tesla V100-SXM2-16GB", (7, 0))
P100 = GpuInfo("Tesla P100-PCIE-16GB", (6, 0))
CPU = Hardware(cpu_name="AMD EPYC", cpu_count=2)
TWO_WORKERS = ClusterInfo(workers=2, task_type="worker", task_index=1)


@pytest.mark.parametrize(
    ("hardware", "precision", "strategy", "jit", "steps"),
    [
        (Hardware(gpus=(A100, A100)), "mixed_bfloat16", "mirrored", False, 32),
        (Hardware(gpus=(T4,)), "mixed_float16", "default", True, 32),
        (CPU, "float32", "default", devices.CPU_JIT_COMPILE, devices.CPU_STEPS_PER_EXECUTION),
        (Hardware(gpus=(H100,)), "mixed_bfloat16", "default", True, 32),
        (Hardware(gpus=(V100, A100)), "mixed_float16", "mirrored", False, 32),  # oldest GPU decides
        (Hardware(gpus=(P100,)), "float32", "default", True, 32),
        (Hardware(gpus=(GpuInfo("mystery GPU"),)), "float32", "default", True, 32),
        (Hardware(tpu_cores=8), "mixed_bfloat16", "tpu", False, 32),
        (Hardware(gpus=(A100,), cluster=TWO_WORKERS), "mixed_bfloat16", "multi_worker", False, 32),
        (Hardware(cluster=TWO_WORKERS), "float32", "multi_worker", False, devices.CPU_STEPS_PER_EXECUTION),
    ],
    ids=["2xA100", "T4", "CPU", "H100", "V100+A100", "P100", "unknown-cc", "TPU", "cluster-A100",
         "cluster-CPU"],
)
def test_plan_for_simulated_machines(hardware, precision, strategy, jit, steps):
    plan = plan_for(hardware)
    assert (plan.precision, plan.strategy, plan.jit_compile, plan.steps_per_execution) == (
        precision, strategy, jit, steps)
    assert plan.loss_scaling == (precision == "mixed_float16")
    assert set(plan.reasons) == {"precision", "strategy", "jit_compile", "steps_per_execution"}
    assert all(reason for reason in plan.reasons.values())


def test_cpu_plan_keeps_mixed_precision_off_and_says_why():
    plan = plan_for(CPU)
    table = plan.summary()
    assert "float32" in table and "slow them down" in table
    assert "AMD EPYC (2 cores, no GPU)" in table
    assert plan.one_line().startswith("float32 | XLA off")


def test_t4_summary_mentions_loss_scaling():
    table = plan_for(Hardware(gpus=(T4,))).summary()
    assert "mixed_float16" in table and "loss scaling         yes" in table
    assert "1 x Tesla T4 (compute capability 7.5)" in table


def test_explicit_choices_win_over_auto():
    plan = plan_for(Hardware(gpus=(A100,)), precision="float32", jit_compile=False,
                    steps_per_execution=4, strategy="mirrored")
    assert (plan.precision, plan.jit_compile, plan.steps_per_execution, plan.strategy) == (
        "float32", False, 4, "mirrored")
    assert set(plan.reasons.values()) == {"asked for"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"precision": "float16"}, "'mixed_float16'"),
        ({"strategy": "horovod"}, "'mirrored'"),
        ({"jit_compile": "yes"}, "True, False or 'auto'"),
        ({"steps_per_execution": 0}, "whole number >= 1"),
        ({"steps_per_execution": True}, "whole number >= 1"),
    ],
)
def test_bad_choices_say_what_is_allowed(options, message):
    with pytest.raises(CourseError, match=message):
        plan_for(CPU, **options)


def test_tf_config_with_two_workers_is_a_cluster():
    text = json.dumps({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}})
    assert parse_tf_config(text) == ClusterInfo(workers=2, task_type="worker", task_index=1)
    chief = json.dumps({"cluster": {"chief": ["a:1"], "worker": ["b:2"]},
                        "task": {"type": "chief", "index": 0}})
    assert parse_tf_config(chief).workers == 2


@pytest.mark.parametrize("text", [None, "", "  ", json.dumps({"cluster": {"worker": ["a:1"]},
                                                              "task": {"type": "worker", "index": 0}})])
def test_no_or_single_worker_tf_config_trains_alone(text):
    assert parse_tf_config(text) is None


def test_broken_tf_config_is_reported_not_ignored():
    with pytest.raises(CourseError, match="TF_CONFIG is not valid JSON"):
        parse_tf_config("{'cluster': ")
    with pytest.raises(CourseError, match='"task"'):
        parse_tf_config(json.dumps({"cluster": {"worker": ["a:1", "b:2"]}}))


def test_cpu_name_comes_from_cpuinfo():
    cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n"
    assert devices.cpu_name(cpuinfo) == "AMD EPYC 7B13"


def test_tpu_announced_by_colab_environment():
    assert devices.tpu_address({"COLAB_TPU_ADDR": "10.0.0.2:8470"}) == "10.0.0.2:8470"
    assert devices.tpu_address({"TPU_NAME": "my-tpu"}) == "my-tpu"


def test_choices_and_doctor_do_not_import_tensorflow():
    code = ("import sys; import course_lib.accel, course_lib.accel.devices, course_lib.accel.doctor, "
            "course_lib.accel.pipelines, course_lib.accel.training; "
            "from course_lib.accel import plan_for, Hardware; plan_for(Hardware()); "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
    ("hardware", "strategy", "jit", "steps"),
    [
        (Hardware(gpus=(H100,)), "default", True, 32),
        (Hardware(gpus=(A100, A100)), "data_parallel", True, 32),  # XLA across replicas on JAX
        (CPU, "default", True, devices.CPU_STEPS_PER_EXECUTION),  # JAX always jits
        (Hardware(tpu_cores=8), "data_parallel", True, 32),
        (Hardware(gpus=(A100,), cluster=TWO_WORKERS), "default", True, 32),  # TF_CONFIG is TF's
    ],
    ids=["H100", "2xA100", "CPU", "TPU", "TF_CONFIG"],
)
def test_plan_for_simulated_machines_on_jax(hardware, strategy, jit, steps):
    plan = plan_for(hardware, backend="jax")
    tensorflow_plan = plan_for(hardware)
    assert (plan.strategy, plan.jit_compile, plan.steps_per_execution) == (strategy, jit, steps)
    assert plan.precision == tensorflow_plan.precision  # Keras's own policy on both backends
    assert plan.backend == "jax" and "Keras backend        jax" in plan.summary()
    assert "Keras backend" not in tensorflow_plan.summary()


def test_strategy_names_carry_over_between_backends():
    assert plan_for(CPU, strategy="mirrored", backend="jax").strategy == "data_parallel"
    assert plan_for(CPU, strategy="data_parallel").strategy == "mirrored"
    with pytest.raises(CourseError, match=r"keras.distribution.initialize"):
        plan_for(CPU, strategy="multi_worker", backend="jax")


def test_backend_comes_from_the_environment_or_keras_json(tmp_path):
    from course_lib.accel.backend import check_supported, configured_backend

    assert configured_backend({"KERAS_BACKEND": "jax"}) == "jax"
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "torch"}))
    assert configured_backend({"KERAS_HOME": str(tmp_path)}) == "torch"
    assert configured_backend({"KERAS_HOME": str(tmp_path / "none")}) == "tensorflow"
    with pytest.raises(CourseError, match="KERAS_BACKEND=tensorflow"):
        check_supported("torch")


def test_configure_on_this_machine_matches_what_tensorflow_sees(capsys):
    from course_lib.accel.backend import configured_backend

    if configured_backend() != "tensorflow":
        pytest.skip("TensorFlow backend only (tests/test_accel_jax.py checks configure on JAX)")
    import keras
    import tensorflow as tf

    from course_lib import accel

    accelerator = accel.configure(verbose=True)
    gpus = tf.config.list_physical_devices("GPU")
    assert len(accelerator.plan.hardware.gpus) == len(gpus)
    assert accelerator.plan.hardware.cpu_count >= 1
    assert accelerator.replicas >= 1
    if not gpus:
        assert accelerator.plan.precision == "float32" and accelerator.plan.strategy == "default"
    assert "precision" in capsys.readouterr().out
    assert accelerator.compile_options() == {"jit_compile": accelerator.plan.jit_compile,
                                             "steps_per_execution": accelerator.plan.steps_per_execution}
    before = keras.config.dtype_policy().name
    with accelerator.scope(precision="mixed_bfloat16"):
        layer = keras.layers.Dense(2)
    assert layer.compute_dtype == "bfloat16" and layer.variable_dtype == "float32"
    assert keras.config.dtype_policy().name == before  # restored after the block
