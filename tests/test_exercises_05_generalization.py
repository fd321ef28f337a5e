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
QUESTIONS = harness.questions("q1_group_k_fold", "q2_constant_baseline", "q3_holdout_split",
                              "q4_standardize_split", "q5_regularized_model", "q6_early_stopping",
                              "q7_signal_ceiling", "q8_read_curves")


source_cells = harness.source_cells_fixture(SOURCE)
given_namespace = harness.given_namespace_fixture(GIVEN)


test_the_assignment_has_the_required_parts = harness.required_parts_test(
    SOURCE, QUESTIONS, "q9_written", ["q3_buggy", "q4_buggy"])


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
        def group_k_fold(groups, k):
            n = len(groups)
            sizes = [n // k + (i < n % k) for i in range(k)]
            starts = np.cumsum([0] + sizes[:-1])
            return [(np.setdiff1d(np.arange(n), np.arange(s, s + m)), np.arange(s, s + m))
                    for s, m in zip(starts, sizes)]
        """, ["the validation samples of each fold", "np.unique"], id="q1-plain-k-fold-on-samples"),
    pytest.param("q1", """
        def group_k_fold(groups, k):
            patients = np.unique(groups)
            size = len(patients) // k
            folds = []
            for i in range(k):
                held = np.isin(groups, patients[i * size:(i + 1) * size])
                folds.append((np.flatnonzero(~held), np.flatnonzero(held)))
            return folds
        """, ["patients per fold", "one patient more"], id="q1-drops-the-remainder"),
    pytest.param("q1", """
        def group_k_fold(groups, k):
            folds = []
            for part in np.array_split(np.unique(groups), k):
                held = np.isin(groups, part)
                folds.append((np.flatnonzero(~held), np.argsort(~held, kind="stable")[:held.sum()][::-1]))
            return folds
        """, ["increasing order"], id="q1-validation-indices-out-of-order"),
    pytest.param("q2", """
        def constant_baseline_mae(train_targets, test_targets):
            return float(np.mean(np.abs(test_targets - np.mean(train_targets))))
        """, ["training mean", "Which constant"], id="q2-mean-instead-of-median"),
    pytest.param("q2", """
        def constant_baseline_mae(train_targets, test_targets):
            return float(np.mean(np.abs(test_targets - np.median(test_targets))))
        """, ["looking at the test targets is a leak"], id="q2-constant-from-the-test-targets"),
    pytest.param("q2", """
        def constant_baseline_mae(train_targets, test_targets):
            return np.mean(np.abs(test_targets - np.median(train_targets)))
        """, ["a Python float"], id="q2-numpy-float"),
    pytest.param("q3", """
        holdout_split = buggy_holdout_split
        """, ["the classes in the validation set", "single class"], id="q3-the-bug"),
    pytest.param("q3", """
        def holdout_split(inputs, labels, validation_fraction, rng):
            n = int(len(inputs) * validation_fraction)
            x, y = inputs[rng.permutation(len(inputs))], labels[rng.permutation(len(labels))]
            return x[n:], y[n:], x[:n], y[:n]
        """, ["must change together"], id="q3-inputs-and-labels-shuffled-apart"),
    pytest.param("q3", """
        def holdout_split(inputs, labels, validation_fraction, rng):
            order = np.random.default_rng(0).permutation(len(inputs))
            n = int(len(inputs) * validation_fraction)
            return inputs[order[n:]], labels[order[n:]], inputs[order[:n]], labels[order[:n]]
        """, ["two calls with the same generator"], id="q3-ignores-the-generator"),
    pytest.param("q4", """
        standardize_split = buggy_standardize_split
        """, ["still changes when only the test rows change"], id="q4-the-bug"),
    pytest.param("q4", """
        def standardize_split(data, num_train):
            train, test = data[:num_train], data[num_train:]
            return ((train - train.mean(axis=0)) / train.std(axis=0),
                    (test - test.mean(axis=0)) / test.std(axis=0))
        """, ["depend on the other test rows"], id="q4-test-rows-scaled-with-their-own-statistics"),
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
    pytest.param("q7", """
        def signal_ceiling(noisy_share, num_classes):
            return float(1 - noisy_share)
        """, ["a random class can be the right one"], id="q7-forgets-the-lucky-draws"),
    pytest.param("q7", """
        def signal_ceiling(noisy_share, num_classes):
            return float(1 - noisy_share + noisy_share / (num_classes - 1))
        """, ["expected 0.7"], id="q7-draws-among-the-other-classes"),
    pytest.param("q7", """
        def signal_ceiling(noisy_share, num_classes):
            return float(noisy_share / num_classes)
        """, ["untouched labels are right too"], id="q7-only-the-lucky-share"),
    pytest.param("q8", """
        def read_curves(history):
            best = int(np.argmin(history["val_loss"]))
            return best, bool(history["val_loss"][-1] > 1.1 * history["val_loss"][best])
        """, ["Keras counts epochs from 1"], id="q8-epochs-counted-from-0"),
    pytest.param("q8", """
        def read_curves(history):
            best = int(np.argmin(history["loss"]))
            return best + 1, bool(history["val_loss"][-1] > 1.1 * min(history["val_loss"]))
        """, ["which list says how the model does on new data"], id="q8-best-epoch-of-the-training-loss"),
    pytest.param("q8", """
        def read_curves(history):
            best = int(np.argmin(history["val_loss"]))
            return best + 1, bool(history["val_loss"][-1] > history["val_loss"][best])
        """, ["more than 10% above"], id="q8-any-rise-counts"),
    pytest.param("q8", """
        def read_curves(history):
            best = int(np.argmin(history["val_loss"]))
            return best + 1, bool(history["val_loss"][-1] > 1.1 * history["val_loss"][best])
        """, ["a training loss that rose too", "still falls"], id="q8-ignores-the-training-loss"),
]


test_a_classic_wrong_answer_fails_with_a_hint = harness.wrong_answer_test(QUESTIONS, WRONG_ANSWERS)


test_the_student_version_has_stubs_that_fail_with_a_hint = harness.stubs_test(RELEASE, QUESTIONS)


#: Correct answers written differently from the instructor's: each must pass its whole check cell.
CORRECT_VARIANTS = [
    pytest.param("q1", """
        def group_k_fold(groups, k):
            patients = sorted(set(groups.tolist()))
            sizes = [len(patients) // k + (i < len(patients) % k) for i in range(k)]
            folds, start = [], 0
            for size in sizes:
                mine = set(patients[start:start + size])
                start += size
                validation = np.array([i for i, g in enumerate(groups) if g in mine], dtype=int)
                train = np.array([i for i, g in enumerate(groups) if g not in mine], dtype=int)
                folds.append((train, validation))
            return folds
        """, id="q1-loops-over-sets"),
    pytest.param("q2", """
        def constant_baseline_mae(train_targets, test_targets):
            return float(np.abs(np.asarray(test_targets) - np.percentile(train_targets, 50)).mean())
        """, id="q2-percentile-50"),
    pytest.param("q3", """
        def holdout_split(inputs, labels, validation_fraction, rng):
            n = int(len(inputs) * validation_fraction)
            held = rng.choice(len(inputs), size=n, replace=False)
            kept = np.setdiff1d(np.arange(len(inputs)), held)
            return inputs[kept], labels[kept], inputs[held], labels[held]
        """, id="q3-rng-choice"),
    pytest.param("q3", """
        def holdout_split(inputs, labels, validation_fraction, rng):
            order = rng.permutation(len(inputs))
            n = int(len(inputs) * validation_fraction)
            return inputs[order[:-n]], labels[order[:-n]], inputs[order[-n:]], labels[order[-n:]]
        """, id="q3-validation-from-the-end-of-the-permutation"),
    pytest.param("q4", """
        def standardize_split(data, num_train):
            mean = np.mean(data[:num_train], axis=0, keepdims=True)
            std = np.sqrt(np.mean((data[:num_train] - mean) ** 2, axis=0, keepdims=True))
            return (data[:num_train] - mean) / std, (data[num_train:] - mean) / std
        """, id="q4-by-hand"),
    pytest.param("q5", """
        def build_regularized_model(num_words, units=16, l2_factor=0.002, dropout_rate=0.5):
            model = keras.Sequential([keras.Input(shape=(num_words,))])
            for _ in range(2):
                model.add(layers.Dense(units, activation="relu", kernel_regularizer=regularizers.L2(l2_factor)))
                model.add(layers.Dropout(dropout_rate))
            model.add(layers.Dense(1, activation="sigmoid"))
            model.compile(optimizer=keras.optimizers.RMSprop(), loss=keras.losses.BinaryCrossentropy(),
                          metrics=["accuracy"])
            return model
        """, id="q5-add-and-objects"),
    pytest.param("q6", EARLY_STOPPING.format(arguments="patience=patience, restore_best_weights=True"),
                 id="q6-default-monitor-is-val-loss"),
    pytest.param("q7", """
        def signal_ceiling(noisy_share, num_classes):
            return 1.0 - noisy_share * (num_classes - 1) / num_classes
        """, id="q7-one-minus-the-wrong-share"),
    pytest.param("q8", """
        def read_curves(history):
            val_loss, loss = history["val_loss"], history["loss"]
            best = val_loss.index(min(val_loss))
            return best + 1, val_loss[-1] > 1.1 * val_loss[best] and loss[-1] < loss[best]
        """, id="q8-plain-lists"),
]


@pytest.mark.parametrize(("question", "answer"), CORRECT_VARIANTS)
def test_a_correct_variant_passes_every_check(question, answer, source_cells, given_namespace):
    _, check = QUESTIONS[question]
    harness.run_answer(given_namespace, answer, harness.cell_source(source_cells[check]))
