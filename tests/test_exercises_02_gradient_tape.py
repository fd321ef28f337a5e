"""Chapter 02 exercises: the solutions pass their own checks, classic mistakes fail with a hint.

Each question's cells run in this process (TensorFlow is imported once for the module): the
given cells, then an answer (the instructor's solution, a learner's wrong answer or the student
stub), then the check cell as a learner sees it (visible checks only) or as the instructor grades
it (hidden tests included). A slow test also runs the whole source notebook in a real kernel, as
nbgrader does, and asserts that no cell writes to stderr (nbgrader scores such a check cell 0).
The format, the sync of the student version and its freedom from leaks are tested for every
assignment in tests/test_exercises.py.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

import pytest

from tests.exercise_harness import (
    HIDDEN,
    SOLUTION_MARKERS,
    notebook_paths,
    questions,
    quiet_locked_namespace,
    read_cells,
    run_answer_printing,
    without_solution_markers,
)
from tests.exercise_harness import cell_source as _source

ASSIGNMENT = "02_gradient_tape"
SOURCE, RELEASE = notebook_paths(ASSIGNMENT)

#: question -> (answer cell, check cell)
QUESTIONS = questions("q1_derivative", "q2_layer_gradients", "q3_fit_slope", "q4_fit_line",
                      "q5_second_derivative", "q6_numerical_gradient", "q7_safe_norm",
                      "q8_rmsprop_path")

# Wrong answers that differ only in a line or two share a template.
NUMERICAL_GRADIENT = """
def numerical_gradient(function, point, step=1e-5):
    point = np.asarray(point, dtype=np.{dtype})
    gradient = np.zeros_like(point)
    for index in range(point.size):
        shift = np.zeros_like(point)
        shift[index] = step
        gradient[index] = {difference}
    return gradient
"""

RMSPROP_PATH = """
def rmsprop_path(loss_function, start, learning_rate, steps, rho=0.9, epsilon=1e-7):
    weights = tf.Variable(start, dtype=tf.float32)
    average_square = tf.zeros_like(weights)
    path = [weights.numpy().copy()]
    for _ in range({steps}):
        with tf.GradientTape() as tape:
            loss = loss_function(weights)
        gradient = tape.gradient(loss, weights)
        {average}
        weights.assign_sub({update})
        path.append(weights.numpy().copy())
    return np.array(path)
"""
RMSPROP_RIGHT = dict(steps="steps", average="average_square = rho * average_square + (1 - rho) * gradient ** 2",
                     update="learning_rate * gradient / tf.sqrt(average_square + epsilon)")

# Wrong answers a learner could plausibly hand in, each built on a classic mistake of the chapter:
# (question, answer code, which checks must catch it, words the hint must contain).
WRONG_ANSWERS = [
    pytest.param("q1", """
def derivative(function, x):
    x = tf.constant(x, dtype=tf.float32)
    with tf.GradientTape() as tape:
        y = function(x)
    return tape.gradient(y, x)
""", "visible", "tape.watch(x)", id="q1-constant-not-watched"),
    pytest.param("q1", """
def derivative(function, x, step=1e-4):
    def at(value):
        return function(tf.constant(value, dtype=tf.float64))
    return tf.cast((at(x + step) - at(x - step)) / (2 * step), tf.float32)
""", "hidden", "tf.GradientTape", id="q1-finite-differences-instead-of-a-tape"),
    pytest.param("q1", """
def derivative(function, x, step=1e-3):
    return (function(tf.constant(x + step)) - function(tf.constant(x - step))) / (2 * step)
""", "visible", "derivative of t ** 2 is 2t", id="q1-finite-differences-in-float32"),
    pytest.param("q2", """
def loss_and_gradients(inputs, targets, kernel, bias):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(inputs @ kernel + bias - targets))
    return loss, tape.gradient(loss, [kernel, bias])
""", "visible", "tf.reduce_mean", id="q2-sum-instead-of-mean"),
    pytest.param("q2", """
def loss_and_gradients(inputs, targets, kernel, bias):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(inputs @ kernel + bias - targets))
    return loss, tape.gradient(loss, [bias, kernel])
""", "visible", "[kernel, bias]", id="q2-gradients-in-the-wrong-order"),
    pytest.param("q3", """
def fit_slope(weight, x, y, steps=30, learning_rate=0.05):
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((weight * x - y) ** 2)
        gradient = tape.gradient(loss, weight)
        weight = weight - learning_rate * gradient
    return weight
""", "visible", "compare step 0 with step 1", id="q3-the-buggy-loop-unchanged"),
    pytest.param("q3", """
def fit_slope(weight, x, y, steps=30, learning_rate=0.05):
    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(weight)
            loss = tf.reduce_mean((weight * x - y) ** 2)
        weight = weight - learning_rate * tape.gradient(loss, weight)
    return weight
""", "visible", "still holds its starting value", id="q3-watch-the-tensor-the-name-now-holds"),
    pytest.param("q3", """
def fit_slope(weight, x, y, steps=30, learning_rate=0.05):
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((weight * x - y) ** 2)
        gradient = tape.gradient(loss, weight, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        weight = weight - learning_rate * gradient
    return weight
""", "visible", "still holds its starting value", id="q3-silence-the-none-with-zeros"),
    pytest.param("q3", """
def fit_slope(weight, x, y, steps=30, learning_rate=0.05):
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((weight * x - y) ** 2)
        weight = tf.Variable(weight - learning_rate * tape.gradient(loss, weight))
    return weight
""", "visible", "still holds its starting value", id="q3-a-new-variable-every-step"),
    pytest.param("q3", """
def fit_slope(weight, x, y, steps=30, learning_rate=0.05):
    for _ in range(30):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((weight * x - y) ** 2)
        weight.assign_sub(0.05 * tape.gradient(loss, weight))
    return weight
""", "hidden", "learning_rate arguments", id="q3-arguments-ignored"),
    pytest.param("q3", """
def fit_slope(weight, x, y, steps=30, learning_rate=0.05):
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((weight * x - y) ** 2)
        weight.assign_sub(learning_rate * tape.gradient(loss, weight))
    return weight.numpy()
""", "hidden", "the very variable", id="q3-returns-a-number"),
    pytest.param("q4", """
def fit_line(x, y, steps=100, learning_rate=0.1):
    w, b = tf.Variable(0.0), tf.Variable(0.0)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((w * x + b - y) ** 2)
        gradients = tape.gradient(loss, [b, w])
        for variable, gradient in zip([w, b], gradients):
            variable.assign_sub(learning_rate * gradient)
    return w, b
""", "visible", "must fall at every step", id="q4-the-buggy-loop-unchanged"),
    pytest.param("q4", """
def fit_line(x, y, steps=100, learning_rate=0.1):
    w, b = tf.Variable(0.0), tf.Variable(0.0)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((w * x + b - y) ** 2)
        for variable, gradient in zip([w, b], tape.gradient(loss, [w, b])):
            variable.assign_add(learning_rate * gradient)
    return w, b
""", "visible", "must fall at every step", id="q4-a-step-uphill"),
    pytest.param("q4", """
def fit_line(x, y, steps=100, learning_rate=0.1):
    w, b = tf.Variable(0.0), tf.Variable(0.0)
    for _ in range(100):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((w * x + b - y) ** 2)
        for variable, gradient in zip([w, b], tape.gradient(loss, [w, b])):
            variable.assign_sub(0.1 * gradient)
    return w, b
""", "hidden", "learning_rate arguments", id="q4-arguments-ignored"),
    pytest.param("q5", """
def second_derivative(function, x):
    x = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = function(x)
    return tape.gradient(y, x)
""", "visible", "first derivative", id="q5-only-one-tape"),
    pytest.param("q5", """
def second_derivative(function, x):
    x = tf.Variable(x)
    with tf.GradientTape() as outer_tape:
        with tf.GradientTape() as inner_tape:
            y = function(x)
    first = inner_tape.gradient(y, x)
    return outer_tape.gradient(first, x)
""", "visible", "inside the outer tape's `with` block", id="q5-inner-gradient-outside-outer-tape"),
    pytest.param("q6", NUMERICAL_GRADIENT.format(
        dtype="float64", difference="(function(point + shift) - function(point)) / step"),
        "visible", "one-sided difference", id="q6-one-sided-difference"),
    pytest.param("q6", NUMERICAL_GRADIENT.format(
        dtype="float32",
        difference="(function(point + shift) - function(point - shift)) / (2 * step)"),
        "visible", "float64", id="q6-float32"),
    pytest.param("q7", """
@tf.custom_gradient
def safe_norm(vector):
    norm = tf.norm(vector)
    return norm, lambda upstream: upstream * vector / norm
""", "visible", "tf.maximum(norm, 1e-12)", id="q7-nan-at-zero"),
    pytest.param("q7", """
def safe_norm(vector):
    return tf.sqrt(tf.reduce_sum(vector ** 2) + 1e-12)
""", "hidden", "exact tf.norm(vector)", id="q7-epsilon-changes-the-value"),
    pytest.param("q7", """
@tf.custom_gradient
def safe_norm(vector):
    norm = tf.norm(vector)
    return norm, lambda upstream: vector / tf.maximum(norm, 1e-12)
""", "hidden", "upstream gradient", id="q7-upstream-ignored"),
    pytest.param("q8", RMSPROP_PATH.format(**{**RMSPROP_RIGHT, "average": "average_square = rho * average_square + gradient ** 2"}),
                 "visible", "(1 - rho) * gradient ** 2", id="q8-average-without-1-minus-rho"),
    pytest.param("q8", RMSPROP_PATH.format(**{**RMSPROP_RIGHT, "average": "average_square = gradient ** 2"}),
                 "visible", "(1 - rho) * gradient ** 2", id="q8-only-the-last-gradient"),
    pytest.param("q8", RMSPROP_PATH.format(**{**RMSPROP_RIGHT, "update": "learning_rate * gradient / (average_square + epsilon)"}),
                 "visible", "sqrt(1 - rho)", id="q8-no-square-root"),
    pytest.param("q8", RMSPROP_PATH.format(**{**RMSPROP_RIGHT, "average": "average_square = 0.9 * average_square + 0.1 * gradient ** 2"}),
                 "hidden", "rho, epsilon, learning_rate and steps", id="q8-rho-ignored"),
    pytest.param("q8", RMSPROP_PATH.format(**{**RMSPROP_RIGHT, "update": "learning_rate * gradient / (tf.sqrt(average_square) + 1e-7)"}),
                 "hidden", "epsilon inside the square root", id="q8-epsilon-ignored"),
    pytest.param("q8", """
def rmsprop_path(loss_function, start, learning_rate, steps, rho=0.9, epsilon=1e-7):
    weights = tf.Variable(start, dtype=tf.float32)
    average_square = tf.zeros_like(weights)
    path = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = loss_function(weights)
        gradient = tape.gradient(loss, weights)
        average_square = rho * average_square + (1 - rho) * gradient ** 2
        weights.assign_sub(learning_rate * gradient / tf.sqrt(average_square + epsilon))
        path.append(weights.numpy().copy())
    return np.array(path)
""", "visible", "the start, then one point per step", id="q8-start-left-out"),
]


# Correct answers written differently from the model solution: each must pass every check,
# hidden tests included (question, answer code).
CORRECT_VARIANTS = [
    pytest.param("q1", """
def derivative(function, x):
    x = tf.Variable(x, dtype=tf.float32)  # a trainable variable is watched without being asked
    with tf.GradientTape() as tape:
        y = function(x)
    return tape.gradient(y, x)
""", id="q1-a-variable-instead-of-watch"),
    pytest.param("q1", """
def derivative(function, x):
    x = tf.convert_to_tensor(x, dtype=tf.float32)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        return tape.gradient(function(x), x)
""", id="q1-convert-to-tensor-and-gradient-inside-the-block"),
    pytest.param("q2", """
import keras

def loss_and_gradients(inputs, targets, kernel, bias):
    with tf.GradientTape() as tape:
        loss = keras.losses.MeanSquaredError()(targets, tf.matmul(inputs, kernel) + bias)
    return loss, tape.gradient(loss, (kernel, bias))
""", id="q2-keras-loss-and-a-tuple"),
    pytest.param("q3", """
def fit_slope(weight, x, y, steps=30, learning_rate=0.05):
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((weight * x - y) ** 2)
        weight.assign(weight - learning_rate * tape.gradient(loss, weight))
    return weight
""", id="q3-assign"),
    pytest.param("q3", """
def fit_slope(weight, x, y, steps=30, learning_rate=0.05):
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(weight * x - y))
        weight.assign_add(-learning_rate * tape.gradient(loss, weight))
    return weight
""", id="q3-assign-add-of-minus-the-step"),
    pytest.param("q3", """
import keras

def fit_slope(weight, x, y, steps=30, learning_rate=0.05):
    optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((weight * x - y) ** 2)
        optimizer.apply_gradients([(tape.gradient(loss, weight), weight)])
    return weight
""", id="q3-a-keras-optimizer"),
    pytest.param("q4", """
def fit_line(x, y, steps=100, learning_rate=0.1):
    w, b = tf.Variable(0.0), tf.Variable(0.0)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((w * x + b - y) ** 2)
        gradients = tape.gradient(loss, [b, w])
        for variable, gradient in zip([b, w], gradients):
            variable.assign_sub(learning_rate * gradient)
    return w, b
""", id="q4-another-order-used-consistently"),
    pytest.param("q4", """
import keras

def fit_line(x, y, steps=100, learning_rate=0.1):
    w, b = tf.Variable(0.0), tf.Variable(0.0)
    optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((w * x + b - y) ** 2)
        optimizer.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))
    return w, b
""", id="q4-a-keras-optimizer"),
    pytest.param("q4", """
def fit_line(x, y, steps=100, learning_rate=0.1):
    weights = {"w": tf.Variable(0.0), "b": tf.Variable(0.0)}
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((weights["w"] * x + weights["b"] - y) ** 2)
        gradients = tape.gradient(loss, weights)
        for name in weights:
            weights[name].assign_sub(learning_rate * gradients[name])
    return weights["w"], weights["b"]
""", id="q4-a-dict-of-variables"),
    pytest.param("q5", """
def second_derivative(function, x):
    x = tf.constant(x, dtype=tf.float32)
    with tf.GradientTape() as outer_tape:
        outer_tape.watch(x)
        with tf.GradientTape() as inner_tape:
            inner_tape.watch(x)
            y = function(x)
        first = inner_tape.gradient(y, x)
    return outer_tape.gradient(first, x)
""", id="q5-a-watched-constant"),
    pytest.param("q6", """
def numerical_gradient(function, point, step=1e-5):
    point = np.array(point, dtype="float64")
    return np.array([(function(point + step * unit) - function(point - step * unit)) / (2 * step)
                     for unit in np.eye(point.size)])
""", id="q6-unit-vectors-from-np-eye"),
    pytest.param("q7", """
@tf.custom_gradient
def safe_norm(vector):
    norm = tf.norm(vector)
    return norm, lambda upstream: upstream * tf.math.divide_no_nan(vector, norm)
""", id="q7-divide-no-nan"),
    pytest.param("q7", """
@tf.custom_gradient
def safe_norm(vector):
    norm = tf.norm(vector)

    def backward(upstream):
        return upstream * tf.where(norm > 0, vector / norm, tf.zeros_like(vector))

    return norm, backward
""", id="q7-where-in-a-backward-pass-that-is-not-differentiated"),
    pytest.param("q8", RMSPROP_PATH.format(**{**RMSPROP_RIGHT, "update": "learning_rate * gradient / (tf.sqrt(average_square) + epsilon)"}),
                 id="q8-epsilon-outside-the-root-as-some-libraries-do"),
    pytest.param("q8", """
import keras

def rmsprop_path(loss_function, start, learning_rate, steps, rho=0.9, epsilon=1e-7):
    weights = tf.Variable(start)
    optimizer = keras.optimizers.RMSprop(learning_rate, rho=rho, epsilon=epsilon)
    path = [weights.numpy()]
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = loss_function(weights)
        optimizer.apply_gradients([(tape.gradient(loss, weights), weights)])
        path.append(weights.numpy())
    return np.stack(path)
""", id="q8-keras-itself"),
]

# A find-the-bug question shows the symptom; its title, prompt and visible check never name the
# bug or its fix (question -> words that would give it away).
GIVEAWAYS = {
    "q3": ["assign", "rebind", "plain tensor", "EagerTensor", "weight = weight", "w = w",
           "new tensor", "not a variable", "optimizer.apply"],
    "q4": ["zip", "order", "swap", "[b, w]", "other one", "wrong variable", "its own gradient"],
}

@pytest.fixture(scope="module")
def source_cells() -> dict[str, dict[str, Any]]:
    return read_cells(SOURCE)


@pytest.fixture(scope="module")
def given_namespace(source_cells) -> Iterator[dict[str, Any]]:
    """A namespace after running every locked code cell that is neither an answer nor a check:
    setup, imports, data and the buggy code the find-the-bug questions show."""
    with quiet_locked_namespace(source_cells) as namespace:
        yield namespace


def test_the_assignment_has_the_questions_the_format_asks_for(source_cells):
    graded = {name: cell for name, cell in source_cells.items()
              if cell["metadata"]["nbgrader"]["grade"]}
    code_checks = [name for name, cell in graded.items() if cell["cell_type"] == "code"]
    written = [name for name, cell in graded.items() if cell["cell_type"] == "markdown"]
    assert sorted(code_checks) == sorted(check for _, check in QUESTIONS.values())
    assert len(code_checks) >= 5 and written == ["q9_written"]
    assert all(source_cells[answer]["metadata"]["nbgrader"]["solution"]
               for answer, _ in QUESTIONS.values())
    assert all("### BEGIN HIDDEN TESTS" in _source(graded[name]) for name in code_checks)
    bugs = [name for name, cell in source_cells.items() if "Find and fix the bug" in _source(cell)]
    assert len(bugs) >= 2, "the chapter's classic mistakes need their find-the-bug questions"
    assert sum(cell["metadata"]["nbgrader"]["points"] for cell in graded.values()) == 18


def test_the_student_version_hides_solutions_and_hidden_tests(source_cells):
    released = read_cells(RELEASE)
    assert list(released) == list(source_cells), "the student version has other cells"
    text = RELEASE.read_text(encoding="utf-8")
    for marker in (*SOLUTION_MARKERS, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    for answer, check in QUESTIONS.values():
        solution = _source(source_cells[answer])
        body = solution.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
        stub = _source(released[answer])
        assert "raise NotImplementedError()" in stub
        assert not any(line.strip() and line.strip() in stub.splitlines()
                       for line in body.splitlines() if len(line.strip()) > 12), answer
        hidden = HIDDEN.search(_source(source_cells[check])).group(0)
        assert _source(released[check]).strip() == _source(source_cells[check]).replace(
            hidden, "").strip()
    model_answer = _source(source_cells["q9_written"])
    assert model_answer[:60] not in _source(released["q9_written"])


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_solution_passes_its_checks_hidden_tests_included(question, source_cells,
                                                              given_namespace):
    answer, check = QUESTIONS[question]
    printed = run_answer_printing(given_namespace,
                                  without_solution_markers(_source(source_cells[answer])),
                                  without_solution_markers(_source(source_cells[check])))
    assert printed.count("ok:") >= 2, printed


@pytest.mark.parametrize("question", QUESTIONS)
def test_an_unanswered_question_says_so(question, given_namespace):
    from course_lib.checks import CheckFailed

    answer, check = QUESTIONS[question]
    released = read_cells(RELEASE)
    with pytest.raises(CheckFailed, match="not answered yet"):
        run_answer_printing(given_namespace, _source(released[answer]), _source(released[check]))


@pytest.mark.parametrize(("question", "wrong_answer", "caught_by", "hint"), WRONG_ANSWERS)
def test_a_classic_mistake_fails_with_a_hint(question, wrong_answer, caught_by, hint,
                                             source_cells, given_namespace):
    from course_lib.checks import CheckFailed

    _, check = QUESTIONS[question]
    full_check = without_solution_markers(_source(source_cells[check]))
    visible_check = HIDDEN.sub("", _source(source_cells[check]))
    if caught_by == "hidden":  # the learner's visible checks pass; the grader's do not
        printed = run_answer_printing(given_namespace, wrong_answer, visible_check)
        assert "ok:" in printed
    with pytest.raises(CheckFailed) as failure:
        run_answer_printing(given_namespace, wrong_answer,
                            full_check if caught_by == "hidden" else visible_check)
    message = str(failure.value)
    assert "\nHint: " in message and hint in message.split("\nHint: ", 1)[1], message



@pytest.mark.parametrize(("question", "variant"), CORRECT_VARIANTS)
def test_a_correct_variant_passes_every_check(question, variant, source_cells, given_namespace):
    _, check = QUESTIONS[question]
    printed = run_answer_printing(given_namespace, variant,
                                  without_solution_markers(_source(source_cells[check])))
    assert printed.count("ok:") >= 2 and "CheckFailed" not in printed, printed


@pytest.mark.parametrize("question", sorted(GIVEAWAYS))
def test_a_find_the_bug_question_describes_the_symptom_only(question, source_cells):
    prompt = _source(source_cells[f"{question}_prompt"])
    assert prompt.startswith(f"## Question {question[1:]} · Find and fix the bug: ")
    visible_check = HIDDEN.sub("", _source(source_cells[QUESTIONS[question][1]]))
    for text in (prompt, visible_check):
        found = [word for word in GIVEAWAYS[question] if word.lower() in text.lower()]
        assert not found, (question, found)


def test_no_check_cell_needs_a_name_from_a_given_cell(source_cells):
    """A learner who restarts the kernel may run the setup and imports, then jump to one question:
    its check cell must then work with only the names of those two cells and its own answer."""
    given = {name for name, cell in source_cells.items()
             if cell["cell_type"] == "code" and name not in ("setup", "imports")
             and not cell["metadata"]["nbgrader"]["solution"]
             and not cell["metadata"]["nbgrader"]["grade"]}
    defined = set()
    for name in given:  # the names a given cell leaves behind (its own locals do not count)
        for statement in ast.parse(_source(source_cells[name])).body:
            if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
                defined.add(statement.name)
            elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.With,
                                        ast.Try)):
                defined |= {node.id for node in ast.walk(statement)
                            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    for _, check in QUESTIONS.values():
        tree = ast.parse(_source(source_cells[check]))
        own = {node.id for node in ast.walk(tree)
               if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
        own |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
        own |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        used = {node.id for node in ast.walk(tree)
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)} - own
        assert not used & defined, (check, used & defined)


@pytest.mark.slow
def test_the_source_notebook_runs_cleanly_in_a_kernel():
    """As nbgrader runs it: no cell errors, nothing on stderr (which would score 0), and every
    check cell reports its checks as passed."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(SOURCE, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(SOURCE.parent)}}).execute()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        assert not [out for out in outputs if out.get("name") == "stderr"], cell.source[:80]
        if cell.metadata["nbgrader"]["grade"]:
            printed = "".join(out.get("text", "") for out in outputs)
            assert "ok:" in printed and "CheckFailed" not in printed, cell.source[:80]
