"""Autograde exercise submissions: grades.csv and HTML feedback in one command.

Give it the folder of submissions or the zip your LMS exports (Canvas, Moodle, or one folder per
student). It grades each notebook alone, in a throwaway nbgrader course directory of its own,
against the assignment's original checks, hidden tests included, with its kernel in a sandbox
(bubblewrap, on Linux: see --sandbox), and writes into --out:

  grades.csv            one row per file: status, score per question, total, max, sandbox, notes
  feedback/<id>.html    what each student sees: their notebook with every check's result
  written_answers.csv   the answers to the questions graded by hand
  grading.log           nbgrader's log, per student

Status:
  ok              graded
  kernel-died     a cell killed the kernel (exit call, crash, out of memory): skipped, the rest
                  graded
  timeout         a cell ran past --timeout: interrupted, the other cells still count
  empty           an empty file
  not-a-notebook  not a notebook (a PDF, broken JSON)
  wrong-notebook  a notebook without any of this assignment's check cells
  superseded      an earlier file of a student who submitted again (the latest is graded)
  error: <reason> nbgrader itself failed
The submission files are never modified.

Example:
  course grade ~/Downloads/submissions.zip --assignment 01_tensors --out grades-01
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from course_lib.grading.settings import DEFAULT_TIMEOUT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submissions", type=Path,
                        help="folder of submissions, or the zip downloaded from the LMS")
    parser.add_argument("--assignment", "-a",
                        help="assignment name, e.g. 01_tensors (default: the only one)")
    parser.add_argument("--out", "-o", type=Path,
                        help="output folder (default: ./grades-<assignment>)")
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT,
                        help=f"seconds a cell may run before it is interrupted "
                             f"(default {DEFAULT_TIMEOUT})")
    parser.add_argument("--jobs", "-j", type=int,
                        help="submissions graded at once (default: CPU cores, at most 4)")
    parser.add_argument("--exercises", type=Path,
                        help="the course's exercises folder (default: found from here)")
    parser.add_argument("--show-hidden-tests", action="store_true",
                        help="show the hidden tests' code in the feedback (hidden by default)")
    parser.add_argument("--sandbox", choices=("auto", "on", "off"), default="auto",
                        help="run each kernel in a bubblewrap sandbox: auto (where it works, "
                             "else warn), on (refuse without it), off (default auto)")
    parser.add_argument("--keep-workdir", action="store_true",
                        help="keep the throwaway nbgrader course folder, to inspect it")


def run(args: argparse.Namespace) -> int:
    from course_lib.errors import CourseError
    from course_lib.grading.batch import grade_batch

    if args.timeout < 1:
        raise CourseError("--timeout must be at least 1 second")
    if args.jobs is not None and args.jobs < 1:
        raise CourseError("--jobs must be at least 1")
    report = grade_batch(args.submissions, assignment=args.assignment, exercises=args.exercises,
                         out=args.out, timeout=args.timeout, jobs=args.jobs,
                         keep_workdir=args.keep_workdir,
                         show_hidden_tests=args.show_hidden_tests, sandbox_mode=args.sandbox)
    statuses = Counter(row.status.split(":")[0] for row in report.rows)
    summary = ", ".join(f"{count} {status}" for status, count in statuses.most_common())
    print(f"{report.assignment}: graded {len(report.rows)} submissions in {report.seconds:.0f} s "
          f"({summary})")
    print(f"grades:   {report.csv_path}")
    print(f"feedback: {report.out / 'feedback'}")
    return 0
