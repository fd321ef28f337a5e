"""Chapter 03's exercises. The find-the-bug cells show their symptom: a training loop whose loss
stalls near 0.25 at chance accuracy, and a mini-batch loop whose loss explodes at the learning
rate that full-batch training of the same model takes in its stride.

The checks every chapter shares (solutions, classic wrong answers, the student version's stubs)
are built by tests/exercise_harness.py. This module adds its own table of correct variants: other
ways of answering that the checks must accept.
"""

from __future__ import annotations

import contextlib
import io

import pytest

from tests import exercise_harness as harness

ASSIGNMENT = "03_linear_classifier"
SOURCE, RELEASE = harness.notebook_paths(ASSIGNMENT)

#: Locked cells that define what the questions use, in notebook order.
GIVEN = ("setup", "imports", "q5_data", "q5_buggy", "q6_data", "q6_buggy")
#: question -> (answer cell, check cell)
QUESTIONS = harness.questions("q1_make_clouds", "q2_collapse", "q3_safe_learning_rate",
                              "q4_batch_indices", "q5_train_linear_classifier",
                              "q6_train_in_batches", "q7_keras_full_batch")


source_cells = harness.source_cells_fixture(SOURCE)
given_namespace = harness.given_namespace_fixture(GIVEN)


test_the_assignment_has_the_required_parts = harness.required_parts_test(
    SOURCE, QUESTIONS, "q8_written", ["q5_buggy", "q6_buggy"])


test_the_solution_passes_its_checks_and_hidden_tests = harness.solution_test(QUESTIONS)


def test_the_find_the_bug_cells_show_their_symptom(source_cells, given_namespace, capsys):
    scope = dict(given_namespace)
    capsys.readouterr()
    exec(source_cells["q5_symptom"]["source"], scope)
    stalled = capsys.readouterr().out
    final_loss = float(stalled.split(" at the start, ")[1].split()[0])
    accuracy = float(stalled.split("accuracy: ")[1].split("%")[0])
    assert abs(final_loss - 0.25) < 0.02 and 40 < accuracy < 60, stalled
    exec(source_cells["q6_symptom"]["source"], scope)
    exploded = capsys.readouterr().out
    assert "nan" in exploded and "inf" in exploded, exploded
    assert float(exploded.split("['")[1].split("'")[0]) > 1e6, exploded


def test_no_find_the_bug_prompt_or_visible_check_names_the_bug(source_cells):
    """The titles, prompts and visible checks of questions 5 and 6 describe the symptom only."""
    for question, words in [("q5", ("reshape", "broadcast", "(num_points, 1)", "shape of the labels")),
                            ("q6", ("reduce_sum", "reduce_mean", "sum", "batch_size times"))]:
        _, check = QUESTIONS[question]
        shown = (source_cells[f"{question}_prompt"]["source"]
                 + harness.HIDDEN.sub("", source_cells[check]["source"]))
        for word in words:
            assert word not in shown, (question, word)


# Wrong answers that differ only in a line or an argument share a template.
MAKE_CLOUDS = """
    def make_clouds(num_points, mean_0, mean_1, covariance, seed=0):
        rng = np.random.default_rng(seed)
        inputs = np.vstack([rng.multivariate_normal(mean_0, covariance, size=num_points),
                            rng.multivariate_normal(mean_1, covariance, size=num_points)])
        return {returned}
    """
COLLAPSE = """
    def collapse(layers):
        W, b = np.asarray(layers[0][0]), np.asarray(layers[0][1])
        for next_W, next_b in layers[1:]:
            next_W = np.asarray(next_W)
            W, b = {update}
        return W, b
    """
SAFE_RATE = """
    def largest_safe_learning_rate(inputs):
        inputs = np.asarray(inputs, dtype="float64")
        columns = {columns}
        hessian = {hessian}
        return float({limit})
    """
WITH_ONES = "np.hstack([inputs, np.ones((len(inputs), 1))])"
HESSIAN = "2 / len(inputs) * columns.T @ columns"
LIMIT = "2 / np.linalg.eigvalsh(hessian).max()"
BATCHES = """
    def batch_indices(num_samples, batch_size, rng):
        order = {order}
        return [order[start:start + batch_size] for start in range({stop})]
    """
ALL_STARTS = "0, num_samples, batch_size"
LINEAR_CLASSIFIER = """
    def train_linear_classifier(inputs, labels, steps=40, learning_rate=0.1):
        targets = {targets}
        W = tf.Variable(tf.fill((2, 1), 0.5))
        b = tf.Variable(tf.zeros((1,)))
        losses = []
        for _ in range(steps):
            with tf.GradientTape() as tape:
                predictions = {predictions}
                loss = tf.reduce_mean(tf.square(targets - predictions))
            grad_W, grad_b = tape.gradient(loss, [W, b])
            W.assign_sub(learning_rate * grad_W)
            b.assign_sub(learning_rate * grad_b)
            losses.append(float(loss))
        return W, b, losses
    """
IN_BATCHES = """
    def train_in_batches(inputs, targets, epochs=5, batch_size=100, learning_rate=0.1, seed=0):
        order_rng = np.random.default_rng(seed)
        W = tf.Variable(tf.fill((inputs.shape[1], 1), 0.5))
        b = tf.Variable(tf.zeros((1,)))
        losses = []
        for _ in range(epochs):
            order, squared_errors = order_rng.permutation(len(inputs)), []
            for start in range(0, len(inputs), batch_size):
                chosen = order[start:start + batch_size]
                with tf.GradientTape() as tape:
                    errors = tf.square(targets[chosen] - (inputs[chosen] @ W + b))
                    loss = {loss}
                grad_W, grad_b = tape.gradient(loss, [W, b])
                W.assign_sub({rate} * grad_W)
                b.assign_sub({rate} * grad_b)
                squared_errors.append(errors.numpy())
            losses.append(float(np.mean(np.concatenate(squared_errors))))
        return W, b, losses
    """
KERAS_LINEAR = """
    def keras_linear_classifier(inputs, targets, steps=40, learning_rate=0.1):
        num_features = inputs.shape[1]
        model = keras.Sequential([keras.Input(shape=(num_features,)), keras.layers.Dense(1)])
        {start}
        model.compile(optimizer={optimizer}, loss={loss})
        model.fit(inputs, targets, epochs=steps, verbose=0{fit})
        return model
    """
SET_START = ('model.set_weights([np.full((num_features, 1), 0.5, "float32"), '
             'np.zeros(1, "float32")])')
SGD = "keras.optimizers.SGD(learning_rate=learning_rate)"
FULL_BATCH = ", batch_size=len(inputs)"

WRONG_ANSWERS = [
    pytest.param("q1", MAKE_CLOUDS.format(
        returned='inputs, np.repeat([[0.0], [1.0]], num_points, axis=0).astype("float32")'),
        ["expected dtype float32, found float64", "astype('float32')"], id="q1-float64"),
    pytest.param("q1", MAKE_CLOUDS.format(
        returned='inputs.astype("float32"), np.repeat([0.0, 1.0], num_points).astype("float32")'),
        ["expected shape (1000, 1), found (1000,)", "one column"], id="q1-flat-targets"),
    pytest.param("q2", COLLAPSE.format(update="W @ next_W, np.asarray(next_b)"),
                 ["b for the two-layer stack", "passes through every later layer"],
                 id="q2-keeps-only-the-last-bias"),
    pytest.param("q2", COLLAPSE.format(update="W @ next_W, b + np.asarray(next_b)"),
                 ["b for the two-layer stack", "passes through every later layer"],
                 id="q2-adds-the-biases"),
    pytest.param("q2", """
        def collapse(layers):
            (W1, b1), (W2, b2) = layers[0], layers[1]
            return np.asarray(W1) @ np.asarray(W2), np.asarray(b1) @ np.asarray(W2) + np.asarray(b2)
        """, ["three layers 3 -> 5 -> 4 -> 2", "every layer of the list"], id="q2-two-layers-only"),
    pytest.param("q3", SAFE_RATE.format(columns=WITH_ONES, hessian="columns.T @ columns / len(inputs)",
                                        limit=LIMIT), ["carries a factor 2"], id="q3-no-factor-2"),
    pytest.param("q3", SAFE_RATE.format(columns="inputs", hessian=HESSIAN, limit=LIMIT),
                 ["b is trained too"], id="q3-forgets-the-bias"),
    pytest.param("q3", SAFE_RATE.format(columns=WITH_ONES, hessian="2 * columns.T @ columns",
                                        limit=LIMIT), ["a mean over the points"], id="q3-sum-not-mean"),
    pytest.param("q3", SAFE_RATE.format(columns=WITH_ONES, hessian=HESSIAN,
                                        limit="1 / np.linalg.eigvalsh(hessian).max()"),
                 ["not above 0"], id="q3-one-over-curvature"),
    pytest.param("q4", BATCHES.format(order="np.arange(num_samples)", stop=ALL_STARTS),
                 ["rng.permutation"], id="q4-no-shuffle"),
    pytest.param("q4", BATCHES.format(order="rng.permutation(num_samples)",
                                      stop="0, num_samples - batch_size + 1, batch_size"),
                 ["the last batch keeps the rest"], id="q4-drops-last-batch"),
    pytest.param("q4", BATCHES.format(order="np.random.permutation(num_samples)", stop=ALL_STARTS),
                 ["same seed give the same order", "the rng you are given"], id="q4-ignores-rng"),
    pytest.param("q4", BATCHES.format(order="np.random.default_rng(0).permutation(num_samples)",
                                      stop=ALL_STARTS),
                 ["two calls with the same generator", "do not reseed"], id="q4-reseeds"),
    pytest.param("q5", """
        train_linear_classifier = buggy_train_linear_classifier
        """, ["whether the final loss is below 0.1", "stalls near 0.25"], id="q5-the-bug"),
    pytest.param("q5", LINEAR_CLASSIFIER.format(targets="tf.cast(labels, tf.float32)",
                                                predictions="inputs @ W + b"),
                 ["stalls near 0.25"], id="q5-casts-but-keeps-the-shape"),
    pytest.param("q6", """
        train_in_batches = buggy_train_in_batches
        """, ["whether every loss is finite", "explodes"], id="q6-the-bug"),
    pytest.param("q6", IN_BATCHES.format(loss="tf.reduce_sum(errors)", rate="learning_rate / 100"),
                 ["after one full-batch step at 0.05"], id="q6-rate-divided-by-the-default-batch"),
    pytest.param("q6", IN_BATCHES.format(loss="tf.reduce_sum(errors)", rate="0.001"),
                 ["after one full-batch step at 0.05"], id="q6-hard-coded-small-rate"),
    pytest.param("q7", KERAS_LINEAR.format(start=SET_START, optimizer=SGD, loss='"mse"', fit=""),
                 ["W after training", "how many points"], id="q7-default-batch-size"),
    pytest.param("q7", KERAS_LINEAR.format(start=SET_START, optimizer='"sgd"', loss='"mse"',
                                           fit=FULL_BATCH),
                 ["W after training", "rate"], id="q7-sgd-string-default-rate"),
    pytest.param("q7", KERAS_LINEAR.format(start=SET_START, optimizer='"rmsprop"', loss='"mse"',
                                           fit=FULL_BATCH), ["W after training"], id="q7-rmsprop"),
    pytest.param("q7", KERAS_LINEAR.format(start="pass", optimizer=SGD, loss='"mse"', fit=FULL_BATCH),
                 ["W after training"], id="q7-random-start"),
    pytest.param("q7", KERAS_LINEAR.format(start=SET_START, optimizer=SGD, loss='"mae"',
                                           fit=FULL_BATCH), ["W after training"], id="q7-mae"),
]


test_a_classic_wrong_answer_fails_with_a_hint = harness.wrong_answer_test(QUESTIONS, WRONG_ANSWERS)


CORRECT_VARIANTS = [
    pytest.param("q2", """
        def collapse(layers):
            W, b = layers[0]
            for next_W, next_b in layers[1:]:
                W = tf.matmul(W, next_W)
                b = tf.linalg.matvec(next_W, b, transpose_a=True) + next_b
            return W, b
        """, id="q2-tensorflow"),
    pytest.param("q2", """
        def collapse(layers):
            W = np.eye(np.shape(layers[0][0])[0])
            b = np.zeros(np.shape(layers[0][0])[0])
            for next_W, next_b in layers:
                W, b = W @ np.asarray(next_W), b @ np.asarray(next_W) + np.asarray(next_b)
            return W, b
        """, id="q2-from-the-identity"),
    pytest.param("q3", SAFE_RATE.format(
        columns=WITH_ONES, hessian="None",
        limit="len(inputs) / np.linalg.svd(columns, compute_uv=False).max() ** 2"),
        id="q3-singular-values"),
    pytest.param("q3", """
        def largest_safe_learning_rate(inputs):
            x = tf.concat([tf.cast(inputs, tf.float64), tf.ones((len(inputs), 1), tf.float64)], axis=1)
            hessian = 2 * tf.matmul(x, x, transpose_a=True) / len(inputs)
            return float(2 / tf.reduce_max(tf.linalg.eigvalsh(hessian)))
        """, id="q3-tensorflow"),
    pytest.param("q4", """
        def batch_indices(num_samples, batch_size, rng):
            order = np.arange(num_samples)
            rng.shuffle(order)
            batches = []
            while len(order):
                batches.append(order[:batch_size])
                order = order[batch_size:]
            return batches
        """, id="q4-shuffle-in-place"),
    pytest.param("q5", LINEAR_CLASSIFIER.format(targets="labels[:, None]", predictions="inputs @ W + b"),
                 id="q5-new-axis"),
    pytest.param("q5", LINEAR_CLASSIFIER.format(targets="labels",
                                                predictions="tf.squeeze(inputs @ W + b, axis=1)"),
                 id="q5-flat-predictions"),
    pytest.param("q6", IN_BATCHES.format(loss="tf.reduce_sum(errors) / len(chosen)",
                                         rate="learning_rate"), id="q6-sum-over-count"),
    pytest.param("q6", IN_BATCHES.format(loss="tf.reduce_sum(errors)",
                                         rate="learning_rate / len(chosen)"), id="q6-rate-over-count"),
    pytest.param("q6", IN_BATCHES.format(
        loss="tf.reduce_mean(keras.losses.mean_squared_error(targets[chosen], inputs[chosen] @ W + b))",
        rate="learning_rate"), id="q6-keras-loss"),
    pytest.param("q7", KERAS_LINEAR.format(start=SET_START, optimizer=SGD,
                                           loss="keras.losses.MeanSquaredError()",
                                           fit=FULL_BATCH + ", shuffle=False"), id="q7-loss-object"),
    pytest.param("q7", KERAS_LINEAR.format(
        start='model.layers[0].set_weights([np.full((num_features, 1), 0.5), np.zeros(1)])',
        optimizer='keras.optimizers.SGD(learning_rate)', loss='"mean_squared_error"',
        fit=", batch_size=inputs.shape[0]"), id="q7-layer-weights"),
]


@pytest.mark.parametrize(("question", "answer"), CORRECT_VARIANTS)
def test_a_correct_variant_passes_every_check(question, answer, source_cells, given_namespace):
    _, check = QUESTIONS[question]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        harness.run_answer(given_namespace, answer, source_cells[check]["source"])
    assert "ok:" in printed.getvalue()


test_the_student_version_has_stubs_that_fail_with_a_hint = harness.stubs_test(RELEASE, QUESTIONS)
