"""`course grade` end to end on a batch of chapter 01 submissions, good and bad.

One run of the command over thirteen submissions, each a case an instructor meets: the CSV must
hold the right score or a clear status for each, feedback must exist for each, and no submission
file may change. The per-cell timeout is kept small so the looping submission costs 25 s.
"""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys

import pytest

from course_lib.grading import samples
from tests.conftest import ROOT

pytest.importorskip("nbgrader")

EXERCISES = ROOT / "exercises"
SOURCE = samples.read(EXERCISES / "source" / "01_tensors" / "01_tensors_exercises.ipynb")
STUDENT = samples.read(EXERCISES / "release" / "01_tensors" / "01_tensors_exercises.ipynb")
NAME = "01_tensors_exercises.ipynb"
TIMEOUT = 25
QUESTIONS = ["q1_rank_shape_dtype", "q2_center_crop", "q3_running_totals", "q4_weighted_sum",
             "q5_channels_first", "q6_standardize", "q7_match_scores"]


def build_batch(folder):
    """One folder per student, as many LMS exports and `course grade` accept."""
    right = {**samples.solutions(SOURCE), "q8_written": samples.WRITTEN_ANSWER}
    wrong = samples.WRONG_01
    cases = {
        "correct": samples.submission(STUDENT, right),
        "partial": samples.submission(STUDENT, right, {name: wrong[name] for name in
                                                       ("q4_answer", "q5_answer", "q6_answer")}),
        "raises": samples.submission(STUDENT, right, {
            "q2_answer": "raise RuntimeError('I could not finish this one')"}),
        "loops": samples.submission(STUDENT, right, {
            "q3_answer": "def add_to_totals(totals, batch):\n    while True:\n        pass"}),
        "edited": samples.submission(STUDENT, right, {
            "q4_answer": wrong["q4_answer"],
            "q4_weighted_sum": "print('ok: weighted_sum gives the expected result')"}),
        "deleted": samples.without_cell(samples.submission(STUDENT, right), "q5_channels_first"),
        "colab": samples.as_colab_saves_it(samples.submission(STUDENT, right)),
        # the kernel process exits in an answer cell, or in a check cell that calls the answer:
        # that cell is skipped and the rest graded
        "crashes": samples.submission(STUDENT, right, {"q6_answer": "import os\nos._exit(3)"}),
        "crashes_in_check": samples.submission(STUDENT, right, {
            "q4_answer": "import os\n\ndef weighted_sum(features, weights):\n    os._exit(3)"}),
        # right for the visible 4 x 4 probe only: the hidden tests must catch it
        "hardcoded": samples.submission(STUDENT, right, {
            "q2_answer": "def center_crop(images, size):\n    return images[:, 1:3, 1:3, :]"}),
    }
    for student, notebook in cases.items():
        (folder / student).mkdir(parents=True)
        (folder / student / NAME).write_bytes(samples.dumps(notebook))
    (folder / "renamed").mkdir()
    (folder / "renamed" / f"Copy of {NAME}").write_bytes(samples.dumps(cases["correct"]))
    (folder / "broken").mkdir()
    (folder / "broken" / NAME).write_bytes(samples.dumps(cases["correct"])[:700])
    (folder / "blank").mkdir()
    (folder / "blank" / NAME).write_bytes(b"")


def fingerprints(folder):
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    submissions = root / "submissions"
    build_batch(submissions)
    before = fingerprints(submissions)
    out = root / "out"
    result = subprocess.run(
        [sys.executable, "-m", "course_lib", "grade", str(submissions), "--assignment",
         "01_tensors", "--out", str(out), "--timeout", str(TIMEOUT), "--jobs", "2"],
        capture_output=True, text=True, cwd=root, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return {"rows": rows, "out": out, "before": before, "after": fingerprints(submissions),
            "stdout": result.stdout}


def scores(row):
    return [row[name] for name in QUESTIONS]


@pytest.mark.slow
def test_every_submission_gets_one_row(graded):
    assert sorted(graded["rows"]) == sorted(["correct", "partial", "raises", "loops", "edited",
                                             "deleted", "colab", "hardcoded", "crashes",
                                             "crashes_in_check", "renamed", "broken", "blank"])
    assert "graded 13 submissions" in graded["stdout"]
    assert all(row["max"] == "16" for row in graded["rows"].values())


@pytest.mark.slow
def test_submission_files_are_unchanged(graded):
    assert graded["after"] == graded["before"]


@pytest.mark.slow
def test_a_correct_submission_gets_every_automatic_point(graded):
    row = graded["rows"]["correct"]
    assert row["status"] == "ok" and scores(row) == ["2"] * 7 and row["total"] == "14"
    assert row["q8_written"] == "" and "q8_written: written answer to grade by hand" in row["notes"]


@pytest.mark.slow
def test_partly_wrong_answers_get_the_partial_score(graded):
    row = graded["rows"]["partial"]
    assert row["status"] == "ok"
    assert scores(row) == ["2", "2", "2", "0", "0", "0", "2"] and row["total"] == "8"


@pytest.mark.slow
def test_an_answer_that_raises_costs_its_question_only(graded):
    row = graded["rows"]["raises"]
    assert row["status"] == "ok" and scores(row) == ["2", "0", "2", "2", "2", "2", "2"]
    assert "q2_center_crop (NameError)" in row["notes"]


@pytest.mark.slow
def test_an_endless_loop_times_out_and_the_other_questions_still_count(graded):
    row = graded["rows"]["loops"]
    assert row["status"] == "timeout"
    assert scores(row) == ["2", "2", "0", "2", "2", "2", "2"] and row["total"] == "12"
    assert f"interrupted after {TIMEOUT} s" in row["notes"] and "q3_running_totals" in row["notes"]


@pytest.mark.slow
def test_edited_checks_are_graded_with_the_originals(graded):
    row = graded["rows"]["edited"]
    assert scores(row) == ["2", "2", "2", "0", "2", "2", "2"]
    assert "edited check cells, graded with the originals: q4_weighted_sum" in row["notes"]
    page = (graded["out"] / "feedback" / "edited.html").read_text(encoding="utf-8")
    assert "checks.check_function" in page and "weighted_sum" in page
    assert "expected dtype float32, found float16" in page


@pytest.mark.slow
def test_hidden_tests_count_when_the_instructor_grades(graded):
    row = graded["rows"]["hardcoded"]
    assert row["status"] == "ok" and scores(row) == ["2", "0", "2", "2", "2", "2", "2"]
    correct_page = (graded["out"] / "feedback" / "correct.html").read_text(encoding="utf-8")
    assert "default_rng(2)" not in correct_page, "hidden test code leaked into the feedback"


@pytest.mark.slow
def test_a_deleted_check_cell_scores_zero_and_the_rest_is_graded(graded):
    row = graded["rows"]["deleted"]
    assert row["status"] == "ok" and scores(row) == ["2", "2", "2", "2", "0", "2", "2"]
    assert "deleted check cells (0 points): q5_channels_first" in row["notes"]


@pytest.mark.slow
def test_a_notebook_saved_by_colab_is_graded_in_full(graded):
    row = graded["rows"]["colab"]
    assert row["status"] == "ok" and scores(row) == ["2"] * 7
    assert "nbgrader metadata was missing" in row["notes"]


@pytest.mark.slow
def test_a_renamed_file_is_graded_and_the_rename_noted(graded):
    row = graded["rows"]["renamed"]
    assert row["status"] == "ok" and scores(row) == ["2"] * 7
    assert row["file"] == f"renamed/Copy of {NAME}" and "graded as " + NAME in row["notes"]


@pytest.mark.slow
def test_broken_and_empty_files_get_a_status_not_a_crash(graded):
    broken, blank = graded["rows"]["broken"], graded["rows"]["blank"]
    assert broken["status"] == "not-a-notebook" and "not valid JSON" in broken["notes"]
    assert blank["status"] == "empty" and blank["total"] == "0"
    assert scores(broken) == [""] * 7


@pytest.mark.slow
def test_a_cell_that_kills_the_kernel_is_skipped_and_the_rest_graded(graded):
    row = graded["rows"]["crashes"]  # q6's answer cell exits: its check fails, the rest count
    assert row["status"] == "kernel-died"
    assert scores(row) == ["2", "2", "2", "2", "2", "0", "2"] and row["total"] == "12"
    assert "the kernel died (an exit call, a crash or out of memory) in cell " in row["notes"]
    assert "(q6_answer) starting `import os`: skipped, the rest graded" in row["notes"]
    feedback = (graded["out"] / "feedback" / "crashes.html").read_text(encoding="utf-8")
    assert "made the kernel die while grading" in feedback and "# os._exit(3)" in feedback

    row = graded["rows"]["crashes_in_check"]  # the check cell calling the answer exits
    assert row["status"] == "kernel-died"
    assert scores(row) == ["2", "2", "2", "0", "2", "2", "2"] and row["total"] == "12"
    assert "(q4_weighted_sum) starting `checks.check_function(weighted_sum" in row["notes"]
    assert "raised instead of checking" not in row["notes"]


@pytest.mark.slow
def test_feedback_and_written_answers_are_written(graded):
    out = graded["out"]
    assert sorted(path.stem for path in (out / "feedback").glob("*.html")) == sorted(
        graded["rows"])
    with open(out / "written_answers.csv", newline="", encoding="utf-8") as handle:
        answers = {row["student"]: row for row in csv.DictReader(handle)}
    assert answers["correct"]["answer"] == samples.WRITTEN_ANSWER
    assert answers["correct"]["question"] == "q8_written" and answers["correct"]["points"] == "2"
    assert "===== loops" in (out / "grading.log").read_text(encoding="utf-8")
