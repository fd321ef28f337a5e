"""What every chapter's exercise tests (tests/test_exercises_NN_*.py) do the same way.

An exercise notebook's cells are found by their nbgrader grade id. The locked cells a learner is
given (setup, imports, data, the buggy code of the find-the-bug questions) run once per test
module into a namespace; each answer then runs with its check cell in a copy of that namespace,
either as the learner sees the check (visible checks only) or as the instructor grades it (hidden
tests included). The fixtures (``source_cells_fixture``, ``given_namespace_fixture``) and the
tests every chapter has (``required_parts_test``, ``solution_test``, ``wrong_answer_test``,
``stubs_test``) are built here and assigned, under their usual names, in each chapter's test
module, which keeps what is its own: its cell ids, its classic wrong answers and the symptoms its
find-the-bug cells must show. The format, the sync of the student version and its freedom
from leaks are tested for every assignment in tests/test_exercises.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
#: The hidden tests of a check cell, which the student version leaves out.
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.DOTALL)

Cell = dict[str, Any]


def notebook_paths(assignment: str) -> tuple[Path, Path]:
    """The instructor's source notebook and the student version of an assignment."""
    name = f"{assignment}_exercises.ipynb"
    return (ROOT / "exercises" / "source" / assignment / name,
            ROOT / "exercises" / "release" / assignment / name)


def questions(*check_ids: str) -> dict[str, tuple[str, str]]:
    """question -> (answer cell, check cell), from check cell ids ``q<N>_<what>``: question
    ``q<N>`` is answered in cell ``q<N>_answer``."""
    table = {}
    for check in check_ids:
        question = check.split("_", 1)[0]
        table[question] = (f"{question}_answer", check)
    return table


def cell_source(cell: Cell) -> str:
    """A cell's code or text as one string, however the notebook file stores it."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def read_cells(path: Path) -> dict[str, Cell]:
    """A notebook's cells by nbgrader grade id, in notebook order."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return {cell["metadata"]["nbgrader"]["grade_id"]: cell for cell in notebook["cells"]}


def read_sources(path: Path) -> dict[str, str]:
    """A notebook's cell sources by nbgrader grade id, in notebook order."""
    return {grade_id: cell_source(cell) for grade_id, cell in read_cells(path).items()}


def without_solution_markers(text: str) -> str:
    """An instructor's cell as it runs: the BEGIN/END SOLUTION marker lines dropped."""
    return "\n".join(line for line in text.splitlines() if line.strip() not in SOLUTION_MARKERS)


def _text(cell: Cell | str) -> str:
    return cell if isinstance(cell, str) else cell["source"]


def run_given(cells: Mapping[str, Cell | str], grade_ids: Iterable[str]) -> dict[str, Any]:
    """The names a learner has after running the given cells ``grade_ids`` in that order."""
    namespace: dict = {}
    for grade_id in grade_ids:
        exec(_text(cells[grade_id]), namespace)
    return namespace


def run_answer(namespace: Mapping[str, Any], answer_source: str, check_source: str,
               given_source: str = "") -> dict[str, Any]:
    """Run a given cell (if any), an answer, then a check cell, in a copy of ``namespace``."""
    scope = dict(namespace)
    exec(given_source, scope)
    exec(textwrap.dedent(answer_source), scope)
    exec(check_source, scope)
    return scope


def run_solution(namespace: Mapping[str, Any], cells: Mapping[str, Cell | str],
                 answer_and_check: tuple[str, str], given_source: str = "") -> dict[str, Any]:
    """Run the instructor's answer cell, then its check cell with the hidden tests, in a copy of
    ``namespace``."""
    answer, check = answer_and_check
    return run_answer(namespace, _text(cells[answer]), _text(cells[check]), given_source)


def source_cells_fixture(path: Path, *, as_text: bool = False):
    """A module-scoped ``source_cells`` fixture: the cells of ``path`` by grade id (their
    sources only when ``as_text``). Assign it to ``source_cells`` in the test module."""

    @pytest.fixture(scope="module")
    def source_cells() -> dict[str, Any]:
        return read_sources(path) if as_text else read_cells(path)

    return source_cells


def given_namespace_fixture(grade_ids: Iterable[str]):
    """A module-scoped ``given_namespace`` fixture: the names after running the given cells
    ``grade_ids`` of the module's ``source_cells``. Assign it to ``given_namespace``."""
    grade_ids = tuple(grade_ids)

    @pytest.fixture(scope="module")
    def given_namespace(source_cells) -> dict[str, Any]:
        """The names a learner has after running the setup, import and given cells."""
        return run_given(source_cells, grade_ids)

    return given_namespace


@contextlib.contextmanager
def quiet_locked_namespace(cells: Mapping[str, Cell]) -> Iterator[dict[str, Any]]:
    """A namespace after running, with their printing swallowed, every locked code cell that is
    neither an answer nor a check: setup, imports, data and the buggy code the find-the-bug
    questions show. The run the setup cell records is forgotten on exit."""
    from course_lib import runtime

    before = runtime._current  # the setup cell records its run; other tests must not see it
    namespace: dict[str, Any] = {"__name__": "__main__"}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for cell in cells.values():
                nbgrader = cell["metadata"]["nbgrader"]
                if cell["cell_type"] == "code" and not (nbgrader["solution"] or nbgrader["grade"]):
                    exec(compile(cell_source(cell), cell["id"], "exec"), namespace)
        yield namespace
    finally:
        runtime._current = before


def run_answer_printing(namespace: Mapping[str, Any], answer: str, check: str) -> str:
    """Run an answer then a check cell in a copy of ``namespace``; return what was printed."""
    namespace = dict(namespace)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(answer, "answer", "exec"), namespace)
        exec(compile(check, "check", "exec"), namespace)
    return printed.getvalue()


def graded_parts(cells: Mapping[str, Cell]) -> tuple[dict[str, Cell], list[str], list[str]]:
    """The graded cells by grade id, the ids of the autograded (code) ones and of the written
    (markdown) ones."""
    graded = {gid: cell for gid, cell in cells.items() if cell["metadata"]["nbgrader"].get("grade")}
    autograded = [gid for gid, cell in graded.items() if cell["cell_type"] == "code"]
    written = [gid for gid, cell in graded.items() if cell["cell_type"] == "markdown"]
    return graded, autograded, written


def assert_required_parts(cells: Mapping[str, Cell], questions: Mapping[str, tuple[str, str]],
                          written_id: str, buggy_ids: Iterable[str]) -> None:
    """The format every assignment keeps: at least five autograded questions whose check cells
    are exactly those of ``questions`` and all hold hidden tests, one written answer
    (``written_id``) that the learner writes, 2 points a graded cell, and find-the-bug cells
    ``buggy_ids`` in that order."""
    graded, autograded, written = graded_parts(cells)
    assert len(autograded) >= 5
    assert sorted(autograded) == sorted(check for _, check in questions.values())
    assert written == [written_id]
    assert graded[written_id]["metadata"]["nbgrader"]["solution"] is True
    assert all(cell["metadata"]["nbgrader"]["points"] == 2 for cell in graded.values())
    assert [gid for gid in cells if gid.endswith("_buggy")] == list(buggy_ids)
    assert all("### BEGIN HIDDEN TESTS" in cell_source(graded[gid]) for gid in autograded)


def required_parts_test(source: Path, questions: Mapping[str, tuple[str, str]], written_id: str,
                        buggy_ids: Iterable[str]) -> Callable[[], None]:
    """The test ``test_the_assignment_has_the_required_parts`` of a chapter: assign the result to
    that name in the test module. It reads ``source`` and makes ``assert_required_parts``."""
    buggy_ids = tuple(buggy_ids)

    def test_the_assignment_has_the_required_parts() -> None:
        assert_required_parts(read_cells(source), questions, written_id, buggy_ids)

    return test_the_assignment_has_the_required_parts


GivenFor = Callable[[str, Mapping[str, Any]], str]


def _no_given(question: str, cells: Mapping[str, Any]) -> str:
    return ""


def no_check_failed(printed: str) -> None:
    """For ``solution_test(also=...)``: no check reported a failure in what it printed."""
    assert "CheckFailed" not in printed


def solution_test(questions: Mapping[str, tuple[str, str]], *, min_ok: int = 1,
                  also: Callable[[str], None] | None = None, given_for: GivenFor = _no_given):
    """The test ``test_the_solution_passes_its_checks_and_hidden_tests`` of a chapter, one case a
    question: the instructor's answer passes its check cell, hidden tests included, printing at
    least ``min_ok`` "ok:" lines; ``also`` asserts what else the chapter wants of the printout.
    ``given_for(question, source_cells)`` is a given cell to run just before the answer."""

    @pytest.mark.parametrize("question", sorted(questions))
    def test_the_solution_passes_its_checks_and_hidden_tests(question, source_cells,
                                                             given_namespace, capsys):
        run_solution(given_namespace, source_cells, questions[question],
                     given_for(question, source_cells))
        printed = capsys.readouterr().out
        assert printed.count("ok:") >= min_ok, printed
        if also is not None:
            also(printed)

    return test_the_solution_passes_its_checks_and_hidden_tests


def wrong_answer_test(questions: Mapping[str, tuple[str, str]], wrong_answers: list, *,
                      caught_by: bool = False, hint_when_hidden: bool = True,
                      given_for: GivenFor = _no_given):
    """The test ``test_a_classic_wrong_answer_fails_with_a_hint`` of a chapter, one case a wrong
    answer (see ``assert_caught_with_hint``). Each of ``wrong_answers`` is (question, answer code,
    hint parts), or (question, answer code, "visible" or "hidden", hint parts) with
    ``caught_by``."""
    if caught_by:
        @pytest.mark.parametrize(("question", "wrong_answer", "caught_by", "hint_parts"),
                                 wrong_answers)
        def test_a_classic_wrong_answer_fails_with_a_hint(question, wrong_answer, caught_by,
                                                          hint_parts, source_cells,
                                                          given_namespace):
            _, check = questions[question]
            assert_caught_with_hint(given_namespace, wrong_answer, _text(source_cells[check]),
                                    hint_parts, caught_by, given_for(question, source_cells),
                                    hint_when_hidden=hint_when_hidden)
    else:
        @pytest.mark.parametrize(("question", "wrong_answer", "hint_parts"), wrong_answers)
        def test_a_classic_wrong_answer_fails_with_a_hint(question, wrong_answer, hint_parts,
                                                          source_cells, given_namespace):
            _, check = questions[question]
            assert_caught_with_hint(given_namespace, wrong_answer, _text(source_cells[check]),
                                    hint_parts, None, given_for(question, source_cells))

    return test_a_classic_wrong_answer_fails_with_a_hint


def stubs_test(release: Path, questions: Mapping[str, tuple[str, str]], *,
               given_for: GivenFor = _no_given):
    """The test ``test_the_student_version_has_stubs_that_fail_with_a_hint`` of a chapter (see
    ``assert_stubs_fail_politely``) for the student version ``release``."""

    def test_the_student_version_has_stubs_that_fail_with_a_hint(given_namespace, source_cells):
        assert_stubs_fail_politely(given_namespace, read_sources(release), questions,
                                   lambda question: given_for(question, source_cells))

    return test_the_student_version_has_stubs_that_fail_with_a_hint


def assert_caught_with_hint(namespace: Mapping[str, Any], answer: str, check_source: str,
                            hint_parts: Iterable[str], caught_by: str | None = None,
                            given_source: str = "", *, hint_when_hidden: bool = True) -> None:
    """A wrong answer fails its check cell with a hint that holds every one of ``hint_parts``.

    ``caught_by`` is "visible" (the learner's visible checks catch it), "hidden" (the visible
    checks pass, grading with the hidden tests catches it) or None (the whole check cell, hidden
    tests included, catches it). With ``hint_when_hidden`` False, a failure of the hidden tests
    needs to hold the ``hint_parts`` only, not a "Hint:" line."""
    checks = namespace["checks"]
    visible = HIDDEN.sub("", check_source)
    if caught_by == "hidden":  # the visible checks pass; grading catches it
        run_answer(namespace, answer, visible, given_source)
    with pytest.raises(checks.CheckFailed) as failure:
        run_answer(namespace, answer, visible if caught_by == "visible" else check_source,
                   given_source)
    message = str(failure.value)
    if caught_by != "hidden" or hint_when_hidden:
        assert "Hint:" in message
    for part in hint_parts:
        assert part in message, message


def assert_stubs_fail_politely(namespace: Mapping[str, Any], released: Mapping[str, str],
                               questions: Mapping[str, tuple[str, str]],
                               given_for: Callable[[str], str] = lambda question: "") -> None:
    """In the student version (``released``: sources by grade id) every answer is a stub with
    neither solution nor hidden tests, and its check says "not answered yet"."""
    checks = namespace["checks"]
    for question, (answer, check) in questions.items():
        assert "raise NotImplementedError()" in released[answer], question
        assert "### BEGIN SOLUTION" not in released[answer]
        assert "HIDDEN TESTS" not in released[check]
        with pytest.raises(checks.CheckFailed) as failure:
            run_answer(namespace, released[answer], released[check], given_for(question))
        assert "not answered yet" in str(failure.value), (question, str(failure.value))
