"""Print the setup report: TensorFlow and Keras versions, device and run profile."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=("quick", "full"), help="override COURSE_PROFILE")


def run(args: argparse.Namespace) -> int:
    from course_lib.runtime import ProfileError, setup

    try:
        setup(profile=args.profile)
    except ProfileError as error:
        from course_lib.errors import CourseError

        raise CourseError(str(error)) from None
    return 0
