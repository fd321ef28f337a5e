"""The several-GPUs path (MirroredStrategy), run on two logical CPU devices.

What a learner with two GPUs would notice if it broke: ``accel.train`` under a
``MirroredStrategy`` with two replicas must split each global batch between them, keep the two
copies of every weight identical, and learn exactly what one device learns from the same
batches (the replicas' gradients are averaged, so the updates are the same up to rounding).
Shuffled, the two runs see the batches in other orders (the seeded order is repeatable for one
strategy, not across strategies), so there the promise is the same accuracy band.

TensorFlow fixes its device list when its runtime starts, so the run happens in a fresh
process that splits the CPU into two logical devices before anything else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from course_lib.runtime import import_tensorflow

    tf = import_tensorflow()
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    import keras
    from course_lib import accel

    out = sys.argv[1]
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=2.0, size=(3, 10))
    labels = rng.integers(0, 3, 1280)
    points = (centers[labels] + rng.normal(scale=1.2, size=(1280, 10))).astype("float32")

    def build():
        inputs = keras.Input(shape=(10,))
        hidden = keras.layers.Dense(16, activation="relu")(inputs)
        return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))

    def fit(strategy, kind, shuffle):
        plan = accel.plan_for(accel.Hardware(), strategy=kind)
        accelerator = accel.Accelerator(plan=plan, strategy=strategy)
        keras.utils.set_random_seed(3)
        result = accel.train(build, points[:1024], labels[:1024], accelerator=accelerator,
                             epochs=12, batch_size=64, seed=3, deterministic=True,
                             shuffle=shuffle, optimizer="adam", loss="sparse_categorical_crossentropy",
                             metrics=["accuracy"], verbose=0)
        model = result.model
        copies = [[v.numpy() for v in getattr(w.value, "values", (w.value,))]
                  for w in model.weights]
        accuracy = model.evaluate(points[1024:], labels[1024:], verbose=0, return_dict=True)["accuracy"]
        return result, accelerator, copies, accuracy

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    # the same batches in the same order for both: the updates must agree up to rounding
    one, one_acc, one_copies, one_accuracy = fit(tf.distribute.get_strategy(), "default", False)
    two, two_acc, two_copies, two_accuracy = fit(mirrored, "mirrored", False)
    # as a learner runs it, shuffled: the same accuracy band
    shuffled_accuracy = fit(mirrored, "mirrored", True)[3]
    np.savez(out + ".one.npz", *[c[0] for c in one_copies])
    np.savez(out + ".two.npz", *[c for w in two_copies for c in w])
    with open(out + ".json", "w") as handle:
        json.dump({
            "replicas": [one_acc.replicas, two_acc.replicas],
            "strategy": [one.plan.strategy, two.plan.strategy],
            "copies_per_weight": [len(c) for c in two_copies],
            "devices": sorted({str(v.device) for w in two.model.weights
                               for v in getattr(w.value, "values", ())}),
            "loss": [one.history.history["loss"], two.history.history["loss"]],
            "accuracy": [one_accuracy, two_accuracy, shuffled_accuracy],
        }, handle)
""")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_replicas_learn_what_one_device_learns(tmp_path: Path):
    script = tmp_path / "mirrored.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "run")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    report = json.loads((tmp_path / "run.json").read_text())
    assert report["replicas"] == [1, 2]
    assert report["strategy"] == ["default", "mirrored"]
    assert report["copies_per_weight"] == [2, 2, 2, 2]  # two kernels, two biases, one copy per replica
    assert len(report["devices"]) == 2 and all("CPU" in device for device in report["devices"])

    with np.load(tmp_path / "run.one.npz") as single_run, np.load(tmp_path / "run.two.npz") as mirrored_run:
        one = [single_run[name] for name in single_run.files]      # arr_0, arr_1, ... in order
        two = [mirrored_run[name] for name in mirrored_run.files]
    replica0, replica1 = two[0::2], two[1::2]
    for first, second in zip(replica0, replica1, strict=True):
        np.testing.assert_array_equal(first, second)  # the replicas never drift apart
    for single, mirrored in zip(one, replica0, strict=True):
        np.testing.assert_allclose(mirrored, single, rtol=0, atol=1e-5)

    one_loss, two_loss = report["loss"]
    np.testing.assert_allclose(two_loss, one_loss, rtol=1e-3)
    assert one_loss[-1] < one_loss[0]
    single, mirrored, shuffled = report["accuracy"]
    assert single > 0.85
    assert abs(single - mirrored) < 0.01
    assert abs(single - shuffled) < 0.05
