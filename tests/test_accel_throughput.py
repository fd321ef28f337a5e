"""Throughput figures: FLOP counts, device peaks and the callback's samples/s, step time, TFLOP/s.

What a learner would notice if these broke: a speed that counts the compile step, a progress
line without the figures, a TFLOP/s that is off by the batch size, or a GPU peak for the wrong card.

These tests run on Keras's TensorFlow backend and again on JAX (``tests/test_accel_jax.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.accel.throughput import (
    ThroughputMeter,
    estimate_flops,
    math_kind,
    peak_tflops,
)


@pytest.fixture(scope="module")
def keras():
    from course_lib.accel.backend import import_keras

    return import_keras()


def _model(keras, inputs, *layers):
    tensor = inputs
    for layer in layers:
        tensor = layer(tensor)
    return keras.Model(inputs, tensor)


def test_dense_flops_are_two_per_multiply_add(keras):
    model = _model(keras, keras.Input((20,)), keras.layers.Dense(32, activation="relu"),
                   keras.layers.Dense(2))
    estimate = estimate_flops(model)
    assert estimate.forward_per_sample == 2 * 20 * 32 + 2 * 32 * 2
    assert estimate.training_per_sample == 3 * estimate.forward_per_sample
    assert "forward pass, one sample" in estimate.summary()


def test_conv_lstm_and_dense_on_sequences(keras):
    conv = _model(keras, keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3),
                  keras.layers.MaxPooling2D(2), keras.layers.Flatten())
    assert estimate_flops(conv).forward_per_sample == 2 * (6 * 6 * 4) * (3 * 3 * 1)
    lstm = _model(keras, keras.Input((5, 3)), keras.layers.LSTM(4))
    assert estimate_flops(lstm).forward_per_sample == 2 * 5 * 4 * 4 * (3 + 4)
    per_step = _model(keras, keras.Input((5, 3)), keras.layers.Dense(7))
    assert estimate_flops(per_step).forward_per_sample == 2 * 5 * 3 * 7  # one matmul per step


def test_multi_head_attention_counts_projections_and_products(keras):
    sequence = keras.Input((4, 8))
    attended = keras.layers.MultiHeadAttention(num_heads=2, key_dim=8)(sequence, sequence)
    model = keras.Model(sequence, attended)
    projections = 4 * 2 * (4 * 2 * 8) * 8  # Q, K, V in and the output back: 8 -> 2 heads x 8
    products = 2 * 2 * 4 * 4 * (8 + 8)  # scores and weighted values, per head
    assert estimate_flops(model).forward_per_sample == projections + products


def test_flops_of_a_model_without_a_known_input_shape_need_a_sample(keras):
    model = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="sample="):
        estimate_flops(model)
    assert estimate_flops(model, sample=np.zeros((5, 4), "float32")).forward_per_sample == 2 * 4 * 3


@pytest.mark.parametrize(
    ("name", "math", "peak"),
    [
        ("NVIDIA H100 80GB HBM3", "bf16", 989.0),
        ("NVIDIA H100 PCIe", "bf16", 756.0),
        ("NVIDIA H200", "bf16", 989.0),
        ("NVIDIA A100-SXM4-40GB", "bf16", 312.0),
        ("NVIDIA A100-SXM4-40GB", "tf32", 156.0),
        ("Tesla T4", "fp16", 65.0),
        ("Tesla T4", "bf16", None),  # no bfloat16 tensor cores
        ("NVIDIA L4", "bf16", 121.0),
        ("NVIDIA A10G", "bf16", None),  # not in the table: no guess
    ],
)
def test_device_peaks(name, math, peak):
    assert peak_tflops(name, math) == peak


def test_math_kind_follows_the_policy_and_the_card():
    assert math_kind("mixed_bfloat16") == "bf16"
    assert math_kind("mixed_float16", (7, 5)) == "fp16"
    assert math_kind("float32", (8, 0)) == "tf32"  # TensorFlow's default on Ampere and later
    assert math_kind("float32", (7, 5)) == "fp32"


def _fit_with_meter(keras, *, steps_per_execution=1, validation=False, epochs=3):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(200, 10)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    model = _model(keras, keras.Input((10,)), keras.layers.Dense(16, activation="relu"),
                   keras.layers.Dense(1, activation="sigmoid"))
    model.compile("adam", "binary_crossentropy", steps_per_execution=steps_per_execution)
    meter = ThroughputMeter(16, samples_per_epoch=200, peak_tflops=1.0)
    history = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=[meter],
                        validation_data=(x[:50], y[:50]) if validation else None)
    return meter, history


def test_meter_reports_speed_in_the_logs_and_leaves_out_the_compile_step(keras):
    meter, history = _fit_with_meter(keras)
    assert len(history.history["samples_per_sec"]) == 3
    assert len(history.history["step_ms"]) == 3 and len(history.history["tflops"]) == 3
    first, second, third = meter.records
    # 200 samples = 12 batches of 16 and one of 8; the first epoch's first step is left out
    # (on JAX, where the hooks run on threads and may arrive out of order, the steps already
    # finished when the first hook arrives: one or a few)
    skipped = 13 - first.steps
    assert skipped == 1 or (keras.config.backend() == "jax" and 1 <= skipped < 12)
    assert first.samples == 200 - 16 * skipped
    assert (second.steps, second.samples) == (13, 200) and third.samples == 200
    for record in meter.records:
        assert record.samples_per_sec == pytest.approx(record.samples / record.seconds)
        assert record.step_ms == pytest.approx(1000 * record.seconds / record.steps)
        expected_tflops = 3 * (2 * 10 * 16 + 2 * 16) * record.samples_per_sec / 1e12
        assert record.tflops == pytest.approx(expected_tflops)
    assert history.history["samples_per_sec"][1] == pytest.approx(second.samples_per_sec, rel=1e-3)
    table = meter.summary()
    assert "median" in table and "% of the device's peak of 1 TFLOP/s" in table
    assert meter.as_dict()["epochs"][0]["samples"] == first.samples


def test_meter_with_steps_per_execution_skips_the_whole_first_call(keras):
    meter, _ = _fit_with_meter(keras, steps_per_execution=4, epochs=2)
    first = meter.records[0]
    skipped = 13 - first.steps  # 4 (the first call runs 4 steps); on JAX possibly 8 or 12
    assert skipped == 4 or (keras.config.backend() == "jax" and skipped in (8, 12))
    assert first.samples == 200 - skipped * 16 and meter.records[1].steps == 13


def test_meter_times_training_without_the_validation_pass(keras):
    meter, history = _fit_with_meter(keras, validation=True, epochs=2)
    assert "val_loss" in history.history and len(meter.records) == 2


def test_meter_before_training_says_what_is_missing():
    assert "No throughput measured yet" in ThroughputMeter(32).summary()
    assert ThroughputMeter(32).median_samples_per_sec is None
