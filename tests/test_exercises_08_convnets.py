"""Chapter 08's exercises. The find-the-bug cells show their bug: a classifier without Flatten
that gives one softmax per position, and a residual block whose shapes cannot be added because
it lacks padding="same".

The checks every chapter shares (solutions, classic wrong answers, the student version's stubs)
are built by tests/exercise_harness.py.
"""

from __future__ import annotations

import pytest

from tests import exercise_harness as harness

ASSIGNMENT = "08_convnets"
SOURCE, RELEASE = harness.notebook_paths(ASSIGNMENT)

#: Locked cells that define what the questions use, in notebook order.
GIVEN = ("setup", "imports", "q3_buggy", "q5_buggy")
#: question -> (answer cell, check cell)
QUESTIONS = harness.questions("q1_conv_output_shape", "q2_convolve2d", "q3_build_mnist_convnet",
                              "q4_conv_params", "q5_residual_block", "q6_gradcam_heatmap")


source_cells = harness.source_cells_fixture(SOURCE)
given_namespace = harness.given_namespace_fixture(GIVEN)


test_the_assignment_has_the_required_parts = harness.required_parts_test(
    SOURCE, QUESTIONS, "q7_written", ["q3_buggy", "q5_buggy"])


test_the_solution_passes_its_checks_and_hidden_tests = harness.solution_test(
    QUESTIONS, min_ok=2, also=harness.no_check_failed)


def test_the_find_the_bug_cells_show_their_bug(source_cells, capsys):
    harness.run_given(source_cells, GIVEN)
    printed = capsys.readouterr().out
    # without Flatten, Dense gives one softmax per position of the 3x3 maps
    assert "output shape: (None, 3, 3, 10)" in printed, printed
    # without padding="same" the 12x12 maps cannot be added to the 16x16 input
    assert "ValueError:" in printed and "(12, 12, 8)" in printed and "(16, 16, 3)" in printed, printed


_VALID_ONLY = """
    def conv_output_shape(height, width, filters, kernel_size, strides=1, padding="valid"):
        return ((height - kernel_size) // strides + 1, (width - kernel_size) // strides + 1, filters)
    """
_NO_PLUS_ONE = """
    def conv_output_shape(height, width, filters, kernel_size, strides=1, padding="valid"):
        if padding == "same":
            return (-(-height // strides), -(-width // strides), filters)
        return ((height - kernel_size) // strides, (width - kernel_size) // strides, filters)
    """
_SAME_IGNORES_STRIDES = """
    def conv_output_shape(height, width, filters, kernel_size, strides=1, padding="valid"):
        if padding == "same":
            return (height, width, filters)
        return ((height - kernel_size) // strides + 1, (width - kernel_size) // strides + 1, filters)
    """
_FLOATS = """
    def conv_output_shape(height, width, filters, kernel_size, strides=1, padding="valid"):
        if padding == "same":
            return (float(-(-height // strides)), float(-(-width // strides)), filters)
        return (float((height - kernel_size) // strides + 1), float((width - kernel_size) // strides + 1),
                filters)
    """
_FLIPPED = """
    def convolve2d(image, kernel):
        kernel = np.asarray(kernel)[::-1, ::-1]
        rows = image.shape[0] - kernel.shape[0] + 1
        cols = image.shape[1] - kernel.shape[1] + 1
        return np.array([[np.sum(image[i:i + kernel.shape[0], j:j + kernel.shape[1]] * kernel)
                          for j in range(cols)] for i in range(rows)])
    """
_SAME_PADDED = """
    def convolve2d(image, kernel):
        kernel = np.asarray(kernel, dtype=float)
        padded = np.pad(image, ((0, kernel.shape[0] - 1), (0, kernel.shape[1] - 1)))
        return np.array([[np.sum(padded[i:i + kernel.shape[0], j:j + kernel.shape[1]] * kernel)
                          for j in range(image.shape[1])] for i in range(image.shape[0])])
    """
_NO_FLATTEN_GAP = """
    def build_mnist_convnet():
        inputs = keras.Input(shape=(28, 28, 1))
        x = layers.MaxPooling2D(2)(layers.Conv2D(32, 3, activation="relu")(inputs))
        x = layers.MaxPooling2D(2)(layers.Conv2D(64, 3, activation="relu")(x))
        x = layers.GlobalAveragePooling2D()(layers.Conv2D(128, 3, activation="relu")(x))
        return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
    """
_NO_BIASES = """
    def conv_params(kernel_size, in_channels, filters, separable=False):
        if separable:
            return kernel_size * kernel_size * in_channels + in_channels * filters
        return kernel_size * kernel_size * in_channels * filters
    """
_DEPTHWISE_PER_FILTER = """
    def conv_params(kernel_size, in_channels, filters, separable=False):
        if separable:
            return kernel_size * kernel_size * in_channels * filters + in_channels * filters + filters
        return kernel_size * kernel_size * in_channels * filters + filters
    """
_SEPARABLE_IGNORED = """
    def conv_params(kernel_size, in_channels, filters, separable=False):
        return kernel_size * kernel_size * in_channels * filters + filters
    """
_ALWAYS_PROJECTS = """
    def residual_block(x, filters):
        shortcut = layers.Conv2D(filters, 1)(x)
        x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
        x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
        return layers.add([x, shortcut])
    """
_VALID_WITH_PROJECTION = """
    def residual_block(x, filters):
        shortcut = layers.Conv2D(filters, 1)(x) if x.shape[-1] != filters else x
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        return layers.add([x, shortcut])
    """
_NO_RELU = """
    def gradcam_heatmap(conv_maps, gradients):
        heat = (conv_maps * gradients.mean(axis=(0, 1))).sum(axis=-1)
        return heat / np.abs(heat).max() if np.abs(heat).max() > 0 else heat
    """
_DIVIDES_BY_ZERO = """
    def gradcam_heatmap(conv_maps, gradients):
        heat = np.maximum((conv_maps * gradients.mean(axis=(0, 1))).sum(axis=-1), 0)
        return heat / heat.max()
    """
_WEIGHTS_NOT_AVERAGED = """
    def gradcam_heatmap(conv_maps, gradients):
        heat = np.maximum((conv_maps * gradients).sum(axis=-1), 0)
        return heat / heat.max() if heat.max() > 0 else heat
    """

# (question, answer, which check cell must catch it, words the hint must contain)
WRONG_ANSWERS = [
    pytest.param("q1", _VALID_ONLY, "visible", ["padding='same'", "ceil(n / strides)"],
                 id="q1-same-padding-ignored"),
    pytest.param("q1", _NO_PLUS_ONE, "visible", ["expected 26, found 25", "fits 26 times"],
                 id="q1-forgets-plus-one"),
    pytest.param("q1", _SAME_IGNORES_STRIDES, "visible", ["strides also shrink a 'same' map"],
                 id="q1-same-ignores-strides"),
    pytest.param("q1", _FLOATS, "hidden", ["the types of the three sizes", "use //, not /"],
                 id="q1-float-sizes"),
    pytest.param("q2", "convolve2d = lambda image, kernel: image", "visible", ["Keras does not flip"],
                 id="q2-returns-the-image"),
    pytest.param("q2", _FLIPPED, "visible", ["you flipped the kernel", "cross-correlation"],
                 id="q2-flipped-kernel"),
    pytest.param("q2", _SAME_PADDED, "visible", ["expected shape (4, 3)", "Keras does not flip"],
                 id="q2-padded-to-same-size"),
    pytest.param("q3", "build_mnist_convnet = buggy_mnist_convnet", "visible",
                 ["expected output shape (None, 10), found (None, 3, 3, 10)", "layers.Flatten()"],
                 id="q3-the-bug"),
    pytest.param("q3", _NO_FLATTEN_GAP, "visible", ["expected 104,202 parameters, found 93,962"],
                 id="q3-global-pooling-instead-of-flatten"),
    pytest.param("q4", _NO_BIASES, "visible", ["left out the biases"], id="q4-no-biases"),
    pytest.param("q4", _DEPTHWISE_PER_FILTER, "visible", ["one 3x3 filter per input channel"],
                 id="q4-depthwise-per-filter"),
    pytest.param("q4", _SEPARABLE_IGNORED, "visible", ["expected 8896, found 73856",
                                                       "depthwise 3 x 3 x 64, pointwise 64 x 128"],
                 id="q4-separable-ignored"),
    pytest.param("q5", "residual_block = buggy_residual_block", "visible",
                 ["raised ValueError", "padding='same'"], id="q5-the-bug"),
    pytest.param("q5", _VALID_WITH_PROJECTION, "visible", ["raised ValueError", "padding='same'"],
                 id="q5-projection-but-valid-padding"),
    pytest.param("q5", _ALWAYS_PROJECTS, "visible", ["8 channels, 8 filters", "only when its channels differ"],
                 id="q5-always-projects"),
    pytest.param("q6", _NO_RELU, "visible", ["keep only the positive part"], id="q6-no-relu"),
    pytest.param("q6", _DIVIDES_BY_ZERO, "visible", ["do not divide by a maximum of 0"],
                 id="q6-divides-by-zero"),
    pytest.param("q6", _WEIGHTS_NOT_AVERAGED, "hidden", ["random 5x4 heatmap"],
                 id="q6-gradients-not-averaged"),
]


test_a_classic_wrong_answer_fails_with_a_hint = pytest.mark.filterwarnings(
    "ignore:invalid value encountered in divide:RuntimeWarning")(
    harness.wrong_answer_test(QUESTIONS, WRONG_ANSWERS, caught_by=True, hint_when_hidden=False))


test_the_student_version_has_stubs_that_fail_with_a_hint = harness.stubs_test(RELEASE, QUESTIONS)
