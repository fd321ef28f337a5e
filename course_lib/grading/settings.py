"""Where the exercises live, how nbgrader is configured, and the environment kernels run in.

Everything that runs nbgrader for the course (the release step, ``course grade`` and its
per-student workers) takes its configuration from :func:`nbgrader_config`, so the student versions
committed to the repository and the ones regenerated during grading are made the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_lib.errors import CourseError

#: Seconds a single cell may run during grading before it is interrupted. TensorFlow's first
#: import and a first op can take 10-20 s on a busy machine; a chapter-01 answer needs a second.
DEFAULT_TIMEOUT = 120

#: The kernel every exercise notebook declares.
KERNEL_NAME = "python3"


class GradingError(CourseError):
    """A grading step the instructor can fix (wrong folder, unknown assignment, missing tool)."""


@dataclass(frozen=True)
class Assignment:
    """One exercise assignment: ``exercises/source/<name>/<notebook>.ipynb``."""

    name: str
    source_dir: Path

    @property
    def notebook_path(self) -> Path:
        notebooks = sorted(self.source_dir.glob("*.ipynb"))
        if len(notebooks) != 1:
            raise GradingError(
                f"{self.source_dir} holds {len(notebooks)} notebooks; an assignment of this course "
                "holds exactly one (see exercises/README.md)."
            )
        return notebooks[0]

    @property
    def notebook(self) -> str:
        """The notebook's name without ``.ipynb``, e.g. ``01_tensors_exercises``."""
        return self.notebook_path.stem


def find_exercises(start: Path | None = None) -> Path:
    """The ``exercises`` folder: above ``start`` (default: the working directory), else the
    repository this copy of ``course_lib`` was installed from."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "exercises" / "source").is_dir():
            return folder / "exercises"
        if folder.name == "exercises" and (folder / "source").is_dir():
            return folder
    packaged = Path(__file__).resolve().parents[2] / "exercises"
    if (packaged / "source").is_dir():
        return packaged
    raise GradingError(
        "no exercises/source folder found here or above; run this from the course repository "
        "or pass --exercises PATH/TO/exercises."
    )


def assignments(exercises: Path) -> list[Assignment]:
    source = exercises / "source"
    return [Assignment(path.name, path) for path in sorted(source.iterdir())
            if path.is_dir() and not path.name.startswith(".")]


def find_assignment(exercises: Path, name: str | None) -> Assignment:
    """The assignment called ``name`` (``01_tensors``; ``01`` works too); with no name, the only one."""
    known = assignments(exercises)
    names = ", ".join(item.name for item in known) or "none"
    if name is None:
        if len(known) == 1:
            return known[0]
        raise GradingError(f"which assignment? Pass --assignment NAME (known: {names}).")
    for item in known:
        if name in (item.name, item.notebook) or item.name.split("_")[0] == name:
            return item
    raise GradingError(f"no assignment {name!r} in {exercises / 'source'} (known: {names}).")


def nbgrader_config(root: Path, *, timeout: int = DEFAULT_TIMEOUT,
                    show_hidden_tests: bool = False, sandboxed: bool = False) -> Any:
    """The traitlets ``Config`` for a course directory at ``root``.

    * ``Execute.timeout``: seconds per cell; a cell that runs longer is interrupted, marked with a
      ``CellTimeoutError`` and the notebook goes on with the next cell.
    * ``OverwriteCells.add_missing_cells`` stays off: a deleted check cell scores 0 instead of
      being put back and run.
    * ``ClearMetadataPreprocessor`` stays off, so the graded notebook keeps its grade cell ids.
    * Feedback hides the hidden tests' code (their results still show) unless
      ``show_hidden_tests``.
    * ``sandboxed``: the kernel has no network (see :mod:`.sandbox`), so it talks to nbgrader over
      Unix sockets in ``root/runtime`` instead of TCP.
    """
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades
    from traitlets.config import Config

    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    config.Execute.timeout = int(timeout)
    config.Execute.interrupt_on_timeout = True
    config.Execute.startup_timeout = 180
    config.OverwriteCells.add_missing_cells = False
    config.ClearMetadataPreprocessor.enabled = False
    if sandboxed:
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(root / "runtime" / "k")
    if not show_hidden_tests:
        config.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests,
                                                 CSSHTMLHeaderPreprocessor]
    return config


def write_kernelspec(folder: Path, sandboxed: bool = False) -> Path:
    """Write a ``python3`` kernelspec that runs this very interpreter; return the Jupyter path.

    Put first on ``JUPYTER_PATH``, it wins over any ``python3`` kernel in the user's own Jupyter
    folders, so grading always runs in the course's environment. ``sandboxed``: the kernel starts
    inside :mod:`.sandbox`, and is interrupted by a message (a signal would reach the sandbox's
    launcher, not the kernel).
    """
    from course_lib.grading import sandbox

    kernel_dir = folder / "kernels" / KERNEL_NAME
    kernel_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": sandbox.kernel_argv(sandboxed),
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    if sandboxed:
        spec["interrupt_mode"] = "message"
    (kernel_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return folder


def grading_environment(workdir: Path, base: dict[str, str] | None = None,
                        sandboxed: bool = False) -> dict[str, str]:
    """The environment for nbgrader and the kernels it starts.

    TensorFlow's C++ log is silenced down to level 3: nbgrader gives 0 to a check cell that writes
    anything to stderr, and on CPUs without AVX-512 TensorFlow logs an "E" line at the first
    float16 op. The run profile is ``quick`` and downloads are off.
    """
    env = dict(os.environ if base is None else base)
    jupyter = write_kernelspec(workdir / "jupyter", sandboxed)
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(jupyter), env.get("JUPYTER_PATH")]))
    env["IPYTHONDIR"] = str(workdir / "ipython")  # no startup scripts from the instructor's profile
    env["PATH"] = os.pathsep.join(filter(None, [str(Path(sys.executable).parent), env.get("PATH")]))
    # the workers and the sandbox's launcher import this very course_lib
    here = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [here, env.get("PYTHONPATH")]))
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["KERAS_BACKEND"] = "tensorflow"
    env["COURSE_PROFILE"] = "quick"
    env["COURSE_OFFLINE"] = "1"
    env["MPLBACKEND"] = "Agg"
    env["PYTHONWARNINGS"] = "ignore"
    env.pop("PYTHONSTARTUP", None)
    return env


@contextlib.contextmanager
def tools_on_path() -> Iterator[None]:
    """Put this interpreter's scripts folder first on PATH for the duration.

    nbgrader creates its gradebook by running the ``alembic`` script, which lies beside the
    interpreter in a virtual environment that was not activated.
    """
    saved = os.environ.get("PATH")
    os.environ["PATH"] = os.pathsep.join(filter(None, [str(Path(sys.executable).parent), saved]))
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = saved


def require_nbgrader() -> None:
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        raise GradingError(
            "grading needs nbgrader: pip install -r requirements/dev.txt (it pins nbgrader 0.9.6)."
        ) from None
