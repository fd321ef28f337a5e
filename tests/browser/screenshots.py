"""Refresh the explorer screenshots in ``docs/``, taken in JupyterLab as a learner sees them.

Run from the repository root (needs Debian's chromium and the Debian package
dataset-fashion-mnist, whose images the kernel explorer shows)::

    .venv/bin/python -m tests.browser.screenshots

It writes a throwaway notebook into a temporary folder, runs it in JupyterLab in headless
Chromium and saves one PNG per explorer.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nbformat

from tests.browser import lab

DOCS = lab.ROOT / "docs"
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")

LOAD_IMAGE = f'''import gzip
import numpy as np

with gzip.open("{FASHION_MNIST}") as images_file:
    images = np.frombuffer(images_file.read(), np.uint8, offset=16).reshape(-1, 28, 28)
# six test images side by side: ankle boot, pullover, trouser, shirt, sneaker, bag
picked = images[[0, 1, 2, 4, 9, 18]]
montage = np.concatenate([np.concatenate(picked[:3], axis=1), np.concatenate(picked[3:], axis=1)])
montage.shape'''

CELLS = {
    "gradient_descent_explorer": 'from course_lib import widgets\n\nwidgets.gradient_descent_explorer("valley", learning_rate=0.09)',
    "kernel_explorer": "widgets.kernel_explorer(montage, 'vertical edges')",
}


def main() -> int:
    if not FASHION_MNIST.exists():
        print(f"{FASHION_MNIST} is missing: apt-get install dataset-fashion-mnist", file=sys.stderr)
        return 1
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                       "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(CELLS["gradient_descent_explorer"]),
                      nbformat.v4.new_code_cell(LOAD_IMAGE),
                      nbformat.v4.new_code_cell(CELLS["kernel_explorer"])]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        nbformat.write(notebook, root / "explorers.ipynb")
        with lab.jupyter_lab(root, log=lab.ARTIFACTS / "screenshots-jupyterlab.log") as server, \
                lab.chromium(width=1200, height=1400) as browser:
            page = browser.new_page()
            lab.open_notebook(page, server, "explorers.ipynb")
            # fold the file browser away, as on a laptop screen, so the figures get their full width
            page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()
            lab.run_all_cells(page, server)
            explorers = page.locator(".course-explorer")
            explorers.nth(1).wait_for(state="visible")
            lab.wait_until_idle(page, server)
            for index, name in enumerate(CELLS):
                explorer = explorers.nth(index)
                explorer.locator("img.widget-image").evaluate("el => el.decode()")
                explorer.scroll_into_view_if_needed()
                path = DOCS / f"{name}.png"
                explorer.screenshot(path=path)
                print(f"wrote {path.relative_to(lab.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
