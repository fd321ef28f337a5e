"""Errors whose message is meant for a learner or an instructor, not a developer."""

from __future__ import annotations


class CourseError(Exception):
    """Something the person at the keyboard can fix; the message says what to do.

    The ``course`` command prints it as one line without a traceback.
    """
