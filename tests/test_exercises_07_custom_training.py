"""Chapter 07's exercises. The find-the-bug cells show their symptom: batch-normalization
statistics that never move during training, and a tf.function traced again at every call. Their
titles, prompts and visible checks name the symptom only (GIVEAWAYS).

The checks every chapter shares (solutions, classic wrong answers, the student version's stubs)
are built by tests/exercise_harness.py. This module adds its own tables: plausible wrong answers
that must fail (WRONG_ANSWERS) and correct variants that must pass every check, hidden tests
included (CORRECT_VARIANTS), for every question.
"""

from __future__ import annotations

import ast
import re

import pytest

from tests import exercise_harness as harness

ASSIGNMENT = "07_custom_training"
SOURCE, RELEASE = harness.notebook_paths(ASSIGNMENT)

#: Locked cells that define what the questions use, in notebook order.
GIVEN = ("setup", "imports", "q4_data", "q4_buggy", "q5_buggy")
#: question -> (answer cell, check cell)
QUESTIONS = harness.questions("q1_quantile_loss", "q2_clip_layer", "q3_random_scale",
                              "q4_train_step", "q5_power_sums", "q6_activity_penalty",
                              "q7_clipping_model")


source_cells = harness.source_cells_fixture(SOURCE)
given_namespace = harness.given_namespace_fixture(GIVEN)


test_the_assignment_has_the_required_parts = harness.required_parts_test(
    SOURCE, QUESTIONS, "q8_written", ["q4_buggy", "q5_buggy"])


def _last_line_is_ok(printed):
    assert "ok:" in printed.strip().splitlines()[-1], "the last hidden test printed no ok line"


test_the_solution_passes_its_checks_and_hidden_tests = harness.solution_test(
    QUESTIONS, min_ok=3, also=_last_line_is_ok)


def test_the_find_the_bug_cells_show_their_symptom(source_cells, capsys):
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
        """, "visible", ["train_step(...)", "as fit() does"], id="q4-the-bug"),
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
    """, "visible", ["(found 7)", "traced once for all 7 exponents"],
        id="q5-the-bug-python-floats"),
    pytest.param("q5", """
    @tf.function(reduce_retracing=True)
    def power_sum(values, exponent):
        return tf.reduce_sum(values ** exponent)

    def power_sums(values, exponents):
        return [float(power_sum(values, exponent)) for exponent in exponents]
    """, "visible", ["(found 7)", "traced once for all 7 exponents"],
        id="q5-reduce-retracing-with-python-floats"),
    pytest.param("q5", POWER_SUM + """
    def power_sums(values, exponents):
        return [power_sum(values, tf.constant(exponent)) for exponent in exponents]
    """, "hidden", ["a list of floats", "float(...)"], id="q5-tensors-returned"),
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
    QUESTIONS, WRONG_ANSWERS, caught_by=True)


test_the_student_version_has_stubs_that_fail_with_a_hint = harness.stubs_test(RELEASE, QUESTIONS)


# Other ways of answering that every check, hidden tests included, must accept.
CORRECT_VARIANTS = [
    pytest.param("q1", QUANTILE_LOSS_INIT + """
        def call(self, y_true, y_pred):
            error = y_true - y_pred
            return tf.where(error >= 0, self.quantile * error, (self.quantile - 1) * error)

        def get_config(self):
            config = super().get_config()
            config.update({"quantile": self.quantile})
            return config
    """, id="q1-tf-where-and-config-update"),
    pytest.param("q1", QUANTILE_LOSS_INIT + """
        def call(self, y_true, y_pred):
            error = keras.ops.subtract(y_true, y_pred)
            return keras.ops.maximum(self.quantile * error, (self.quantile - 1) * error)

        def get_config(self):
            return dict(super().get_config(), quantile=self.quantile)
    """, id="q1-keras-ops"),
    pytest.param("q2", CLIP_INIT + """
        def call(self, inputs):
            return keras.ops.clip(inputs, self.low, self.high)

        def get_config(self):
            config = super().get_config()
            config.update(low=self.low, high=self.high)
            return config
    """, id="q2-keras-ops-clip"),
    pytest.param("q2", CLIP_INIT + """
        def call(self, inputs):
            return tf.minimum(tf.maximum(inputs, self.low), self.high)

        def get_config(self):
            return {**super().get_config(), "low": self.low, "high": self.high}
    """, id="q2-minimum-of-maximum"),
    pytest.param("q3", RANDOM_SCALE_INIT + """
        def call(self, inputs, training=False):
            if training:
                return inputs * keras.random.uniform(keras.ops.shape(inputs), 1 - self.amount,
                                                     1 + self.amount)
            return inputs
    """, id="q3-keras-random"),
    pytest.param("q3", RANDOM_SCALE_INIT + """
        def call(self, inputs, training=None):
            if not training:
                return inputs
            noise = tf.random.uniform(tf.shape(inputs), -self.amount, self.amount)
            return inputs + inputs * noise
    """, id="q3-training-none-and-centred-noise"),
    pytest.param("q4", """
        def train_step(model, optimizer, loss_fn, inputs, targets):
            with tf.GradientTape() as tape:
                predictions = model(inputs, training=True)
                loss = tf.add_n([tf.reduce_mean(loss_fn(targets, predictions)), *model.losses])
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return loss
    """, id="q4-add-n-and-apply-gradients"),
    pytest.param("q5", """
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32), tf.TensorSpec([], tf.float32)])
    def power_sum(values, exponent):
        return tf.reduce_sum(values ** exponent)

    def power_sums(values, exponents):
        return [float(power_sum(values, exponent)) for exponent in exponents]
    """, id="q5-input-signature"),
    pytest.param("q5", POWER_SUM + """
    def power_sums(values, exponents):
        results = []
        for exponent in exponents:
            results.append(power_sum(values, tf.convert_to_tensor(exponent, tf.float32)).numpy().item())
        return results
    """, id="q5-convert-to-tensor"),
    pytest.param("q6", ACTIVITY_PENALTY_INIT + """
        def call(self, inputs):
            self.add_loss(self.rate * keras.ops.mean(keras.ops.square(inputs)))
            return inputs
    """, id="q6-keras-ops"),
    pytest.param("q6", ACTIVITY_PENALTY_INIT + """
        def call(self, inputs):
            penalty = tf.reduce_mean(inputs ** 2)
            self.add_loss(penalty * self.rate)
            return tf.identity(inputs)
    """, id="q6-identity"),
    pytest.param("q7", CLIPPING_MODEL.format(
        clipping="tf.clip_by_global_norm(gradients, self.clip_norm)[0]", tracking=TRACKING),
        id="q7-the-steps-in-one-go"),
    pytest.param("q7", """
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
        norm = tf.linalg.global_norm(gradients)
        scale = self.clip_norm / tf.maximum(norm, self.clip_norm)
        self.optimizer.apply_gradients(zip([g * scale for g in gradients], self.trainable_variables))
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
        return self.compute_metrics(inputs, targets, predictions)
""", id="q7-global-norm-by-hand"),
]


@pytest.mark.parametrize(("question", "answer"), CORRECT_VARIANTS)
def test_a_correct_variant_passes_every_check(question, answer, source_cells, given_namespace,
                                              capsys):
    _, check = QUESTIONS[question]
    harness.run_answer(given_namespace, answer, harness.cell_source(source_cells[check]))
    printed = capsys.readouterr().out
    assert "ok:" in printed.strip().splitlines()[-1] and "CheckFailed" not in printed, printed


def test_every_question_has_wrong_answers_and_correct_variants():
    for table in (WRONG_ANSWERS, CORRECT_VARIANTS):
        assert {case.values[0] for case in table} == set(QUESTIONS)


# A find-the-bug question shows the symptom; its title, prompt and visible check never name the
# bug or its fix (question -> words that would give it away).
GIVEAWAYS = {
    "q4": ["training=", "training mode", "inference", "dropout", "plain call", "model(inputs)"],
    "q5": ["tf.constant", "as a tensor", "python float", "python number", "python value",
           "convert_to_tensor", "signature", "reduce_retracing"],
}


@pytest.mark.parametrize("question", sorted(GIVEAWAYS))
def test_a_find_the_bug_question_describes_the_symptom_only(question, source_cells):
    prompt = harness.cell_source(source_cells[f"{question}_prompt"])
    assert prompt.startswith(f"## Question {question[1:]} · Find and fix the bug: ")
    visible_check = harness.HIDDEN.sub("", harness.cell_source(source_cells[QUESTIONS[question][1]]))
    intro_line = [line for line in harness.cell_source(source_cells["intro"]).splitlines()
                  if line.startswith(f"| {question[1:]} |")]
    answer = harness.cell_source(source_cells[QUESTIONS[question][0]])
    stub = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", answer, flags=re.DOTALL)
    for text in (prompt, visible_check, stub, *intro_line):
        found = [word for word in GIVEAWAYS[question] if word.lower() in text.lower()]
        assert not found, (question, found)


def test_no_check_cell_needs_a_name_from_a_given_cell(source_cells):
    """A learner who restarts the kernel may run the setup and imports, then jump to one question:
    its check cell must then work with only the names of those two cells and its own answer."""
    defined = set()
    for name in GIVEN[2:]:  # the names a given cell leaves behind (its own locals do not count)
        for statement in ast.parse(harness.cell_source(source_cells[name])).body:
            if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
                defined.add(statement.name)
            elif isinstance(statement, (ast.Assign, ast.For, ast.With)):
                defined |= {node.id for node in ast.walk(statement)
                            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    for _, check in QUESTIONS.values():
        tree = ast.parse(harness.cell_source(source_cells[check]))
        own = {node.id for node in ast.walk(tree)
               if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
        own |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
        own |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        used = {node.id for node in ast.walk(tree)
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)} - own
        assert not used & defined, (check, used & defined)
