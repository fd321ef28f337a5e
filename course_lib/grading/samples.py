"""Generated submissions, for the grading tests and ``benchmarks/grade_benchmark.py``.

A submission is the student version with answer cells filled in, as a learner would hand it in.
:func:`solutions` reads the instructor's answers out of the source notebook; :data:`WRONG_01`
holds a plausible wrong answer for every question of chapter 01, each built on the mistake its
question is about, so that every visible check has something to catch.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from course_lib.grading.restore import grade_id, source_text

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"

#: One wrong answer per answer cell of chapter 01, each a classic mistake.
WRONG_01: dict[str, str] = {
    # the hours and days swapped, channels first, and the rank of a frame
    "q1_answer": (
        "daily_sequences = tf.reshape(hourly_readings, (24, 7, 3))\n"
        "video_batch = tf.zeros((4, 10, 3, 64, 64))\n"
        "video_rank = 4"
    ),
    # only the height is cropped
    "q2_answer": (
        "def center_crop(images, size):\n"
        "    top = (images.shape[1] - size) // 2\n"
        "    return images[:, top:top + size]"
    ),
    # the running total rebound to a new tensor: the variable given is left unchanged
    "q3_answer": (
        "def add_to_totals(totals, batch):\n"
        "    totals = totals + tf.reduce_sum(batch, axis=0)"
    ),
    # the weights cast down to float16: runs, but the result is float16
    "q4_answer": (
        "def weighted_sum(features, weights):\n"
        "    return tf.reduce_sum(features * tf.cast(weights, tf.float16), axis=-1)"
    ),
    # the buggy reshape copied unchanged
    "q5_answer": (
        "def to_channels_first(images):\n"
        "    batch, height, width, channels = images.shape\n"
        "    return tf.reshape(images, (batch, channels, height, width))"
    ),
    # statistics per sample (axis 1) instead of per feature
    "q6_answer": (
        "def standardize_features(batch):\n"
        "    return (batch - tf.reduce_mean(batch, axis=1)) / tf.math.reduce_std(batch, axis=1)"
    ),
    # the documents reshaped instead of transposed: the shapes fit, the pairs do not
    "q7_answer": (
        "def match_scores(queries, documents):\n"
        "    batch, m, d = documents.shape\n"
        "    return queries @ tf.reshape(documents, (batch, d, m))"
    ),
}

#: A written answer, for the question graded by hand.
WRITTEN_ANSWER = ("Tensors are immutable, so item assignment is not supported; a NumPy array is a "
                  "mutable buffer. The gradient tape keeps the inputs of every operation, so a "
                  "value that changed later would give wrong gradients. x.numpy() gives a copy, "
                  "so changing it leaves x alone.")


def read(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def solutions(source: dict[str, Any]) -> dict[str, str]:
    """``{grade_id: answer}`` for every answer cell of a source notebook, delimiters removed."""
    answers = {}
    for cell in source.get("cells", []):
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        if not nbgrader.get("solution"):
            continue
        lines = [line for line in source_text(cell).splitlines()
                 if line.strip() not in (BEGIN, END)]
        answers[nbgrader["grade_id"]] = "\n".join(lines)
    return answers


def submission(student_version: dict[str, Any], answers: dict[str, str],
               replace: dict[str, str] | None = None) -> dict[str, Any]:
    """The student version with each answer cell (or any cell, by grade id) replaced by
    ``answers`` then ``replace``."""
    notebook = copy.deepcopy(student_version)
    chosen = {**answers, **(replace or {})}
    for cell in notebook["cells"]:
        name = grade_id(cell)
        if name in chosen:
            cell["source"] = chosen[name]
    return notebook


def without_cell(notebook: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy of ``notebook`` without the cell whose grade id is ``name``."""
    notebook = copy.deepcopy(notebook)
    notebook["cells"] = [cell for cell in notebook["cells"] if grade_id(cell) != name]
    return notebook


def as_colab_saves_it(notebook: dict[str, Any]) -> dict[str, Any]:
    """What Colab's "Download .ipynb" gives: no nbgrader metadata, no cell ids, sources as lists
    of lines, Colab's own cell ids in the metadata, and some outputs."""
    saved = {"nbformat": 4, "nbformat_minor": 0, "metadata": {
        "colab": {"provenance": [], "name": "01_tensors_exercises.ipynb"},
        "kernelspec": {"name": "python3", "display_name": "Python 3"},
        "language_info": {"name": "python"}}, "cells": []}
    for index, cell in enumerate(notebook["cells"]):
        lines = source_text(cell).splitlines(keepends=True)
        saved_cell = {"cell_type": cell["cell_type"], "source": lines,
                      "metadata": {"id": f"x{index:04d}Colab"}}
        if cell["cell_type"] == "code":
            saved_cell["execution_count"] = index
            saved_cell["outputs"] = [{"output_type": "stream", "name": "stdout",
                                      "text": ["ran in Colab\n"]}]
        saved["cells"].append(saved_cell)
    return saved


def dumps(notebook: dict[str, Any]) -> bytes:
    return (json.dumps(notebook, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
