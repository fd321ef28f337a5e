"""The syllabus's headline figures, measured by running the chapter notebooks themselves.

    python benchmarks/full_profile.py --chapters 03 04 08 09 10 --json results.json
    COURSE_OFFLINE=1 COURSE_DATA_SUBSETS=../shared/data python benchmarks/full_profile.py --chapters 03 04
    python benchmarks/full_profile.py --chapters 03 --dataset mnist fashion_mnist
    python benchmarks/full_profile.py --chapters 03 --profile quick        # a smoke run in seconds

Each chapter notebook (``notebooks/NN_*.ipynb``) runs top to bottom in a fresh kernel with
``COURSE_PROFILE`` set (``full`` by default: the syllabus sizes). One cell is appended that prints
a marked JSON line with the variables holding the chapter's headline figures and the data
layer's provenance of every dataset the chapter loaded. Where a notebook keeps no variable for a
figure, the figure is read from the line the notebook prints (the table says which).

The printed Markdown table has one row per figure: the measured value, the syllabus reference
with the tolerance this script allows (the syllabus says runs vary by about a point), whether
the value is in that band, the data it came from and the chapter's wall time. Only a figure
measured in the full profile on the complete data set is compared with the reference: a figure
from a real subset, from generated stand-in data or from the quick profile says so in the
"in band?" column instead of a yes or no.

``--dataset fashion_mnist`` makes, in chapter 03, the one change its section 17 suggests to a
learner: ``load_digits = course_lib.data.load_mnist`` becomes ``load_fashion_mnist`` (the
complete 60,000 + 10,000 images from Debian's ``dataset-fashion-mnist`` where it is installed).
The syllabus has no Fashion-MNIST figure, so that run is measured but not compared.

A chapter that fails (data missing in the full profile, an error in a cell, a timeout) gets a
row with the error's last line, plus any figure it measured before it stopped, and the script
goes on with the next chapter. The exit status is 1 only when every chapter failed, 2 for bad
arguments.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_lib.accel.devices import cpu_name, usable_cpu_count

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
MARK = "FULL_PROFILE_REPORT "
DEFAULT_TIMEOUT = 7200
#: Seconds the report cell may take after a chapter stopped early (it only reads variables).
REPORT_TIMEOUT = 300

# Chapter 03's loader line, and what --dataset puts in its place.
LOADER_LINE = "load_digits = course_lib.data.load_mnist"
LOADERS = {"mnist": "course_lib.data.load_mnist", "fashion_mnist": "course_lib.data.load_fashion_mnist"}

#: Data-layer provenance kinds that deliver the complete public data set.
COMPLETE_KINDS = ("cache", "mirror", "download", "offline copy")


# ---------------------------------------------------------------------------------------------
# What each chapter should reach
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    """One headline figure: where the notebook keeps it and what the syllabus promises.

    ``expression`` is evaluated in the notebook's namespace by the report cell; ``printed`` is a
    regular expression for the notebook's own output line, for a figure no variable holds.
    ``reference`` is the syllabus band ``(low, high)`` (equal for a single figure), in the
    notebook's own units (accuracies as fractions); ``tolerance`` widens it on both sides.
    """

    key: str
    task: str
    dataset: str
    unit: str  # "%" (a fraction shown as a percentage), "°C" or "k$"
    reference: tuple[float, float] | None
    tolerance: float = 0.0
    why_tolerance: str = ""
    expression: str | None = None
    printed: str | None = None
    no_reference: str = "no syllabus figure"
    #: For a reference that is itself measured on a small subset (cats vs dogs: 2,000 training
    #: photos): words of the data layer's description that show a real subset follows the same
    #: protocol, so its figure is compared with the reference.
    same_protocol: str = ""

    @property
    def source(self) -> str:
        if self.expression is not None:
            return f"variable `{self.expression}`"
        return "the notebook's printed line (no variable holds it)"


@dataclass(frozen=True)
class Chapter:
    """A chapter notebook and the figures it is run for."""

    number: str
    figures: tuple[Figure, ...]
    datasets: tuple[str, ...]
    extras: dict[str, str] = field(default_factory=dict)
    variant: str = ""  # chapter 03's --dataset

    @property
    def label(self) -> str:
        return f"{self.number} ({self.variant})" if self.variant else self.number


LARGE_TEST = "about a point, as the syllabus says (10,000 or more test samples)"
REUTERS_TEST = "1.5 points: 2,246 test newswires, so sampling alone moves it by about 0.9"
SMALL_TEST = ("3 points: 1,000 test photos and 2,000 training photos; a run moves by "
              "more than a point")
#: The syllabus's cats-vs-dogs figures come from 1,000 training, 500 validation and 500 test
#: photos per class of Kaggle's set; an offline folder with that layout is the same protocol.
PETS_PROTOCOL = "train 1,000, validation 500, test 500 per class"
JENA_BASELINE = "0.05 °C: no training, so only the data and the split can move it"
JENA_MODEL = "0.1 °C, about 4% of the baseline's error"
JENA_CONV = "0.2 °C: the 1D convnet varies most between runs"
BOSTON = "0.3 k$: 102 test suburbs, and each of the K folds has about 100 samples"


def chapter_03(dataset: str = "mnist") -> Chapter:
    """Chapter 03's dense 512-unit network, from scratch and as a Keras twin, on ``dataset``."""
    if dataset == "mnist":
        keras_reference: tuple[float, float] | None = (0.978, 0.978)
        title = "MNIST"
    else:
        keras_reference, title = None, "Fashion-MNIST"
    extras = {"epochs": "sizes.epochs", "train_images": "len(train_images)",
              "test_images": "len(test_images)", "scratch_seconds": "scratch_seconds",
              "keras_seconds": "keras_seconds"}
    figures = (
        Figure("keras_accuracy", f"{title} dense 512-unit net, Keras twin (RMSprop)", dataset, "%",
               keras_reference, 0.01, LARGE_TEST, expression="keras_accuracy",
               no_reference="the syllabus has no Fashion-MNIST figure"),
        Figure("scratch_accuracy", f"{title} dense 512-unit net, from scratch (plain SGD)",
               dataset, "%", None, expression="scratch_accuracy",
               no_reference="the syllabus figure is the Keras twin's"),
    )
    return Chapter("03", figures, (dataset,), extras, variant=dataset)


CHAPTERS: dict[str, Chapter] = {
    "03": chapter_03("mnist"),
    "04": Chapter("04", (
        Figure("imdb_accuracy", "IMDB multi-hot dense", "imdb", "%", (0.88, 0.88), 0.01,
               LARGE_TEST, expression="test_accuracy"),
        Figure("reuters_accuracy", "Reuters 46 topics", "reuters", "%", (0.80, 0.80), 0.015,
               REUTERS_TEST, expression="topic_accuracy"),
        Figure("boston_kfold_mae", "Boston housing, K-fold validation MAE (lowest mean)",
               "boston_housing", "k$", (2.4, 2.6), 0.3, BOSTON,
               expression="mean_val_mae.min()"),
        Figure("boston_test_mae", "Boston housing, test MAE of five seeds' averaged predictions "
               "(all training data)", "boston_housing", "k$", (2.4, 2.6), 0.3, BOSTON,
               expression="averaged_mae"),
    ), ("imdb", "reuters", "boston_housing"),
        {"imdb_epochs": "best_epochs", "reuters_epochs": "topic_best_epochs",
         "boston_epochs": "final_epochs", "folds": "k", "boston_seed_maes": "seed_maes"}),
    "08": Chapter("08", (
        Figure("mnist_accuracy", "MNIST convnet", "mnist", "%", (0.991, 0.991), 0.01, LARGE_TEST,
               expression="mnist_accuracy"),
        Figure("scratch_accuracy", "cats vs dogs from scratch", "cats_vs_dogs", "%", (0.70, 0.70),
               0.03, SMALL_TEST, expression="scratch_accuracy", same_protocol=PETS_PROTOCOL),
        Figure("augmented_accuracy", "cats vs dogs with augmentation and dropout", "cats_vs_dogs",
               "%", (0.835, 0.835), 0.03, SMALL_TEST, expression="augmented_accuracy",
               same_protocol=PETS_PROTOCOL),
        Figure("xception_accuracy", "cats vs dogs, mini Xception", "cats_vs_dogs", "%",
               (0.908, 0.908), 0.03, SMALL_TEST, expression="xception_accuracy",
               same_protocol=PETS_PROTOCOL),
    ), ("mnist", "cats_vs_dogs"),
        # the reuse comparison on a few labelled photos (no syllabus figure: measured, not compared)
        {"imagenet_weights_used": "imagenet_available", "few_photos": "sizes.few_photos",
         "few_photos_from_scratch": "few_scratch_accuracy",
         "few_photos_feature_extraction": "extracted_accuracy",
         "few_photos_fine_tuned": "fine_tuned_accuracy",
         # the deep stack of 12 convolutions, plain against residual + batch normalization
         "deep_stack_test_accuracy": "{name: h['val_accuracy'][-1] for name, h in stack_histories.items()}"}),
    "08b": Chapter("08b", (
        Figure("unet_mean_iou", "Oxford pets U-Net, test mean IoU", "oxford_pets", "%", None,
               expression="float(iou_of['U-Net'].mean())",
               no_reference="no syllabus figure: the chapter reports what the run measured"),
        Figure("no_skips_mean_iou", "Oxford pets, the same model without skips, test mean IoU",
               "oxford_pets", "%", None, expression="float(iou_of['no skips'].mean())",
               no_reference="no syllabus figure: the chapter reports what the run measured"),
    ), ("oxford_pets",), {"outline_iou": "{name: float(iou[2]) for name, iou in iou_of.items()}"}),
    "09": Chapter("09", (
        Figure("baseline_mae", "Jena common-sense baseline, test MAE", "jena_climate", "°C",
               (2.62, 2.62), 0.05, JENA_BASELINE, expression="test_mae['baseline']"),
        Figure("dense_mae", "Jena dense model, test MAE", "jena_climate", "°C", (2.61, 2.61),
               0.1, JENA_MODEL, expression="test_mae['dense']"),
        Figure("conv1d_mae", "Jena 1D convnet, test MAE", "jena_climate", "°C", (3.18, 3.18), 0.2,
               JENA_CONV, expression="test_mae['conv1d']"),
        Figure("lstm_mae", "Jena LSTM, test MAE", "jena_climate", "°C", (2.55, 2.55), 0.1,
               JENA_MODEL, expression="test_mae['lstm']"),
    ), ("jena_climate",), {"all_test_mae": "{name: float(mae) for name, mae in test_mae.items()}"}),
    "10": Chapter("10", (
        Figure("unigram_accuracy", "IMDB unigram bag-of-words", "imdb_text", "%", (0.888, 0.888),
               0.01, LARGE_TEST, printed=r"^unigram test accuracy: ([0-9.]+)\s*$"),
        Figure("bigram_accuracy", "IMDB bigram bag-of-words", "imdb_text", "%", (0.902, 0.902),
               0.01, LARGE_TEST, printed=r"^bigram test accuracy: ([0-9.]+)\s*$"),
        Figure("transformer_accuracy", "IMDB Transformer with positional embedding", "imdb_text",
               "%", (0.883, 0.883), 0.01, LARGE_TEST,
               printed=r"^Transformer test accuracy: ([0-9.]+)\s*$"),
    ), ("imdb_text", "spa_eng"), {
        # what the chapter prints but has no syllabus band for: kept in the report as measured
        "masked_lstm_accuracy": "float(masked_accuracy)",
        "pretrained_embedding_accuracy": "float(pretrained_accuracy)",
        "transformer_without_positions_accuracy": "float(no_positions_accuracy)",
        "held_out_next_word_accuracy": "{'transformer': float(transformer_scores['accuracy']), "
                                       "'gru': float(rnn_scores['accuracy'])}",
    }),
}


# ---------------------------------------------------------------------------------------------
# Pure parts: data labels, bands, the table
# ---------------------------------------------------------------------------------------------

def classify_source(source: dict[str, Any] | None) -> str:
    """``"complete"``, ``"subset"``, ``"stand-in"`` or ``"not loaded"`` for a provenance record.

    ``source`` holds the data layer's ``kind`` and ``what`` (see ``course_lib.data.last_source``).
    A subset that happens to be a whole table says ``"real, complete"`` in its ``what``.
    """
    if not source:
        return "not loaded"
    kind, what = source.get("kind", ""), source.get("what", "").strip().lower()
    if kind == "stand-in":
        return "stand-in"
    if what.startswith(("full", "real, complete")):
        return "complete"
    if kind == "subset" or "subset" in what:
        return "subset"
    if kind in COMPLETE_KINDS:
        return "complete"
    return "not loaded"


def data_label(source: dict[str, Any] | None, category: str | None = None) -> str:
    """What the "data" column says: the kind of data first, then the data layer's own words."""
    category = category or classify_source(source)
    if category == "not loaded":
        return "not loaded (the notebook stopped before it)" if source is None else "unknown source"
    head = {
        "complete": f"complete data ({source.get('kind', '?')})",
        "subset": "REAL SUBSET, not the reference data",
        "protocol": "REAL SUBSET with the reference's own split sizes",
        "stand-in": "STAND-IN (generated), not real data",
    }[category]
    return f"{head}: {source.get('title', source.get('dataset', ''))}, {source.get('what', '')}"


def band_of(figure: Figure) -> tuple[float, float] | None:
    """The accepted range: the syllabus band widened by the tolerance on both sides."""
    if figure.reference is None:
        return None
    low, high = figure.reference
    return low - figure.tolerance, high + figure.tolerance


def inside_band(figure: Figure, value: float | None) -> bool | None:
    """Whether ``value`` lies in the accepted range (None when there is nothing to compare)."""
    band = band_of(figure)
    if band is None or value is None or not math.isfinite(value):
        return None
    return band[0] - 1e-12 <= value <= band[1] + 1e-12


def verdict(figure: Figure, value: float | None, data_kind: str, profile: str) -> tuple[bool | None, str]:
    """The "in band?" cell: yes or no only for the full profile on complete data.

    Returns ``(in_band, text)``; ``in_band`` is None whenever the figure is not a reference
    comparison (no value, no syllabus figure, quick profile, a subset or a stand-in).
    """
    if value is None:
        return None, "-"
    if figure.reference is None:
        return None, f"n/a: {figure.no_reference}"
    if profile != "full":
        return None, f"n/a: {profile} profile, not the reference comparison"
    if data_kind == "stand-in":
        return None, "n/a: stand-in data, not the reference comparison"
    if data_kind == "subset":
        return None, "n/a: real subset, not the reference data"
    if data_kind not in ("complete", "protocol"):
        return None, "n/a: the data's source is unknown"
    inside = inside_band(figure, value)
    if inside is None:
        return None, f"no: {value} is not a number"
    same_sizes = " (a real subset with the reference's split sizes)" if data_kind == "protocol" else ""
    if inside:
        return True, "yes" + same_sizes
    low, high = band_of(figure)  # type: ignore[misc]
    side, gap = ("below", low - value) if value < low else ("above", value - high)
    return False, f"no: {format_amount(figure.unit, gap)} {side} the band{same_sizes}"


def format_value(unit: str, value: float) -> str:
    """A measured value as the table shows it: 0.9783 -> 97.83%, 2.613 -> 2.61 °C."""
    if not math.isfinite(value):
        return str(value)
    if unit == "%":
        return f"{100 * value:.2f}%"
    return f"{value:.2f} {unit}"


def format_amount(unit: str, amount: float) -> str:
    """A difference: percentage points for accuracies, the unit otherwise."""
    if unit == "%":
        return f"{100 * amount:.1f} points"
    return f"{amount:.2f} {unit}"


def format_reference(figure: Figure) -> str:
    """The "syllabus reference" cell, with this script's tolerance."""
    if figure.reference is None:
        return "-"
    low, high = figure.reference
    if figure.unit == "%":
        shown = (f"{100 * low:.1f}" if low == high else f"{100 * low:.1f}-{100 * high:.1f}") + "%"
    else:
        shown = (f"{low:.2f}" if low == high else f"{low:.1f}-{high:.1f}") + f" {figure.unit}"
    tolerance = format_amount(figure.unit, figure.tolerance)
    return f"about {shown} (± {tolerance})"


def printed_value(text: str, pattern: str) -> float | None:
    """The number on the last output line matching ``pattern`` (its first group), or None."""
    matches = re.findall(pattern, text, flags=re.MULTILINE)
    if not matches:
        return None
    try:
        return float(matches[-1])
    except ValueError:
        return None


def figure_rows(chapter: Chapter, outcome: dict[str, Any]) -> list[dict[str, Any]]:
    """One result per figure of ``chapter`` from a notebook run's ``outcome``.

    ``outcome`` holds ``status`` ("ok" or "failed"), ``error``, ``report`` (the report cell's
    JSON, or None), ``stdout`` and ``profile``.
    """
    report = outcome.get("report") or {}
    values = report.get("values", {})
    sources = report.get("sources", {})
    profile = report.get("profile") or outcome.get("profile", "")
    failed = outcome.get("status") != "ok"
    rows = []
    for figure in chapter.figures:
        value: float | None = None
        reason = ""
        if figure.expression is not None:
            entry = values.get(figure.key)
            if entry is None:
                reason = "the report cell did not run"
            elif entry.get("value") is not None:
                value = float(entry["value"])
            else:
                reason = entry.get("reason", "not set")
        else:
            value = printed_value(outcome.get("stdout", ""), figure.printed or "")
            if value is None:
                reason = "the notebook did not print it"
        if value is None and failed:
            reason = "the chapter stopped before this figure"
        source = sources.get(figure.dataset)
        kind = classify_source(source)
        if kind == "subset" and figure.same_protocol and figure.same_protocol in (source or {}).get("what", ""):
            kind = "protocol"
        in_band, text = verdict(figure, value, kind, profile)
        rows.append({
            "chapter": chapter.label, "key": figure.key, "task": figure.task,
            "value": value, "unit": figure.unit,
            "measured": format_value(figure.unit, value) if value is not None else f"not run: {reason}",
            "not_run_reason": reason or None,
            "reference": list(figure.reference) if figure.reference else None,
            "tolerance": figure.tolerance if figure.reference else None,
            "why_tolerance": figure.why_tolerance or None,
            "reference_text": format_reference(figure),
            "in_band": in_band, "verdict": text,
            "inside_band_numerically": inside_band(figure, value),
            "data_kind": kind, "data": data_label(source, kind) if value is not None else "-",
            "source": figure.source, "profile": profile,
        })
    return rows


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


TABLE_HEADER = ("| chapter | task | measured | syllabus reference | in band? | data | chapter wall time |\n"
                "|---|---|---|---|---|---|---|")


def markdown_table(chapters: Sequence[dict[str, Any]]) -> str:
    """The Markdown table: a row per figure, and a row with the error for a failed chapter."""
    lines = [TABLE_HEADER]
    for chapter in chapters:
        wall = chapter.get("wall_seconds")
        wall_text = f"{wall:,.0f} s" if isinstance(wall, (int, float)) else "-"
        if chapter.get("status") != "ok":
            lines.append("| " + " | ".join(_cell(part) for part in (
                chapter["chapter"], "(whole chapter)", f"FAILED: {chapter.get('error', '?')}",
                "-", "-", "-", wall_text)) + " |")
        for row in chapter.get("figures", []):
            lines.append("| " + " | ".join(_cell(part) for part in (
                row["chapter"], row["task"], row["measured"], row["reference_text"],
                row["verdict"], row["data"], wall_text)) + " |")
    return "\n".join(lines)


def device_line(gpus: Sequence[str], versions: dict[str, str] | None = None,
                cpu: str | None = None, cores: int | None = None) -> str:
    """The machine the figures came from: CPU model and usable cores, the GPU TensorFlow saw."""
    cpu = cpu if cpu is not None else cpu_name()
    cores = cores if cores is not None else usable_cpu_count()
    gpu = ", ".join(gpus) if gpus else "none seen by TensorFlow"
    parts = [f"Device: {cpu} ({cores} usable CPU cores) | GPU: {gpu}"]
    if versions and versions.get("tensorflow"):
        parts.append(f"TensorFlow {versions['tensorflow']}")
    if versions and versions.get("keras"):
        parts.append(f"Keras {versions['keras']}")
    return " | ".join(parts)


def environment_line(environ: dict[str, str] | None = None) -> str:
    """The course's data settings in force, for the header."""
    environ = dict(os.environ) if environ is None else environ
    names = ("COURSE_OFFLINE", "COURSE_DATA_SUBSETS", "COURSE_DATA_MIRROR", "COURSE_DATA_CACHE",
             "COURSE_ALLOW_STANDINS")
    shown = [f"{name}={environ[name]}" for name in names if environ.get(name)]
    return "data settings: " + (" ".join(shown) if shown else "none (downloads allowed)")


# ---------------------------------------------------------------------------------------------
# Running a notebook
# ---------------------------------------------------------------------------------------------

REPORT_TEMPLATE = '''\
def _full_profile_report(spec):
    import json
    import course_lib.data
    namespace = globals()

    def take(expression, as_number):
        try:
            value = eval(expression, namespace)
        except NameError as error:
            return None, f"the notebook did not set {{error.name}} (a step it skips in this setting?)"
        except KeyError as error:
            return None, f"the notebook did not store {{error.args[0]!r}} (a step it skips?)"
        except Exception as error:
            return None, f"{{expression}} failed: {{type(error).__name__}}: {{error}}"
        if not as_number:
            return value, None
        try:
            return float(value), None
        except (TypeError, ValueError):
            return None, f"{{expression}} is {{value!r}}, not a number"

    values = {{}}
    for key, expression in spec["figures"].items():
        value, reason = take(expression, True)
        values[key] = {{"value": value, "reason": reason}}
    extras = {{key: take(expression, False)[0] for key, expression in spec["extras"].items()}}
    sources = {{}}
    for name in spec["datasets"]:
        found = course_lib.data.last_source(name)
        sources[name] = None if found is None else {{
            "dataset": found.dataset, "title": found.title, "kind": found.kind,
            "what": found.what, "location": found.location, "line": found.line()}}
    run_ = namespace.get("run")
    sizes_ = namespace.get("sizes")
    report = {{
        "profile": getattr(run_, "profile", None), "device": getattr(run_, "device", None),
        "gpus": None if run_ is None else list(run_.gpus),
        "tensorflow": getattr(run_, "tensorflow_version", None),
        "keras": getattr(run_, "keras_version", None),
        "sizes": dict(sizes_) if isinstance(sizes_, dict) else None,
        "values": values, "extras": extras, "sources": sources,
    }}
    print({mark!r} + json.dumps(report, default=str))


_full_profile_report({spec!r})
del _full_profile_report
'''


def report_cell(chapter: Chapter) -> str:
    """The code appended to the notebook: prints one marked JSON line."""
    spec = {
        "figures": {f.key: f.expression for f in chapter.figures if f.expression is not None},
        "extras": dict(chapter.extras),
        "datasets": list(chapter.datasets),
    }
    return REPORT_TEMPLATE.format(mark=MARK, spec=spec)


def notebook_path(number: str) -> Path | None:
    """``notebooks/NN_*.ipynb`` for chapter ``number``, or None where it is missing."""
    found = sorted(NOTEBOOKS.glob(f"{number}_*.ipynb"))
    return found[0] if found else None


def prepared_notebook(chapter: Chapter, path: Path) -> Any:
    """The chapter notebook, outputs cleared, loader switched (chapter 03), report cell added."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    if chapter.number == "03":
        loader_cells = [cell for cell in notebook.cells
                        if cell.cell_type == "code" and LOADER_LINE in cell.source]
        if len(loader_cells) != 1:
            raise RuntimeError(f"{path.name}: expected one cell with {LOADER_LINE!r}, found "
                               f"{len(loader_cells)}; update LOADER_LINE in {Path(__file__).name}")
        loader_cells[0].source = loader_cells[0].source.replace(
            LOADER_LINE, f"load_digits = {LOADERS[chapter.variant or 'mnist']}")
    notebook.cells.append(nbformat.v4.new_code_cell(report_cell(chapter)))
    return notebook


def stdout_of(notebook: Any) -> str:
    """Everything the executed cells printed to stdout."""
    return "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.get("outputs", []) if output.get("name") == "stdout")


def one_line(text: str, limit: int = 400) -> str:
    """An error message on one line (ANSI colours removed), shortened to ``limit`` characters."""
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(text)).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def kernel_env(profile: str) -> dict[str, str]:
    """The environment of a chapter's kernel: this one, the profile set, TensorFlow quiet, no display."""
    env = {**os.environ, "COURSE_PROFILE": profile}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def run_report(client: Any, cell: Any, index: int) -> None:
    """Run the report cell until it prints its line.

    After a timeout the kernel is interrupted, but a request sent while the interrupted cell is
    still unwinding is aborted by the kernel (it drops what was queued behind an error) and
    comes back with no output: ask again, once the kernel is idle, until ``REPORT_TIMEOUT``.
    """
    give_up = time.perf_counter() + REPORT_TIMEOUT
    while True:
        cell.outputs = []
        client.execute_cell(cell, index)
        printed = any(MARK in output.get("text", "") for output in cell.outputs)
        if printed or time.perf_counter() > give_up:
            return
        time.sleep(2)


def run_chapter(chapter: Chapter, profile: str, timeout: float) -> dict[str, Any]:
    """Run ``chapter``'s notebook in a fresh kernel; return its outcome (never raises)."""
    path = notebook_path(chapter.number)
    outcome: dict[str, Any] = {"chapter": chapter.label, "number": chapter.number,
                               "dataset": chapter.variant or None, "profile": profile,
                               "notebook": _shown(path) if path else None,
                               "status": "ok", "error": None, "report": None, "stdout": ""}
    start = time.perf_counter()
    if path is None:
        outcome.update(status="failed", error=f"no notebooks/{chapter.number}_*.ipynb")
        outcome["wall_seconds"] = 0.0
        return outcome
    try:
        notebook = prepared_notebook(chapter, path)
    except Exception as error:  # a notebook this script no longer understands
        outcome.update(status="failed", error=one_line(f"{type(error).__name__}: {error}"),
                       wall_seconds=time.perf_counter() - start)
        return outcome

    from nbclient import NotebookClient

    env = kernel_env(profile)
    client = NotebookClient(notebook, kernel_name="python3", interrupt_on_timeout=True,
                            resources={"metadata": {"path": str(path.parent)}})
    deadline = start + timeout
    report_index = len(notebook.cells) - 1
    try:
        with client.setup_kernel(env=env):
            index = 0
            try:
                for index, cell in enumerate(notebook.cells[:report_index]):
                    left = deadline - time.perf_counter()
                    if left <= 0:
                        raise TimeoutError
                    client.timeout = max(1, int(left))
                    client.error_on_timeout = {
                        "ename": "Timeout", "evalue": f"the chapter ran past --timeout-per-chapter "
                        f"({timeout:,.0f} s)", "traceback": []}
                    client.execute_cell(cell, index)
            except TimeoutError:
                outcome.update(status="failed", error=f"Timeout: the chapter ran past "
                               f"--timeout-per-chapter ({timeout:,.0f} s) before cell {index}")
            except Exception as error:
                name = getattr(error, "ename", type(error).__name__)
                message = getattr(error, "evalue", str(error))
                outcome.update(status="failed",
                               error=one_line(f"cell {index}: {name}: {message}"))
            # The report runs even after a failure: it keeps what the chapter measured so far.
            client.timeout = REPORT_TIMEOUT if outcome["status"] != "ok" else max(
                REPORT_TIMEOUT, int(deadline - time.perf_counter()))
            client.error_on_timeout = None
            try:
                run_report(client, notebook.cells[report_index], report_index)
            except Exception as error:
                outcome["report_error"] = one_line(
                    f"{getattr(error, 'ename', type(error).__name__)}: {getattr(error, 'evalue', error)}")
                if outcome["status"] == "ok":
                    outcome.update(status="failed", error=f"report cell: {outcome['report_error']}")
    except Exception as error:  # the kernel did not start, or died
        outcome["kernel_error"] = one_line(f"{type(error).__name__}: {error}")
        if outcome["status"] == "ok":
            outcome.update(status="failed", error=f"kernel: {outcome['kernel_error']}")
    outcome["wall_seconds"] = time.perf_counter() - start
    text = stdout_of(notebook)
    outcome["stdout"] = text
    for line in text.splitlines():
        if line.startswith(MARK):
            outcome["report"] = json.loads(line[len(MARK):])
    outcome["data_lines"] = [line for line in text.splitlines()
                             if line.startswith("Data:") or "STAND-IN DATA" in line]
    return outcome


def detect_gpus() -> list[str]:
    """GPU names TensorFlow sees, asked in a child process (used when no chapter reported them)."""
    code = ("import os; os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3'); import tensorflow as tf; "
            "[print(tf.config.experimental.get_device_details(d).get('device_name', d.name)) "
            "for d in tf.config.list_physical_devices('GPU')]")
    try:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                timeout=300)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line for line in result.stdout.splitlines() if line.strip()] if result.returncode == 0 else []


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

class ArgumentError(Exception):
    """A bad command line; the message says what to change."""


def chapters_to_run(numbers: Sequence[str], datasets: Sequence[str] | None) -> list[Chapter]:
    """The chapters asked for, in order, chapter 03 once per ``--dataset``."""
    chosen: list[Chapter] = []
    seen: set[str] = set()
    for raw in numbers:
        number = raw.strip().zfill(2)
        if number not in CHAPTERS:
            raise ArgumentError(f"chapter {raw!r} has no headline figures; choose from "
                                f"{', '.join(CHAPTERS)}")
        if number in seen:
            continue
        seen.add(number)
        if number == "03":
            chosen.extend(chapter_03(dataset) for dataset in (datasets or ["mnist"]))
        else:
            chosen.append(CHAPTERS[number])
    if datasets and "03" not in seen:
        raise ArgumentError("--dataset applies to chapter 03 only: add 03 to --chapters")
    return chosen


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line; a bad one exits with status 2 and a one-line message."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--chapters", nargs="+", required=True, metavar="NN",
                        help=f"chapters to run: {', '.join(CHAPTERS)}")
    parser.add_argument("--profile", choices=("quick", "full"), default="full",
                        help="run profile for every chapter (default: full)")
    parser.add_argument("--json", type=Path, help="also write every result to this file")
    parser.add_argument("--timeout-per-chapter", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                        help=f"seconds one chapter may take in all (default {DEFAULT_TIMEOUT})")
    parser.add_argument("--dataset", nargs="+", choices=sorted(LOADERS), default=None,
                        help="chapter 03 only: the data its digit networks train on (default mnist)")
    args = parser.parse_args(argv)
    if not args.timeout_per_chapter > 0:
        parser.error("--timeout-per-chapter must be a positive number of seconds")
    if args.json is not None and args.json.parent and not args.json.parent.exists():
        parser.error(f"--json: the folder {args.json.parent} does not exist")
    try:
        args.chapter_list = chapters_to_run(args.chapters, args.dataset)
    except ArgumentError as error:
        parser.error(str(error))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"{environment_line()} | profile {args.profile} | "
          f"{len(args.chapter_list)} notebook run(s), at most {args.timeout_per_chapter:,.0f} s each",
          flush=True)
    chapters = []
    for chapter in args.chapter_list:
        path = notebook_path(chapter.number)
        print(f"chapter {chapter.label}: running {_shown(path) if path else '?'} ...", flush=True)
        outcome = run_chapter(chapter, args.profile, args.timeout_per_chapter)
        outcome["figures"] = figure_rows(chapter, outcome)
        for line in outcome.get("data_lines", []):
            print(f"  {line}")
        status = "ok" if outcome["status"] == "ok" else f"FAILED: {outcome['error']}"
        print(f"chapter {chapter.label}: {status} ({outcome['wall_seconds']:,.0f} s)", flush=True)
        chapters.append(outcome)

    reports = [chapter["report"] for chapter in chapters if chapter.get("report")]
    gpus = next((report["gpus"] for report in reports if report.get("gpus") is not None), None)
    if gpus is None:
        gpus = detect_gpus()
    versions = {"tensorflow": next((r["tensorflow"] for r in reports if r.get("tensorflow")), ""),
                "keras": next((r["keras"] for r in reports if r.get("keras")), "")}
    header = device_line(gpus, versions)
    table = markdown_table(chapters)
    print()
    print(f"{header} | profile {args.profile} | {environment_line()}")
    print()
    print(table)
    failed = [chapter for chapter in chapters if chapter["status"] != "ok"]
    if args.json:
        document = {
            "device": header, "cpu": cpu_name(), "usable_cpu_count": usable_cpu_count(),
            "gpus": gpus, **versions, "profile": args.profile,
            "data_settings": environment_line(),
            "chapters": [{**{key: value for key, value in chapter.items() if key != "stdout"},
                          "stdout_tail": chapter.get("stdout", "")[-3000:]}
                         for chapter in chapters],
            "table": table,
        }
        args.json.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    if chapters and len(failed) == len(chapters):
        print(f"\nevery chapter failed ({len(failed)} of {len(chapters)})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
