"""Check this machine for training: versions, devices, CUDA, and what the course would choose.

Prints the Python, TensorFlow, Keras and NumPy versions; the devices TensorFlow sees; the CUDA
and cuDNN versions TensorFlow was built with and the NVIDIA driver it finds; the precision
policy and distribution strategy ``course_lib.accel`` would pick; then findings. A finding
marked PROBLEM says what to run to fix it, e.g. for an NVIDIA GPU that TensorFlow cannot see
because the CPU-only build (tensorflow-cpu) is installed. Exit status 1 when there is a PROBLEM.

With ``KERAS_BACKEND=jax`` it reports JAX instead: its version, the devices JAX sees, the plan
``course_lib.accel`` would make for JAX, and why a GPU would go unused (a ``jax`` without its
CUDA plugin, say). It never imports TensorFlow then, so it runs where TensorFlow is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from course_lib.accel.devices import Hardware, plan_for
from course_lib.runtime import FLOOR_KERAS, FLOOR_TENSORFLOW, KERAS_REQUIREMENT

#: The TensorFlow release the course pins, and the pip lines that install it.
TENSORFLOW_PIN = "2.21.0"
GPU_INSTALL = f'pip install "tensorflow[and-cuda]=={TENSORFLOW_PIN}"'
CPU_INSTALL = f'pip install "tensorflow-cpu=={TENSORFLOW_PIN}"'
#: Oldest Linux driver for each CUDA major version (NVIDIA's minor-version compatibility table).
MIN_DRIVER_FOR_CUDA = {11: (450, 80), 12: (525, 60), 13: (580, 65)}
#: pip packages whose presence tells how TensorFlow was installed.
WATCHED_PACKAGES = ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos",
                    "tensorflow-metal", "tf-nightly", "keras", "tf-keras", "jax", "jaxlib")


@dataclass(frozen=True)
class DoctorFacts:
    """Everything the diagnosis looks at; :func:`gather_facts` reads it, tests build it by hand."""

    python: str = platform.python_version()
    system: str = platform.system()  # Linux, Darwin, Windows
    machine: str = platform.machine()
    tensorflow: str | None = None  # None: TensorFlow does not import
    tensorflow_error: str = ""
    keras: str | None = None
    numpy: str | None = None
    keras_backend: str = "tensorflow"
    packages: Mapping[str, str] = field(default_factory=dict)  # pip name -> version
    build_info: Mapping[str, Any] = field(default_factory=dict)  # tf.sysconfig.get_build_info()
    hardware: Hardware | None = None
    nvidia_smi: str | None = None  # output of `nvidia-smi`, None when absent or failing
    proc_driver: str | None = None  # /proc/driver/nvidia/version, None when absent
    cuda_visible_devices: str | None = None
    wsl: bool = False
    jax: str | None = None  # the installed jax (on the JAX backend: None when it does not import)
    jax_error: str = ""


@dataclass(frozen=True)
class Finding:
    """One line of the verdict: ``level`` is ``ok``, ``note`` or ``problem``; ``fix`` a command or step."""

    level: str
    text: str
    fix: str = ""


# ---------------------------------------------------------------------------------------------
# Reading the facts
# ---------------------------------------------------------------------------------------------

def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_packages() -> dict[str, str]:
    """The watched pip packages and every ``nvidia-*`` CUDA wheel, with versions."""
    import importlib.metadata

    found: dict[str, str] = {}
    for distribution in importlib.metadata.distributions():
        name = _normalized(distribution.metadata.get("Name") or "")
        if name in WATCHED_PACKAGES or name.startswith(("nvidia-", "jax-cuda")):
            found.setdefault(name, distribution.version)  # the first on sys.path is the one imported
    return dict(sorted(found.items()))


def _run_nvidia_smi() -> str | None:
    try:
        result = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def gather_facts(
    *,
    environ: Mapping[str, str] | None = None,
    run_nvidia_smi: Callable[[], str | None] = _run_nvidia_smi,
    read: Callable[[str], str | None] = _read,
) -> DoctorFacts:
    """Read this machine's facts (imports the Keras backend, runs ``nvidia-smi`` when present).

    On TensorFlow it imports TensorFlow; on JAX it imports JAX and reads TensorFlow's version,
    if any, from the package metadata without importing it.
    """
    from course_lib.accel.backend import configured_backend, installed_version

    environ = os.environ if environ is None else environ
    backend = configured_backend(None if environ is os.environ else environ)
    values: dict[str, Any] = {
        "keras_backend": backend,
        "packages": installed_packages(),
        "nvidia_smi": run_nvidia_smi(),
        "proc_driver": read("/proc/driver/nvidia/version"),
        "cuda_visible_devices": environ.get("CUDA_VISIBLE_DEVICES"),
        "wsl": "microsoft" in (read("/proc/version") or "").lower(),
    }
    try:
        import numpy

        values["numpy"] = numpy.__version__
    except ImportError:
        pass
    values["jax"] = installed_version("jax")
    if backend == "jax":
        values.update(_jax_facts(values["packages"]))
        return DoctorFacts(**values)
    try:
        from course_lib.accel.devices import detect_hardware
        from course_lib.runtime import import_tensorflow

        tf = import_tensorflow()
        values["tensorflow"] = tf.__version__
        values["build_info"] = dict(tf.sysconfig.get_build_info())
        values["hardware"] = detect_hardware(environ)
    except Exception as error:  # a broken install is exactly what the doctor reports
        values["tensorflow_error"] = f"{type(error).__name__}: {error}".splitlines()[0]
    try:
        import keras

        values["keras"] = keras.__version__
    except Exception:
        pass
    return DoctorFacts(**values)


def _jax_facts(packages: Mapping[str, str]) -> dict[str, Any]:
    """The facts that differ on the JAX backend; TensorFlow is looked up, never imported."""
    values: dict[str, Any] = {
        "tensorflow": next((packages[name] for name in ("tensorflow", "tensorflow-cpu",
                                                        "tensorflow-intel", "tensorflow-macos",
                                                        "tf-nightly") if name in packages), None),
    }
    try:
        import jax

        from course_lib.accel.devices import detect_hardware

        values["jax"] = jax.__version__
        values["hardware"] = detect_hardware()
    except Exception as error:  # a broken install is exactly what the doctor reports
        values["jax"] = None
        values["jax_error"] = f"{type(error).__name__}: {error}".splitlines()[0]
    try:
        import keras

        values["keras"] = keras.__version__
    except Exception:
        pass
    return values


# ---------------------------------------------------------------------------------------------
# Reading the driver
# ---------------------------------------------------------------------------------------------

def driver_version_text(facts: DoctorFacts) -> str | None:
    """The NVIDIA driver version as printed (``550.54.15``), from ``nvidia-smi`` or ``/proc``."""
    patterns = ((facts.nvidia_smi, r"Driver Version:\s*(\d+(?:\.\d+)+)"),
                (facts.proc_driver, r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+(?:\.\d+)+)"))
    for text, pattern in patterns:
        match = re.search(pattern, text or "")
        if match:
            return match.group(1)
    return None


def driver_version(facts: DoctorFacts) -> tuple[int, ...] | None:
    """The NVIDIA driver version as numbers, e.g. ``(550, 54, 15)``; None without a driver."""
    text = driver_version_text(facts)
    return tuple(int(part) for part in text.split(".")) if text else None


def driver_cuda_version(facts: DoctorFacts) -> tuple[int, int] | None:
    """The newest CUDA the driver supports, as ``nvidia-smi`` prints it (``CUDA Version: 12.4``)."""
    match = re.search(r"CUDA Version:\s*(\d+)\.(\d+)", facts.nvidia_smi or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def nvidia_gpu_present(facts: DoctorFacts) -> bool:
    """True when an NVIDIA driver answers here (``nvidia-smi`` or ``/proc/driver/nvidia``)."""
    return bool(facts.nvidia_smi) or bool(facts.proc_driver)


def _version_tuple(text: Any) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", str(text or ""))[:3])


# ---------------------------------------------------------------------------------------------
# The diagnosis
# ---------------------------------------------------------------------------------------------

def _cpu_only_build(facts: DoctorFacts) -> bool:
    if "tensorflow-cpu" in facts.packages or "tensorflow-intel" in facts.packages:
        return True
    return facts.build_info.get("is_cuda_build") is False


def _cpu_build_finding(facts: DoctorFacts) -> Finding:
    installed = "tensorflow-cpu" if "tensorflow-cpu" in facts.packages else (
        "tensorflow-intel" if "tensorflow-intel" in facts.packages else "tensorflow")
    if facts.system == "Windows":
        return Finding("problem",
                       "TensorFlow has no GPU support on native Windows (since 2.11), so the NVIDIA "
                       "GPU here goes unused.",
                       "Install WSL2 (wsl --install), then in Ubuntu: " + GPU_INSTALL)
    return Finding(
        "problem",
        f"An NVIDIA GPU is present but this TensorFlow ({installed} {facts.tensorflow}) is a "
        "CPU-only build, so training runs on the CPU.",
        f"pip uninstall -y {installed} && {GPU_INSTALL}   (or: pip install -r requirements/gpu.txt), "
        "then restart the kernel",
    )


def _driver_findings(facts: DoctorFacts) -> list[Finding]:
    built_cuda = _version_tuple(facts.build_info.get("cuda_version"))
    driver = driver_version(facts)
    if not built_cuda or driver is None:
        return []
    needed = MIN_DRIVER_FOR_CUDA.get(built_cuda[0])
    supported = driver_cuda_version(facts)
    too_old = (supported is not None and supported[0] < built_cuda[0]) or (
        supported is None and needed is not None and driver[:2] < needed)
    if not too_old:
        return []
    shown_driver = driver_version_text(facts)
    wanted = f" {needed[0]}.{needed[1]} or newer" if needed else " a newer one"
    return [Finding(
        "problem",
        f"The NVIDIA driver {shown_driver} is too old for TensorFlow {facts.tensorflow}, which "
        f"was built with CUDA {facts.build_info.get('cuda_version')}.",
        f"Update the NVIDIA driver to{wanted} (on Ubuntu: sudo ubuntu-drivers install), then reboot",
    )]


def _keras_floor_finding(facts: DoctorFacts) -> list[Finding]:
    if facts.keras is None or _version_tuple(facts.keras) < _version_tuple(FLOOR_KERAS):
        return [Finding("problem", f"The course needs Keras 3, release {FLOOR_KERAS} or "
                        f"newer; found {facts.keras or 'none'}.",
                        f'pip install -U "{KERAS_REQUIREMENT}", then restart the kernel')]
    return []


def jax_gpu_install(facts: DoctorFacts) -> str:
    """The pip line for JAX with the CUDA plugin that matches this driver (CUDA 13 or 12)."""
    supported = driver_cuda_version(facts)
    cuda = 13 if supported is not None and supported[0] >= 13 else 12
    return f'pip install -U "jax[cuda{cuda}]"'


def _hidden_gpus_finding(facts: DoctorFacts, framework: str) -> Finding | None:
    """The problem when ``CUDA_VISIBLE_DEVICES`` hides every GPU from ``framework``, else None."""
    hidden = facts.cuda_visible_devices
    if hidden is not None and hidden.strip() in ("", "-1", "none", "NoDevFiles"):
        return Finding("problem", f"CUDA_VISIBLE_DEVICES={hidden!r} hides every GPU from "
                       f"{framework}.", "unset CUDA_VISIBLE_DEVICES, then restart the kernel")
    return None


def diagnose_jax(facts: DoctorFacts) -> list[Finding]:
    """The findings on Keras's JAX backend (no TensorFlow needed)."""
    gpu_here = nvidia_gpu_present(facts)
    if facts.jax is None:
        return [Finding("problem", "KERAS_BACKEND is 'jax' but JAX does not import"
                        + (f" ({facts.jax_error})" if facts.jax_error else "") + ".",
                        (jax_gpu_install(facts) if gpu_here else 'pip install -U jax')
                        + f"   (in the environment of {sys.executable}), or unset KERAS_BACKEND")]
    findings = _keras_floor_finding(facts)
    findings.append(Finding(
        "note", "Keras runs on JAX here: course_lib.accel and chapter 11 (notebooks/"
        "11_scaling_up.ipynb) work on it; the other chapters use TensorFlow (tf.data, "
        "GradientTape) and need KERAS_BACKEND=tensorflow.",
        "unset KERAS_BACKEND before starting Jupyter for the other chapters"))
    gpus = facts.hardware.gpus if facts.hardware else ()
    if gpu_here and not gpus:
        findings.append(_hidden_gpus_finding(facts, "JAX") or Finding(
            "problem", f"An NVIDIA GPU is present but JAX {facts.jax} sees none: this jax has "
            "no CUDA plugin (jax-cuda12-plugin or jax-cuda13-plugin), or it fails to load.",
            jax_gpu_install(facts) + ", then restart the kernel"))
    elif gpus:
        names = ", ".join(sorted({gpu.short_name for gpu in gpus}))
        findings.append(Finding("ok", f"JAX sees {len(gpus)} GPU{'s' if len(gpus) > 1 else ''}: {names}."))
    elif facts.hardware and facts.hardware.tpu_cores:
        findings.append(Finding("ok", f"JAX sees a TPU with {facts.hardware.tpu_cores} cores."))
    else:
        findings.append(Finding("ok", "No GPU here: training runs on the CPU."))
    return findings


def diagnose(facts: DoctorFacts) -> list[Finding]:
    """Turn the facts into findings, problems first where they block GPU training."""
    if facts.keras_backend == "jax":
        return diagnose_jax(facts)
    findings: list[Finding] = []
    gpu_here = nvidia_gpu_present(facts)
    if facts.tensorflow is None:
        install = "pip install -r requirements/gpu.txt" if gpu_here else "pip install -r requirements/cpu.txt"
        findings.append(Finding("problem", "TensorFlow does not import"
                                + (f" ({facts.tensorflow_error})" if facts.tensorflow_error else "") + ".",
                                f"{install}   (in the environment of {sys.executable})"))
        return findings
    if facts.keras_backend != "tensorflow":
        findings.append(Finding("problem", f"KERAS_BACKEND is {facts.keras_backend!r}; the course runs "
                                "Keras on TensorFlow (and, for chapter 11 and course_lib.accel, "
                                "on JAX).", "unset KERAS_BACKEND, then restart the kernel"))
    findings.extend(_keras_floor_finding(facts))
    if _version_tuple(facts.tensorflow) < _version_tuple(FLOOR_TENSORFLOW):
        findings.append(Finding("problem", f"TensorFlow {facts.tensorflow} is older than the oldest "
                                f"the course supports ({FLOOR_TENSORFLOW}).",
                                f"{GPU_INSTALL if gpu_here else CPU_INSTALL}, then restart the kernel"))
    if "tf-keras" in facts.packages and facts.keras and _version_tuple(facts.keras)[:1] >= (3,):
        findings.append(Finding("note", "tf-keras (Keras 2) is installed too; the course uses "
                                "`import keras` (Keras 3) only."))
    if not facts.tensorflow.startswith(TENSORFLOW_PIN.rsplit(".", 1)[0] + "."):
        findings.append(Finding("note", f"The course was checked with TensorFlow {TENSORFLOW_PIN}; "
                                f"this is {facts.tensorflow}. Printed values may differ.",
                                'pip install -r requirements/gpu.txt (or cpu.txt)'))
    gpus = facts.hardware.gpus if facts.hardware else ()
    if gpu_here and not gpus:
        hidden = _hidden_gpus_finding(facts, "TensorFlow")
        if hidden:
            findings.append(hidden)
        elif _cpu_only_build(facts):
            findings.append(_cpu_build_finding(facts))
        else:
            driver = _driver_findings(facts)
            if driver:
                findings.extend(driver)
            elif not any(name.startswith("nvidia-cudnn") for name in facts.packages):
                findings.append(Finding(
                    "problem",
                    "An NVIDIA GPU is present and this TensorFlow is a CUDA build, but the CUDA and "
                    "cuDNN libraries it loads at start-up are not installed, so it sees no GPU.",
                    GPU_INSTALL + "   (the and-cuda extra installs the matching nvidia-* wheels)"))
            else:
                findings.append(Finding(
                    "problem",
                    "An NVIDIA GPU is present but TensorFlow sees none.",
                    "run: TF_CPP_MIN_LOG_LEVEL=0 python -c \"import tensorflow as tf; "
                    "print(tf.config.list_physical_devices('GPU'))\" and read which library fails to load"))
        return findings
    if gpus:
        findings.extend(_driver_findings(facts))
        names = ", ".join(sorted({gpu.short_name for gpu in gpus}))
        findings.append(Finding("ok", f"TensorFlow sees {len(gpus)} GPU{'s' if len(gpus) > 1 else ''}: {names}."))
    elif facts.hardware and facts.hardware.tpu_cores:
        findings.append(Finding("ok", f"A TPU with {facts.hardware.tpu_cores} cores is announced."))
    else:
        findings.append(Finding("ok", "No GPU here: training runs on the CPU. The quick profile is "
                                "sized for that; the full profile of chapters 08-10 wants a GPU."))
    return findings


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------

def _driver_line(facts: DoctorFacts) -> str:
    line = driver_version_text(facts)
    if line is None:
        return "none found (no nvidia-smi, no /proc/driver/nvidia)"
    cuda = driver_cuda_version(facts)
    return line + (f", supports CUDA up to {cuda[0]}.{cuda[1]}" if cuda else "")


def _build_line(facts: DoctorFacts) -> str:
    if facts.keras_backend == "jax":
        plugins = ", ".join(f"{name} {version}" for name, version in facts.packages.items()
                            if name.startswith("jax-cuda"))
        jaxlib = facts.packages.get("jaxlib")
        return (f"jaxlib {jaxlib}" if jaxlib else "jaxlib ?") + (
            f", {plugins}" if plugins else ", no CUDA plugin (CPU only)")
    info = facts.build_info
    if not info:
        return "unknown"
    if not info.get("is_cuda_build"):
        return "CPU only (no CUDA)"
    return f"CUDA {info.get('cuda_version', '?')}, cuDNN {info.get('cudnn_version', '?')}"


def _plan(facts: DoctorFacts) -> Any:
    backend = "jax" if facts.keras_backend == "jax" else "tensorflow"
    return plan_for(facts.hardware, backend=backend)


def format_report(facts: DoctorFacts, findings: list[Finding]) -> str:
    """The text ``course doctor`` prints."""
    tf_package = next((name for name in ("tensorflow-cpu", "tensorflow-intel", "tensorflow-macos",
                                         "tensorflow", "tf-nightly") if name in facts.packages), "?")
    cuda_wheels = ", ".join(f"{name} {version}" for name, version in facts.packages.items()
                            if name.startswith("nvidia-") and ("cudnn" in name or "runtime" in name))
    on_jax = facts.keras_backend == "jax"
    if on_jax:
        tensorflow = (f"{facts.tensorflow} (pip package {tf_package}; not used on JAX)"
                      if facts.tensorflow else "not installed (not needed on JAX)")
    else:
        tensorflow = f"{facts.tensorflow} (pip package {tf_package})" if facts.tensorflow else "not importable"
    rows = [
        ("Python", f"{facts.python} ({facts.system} {facts.machine}{', WSL' if facts.wsl else ''})"),
        ("TensorFlow", tensorflow),
        ("Keras", f"{facts.keras} (backend {facts.keras_backend})" if facts.keras else "not importable"),
        ("NumPy", facts.numpy or "not importable"),
        *([("JAX", facts.jax or "not importable")] if on_jax else
          [("JAX", f"{facts.jax} (installed; Keras uses TensorFlow)")] if facts.jax else []),
        ("Built with", _build_line(facts)),
        ("CUDA wheels", cuda_wheels or "none"),
        ("Driver", _driver_line(facts)),
        ("Devices", facts.hardware.describe() if facts.hardware else "unknown"),
    ]
    lines = ["Versions and devices"] + [f"  {name:<12}{value}" for name, value in rows]
    if facts.hardware:
        plan = _plan(facts)
        lines += ["", "course_lib.accel would choose"]
        lines += ["  " + line for line in plan.summary().splitlines()[1:]]
    lines += ["", "Findings"]
    for finding in findings:
        label = {"ok": "ok", "note": "note", "problem": "PROBLEM"}[finding.level]
        lines.append(f"  {label:<8}{finding.text}")
        if finding.fix:
            lines.append(f"  {'':<8}fix: {finding.fix}")
    return "\n".join(lines)


def to_json(facts: DoctorFacts, findings: list[Finding]) -> str:
    """Facts, plan and findings as JSON (``course doctor --json``)."""
    data: dict[str, Any] = {"facts": asdict(facts), "findings": [asdict(f) for f in findings]}
    if facts.hardware:
        plan = _plan(facts)
        data["plan"] = {"backend": plan.backend, "precision": plan.precision,
                        "strategy": plan.strategy, "jit_compile": plan.jit_compile,
                        "steps_per_execution": plan.steps_per_execution,
                        "loss_scaling": plan.loss_scaling, "reasons": dict(plan.reasons)}
    return json.dumps(data, indent=2, default=str)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print facts, plan and findings as JSON")


def run(args: argparse.Namespace) -> int:
    facts = gather_facts()
    findings = diagnose(facts)
    print(to_json(facts, findings) if args.json else format_report(facts, findings))
    return 1 if any(finding.level == "problem" for finding in findings) else 0
