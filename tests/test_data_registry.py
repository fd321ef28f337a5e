"""The registry: every dataset of the syllabus, with an origin, a size and an honest checksum."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.data import registry
from course_lib.data.errors import UnknownDatasetError
from course_lib.errors import CourseError

SHARED_README = Path(__file__).resolve().parents[2] / "shared" / "data" / "README.md"


def test_every_syllabus_dataset_is_registered():
    assert registry.names() == ["mnist", "fashion_mnist", "imdb", "imdb_text", "reuters",
                                "boston_housing", "jena_climate", "cats_vs_dogs", "oxford_pets",
                                "spa_eng"]


@pytest.mark.parametrize("name", list(registry.DATASETS))
def test_entries_name_origin_size_checksum_and_licence(name):
    dataset = registry.get(name)
    assert dataset.licence and dataset.licence_note and dataset.homepage and dataset.chapters
    assert dataset.files
    for remote in dataset.files:
        assert remote.url.startswith("https://") and remote.url.endswith("/" + remote.name)
        assert isinstance(remote.size, int) and remote.size > 0
        if remote.sha256 is None:  # none published: the entry must say so, and say what is checked
            assert "no sha-256 is published" in remote.hash_note.lower()
        else:
            assert re.fullmatch(r"[0-9a-f]{64}", remote.sha256)
        assert remote.md5 is None or re.fullmatch(r"[0-9a-f]{32}", remote.md5)
        assert remote.content_sha256 is None or re.fullmatch(r"[0-9a-f]{64}",
                                                             remote.content_sha256)
    if dataset.subset and not dataset.subset.is_dir:
        assert re.fullmatch(r"[0-9a-f]{64}", dataset.subset.sha256 or "")


def test_no_two_files_share_a_name_or_a_digest():
    files = [remote for dataset in registry.DATASETS.values() for remote in dataset.files]
    assert len({remote.relative_path for remote in files}) == len(files)
    digests = [remote.sha256 for remote in files if remote.sha256]
    assert len(set(digests)) == len(digests)


@pytest.mark.parametrize(("alias", "name"), [("Fashion-MNIST", "fashion_mnist"),
                                             ("aclImdb", "imdb_text"), ("boston", "boston_housing"),
                                             ("jena", "jena_climate"), ("spa-eng", "spa_eng"),
                                             (" MNIST ", "mnist")])
def test_names_are_forgiving(alias, name):
    assert registry.get(alias).name == name


def test_unknown_name_is_a_course_error_listing_the_known_ones():
    with pytest.raises(UnknownDatasetError) as caught:
        registry.get("cifar10")
    assert isinstance(caught.value, CourseError) and isinstance(caught.value, KeyError)
    assert str(caught.value).startswith("no dataset called 'cifar10'. Known datasets: mnist, ")


@pytest.mark.skipif(not SHARED_README.is_file(), reason="the shared data folder is not here")
def test_subset_checksums_agree_with_the_shared_data_readme():
    text = SHARED_README.read_text()
    for dataset in registry.DATASETS.values():
        if dataset.subset and dataset.subset.sha256:
            row = next(line for line in text.splitlines()
                       if line.startswith(f"| `{dataset.subset.path}`"))
            assert dataset.subset.sha256 in row


def test_importing_the_data_package_loads_nothing_heavy():
    code = ("import sys, course_lib.data, course_lib.data.cli, course_lib.data.sources; "
            "print(sorted(m for m in ('numpy', 'tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
