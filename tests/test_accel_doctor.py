"""``course doctor``: the report and the classic reasons a GPU goes unused, from simulated machines.

What a learner would notice if it broke: a GPU machine training on the CPU while the doctor
says all is well, or a fix that names the wrong pip command.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from course_lib.accel import doctor
from course_lib.accel.devices import GpuInfo, Hardware
from course_lib.accel.doctor import DoctorFacts, diagnose, format_report

NVIDIA_SMI = """\
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: 12.4     |
|-----------------------------------------+------------------------+----------------------+
|   0  NVIDIA A100-SXM4-40GB          On  |   00000000:00:04.0 Off |                    0 |
"""
OLD_SMI = NVIDIA_SMI.replace("550.54.15", "470.182.03").replace("CUDA Version: 12.4", "CUDA Version: 11.4")
PROC_DRIVER = ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n"
               "GCC version:  gcc version 12.2.0\n")
CUDA_BUILD = {"is_cuda_build": True, "cuda_version": "12.5.1", "cudnn_version": "9"}
CPU_BUILD = {"is_cuda_build": False}
A100 = Hardware(gpus=(GpuInfo("NVIDIA A100-SXM4-40GB", (8, 0)),), cpu_name="Xeon", cpu_count=12)
NO_GPU = Hardware(cpu_name="Xeon", cpu_count=12)
CUDA_WHEELS = {"tensorflow": "2.21.0", "nvidia-cudnn-cu12": "9.3.0.75",
               "nvidia-cuda-runtime-cu12": "12.5.82"}


def facts(**changes) -> DoctorFacts:
    base = dict(python="3.11.9", system="Linux", machine="x86_64", tensorflow="2.21.0",
                keras="3.15.1", numpy="2.4.6", packages=dict(CUDA_WHEELS), build_info=CUDA_BUILD,
                hardware=A100, nvidia_smi=NVIDIA_SMI)
    base.update(changes)
    return DoctorFacts(**base)


def problems(found):
    return [finding for finding in found if finding.level == "problem"]


def test_healthy_gpu_machine_reports_versions_plan_and_no_problem():
    machine = facts()
    found = diagnose(machine)
    assert not problems(found)
    assert any("sees 1 GPU: A100-SXM4-40GB" in finding.text for finding in found)
    report = format_report(machine, found)
    for expected in ("TensorFlow  2.21.0 (pip package tensorflow)", "Keras       3.15.1",
                     "NumPy       2.4.6", "CUDA 12.5.1, cuDNN 9", "nvidia-cudnn-cu12 9.3.0.75",
                     "550.54.15, supports CUDA up to 12.4", "mixed_bfloat16", "strategy"):
        assert expected in report, expected


def test_tensorflow_cpu_on_a_gpu_machine_names_the_pip_fix():
    machine = facts(packages={"tensorflow-cpu": "2.21.0"}, build_info=CPU_BUILD, hardware=NO_GPU)
    [problem] = problems(diagnose(machine))
    assert "CPU-only build" in problem.text and "tensorflow-cpu" in problem.text
    assert problem.fix.startswith('pip uninstall -y tensorflow-cpu && pip install "tensorflow[and-cuda]==2.21.0"')
    assert "PROBLEM" in format_report(machine, diagnose(machine))


def test_gpu_seen_only_through_proc_driver_still_counts():
    machine = facts(nvidia_smi=None, proc_driver=PROC_DRIVER, packages={"tensorflow-cpu": "2.21.0"},
                    build_info=CPU_BUILD, hardware=NO_GPU)
    [problem] = problems(diagnose(machine))
    assert "CPU-only build" in problem.text
    assert doctor.driver_version(machine) == (535, 104, 5)


def test_native_windows_points_to_wsl():
    machine = facts(system="Windows", packages={"tensorflow": "2.21.0"}, build_info=CPU_BUILD,
                    hardware=NO_GPU)
    [problem] = problems(diagnose(machine))
    assert "native Windows" in problem.text and "WSL2" in problem.fix


def test_cuda_build_without_cuda_libraries_asks_for_the_and_cuda_extra():
    machine = facts(packages={"tensorflow": "2.21.0"}, hardware=NO_GPU)
    [problem] = problems(diagnose(machine))
    assert "CUDA and cuDNN libraries" in problem.text
    assert 'pip install "tensorflow[and-cuda]==2.21.0"' in problem.fix


def test_old_driver_is_named_with_the_version_needed():
    machine = facts(nvidia_smi=OLD_SMI, hardware=NO_GPU)
    [problem] = problems(diagnose(machine))
    assert "driver 470.182.03 is too old" in problem.text
    assert "CUDA 12.5.1" in problem.text and "525.60 or newer" in problem.fix
    only_proc = facts(nvidia_smi=None, proc_driver=PROC_DRIVER.replace("535.104.05", "470.57.02"),
                      hardware=NO_GPU)
    assert "too old" in problems(diagnose(only_proc))[0].text


def test_hidden_gpus_are_reported():
    machine = facts(hardware=NO_GPU, cuda_visible_devices="-1")
    [problem] = problems(diagnose(machine))
    assert "CUDA_VISIBLE_DEVICES='-1'" in problem.text and "unset" in problem.fix


def test_tensorflow_missing_or_wrong_keras_or_backend():
    [missing] = problems(diagnose(facts(tensorflow=None, tensorflow_error="ModuleNotFoundError: No module named 'tensorflow'")))
    assert "does not import" in missing.text and "requirements/gpu.txt" in missing.fix
    cpu_only = diagnose(DoctorFacts(tensorflow=None))
    assert "requirements/cpu.txt" in problems(cpu_only)[0].fix
    keras2 = problems(diagnose(facts(keras="2.15.0")))
    assert any("Keras 3" in finding.text for finding in keras2)
    below_floor = problems(diagnose(facts(keras="3.10.0", tensorflow="2.18.1")))
    assert any("Keras 3, release 3.15.0 or newer; found 3.10.0" in finding.text
               for finding in below_floor)
    assert any("TensorFlow 2.18.1 is older" in finding.text for finding in below_floor)
    backend = problems(diagnose(facts(keras_backend="torch")))
    assert any("KERAS_BACKEND is 'torch'" in finding.text for finding in backend)


H100 = Hardware(gpus=(GpuInfo("NVIDIA H100 80GB HBM3", (9, 0)),), cpu_name="Xeon", cpu_count=16)
SMI_CUDA13 = NVIDIA_SMI.replace("CUDA Version: 12.4", "CUDA Version: 13.0")
JAX_GPU = {"jax": "0.10.2", "jaxlib": "0.10.2", "jax-cuda13-plugin": "0.10.2", "keras": "3.15.1"}


def jax_facts(**changes) -> DoctorFacts:
    base = dict(python="3.12.3", system="Linux", machine="x86_64", tensorflow=None, keras="3.15.1",
                numpy="2.4.6", keras_backend="jax", jax="0.10.2", packages=dict(JAX_GPU),
                hardware=H100, nvidia_smi=SMI_CUDA13)
    base.update(changes)
    return DoctorFacts(**base)


def test_jax_gpu_machine_without_tensorflow_is_healthy():
    machine = jax_facts()
    found = diagnose(machine)
    assert not problems(found)
    assert any("JAX sees 1 GPU: H100 80GB HBM3" in finding.text for finding in found)
    assert any(finding.level == "note" and "KERAS_BACKEND=tensorflow" in finding.text
               for finding in found)
    report = format_report(machine, found)
    for expected in ("not installed (not needed on JAX)", "Keras       3.15.1 (backend jax)",
                     "JAX         0.10.2", "jaxlib 0.10.2, jax-cuda13-plugin 0.10.2",
                     "Keras backend        jax", "mixed_bfloat16", "XLA (jit_compile)    on"):
        assert expected in report, expected
    assert json.loads(doctor.to_json(machine, found))["plan"]["backend"] == "jax"


def test_jax_without_its_cuda_plugin_on_a_gpu_machine_names_the_pip_fix():
    cpu_jax = jax_facts(hardware=Hardware(cpu_name="Xeon", cpu_count=16),
                        packages={"jax": "0.10.2", "jaxlib": "0.10.2"})
    [problem] = problems(diagnose(cpu_jax))
    assert "JAX 0.10.2 sees none" in problem.text and 'pip install -U "jax[cuda13]"' in problem.fix
    assert "no CUDA plugin (CPU only)" in format_report(cpu_jax, diagnose(cpu_jax))
    older_driver = jax_facts(hardware=Hardware(), nvidia_smi=NVIDIA_SMI)  # CUDA 12.4
    assert '"jax[cuda12]"' in problems(diagnose(older_driver))[0].fix
    [missing] = problems(diagnose(jax_facts(jax=None, jax_error="ModuleNotFoundError: jax")))
    assert "JAX does not import" in missing.text and "jax[cuda13]" in missing.fix
    laptop = diagnose(jax_facts(hardware=Hardware(cpu_name="M2", cpu_count=8), nvidia_smi=None))
    assert not problems(laptop) and any("No GPU here" in f.text for f in laptop)


def test_cpu_laptop_is_fine_and_another_tensorflow_is_a_note():
    laptop = facts(packages={"tensorflow-cpu": "2.20.0"}, tensorflow="2.20.0", build_info=CPU_BUILD,
                   hardware=NO_GPU, nvidia_smi=None)
    found = diagnose(laptop)
    assert not problems(found)
    assert any("No GPU here" in finding.text for finding in found)
    assert any(finding.level == "note" and "2.20.0" in finding.text for finding in found)
    assert "float32" in format_report(laptop, found)


def test_gather_facts_reads_what_it_is_given():
    machine = doctor.gather_facts(
        environ={"CUDA_VISIBLE_DEVICES": "0", "KERAS_BACKEND": "tensorflow"},
        run_nvidia_smi=lambda: NVIDIA_SMI,
        read=lambda path: PROC_DRIVER if path.endswith("nvidia/version") else "Linux microsoft-standard-WSL2",
    )
    assert machine.nvidia_smi == NVIDIA_SMI and machine.proc_driver == PROC_DRIVER
    assert machine.wsl and machine.cuda_visible_devices == "0"
    assert machine.tensorflow and machine.keras and machine.hardware is not None
    assert "keras" in machine.packages


@pytest.mark.slow
def test_course_doctor_command_on_this_machine():
    result = subprocess.run([sys.executable, "-m", "course_lib", "doctor", "--json"],
                            capture_output=True, text=True, timeout=300)
    report = json.loads(result.stdout)
    has_problem = any(finding["level"] == "problem" for finding in report["findings"])
    assert result.returncode == (1 if has_problem else 0)
    assert report["facts"]["tensorflow"] and report["plan"]["strategy"]
    text = subprocess.run([sys.executable, "-m", "course_lib", "doctor"], capture_output=True,
                          text=True, timeout=300)
    assert "Versions and devices" in text.stdout and "Findings" in text.stdout
    assert "Traceback" not in text.stderr
