"""The public loaders: one call per dataset, one printed line saying what came from where.

Each loader returns what its lesson needs, in the form ``keras.datasets`` uses where Keras has
the dataset, and goes through the sources in :mod:`course_lib.data.sources` order.
"""

from __future__ import annotations

import bz2
import csv
import functools
import gzip
import hashlib
import json
import re
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from course_lib.data import registry, standins
from course_lib.data.errors import ChecksumError, DataError
from course_lib.data.sources import build_folder, cache_dir, resolve

#: Seed Keras uses to shuffle IMDB, Reuters and Boston housing; reused for the subsets' splits.
KERAS_SEED = 113

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _n(count: int) -> str:
    return f"{count:,}"


def _standin_dir(name: str) -> Path:
    return cache_dir() / "course_standins" / name


@functools.lru_cache(maxsize=8)
def _generated(name: str) -> Any:
    """A stand-in generator's output, made once per process (the generators are deterministic)."""
    return getattr(standins, name)()


def _fresh(value: Any) -> Any:
    """A copy of cached stand-in arrays, so that a notebook changing them changes no later load."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple | list):
        return type(value)(_fresh(item) for item in value)
    if isinstance(value, dict):
        return {key: _fresh(item) for key, item in value.items()}
    return value


# --------------------------------------------------------------------------------------------
# MNIST and Fashion-MNIST


def _idx_array(data: bytes, source: str) -> np.ndarray:
    """Parse the IDX format of the original MNIST files (unsigned bytes only)."""
    if len(data) < 4 or data[0:3] != b"\x00\x00\x08":
        raise DataError(f"{source} is not an IDX file of unsigned bytes; delete it and load again.")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(bytearray(data[header:]), dtype=np.uint8).reshape(shape)


def _fashion_from_gz(folder: Path, check_content: bool) -> Arrays:
    dataset = registry.get("fashion_mnist")
    arrays = {}
    for remote in dataset.files:
        path = folder / remote.name
        with gzip.open(path, "rb") as handle:
            data = handle.read()
        if check_content and remote.content_sha256:
            found = hashlib.sha256(data).hexdigest()
            if found != remote.content_sha256:
                raise ChecksumError(
                    f"{path} does not hold the published Fashion-MNIST data (SHA-256 of the "
                    f"decompressed bytes: expected {remote.content_sha256}, found {found}); it was "
                    "left as it is. Reinstall it (apt-get install --reinstall "
                    "dataset-fashion-mnist) or set COURSE_DATA_MIRROR to a folder with the files."
                )
        key = remote.name.replace("-idx3-ubyte.gz", "").replace("-idx1-ubyte.gz", "")
        arrays[key] = _idx_array(data, str(path))
    return ((arrays["train-images"], arrays["train-labels"]),
            (arrays["t10k-images"], arrays["t10k-labels"]))


def _images_what(x_train: np.ndarray, x_test: np.ndarray, noun: str = "images") -> str:
    return f"{_n(len(x_train))} training + {_n(len(x_test))} test {noun}"


def load_mnist(*, verbose: bool = True) -> Arrays:
    """MNIST digits: ``((x_train, y_train), (x_test, y_test))``, uint8, as ``keras.datasets.mnist``.

    Images are (N, 28, 28) with pixels 0-255, labels (N,) with digits 0-9. The full set has
    60,000 + 10,000 images. The offline subset holds 10,000 of the training images only; the
    loader splits them here, with a fixed shuffle, into 8,000 for training and 2,000 for testing,
    and its printed line says so.
    """
    dataset = registry.get("mnist")

    def full(paths: dict[str, Path]) -> tuple[Arrays, str]:
        with np.load(paths["mnist.npz"]) as archive:
            arrays = ((archive["x_train"], archive["y_train"]),
                      (archive["x_test"], archive["y_test"]))
        return arrays, "full: " + _images_what(arrays[0][0], arrays[1][0])

    def subset(path: Path) -> tuple[Arrays, str]:
        with np.load(path) as archive:
            x, y = archive["x"], archive["y"]
        order = np.random.RandomState(KERAS_SEED).permutation(len(x))
        cut = int(len(x) * 0.8)
        train, test = order[:cut], order[cut:]
        what = (f"real subset: {_n(len(x))} of MNIST's 60,000 training images, split here into "
                f"{_n(len(train))} training + {_n(len(test))} test images (not MNIST's own test set)")
        return ((x[train], y[train]), (x[test], y[test])), what

    def standin() -> tuple[Arrays, str, str]:
        arrays = _fresh(_generated("digits"))
        what = f"{_images_what(arrays[0][0], arrays[1][0])} of drawn digits, uint8 28x28"
        return arrays, what, "memory"

    return resolve(dataset, dataset.files, full=full, subset=subset, standin=standin,
                   verbose=verbose)


def load_fashion_mnist(*, verbose: bool = True) -> Arrays:
    """Fashion-MNIST: ``((x_train, y_train), (x_test, y_test))``, uint8, as ``keras.datasets``.

    Ten clothing classes (0 T-shirt/top, 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal,
    6 shirt, 7 sneaker, 8 bag, 9 ankle boot), 60,000 + 10,000 images of 28x28. Where Debian's
    ``dataset-fashion-mnist`` package is installed the complete set is read from it offline,
    after checking the decompressed bytes against their known SHA-256.
    """
    dataset = registry.get("fashion_mnist")

    def full(paths: dict[str, Path]) -> tuple[Arrays, str]:
        arrays = _fashion_from_gz(next(iter(paths.values())).parent, check_content=False)
        return arrays, "full: " + _images_what(arrays[0][0], arrays[1][0])

    def offline_copy() -> tuple[Arrays, str, str] | None:
        folder = Path(dataset.offline_copy or "")
        if not all((folder / remote.name).is_file() for remote in dataset.files):
            return None
        arrays = _fashion_from_gz(folder, check_content=True)
        what = "full: " + _images_what(arrays[0][0], arrays[1][0]) + " (checksums verified)"
        return arrays, what, f"Debian's dataset-fashion-mnist package in {folder}"

    def standin() -> tuple[Arrays, str, str]:
        arrays = _fresh(_generated("clothing"))
        what = f"{_images_what(arrays[0][0], arrays[1][0])} of drawn clothing, uint8 28x28"
        return arrays, what, "memory"

    return resolve(dataset, dataset.files, full=full, offline_copy=offline_copy,
                   standin=standin, verbose=verbose)


# --------------------------------------------------------------------------------------------
# word-index datasets (IMDB, Reuters)


def _as_object_array(sequences: list[list[int]]) -> np.ndarray:
    out = np.empty(len(sequences), dtype=object)
    out[:] = sequences
    return out


def _index_words(sequences: np.ndarray, num_words: int | None) -> tuple[np.ndarray, int]:
    """Keras's convention: 1 starts each sequence, word ids shift by 3, ids >= num_words -> 2."""
    lengths = np.array([len(sequence) for sequence in sequences])
    flat = np.concatenate([np.asarray(s, dtype=np.int64) for s in sequences]) + 3
    limit = int(flat.max()) if not num_words else num_words
    flat = np.where(flat < limit, flat, 2)
    pieces = np.split(flat, np.cumsum(lengths)[:-1])
    return _as_object_array([[1, *piece.tolist()] for piece in pieces]), limit


def _keras_imdb(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                y_test: np.ndarray, num_words: int | None) -> Arrays:
    rng = np.random.RandomState(KERAS_SEED)
    order = np.arange(len(x_train))
    rng.shuffle(order)
    x_train, y_train = x_train[order], y_train[order]
    order = np.arange(len(x_test))
    rng.shuffle(order)
    x_test, y_test = x_test[order], y_test[order]
    both, _ = _index_words(np.concatenate([x_train, x_test]), num_words)
    return (both[: len(x_train)], np.asarray(y_train)), (both[len(x_train):], np.asarray(y_test))


def load_imdb(num_words: int | None = 10000, *, verbose: bool = True) -> Arrays:
    """IMDB reviews as word indices: ``((x_train, y_train), (x_test, y_test))``.

    Like ``keras.datasets.imdb.load_data(num_words=...)``: each review is a list of ints where
    0 is padding, 1 starts the review, 2 stands for a word outside the ``num_words`` most
    frequent ones and word ``i`` of :func:`imdb_word_index` is ``i + 3``. ``x_*`` are NumPy
    object arrays of lists (so ``x_train[:1000]`` works), ``y_*`` int64 labels, 1 = positive.
    The offline subset keeps only the 500 most frequent words: a larger ``num_words`` cannot be
    honoured there, and the printed line says so.
    """
    dataset = registry.get("imdb")

    def full(paths: dict[str, Path]) -> tuple[Arrays, str]:
        # The arrays are ragged lists stored as pickled objects; the file's SHA-256 was checked.
        with np.load(paths["imdb.npz"], allow_pickle=True) as archive:
            raw = [archive[key] for key in ("x_train", "y_train", "x_test", "y_test")]
        arrays = _keras_imdb(*raw, num_words=num_words)
        return arrays, (f"full: {_n(len(arrays[0][0]))} training + {_n(len(arrays[1][0]))} test "
                        f"reviews, num_words={num_words}")

    def subset(path: Path) -> tuple[Arrays, str]:
        with np.load(path, allow_pickle=True) as archive:
            x_train, y_train = archive["x_train"], archive["y_train"]
            x_test, y_test = archive["x_test"], archive["y_test"]
        kept = 500
        if num_words is not None and num_words < kept:
            x_train = _as_object_array([[w if w < num_words else 2 for w in s] for s in x_train])
            x_test = _as_object_array([[w if w < num_words else 2 for w in s] for s in x_test])
            words = f"num_words={num_words}"
        elif num_words == kept:
            words = f"num_words={num_words}"
        else:
            words = (f"only the {kept} most frequent words: num_words={num_words} cannot be "
                     f"honoured, every index is below {kept}")
        what = (f"real subset: {_n(len(x_train))} of 25,000 training + {_n(len(x_test))} of "
                f"25,000 test reviews, {words}")
        return ((x_train, y_train), (x_test, y_test)), what

    def standin() -> tuple[Arrays, str, str]:
        raw = _generated("imdb_raw")
        arrays = _keras_imdb(raw["x_train"], raw["y_train"], raw["x_test"], raw["y_test"],
                             num_words=num_words)
        what = (f"{_n(len(arrays[0][0]))} training + {_n(len(arrays[1][0]))} test made-up reviews "
                f"(word indices, num_words={num_words})")
        return arrays, what, "memory"

    return resolve(dataset, [dataset.file("imdb.npz")], full=full, subset=subset,
                   standin=standin, verbose=verbose)


def _word_index_loader(name: str, file_name: str, size: int, verbose: bool) -> dict[str, int]:
    dataset = registry.get(name)

    def full(paths: dict[str, Path]) -> tuple[dict[str, int], str]:
        with open(paths[file_name], encoding="utf-8") as handle:
            index = json.load(handle)
        return index, f"word index: {_n(len(index))} words"

    def standin() -> tuple[dict[str, int], str, str]:
        index = standins.word_index(size)
        return index, f"word index of {_n(len(index))} made-up and common words", "memory"

    return resolve(dataset, [dataset.file(file_name)], full=full, standin=standin,
                   verbose=verbose)


def imdb_word_index(*, verbose: bool = True) -> dict[str, int]:
    """IMDB's word index, ``{word: rank}`` (1 = most frequent), as ``keras.datasets.imdb.get_word_index``.

    In the sequences from :func:`load_imdb`, word ``rank`` appears as ``rank + 3``.
    """
    return _word_index_loader("imdb", "imdb_word_index.json", standins.IMDB_VOCABULARY, verbose)


def load_reuters(num_words: int | None = 10000, *, verbose: bool = True) -> Arrays:
    """Reuters newswires in 46 topics: ``((x_train, y_train), (x_test, y_test))``.

    Like ``keras.datasets.reuters.load_data(num_words=...)`` with its default 80/20 split
    (8,982 + 2,246 newswires): the same index convention as :func:`load_imdb`, ``y_*`` int64
    topic numbers 0-45.
    """
    dataset = registry.get("reuters")

    def split(x: np.ndarray, y: np.ndarray) -> Arrays:
        order = np.arange(len(x))
        np.random.RandomState(KERAS_SEED).shuffle(order)
        sequences, _ = _index_words(x[order], num_words)
        labels = np.asarray(y)[order]
        cut = int(len(sequences) * 0.8)
        return (sequences[:cut], labels[:cut]), (sequences[cut:], labels[cut:])

    def full(paths: dict[str, Path]) -> tuple[Arrays, str]:
        # Ragged lists stored as pickled objects; the file's SHA-256 was checked.
        with np.load(paths["reuters.npz"], allow_pickle=True) as archive:
            arrays = split(archive["x"], archive["y"])
        return arrays, (f"full: {_n(len(arrays[0][0]))} training + {_n(len(arrays[1][0]))} test "
                        f"newswires, num_words={num_words}")

    def standin() -> tuple[Arrays, str, str]:
        raw = _generated("reuters_raw")
        arrays = split(raw["x"], raw["y"])
        what = (f"{_n(len(arrays[0][0]))} training + {_n(len(arrays[1][0]))} test made-up "
                f"newswires in 46 topics (num_words={num_words})")
        return arrays, what, "memory"

    return resolve(dataset, [dataset.file("reuters.npz")], full=full, standin=standin,
                   verbose=verbose)


def reuters_word_index(*, verbose: bool = True) -> dict[str, int]:
    """Reuters' word index, ``{word: rank}``, as ``keras.datasets.reuters.get_word_index``."""
    return _word_index_loader("reuters", "reuters_word_index.json",
                              standins.REUTERS_VOCABULARY, verbose)


# --------------------------------------------------------------------------------------------
# Boston housing


def _keras_boston_split(x: np.ndarray, y: np.ndarray) -> Arrays:
    order = np.arange(len(x))
    np.random.RandomState(KERAS_SEED).shuffle(order)
    x, y = x[order], y[order]
    cut = int(len(x) * 0.8)
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def load_boston_housing(*, verbose: bool = True) -> Arrays:
    """Boston housing: ``((x_train, y_train), (x_test, y_test))``, float64, Keras's exact split.

    404 training and 102 test suburbs, 13 features each, targets the median home value in k$
    (``y_train[:3]`` is ``[15.2, 42.3, 50.0]``). The offline copy is the complete table, split
    here the way Keras splits it.
    """
    dataset = registry.get("boston_housing")

    def describe(arrays: Arrays) -> str:
        return (f"{_n(len(arrays[0][0]))} training + {_n(len(arrays[1][0]))} test suburbs "
                "(Keras's split)")

    def full(paths: dict[str, Path]) -> tuple[Arrays, str]:
        with np.load(paths["boston_housing.npz"]) as archive:
            arrays = _keras_boston_split(archive["x"], archive["y"])
        return arrays, "full: " + describe(arrays)

    def subset(path: Path) -> tuple[Arrays, str]:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64)
        if table.ndim != 2 or table.shape[1] != 14:
            raise DataError(f"{path} should be a table of 14 columns; found shape {table.shape}.")
        arrays = _keras_boston_split(table[:, :13], table[:, 13])
        return arrays, f"real, complete ({_n(len(table))} rows): " + describe(arrays)

    def standin() -> tuple[Arrays, str, str]:
        arrays = _keras_boston_split(*standins.housing())
        return arrays, f"{describe(arrays)} with made-up features and prices", "memory"

    return resolve(dataset, dataset.files, full=full, subset=subset, standin=standin,
                   verbose=verbose)


# --------------------------------------------------------------------------------------------
# folders built in the cache (raw IMDB text, Jena CSV, cats vs dogs, spa-eng)


def _stamp_for(paths: dict[str, Path]) -> str:
    """What a derived folder was built from: each file's name and size."""
    return " ".join(f"{name}:{path.stat().st_size}" for name, path in sorted(paths.items()))


def _ready(target: Path, result: Any, what: str) -> tuple[Any, str, str] | None:
    marker = target / ".course-complete"
    if not marker.is_file():
        return None
    return result, what, str(target)


_ACL_MEMBER = re.compile(r"^aclImdb/(train|test)/(neg|pos)/(\d+_\d+\.txt)$")


def _extract_acl_imdb(archive: Path, folder: Path) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            match = _ACL_MEMBER.match(member.name)
            if not match or not member.isfile():
                continue
            split, label, name = match.groups()
            destination = folder / split / label / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is not None:
                destination.write_bytes(source.read())


def _count_texts(folder: Path) -> dict[str, int]:
    return {split: sum(1 for _ in (folder / split).glob("*/*.txt")) for split in ("train", "test")}


def _rotten_tomatoes_folder(path: Path, folder: Path) -> None:
    with bz2.open(path, "rt", encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["category"] in ("fresh", "rotten")]
    order = np.random.RandomState(KERAS_SEED).permutation(len(rows))
    cut = int(len(rows) * 0.8)
    for position, index in enumerate(order):
        row = rows[index]
        split = "train" if position < cut else "test"
        label = "pos" if row["category"] == "fresh" else "neg"
        destination = folder / split / label / f"{index}.txt"
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(row["text"].strip(), encoding="utf-8")


def imdb_text_dir(*, verbose: bool = True) -> Path:
    """A folder of review texts laid out ``train/{neg,pos}/*.txt`` and ``test/{neg,pos}/*.txt``.

    Ready for ``keras.utils.text_dataset_from_directory(folder / "train", ...)``. The full
    set is IMDB's 25,000 + 25,000 reviews (its unlabelled ``train/unsup`` folder is left out,
    since it would read as a third class). Offline, the real subset is 12,808 Rotten Tomatoes
    snippets (fresh -> pos, rotten -> neg) split here 80/20 with a fixed shuffle: shorter
    reviews from another site, which the printed line says.
    """
    dataset = registry.get("imdb_text")
    target = cache_dir() / "aclImdb"

    def what_full(folder: Path) -> str:
        counts = _count_texts(folder)
        return f"full: {_n(counts['train'])} training + {_n(counts['test'])} test reviews as text"

    def ready() -> tuple[Path, str, str] | None:
        if not (target / ".course-complete").is_file():
            return None
        return _ready(target, target, what_full(target))

    def full(paths: dict[str, Path]) -> tuple[Path, str]:
        archive = paths["aclImdb_v1.tar.gz"]
        build_folder(target, _stamp_for(paths), lambda folder: _extract_acl_imdb(archive, folder))
        return target, what_full(target) + f", extracted to {target}"

    def subset(path: Path) -> tuple[Path, str]:
        stamp = hashlib.sha256(path.read_bytes()).hexdigest()
        folder = cache_dir() / "course_subsets" / "rotten_tomatoes_text"
        build_folder(folder, stamp, lambda out: _rotten_tomatoes_folder(path, out))
        counts = _count_texts(folder)
        what = (f"real subset: {_n(counts['train'] + counts['test'])} Rotten Tomatoes review "
                f"snippets in place of IMDB's 50,000 reviews, split here into "
                f"{_n(counts['train'])} training + {_n(counts['test'])} test, written to {folder}")
        return folder, what

    def standin() -> tuple[Path, str, str]:
        folder = _standin_dir("imdb_text")
        build_folder(folder, "standin-v1",
                     lambda out: standins.write_review_texts(out, {"train": 1000, "test": 1000}))
        counts = _count_texts(folder)
        what = (f"{_n(counts['train'])} training + {_n(counts['test'])} test made-up review texts "
                f"in {folder}")
        return folder, what, str(folder)

    return resolve(dataset, dataset.files, full=full, ready=ready, subset=subset,
                   standin=standin, verbose=verbose)


JENA_ROWS = 420_451
JENA_CSV = "jena_climate_2009_2016.csv"


def _check_jena(path: Path, expected_rows: int | None) -> int:
    with open(path, encoding="utf-8") as handle:
        header = next(csv.reader([handle.readline()]))
        rows = sum(1 for line in handle if line.strip())
    if tuple(header) != standins.JENA_COLUMNS:
        raise DataError(f"{path} does not have Jena's 15 columns (found {header!r}); "
                        "delete it and load the data again.")
    if expected_rows is not None and rows != expected_rows:
        raise DataError(f"{path} has {rows:,} rows instead of {expected_rows:,}; "
                        "delete it and load the data again.")
    return rows


def jena_climate_csv(*, verbose: bool = True) -> Path:
    """The path of ``jena_climate_2009_2016.csv``: a header and 420,451 rows of 10-minute data.

    Columns: ``"Date Time"`` (``dd.mm.yyyy HH:MM:SS``) and 14 measurements, temperature
    ``"T (degC)"`` among them. The stand-in has the same columns over two years.
    """
    dataset = registry.get("jena_climate")
    target = cache_dir() / "jena_climate_2009_2016"
    what_full = f"full: {_n(JENA_ROWS)} rows x 15 columns, 2009-2016"

    def ready() -> tuple[Path, str, str] | None:
        return _ready(target, target / JENA_CSV, what_full)

    def full(paths: dict[str, Path]) -> tuple[Path, str]:
        archive = paths["jena_climate_2009_2016.csv.zip"]

        def build(folder: Path) -> None:
            with zipfile.ZipFile(archive) as bundle:
                member = next((n for n in bundle.namelist()
                               if n.rsplit("/", 1)[-1] == JENA_CSV and "__MACOSX" not in n), None)
                if member is None:
                    raise DataError(f"{archive} holds no {JENA_CSV}; delete it and load again.")
                (folder / JENA_CSV).write_bytes(bundle.read(member))
            _check_jena(folder / JENA_CSV, JENA_ROWS)

        build_folder(target, _stamp_for(paths), build)
        return target / JENA_CSV, what_full

    def standin() -> tuple[Path, str, str]:
        folder = _standin_dir("jena_climate")
        build_folder(folder, "standin-v2", lambda out: standins.write_jena_csv(out / JENA_CSV))
        rows = _check_jena(folder / JENA_CSV, None)
        what = (f"{_n(rows)} rows x 15 columns (two years, Jena's column names) of made-up "
                "weather with daily and yearly cycles and multi-day pressure systems")
        return folder / JENA_CSV, what, str(folder / JENA_CSV)

    return resolve(dataset, dataset.files, full=full, ready=ready, standin=standin,
                   verbose=verbose)


_PET_MEMBER = re.compile(r"^PetImages/(Cat|Dog)/(\d+)\.jpg$")
#: The book's layout: how many photos of each class go to each split, in id order.
PET_SPLITS = (("train", 1000), ("validation", 500), ("test", 1000))
_SPLITS = ("train", "validation", "test")


def _build_pets(archive: Path, folder: Path) -> None:
    with zipfile.ZipFile(archive) as bundle:
        by_class: dict[str, list[tuple[int, str]]] = {"cat": [], "dog": []}
        for name in bundle.namelist():
            match = _PET_MEMBER.match(name)
            if match:
                by_class[match.group(1).lower()].append((int(match.group(2)), name))
        for kind, members in by_class.items():
            members.sort()
            needed = sum(count for _, count in PET_SPLITS)
            kept: list[tuple[int, bytes]] = []
            for number, name in members:
                data = bundle.read(name)
                # Photos without a JFIF header include broken files that TensorFlow's
                # decoder rejects; leaving them out keeps every image readable.
                if b"JFIF" in data[:10]:
                    kept.append((number, data))
                if len(kept) == needed:
                    break
            if len(kept) < needed:
                raise DataError(f"{archive} has only {len(kept)} readable {kind} photos; "
                                "delete it and load again.")
            start = 0
            for split, count in PET_SPLITS:
                destination = folder / split / kind
                destination.mkdir(parents=True, exist_ok=True)
                for number, data in kept[start: start + count]:
                    (destination / f"{kind}.{number}.jpg").write_bytes(data)
                start += count


_TUTORIAL_MEMBER = re.compile(
    r"^cats_and_dogs_filtered/(train|validation)/(cats|dogs)/(?:cat|dog)\.(\d+)\.jpg$")
#: The tutorials' archive has train 1,000 and validation 500 photos per class; the quick
#: profile keeps its training photos and halves its validation photos into validation and test.
TUTORIAL_SPLITS = {"train": 1000, "validation": 250, "test": 250}
PET_ARCHIVE = "kagglecatsanddogs_5340.zip"
TUTORIAL_ARCHIVE = "cats_and_dogs_filtered.zip"


def _build_tutorial_pets(archive: Path, folder: Path) -> None:
    with zipfile.ZipFile(archive) as bundle:
        found: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for name in bundle.namelist():
            match = _TUTORIAL_MEMBER.match(name)
            if match:
                split, kind, number = match.group(1), match.group(2)[:-1], int(match.group(3))
                found.setdefault((split, kind), []).append((number, name))
        for kind in ("cat", "dog"):
            train = sorted(found.get(("train", kind), []))
            held_out = sorted(found.get(("validation", kind), []))
            half = TUTORIAL_SPLITS["validation"]
            parts = {"train": train[:TUTORIAL_SPLITS["train"]], "validation": held_out[:half],
                     "test": held_out[half: half + TUTORIAL_SPLITS["test"]]}
            for split, members in parts.items():
                if len(members) < TUTORIAL_SPLITS[split]:
                    raise DataError(f"{archive} has only {len(members)} {kind} photos for "
                                    f"{split}, {TUTORIAL_SPLITS[split]} expected; delete it and "
                                    "load again.")
                destination = folder / split / kind
                destination.mkdir(parents=True, exist_ok=True)
                for number, name in members:
                    (destination / f"{kind}.{number}.jpg").write_bytes(bundle.read(name))


def _pet_counts(folder: Path) -> dict[str, dict[str, int]]:
    counts = {}
    for split in _SPLITS:
        counts[split] = {}
        for kind in ("cat", "dog"):
            path = folder / split / kind
            counts[split][kind] = sum(1 for _ in path.glob("*.jpg")) if path.is_dir() else 0
    return counts


def _pet_layout(counts: dict[str, dict[str, int]]) -> str:
    return ", ".join(f"{split} {_n(counts[split]['cat'])}" for split in _SPLITS) + " per class"


def _quick_pets_archive(dataset: registry.Dataset) -> registry.RemoteFile:
    """The archive the quick profile builds its folder from: the tutorials' 68 MB one, unless
    Kaggle's full archive is already at hand (in the cache or the mirror folder)."""
    from course_lib.data.sources import cached, mirror

    full_archive = dataset.file(PET_ARCHIVE)
    source = mirror()
    at_hand = cached(full_archive) is not None or (
        source is not None and not source.is_url and source.path_for(full_archive) is not None)
    small = dataset.file(TUTORIAL_ARCHIVE)
    return full_archive if at_hand and cached(small) is None else small


def cats_vs_dogs_dir(*, verbose: bool = True) -> Path:
    """A folder laid out ``train/{cat,dog}``, ``validation/{cat,dog}``, ``test/{cat,dog}``.

    Ready for ``keras.utils.image_dataset_from_directory(folder / "train", ...)``. The full
    profile builds it from Microsoft's copy of Kaggle's photos (787 MB, no login needed): the
    first 1,000 readable photos of each class for training, the next 500 for validation and the
    next 1,000 for testing. The quick profile downloads the 68 MB archive of TensorFlow's
    tutorials instead (the same photos: 1,000 a class for training, 500 for validation, which
    become 250 for validation and 250 for testing). Offline, the real subset has 500 validation
    and 500 test photos a class and images shrunk to at most 256 px.
    """
    from course_lib.runtime import current_profile

    dataset = registry.get("cats_vs_dogs")
    target = cache_dir() / "cats_vs_dogs_small"
    tutorial_target = cache_dir() / "cats_vs_dogs_tutorial"
    quick = current_profile() == "quick"
    archive = _quick_pets_archive(dataset) if quick else dataset.file(PET_ARCHIVE)

    def what_for(folder: Path, head: str) -> str:
        counts = _pet_counts(folder)
        total = sum(sum(pair.values()) for pair in counts.values())
        return f"{head}{_n(total)} images: {_pet_layout(counts)}"

    def ready() -> tuple[Path, str, str] | None:
        for folder in (target, tutorial_target) if quick else (target,):
            if (folder / ".course-complete").is_file():
                return folder, what_for(folder, "full layout, "), str(folder)
        return None

    def full(paths: dict[str, Path]) -> tuple[Path, str]:
        if archive.name == TUTORIAL_ARCHIVE:
            build_folder(tutorial_target, _stamp_for(paths),
                         lambda folder: _build_tutorial_pets(paths[TUTORIAL_ARCHIVE], folder))
            return tutorial_target, what_for(tutorial_target, "quick layout, ") + (
                " (TensorFlow's tutorial archive of Kaggle's photos)")
        build_folder(target, _stamp_for(paths), lambda folder: _build_pets(paths[PET_ARCHIVE], folder))
        return target, what_for(target, "full layout, ") + " (of Kaggle's 25,000)"

    def subset(path: Path) -> tuple[Path, str]:
        counts = _pet_counts(path)
        empty = [f"{split}/{kind}" for split in _SPLITS for kind in ("cat", "dog")
                 if not counts[split][kind]]
        if empty:
            raise DataError(f"{path} lacks photos in {', '.join(empty)}; it should hold "
                            "train/, validation/ and test/, each with cat/ and dog/.")
        return path, what_for(path, "real subset, ") + " of Kaggle's 25,000, shrunk to <= 256 px"

    def standin() -> tuple[Path, str, str]:
        folder = _standin_dir("cats_vs_dogs")
        sizes = {"train": 150, "validation": 75, "test": 75}
        build_folder(folder, "standin-v1", lambda out: standins.write_pet_pictures(out, sizes))
        return folder, what_for(folder, "") + " of drawn cat and dog faces", str(folder)

    return resolve(dataset, (archive,), full=full, ready=ready, subset=subset,
                   standin=standin, verbose=verbose)


# --------------------------------------------------------------------------------------------
# segmentation: Oxford-IIIT Pets and the generated shape scenes (chapter 08b)

#: How many photos :func:`load_oxford_pets` keeps apart for testing (the rest train).
PETS_TEST = 1000
#: Trimap value -> mask value: 1 pet -> 1, 2 background -> 0, 3 outline -> 2.
_TRIMAP_TO_MASK = np.array([0, 1, 0, 2], np.uint8)
_PET_IMAGE = re.compile(r"^images/([^/]+)\.jpg$")
_PET_TRIMAP = re.compile(r"^annotations/trimaps/([^/.][^/]*)\.png$")

SegmentationArrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _build_pet_masks(images: Path, annotations: Path, size: int, folder: Path) -> None:
    import io

    from PIL import Image

    with tarfile.open(annotations) as bundle:
        trimaps = {match.group(1): bundle.extractfile(member).read()
                   for member in bundle.getmembers()
                   if (match := _PET_TRIMAP.match(member.name)) and member.isfile()}
    pictures, masks = [], []
    with tarfile.open(images) as bundle:
        for member in sorted(bundle.getmembers(), key=lambda m: m.name):
            match = _PET_IMAGE.match(member.name)
            if not match or match.group(1) not in trimaps:
                continue
            try:  # a few files are not readable JPEGs; Pillow reads or rejects each
                with Image.open(io.BytesIO(bundle.extractfile(member).read())) as picture:
                    pictures.append(np.asarray(picture.convert("RGB").resize((size, size),
                                                                             Image.BILINEAR)))
            except OSError:
                continue
            with Image.open(io.BytesIO(trimaps[match.group(1)])) as trimap:
                values = np.asarray(trimap.resize((size, size), Image.NEAREST)).astype(np.int64)
            masks.append(_TRIMAP_TO_MASK[np.clip(values, 0, 3)])
    order = np.random.default_rng(KERAS_SEED).permutation(len(pictures))
    np.savez(folder / "pets.npz", images=np.stack(pictures)[order], masks=np.stack(masks)[order])


def load_oxford_pets(image_size: int = 160, *, verbose: bool = True) -> SegmentationArrays:
    """Oxford-IIIT Pets as ``((train_images, train_masks), (test_images, test_masks))``.

    Images uint8 ``(n, image_size, image_size, 3)``, masks uint8 ``(n, image_size, image_size)``
    with 0 background, 1 pet, 2 the band along the pet's outline (the trimaps' 2, 1, 3). The
    photos are shuffled once with a fixed seed; the last 1,000 are the test set. Needs about
    810 MB of downloads. Offline, with stand-ins allowed, the generated scenes of
    :func:`load_shape_scenes` (64 x 64) take their place, announced as stand-ins.
    """
    dataset = registry.get("oxford_pets")
    target = cache_dir() / f"oxford_pets_{image_size}"

    def split(folder: Path) -> SegmentationArrays:
        with np.load(folder / "pets.npz") as stored:
            images, masks = stored["images"], stored["masks"]
        return (images[:-PETS_TEST], masks[:-PETS_TEST]), (images[-PETS_TEST:], masks[-PETS_TEST:])

    def what(arrays: SegmentationArrays) -> str:
        (train, _), (test, _) = arrays
        return (f"full: {_n(len(train))} training + {_n(len(test))} test photos with trimaps, "
                f"resized to {image_size} x {image_size}")

    def ready() -> tuple[SegmentationArrays, str, str] | None:
        if not (target / ".course-complete").is_file():
            return None
        arrays = split(target)
        return arrays, what(arrays), str(target)

    def full(paths: dict[str, Path]) -> tuple[SegmentationArrays, str]:
        build_folder(target, _stamp_for(paths) + f" size:{image_size}", lambda folder: (
            _build_pet_masks(paths["images.tar.gz"], paths["annotations.tar.gz"], image_size,
                             folder)))
        arrays = split(target)
        return arrays, what(arrays)

    def standin() -> tuple[SegmentationArrays, str, str]:
        arrays = _scene_arrays(1_000, 200, 64)
        return arrays, _scene_what(arrays), "memory"

    return resolve(dataset, dataset.files, full=full, ready=ready, standin=standin,
                   verbose=verbose)


def _scene_arrays(n_train: int, n_test: int, size: int) -> SegmentationArrays:
    images, masks = standins.shape_scenes(n_train + n_test, size=size)
    return (images[:n_train], masks[:n_train]), (images[n_train:], masks[n_train:])


def _scene_what(arrays: SegmentationArrays) -> str:
    (train, _), (test, _) = arrays
    return (f"{_n(len(train))} training + {_n(len(test))} test scenes of {train.shape[1]} x "
            f"{train.shape[2]} pixels: discs, squares and triangles on textured backgrounds, "
            "masks 0 background, 1 object, 2 outline (the form of the pets' trimaps)")


def load_shape_scenes(n_train: int = 1000, n_test: int = 200, size: int = 64, *,
                      verbose: bool = True) -> SegmentationArrays:
    """Generated scenes with masks, ``((train_images, train_masks), (test_images, test_masks))``.

    The same form as :func:`load_oxford_pets`: images uint8 ``(n, size, size, 3)``, masks uint8
    ``(n, size, size)`` with 0 background, 1 object, 2 the outline band. Made on the spot,
    deterministically, with no download; always announced with the stand-in banner, because
    figures measured on them say nothing about photographs.
    """
    from course_lib.data.sources import report, standin_banner

    arrays = _scene_arrays(n_train, n_test, size)
    if verbose:
        report(standin_banner("Oxford-IIIT Pets (segmentation)", _scene_what(arrays),
                              "oxford_pets"))
    return arrays


def _read_pairs(path: Path) -> list[tuple[str, str]]:
    pairs = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2:
                pairs.append((parts[0], parts[1]))
    return pairs


def load_spa_eng(*, verbose: bool = True) -> list[tuple[str, str]]:
    """English-Spanish sentence pairs: a list of ``(english, spanish)`` tuples, file order."""
    dataset = registry.get("spa_eng")
    target = cache_dir() / "spa-eng"

    def ready() -> tuple[list[tuple[str, str]], str, str] | None:
        if not (target / ".course-complete").is_file():
            return None
        pairs = _read_pairs(target / "spa.txt")
        return pairs, f"full: {_n(len(pairs))} sentence pairs", str(target / "spa.txt")

    def full(paths: dict[str, Path]) -> tuple[list[tuple[str, str]], str]:
        archive = paths["spa-eng.zip"]

        def build(folder: Path) -> None:
            with zipfile.ZipFile(archive) as bundle:
                member = next((n for n in bundle.namelist() if n.endswith("spa.txt")), None)
                if member is None:
                    raise DataError(f"{archive} holds no spa.txt; delete it and load again.")
                (folder / "spa.txt").write_bytes(bundle.read(member))

        build_folder(target, _stamp_for(paths), build)
        pairs = _read_pairs(target / "spa.txt")
        return pairs, f"full: {_n(len(pairs))} sentence pairs"

    def standin() -> tuple[list[tuple[str, str]], str, str]:
        pairs = standins.sentence_pairs()
        return pairs, f"{_n(len(pairs))} sentence pairs from a small made-up grammar", "memory"

    return resolve(dataset, dataset.files, full=full, ready=ready, standin=standin,
                   verbose=verbose)
