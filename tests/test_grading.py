"""`course grade` without kernels: finding submissions, reading them, restoring what Colab strips,
the nbgrader settings, the command line, and a batch where nothing can be run."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile

import pytest

from course_lib.grading import batch, collect, restore, samples, settings, worker
from course_lib.grading.restore import grade_id
from tests.conftest import ROOT

EXERCISES = ROOT / "exercises"
SOURCE_01 = samples.read(EXERCISES / "source" / "01_tensors" / "01_tensors_exercises.ipynb")
RELEASE_01 = samples.read(EXERCISES / "release" / "01_tensors" / "01_tensors_exercises.ipynb")
NOTEBOOK = "01_tensors_exercises"
CORRECT = samples.solutions(SOURCE_01)


def gather(folder, tmp_path, **kwargs):
    found = collect.collect(folder, notebook=NOTEBOOK, assignment="01_tensors",
                            workdir=tmp_path / "work", **kwargs)
    return {item.student: item for item in found}


# ----------------------------------------------------------------------------- collecting


def test_student_names_come_from_canvas_moodle_and_plain_file_names():
    assert collect.split_lms_name("smithjane_12345_67890_01_tensors_exercises.ipynb") == (
        "smithjane_12345", "01_tensors_exercises.ipynb")
    assert collect.parse_lms_name("doejohn_late_111_222_Copy of 01_tensors_exercises.ipynb") == (
        "doejohn_111", "Copy of 01_tensors_exercises.ipynb", True)
    assert collect.split_lms_name("Jane Smith_4242_assignsubmission_file_nb.ipynb") == (
        "Jane Smith_4242", "nb.ipynb")
    assert collect.split_lms_name("alice_01_tensors_exercises.ipynb") is None
    assert collect.plain_stem("Copy of 01_tensors_exercises (1).ipynb") == NOTEBOOK
    assert collect.student_id("Jane Smith*?") == "Jane_Smith"


def test_student_ids_keep_every_letter_in_one_normal_form():
    composed, decomposed = "M\u00fcller Zo\u00eb", "Mu\u0308ller Zoe\u0308"
    assert collect.student_id(composed) == collect.student_id(decomposed) == "M\u00fcller_Zo\u00eb"
    assert collect.student_id("m\u00fcllerzo\u00eb_1003") != collect.student_id("m\u00f6llerzo\u00e9_1008")
    assert collect.student_id("\u674e\u534e 7") == "\u674e\u534e_7"


def test_collect_reads_flat_files_lms_names_and_per_student_folders(tmp_path):
    folder = tmp_path / "submissions"
    (folder / "carol").mkdir(parents=True)
    (folder / "carol" / "Copy of 01_tensors_exercises.ipynb").write_text("{}")
    (folder / "Dan Brown_77_assignsubmission_file_").mkdir()
    (folder / "Dan Brown_77_assignsubmission_file_" / "01_tensors_exercises.ipynb").write_text("")
    (folder / "alice_01_tensors_exercises.ipynb").write_text("{}")
    (folder / "smithjane_12_34_01_tensors_exercises-1.ipynb").write_text("{}")
    (folder / "erin.pdf").write_bytes(b"%PDF-1.4")
    (folder / ".DS_Store").write_bytes(b"junk")
    (folder / "__MACOSX").mkdir()
    (folder / "__MACOSX" / "._alice.ipynb").write_text("junk")
    found = gather(folder, tmp_path)
    assert sorted(found) == ["Dan_Brown_77", "alice", "carol", "erin", "smithjane_12"]
    assert found["carol"].label == "carol/Copy of 01_tensors_exercises.ipynb"
    assert "graded as 01_tensors_exercises.ipynb" in found["carol"].notes[0]
    assert "01_tensors_exercises-1.ipynb" in found["smithjane_12"].notes[0]
    assert found["alice"].notes == [] and found["Dan_Brown_77"].notes == []
    assert found["erin"].path.suffix == ".pdf"


def test_collect_unpacks_an_lms_zip_without_touching_it_and_skips_the_output(tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("submissions/bobsmith_1_2_01_tensors_exercises.ipynb", "{}")
        bundle.writestr("submissions/annlee_3_4_01_tensors_exercises.ipynb", "{}")
        bundle.writestr("../escape.ipynb", "{}")
        bundle.writestr("__MACOSX/submissions/._bob.ipynb", "junk")
    before = archive.read_bytes()
    found = gather(archive, tmp_path)
    assert sorted(found) == ["annlee_3", "bobsmith_1"]
    assert archive.read_bytes() == before
    assert not list(tmp_path.rglob("escape.ipynb"))
    folder = tmp_path / "flat"
    (folder / "grades-01_tensors").mkdir(parents=True)
    (folder / "grades-01_tensors" / "grades.csv").write_text("student\n")
    (folder / "zoe.ipynb").write_text("{}")
    assert sorted(gather(folder, tmp_path, skip=folder / "grades-01_tensors")) == ["zoe"]


def test_two_files_for_one_student_are_a_resubmission_the_latest_graded(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "alice_01_tensors_exercises.ipynb").write_text("{}")
    (folder / "Copy of alice.ipynb").write_text("{}")
    os.utime(folder / "alice_01_tensors_exercises.ipynb", (1_000_000, 1_000_000))
    found = collect.collect(folder, notebook=NOTEBOOK, assignment="01_tensors",
                            workdir=tmp_path / "work")
    assert [item.student for item in found] == ["alice", "alice"]
    old, new = sorted(found, key=lambda item: item.superseded_by is None)
    assert old.label == "alice_01_tensors_exercises.ipynb" and new.superseded_by is None
    assert old.superseded_by == "Copy of alice.ipynb" and "superseded by" in old.notes[-1]
    assert "graded this one (the latest by file time)" in new.notes[-1]


def test_moodle_zip_times_order_resubmissions(tmp_path):
    archive = tmp_path / "moodle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name, stamp, data in (("Ann Lee_5_assignsubmission_file_/nb.ipynb",
                                   (2026, 3, 2, 9, 0, 0), "{"),
                                  ("Ann Lee_5_assignsubmission_file_ (1)/nb.ipynb",
                                   (2026, 3, 1, 9, 0, 0), "")):
            bundle.writestr(zipfile.ZipInfo(name, date_time=stamp), data)
    found = collect.collect(archive, notebook=NOTEBOOK, assignment="01_tensors",
                            workdir=tmp_path / "work")
    assert [item.student for item in found] == ["Ann_Lee_5", "Ann_Lee_5"]
    graded = [item for item in found if item.superseded_by is None]
    assert [item.label for item in graded] == ["Ann Lee_5_assignsubmission_file_/nb.ipynb"]


def test_collect_explains_a_wrong_path(tmp_path):
    with pytest.raises(settings.GradingError, match="does not exist"):
        gather(tmp_path / "nowhere", tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(settings.GradingError, match="not a zip"):
        gather(tmp_path / "notes.txt", tmp_path)


# ----------------------------------------------------------------------------- reading


@pytest.mark.parametrize("data, status, reason", [
    (b"", "empty", "empty"),
    (b"  \n\t", "empty", "empty"),
    (b'{"cells": [', "not-a-notebook", "not valid JSON"),
    (b'{"name": "not a notebook"}', "not-a-notebook", "no cells"),
    (b"%PDF-1.4\x00\xff\xfe", "not-a-notebook", "not a text file"),
])
def test_unreadable_submissions_get_a_status_and_a_reason(data, status, reason):
    notebook, found_status, found_reason = restore.read_submission(data)
    assert notebook is None and found_status == status and reason in found_reason


def test_a_notebook_saved_by_colab_reads_fine():
    data = samples.dumps(samples.as_colab_saves_it(RELEASE_01))
    notebook, status, _ = restore.read_submission(data)
    assert status == "ok" and len(notebook["cells"]) == len(RELEASE_01["cells"])


# ----------------------------------------------------------------------------- lining up


def test_metadata_stripped_by_colab_is_restored_on_the_right_cells():
    submitted = samples.submission(RELEASE_01, CORRECT)
    stripped = samples.as_colab_saves_it(submitted)
    stripped["cells"].insert(9, {"cell_type": "code", "metadata": {}, "outputs": [],
                                 "execution_count": None, "source": "print('my own test')"})
    prepared = restore.prepare(stripped, RELEASE_01)
    assert sorted(prepared.restored) == sorted(grade_id(cell) for cell in RELEASE_01["cells"])
    assert prepared.edited == [] and prepared.deleted == [] and prepared.checks_found == 7
    restored = {grade_id(cell): cell for cell in prepared.notebook["cells"] if grade_id(cell)}
    assert restored["q2_answer"]["source"] == CORRECT["q2_answer"]
    assert restored["q1_answer"]["source"] == CORRECT["q1_answer"]
    assert restored["q3_running_totals"]["metadata"]["nbgrader"]["points"] == 2
    assert not any(grade_id(cell) for cell in prepared.notebook["cells"]
                   if "my own test" in cell["source"])
    assert prepared.notebook["nbformat_minor"] == 5
    assert len({cell["id"] for cell in prepared.notebook["cells"]}) == len(stripped["cells"])


def test_stripped_metadata_an_edited_check_and_a_deleted_check_are_all_noticed():
    submitted = samples.submission(RELEASE_01, CORRECT, {
        "q4_weighted_sum": "checks.check_function(weighted_sum, [])\nprint('ok')"})
    submitted = samples.without_cell(submitted, "q5_channels_first")
    prepared = restore.prepare(samples.as_colab_saves_it(submitted), RELEASE_01)
    assert prepared.edited == ["q4_weighted_sum"]
    assert prepared.deleted == ["q5_channels_first"]
    assert "q4_weighted_sum" in prepared.restored


def test_an_intact_submission_is_left_as_it_is():
    submitted = samples.submission(RELEASE_01, CORRECT)
    prepared = restore.prepare(submitted, RELEASE_01)
    assert prepared.restored == [] and prepared.edited == [] and prepared.deleted == []
    assert [cell["source"] for cell in prepared.notebook["cells"]] == [
        cell["source"] for cell in submitted["cells"]]


def test_another_notebook_has_none_of_the_checks():
    other = {"cells": [{"cell_type": "code", "metadata": {}, "source": "print(1)",
                        "outputs": [], "execution_count": None}],
             "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert restore.prepare(other, RELEASE_01).checks_found == 0


# ----------------------------------------------------------------------------- settings


def test_assignments_are_found_by_name_number_or_notebook():
    assert settings.find_exercises(ROOT / "course_lib") == EXERCISES
    assert settings.find_assignment(EXERCISES, "01_tensors").name == "01_tensors"
    assert settings.find_assignment(EXERCISES, "01").notebook == NOTEBOOK
    assert settings.find_assignment(EXERCISES, NOTEBOOK).name == "01_tensors"
    with pytest.raises(settings.GradingError, match="known: 01_tensors"):
        settings.find_assignment(EXERCISES, "99_nothing")


def test_the_assignment_is_guessed_from_the_file_names(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "01_tensors_exercises.ipynb").write_text("{}")
    known = settings.assignments(EXERCISES)
    expected = "01_tensors" if len(known) > 1 else None
    assert batch.guess_assignment(tmp_path, known) == expected


def test_grading_runs_the_course_interpreter_quietly(tmp_path):
    env = settings.grading_environment(tmp_path, base={"PATH": "/usr/bin"})
    spec = json.loads((tmp_path / "jupyter" / "kernels" / "python3" / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    assert env["JUPYTER_PATH"].split(":")[0] == str(tmp_path / "jupyter")
    assert env["PATH"].startswith(str(settings.Path(sys.executable).parent))
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "3" and env["COURSE_PROFILE"] == "quick"


def test_nbgrader_settings_keep_deleted_checks_deleted_and_hide_hidden_tests(tmp_path):
    pytest.importorskip("nbgrader")
    config = settings.nbgrader_config(tmp_path, timeout=25)
    assert config.Execute.timeout == 25 and config.Execute.interrupt_on_timeout is True
    assert config.OverwriteCells.add_missing_cells is False
    assert config.ClearMetadataPreprocessor.enabled is False
    assert "ClearHiddenTests" in [step.__name__ for step in config.GenerateFeedback.preprocessors]
    shown = settings.nbgrader_config(tmp_path, show_hidden_tests=True)
    assert "preprocessors" not in shown.GenerateFeedback


def test_a_failed_autograde_is_explained_in_one_line():
    assert "kernel died" in worker.reason("...\nnbclient.exceptions.DeadKernelError: Kernel died")
    assert "metadata is corrupted" in worker.reason("Notebook failed to validate; the nbgrader")
    log = ("Traceback (most recent call last):\n  File x\nValueError: bad cell\n"
           "nbgrader.converters.base.NbGraderException: Please see the above traceback")
    assert worker.reason(log) == "ValueError: bad cell"
    assert worker.reason("") == "no message"


def test_a_skipped_cell_raises_and_keeps_the_submitted_code_as_comments():
    pytest.importorskip("nbgrader")
    from course_lib.grading import execute

    source = execute.skipped_source("import os\n\nos._exit(3)")
    namespace: dict = {}
    with pytest.raises(RuntimeError, match="made the kernel die"):
        exec(compile(source, "<cell>", "exec"), namespace)  # noqa: S102 - the cell as the kernel runs it
    assert "os" not in namespace  # nothing of the submitted code ran
    assert source.splitlines()[1:] == ["# The cell as submitted (not run):", "# import os", "#",
                                       "# os._exit(3)"]
    names = [step.__name__ for step in execute.autograde_preprocessors()]
    assert names[:3] == ["GuardChecks", "SkippingExecute", "UnguardChecks"]
    assert "Execute" not in names and "SaveAutoGrades" in names


def test_the_setup_cell_gets_the_start_up_allowance_and_answers_the_per_cell_limit():
    """On a busy machine TensorFlow's start in the setup cell took longer than a 25 s per-cell
    limit, and every submission of the batch failed at its first cell. The setup cell, which no
    student writes, now gets the kernel's start-up allowance; answers and checks keep the limit."""
    pytest.importorskip("nbgrader")
    import nbformat

    from course_lib.authoring import SETUP_CELL
    from course_lib.grading import execute

    release = nbformat.reads(json.dumps(RELEASE_01), as_version=4)  # as nbgrader reads it
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in release.cells}
    (setup_cell,) = [cell for cell in release.cells if execute.is_setup_cell(cell)]
    assert setup_cell.source == SETUP_CELL
    answer, check = cells["q4_answer"], cells["q4_weighted_sum"]
    runner = execute.SkippingExecute(timeout=25, startup_timeout=180)
    runner.timeout_func = runner._cell_timeout  # what preprocess() installs
    assert runner._get_timeout(setup_cell) == 180
    assert runner._get_timeout(answer) == 25 and runner._get_timeout(check) == 25
    # a student cannot buy time by calling setup in an answer
    sneaky = nbformat.from_dict({**answer, "source": "import course_lib\ncourse_lib.setup()\nwhile True: pass"})
    assert runner._get_timeout(sneaky) == 25


# ----------------------------------------------------------------------------- the command


def course(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "course_lib", *args], capture_output=True,
                          text=True, cwd=cwd)


def test_course_grade_help_lists_every_status():
    text = course("grade", "--help").stdout
    assert all(f"\n  {status}" in text for status in batch.STATUSES), text
    assert "--sandbox" in text


def test_course_grade_is_listed_and_importing_it_stays_cheap():
    assert "grade" in course("--help").stdout
    code = ("import sys, course_lib.grading.cli, course_lib.grading.batch; "
            "print([m for m in ('nbgrader', 'tensorflow') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_course_grade_explains_a_missing_folder_on_one_line(tmp_path):
    result = course("grade", str(tmp_path / "nowhere"), "--assignment", "01_tensors")
    assert result.returncode == 1
    assert result.stderr.startswith("course grade: ") and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    result = course("grade", str(tmp_path), "--timeout", "0")
    assert result.returncode == 1 and "--timeout" in result.stderr


def test_a_batch_of_unreadable_files_gets_rows_and_feedback_without_a_kernel(tmp_path):
    pytest.importorskip("nbgrader")
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("emptyed_1_1_01_tensors_exercises.ipynb", "")
        bundle.writestr("brokenbo_2_2_01_tensors_exercises.ipynb", '{"cells": [')
        bundle.writestr("otherol_3_3_01_tensors_exercises.ipynb", json.dumps(
            {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    out = tmp_path / "out"
    result = course("grade", str(archive), "--assignment", "01", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "graded 3 submissions" in result.stdout
    with open(out / "grades.csv", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert {name: row["status"] for name, row in rows.items()} == {
        "emptyed_1": "empty", "brokenbo_2": "not-a-notebook", "otherol_3": "wrong-notebook"}
    assert all(row["total"] == "0" and row["max"] == "16" for row in rows.values())
    assert "not valid JSON" in rows["brokenbo_2"]["notes"]
    page = (out / "feedback" / "brokenbo_2.html").read_text()
    assert "could not be graded" in page and "not valid JSON" in page


# ----------------------------------------------------------------------------- the sandbox


def test_the_sandbox_shows_the_kernel_only_its_folder_and_a_read_only_course_lib(tmp_path):
    from course_lib.grading import sandbox

    works, why = sandbox.available()
    if not works:
        pytest.skip(f"no sandbox here: {why}")
    (tmp_path / "mine").mkdir()
    (tmp_path / "secret.txt").write_text("the instructor's")
    source, secret = str(EXERCISES / "source"), str(tmp_path / "secret.txt")
    probe = ("import os, course_lib, pathlib; here = pathlib.Path.cwd(); "
             f"print(sorted(os.listdir(here.parent)), os.path.exists({source!r}), "
             "os.access(os.path.dirname(course_lib.__file__), os.W_OK), "
             f"os.path.exists({secret!r}), os.environ.get('SECRET_TOKEN'))")
    command = sandbox.command([sys.executable, "-c", probe], writable=[str(tmp_path / "mine")],
                              env={**os.environ, "SECRET_TOKEN": "x"})
    assert "--unshare-all" in command and "--die-with-parent" in command
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["['mine']", "False", "False", "False", "None"]
