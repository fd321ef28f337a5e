"""Drive a real JupyterLab in headless Chromium, as a learner would use it.

Used by ``tests/test_browser.py`` and by ``tests/browser/screenshots.py`` (which refreshes the
screenshots under ``docs/``). The server runs from this interpreter (the course's venv), on
127.0.0.1 with a random token and a free port, with its own config, data, runtime and settings
folders, serving a temporary folder; it and its kernels are stopped on the way out, whatever
happened. The browser is Debian's Chromium (no browser download works offline), driven by
Playwright with a fresh profile.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
MISSING_CHROMIUM = (
    f"{CHROMIUM} is missing: the browser test drives Debian's Chromium. Install it with "
    "`apt-get install chromium chromium-driver` (the Debian packages chromium and chromium-driver; "
    ".ci/run installs them on CI)."
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LabServer:
    """A running JupyterLab: its address, token, process and log file."""

    port: int
    token: str
    process: subprocess.Popen
    log: Path

    def url(self, path: str) -> str:
        separator = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}{separator}token={self.token}"

    def api(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/{path}", method=method,
            headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, characters: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-characters:]
        except OSError:
            return "(no log)"


def _wait_until_ready(server: LabServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            server.api("status")
            return
        except OSError:
            if server.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {server.process.returncode}:\n{server.log_tail()}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{server.log_tail()}") from None
            time.sleep(0.5)


def _stop(server: LabServer) -> None:
    """Shut the kernels down through the API, then end the server's whole process group."""
    try:
        for kernel in server.api("kernels") or []:
            server.api(f"kernels/{kernel['id']}", method="DELETE")
    except OSError:
        pass  # the server is already gone or hung: the signals below still apply
    try:
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)


@contextmanager
def jupyter_lab(root_dir: Path, *, log: Path, timeout: float = 120) -> Iterator[LabServer]:
    """Start JupyterLab serving ``root_dir``; stop it and its kernels on exit, even on failure."""
    home = Path(tempfile.mkdtemp(prefix="course-lab-"))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
        # the kernel imports this checkout's course_lib, whatever is installed
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.pop("COURSE_STATIC_WIDGETS", None)  # a learner's Lab shows the live widgets
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}", "--ServerApp.allow_root=True",
        f"--LabApp.workspaces_dir={home / 'workspaces'}", f"--LabApp.user_settings_dir={home / 'settings'}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    ]
    # never ask about (or fetch) Jupyter news: the toast would cover the notebook, and there is no network
    notification = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as log_file:
        process = subprocess.Popen(command, cwd=root_dir, env=env, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = LabServer(port, token, process, log)
    try:
        _wait_until_ready(server, timeout)
        yield server
    finally:
        _stop(server)
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def chromium(*, width: int = 1280, height: int = 1000) -> Iterator[Any]:
    """A Playwright browser context on Debian's Chromium with a fresh, temporary profile."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(MISSING_CHROMIUM)
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="course-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
                viewport={"width": width, "height": height}, device_scale_factor=1)
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def open_notebook(page: Any, server: LabServer, path: str, *, timeout_ms: int = 180_000) -> None:
    """Open a notebook in Lab and wait until its kernel has started and is idle."""
    page.set_default_timeout(timeout_ms)
    page.goto(server.url(f"lab/tree/{path}"))
    page.locator(".jp-NotebookPanel").first.wait_for(state="visible")
    deadline = time.monotonic() + timeout_ms / 1000
    while not any(session["path"] == path and session["kernel"]["execution_state"] == "idle"
                  for session in server.api("sessions")):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no idle kernel for {path}:\n{server.log_tail()}")
        time.sleep(0.5)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(state="attached")


def _accept_kernel_dialog(page: Any) -> None:
    """If Lab asks which kernel to use, take the one it proposes (the notebook's python3)."""
    dialog = page.locator(".jp-Dialog").filter(has_text="Select Kernel")
    if dialog.count():
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        dialog.wait_for(state="detached")


def run_all_cells(page: Any, attempts: int = 3) -> None:
    """Run > Run All Cells, through the menu a learner uses; retried if no cell starts running.

    Right after a notebook opens, Lab may still be wiring the kernel to the notebook: it may
    drop the command or ask which kernel to use. A learner would accept the proposed kernel or
    click again, and so does this.
    """
    prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt")
    for _ in range(attempts):
        _accept_kernel_dialog(page)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        item = page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).first
        item.wait_for(state="visible")
        item.click()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            _accept_kernel_dialog(page)
            if any(re.search(r"\[(\*|\d+)\]", text) for text in prompts.all_inner_texts()):
                return
            time.sleep(0.25)
    raise TimeoutError(f"Run All Cells did not start any cell after {attempts} attempts")


def wait_until_idle(page: Any) -> None:
    indicator = page.locator(".jp-Notebook-ExecutionIndicator").first
    deadline = time.monotonic() + 300
    while indicator.get_attribute("data-status") != "idle":
        if time.monotonic() > deadline:
            raise TimeoutError("the kernel stayed busy for 5 minutes")
        time.sleep(0.25)


def copy_notebook(source: Path, root_dir: Path) -> str:
    """Copy a notebook into the server's folder (so Lab never writes to the repository)."""
    target = root_dir / source.name
    shutil.copyfile(source, target)
    return target.name
