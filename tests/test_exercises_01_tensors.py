"""Chapter 01 exercises: plausible wrong answers fail with a hint, correct variants pass.

Each question's cells run in this process (TensorFlow is imported once for the module): the
given cells, then an answer (the instructor's solution, a learner's wrong answer, a correct
variant or the student stub), then the check cell as a learner sees it (visible checks only) or as
the instructor grades it (hidden tests included). The two tables below are the point of this
module: ``WRONG_ANSWERS`` holds, for every question, answers a learner could plausibly hand in
that must fail, and ``CORRECT_VARIANTS`` answers written another way that must pass. The format,
the sync of the student version and its freedom from leaks are tested for every assignment in
tests/test_exercises.py, which also runs this notebook in a real kernel.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.exercise_harness import (
    HIDDEN,
    notebook_paths,
    questions,
    quiet_locked_namespace,
    read_cells,
    run_answer_printing,
    without_solution_markers,
)
from tests.exercise_harness import cell_source as _source

ASSIGNMENT = "01_tensors"
SOURCE, RELEASE = notebook_paths(ASSIGNMENT)

#: question -> (answer cell, check cell)
QUESTIONS = questions("q1_rank_shape_dtype", "q2_center_crop", "q3_running_totals",
                      "q4_weighted_sum", "q5_channels_first", "q6_standardize", "q7_match_scores")

Q1 = """
daily_sequences = {daily}
video_batch = {video}
video_rank = {rank}
"""
Q1_RIGHT = dict(daily="tf.reshape(hourly_readings, (7, 24, 3))",
                video="tf.zeros((4, 10, 64, 64, 3))", rank="video_batch.ndim")


def q1(**changes: str) -> str:
    return Q1.format(**{**Q1_RIGHT, **changes})


# (question, answer code, which checks must catch it, words the hint must contain)
WRONG_ANSWERS = [
    pytest.param("q1", q1(daily="tf.reshape(hourly_readings, (24, 7, 3))"),
                 "visible", "7 days", id="q1-days-and-hours-swapped"),
    pytest.param("q1", q1(daily="tf.transpose(tf.reshape(hourly_readings, (24, 7, 3)), (1, 0, 2))"),
                 "visible", "hour 24 of the week", id="q1-right-shape-wrong-order"),
    pytest.param("q1", q1(video="tf.zeros((4, 10, 3, 64, 64))"),
                 "visible", "channels", id="q1-video-channels-first"),
    pytest.param("q1", q1(rank="4"), "visible", "number of axes", id="q1-rank-of-one-frame"),
    pytest.param("q1", q1(rank="tf.rank(video_batch)"), "hidden", "returns a tensor",
                 id="q1-rank-as-a-tensor"),
    pytest.param("q1", q1(video="tf.ones((4, 10, 64, 64, 3))"), "hidden", "zeros",
                 id="q1-ones-not-zeros"),
    pytest.param("q2", """
def center_crop(images, size):
    top = (images.shape[1] - size) // 2
    return images[:, top:top + size]
""", "visible", "width axis (2)", id="q2-height-only"),
    pytest.param("q2", """
def center_crop(images, size):
    return images[:, 1:3, 1:3, :]
""", "hidden", "whatever the size", id="q2-hardcoded-for-the-probe"),
    pytest.param("q2", """
def center_crop(images, size):
    top, left = (images.shape[1] - size) // 2, (images.shape[2] - size) // 2
    return images[:, top:-top, left:-left, :]
""", "hidden", "size entries long", id="q2-negative-stop-index"),
    pytest.param("q2", """
def center_crop(images, size):
    top, left = images.shape[1] // 2 - size // 2, images.shape[2] // 2 - size // 2
    return images[:, top:top + size, left:left + size, :]
""", "hidden", "(height - size) // 2", id="q2-off-by-one-start"),
    pytest.param("q3", """
def add_to_totals(totals, batch):
    totals = totals + tf.reduce_sum(batch, axis=0)
""", "visible", "the variable you were given", id="q3-name-rebound-variable-unchanged"),
    pytest.param("q3", """
def add_to_totals(totals, batch):
    totals.assign(tf.reduce_sum(batch, axis=0))
""", "visible", "adds to what the first one left", id="q3-assign-overwrites"),
    pytest.param("q3", """
def add_to_totals(totals, batch):
    totals += tf.reduce_sum(batch, axis=0)
""", "visible", "change the variable", id="q3-plus-equals-on-a-variable"),
    pytest.param("q3", """
def add_to_totals(totals, batch):
    totals.assign_add(tf.reduce_sum(batch, axis=1))
""", "visible", "change the variable", id="q3-sum-over-features"),
    pytest.param("q3", """
def add_to_totals(totals, batch):
    if batch.shape[0] == batch.shape[1]:
        totals.assign_add(tf.reduce_sum(batch, axis=1))
    else:
        totals.assign_add(tf.reduce_sum(batch, axis=0))
""", "hidden", "axis of the rows", id="q3-wrong-axis-on-square-batches"),
    pytest.param("q4", """
def weighted_sum(features, weights):
    return tf.reduce_sum(features * tf.cast(weights, tf.float16), axis=-1)
""", "visible", "must be float32", id="q4-weights-cast-down"),
    pytest.param("q4", """
def weighted_sum(features, weights):
    return tf.cast(tf.reduce_sum(features * tf.cast(weights, tf.float16), axis=-1), tf.float32)
""", "hidden", "three significant digits", id="q4-weights-rounded-then-cast-back"),
    pytest.param("q4", """
def weighted_sum(features, weights):
    return tf.reduce_sum(tf.cast(features, tf.float64) * tf.cast(weights, tf.float64), axis=-1)
""", "visible", "must be float32", id="q4-everything-float64"),
    pytest.param("q4", """
def weighted_sum(features, weights):
    return tf.reduce_sum(tf.cast(features, tf.float32) * weights, axis=0)
""", "visible", "must be float32", id="q4-sum-over-the-wrong-axis"),
    pytest.param("q5", """
def to_channels_first(images):
    batch, height, width, channels = images.shape
    return tf.reshape(images, (batch, channels, height, width))
""", "visible", "still the scrambled pictures", id="q5-the-buggy-reshape"),
    pytest.param("q5", """
def to_channels_first(images):
    return tf.transpose(images, perm=[0, 2, 3, 1])
""", "visible", "unchanged", id="q5-the-channels-last-perm-reused"),
    pytest.param("q5", """
def to_channels_first(images):
    return tf.transpose(images, perm=[0, 3, 2, 1])
""", "visible", "unchanged", id="q5-height-and-width-swapped"),
    pytest.param("q5", """
def to_channels_first(images):
    return tf.transpose(images)
""", "visible", "unchanged", id="q5-transpose-without-perm"),
    pytest.param("q6", """
def standardize_features(batch):
    return (batch - tf.reduce_mean(batch, axis=1)) / tf.math.reduce_std(batch, axis=1)
""", "visible", "axis 0", id="q6-statistics-per-sample"),
    pytest.param("q6", """
def standardize_features(batch):
    return (batch - tf.reduce_mean(batch)) / tf.math.reduce_std(batch)
""", "visible", "axis 0", id="q6-statistics-of-the-whole-batch"),
    pytest.param("q6", """
def standardize_features(batch):
    return batch - tf.reduce_mean(batch, axis=0)
""", "visible", "axis 0", id="q6-centred-not-scaled"),
    pytest.param("q6", """
def standardize_features(batch):
    mean = tf.reduce_mean(batch, axis=0)
    std = tf.sqrt(tf.reduce_sum((batch - mean) ** 2, axis=0) / (batch.shape[0] - 1))
    return (batch - mean) / std
""", "visible", "axis 0", id="q6-sample-std-though-the-question-fixes-reduce_std"),
    pytest.param("q7", """
def match_scores(queries, documents):
    batch, m, d = documents.shape
    return queries @ tf.reshape(documents, (batch, d, m))
""", "visible", "recall which axes", id="q7-reshape-instead-of-transpose"),
    pytest.param("q7", """
def match_scores(queries, documents):
    return queries @ tf.transpose(documents)
""", "visible", "recall which axes", id="q7-transpose-without-perm"),
    pytest.param("q7", """
def match_scores(queries, documents):
    return tf.reduce_sum(queries * documents, axis=-1)
""", "visible", "recall which axes", id="q7-element-wise-product"),
    pytest.param("q7", """
def match_scores(queries, documents):
    if queries.shape[1] == documents.shape[1]:
        return documents @ tf.transpose(queries, perm=[0, 2, 1])
    return queries @ tf.transpose(documents, perm=[0, 2, 1])
""", "hidden", "dot product over the d numbers", id="q7-pairs-transposed-when-n-equals-m"),
    pytest.param("q7", """
def match_scores(queries, documents):
    return queries[:1] @ tf.transpose(documents[:1], perm=[0, 2, 1])
""", "hidden", "each search b", id="q7-first-search-only"),
]

# (question, answer code): correct answers written another way than the model solution
CORRECT_VARIANTS = [
    pytest.param("q1", q1(daily="tf.reshape(hourly_readings, (-1, 24, 3))",
                          rank="len(video_batch.shape)"), id="q1-minus-one-and-len"),
    pytest.param("q1", q1(daily="tf.reshape(hourly_readings, [7, -1, 3])",
                          video='tf.zeros([4, 10, 64, 64, 3], dtype="float32")',
                          rank="int(tf.rank(video_batch))"), id="q1-lists-and-int-of-rank"),
    pytest.param("q1", q1(daily="tf.constant(hourly_readings.numpy().reshape(7, 24, 3))",
                          video="tf.zeros((4, 10, 64, 64, 3))",
                          rank="video_batch.shape.rank"), id="q1-through-numpy"),
    pytest.param("q2", """
def center_crop(images, size):
    top, left = (images.shape[1] - size) // 2, (images.shape[2] - size) // 2
    return images[:, top:top + size, left:left + size]
""", id="q2-trailing-axis-implicit"),
    pytest.param("q2", """
def center_crop(images, size):
    top, left = (images.shape[1] - size) // 2, (images.shape[2] - size) // 2
    return tf.image.crop_to_bounding_box(images, top, left, size, size)
""", id="q2-tf-image"),
    pytest.param("q2", """
def center_crop(images, size):
    shape = tf.shape(images)
    top, left = (shape[1] - size) // 2, (shape[2] - size) // 2
    return tf.slice(images, [0, top, left, 0], [-1, size, size, -1])
""", id="q2-tf-slice-with-dynamic-shape"),
    pytest.param("q3", """
def add_to_totals(totals, batch):
    for row in batch:
        totals.assign_add(row)
""", id="q3-one-row-at-a-time"),
    pytest.param("q3", """
def add_to_totals(totals, batch):
    totals.assign(totals + tf.reduce_sum(batch, axis=0))
""", id="q3-assign-the-sum"),
    pytest.param("q3", """
def add_to_totals(totals, batch):
    return totals.assign_add(np.sum(batch, axis=0))
""", id="q3-numpy-sum-and-returning-the-variable"),
    pytest.param("q4", """
def weighted_sum(features, weights):
    return tf.linalg.matvec(tf.cast(features, weights.dtype), weights)
""", id="q4-matvec"),
    pytest.param("q4", """
def weighted_sum(features, weights):
    return tf.tensordot(tf.cast(features, "float32"), weights, axes=1)
""", id="q4-tensordot"),
    pytest.param("q4", """
def weighted_sum(features, weights):
    return tf.einsum("sf,f->s", tf.cast(features, tf.float32), weights)
""", id="q4-einsum"),
    pytest.param("q5", """
def to_channels_first(images):
    return tf.einsum("bhwc->bchw", images)
""", id="q5-einsum"),
    pytest.param("q5", """
def to_channels_first(images):
    return tf.experimental.numpy.moveaxis(images, -1, 1)
""", id="q5-moveaxis"),
    pytest.param("q5", """
def to_channels_first(images):
    return np.moveaxis(images.numpy(), 3, 1)
""", id="q5-numpy-moveaxis"),
    pytest.param("q6", """
def standardize_features(batch):
    centred = batch - tf.reduce_mean(batch, axis=0, keepdims=True)
    return centred / tf.math.reduce_std(batch, axis=0, keepdims=True)
""", id="q6-keepdims"),
    pytest.param("q6", """
def standardize_features(batch):
    mean, variance = tf.nn.moments(batch, axes=[0])
    return (batch - mean) / tf.sqrt(variance)
""", id="q6-moments"),
    pytest.param("q6", """
def standardize_features(batch):
    values = batch.numpy()
    return (values - values.mean(axis=0)) / values.std(axis=0)
""", id="q6-numpy"),
    pytest.param("q7", """
def match_scores(queries, documents):
    return tf.matmul(queries, documents, transpose_b=True)
""", id="q7-transpose-b"),
    pytest.param("q7", """
def match_scores(queries, documents):
    return tf.einsum("bnd,bmd->bnm", queries, documents)
""", id="q7-einsum"),
    pytest.param("q7", """
def match_scores(queries, documents):
    return tf.reduce_sum(queries[:, :, tf.newaxis, :] * documents[:, tf.newaxis, :, :], axis=-1)
""", id="q7-broadcasting"),
    pytest.param("q7", """
def match_scores(queries, documents):
    return tf.linalg.matmul(queries, tf.linalg.matrix_transpose(documents))
""", id="q7-matrix-transpose"),
]

#: the find-the-bug questions: their buggy code is shown; their title, prompt and visible check
#: must describe the symptom, never the bug or its fix
FIND_THE_BUG = {"q4": ("tf.cast", "float16 meets", "cast the features"),
                "q5": ("tf.transpose", "transpose", "reshape", "perm")}


@pytest.fixture(scope="module")
def source_cells() -> dict[str, dict[str, Any]]:
    return read_cells(SOURCE)


@pytest.fixture(scope="module")
def given_namespace(source_cells) -> Iterator[dict[str, Any]]:
    """A namespace after running every locked code cell that is neither an answer nor a check:
    setup, imports, data and the buggy code the find-the-bug questions show."""
    with quiet_locked_namespace(source_cells) as namespace:
        yield namespace


def test_the_assignment_has_the_questions_the_format_asks_for(source_cells):
    graded = {name: cell for name, cell in source_cells.items()
              if cell["metadata"]["nbgrader"]["grade"]}
    code_checks = [name for name, cell in graded.items() if cell["cell_type"] == "code"]
    written = [name for name, cell in graded.items() if cell["cell_type"] == "markdown"]
    assert sorted(code_checks) == sorted(check for _, check in QUESTIONS.values())
    assert len(code_checks) >= 5 and written == ["q8_written"]
    assert all("### BEGIN HIDDEN TESTS" in _source(graded[name]) for name in code_checks)
    assert sum(cell["metadata"]["nbgrader"]["points"] for cell in graded.values()) == 16
    assert [name for name in source_cells if name.endswith("_buggy")] == ["q4_buggy", "q5_buggy"]


def test_every_question_has_wrong_answers_and_correct_variants():
    wrong = {param.values[0] for param in WRONG_ANSWERS}
    right = {param.values[0] for param in CORRECT_VARIANTS}
    assert wrong == right == set(QUESTIONS)


@pytest.mark.parametrize("question", sorted(FIND_THE_BUG))
def test_find_the_bug_questions_describe_the_symptom_not_the_fix(question, source_cells):
    _, check = QUESTIONS[question]
    shown = (_source(source_cells[f"{question}_prompt"]) + "\n"
             + HIDDEN.sub("", _source(source_cells[check])))
    for telltale in FIND_THE_BUG[question]:
        assert telltale.lower() not in shown.lower(), (question, telltale)


def test_check_cells_use_no_name_from_a_cell_a_learner_may_skip(source_cells):
    """The buggy cells and the prompts' examples may be skipped after a restart: no check reads
    a name they define."""
    skippable = set()
    for name, cell in source_cells.items():
        if name.endswith("_buggy"):
            for pair in re.findall(r"^(\w+)\s*=|^def (\w+)", _source(cell), re.MULTILINE):
                skippable |= set(pair)
    skippable.discard("")
    assert {"buggy_weighted_sum", "buggy_to_channels_first", "picture", "red"} <= skippable
    for _, check in QUESTIONS.values():
        tree = ast.parse(without_solution_markers(_source(source_cells[check])))
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        assert not used & skippable, (check, used & skippable)


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_solution_passes_its_checks_hidden_tests_included(question, source_cells,
                                                              given_namespace):
    answer, check = QUESTIONS[question]
    printed = run_answer_printing(given_namespace,
                                  without_solution_markers(_source(source_cells[answer])),
                                  without_solution_markers(_source(source_cells[check])))
    assert printed.count("ok:") >= 2, printed


@pytest.mark.parametrize(("question", "variant"), CORRECT_VARIANTS)
def test_a_correct_variant_passes_hidden_tests_included(question, variant, source_cells,
                                                        given_namespace):
    _, check = QUESTIONS[question]
    printed = run_answer_printing(given_namespace, variant,
                                  without_solution_markers(_source(source_cells[check])))
    assert "ok:" in printed and "CheckFailed" not in printed


@pytest.mark.parametrize("question", QUESTIONS)
def test_an_unanswered_question_says_so(question, given_namespace):
    from course_lib.checks import CheckFailed

    answer, check = QUESTIONS[question]
    released = read_cells(RELEASE)
    stub = _source(released[answer])
    if not stub.lstrip().startswith("def "):  # a stub of plain statements stops in its own cell
        with pytest.raises(NotImplementedError):
            run_answer_printing(given_namespace, stub, "")
        return
    with pytest.raises(CheckFailed, match="not answered yet"):
        run_answer_printing(given_namespace, stub, _source(released[check]))


@pytest.mark.parametrize(("question", "wrong_answer", "caught_by", "hint"), WRONG_ANSWERS)
def test_a_plausible_wrong_answer_fails_with_a_hint(question, wrong_answer, caught_by, hint,
                                                    source_cells, given_namespace):
    from course_lib.checks import CheckFailed

    _, check = QUESTIONS[question]
    full_check = without_solution_markers(_source(source_cells[check]))
    visible_check = HIDDEN.sub("", _source(source_cells[check]))
    if caught_by == "hidden":  # the learner's visible checks pass; the grader's do not
        printed = run_answer_printing(given_namespace, wrong_answer, visible_check)
        assert "ok:" in printed
    with pytest.raises(CheckFailed) as failure:
        run_answer_printing(given_namespace, wrong_answer,
                            full_check if caught_by == "hidden" else visible_check)
    message = str(failure.value)
    assert "\nHint: " in message and hint in message.split("\nHint: ", 1)[1], message
