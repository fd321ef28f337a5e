"""Checks a student's code cannot switch off: a guard run at the top of every autograded cell.

The check cells call :mod:`course_lib.checks` in the student's own kernel, after the student's
code: an answer cell could replace ``checks.check_function`` by a function that accepts anything,
swap a helper's ``__code__``, replace a builtin (``isinstance``, ``print``), or ask IPython to
swallow the failure (``set_custom_exc``, an input or AST transformer, an event hook). While
grading, every autograded cell starts with :func:`guard_source`'s code, which:

* reads ``course_lib/checks.py`` from its installed place (read-only inside the sandbox) and
  compares its SHA-256 with the digest the grader computed before any student code ran;
* executes that pristine copy into a fresh module and compares every function and class of the
  ``checks`` the cell will use (the notebook's name ``checks`` and ``sys.modules``) with it, code
  object by code object;
* checks that the builtins are the interpreter's own, that the NumPy and TensorFlow names the
  checks rely on come from NumPy and TensorFlow, and that IPython runs cells unaltered (no custom
  exception handler, transformer, foreign event hook, trace function or replaced shell or kernel
  method);
* on any of these, raises ``CheckTampered`` naming what it found: the cell scores 0 and
  ``grades.csv`` says so in ``notes``;
* otherwise publishes a marker (a display with its own MIME type and a secret drawn per batch),
  which :class:`UnguardChecks` looks for after the run: an autograded cell that ran without
  raising and without the marker did not run the guard (its text was rewritten on the way), and
  it too is marked ``CheckTampered``.

:class:`GuardChecks` (before nbgrader's ``Execute``) adds the guard and :class:`UnguardChecks`
(after it) takes it out again, so the graded notebook and the feedback show the cells as written.

Limits: the guard runs in the same Python process as the student's code. It catches what can be
done from ordinary Python by replacing names, attributes and hooks; an attacker who rewrites the
interpreter's own state (its C-level structures, the guard's own builtins before they are
looked up) can still get past it. The sandbox (:mod:`.sandbox`) keeps that to their own grade.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

from nbgrader.preprocessors import NbGraderPreprocessor as Preprocessor  # enabled by default
from traitlets import Unicode

MIME = "application/x-course-grade-guard"
TAMPERED = "CheckTampered"
_FIRST_LINE = "# --- course grade guard ---"
_LAST_LINE = "# --- end of course grade guard ---"

_TEMPLATE = r'''
def __course_guard():
    import builtins, hashlib, sys, types
    problems = []
    function_type = type(lambda: None)
    builtin_type = type([].append)
    aliases = {"IOError": "OSError", "EnvironmentError": "OSError"}
    own = ("builtins", "_frozen_importlib", "_sitebuiltins", "site", "IPython", "ipykernel",
           "io", "_io", "_pydev_bundle", "pydevd", "debugpy")
    for name, value in list(vars(builtins).items()):
        if name.startswith("__") and name not in ("__import__", "__build_class__"):
            continue
        module = getattr(value, "__module__", None) if callable(value) else None
        if module is not None and not str(module).startswith(own):
            problems.append(f"builtins.{name} replaced")
        elif type(value) is builtin_type and module == "builtins" and (
                value.__name__ != name or getattr(value, "__self__", None) is not builtins):
            problems.append(f"builtins.{name} replaced")
        elif isinstance(value, type) and module == "builtins" and value.__name__ != aliases.get(name, name):
            problems.append(f"builtins.{name} replaced")
    with open(PATH, "rb") as handle:
        text = handle.read()
    if hashlib.sha256(text).hexdigest() != DIGEST:
        problems.append("course_lib/checks.py changed on disk")
    fresh = types.ModuleType("course_lib.checks")
    fresh.__file__ = PATH
    saved = sys.modules.get("course_lib.checks")
    sys.modules["course_lib.checks"] = fresh
    try:
        exec(compile(text, PATH, "exec"), fresh.__dict__)
    finally:
        if saved is None:
            del sys.modules["course_lib.checks"]
        else:
            sys.modules["course_lib.checks"] = saved

    def same(found, pristine):
        if isinstance(pristine, (staticmethod, classmethod)):
            return type(found) is type(pristine) and same(found.__func__, pristine.__func__)
        if isinstance(pristine, property):
            return isinstance(found, property) and all(
                same(getattr(found, part), getattr(pristine, part))
                for part in ("fget", "fset", "fdel") if getattr(pristine, part) is not None)
        if type(pristine) is function_type:
            return (type(found) is function_type and found.__code__ == pristine.__code__
                    and found.__defaults__ == pristine.__defaults__
                    and found.__kwdefaults__ == pristine.__kwdefaults__)
        if isinstance(pristine, type):
            if not isinstance(found, type) or found.__qualname__ != pristine.__qualname__:
                return False
            inside = vars(found)
            return all(key in inside and same(inside[key], value)
                       for key, value in vars(pristine).items()
                       if isinstance(value, (function_type, staticmethod, classmethod, property)))
        if isinstance(pristine, (str, int, float, tuple, frozenset, dict, list, set)):
            try:
                return bool(found == pristine)
            except Exception:
                return False
        return True

    shown = {"checks": globals().get("checks"), "sys.modules": sys.modules.get("course_lib.checks")}
    for where, module in shown.items():
        if module is None:
            continue
        for name, value in vars(fresh).items():
            if name.startswith("__") or isinstance(value, types.ModuleType):
                continue
            if getattr(value, "__module__", "course_lib.checks") not in ("course_lib.checks", None) \
                    and not isinstance(value, (str, int, float, tuple, frozenset, dict, list, set)):
                continue  # imported names (typing, dataclasses)
            if not same(getattr(module, name, None), value):
                problems.append(f"checks.{name} replaced (in {where})")
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        for name in ("isclose", "asarray", "atleast_1d", "argwhere", "zeros", "dtype", "ndarray",
                     "float32", "float64", "complex128"):
            value = getattr(numpy, name, None)
            if getattr(value, "__module__", "") != "numpy" or getattr(value, "__name__", "") != name:
                problems.append(f"numpy.{name} replaced")
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        for name in ("Variable", "Tensor", "RaggedTensor", "SparseTensor", "constant",
                     "convert_to_tensor", "cast", "reduce_sum", "reshape", "transpose"):
            if not str(getattr(getattr(tf, name, None), "__module__", "")).startswith("tensorflow"):
                problems.append(f"tensorflow.{name} replaced")
        eager = type(tf.constant(0))
        for cls in (*eager.__mro__, tf.Variable):
            if not cls.__module__.startswith("tensorflow"):
                continue
            for name, value in vars(cls).items():
                module = getattr(value, "__module__", None) if type(value) is function_type else None
                if module is not None and not module.startswith(("tensorflow", "keras")):
                    problems.append(f"{cls.__name__}.{name} replaced")
    shell = get_ipython()
    if shell.custom_exceptions:
        problems.append("an IPython exception handler (set_custom_exc)")
    if shell.input_transformers_post or shell.ast_transformers:
        problems.append("an IPython input or AST transformer")
    manager = shell.input_transformer_manager
    for step in (*manager.cleanup_transforms, *manager.line_transforms,
                 *manager.token_transformers):
        if not str(getattr(step, "__module__", "IPython")).startswith("IPython"):
            problems.append("an IPython input transformer")
    hooks = ("IPython", "ipykernel", "matplotlib", "matplotlib_inline", "comm", "ipywidgets")
    for event, callbacks in shell.events.callbacks.items():
        for callback in callbacks:
            module = getattr(callback, "__module__", None) or type(callback).__module__
            if not str(module).startswith(hooks):
                problems.append(f"an IPython {event} hook")
    for target, methods in ((shell, ("run_cell", "run_cell_async", "run_ast_nodes", "run_code",
                                     "showtraceback", "_showtraceback", "transform_cell",
                                     "transform_ast", "should_run_async", "_run_cell")),
                            (getattr(shell, "kernel", None), ("do_execute", "execute_request",
                                                              "send_response")),
                            (getattr(getattr(shell, "kernel", None), "session", None),
                             ("send", "serialize"))):
        if target is None:
            continue
        for name in methods:
            method = getattr(type(target), name, None)
            if name in vars(target) and getattr(vars(target)[name], "__func__", None) is not method:
                problems.append(f"{type(target).__name__}.{name} replaced")
            module = getattr(method, "__module__", "")
            if method is not None and not str(module).startswith(("IPython", "ipykernel",
                                                                    "jupyter_client")):
                problems.append(f"{type(target).__name__}.{name} replaced")
    if sys.gettrace() is not None or sys.getprofile() is not None:
        problems.append("a trace or profile function (sys.settrace)")
    if problems:
        unique = list(dict.fromkeys(problems))
        raise type(TAMPERED, (Exception,), {})(
            "the check helpers or the kernel were tampered with, so this check scores 0: "
            + ", ".join(unique[:8]) + (f" and {len(unique) - 8} more" if len(unique) > 8 else ""))
    shell.display_pub.publish(data={MIME: NONCE}, metadata={})


try:
    __course_guard()
finally:
    del __course_guard
'''


def checks_path() -> Path:
    from course_lib import checks

    return Path(checks.__file__).resolve()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(16)


def guard_source(path: Path, checks_digest: str, nonce: str) -> str:
    """The code that starts every autograded cell while grading (see the module doc)."""
    body = (_TEMPLATE.replace("PATH", repr(str(path))).replace("DIGEST", repr(checks_digest))
            .replace("NONCE", repr(nonce)).replace("TAMPERED", repr(TAMPERED))
            .replace("MIME", repr(MIME)))
    return f"{_FIRST_LINE}{body}{_LAST_LINE}\n"


def _autograded_test(cell: Any) -> bool:
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(nbgrader.get("grade")) \
        and not nbgrader.get("solution")


class GuardChecks(Preprocessor):
    """Put the guard at the top of every autograded test cell (before ``Execute``)."""

    nonce = Unicode("", help="the marker's secret, drawn per batch").tag(config=True)
    checks_digest = Unicode("", help="SHA-256 of the pristine course_lib/checks.py").tag(
        config=True)

    def preprocess(self, nb: Any, resources: Any) -> Any:
        path = checks_path()
        code = guard_source(path, self.checks_digest or digest(path), self.nonce or new_nonce())
        for cell in nb.cells:
            if _autograded_test(cell):
                cell.source = code + cell.source
        return nb, resources


class UnguardChecks(Preprocessor):
    """Take the guard out again (after ``Execute``): the guard's marker is removed, and a cell
    that ran without raising and without the marker is marked ``CheckTampered``."""

    nonce = Unicode("", help="the marker's secret, as given to GuardChecks").tag(config=True)

    def preprocess(self, nb: Any, resources: Any) -> Any:
        for cell in nb.cells:
            if not _autograded_test(cell):
                continue
            guarded = cell.source.startswith(_FIRST_LINE)
            if guarded:
                cell.source = cell.source.split(_LAST_LINE + "\n", 1)[-1]
            outputs = cell.get("outputs", [])
            marked = any(output.get("data", {}).get(MIME) == self.nonce for output in outputs)
            cell.outputs = [output for output in outputs if MIME not in output.get("data", {})]
            failed = any(output.get("output_type") == "error" for output in cell.outputs)
            if guarded and not marked and not failed:
                from nbformat.v4 import new_output

                message = ("this check cell did not run the grader's guard (its code was "
                           "rewritten while it ran), so it scores 0")
                cell.outputs.append(new_output("error", ename=TAMPERED, evalue=message,
                                               traceback=[f"{TAMPERED}: {message}"]))
        return nb, resources
