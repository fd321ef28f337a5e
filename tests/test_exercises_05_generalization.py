"""Chapter 05's exercises. The find-the-bug cells show their bug: an unshuffled holdout split
whose validation set holds a single class, and standardization statistics that leak the test
rows into the training data.

The checks every chapter shares (solutions, classic wrong answers, the student version's stubs)
are built by tests/exercise_harness.py.
"""

from __future__ import annotations

import pytest

from tests import exercise_harness as harness

ASSIGNMENT = "05_generalization"
SOURCE, RELEASE = harness.notebook_paths(ASSIGNMENT)

#: Locked cells that define what the questions use, in notebook order.
GIVEN = ("setup", "imports", "q3_data", "q3_buggy", "q4_data", "q4_buggy", "q6_data")
#: question -> (answer cell, check cell)
QUESTIONS = harness.questions("q1_k_fold_indices", "q2_majority_baseline", "q3_holdout_split",
                              "q4_standardize_split", "q5_regularized_model", "q6_early_stopping")


source_cells = harness.source_cells_fixture(SOURCE)
given_namespace = harness.given_namespace_fixture(GIVEN)


test_the_assignment_has_the_required_parts = harness.required_parts_test(
    SOURCE, QUESTIONS, "q7_written", ["q3_buggy", "q4_buggy"])


test_the_solution_passes_its_checks_and_hidden_tests = harness.solution_test(QUESTIONS)


def test_the_find_the_bug_cells_show_their_bug(source_cells, given_namespace, capsys):
    scope = dict(given_namespace)
    capsys.readouterr()
    exec(source_cells["q3_symptom"]["source"], scope)
    one_class = capsys.readouterr().out
    assert "classes in the validation set: [1]" in one_class
    assert "in the validation set: 100%" in one_class
    exec(source_cells["q4_symptom"]["source"], scope)
    leaked = capsys.readouterr().out
    assert "the training data changes when only the test rows change: True" in leaked


def test_the_noise_model_overfits_so_early_stopping_has_something_to_stop(given_namespace):
    """Question 6 relies on a validation loss that rises after a few epochs."""
    scope = dict(given_namespace)
    model = scope["make_noise_model"]()
    history = model.fit(*scope["noise_train"], epochs=15, batch_size=32, verbose=0,
                        validation_data=scope["noise_val"])
    val_loss = history.history["val_loss"]
    best = val_loss.index(min(val_loss))
    assert best < 8 and val_loss[-1] > min(val_loss) * 1.2, val_loss


# Wrong answers that differ only in the callback's arguments share a template.
EARLY_STOPPING = """
    def train_with_early_stopping(model, train_data, val_data, max_epochs=50, patience=2):
        stopper = keras.callbacks.EarlyStopping({arguments})
        return model.fit(*train_data, epochs=max_epochs, batch_size=32, verbose=0,
                         validation_data=val_data, callbacks=[stopper])
    """

WRONG_ANSWERS = [
    pytest.param("q1", """
        def k_fold_indices(num_samples, k):
            size = num_samples // k
            return [(np.concatenate([np.arange(0, i * size), np.arange((i + 1) * size, num_samples)]),
                     np.arange(i * size, (i + 1) * size)) for i in range(k)]
        """, ["expected 4, found 3", "10 % 3 folds one extra sample"], id="q1-drops-the-remainder"),
    pytest.param("q1", """
        def k_fold_indices(num_samples, k):
            sizes = [num_samples // k + (i < num_samples % k) for i in range(k)]
            starts = np.cumsum([0] + sizes[:-1])
            return [(np.arange(num_samples), np.arange(s, s + n)) for s, n in zip(starts, sizes)]
        """, ["trains on every sample that it does not validate on"], id="q1-trains-on-everything"),
    pytest.param("q2", """
        def majority_baseline(train_labels, test_labels):
            return float(np.mean(test_labels == np.argmax(np.bincount(test_labels))))
        """, ["looking at the test labels is a leak"], id="q2-majority-of-the-test-labels"),
    pytest.param("q2", """
        def majority_baseline(train_labels, test_labels):
            return float(np.max(np.bincount(train_labels)) / len(train_labels))
        """, ["score the rule on the test labels"], id="q2-share-in-the-training-labels"),
    pytest.param("q2", """
        def majority_baseline(train_labels, test_labels):
            return np.mean(test_labels == np.argmax(np.bincount(train_labels)))
        """, ["a Python float"], id="q2-numpy-float"),
    pytest.param("q3", """
        holdout_split = buggy_holdout_split
        """, ["the classes in the validation set", "rng.permutation"], id="q3-the-bug"),
    pytest.param("q3", """
        def holdout_split(inputs, labels, validation_fraction, rng):
            n = int(len(inputs) * validation_fraction)
            x, y = inputs[rng.permutation(len(inputs))], labels[rng.permutation(len(labels))]
            return x[n:], y[n:], x[:n], y[:n]
        """, ["two separate shuffles"], id="q3-inputs-and-labels-shuffled-apart"),
    pytest.param("q4", """
        standardize_split = buggy_standardize_split
        """, ["which is the leak"], id="q4-the-bug"),
    pytest.param("q4", """
        def standardize_split(data, num_train):
            train, test = data[:num_train], data[num_train:]
            return ((train - train.mean(axis=0)) / train.std(axis=0),
                    (test - test.mean(axis=0)) / test.std(axis=0))
        """, ["TRAINING mean and std"], id="q4-test-rows-scaled-with-their-own-statistics"),
    pytest.param("q5", """
        def build_regularized_model(num_words, units=16, l2_factor=0.002, dropout_rate=0.5):
            model = keras.Sequential([keras.Input(shape=(num_words,)),
                                      layers.Dense(units, activation="relu"), layers.Dropout(dropout_rate),
                                      layers.Dense(units, activation="relu"), layers.Dropout(dropout_rate),
                                      layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
            return model
        """, ["expected 2, found 0", "kernel_regularizer=regularizers.l2"], id="q5-no-penalty"),
    pytest.param("q5", """
        def build_regularized_model(num_words, units=16, l2_factor=0.002, dropout_rate=0.5):
            hidden = dict(activation="relu", kernel_regularizer=regularizers.l1(l2_factor))
            model = keras.Sequential([keras.Input(shape=(num_words,)),
                                      layers.Dense(units, **hidden), layers.Dropout(dropout_rate),
                                      layers.Dense(units, **hidden), layers.Dropout(dropout_rate),
                                      layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
            return model
        """, ["use regularizers.l2, not l1"], id="q5-l1-penalty"),
    pytest.param("q5", """
        def build_regularized_model(num_words, units=16, l2_factor=0.002, dropout_rate=0.5):
            hidden = dict(activation="relu", kernel_regularizer=regularizers.l2(l2_factor))
            model = keras.Sequential([keras.Input(shape=(num_words,)), layers.Dense(units, **hidden),
                                      layers.Dense(units, **hidden), layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
            return model
        """, ["expected layers Dense, Dropout, Dense, Dropout, Dense"], id="q5-no-dropout"),
    pytest.param("q6", EARLY_STOPPING.format(arguments='monitor="val_loss", patience=patience'),
                 ["restore_best_weights=True"], id="q6-last-weights-kept"),
    pytest.param("q6", EARLY_STOPPING.format(
        arguments='monitor="loss", patience=patience, restore_best_weights=True'),
        ["the epochs run", "monitor='val_loss'"], id="q6-monitors-the-training-loss"),
]


test_a_classic_wrong_answer_fails_with_a_hint = harness.wrong_answer_test(QUESTIONS, WRONG_ANSWERS)


test_the_student_version_has_stubs_that_fail_with_a_hint = harness.stubs_test(RELEASE, QUESTIONS)
