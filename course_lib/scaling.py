"""Chapter 11's plumbing: run a script under another Keras backend and read back its results.

Keras 3 picks its backend (TensorFlow, JAX or PyTorch) once, when ``import keras`` first runs,
from the ``KERAS_BACKEND`` environment variable (or ``~/.keras/keras.json``). A notebook whose
kernel has already imported Keras on TensorFlow cannot switch; a fresh Python process can. This
module starts that process::

    from course_lib import scaling

    result = scaling.run_with_backend("jax", script_text, args=[data_file])
    result["accuracy"], result.wall_seconds

The script reports by calling :func:`report` (or printing one line that starts with
:data:`MARK` followed by JSON); everything else it prints is kept in ``result.output``.

Importing this module is cheap: it imports neither TensorFlow nor JAX.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from course_lib.errors import CourseError

__all__ = ["MARK", "BackendResult", "backend_installed", "report", "run_with_backend"]

#: The line prefix a script's result is printed after.
MARK = "COURSE_RESULT "
BACKENDS = ("tensorflow", "jax", "torch")
_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


class BackendResult(dict):
    """The JSON the script reported, plus ``backend``, ``wall_seconds`` and ``output``."""

    backend: str
    wall_seconds: float
    output: str


def backend_installed(backend: str) -> bool:
    """Whether the library behind ``backend`` can be imported here (without importing it)."""
    if backend not in BACKENDS:
        raise CourseError(f"unknown Keras backend {backend!r}; Keras 3 knows: {', '.join(BACKENDS)}")
    return importlib.util.find_spec(_MODULES[backend]) is not None


def report(**values: Any) -> None:
    """Print ``values`` as the script's result (call it once, at the end of the script)."""
    print(MARK + json.dumps(values), flush=True)


def run_with_backend(
    backend: str,
    script: str,
    *,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> BackendResult:
    """Run ``script`` (Python source) in a new process with ``KERAS_BACKEND=backend``.

    ``env`` adds or overrides environment variables (for example ``XLA_FLAGS`` to give JAX
    several CPU devices). The child inherits this process's environment otherwise, so
    ``PYTHONPATH`` and the course's settings carry over. Raises :class:`CourseError` with the
    end of the child's output when it fails or reports nothing.
    """
    if not backend_installed(backend):
        raise CourseError(f"the {backend} backend is not installed here: "
                          f"pip install {'jax[cpu]' if backend == 'jax' else backend}")
    child_env = {**os.environ, "KERAS_BACKEND": backend, **(env or {})}
    started = time.perf_counter()
    try:
        finished = subprocess.run([sys.executable, "-c", script, *args], env=child_env,
                                  capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CourseError(f"the {backend} run took longer than {timeout:.0f} s and was stopped") from None
    wall = time.perf_counter() - started
    output = finished.stdout + finished.stderr
    lines = [line for line in finished.stdout.splitlines() if line.startswith(MARK)]
    if finished.returncode != 0 or not lines:
        tail = "\n".join(output.strip().splitlines()[-15:])
        raise CourseError(f"the {backend} run failed (exit code {finished.returncode}):\n{tail}")
    result = BackendResult(json.loads(lines[-1][len(MARK):]))
    result.backend, result.wall_seconds, result.output = backend, wall, output
    return result
