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
    """Remove every COURSE_* and platform variable so a test states what it needs."""
    for name in list(os.environ):
        if name.startswith(("COURSE_", "BINDER_", "COLAB_")) or name == "KAGGLE_KERNEL_RUN_TYPE":
            monkeypatch.delenv(name, raising=False)
    return monkeypatch
