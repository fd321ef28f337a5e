"""Generate the student versions of the exercise notebooks, and check they are in sync.

``make release-exercises`` (or ``python -m course_lib.grading.release``) runs nbgrader's
``generate_assignment`` on every assignment of ``exercises/source`` in a throwaway course
directory and writes the student versions to ``exercises/release/<assignment>/``: solutions
replaced by ``# YOUR CODE HERE`` stubs, hidden tests removed, check cells locked. Nothing is
written into ``exercises/`` but those files (no gradebook).

``python -m course_lib.grading.release --check`` writes nothing and exits 1 when a committed
student version differs from what the sources give.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from course_lib import authoring
from course_lib.grading import settings
from course_lib.grading.settings import Assignment, GradingError


def normalized(notebook: dict[str, Any]) -> dict[str, Any]:
    """The notebook as the repository stores it: sources as strings, no outputs or counts,
    only the cell metadata that matters (nbgrader's, editable, deletable)."""
    return authoring.clean(notebook, metadata=notebook.get("metadata", {}))


def generate(assignment: Assignment, course_root: Path) -> Path:
    """Run nbgrader ``generate_assignment`` for ``assignment`` in the course directory
    ``course_root`` (created here; the source is copied in). Return the release folder."""
    settings.require_nbgrader()
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    source = course_root / "source" / assignment.name
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(assignment.source_dir, source,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    config = settings.nbgrader_config(course_root)
    with settings.tools_on_path():
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        result = api.generate_assignment(assignment.name, force=True, create=True)
    if not result.get("success"):
        log = (result.get("error") or result.get("log") or "").strip().splitlines()
        raise GradingError(
            f"nbgrader could not generate the student version of {assignment.name}: "
            + (log[-1] if log else "no message")
        )
    return course_root / "release" / assignment.name


def student_files(assignment: Assignment) -> dict[str, bytes]:
    """The student version of ``assignment`` as ``{relative path: bytes}``, freshly generated."""
    with tempfile.TemporaryDirectory(prefix="course-release-") as tmp:
        release = generate(assignment, Path(tmp))
        files = {}
        for path in sorted(release.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(release).as_posix()
            if path.suffix == ".ipynb":
                notebook = normalized(json.loads(path.read_text(encoding="utf-8")))
                text = json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
                files[relative] = text.encode("utf-8")
            else:
                files[relative] = path.read_bytes()
        return files


def differences(exercises: Path, assignment: Assignment) -> list[str]:
    """How ``exercises/release/<assignment>`` differs from a fresh generation, as sentences."""
    fresh = student_files(assignment)
    release = exercises / "release" / assignment.name
    stored = {path.relative_to(release).as_posix(): path for path in release.rglob("*")
              if path.is_file()} if release.is_dir() else {}
    found = []
    for relative, data in fresh.items():
        if relative not in stored:
            found.append(f"{release / relative} is missing")
        elif _comparable(stored[relative]) != _comparable_bytes(relative, data):
            found.append(f"{release / relative} is out of date with its source")
    for relative in sorted(set(stored) - set(fresh)):
        found.append(f"{release / relative} has no source")
    return found


def _comparable_bytes(relative: str, data: bytes) -> Any:
    if relative.endswith(".ipynb"):
        return normalized(json.loads(data.decode("utf-8")))
    return data


def _comparable(path: Path) -> Any:
    try:
        return _comparable_bytes(path.name, path.read_bytes())
    except (ValueError, UnicodeDecodeError):  # a broken file differs from anything fresh
        return None


def write_release(exercises: Path, assignment: Assignment) -> list[Path]:
    """Regenerate ``exercises/release/<assignment>/`` from its source; return the files written."""
    fresh = student_files(assignment)
    release = exercises / "release" / assignment.name
    if release.exists():
        shutil.rmtree(release)
    written = []
    for relative, data in fresh.items():
        target = release / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.grading.release",
        description="Generate the student versions of the exercise notebooks "
                    "(exercises/source -> exercises/release).")
    parser.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    parser.add_argument("--exercises", type=Path, help="the exercises folder (default: found)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a student version is out of date")
    args = parser.parse_args(argv)
    try:
        exercises = args.exercises or settings.find_exercises()
        chosen = ([settings.find_assignment(exercises, name) for name in args.assignments]
                  or settings.assignments(exercises))
        status = 0
        for assignment in chosen:
            if args.check:
                for problem in differences(exercises, assignment):
                    print(problem)
                    status = 1
                if not status:
                    print(f"{assignment.name}: student version in sync")
            else:
                for path in write_release(exercises, assignment):
                    print(f"wrote {path}")
        if args.check and status:
            print("run `make release-exercises` and commit exercises/release", file=sys.stderr)
        return status
    except GradingError as error:
        print(f"release: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
