"""Learner checks for the exercise notebooks.

The visible check cells of an exercise call these helpers. They work wherever the notebook runs
(JupyterLab, Colab, Binder) and need neither nbgrader nor a grader: a check that passes prints one
short ``ok:`` line; a check that fails raises :class:`CheckFailed`, whose message says what was
expected, what was found and where to look, for example::

    CheckFailed: center_crop(a int32 tf.Tensor of shape (1, 4, 4, 1), 2): expected shape
    (1, 2, 2, 1), found (1, 2, 4, 1).
    Hint: slice the height axis (1) and the width axis (2).

:class:`CheckFailed` is an ``AssertionError``, so when an instructor autogrades with nbgrader a
failing check fails its cell and that question scores 0. Checks return ``None`` on purpose:
nbgrader would read a number left as a cell's last value as a partial score.

The helpers:

=======================  =================================================================
``check_value``          a number, list, array or tensor equals the expected values
``check_shape``          the shape of an array or tensor
``check_dtype``          the dtype of an array or tensor
``check_tensor``         kind (tf.Tensor, tf.Variable, NumPy array), shape, dtype and values
``check_variable``       ``check_tensor`` for a ``tf.Variable``
``check_function``       call a learner's function on probe inputs (:class:`Case`)
``call``                 call a learner's function once; an exception becomes a hint
``check_model``          a Keras model's layer types, output shape and parameter count
=======================  =================================================================

Nothing here imports TensorFlow or Keras: a value can only be a TensorFlow object if the
notebook has imported TensorFlow already, so the checks look it up in ``sys.modules``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Case",
    "CheckFailed",
    "call",
    "check_dtype",
    "check_function",
    "check_model",
    "check_shape",
    "check_tensor",
    "check_value",
    "check_variable",
    "describe",
]


class CheckFailed(AssertionError):
    """A learner check failed; the message is the hint (expected, found, where to look)."""


@dataclass(frozen=True)
class Case:
    """One probe input for :func:`check_function`.

    ``args`` and ``kwargs`` are passed to the learner's function; its result must equal
    ``expected`` (within the tolerances). ``mistakes`` lists ``(wrong_result, hint)`` pairs for
    classic mistakes: when the result equals one of them, the learner sees that hint.
    """

    args: tuple[Any, ...] = ()
    expected: Any = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    hint: str = ""
    mistakes: Sequence[tuple[Any, str]] = ()


# ----------------------------------------------------------------------------- describing values


def _tensorflow() -> Any:
    return sys.modules.get("tensorflow")


def _kind(value: Any) -> str:
    """``"variable"``, ``"tensor"``, ``"ragged"``, ``"sparse"``, ``"array"`` or a type name."""
    tf = _tensorflow()
    if tf is not None:
        if isinstance(value, tf.Variable):
            return "variable"
        if isinstance(value, tf.RaggedTensor):
            return "ragged"
        if isinstance(value, tf.SparseTensor):
            return "sparse"
        if isinstance(value, tf.Tensor):
            return "tensor"
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(value, getattr(keras, "Variable", ())):
        return "variable"
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        return "array"
    return type(value).__name__


_KIND_NAMES = {
    "variable": "tf.Variable",
    "tensor": "tf.Tensor",
    "ragged": "tf.RaggedTensor",
    "sparse": "tf.SparseTensor",
    "array": "NumPy array",
}


def _kind_name(kind: str) -> str:
    return _KIND_NAMES.get(kind, kind)


def _dtype_name(dtype: Any) -> str:
    """``"float32"`` for ``tf.float32``, ``np.float32``, ``np.dtype("float32")`` or the string."""
    if isinstance(dtype, str):
        return dtype
    name = getattr(dtype, "name", None)
    if isinstance(name, str):
        return name
    import numpy as np

    return np.dtype(dtype).name


def _shape_of(value: Any) -> tuple[int | None, ...] | None:
    shape = getattr(value, "shape", None)
    if shape is None:
        return None
    try:
        return tuple(None if dim is None else int(dim) for dim in shape)
    except TypeError:  # a shape of unknown rank
        return None


def describe(value: Any) -> str:
    """A short description of a value for a hint: ``a float32 tf.Tensor of shape (2, 3)``."""
    kind = _kind(value)
    if kind in _KIND_NAMES:
        shape = _shape_of(value)
        dtype = _dtype_name(value.dtype)
        where = f" of shape {shape}" if shape is not None else ""
        article = "an" if dtype[:1] in "aeiou" else "a"
        return f"{article} {dtype} {_kind_name(kind)}{where}"
    if isinstance(value, (bool, int, float, complex, str)) or value is None:
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    if callable(value):
        return f"the function {getattr(value, '__name__', repr(value))}"
    return f"a {type(value).__name__}"


def _fail(name: str, message: str, hint: str = "") -> None:
    __tracebackhide__ = True
    text = f"{name}: {message}" if name else message
    if hint:
        text += f"\nHint: {hint}"
    raise CheckFailed(text)


def _ok(message: str) -> None:
    print(f"ok: {message}")


# ----------------------------------------------------------------------------- comparing values


def _as_array(value: Any) -> Any:
    import numpy as np

    kind = _kind(value)
    if kind in ("ragged", "sparse"):
        return None
    if kind in ("tensor", "variable"):
        return np.asarray(value.numpy())
    if hasattr(value, "numpy") and callable(value.numpy):
        return np.asarray(value.numpy())
    try:
        return np.asarray(value)
    except Exception:  # ragged Python lists and other shapes NumPy refuses
        return None


def _format_index(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]" if index else "the value"


def _compare(found: Any, expected: Any, *, rtol: float, atol: float) -> str | None:
    """Return None when ``found`` matches ``expected``, else what differs, as a sentence."""
    import numpy as np

    expected_array = _as_array(expected)
    found_array = _as_array(found)
    if found_array is None:
        return f"expected {describe(expected)}, found {describe(found)} (not a dense array)"
    if expected_array.shape != found_array.shape:
        return f"expected shape {expected_array.shape}, found {found_array.shape}"
    numeric = all(array.dtype.kind in "biufc" for array in (expected_array, found_array))
    if numeric:
        if found_array.dtype.kind == "b" and expected_array.dtype.kind != "b":
            found_array = found_array.astype(expected_array.dtype)
        close = np.isclose(found_array.astype(np.complex128 if found_array.dtype.kind == "c"
                                              else np.float64),
                           expected_array.astype(np.complex128 if expected_array.dtype.kind == "c"
                                                 else np.float64),
                           rtol=rtol, atol=atol)
    else:
        close = np.asarray(found_array == expected_array, dtype=bool)
        if close.shape != expected_array.shape:  # comparison of unlike objects
            close = np.zeros(expected_array.shape, dtype=bool)
    close = np.atleast_1d(close)
    if close.all():
        return None
    wrong = int((~close).sum())
    first = tuple(int(i) for i in np.argwhere(~close)[0]) if expected_array.ndim else ()
    want = expected_array[first] if expected_array.ndim else expected_array[()]
    got = found_array[first] if found_array.ndim else found_array[()]
    where = f"at {_format_index(first)}" if first else "the value"
    if expected_array.size <= 1:
        return f"expected {_plain(want)}, found {_plain(got)}"
    return (f"{wrong} of {expected_array.size} values differ; first {where}: "
            f"expected {_plain(want)}, found {_plain(got)}")


def _plain(value: Any) -> str:
    item = getattr(value, "item", None)
    return repr(item() if callable(item) else value)


# ----------------------------------------------------------------------------- the checks


def check_value(found: Any, expected: Any, *, name: str = "your answer", rtol: float = 1e-5,
                atol: float = 1e-6, hint: str = "") -> None:
    """Check that ``found`` equals ``expected``: numbers, lists, NumPy arrays or tensors.

    Shapes must match exactly; numbers are compared with the tolerances ``rtol`` and ``atol``.
    """
    __tracebackhide__ = True
    difference = _compare(found, expected, rtol=rtol, atol=atol)
    if difference:
        _fail(name, difference + ".", hint)
    _ok(f"{name} has the expected value")


def check_shape(found: Any, shape: Sequence[int | None], *, name: str = "your answer",
                hint: str = "") -> None:
    """Check the shape of an array or tensor; ``None`` in ``shape`` accepts any length."""
    __tracebackhide__ = True
    _require_shape(found, shape, name=name, hint=hint)
    _ok(f"{name} has shape {tuple(shape)}")


def _require_shape(found: Any, shape: Sequence[int | None], *, name: str, hint: str) -> None:
    __tracebackhide__ = True
    found_shape = _shape_of(found)
    if found_shape is None:
        _fail(name, f"expected something with shape {tuple(shape)}, found {describe(found)}.",
              hint)
    expected = tuple(shape)
    matches = len(found_shape) == len(expected) and all(
        want is None or want == got for want, got in zip(expected, found_shape, strict=False))
    if not matches:
        rank = ""
        if len(found_shape) != len(expected):
            rank = f" (rank {len(found_shape)} instead of {len(expected)})"
        _fail(name, f"expected shape {expected}, found {found_shape}{rank}.", hint)


def check_dtype(found: Any, dtype: Any, *, name: str = "your answer", hint: str = "") -> None:
    """Check the dtype of an array or tensor (``"float32"``, ``tf.float32``, ``np.float32``)."""
    __tracebackhide__ = True
    _require_dtype(found, dtype, name=name, hint=hint)
    _ok(f"{name} has dtype {_dtype_name(dtype)}")


def _require_dtype(found: Any, dtype: Any, *, name: str, hint: str) -> None:
    __tracebackhide__ = True
    if not hasattr(found, "dtype"):
        _fail(name, f"expected a {_dtype_name(dtype)} array or tensor, found {describe(found)}.",
              hint)
    want, got = _dtype_name(dtype), _dtype_name(found.dtype)
    if want != got:
        _fail(name, f"expected dtype {want}, found {got}.", hint)


def check_tensor(found: Any, *, kind: str | None = "tensor",
                 shape: Sequence[int | None] | None = None, dtype: Any = None,
                 values: Any = None, name: str = "your answer", rtol: float = 1e-5,
                 atol: float = 1e-6, hint: str = "") -> None:
    """Check a tensor-like value step by step: its kind, then shape, dtype and values.

    ``kind`` is ``"tensor"`` (a ``tf.Tensor``, not a variable), ``"variable"`` (a
    ``tf.Variable``), ``"array"`` (a NumPy array) or ``None`` (any of them).
    """
    __tracebackhide__ = True
    found_kind = _kind(found)
    if kind is not None and found_kind != kind:
        _fail(name, f"expected a {_kind_name(kind)}, found {describe(found)}.",
              _kind_hint(kind, found_kind) or hint)
    if kind is None and found_kind not in ("tensor", "variable", "array"):
        _fail(name, f"expected a tensor or an array, found {describe(found)}.", hint)
    if shape is not None:
        _require_shape(found, shape, name=name, hint=hint)
    if dtype is not None:
        _require_dtype(found, dtype, name=name, hint=hint)
    if values is not None:
        difference = _compare(found, values, rtol=rtol, atol=atol)
        if difference:
            _fail(name, difference + ".", hint)
    _ok(f"{name} is {describe(found)}" + (" with the expected values" if values is not None
                                          else ""))


def _kind_hint(wanted: str, found: str) -> str:
    if wanted == "variable" and found == "tensor":
        return ("tf.constant and TensorFlow operations give immutable tensors; wrap the initial "
                "value in tf.Variable(...) to get something you can assign to.")
    if wanted == "tensor" and found == "array":
        return "convert the NumPy array with tf.convert_to_tensor(...) or build it with tf ops."
    if wanted == "array" and found in ("tensor", "variable"):
        return "call .numpy() on the tensor to get a NumPy array."
    if wanted == "tensor" and found == "variable":
        return "a tf.Variable is not asked for here; a plain tensor (tf.constant, tf ops) is."
    return ""


def check_variable(found: Any, **expected: Any) -> None:
    """:func:`check_tensor` with ``kind="variable"``: the value must be a ``tf.Variable``."""
    __tracebackhide__ = True
    check_tensor(found, kind="variable", **expected)


def _call_text(name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> str:
    parts = [describe(arg) for arg in args]
    parts += [f"{key}={describe(value)}" for key, value in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def call(func: Any, *args: Any, name: str | None = None, hint: str = "", **kwargs: Any) -> Any:
    """Call the learner's ``func`` and return its result; an exception becomes a :class:`CheckFailed`.

    The message names the call, the exception and the ``hint``.
    """
    __tracebackhide__ = True
    label = name or getattr(func, "__name__", "your function")
    if not callable(func):
        _fail(label, f"expected a function, found {describe(func)}.", hint)
    try:
        return func(*args, **kwargs)
    except NotImplementedError:
        _fail(_call_text(label, args, kwargs), "not answered yet (it raises NotImplementedError).",
              "replace `raise NotImplementedError()` with your code, run that cell, then this one.")
    except Exception as error:  # the learner's code failed: say how, briefly
        first_line = (str(error).strip().splitlines() or [""])[0]
        if len(first_line) > 200:
            first_line = first_line[:197] + "..."
        _fail(_call_text(label, args, kwargs),
              f"raised {type(error).__name__}: {first_line}", hint)
    return None  # not reached


def check_function(func: Callable[..., Any], cases: Iterable[Case], *, name: str | None = None,
                   dtype: Any = None, rtol: float = 1e-5, atol: float = 1e-6,
                   hint: str = "") -> None:
    """Call ``func`` on each :class:`Case` and compare the result with ``case.expected``.

    ``dtype`` also requires that dtype of every result. ``hint`` is used where a case has none.
    """
    __tracebackhide__ = True
    label = name or getattr(func, "__name__", "your function")
    cases = list(cases)
    for case in cases:
        case_hint = case.hint or hint
        result = call(func, *case.args, name=label, hint=case_hint, **case.kwargs)
        where = _call_text(label, case.args, case.kwargs)
        if result is None and case.expected is not None:
            _fail(where, f"returned None; expected {describe(case.expected)}.",
                  "did you forget the `return` statement?")
        difference = _compare(result, case.expected, rtol=rtol, atol=atol)
        if difference:
            for wrong, mistake_hint in case.mistakes:
                if _compare(result, wrong, rtol=rtol, atol=atol) is None:
                    _fail(where, difference + ".", mistake_hint)
            _fail(where, difference + ".", case_hint)
        if dtype is not None:
            _require_dtype(result, dtype, name=where, hint=case_hint)
    count = len(cases)
    _ok(f"{label} gives the expected result for {count} probe input{'s' if count != 1 else ''}")


def check_model(model: Any, *, layer_types: Sequence[str] | None = None,
                output_shape: Sequence[int | None] | None = None, params: int | None = None,
                name: str = "model", hint: str = "") -> None:
    """Check a Keras model: the class names of its layers, its output shape, its parameter count.

    ``layer_types`` lists class names (``["Dense", "Dense"]``) in order, input layers left out;
    ``output_shape`` includes the batch axis as ``None``.
    """
    __tracebackhide__ = True
    if not hasattr(model, "layers") or not callable(getattr(model, "count_params", None)):
        _fail(name, f"expected a Keras model, found {describe(model)}.", hint)
    if layer_types is not None:
        found_types = [type(layer).__name__ for layer in model.layers
                       if type(layer).__name__ != "InputLayer"]
        if found_types != list(layer_types):
            _fail(name, f"expected layers {', '.join(layer_types) or 'none'}; "
                        f"found {', '.join(found_types) or 'none'}.", hint)
    if output_shape is not None or params is not None:
        if not getattr(model, "built", False):
            _fail(name, "the model is not built yet, so it has no shapes or weights.",
                  hint or "start it with keras.Input(shape=...) or call it once on a batch.")
    if output_shape is not None:
        try:
            found_shape = tuple(model.output_shape)
        except (AttributeError, ValueError, RuntimeError):
            found_shape = tuple(model.outputs[0].shape) if getattr(model, "outputs", None) else None
        if found_shape != tuple(output_shape):
            _fail(name, f"expected output shape {tuple(output_shape)}, found {found_shape}.", hint)
    if params is not None:
        found_params = int(model.count_params())
        if found_params != params:
            _fail(name, f"expected {params:,} parameters, found {found_params:,}.",
                  hint or "print model.summary() and compare the layer sizes with the question.")
    _ok(f"{name} has the expected structure")
