"""``course data list | fetch | verify | describe``: what an instructor runs before a lab."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.cli import main
from course_lib.data import download, registry
from tests.fixtures.data import builders
from tests.fixtures.data.http_fixture import ScriptedServer


@pytest.fixture
def env(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    clean_env.setenv("COURSE_DATA_CACHE", str(tmp_path / "cache"))
    clean_env.setenv("COURSE_PROFILE", "quick")
    clean_env.setattr(download, "RETRY_DELAYS", (0.01,))
    return clean_env


def rows(text: str) -> dict[str, list[str]]:
    """The table of `course data list`, by dataset name."""
    return {line.split()[0]: line.split() for line in text.splitlines()[1:] if line.strip()}


def test_list_shows_every_dataset_with_licence_and_source_now(env, tmp_path, capsys):
    env.setenv("COURSE_OFFLINE", "1")
    subsets = tmp_path / "subsets"
    subsets.mkdir()
    builders.mnist_subset(subsets)
    env.setenv("COURSE_DATA_SUBSETS", str(subsets))
    builders.no_offline_copy(env, tmp_path)
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    table = rows(out)
    assert {"mnist", "fashion_mnist", "imdb", "imdb_text", "reuters", "boston_housing",
            "jena_climate", "cats_vs_dogs", "spa_eng"} <= set(table)
    assert "CC BY-SA 3.0" in out and "CC BY 2.0 FR" in out
    assert "subset" in table["mnist"] and "unavailable" in table["reuters"]

    env.setenv("COURSE_ALLOW_STANDINS", "1")
    main(["data", "list"])
    assert "stand-in" in rows(capsys.readouterr().out)["reuters"]
    env.delenv("COURSE_OFFLINE")
    main(["data", "list"])
    table = rows(capsys.readouterr().out)
    assert "download" in table["reuters"] and "reuters.npz" not in " ".join(table["reuters"])


def test_fetch_downloads_verifies_and_then_finds_it_cached(env, tmp_path, monkeypatch, capsys):
    npz = builders.mnist_npz(tmp_path)
    with ScriptedServer() as server:
        url = server.script("mnist.npz", ("cut", npz.read_bytes()), ("ok", npz.read_bytes()))
        builders.use_file(monkeypatch, "mnist", "mnist.npz", npz, url=url)
        assert main(["data", "fetch", "mnist"]) == 0
        assert main(["data", "fetch", "MNIST"]) == 0
        assert server.hits["/mnist.npz"] == 2  # one cut-off transfer, retried once
    out = capsys.readouterr().out
    assert "mnist: mnist.npz: downloaded, verified (size" in out
    assert "mnist: mnist.npz: already in the cache, verified" in out
    assert (tmp_path / "cache" / "mnist.npz").read_bytes() == npz.read_bytes()
    assert "cache" in rows(_list(capsys))["mnist"]


def _list(capsys: pytest.CaptureFixture[str]) -> str:
    main(["data", "list"])
    return capsys.readouterr().out


def test_fetch_into_another_cache_with_the_cache_option(env, tmp_path, monkeypatch, capsys):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    builders.use_file(monkeypatch, "spa_eng", "spa-eng.zip", builders.spa_eng_zip(mirror))
    env.setenv("COURSE_DATA_MIRROR", str(mirror))
    env.setenv("COURSE_OFFLINE", "1")
    lab = tmp_path / "lab-cache"
    assert main(["data", "--cache", str(lab), "fetch", "spa_eng"]) == 0
    out = capsys.readouterr().out
    assert "copied from the mirror, verified" in out
    assert (lab / "spa-eng.zip").is_file() and (lab / "spa-eng" / "spa.txt").is_file()
    assert os.environ["COURSE_DATA_CACHE"] == str(tmp_path / "cache")  # for that command only


def test_fetch_failures_are_clear_and_exit_nonzero(env, tmp_path, capsys):
    assert main(["data", "fetch"]) == 1
    assert "name the datasets to fetch" in capsys.readouterr().err
    assert main(["data", "fetch", "cifar10"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("course data: no dataset called 'cifar10'") and err.count("\n") == 1
    env.setenv("COURSE_OFFLINE", "1")
    assert main(["data", "fetch", "--all"]) == 1
    out, err = capsys.readouterr()
    every_file = sum(len(dataset.files) for dataset in registry.DATASETS.values())
    assert out.count("FAILED") == every_file  # every file of every dataset was tried
    assert "could not be fetched" in err
    env.setenv("COURSE_DATA_MIRROR", str(tmp_path / "missing"))
    assert main(["data", "fetch", "mnist"]) == 1
    assert "COURSE_DATA_MIRROR is" in capsys.readouterr().err


def test_verify_finds_a_corrupt_cached_file(env, tmp_path, monkeypatch, capsys):
    assert main(["data", "verify"]) == 0
    assert "No dataset files in the cache" in capsys.readouterr().out
    cache = tmp_path / "cache"
    cache.mkdir()
    good, bad = builders.imdb_npz(cache), builders.reuters_npz(cache)
    builders.use_file(monkeypatch, "imdb", "imdb.npz", good)
    builders.use_file(monkeypatch, "reuters", "reuters.npz", bad)
    assert main(["data", "verify"]) == 0
    assert capsys.readouterr().out.count("ok ") == 2
    bad.write_bytes(bad.read_bytes()[:-10] + b"0123456789")
    assert main(["data", "verify"]) == 1
    out, err = capsys.readouterr()
    assert "ok       imdb.npz" in out and "CORRUPT  reuters.npz: SHA-256: expected" in out
    assert "course data fetch reuters" in out and "1 of 2 cached file(s) failed" in err
    assert not bad.exists() and (cache / "reuters.npz.corrupt").is_file()


def test_describe_prints_origin_checksum_and_licence(env, capsys):
    assert main(["data", "describe", "jena"]) == 0
    out = capsys.readouterr().out
    assert "jena_climate_2009_2016.csv.zip  (13,568,290 bytes)" in out
    assert "No SHA-256 is published" in out and "licence:" in out


def test_listing_is_quick_to_start(env):
    code = ("import sys; from course_lib.cli import main; main(['data', 'list']); "
            "print(sorted(m for m in ('numpy', 'tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
