"""nbgrader's cell runner, taught to survive a kernel that dies.

When a submission kills the kernel (``os._exit``, a crash in native code, running out of memory),
nbgrader stops and records no score at all. :class:`SkippingExecute` notes which cell was running
when that happened; the worker then grades the notebook again with that cell replaced by one that
raises :data:`SKIPPED_MESSAGE`, so everything else in the notebook still earns its points. The cell
replaced may be the student's answer or a check cell that called it; either way, the questions
that depend on it score 0, which is what a grader reading by hand would give.

This module imports nbgrader: only the grading worker imports it.
"""

from __future__ import annotations

from typing import Any

from nbgrader.preprocessors import Execute
from traitlets import Integer, List

SKIPPED_MESSAGE = ("this cell made the kernel die while grading (an exit call, a crash or running "
                   "out of memory), so it was skipped and the rest of the notebook graded")


def skipped_source(original: str) -> str:
    """The stand-in for a skipped cell: it raises, and shows the code as submitted in comments."""
    submitted = "\n".join(f"# {line}" if line else "#" for line in original.splitlines())
    return f"raise RuntimeError({SKIPPED_MESSAGE!r})\n# The cell as submitted (not run):\n{submitted}"


#: The index of the cell that started running last in this process (None before any).
last_started: dict[str, int | None] = {"cell": None}


def is_setup_cell(cell: Any) -> bool:
    """The course's first cell (``course_lib.setup()``), as the instructor wrote it."""
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    return (cell.get("cell_type") == "code" and not nbgrader.get("solution")
            and "course_lib.setup(" in cell.get("source", ""))


class SkippingExecute(Execute):
    """nbgrader's ``Execute``, plus: replace the cells in ``skip_cells`` before running, and
    remember which cell started last (see :data:`last_started`).

    The per-cell ``timeout`` limits what a student wrote. The setup cell starts TensorFlow,
    which on a busy machine can take longer than that limit (seen: more than 25 s), and a
    student cannot change it; it gets the kernel's start-up allowance (``startup_timeout``)
    instead, so a busy grading machine does not fail every submission at its first cell.
    """

    skip_cells = List(Integer(), default_value=[],
                      help="indices of cells to replace by a raise before running").tag(config=True)

    def preprocess(self, nb: Any, resources: Any = None, km: Any = None) -> Any:
        for index in self.skip_cells:
            if 0 <= index < len(nb.cells) and nb.cells[index].cell_type == "code":
                nb.cells[index].source = skipped_source(nb.cells[index].source)
        last_started["cell"] = None
        if self.timeout_func is None:
            self.timeout_func = self._cell_timeout
        return super().preprocess(nb, resources, km)

    def _cell_timeout(self, cell: Any) -> int | None:
        if is_setup_cell(cell) and self.timeout and self.timeout > 0:
            return max(self.timeout, self.startup_timeout)
        return self.timeout

    def preprocess_cell(self, cell: Any, resources: Any, index: int) -> Any:
        last_started["cell"] = index
        return super().preprocess_cell(cell, resources, index)


def autograde_preprocessors() -> list[type]:
    """nbgrader's autograde preprocessors with :class:`SkippingExecute` in place of ``Execute``,
    between :class:`~.guard.GuardChecks` and :class:`~.guard.UnguardChecks`."""
    from nbgrader.converters import Autograde

    from course_lib.grading.guard import GuardChecks, UnguardChecks

    defaults = Autograde.class_traits()["autograde_preprocessors"].default()
    steps: list[type] = []
    for preprocessor in defaults:
        steps += [GuardChecks, SkippingExecute, UnguardChecks] if preprocessor is Execute \
            else [preprocessor]
    return steps
