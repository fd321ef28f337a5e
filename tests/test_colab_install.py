"""The first cell a Colab learner runs: it installs course_lib from the repository, then sets up.

What a Colab learner would notice if it broke: the setup cell's ``pip install "course-lib @
git+..."`` fails, installs a package that lacks a file the lessons need (the plot style, a
module), or the report says nothing about turning a GPU on.

The test replays that cell as Colab runs it, offline: a kernel that cannot see this checkout's
course_lib, git told to fetch the repository's address from a local clone of this commit, pip
told to use no index (Colab's own numpy, matplotlib and ipywidgets are this environment's), and
Colab's environment variable set. Then the chapter 01 exercises, with their solutions, must run
without an error, with the freshly installed package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from course_lib.authoring import REPOSITORY, SETUP_CELL
from tests.conftest import ROOT

EXERCISE = ROOT / "exercises" / "source" / "01_tensors" / "01_tensors_exercises.ipynb"

# Runs at interpreter start-up, after the .pth files: hides the editable install of this
# checkout, so the kernel starts without course_lib as a fresh Colab runtime does.
HIDE_CHECKOUT = textwrap.dedent("""
    import sys
    sys.meta_path[:] = [finder for finder in sys.meta_path
                        if "__editable__" not in getattr(finder, "__module__", "")
                        and "__editable__" not in type(finder).__module__]
""")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_setup_cell_installs_the_course_on_a_fresh_colab_runtime(tmp_path: Path):
    import nbformat
    from nbclient import NotebookClient

    if shutil.which("git") is None:
        pytest.fail("git is needed to replay Colab's install (apt-get install git)")
    clone = tmp_path / "published"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    site, hide, work = tmp_path / "site", tmp_path / "hide", tmp_path / "work"
    for folder in (site, hide, work):
        folder.mkdir()
    (hide / "sitecustomize.py").write_text(HIDE_CHECKOUT)

    notebook = nbformat.read(EXERCISE, as_version=4)
    assert notebook.cells[1].source == SETUP_CELL  # the cell under test is the standard one
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import course_lib.plots\nprint('installed at', course_lib.__file__)\n"
        "print('style', course_lib.plots.STYLE.is_file())"))
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("COURSE_", "PIP_", "GIT_CONFIG"))}
    env.update({
        "PYTHONPATH": os.pathsep.join([str(hide), str(site)]),
        "COLAB_RELEASE_TAG": "release-colab-test",
        "CUDA_VISIBLE_DEVICES": "",
        "COURSE_OFFLINE": "1",
        # pip: install into the empty folder on the path, from nothing but the clone
        "PIP_TARGET": str(site), "PIP_NO_INDEX": "1", "PIP_NO_DEPS": "1",
        "PIP_NO_BUILD_ISOLATION": "0",  # pip reads "0" here as: build without isolation
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        # git: the repository's public address answered by the local clone
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{clone.as_uri()}.insteadOf",
        "GIT_CONFIG_VALUE_0": REPOSITORY,
    })
    client = NotebookClient(notebook, kernel_name="python3", timeout=300, allow_errors=True,
                            resources={"metadata": {"path": str(work)}})
    with client.setup_kernel(env=env, cwd=str(work)):
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)

    errors = [(index, output.get("ename"), output.get("evalue"))
              for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert errors == [], json.dumps(errors, indent=1)[:3000]
    text = {index: "".join(output.get("text", "") for output in cell.get("outputs", []))
            for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"}
    assert "On Colab without a GPU: Runtime > Change runtime type" in text[1]
    assert "profile: quick" in text[1]
    assert f"installed at {site}" in text[len(notebook.cells) - 1]
    assert "style True" in text[len(notebook.cells) - 1]
    assert (site / "course_lib" / "course.mplstyle").is_file()
    assert any(site.glob("course_lib-*.dist-info"))
