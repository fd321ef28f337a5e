"""Chapter 04's exercises. The two find-the-bug cells show their bug: a loss that does not fit the
labels' shape, and test features standardized with the test set's own statistics, so a house's
features depend on which other houses are tested and a house alone turns into nan.

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
QUESTIONS = harness.questions("q1_multi_hot", "q2_review_model", "q3_best_epoch", "q4_topic_model",
                              "q5_prepare_features", "q6_kfold_splits", "q7_price_model")


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


# Wrong answers that differ only in a layer or an argument share a template.
REVIEW_MODEL = """
    def build_review_model(num_words=10000):
        model = keras.Sequential([keras.Input(shape=(num_words,)),
                                  keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(1, activation="{output}")])
        model.compile(optimizer="rmsprop", loss="{loss}", metrics=["accuracy"])
        return model
    """
PRICE_MODEL = """
    def build_price_model(num_features=13):
        model = keras.Sequential([keras.Input(shape=(num_features,)),
                                  keras.layers.Dense(64, activation="relu"),
                                  keras.layers.Dense(64, activation="relu"),
                                  {output}])
        model.compile(optimizer="rmsprop", loss="{loss}", metrics=["mae"])
        return model
    """

WRONG_ANSWERS = [
    pytest.param("q1", """
        def multi_hot(sequences, num_words):
            encoded = np.zeros((len(sequences), num_words), dtype="float32")
            for row, sequence in enumerate(sequences):
                for word in sequence:
                    encoded[row, word] += 1.0
            return encoded
        """, ["occurs twice still gives 1.0"], id="q1-counts"),
    pytest.param("q1", """
        def multi_hot(sequences, num_words):
            encoded = np.zeros((len(sequences), num_words))
            for row, sequence in enumerate(sequences):
                encoded[row, sequence] = 1.0
            return encoded
        """, ["expected dtype float32", "dtype='float32'"], id="q1-float64"),
    pytest.param("q2", REVIEW_MODEL.format(output="softmax", loss="binary_crossentropy"),
                 ["the activations", "softmax over a single unit"], id="q2-softmax-on-one-unit"),
    pytest.param("q2", REVIEW_MODEL.format(output="sigmoid", loss="mse"),
                 ["the loss", "binary_crossentropy"], id="q2-mse"),
    pytest.param("q2", """
        def build_review_model(num_words=10000):
            model = keras.Sequential([keras.Input(shape=(num_words,)),
                                      keras.layers.Dense(16, activation="relu"),
                                      keras.layers.Dense(2, activation="sigmoid")])
            model.compile(optimizer="rmsprop", loss="binary_crossentropy")
            return model
        """, ["expected layers Dense, Dense, Dense"], id="q2-missing-layer"),
    pytest.param("q3", """
        def best_epoch(history):
            return int(np.argmin(history["val_loss"]))
        """, ["counts epochs from 1"], id="q3-zero-based"),
    pytest.param("q3", """
        def best_epoch(history):
            return int(np.argmin(history["loss"])) + 1
        """, ["read the validation loss"], id="q3-training-loss"),
    pytest.param("q4", """
        build_topic_model = buggy_build_topic_model
        """, ["the loss", "sparse_categorical_crossentropy"], id="q4-the-bug"),
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
    pytest.param("q5", """
        prepare_features = buggy_prepare_features
        """, ["training features only"], id="q5-the-bug"),
    pytest.param("q5", """
        def prepare_features(train_features, test_features):
            both = np.vstack([train_features, test_features])
            mean, std = both.mean(axis=0), both.std(axis=0)
            return (train_features - mean) / std, (test_features - mean) / std
        """, ["together still let the test data in"], id="q5-pooled-statistics"),
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
    pytest.param("q7", PRICE_MODEL.format(output='keras.layers.Dense(1, activation="sigmoid")',
                                          loss="mse"),
                 ["the activations", "squeezes prices"], id="q7-sigmoid-output"),
    pytest.param("q7", PRICE_MODEL.format(output="keras.layers.Dense(1)", loss="binary_crossentropy"),
                 ["mean squared error", "loss='mse'"], id="q7-classification-loss"),
]


test_a_classic_wrong_answer_fails_with_a_hint = harness.wrong_answer_test(QUESTIONS, WRONG_ANSWERS)


test_the_student_version_has_stubs_that_fail_with_a_hint = harness.stubs_test(RELEASE, QUESTIONS)
