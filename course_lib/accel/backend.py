"""Which Keras backend runs here, and importing Keras without importing what that backend lacks.

Keras 3 runs on TensorFlow, JAX or PyTorch; the backend is fixed when ``keras`` is first
imported, from the ``KERAS_BACKEND`` environment variable or else ``~/.keras/keras.json``.
``course_lib.accel`` supports TensorFlow (what every chapter uses) and JAX (chapter 11, and
machines with JAX but no TensorFlow, such as the GPU check's, ``benchmarks/gpu_check.sh``).

Nothing here imports TensorFlow when the backend is JAX: on such a machine ``import
tensorflow`` may fail, and importing it would cost seconds and memory for nothing.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from course_lib.errors import CourseError

SUPPORTED = ("tensorflow", "jax")


def configured_backend(environ: Any = None) -> str:
    """The backend Keras uses or will use in this process (``"tensorflow"``, ``"jax"``, ...).

    Once Keras is imported its own answer counts (it cannot change any more); before that,
    ``KERAS_BACKEND``, then the ``backend`` of ``$KERAS_HOME/keras.json`` (``~/.keras``), then
    Keras's default, TensorFlow.
    """
    keras = sys.modules.get("keras")
    if environ is None and keras is not None and hasattr(keras, "config"):
        return str(keras.config.backend())
    environ = os.environ if environ is None else environ
    chosen = environ.get("KERAS_BACKEND", "").strip()
    if chosen:
        return chosen
    home = Path(environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        configured = json.loads((home / "keras.json").read_text()).get("backend")
    except (OSError, ValueError, AttributeError):
        configured = None
    return str(configured or "tensorflow")


def check_supported(backend: str | None = None) -> str:
    """The backend, or a :class:`CourseError` naming the ones ``course_lib.accel`` supports."""
    backend = backend or configured_backend()
    if backend not in SUPPORTED:
        raise CourseError(
            f"Keras runs on the {backend!r} backend here; course_lib.accel supports "
            f"{' and '.join(SUPPORTED)}. Set KERAS_BACKEND=tensorflow (or jax) before the first "
            "`import keras`, then restart the kernel."
        )
    return backend


def is_jax() -> bool:
    return configured_backend() == "jax"


def import_keras() -> Any:
    """Import Keras; on TensorFlow, import TensorFlow first so its start-up noise is filtered."""
    if "keras" not in sys.modules and configured_backend() == "tensorflow":
        from course_lib.runtime import import_tensorflow

        import_tensorflow()
    import keras

    return keras


def tensorflow_available() -> bool:
    """Whether TensorFlow is installed (looked up without importing it)."""
    import importlib.util

    if "tensorflow" in sys.modules:
        return True
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):
        return False


def installed_version(distribution: str) -> str | None:
    """A pip distribution's version from its metadata (no import), or None when not installed."""
    import importlib.metadata

    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
