"""How long `course grade` takes on a class of chapter 01 submissions.

    .venv/bin/python benchmarks/grade_benchmark.py            # 30 submissions
    .venv/bin/python benchmarks/grade_benchmark.py --count 60 --jobs 4
    .venv/bin/python benchmarks/grade_benchmark.py --sandbox off   # kernels not sandboxed

Generates N submissions of the chapter 01 exercises (right answers, some questions wrong, some
saved by Colab without nbgrader's metadata), grades them with the same code as `course grade`,
checks every total, and prints the wall time, the time per submission and the machine. The goal
is 30 submissions in under 5 minutes on a 2-core machine. On a shared machine the figure depends
on what else runs: the load average before and after is printed with it.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_lib.accel.devices import cpu_name, usable_cpu_count  # noqa: E402
from course_lib.grading import samples, settings  # noqa: E402
from course_lib.grading.batch import default_jobs, grade_batch  # noqa: E402

GOAL_SECONDS, GOAL_COUNT, GOAL_CORES = 300, 30, 2


def load() -> str:
    try:
        return " ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def make_class(folder: Path, count: int, seed: int) -> dict[str, float]:
    """Write ``count`` submissions into ``folder``; return each student's expected total."""
    exercises = ROOT / "exercises"
    source = samples.read(exercises / "source" / "01_tensors" / "01_tensors_exercises.ipynb")
    student = samples.read(exercises / "release" / "01_tensors" / "01_tensors_exercises.ipynb")
    right = {**samples.solutions(source), "q8_written": samples.WRITTEN_ANSWER}
    rng = random.Random(seed)
    expected = {}
    for number in range(count):
        wrong = rng.sample(sorted(samples.WRONG_01), k=rng.choice((0, 0, 1, 2, 3)))
        notebook = samples.submission(student, right, {name: samples.WRONG_01[name]
                                                       for name in wrong})
        if number % 5 == 4:
            notebook = samples.as_colab_saves_it(notebook)
        name = f"student{number + 1:03d}"
        (folder / name).mkdir(parents=True)
        (folder / name / "01_tensors_exercises.ipynb").write_bytes(samples.dumps(notebook))
        expected[name] = 12.0 - 2.0 * len(wrong)
    return expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=GOAL_COUNT, help="submissions (default 30)")
    parser.add_argument("--jobs", type=int, default=None,
                        help=f"submissions graded at once (default {default_jobs()} here)")
    parser.add_argument("--timeout", type=int, default=settings.DEFAULT_TIMEOUT,
                        help="seconds per cell")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quiet", action="store_true", help="no line per submission")
    parser.add_argument("--sandbox", choices=("auto", "on", "off"), default="auto",
                        help="run the kernels in the bubblewrap sandbox (default auto: where it "
                             "works)")
    args = parser.parse_args()

    import nbgrader

    cores = usable_cpu_count()
    print(f"machine: {cpu_name()}, {cores} usable cores ({os.cpu_count()} in total), "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
          f"nbgrader {nbgrader.__version__}")
    with tempfile.TemporaryDirectory(prefix="grade-benchmark-") as tmp:
        submissions = Path(tmp) / "submissions"
        expected = make_class(submissions, args.count, args.seed)
        load_before = load()
        started = time.perf_counter()
        report = grade_batch(submissions, assignment="01_tensors", out=Path(tmp) / "out",
                             timeout=args.timeout, jobs=args.jobs, sandbox_mode=args.sandbox,
                             echo=(lambda line: None) if args.quiet else print)
        wall = time.perf_counter() - started
        load_after = load()
    wrong = [f"{row.student}: {row.status} {row.total:g} (expected {expected[row.student]:g})"
             for row in report.rows if row.status != "ok" or row.total != expected[row.student]]
    per_row = [row.seconds for row in report.rows]
    print(f"graded {len(report.rows)} submissions with {report.jobs} at once in {wall:.1f} s: "
          f"{wall / len(report.rows):.1f} s per submission overall; one submission takes "
          f"{statistics.median(per_row):.1f} s (median, {min(per_row):.1f}-{max(per_row):.1f})")
    print(f"load average before: {load_before}; after: {load_after}; sandbox: "
          f"{report.rows[0].sandbox if report.rows else 'n/a'}")
    if args.count == GOAL_COUNT:
        verdict = "met" if wall < GOAL_SECONDS else "missed"
        print(f"goal ({GOAL_COUNT} in under {GOAL_SECONDS} s on {GOAL_CORES} cores): {verdict} "
              f"on {cores} cores")
    if wrong:
        print("unexpected results:\n  " + "\n  ".join(wrong))
        return 1
    print("every total as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
