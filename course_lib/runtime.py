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

This module imports TensorFlow only inside :func:`setup`, never at import time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PROFILES = ("quick", "full")
PROFILE_ENV = "COURSE_PROFILE"
#: The TensorFlow release the lessons' printed facts were checked on.
TESTED_TENSORFLOW = "2.21"

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
        f"This course was checked with TensorFlow {TESTED_TENSORFLOW}; you have "
        f"{tensorflow_version}. The lessons should run, but printed values may differ.",
    )


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
    tf = import_tensorflow()
    import keras

    if int(keras.__version__.split(".")[0]) < 3:
        from course_lib.errors import CourseError

        raise CourseError(
            f"This course needs Keras 3 and found Keras {keras.__version__}. "
            "Run: pip install 'keras>=3' 'tensorflow>=2.16', then restart the kernel."
        )
    tf.get_logger().setLevel("ERROR")
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:  # take GPU memory as needed instead of all of it at the first op
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialized by an earlier cell: keep its setting
            pass
    keras.utils.set_random_seed(seed)
    platform = detect_platform()
    chosen, reason = resolve_profile(profile, has_gpu=bool(gpus), platform=platform)
    _current = Run(
        profile=chosen,
        profile_reason=reason,
        seed=seed,
        platform=platform,
        gpus=tuple(_gpu_name(tf, gpu) for gpu in gpus),
        tensorflow_version=tf.__version__,
        keras_version=keras.__version__,
        notes=_version_notes(tf.__version__) + _profile_notes(chosen, platform, bool(gpus)),
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
