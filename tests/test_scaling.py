"""``course_lib.scaling``: chapter 11 runs a script under another Keras backend and reads its result.

What a learner would notice if it broke: the JAX cell of chapter 11 reporting the wrong backend,
a failed run shown as a bare traceback of ``subprocess`` instead of the script's own error, or a
missing backend reported as a crash instead of the ``pip install`` to run.
"""

from __future__ import annotations

import sys

import pytest

from course_lib import scaling
from course_lib.errors import CourseError

REPORTS_ITS_BACKEND = """
import os, sys
from course_lib import scaling
print("some chatter before the result")
scaling.report(backend=os.environ["KERAS_BACKEND"], args=sys.argv[1:], flags=os.environ.get("EXTRA"))
"""


def test_the_child_gets_the_backend_the_arguments_and_the_extra_environment():
    result = scaling.run_with_backend("tensorflow", REPORTS_ITS_BACKEND, args=["data.npz", "3"],
                                      env={"EXTRA": "on"})
    assert result == {"backend": "tensorflow", "args": ["data.npz", "3"], "flags": "on"}
    assert result.backend == "tensorflow" and result.wall_seconds > 0
    assert "some chatter before the result" in result.output


def test_a_failing_script_raises_with_its_own_error_message():
    with pytest.raises(CourseError) as failure:
        scaling.run_with_backend("tensorflow", "raise ValueError('the data file is missing')")
    assert "ValueError: the data file is missing" in str(failure.value)
    assert "exit code 1" in str(failure.value)


def test_a_script_that_reports_nothing_is_an_error():
    with pytest.raises(CourseError, match="failed"):
        scaling.run_with_backend("tensorflow", "print('done, but no result')")


def test_an_unknown_backend_is_refused_by_name():
    with pytest.raises(CourseError, match="unknown Keras backend 'numpy'"):
        scaling.run_with_backend("numpy", "")


def test_a_missing_backend_says_what_to_install(monkeypatch):
    monkeypatch.setattr(scaling, "backend_installed", lambda backend: False)
    with pytest.raises(CourseError, match=r"pip install jax\[cpu\]"):
        scaling.run_with_backend("jax", "")


def test_a_run_past_its_timeout_is_stopped():
    with pytest.raises(CourseError, match="longer than 1 s"):
        scaling.run_with_backend("tensorflow", "import time; time.sleep(30)", timeout=1)


def test_importing_the_module_imports_no_backend():
    code = ("import sys, course_lib.scaling; "
            "print(any(name in sys.modules for name in ('tensorflow', 'jax', 'keras')))")
    import subprocess

    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout
    assert printed.strip() == "False"
