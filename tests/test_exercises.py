"""The exercise notebooks: their format, their student versions, and their checks in a kernel.

Every assignment in exercises/source is held to the format documented in exercises/README.md;
chapter 01 is also executed with its solutions (every check passes) and with a wrong answer to
every question (every check fails with a hint).
"""

from __future__ import annotations

import json
import re
import urllib.parse

import pytest

from course_lib import authoring
from course_lib.grading import release, samples, settings
from tests.conftest import ROOT

EXERCISES = ROOT / "exercises"
ASSIGNMENTS = settings.assignments(EXERCISES)
CHAPTER_01 = EXERCISES / "source" / "01_tensors" / "01_tensors_exercises.ipynb"
RELEASE_01 = EXERCISES / "release" / "01_tensors" / "01_tensors_exercises.ipynb"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
REGIONS = (("### BEGIN SOLUTION", "### END SOLUTION"),
           ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))


def by_name(assignment: settings.Assignment) -> str:
    return assignment.name


def nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def is_check(cell) -> bool:
    meta = nbgrader(cell)
    return bool(meta.get("grade") and meta.get("locked") and not meta.get("solution"))


def secret_lines(notebook) -> set[str]:
    """Lines only the instructor may see: solutions (whole solution cells without delimiters)
    and hidden tests, less any line the student version shows elsewhere anyway."""
    secret, public = set(), set()
    for cell in notebook["cells"]:
        text = authoring.source_of(cell)
        if nbgrader(cell).get("solution") and "### BEGIN SOLUTION" not in text:
            secret.update(line.strip() for line in text.splitlines())
            continue
        inside = None
        for line in text.splitlines():
            marks = [pair for pair in REGIONS if pair[0] in line]
            if marks:
                inside = marks[0]
            elif inside and inside[1] in line:
                inside = None
            else:
                (secret if inside else public).add(line.strip())
    return {line for line in secret - public if re.search(r"[A-Za-z0-9]", line)}


def test_there_is_an_exercise_notebook_for_chapter_01():
    assert CHAPTER_01.exists() and RELEASE_01.exists()
    assert [item.name for item in ASSIGNMENTS][0] == "01_tensors"


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=by_name)
def test_exercise_source_follows_the_format(assignment):
    notebook = authoring.read(assignment.notebook_path)
    assert authoring.problems(notebook, chapter=False, metadata=notebook["metadata"]) == []
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert authoring.source_of(code[0]) == authoring.SETUP_CELL, "first code cell is not setup"
    ids = [nbgrader(cell)["grade_id"] for cell in notebook["cells"] if nbgrader(cell)]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    checks = [cell for cell in notebook["cells"] if is_check(cell)]
    assert len(checks) >= 5, "at least five autograded questions"
    for cell in checks:
        assert nbgrader(cell)["points"] > 0
        visible = authoring.source_of(cell).split("### BEGIN HIDDEN TESTS")[0]
        assert "checks." in visible, f"{nbgrader(cell)['grade_id']}: visible checks use course_lib.checks"
    assert any("### BEGIN HIDDEN TESTS" in authoring.source_of(cell) for cell in checks)
    written = [cell for cell in notebook["cells"] if cell["cell_type"] == "markdown"
               and nbgrader(cell).get("grade") and nbgrader(cell).get("solution")]
    assert written and all(nbgrader(cell)["points"] > 0 for cell in written), \
        "one written answer graded by hand"
    buggy = [cell for cell in notebook["cells"] if nbgrader(cell).get("locked")
             and re.search(r"^def buggy_", authoring.source_of(cell), re.MULTILINE)]
    assert buggy, "at least one find-and-fix-the-bug question (a locked `def buggy_...` cell)"


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=by_name)
def test_colab_and_binder_links_open_the_student_version(assignment):
    notebook = authoring.read(assignment.notebook_path)
    intro = authoring.source_of(notebook["cells"][0])
    slug = urllib.parse.urlparse(authoring.REPOSITORY).path.strip("/")
    student = f"exercises/release/{assignment.name}/{assignment.notebook_path.name}"
    assert (ROOT / student).exists()
    assert f"colab.research.google.com/github/{slug}/blob/main/{student})" in intro
    assert any(f"mybinder.org/v2/gh/{slug}/HEAD?labpath={path})" in intro
               for path in (urllib.parse.quote(student, safe=""), student))


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=by_name)
def test_student_version_is_in_sync_with_its_source(assignment):
    problems = release.differences(EXERCISES, assignment)
    assert problems == [], "run `make release-exercises`: " + "; ".join(problems)


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=by_name)
def test_student_version_holds_no_solution_and_no_hidden_test(assignment):
    source = authoring.read(assignment.notebook_path)
    student = EXERCISES / "release" / assignment.name / assignment.notebook_path.name
    released = authoring.read(student)
    assert authoring.problems(released, chapter=False, metadata=released["metadata"]) == []
    text = "\n".join(authoring.source_of(cell) for cell in released["cells"])
    released_lines = {line.strip() for line in text.splitlines()}
    secrets = secret_lines(source)
    assert len(secrets) >= 10
    assert sorted(secrets & released_lines) == []
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    answers = [cell for cell in released["cells"] if nbgrader(cell).get("solution")
               and cell["cell_type"] == "code"]
    assert answers and all(all(line in authoring.source_of(cell) for line in STUB)
                           for cell in answers)
    assert all(not cell.get("outputs") for cell in released["cells"])
    checks = [cell for cell in released["cells"] if is_check(cell)]
    assert all(cell["metadata"].get("editable") is False for cell in checks), "checks locked"


def test_secret_lines_finds_solutions_and_hidden_tests():
    notebook = {"cells": [
        {"cell_type": "code", "metadata": {"nbgrader": {"solution": True}},
         "source": "def f():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION"},
        {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "locked": True}},
         "source": "check(f)\n### BEGIN HIDDEN TESTS\ncheck(f, 42)\ncheck(f)\n"
                   "### END HIDDEN TESTS"},
        {"cell_type": "markdown", "metadata": {"nbgrader": {"solution": True, "grade": True}},
         "source": "Because tensors are immutable."},
    ]}
    assert secret_lines(notebook) == {"return 42", "check(f, 42)",
                                      "Because tensors are immutable."}


# ----------------------------------------------------------------------------- in a kernel


def execute(notebook, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("COURSE_PROFILE", "quick")
    node = nbformat.reads(json.dumps(notebook), as_version=4)
    nbclient.NotebookClient(node, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    return json.loads(nbformat.writes(node))


def outputs_by_id(notebook):
    return {nbgrader(cell).get("grade_id"): cell.get("outputs", [])
            for cell in notebook["cells"] if cell["cell_type"] == "code"}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=by_name)
def test_every_solution_passes_its_checks_hidden_tests_included(assignment, tmp_path,
                                                                monkeypatch):
    executed = execute(authoring.read(assignment.notebook_path), tmp_path, monkeypatch)
    for cell in executed["cells"]:
        errors = [output for output in cell.get("outputs", []) if output["output_type"] == "error"]
        assert errors == [], f"{nbgrader(cell).get('grade_id')}: {errors}"
        if is_check(cell):
            printed = "".join(authoring.source_of({"source": output.get("text", "")})
                              for output in cell["outputs"] if output.get("name") == "stdout")
            assert printed.startswith("ok: "), f"{nbgrader(cell)['grade_id']} printed {printed!r}"


def test_every_chapter_01_answer_cell_has_a_wrong_answer_to_try():
    student = authoring.read(RELEASE_01)
    answers = {nbgrader(cell)["grade_id"] for cell in student["cells"]
               if nbgrader(cell).get("solution") and cell["cell_type"] == "code"}
    assert answers == set(samples.WRONG_01)


@pytest.mark.slow
def test_a_wrong_answer_to_every_question_fails_its_check_with_a_hint(tmp_path, monkeypatch):
    student = authoring.read(RELEASE_01)
    executed = execute(samples.submission(student, samples.WRONG_01), tmp_path, monkeypatch)
    outputs = outputs_by_id(executed)
    checks = [nbgrader(cell)["grade_id"] for cell in student["cells"] if is_check(cell)]
    assert len(checks) == len(samples.WRONG_01) == 7
    for name in checks:
        errors = [output for output in outputs[name] if output["output_type"] == "error"]
        assert len(errors) == 1, f"{name} did not fail"
        assert errors[0]["ename"] == "CheckFailed", f"{name}: {errors[0]['ename']}"
        assert "\nHint: " in errors[0]["evalue"], f"{name} gave no hint: {errors[0]['evalue']}"
    hints = {name: outputs[name][-1]["evalue"] for name in checks}
    assert "expected shape (7, 24, 3), found (24, 7, 3)" in hints["q1_rank_shape_dtype"]
    assert "expected shape (1, 2, 2, 1), found (1, 2, 4, 1)" in hints["q2_center_crop"]
    assert "totals after one batch" in hints["q3_running_totals"]
    assert "expected dtype float32, found float16" in hints["q4_weighted_sum"]
    assert "still the scrambled pictures" in hints["q5_channels_first"]
    assert "recall which axes" in hints["q7_match_scores"]
    assert "axis 0" in hints["q6_standardize"]
