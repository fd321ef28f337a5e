"""Chapter 06's exercises. The find-the-bug cells show their bug: a functional model whose output
is not connected to its inputs, and a metric that is never reset so it mixes epochs.

The checks every chapter shares (solutions, classic wrong answers, the student version's stubs)
are built by tests/exercise_harness.py.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from tests import exercise_harness as harness

ASSIGNMENT = "06_keras_apis"
SOURCE, RELEASE = harness.notebook_paths(ASSIGNMENT)

#: Locked cells that define what the questions use, in notebook order.
GIVEN = ("setup", "imports", "q3_data", "q3_buggy", "q5_buggy")
#: question -> (answer cell, check cell)
QUESTIONS = harness.questions("q1_scale_shift", "q2_listing_model", "q3_add_even_head",
                              "q4_max_absolute_error", "q5_metric_per_epoch", "q6_make_callbacks",
                              "q7_stop_at_loss")


source_cells = harness.source_cells_fixture(SOURCE)
given_namespace = harness.given_namespace_fixture(GIVEN)


test_the_assignment_has_the_required_parts = harness.required_parts_test(
    SOURCE, QUESTIONS, "q8_written", ["q3_buggy", "q5_buggy"])


test_the_solution_passes_its_checks_and_hidden_tests = harness.solution_test(QUESTIONS, min_ok=3)


def test_the_find_the_bug_cells_show_their_bug(source_cells, capsys):
    harness.run_given(source_cells, GIVEN)
    printed = capsys.readouterr().out
    assert "ValueError:" in printed and "is not connected to `inputs`" in printed, printed
    per_epoch = json.loads(printed.strip().splitlines()[-1])
    assert per_epoch[0] == pytest.approx(1.0)
    assert per_epoch[1] == pytest.approx(0.5 ** 0.5, rel=1e-5), "the never-reset metric mixes epochs"


# Wrong answers that differ only in a line or two share a template.
MAX_ABSOLUTE_ERROR = """
    class MaxAbsoluteError(keras.metrics.Metric):
        def __init__(self, name="max_abs_error", **kwargs):
            super().__init__(name=name, **kwargs)
            self.largest = self.add_variable(shape=(), initializer="zeros", name="largest")

        def update_state(self, y_true, y_pred, sample_weight=None):
            gaps = tf.abs(tf.cast(y_true, "float32") - tf.cast(y_pred, "float32"))
            self.largest.assign({update})

        def result(self):
            return self.largest

        def reset_state(self):
            {reset}
    """

# (question, answer, which check cell must catch it, words the hint must contain)
WRONG_ANSWERS = [
    pytest.param("q1", """
        class ScaleShift(keras.layers.Layer):
            def build(self, input_shape):
                pass

            def call(self, inputs):
                scale = self.add_weight(shape=(inputs.shape[-1],), initializer="ones")
                shift = self.add_weight(shape=(inputs.shape[-1],), initializer="zeros")
                return inputs * scale + shift
        """, "visible", ["raised ValueError", "Keras refuses new weights once the layer is built"],
        id="q1-weights-made-in-call"),
    pytest.param("q1", """
        class ScaleShift(keras.layers.Layer):
            def build(self, input_shape):
                self.scale = self.add_weight(shape=(input_shape[-1],), initializer="zeros")
                self.shift = self.add_weight(shape=(input_shape[-1],), initializer="zeros")

            def call(self, inputs):
                return inputs * self.scale + self.shift
        """, "visible", ["output of a fresh layer", "initializer='ones'"], id="q1-scale-starts-at-0"),
    pytest.param("q2", """
        def build_listing_model(num_photo_features, vocabulary_size, num_amenities):
            photo = keras.Input(shape=(num_photo_features,), name="photo")
            description = keras.Input(shape=(vocabulary_size,), name="description")
            photo_features = layers.Dense(32, activation="relu", name="photo_features")(photo)
            text_features = layers.Dense(32, activation="relu", name="text_features")(description)
            joined = layers.Concatenate()([photo_features, text_features])
            price = layers.Dense(1, activation="sigmoid", name="price")(joined)
            amenities = layers.Dense(num_amenities, activation="sigmoid", name="amenities")(joined)
            return keras.Model(inputs=[photo, description], outputs=[price, amenities])
        """, "visible",
        ["price outside [0, 1]", "squash"], id="q2-sigmoid-price"),
    pytest.param("q2", """
        def build_listing_model(num_photo_features, vocabulary_size, num_amenities):
            photo = keras.Input(shape=(num_photo_features,), name="photo")
            description = keras.Input(shape=(vocabulary_size,), name="description")
            photo_features = layers.Dense(32, activation="relu", name="photo_features")(photo)
            text_features = layers.Dense(32, activation="relu", name="text_features")(description)
            joined = layers.Concatenate()([photo_features, text_features])
            price = layers.Dense(1, name="price")(joined)
            amenities = layers.Dense(num_amenities, activation="softmax", name="amenities")(joined)
            return keras.Model(inputs=[photo, description], outputs=[price, amenities])
        """, "visible",
        ["amenity rows sum to 1", "several amenities at once"], id="q2-softmax-amenities"),
    pytest.param("q2", """
        def build_listing_model(num_photo_features, vocabulary_size, num_amenities):
            photo = keras.Input(shape=(num_photo_features,), name="photo")
            description = keras.Input(shape=(vocabulary_size,), name="description")
            joined = layers.Dense(64, activation="relu")(layers.Concatenate()([photo, description]))
            price = layers.Dense(1, name="price")(joined)
            amenities = layers.Dense(num_amenities, activation="sigmoid", name="amenities")(joined)
            return keras.Model(inputs=[photo, description], outputs=[price, amenities])
        """, "visible",
        ["parameters", "its own Dense(32) branch"], id="q2-one-shared-layer-like-the-chapter"),
    pytest.param("q2", """
        def build_listing_model(num_photo_features, vocabulary_size, num_amenities):
            photo = keras.Input(shape=(num_photo_features,), name="photo")
            description = keras.Input(shape=(vocabulary_size,), name="description")
            photo_features = layers.Dense(32, activation="relu", name="photo_features")(photo)
            text_features = layers.Dense(32, activation="relu", name="text_features")(description)
            joined = layers.Concatenate()([photo_features, text_features])
            price = layers.Dense(1, activation="relu", name="price")(joined)
            amenities = layers.Dense(num_amenities, activation="sigmoid", name="amenities")(joined)
            return keras.Model(inputs=[photo, description], outputs=[price, amenities])
        """, "hidden",
        ["output activations", "no activation for the price"], id="q2-relu-price"),
    pytest.param("q3", """
        add_even_head = buggy_add_even_head
        """, "visible", ["raised ValueError", "get_layer('features').output"], id="q3-the-bug"),
    pytest.param("q3", """
        def add_even_head(digit_model):
            features = layers.Dense(64, activation="relu")(digit_model.inputs[0])
            is_even = layers.Dense(1, activation="sigmoid", name="is_even")(features)
            return keras.Model(digit_model.inputs, [digit_model.outputs[0], is_even])
        """, "visible", ["the parameter count", "only the 64 x 1 + 1 weights"],
        id="q3-new-features-layer"),
    pytest.param("q4", MAX_ABSOLUTE_ERROR.format(update="tf.reduce_max(gaps)",
                                                 reset="self.largest.assign(0.0)"),
                 "visible", ["second, smaller batch", "keep the largest gap seen so far"],
                 id="q4-forgets-earlier-batches"),
    pytest.param("q4", MAX_ABSOLUTE_ERROR.format(
        update="tf.maximum(self.largest, tf.reduce_max(gaps))", reset="pass"),
        "visible", ["after reset_state", "back to 0"], id="q4-reset-does-nothing"),
    pytest.param("q5", """
        metric_per_epoch = buggy_metric_per_epoch
        """, "visible", ["expected 0.0, found 0.7071", "reset_state() at the start of every epoch"],
        id="q5-the-bug"),
    pytest.param("q5", """
        def metric_per_epoch(metric, epochs):
            values = []
            for batches in epochs:
                for y_true, y_pred in batches:
                    metric.reset_state()
                    metric.update_state(y_true, y_pred)
                values.append(float(metric.result()))
            return values
        """, "visible", ["reset once per epoch, not after every batch"], id="q5-reset-every-batch"),
    pytest.param("q5", """
        def metric_per_epoch(metric, epochs):
            values = []
            for batches in epochs:
                for y_true, y_pred in batches:
                    metric.update_state(y_true, y_pred)
                values.append(float(metric.result()))
                metric.reset_state()
            return values
        """, "hidden", ["metric that had seen data before", "at the start of every epoch"],
        id="q5-reset-after-each-epoch-only"),
    pytest.param("q6", """
        def make_callbacks(checkpoint_path):
            return [keras.callbacks.EarlyStopping(monitor="val_loss", patience=2),
                    keras.callbacks.ModelCheckpoint(checkpoint_path, monitor="val_loss",
                                                    save_best_only=True)]
        """, "visible", ["monitor and patience", "patience=3"], id="q6-patience-2"),
    pytest.param("q6", """
        def make_callbacks(checkpoint_path):
            return [keras.callbacks.EarlyStopping(monitor="val_loss", patience=3),
                    keras.callbacks.ModelCheckpoint(checkpoint_path)]
        """, "visible", ["ModelCheckpoint's settings", "save_best_only=True"],
        id="q6-keeps-every-epoch"),
    pytest.param("q7", """
        class StopAtLoss(keras.callbacks.Callback):
            def __init__(self, target):
                super().__init__()
                self.target = target

            def on_epoch_end(self, epoch, logs=None):
                if logs["loss"] < self.target:
                    self.stop_training = True
        """, "visible", ["expected 5, found 20", "first epoch whose training loss"],
        id="q7-stops-the-callback-not-the-model"),
    pytest.param("q7", """
        class StopAtLoss(keras.callbacks.Callback):
            def __init__(self, target):
                super().__init__()
                self.target = target

            def on_epoch_end(self, epoch, logs=None):
                if logs["loss"] > self.target:
                    self.model.stop_training = True
        """, "visible", ["expected 5, found 1"], id="q7-comparison-reversed"),
    pytest.param("q7", """
        class StopAtLoss(keras.callbacks.Callback):
            def __init__(self, target):
                super().__init__()
                self.target = target

            def on_epoch_end(self, epoch, logs=None):
                if logs["loss"] <= self.target:
                    self.model.stop_training = True
        """, "hidden", ["strictly below the target"], id="q7-stops-at-equal"),
    pytest.param("q7", """
        class StopAtLoss(keras.callbacks.Callback):
            def __init__(self, target):
                super().__init__()
                self.target = target
                self.done = False

            def on_epoch_end(self, epoch, logs=None):
                if self.done or logs["loss"] < self.target:
                    self.done = True
                    self.model.stop_training = True
        """, "hidden", ["second fit"], id="q7-remembers-the-last-fit"),
]


test_a_classic_wrong_answer_fails_with_a_hint = harness.wrong_answer_test(
    QUESTIONS, WRONG_ANSWERS, caught_by=True)


test_the_student_version_has_stubs_that_fail_with_a_hint = harness.stubs_test(RELEASE, QUESTIONS)


#: Correct answers written differently from the solution: each passes its visible checks and hidden tests.
CORRECT_VARIANTS = [
    pytest.param("q2", """
        def build_listing_model(num_photo_features, vocabulary_size, num_amenities):
            inputs = [keras.Input(shape=(num_photo_features,), name="photo"),
                      keras.Input(shape=(vocabulary_size,), name="description")]
            branches = [layers.Dense(32, activation="relu", name=name)(tensor)
                        for name, tensor in zip(["photo_features", "text_features"], inputs)]
            joined = layers.concatenate(branches)
            outputs = [layers.Dense(1, activation="linear", name="price")(joined),
                       layers.Dense(num_amenities, activation=keras.activations.sigmoid,
                                    name="amenities")(joined)]
            return keras.Model(inputs, outputs)
        """, id="q2-comprehensions-and-named-activations"),
    pytest.param("q7", """
        class StopAtLoss(keras.callbacks.Callback):
            def __init__(self, target):
                super().__init__()
                self.target = target

            def on_epoch_end(self, epoch, logs=None):
                self.model.stop_training = bool(logs.get("loss") < self.target)
        """, id="q7-assigns-the-comparison"),
    pytest.param("q7", """
        class StopAtLoss(keras.callbacks.EarlyStopping):
            def __init__(self, target):
                super().__init__(monitor="loss", patience=10_000)
                self.target = target

            def on_epoch_end(self, epoch, logs=None):
                if float(logs["loss"]) < self.target:
                    self.model.stop_training = True
        """, id="q7-subclasses-early-stopping"),
]


@pytest.mark.parametrize(("question", "answer"), CORRECT_VARIANTS)
def test_a_correct_variant_passes(question, answer, source_cells, given_namespace):
    _, check = QUESTIONS[question]
    printed = harness.run_answer_printing(given_namespace, textwrap.dedent(answer),
                                          harness.without_solution_markers(harness.cell_source(source_cells[check])))
    harness.no_check_failed(printed)
    assert "ok:" in printed, printed
