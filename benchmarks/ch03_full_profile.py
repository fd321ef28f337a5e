"""Chapter 03's digit networks in the full profile: test accuracy of the from-scratch network and
of its Keras twin, measured by running the chapter notebook itself.

    COURSE_DATA_SUBSETS=../shared/data python benchmarks/ch03_full_profile.py
    python benchmarks/ch03_full_profile.py --dataset fashion_mnist --profile full
    python benchmarks/ch03_full_profile.py --dataset mnist fashion_mnist --json results.json

The notebook runs top to bottom in a fresh kernel with ``COURSE_PROFILE`` set (``full`` by
default: 5 epochs, up to 60,000 training images). ``--dataset fashion_mnist`` makes the one
change section 17 of the chapter suggests to a learner: ``load_digits`` becomes
``course_lib.data.load_fashion_mnist`` (the complete 60,000 + 10,000 images from Debian's
``dataset-fashion-mnist`` where it is installed). MNIST comes from wherever the data layer finds
it: the full download, or the real 10,000-digit subset under ``COURSE_DATA_SUBSETS`` (split into
train and test by the data layer, which says so in its line).

Printed per dataset: the data layer's provenance line, the number of training and test images,
both test accuracies and both training times, and the notebook's wall time. The syllabus
reference for the Keras twin on the complete MNIST (5 epochs) is about 97.8%.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from course_lib.accel.devices import cpu_name

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "03_linear_classifier.ipynb"
LOADER_LINE = "load_digits = course_lib.data.load_mnist"
LOADERS = {"mnist": "course_lib.data.load_mnist", "fashion_mnist": "course_lib.data.load_fashion_mnist"}
MARK = "CH03_RESULT "
REPORT_CELL = f"""\
import json
print({MARK!r} + json.dumps({{
    "profile": run.profile, "epochs": sizes.epochs,
    "train_images": len(train_images), "test_images": len(test_images),
    "scratch_accuracy": float(scratch_accuracy), "scratch_seconds": scratch_seconds,
    "keras_accuracy": float(keras_accuracy), "keras_seconds": keras_seconds,
}}))"""


def _notebook_for(dataset: str) -> Any:
    """The chapter notebook with its loader switched to ``dataset`` and a reporting cell added."""
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    loader_cells = [cell for cell in notebook.cells
                    if cell.cell_type == "code" and LOADER_LINE in cell.source]
    if len(loader_cells) != 1:
        sys.exit(f"{NOTEBOOK.name}: expected one cell with {LOADER_LINE!r}; update this script")
    loader_cells[0].source = loader_cells[0].source.replace(LOADER_LINE,
                                                            f"load_digits = {LOADERS[dataset]}")
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT_CELL))
    return notebook


def _stdout_of(notebook: Any) -> str:
    return "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.get("outputs", []) if output.get("name") == "stdout")


def measure(dataset: str, timeout: int) -> dict[str, Any]:
    """Run the notebook on ``dataset``; return the accuracies, timings and provenance."""
    from nbclient import NotebookClient

    notebook = _notebook_for(dataset)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    wall = time.perf_counter() - start
    text = _stdout_of(notebook)
    result = json.loads(text.split(MARK, 1)[1].splitlines()[0])
    result["dataset"] = dataset
    result["notebook_seconds"] = wall
    result["data_lines"] = [line for line in text.splitlines()
                            if line.startswith("Data:") or "STAND-IN" in line]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", nargs="+", choices=sorted(LOADERS), default=["mnist"])
    parser.add_argument("--profile", choices=("quick", "full"), default="full")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per notebook cell")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    os.environ["COURSE_PROFILE"] = args.profile
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("MPLBACKEND", "Agg")
    print(f"machine: {cpu_name()}, {os.cpu_count()} CPU cores; "
          f"COURSE_DATA_SUBSETS={os.environ.get('COURSE_DATA_SUBSETS', '(unset)')}")
    results = []
    for dataset in args.dataset:
        result = measure(dataset, args.timeout)
        results.append(result)
        for line in result["data_lines"]:
            print(line)
        print(f"{dataset} ({result['profile']} profile, {result['epochs']} epochs, "
              f"{result['train_images']:,} train / {result['test_images']:,} test images): "
              f"from scratch {result['scratch_accuracy']:.2%} ({result['scratch_seconds']:.1f} s), "
              f"Keras {result['keras_accuracy']:.2%} ({result['keras_seconds']:.1f} s); "
              f"notebook {result['notebook_seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
