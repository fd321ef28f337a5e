"""``benchmarks/quick_profile.py``: each chapter's time and kernel memory against a Binder budget.

What an instructor would notice if it broke: a chapter over the memory budget reported as
fitting, a failed chapter missing from the table, stand-in data passed off as real, or the
measured peak not being the kernel's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "quick_profile.py"


@pytest.fixture(scope="module")
def qp():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import quick_profile
        yield quick_profile
    finally:
        sys.path.remove(str(SCRIPT.parent))
        sys.modules.pop("quick_profile", None)
        sys.modules.pop("full_profile", None)


def test_the_budget_leaves_room_for_the_server(qp):
    assert qp.fits(1500, 2048, 150) == "yes (398 MiB spare)"
    assert qp.fits(1950, 2048, 150) == "NO (52 MiB over)"  # under 2 GB alone, not with the server
    assert qp.fits(None, 2048, 150) == "-"


def test_the_peak_is_read_from_the_kernels_own_line(qp):
    text = f"Data: MNIST, real subset\n{qp.MARK}1048576\n"
    assert qp.peak_from(text) == 1024.0
    assert qp.peak_from("no marker here") is None
    namespace: dict = {}
    exec(compile(qp.PEAK_CELL, "<cell>", "exec"), namespace)  # the appended cell runs as is  # noqa: S102


def test_data_is_labelled_by_what_it_was(qp):
    assert qp.data_kind([]) == "none loaded"
    assert qp.data_kind(["Data: MNIST, real subset: 10,000 of 60,000"]) == "real subset"
    assert qp.data_kind(["Data: Fashion-MNIST, full", "STAND-IN DATA: IMDB"]) == "real + stand-in (generated)"
    assert qp.data_kind(["STAND-IN DATA: Jena", "STAND-IN DATA: Jena"]) == "stand-in (generated)"
    assert qp.data_kind(["Data: Fashion-MNIST, full: 60,000 training"]) == "real"


def test_a_failed_chapter_keeps_its_row(qp):
    table = qp.markdown_table([
        {"notebook": "01_tensors.ipynb", "wall_seconds": 5.2, "peak_mib": 612.4, "status": "ok",
         "error": None, "data": []},
        {"notebook": "09_timeseries.ipynb", "wall_seconds": 40.0, "peak_mib": None,
         "status": "failed", "error": "DataUnavailableError: Jena | offline", "data": []},
    ], 2048, 150)
    rows = table.splitlines()
    assert len(rows) == 4
    assert rows[2] == "| 01_tensors.ipynb | 5 s | 612 MiB | yes (1,286 MiB spare) | none loaded | ok |"
    assert rows[3].startswith("| 09_timeseries.ipynb | 40 s | - | - |")
    assert "failed: DataUnavailableError: Jena / offline" in rows[3]


def test_an_unknown_chapter_is_refused_in_one_line():
    result = subprocess.run([sys.executable, str(SCRIPT), "--chapters", "99"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "no notebook for chapter '99'" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_chapter_01_runs_and_reports_its_kernel_peak(tmp_path):
    out = tmp_path / "quick.json"
    env = {**os.environ, "COURSE_PROFILE": "full"}  # the script must force the quick profile
    result = subprocess.run([sys.executable, str(SCRIPT), "--chapters", "01", "--cpus", "1",
                             "--json", str(out)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(out.read_text())
    (chapter,) = report["chapters"]
    assert chapter["notebook"] == "01_tensors.ipynb" and chapter["status"] == "ok"
    # a TensorFlow kernel holds a few hundred MiB; the runner itself holds far less
    assert 150 < chapter["peak_mib"] < report["budget_mib"]
    assert "pinned to 1 core(s)" in report["header"] and "profile quick" in report["header"]
    assert "| 01_tensors.ipynb |" in result.stdout and "yes (" in result.stdout
