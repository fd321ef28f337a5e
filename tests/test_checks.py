"""Learner checks: a pass prints one `ok:` line, a failure raises CheckFailed with a useful hint."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from course_lib import checks
from course_lib.checks import Case, CheckFailed

tf = pytest.importorskip("tensorflow")


def failure(function, *args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as caught:
        function(*args, **kwargs)
    return str(caught.value)


def test_check_failed_is_an_assertion_error_so_nbgrader_scores_zero():
    assert issubclass(CheckFailed, AssertionError)


def test_importing_the_checks_imports_neither_tensorflow_nor_keras():
    code = ("import sys, course_lib.checks; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'nbgrader') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_a_passing_check_prints_one_ok_line_and_returns_none(capsys):
    assert checks.check_value(tf.constant([1.0, 2.0]), [1.0, 2.0], name="x") is None
    assert capsys.readouterr().out == "ok: x has the expected value\n"


def test_check_value_names_the_first_wrong_entry_and_the_hint():
    message = failure(checks.check_value, tf.constant([[1.0, 2.0], [3.0, 5.0]]),
                      [[1.0, 2.0], [3.0, 4.0]], name="grid", hint="look at the last row")
    assert message.startswith("grid: 1 of 4 values differ; first at [1, 1]: expected 4.0, "
                              "found 5.0.")
    assert message.endswith("Hint: look at the last row")


def test_check_value_compares_shapes_before_values_and_honours_tolerances():
    assert "expected shape (2,), found (3,)" in failure(checks.check_value, [1, 2, 3], [1, 2])
    checks.check_value(1.0 + 1e-7, 1.0)
    assert "expected 1.0, found 1.01" in failure(checks.check_value, 1.01, 1.0)
    checks.check_value(1.01, 1.0, rtol=0.05)


def test_check_shape_reports_a_wrong_rank_and_accepts_none_as_any_length():
    message = failure(checks.check_shape, tf.zeros((4, 64, 64)), (4, 64, 64, 3), name="images")
    assert "expected shape (4, 64, 64, 3), found (4, 64, 64) (rank 3 instead of 4)" in message
    checks.check_shape(np.zeros((7, 3)), (None, 3))
    assert "found 3" in failure(checks.check_shape, 3, (1,))


def test_check_dtype_accepts_tensorflow_numpy_and_string_dtypes():
    checks.check_dtype(tf.zeros(2), tf.float32)
    checks.check_dtype(np.zeros(2, dtype=np.int64), np.int64)
    message = failure(checks.check_dtype, tf.zeros(2, dtype=tf.float16), "float32", name="sum")
    assert message == "sum: expected dtype float32, found float16."


def test_check_tensor_tells_a_constant_from_a_variable_with_a_hint():
    message = failure(checks.check_tensor, tf.zeros((2, 3)), kind="variable", name="weights")
    assert "expected a tf.Variable, found a float32 tf.Tensor of shape (2, 3)" in message
    assert "tf.Variable(...)" in message
    message = failure(checks.check_tensor, np.zeros(3), kind="tensor", name="x")
    assert "found a float64 NumPy array" in message and "tf.convert_to_tensor" in message
    checks.check_tensor(np.zeros(3), kind=None, shape=(3,))


def test_check_tensor_checks_shape_then_dtype_then_values(capsys):
    value = tf.reshape(tf.range(6, dtype=tf.float32), (2, 3))
    assert "expected shape (3, 2)" in failure(checks.check_tensor, value, shape=(3, 2))
    assert "expected dtype int32" in failure(checks.check_tensor, value, dtype="int32")
    assert "values differ" in failure(checks.check_tensor, value, values=np.zeros((2, 3)))
    capsys.readouterr()
    checks.check_tensor(value, shape=(2, 3), dtype="float32", values=[[0, 1, 2], [3, 4, 5]],
                        name="grid")
    assert capsys.readouterr().out == (
        "ok: grid is a float32 tf.Tensor of shape (2, 3) with the expected values\n")


def test_check_variable_sees_the_values_a_variable_holds():
    variable = tf.Variable(tf.zeros((2, 2)))
    variable[1].assign(tf.ones(2))
    checks.check_variable(variable, shape=(2, 2), dtype="float32", values=[[0, 0], [1, 1]])
    assert "found a float32 tf.Tensor" in failure(checks.check_variable, tf.zeros((2, 2)))


def test_call_turns_an_exception_into_a_hint_naming_the_call():
    def fill_row(variable, row, value):
        variable[row] = value

    message = failure(checks.call, fill_row, tf.Variable(tf.zeros((2, 3))), 1, 5.0,
                      hint="use variable[row].assign(...)")
    assert message.startswith("fill_row(a float32 tf.Variable of shape (2, 3), 1, 5.0): raised "
                              "TypeError: 'ResourceVariable' object does not support item "
                              "assignment")
    assert message.endswith("Hint: use variable[row].assign(...)")


def test_an_unanswered_question_says_so():
    def center_crop(images, size):
        raise NotImplementedError()

    message = failure(checks.check_function, center_crop, [Case((tf.zeros((1, 4, 4, 1)), 2), 0)])
    assert "not answered yet" in message and "raise NotImplementedError()" in message


def test_check_function_compares_every_probe_and_reports_the_failing_one(capsys):
    def center_crop(images, size):  # crops the height only: a classic slip
        return images[:, 1:1 + size]

    probe = tf.reshape(tf.range(16), (1, 4, 4, 1))
    message = failure(checks.check_function, center_crop,
                      [Case((probe, 2), expected=[[[[5], [6]], [[9], [10]]]])],
                      hint="slice the width axis too")
    assert message.startswith("center_crop(an int32 tf.Tensor of shape (1, 4, 4, 1), 2): "
                              "expected shape (1, 2, 2, 1), found (1, 2, 4, 1).")
    assert "Hint: slice the width axis too" in message
    checks.check_function(lambda images, size: images[:, 1:3, 1:3, :],
                          [Case((probe, 2), expected=[[[[5], [6]], [[9], [10]]]])],
                          name="center_crop")
    assert capsys.readouterr().out.endswith(
        "ok: center_crop gives the expected result for 1 probe input\n")


def test_check_function_gives_the_hint_of_a_known_mistake():
    reshaped = [[[[0, 1, 2], [3, 4, 5]], [[6, 7, 8], [9, 10, 11]]]]
    case = Case((tf.reshape(tf.range(12), (1, 3, 2, 2)),),
                expected=[[[[0, 4, 8], [1, 5, 9]], [[2, 6, 10], [3, 7, 11]]]],
                hint="generic", mistakes=[(reshaped, "that is still the reshape")])
    message = failure(checks.check_function, lambda images: tf.reshape(images, (1, 2, 2, 3)),
                      [case])
    assert message.endswith("Hint: that is still the reshape")
    message = failure(checks.check_function, lambda images: tf.zeros((1, 2, 2, 3), tf.int32),
                      [case])
    assert message.endswith("Hint: generic")


def test_check_function_checks_the_result_dtype_and_a_missing_return():
    def weighted_sum(features, weights):
        return tf.reduce_sum(features * tf.cast(weights, tf.float16), axis=-1)

    case = Case((tf.constant([[1.0, 2.0, 4.0]], tf.float16), tf.constant([0.5, 0.25, 0.25])),
                expected=[2.0])
    message = failure(checks.check_function, weighted_sum, [case], dtype="float32",
                      hint="cast the features up")
    assert "expected dtype float32, found float16" in message
    assert "returned None" in failure(checks.check_function, lambda a, b: None, [case])


def test_check_function_refuses_something_that_is_not_a_function():
    assert "expected a function, found 3" in failure(checks.check_function, 3, [Case((1,), 1)],
                                                     name="f")


def test_check_model_checks_layers_output_shape_and_parameter_count(capsys):
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3)])
    checks.check_model(model, layer_types=["Dense", "Dense"], output_shape=(None, 3),
                       params=4 * 8 + 8 + 8 * 3 + 3)
    assert capsys.readouterr().out == "ok: model has the expected structure\n"
    assert "expected layers Dense, Dropout, Dense; found Dense, Dense" in failure(
        checks.check_model, model, layer_types=["Dense", "Dropout", "Dense"])
    assert "expected output shape (None, 2), found (None, 3)" in failure(
        checks.check_model, model, output_shape=(None, 2))
    assert "expected 10 parameters, found 67" in failure(checks.check_model, model, params=10)
    unbuilt = keras.Sequential([keras.layers.Dense(3)])
    message = failure(checks.check_model, unbuilt, params=15)
    assert "not built yet" in message and "keras.Input" in message
    assert "expected a Keras model" in failure(checks.check_model, np.zeros(3))
