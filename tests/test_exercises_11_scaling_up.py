"""Chapter 11's exercises. The find-the-bug cells show their symptom: the "random" augmentation
is identical in both epochs (it runs before the cache), while every sample is read only once.

The checks every chapter shares (solutions, classic wrong answers, the student version's stubs)
are built by tests/exercise_harness.py.
"""

from __future__ import annotations

import pytest

from tests import exercise_harness as harness

ASSIGNMENT = "11_scaling_up"
SOURCE, RELEASE = harness.notebook_paths(ASSIGNMENT)

#: Locked cells that define what the questions use, in notebook order.
GIVEN = ("setup", "imports", "q4_given", "q4_given_tf", "q4_buggy", "q4_symptom", "q5_data")
#: question -> (answer cell, check cell)
QUESTIONS = harness.questions("q1_epoch_seconds", "q2_data_parallel_plan", "q3_next_loss_scale",
                              "q4_fixed_pipeline", "q5_soft_vote", "q6_build_classifier")


source_cells = harness.source_cells_fixture(SOURCE)
given_namespace = harness.given_namespace_fixture(GIVEN)


test_the_assignment_has_the_required_parts = harness.required_parts_test(
    SOURCE, QUESTIONS, "q7_written", ["q4_buggy"])


test_the_solution_passes_its_checks_and_hidden_tests = harness.solution_test(QUESTIONS)


def test_the_find_the_bug_cells_show_their_bug(source_cells, given_namespace, capsys):
    scope = dict(given_namespace)
    capsys.readouterr()
    exec(source_cells["q4_symptom"]["source"], scope)
    printed = capsys.readouterr().out
    assert "every image identical in both epochs: True" in printed, printed
    assert "samples read over the two epochs: 64" in printed, printed


EPOCH = """
    def epoch_seconds(read_seconds, step_seconds, epoch, cache, prefetch):
        reading = {reading}
        return {combine}
    """
PLAN = """
    def data_parallel_plan(samples, per_replica_batch, replicas, base_learning_rate):
        global_batch = {global_batch}
        return global_batch, {steps}, {rate}
    """
PIPELINE = """
    def fixed_pipeline(count, load, augment, batch_size):
        dataset = tf.data.Dataset.range(count)
        {body}
        return dataset
    """
CLASSIFIER = """
    def build_classifier(hp):
        model = keras.Sequential([
            keras.Input(shape=(20,)),
            keras.layers.Dense({units}, activation="relu"),
            keras.layers.Dropout(hp.Choice("dropout", [0.0, 0.25, 0.5])),
            keras.layers.Dense(3, activation="softmax"),
        ])
        model.compile(optimizer=keras.optimizers.Adam({rate}),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    """

WRONG_ANSWERS = [
    pytest.param("q1", EPOCH.format(reading="0.0 if cache else read_seconds",
                                    combine="max(reading, step_seconds) if prefetch else reading + step_seconds"),
                 ["the cache is filled during the first epoch"], id="q1-cache-free-from-epoch-1"),
    pytest.param("q1", EPOCH.format(reading="0.0 if cache and epoch > 1 else read_seconds",
                                    combine="min(reading, step_seconds) if prefetch else reading + step_seconds"),
                 ["SLOWER of the two"], id="q1-prefetch-as-min"),
    pytest.param("q1", EPOCH.format(reading="0.0 if cache and epoch > 1 else read_seconds",
                                    combine="reading + step_seconds"),
                 ["the longer of the two"], id="q1-prefetch-ignored"),
    pytest.param("q1", EPOCH.format(reading="0.0 if cache and epoch > 2 else read_seconds",
                                    combine="max(reading, step_seconds) if prefetch else reading + step_seconds"),
                 ["reads nothing"], id="q1-epochs-off-by-one"),
    pytest.param("q2", PLAN.format(global_batch="per_replica_batch", steps="math.ceil(samples / global_batch)",
                                   rate="base_learning_rate * replicas"),
                 ["GLOBAL batch"], id="q2-per-replica-batch-to-fit"),
    pytest.param("q2", PLAN.format(global_batch="per_replica_batch * replicas", steps="samples // global_batch",
                                   rate="base_learning_rate * replicas"),
                 ["round up"], id="q2-steps-rounded-down"),
    pytest.param("q2", PLAN.format(global_batch="per_replica_batch * replicas", steps="math.ceil(samples / global_batch)",
                                   rate="base_learning_rate"),
                 ["scale the learning rate"], id="q2-learning-rate-unscaled"),
    pytest.param("q3", """
        def next_loss_scale(scale, gradients, good_steps, growth_steps):
            if not all(np.all(np.isfinite(g)) for g in gradients):
                return scale / 2, good_steps, False
            good_steps += 1
            return (scale * 2, 0, True) if good_steps >= growth_steps else (scale, good_steps, True)
        """, ["starts the count again"], id="q3-count-not-reset"),
    pytest.param("q3", """
        def next_loss_scale(scale, gradients, good_steps, growth_steps):
            if not all(np.all(np.isfinite(g)) for g in gradients):
                return scale / 2, 0, True
            good_steps += 1
            return (scale * 2, 0, True) if good_steps >= growth_steps else (scale, good_steps, True)
        """, ["must be skipped"], id="q3-applies-the-overflowed-step"),
    pytest.param("q3", """
        def next_loss_scale(scale, gradients, good_steps, growth_steps):
            if not all(np.all(np.isfinite(g)) for g in gradients):
                return scale / 2, 0, False
            return scale * 2, 0, True
        """, ["only after growth_steps"], id="q3-doubles-every-step"),
    pytest.param("q3", """
        def next_loss_scale(scale, gradients, good_steps, growth_steps):
            if not np.all(np.isfinite(gradients[0])):
                return scale / 2, 0, False
            good_steps += 1
            return (scale * 2, 0, True) if good_steps >= growth_steps else (scale, good_steps, True)
        """, ["EVERY gradient"], id="q3-looks-at-the-first-gradient-only"),
    pytest.param("q4", "fixed_pipeline = buggy_pipeline", ["what does cache() store?"], id="q4-the-bug"),
    pytest.param("q4", PIPELINE.format(body="dataset = dataset.map(load).map(augment).shuffle(count).batch(batch_size)"),
                 ["keep the cache"], id="q4-cache-removed"),
    pytest.param("q4", PIPELINE.format(body="dataset = dataset.map(load).cache().map(augment).batch(batch_size, drop_remainder=True)"),
                 ["keeping the last smaller batch"], id="q4-drops-the-last-batch"),
    pytest.param("q5", """
        def soft_vote(member_probabilities, labels):
            classes = np.asarray(member_probabilities).argmax(axis=-1)
            ensemble = np.round(classes.mean(axis=0))
            return float(np.mean(ensemble == labels)), float((classes == labels).mean())
        """, ["average the probabilities"], id="q5-averages-class-numbers"),
    pytest.param("q5", """
        def soft_vote(member_probabilities, labels):
            p = np.asarray(member_probabilities)
            members = (p.argmax(axis=-1) == labels).mean(axis=1)
            return float(np.mean(p.mean(axis=0).argmax(axis=-1) == labels)), float(members.max())
        """, ["then their mean"], id="q5-best-member-not-average"),
    pytest.param("q5", """
        def soft_vote(member_probabilities, labels):
            p = np.asarray(member_probabilities)
            members = (p.argmax(axis=-1) == labels).mean(axis=1)
            return float(np.mean(p.mean(axis=1).argmax(axis=-1) == labels)), float(members.mean())
        """, ["axis 0"], id="q5-averages-over-samples"),
    pytest.param("q6", CLASSIFIER.format(units='hp.Int("units", min_value=16, max_value=128)',
                                         rate='hp.Choice("learning_rate", [1e-3, 1e-2, 1e-4])'),
                 ["step=16"], id="q6-units-without-step"),
    pytest.param("q6", CLASSIFIER.format(units='hp.Int("units", min_value=16, max_value=128, step=16)',
                                         rate="1e-3"),
                 ["declare units, dropout and learning_rate"], id="q6-learning-rate-not-tuned"),
    pytest.param("q6", CLASSIFIER.format(units='hp.Int("units", min_value=16, max_value=128, step=16)',
                                         rate='hp.Choice("learning_rate", [1e-2, 1e-3, 1e-4])'),
                 ["a Choice's is its first value"], id="q6-wrong-default-learning-rate"),
]


test_a_classic_wrong_answer_fails_with_a_hint = harness.wrong_answer_test(QUESTIONS, WRONG_ANSWERS)


CORRECT_VARIANTS = [
    pytest.param("q1", """
        def epoch_seconds(read_seconds, step_seconds, epoch, cache, prefetch):
            if cache and epoch >= 2:
                read_seconds = 0
            if prefetch:
                return float(np.maximum(read_seconds, step_seconds))
            return read_seconds + step_seconds
        """, id="q1-ifs-and-np-maximum"),
    pytest.param("q2", """
        def data_parallel_plan(samples, per_replica_batch, replicas, base_learning_rate):
            global_batch = per_replica_batch * replicas
            return global_batch, -(-samples // global_batch), base_learning_rate * global_batch / per_replica_batch
        """, id="q2-ceil-by-negated-floor"),
    pytest.param("q3", """
        def next_loss_scale(scale, gradients, good_steps, growth_steps):
            if any(not np.isfinite(g).all() for g in gradients):
                return scale * 0.5, 0, False
            if good_steps + 1 == growth_steps:
                return scale * 2, 0, True
            return scale, good_steps + 1, True
        """, id="q3-any-and-equality"),
    pytest.param("q4", PIPELINE.format(body="dataset = dataset.map(load).cache().shuffle(count).batch(batch_size)"
                                            ".unbatch().map(augment).batch(batch_size)"),
                 id="q4-no-parallel-calls-no-prefetch"),
    pytest.param("q4", PIPELINE.format(body="dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE).cache()"
                                            ".map(augment, num_parallel_calls=tf.data.AUTOTUNE)"
                                            ".shuffle(count).batch(batch_size).prefetch(1)"),
                 id="q4-augment-before-shuffle"),
    pytest.param("q5", """
        def soft_vote(member_probabilities, labels):
            total = sum(member_probabilities)
            ensemble = np.argmax(total, axis=1)
            members = [np.mean(np.argmax(p, axis=1) == labels) for p in member_probabilities]
            return np.mean(ensemble == labels), np.mean(members)
        """, id="q5-sum-not-mean"),
    pytest.param("q6", """
        def build_classifier(hp):
            inputs = keras.Input(shape=(20,))
            x = keras.layers.Dense(hp.Int("units", 16, 128, step=16), activation="relu")(inputs)
            x = keras.layers.Dropout(rate=hp.Choice("dropout", values=[0.0, 0.25, 0.5]))(x)
            model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
            model.compile(keras.optimizers.Adam(learning_rate=hp.Choice("learning_rate", [0.001, 0.01, 0.0001])),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            return model
        """, id="q6-functional-api"),
]


@pytest.mark.parametrize(("question", "answer"), CORRECT_VARIANTS)
def test_a_correct_variant_passes_every_check(question, answer, source_cells, given_namespace):
    _, check = QUESTIONS[question]
    harness.run_answer(given_namespace, answer, harness.cell_source(source_cells[check]))


def test_the_student_version_has_stubs_that_fail_with_a_hint(given_namespace):
    released = harness.read_sources(RELEASE)
    harness.assert_stubs_fail_politely(given_namespace, released, QUESTIONS)
    assert released["q7_written"].strip() == "YOUR ANSWER HERE"
