"""The guard that fails a test run which changed its own environment (tests/environment_guard.py).

The failure it exists for: a test ran the Makefile's environment recipe mid-suite, which installed
TensorFlow's GPU build over the running environment; processes that started TensorFlow meanwhile
died by SIGBUS. These tests replay that in a fake environment: a test that "installs" a package
must fail the run and be named, with and without pytest-xdist, and a run that installs nothing
must pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.environment_guard import PREFIX_VARIABLE, changes, fingerprint

SITE = "lib/python3.11/site-packages"


def _fake_environment(prefix: Path) -> Path:
    site = prefix / SITE
    for name in ("tensorflow_cpu-2.21.0.dist-info", "course_lib-0.1.0.dist-info"):
        (site / name).mkdir(parents=True)
    (site / "tensorflow").mkdir()
    (prefix / ".installed-cpu").touch()
    return site


def test_the_fingerprint_sees_installs_reinstalls_removals_and_a_deleted_stamp(tmp_path):
    site = _fake_environment(tmp_path)
    before = fingerprint(tmp_path)
    assert set(before) == {f"{SITE}/tensorflow_cpu-2.21.0.dist-info",
                           f"{SITE}/course_lib-0.1.0.dist-info", ".installed-cpu"}
    assert changes(before, fingerprint(tmp_path)) == []

    # what `pip install -r requirements/gpu.txt` and `pip install -e .` did to the suite's .venv
    (site / "tensorflow-2.21.0.dist-info").mkdir()
    (site / "nvidia_cublas_cu12-12.9.3.13.dist-info").mkdir()
    reinstalled = site / "course_lib-0.1.0.dist-info"
    reinstalled.rmdir()
    reinstalled.mkdir()
    os.utime(reinstalled, ns=(before[f"{SITE}/course_lib-0.1.0.dist-info"] + 10**9,) * 2)
    (tmp_path / ".installed-cpu").unlink()

    assert changes(before, fingerprint(tmp_path)) == [
        "removed:   .installed-cpu",
        f"rewritten: {SITE}/course_lib-0.1.0.dist-info",
        f"added:     {SITE}/nvidia_cublas_cu12-12.9.3.13.dist-info",
        f"added:     {SITE}/tensorflow-2.21.0.dist-info",
    ]


def _run_pytest(tmp_path: Path, test_body: str, *args: str) -> subprocess.CompletedProcess:
    prefix = tmp_path / "env"
    _fake_environment(prefix)
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_something.py").write_text(textwrap.dedent(f"""
        import os
        from pathlib import Path

        SITE = Path(os.environ["{PREFIX_VARIABLE}"]) / "{SITE}"

        def test_one():
        {textwrap.indent(textwrap.dedent(test_body), "    ")}

        def test_two():
            assert True
    """))
    env = {**os.environ, PREFIX_VARIABLE: str(prefix),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "-p", "tests.environment_guard", *args, str(suite)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_run_that_installs_a_package_fails_and_names_it(tmp_path, workers):
    result = _run_pytest(tmp_path, '(SITE / "tensorflow-2.21.0.dist-info").mkdir()', *workers)
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, output
    assert "2 passed" in output  # every test passed: the guard alone failed the run
    assert "The test run changed the environment it runs in" in output
    assert f"added:     {SITE}/tensorflow-2.21.0.dist-info" in output


def test_a_run_that_leaves_the_environment_alone_passes(tmp_path):
    result = _run_pytest(tmp_path, 'assert SITE.is_dir()', "-n", "2")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "changed the environment" not in output
