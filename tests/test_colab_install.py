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


def _colab_kernel_env(tmp_path: Path, *, before_site: list[Path] = (), after_site: list[Path] = (),
                     wheels: Path | None = None) -> tuple[dict[str, str], Path, Path]:
    """The environment of a fresh Colab kernel, offline; returns it, pip's target and the cwd."""
    if shutil.which("git") is None:
        pytest.fail("git is needed to replay Colab's install (apt-get install git)")
    clone = tmp_path / "published"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    site, hide, work = tmp_path / "site", tmp_path / "hide", tmp_path / "work"
    for folder in (site, hide, work):
        folder.mkdir()
    (hide / "sitecustomize.py").write_text(HIDE_CHECKOUT)
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("COURSE_", "PIP_", "GIT_CONFIG"))}
    env.update({
        "PYTHONPATH": os.pathsep.join(map(str, [hide, *before_site, site, *after_site])),
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
    if wheels is not None:  # pip's only source besides the clone: a folder of wheels
        env["PIP_FIND_LINKS"] = str(wheels)
    return env, site, work


def _run(notebook, env: dict[str, str], work: Path) -> dict[int, str]:
    """Execute every cell in a kernel started with ``env``; fail on any error; return the text."""
    from nbclient import NotebookClient

    client = NotebookClient(notebook, kernel_name="python3", timeout=300, allow_errors=True,
                            resources={"metadata": {"path": str(work)}})
    with client.setup_kernel(env=env, cwd=str(work)):
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
    errors = [(index, output.get("ename"), output.get("evalue"))
              for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert errors == [], json.dumps(errors, indent=1)[:3000]
    return {index: "".join(output.get("text", "") for output in cell.get("outputs", []))
            for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_setup_cell_installs_the_course_on_a_fresh_colab_runtime(tmp_path: Path):
    import nbformat

    env, site, work = _colab_kernel_env(tmp_path)
    notebook = nbformat.read(EXERCISE, as_version=4)
    assert notebook.cells[1].source == SETUP_CELL  # the cell under test is the standard one
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import course_lib.plots\nprint('installed at', course_lib.__file__)\n"
        "print('style', course_lib.plots.STYLE.is_file())"))
    text = _run(notebook, env, work)
    assert "On Colab without a GPU: Runtime > Change runtime type" in text[1]
    assert "profile: quick" in text[1]
    assert f"installed at {site}" in text[len(notebook.cells) - 1]
    assert "style True" in text[len(notebook.cells) - 1]
    assert (site / "course_lib" / "course.mplstyle").is_file()
    assert any(site.glob("course_lib-*.dist-info"))


OLD_KERAS = "3.10.0"  # what Colab shipped in late 2025, with TensorFlow 2.19.1
CHAPTER_07 = ROOT / "notebooks" / "07_custom_training.ipynb"


def _stand_in_for_an_old_keras(folder: Path) -> None:
    """Installed metadata of Keras 3.10.0 whose import fails loudly: setup() must upgrade it
    before anything imports Keras."""
    info = folder / f"keras-{OLD_KERAS}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: keras\nVersion: {OLD_KERAS}\n")
    (info / "RECORD").write_text("")
    (folder / "keras").mkdir()
    (folder / "keras" / "__init__.py").write_text(
        f"raise ImportError('the stand-in for Colab\\'s Keras {OLD_KERAS} was imported')\n")


def _wheel_of_the_installed_keras(folder: Path) -> str:
    """Pack the Keras this environment has (the pin) into a wheel in ``folder``, offline."""
    import base64
    import hashlib
    import importlib.metadata
    import zipfile

    dist = importlib.metadata.distribution("keras")
    folder.mkdir()
    info = f"keras-{dist.version}.dist-info"
    skipped = ("INSTALLER", "REQUESTED", "direct_url.json", "RECORD")
    record = []
    with zipfile.ZipFile(folder / f"keras-{dist.version}-py3-none-any.whl", "w",
                         zipfile.ZIP_DEFLATED) as wheel:
        for file in dist.files:
            name = file.as_posix()
            if "__pycache__" in name or (name.startswith(info) and file.name in skipped):
                continue
            data = file.locate().read_bytes()
            wheel.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{name},sha256={digest.decode()},{len(data)}")
        wheel.writestr(f"{info}/RECORD", "\n".join([*record, f"{info}/RECORD,,"]) + "\n")
    return dist.version


def _chapter_07_cell(marker: str) -> str:
    import nbformat

    chapter = nbformat.read(CHAPTER_07, as_version=4)
    return next(cell.source for cell in chapter.cells
                if cell.cell_type == "code" and marker in cell.source)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_setup_cell_brings_an_old_colab_keras_up_to_the_floor_before_importing_it(
        tmp_path: Path):
    """Colab with Keras below the floor: the setup cell upgrades it before Keras's first import,
    says so, and chapter 07's plain-function regularizer (which Keras 3.10 refuses) then runs."""
    import nbformat

    from course_lib.runtime import FLOOR_KERAS

    colab = tmp_path / "colab-dist-packages"
    _stand_in_for_an_old_keras(colab)
    new = _wheel_of_the_installed_keras(tmp_path / "wheels")
    env, site, work = _colab_kernel_env(tmp_path, after_site=[colab], wheels=tmp_path / "wheels")
    notebook = nbformat.v4.new_notebook(metadata=nbformat.read(CHAPTER_07, 4).metadata)
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in (
        SETUP_CELL,
        "import numpy as np\nimport tensorflow as tf\nimport keras\nfrom keras import layers\n"
        "rng = np.random.default_rng(0)\n"
        "train_features = rng.normal(size=(64, 13)).astype('float32')\n"
        "train_prices = rng.uniform(10, 50, size=64).astype('float32')",
        _chapter_07_cell("def my_softplus"),
        _chapter_07_cell("def my_l1_regularizer"),
        _chapter_07_cell("kernel_regularizer=my_l1_regularizer"),
        "print('keras', keras.__version__, 'from', keras.__file__)\n"
        "print('penalty', float(positive_model.layers[-1].losses[0]) > 0)",
    )]
    text = _run(notebook, env, work)
    assert f"Keras {OLD_KERAS} was older than the course needs ({FLOOR_KERAS}): the setup cell " \
           f"upgraded it to Keras {new}" in text[0], text[0]
    assert text[0].startswith("TensorFlow ") and f"| Keras {new} |" in text[0].splitlines()[0]
    assert f"keras {new} from {site}" in text[5], text[5]
    assert "penalty True" in text[5]
