"""Does every chapter fit a Binder session in the quick profile? Time and peak memory per notebook.

    python benchmarks/quick_profile.py                      # every chapter, as the machine is
    python benchmarks/quick_profile.py --cpus 1             # pinned to one core, like Binder
    python benchmarks/quick_profile.py --chapters 01 08 --json benchmarks/results/quick-profile.json

The promise it checks (README, "Profiles"): on a CPU laptop or Binder (about 2 GB of memory, one
or two shared cores, no GPU) any chapter runs in a few minutes in the quick profile. Each chapter
notebook runs top to bottom in a fresh kernel with ``COURSE_PROFILE=quick``; a cell appended at
the end prints the kernel's peak resident memory (``getrusage``: the most the kernel process
ever held, TensorFlow's threads included). The table shows, per chapter, the wall time (kernel
start included), that peak, and whether it fits the memory budget (``--memory-mib``, default
2,048) with room for the Jupyter server beside it (``--server-mib``, default 150 MiB, about what
a JupyterLab server holds).

``--cpus N`` pins this process, and so every kernel it starts, to N cores before anything runs.
Data comes from wherever the data layer finds it; with ``COURSE_ALLOW_STANDINS=1`` and no real
data, chapters run on stand-ins of the same shapes (the table says which data each used).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from full_profile import NOTEBOOKS, device_line, environment_line, kernel_env, one_line, stdout_of  # noqa: E402

MARK = "QUICK_PROFILE_PEAK_KIB "
PEAK_CELL = f"import resource\nprint({MARK!r} + str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))"
DEFAULT_BUDGET_MIB = 2048
DEFAULT_SERVER_MIB = 150


def chapter_notebooks(numbers: Sequence[str] | None = None) -> list[Path]:
    """``notebooks/NN_*.ipynb`` (``NNx_*`` too, e.g. ``08b_``) for the chapters asked for (all of
    them by default), in order."""
    found = sorted(NOTEBOOKS.glob("[0-9][0-9]*_*.ipynb"))
    if not numbers:
        return found
    chosen = []
    for number in numbers:
        matches = [path for path in found if path.name.startswith(f"{number}_")]
        if not matches:
            raise SystemExit(f"quick_profile.py: no notebook for chapter {number!r}; "
                             f"chapters here: {', '.join(path.name.split('_')[0] for path in found)}")
        chosen.extend(matches)
    return chosen


def peak_from(text: str) -> float | None:
    """The kernel's peak resident memory in MiB, from the line the appended cell printed."""
    for line in text.splitlines():
        if line.startswith(MARK):
            return int(line[len(MARK):].strip()) / 1024  # Linux reports KiB
    return None


def fits(peak_mib: float | None, budget_mib: float, server_mib: float) -> str:
    """``yes``/``NO`` against the budget, with the headroom left for the notebook server."""
    if peak_mib is None:
        return "-"
    left = budget_mib - server_mib - peak_mib
    return f"yes ({left:,.0f} MiB spare)" if left >= 0 else f"NO ({-left:,.0f} MiB over)"


def run_notebook(path: Path, timeout: float) -> dict[str, Any]:
    """Run one chapter in the quick profile in a fresh kernel; never raises."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.cells.append(nbformat.v4.new_code_cell(PEAK_CELL))
    env = kernel_env("quick")
    client = NotebookClient(notebook, kernel_name="python3", timeout=int(timeout),
                            resources={"metadata": {"path": str(path.parent)}})
    outcome: dict[str, Any] = {"notebook": path.name, "status": "ok", "error": None}
    start = time.perf_counter()
    try:
        with client.setup_kernel(env=env):
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
    except Exception as error:  # report the chapter, go on with the next one
        name = getattr(error, "ename", type(error).__name__)
        outcome.update(status="failed", error=one_line(f"{name}: {getattr(error, 'evalue', error)}"))
    outcome["wall_seconds"] = time.perf_counter() - start
    text = stdout_of(notebook)
    outcome["peak_mib"] = peak_from(text)
    outcome["data"] = sorted({line.strip() for line in text.splitlines()
                              if line.startswith("Data:") or "STAND-IN DATA" in line})
    return outcome


def data_kind(lines: Sequence[str]) -> str:
    """What data a chapter used: real, real subset, stand-in (generated), or several of them."""
    kinds = []
    for line in lines:
        kind = ("stand-in (generated)" if "STAND-IN" in line
                else "real subset" if "subset" in line else "real")
        if kind not in kinds:
            kinds.append(kind)
    return " + ".join(kinds) if kinds else "none loaded"


def markdown_table(outcomes: Sequence[dict[str, Any]], budget_mib: float, server_mib: float) -> str:
    lines = [f"| chapter | wall time | kernel peak memory | fits {budget_mib:,.0f} MiB? | data | status |",
             "|---|---|---|---|---|---|"]
    for item in outcomes:
        peak = item.get("peak_mib")
        lines.append(" | ".join([
            f"| {item['notebook']}", f"{item['wall_seconds']:,.0f} s",
            f"{peak:,.0f} MiB" if peak is not None else "-",
            fits(peak, budget_mib, server_mib), data_kind(item.get("data", [])),
            (item["status"] if not item.get("error") else f"failed: {item['error']}").replace("|", "/"),
        ]) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", nargs="+", metavar="NN", help="chapter numbers (default: all)")
    parser.add_argument("--cpus", type=int, help="pin every kernel to this many cores")
    parser.add_argument("--memory-mib", type=float, default=DEFAULT_BUDGET_MIB)
    parser.add_argument("--server-mib", type=float, default=DEFAULT_SERVER_MIB)
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per cell")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    notebooks = chapter_notebooks(args.chapters)
    if args.cpus:
        available = sorted(os.sched_getaffinity(0))
        if not 1 <= args.cpus <= len(available):
            parser.error(f"--cpus {args.cpus}: this machine lets this process use {len(available)}")
        os.sched_setaffinity(0, set(available[: args.cpus]))
    outcomes = []
    for path in notebooks:
        outcome = run_notebook(path, args.timeout)
        outcomes.append(outcome)
        peak = outcome["peak_mib"]
        print(f"{path.name}: {outcome['status']}, {outcome['wall_seconds']:,.0f} s, peak "
              f"{'-' if peak is None else f'{peak:,.0f} MiB'}", flush=True)
    header = (device_line([]) + f" | pinned to {len(os.sched_getaffinity(0))} core(s) | "
              f"profile quick | {environment_line()} | load average "
              + " ".join(f"{value:.2f}" for value in os.getloadavg()))
    print()
    print(header)
    print()
    print(markdown_table(outcomes, args.memory_mib, args.server_mib))
    slowest = max(outcomes, key=lambda item: item["wall_seconds"])
    print(f"\nslowest: {slowest['notebook']} ({slowest['wall_seconds']:,.0f} s); runner's own "
          f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps({"header": header, "budget_mib": args.memory_mib,
                                         "server_mib": args.server_mib, "chapters": outcomes},
                                        indent=2) + "\n", encoding="utf-8")
    return 0 if all(item["status"] == "ok" for item in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
