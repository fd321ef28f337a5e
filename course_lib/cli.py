"""The ``course`` command.

Each subcommand lives in the module named in :data:`SUBCOMMANDS`, which provides:

* a module docstring whose first line is the subcommand's help,
* ``add_arguments(parser: argparse.ArgumentParser) -> None``,
* ``run(args: argparse.Namespace) -> int`` (the exit status).

Those modules keep heavy imports (TensorFlow, nbgrader) inside ``run`` so that ``course --help``
answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from course_lib.errors import CourseError

SUBCOMMANDS = {
    "info": "course_lib.cli_info",
    "data": "course_lib.data.cli",
    "grade": "course_lib.grading.cli",
    "doctor": "course_lib.accel.doctor",
    "nb": "course_lib.authoring",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course", description="The TensorFlow and Keras workbook's command-line helpers."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):
                continue  # that part of the course is not installed in this copy
            raise
        help_line = (module.__doc__ or name).strip().splitlines()[0]
        sub = subparsers.add_parser(name, help=help_line, description=module.__doc__,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except CourseError as error:
        print(f"course {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
