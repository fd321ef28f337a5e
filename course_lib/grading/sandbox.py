"""The sandbox a student's kernel runs in while it is graded (bubblewrap, on Linux).

A submission is code from someone else, run with the grader's permissions. On Linux, when
bubblewrap (``bwrap``, Debian's package ``bubblewrap``) is installed and works here, each kernel
starts inside it:

* it sees only the Python environment, the installed ``course_lib`` (both read-only), the system
  folders (``/usr``, ``/etc``; read-only), a private ``/tmp`` and its own grading folder (the
  one folder it may write): not the instructor's notebooks, solutions, hidden tests, gradebook,
  home folder, nor any other student's submission;
* it has no network (it talks to the grader over Unix sockets in its own folder), its own process
  ids, and no environment but the variables the course needs;
* it is limited in memory (address space, :data:`MEMORY_LIMIT`), CPU time, file size and (where the
  grader is not root) number of processes;
* every process it starts, even in a new session, is killed when the kernel ends
  (``--unshare-pid`` and ``--die-with-parent``).

Where bubblewrap cannot run (macOS, Windows, a host without user namespaces), :func:`available`
says why and grading goes on without a sandbox: ``course grade`` says so loudly and
``grades.csv`` carries it in its ``sandbox`` column.

The kernelspec written for grading runs ``python -m course_lib.grading.sandbox -f
{connection_file}``: this module's :func:`main`, which builds the bubblewrap command for the
kernel's folder (its working directory) and replaces itself with it.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

#: Address space a sandboxed kernel may map (TensorFlow alone maps about 1.5 GiB on a CPU).
MEMORY_LIMIT = 4 * 1024**3
#: Processes (threads included) the sandboxed kernel's user may run, where the grader is not root.
PROCESS_LIMIT = 512
#: Largest file the kernel may write.
FILE_SIZE_LIMIT = 512 * 1024**2
#: Size of the kernel's private /tmp (kept in memory).
TMP_SIZE = 256 * 1024**2
#: Environment variables passed into the sandbox (everything else is dropped).
PASSED_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND", "MPLBACKEND",
              "PYTHONWARNINGS", "PYTHONHASHSEED", "OMP_NUM_THREADS", "TF_NUM_INTEROP_THREADS",
              "TF_NUM_INTRAOP_THREADS", "TF_ENABLE_ONEDNN_OPTS")
# (not JPY_PARENT_PID: the grader's process id means nothing in the sandbox's own process ids,
# and the kernel would take its parent for gone; --die-with-parent does that job)
PASSED_PREFIXES = ("COURSE_",)

#: Set by the grader: the CPU seconds a kernel may use (default: no limit but the wall clock's).
CPU_SECONDS_VARIABLE = "COURSE_SANDBOX_CPU_SECONDS"


def _bwrap() -> str | None:
    return shutil.which("bwrap") if sys.platform.startswith("linux") else None


@functools.lru_cache(maxsize=1)
def available() -> tuple[bool, str]:
    """``(True, "bubblewrap X")`` when kernels can be sandboxed here, else ``(False, why)``."""
    if not sys.platform.startswith("linux"):
        return False, f"no sandbox on {sys.platform} (bubblewrap needs Linux)"
    bwrap = _bwrap()
    if bwrap is None:
        return False, "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    probe = [bwrap, "--die-with-parent", "--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc",
             "--dev", "/dev", "--tmpfs", "/tmp", "true"]
    try:
        result = subprocess.run(probe, capture_output=True, text=True, timeout=30)
        version = subprocess.run([bwrap, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"bubblewrap does not run here ({error})"
    if result.returncode != 0:
        message = (result.stderr.strip().splitlines() or ["no message"])[-1]
        return False, f"bubblewrap cannot create a sandbox here ({message}; are user namespaces off?)"
    return True, version or "bubblewrap"


def _python_paths() -> list[tuple[str, str]]:
    """``(real path, path as Python sees it)`` of the environment and the interpreter's install."""
    paths = []
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        paths.append((os.path.realpath(prefix), os.path.abspath(prefix)))
    executable = os.path.realpath(sys.executable)
    if not any(executable.startswith(real + os.sep) for real, _ in paths):
        paths.append((os.path.dirname(executable), os.path.dirname(executable)))
    return sorted(set(paths))


def _course_lib() -> Path:
    import course_lib

    return Path(course_lib.__file__).resolve().parent


def command(kernel: Sequence[str], *, writable: Sequence[str], readable: Sequence[str] = (),
            env: dict[str, str] | None = None) -> list[str]:
    """The bubblewrap command that runs ``kernel`` with ``writable`` folders (the first one is its
    working directory) and the ``readable`` files (its connection file), see the module doc."""
    env = dict(os.environ if env is None else env)
    bwrap = _bwrap() or "bwrap"
    args = [bwrap, "--die-with-parent", "--unshare-all", "--new-session", "--clearenv",
            "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--ro-bind", "/etc", "/etc", "--proc", "/proc", "--dev", "/dev",
             "--size", str(TMP_SIZE), "--tmpfs", "/tmp"]
    links = []
    for real, seen in _python_paths():
        args += ["--ro-bind", real, real]
        if seen != real:
            links.append((real, seen))
    library = _course_lib()
    if not any(str(library).startswith(real + os.sep) for real, _ in _python_paths()):
        args += ["--ro-bind", str(library), str(library)]
    data = env.get("COURSE_DATA_SUBSETS")
    if data and Path(data).is_dir():
        args += ["--ro-bind", str(Path(data).resolve()), str(Path(data).resolve())]
    for folder in writable:
        args += ["--bind", folder, folder]
    for path in readable:
        args += ["--ro-bind", path, path]
    for real, seen in links:  # after the binds, so the folders above the links exist
        args += ["--symlink", real, seen]
    variables = {name: value for name, value in env.items()
                 if name in PASSED_ENV or name.startswith(PASSED_PREFIXES)}
    variables.pop(CPU_SECONDS_VARIABLE, None)
    variables.update(HOME="/tmp", IPYTHONDIR="/tmp/ipython", MPLCONFIGDIR="/tmp/matplotlib",
                     PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
                     PYTHONPATH=str(library.parent), PYTHONNOUSERSITE="1",
                     COURSE_SANDBOX="bubblewrap")
    for name, value in sorted(variables.items()):
        args += ["--setenv", name, value]
    return [*args, "--chdir", writable[0], "--", *kernel]


def limit(cpu_seconds: int | None = None) -> None:
    """Set this process's resource limits (inherited by the sandbox it becomes)."""
    def lower(kind: int, value: int) -> None:
        soft, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value if hard == resource.RLIM_INFINITY else hard))

    lower(resource.RLIMIT_AS, MEMORY_LIMIT)
    lower(resource.RLIMIT_FSIZE, FILE_SIZE_LIMIT)
    lower(resource.RLIMIT_NPROC, PROCESS_LIMIT)
    lower(resource.RLIMIT_CORE, 0)
    if cpu_seconds:
        lower(resource.RLIMIT_CPU, int(cpu_seconds))


def kernel_argv(sandboxed: bool) -> list[str]:
    """The kernelspec's ``argv``: the kernel itself, or this module wrapping it."""
    if sandboxed:
        return [sys.executable, "-m", "course_lib.grading.sandbox", "-f", "{connection_file}"]
    return [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]


def main(argv: Sequence[str] | None = None) -> int:
    """Start a kernel in the sandbox: ``python -m course_lib.grading.sandbox -f CONNECTION
    [KERNEL OPTIONS]`` (the options are the kernel's, e.g. nbclient's history settings)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 2 or argv[0] != "-f":
        print("usage: python -m course_lib.grading.sandbox -f CONNECTION_FILE [OPTIONS]",
              file=sys.stderr)
        return 2
    connection, options = os.path.abspath(argv[1]), argv[2:]
    here = os.getcwd()
    writable = [here]
    with open(connection, encoding="utf-8") as handle:
        info = json.load(handle)
    if info.get("transport") != "ipc":
        print("the sandboxed kernel has no network: its connection must use transport 'ipc'",
              file=sys.stderr)
        return 2
    sockets = os.path.dirname(os.path.abspath(info["ip"]))  # the sockets' folder, not all /tmp
    if sockets != here:
        writable.append(sockets)
    cpu = os.environ.get(CPU_SECONDS_VARIABLE)
    limit(int(cpu) if cpu and cpu.isdigit() else None)
    args = command([sys.executable, "-m", "ipykernel_launcher", "-f", connection, *options],
                   writable=writable, readable=[connection])
    if os.environ.get("COURSE_SANDBOX_DEBUG"):
        print("sandbox:", " ".join(args), file=sys.stderr)
    os.execv(args[0], args)
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
