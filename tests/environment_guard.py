"""The test suite leaves the environment it runs in as it found it, or the run fails.

Why this exists: until December 2026 one test ran ``make -n figures STAMP=Makefile`` with a fake
``nvidia-smi`` on the PATH. GNU make remakes a makefile even under ``-n``, and on a fresh clone git
writes ``pyproject.toml`` after ``Makefile``, so the environment recipe really ran, in the middle of
the suite, with the GPU variant: ``pip install -r requirements/gpu.txt`` put TensorFlow's GPU build
and ten ``nvidia-*`` wheels into the very ``.venv`` the other tests were using. pip replaces a file
by unlinking it and writing a new copy; a process that starts TensorFlow while
``libtensorflow_cc.so.2`` is half written maps a file shorter than its program headers say and dies
by SIGBUS inside ``import tensorflow``. That is how a JupyterLab kernel died five seconds after it
started, and a multi-worker test worker died by SIGBUS, on loaded CI machines (where pip is slower
and the window wider).

The guard records every installed distribution's metadata folder and every ``make`` stamp of the
environment (``sys.prefix``) when the run starts, and compares when it ends; any difference (an
install, an upgrade, a reinstall, a removed stamp) fails the run and names what changed. It is a
pytest plugin, loaded for every run under the repository by the top-level ``conftest.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Another environment to watch instead of this interpreter's (the guard's own tests use it).
PREFIX_VARIABLE = "COURSE_TEST_ENV_PREFIX"


def watched_prefix() -> Path:
    return Path(os.environ.get(PREFIX_VARIABLE) or sys.prefix)


def fingerprint(prefix: Path) -> dict[str, int]:
    """Each distribution's metadata folder and each ``.installed-*`` stamp, with its mtime in ns.

    Installing, upgrading or reinstalling a distribution writes a new metadata folder (a new name
    or a new mtime); removing one removes it; the Makefile's environment recipe deletes the stamps.
    """
    entries: dict[str, int] = {}
    for pattern in ("lib/python*/site-packages/*.dist-info", "lib/python*/site-packages/*.egg-info",
                    ".installed-*"):
        for path in prefix.glob(pattern):
            entries[str(path.relative_to(prefix))] = path.stat().st_mtime_ns
    return entries


def changes(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """What happened between two fingerprints, a line per entry, sorted."""
    lines = [f"added:     {name}" for name in after.keys() - before.keys()]
    lines += [f"removed:   {name}" for name in before.keys() - after.keys()]
    lines += [f"rewritten: {name}" for name in before.keys() & after.keys()
              if before[name] != after[name]]
    return sorted(lines, key=lambda line: line.split()[-1])


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


_BEFORE = pytest.StashKey[dict[str, int]]()


def pytest_sessionstart(session: pytest.Session) -> None:
    if not _is_xdist_worker(session.config):
        session.config.stash[_BEFORE] = fingerprint(watched_prefix())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if _is_xdist_worker(config) or _BEFORE not in config.stash:
        return
    prefix = watched_prefix()
    found = changes(config.stash[_BEFORE], fingerprint(prefix))
    if not found:
        return
    report = [f"The test run changed the environment it runs in ({prefix}).",
              "A test installed, upgraded or removed packages while other tests were starting",
              "TensorFlow from the same files; find the test that runs pip or make against this",
              "environment and point it at a temporary one. What changed:",
              *(f"  {line}" for line in found[:40])]
    if len(found) > 40:
        report.append(f"  ... and {len(found) - 40} more")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.section("environment changed by the tests", sep="=", red=True, bold=True)
        for line in report:
            reporter.write_line(line, red=True)
    else:
        print("\n".join(report), file=sys.stderr)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
