"""Chapter 03's exercises. The find-the-bug cells show their bug: a training loop whose loss
stalls near 0.25 at chance accuracy, and a training step whose gradients are None because the
loss was computed outside the tape.

The checks every chapter shares (solutions, classic wrong answers, the student version's stubs)
are built by tests/exercise_harness.py.
"""

from __future__ import annotations

import pytest

from tests import exercise_harness as harness

ASSIGNMENT = "03_linear_classifier"
SOURCE, RELEASE = harness.notebook_paths(ASSIGNMENT)

#: Locked cells that define what the questions use, in notebook order.
GIVEN = ("setup", "imports", "q5_data", "q5_buggy", "q6_given_dense", "q6_given_sequential",
         "q6_data", "q6_buggy")
#: question -> (answer cell, check cell)
QUESTIONS = harness.questions("q1_make_clouds", "q2_sparse_crossentropy", "q3_decision_line",
                              "q4_batch_indices", "q5_train_linear_classifier",
                              "q6_one_training_step", "q7_keras_twin")


source_cells = harness.source_cells_fixture(SOURCE)
given_namespace = harness.given_namespace_fixture(GIVEN)


test_the_assignment_has_the_required_parts = harness.required_parts_test(
    SOURCE, QUESTIONS, "q8_written", ["q5_buggy", "q6_buggy"])


test_the_solution_passes_its_checks_and_hidden_tests = harness.solution_test(QUESTIONS)


def test_the_find_the_bug_cells_show_their_bug(source_cells, given_namespace, capsys):
    scope = dict(given_namespace)
    capsys.readouterr()
    exec(source_cells["q5_symptom"]["source"], scope)
    stalled = capsys.readouterr().out
    final_loss = float(stalled.split(" at the start, ")[1].split()[0])
    accuracy = float(stalled.split("accuracy: ")[1].split("%")[0])
    assert abs(final_loss - 0.25) < 0.02 and 40 < accuracy < 60, stalled
    exec(source_cells["q6_buggy"]["source"], scope)
    outside_the_tape = capsys.readouterr().out
    assert "TypeError:" in outside_the_tape and "NoneType" in outside_the_tape


# Wrong answers that differ only in a line or an argument share a template.
MAKE_CLOUDS = """
    def make_clouds(num_points, mean_0, mean_1, covariance, seed=0):
        rng = np.random.default_rng(seed)
        inputs = np.vstack([rng.multivariate_normal(mean_0, covariance, size=num_points),
                            rng.multivariate_normal(mean_1, covariance, size=num_points)])
        return {returned}
    """
KERAS_TWIN = """
    def build_keras_twin(hidden_units=512, num_classes=10):
        model = keras.Sequential([keras.layers.Dense(hidden_units, activation="relu"),
                                  {output}])
        model.compile(optimizer="{optimizer}", loss="{loss}")
        return model
    """
SOFTMAX_OUTPUT = 'keras.layers.Dense(num_classes, activation="softmax")'

WRONG_ANSWERS = [
    pytest.param("q1", MAKE_CLOUDS.format(
        returned='inputs, np.repeat([[0.0], [1.0]], num_points, axis=0).astype("float32")'),
        ["expected dtype float32, found float64", "astype('float32')"], id="q1-float64"),
    pytest.param("q1", MAKE_CLOUDS.format(
        returned='inputs.astype("float32"), np.repeat([0.0, 1.0], num_points).astype("float32")'),
        ["expected shape (1000, 1), found (1000,)", "one column"], id="q1-flat-targets"),
    pytest.param("q2", """
        def sparse_crossentropy(labels, probabilities):
            return tf.reduce_mean(tf.math.log(tf.gather(probabilities, labels, batch_dims=1)))
        """, ["MINUS the logarithm"], id="q2-no-minus"),
    pytest.param("q2", """
        def sparse_crossentropy(labels, probabilities):
            return -tf.reduce_mean(tf.math.log(probabilities))
        """, ["only the probability of the right class"], id="q2-every-entry"),
    pytest.param("q3", """
        def decision_line(W, b, threshold=0.5):
            return -float(W[0, 0]) / float(W[1, 0]), -float(b[0]) / float(W[1, 0])
        """, ["not where it equals 0"], id="q3-forgets-threshold"),
    pytest.param("q4", """
        def batch_indices(num_samples, batch_size, rng):
            order = np.arange(num_samples)
            return [order[start:start + batch_size] for start in range(0, num_samples, batch_size)]
        """, ["rng.permutation"], id="q4-no-shuffle"),
    pytest.param("q4", """
        def batch_indices(num_samples, batch_size, rng):
            order = rng.permutation(num_samples)
            return [order[start:start + batch_size]
                    for start in range(0, num_samples - batch_size + 1, batch_size)]
        """, ["the last batch keeps the rest"], id="q4-drops-last-batch"),
    pytest.param("q5", """
        train_linear_classifier = buggy_train_linear_classifier
        """, ["whether the final loss is below 0.1", "labels.shape and predictions.shape"],
        id="q5-the-bug"),
    pytest.param("q5", """
        def train_linear_classifier(inputs, labels, steps=40, learning_rate=0.1):
            return buggy_train_linear_classifier(inputs, tf.cast(labels, tf.float32), steps,
                                                 learning_rate)
        """, ["loss stuck near 0.25"], id="q5-casts-but-keeps-the-shape"),
    pytest.param("q6", """
        one_training_step = buggy_one_training_step
        """, ["raised TypeError", "inside its `with` block"], id="q6-the-bug"),
    pytest.param("q7", KERAS_TWIN.format(output=SOFTMAX_OUTPUT, optimizer="adam",
                                         loss="sparse_categorical_crossentropy"),
                 ["the optimizer", "optimizer='rmsprop'"], id="q7-adam"),
    pytest.param("q7", KERAS_TWIN.format(output="keras.layers.Dense(num_classes)",
                                         optimizer="rmsprop", loss="sparse_categorical_crossentropy"),
                 ["the activations", "activation='softmax'"], id="q7-no-softmax"),
    pytest.param("q7", KERAS_TWIN.format(output=SOFTMAX_OUTPUT, optimizer="rmsprop",
                                         loss="categorical_crossentropy"),
                 ["the loss", "integers"], id="q7-one-hot-loss"),
]


test_a_classic_wrong_answer_fails_with_a_hint = harness.wrong_answer_test(QUESTIONS, WRONG_ANSWERS)


test_the_student_version_has_stubs_that_fail_with_a_hint = harness.stubs_test(RELEASE, QUESTIONS)
