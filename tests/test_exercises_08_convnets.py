"""Chapter 08's exercises: plausible wrong answers fail with a hint, correct variants pass.

The find-the-bug cells show their symptom (a classifier with one softmax per position, a residual
block whose shapes cannot be added, a pipeline that replays the same batches every epoch, a
fine-tuning that leaves the base unchanged), and their titles, prompts and visible checks name
the symptom, never the bug or its fix. The checks every chapter shares (solutions, classic wrong
answers, the student version's stubs) are built by tests/exercise_harness.py; this module adds
its own tables: ``WRONG_ANSWERS`` that must fail and ``CORRECT_VARIANTS`` that must pass, hidden
tests included.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re

import pytest

from tests import exercise_harness as harness

ASSIGNMENT = "08_convnets"
SOURCE, RELEASE = harness.notebook_paths(ASSIGNMENT)

#: Locked cells that define what the questions use, in notebook order.
GIVEN = ("setup", "imports", "q3_buggy", "q5_buggy", "q7_buggy", "q9_given", "q9_buggy", "q10_given")
#: question -> (answer cell, check cell)
QUESTIONS = harness.questions("q1_conv_output_shape", "q2_convolve2d", "q3_build_mnist_convnet",
                              "q4_conv_params", "q5_residual_block", "q6_gradcam_heatmap",
                              "q7_training_pipeline", "q8_digit_augmentation", "q9_fine_tune",
                              "q10_unfreeze_for_fine_tuning")
#: find-the-bug question -> words that would give the bug or its fix away
FIND_THE_BUG = {
    "q3": ["Flatten", "flatten"],
    "q5": ["padding", "'same'", "\"same\""],
    "q7": ["cache()", "order of", "before the shuffle", "after the shuffle"],
    "q9": ["compile", "recompile"],
}


source_cells = harness.source_cells_fixture(SOURCE)
given_namespace = harness.given_namespace_fixture(GIVEN)


test_the_assignment_has_the_required_parts = harness.required_parts_test(
    SOURCE, QUESTIONS, "q11_written", ["q3_buggy", "q5_buggy", "q7_buggy", "q9_buggy"])


test_the_solution_passes_its_checks_and_hidden_tests = harness.solution_test(
    QUESTIONS, min_ok=2, also=harness.no_check_failed)


def test_the_find_the_bug_cells_show_their_symptom(source_cells, capsys):
    harness.run_given(source_cells, GIVEN)
    printed = capsys.readouterr().out
    # without Flatten, Dense gives one softmax per position of the 3x3 maps
    assert "output shape: (None, 3, 3, 10)" in printed, printed
    # without padding="same" the 12x12 maps cannot be added to the 16x16 input
    assert "ValueError:" in printed and "(12, 12, 8)" in printed and "(16, 16, 3)" in printed, printed
    # shuffle, batch, cache: three identical epochs
    epochs = re.findall(r"^epoch \d: (.*)$", printed, re.MULTILINE)
    assert len(epochs) == 3 and len(set(epochs)) == 1, printed
    # trainable changed after compiling: the base does not move
    assert "the base's top layer changed: False" in printed, printed


def _prompt_and_visible_check(question, source_cells):
    _, check = QUESTIONS[question]
    return (harness.cell_source(source_cells[f"{question}_prompt"]) + "\n"
            + harness.HIDDEN.sub("", harness.cell_source(source_cells[check])))


@pytest.mark.parametrize("question", sorted(FIND_THE_BUG))
def test_find_the_bug_questions_describe_the_symptom_not_the_fix(question, source_cells):
    shown = _prompt_and_visible_check(question, source_cells)
    title = harness.cell_source(source_cells[f"{question}_prompt"]).splitlines()[0]
    assert "Find and fix the bug" in title
    for telltale in FIND_THE_BUG[question]:
        assert telltale not in shown, (question, telltale)


def test_check_cells_use_no_name_from_a_cell_a_learner_may_skip(source_cells):
    """The buggy cells may be skipped after a restart: no check reads the names only they
    print with (their functions the checks do use are defined before the bug is shown)."""
    skippable = {"toy", "before", "model", "base", "features", "labels", "buggy_pipeline",
                 "buggy_fine_tune", "buggy_mnist_convnet", "buggy_residual_block"}
    for _, check in QUESTIONS.values():
        tree = ast.parse(harness.without_solution_markers(harness.cell_source(source_cells[check])))
        assigned = {node.id for node in ast.walk(tree)
                    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
        read = {node.id for node in ast.walk(tree)
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
        assert not (read - assigned) & skippable, (check, (read - assigned) & skippable)


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
_NO_CACHE = """
    def training_pipeline(decoded, batch_size):
        return decoded.shuffle(10_000).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    """
_SHUFFLED_ONCE = """
    def training_pipeline(decoded, batch_size):
        dataset = decoded.cache().shuffle(10_000, seed=0, reshuffle_each_iteration=False)
        return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    """
_BATCHES_SHUFFLED = """
    def training_pipeline(decoded, batch_size):
        return decoded.cache().batch(batch_size).shuffle(100).prefetch(tf.data.AUTOTUNE)
    """
_CACHE_LAST = """
    def training_pipeline(decoded, batch_size):
        return decoded.shuffle(10_000).batch(batch_size).prefetch(tf.data.AUTOTUNE).cache()
    """
_PHOTO_AUGMENTATION = """
    def digit_augmentation():
        return keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1),
                                 layers.RandomZoom(0.2)])
    """
_HALF_TURNS = """
    def digit_augmentation():
        return keras.Sequential([layers.RandomRotation(0.5), layers.RandomZoom(0.1)])
    """
_RESCALING_ONLY = """
    def digit_augmentation():
        return keras.Sequential([layers.Rescaling(1 / 255)])
    """
_NOISE_ALWAYS = """
    def digit_augmentation():
        return keras.Sequential([layers.RandomZoom(0.1), layers.Rescaling(1.1)])
    """
_NO_RECOMPILE = """
    def fine_tune(model, base, features, labels):
        base.trainable = True
        base.get_layer("lower").trainable = False
        model.fit(features, labels, epochs=1, verbose=0)
        return model
    """
_UNFREEZES_ALL = """
    def fine_tune(model, base, features, labels):
        base.trainable = True
        model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="binary_crossentropy")
        model.fit(features, labels, epochs=1, verbose=0)
        return model
    """
_LAYER_ONLY = """
    def fine_tune(model, base, features, labels):
        base.get_layer("top").trainable = True
        model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="binary_crossentropy")
        model.fit(features, labels, epochs=1, verbose=0)
        return model
    """
_DEFAULT_RATE = """
    def fine_tune(model, base, features, labels):
        base.trainable = True
        base.get_layer("lower").trainable = False
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(features, labels, epochs=1, verbose=0)
        return model
    """
_ALL_TRAINABLE = """
    def unfreeze_for_fine_tuning(base):
        base.trainable = True
    """
_NORM_THEN_BASE = """
    def unfreeze_for_fine_tuning(base):
        base.get_layer("norm").trainable = False
        base.trainable = True
    """
_STILL_FROZEN = """
    def unfreeze_for_fine_tuning(base):
        for layer in base.layers:
            layer.trainable = not isinstance(layer, layers.BatchNormalization)
    """

# (question, answer, which check cell must catch it, words the message must contain)
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
                 ["expected output shape (None, 10), found (None, 3, 3, 10)", "convnet.summary()"],
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
                 ["raised ValueError", "the same shape"], id="q5-the-bug"),
    pytest.param("q5", _VALID_WITH_PROJECTION, "visible", ["raised ValueError", "the same shape"],
                 id="q5-projection-but-valid-padding"),
    pytest.param("q5", _ALWAYS_PROJECTS, "visible", ["8 channels, 8 filters", "added as it is"],
                 id="q5-always-projects"),
    pytest.param("q6", _NO_RELU, "visible", ["keep only the positive part"], id="q6-no-relu"),
    pytest.param("q6", _DIVIDES_BY_ZERO, "visible", ["do not divide by a maximum of 0"],
                 id="q6-divides-by-zero"),
    pytest.param("q6", _WEIGHTS_NOT_AVERAGED, "hidden", ["random 5x4 heatmap"],
                 id="q6-gradients-not-averaged"),
    pytest.param("q7", "training_pipeline = buggy_pipeline", "visible",
                 ["new batches every epoch", "freezes them"], id="q7-the-bug"),
    pytest.param("q7", _CACHE_LAST, "visible", ["new batches every epoch"], id="q7-cache-at-the-end"),
    pytest.param("q7", _NO_CACHE, "visible", ["decodings of 12 elements", "keep its results"],
                 id="q7-no-cache"),
    pytest.param("q7", _SHUFFLED_ONCE, "visible", ["new batches every epoch"],
                 id="q7-shuffled-once"),
    pytest.param("q7", _BATCHES_SHUFFLED, None, ["Hint:"], id="q7-whole-batches-shuffled"),
    pytest.param("q8", _PHOTO_AUGMENTATION, "visible", ["a flip among the layers", "mirrored"],
                 id="q8-the-photos-augmentation"),
    pytest.param("q8", _HALF_TURNS, "hidden", ["a tenth of a turn", "a 6 becomes a 9"],
                 id="q8-half-turns"),
    pytest.param("q8", _RESCALING_ONLY, "visible", ["identity at inference"], id="q8-no-random-layer"),
    pytest.param("q8", _NOISE_ALWAYS, "visible", ["identity at inference"],
                 id="q8-a-layer-active-at-inference"),
    pytest.param("q9", _NO_RECOMPILE, "visible", ["the base's top layer moved"],
                 id="q9-the-bug"),
    pytest.param("q9", _UNFREEZES_ALL, "visible", ["the base's lower layer stayed frozen"],
                 id="q9-unfreezes-everything"),
    pytest.param("q9", _DEFAULT_RATE, "hidden", ["a small learning rate"], id="q9-default-rate"),
    pytest.param("q10", _ALL_TRAINABLE, "visible", ["the moving mean after fine-tuning"],
                 id="q10-batch-norm-left-trainable"),
    pytest.param("q10", _NORM_THEN_BASE, "visible", ["the moving mean after fine-tuning"],
                 id="q10-frozen-before-the-base-is-unfrozen"),
    pytest.param("q10", "def unfreeze_for_fine_tuning(base):\n    return base", "visible",
                 ["the base's dense layer learned"], id="q10-base-left-frozen"),
]

# (question, answer): correct answers written another way than the model solution
CORRECT_VARIANTS = [
    pytest.param("q1", """
    import math
    def conv_output_shape(height, width, filters, kernel_size, strides=1, padding="valid"):
        if padding == "same":
            return (math.ceil(height / strides), math.ceil(width / strides), filters)
        return (math.floor((height - kernel_size) / strides) + 1,
                math.floor((width - kernel_size) / strides) + 1, filters)
    """, id="q1-math-ceil-floor"),
    pytest.param("q2", """
    def convolve2d(image, kernel):
        windows = np.lib.stride_tricks.sliding_window_view(np.asarray(image, float), np.shape(kernel))
        return np.einsum("ijkl,kl->ij", windows, np.asarray(kernel, float))
    """, id="q2-sliding-windows"),
    pytest.param("q3", """
    def build_mnist_convnet():
        inputs = keras.Input(shape=(28, 28, 1))
        x = layers.Rescaling(1 / 255)(inputs)
        x = layers.MaxPooling2D(2)(layers.Conv2D(32, 3, activation="relu")(x))
        x = layers.MaxPooling2D(2)(layers.Conv2D(64, 3, activation="relu")(x))
        x = layers.Flatten()(layers.Conv2D(128, 3, activation="relu")(x))
        return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
    """, id="q3-with-rescaling-as-in-the-chapter"),
    pytest.param("q3", """
    def build_mnist_convnet():
        return keras.Sequential([keras.Input(shape=(28, 28, 1)),
                                 layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
                                 layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
                                 layers.Conv2D(128, 3, activation="relu"), layers.Flatten(),
                                 layers.Dense(10, activation="softmax")])
    """, id="q3-sequential"),
    pytest.param("q4", """
    def conv_params(kernel_size, in_channels, filters, separable=False):
        depthwise = kernel_size ** 2 * in_channels
        return depthwise + in_channels * filters + filters if separable else depthwise * filters + filters
    """, id="q4-one-line"),
    pytest.param("q5", """
    def residual_block(x, filters):
        shortcut = x
        y = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        y = layers.Conv2D(filters, 3, padding="same", activation="relu")(y)
        if shortcut.shape[-1] != filters:
            shortcut = layers.Conv2D(filters, 1, padding="same")(shortcut)
        return layers.Add()([y, shortcut])
    """, id="q5-add-layer"),
    pytest.param("q6", """
    def gradcam_heatmap(conv_maps, gradients):
        weights = np.mean(gradients, axis=(0, 1))
        heat = np.clip(np.einsum("hwc,c->hw", conv_maps, weights), 0, None)
        return heat / heat.max() if heat.max() > 0 else np.zeros_like(heat)
    """, id="q6-einsum-clip"),
    pytest.param("q7", """
    def training_pipeline(decoded, batch_size):
        return decoded.cache().shuffle(buffer_size=100, seed=7).batch(batch_size)
    """, id="q7-no-prefetch-seeded-shuffle"),
    pytest.param("q7", """
    def training_pipeline(decoded, batch_size):
        dataset = decoded.cache()
        dataset = dataset.shuffle(1_000, reshuffle_each_iteration=True)
        return dataset.batch(batch_size, drop_remainder=False).prefetch(2)
    """, id="q7-explicit-reshuffle"),
    pytest.param("q8", """
    def digit_augmentation():
        return keras.Sequential([layers.RandomTranslation(0.1, 0.1), layers.RandomZoom(0.1)])
    """, id="q8-translation-and-zoom"),
    pytest.param("q8", """
    def digit_augmentation():
        return keras.Sequential([layers.RandomRotation((-0.08, 0.08)), layers.RandomContrast(0.2)])
    """, id="q8-small-rotation-and-contrast"),
    pytest.param("q9", """
    def fine_tune(model, base, features, labels):
        base.trainable = True
        for layer in base.layers:
            layer.trainable = layer.name == "top"
        model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-5), loss="binary_crossentropy")
        model.fit(features, labels, epochs=1, verbose=0)
        return model
    """, id="q9-rmsprop-and-a-loop"),
    pytest.param("q9", _LAYER_ONLY, id="q9-only-the-top-layer-unfrozen"),
    pytest.param("q10", """
    def unfreeze_for_fine_tuning(base):
        base.trainable = True
        base.get_layer("norm").trainable = False
    """, id="q10-by-name"),
    pytest.param("q10", """
    def unfreeze_for_fine_tuning(base):
        base.trainable = True
        for layer in base.layers:
            layer.trainable = not isinstance(layer, layers.BatchNormalization)
    """, id="q10-every-layer"),
    pytest.param("q10", _STILL_FROZEN, id="q10-layers-unfrozen-one-by-one"),
]


test_a_classic_wrong_answer_fails_with_a_hint = pytest.mark.filterwarnings(
    "ignore:invalid value encountered in divide:RuntimeWarning")(
    harness.wrong_answer_test(QUESTIONS, WRONG_ANSWERS, caught_by=True, hint_when_hidden=False))


def test_every_question_has_wrong_answers_and_correct_variants():
    wrong = {param.values[0] for param in WRONG_ANSWERS}
    right = {param.values[0] for param in CORRECT_VARIANTS}
    assert wrong == right == set(QUESTIONS)


@pytest.mark.parametrize(("question", "variant"), CORRECT_VARIANTS)
def test_a_correct_variant_passes_hidden_tests_included(question, variant, source_cells,
                                                        given_namespace):
    _, check = QUESTIONS[question]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        harness.run_answer(given_namespace, variant,
                           harness.without_solution_markers(harness.cell_source(source_cells[check])))
    assert "ok:" in printed.getvalue()


test_the_student_version_has_stubs_that_fail_with_a_hint = harness.stubs_test(RELEASE, QUESTIONS)
