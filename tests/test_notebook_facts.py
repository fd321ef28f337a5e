"""The checked outputs of a chapter really guard its facts: a wrong fact fails the suite."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_a_broken_shape_in_chapter_01_fails_nbval(tmp_path):
    notebook = json.loads((ROOT / "notebooks" / "01_tensors.ipynb").read_text(encoding="utf-8"))
    target = "batch = tf.ones((32, 10))"
    cells = [cell for cell in notebook["cells"] if target in cell["source"]]
    assert len(cells) == 1, "the broadcasting cell of chapter 01 moved; update this test"
    cells[0]["source"] = cells[0]["source"].replace(target, "batch = tf.ones((32, 11))")
    cells[0]["source"] = cells[0]["source"].replace("tf.range(10,", "tf.range(11,")
    broken = tmp_path / "01_tensors.ipynb"
    broken.write_text(json.dumps(notebook), encoding="utf-8")
    shutil.copy(ROOT / "tests" / "nbval_sanitize.cfg", tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q",
         "--nbval-lax", "--nbval-current-env", "--nbval-sanitize-with",
         str(tmp_path / "nbval_sanitize.cfg"), "-o", "addopts=", str(broken)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 1, result.stdout[-2000:]
    assert "1 failed" in result.stdout and "(32, 11)" in result.stdout
