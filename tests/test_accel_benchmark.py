"""``benchmarks/train_benchmark.py``: one command that prints everything a results table needs.

What an instructor would notice if it broke: a GPU run that prints no ratio, hides a failed
model, flatters a path with its best run, or never names the device it ran on.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "train_benchmark.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("train_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(model, path, speed, **extra):
    figures = {"model": model, "path": path, "samples_per_sec": speed, "settings": "float32 | XLA off",
               "step_ms": 1.0, "cpu_ms_per_sample": 0.5, "tflops": 0.1, "fraction_of_peak": None,
               "host_peak_rss_mib": 600.0, "gpu_peak_mib": None, "final_loss": 0.1}
    figures.update(extra)
    return figures


def test_summary_takes_the_median_run_and_the_ratio_to_plain(bench):
    runs = [_run("convnet", "plain", speed) for speed in (100.0, 300.0, 200.0)]
    runs += [_run("convnet", "course", speed) for speed in (450.0, 390.0, 700.0)]
    runs += [_run("convnet", "course[steps_per_execution=8]", speed) for speed in (250.0, 150.0)]
    rows = {row["path"]: row for row in bench.summarize(runs)}
    assert rows["plain"]["samples_per_sec"] == 200.0 and rows["plain"]["ratio"] is None
    assert rows["course"]["samples_per_sec"] == 450.0 and rows["course"]["ratio"] == pytest.approx(2.25)
    assert rows["course"]["speed_range"] == (390.0, 700.0) and rows["course"]["runs"] == 3
    # with an even number of runs the lower of the two middle runs is shown
    assert rows["course[steps_per_execution=8]"]["samples_per_sec"] == 150.0
    table = bench.format_table(list(rows.values()))
    assert "| convnet | course | float32, XLA off | 450 | 390-700 (3 runs) | 2.25x |" in table


def test_a_failed_run_shows_in_the_table(bench):
    rows = bench.summarize([_run("lstm", "plain", 10.0),
                            {"model": "lstm", "path": "course", "error": "timed out after 5 s"}])
    table = bench.format_table(rows)
    assert "| lstm | course | FAILED: timed out after 5 s |" in table


def test_course_options_are_read_as_settings(bench):
    assert bench._parse_options("jit_compile=true,steps_per_execution=8,precision=float32") == {
        "jit_compile": True, "steps_per_execution": 8, "precision": "float32"}
    assert bench._parse_options("") == {}


@pytest.mark.parametrize("model", ["convnet", "lstm", "transformer"])
def test_synthetic_data_has_the_model_input_shapes(bench, model):
    x, y = bench.make_data(model, 16)
    built = bench.BUILDERS[model]()
    assert tuple(x.shape[1:]) == tuple(built.inputs[0].shape[1:]) and len(y) == 16


@pytest.mark.slow
def test_quick_run_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--models", "convnet", "--json", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Device: " in result.stdout and "| convnet | plain |" in result.stdout
    assert "| convnet | course |" in result.stdout
    data = json.loads(out.read_text())
    assert {row["path"] for row in data["rows"]} == {"plain", "course"}
    course = next(row for row in data["rows"] if row["path"] == "course")
    assert course["ratio"] > 0 and course["samples_per_sec"] > 0
    assert course["host_peak_rss_mib"] > 100 and course["training_flops_per_sample"] > 1e6


def test_report_names_backend_versions_and_device_and_is_written_as_json_and_markdown(bench, tmp_path):
    runs = [_run("convnet", "plain", 100.0, device="1 x H100 80GB HBM3", keras="3.15.1",
                 jax="0.10.2", jaxlib="0.10.2", tensorflow=None),
            _run("convnet", "course", 250.0, device="1 x H100 80GB HBM3", keras="3.15.1",
                 jax="0.10.2", jaxlib="0.10.2", tensorflow=None),
            {"model": "lstm", "path": "plain", "error": "skipped: the 420 s budget was spent"}]
    report = bench.build_report(runs, "jax", "gpu", 12.0)
    assert report["header"].startswith("Device: 1 x H100 80GB HBM3 | Keras 3.15.1 on JAX 0.10.2 "
                                       "(jaxlib 0.10.2) | backend jax | size class gpu")
    bench.write_outputs(report, str(tmp_path / "r.json"), str(tmp_path / "r.md"))
    table = (tmp_path / "r.md").read_text()
    assert "| convnet | course |" in table and "2.50x" in table and "skipped" in table
    assert json.loads((tmp_path / "r.json").read_text())["versions"]["jax"] == "0.10.2"


def test_a_spent_time_budget_skips_the_remaining_runs(bench, tmp_path, monkeypatch):
    calls = []

    def fake_run(model, path, samples, epochs, options, timeout, backend):
        calls.append((model, path, timeout, backend))
        return _run(model, path, 10.0)

    monkeypatch.setattr(bench, "_run_one", fake_run)
    clock = iter([0.0, 1.0, 2.0, 3.0, 100.0, 101.0, 102.0, 103.0, 104.0, 105.0])
    monkeypatch.setattr(bench.time, "perf_counter", lambda: next(clock))
    status = bench.main(["--backend", "jax", "--size-class", "quick", "--max-seconds", "60",
                         "--models", "convnet,lstm", "--markdown", str(tmp_path / "t.md")])
    assert status == 1  # the skipped runs count as failures
    assert [call[:2] for call in calls] == [("convnet", "plain"), ("convnet", "course")]
    assert all(call[2] <= 60 and call[3] == "jax" for call in calls)
    assert "| lstm | plain | FAILED: skipped: the 60.0 s budget was spent |" in (
        tmp_path / "t.md").read_text()


@pytest.mark.slow
def test_gpu_check_dry_run_on_this_cpu(tmp_path):
    """benchmarks/gpu_check.sh --dry-run: the GPU check's steps on JAX's CPU build (CI)."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable, "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--dry-run", "--models", "convnet",
         "--out", str(out), "--wheels", str(tmp_path / "no-wheels")],
        capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "on jax | devices: cpu" in result.stdout
    data = json.loads((out / "gpu_check.json").read_text())
    assert data["backend"] == "jax" and {row["path"] for row in data["rows"]} == {"plain", "course"}
    assert all(row["samples_per_sec"] > 0 and row["tensorflow"] is None for row in data["rows"])
    table = (out / "gpu_check.md").read_text()
    assert "| backend jax |" in table and "| convnet | course |" in table
    assert "(backend jax)" in (out / "doctor.txt").read_text()
