"""Chapter 07's exercises. The find-the-bug cells show their bug: a training step that calls the
model without training=True, so its moving mean never moves, and a tf.function that traces again
for every new Python exponent.

The checks every chapter shares (solutions, classic wrong answers, the student version's stubs)
are built by tests/exercise_harness.py.
"""

from __future__ import annotations

import pytest

from tests import exercise_harness as harness

ASSIGNMENT = "07_custom_training"
SOURCE, RELEASE = harness.notebook_paths(ASSIGNMENT)

#: Locked cells that define what the questions use, in notebook order.
GIVEN = ("setup", "imports", "q4_data", "q4_buggy", "q5_buggy")
#: Given cells whose functions look up the learner's answer (q7_data calls ClippingModel), so they
#: run in each answer's own scope, just before it.
GIVEN_WITH_ANSWER = {"q7": "q7_data"}
#: question -> (answer cell, check cell)
QUESTIONS = harness.questions("q1_quantile_loss", "q2_clip_layer", "q3_random_scale",
                              "q4_train_step", "q5_power_sums", "q6_activity_penalty",
                              "q7_clipping_model")


def _given_with(question, cells):
    grade_id = GIVEN_WITH_ANSWER.get(question)
    return cells[grade_id]["source"] if grade_id else ""


source_cells = harness.source_cells_fixture(SOURCE)
given_namespace = harness.given_namespace_fixture(GIVEN)


test_the_assignment_has_the_required_parts = harness.required_parts_test(
    SOURCE, QUESTIONS, "q8_written", ["q4_buggy", "q5_buggy"])


def _last_line_is_ok(printed):
    assert "ok:" in printed.strip().splitlines()[-1], "the last hidden test printed no ok line"


test_the_solution_passes_its_checks_and_hidden_tests = harness.solution_test(
    QUESTIONS, min_ok=3, also=_last_line_is_ok, given_for=_given_with)


def test_the_find_the_bug_cells_show_their_bug(source_cells, capsys):
    harness.run_given(source_cells, GIVEN)
    printed = capsys.readouterr().out
    assert "moving mean after 5 steps: [0.0, 0.0, 0.0]" in printed, printed
    assert "5 traces for 5 calls: [1.0, 1.5, 2.0, 2.5, 3.0]" in printed, printed


# Wrong answers to a question share the part they get right: a class's constructor, a helper.
QUANTILE_LOSS_INIT = """
    class QuantileLoss(keras.losses.Loss):
        def __init__(self, quantile=0.5, **kwargs):
            super().__init__(**kwargs)
            self.quantile = quantile
    """
CLIP_INIT = """
    @keras.saving.register_keras_serializable(package="exercises07")
    class Clip(keras.layers.Layer):
        def __init__(self, low, high, **kwargs):
            super().__init__(**kwargs)
            self.low, self.high = low, high
    """
RANDOM_SCALE_INIT = """
    class RandomScale(keras.layers.Layer):
        def __init__(self, amount, **kwargs):
            super().__init__(**kwargs)
            self.amount = amount
    """
POWER_SUM = """
    @tf.function
    def power_sum(values, exponent):
        return tf.reduce_sum(values ** exponent)
    """
ACTIVITY_PENALTY_INIT = """
    class ActivityPenalty(keras.layers.Layer):
        def __init__(self, rate, **kwargs):
            super().__init__(**kwargs)
            self.rate = rate
    """

# (question, answer, which check cell must catch it, words the hint must contain)
WRONG_ANSWERS = [
    pytest.param("q1", QUANTILE_LOSS_INIT + """
        def call(self, y_true, y_pred):
            error = y_pred - y_true
            return tf.maximum(self.quantile * error, (self.quantile - 1.0) * error)

        def get_config(self):
            return {**super().get_config(), "quantile": self.quantile}
    """, "visible", ["expected 1.05, found 1.4499", "you computed y_pred - y_true"],
        id="q1-error-sign-swapped"),
    pytest.param("q1", QUANTILE_LOSS_INIT + """
        def call(self, y_true, y_pred):
            error = y_true - y_pred
            return tf.maximum(self.quantile * error, (self.quantile - 1.0) * error)
    """, "visible", ["get_config()['quantile']", "{**super().get_config(), 'quantile'"],
        id="q1-no-get-config"),
    pytest.param("q2", CLIP_INIT + """
        def call(self, inputs):
            return tf.clip_by_value(inputs, self.low, self.high)

        def get_config(self):
            return {"low": self.low}
    """, "visible", ["keras.models.load_model", "raised TypeError",
                     "get_config must return low and high"],
        id="q2-get-config-forgets-high"),
    pytest.param("q2", CLIP_INIT + """
        def call(self, inputs):
            return tf.minimum(inputs, self.high)

        def get_config(self):
            return {**super().get_config(), "low": self.low, "high": self.high}
    """, "visible", ["Clip(-1, 2)", "clip from below and from above"], id="q2-only-from-above"),
    pytest.param("q3", RANDOM_SCALE_INIT + """
        def call(self, inputs, training=False):
            return inputs * tf.random.uniform(tf.shape(inputs), 1 - self.amount,
                                              1 + self.amount)
    """, "visible", ["a plain call (inference)", "unless training is True"],
        id="q3-noise-at-inference"),
    pytest.param("q3", RANDOM_SCALE_INIT + """
        def call(self, inputs, training=False):
            if not training:
                return inputs
            return inputs * tf.random.uniform((), 1 - self.amount, 1 + self.amount)
    """, "visible", ["differ from entry to entry", "tf.shape(inputs)"],
        id="q3-one-factor-for-all"),
    pytest.param("q3", RANDOM_SCALE_INIT + """
        def call(self, inputs, training=False):
            if not training:
                return inputs
            factors = np.random.uniform(1 - self.amount, 1 + self.amount, size=inputs.shape)
            return inputs * factors.astype("float32")
    """, "hidden", ["fit() of a model with RandomScale", "not NumPy"], id="q3-numpy-draw"),
    pytest.param("q4", """
        train_step = buggy_train_step
        """, "visible", ["train_step(...)", "training=True inside the step"], id="q4-the-bug"),
    pytest.param("q4", """
        def train_step(model, optimizer, loss_fn, inputs, targets):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(loss_fn(targets, model(inputs, training=True)))
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(gradients, model.trainable_variables)
            return loss
        """, "hidden", ["the loss with a regularized layer", "model.losses"],
        id="q4-model-losses-left-out"),
    pytest.param("q5", POWER_SUM + """
    def power_sums(values, exponents):
        return [float(power_sum(values, exponent)) for exponent in exponents]
    """, "visible", ["(found 7)", "tf.constant(exponent, dtype=tf.float32)"],
        id="q5-the-bug-python-floats"),
    pytest.param("q5", POWER_SUM + """
    def power_sums(values, exponents):
        return [power_sum(values, tf.constant(exponent)) for exponent in exponents]
    """, "hidden", ["Python floats", "float(...)"], id="q5-tensors-returned"),
    pytest.param("q6", ACTIVITY_PENALTY_INIT + """
        def call(self, inputs):
            return inputs
    """, "visible", ["the number of entries in layer.losses", "self.add_loss"],
        id="q6-no-add-loss"),
    pytest.param("q6", ACTIVITY_PENALTY_INIT + """
        def call(self, inputs):
            self.add_loss(self.rate * tf.reduce_sum(tf.square(inputs)))
            return inputs
    """, "visible", ["expected 0.75, found 3", "tf.reduce_mean"], id="q6-sum-not-mean"),
    pytest.param("q6", ACTIVITY_PENALTY_INIT + """
        def call(self, inputs):
            penalty = self.rate * tf.reduce_mean(tf.square(inputs))
            self.add_loss(penalty)
            return penalty
    """, "visible", ["return the inputs themselves"], id="q6-returns-the-penalty"),
]

CLIPPING_MODEL = """
class ClippingModel(keras.Model):
    def __init__(self, clip_norm=1.0, **kwargs):
        super().__init__(**kwargs)
        self.clip_norm = clip_norm

    def train_step(self, data):
        inputs, targets = data
        with tf.GradientTape() as tape:
            predictions = self(inputs, training=True)
            loss = self.compute_loss(x=inputs, y=targets, y_pred=predictions)
        gradients = tape.gradient(loss, self.trainable_variables)
        gradients = {clipping}
        self.optimizer.apply(gradients, self.trainable_variables)
        {tracking}
        return self.compute_metrics(inputs, targets, predictions)
"""
TRACKING = "[metric.update_state(loss) for metric in self.metrics if metric.name == 'loss']"
WRONG_ANSWERS += [
    pytest.param("q7", CLIPPING_MODEL.format(clipping="gradients", tracking=TRACKING), "visible",
                 ["the size of the step", "tf.clip_by_global_norm(gradients, self.clip_norm)"],
                 id="q7-no-clipping"),
    pytest.param("q7", CLIPPING_MODEL.format(
        clipping="[tf.clip_by_norm(gradient, self.clip_norm) for gradient in gradients]",
        tracking=TRACKING), "visible", ["the size of the step", "found 0.7071"],
        id="q7-each-gradient-clipped-alone"),
    pytest.param("q7", CLIPPING_MODEL.format(
        clipping="tf.clip_by_global_norm(gradients, self.clip_norm)[0]", tracking="pass"),
        "visible", ["the loss of the first step", "expected 2050.0, found 0.0", "named 'loss'"],
        id="q7-loss-tracker-not-updated"),
]


test_a_classic_wrong_answer_fails_with_a_hint = harness.wrong_answer_test(
    QUESTIONS, WRONG_ANSWERS, caught_by=True, given_for=_given_with)


test_the_student_version_has_stubs_that_fail_with_a_hint = harness.stubs_test(
    RELEASE, QUESTIONS, given_for=_given_with)
