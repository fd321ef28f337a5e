"""In a real JupyterLab, in Chromium: the gradient-descent explorer appears and answers its slider.

The test starts JupyterLab from this venv, opens :data:`NOTEBOOK` (a copy, in a temporary
folder), runs all cells through the Run menu, finds the explorer, moves the learning-rate slider
with the keyboard and then by typing into its readout, and checks that the figure a learner sees
changed (screenshots and image data) and that the caption says what happened. Screenshots and
the server log land in ``test-artifacts/browser/``.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.browser import lab

#: The notebook the test opens: chapter 02, whose last section shows ``gradient_descent_explorer()``.
NOTEBOOK = lab.ROOT / "notebooks" / "02_gradient_tape.ipynb"
ARTIFACTS = lab.ARTIFACTS


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)


def _changed_fraction(before: bytes, after: bytes) -> float:
    first, second = _pixels(before), _pixels(after)
    if first.shape != second.shape:
        return 1.0
    return float(np.mean(np.abs(first - second).sum(axis=-1) > 30))


def _kernel_processes(server_pid: int) -> dict[int, list[str]]:
    """Process ids and command lines of the server's child processes that run an IPython kernel."""
    kernels = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes().decode().split("\0")
        except (OSError, ValueError, IndexError):
            continue
        if parent == server_pid and "ipykernel_launcher" in argv:
            kernels[int(entry.name)] = argv
    return kernels


def _kernel_commands(server_pid: int) -> list[list[str]]:
    return list(_kernel_processes(server_pid).values())


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    return ARTIFACTS


@pytest.mark.slow
@pytest.mark.browser
def test_moving_the_learning_rate_slider_redraws_the_figure_in_jupyterlab(tmp_path, artifacts):
    if not lab.CHROMIUM.exists():
        pytest.fail(lab.MISSING_CHROMIUM)
    name = lab.copy_notebook(NOTEBOOK, tmp_path)
    with lab.jupyter_lab(tmp_path, log=artifacts / "jupyterlab.log") as server, lab.chromium() as browser:
        page = browser.new_page()
        try:
            lab.open_notebook(page, server, name)
            page.screenshot(path=artifacts / "1-notebook-opened.png")
            lab.run_all_cells(page, server)

            explorer = page.locator(".course-explorer").filter(has_text="learning rate")
            lab.wait_for_visible(explorer, server)
            # scroll to it, as a learner does: Lab 4 skips rendering cells out of view (CSS
            # content-visibility), and a skipped element's innerText is empty
            explorer.scroll_into_view_if_needed()
            figure = explorer.locator("img.widget-image")
            caption = explorer.locator(".widget-html").last
            lab.wait_for_function(page, server, "el => el.complete && el.naturalWidth > 0",
                                  figure.element_handle())
            lab.wait_until_idle(page, server)

            # the kernel is this venv's Python
            kernels = _kernel_commands(server.process.pid)
            assert kernels and all(argv[0] == sys.executable for argv in kernels), kernels

            # Lab shows the live widget, not the static fallback that rides in the same output
            output = page.locator(".jp-OutputArea-output").filter(has=explorer)
            assert output.locator("figure.course-figure").count() == 0
            caption_before = caption.inner_text()
            assert "Gradient descent on" in caption_before and "learning rate" in caption_before
            explorer.screenshot(path=artifacts / "2-explorer.png")
            before = figure.screenshot()
            source_before = figure.get_attribute("src")

            # the keyboard: focus the slider's handle and press the right arrow ten times
            slider = explorer.locator(".widget-slider").filter(has_text="learning rate")
            readout = slider.locator(".widget-readout")
            opening_rate = float(readout.inner_text())  # the chapter opens at a converging rate
            slider.locator(".noUi-handle").first.focus()
            for _ in range(10):
                page.keyboard.press("ArrowRight")
            lab.wait_for_function(page, server, "([el, old]) => el.src !== old && el.complete",
                                  [figure.element_handle(), source_before])
            lab.wait_until_idle(page, server)
            assert float(readout.inner_text()) == pytest.approx(opening_rate * 10 ** 0.1, rel=0.01)  # 10 steps of 0.01 in log10
            after_keys = figure.screenshot(path=artifacts / "3-after-arrow-keys.png")
            assert _changed_fraction(before, after_keys) > 0.005
            assert caption.inner_text() != caption_before

            # typing a divergent learning rate into the readout, as a learner may
            source_keys = figure.get_attribute("src")
            readout.click()
            page.keyboard.press("Control+A")
            page.keyboard.type("1.05")
            page.keyboard.press("Enter")
            lab.wait_for_function(page, server, "([el, old]) => el.src !== old && el.complete",
                                  [figure.element_handle(), source_keys])
            lab.wait_until_idle(page, server)
            lab.wait_for_function(page, server, "el => el.innerText.includes('explodes')",
                                  caption.element_handle())
            divergent = figure.screenshot()
            explorer.screenshot(path=artifacts / "4-divergent.png")
            assert _changed_fraction(after_keys, divergent) > 0.02
            assert readout.inner_text() == "1.05"
            assert "learning rate 1.05" in caption.inner_text()
        except Exception:
            page.screenshot(path=artifacts / "failure.png", full_page=True)
            (artifacts / "kernel-stderr.log").write_text(server.kernel_stderr())
            raise


class _NeverVisible:
    """Stands for a widget that never appears (a locator whose ``.first`` is never visible)."""

    first = property(lambda self: self)

    def is_visible(self) -> bool:
        return False


@pytest.mark.slow
def test_a_kernel_that_dies_ends_the_wait_at_once_with_its_stderr(tmp_path):
    """A kernel killed by a signal (as once at TensorFlow's start on a loaded machine) must end
    the wait for a widget at once, with the kernel's report of the signal, not after 180 s."""
    from jupyter_client import BlockingKernelClient

    log = tmp_path / "jupyterlab.log"
    with lab.jupyter_lab(tmp_path, log=log) as server:
        server.api("kernels", method="POST", timeout=120)
        ((pid, argv),) = _kernel_processes(server.process.pid).items()
        client = BlockingKernelClient(connection_file=argv[argv.index("-f") + 1])
        client.load_connection_file()
        client.start_channels(hb=False)
        try:  # the kernel answers: it is running ipykernel (and so passed its sitecustomize)
            client.kernel_info(reply=True, timeout=180)
        finally:
            client.stop_channels()
        os.kill(pid, signal.SIGBUS)
        started = time.monotonic()
        with pytest.raises(lab.KernelDied) as died:
            lab.wait_for_visible(_NeverVisible(), server)
        waited = time.monotonic() - started
    assert waited < 30, f"noticed the dead kernel after {waited:.0f} s"
    stderr = str(died.value).split("--- the kernels' stderr ---", 1)[1]
    assert "Fatal Python error: Bus error" in stderr  # the kernel's own report of the signal
    assert "ipykernel/kernelapp.py" in stderr  # with its Python stack
