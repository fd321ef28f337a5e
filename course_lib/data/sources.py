"""Where a dataset comes from on this machine, and the order in which sources are tried.

For each dataset the loaders try, in order:

1. **cache**: the public files already in ``COURSE_DATA_CACHE`` (default
   ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``, the folder ``keras.datasets`` uses),
   checked against their published size and digest;
2. **mirror**: ``COURSE_DATA_MIRROR``, a folder or a base URL holding byte-identical copies
   under the same file names; what it provides is checked and copied into the cache;
3. **offline copy**: a real copy installed on the machine (Debian's ``dataset-fashion-mnist``),
   checked and read in place;
4. **download** from the public origin, unless ``COURSE_OFFLINE=1``; when the download fails
   the next two sources still get their turn, and the line printed says why;
5. **subset**: a real, smaller copy under ``COURSE_DATA_SUBSETS``, read in place. With
   ``COURSE_OFFLINE=1`` it comes before the download (which is skipped); online the full file
   wins, since a lesson on the whole dataset reaches the syllabus figures;
6. **stand-in**: generated data of the same shapes, only with ``COURSE_ALLOW_STANDINS=1`` in
   the quick profile, announced by a banner every time it is used.

Every load prints one ``Data: ...`` line naming what was loaded and from where;
:func:`last_source` returns it for a notebook that wants to show provenance again.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_lib.data import download as _download
from course_lib.data.errors import (
    ChecksumError,
    DataUnavailableError,
    DownloadError,
    MirrorError,
)
from course_lib.data.registry import Dataset, RemoteFile

CACHE_ENV = "COURSE_DATA_CACHE"
MIRROR_ENV = "COURSE_DATA_MIRROR"
SUBSETS_ENV = "COURSE_DATA_SUBSETS"
OFFLINE_ENV = "COURSE_OFFLINE"
STANDINS_ENV = "COURSE_ALLOW_STANDINS"

#: Name of the marker file that says a derived folder was built completely.
COMPLETE_MARKER = ".course-complete"

_TRUE = {"1", "true", "yes", "on"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


# --------------------------------------------------------------------------------------------
# settings


def cache_dir() -> Path:
    """The cache folder: ``COURSE_DATA_CACHE``, else ``$KERAS_HOME/datasets``, else ``~/.keras/datasets``."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    keras_home = os.environ.get("KERAS_HOME", "").strip()
    if keras_home:
        return Path(keras_home).expanduser() / "datasets"
    return Path.home() / ".keras" / "datasets"


def offline() -> bool:
    """True when ``COURSE_OFFLINE`` forbids downloads."""
    return _flag(OFFLINE_ENV)


def standins_allowed() -> bool:
    """True when generated stand-ins may replace missing data (``COURSE_ALLOW_STANDINS=1``, quick)."""
    if not _flag(STANDINS_ENV):
        return False
    from course_lib.runtime import current_profile

    return current_profile() == "quick"


def _standin_refusal() -> str:
    if not _flag(STANDINS_ENV):
        return ("For a quick run on generated stand-in data instead, set COURSE_ALLOW_STANDINS=1 "
                "(quick profile only).")
    return ("COURSE_ALLOW_STANDINS=1 is set, but stand-ins are refused in the full profile: "
            "its figures must come from real data.")


@dataclass(frozen=True)
class Mirror:
    """``COURSE_DATA_MIRROR``: a folder or a base URL with copies under the same file names."""

    location: str
    is_url: bool

    def url_for(self, remote: RemoteFile) -> str:
        return self.location.rstrip("/") + "/" + remote.name

    def path_for(self, remote: RemoteFile) -> Path | None:
        base = Path(self.location)
        for candidate in (base / remote.name, base / remote.relative_path):
            if candidate.is_file():
                return candidate
        return None


def mirror() -> Mirror | None:
    """The configured mirror, or ``None``; a folder that does not exist is an error."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    if not value:
        return None
    if re.match(r"^https?://", value, flags=re.IGNORECASE):
        return Mirror(value, is_url=True)
    if value.lower().startswith("file://"):
        value = value[len("file://"):]
    path = Path(value).expanduser()
    if not path.is_dir():
        raise MirrorError(
            f"{MIRROR_ENV} is {value!r}, but there is no folder there. Point it at a folder or "
            "an http(s) URL holding copies of the public files under their own names "
            "(`course data describe NAME` lists them), or unset it."
        )
    return Mirror(str(path.resolve()), is_url=False)


def subsets_dir() -> Path | None:
    """``COURSE_DATA_SUBSETS`` (the real offline subsets), or ``None``; a missing folder is an error."""
    value = os.environ.get(SUBSETS_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        from course_lib.data.errors import DataError

        raise DataError(
            f"{SUBSETS_ENV} is {value!r}, but there is no folder there. Point it at the folder "
            "holding the real offline subsets (mnist_10k.npz, ...) or unset it."
        )
    return path.resolve()


# --------------------------------------------------------------------------------------------
# the cache


def cache_path(remote: RemoteFile) -> Path:
    return cache_dir() / remote.relative_path


def _stamp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.verified")


def _stamp_matches(path: Path) -> bool:
    try:
        size, mtime_ns, _ = _stamp_path(path).read_text().split()
        info = path.stat()
    except (OSError, ValueError):
        return False
    return int(size) == info.st_size and int(mtime_ns) == info.st_mtime_ns


def _write_stamp(path: Path, digests: _download.Digests) -> None:
    try:
        info = path.stat()
        _stamp_path(path).write_text(f"{info.st_size} {info.st_mtime_ns} {digests.sha256}\n")
    except OSError:  # a read-only cache still works; it is only checked in full every time
        pass


def report(message: str) -> None:
    """Print a message for the person at the keyboard (patched by tests)."""
    print(message, flush=True)


def cached(remote: RemoteFile, *, recheck: bool = False) -> Path | None:
    """The verified cached copy of ``remote``, or ``None`` when there is none.

    A file is hashed in full the first time and again whenever its size or modification time
    changes (or with ``recheck``). A file that fails is moved aside as ``NAME.corrupt``, reported,
    and ``None`` is returned so that it gets fetched again.
    """
    path = cache_path(remote)
    if not path.is_file():
        return None
    if not recheck and _stamp_matches(path):
        return path
    found = _download.file_digests(path)
    problem = _download.mismatch(remote, found)
    if problem is None:
        _write_stamp(path, found)
        return path
    _stamp_path(path).unlink(missing_ok=True)
    try:
        aside = _download.set_aside(path)
    except OSError as error:
        raise ChecksumError(
            f"the cached {path} is not the published {remote.name} ({problem}) and could not be "
            f"moved aside ({error}). Delete it, then load the data again."
        ) from None
    report(f"The cached {remote.name} failed its check ({problem}); it was moved to {aside} "
           "and will be fetched again. Delete that file once you have looked at it.")
    return None


def _remember(path: Path) -> Path:
    _write_stamp(path, _download.file_digests(path))
    return path


def fetch_from_mirror(remote: RemoteFile, source: Mirror) -> Path | None:
    """Copy ``remote`` from the mirror into the cache; ``None`` when the mirror lacks it."""
    destination = cache_path(remote)
    if source.is_url:
        try:
            _download.download(remote, destination, url=source.url_for(remote))
        except DownloadError as error:
            if error.status == 404:
                return None
            raise DownloadError(f"the mirror {source.location} failed: {error}") from None
        return _remember(destination)
    copy = source.path_for(remote)
    if copy is None:
        return None
    _download.copy_verified(remote, copy, destination)
    return _remember(destination)


def _try_mirror(remote: RemoteFile, source: Mirror, notes: list[str]) -> Path | None:
    """Like :func:`fetch_from_mirror`, but a mirror URL that fails is reported and skipped."""
    try:
        return fetch_from_mirror(remote, source)
    except DownloadError as error:
        report(f"Skipping the mirror for {remote.name}: {error}")
        notes.append("the mirror failed")
        return None


def fetch_from_origin(remote: RemoteFile) -> Path:
    """Download ``remote`` from its public origin into the cache (verified)."""
    destination = cache_path(remote)
    _download.download(remote, destination)
    return _remember(destination)


def fetch(remote: RemoteFile) -> tuple[Path, str]:
    """Put ``remote`` in the cache from the cache, the mirror or the origin; return ``(path, how)``.

    This is what ``course data fetch`` does for each file: it never uses subsets or stand-ins.
    """
    path = cached(remote)
    if path is not None:
        return path, "cache"
    source = mirror()
    if source is not None:
        path = _try_mirror(remote, source, [])
        if path is not None:
            return path, "mirror"
    if offline():
        raise DataUnavailableError(
            f"{remote.name} is not in the cache ({cache_dir()})"
            + (f" nor in the mirror {source.location}" if source else "")
            + f" and {OFFLINE_ENV}=1 forbids downloading it. Unset {OFFLINE_ENV} on a machine "
            f"with a network, or set {MIRROR_ENV} to a folder with a copy."
        )
    return fetch_from_origin(remote), "download"


# --------------------------------------------------------------------------------------------
# derived folders (extracted archives, text files written from a subset, stand-in images)


def build_folder(target: Path, stamp: str, build: Callable[[Path], None]) -> Path:
    """Return ``target``, building it with ``build(folder)`` unless it is already complete.

    The folder is built under a temporary name and renamed at the end, with a marker holding
    ``stamp``; a half-built folder is never mistaken for a complete one.
    """
    if folder_ready(target, stamp):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f".{target.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir()
    try:
        build(building)
        (building / COMPLETE_MARKER).write_text(stamp + "\n")
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    for _ in range(2):
        try:
            os.rename(building, target)
            return target
        except OSError:
            if folder_ready(target, stamp):  # another process finished first: use its copy
                shutil.rmtree(building, ignore_errors=True)
                return target
            shutil.rmtree(target, ignore_errors=True)
    os.rename(building, target)
    return target


def folder_ready(target: Path, stamp: str) -> bool:
    try:
        return (target / COMPLETE_MARKER).read_text().strip() == stamp
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# provenance


@dataclass(frozen=True)
class Provenance:
    """What a loader loaded and from where; :meth:`line` is what it printed."""

    dataset: str
    title: str
    kind: str  # "cache", "mirror", "download", "offline copy", "subset" or "stand-in"
    location: str
    what: str
    notes: tuple[str, ...] = field(default=())

    @property
    def real(self) -> bool:
        return self.kind != "stand-in"

    def line(self) -> str:
        where = {
            "cache": f"from the cache {self.location}",
            "mirror": f"copied from the mirror into the cache {self.location}",
            "download": f"downloaded into the cache {self.location}",
            "offline copy": f"from {self.location}",
            "subset": f"from {self.location}",
            "stand-in": f"generated in {self.location}",
        }[self.kind]
        text = f"Data: {self.title}, {self.what}, {where}"
        if self.notes:
            text += " (" + "; ".join(self.notes) + ")"
        return text

    def __str__(self) -> str:
        return self.line()


_last: dict[str, Provenance] = {}
_last_any: list[Provenance] = []


def last_source(name: str | None = None) -> Provenance | None:
    """The provenance of the last load (of dataset ``name``, or of any dataset)."""
    if name is None:
        return _last_any[-1] if _last_any else None
    from course_lib.data.registry import get

    return _last.get(get(name).name)


def _record(provenance: Provenance) -> None:
    _last[provenance.dataset] = provenance
    _last_any[:] = [provenance]


def standin_banner(title: str, what: str, name: str) -> str:
    rule = "=" * 78
    return "\n".join((
        rule,
        f"STAND-IN DATA for {title}: generated, not real: figures in this notebook say nothing "
        "about the real task.",
        f"  {what}.",
        f"  Real data: run `course data fetch {name}` on a connected machine, set {MIRROR_ENV}, "
        f"or unset {OFFLINE_ENV}.",
        rule,
    ))


# --------------------------------------------------------------------------------------------
# resolution

#: ``full(paths)`` and ``subset(path)`` return ``(result, what)``; ``offline_copy()`` and
#: ``standin()`` and ``ready()`` return ``(result, what, location)`` (``ready`` may return None).
Reader = Callable[..., tuple[Any, str]]


def _location(paths: Sequence[Path]) -> str:
    if len(paths) == 1:
        return str(paths[0])
    return str(os.path.commonpath([str(path) for path in paths]))


def resolve(
    dataset: Dataset,
    needed: Sequence[RemoteFile],
    *,
    full: Callable[[dict[str, Path]], tuple[Any, str]],
    ready: Callable[[], tuple[Any, str, str] | None] | None = None,
    offline_copy: Callable[[], tuple[Any, str, str] | None] | None = None,
    subset: Callable[[Path], tuple[Any, str]] | None = None,
    standin: Callable[[], tuple[Any, str, str]] | None = None,
    verbose: bool = True,
) -> Any:
    """Load ``dataset`` from the first source that has it (see the module docstring)."""
    notes: list[str] = []

    def finish(result: Any, kind: str, location: str, what: str) -> Any:
        provenance = Provenance(dataset.name, dataset.title, kind, location, what, tuple(notes))
        _record(provenance)
        if kind == "stand-in":
            report(standin_banner(dataset.title, what, dataset.name))
        elif verbose:
            report(provenance.line())
        return result

    if ready is not None:
        built = ready()
        if built is not None:
            result, what, location = built
            return finish(result, "cache", location, what)

    paths: dict[str, Path] = {}
    for remote in needed:
        path = cached(remote)
        if path is not None:
            paths[remote.name] = path
    kind = "cache"

    missing = [remote for remote in needed if remote.name not in paths]
    source = mirror()
    if missing and source is not None:
        for remote in missing:
            path = _try_mirror(remote, source, notes)
            if path is not None:
                paths[remote.name] = path
                kind = "mirror"
        missing = [remote for remote in needed if remote.name not in paths]
        if missing and "the mirror failed" not in notes:
            notes.append(f"the mirror lacks {', '.join(r.name for r in missing)}")

    if not missing:
        result, what = full(paths)
        return finish(result, kind, _location(list(paths.values())), what)

    if offline_copy is not None:
        found = offline_copy()
        if found is not None:
            result, what, location = found
            return finish(result, "offline copy", location, what)

    failure: DownloadError | None = None
    if not offline():
        try:
            for remote in missing:
                paths[remote.name] = fetch_from_origin(remote)
        except DownloadError as error:
            failure = error
            notes.append(f"download failed: {error}")
        else:
            result, what = full(paths)
            return finish(result, "download", _location(list(paths.values())), what)

    subsets = subsets_dir()
    if subset is not None and dataset.subset is not None and subsets is not None:
        copy = subsets / dataset.subset.path
        if copy.exists():
            _check_subset(dataset, copy)
            result, what = subset(copy)
            return finish(result, "subset", str(copy), what)

    if standin is not None and standins_allowed():
        result, what, location = standin()
        return finish(result, "stand-in", location, what)

    raise DataUnavailableError(_unavailable_message(dataset, failure, source, subsets))


def _check_subset(dataset: Dataset, copy: Path) -> None:
    expected = dataset.subset.sha256 if dataset.subset else None
    if not expected or copy.is_dir():
        return
    found = _download.file_digests(copy).sha256
    if found != expected:
        raise ChecksumError(
            f"{copy} is not the expected subset of {dataset.title} (SHA-256: expected {expected}, "
            f"found {found}); it was left as it is. Restore that file, or unset {SUBSETS_ENV} "
            "to use another source."
        )


def _unavailable_message(dataset: Dataset, failure: DownloadError | None,
                         source: Mirror | None, subsets: Path | None) -> str:
    places = [f"not in the cache ({cache_dir()})"]
    places.append(f"not in the mirror {source.location}" if source else f"{MIRROR_ENV} is not set")
    if dataset.subset is not None:
        places.append(f"no subset in {subsets}" if subsets else f"{SUBSETS_ENV} is not set")
    if failure is not None:
        head = f"{dataset.title} could not be loaded: the download failed ({failure})"
        todo = (f"Try again when the network is back, or set {MIRROR_ENV} to a folder or URL "
                "with the files")
    else:
        head = f"{dataset.title} is not available offline on this machine ({OFFLINE_ENV}=1)"
        todo = (f"On a machine with a network run `course data fetch {dataset.name}`, then copy "
                f"its cache folder here (or point {MIRROR_ENV} at it); or unset {OFFLINE_ENV} to "
                "download it now")
    return f"{head}; it is {', '.join(places)}. {todo}. {_standin_refusal()}"


def plan(dataset: Dataset) -> tuple[str, str]:
    """Where ``dataset`` would come from now, without loading it: ``(kind, detail)``.

    ``kind`` is one of ``cache``, ``mirror``, ``offline copy``, ``download``, ``subset``,
    ``stand-in`` or ``unavailable``. Cached files are trusted on their verification stamp here;
    ``course data verify`` re-checks them in full.
    """
    in_cache = [cache_path(remote) for remote in dataset.files]
    if in_cache[0].is_file():  # the main file; a word index beside it is fetched when asked for
        detail = str(in_cache[0])
        if not _stamp_matches(in_cache[0]):
            detail += " (checked when loaded)"
        absent = [path.name for path in in_cache[1:] if not path.is_file()]
        if absent:
            detail += f"; not yet cached: {', '.join(absent)}"
        return "cache", detail
    derived = derived_folder(dataset)
    if derived is not None and (derived / COMPLETE_MARKER).is_file():
        return "cache", str(derived)
    try:
        source = mirror()
    except MirrorError as error:
        return "unavailable", str(error)
    if source is not None:
        if source.is_url:
            return "mirror", source.location + " (if it has the files)"
        if all(source.path_for(remote) for remote in dataset.files):
            return "mirror", source.location
    if dataset.offline_copy and all(
        (Path(dataset.offline_copy) / remote.name).is_file() for remote in dataset.files
    ):
        return "offline copy", dataset.offline_copy
    subsets = subsets_dir()
    subset = None
    if dataset.subset is not None and subsets is not None:
        candidate = subsets / dataset.subset.path
        subset = candidate if candidate.exists() else None
    if not offline():
        detail = dataset.files[0].url if len(dataset.files) == 1 else dataset.files[0].url.rsplit(
            "/", 1)[0] + "/"
        if subset is not None:
            detail += f" (else the subset {subset})"
        return "download", detail
    if subset is not None:
        return "subset", str(subset)
    if standins_allowed():
        return "stand-in", "generated (COURSE_ALLOW_STANDINS=1, quick profile)"
    return "unavailable", f"offline, nothing cached: run `course data fetch {dataset.name}` online"


def derived_folder(dataset: Dataset) -> Path | None:
    """The folder a loader builds in the cache from the full files, for datasets that have one."""
    folders = {
        "imdb_text": "aclImdb",
        "jena_climate": "jena_climate_2009_2016",
        "cats_vs_dogs": "cats_vs_dogs_small",
        "spa_eng": "spa-eng",
    }
    name = folders.get(dataset.name)
    return cache_dir() / name if name else None
