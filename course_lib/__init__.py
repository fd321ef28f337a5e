"""Helpers for the TensorFlow and Keras workbook.

Every chapter notebook starts with::

    import course_lib
    run = course_lib.setup()

which seeds every random generator, picks the run profile (``quick`` or ``full``) and prints a
one-line report of the TensorFlow and Keras versions, the device and the profile.

Importing this package is cheap: it does not import TensorFlow and does not touch the GPU. The
submodules below are loaded the first time a notebook uses them:

=================  ===============================================================
``runtime``        ``setup()``, run profiles and the device report
``data``           dataset loaders with verified downloads, a cache and mirrors
``plots``          training curves, image grids and the other course figures
``widgets``        interactive explorers (fall back to static figures)
``checks``         learner checks for exercises, with hints
``grading``        ``course grade``: nbgrader autograding to a CSV
``accel``          mixed precision, XLA, tf.data pipelines, tf.distribute
``report``         the closing "What your run showed" section of every chapter
``scaling``        chapter 11: run a script under another Keras backend (JAX) and read its results
``authoring``      notebook hygiene and checked-output refresh for course authors
=================  ===============================================================
"""

from __future__ import annotations

import importlib
from typing import Any

from course_lib.runtime import PROFILES, Run, resolve_profile, setup

__version__ = "0.1.0"

__all__ = ["PROFILES", "Run", "resolve_profile", "setup", "__version__"]

_SUBMODULES = {"runtime", "data", "plots", "widgets", "checks", "grading", "accel", "authoring", "report",
               "scaling"}


def __getattr__(name: str) -> Any:
    """Load a submodule on first use, so ``import course_lib`` stays cheap."""
    if name in _SUBMODULES:
        return importlib.import_module(f"course_lib.{name}")
    raise AttributeError(f"module 'course_lib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES)
