"""The public loaders: what a notebook gets, and the one line it prints, from every source.

Sources are exercised on small files in the real formats (tests/fixtures/data/builders.py), so
the reading code is covered on any machine; the real offline subsets in /work/shared/data are
checked as well where that folder exists.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from course_lib import data
from course_lib.data import download, loaders, registry, sources
from course_lib.data.errors import ChecksumError, DataError, DataUnavailableError
from tests.fixtures.data import builders
from tests.fixtures.data.http_fixture import ScriptedServer

SHARED = Path(os.environ.get("COURSE_DATA_SUBSETS") or Path(__file__).parents[2] / "shared/data")
needs_shared = pytest.mark.skipif(not (SHARED / "mnist_10k.npz").is_file(),
                                  reason="the real offline subsets are not on this machine")
DEBIAN = Path(registry.DEBIAN_FASHION_MNIST)
needs_debian = pytest.mark.skipif(not (DEBIAN / "train-labels-idx1-ubyte.gz").is_file(),
                                  reason="Debian's dataset-fashion-mnist is not installed")


@pytest.fixture
def env(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A fresh cache, the quick profile, no network use unless a test asks for it."""
    clean_env.setenv("COURSE_DATA_CACHE", str(tmp_path / "cache"))
    clean_env.setenv("COURSE_PROFILE", "quick")
    clean_env.setenv("COURSE_OFFLINE", "1")
    clean_env.setattr(download, "RETRY_DELAYS", (0.01,))
    return clean_env


@pytest.fixture
def subsets(env: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "subsets"
    folder.mkdir()
    env.setenv("COURSE_DATA_SUBSETS", str(folder))
    return folder


def only_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# --------------------------------------------------------------------------------------------
# stand-ins and the error when nothing is available

ARRAY_LOADERS = ["load_mnist", "load_fashion_mnist", "load_imdb", "load_reuters",
                 "load_boston_housing"]


@pytest.mark.parametrize("loader", ARRAY_LOADERS)
def test_array_stand_ins_have_the_real_form_and_a_banner_every_time(loader, env, capsys,
                                                                     tmp_path):
    env.setenv("COURSE_ALLOW_STANDINS", "1")
    builders.no_offline_copy(env, tmp_path)
    (x_train, y_train), (x_test, y_test) = getattr(data, loader)()
    banner = capsys.readouterr().out
    assert "STAND-IN DATA" in banner and "generated, not real" in banner
    assert "figures in this notebook say nothing about the real task" in banner
    assert len(x_train) == len(y_train) >= len(x_test) == len(y_test) > 0
    if loader in ("load_mnist", "load_fashion_mnist"):
        assert x_train.dtype == np.uint8 and x_train.shape[1:] == (28, 28)
        assert y_train.dtype == np.uint8 and set(np.unique(y_train)) == set(range(10))
    elif loader == "load_boston_housing":
        assert x_train.shape == (404, 13) and x_test.shape == (102, 13)
        assert x_train.dtype == y_train.dtype == np.float64
    else:
        assert x_train.dtype == object and all(seq[0] == 1 for seq in x_train[:50])
        assert max(max(seq) for seq in x_train) < 10000 and y_train.dtype == np.int64
        topics = 46 if loader == "load_reuters" else 2
        assert set(np.unique(np.concatenate([y_train, y_test]))) == set(range(topics))
    getattr(data, loader)()
    assert "STAND-IN DATA" in capsys.readouterr().out  # announced again on every load
    assert not data.last_source().real


def test_folder_stand_ins_have_the_lesson_layout(env, capsys):
    env.setenv("COURSE_ALLOW_STANDINS", "1")
    texts = data.imdb_text_dir()
    assert {p.name for p in (texts / "train").iterdir()} == {"neg", "pos"}
    assert len(list((texts / "test" / "pos").glob("*.txt"))) > 100
    pets = data.cats_vs_dogs_dir()
    for split in ("train", "validation", "test"):
        assert {p.name for p in (pets / split).iterdir()} == {"cat", "dog"}
    from PIL import Image

    with Image.open(next((pets / "train" / "dog").glob("*.jpg"))) as picture:
        assert picture.format == "JPEG" and picture.mode == "RGB"
    csv_path = data.jena_climate_csv()
    header = csv_path.read_text().splitlines()[0]
    assert header.split(",")[0] == '"Date Time"' and len(header.split(",")) == 15
    pairs = data.load_spa_eng()
    assert len(pairs) > 1000 and all(isinstance(e, str) and isinstance(s, str) for e, s in pairs)
    assert capsys.readouterr().out.count("STAND-IN DATA") == 4


LOADERS = ARRAY_LOADERS + ["imdb_word_index", "imdb_text_dir", "reuters_word_index",
                           "jena_climate_csv", "cats_vs_dogs_dir", "load_spa_eng"]


@pytest.mark.parametrize("loader", LOADERS)
def test_offline_with_nothing_is_a_clear_error(loader, env, tmp_path):
    builders.no_offline_copy(env, tmp_path)
    with pytest.raises(DataUnavailableError) as caught:
        getattr(data, loader)()
    message = str(caught.value)
    assert "not available offline" in message and "course data fetch " in message
    assert "COURSE_DATA_MIRROR" in message and "COURSE_ALLOW_STANDINS=1" in message


def test_stand_ins_are_refused_in_the_full_profile(env):
    env.setenv("COURSE_ALLOW_STANDINS", "1")
    env.setenv("COURSE_PROFILE", "full")
    with pytest.raises(DataUnavailableError, match="refused in the full profile"):
        data.load_reuters()


# --------------------------------------------------------------------------------------------
# subsets, on fixture files


def test_mnist_subset_is_split_deterministically_and_says_so(subsets, monkeypatch, capsys):
    builders.use_subset(monkeypatch, "mnist", builders.mnist_subset(subsets))
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    line = only_line(capsys)
    assert line.startswith("Data: MNIST, real subset: 100 of MNIST's 60,000 training images")
    assert "80 training + 20 test" in line and str(subsets / "mnist_10k.npz") in line
    ids = np.concatenate([x_train[:, 0, 0], x_test[:, 0, 0]])
    assert sorted(ids) == list(range(100))  # every image once, none in both splits
    assert (y_train == x_train[:, 0, 0] % 10).all()  # labels travel with their images
    (again, _), _ = data.load_mnist()
    assert (again == x_train).all()
    assert data.last_source("mnist").kind == "subset"


def test_imdb_subset_cannot_honour_a_larger_vocabulary_and_says_so(subsets, monkeypatch,
                                                                    capsys):
    builders.use_subset(monkeypatch, "imdb", builders.imdb_subset(subsets))
    (x_train, _), (x_test, _) = data.load_imdb(num_words=10000)
    line = only_line(capsys)
    assert "real subset: 50 of 25,000 training + 10 of 25,000 test reviews" in line
    assert "num_words=10000 cannot be honoured" in line
    (exact, _), _ = data.load_imdb(num_words=500)  # the subset's own vocabulary: nothing to say
    assert "num_words=500 cannot" not in only_line(capsys) and list(exact[0]) == list(x_train[0])
    (small, _), _ = data.load_imdb(num_words=100)
    assert max(max(seq) for seq in small) < 100
    for full, capped in zip(x_train, small, strict=True):
        assert capped == [w if w < 100 else 2 for w in full]


def test_review_texts_subset_maps_fresh_and_rotten_to_pos_and_neg(subsets, monkeypatch,
                                                                   capsys):
    builders.use_subset(monkeypatch, "imdb_text", builders.rotten_tomatoes(subsets))
    folder = data.imdb_text_dir()
    line = only_line(capsys)
    assert "real subset: 50 Rotten Tomatoes review snippets" in line
    assert "40 training + 10 test" in line
    texts = {p.read_text(): p.parent.name for p in folder.glob("*/*/*.txt")}
    assert len(texts) == 50 and "A summary, not a review." not in texts
    assert all((label == "pos") == text.startswith("Delightful") for text, label in texts.items())
    before = sorted(str(p.relative_to(folder)) for p in folder.glob("*/*/*.txt"))
    data.imdb_text_dir()
    assert sorted(str(p.relative_to(folder)) for p in folder.glob("*/*/*.txt")) == before
    assert sources.cache_dir() in folder.parents  # derived in the cache, never beside the subset


def test_boston_csv_gets_keras_split(subsets, monkeypatch, capsys):
    builders.use_subset(monkeypatch, "boston_housing", builders.boston_csv(subsets))
    (x_train, y_train), (x_test, y_test) = data.load_boston_housing()
    assert "real, complete (506 rows): 404 training + 102 test" in only_line(capsys)
    assert x_train.shape == (404, 13) and x_test.shape == (102, 13)
    rows = np.concatenate([x_train[:, 0], x_test[:, 0]])
    assert sorted(rows) == list(range(506))
    assert np.allclose(np.concatenate([y_train, y_test]), rows / 10)


def test_cats_vs_dogs_subset_is_read_in_place(subsets, monkeypatch, capsys):
    folder = builders.pets_folder(subsets)
    builders.use_subset(monkeypatch, "cats_vs_dogs", folder)
    assert data.cats_vs_dogs_dir() == folder
    assert "real subset, 14 images: train 3, validation 2, test 2 per class" in only_line(capsys)
    for image in (folder / "test" / "dog").iterdir():
        image.unlink()
    with pytest.raises(DataError, match="lacks photos in test/dog"):
        data.cats_vs_dogs_dir()


def test_the_quick_profile_builds_its_photos_from_the_tutorials_small_archive(env, monkeypatch,
                                                                              tmp_path, capsys):
    """68 MB instead of 787 MB: train stays, the held-out photos become validation and test."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    env.setenv("COURSE_DATA_MIRROR", str(mirror))
    builders.use_file(monkeypatch, "cats_vs_dogs", "cats_and_dogs_filtered.zip",
                      builders.tutorial_pets_zip(mirror))
    monkeypatch.setattr(loaders, "TUTORIAL_SPLITS", {"train": 3, "validation": 2, "test": 2})
    pets = data.cats_vs_dogs_dir()
    assert pets.name == "cats_vs_dogs_tutorial"
    assert sorted(p.name for p in (pets / "train" / "dog").iterdir()) == [
        "dog.0.jpg", "dog.1.jpg", "dog.2.jpg"]
    assert sorted(p.name for p in (pets / "validation" / "cat").iterdir()) == [
        "cat.2000.jpg", "cat.2001.jpg"]
    assert sorted(p.name for p in (pets / "test" / "cat").iterdir()) == [
        "cat.2002.jpg", "cat.2003.jpg"]
    assert "quick layout, 14 images: train 3, validation 2, test 2 per class" in capsys.readouterr().out
    env.setenv("COURSE_PROFILE", "full")  # the full profile never takes the quick layout
    with pytest.raises(DataError):
        data.cats_vs_dogs_dir()


def test_a_tutorial_archive_with_too_few_photos_is_refused(env, monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    env.setenv("COURSE_DATA_MIRROR", str(mirror))
    builders.use_file(monkeypatch, "cats_vs_dogs", "cats_and_dogs_filtered.zip",
                      builders.tutorial_pets_zip(mirror, held_out=3))
    monkeypatch.setattr(loaders, "TUTORIAL_SPLITS", {"train": 3, "validation": 2, "test": 2})
    with pytest.raises(DataError, match="only 1 cat photos for test"):
        data.cats_vs_dogs_dir()


def test_subset_with_the_wrong_checksum_is_refused_and_left_alone(subsets):
    path = builders.mnist_subset(subsets)  # the registry still expects the real file's digest
    before = path.read_bytes()
    with pytest.raises(ChecksumError, match="not the expected subset of MNIST"):
        data.load_mnist()
    assert path.read_bytes() == before


def test_subsets_setting_that_points_nowhere_is_a_clear_error(env, tmp_path):
    env.setenv("COURSE_DATA_SUBSETS", str(tmp_path / "missing"))
    with pytest.raises(DataError, match="COURSE_DATA_SUBSETS is .* no folder there"):
        data.load_mnist()


# --------------------------------------------------------------------------------------------
# the real subsets, where this machine has them


@needs_shared
def test_real_mnist_subset(env, capsys):
    env.setenv("COURSE_DATA_SUBSETS", str(SHARED))
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.shape == (8000, 28, 28) and x_test.shape == (2000, 28, 28)
    assert x_train.dtype == np.uint8 and x_train.max() == 255
    assert np.bincount(np.concatenate([y_train, y_test])).tolist()[:2] == [1001, 1127]
    assert "real subset: 10,000 of MNIST's 60,000" in only_line(capsys)


@needs_shared
def test_real_boston_housing_matches_keras_split(env):
    env.setenv("COURSE_DATA_SUBSETS", str(SHARED))
    (x_train, y_train), (x_test, y_test) = data.load_boston_housing()
    assert x_train.shape == (404, 13) and x_test.shape == (102, 13)
    assert y_train[:3].tolist() == [15.2, 42.3, 50.0]
    assert x_train[0, :3].tolist() == [1.23247, 0.0, 8.14]


@needs_shared
def test_real_imdb_subset(env, capsys):
    env.setenv("COURSE_DATA_SUBSETS", str(SHARED))
    (x_train, y_train), (x_test, y_test) = data.load_imdb()
    assert (len(x_train), len(x_test)) == (5000, 1000)
    assert x_train[0][:5] == [1, 14, 22, 16, 43] and max(max(s) for s in x_train) == 499
    assert np.bincount(y_train).tolist() == [2454, 2546]
    assert "num_words=10000 cannot be honoured" in only_line(capsys)


@needs_shared
def test_real_review_texts_and_pets(env):
    env.setenv("COURSE_DATA_SUBSETS", str(SHARED))
    texts = data.imdb_text_dir()
    counts = {split: len(list((texts / split).glob("*/*.txt"))) for split in ("train", "test")}
    assert counts == {"train": 10246, "test": 2562}
    assert len(list((texts / "train" / "pos").glob("*.txt"))) > 5000  # 7,403 fresh in all
    pets = data.cats_vs_dogs_dir()
    assert pets.resolve() == (SHARED / "cats_vs_dogs_small").resolve()
    assert len(list((pets / "train" / "cat").glob("*.jpg"))) == 1000


@needs_debian
def test_fashion_mnist_from_debian_offline(env, capsys):
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    line = only_line(capsys)
    assert "full: 60,000 training + 10,000 test images (checksums verified)" in line
    assert "Debian's dataset-fashion-mnist" in line


# --------------------------------------------------------------------------------------------
# the full files: offline copy, mirror, download, cache


def test_offline_copy_is_checked_on_its_decompressed_bytes(env, monkeypatch, tmp_path, capsys):
    import dataclasses
    import hashlib

    debian = tmp_path / "debian"
    raw = builders.fashion_gz(debian)
    entry = registry.DATASETS["fashion_mnist"]
    files = tuple(dataclasses.replace(r, content_sha256=hashlib.sha256(raw[r.name]).hexdigest())
                  for r in entry.files)
    monkeypatch.setitem(registry.DATASETS, "fashion_mnist",
                        dataclasses.replace(entry, files=files, offline_copy=str(debian)))
    (x_train, y_train), (x_test, _) = data.load_fashion_mnist()
    assert x_train.shape == (12, 28, 28) and y_train.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                                                                  0, 1]
    assert "from Debian's dataset-fashion-mnist package" in only_line(capsys)
    x_train[0, 0, 0] = 7  # arrays are writable, as a learner expects
    (debian / "t10k-labels-idx1-ubyte.gz").write_bytes(
        __import__("gzip").compress(raw["t10k-labels-idx1-ubyte.gz"][:-1] + b"\x09"))
    with pytest.raises(ChecksumError, match="decompressed bytes: expected"):
        data.load_fashion_mnist()


def test_download_then_cache_then_subset_when_the_download_fails(env, monkeypatch, tmp_path,
                                                                  capsys):
    env.delenv("COURSE_OFFLINE")
    origin = tmp_path / "origin"
    origin.mkdir()
    npz = builders.mnist_npz(origin)
    with ScriptedServer() as server:
        url = server.script("mnist.npz", ("ok", npz.read_bytes()))
        builders.use_file(monkeypatch, "mnist", "mnist.npz", npz, url=url)
        (x_train, _), (x_test, _) = data.load_mnist()
        assert x_train.shape == (60, 28, 28) and x_test.shape == (10, 28, 28)
        assert "full: 60 training + 10 test images, downloaded into the cache" in only_line(capsys)
        data.load_mnist()
        assert ", from the cache " in only_line(capsys)
        assert server.hits["/mnist.npz"] == 1

        (tmp_path / "cache" / "mnist.npz").unlink()
        server.script("mnist.npz", ("status", 503))
        folder = tmp_path / "subsets"
        folder.mkdir()
        env.setenv("COURSE_DATA_SUBSETS", str(folder))
        builders.use_subset(monkeypatch, "mnist", builders.mnist_subset(folder))
        (x_train, _), _ = data.load_mnist()
    line = only_line(capsys)
    assert line.startswith("Data: MNIST, real subset") and "download failed" in line
    assert x_train.shape == (80, 28, 28)


def test_online_the_full_download_wins_over_a_subset(env, monkeypatch, tmp_path, capsys):
    env.delenv("COURSE_OFFLINE")
    folder = tmp_path / "subsets"
    folder.mkdir()
    env.setenv("COURSE_DATA_SUBSETS", str(folder))
    builders.use_subset(monkeypatch, "mnist", builders.mnist_subset(folder))
    npz = builders.mnist_npz(tmp_path)
    with ScriptedServer() as server:
        builders.use_file(monkeypatch, "mnist", "mnist.npz", npz,
                          url=server.script("mnist.npz", ("ok", npz.read_bytes())))
        data.load_mnist()
    assert "full: 60 training" in only_line(capsys)
    assert data.last_source("MNIST").kind == "download"


def test_mirror_folder_serves_the_full_files(env, monkeypatch, tmp_path, capsys):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    builders.use_file(monkeypatch, "imdb", "imdb.npz", builders.imdb_npz(mirror))
    env.setenv("COURSE_DATA_MIRROR", str(mirror))
    (x_train, y_train), (x_test, _) = data.load_imdb(num_words=20)
    assert "copied from the mirror into the cache" in only_line(capsys)
    assert (len(x_train), len(x_test)) == (30, 20)
    assert all(seq[0] == 1 and max(seq) < 20 and min(seq) >= 1 for seq in x_train)
    assert (tmp_path / "cache" / "imdb.npz").is_file()


@pytest.mark.slow
def test_word_index_datasets_match_keras_exactly(env, monkeypatch, tmp_path):
    """Our reading of imdb.npz, reuters.npz and boston_housing.npz is Keras's, to the element."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    env.setenv("COURSE_DATA_MIRROR", str(mirror))
    files = {"imdb": builders.imdb_npz(mirror), "reuters": builders.reuters_npz(mirror),
             "boston_housing": builders.boston_npz(mirror)}
    for name, path in files.items():
        builders.use_file(monkeypatch, name, path.name, path)
    from course_lib.runtime import import_tensorflow

    import_tensorflow()
    from keras.src.datasets import boston_housing, imdb, reuters

    for module, path in ((imdb, files["imdb"]), (reuters, files["reuters"]),
                         (boston_housing, files["boston_housing"])):
        monkeypatch.setattr(module, "get_file", lambda *a, _p=path, **k: str(_p))
    for num_words in (None, 10, 25):
        ours = data.load_imdb(num_words=num_words)
        theirs = imdb.load_data(num_words=num_words)
        for mine, keras_part in zip(ours, theirs, strict=True):
            assert [list(s) for s in mine[0]] == [list(s) for s in keras_part[0]]
            assert mine[1].tolist() == list(keras_part[1])
        ours = data.load_reuters(num_words=num_words)
        theirs = reuters.load_data(num_words=num_words)
        for mine, keras_part in zip(ours, theirs, strict=True):
            assert [list(s) for s in mine[0]] == [list(s) for s in keras_part[0]]
            assert mine[1].tolist() == list(keras_part[1])
    ours, theirs = data.load_boston_housing(), boston_housing.load_data()
    for mine, keras_part in zip(ours, theirs, strict=True):
        assert np.array_equal(mine[0], keras_part[0]) and np.array_equal(mine[1], keras_part[1])


def test_archives_become_the_lesson_folders(env, monkeypatch, tmp_path, capsys):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    env.setenv("COURSE_DATA_MIRROR", str(mirror))
    builders.use_file(monkeypatch, "imdb_text", "aclImdb_v1.tar.gz", builders.acl_imdb_tar(mirror))
    builders.use_file(monkeypatch, "jena_climate", "jena_climate_2009_2016.csv.zip",
                      builders.jena_zip(mirror, rows=6))
    builders.use_file(monkeypatch, "cats_vs_dogs", "kagglecatsanddogs_5340.zip",
                      builders.pet_images_zip(mirror, per_class=6))
    builders.use_file(monkeypatch, "spa_eng", "spa-eng.zip", builders.spa_eng_zip(mirror))
    monkeypatch.setattr(loaders, "JENA_ROWS", 6)
    monkeypatch.setattr(loaders, "PET_SPLITS", (("train", 3), ("validation", 1), ("test", 2)))

    texts = data.imdb_text_dir()
    assert sorted(str(p.relative_to(texts)) for p in texts.rglob("*.txt")) == sorted(
        f"{split}/{label}/{i}_{7 if label == 'pos' else 2}.txt"
        for split in ("train", "test") for label in ("neg", "pos") for i in range(3))
    assert not (tmp_path / "escape_1.txt").exists() and not (texts / "train" / "unsup").exists()

    csv_path = data.jena_climate_csv()
    assert csv_path.name == "jena_climate_2009_2016.csv" and len(csv_path.read_text().split()) > 6

    pets = data.cats_vs_dogs_dir()
    assert sorted(p.name for p in (pets / "train" / "cat").iterdir()) == [
        "cat.2.jpg", "cat.3.jpg", "cat.4.jpg"]  # the empty and the non-JFIF photos are skipped
    assert sorted(p.name for p in (pets / "test" / "dog").iterdir()) == ["dog.6.jpg", "dog.7.jpg"]

    assert data.load_spa_eng() == [("Go.", "Ve."), ("Hi.", "Hola."),
                                   ("I see the cat.", "Veo el gato.")]
    assert capsys.readouterr().out.count("copied from the mirror") == 4

    env.delenv("COURSE_DATA_MIRROR")  # built folders are a cache hit, archive or not
    for archive in (tmp_path / "cache").glob("*.zip"):
        archive.unlink()
    assert data.cats_vs_dogs_dir() == pets and data.load_spa_eng()[0] == ("Go.", "Ve.")
    assert capsys.readouterr().out.count(", from the cache ") == 2


def test_a_half_built_folder_is_never_used(env, monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    env.setenv("COURSE_DATA_MIRROR", str(mirror))
    builders.use_file(monkeypatch, "jena_climate", "jena_climate_2009_2016.csv.zip",
                      builders.jena_zip(mirror, rows=6))
    # the registry expects 420,451 rows: the check fails half-way through building
    with pytest.raises(DataError, match="6 rows instead of 420,451"):
        data.jena_climate_csv()
    cache = tmp_path / "cache"
    assert not (cache / "jena_climate_2009_2016").exists()
    assert not [p for p in cache.iterdir() if "building" in p.name]


# --------------------------------------------------------------------------------------------
# provenance


def test_describe_and_last_source_show_provenance(subsets, monkeypatch, capsys):
    builders.use_subset(monkeypatch, "boston_housing", builders.boston_csv(subsets))
    data.load_boston_housing()
    printed = only_line(capsys)
    assert str(data.last_source()) == printed == data.last_source("boston").line()
    text = data.describe("boston_housing")
    assert repr(text) == str(text)  # shows as text at the end of a notebook cell
    assert "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5" in text
    assert "57,026 bytes" in text and "on this machine now: subset" in text
    assert f"last loaded: {printed}" in text


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(DataError, match="no dataset called 'cifar10'. Known datasets: mnist, "):
        data.describe("cifar10")


def test_failed_download_with_nothing_else_says_what_failed(env, monkeypatch, tmp_path):
    env.delenv("COURSE_OFFLINE")
    npz = builders.mnist_npz(tmp_path)
    with ScriptedServer() as server:
        builders.use_file(monkeypatch, "mnist", "mnist.npz", npz,
                          url=server.script("mnist.npz", ("status", 404)))
        with pytest.raises(DataUnavailableError) as caught:
            data.load_mnist()
    message = str(caught.value)
    assert message.startswith("MNIST could not be loaded: the download failed")
    assert "HTTP 404" in message and "COURSE_DATA_MIRROR" in message
    assert not list((tmp_path / "cache").glob("*mnist*"))


def test_a_mirror_url_that_fails_is_skipped_with_a_note(env, monkeypatch, tmp_path, capsys):
    env.delenv("COURSE_OFFLINE")
    npz = builders.mnist_npz(tmp_path)
    with ScriptedServer() as server:
        server.script("mirror/mnist.npz", ("status", 500))
        env.setenv("COURSE_DATA_MIRROR", server.url("mirror/"))
        builders.use_file(monkeypatch, "mnist", "mnist.npz", npz,
                          url=server.script("mnist.npz", ("ok", npz.read_bytes())))
        data.load_mnist()
    out = capsys.readouterr().out
    assert "Skipping the mirror for mnist.npz" in out and "HTTP 500" in out
    assert "downloaded into the cache" in out and "(the mirror failed)" in out
