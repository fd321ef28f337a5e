"""``setup()``: the one call in every notebook's first code cell.

It seeds Python, NumPy and TensorFlow, chooses the run profile and prints one report line::

    TensorFlow 2.21.0 | Keras 3.15.1 | device: CPU (no GPU) | profile: quick (no GPU found) | seed 42

Run profiles
------------
``quick``
    Smaller samples and fewer epochs, so any chapter runs in a few minutes on a laptop or on
    Binder (2 GB, no GPU). Each lesson's point still shows; accuracies land below the syllabus.
``full``
    The sizes of the syllabus: what reaches the reference figures, meant for a GPU.

The profile comes from, in order: ``setup(profile=...)``; the ``COURSE_PROFILE`` environment
variable; otherwise ``full`` where a GPU is present and ``quick`` elsewhere (always ``quick`` on
Binder). Sizes that differ between profiles are declared in one cell per notebook with
:meth:`Run.sizes`.

Versions
--------
The course is pinned to TensorFlow :data:`TESTED_TENSORFLOW` with Keras :data:`TESTED_KERAS` and
supports anything from the floor up (:data:`FLOOR_TENSORFLOW`, :data:`FLOOR_KERAS`). Before
Keras's first import, :func:`setup` reads the installed versions from the package metadata: on
Colab it upgrades a Keras below the floor in place and says so in the report; elsewhere, or
where TensorFlow itself is too old, it stops with a :class:`~course_lib.errors.CourseError` that
names the ``pip install`` to run.

This module imports TensorFlow only inside :func:`setup`, never at import time.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PROFILES = ("quick", "full")
PROFILE_ENV = "COURSE_PROFILE"
#: The TensorFlow release the lessons' printed facts were checked on.
TESTED_TENSORFLOW = "2.21"
#: The Keras release pinned in requirements/base.txt.
TESTED_KERAS = "3.15.1"
#: The floor: the oldest TensorFlow and Keras the course supports. ``make test-floor`` runs every
#: chapter and exercise notebook on them (requirements/floor.txt); :func:`setup` refuses anything
#: older, and on Colab brings an older Keras up to the floor before Keras is first imported.
#: Keras 3.15.0 is the first to take a plain function as a regularizer (chapter 07); Keras 3.10
#: also fails chapter 09 (``Flatten`` on windows of unknown length; fixed in 3.11).
FLOOR_TENSORFLOW = "2.19"
FLOOR_KERAS = "3.15.0"
#: Keras 3.13 and later install on Python 3.11 or newer only.
FLOOR_PYTHON = (3, 11)
#: What the setup cell installs on Colab when Keras is below the floor: a release between the
#: floor and the pin, both of which CI tests (pip picks the newest, the pin).
KERAS_REQUIREMENT = f"keras>={FLOOR_KERAS},<={TESTED_KERAS}"
#: The distributions TensorFlow comes as, in the order they are looked for.
_TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly")

_BINDER_VARIABLES = ("BINDER_LAUNCH_HOST", "BINDER_REPO_URL", "BINDER_REQUEST", "BINDER_SERVICE_HOST")
_COLAB_VARIABLES = ("COLAB_RELEASE_TAG", "COLAB_GPU", "COLAB_BACKEND_VERSION")

_current: Run | None = None


class ProfileError(ValueError):
    """Raised for a profile name that is neither ``quick`` nor ``full``."""


def detect_platform(
    environ: Mapping[str, str] | None = None, modules: Mapping[str, Any] | None = None
) -> str:
    """Say where the notebook runs: ``"colab"``, ``"binder"``, ``"kaggle"`` or ``"local"``."""
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    if "google.colab" in modules or any(name in environ for name in _COLAB_VARIABLES):
        return "colab"
    if any(name in environ for name in _BINDER_VARIABLES):
        return "binder"
    if "KAGGLE_KERNEL_RUN_TYPE" in environ:
        return "kaggle"
    return "local"


def _validated(name: str, source: str) -> str:
    profile = name.strip().lower()
    if profile not in PROFILES:
        raise ProfileError(
            f"{source} is {name!r}, which is not a run profile. Use 'quick' (minutes on a laptop) "
            "or 'full' (the syllabus sizes, meant for a GPU)."
        )
    return profile


def resolve_profile(
    requested: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    has_gpu: bool = False,
    platform: str = "local",
) -> tuple[str, str]:
    """Return ``(profile, reason)`` following the order described in the module docstring."""
    environ = os.environ if environ is None else environ
    if requested:
        return _validated(requested, "setup(profile=...)"), "asked for in setup()"
    from_env = environ.get(PROFILE_ENV, "").strip()
    if from_env:
        return _validated(from_env, PROFILE_ENV), f"set by {PROFILE_ENV}"
    if platform == "binder":
        return "quick", "Binder: 2 GB and no GPU"
    if has_gpu:
        return "full", "a GPU is present"
    return "quick", "no GPU found"


class Sizes(dict):
    """The sizes a notebook uses, picked for the current profile.

    Read them as attributes (``sizes.epochs``) or keys (``sizes["epochs"]``). Displaying the
    object shows the table of both profiles, with the chosen one marked.
    """

    def __init__(self, profile: str, choices: Mapping[str, tuple[Any, Any]]):
        index = PROFILES.index(profile)
        super().__init__({name: pair[index] for name, pair in choices.items()})
        self._profile = profile
        self._choices = dict(choices)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            known = ", ".join(self) or "none"
            raise AttributeError(f"no size called {name!r}; this notebook declares: {known}") from None

    def __repr__(self) -> str:
        width = max((len(name) for name in self._choices), default=4)
        lines = [f"Sizes for the {self._profile} profile (quick / full):"]
        for name, (quick, full) in self._choices.items():
            lines.append(f"  {name:<{width}}  {self[name]!r:>10}    ({quick!r} / {full!r})")
        return "\n".join(lines)


@dataclass(frozen=True)
class Run:
    """What :func:`setup` found and chose; notebooks keep it as ``run``."""

    profile: str
    profile_reason: str
    seed: int
    platform: str = "local"
    gpus: tuple[str, ...] = ()
    tensorflow_version: str = ""
    keras_version: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def quick(self) -> bool:
        return self.profile == "quick"

    @property
    def full(self) -> bool:
        return self.profile == "full"

    @property
    def device(self) -> str:
        if not self.gpus:
            return "CPU (no GPU)"
        if len(self.gpus) == 1:
            return f"GPU ({self.gpus[0]})"
        return f"{len(self.gpus)} GPUs ({self.gpus[0]}, ...)"

    def choose(self, quick: Any, full: Any) -> Any:
        """Return ``quick`` or ``full`` according to the profile."""
        return quick if self.quick else full

    def sizes(self, **choices: tuple[Any, Any]) -> Sizes:
        """Declare every size that differs between profiles, as ``name=(quick, full)``."""
        for name, pair in choices.items():
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise TypeError(
                    f"size {name!r} must be a pair (quick_value, full_value), got {pair!r}"
                )
        return Sizes(self.profile, choices)

    def report(self) -> str:
        """The lines :func:`setup` prints."""
        head = (
            f"TensorFlow {self.tensorflow_version} | Keras {self.keras_version} | "
            f"device: {self.device} | profile: {self.profile} ({self.profile_reason}) | "
            f"seed {self.seed}"
        )
        return "\n".join((head, *self.notes))


def _profile_notes(profile: str, platform: str, has_gpu: bool) -> tuple[str, ...]:
    notes = []
    if profile == "quick":
        notes.append(
            "Quick profile: smaller samples and fewer epochs, so the chapter runs in minutes; "
            "accuracies land below the syllabus figures. Set COURSE_PROFILE=full to reproduce them."
        )
    else:
        notes.append("Full profile: the syllabus sizes; expect the reference figures.")
        if not has_gpu:
            notes.append(
                "No GPU: the full profile of the later chapters (08-10) takes hours on a CPU."
            )
    if platform == "colab" and not has_gpu:
        notes.append(
            "On Colab without a GPU: Runtime > Change runtime type > choose a GPU (T4 is free), "
            "then Runtime > Restart session and run all."
        )
    return tuple(notes)


def _version_notes(tensorflow_version: str) -> tuple[str, ...]:
    if tensorflow_version.startswith(TESTED_TENSORFLOW + "."):
        return ()
    return (
        f"This course was checked with TensorFlow {TESTED_TENSORFLOW} and runs on "
        f"TensorFlow {FLOOR_TENSORFLOW} with Keras {FLOOR_KERAS} or newer; you have "
        f"{tensorflow_version}. The lessons run, but printed values may differ.",
    )


def version_tuple(version: str) -> tuple[int, ...]:
    """``"2.19.1"`` -> ``(2, 19, 1)``; a suffix ends it (``"2.20.0rc1"`` -> ``(2, 20, 0)``)."""
    numbers = []
    for piece in version.split("."):
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        numbers.append(int(digits.group()))
        if digits.group() != piece:
            break
    return tuple(numbers)


def installed_version(*distributions: str) -> tuple[str, str] | None:
    """``(name, version)`` of the first of ``distributions`` installed, read without importing it."""
    from importlib import metadata

    for name in distributions:
        try:
            return name, metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


@dataclass(frozen=True)
class FloorCheck:
    """What :func:`check_floor` decided.

    ``action`` is ``"ok"``; ``"upgrade-keras"`` (Colab, Keras not imported yet: install
    :data:`KERAS_REQUIREMENT` now); ``"upgrade-keras-then-restart"`` (Colab, but the old Keras is
    already imported in this process); or ``"stop"`` (``message`` says what to run).
    """

    action: str
    message: str = ""


def check_floor(
    tensorflow: tuple[str, str] | None,
    keras_version: str | None,
    *,
    platform: str,
    keras_imported: bool,
    python: tuple[int, int] | None = None,
) -> FloorCheck:
    """Compare the installed TensorFlow ``(distribution, version)`` and Keras with the floor.

    ``None`` means not installed (or installed without metadata): TensorFlow's import then says
    what is wrong, and Keras counts as below the floor.
    """
    restart = "Runtime > Restart session" if platform == "colab" else "restart the kernel"
    prefix = "!" if platform in ("colab", "kaggle") else ""
    if tensorflow is not None and version_tuple(tensorflow[1]) < version_tuple(FLOOR_TENSORFLOW):
        name = "tensorflow" if tensorflow[0] == "tf-nightly" else tensorflow[0]
        return FloorCheck("stop", (
            f"This course needs TensorFlow {FLOOR_TENSORFLOW} or newer with Keras {FLOOR_KERAS} "
            f"or newer, and this environment has TensorFlow {tensorflow[1]}, which is too old to "
            f"run its lessons. Run: {prefix}pip install -U '{name}>={FLOOR_TENSORFLOW}' "
            f"'{KERAS_REQUIREMENT}', then {restart} and run this cell again."))
    if keras_version is not None and version_tuple(keras_version) >= version_tuple(FLOOR_KERAS):
        return FloorCheck("ok")
    found = f"Keras {keras_version}" if keras_version else "no Keras"
    python = python or sys.version_info[:2]
    if python < FLOOR_PYTHON:
        return FloorCheck("stop", (
            f"This course needs Keras {FLOOR_KERAS} or newer, and this environment has {found} "
            f"on Python {python[0]}.{python[1]}: Keras {FLOOR_KERAS} installs on Python "
            f"{FLOOR_PYTHON[0]}.{FLOOR_PYTHON[1]} or newer only. Use a newer Python (the course "
            f"is tested on 3.11), then run: {prefix}pip install -U '{KERAS_REQUIREMENT}' and "
            f"{restart}; then run this cell again."))
    if platform == "colab":
        return FloorCheck("upgrade-keras-then-restart" if keras_imported else "upgrade-keras")
    return FloorCheck("stop", (
        f"This course needs Keras {FLOOR_KERAS} or newer (older releases fail in chapters 07 and "
        f"09), and this environment has {found}. Run: {prefix}pip install -U "
        f"'{KERAS_REQUIREMENT}', then {restart} and run this cell again."))


def _upgrade_keras(old: str | None, *, restart_needed: bool) -> str:
    """Install :data:`KERAS_REQUIREMENT` with pip; return the report line that says so."""
    import importlib
    import subprocess

    from course_lib.errors import CourseError

    command = [sys.executable, "-m", "pip", "install", "-q", KERAS_REQUIREMENT]
    shown = f"!pip install -q '{KERAS_REQUIREMENT}'"
    found = f"Keras {old}" if old else "no Keras"
    done = subprocess.run(command, capture_output=True, text=True)
    importlib.invalidate_caches()
    new = installed_version("keras")
    if done.returncode != 0 or new is None or version_tuple(new[1]) < version_tuple(FLOOR_KERAS):
        said = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise CourseError(
            f"This course needs Keras {FLOOR_KERAS} or newer and this runtime has {found}; "
            f"installing a newer one failed ({' / '.join(said) or 'no message'}). Run {shown} in "
            "a cell, then Runtime > Restart session and run this cell again.")
    was = (f"Keras {old} was older than the course needs ({FLOOR_KERAS})" if old
           else f"Keras was missing (the course needs {FLOOR_KERAS})")
    if restart_needed:
        raise CourseError(
            f"{was} and was already imported in "
            f"this session, so the setup cell installed Keras {new[1]} for the next one: "
            "Runtime > Restart session, then run this cell again.")
    return (f"{was}: the setup cell upgraded it to Keras {new[1]} ({shown}) before importing it.")


def ensure_floor(platform: str) -> tuple[str, ...]:
    """Check the installed TensorFlow and Keras against the floor before either is imported.

    On Colab a Keras below the floor is upgraded in place (it is pure Python and installs in
    seconds); elsewhere, or where TensorFlow itself is too old, :class:`CourseError` says what to
    run. Returns the report lines that tell what was done.
    """
    from course_lib.errors import CourseError

    keras = installed_version("keras")
    found = check_floor(installed_version(*_TENSORFLOW_DISTRIBUTIONS),
                        keras and keras[1], platform=platform,
                        keras_imported="keras" in sys.modules)
    if found.action == "stop":
        raise CourseError(found.message)
    if found.action.startswith("upgrade-keras"):
        return (_upgrade_keras(keras and keras[1],
                               restart_needed=found.action.endswith("restart")),)
    return ()


def _check_imported(tensorflow_version: str, keras: Any, platform: str) -> None:
    """The floor again, on the modules actually imported (metadata can be missing or shadowed)."""
    if (version_tuple(tensorflow_version) >= version_tuple(FLOOR_TENSORFLOW)
            and version_tuple(keras.__version__) >= version_tuple(FLOOR_KERAS)):
        return
    from course_lib.errors import CourseError

    restart = "Runtime > Restart session" if platform == "colab" else "restart the kernel"
    raise CourseError(
        f"This kernel imported TensorFlow {tensorflow_version} with Keras {keras.__version__} "
        f"(from {os.path.dirname(keras.__file__ or '')}); the course needs TensorFlow "
        f"{FLOOR_TENSORFLOW} and Keras {FLOOR_KERAS} or newer. Run: pip install -U "
        f"'tensorflow>={FLOOR_TENSORFLOW}' '{KERAS_REQUIREMENT}', then {restart}. If pip says "
        "they are already installed, an older copy earlier on sys.path hides them.")


def _quiet_tensorflow() -> None:
    # Must happen before TensorFlow's first import. Level 3 also hides the C++ "E" lines that
    # report harmless fallbacks (e.g. oneDNN on older CPUs) and would land in cell outputs.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    backend = os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow":
        raise RuntimeError(
            f"KERAS_BACKEND is {backend!r}, but this course runs Keras 3 on TensorFlow. "
            "Unset KERAS_BACKEND (or set it to 'tensorflow') and restart the kernel."
        )


#: Start-up lines TensorFlow's C++ core writes straight to the process's stderr whatever
#: TF_CPP_MIN_LOG_LEVEL says; they carry no information for a learner.
_STARTUP_NOISE = (
    "All log messages before absl::InitializeLog()",
    "oneDNN custom operations are on",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions:",
    "Unable to register cu",  # cuFFT/cuDNN/cuBLAS factory registration on GPU builds
)


def _real_stderr_fd() -> int | None:
    """The file descriptor that reaches the terminal (or log) behind ``sys.stderr``.

    In a Jupyter kernel that is ipykernel's copy of the original stderr, not descriptor 2
    (which the kernel turns into a pipe to the notebook and which dies with the process).
    """
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _report_crashes_to(fd: int) -> None:
    """Point Python's fatal-signal report (faulthandler) at ``fd``.

    A process killed by SIGSEGV, SIGBUS, SIGABRT, SIGFPE or SIGILL then leaves the signal's
    name and every thread's Python stack where a person can read it (the terminal that runs
    Jupyter), instead of vanishing with "the kernel appears to have died" and nothing else.
    """
    import faulthandler

    faulthandler.enable(file=fd, all_threads=True)


def import_tensorflow() -> Any:
    """Import TensorFlow with its start-up noise filtered from stderr; return the module.

    Anything else TensorFlow prints while importing (a missing library, say) still reaches
    stderr. Where stderr is not a real file (some notebook front ends), import plainly.

    From here on a fatal signal is reported on the real stderr (see :func:`_report_crashes_to`):
    while TensorFlow imports, stderr's descriptor points at the filter, so without this a crash
    during the import would leave no trace at all.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    _quiet_tensorflow()
    import tempfile

    real = _real_stderr_fd()
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        if real is not None:
            _report_crashes_to(real)
        import tensorflow

        return tensorflow
    # in a plain process the real stderr is descriptor 2 itself, redirected below: use the copy
    _report_crashes_to(saved if real in (None, 2) else real)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow
        finally:
            os.dup2(saved, 2)
            _report_crashes_to(2 if real in (None, 2) else real)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode("utf-8", "replace").splitlines()
    kept = [line for line in lines if not any(noise in line for noise in _STARTUP_NOISE)]
    if kept:
        print("\n".join(kept), file=sys.stderr)
    return tensorflow


def _gpu_name(tf: Any, device: Any) -> str:
    try:
        return tf.config.experimental.get_device_details(device).get("device_name", device.name)
    except Exception:  # details are optional; a name is enough for the report
        return device.name


def setup(seed: int = 42, profile: str | None = None, *, verbose: bool = True) -> Run:
    """Seed everything, choose the run profile and print a one-line report.

    Parameters
    ----------
    seed:
        Seeds Python's ``random``, NumPy and TensorFlow (``keras.utils.set_random_seed``), so a
        rerun of the notebook tells the same story.
    profile:
        ``"quick"`` or ``"full"`` to override ``COURSE_PROFILE`` and the automatic choice.
    verbose:
        Print the report (default).
    """
    global _current
    platform = detect_platform()
    floor_notes = ensure_floor(platform)  # before Keras's first import: it may upgrade Keras
    tf = import_tensorflow()
    import keras

    _check_imported(tf.__version__, keras, platform)
    tf.get_logger().setLevel("ERROR")
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:  # take GPU memory as needed instead of all of it at the first op
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialized by an earlier cell: keep its setting
            pass
    keras.utils.set_random_seed(seed)
    chosen, reason = resolve_profile(profile, has_gpu=bool(gpus), platform=platform)
    _current = Run(
        profile=chosen,
        profile_reason=reason,
        seed=seed,
        platform=platform,
        gpus=tuple(_gpu_name(tf, gpu) for gpu in gpus),
        tensorflow_version=tf.__version__,
        keras_version=keras.__version__,
        notes=floor_notes + _version_notes(tf.__version__) + _profile_notes(chosen, platform, bool(gpus)),
    )
    if verbose:
        print(_current.report())
    return _current


def current_profile() -> str:
    """The profile of the last :func:`setup` call, or what it would choose without a GPU check.

    Helper modules (the data layer, for one) call this to adapt to the profile without
    importing TensorFlow.
    """
    if _current is not None:
        return _current.profile
    return resolve_profile(platform=detect_platform())[0]
