"""Downloads, the cache and the mirror, against a real HTTP server on 127.0.0.1.

What an instructor or learner would notice if these broke: a lab where a flaky connection leaves
a half-written file that poisons every later run, a mirror that is silently ignored, or a
corrupt cached file read as training data.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from course_lib.data import download, sources
from course_lib.data.errors import (
    ChecksumError,
    DataUnavailableError,
    DownloadError,
    MirrorError,
)
from course_lib.data.registry import RemoteFile
from tests.fixtures.data.http_fixture import ScriptedServer

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, crosses the download's chunk boundary
FAST = (0.01, 0.01, 0.01)


def remote_for(data: bytes, url: str, name: str = "payload.bin", **changes: object) -> RemoteFile:
    fields: dict[str, object] = {
        "name": name, "url": url, "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    fields.update(changes)
    return RemoteFile(**fields)  # type: ignore[arg-type]


@pytest.fixture
def server():
    with ScriptedServer() as running:
        yield running


@pytest.fixture
def cache(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    clean_env.setenv("COURSE_DATA_CACHE", str(folder))
    clean_env.setattr(download, "RETRY_DELAYS", FAST)
    return folder


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and p.name.endswith(".part"))


def test_download_writes_the_verified_file(server, tmp_path):
    remote = remote_for(PAYLOAD, server.script("payload.bin", ("ok", PAYLOAD)))
    target = tmp_path / "out" / "payload.bin"
    log = io.StringIO()
    assert download.download(remote, target, delays=FAST, stream=log) == target
    assert target.read_bytes() == PAYLOAD
    assert leftovers(tmp_path) == []
    assert "payload.bin" in log.getvalue()  # a start and an end line where there is no terminal


def test_cut_off_transfer_leaves_nothing_and_the_next_call_succeeds(server, tmp_path):
    url = server.script("payload.bin", ("cut", PAYLOAD), ("ok", PAYLOAD))
    remote = remote_for(PAYLOAD, url)
    target = tmp_path / "payload.bin"
    with pytest.raises(DownloadError, match="cut off after .* of 1,048,576 bytes") as caught:
        download.download(remote, target, delays=(), stream=io.StringIO())
    assert caught.value.transient
    assert not target.exists() and leftovers(tmp_path) == []
    download.download(remote, target, delays=(), stream=io.StringIO())
    assert target.read_bytes() == PAYLOAD


def test_cut_off_transfer_is_retried_within_one_call(server, tmp_path):
    url = server.script("payload.bin", ("cut", PAYLOAD), ("ok", PAYLOAD))
    log = io.StringIO()
    download.download(remote_for(PAYLOAD, url), tmp_path / "p.bin", delays=FAST, stream=log)
    assert (tmp_path / "p.bin").read_bytes() == PAYLOAD
    assert "Retrying payload.bin" in log.getvalue()
    assert server.hits["/payload.bin"] == 2


def test_server_error_then_success_is_retried_with_backoff(server, tmp_path):
    url = server.script("payload.bin", ("status", 503), ("status", 503), ("ok", PAYLOAD))
    pauses: list[float] = []
    download.download(remote_for(PAYLOAD, url), tmp_path / "p.bin", delays=(0.5, 1.5, 4.5),
                      stream=io.StringIO(), sleep=pauses.append)
    assert pauses == [0.5, 1.5]  # growing pauses, taken from the schedule in order
    assert server.hits["/payload.bin"] == 3
    assert (tmp_path / "p.bin").read_bytes() == PAYLOAD


def test_timeout_is_transient(server, tmp_path):
    url = server.script("payload.bin", ("stall", 1.0, PAYLOAD), ("ok", PAYLOAD))
    download.download(remote_for(PAYLOAD, url), tmp_path / "p.bin", delays=FAST, timeout=0.2,
                      stream=io.StringIO())
    assert (tmp_path / "p.bin").read_bytes() == PAYLOAD


def test_persistent_server_error_gives_up_with_advice(server, tmp_path):
    url = server.script("payload.bin", ("status", 503))
    with pytest.raises(DownloadError, match="after 3 attempts.*HTTP 503.*COURSE_DATA_MIRROR"):
        download.download(remote_for(PAYLOAD, url), tmp_path / "p.bin", delays=(0.01, 0.01),
                          stream=io.StringIO())
    assert server.hits["/payload.bin"] == 3
    assert leftovers(tmp_path) == [] and not (tmp_path / "p.bin").exists()


def test_missing_file_is_not_retried(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404") as caught:
        download.download(remote_for(PAYLOAD, server.url("gone.bin")), tmp_path / "p.bin",
                          delays=FAST, stream=io.StringIO())
    assert caught.value.status == 404 and server.hits["/gone.bin"] == 1


def test_checksum_mismatch_deletes_the_download_and_says_expected_and_found(server, tmp_path):
    wrong = PAYLOAD[:-1] + b"\x00"
    remote = remote_for(PAYLOAD, server.script("payload.bin", ("ok", wrong)))
    with pytest.raises(ChecksumError) as caught:
        download.download(remote, tmp_path / "p.bin", delays=FAST, stream=io.StringIO())
    message = str(caught.value)
    assert remote.sha256 in message and hashlib.sha256(wrong).hexdigest() in message
    assert "deleted" in message
    assert not (tmp_path / "p.bin").exists() and leftovers(tmp_path) == []
    assert server.hits["/payload.bin"] == 1  # the bytes arrived: not a network problem


def test_size_is_checked_where_no_sha256_is_published(server, tmp_path):
    url = server.script("payload.bin", ("ok", PAYLOAD[:1000]))
    remote = RemoteFile("payload.bin", url, size=999, sha256=None, hash_note="none published")
    with pytest.raises(ChecksumError, match="expected 999 bytes, found 1,000"):
        download.download(remote, tmp_path / "p.bin", delays=FAST, stream=io.StringIO())


def test_md5_is_checked_where_only_an_md5_is_published(server, tmp_path):
    url = server.script("words.json", ("ok", b'{"the": 1}'))
    good = RemoteFile("words.json", url, size=10, sha256=None,
                      md5=hashlib.md5(b'{"the": 1}').hexdigest())
    download.download(good, tmp_path / "words.json", delays=FAST, stream=io.StringIO())
    bad = RemoteFile("words.json", url, size=10, sha256=None, md5="0" * 32)
    with pytest.raises(ChecksumError, match="MD5"):
        download.download(bad, tmp_path / "other.json", delays=FAST, stream=io.StringIO())


def test_progress_bar_redraws_one_line_in_a_terminal():
    out = io.StringIO()
    bar = download.Progress("mnist.npz", total=2_000_000, stream=out, live=True)
    bar.update(1_000_000)
    bar.update(1_000_000)
    bar.close(ok=True)
    text = out.getvalue()
    assert text.startswith("\r") and text.endswith("\n") and text.count("\n") == 1
    assert "mnist.npz [" in text and "100%" in text and "2.0/2.0 MB" in text


def test_cache_hit_does_not_touch_the_network(server, cache):
    remote = remote_for(PAYLOAD, server.script("payload.bin", ("ok", PAYLOAD)))
    first, how = sources.fetch(remote)
    assert how == "download" and first == cache / "payload.bin"
    again, how = sources.fetch(remote)
    assert (again, how) == (first, "cache")
    assert server.hits["/payload.bin"] == 1


def test_corrupt_cached_file_is_reported_set_aside_and_fetched_again(server, cache, capsys):
    remote = remote_for(PAYLOAD, server.script("payload.bin", ("ok", PAYLOAD)))
    path, _ = sources.fetch(remote)
    path.write_bytes(b"garbage" + PAYLOAD[7:])  # same size, different bytes
    again, how = sources.fetch(remote)
    assert how == "download" and again.read_bytes() == PAYLOAD
    assert (cache / "payload.bin.corrupt").read_bytes().startswith(b"garbage")
    out = capsys.readouterr().out
    assert "failed its check" in out and "moved to" in out and remote.sha256 in out


def test_offline_without_cache_or_mirror_is_a_clear_error(server, cache, clean_env):
    clean_env.setenv("COURSE_OFFLINE", "1")
    remote = remote_for(PAYLOAD, server.script("payload.bin", ("ok", PAYLOAD)))
    with pytest.raises(DataUnavailableError, match="COURSE_OFFLINE=1 forbids downloading"):
        sources.fetch(remote)
    assert server.hits["/payload.bin"] == 0


def test_mirror_folder_is_used_before_the_origin(server, cache, clean_env, tmp_path):
    mirror = tmp_path / "usb-stick"
    mirror.mkdir()
    (mirror / "payload.bin").write_bytes(PAYLOAD)
    clean_env.setenv("COURSE_DATA_MIRROR", str(mirror))
    clean_env.setenv("COURSE_OFFLINE", "1")
    remote = remote_for(PAYLOAD, server.url("payload.bin"))
    path, how = sources.fetch(remote)
    assert how == "mirror" and path.read_bytes() == PAYLOAD and path.parent == cache
    assert server.hits["/payload.bin"] == 0


def test_mirror_url_is_used_before_the_origin(server, cache, clean_env):
    server.script("mirror/payload.bin", ("ok", PAYLOAD))
    clean_env.setenv("COURSE_DATA_MIRROR", server.url("mirror/"))
    remote = remote_for(PAYLOAD, server.script("payload.bin", ("ok", PAYLOAD)))
    path, how = sources.fetch(remote)
    assert how == "mirror" and path.read_bytes() == PAYLOAD
    assert server.hits["/payload.bin"] == 0 and server.hits["/mirror/payload.bin"] == 1


def test_mirror_lacking_a_file_falls_through_to_the_origin(server, cache, clean_env):
    clean_env.setenv("COURSE_DATA_MIRROR", server.url("mirror/"))  # 404 for everything
    remote = remote_for(PAYLOAD, server.script("payload.bin", ("ok", PAYLOAD)))
    assert sources.fetch(remote)[1] == "download"


def test_corrupt_mirror_copy_is_refused_and_not_cached(cache, clean_env, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "payload.bin").write_bytes(b"x" * len(PAYLOAD))
    clean_env.setenv("COURSE_DATA_MIRROR", str(mirror))
    with pytest.raises(ChecksumError, match="mirror's copy .* is not the published"):
        sources.fetch(remote_for(PAYLOAD, "http://127.0.0.1:9/never"))
    assert not (cache / "payload.bin").exists()
    assert (mirror / "payload.bin").exists()  # the mirror is never modified


def test_mirror_path_that_does_not_exist_is_a_clear_error(cache, clean_env, tmp_path):
    clean_env.setenv("COURSE_DATA_MIRROR", str(tmp_path / "nowhere"))
    with pytest.raises(MirrorError, match="no folder there.*or unset it"):
        sources.mirror()


def test_cache_defaults_to_keras_home(clean_env, tmp_path):
    clean_env.delenv("COURSE_DATA_CACHE", raising=False)
    clean_env.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert sources.cache_dir() == tmp_path / "kh" / "datasets"
    clean_env.delenv("KERAS_HOME")
    assert sources.cache_dir() == Path.home() / ".keras" / "datasets"
