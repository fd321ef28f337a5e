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

    def api(self, path: str, method: str = "GET", timeout: float = 10) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/{path}", method=method,
            headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, characters: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-characters:]
        except OSError:
            return "(no log)"

    def kernel_stderr(self) -> str:
        """What the kernels wrote to stderr: the lines of the log that are not the server's own.

        Kernels inherit the server's stderr (the log file); the server's lines start with a
        ``[I 2026-...]``-style stamp, ipykernel's with ``[IPKernelApp]``.
        """
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(line for line in lines if not _SERVER_LINE.match(line)) or "(nothing)"

    def check_kernels(self) -> None:
        """Raise :class:`KernelDied` at once if the log says a kernel died (see _KERNEL_DEATH)."""
        try:
            log = self.log.read_text(errors="replace")
        except OSError:
            return
        death = _KERNEL_DEATH.search(log)
        if death:
            self._wait_for_quiet_log()  # a dying kernel may still be writing its report
            raise KernelDied(
                f"a kernel died ({death.group(0).strip()!r} in the server log).\n"
                f"--- the kernels' stderr ---\n{self.kernel_stderr()[-20000:]}\n"
                f"--- the end of the server log ---\n{self.log_tail(3000)}")

    def _wait_for_quiet_log(self, quiet: float = 1.0, limit: float = 10.0) -> None:
        deadline, size, since = time.monotonic() + limit, -1, time.monotonic()
        while time.monotonic() < deadline:
            current = self.log.stat().st_size
            if current != size:
                size, since = current, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.1)


class KernelDied(RuntimeError):
    """The notebook's kernel process ended while the test was using it."""


#: A server log line (Jupyter's ``[I 2026-12-05 10:00:00.000 ServerApp] ...`` format).
_SERVER_LINE = re.compile(r"^\[[DIWEC] \d{4}-\d\d-\d\d ")
#: What the server or a kernel logs when a kernel process ends on its own: the restarter
#: noticing the dead process, or Python's report of a fatal signal (faulthandler).
_KERNEL_DEATH = re.compile(
    r"KernelRestarter: restarting kernel.*|KernelRestarter: restart failed.*"
    r"|Kernel .* died.*|Fatal Python error: .*")


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
    # A kernel killed by a signal reports it (and every thread's Python stack) in the server
    # log. PYTHONFAULTHANDLER is not enough: it writes to descriptor 2, which ipykernel turns
    # into a pipe to the notebook that dies with the kernel. This sitecustomize, run at every
    # interpreter start, points faulthandler at a copy of descriptor 2 taken before that.
    site = home / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import faulthandler, os\nfaulthandler.enable(file=os.dup(2), all_threads=True)\n")
    env["PYTHONPATH"] = os.pathsep.join([str(site), env["PYTHONPATH"]])
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
        server.check_kernels()
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


def run_all_cells(page: Any, server: LabServer, attempts: int = 3) -> None:
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
            server.check_kernels()
            _accept_kernel_dialog(page)
            if any(re.search(r"\[(\*|\d+)\]", text) for text in prompts.all_inner_texts()):
                return
            time.sleep(0.25)
    raise TimeoutError(f"Run All Cells did not start any cell after {attempts} attempts")


def wait_until_idle(page: Any, server: LabServer) -> None:
    indicator = page.locator(".jp-Notebook-ExecutionIndicator").first
    deadline = time.monotonic() + 300
    while indicator.get_attribute("data-status") != "idle":
        server.check_kernels()
        if time.monotonic() > deadline:
            raise TimeoutError("the kernel stayed busy for 5 minutes")
        time.sleep(0.25)


def wait_for_visible(locator: Any, server: LabServer, timeout: float = 180) -> None:
    """Wait until ``locator`` shows, failing at once (with its stderr) if the kernel dies."""
    deadline = time.monotonic() + timeout
    while not locator.first.is_visible():
        server.check_kernels()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{locator} did not appear within {timeout:.0f} s")
        time.sleep(0.25)


def wait_for_function(page: Any, server: LabServer, script: str, arg: Any,
                      timeout: float = 180) -> None:
    """``page.wait_for_function`` in one-second slices, checking the kernel between them."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + timeout
    while True:
        server.check_kernels()
        try:
            page.wait_for_function(script, arg=arg, timeout=1000)
            return
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{script} stayed false for {timeout:.0f} s") from None


def copy_notebook(source: Path, root_dir: Path) -> str:
    """Copy a notebook into the server's folder (so Lab never writes to the repository)."""
    target = root_dir / source.name
    shutil.copyfile(source, target)
    return target.name
