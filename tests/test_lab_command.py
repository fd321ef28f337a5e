"""The README's set-up command (`make lab`) serves the course in JupyterLab."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


@pytest.mark.slow
def test_make_lab_serves_the_chapter_notebooks(tmp_path):
    port, token = _free_port(), "course-test-token"
    lab_args = (f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token} "
                f"--ServerApp.runtime_dir={tmp_path}")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    # A stamp newer than every requirement file: `make lab` must never rebuild the environment
    # this suite runs in (see tests/environment_guard.py for what that once did).
    stamp = tmp_path / "installed"
    stamp.touch()
    server = subprocess.Popen(["make", "--no-print-directory", "lab", f"STAMP={stamp}",
                               f"LAB_ARGS={lab_args}"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, page = _get(f"http://127.0.0.1:{port}/lab?token={token}")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = server.stdout.read().decode(errors="replace") if server.stdout else ""
                    pytest.fail(f"JupyterLab did not answer on port {port}:\n{output[-3000:]}")
                time.sleep(0.5)
        assert status == 200 and b"JupyterLab" in page
        _, listing = _get(f"http://127.0.0.1:{port}/api/contents/notebooks?token={token}")
        names = {item["name"] for item in json.loads(listing)["content"]}
        assert "01_tensors.ipynb" in names
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
