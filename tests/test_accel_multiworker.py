"""Two workers on this machine train through tf.distribute's MultiWorkerMirroredStrategy.

What a learner scaling out would notice if it broke: with ``TF_CONFIG`` naming two workers,
``course_lib.accel`` picks the multi-worker strategy by itself, both processes train together
(two replicas in sync) and finish with the very same weights.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

WORKER = textwrap.dedent("""
    import json, sys
    import numpy as np
    from course_lib import accel

    out = sys.argv[1]
    accelerator = accel.configure()
    import keras

    def build():
        inputs = keras.Input(shape=(8,))
        hidden = keras.layers.Dense(16, activation="relu")(inputs)
        return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)            # the same data on both workers; tf.data shards it
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0).astype("int32")
    model, plan = accel.build_in_scope(build, accelerator)
    initial = [w.copy() for w in model.get_weights()]
    result = accel.train(model, x, y, epochs=2, batch_size=64, accelerator=accelerator,
                         loss="sparse_categorical_crossentropy", seed=0, deterministic=True,
                         verbose=0)
    np.savez(out + ".npz", *result.model.get_weights())
    np.savez(out + ".initial.npz", *initial)
    with open(out + ".json", "w") as handle:
        json.dump({"strategy": result.plan.strategy, "replicas": accelerator.replicas,
                   "loss": result.history.history["loss"]}, handle)
""")


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _load(path: Path) -> list[np.ndarray]:
    with np.load(path) as archive:
        return [archive[f"arr_{index}"] for index in range(len(archive.files))]


def _run_two_workers(folder: Path) -> list[subprocess.Popen]:
    """Start both workers and wait for them. No second try: a worker that dies fails the test
    with its log, which (faulthandler) names the signal and where it struck."""
    script = folder / "worker.py"
    script.write_text(WORKER)
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    try:
        for index in range(2):
            # PYTHONFAULTHANDLER: a worker killed by a signal names it, with its Python stack
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "",
                   "PYTHONFAULTHANDLER": "1",
                   "TF_CONFIG": json.dumps({"cluster": {"worker": workers},
                                            "task": {"type": "worker", "index": index}})}
            log = open(folder / f"worker{index}.log", "w")  # closed in the finally block
            processes.append((subprocess.Popen(
                [sys.executable, str(script), str(folder / f"worker{index}")],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log))
        deadline = time.monotonic() + 240
        for process, _ in processes:
            process.wait(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pytest.fail("the two workers did not finish within 240 s")
    finally:
        for process, log in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
    return [process for process, _ in processes]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_workers_on_loopback_end_with_the_same_weights(tmp_path: Path):
    processes = _run_two_workers(tmp_path)
    for index, process in enumerate(processes):
        output = (tmp_path / f"worker{index}.log").read_text()[-3000:]
        assert process.returncode == 0, f"worker {index} failed:\n{output}"

    reports = [json.loads((tmp_path / f"worker{index}.json").read_text()) for index in range(2)]
    assert [report["strategy"] for report in reports] == ["multi_worker", "multi_worker"]
    assert [report["replicas"] for report in reports] == [2, 2]
    first, second = (_load(tmp_path / f"worker{index}.npz") for index in range(2))
    initial = _load(tmp_path / "worker0.initial.npz")
    assert len(first) == len(second) == len(initial) == 4
    for mine, theirs in zip(first, second, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-6)
    assert any(not np.allclose(before, after) for before, after in zip(initial, first, strict=True)), \
        "the weights did not change: no training happened"
    assert reports[0]["loss"][-1] < reports[0]["loss"][0]
