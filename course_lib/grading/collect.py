"""Find the submissions in a folder or an LMS zip and name the student of each.

Layouts understood (a zip is unpacked into the work folder first; the original is never touched):

* **Canvas** "Download submissions": one file per student named
  ``<name>_[late_]<user id>_<submission id>_<original file name>``;
* **Moodle** "Download all submissions": ``<Full Name>_<id>_assignsubmission_file_<file>``, as
  files or as one folder per student;
* **per-student folders**: ``<student>/<any name>.ipynb``;
* **a flat folder** of ``<student>.ipynb`` or ``<student>_<notebook>.ipynb`` files.

Names such as ``Copy of 01_tensors_exercises.ipynb`` or ``01_tensors_exercises (1).ipynb`` are
fine: the file is graded as the assignment's notebook and the CSV says it was renamed. A file that
is not a notebook is listed too, so it gets a row (status ``not-a-notebook``) instead of vanishing.

Student ids keep everything that tells two students apart: the LMS's user id (Canvas
``smithjohn_2001``, Moodle ``Jane Smith_4242`` becomes ``Jane_Smith_4242``) and every letter,
accents included, in Unicode's composed form (NFC), so a name typed on a Mac (decomposed) and one
typed on Windows give the same id. Two files with the same id are a re-submission: the latest is
graded, by the LMS's own order first (Canvas's ``late`` marker), then by the file's time (the
time stored in the LMS's zip, which is when it was submitted), then by a copy's number
(``x (1).ipynb`` after ``x.ipynb``); the others are listed as superseded, and both rows say so.
"""

from __future__ import annotations

import os
import re
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from course_lib.grading.settings import GradingError

CANVAS = re.compile(r"^(?P<name>[^_]+)_(?P<late>late_)?(?P<user>\d+)_(?P<submission>\d+)_(?P<file>.+)$",
                    re.IGNORECASE)
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<user>\d+)_assignsubmission_(?:file|onlinetext)_?(?P<file>.*)$",
                    re.IGNORECASE)
_IGNORED = ("__MACOSX", ".ipynb_checkpoints", ".DS_Store", "Thumbs.db", "desktop.ini")


@dataclass
class Submission:
    """One student's file, before grading."""

    student: str
    path: Path
    label: str
    notes: list[str] = field(default_factory=list)
    late: bool = False
    superseded_by: str | None = None

    def order(self) -> tuple[int, float, int, str]:
        """Sorts a student's files oldest first (see the module doc)."""
        copy = re.search(r"\((\d+)\)\s*(\.\w+)?$", self.path.name)
        return (int(self.late), self.path.stat().st_mtime, int(copy[1]) if copy else 0,
                self.label)


def student_id(name: str) -> str:
    """A name safe for a folder and for nbgrader: letters (any script, NFC), digits, ``.``, ``_``,
    ``-``; anything else becomes ``_``."""
    name = unicodedata.normalize("NFC", name.strip())
    cleaned = re.sub(r"[^\w.-]+", "_", name).strip("._-")
    return cleaned or "student"


def plain_stem(file_name: str) -> str:
    """The file's stem without the marks of a copy: ``Copy of X (1).ipynb`` -> ``X``."""
    stem = Path(file_name).stem
    stem = re.sub(r"^(copy of\s+)+", "", stem.strip(), flags=re.IGNORECASE)
    stem = re.sub(r"(\s*\(\d+\)|-\d+)$", "", stem)
    return stem.strip()


def split_lms_name(file_name: str) -> tuple[str, str] | None:
    """``(student name, original file name)`` for a Canvas or Moodle file name, else ``None``;
    the name ends with the LMS's user id (``smithjohn_2001``)."""
    lms = parse_lms_name(file_name)
    return (lms[0], lms[1]) if lms else None


def parse_lms_name(file_name: str) -> tuple[str, str, bool] | None:
    """``(student name with user id, original file name, late)`` for a Canvas or Moodle file
    name, else ``None``."""
    file_name = unicodedata.normalize("NFC", file_name)
    for pattern in (MOODLE, CANVAS):
        match = pattern.match(file_name)
        if match:
            late = bool(match.groupdict().get("late"))
            return f"{match['name']}_{match['user']}", match["file"], late
    return None


def _name_from_flat_file(file_name: str, notebook: str, assignment: str) -> str:
    stem = plain_stem(file_name)
    for known in sorted({notebook, assignment}, key=len, reverse=True):
        stem = re.sub(re.escape(known), "", stem, flags=re.IGNORECASE)
    stem = stem.strip(" _-.")
    return stem or plain_stem(file_name)


def _is_ignored(path: Path) -> bool:
    return path.name.startswith(".") or path.name in _IGNORED


def unpack(archive: Path, into: Path) -> Path:
    """Unpack a zip into ``into`` (entries that would land outside it are skipped)."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            into.mkdir(parents=True, exist_ok=True)
            for entry in bundle.infolist():
                parts = PurePosixPath(entry.filename.replace("\\", "/")).parts
                if entry.is_dir() or not parts or ".." in parts or parts[0] in ("/", ""):
                    continue
                if any(part in _IGNORED for part in parts):
                    continue
                target = into.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(entry) as source, open(target, "wb") as sink:
                    sink.write(source.read())
                try:  # the LMS's time for the file (Moodle: when it was submitted)
                    stamp = time.mktime((*entry.date_time, 0, 0, -1))
                    os.utime(target, (stamp, stamp))
                except (OverflowError, ValueError, OSError):
                    pass
    except zipfile.BadZipFile:
        raise GradingError(f"{archive} is not a readable zip file; download it again from the "
                           "LMS, or unpack it and pass the folder.") from None
    return into


def _is_wrapper(folder: Path) -> bool:
    """Whether a lone top-level folder wraps the submissions rather than being one student's."""
    inside = [path for path in folder.iterdir() if not _is_ignored(path)]
    notebooks = [path for path in inside if path.suffix.lower() == ".ipynb"]
    return (any(path.is_dir() for path in inside) or len(notebooks) > 1
            or any(split_lms_name(path.name) for path in inside))


def _renamed_note(file_name: str, notebook: str) -> list[str]:
    if Path(file_name).name != f"{notebook}.ipynb":
        return [f"file named {Path(file_name).name!r}, graded as {notebook}.ipynb"]
    return []


def _pick_notebook(files: list[Path], notebook: str) -> tuple[Path, list[str]]:
    notebooks = [path for path in files if path.suffix.lower() == ".ipynb"]
    if not notebooks:
        return files[0], []
    if len(notebooks) == 1:
        return notebooks[0], []
    named = [path for path in notebooks if plain_stem(path.name).lower() == notebook.lower()]
    chosen = (named or sorted(notebooks, key=lambda path: path.stat().st_size))[-1]
    others = ", ".join(sorted(path.name for path in notebooks if path != chosen))
    return chosen, [f"several notebooks; graded {chosen.name}, not {others}"]


def check_source(source: Path) -> Path:
    """``source`` if it is a folder or a zip; else a :class:`GradingError` saying what to pass."""
    source = Path(source).expanduser()
    if not source.exists():
        raise GradingError(f"{source} does not exist; pass the folder or the zip of submissions.")
    if source.is_file() and not zipfile.is_zipfile(source):
        raise GradingError(f"{source} is a file but not a zip; pass a folder of submissions "
                           "or the zip your LMS gave you.")
    return source


def collect(source: Path, *, notebook: str, assignment: str, workdir: Path,
            skip: Path | None = None) -> list[Submission]:
    """Every submission under ``source`` (a folder or a zip), with a unique student id each.

    ``skip`` is a folder never to look into (the output folder, if it lies inside ``source``).
    """
    source = check_source(source)
    if source.is_file():
        root = unpack(source, workdir / "unpacked")
    else:
        root = source
    skip = skip.resolve() if skip else None
    entries = [path for path in sorted(root.iterdir())
               if not _is_ignored(path) and (skip is None or path.resolve() != skip)]
    # An archive that wraps everything in a single folder: look inside it.
    while len(entries) == 1 and entries[0].is_dir() and _is_wrapper(entries[0]):
        root = entries[0]
        entries = [path for path in sorted(root.iterdir()) if not _is_ignored(path)]
    found: list[Submission] = []
    for entry in entries:
        label = entry.relative_to(root).as_posix()
        if entry.is_dir():
            files = [path for path in sorted(entry.rglob("*"))
                     if path.is_file() and not any(_is_ignored(Path(part))
                                                   for part in path.relative_to(entry).parts)]
            if not files:
                continue
            lms = parse_lms_name(entry.name)
            name = lms[0] if lms else entry.name
            chosen, notes = _pick_notebook(files, notebook)
            notes = _renamed_note(chosen.name, notebook) + notes
            found.append(Submission(student_id(name), chosen, chosen.relative_to(root).as_posix(),
                                    notes, late=bool(lms and lms[2])))
            continue
        lms = parse_lms_name(entry.name)
        late = False
        if lms:
            name, original, late = lms
            notes = _renamed_note(original, notebook) if original else []
        else:
            name, notes = _name_from_flat_file(entry.name, notebook, assignment), []
        found.append(Submission(student_id(name), entry, label, notes, late=late))
    _mark_resubmissions(found)
    return found


def _mark_resubmissions(found: list[Submission]) -> None:
    """Of a student's several files, keep the latest for grading; say so on every one."""
    by_student: dict[str, list[Submission]] = {}
    for item in found:
        by_student.setdefault(item.student, []).append(item)
    for items in by_student.values():
        if len(items) < 2:
            continue
        items.sort(key=Submission.order)
        latest, older = items[-1], items[:-1]
        if latest.late and not all(item.late for item in older):
            why = "Canvas's late marker"
        elif len({item.path.stat().st_mtime for item in items}) == len(items):
            why = "file time"
        else:
            why = "file name"
        names = ", ".join(item.label for item in older)
        latest.notes.append(f"re-submission: {len(items)} files for this student, graded this one "
                            f"(the latest by {why}); not graded: {names}")
        for item in older:
            item.superseded_by = latest.label
            item.notes.append(f"re-submission: superseded by {latest.label} (later by {why}), "
                              "not graded")
