"""Chapter 09's exercises. The find-the-bug cells show their symptom: a recurrent loop whose last
output ignores the first input, and a stack of GRUs that raises an error when built. Their
titles, prompts and visible hints describe only those symptoms, never the bug or its fix.

The checks every chapter shares (solutions, classic wrong answers, the student version's stubs)
are built by tests/exercise_harness.py.
"""

from __future__ import annotations

import textwrap

import pytest

from tests import exercise_harness as harness

ASSIGNMENT = "09_timeseries"
SOURCE, RELEASE = harness.notebook_paths(ASSIGNMENT)

#: Locked cells that define what the questions use, in notebook order.
GIVEN = ("setup", "imports", "q1_data", "q3_data", "q4_data", "q4_buggy", "q5_buggy")
#: question -> (answer cell, check cell)
QUESTIONS = harness.questions("q1_forecast_dataset", "q2_normalize", "q3_naive_mae",
                              "q4_rnn_forward", "q5_stacked_gru", "q6_recurrent_params",
                              "q7_persistence")


source_cells = harness.source_cells_fixture(SOURCE, as_text=True)
given_namespace = harness.given_namespace_fixture(GIVEN)


test_the_assignment_has_the_required_parts = harness.required_parts_test(
    SOURCE, QUESTIONS, "q8_written", ["q4_buggy", "q5_buggy"])


test_the_solution_passes_its_checks_and_hidden_tests = harness.solution_test(
    QUESTIONS, min_ok=3, also=harness.no_check_failed)


def test_the_find_the_bug_cells_show_their_bug(source_cells, capsys):
    scope = harness.run_given(source_cells, GIVEN)
    printed = capsys.readouterr().out
    assert "changing the first input changes the last output: False" in printed, printed
    assert "ValueError:" in printed and "expected ndim=3, found ndim=2" in printed, printed
    # the fixed layer does remember its first input
    scope2 = dict(scope)
    exec(textwrap.dedent(source_cells["q4_answer"]), scope2)
    changed = scope["sequence"].copy()
    changed[0] += 1.0
    fixed = scope2["rnn_forward"]
    args = (scope["W"], scope["U"], scope["b"])
    assert abs(fixed(scope["sequence"], *args)[-1] - fixed(changed, *args)[-1]).max() > 1e-4


# Wrong answers that differ only in a line or an argument share a template.
FORECAST_DATASET = """
    def make_forecast_dataset(data, temperature, sampling_rate, sequence_length, steps_ahead,
                              batch_size):
        delay = sampling_rate * ({steps})
        return keras.utils.timeseries_dataset_from_array(
            data[:-delay], targets=temperature[delay:], {sampling}sequence_length=sequence_length,
            batch_size=batch_size, {shuffling})
    """
SAMPLING = "sampling_rate=sampling_rate, "
NAIVE_MAE = """
    def naive_mae(dataset, mean, std, column):
        errors = [np.abs(w[:, {step}, column].numpy() * std[column] + mean[column] - t.numpy())
                  for w, t in dataset]
        return {result}
    """
RNN_FORWARD = """
    def rnn_forward(inputs, W, U, b):
        state_t = np.zeros((W.shape[0],), dtype=inputs.dtype)
        outputs = []
        for input_t in inputs:
            state_t = {step}
            outputs.append(state_t)
        return np.stack(outputs)
    """

# (question, answer, which check cell must catch it, words the hint must contain)
WRONG_ANSWERS = [
    pytest.param("q1", """
        def make_forecast_dataset(data, temperature, sampling_rate, sequence_length, steps_ahead,
                                  batch_size):
            return keras.utils.timeseries_dataset_from_array(
                data, targets=temperature, sampling_rate=sampling_rate,
                sequence_length=sequence_length, batch_size=batch_size, shuffle=False)
        """, "visible", ["expected 1039, found 1000.0", "pass temperature shifted by the delay"],
        id="q1-targets-not-shifted"),
    pytest.param("q1", FORECAST_DATASET.format(steps="sequence_length + steps_ahead",
                                               sampling=SAMPLING, shuffling="shuffle=False"),
                 "visible", ["found 1042.0", "one step too far",
                             "(sequence_length + steps_ahead - 1)"],
                 id="q1-delay-off-by-one-step"),
    pytest.param("q1", FORECAST_DATASET.format(steps="sequence_length + steps_ahead - 1",
                                               sampling="", shuffling="shuffle=False"),
                 "visible", ["the records in the first window", "every sampling_rate-th record"],
                 id="q1-sampling-rate-forgotten"),
    pytest.param("q1", FORECAST_DATASET.format(steps="sequence_length + steps_ahead - 1",
                                               sampling=SAMPLING, shuffling="shuffle=True, seed=1"),
                 "visible", ["the first window starts at record 0"], id="q1-shuffled"),
    pytest.param("q2", """
        def normalize(data, num_train):
            mean, std = data.mean(axis=0), data.std(axis=0)
            return (data - mean) / std, mean, std
        """, "visible", ["statistics of the whole array", "data[:num_train] only"],
        id="q2-whole-array-statistics"),
    pytest.param("q2", """
        def normalize(data, num_train):
            mean, std = data[:num_train].mean(axis=0), data[:num_train].std(axis=0)
            data -= mean
            data /= std
            return data, mean, std
        """, "visible", ["series after the call", "do not subtract in place"], id="q2-in-place"),
    pytest.param("q2", """
        def normalize(data, num_train):
            mean, std = data[:num_train].mean(axis=0), data[:num_train].std(axis=0)
            return (data[:num_train] - mean) / std, mean, std
        """, "visible", ["normalized column 0", "expected shape (4,), found (3,)",
                         "transform every row"], id="q2-training-rows-only"),
    pytest.param("q3", """
        def naive_mae(dataset, mean, std, column):
            errors = [np.abs(w[:, -1, column].numpy() - t.numpy()) for w, t in dataset]
            return float(np.concatenate(errors).mean())
        """, "visible", ["multiply by std[column] and add mean[column]"], id="q3-not-unnormalized"),
    pytest.param("q3", NAIVE_MAE.format(step="0", result="float(np.concatenate(errors).mean())"),
                 "visible", ["windows[:, -1, column], not its first"], id="q3-first-step"),
    pytest.param("q3", NAIVE_MAE.format(
        step="-1", result="float(np.mean([batch.mean() for batch in errors]))"),
        "visible", ["expected 1.7898319, found 1.79009", "average over windows, not over batches"],
        id="q3-mean-of-batch-means"),
    pytest.param("q3", NAIVE_MAE.format(step="-1", result="np.concatenate(errors).mean()"),
                 "visible", ["the type of the result", "return a Python float"],
                 id="q3-numpy-float"),
    pytest.param("q4", """
        rnn_forward = buggy_rnn_forward
        """, "visible", ["found 0.0", "only the first input reaches the outputs"],
        id="q4-the-bug"),
    pytest.param("q4", RNN_FORWARD.format(step="np.maximum(0, W @ input_t + U @ state_t + b)"),
                 "visible", ["output_t = tanh("], id="q4-relu-instead-of-tanh"),
    pytest.param("q4", RNN_FORWARD.format(step="np.tanh(input_t @ W + state_t @ U + b)"),
                 "visible", ["raised ValueError", "output_t = tanh(W @ input_t"],
                 id="q4-transposed-weights"),
    pytest.param("q5", """
        build_stacked_gru = buggy_build_stacked_gru
        """, "visible", ["raised ValueError", "read which layer complains"],
        id="q5-the-bug"),
    pytest.param("q5", """
        def build_stacked_gru(sequence_length, num_features, units):
            inputs = keras.Input(shape=(sequence_length, num_features))
            x = layers.GRU(units, recurrent_dropout=0.5, return_sequences=True)(inputs)
            x = layers.GRU(units, recurrent_dropout=0.5, return_sequences=True)(x)
            x = layers.Dropout(0.5)(x)
            return keras.Model(inputs, layers.Dense(1)(x))
        """, "visible", ["expected output shape (None, 1), found (None, 120, 1)",
                         "must lose the time axis"], id="q5-both-return-sequences"),
    pytest.param("q5", """
        def build_stacked_gru(sequence_length, num_features, units):
            inputs = keras.Input(shape=(sequence_length, num_features))
            x = layers.GRU(units, return_sequences=True)(inputs)
            x = layers.GRU(units)(x)
            x = layers.Dropout(0.5)(x)
            return keras.Model(inputs, layers.Dense(1)(x))
        """, "hidden", ["recurrent dropout", "recurrent_dropout=0.5 in both"],
        id="q5-no-recurrent-dropout"),
    pytest.param("q6", """
        def recurrent_param_count(kind, input_features, units):
            transforms = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[kind]
            return transforms * units * (input_features + units + 1)
        """, "visible", ["expected 1536, found 1488", "reset_after=True"], id="q6-gru-one-bias"),
    pytest.param("q6", """
        def recurrent_param_count(kind, input_features, units):
            return units * (input_features + units + 1)
        """, "visible", ["expected 1984, found 496", "four transforms"], id="q6-no-gates"),
    pytest.param("q6", """
        def recurrent_param_count(kind, input_features, units):
            transforms = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[kind]
            extra = units if kind == "GRU" else 0
            return np.int64(transforms * (units * (input_features + units + 1) + extra))
        """, "visible", ["the type of the result", "return a Python int"], id="q6-numpy-int"),
]


PERSISTENCE = """
    def persistence_mae(temperature, first_start, last_start, sampling_rate, sequence_length,
                        steps_ahead, stride):
        starts = np.arange(first_start, last_start, {stride})
        last_inputs = starts + {last}
        return {result}
    """
RIGHT_LAST = "(sequence_length - 1) * sampling_rate"
RIGHT_RESULT = ("float(np.mean(np.abs(temperature[last_inputs + steps_ahead * sampling_rate]"
                " - temperature[last_inputs])))")
WRONG_ANSWERS += [
    pytest.param("q7", PERSISTENCE.format(stride="stride", last="sequence_length * sampling_rate",
                                          result=RIGHT_RESULT),
                 "visible", ["found 5.774", "one spacing too late"], id="q7-last-input-off-by-one"),
    pytest.param("q7", PERSISTENCE.format(
        stride="stride", last=RIGHT_LAST,
        result="float(np.mean(np.abs(temperature[last_inputs + (steps_ahead + 1) * sampling_rate]"
               " - temperature[last_inputs])))"),
        "visible", ["one spacing too far"], id="q7-target-off-by-one"),
    pytest.param("q7", PERSISTENCE.format(
        stride="stride", last=RIGHT_LAST,
        result="float(np.mean(np.abs(temperature[last_inputs + steps_ahead * sampling_rate]"
               " - temperature[starts])))"),
        "visible", ["not at its start"], id="q7-forecast-from-window-start"),
    pytest.param("q7", PERSISTENCE.format(stride="1", last=RIGHT_LAST, result=RIGHT_RESULT),
                 "visible", ["every `stride` records"], id="q7-stride-ignored"),
    pytest.param("q7", PERSISTENCE.format(
        stride="stride", last=RIGHT_LAST,
        result="float(np.mean(np.abs(temperature[last_inputs + steps_ahead]"
               " - temperature[last_inputs])))"),
        "visible", ["multiply by sampling_rate"], id="q7-steps-not-records"),
    pytest.param("q7", PERSISTENCE.format(
        stride="stride", last=RIGHT_LAST,
        result="np.mean(np.abs(temperature[last_inputs + steps_ahead * sampling_rate]"
               " - temperature[last_inputs]))"),
        "visible", ["return a Python float"], id="q7-numpy-float"),
    pytest.param("q2", """
        def normalize(data, num_train):
            mean, std = data[num_train:].mean(axis=0), data[num_train:].std(axis=0)
            return (data - mean) / std, mean, std
        """, "visible", ["rows after the training part"], id="q2-test-statistics"),
]


test_a_classic_wrong_answer_fails_with_a_hint = harness.wrong_answer_test(
    QUESTIONS, WRONG_ANSWERS, caught_by=True)


test_the_student_version_has_stubs_that_fail_with_a_hint = harness.stubs_test(RELEASE, QUESTIONS)


# Correct answers written differently from the solution: each must pass every check, hidden
# tests included.
CORRECT_VARIANTS = [
    pytest.param("q1", """
        def make_forecast_dataset(data, temperature, sampling_rate, sequence_length, steps_ahead,
                                  batch_size):
            last_input = (sequence_length - 1) * sampling_rate
            delay = last_input + steps_ahead * sampling_rate
            return keras.utils.timeseries_dataset_from_array(
                data, targets=temperature[delay:], sampling_rate=sampling_rate,
                sequence_length=sequence_length, batch_size=batch_size,
                end_index=len(data) - delay)
        """, id="q1-end-index-instead-of-slicing"),
    pytest.param("q2", """
        def normalize(data, num_train):
            mean = np.mean(data[:num_train], axis=0)
            std = np.sqrt(np.mean((data[:num_train] - mean) ** 2, axis=0))
            normalized = data.copy()
            normalized -= mean
            normalized /= std
            return normalized, mean, std
        """, id="q2-in-place-on-a-copy"),
    pytest.param("q3", """
        def naive_mae(dataset, mean, std, column):
            errors = np.concatenate([
                np.abs(w.numpy()[:, -1, column] * std[column] + mean[column] - t.numpy())
                for w, t in dataset])
            return float(errors.mean())
        """, id="q3-concatenate-then-mean"),
    pytest.param("q4", """
        def rnn_forward(inputs, W, U, b):
            state = np.zeros(len(b), dtype=inputs.dtype)
            outputs = np.empty((len(inputs), len(b)), dtype=inputs.dtype)
            for t in range(len(inputs)):
                state = np.tanh(inputs[t] @ W.T + state @ U.T + b)
                outputs[t] = state
            return outputs
        """, id="q4-preallocated-transposed-products"),
    pytest.param("q5", """
        def build_stacked_gru(sequence_length, num_features, units):
            return keras.Sequential([
                keras.Input(shape=(sequence_length, num_features)),
                layers.GRU(units, recurrent_dropout=0.5, return_sequences=True),
                layers.GRU(units, recurrent_dropout=0.5),
                layers.Dropout(0.5),
                layers.Dense(1),
            ])
        """, id="q5-sequential"),
    pytest.param("q6", """
        def recurrent_param_count(kind, input_features, units):
            transforms, biases = {"SimpleRNN": (1, 1), "LSTM": (4, 1), "GRU": (3, 2)}[kind]
            return int(transforms * units * (input_features + units + biases))
        """, id="q6-table-of-transforms"),
    pytest.param("q7", """
        def persistence_mae(temperature, first_start, last_start, sampling_rate, sequence_length,
                            steps_ahead, stride):
            total, count = 0.0, 0
            for start in range(first_start, last_start, stride):
                last = start + (sequence_length - 1) * sampling_rate
                total += abs(float(temperature[last + steps_ahead * sampling_rate])
                             - float(temperature[last]))
                count += 1
            return total / count
        """, id="q7-plain-loop"),
]


@pytest.mark.parametrize(("question", "answer"), CORRECT_VARIANTS)
def test_a_correct_variant_passes_every_check(question, answer, source_cells, given_namespace):
    _, check = QUESTIONS[question]
    harness.run_answer(given_namespace, answer, source_cells[check])
