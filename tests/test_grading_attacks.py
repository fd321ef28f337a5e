"""`course grade` against careless and cheating students: one graded batch, one test per attack.

The batch mixes submissions that attack the grading (another student's grade, the instructor's
solutions, the check helpers, the sandbox's walls) with careless ones (a pasted check cell, moved
cells, an answer turned into text, nbgrader's markers typed in an answer) and LMS files whose
names test the student ids and re-submissions. The identity files are empty or broken, so they
cost no kernel; the whole batch grades in a couple of minutes on 2 cores.
"""

from __future__ import annotations

import copy
import csv
import os
import secrets
import socket
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

from course_lib.grading import samples, sandbox
from course_lib.grading.restore import grade_id
from tests.conftest import ROOT

pytest.importorskip("nbgrader")

EXERCISES = ROOT / "exercises"
SOURCE = samples.read(EXERCISES / "source" / "01_tensors" / "01_tensors_exercises.ipynb")
STUDENT = samples.read(EXERCISES / "release" / "01_tensors" / "01_tensors_exercises.ipynb")
NAME = "01_tensors_exercises.ipynb"
QUESTIONS = ["q1_rank_shape_dtype", "q2_center_crop", "q3_running_totals", "q4_weighted_sum",
             "q5_channels_first", "q6_standardize", "q7_match_scores"]
RIGHT = {**samples.solutions(SOURCE), "q8_written": samples.WRITTEN_ANSWER}
SANDBOXED = sandbox.available()[0]
needs_sandbox = pytest.mark.skipif(not SANDBOXED, reason="no sandbox here: "
                                   + sandbox.available()[1])

# Attack 1: overwrite every gradebook the kernel can reach (the next students' grades).
POISON = """
import pathlib
reached = [parent / "gradebook.db" for parent in pathlib.Path.cwd().parents
           if (parent / "gradebook.db").exists()]
for path in reached:
    try:
        path.write_bytes(b"not a gradebook any more")
    except OSError as error:
        print("blocked:", error)
print("gradebooks reached:", len(reached))
"""

# Attack 2: find the instructor's notebook, run its solutions, print its hidden tests.
SNOOP = """
import json, pathlib
import course_lib
places = [pathlib.Path("../../../source/01_tensors/01_tensors_exercises.ipynb"),
          pathlib.Path(course_lib.__file__).resolve().parents[1]
          / "exercises/source/01_tensors/01_tensors_exercises.ipynb"]
found = [path for path in places if path.exists()]
print("instructor files found:", len(found))
for path in found[:1]:
    for cell in json.loads(path.read_text())["cells"]:
        text = "".join(cell["source"])
        if "BEGIN SOLUTION" in text:
            exec("\\n".join(line for line in text.splitlines() if "SOLUTION" not in line))
        if "BEGIN HIDDEN TESTS" in text:
            print(text)
"""

# Attack 3: switch the check helpers off, three ways.
PATCH_MODULE = """
import course_lib.checks as c
for name in ("check_value", "check_tensor", "check_function", "check_variable", "call"):
    setattr(c, name, lambda *args, **kwargs: None)
daily_sequences = video_batch = video_rank = None
"""
PATCH_CODE = """
from course_lib import checks as c
for name in ("check_value", "check_tensor", "check_function", "check_variable", "call"):
    getattr(c, name).__code__ = (lambda *args, **kwargs: None).__code__
daily_sequences = video_batch = video_rank = None
"""
PATCH_KERNEL = """
import builtins
get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)
builtins.all = lambda *args: True
daily_sequences = video_batch = video_rank = None
"""


def escape_code(marker, port):
    """Attack 8: a process in a new session, the memory, course_lib's files, the network."""
    return f"""
import os, socket, subprocess, sys
import numpy as _np
import course_lib
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "{marker}"],
                 start_new_session=True)
print("course_lib writable:", os.access(os.path.dirname(course_lib.__file__), os.W_OK))
try:
    _big = _np.empty(16 * 2**30, dtype=_np.uint8)
    print("16 GiB allocation: allowed")
    del _big
except MemoryError:
    print("16 GiB allocation: refused")
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
    print("network: reached the grader's machine")
except OSError:
    print("network: unreachable")
"""


def structure_problems():
    """Attacks 4 and 5: correct answers, with every cell-structure accident at once."""
    notebook = samples.submission(STUDENT, RIGHT, {
        "q3_answer": RIGHT["q3_answer"] + "\n### BEGIN HIDDEN TESTS (my own test below)\n"
                                          "assert True\n### END HIDDEN TESTS"})
    cells = notebook["cells"]
    index = {grade_id(cell): number for number, cell in enumerate(cells)}
    pasted_check = copy.deepcopy(cells[index["q4_weighted_sum"]])
    stray_answer = copy.deepcopy(cells[index["q2_answer"]])
    stray_answer["source"] = "# my first try\n" + RIGHT["q2_answer"]
    cells[index["q6_answer"]]["cell_type"] = "markdown"  # an answer cell turned into text
    cells[index["q6_answer"]].pop("outputs", None)
    cells[index["q6_answer"]].pop("execution_count", None)
    moved = cells.pop(index["q5_channels_first"])  # the check cell moved above its answer
    cells.insert(index["q5_answer"], moved)
    cells.insert(len(cells) - 2, pasted_check)
    cells.insert(index["q2_answer"] + 1, stray_answer)
    return notebook


def nfd(text):
    return unicodedata.normalize("NFD", text)


def build_batch(folder, marker, port):
    blank = copy.deepcopy(STUDENT)
    kernels = {
        "a1_poisoner": samples.submission(STUDENT, {"q1_answer": POISON}),
        "a2_snoop": samples.submission(STUDENT, {"q1_answer": SNOOP}),
        "a3_patch_module": samples.submission(STUDENT, {"q1_answer": PATCH_MODULE}),
        "a3_patch_code": samples.submission(STUDENT, {"q1_answer": PATCH_CODE}),
        "a3_patch_kernel": samples.submission(STUDENT, {"q1_answer": PATCH_KERNEL}),
        "a4_structure": structure_problems(),
        "a8_escape": samples.submission(STUDENT, RIGHT, {
            "q6_answer": RIGHT["q6_answer"] + "\n" + escape_code(marker, port)}),
        "blank": blank,
        "correct": samples.submission(STUDENT, RIGHT),
    }
    for student, notebook in kernels.items():
        (folder / student).mkdir(parents=True)
        (folder / student / NAME).write_bytes(samples.dumps(notebook))
    # Attacks 6 and 7: Canvas names (user ids, accents, one in decomposed form), re-submissions
    files = {
        nfd("müllerzoë") + f"_1003_501_{NAME}": b"",
        f"möllerzoé_1008_502_{NAME}": b"",
        f"smithjohn_2001_601_{NAME}": b"",
        f"smithjohn_2002_602_{NAME}": b"",
        f"doejane_3001_700_{NAME}": b"{",  # on time, yet its file is the newer one
        f"doejane_late_3001_701_{NAME}": b"",  # Canvas's marker: this one came later
        "xavier.ipynb": b"{",  # the newer file
        "xavier (1).ipynb": b"",
    }
    now = time.time()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    for name, age in ((f"doejane_3001_700_{NAME}", 100), (f"doejane_late_3001_701_{NAME}", 900),
                      ("xavier.ipynb", 100), ("xavier (1).ipynb", 900)):
        os.utime(folder / name, (now - age, now - age))


def grade(submissions, out, *extra):
    return subprocess.run(
        [sys.executable, "-m", "course_lib", "grade", str(submissions), "--assignment",
         "01_tensors", "--out", str(out), "--timeout", "60", "--jobs", "2", *extra],
        capture_output=True, text=True, cwd=submissions.parent, timeout=900)


def read_rows(out):
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def processes_with(marker):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("attacks")
    submissions = root / "submissions"
    marker = f"course-grade-escape-{secrets.token_hex(6)}"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        build_batch(submissions, marker, listener.getsockname()[1])
        result = grade(submissions, root / "out")
    finally:
        listener.close()
    assert result.returncode == 0, result.stdout + result.stderr
    rows = read_rows(root / "out")
    survivors = processes_with(marker)
    for pid in survivors:  # never leave them behind, even when the test fails
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    return {"rows": rows, "by_student": {row["student"]: row for row in rows
                                         if row["status"] != "superseded"},
            "out": root / "out", "stdout": result.stdout, "survivors": survivors,
            "submissions": submissions}


def scores(row):
    return [row[name] for name in QUESTIONS]


def feedback(graded, student):
    return (graded["out"] / "feedback" / f"{student}.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_attack1_one_student_cannot_touch_another_students_grade(graded):
    rows = graded["by_student"]
    assert rows["a1_poisoner"]["status"] == "ok" and rows["a1_poisoner"]["total"] == "0"
    assert rows["blank"]["status"] == "ok" and rows["blank"]["total"] == "0"
    assert rows["correct"]["status"] == "ok" and scores(rows["correct"]) == ["2"] * len(QUESTIONS)
    assert not any(row["status"].startswith("error") for row in graded["rows"])
    if SANDBOXED:
        assert "gradebooks reached: 0" in feedback(graded, "a1_poisoner")


@needs_sandbox
@pytest.mark.slow
def test_attack2_the_kernel_cannot_read_the_instructors_files(graded):
    row = graded["by_student"]["a2_snoop"]
    assert row["status"] == "ok" and row["total"] == "0", row
    page = feedback(graded, "a2_snoop")
    assert "instructor files found: 0" in page
    assert "default_rng(2)" not in page and "BEGIN SOLUTION" not in page


@pytest.mark.slow
def test_attack3_patched_check_helpers_score_zero_with_a_note(graded):
    for student in ("a3_patch_module", "a3_patch_code", "a3_patch_kernel"):
        row = graded["by_student"][student]
        assert scores(row) == ["0"] * len(QUESTIONS), (student, row)
        assert "tampering detected, scored 0: q1_rank_shape_dtype" in row["notes"], row["notes"]
    notes = {student: graded["by_student"][student]["notes"]
             for student in ("a3_patch_module", "a3_patch_code", "a3_patch_kernel")}
    assert "checks.check_function replaced" in notes["a3_patch_code"]
    assert "IPython exception handler" in notes["a3_patch_kernel"]
    assert "builtins.all replaced" in notes["a3_patch_kernel"]
    # the guard is taken out of the feedback again, and clean notebooks do not trip it
    assert "course grade guard" not in feedback(graded, "correct")
    assert "tamper" not in graded["by_student"]["correct"]["notes"]


@pytest.mark.slow
def test_attack4_cell_structure_problems_get_a_fair_grade_and_notes(graded):
    row = graded["by_student"]["a4_structure"]
    assert row["status"] == "ok" and scores(row) == ["2"] * len(QUESTIONS), row
    notes = row["notes"]
    assert "duplicated grade ids" in notes and "q4_weighted_sum" in notes and "q2_answer" in notes
    moved = notes.split("cells out of order, put back in the assignment's order: ")[1]
    assert moved.split(";")[0] in ("q5_channels_first", "q5_answer"), notes
    assert "turned into markdown" in notes and "q6_answer" in notes


@pytest.mark.slow
def test_attack5_nbgrader_markers_in_an_answer_are_harmless(graded):
    row = graded["by_student"]["a4_structure"]
    assert "nbgrader markers in an answer" in row["notes"] and "q3_answer" in row["notes"]
    page = feedback(graded, "a4_structure")
    assert "could not be graded" not in page and "q3_running_totals" in page


@pytest.mark.slow
def test_attack6_student_ids_keep_lms_ids_and_letters(graded):
    students = [row["student"] for row in graded["rows"]]
    for expected in ("müllerzoë_1003", "möllerzoé_1008", "smithjohn_2001", "smithjohn_2002"):
        assert expected in students, students
    assert all(unicodedata.is_normalized("NFC", name) for name in students)
    for name in ("müllerzoë_1003", "smithjohn_2001", "smithjohn_2002"):
        row = graded["by_student"][name]
        assert row["status"] == "empty" and "re-submission" not in row["notes"], row
    assert (graded["out"] / "feedback" / "müllerzoë_1003.html").exists()


@pytest.mark.slow
def test_attack7_the_latest_resubmission_is_graded_and_both_rows_say_so(graded):
    rows = {}
    for row in graded["rows"]:
        rows.setdefault(row["student"], []).append(row)
    jane = {row["status"]: row for row in rows["doejane_3001"]}
    assert sorted(jane) == ["empty", "superseded"], rows["doejane_3001"]
    assert jane["empty"]["file"] == f"doejane_late_3001_701_{NAME}"  # Canvas's late marker wins
    assert "re-submission" in jane["empty"]["notes"] and "graded this one" in jane["empty"]["notes"]
    assert f"doejane_3001_700_{NAME}" in jane["empty"]["notes"]
    assert "superseded by" in jane["superseded"]["notes"]
    assert jane["superseded"]["total"] == ""
    xavier = {row["status"]: row for row in rows["xavier"]}
    assert sorted(xavier) == ["not-a-notebook", "superseded"], rows["xavier"]
    assert xavier["not-a-notebook"]["file"] == "xavier.ipynb"  # the newer file, whatever its name
    assert "superseded by xavier.ipynb" in xavier["superseded"]["notes"]


@needs_sandbox
@pytest.mark.slow
def test_attack8_nothing_outlives_grading_and_the_kernel_is_limited(graded):
    assert graded["survivors"] == [], "a process the student started outlived grading"
    row = graded["by_student"]["a8_escape"]
    assert row["status"] == "ok" and scores(row) == ["2"] * len(QUESTIONS), row
    assert row["sandbox"] == "bubblewrap"
    page = feedback(graded, "a8_escape")
    assert "course_lib writable: False" in page
    assert "16 GiB allocation: refused" in page
    assert "network: unreachable" in page


@pytest.mark.slow
def test_the_same_batch_graded_twice_gives_the_same_grades(graded, tmp_path):
    small = tmp_path / "again"
    small.mkdir()
    for path in sorted(graded["submissions"].iterdir()):
        if path.is_file() or path.name in ("correct", "blank"):
            target = small / path.name
            if path.is_dir():
                target.mkdir()
                (target / NAME).write_bytes((path / NAME).read_bytes())
            else:
                target.write_bytes(path.read_bytes())
            os.utime(target, (path.stat().st_mtime, path.stat().st_mtime))
    first, second = grade(small, tmp_path / "one"), grade(small, tmp_path / "two")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    text = (tmp_path / "one" / "grades.csv").read_text(encoding="utf-8")
    assert text == (tmp_path / "two" / "grades.csv").read_text(encoding="utf-8")
    whole = {(row["student"], row["file"]): row for row in graded["rows"]}
    for row in read_rows(tmp_path / "one"):  # and the same rows as within the whole batch
        assert row == whole[row["student"], row["file"]]


def test_grading_without_a_sandbox_says_so_loudly(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / f"annlee_4001_801_{NAME}").write_bytes(b"")
    result = grade(folder, tmp_path / "out", "--sandbox", "off")
    assert result.returncode == 0, result.stderr
    assert "WARNING: grading UNSANDBOXED" in result.stdout + result.stderr
    assert [row["sandbox"] for row in read_rows(tmp_path / "out")] == ["none"]
