"""Verified downloads with the standard library only (``urllib``), so they work everywhere.

A download goes to a temporary file beside its destination and is moved into place only once
its size and digest match the published ones: an interrupted or corrupt transfer never leaves
a file in the cache. Transient failures (connection reset or refused, a cut-off transfer, a
timeout, HTTP 5xx or 429) are retried with growing pauses; permanent ones (404, 403, a digest
that does not match) are not.

The progress bar is plain text: one line redrawn in place in a terminal or a notebook, and only
a start and an end line where the output is neither (a log file, CI).
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import shutil
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from course_lib.data.errors import ChecksumError, DownloadError
from course_lib.data.registry import RemoteFile

#: Pauses, in seconds, before the 2nd, 3rd, ... attempt; its length is the number of retries.
RETRY_DELAYS: tuple[float, ...] = (1.0, 3.0, 9.0)
#: Seconds to wait for a connection or for the next bytes of a transfer.
TIMEOUT = 30.0
CHUNK = 1 << 20
USER_AGENT = "course-lib-data/0.1 (Python urllib)"


# --------------------------------------------------------------------------------------------
# digests and verification


@dataclass(frozen=True)
class Digests:
    size: int
    sha256: str
    md5: str


def file_digests(path: Path) -> Digests:
    """Size, SHA-256 and MD5 of a file, read once."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            sha.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return Digests(size, sha.hexdigest(), md5.hexdigest())


def mismatch(remote: RemoteFile, found: Digests) -> str | None:
    """Say how ``found`` differs from what ``remote`` publishes, or ``None`` when it matches."""
    if remote.size is not None and found.size != remote.size:
        return f"size: expected {remote.size:,} bytes, found {found.size:,}"
    if remote.sha256 and found.sha256 != remote.sha256:
        return f"SHA-256: expected {remote.sha256}, found {found.sha256}"
    if remote.md5 and found.md5 != remote.md5:
        return f"MD5: expected {remote.md5}, found {found.md5}"
    return None


def set_aside(path: Path) -> Path:
    """Move a bad file out of the way (``NAME.corrupt``, replacing an older one) and return where."""
    aside = path.with_name(path.name + ".corrupt")
    os.replace(path, aside)
    return aside


# --------------------------------------------------------------------------------------------
# progress


def _in_notebook() -> bool:
    return "ipykernel" in sys.modules


class Progress:
    """A one-line text progress bar: ``name [#####.....]  45%  5.2/11.5 MB  3.1 MB/s``."""

    def __init__(self, label: str, total: int | None, stream: IO[str] | None = None,
                 live: bool | None = None, width: int = 30):
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        if live is None:
            isatty = getattr(self.stream, "isatty", lambda: False)
            live = bool(isatty()) or _in_notebook()
        self.live = live
        self.width = width
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = 0.0
        if not self.live:
            size = f" ({_megabytes(total)})" if total else ""
            print(f"Downloading {label}{size} ...", file=self.stream, flush=True)

    def update(self, amount: int) -> None:
        self.done += amount
        now = time.monotonic()
        if self.live and now - self._last_draw >= 0.1:
            self._last_draw = now
            self._draw(final=False)

    def _draw(self, final: bool) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = f"{self.done / elapsed / 1e6:.1f} MB/s"
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            filled = int(fraction * self.width)
            bar = "#" * filled + "." * (self.width - filled)
            text = (f"{self.label} [{bar}] {fraction:4.0%} "
                    f"{self.done / 1e6:.1f}/{self.total / 1e6:.1f} MB {rate}")
        else:
            text = f"{self.label} {self.done / 1e6:.1f} MB {rate}"
        end = "\n" if final else ""
        print(f"\r{text}", end=end, file=self.stream, flush=True)

    def close(self, ok: bool) -> None:
        if self.live:
            self._draw(final=True)
        elif ok:
            elapsed = time.monotonic() - self.started
            print(f"Downloaded {self.label}: {_megabytes(self.done)} in {elapsed:.1f} s",
                  file=self.stream, flush=True)


def _megabytes(size: int | None) -> str:
    return f"{(size or 0) / 1e6:.1f} MB"


# --------------------------------------------------------------------------------------------
# the transfer


class _Transient(Exception):
    """A failure worth another attempt."""


def _classify(error: BaseException, url: str) -> tuple[bool, str]:
    """Return ``(transient, reason in words)`` for an exception raised by a transfer."""
    if isinstance(error, urllib.error.HTTPError):
        transient = error.code >= 500 or error.code in (408, 429)
        return transient, f"the server answered HTTP {error.code} {error.reason}"
    if isinstance(error, _Transient):
        return True, str(error)
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, socket.gaierror):
        return False, f"the host of {url} could not be looked up (no network?)"
    if isinstance(reason, OSError) and reason.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return False, "the network is unreachable"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return True, "the connection timed out"
    if isinstance(reason, (ConnectionError, http.client.HTTPException, OSError)):
        return True, f"the connection failed ({reason.__class__.__name__}: {reason})"
    return False, f"{reason.__class__.__name__}: {reason}"


def _transfer(url: str, handle: IO[bytes], label: str, expected_size: int | None,
              timeout: float, stream: IO[str] | None, live: bool | None) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length_header = response.headers.get("Content-Length")
        announced = int(length_header) if length_header and length_header.isdigit() else None
        progress = Progress(label, announced or expected_size, stream=stream, live=live)
        received = 0
        ok = False
        try:
            while chunk := response.read(CHUNK):
                handle.write(chunk)
                received += len(chunk)
                progress.update(len(chunk))
            ok = announced is None or received == announced
        finally:
            progress.close(ok)
    if announced is not None and received != announced:
        # http.client returns what it got when the server closes early; it does not raise.
        raise _Transient(
            f"the transfer was cut off after {received:,} of {announced:,} bytes"
        )


def download(remote: RemoteFile, destination: Path, *, url: str | None = None,
             delays: Sequence[float] | None = None, timeout: float | None = None,
             stream: IO[str] | None = None, live: bool | None = None,
             sleep: Callable[[float], None] = time.sleep) -> Path:
    """Download ``remote`` (from ``url``, default its origin) to ``destination``, verified.

    The bytes go to a temporary file in the destination's folder; it is checked against the
    published size and digests and only then renamed to ``destination``. Transient failures
    are retried after each pause in ``delays`` (default :data:`RETRY_DELAYS`).

    Raises :class:`DownloadError` when every attempt failed and :class:`ChecksumError` when the
    bytes arrived but are not the published ones (nothing is written to ``destination``).
    """
    url = url or remote.url
    delays = RETRY_DELAYS if delays is None else tuple(delays)
    timeout = TIMEOUT if timeout is None else timeout
    destination.parent.mkdir(parents=True, exist_ok=True)
    attempts = len(delays) + 1
    last_reason = ""
    for attempt in range(attempts):
        if attempt:
            print(f"Retrying {remote.name} in {delays[attempt - 1]:g} s "
                  f"(attempt {attempt + 1} of {attempts}): {last_reason}",
                  file=stream if stream is not None else sys.stderr, flush=True)
            sleep(delays[attempt - 1])
        handle = tempfile.NamedTemporaryFile(
            dir=destination.parent, prefix=f".{destination.name}.", suffix=".part", delete=False
        )
        temporary = Path(handle.name)
        try:
            try:
                with handle:
                    _transfer(url, handle, remote.name, remote.size, timeout, stream, live)
                    handle.flush()
                    os.fsync(handle.fileno())
            except Exception as error:  # sorted into transient and permanent just below
                transient, last_reason = _classify(error, url)
                if transient:
                    continue
                raise DownloadError(
                    f"could not download {remote.name} from {url}: {last_reason}.",
                    status=getattr(error, "code", None),
                ) from None
            problem = mismatch(remote, file_digests(temporary))
            if problem:
                raise ChecksumError(
                    f"{remote.name} downloaded from {url} is not the published file ({problem}); "
                    "the download was deleted and nothing was cached. Try again later; if it "
                    "persists the file at that address has changed: set COURSE_DATA_MIRROR to "
                    "a folder or URL with the published copy, and report it to the course."
                )
            os.replace(temporary, destination)
            return destination
        finally:
            temporary.unlink(missing_ok=True)
    raise DownloadError(
        f"could not download {remote.name} from {url} after {attempts} attempts: {last_reason}. "
        "Check the network and try again, or set COURSE_DATA_MIRROR to a folder or URL "
        "holding a copy.",
        transient=True,
    )


def copy_verified(remote: RemoteFile, source: Path, destination: Path) -> Path:
    """Copy ``source`` (a mirror folder's copy) to ``destination`` once it checks out."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part", delete=False
    )
    temporary = Path(handle.name)
    try:
        with handle, open(source, "rb") as original:
            shutil.copyfileobj(original, handle, CHUNK)
        problem = mismatch(remote, file_digests(temporary))
        if problem:
            raise ChecksumError(
                f"the mirror's copy {source} is not the published {remote.name} ({problem}); "
                "nothing was cached and the mirror was left as it is. Replace that file with "
                f"the one from {remote.url}, or unset COURSE_DATA_MIRROR."
            )
        os.replace(temporary, destination)
        return destination
    finally:
        temporary.unlink(missing_ok=True)
