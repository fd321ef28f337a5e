"""Shared test configuration.

Notebooks under ``notebooks/`` are collected by nbval (options in pyproject.toml); everything
else here is a unit test of course_lib.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Remove every COURSE_* and platform variable so a test states what it needs.

    The run of an earlier ``setup()`` in the same test process is forgotten too: the data layer
    asks ``current_profile()``, which prefers that run over the environment, so a test that set
    ``COURSE_PROFILE`` would otherwise depend on which tests ran before it in its worker.
    """
    from course_lib import runtime

    for name in list(os.environ):
        if name.startswith(("COURSE_", "BINDER_", "COLAB_")) or name == "KAGGLE_KERNEL_RUN_TYPE":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(runtime, "_current", None)
    return monkeypatch
