"""setup(), run profiles and the device report: what a learner sees in the first cell."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

import course_lib
from course_lib.runtime import ProfileError, Run, detect_platform, resolve_profile
from tests.conftest import ROOT


def test_importing_course_lib_does_not_import_tensorflow():
    code = "import sys, course_lib; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
    ("requested", "environ", "has_gpu", "platform", "expected"),
    [
        (None, {}, False, "local", "quick"),
        (None, {}, True, "local", "full"),
        (None, {}, True, "binder", "quick"),
        (None, {"COURSE_PROFILE": "full"}, False, "local", "full"),
        (None, {"COURSE_PROFILE": " Quick "}, True, "local", "quick"),
        ("full", {"COURSE_PROFILE": "quick"}, False, "local", "full"),
        (None, {"COURSE_PROFILE": ""}, True, "colab", "full"),
    ],
)
def test_profile_resolution_order(requested, environ, has_gpu, platform, expected):
    profile, reason = resolve_profile(requested, environ=environ, has_gpu=has_gpu, platform=platform)
    assert profile == expected
    assert reason


def test_unknown_profile_names_the_valid_ones():
    with pytest.raises(ProfileError, match="'quick'.*'full'"):
        resolve_profile(environ={"COURSE_PROFILE": "fast"})


@pytest.mark.parametrize(
    ("environ", "modules", "expected"),
    [
        ({}, {}, "local"),
        ({"COLAB_RELEASE_TAG": "release-colab"}, {}, "colab"),
        ({}, {"google.colab": object()}, "colab"),
        ({"BINDER_LAUNCH_HOST": "https://mybinder.org/"}, {}, "binder"),
        ({"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, {}, "kaggle"),
    ],
)
def test_platform_detection(environ, modules, expected):
    assert detect_platform(environ, modules) == expected


def test_sizes_pick_the_profile_column_and_show_both():
    quick_run = Run(profile="quick", profile_reason="test", seed=0)
    sizes = quick_run.sizes(epochs=(2, 20), samples=(1_000, None))
    assert sizes.epochs == 2 and sizes["samples"] == 1_000
    assert "(2 / 20)" in repr(sizes) and "quick profile" in repr(sizes)
    full_run = Run(profile="full", profile_reason="test", seed=0)
    assert full_run.sizes(epochs=(2, 20)).epochs == 20
    assert full_run.choose(quick="a", full="b") == "b"


def test_sizes_reject_a_value_that_is_not_a_pair():
    run = Run(profile="quick", profile_reason="test", seed=0)
    with pytest.raises(TypeError, match="pair"):
        run.sizes(epochs=3)
    with pytest.raises(AttributeError, match="declares: epochs"):
        _ = run.sizes(epochs=(1, 2)).batch_size


def test_setup_seeds_reports_and_is_repeatable(clean_env, capsys):
    import numpy as np
    import tensorflow as tf

    clean_env.setenv("COURSE_PROFILE", "quick")
    run = course_lib.setup(seed=7)
    first = (np.random.rand(), float(tf.random.uniform(())))
    report = capsys.readouterr().out
    course_lib.setup(seed=7, verbose=False)
    second = (np.random.rand(), float(tf.random.uniform(())))
    assert first == second
    assert run.profile == "quick" and run.seed == 7
    assert f"TensorFlow {tf.__version__}" in report and "profile: quick" in report
    assert "device: CPU (no GPU)" in report or "device: GPU" in report
    assert course_lib.runtime.current_profile() == "quick"


def test_colab_without_gpu_says_how_to_turn_one_on(clean_env, capsys):
    clean_env.setenv("COLAB_RELEASE_TAG", "release-colab")
    run = course_lib.setup(verbose=True)
    if run.gpus:
        pytest.skip("this machine has a GPU")
    assert "Change runtime type" in capsys.readouterr().out


def test_course_info_reports_and_rejects_a_bad_profile(clean_env):
    ok = subprocess.run([sys.executable, "-m", "course_lib", "info", "--profile", "quick"],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "profile: quick" in ok.stdout
    clean_env.setenv("COURSE_PROFILE", "fast")
    bad = subprocess.run([sys.executable, "-m", "course_lib", "info"], capture_output=True,
                         text=True)
    assert bad.returncode == 1
    assert "not a run profile" in bad.stderr and "Traceback" not in bad.stderr


# The floor: the oldest TensorFlow and Keras the course supports (README, "Versions").

def test_versions_compare_as_numbers():
    from course_lib.runtime import version_tuple

    assert version_tuple("2.19.1") == (2, 19, 1)
    assert version_tuple("2.20.0rc1") == (2, 20, 0)
    assert version_tuple("3.9.2") < version_tuple("3.10.0") < version_tuple("3.15.0")


@pytest.mark.parametrize(
    ("tensorflow", "keras", "platform", "imported", "action", "says"),
    [
        (("tensorflow-cpu", "2.21.0"), "3.15.1", "local", False, "ok", ""),
        (("tensorflow", "2.19.1"), course_lib.runtime.FLOOR_KERAS, "colab", False, "ok", ""),
        # Colab's stack of late 2025: Keras is upgraded before its first import
        (("tensorflow", "2.19.1"), "3.10.0", "colab", False, "upgrade-keras", ""),
        (("tensorflow", "2.19.1"), "3.10.0", "colab", True, "upgrade-keras-then-restart", ""),
        # elsewhere the learner is told what to run
        (("tensorflow-cpu", "2.19.1"), "3.10.0", "local", False, "stop",
         "pip install -U 'keras>=3"),
        (("tensorflow", "2.19.1"), None, "kaggle", False, "stop", "!pip install -U 'keras>=3"),
        # TensorFlow itself too old: never upgraded behind the learner's back, on Colab neither
        (("tensorflow", "2.18.1"), "3.15.1", "colab", False, "stop",
         "!pip install -U 'tensorflow>=2.19'"),
        (("tensorflow-cpu", "2.17.0"), "3.10.0", "local", False, "stop",
         "pip install -U 'tensorflow-cpu>=2.19'"),
    ],
)
def test_the_floor_check_upgrades_keras_on_colab_and_says_what_to_run_elsewhere(
        tensorflow, keras, platform, imported, action, says):
    from course_lib.runtime import check_floor

    found = check_floor(tensorflow, keras, platform=platform, keras_imported=imported,
                        python=(3, 12))
    assert found.action == action
    assert says in found.message
    if action == "stop":
        assert "restart" in found.message.lower() and "run this cell again" in found.message


def test_on_python_3_10_an_old_keras_cannot_be_upgraded_and_the_message_says_why():
    from course_lib.runtime import check_floor

    found = check_floor(("tensorflow", "2.19.1"), "3.10.0", platform="colab", keras_imported=False,
                        python=(3, 10))
    assert found.action == "stop" and "Python 3.11 or newer" in found.message
    assert check_floor(("tensorflow", "2.21.0"), "3.15.1", platform="local",
                       keras_imported=False, python=(3, 10)).action == "ok"


def test_setup_stops_with_a_message_below_the_floor_instead_of_failing_later(clean_env, monkeypatch):
    from course_lib import runtime
    from course_lib.errors import CourseError

    real = runtime.installed_version
    monkeypatch.setattr(runtime, "installed_version", lambda *names: (
        ("keras", "3.10.0") if names == ("keras",) else real(*names)))
    with pytest.raises(CourseError, match=r"needs Keras 3\.\d+\.\d+ or newer.*has Keras 3\.10\.0"):
        course_lib.setup(verbose=False)


@pytest.fixture
def colab_with_old_keras(monkeypatch):
    """installed_version says Keras 3.10.0 until the (fake) pip has run; records pip's commands."""
    from course_lib import runtime

    state = {"keras": "3.10.0", "pip": [], "pip_fails": False}
    real = runtime.installed_version

    def installed(*names):
        return ("keras", state["keras"]) if names == ("keras",) else real(*names)

    def pip(command, **kwargs):
        state["pip"].append(command)
        if state["pip_fails"]:
            return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution")
        state["keras"] = runtime.TESTED_KERAS
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(runtime, "installed_version", installed)
    monkeypatch.setattr(subprocess, "run", pip)
    return state


def test_on_colab_an_old_keras_is_upgraded_before_its_first_import(colab_with_old_keras, monkeypatch):
    from course_lib import runtime

    monkeypatch.delitem(sys.modules, "keras", raising=False)
    notes = runtime.ensure_floor("colab")
    assert colab_with_old_keras["pip"] == [
        [sys.executable, "-m", "pip", "install", "-q", runtime.KERAS_REQUIREMENT]]
    assert notes == (f"Keras 3.10.0 was older than the course needs ({runtime.FLOOR_KERAS}): the "
                     f"setup cell upgraded it to Keras {runtime.TESTED_KERAS} (!pip install -q "
                     f"'{runtime.KERAS_REQUIREMENT}') before importing it.",)


def test_on_colab_an_old_keras_already_imported_asks_for_a_restart(colab_with_old_keras,
                                                                    monkeypatch):
    from course_lib import runtime
    from course_lib.errors import CourseError

    monkeypatch.setitem(sys.modules, "keras", sys.modules.get("keras", object()))
    with pytest.raises(CourseError, match="already imported in this session.*Restart session"):
        runtime.ensure_floor("colab")
    assert len(colab_with_old_keras["pip"]) == 1  # installed for the next session


def test_on_colab_a_failed_upgrade_says_what_to_run(colab_with_old_keras, monkeypatch):
    from course_lib import runtime
    from course_lib.errors import CourseError

    monkeypatch.delitem(sys.modules, "keras", raising=False)
    colab_with_old_keras["pip_fails"] = True
    with pytest.raises(CourseError, match=r"No matching distribution.*!pip install -q 'keras>="):
        runtime.ensure_floor("colab")


FAKE_TENSORFLOW_THAT_CRASHES = """
import os, signal, sys
os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on. (start-up noise)\\n")
os.kill(os.getpid(), signal.SIGBUS)  # what a crash at TensorFlow's start looks like
"""


def test_a_crash_while_tensorflow_imports_leaves_its_reason_on_stderr(tmp_path):
    """While TensorFlow imports, stderr's descriptor points at the start-up-noise filter; a
    process killed then (seen on loaded CI machines: SIGBUS at TensorFlow's start, when a test
    rewrote the environment's TensorFlow; see tests/environment_guard.py) used to vanish without a
    word. Now the signal and the Python stack reach the real stderr. The child runs in tmp_path,
    so where core dumps are on, its core file lands there and not in the checkout."""
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text(FAKE_TENSORFLOW_THAT_CRASHES)
    code = "from course_lib.runtime import import_tensorflow; import_tensorflow()"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=120, cwd=tmp_path)
    assert result.returncode == -signal.SIGBUS
    assert "Fatal Python error: Bus error" in result.stderr, result.stderr
    assert str(tmp_path / "tensorflow" / "__init__.py") in result.stderr  # where it died
    assert "import_tensorflow" in result.stderr
