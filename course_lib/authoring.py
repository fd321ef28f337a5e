"""Notebook hygiene for course authors: ``course nb check|clean|store-checked``.

Stored notebooks keep no outputs and no execution counts, except the outputs of *checked* cells
(those carrying ``# NBVAL_CHECK_OUTPUT``): their output is a fact of the lesson, and the test
suite compares it on every run. nbval only compares cells that were run, so a checked cell
stores the fixed execution count 1. Every chapter opens with the same setup cell
(:data:`SETUP_CELL`) and carries the same notebook metadata (:data:`NOTEBOOK_METADATA`).

``course nb store-checked NOTEBOOK`` executes a notebook in the quick profile and stores the
fresh outputs of its checked cells (run it after changing a checked cell on purpose).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CHECK_MARK = "NBVAL_CHECK_OUTPUT"

#: Where the course is published; the setup cell installs course_lib from here on Colab.
REPOSITORY = "https://github.com/keras-workbook/tf-keras-course"

SETUP_CELL = f"""\
# Setup: the same first cell in every chapter. On Colab it first installs the course helpers.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("course_lib") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+{REPOSITORY}"], check=True)
import course_lib

run = course_lib.setup()"""

NOTEBOOK_METADATA: dict[str, Any] = {
    # Colab opens the notebook on a GPU runtime when one is available.
    "accelerator": "GPU",
    "colab": {"gpuType": "T4", "provenance": []},
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}

#: Cell metadata worth keeping; everything else (timings, scroll state, ...) is noise.
KEPT_CELL_METADATA = ("tags", "nbgrader", "editable", "deletable")

#: A code cell longer than this is a lesson that should be split.
MAX_CODE_LINES = 25


def source_of(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def is_checked(cell: dict[str, Any]) -> bool:
    return cell.get("cell_type") == "code" and CHECK_MARK in source_of(cell)


def read(path: str | os.PathLike[str]) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write(notebook: dict[str, Any], path: str | os.PathLike[str]) -> None:
    text = json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    Path(path).write_text(text, encoding="utf-8")


def _clean_outputs(outputs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Outputs without counts; consecutive prints to one stream become one output.

    A kernel may deliver one cell's printed text in several pieces, depending on timing; merged,
    the stored output is the same on every run.
    """
    cleaned: list[dict[str, Any]] = []
    for output in outputs:
        output = copy.deepcopy(output)
        if "execution_count" in output:
            output["execution_count"] = None
        if output.get("output_type") == "stream":
            output.pop("metadata", None)
            text = output.get("text", "")
            output["text"] = "".join(text) if isinstance(text, list) else text
            previous = cleaned[-1] if cleaned else {}
            if previous.get("output_type") == "stream" and previous.get("name") == output.get("name"):
                previous["text"] += output["text"]
                continue
        cleaned.append(output)
    return cleaned


def clean(notebook: dict[str, Any], *, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return a copy with no stray outputs, no execution counts and canonical metadata."""
    notebook = copy.deepcopy(notebook)
    notebook["metadata"] = copy.deepcopy(NOTEBOOK_METADATA if metadata is None else metadata)
    notebook["nbformat"], notebook["nbformat_minor"] = 4, 5
    for index, cell in enumerate(notebook.get("cells", [])):
        cell["metadata"] = {
            key: value for key, value in cell.get("metadata", {}).items() if key in KEPT_CELL_METADATA
        }
        cell.setdefault("id", f"cell-{index}")
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
        if cell.get("cell_type") == "code":
            cell["outputs"] = _clean_outputs(cell.get("outputs", [])) if is_checked(cell) else []
            # nbval compares only cells that were "run": a checked cell with outputs carries the
            # fixed count 1 (no diff noise); every other cell carries none.
            cell["execution_count"] = 1 if cell["outputs"] else None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    return notebook


def problems(
    notebook: dict[str, Any], *, chapter: bool = True, metadata: dict[str, Any] | None = None
) -> list[str]:
    """Everything that keeps a stored notebook from being clean, as readable sentences.

    ``chapter=True`` also asks for the standard setup cell and for checked outputs.
    """
    found = []
    if clean(notebook, metadata=metadata) != notebook:
        found.append("not clean: stray outputs, execution counts or metadata "
                     "(run `course nb clean` on it)")
    code_cells = [cell for cell in notebook.get("cells", []) if cell.get("cell_type") == "code"]
    for number, cell in enumerate(code_cells, start=1):
        lines = source_of(cell).count("\n") + 1
        if lines > MAX_CODE_LINES and source_of(cell) != SETUP_CELL:
            found.append(f"code cell {number} has {lines} lines (at most {MAX_CODE_LINES}): split it")
        if is_checked(cell) and not cell.get("outputs"):
            found.append(f"code cell {number} is checked but stores no output "
                         "(run `course nb store-checked` on the notebook)")
        if any(output.get("output_type") == "error" for output in cell.get("outputs", [])):
            found.append(f"code cell {number} stores an error as its checked output")
        if any(output.get("name") == "stderr" for output in cell.get("outputs", [])):
            found.append(f"code cell {number} stores stderr in its checked output: "
                         "log noise differs between machines, silence it or print to stdout")
    if chapter:
        if not code_cells or source_of(code_cells[0]) != SETUP_CELL:
            found.append("the first code cell is not the standard setup cell "
                         "(course_lib.authoring.SETUP_CELL)")
        if not any(is_checked(cell) for cell in code_cells):
            found.append(f"no checked cell: mark the facts of the lesson with # {CHECK_MARK}")
    return found


def execute(path: str | os.PathLike[str], *, timeout: int = 900) -> dict[str, Any]:
    """Run a notebook top to bottom in the quick profile and return it with outputs."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    os.environ.setdefault("COURSE_PROFILE", "quick")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent)}})
    client.execute()
    return json.loads(nbformat.writes(notebook))


def store_checked(path: str | os.PathLike[str], *, timeout: int = 900) -> int:
    """Execute ``path`` and store the outputs of its checked cells; return how many."""
    stored = read(path)
    executed = execute(path, timeout=timeout)
    fresh = {cell.get("id"): cell for cell in executed["cells"]}
    count = 0
    for cell in stored["cells"]:
        if is_checked(cell):
            cell["outputs"] = fresh[cell.get("id")].get("outputs", [])
            count += 1
    write(clean(stored, metadata=stored.get("metadata") if not _is_chapter(path) else None), path)
    return count


def _is_chapter(path: str | os.PathLike[str]) -> bool:
    return Path(path).resolve().parent.name == "notebooks"


# ----------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("check", "clean", "store-checked"))
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell (store-checked)")


def run(args: argparse.Namespace) -> int:
    from course_lib.errors import CourseError

    status = 0
    for path in args.notebooks:
        if not path.exists():
            raise CourseError(f"{path} does not exist")
        if args.action == "check":
            notebook = read(path)
            chapter = _is_chapter(path)
            for problem in problems(notebook, chapter=chapter,
                                    metadata=None if chapter else notebook.get("metadata")):
                print(f"{path}: {problem}")
                status = 1
        elif args.action == "clean":
            notebook = read(path)
            write(clean(notebook, metadata=None if _is_chapter(path) else notebook.get("metadata")),
                  path)
            print(f"{path}: cleaned")
        else:
            print(f"{path}: stored {store_checked(path, timeout=args.timeout)} checked outputs")
    return status
