"""Read a submission safely and line its cells up with the assignment's student version.

:func:`read_submission` tells an empty file and a file that is not a notebook apart from a
notebook, without raising. :func:`prepare` then returns a copy of the notebook that nbgrader can
grade:

* where a front end dropped the nbgrader cell metadata (Colab keeps only its own), each cell of
  the student version is matched with the submitted cell it became: unchanged cells by their text;
  changed cells by their place between unchanged neighbours when the count of cells there is the
  same, else answer cells by their likeness to the stub and check cells by their likeness to the
  original (a check cell that resembles nothing is taken as deleted); the match gets the
  original's metadata back, grade id included, so nbgrader restores and runs the original check;
* cell-structure accidents are repaired, each with a note, so that nbgrader grades the notebook
  instead of refusing it: a graded cell pasted twice (the copies keep its grade id; the first
  keeps it, the others run as ordinary cells), graded cells moved out of the assignment's order
  (put back, each with the student's own cells that followed it), an answer cell turned into
  markdown or a written answer turned into code (its type put back), and text in a student's
  cell that nbgrader would take for its own markers (``BEGIN HIDDEN TESTS``: defused);
* check cells the student edited are reported (nbgrader puts the originals back when grading);
* check cells the student deleted are reported (that question scores 0).
"""

from __future__ import annotations

import copy
import difflib
import json
from dataclasses import dataclass, field
from typing import Any

#: Below this likeness a submitted cell is not taken for a check cell it might have come from.
CHECK_LIKENESS = 0.5


@dataclass
class Prepared:
    """A submission ready for nbgrader, and what :func:`prepare` noticed."""

    notebook: dict[str, Any]
    restored: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    checks_found: int = 0
    duplicates: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    retyped: list[str] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)

    def structure_notes(self) -> list[str]:
        """One note per kind of cell-structure problem repaired (see the module doc)."""
        notes = []
        if self.duplicates:
            notes.append("duplicated grade ids (a cell pasted twice?), the first copy graded, "
                         "the others run as ordinary cells: " + ", ".join(self.duplicates))
        if self.moved:
            notes.append("cells out of order, put back in the assignment's order: "
                         + ", ".join(self.moved))
        if self.retyped:
            notes.append("cell type changed (an answer turned into markdown?), graded as its "
                         "original type: " + ", ".join(self.retyped))
        if self.markers:
            notes.append("nbgrader markers in an answer (e.g. BEGIN HIDDEN TESTS), defused: "
                         + ", ".join(self.markers))
        return notes


#: nbgrader's delimiters; in a student's cell they are defused by a hyphen (``BEGIN HIDDEN-TESTS``).
MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN SOLUTION", "END SOLUTION",
           "BEGIN MARK SCHEME", "END MARK SCHEME")


def read_submission(data: bytes) -> tuple[dict[str, Any] | None, str, str]:
    """Return ``(notebook, status, reason)``; ``notebook`` is ``None`` unless status is ``ok``.

    Status is ``empty`` (no bytes, or only whitespace), ``not-a-notebook`` (not JSON, or JSON
    without cells) or ``ok``.
    """
    if not data.strip():
        return None, "empty", "the file is empty"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, "not-a-notebook", "not a text file (is it a PDF or an image?)"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        return None, "not-a-notebook", f"not valid JSON ({error.msg}, line {error.lineno})"
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", raw.get("worksheets")), list):
        return None, "not-a-notebook", "JSON, but not a notebook (it has no cells)"
    try:
        import nbformat

        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat's errors vary by version; all mean "unreadable"
        return None, "not-a-notebook", f"not a readable notebook ({type(error).__name__})"
    return json.loads(json.dumps(notebook)), "ok", ""


def source_text(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def grade_id(cell: dict[str, Any]) -> str | None:
    nbgrader = cell.get("metadata", {}).get("nbgrader")
    if isinstance(nbgrader, dict):
        value = nbgrader.get("grade_id")
        return value if isinstance(value, str) and value else None
    return None


def _is_check(cell: dict[str, Any]) -> bool:
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    return bool(nbgrader.get("grade")) and bool(nbgrader.get("locked")) \
        and not nbgrader.get("solution")


def _is_answer(cell: dict[str, Any]) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def _likeness(first: str, second: str) -> float:
    return difflib.SequenceMatcher(None, _normal(first), _normal(second), autojunk=False).ratio()


def _match(release: list[dict[str, Any]], submitted: list[dict[str, Any]],
           wanted: set[str], free: set[int]) -> dict[int, int]:
    """Map release cell index -> submitted cell index for the release cells whose grade id is in
    ``wanted``, using only submitted cells whose index is in ``free``."""
    keys_release = [(cell.get("cell_type"), _normal(source_text(cell))) for cell in release]
    keys_submitted = [(cell.get("cell_type"), _normal(source_text(cell))) for cell in submitted]
    matcher = difflib.SequenceMatcher(None, keys_release, keys_submitted, autojunk=False)
    pairs: dict[int, int] = {}
    for tag, r_start, r_end, s_start, s_end in matcher.get_opcodes():
        if tag == "equal":
            for offset in range(r_end - r_start):
                r_index, s_index = r_start + offset, s_start + offset
                if grade_id(release[r_index]) in wanted and s_index in free:
                    pairs[r_index] = s_index
            continue
        if tag == "insert":
            continue
        next_free = s_start
        same_shape = r_end - r_start == s_end - s_start
        for r_index in range(r_start, r_end):
            cell = release[r_index]
            if grade_id(cell) not in wanted:
                continue
            options = [s_index for s_index in range(next_free, s_end) if s_index in free
                       and submitted[s_index].get("cell_type") == cell.get("cell_type")]
            if not options:
                continue
            in_place = s_start + (r_index - r_start)
            if same_shape and in_place in options:
                # as many cells as before, between the same unchanged neighbours: this is it
                pairs[r_index] = in_place
                next_free = in_place + 1
                continue
            scored = [(_likeness(source_text(cell), source_text(submitted[s_index])), s_index)
                      for s_index in options]
            best_score, best = max(scored, key=lambda pair: (pair[0], -pair[1]))
            if not _is_answer(cell) and best_score < CHECK_LIKENESS:
                continue  # a check or read-only cell that is not there any more
            pairs[r_index] = best
            next_free = best + 1
    return pairs


def prepare(submitted: dict[str, Any], release: dict[str, Any]) -> Prepared:
    """A gradeable copy of ``submitted`` (see the module docstring); ``release`` is the
    assignment's student version, with its nbgrader metadata."""
    notebook = copy.deepcopy(submitted)
    notebook["nbformat"], notebook["nbformat_minor"] = 4, 5
    cells = notebook.setdefault("cells", [])
    used_ids: set[str] = set()
    for index, cell in enumerate(cells):
        cell["source"] = source_text(cell)
        cell.setdefault("metadata", {})
        if not isinstance(cell.get("id"), str) or cell["id"] in used_ids:
            cell["id"] = f"submitted-{index}"
        used_ids.add(cell["id"])
    release_cells = release.get("cells", [])
    known = {grade_id(cell) for cell in release_cells} - {None}
    present = {grade_id(cell) for cell in cells} & known
    result = Prepared(notebook)
    missing = known - present
    if missing:
        free = {index for index, cell in enumerate(cells) if grade_id(cell) is None}
        for r_index, s_index in _match(release_cells, cells, missing, free).items():
            original = release_cells[r_index]
            target = cells[s_index]
            for key in ("nbgrader", "editable", "deletable"):
                if key in original.get("metadata", {}):
                    target["metadata"][key] = copy.deepcopy(original["metadata"][key])
            result.restored.append(grade_id(original))
    _repair_structure(result, release_cells)
    cells = result.notebook["cells"]
    by_id = {grade_id(cell): cell for cell in cells if grade_id(cell)}
    for cell in release_cells:
        if not _is_check(cell):
            continue
        found = by_id.get(grade_id(cell))
        if found is None:
            result.deleted.append(grade_id(cell))
            continue
        result.checks_found += 1
        if _normal(source_text(found)) != _normal(source_text(cell)):
            result.edited.append(grade_id(cell))
    return result


def _longest_increasing(values: list[int]) -> set[int]:
    """Positions of a longest strictly increasing subsequence of ``values``."""
    best: list[list[int]] = []
    for position, value in enumerate(values):
        chain = max((candidate for candidate in best if values[candidate[-1]] < value),
                    key=len, default=[])
        best.append([*chain, position])
    return set(max(best, key=len, default=[]))


def _repair_structure(result: Prepared, release_cells: list[dict[str, Any]]) -> None:
    """Repair the cell-structure accidents the module doc lists, noting each in ``result``."""
    cells = result.notebook["cells"]
    order = {grade_id(cell): index for index, cell in enumerate(release_cells) if grade_id(cell)}
    originals = {grade_id(cell): cell for cell in release_cells if grade_id(cell)}
    locked = {name for name, cell in originals.items()
              if cell.get("metadata", {}).get("nbgrader", {}).get("locked")}
    seen: set[str] = set()
    for cell in cells:
        name = grade_id(cell)
        if name is None:
            continue
        if name in seen or name not in order:
            if name in seen and name not in result.duplicates:
                result.duplicates.append(name)
            if name in seen:  # an ordinary cell from now on
                cell["metadata"].pop("nbgrader", None)
                for key in ("editable", "deletable"):
                    cell["metadata"].pop(key, None)
            continue
        seen.add(name)
        wanted = originals[name].get("cell_type")
        if cell.get("cell_type") != wanted:
            cell["cell_type"] = wanted
            if wanted == "code":
                cell.setdefault("outputs", [])
                cell.setdefault("execution_count", None)
            else:
                cell.pop("outputs", None)
                cell.pop("execution_count", None)
                cell.pop("attachments", None)
            result.retyped.append(name)
    for cell in cells:
        name = grade_id(cell)
        if name in locked:
            continue  # nbgrader puts the original back, markers and all
        text = source_text(cell)
        if any(marker in text for marker in MARKERS):
            for marker in MARKERS:
                head, _, tail = marker.rpartition(" ")
                text = text.replace(marker, f"{head}-{tail}")
            cell["source"] = text
            result.markers.append(name or f"cell {cells.index(cell) + 1}")
    blocks: list[tuple[int, list[dict[str, Any]]]] = [(-1, [])]
    for cell in cells:
        name = grade_id(cell)
        if name in order:
            blocks.append((order[name], [cell]))
        else:
            blocks[-1][1].append(cell)
    keys = [key for key, _ in blocks[1:]]
    if keys != sorted(keys):
        kept = _longest_increasing(keys)
        result.moved = [grade_id(blocks[position + 1][1][0]) or "" for position in range(len(keys))
                        if position not in kept]
        blocks[1:] = sorted(blocks[1:], key=lambda block: block[0])
        result.notebook["cells"] = [cell for _, block in blocks for cell in block]
