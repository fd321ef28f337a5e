"""Errors of the data layer. Each message says what happened and what to do next.

All of them are :class:`course_lib.errors.CourseError`, so the ``course`` command prints them on
one line and a notebook shows the message without a wall of internals.
"""

from __future__ import annotations

from course_lib.errors import CourseError


class DataError(CourseError):
    """A dataset could not be loaded; the message says what to do."""


class UnknownDatasetError(DataError, KeyError):
    """A dataset name that is not in the registry (the message lists the known ones)."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""


class DataUnavailableError(DataError):
    """No source could provide the dataset on this machine now."""


class DownloadError(DataError):
    """A download failed for good (after its retries, or at once for a permanent error)."""

    def __init__(self, message: str, *, transient: bool = False, status: int | None = None):
        super().__init__(message)
        #: True when the attempts failed on the network or the server (worth trying later).
        self.transient = transient
        #: The HTTP status of a refused request (404 means: no such file there).
        self.status = status


class ChecksumError(DataError):
    """A file's size or digest is not the published one."""


class MirrorError(DataError):
    """``COURSE_DATA_MIRROR`` names something that cannot be used."""
