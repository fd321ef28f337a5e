"""Grade a batch of submissions: ``grades.csv``, HTML feedback and the written answers.

Everything happens in a throwaway nbgrader course directory built from ``exercises/source``; the
submissions are read, never written, and the instructor's own nbgrader files are not touched.

For each submission, in order:

1. read it (:mod:`~course_lib.grading.restore`): an empty file or a file that is not a notebook
   gets its status and no grading;
2. line it up with the student version: restore the nbgrader metadata Colab strips, note the
   check cells the student edited (graded against the originals anyway) or deleted (0 points);
3. autograde it with nbgrader in a process of its own (:mod:`~course_lib.grading.worker`), with
   a per-cell timeout; a cell that runs past it is interrupted and the rest still runs;
4. write its row, its feedback page and its written answers.

Several submissions are graded at once (``jobs``), each worker in its own copy of the course
directory, so no two processes share a gradebook.
"""

from __future__ import annotations

import csv
import html
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_lib.grading import collect, release, restore, sandbox, settings
from course_lib.grading.settings import DEFAULT_TIMEOUT, GradingError
from course_lib.grading.worker import RESULT_MARK

#: Statuses a row can have (``error: <reason>`` carries its reason).
STATUSES = ("ok", "kernel-died", "timeout", "empty", "not-a-notebook", "wrong-notebook",
            "superseded", "error")

#: ``--sandbox`` values (see :func:`grade_batch`).
SANDBOX_MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class Question:
    """A graded cell of the assignment: a check cell, or a written answer graded by hand."""

    grade_id: str
    points: float
    manual: bool


@dataclass
class Row:
    """One student's line of ``grades.csv``."""

    student: str
    file: str
    status: str = "ok"
    scores: dict[str, float | None] = field(default_factory=dict)
    total: float | None = 0.0
    max_score: float = 0.0
    notes: list[str] = field(default_factory=list)
    feedback: Path | None = None
    seconds: float = 0.0
    written: dict[str, str] = field(default_factory=dict)
    sandbox: str = ""


@dataclass
class Report:
    """What :func:`grade_batch` did."""

    assignment: str
    questions: list[Question]
    rows: list[Row]
    out: Path
    seconds: float
    jobs: int

    @property
    def csv_path(self) -> Path:
        return self.out / "grades.csv"

    def row(self, student: str) -> Row:
        """The graded row of ``student`` (not a superseded re-submission)."""
        for row in self.rows:
            if row.student == student and row.status != "superseded":
                return row
        raise KeyError(student)


def default_jobs() -> int:
    """Submissions graded at once: one per CPU core, at most 4 (each kernel holds TensorFlow)."""
    return max(1, min(4, os.cpu_count() or 1))


def questions_of(notebook: dict[str, Any]) -> list[Question]:
    found = []
    for cell in notebook.get("cells", []):
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        if nbgrader.get("grade"):
            found.append(Question(nbgrader["grade_id"], float(nbgrader.get("points", 0)),
                                  manual=bool(nbgrader.get("solution"))))
    return found


def guess_assignment(submissions: Path, known: list[settings.Assignment]) -> str | None:
    """The one assignment whose notebook name appears in the submissions' file names, if any."""
    if len(known) <= 1:
        return None
    if submissions.is_file() and zipfile.is_zipfile(submissions):
        with zipfile.ZipFile(submissions) as bundle:
            names = " ".join(bundle.namelist()).lower()
    elif submissions.is_dir():
        names = " ".join(path.as_posix() for path in submissions.rglob("*.ipynb")).lower()
    else:
        return None
    matches = [item.name for item in known if item.notebook.lower() in names]
    return matches[0] if len(matches) == 1 else None


def _format_score(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


class Lane:
    """A worker process (:mod:`~course_lib.grading.worker`) grading students one by one, each in
    a course directory of its own; restarted after a submission that had to be killed."""

    def __init__(self, logs: Path, assignment: str, *, timeout: int,
                 env: dict[str, str], show_hidden_tests: bool, sandboxed: bool) -> None:
        self.logs = logs
        self.command = [sys.executable, "-m", "course_lib.grading.worker",
                        "--assignment", assignment, "--timeout", str(timeout)]
        if show_hidden_tests:
            self.command.append("--show-hidden-tests")
        if sandboxed:
            self.command.append("--sandbox")
        self.env = env
        self.process: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.starts = 0

    def _start(self) -> None:
        self.starts += 1
        self.logs.mkdir(parents=True, exist_ok=True)
        errors = open(self.logs / f"worker-stderr-{self.starts}.log", "w")
        self.process = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
            text=True, env=self.env, cwd=self.logs, start_new_session=True, bufsize=1)
        errors.close()
        self.lines = queue.Queue()
        threading.Thread(target=self._read, args=(self.process, self.lines), daemon=True).start()

    @staticmethod
    def _read(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    def _kill(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.process = None

    def grade(self, student: str, course_dir: Path, limit: float,
              checks_digest: str = "") -> dict[str, Any]:
        """The worker's outcome for ``student`` graded in ``course_dir``; ``{"killed": True}``
        past ``limit`` seconds."""
        if self.process is None or self.process.poll() is not None:
            self._start()
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps({"course_dir": str(course_dir),
                                                 "student": student,
                                                 "checks_digest": checks_digest}) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            self.process = None
            return {"success": False, "error": "the grading process stopped before starting"}
        deadline = time.monotonic() + limit
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self._kill()
                return {"success": False, "killed": True}
            if line is None:
                status = self.process.wait()
                self.process = None
                return {"success": False,
                        "error": f"the grading process stopped (exit status {status})"}
            if line.startswith(RESULT_MARK):
                return json.loads(line[len(RESULT_MARK):])

    def close(self) -> None:
        if self.process is None:
            return
        assert self.process.stdin is not None
        try:
            self.process.stdin.close()
            self.process.wait(timeout=30)
            self.process = None
        except (subprocess.TimeoutExpired, BrokenPipeError):
            self._kill()


def _fill_row(row: Row, outcome: dict[str, Any], questions: list[Question], *, timeout: int,
              limit: float) -> None:
    if outcome.get("killed"):
        row.status = "timeout"
        row.notes.append(f"grading stopped after {limit:.0f} s: the notebook did not finish")
        return
    if not outcome.get("success"):
        row.status = f"error: {outcome.get('error') or 'nbgrader could not grade it'}"
        return
    grades = outcome.get("grades", {})
    present = set(outcome.get("present", []))
    by_hand = []
    for question in questions:
        grade = grades.get(question.grade_id)
        if question.grade_id not in present or grade is None:
            row.scores[question.grade_id] = 0.0
        elif question.manual and grade["needs_manual_grade"]:
            row.scores[question.grade_id] = None
            by_hand.append(f"{question.grade_id}: written answer to grade by hand "
                           f"({question.points:g} points)")
        else:
            row.scores[question.grade_id] = grade["score"]
    row.total = sum(score for score in row.scores.values() if score is not None)
    if outcome.get("skipped"):
        row.status = "kernel-died"
        where = [f"cell {item['cell'] + 1}"
                 + (f" ({item['grade_id']})" if item.get("grade_id") else "")
                 + (f" starting `{item['first_line']}`" if item.get("first_line") else "")
                 for item in outcome["skipped"]]
        row.notes.append("the kernel died (an exit call, a crash or out of memory) in "
                         + ", ".join(where) + ": skipped, the rest graded")
    if outcome.get("timeouts"):
        row.status = "timeout"
        row.notes.append(f"interrupted after {timeout} s (other cells still graded): "
                         + ", ".join(outcome["timeouts"]))
    tampered = outcome.get("tampered") or {}
    if tampered:
        first = next(iter(tampered.values())).split(": ", 1)[-1]
        row.notes.append(f"tampering detected, scored 0: {', '.join(tampered)} ({first})")
    quiet = ("CheckFailed", "AssertionError", "CellTimeoutError", "KeyboardInterrupt",
             "CheckTampered")
    skipped = {item.get("grade_id") for item in outcome.get("skipped", [])}
    raised = [f"{name} ({error})" for name, error in outcome.get("failures", {}).items()
              if error not in quiet and name not in skipped]
    if raised:
        row.notes.append("check cells that raised instead of checking: " + ", ".join(raised))
    row.notes.extend(by_hand)


def guard_digest() -> str:
    """SHA-256 of the pristine ``course_lib/checks.py`` the guard compares with (see
    :mod:`.guard`; computed here so that importing this module stays free of nbgrader)."""
    import hashlib

    from course_lib import checks

    return hashlib.sha256(Path(checks.__file__).resolve().read_bytes()).hexdigest()


def _feedback_page(assignment: str, row: Row, reason: str) -> str:
    if row.status in ("ok", "timeout", "kernel-died") and row.scores:
        lines = "".join(f"<li>{html.escape(name)}: {_format_score(score) or 'graded by hand'}</li>"
                        for name, score in row.scores.items())
        return (
            "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            f"<title>{html.escape(assignment)}: {html.escape(row.student)}</title></head>\n"
            f"<body><h1>{html.escape(assignment)}: feedback for {html.escape(row.student)}</h1>\n"
            f"<p>Your file <code>{html.escape(row.file)}</code> was graded "
            f"({_format_score(row.total)}/{_format_score(row.max_score)} automatic points so "
            f"far), but its detailed page could not be made. Scores:</p><ul>{lines}</ul>"
            "</body></html>\n")
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(assignment)}: {html.escape(row.student)}</title></head>\n"
        f"<body><h1>{html.escape(assignment)}: feedback for {html.escape(row.student)}</h1>\n"
        f"<p>Your file <code>{html.escape(row.file)}</code> could not be graded: "
        f"{html.escape(reason)}.</p>\n<p>Status: <b>{html.escape(row.status)}</b>. Download the "
        "notebook again (in Colab: File &gt; Download &gt; Download .ipynb), check that it opens, "
        "and submit that file.</p></body></html>\n"
    )


def _write_outputs(report: Report, logs: dict[str, str]) -> None:
    out = report.out
    out.mkdir(parents=True, exist_ok=True)
    columns = [question.grade_id for question in report.questions]
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "file", "status", *columns, "total", "max", "sandbox",
                         "notes"])
        for row in report.rows:
            writer.writerow([row.student, row.file, row.status,
                             *(_format_score(row.scores.get(name)) for name in columns),
                             _format_score(row.total), _format_score(row.max_score),
                             row.sandbox, "; ".join(row.notes)])
    manual = [question for question in report.questions if question.manual]
    if manual:
        with open(out / "written_answers.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["student", "question", "points", "answer"])
            for row in report.rows:
                for question in manual:
                    if question.grade_id in row.written:
                        writer.writerow([row.student, question.grade_id, f"{question.points:g}",
                                         row.written[question.grade_id]])
    with open(out / "grading.log", "w", encoding="utf-8") as handle:
        for row in report.rows:
            handle.write(f"===== {row.student} ({row.file}): {row.status}, "
                         f"{row.seconds:.1f} s\n{logs.get(row.student, '').strip()}\n\n")


def grade_batch(submissions: Path, *, assignment: str | None = None,
                exercises: Path | None = None, out: Path | None = None,
                timeout: int = DEFAULT_TIMEOUT, jobs: int | None = None,
                keep_workdir: bool = False, show_hidden_tests: bool = False,
                sandbox_mode: str = "auto", echo: Callable[[str], None] = print) -> Report:
    """Grade every submission in ``submissions`` (a folder or an LMS zip); see the module doc.

    Writes ``grades.csv``, ``written_answers.csv``, ``feedback/<student>.html`` and
    ``grading.log`` into ``out`` (default ``./grades-<assignment>``) and returns the
    :class:`Report`.

    ``sandbox_mode``: ``auto`` runs the kernels in :mod:`.sandbox` where it works here and says
    loudly when it does not; ``on`` refuses to grade without it; ``off`` runs them unsandboxed.
    """
    # a wrong path is answered at once, before nbgrader is imported and the release generated
    collect.check_source(Path(submissions))
    settings.require_nbgrader()
    if sandbox_mode not in SANDBOX_MODES:
        raise GradingError(f"sandbox mode {sandbox_mode!r}: use one of {', '.join(SANDBOX_MODES)}")
    works, why = sandbox.available() if sandbox_mode != "off" else (False, "--sandbox off")
    if sandbox_mode == "on" and not works:
        raise GradingError(f"no sandbox: {why}. Install bubblewrap, or pass --sandbox off to "
                           "grade unsandboxed (read the README's warning first).")
    sandboxed = works
    sandbox_label = "bubblewrap" if sandboxed else "none"
    if not sandboxed:
        echo(f"WARNING: grading UNSANDBOXED ({why}): the submissions' code runs with your "
             "permissions and can read your files; grades.csv says sandbox=none")
    started = time.perf_counter()
    exercises = (exercises or settings.find_exercises()).resolve()
    if assignment is None:
        assignment = guess_assignment(Path(submissions), settings.assignments(exercises))
    chosen = settings.find_assignment(exercises, assignment)
    out = (out or Path.cwd() / f"grades-{chosen.name}").resolve()
    workdir = Path(tempfile.mkdtemp(prefix="course-grade-"))
    logs: dict[str, str] = {}
    try:
        template = workdir / "course"
        release_dir = release.generate(chosen, template)
        student_version = json.loads(
            (release_dir / f"{chosen.notebook}.ipynb").read_text(encoding="utf-8"))
        questions = questions_of(student_version)
        max_score = sum(question.points for question in questions)
        found = collect.collect(Path(submissions), notebook=chosen.notebook,
                                assignment=chosen.name, workdir=workdir, skip=out)
        if not found:
            raise GradingError(f"no submissions found in {submissions}.")
        rows: list[Row] = []
        pending: list[tuple[Row, restore.Prepared]] = []
        for item in found:
            row = Row(item.student, item.label, max_score=max_score, notes=list(item.notes))
            rows.append(row)
            if item.superseded_by is not None:
                row.status, row.total = "superseded", None
                continue
            notebook, status, reason = restore.read_submission(item.path.read_bytes())
            if notebook is None:
                row.status = status
                row.notes.insert(0, reason)
                continue
            prepared = restore.prepare(notebook, student_version)
            if prepared.checks_found == 0:
                row.status = "wrong-notebook"
                row.notes.insert(0, f"none of the check cells of {chosen.notebook}.ipynb are in "
                                    "it: is it the right notebook?")
                continue
            if prepared.restored:
                row.notes.append("nbgrader metadata was missing (saved by Colab?) and was "
                                 f"restored for {len(prepared.restored)} cells")
            if prepared.edited:
                row.notes.append("edited check cells, graded with the originals: "
                                 + ", ".join(prepared.edited))
            if prepared.deleted:
                row.notes.append("deleted check cells (0 points): " + ", ".join(prepared.deleted))
            row.notes.extend(prepared.structure_notes())
            for cell in prepared.notebook["cells"]:
                name = restore.grade_id(cell)
                if name in {question.grade_id for question in questions if question.manual}:
                    row.written[name] = restore.source_text(cell).strip()
            pending.append((row, prepared))

        count = max(1, min(jobs or default_jobs(), len(pending) or 1))
        lanes: list[list[tuple[Row, Path]]] = [[] for _ in range(count)]
        for index, (row, prepared) in enumerate(pending):
            # a course directory per submission: its own gradebook, nothing of anyone else's
            course_dir = workdir / "s" / str(index)
            target = course_dir / "submitted" / row.student / chosen.name
            target.mkdir(parents=True)
            shutil.copyfile(template / "gradebook.db", course_dir / "gradebook.db")
            (target / f"{chosen.notebook}.ipynb").write_text(
                json.dumps(prepared.notebook, indent=1, ensure_ascii=False), encoding="utf-8")
            lanes[index % count].append((row, course_dir))
        env = settings.grading_environment(workdir, sandboxed=sandboxed)
        code_cells = sum(1 for cell in student_version["cells"] if cell["cell_type"] == "code")
        limit = float(timeout * (code_cells + 2) + 120)
        # CPU seconds: every core busy for the whole wall-clock limit (which stops it first)
        env[sandbox.CPU_SECONDS_VARIABLE] = str(int(limit) * (os.cpu_count() or 1))
        checks_digest = guard_digest()  # before any submission runs
        done = [0]
        lock = threading.Lock()

        def grade_lane(lane_number: int) -> None:
            lane = Lane(workdir / f"lane-{lane_number}", chosen.name, timeout=timeout, env=env,
                        show_hidden_tests=show_hidden_tests, sandboxed=sandboxed)
            try:
                for row, course_dir in lanes[lane_number]:
                    begin = time.perf_counter()
                    try:
                        outcome = lane.grade(row.student, course_dir, limit, checks_digest)
                    except Exception as error:  # one submission never stops the batch
                        outcome = {"success": False, "error": f"{type(error).__name__}: {error}"}
                    row.seconds = time.perf_counter() - begin
                    logs[row.student] = outcome.pop("log", "") or ""
                    _fill_row(row, outcome, questions, timeout=timeout, limit=limit)
                    if outcome.get("feedback"):
                        row.feedback = Path(outcome["feedback"])
                    elif outcome.get("success"):
                        row.notes.append("graded, but nbgrader could not write the feedback page ("
                                         + (outcome.get("feedback_error") or "no message") + ")")
                    with lock:
                        done[0] += 1
                        echo(f"[{done[0]}/{len(pending)}] {row.student}: {row.status}, "
                             f"{row.total:g}/{row.max_score:g} ({row.seconds:.0f} s)")
            finally:
                lane.close()

        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(grade_lane, range(count)))

        feedback_dir = out / "feedback"
        feedback_dir.mkdir(parents=True, exist_ok=True)
        for row in rows:
            if row.status == "superseded":
                continue  # the student's page is the graded file's
            page = feedback_dir / f"{row.student}.html"
            if row.feedback and row.feedback.exists():
                shutil.copyfile(row.feedback, page)
                row.feedback = page
            else:
                reason = row.notes[0] if row.notes and row.status != "ok" else row.status
                page.write_text(_feedback_page(chosen.name, row, reason), encoding="utf-8")
                row.feedback = page
        for row in rows:
            row.sandbox = sandbox_label  # how this batch ran its kernels
        report = Report(chosen.name, questions, rows, out, time.perf_counter() - started, count)
        _write_outputs(report, logs)
        return report
    finally:
        if keep_workdir:
            echo(f"work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
