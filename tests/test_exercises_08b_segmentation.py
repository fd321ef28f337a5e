"""Chapter 08b's exercises. The find-the-bug cell shows its symptom: training on masks read
straight from the pets' trimap files (values 1, 2, 3) stops at the first step with the loss's
complaint about a label value outside [0, 3).

The checks every chapter shares (solutions, classic wrong answers, the student version's stubs)
are built by tests/exercise_harness.py.
"""

from __future__ import annotations

import pytest

from tests import exercise_harness as harness

ASSIGNMENT = "08b_segmentation"
SOURCE, RELEASE = harness.notebook_paths(ASSIGNMENT)

#: Locked cells that define what the questions use, in notebook order.
GIVEN = ("setup", "imports", "q6_buggy")
#: question -> (answer cell, check cell)
QUESTIONS = harness.questions("q1_mean_iou", "q2_lazy_scores", "q3_conv_transpose",
                              "q4_repeat_kernel", "q5_small_unet", "q6_masks_for_training")


source_cells = harness.source_cells_fixture(SOURCE)
given_namespace = harness.given_namespace_fixture(GIVEN)


test_the_assignment_has_the_required_parts = harness.required_parts_test(
    SOURCE, QUESTIONS, "q7_written", ["q6_buggy"])


test_the_solution_passes_its_checks_and_hidden_tests = harness.solution_test(
    QUESTIONS, min_ok=2, also=harness.no_check_failed)


def test_the_find_the_bug_cell_shows_its_symptom(source_cells, capsys):
    harness.run_given(source_cells, GIVEN)
    printed = capsys.readouterr().out
    assert "values in pet_trimaps: [1 2 3]" in printed, printed
    assert "InvalidArgumentError:" in printed and "label value of 3" in printed, printed


def test_no_find_the_bug_text_names_the_fix(source_cells):
    visible = " ".join(harness.cell_source(source_cells[key]).split("### BEGIN HIDDEN TESTS")[0]
                       for key in ("q6_prompt", "q6_masks_for_training")).lower()
    for giveaway in ("subtract", "trimaps - 1", "minus", "remap", "shift the", "np.select", "np.where"):
        assert giveaway not in visible, giveaway


_PIXEL_ACCURACY = """
    def mean_iou(true_mask, predicted_mask, num_classes):
        return float(np.mean(np.asarray(true_mask) == np.asarray(predicted_mask)))
    """
_ABSENT_COUNTS_ZERO = """
    def mean_iou(true_mask, predicted_mask, num_classes):
        scores = []
        for c in range(num_classes):
            both = np.sum((true_mask == c) & (predicted_mask == c))
            either = np.sum((true_mask == c) | (predicted_mask == c))
            scores.append(both / either if either else 0.0)
        return float(np.mean(scores))
    """
_RECALL = """
    def mean_iou(true_mask, predicted_mask, num_classes):
        scores = [np.sum((true_mask == c) & (predicted_mask == c)) / np.sum(true_mask == c)
                  for c in range(num_classes) if np.sum(true_mask == c)]
        return float(np.mean(scores))
    """
_BACKGROUND_IS_ZERO = """
    def lazy_scores(masks, num_classes):
        share = float(np.mean(np.asarray(masks) == 0))
        return share, share / num_classes
    """
_DIVIDES_BY_ALL_CLASSES = """
    def lazy_scores(masks, num_classes):
        share = np.bincount(np.ravel(masks), minlength=num_classes).max() / np.size(masks)
        return float(share), float(share / num_classes)
    """
_ASSIGNS = """
    def conv_transpose(image, kernel, stride):
        size, filters = kernel.shape[0], kernel.shape[2]
        h, w = image.shape[:2]
        out = np.zeros(((h - 1) * stride + size, (w - 1) * stride + size, filters))
        for r in range(h):
            for c in range(w):
                out[r * stride: r * stride + size, c * stride: c * stride + size] = kernel @ image[r, c]
        return out
    """
_CONV2D_LAYOUT = """
    def conv_transpose(image, kernel, stride):
        size, filters = kernel.shape[0], kernel.shape[3]
        h, w = image.shape[:2]
        out = np.zeros(((h - 1) * stride + size, (w - 1) * stride + size, filters))
        for r in range(h):
            for c in range(w):
                out[r * stride: r * stride + size, c * stride: c * stride + size] += np.einsum(
                    "ijcf,c->ijf", kernel, image[r, c])
        return out
    """
_ALL_ONES = """
    def repeat_kernel(channels):
        return np.ones((2, 2, channels, channels), dtype="float32")
    """
_NO_SKIP = """
    def small_unet(image_size, channels, num_classes):
        inputs = keras.Input(shape=(image_size, image_size, channels))
        down = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inputs)
        x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(down)
        x = layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(x)
        x = layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(x)
        return keras.Model(inputs, layers.Conv2D(num_classes, 1, activation="softmax")(x))
    """
_ADD_SKIP = _NO_SKIP.replace(
    "x = layers.Conv2DTranspose(16, 3, strides=2, padding=\"same\", activation=\"relu\")(x)\n"
    "        x = layers.Conv2DTranspose",
    "x = layers.Conv2DTranspose(16, 3, strides=2, padding=\"same\", activation=\"relu\")(x)\n"
    "        x = layers.Add()([x, down])\n        x = layers.Conv2DTranspose", 1)
_SIGMOID = _NO_SKIP.replace(
    "x = layers.Conv2DTranspose(16, 3, strides=2, padding=\"same\", activation=\"relu\")(x)\n"
    "        x = layers.Conv2DTranspose",
    "x = layers.Conv2DTranspose(16, 3, strides=2, padding=\"same\", activation=\"relu\")(x)\n"
    "        x = layers.Concatenate()([x, down])\n        x = layers.Conv2DTranspose", 1).replace(
    'activation="softmax"', 'activation="sigmoid"')

# (question, answer, which check cell must catch it, words the hint must contain)
WRONG_ANSWERS = [
    pytest.param("q1", _PIXEL_ACCURACY, "visible", ["that is the pixel accuracy"], id="q1-pixel-accuracy"),
    pytest.param("q1", _ABSENT_COUNTS_ZERO, "visible", ["leave it out of the mean"],
                 id="q1-absent-class-counts-as-zero"),
    pytest.param("q1", _RECALL, "visible", ["pixels in either mask"], id="q1-recall-not-iou"),
    pytest.param("q2", _BACKGROUND_IS_ZERO, "visible", ["the most frequent class"],
                 id="q2-assumes-class-0-is-background"),
    pytest.param("q2", _DIVIDES_BY_ALL_CLASSES, "hidden", ["an absent class"],
                 id="q2-absent-class-in-the-mean"),
    pytest.param("q3", _ASSIGNS, "visible", ["values add up"], id="q3-overlaps-overwritten"),
    pytest.param("q3", _CONV2D_LAYOUT, "visible", ["(size, size, filters, in_channels)"],
                 id="q3-conv2d-kernel-layout"),
    pytest.param("q4", _ALL_ONES, "visible", ["copy its own input channel"], id="q4-all-ones-mixes-channels"),
    pytest.param("q4", """
        def repeat_kernel(channels):
            return np.ones((2, 2, channels), dtype="float32")
        """, "visible", ["repeat_kernel(1)", "four axes"], id="q4-kernel-without-filters-axis"),
    pytest.param("q5", _NO_SKIP, "visible", ["expected 14,133 parameters", "skip"], id="q5-no-skip"),
    pytest.param("q5", _ADD_SKIP, "visible", ["expected 14,133 parameters", "32 channels"], id="q5-add-not-concatenate"),
    pytest.param("q5", _SIGMOID, "visible", ["a softmax over the classes"], id="q5-sigmoid-output"),
    pytest.param("q6", "masks_for_training = buggy_masks_for_training", "visible", ["class ids 0 to num_classes - 1"], id="q6-the-bug-left-in"),
    pytest.param("q6", """
        def masks_for_training(trimaps):
            return np.asarray(trimaps, dtype="int32") - 1
        """, "visible", ["0 background, 1 pet, 2 outline"], id="q6-shift-keeps-the-files-order"),
    pytest.param("q6", """
        def masks_for_training(trimaps):
            return np.asarray(trimaps, dtype="int32") % 3
        """, "visible", ["0 background, 1 pet, 2 outline"], id="q6-modulo-makes-outline-background"),
]


test_a_classic_wrong_answer_fails_with_a_hint = harness.wrong_answer_test(
    QUESTIONS, WRONG_ANSWERS, caught_by=True, hint_when_hidden=False)


CORRECT_VARIANTS = [
    pytest.param("q1", """
        def mean_iou(true_mask, predicted_mask, num_classes):
            m = keras.metrics.MeanIoU(num_classes=num_classes)
            m.update_state(true_mask, predicted_mask)
            return float(m.result())
        """, id="q1-keras-metric"),
    pytest.param("q1", """
        def mean_iou(true_mask, predicted_mask, num_classes):
            t, p = np.ravel(true_mask), np.ravel(predicted_mask)
            matrix = np.bincount(t * num_classes + p, minlength=num_classes ** 2).reshape(num_classes, -1)
            hits = np.diag(matrix)
            union = matrix.sum(0) + matrix.sum(1) - hits
            return float(np.mean(hits[union > 0] / union[union > 0]))
        """, id="q1-confusion-matrix"),
    pytest.param("q2", """
        def lazy_scores(masks, num_classes):
            top = np.bincount(np.ravel(masks)).argmax()
            lazy = np.full_like(masks, top)
            metric = keras.metrics.MeanIoU(num_classes=num_classes)
            metric.update_state(masks, lazy)
            return float(np.mean(lazy == masks)), float(metric.result())
        """, id="q2-via-mean-iou"),
    pytest.param("q3", """
        def conv_transpose(image, kernel, stride):
            size, filters = kernel.shape[0], kernel.shape[2]
            h, w, _ = image.shape
            out = np.zeros(((h - 1) * stride + size, (w - 1) * stride + size, filters))
            for r in range(h):
                for c in range(w):
                    out[r * stride: r * stride + size, c * stride: c * stride + size] += np.einsum(
                        "ijfc,c->ijf", kernel, image[r, c])
            return out
        """, id="q3-einsum"),
    pytest.param("q4", """
        def repeat_kernel(channels):
            return np.broadcast_to(np.eye(channels, dtype="float32"), (2, 2, channels, channels)).copy()
        """, id="q4-broadcast-identity"),
    pytest.param("q5", """
        def small_unet(image_size, channels, num_classes):
            inputs = keras.Input(shape=(image_size, image_size, channels))
            down = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inputs)
            x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(down)
            x = layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(x)
            x = layers.concatenate([down, x], axis=-1)
            x = layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(x)
            return keras.Model(inputs, layers.Conv2D(num_classes, 1, activation="softmax")(x))
        """, id="q5-skip-first-in-the-concatenation"),
    pytest.param("q6", """
        def masks_for_training(trimaps):
            trimaps = np.asarray(trimaps)
            return np.where(trimaps == 1, 1, np.where(trimaps == 3, 2, 0)).astype("uint8")
        """, id="q6-where"),
    pytest.param("q6", """
        def masks_for_training(trimaps):
            masks = np.zeros(np.shape(trimaps), dtype="int64")
            masks[np.asarray(trimaps) == 1] = 1
            masks[np.asarray(trimaps) == 3] = 2
            return masks
        """, id="q6-boolean-indexing"),
]


@pytest.mark.parametrize(("question", "answer"), CORRECT_VARIANTS)
def test_a_correct_variant_passes_every_check(question, answer, source_cells, given_namespace):
    _, check = QUESTIONS[question]
    harness.run_answer(given_namespace, answer, harness.cell_source(source_cells[check]))


test_the_student_version_has_stubs_that_fail_with_a_hint = harness.stubs_test(RELEASE, QUESTIONS)
