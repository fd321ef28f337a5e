"""Stored notebooks are clean: what a learner opens has no stale outputs and lints cleanly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from course_lib import authoring
from tests.conftest import NOTEBOOKS, ROOT


def test_there_are_chapter_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no chapter"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_chapter_notebook_is_clean(path):
    assert authoring.problems(authoring.read(path)) == []


def test_ruff_passes_on_code_tests_and_notebooks():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _notebook(*cells, metadata=None):
    return {"cells": list(cells), "metadata": metadata or dict(authoring.NOTEBOOK_METADATA),
            "nbformat": 4, "nbformat_minor": 5}


def _code(source, outputs=(), count=None, cell_id="c"):
    return {"cell_type": "code", "id": cell_id, "source": source, "metadata": {},
            "execution_count": count, "outputs": list(outputs)}


STREAM = {"output_type": "stream", "name": "stdout", "text": "(2, 3)\n"}


def test_clean_keeps_only_checked_outputs_and_drops_counts():
    dirty = _notebook(
        _code(authoring.SETUP_CELL, [STREAM], count=1, cell_id="a"),
        _code("# NBVAL_CHECK_OUTPUT\nprint(x.shape)", [STREAM], count=2, cell_id="b"),
    )
    cleaned = authoring.clean(dirty)
    setup_cell, checked_cell = cleaned["cells"]
    assert setup_cell["outputs"] == [] and setup_cell["execution_count"] is None
    assert checked_cell["outputs"] == [STREAM] and checked_cell["execution_count"] == 1
    assert authoring.problems(cleaned) == []


def test_clean_merges_prints_split_across_stream_messages():
    pieces = [{"output_type": "stream", "name": "stdout", "text": ["(2, 3)\n", "(4,"]},
              {"output_type": "stream", "name": "stdout", "text": " 5)\n"},
              {"output_type": "stream", "name": "stderr", "text": "warning\n"}]
    cell = authoring.clean(_notebook(_code("# NBVAL_CHECK_OUTPUT\nprint(1)", pieces)))["cells"][0]
    assert [output["text"] for output in cell["outputs"]] == ["(2, 3)\n(4, 5)\n", "warning\n"]


def test_problems_name_what_is_wrong():
    notebook = _notebook(_code("print('no setup')", [STREAM], count=3))
    found = " | ".join(authoring.problems(notebook))
    assert "not clean" in found
    assert "setup cell" in found
    assert "no checked cell" in found
    long_cell = _code("\n".join(["x = 1"] * 30), cell_id="long")
    checked_without_output = _code("# NBVAL_CHECK_OUTPUT\nprint(1)", cell_id="empty")
    found = " | ".join(authoring.problems(_notebook(_code(authoring.SETUP_CELL, cell_id="s"),
                                                    long_cell, checked_without_output)))
    assert "30 lines" in found and "stores no output" in found


def test_course_nb_check_exits_non_zero_on_a_dirty_notebook(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    path = notebooks / "99_dirty.ipynb"
    authoring.write(_notebook(_code("print(1)", [STREAM], count=1)), path)
    check = [sys.executable, "-m", "course_lib", "nb", "check", str(path)]
    result = subprocess.run(check, capture_output=True, text=True)
    assert result.returncode == 1 and "not clean" in result.stdout
    subprocess.run([sys.executable, "-m", "course_lib", "nb", "clean", str(path)], check=True,
                   capture_output=True)
    after = subprocess.run(check, capture_output=True, text=True)
    assert "not clean" not in after.stdout
