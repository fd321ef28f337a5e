"""Chapter 06's exercises. The find-the-bug cells show their bug: a functional model whose output
is not connected to its inputs, and a metric that is never reset so it mixes epochs. Every
question has a table of plausible wrong answers that must fail (WRONG_ANSWERS) and of correct
variants, written differently from the solution, that must pass (CORRECT_VARIANTS).

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
QUESTIONS = harness.questions("q1_blend", "q2_listing_model", "q3_add_even_head",
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


# Wrong answers (and correct variants) that differ only in a line or two share a template.
BLEND = """
    class Blend(keras.layers.Layer):
        def build(self, input_shape):
            self.mix = self.add_weight(shape={shape}, initializer={initializer})

        def call(self, inputs):
            first, second = inputs
            return {output}
    """
MIXED = "self.mix * first + (1 - self.mix) * second"
HALF = "keras.initializers.Constant(0.5)"

LISTING_MODEL = """
    def build_listing_model(num_photo_features, vocabulary_size, num_amenities):
        photo = keras.Input(shape=(num_photo_features,), name="photo")
        description = keras.Input(shape=(vocabulary_size,), name="description")
        {joined}
        price = layers.Dense(1{price}, name="price")(joined)
        amenities = layers.Dense(num_amenities{amenities}, name="amenities")(joined)
        return keras.Model(inputs=[photo, description], outputs={outputs})
    """
BRANCHES = ('joined = layers.Concatenate()([layers.Dense(32, activation="relu", name="photo_features")(photo), '
            'layers.Dense(32, activation="relu", name="text_features")(description)])')
ONE_SHARED_LAYER = 'joined = layers.Dense(64, activation="relu")(layers.Concatenate()([photo, description]))'


def listing(joined=BRANCHES, price="", amenities=', activation="sigmoid"', outputs="[price, amenities]"):
    return LISTING_MODEL.format(joined=joined, price=price, amenities=amenities, outputs=outputs)


EVEN_HEAD = """
    def add_even_head(digit_model):
        features = {features}
        is_even = layers.Dense(1, activation={activation}, name="is_even")(features)
        return keras.Model(inputs=digit_model.inputs, outputs={outputs})
    """
FEATURES = 'digit_model.get_layer("features").output'


def even_head(features=FEATURES, activation='"sigmoid"', outputs="[digit_model.outputs[0], is_even]"):
    return EVEN_HEAD.format(features=features, activation=activation, outputs=outputs)


MAX_ABSOLUTE_ERROR = """
    class MaxAbsoluteError(keras.metrics.Metric):
        def __init__(self, name="max_abs_error", **kwargs):
            super().__init__(name=name, **kwargs)
            self.largest = self.add_variable(shape=(), initializer="zeros", name="largest")

        def update_state(self, y_true, y_pred, sample_weight=None):
            gaps = {gaps}
            self.largest.assign({update})

        def result(self):
            return self.largest

        def reset_state(self):
            {reset}
    """
GAPS = 'tf.abs(tf.cast(y_true, "float32") - tf.cast(y_pred, "float32"))'
KEEP_LARGEST = "tf.maximum(self.largest, tf.reduce_max(gaps))"


def max_abs(gaps=GAPS, update=KEEP_LARGEST, reset="self.largest.assign(0.0)"):
    return MAX_ABSOLUTE_ERROR.format(gaps=gaps, update=update, reset=reset)


PER_EPOCH = """
    def metric_per_epoch(metric, epochs):
        values = []
        for batches in epochs:
            {before}
            for y_true, y_pred in batches:
                {in_loop}
                metric.update_state(y_true, y_pred)
            values.append(float(metric.result()))
            {after}
        return values
    """


def per_epoch(before="metric.reset_state()", in_loop="pass", after="pass"):
    return PER_EPOCH.format(before=before, in_loop=in_loop, after=after)


CALLBACKS = """
    def make_callbacks(checkpoint_path):
        return [keras.callbacks.EarlyStopping({stopper}),
                keras.callbacks.ModelCheckpoint(checkpoint_path, {saver})]
    """
STOPPER = 'monitor="val_hit_rate", mode="max", patience=3, restore_best_weights=True'
SAVER = 'monitor="val_hit_rate", mode="max", save_best_only=True'


def make_callbacks(stopper=STOPPER, saver=SAVER):
    return CALLBACKS.format(stopper=stopper, saver=saver)


STOP_AT_LOSS = """
    class StopAtLoss(keras.callbacks.Callback):
        def __init__(self, target):
            super().__init__()
            self.target = target

        def on_epoch_end(self, epoch, logs=None):
            if {condition}:
                {action}
    """


def stop_at_loss(condition='logs["loss"] < self.target', action="self.model.stop_training = True"):
    return STOP_AT_LOSS.format(condition=condition, action=action)


# (question, answer, which check cell must catch it, words the hint must contain)
WRONG_ANSWERS = [
    pytest.param("q1", BLEND.format(shape="(input_shape[-1],)", initializer=HALF, output=MIXED), "visible",
                 ["raised ValueError", "one shape per input"], id="q1-input-shape-read-as-one-shape"),
    pytest.param("q1", """
        class Blend(keras.layers.Layer):
            def call(self, inputs):
                first, second = inputs
                mix = self.add_weight(shape=(first.shape[-1],), initializer=keras.initializers.Constant(0.5))
                return mix * first + (1 - mix) * second
        """, "visible", ["raised ValueError", "call() only uses the weight it made"], id="q1-weight-made-in-call"),
    pytest.param("q1", BLEND.format(shape="(input_shape[0][-1],)", initializer='"ones"', output=MIXED),
                 "visible", ["output of a fresh layer", "averages its two inputs"], id="q1-mix-starts-at-1"),
    pytest.param("q1", BLEND.format(shape="(input_shape[0][-1],)", initializer='"zeros"', output=MIXED),
                 "visible", ["output of a fresh layer"], id="q1-mix-starts-at-0"),
    pytest.param("q1", BLEND.format(shape="()", initializer=HALF, output=MIXED), "visible",
                 ["shapes of the layer's weights", "one mixing value per feature"], id="q1-one-scalar-mix"),
    pytest.param("q1", BLEND.format(shape="(input_shape[0][-1],)", initializer=HALF,
                                    output="self.mix * second + (1 - self.mix) * first"), "hidden",
                 ["Blend with a set mix", "FIRST input"], id="q1-mix-weighs-the-second-input"),
    pytest.param("q1", BLEND.format(shape="(input_shape[0][1],)", initializer=HALF, output=MIXED), "hidden",
                 ["rank-3 inputs", "LAST entry"], id="q1-second-axis-instead-of-last"),
    pytest.param("q2", listing(price=', activation="sigmoid"'), "visible",
                 ["price outside [0, 1]", "squash"], id="q2-sigmoid-price"),
    pytest.param("q2", listing(amenities=', activation="softmax"'), "visible",
                 ["amenity rows sum to 1", "several amenities at once"], id="q2-softmax-amenities"),
    pytest.param("q2", listing(joined=ONE_SHARED_LAYER), "visible",
                 ["parameters", "its own Dense(32) branch"], id="q2-one-shared-layer-like-the-chapter"),
    pytest.param("q2", listing(price=', activation="relu"'), "hidden",
                 ["output activations", "no activation for the price"], id="q2-relu-price"),
    pytest.param("q2", listing(outputs="[amenities, price]"), "visible",
                 ["names of the outputs"], id="q2-outputs-in-the-wrong-order"),
    pytest.param("q2", listing().replace("layers.Dense(num_amenities", "layers.Dense(1"), "visible",
                 ["output shapes", "one probability per amenity"], id="q2-one-unit-for-all-amenities"),
    pytest.param("q3", """
        add_even_head = buggy_add_even_head
        """, "visible", ["raised ValueError", "computed, layer by layer, from the tensors of digit_model.inputs"],
        id="q3-the-bug"),
    pytest.param("q3", even_head(features='layers.Dense(64, activation="relu")(digit_model.inputs[0])'),
                 "visible", ["the parameter count", "only the 64 x 1 + 1 weights"], id="q3-new-features-layer"),
    pytest.param("q3", """
        def add_even_head(digit_model):
            copy = keras.models.clone_model(digit_model)
            is_even = layers.Dense(1, activation="sigmoid", name="is_even")(copy.get_layer("features").output)
            return keras.Model(inputs=copy.inputs, outputs=[copy.outputs[0], is_even])
        """, "visible", ["holds the trained features layer itself", "not copies"], id="q3-a-clone-not-the-trained-layers"),
    pytest.param("q3", even_head(outputs="[is_even, digit_model.outputs[0]]"), "visible",
                 ["names of the outputs"], id="q3-outputs-reversed"),
    pytest.param("q3", even_head(activation='"softmax"'), "hidden",
                 ["differs between digits", "Dense(1) output with a sigmoid"], id="q3-softmax-over-one-unit"),
    pytest.param("q4", max_abs(update="tf.reduce_max(gaps)"), "visible",
                 ["second, smaller batch", "keep the largest gap seen so far"], id="q4-forgets-earlier-batches"),
    pytest.param("q4", max_abs(reset="pass"), "visible", ["after reset_state", "back to 0"],
                 id="q4-reset-does-nothing"),
    pytest.param("q4", max_abs(update="tf.maximum(self.largest, tf.reduce_mean(gaps))"), "visible",
                 ["the result after one batch", "largest absolute gap"], id="q4-mean-instead-of-largest"),
    pytest.param("q4", max_abs(gaps='tf.cast(y_true, "float32") - tf.cast(y_pred, "float32")'), "hidden",
                 ["four random batches", "whichever way round"], id="q4-signed-gaps"),
    pytest.param("q5", """
        metric_per_epoch = buggy_metric_per_epoch
        """, "visible", ["expected 0.0, found 0.7071", "still holds the first epoch's errors"], id="q5-the-bug"),
    pytest.param("q5", per_epoch(before="pass", in_loop="metric.reset_state()"), "visible",
                 ["not only its last one"], id="q5-reset-every-batch"),
    pytest.param("q5", per_epoch(before="pass", after="metric.reset_state()"), "hidden",
                 ["metric that had seen data before", "at the start of every epoch"],
                 id="q5-reset-after-each-epoch-only"),
    pytest.param("q5", """
        def metric_per_epoch(metric, epochs):
            values = []
            for batches in epochs:
                fresh = keras.metrics.RootMeanSquaredError()
                for y_true, y_pred in batches:
                    fresh.update_state(y_true, y_pred)
                values.append(float(fresh.result()))
            return values
        """, "visible", ["expected 0.5", "the metric object you receive"], id="q5-ignores-the-metric-it-was-given"),
    pytest.param("q6", make_callbacks(stopper='monitor="val_hit_rate", patience=3, restore_best_weights=True',
                                      saver='monitor="val_hit_rate", save_best_only=True'), "visible",
                 ["raised ValueError", "declares no direction"], id="q6-no-mode-as-for-the-loss"),
    pytest.param("q6", make_callbacks(stopper=STOPPER.replace("max", "min"), saver=SAVER.replace("max", "min")),
                 "visible", ["2 of 2 values differ", "expected 5.0, found 4.0"], id="q6-mode-min"),
    pytest.param("q6", make_callbacks(saver='monitor="val_hit_rate", save_best_only=True'), "visible",
                 ["raised ValueError"], id="q6-mode-on-early-stopping-only"),
    pytest.param("q6", make_callbacks(stopper='monitor="val_hit_rate", mode="max", patience=3'), "visible",
                 ["first at [1]: expected 1.0, found 4.0"], id="q6-best-weights-not-restored"),
    pytest.param("q6", make_callbacks(stopper=STOPPER.replace("patience=3", "patience=2")), "visible",
                 ["1 of 2 values differ", "expected 5.0, found 4.0"], id="q6-patience-2"),
    pytest.param("q6", make_callbacks(stopper=STOPPER.replace("val_hit_rate", "hit_rate")), "visible",
                 ["expected 5.0, found 8.0"], id="q6-watches-the-training-score"),
    pytest.param("q6", make_callbacks(saver='monitor="val_hit_rate", mode="max"'), "visible",
                 ["saved checkpoint's epoch", "expected 1.0, found 4.0"], id="q6-keeps-every-epoch"),
    pytest.param("q6", make_callbacks(saver='mode="max", save_best_only=True'), "visible",
                 ["saved checkpoint's epoch", "the best epoch, and only that one"], id="q6-checkpoint-watches-the-loss"),
    pytest.param("q7", stop_at_loss(action="self.stop_training = True"), "visible",
                 ["expected 5, found 20", "first epoch whose training loss"], id="q7-stops-the-callback-not-the-model"),
    pytest.param("q7", stop_at_loss(condition='logs["loss"] > self.target'), "visible", ["expected 5, found 1"],
                 id="q7-comparison-reversed"),
    pytest.param("q7", stop_at_loss(condition='logs["loss"] <= self.target'), "hidden",
                 ["strictly below the target"], id="q7-stops-at-equal"),
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
    pytest.param("q1", BLEND.format(shape="(input_shape[1][-1],)", initializer=HALF, output=MIXED),
                 id="q1-features-from-the-second-shape"),
    pytest.param("q1", BLEND.format(shape="(input_shape[0][-1],)", initializer="keras.initializers.Constant(value=0.5)",
                                    output="second + self.mix * (first - second)"), id="q1-rearranged-formula"),
    pytest.param("q1", """
        class Blend(keras.layers.Layer):
            def build(self, input_shape):
                features = input_shape[0][-1]
                self.mix = self.add_weight(shape=(features,), initializer=keras.initializers.Constant(0.5),
                                           trainable=True, name="mix")

            def call(self, inputs):
                return keras.ops.add(self.mix * inputs[0], (1.0 - self.mix) * inputs[1])
        """, id="q1-keras-ops"),
    pytest.param("q2", listing(price=", activation=None"), id="q2-activation-none"),
    pytest.param("q2", listing(price=', activation="linear"', amenities=", activation=keras.activations.sigmoid"),
                 id="q2-linear-price-function-sigmoid"),
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
    pytest.param("q3", even_head(features="digit_model.layers[1].output"), id="q3-layer-by-index"),
    pytest.param("q3", even_head(features='digit_model.get_layer("digit").input',
                                 outputs="digit_model.outputs + [is_even]"), id="q3-input-of-the-digit-layer"),
    pytest.param("q3", even_head(activation="keras.activations.sigmoid",
                                 outputs='[digit_model.get_layer("digit").output, is_even]'),
                 id="q3-output-of-the-digit-layer"),
    pytest.param("q4", max_abs(gaps='keras.ops.abs(keras.ops.cast(y_true, "float32") - keras.ops.cast(y_pred, "float32"))',
                               update="keras.ops.maximum(self.largest, keras.ops.max(gaps))"), id="q4-keras-ops"),
    pytest.param("q4", """
        class MaxAbsoluteError(keras.metrics.Metric):
            def __init__(self, name="max_abs_error", **kwargs):
                super().__init__(name=name, **kwargs)
                self.largest = self.add_variable(shape=(), initializer="zeros", name="largest")

            def update_state(self, y_true, y_pred, sample_weight=None):
                batch_largest = tf.reduce_max(tf.abs(tf.cast(y_true, tf.float32) - tf.cast(y_pred, tf.float32)))
                self.largest.assign(tf.where(batch_largest > self.largest, batch_largest, self.largest))

            def result(self):
                return self.largest.value
        """, id="q4-tf-where-and-the-base-class-reset"),
    pytest.param("q5", per_epoch(after="metric.reset_state()"), id="q5-reset-before-and-after"),
    pytest.param("q5", """
        def metric_per_epoch(metric, epochs):
            def one_epoch(batches):
                metric.reset_state()
                for y_true, y_pred in batches:
                    metric.update_state(y_true, y_pred)
                return float(metric.result())
            return [one_epoch(batches) for batches in epochs]
        """, id="q5-a-helper-per-epoch"),
    pytest.param("q6", """
        def make_callbacks(checkpoint_path):
            stopper = keras.callbacks.EarlyStopping(patience=3, monitor="val_hit_rate", mode="max",
                                                    restore_best_weights=True, min_delta=0, baseline=None)
            saver = keras.callbacks.ModelCheckpoint(filepath=Path(checkpoint_path), save_best_only=True,
                                                    mode="max", monitor="val_hit_rate", save_freq="epoch")
            return [stopper, saver]
        """, id="q6-keywords-in-another-order-and-a-path"),
    pytest.param("q6", make_callbacks(saver=SAVER + ", save_weights_only=False, verbose=0"),
                 id="q6-explicit-defaults"),
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
