"""``benchmarks/full_profile.py``: every chapter's headline figures against the syllabus.

What an instructor would notice if it broke: a figure measured on a subset or on stand-in data
passed off as the reference comparison, a chapter failure that stops the whole run or vanishes
from the table, a figure read from the wrong printed line, or a bad command line answered with
a traceback.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "full_profile.py"


@pytest.fixture(scope="module")
def fp():
    spec = importlib.util.spec_from_file_location("full_profile", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


MNIST_SUBSET = {"dataset": "mnist", "title": "MNIST", "kind": "subset",
                "what": "real subset: 10,000 of MNIST's 60,000 training images, split here into "
                        "8,000 training + 2,000 test images (not MNIST's own test set)"}
MNIST_FULL = {"dataset": "mnist", "title": "MNIST", "kind": "download",
              "what": "full: 60,000 training + 10,000 test images"}
MNIST_STANDIN = {"dataset": "mnist", "title": "MNIST", "kind": "stand-in",
                 "what": "6,000 training + 1,000 test images of drawn digits, uint8 28x28"}
BOSTON_TABLE = {"dataset": "boston_housing", "title": "Boston housing", "kind": "subset",
                "what": "real, complete (506 rows): 404 training + 102 test suburbs (Keras's split)"}


def _outcome(values, sources, *, profile="full", status="ok", stdout="", error=None):
    report = {"profile": profile, "values": {key: {"value": value, "reason": None if value is not None
                                                   else "the notebook did not set it"}
                                            for key, value in values.items()},
              "sources": sources}
    return {"status": status, "error": error, "report": report, "stdout": stdout,
            "profile": profile}


# --- the data column ---------------------------------------------------------------------------

def test_data_sources_are_classified_from_the_data_layers_provenance(fp):
    assert fp.classify_source(MNIST_FULL) == "complete"
    assert fp.classify_source(MNIST_SUBSET) == "subset"
    assert fp.classify_source(MNIST_STANDIN) == "stand-in"
    # Boston's offline copy is the whole table, read through the subsets folder
    assert fp.classify_source(BOSTON_TABLE) == "complete"
    fashion = {"kind": "offline copy", "what": "full: 60,000 training + 10,000 test images"}
    assert fp.classify_source(fashion) == "complete"
    assert fp.classify_source(None) == "not loaded"
    assert fp.data_label(MNIST_SUBSET).startswith("REAL SUBSET, not the reference data: MNIST, real subset")
    assert fp.data_label(MNIST_STANDIN).startswith("STAND-IN (generated), not real data")
    assert fp.data_label(MNIST_FULL).startswith("complete data (download): MNIST, full:")


# --- bands and verdicts ------------------------------------------------------------------------

def test_only_the_full_profile_on_complete_data_is_compared_with_the_reference(fp):
    keras = fp.CHAPTERS["03"].figures[0]
    assert keras.reference == (0.978, 0.978) and keras.tolerance == pytest.approx(0.01)
    assert fp.verdict(keras, 0.975, "complete", "full") == (True, "yes")
    assert fp.verdict(keras, 0.955, "complete", "full") == (False, "no: 1.3 points below the band")
    assert fp.verdict(keras, 0.995, "complete", "full") == (False, "no: 0.7 points above the band")
    # the same value from a subset, a stand-in or the quick profile is never a yes or a no
    assert fp.verdict(keras, 0.975, "subset", "full") == (None, "n/a: real subset, not the reference data")
    assert fp.verdict(keras, 0.975, "stand-in", "full")[0] is None
    assert "stand-in" in fp.verdict(keras, 0.975, "stand-in", "full")[1]
    assert fp.verdict(keras, 0.975, "complete", "quick") == (
        None, "n/a: quick profile, not the reference comparison")
    assert fp.verdict(keras, None, "complete", "full") == (None, "-")
    scratch = fp.CHAPTERS["03"].figures[1]
    assert fp.verdict(scratch, 0.95, "complete", "full") == (
        None, "n/a: the syllabus figure is the Keras twin's")


def test_a_range_reference_is_widened_by_its_tolerance(fp):
    boston = next(f for f in fp.CHAPTERS["04"].figures if f.key == "boston_test_mae")
    assert fp.band_of(boston) == pytest.approx((2.1, 2.9))
    assert fp.verdict(boston, 2.85, "complete", "full") == (True, "yes")
    assert fp.verdict(boston, 3.0, "complete", "full") == (False, "no: 0.10 k$ above the band")
    assert fp.format_reference(boston) == "about 2.4-2.6 k$ (± 0.30 k$)"
    lstm = next(f for f in fp.CHAPTERS["09"].figures if f.key == "lstm_mae")
    assert fp.format_reference(lstm) == "about 2.55 °C (± 0.10 °C)"
    assert fp.format_value("°C", 2.5512) == "2.55 °C" and fp.format_value("%", 0.97834) == "97.83%"


def test_every_headline_figure_of_the_syllabus_has_a_row_with_a_stated_tolerance(fp):
    keys = {number: [f.key for f in chapter.figures] for number, chapter in fp.CHAPTERS.items()}
    assert keys["08"] == ["mnist_accuracy", "scratch_accuracy", "augmented_accuracy",
                          "xception_accuracy"]
    assert keys["09"] == ["baseline_mae", "dense_mae", "conv1d_mae", "lstm_mae"]
    assert len(keys["04"]) == 4 and len(keys["10"]) == 3
    for chapter in fp.CHAPTERS.values():
        for figure in chapter.figures:
            assert (figure.expression is None) != (figure.printed is None), figure.key
            assert figure.dataset in chapter.datasets, figure.key
            if figure.reference is not None:
                assert figure.tolerance > 0 and figure.why_tolerance, figure.key


# --- figures from a notebook run ---------------------------------------------------------------

def test_figures_keep_the_data_kind_and_say_why_one_was_not_run(fp):
    chapter = fp.CHAPTERS["08"]
    outcome = _outcome({"mnist_accuracy": 0.99, "scratch_accuracy": 0.71,
                        "augmented_accuracy": 0.84, "xception_accuracy": None},
                       {"mnist": MNIST_FULL, "cats_vs_dogs": {
                           "title": "Cats vs dogs", "kind": "subset",
                           "what": "real subset, 4,000 images: train 1,000 ... per class"}})
    rows = {row["key"]: row for row in fp.figure_rows(chapter, outcome)}
    assert rows["mnist_accuracy"]["verdict"] == "yes" and rows["mnist_accuracy"]["in_band"] is True
    assert rows["scratch_accuracy"]["verdict"] == "n/a: real subset, not the reference data"
    assert rows["scratch_accuracy"]["in_band"] is None
    assert rows["scratch_accuracy"]["inside_band_numerically"] is True  # kept apart, in the JSON only
    assert rows["xception_accuracy"]["value"] is None
    assert rows["xception_accuracy"]["measured"] == "not run: the notebook did not set it"


def test_a_subset_with_the_references_own_split_sizes_is_compared(fp):
    """The cats-vs-dogs figures are defined on 2,000 training photos: that layout is the protocol."""
    chapter = fp.CHAPTERS["08"]
    pets = {"title": "Cats vs dogs", "kind": "subset",
            "what": "real subset, 4,000 images: train 1,000, validation 500, test 500 per class of "
                    "Kaggle's 25,000, shrunk to <= 256 px"}
    outcome = _outcome({"mnist_accuracy": 0.985, "scratch_accuracy": 0.72,
                        "augmented_accuracy": 0.76, "xception_accuracy": None},
                       {"mnist": MNIST_SUBSET, "cats_vs_dogs": pets})
    rows = {row["key"]: row for row in fp.figure_rows(chapter, outcome)}
    assert rows["scratch_accuracy"]["verdict"] == "yes (a real subset with the reference's split sizes)"
    assert rows["scratch_accuracy"]["in_band"] is True and rows["scratch_accuracy"]["data_kind"] == "protocol"
    assert rows["scratch_accuracy"]["data"].startswith("REAL SUBSET with the reference's own split sizes")
    assert rows["augmented_accuracy"]["in_band"] is False
    assert rows["augmented_accuracy"]["verdict"].startswith("no: 4.5 points below the band")
    assert rows["mnist_accuracy"]["verdict"] == "n/a: real subset, not the reference data"  # MNIST is not


def test_a_figure_without_a_variable_is_read_from_its_own_printed_line(fp):
    chapter = fp.CHAPTERS["10"]
    stdout = ("Epoch 5/5\nunigram test accuracy: 0.887\nTF-IDF bigram test accuracy: 0.512\n"
              "bigram test accuracy: 0.903\none-hot bidirectional LSTM test accuracy: 0.870\n")
    source = {"title": "IMDB reviews as text", "kind": "download",
              "what": "full: 25,000 training + 25,000 test reviews as text"}
    rows = {row["key"]: row for row in fp.figure_rows(
        chapter, _outcome({}, {"imdb_text": source}, stdout=stdout))}
    assert rows["unigram_accuracy"]["value"] == pytest.approx(0.887)
    assert rows["bigram_accuracy"]["value"] == pytest.approx(0.903)  # not the TF-IDF line
    assert rows["bigram_accuracy"]["verdict"] == "yes"
    assert rows["transformer_accuracy"]["measured"] == "not run: the notebook did not print it"
    assert "printed line" in rows["unigram_accuracy"]["source"]


def test_a_failed_chapter_gets_a_row_with_its_error_and_keeps_what_it_measured(fp):
    chapter = fp.CHAPTERS["04"]
    error = "cell 31: DataUnavailableError: Reuters is not available offline on this machine"
    outcome = _outcome({"imdb_accuracy": 0.85, "reuters_accuracy": None}, {
        "imdb": {"title": "IMDB", "kind": "subset", "what": "real subset: 5,000 of 25,000 ..."},
        "reuters": None}, status="failed", error=error)
    rows = fp.figure_rows(chapter, outcome)
    table = fp.markdown_table([{"chapter": "04", "status": "failed", "error": error,
                                "wall_seconds": 95.2, "figures": rows},
                               {"chapter": "09", "status": "ok", "wall_seconds": 1234.0,
                                "figures": []}])
    lines = table.splitlines()
    assert lines[0] == ("| chapter | task | measured | syllabus reference | in band? | data | "
                        "chapter wall time |")
    assert f"| 04 | (whole chapter) | FAILED: {error} | - | - | - | 95 s |" in lines
    imdb = next(line for line in lines if "IMDB" in line)
    assert "| 85.00% |" in imdb and "REAL SUBSET" in imdb
    reuters = next(line for line in lines if "| Reuters 46 topics |" in line)
    assert "not run: the chapter stopped before this figure" in reuters
    assert "not loaded" not in reuters  # no data claim for a figure that was never measured
    assert all(line.count(" | ") == 6 for line in lines if not line.startswith("|---"))


def test_a_pipe_in_a_message_does_not_break_the_table(fp):
    table = fp.markdown_table([{"chapter": "10", "status": "failed", "wall_seconds": 1.0,
                                "error": "ValueError: a | b\nsecond line", "figures": []}])
    assert "FAILED: ValueError: a \\| b second line" in table
    assert len(table.splitlines()) == 3


def test_the_device_line_names_cpu_cores_and_gpu(fp):
    line = fp.device_line(["NVIDIA H100 80GB HBM3"], {"tensorflow": "2.21.0", "keras": "3.15.1"},
                          cpu="AMD EPYC", cores=16)
    assert line == ("Device: AMD EPYC (16 usable CPU cores) | GPU: NVIDIA H100 80GB HBM3 | "
                    "TensorFlow 2.21.0 | Keras 3.15.1")
    assert "GPU: none seen by TensorFlow" in fp.device_line([], cpu="x", cores=2)


# --- the report cell, run without a kernel -----------------------------------------------------

def test_the_report_cell_prints_values_and_the_reason_for_a_missing_one(fp):
    chapter = fp.CHAPTERS["09"]
    namespace = {"test_mae": {"baseline": 2.62, "dense": 2.6}, "sizes": {"days": None}}
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(fp.report_cell(chapter), "report", "exec"), namespace)
    line = next(line for line in buffer.getvalue().splitlines() if line.startswith(fp.MARK))
    report = json.loads(line[len(fp.MARK):])
    assert report["values"]["baseline_mae"] == {"value": 2.62, "reason": None}
    assert report["values"]["lstm_mae"]["value"] is None
    assert "'lstm'" in report["values"]["lstm_mae"]["reason"]
    assert report["extras"]["all_test_mae"] == {"baseline": 2.62, "dense": 2.6}
    assert set(report["sources"]) == {"jena_climate"} and report["profile"] is None
    assert "_full_profile_report" not in namespace


def test_chapter_03_swaps_its_loader_for_fashion_mnist(fp):
    notebook = fp.prepared_notebook(fp.chapter_03("fashion_mnist"),
                                    fp.notebook_path("03"))
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert sum("load_digits = course_lib.data.load_fashion_mnist" in s for s in sources) == 1
    assert not any(fp.LOADER_LINE in s for s in sources)
    assert fp.MARK in sources[-1] and "'fashion_mnist'" in sources[-1]
    assert all(not cell.outputs for cell in notebook.cells if cell.cell_type == "code")


# --- the command line --------------------------------------------------------------------------

def test_chapters_are_normalised_and_chapter_03_runs_once_per_dataset(fp):
    chosen = fp.chapters_to_run(["3", "09", "03"], ["mnist", "fashion_mnist"])
    assert [c.label for c in chosen] == ["03 (mnist)", "03 (fashion_mnist)", "09"]
    assert [c.label for c in fp.chapters_to_run(["04"], None)] == ["04"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--chapters", "05"], "chapter '05' has no headline figures; choose from 03, 04, 08, 08b, 09, 10"),
    (["--chapters", "04", "--dataset", "fashion_mnist"], "--dataset applies to chapter 03 only"),
    (["--chapters", "03", "--timeout-per-chapter", "0"], "must be a positive number"),
    (["--chapters", "03", "--profile", "huge"], "invalid choice: 'huge'"),
    ([], "the following arguments are required: --chapters"),
])
def test_a_bad_command_line_exits_2_with_a_message(fp, argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        fp.parse_args(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


# --- real kernels ------------------------------------------------------------------------------

def _tiny_notebook(folder: Path, *sources: str) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(notebook, folder / "03_tiny.ipynb")


@pytest.mark.slow
def test_a_cell_error_and_a_timeout_are_reported_and_the_kernel_keeps_what_it_measured(
        fp, tmp_path, monkeypatch):
    monkeypatch.setattr(fp, "NOTEBOOKS", tmp_path)
    _tiny_notebook(tmp_path, "import course_lib\nload_digits = course_lib.data.load_mnist\nkeras_accuracy = 0.5",
                   "raise RuntimeError('the data went missing')", "scratch_accuracy = 0.4")
    outcome = fp.run_chapter(fp.chapter_03("mnist"), "full", timeout=120)
    assert outcome["status"] == "failed"
    assert outcome["error"] == "cell 1: RuntimeError: the data went missing"
    rows = {row["key"]: row for row in fp.figure_rows(fp.chapter_03("mnist"), outcome)}
    assert rows["keras_accuracy"]["value"] == 0.5
    assert rows["scratch_accuracy"]["measured"] == "not run: the chapter stopped before this figure"

    _tiny_notebook(tmp_path, "import course_lib\nload_digits = course_lib.data.load_mnist\nkeras_accuracy = 0.6",
                   "import time\ntime.sleep(60)", "scratch_accuracy = 0.4")
    outcome = fp.run_chapter(fp.chapter_03("mnist"), "full", timeout=8)
    assert outcome["status"] == "failed" and outcome["wall_seconds"] < 40
    assert "ran past --timeout-per-chapter (8 s)" in outcome["error"]
    assert outcome["report"]["values"]["keras_accuracy"]["value"] == 0.6


@pytest.mark.slow
def test_chapter_03_quick_end_to_end_reports_both_accuracies_and_no_reference_claim(tmp_path):
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("COURSE_")}
    env.update(COURSE_OFFLINE="1", COURSE_ALLOW_STANDINS="1",
               COURSE_DATA_CACHE=str(tmp_path / "cache"), TF_CPP_MIN_LOG_LEVEL="3")
    out = tmp_path / "result.json"
    result = subprocess.run([sys.executable, str(SCRIPT), "--chapters", "03", "--profile", "quick",
                             "--json", str(out)], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=180)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    document = json.loads(out.read_text(encoding="utf-8"))
    chapter = document["chapters"][0]
    assert chapter["status"] == "ok" and chapter["wall_seconds"] > 0
    values = {row["key"]: row["value"] for row in chapter["figures"]}
    assert set(values) == {"keras_accuracy", "scratch_accuracy"}
    assert all(isinstance(v, float) and 0.5 < v <= 1.0 for v in values.values())
    keras_row = next(line for line in result.stdout.splitlines()
                     if line.startswith("| 03 (mnist) | MNIST dense 512-unit net, Keras twin"))
    assert "STAND-IN (generated), not real data" in keras_row
    assert "n/a: quick profile, not the reference comparison" in keras_row
    assert "| yes |" not in result.stdout and "| no:" not in result.stdout
    assert "Device: " in result.stdout and "usable CPU cores" in result.stdout
    assert document["table"] in result.stdout


def test_an_aborted_report_is_asked_for_again(fp, monkeypatch):
    """A request queued behind an interrupted cell comes back aborted, with no output."""
    class Kernel:
        def __init__(self, aborted):
            self.aborted, self.calls = aborted, 0

        def execute_cell(self, cell, index):
            self.calls += 1
            if self.calls > self.aborted:
                cell.outputs.append({"name": "stdout", "text": fp.MARK + "{}\n"})

    class Cell:
        outputs: list = []

    monkeypatch.setattr(fp.time, "sleep", lambda seconds: None)
    kernel = Kernel(aborted=2)
    fp.run_report(kernel, Cell(), 5)
    assert kernel.calls == 3
    monkeypatch.setattr(fp, "REPORT_TIMEOUT", -1)  # past the limit: one try, then give up
    kernel = Kernel(aborted=10)
    fp.run_report(kernel, Cell(), 5)
    assert kernel.calls == 1
