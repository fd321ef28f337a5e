"""The environment files agree: pins are what is installed, Binder runs the quick profile."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess

import pytest
import yaml

from course_lib.runtime import resolve_profile
from tests.conftest import ROOT

REQUIREMENTS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;#]+)")


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (REQUIREMENTS / name).read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(3)
    return pins


def test_every_pin_says_why():
    for path in REQUIREMENTS.glob("*.txt"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if PIN.match(line.strip()):
                assert "#" in line, f"{path.name}: '{line}' has no comment saying why it is pinned"


@pytest.mark.parametrize("name", ["base.txt", "dev.txt"])
def test_installed_versions_match_the_pins(name):
    for package, version in _pins(name).items():
        assert importlib.metadata.version(package) == version, f"{package} is not at its pin"


def test_cpu_and_gpu_builds_pin_the_same_tensorflow():
    cpu, gpu = _pins("cpu.txt"), _pins("gpu.txt")
    assert cpu["tensorflow-cpu"] == gpu["tensorflow"]
    installed = {dist.metadata["Name"].lower().replace("_", "-")
                 for dist in importlib.metadata.distributions()}
    build = "tensorflow-cpu" if "tensorflow-cpu" in installed else "tensorflow"
    assert importlib.metadata.version(build) == cpu["tensorflow-cpu"]


def test_binder_installs_the_cpu_build_and_forces_the_quick_profile():
    requirements = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8")
    assert "-r ../requirements/cpu.txt" in requirements
    env = subprocess.run([str(ROOT / "binder" / "start"), "env"], capture_output=True, text=True,
                         check=True, env={"PATH": os.environ["PATH"]}).stdout
    environ = dict(line.split("=", 1) for line in env.splitlines() if "=" in line)
    assert resolve_profile(environ=environ, has_gpu=True)[0] == "quick"


def test_conda_environment_uses_the_same_pins():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    assert "-r requirements/cpu.txt" in pip_section and "-e ." in pip_section
    assert any(str(item).startswith("python=3.11") for item in environment["dependencies"])


def test_make_figures_runs_every_benchmark_and_names_the_files_after_the_gpu(tmp_path):
    """`make figures` on a GPU machine: the device report, then both benchmarks, named per GPU."""
    fake_smi = tmp_path / "nvidia-smi"
    fake_smi.write_text("#!/bin/sh\necho 'NVIDIA H100 80GB HBM3'\n")
    fake_smi.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    # A stamp newer than every requirement file, so make never plans to rebuild the environment
    # (naming a tracked file here made the test depend on the order git wrote the checkout).
    stamp = tmp_path / "installed"
    stamp.touch()
    dry_run = subprocess.run(["make", "-n", "figures", f"STAMP={stamp}"], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True).stdout
    commands = " ".join(dry_run.replace("\\\n", " ").split())
    assert commands.index("course doctor") < commands.index("train_benchmark.py --repeats 3")
    assert "--json benchmarks/results/nvidia-h100-80gb-hbm3.json" in commands
    assert ("full_profile.py --chapters 03 04 08 09 10 "
            "--json benchmarks/results/full-profile-nvidia-h100-80gb-hbm3.json") in commands


def test_the_floor_stack_is_the_floor_setup_checks_and_the_pin_is_what_it_upgrades_to():
    from course_lib import runtime

    floor, base, cpu = _pins("floor.txt"), _pins("base.txt"), _pins("cpu.txt")
    assert floor["keras"] == runtime.FLOOR_KERAS
    assert floor["tensorflow-cpu"].startswith(runtime.FLOOR_TENSORFLOW + ".")
    assert base["keras"] == runtime.TESTED_KERAS
    assert cpu["tensorflow-cpu"].startswith(runtime.TESTED_TENSORFLOW + ".")
    # the floor venv runs the notebooks with the same tools as the pinned one
    for tool in ("pytest", "pytest-xdist", "nbval", "ipykernel", "matplotlib", "ipywidgets"):
        assert floor[tool] == {**base, **_pins("dev.txt")}[tool], tool
