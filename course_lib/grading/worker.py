"""Grade students one after another in a process of its own: nbgrader autograde, then feedback.

``course grade`` starts one of these per lane (``python -m course_lib.grading.worker``) and
writes one JSON object a line to its stdin, ``{"course_dir": ..., "student": ...}``: every
submission has a course directory of its own (its own gradebook, nothing of another student), so
what one student's code does to its folder cannot reach another's grade. A kernel that hangs or a crash costs only the
submission being graded: the parent kills the process group after a wall-clock limit and starts
a fresh worker for the rest. For each student the worker prints one line, ``RESULT_MARK``
followed by a JSON object:

``success``
    whether nbgrader's autograde finished;
``error``
    the last line of nbgrader's error, when it did not;
``grades``
    ``{grade_id: {"score", "max_score", "auto_score", "needs_manual_grade"}}`` from the gradebook;
``present``
    the grade ids of the cells that were in the graded notebook;
``timeouts``
    grade ids (or ``cell N``) of the cells interrupted after the per-cell timeout;
``failures``
    ``{grade_id: error name}`` for the check cells that failed;
``tampered``
    ``{grade_id: message}`` for the check cells whose guard found the checks or the kernel
    tampered with (see :mod:`.guard`);
``skipped``
    ``[{"cell": index, "grade_id": id or null, "first_line": text}]``: cells that made the kernel
    die, replaced by a raise so the rest could be graded (see :mod:`.execute`);
``feedback``
    the path of the HTML feedback, or ``null``;
``autograde_seconds``, ``feedback_seconds``
    how long each step took;
``log``
    nbgrader's log for this student.

With ``--student ID`` it grades that one student and exits (handy to debug a submission).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from course_lib.grading import restore

RESULT_MARK = "@@course-grade-result@@"


_EXCEPTION_LINE = re.compile(r"^\s*([\w.]+(?:Error|Exception|Exit)): (.+)$")
#: What nbgrader's error or log says when the kernel process died.
_DEAD_KERNEL_MARKS = ("DeadKernelError", "Kernel died")
_KNOWN_REASONS = (
    (_DEAD_KERNEL_MARKS,
     "the kernel died while running the notebook (a crash, an exit call, or out of memory)"),
    (("failed to validate",), "its nbgrader metadata is corrupted (cells copied or retyped?)"),
)


def reason(text: str | None) -> str:
    """A one-line reason for a failed autograde, from nbgrader's error text or log."""
    text = text or ""
    for marks, explanation in _KNOWN_REASONS:
        if any(mark in text for mark in marks):
            return explanation
    for line in reversed(text.splitlines()):
        match = _EXCEPTION_LINE.match(line)
        if match and not match.group(1).endswith("NbGraderException"):
            return f"{match.group(1).rsplit('.', 1)[-1]}: {match.group(2).strip()}"[:200]
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no message"


def _read_graded(path: Path) -> tuple[list[str], list[str], dict[str, str], dict[str, str]]:
    """``(present grade ids, timed-out cells, failed check cells, tampered check cells)`` of an
    autograded notebook (the last two: ``{grade_id: error name}``, ``{grade_id: message}``)."""
    from course_lib.grading.guard import TAMPERED

    notebook = json.loads(path.read_text(encoding="utf-8"))
    present, timeouts, failures, tampered = [], [], {}, {}
    for index, cell in enumerate(notebook.get("cells", []), start=1):
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        name = nbgrader.get("grade_id")
        if name:
            present.append(name)
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            if output.get("ename") == "CellTimeoutError":
                timeouts.append(name or f"cell {index}")
            elif name and nbgrader.get("grade"):
                failures[name] = output.get("ename", "Error")
                if output.get("ename") == TAMPERED:
                    tampered[name] = str(output.get("evalue", ""))
    return present, timeouts, failures, tampered


#: At most this many cells are skipped for killing the kernel before the submission is given up.
MAX_SKIPPED_CELLS = 3


def _describe_cell(notebook_path: Path, index: int) -> dict[str, Any]:
    """Which cell ``index`` of the submitted notebook is, in words an instructor recognises."""
    try:
        cell = json.loads(notebook_path.read_text(encoding="utf-8"))["cells"][index]
    except (OSError, ValueError, KeyError, IndexError):
        return {"cell": index, "grade_id": None, "first_line": ""}
    lines = [line.strip() for line in restore.source_text(cell).splitlines() if line.strip()]
    return {"cell": index, "grade_id": restore.grade_id(cell),
            "first_line": lines[0][:80] if lines else ""}


def _autograde(course_dir: Path, assignment: str, student: str, *, timeout: int,
               show_hidden_tests: bool, skip_cells: list[int],
               sandboxed: bool = False, checks_digest: str = "",
               nonce: str = "") -> tuple[Any, dict[str, Any]]:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from course_lib.grading import execute, settings

    config = settings.nbgrader_config(course_dir, timeout=timeout,
                                      show_hidden_tests=show_hidden_tests, sandboxed=sandboxed)
    config.Autograde.autograde_preprocessors = execute.autograde_preprocessors()
    config.SkippingExecute.skip_cells = list(skip_cells)
    config.GuardChecks.checks_digest = checks_digest
    config.GuardChecks.nonce = config.UnguardChecks.nonce = nonce
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    return api, api.autograde(assignment, student, force=True, create=True)


def grade(course_dir: Path, assignment: str, student: str, *, timeout: int,
          show_hidden_tests: bool = False, sandboxed: bool = False,
          checks_digest: str = "") -> dict[str, Any]:
    """Autograde ``student`` in ``course_dir`` and generate their feedback; see the module doc.

    A cell that makes the kernel die is skipped and the notebook graded again (at most
    :data:`MAX_SKIPPED_CELLS` times), so one crash costs only the questions that depend on it.
    ``checks_digest``: the SHA-256 of the pristine ``course_lib/checks.py``, computed by the
    grader before any submission ran (see :mod:`.guard`).
    """
    from nbgrader.api import Gradebook

    from course_lib.grading import execute, guard

    nonce = guard.new_nonce()  # per submission, never in the kernel's environment
    outcome: dict[str, Any] = {"success": False, "error": None, "grades": {}, "present": [],
                               "timeouts": [], "failures": {}, "skipped": [], "feedback": None,
                               "log": ""}
    submitted = sorted((course_dir / "submitted" / student / assignment).glob("*.ipynb"))
    runtime = course_dir / "runtime"  # the kernel's connection file (and sockets, sandboxed)
    runtime.mkdir(exist_ok=True)
    os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime)
    skip_cells: list[int] = []
    started = time.perf_counter()
    while True:
        api, result = _autograde(course_dir, assignment, student, timeout=timeout,
                                 show_hidden_tests=show_hidden_tests, skip_cells=skip_cells,
                                 sandboxed=sandboxed, checks_digest=checks_digest, nonce=nonce)
        outcome["log"] += result.get("log", "")
        crashed = execute.last_started["cell"]
        text = (result.get("error") or "") + (result.get("log") or "")
        died = any(mark in text for mark in _DEAD_KERNEL_MARKS)
        if (result.get("success") or not died or crashed is None or crashed in skip_cells
                or len(skip_cells) >= MAX_SKIPPED_CELLS or not submitted):
            break
        skip_cells.append(crashed)
        outcome["skipped"].append(_describe_cell(submitted[0], crashed))
    outcome["autograde_seconds"] = round(time.perf_counter() - started, 2)
    graded = sorted((course_dir / "autograded" / student / assignment).glob("*.ipynb"))
    if not result.get("success"):
        outcome["error"] = reason((result.get("error") or "") + "\n" + (result.get("log") or ""))
    if graded:
        present, timeouts, failures, tampered = _read_graded(graded[0])
        outcome.update(present=present, timeouts=timeouts, failures=failures, tampered=tampered)
    with Gradebook(api.coursedir.db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except Exception:  # no submission row: autograde failed before creating it
            submission = None
        if submission is not None:
            for notebook in submission.notebooks:
                for item in notebook.grades:
                    outcome["grades"][item.name] = {
                        "score": float(item.score),
                        "max_score": float(item.max_score),
                        "auto_score": item.auto_score,
                        "needs_manual_grade": bool(item.needs_manual_grade),
                    }
    if result.get("success") and graded:
        outcome["success"] = True
        started = time.perf_counter()
        feedback = api.generate_feedback(assignment, student, force=True)
        outcome["feedback_seconds"] = round(time.perf_counter() - started, 2)
        pages = sorted((course_dir / "feedback" / student / assignment).glob("*.html"))
        if feedback.get("success") and pages:
            outcome["feedback"] = str(pages[0])
        else:
            outcome["feedback_error"] = reason((feedback.get("error") or "") + "\n"
                                               + (feedback.get("log") or ""))
        outcome["log"] += feedback.get("log", "")
    elif result.get("success"):
        outcome["error"] = "nbgrader wrote no graded notebook"
    return outcome


def _grade_safely(api_args: dict[str, Any], course_dir: Path, student: str) -> dict[str, Any]:
    try:
        return grade(course_dir.resolve(), student=student, **api_args)
    except Exception as error:  # report, never crash: the parent records the reason
        return {"success": False, "error": f"{type(error).__name__}: {error}",
                "log": traceback.format_exc()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.grading.worker")
    parser.add_argument("--assignment", required=True)
    parser.add_argument("--course-dir", type=Path,
                        help="with --student: grade that student in this course directory and exit")
    parser.add_argument("--student")
    parser.add_argument("--timeout", type=int, required=True)
    parser.add_argument("--show-hidden-tests", action="store_true")
    parser.add_argument("--sandbox", action="store_true", help="the kernels run sandboxed")
    args = parser.parse_args(argv)
    api_args = {"assignment": args.assignment, "timeout": args.timeout,
                "show_hidden_tests": args.show_hidden_tests, "sandboxed": args.sandbox}
    if args.student and args.course_dir:
        jobs = [{"course_dir": str(args.course_dir), "student": args.student}]
    else:
        jobs = (json.loads(line) for line in sys.stdin if line.strip())
    for job in jobs:
        options = {**api_args, "checks_digest": job.get("checks_digest", "")}
        print(RESULT_MARK + json.dumps(_grade_safely(options, Path(job["course_dir"]),
                                                     job["student"])), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
