"""Chapter 04's exercises. The two find-the-bug cells show their bug: a loss that does not fit the
labels' shape, and test features standardized with the test set's own statistics, so a house's
features depend on which other houses are tested and a house alone turns into nan.

Each question has a table of plausible wrong answers that must fail with a hint (WRONG_ANSWERS) and
of correct variants that must pass every check, hidden tests included (CORRECT_VARIANTS).

The checks every chapter shares (solutions, classic wrong answers, the student version's stubs)
are built by tests/exercise_harness.py.
"""

from __future__ import annotations

import pytest

from tests import exercise_harness as harness

ASSIGNMENT = "04_first_networks"
SOURCE, RELEASE = harness.notebook_paths(ASSIGNMENT)

#: Locked cells that define what the questions use, in notebook order.
GIVEN = ("setup", "imports", "q4_data", "q4_buggy", "q5_data", "q5_buggy")
#: question -> (answer cell, check cell)
QUESTIONS = harness.questions("q1_count_words", "q2_multitopic_model", "q3_best_epoch",
                              "q4_topic_model", "q5_prepare_features", "q6_kfold_splits",
                              "q7_temperature_model")


source_cells = harness.source_cells_fixture(SOURCE)
given_namespace = harness.given_namespace_fixture(GIVEN)


test_the_assignment_has_the_required_parts = harness.required_parts_test(
    SOURCE, QUESTIONS, "q8_written", ["q4_buggy", "q5_buggy"])


test_the_solution_passes_its_checks_and_hidden_tests = harness.solution_test(QUESTIONS)


def test_the_find_the_bug_cells_show_their_bug(source_cells, given_namespace, capsys):
    scope = dict(given_namespace)
    capsys.readouterr()
    exec(source_cells["q4_buggy"]["source"], scope)
    wrong_loss = capsys.readouterr().out
    assert "ValueError:" in wrong_loss and "same rank" in wrong_loss, wrong_loss
    exec(source_cells["q5_buggy"]["source"], scope)
    lines = capsys.readouterr().out.splitlines()
    among_five, with_one_other, alone = (line.split(":", 1)[1].strip() for line in lines[-3:])
    assert among_five != with_one_other, lines
    assert alone.count("nan") == 3, lines


# Answers that differ only in a layer or an argument share a template.
MULTITOPIC_MODEL = """
    def build_multitopic_model(num_words, num_topics):
        model = keras.Sequential([keras.Input(shape=(num_words,)),
                                  keras.layers.Dense(64, activation="relu"),
                                  keras.layers.Dense(64, activation="relu"),
                                  keras.layers.Dense(num_topics, activation="{output}")])
        model.compile(optimizer="rmsprop", loss={loss}{metrics})
        return model
    """
TEMPERATURE_MODEL = """
    def build_temperature_model(num_features):
        model = keras.Sequential([keras.Input(shape=(num_features,)),
                                  keras.layers.Dense(64, activation="relu"),
                                  keras.layers.Dense(64, activation="relu"),
                                  {output}])
        model.compile(optimizer="rmsprop", loss={loss}, metrics=["mae"])
        return model
    """
PREPARE = """
    def prepare_features(train_features, test_features):
        mean, std = {statistics}
        return (train_features - mean) / std, (test_features - mean) / std
    """

WRONG_ANSWERS = [
    pytest.param("q1", """
        def count_words(sequences, num_words):
            counts = np.zeros((len(sequences), num_words), dtype="float32")
            for row, sequence in enumerate(sequences):
                kept = [index for index in sequence if index > 2]
                counts[row, kept] += 1.0
            return counts
        """, ["must count 2", "np.add.at"], id="q1-fancy-index-adds-once"),
    pytest.param("q1", """
        def count_words(sequences, num_words):
            counts = np.zeros((len(sequences), num_words), dtype="float32")
            for row, sequence in enumerate(sequences):
                np.add.at(counts[row], sequence, 1.0)
            return counts
        """, ["reserved indices 0, 1 and 2"], id="q1-counts-the-reserved-indices"),
    pytest.param("q1", """
        def count_words(sequences, num_words):
            counts = np.zeros((len(sequences), num_words))
            for row, sequence in enumerate(sequences):
                for index in sequence:
                    if index > 2:
                        counts[row, index] += 1
            return counts
        """, ["expected dtype float32", "dtype='float32'"], id="q1-float64"),
    pytest.param("q1", """
        def count_words(sequences, num_words):
            counts = np.zeros((len(sequences), num_words), dtype="float32")
            for row, sequence in enumerate(sequences):
                for index in sequence:
                    if index > 3:
                        counts[row, index] += 1.0
            return counts
        """, ["skip the indices 0, 1 and 2"], id="q1-skips-index-3-too"),
    pytest.param("q2", MULTITOPIC_MODEL.format(output="softmax", loss='"categorical_crossentropy"',
                                               metrics=""),
                 ["the activation of the last layer", "sum to 1"], id="q2-single-label-habit"),
    pytest.param("q2", MULTITOPIC_MODEL.format(output="sigmoid", loss='"categorical_crossentropy"',
                                               metrics=""),
                 ["the loss", "two-class question"], id="q2-sigmoid-with-categorical-loss"),
    pytest.param("q2", MULTITOPIC_MODEL.format(output="softmax", loss='"binary_crossentropy"',
                                               metrics=""),
                 ["the activation of the last layer", "compete"], id="q2-softmax-with-binary-loss"),
    pytest.param("q2", """
        def build_multitopic_model(num_words, num_topics):
            model = keras.Sequential([keras.Input(shape=(num_words,)),
                                      keras.layers.Dense(64, activation="relu"),
                                      keras.layers.Dense(64, activation="relu"),
                                      keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="rmsprop", loss="binary_crossentropy")
            return model
        """, ["expected output shape (None, 5)", "one unit per topic"], id="q2-one-output-unit"),
    pytest.param("q3", """
        def best_epoch(history):
            return int(np.argmin(history["val_loss"]))
        """, ["counts epochs from 1"], id="q3-zero-based"),
    pytest.param("q3", """
        def best_epoch(history):
            return int(np.argmin(history["loss"])) + 1
        """, ["read the validation loss"], id="q3-training-loss"),
    pytest.param("q3", """
        def best_epoch(history):
            losses = history["val_loss"]
            return len(losses) - int(np.argmin(losses[::-1]))
        """, ["return the earlier one"], id="q3-later-of-two-ties"),
    pytest.param("q4", """
        build_topic_model = buggy_build_topic_model
        """, ["fit on the integer labels", "shape of the labels"], id="q4-the-bug"),
    pytest.param("q4", """
        def build_topic_model(num_words, num_classes):
            model = keras.Sequential([keras.Input(shape=(num_words,)),
                                      keras.layers.Dense(32, activation="relu"),
                                      keras.layers.Dense(32, activation="relu"),
                                      keras.layers.Dense(num_classes, activation="sigmoid")])
            model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
            return model
        """, ["the activations", "keep the softmax"], id="q4-sigmoid"),
    pytest.param("q4", """
        def build_topic_model(num_words, num_classes):
            model = keras.Sequential([keras.Input(shape=(num_words,)),
                                      keras.layers.Dense(32, activation="relu"),
                                      keras.layers.Dense(32, activation="relu"),
                                      keras.layers.Dense(1, activation="relu")])
            model.compile(optimizer="rmsprop", loss="mse", metrics=["accuracy"])
            return model
        """, ["expected output shape (None, 6)"], id="q4-one-output-for-the-integer"),
    pytest.param("q5", """
        prepare_features = buggy_prepare_features
        """, ["which other test houses"], id="q5-the-bug"),
    pytest.param("q5", PREPARE.format(
        statistics="np.vstack([train_features, test_features]).mean(axis=0), "
                   "np.vstack([train_features, test_features]).std(axis=0)"),
        ["together still let the test data in"], id="q5-pooled-statistics"),
    pytest.param("q5", PREPARE.format(
        statistics="np.vstack([train_features, test_features]).mean(axis=0), "
                   "np.vstack([train_features, test_features]).std(axis=0, ddof=1)"),
        ["together still let the test data in"], id="q5-pooled-statistics-ddof-1"),
    pytest.param("q5", """
        def prepare_features(train_features, test_features):
            mean, std = train_features.mean(axis=0), train_features.std(axis=0)
            return (train_features - mean) / std, (test_features - test_features.mean(axis=0)) / std
        """, ["which other test houses"], id="q5-test-mean-only"),
    pytest.param("q5", PREPARE.format(statistics="train_features.mean(), train_features.std()"),
                 ["x_test of prepare_features"], id="q5-one-statistic-for-all-features"),
    pytest.param("q6", """
        def kfold_splits(num_samples, k):
            edges = np.linspace(0, num_samples, k + 1).astype(int)
            return [(np.arange(num_samples), np.arange(start, stop))
                    for start, stop in zip(edges[:-1], edges[1:])]
        """, ["never on the fold itself"], id="q6-trains-on-the-fold"),
    pytest.param("q6", """
        def kfold_splits(num_samples, k):
            size = num_samples // k
            return [(np.concatenate([np.arange(0, i * size), np.arange((i + 1) * size, num_samples)]),
                     np.arange(i * size, (i + 1) * size)) for i in range(k)]
        """, ["np.linspace(0, 10, 4)"], id="q6-drops-the-remainder"),
    pytest.param("q7", TEMPERATURE_MODEL.format(output='keras.layers.Dense(2, activation="relu")',
                                                loss='"mse"'),
                 ["the activation of the last layer", "below 0"], id="q7-relu-output"),
    pytest.param("q7", TEMPERATURE_MODEL.format(output='keras.layers.Dense(2, activation="sigmoid")',
                                                loss='"mse"'),
                 ["the activation of the last layer", "sigmoid squeezes"], id="q7-sigmoid-output"),
    pytest.param("q7", TEMPERATURE_MODEL.format(output="keras.layers.Dense(1)", loss='"mse"'),
                 ["expected output shape (None, 2)"], id="q7-one-temperature"),
    pytest.param("q7", TEMPERATURE_MODEL.format(output="keras.layers.Dense(2)",
                                                loss='"binary_crossentropy"'),
                 ["mean squared error"], id="q7-classification-loss"),
]


test_a_classic_wrong_answer_fails_with_a_hint = harness.wrong_answer_test(QUESTIONS, WRONG_ANSWERS)


CORRECT_VARIANTS = [
    pytest.param("q1", """
        def count_words(sequences, num_words):
            counts = np.zeros((len(sequences), num_words), dtype=np.float32)
            for row, sequence in enumerate(sequences):
                np.add.at(counts[row], [index for index in sequence if index > 2], 1)
            return counts
        """, id="q1-np-add-at"),
    pytest.param("q1", """
        def count_words(sequences, num_words):
            rows = [np.bincount(np.asarray(sequence, dtype=int), minlength=num_words)
                    for sequence in sequences]
            counts = np.array(rows, dtype="float32").reshape(len(sequences), num_words)
            counts[:, :3] = 0
            return counts
        """, id="q1-bincount"),
    pytest.param("q2", MULTITOPIC_MODEL.format(output="sigmoid",
                                               loss="keras.losses.BinaryCrossentropy()",
                                               metrics=', metrics=["binary_accuracy"]'),
                 id="q2-loss-object-and-metric"),
    pytest.param("q2", """
        from keras import layers
        def build_multitopic_model(num_words, num_topics):
            model = keras.Sequential()
            model.add(keras.Input(shape=(num_words,)))
            model.add(layers.Dense(64, activation="relu"))
            model.add(layers.Dense(64, activation="relu"))
            model.add(layers.Dense(num_topics, activation=keras.activations.sigmoid))
            model.compile(optimizer=keras.optimizers.RMSprop(), loss=keras.losses.binary_crossentropy)
            return model
        """, id="q2-add-and-function-objects"),
    pytest.param("q3", """
        def best_epoch(history):
            losses = history["val_loss"]
            return losses.index(min(losses)) + 1
        """, id="q3-list-index"),
    pytest.param("q4", """
        def build_topic_model(num_words, num_classes):
            model = keras.Sequential([keras.Input(shape=(num_words,)),
                                      keras.layers.Dense(32, activation="relu"),
                                      keras.layers.Dense(32, activation="relu"),
                                      keras.layers.Dense(num_classes, activation="softmax")])
            model.compile(optimizer="rmsprop", loss=keras.losses.SparseCategoricalCrossentropy(),
                          metrics=["accuracy"])
            return model
        """, id="q4-loss-object"),
    pytest.param("q5", PREPARE.format(
        statistics="train_features.mean(axis=0), train_features.std(axis=0, ddof=1)"),
        id="q5-sample-std-ddof-1"),
    pytest.param("q5", PREPARE.format(
        statistics="np.mean(train_features, axis=0), np.std(train_features, axis=0)"),
        id="q5-numpy-functions"),
    pytest.param("q6", """
        def kfold_splits(num_samples, k):
            edges = np.linspace(0, num_samples, k + 1).astype(int)
            return [(np.concatenate([np.arange(0, start), np.arange(stop, num_samples)]),
                     np.arange(start, stop)) for start, stop in zip(edges[:-1], edges[1:])]
        """, id="q6-concatenate"),
    pytest.param("q7", TEMPERATURE_MODEL.format(output='keras.layers.Dense(2, activation="linear")',
                                                loss="keras.losses.MeanSquaredError()"),
                 id="q7-explicit-linear-and-loss-object"),
    pytest.param("q7", TEMPERATURE_MODEL.format(output="keras.layers.Dense(2)",
                                                loss='"mean_squared_error"'),
                 id="q7-long-loss-name"),
]


@pytest.mark.parametrize(("question", "answer"), CORRECT_VARIANTS)
def test_a_correct_variant_passes_every_check(question, answer, source_cells, given_namespace,
                                              capsys):
    _, check = QUESTIONS[question]
    harness.run_answer(given_namespace, answer, harness.cell_source(source_cells[check]))
    assert "ok:" in capsys.readouterr().out


test_the_student_version_has_stubs_that_fail_with_a_hint = harness.stubs_test(RELEASE, QUESTIONS)
