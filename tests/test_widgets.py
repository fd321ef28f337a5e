"""course_lib.widgets: the explorers' computations, their controls, and what each front end shows."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
import pytest

from course_lib import plots, widgets
from course_lib.errors import CourseError

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def in_kernel(monkeypatch):
    """Pretend to run inside a Jupyter kernel with widgets allowed."""
    monkeypatch.delenv(widgets.STATIC_ENV, raising=False)
    monkeypatch.setattr(widgets, "_in_kernel", lambda: True)


def _main_lines(explorer):
    return explorer.figure.axes[0].get_lines()


# --------------------------------------------------------------------------- where it runs


def test_widget_mode_is_static_outside_a_kernel_or_when_asked(monkeypatch):
    assert widgets.widget_mode({}) == "static"  # this test process is no Jupyter kernel
    monkeypatch.setattr(widgets, "_in_kernel", lambda: True)
    assert widgets.widget_mode({}) == "widgets"
    for value in ("1", "true", " YES "):
        assert widgets.widget_mode({"COURSE_STATIC_WIDGETS": value}) == "static"
    assert widgets.widget_mode({"COURSE_STATIC_WIDGETS": "0"}) == "widgets"


def test_in_a_kernel_the_output_carries_the_live_widget_and_the_static_fallback(in_kernel):
    explorer = widgets.gradient_descent_explorer()
    data, metadata = explorer._repr_mimebundle_()
    assert data[WIDGET_VIEW]["model_id"] == explorer.widget.model_id
    assert "learning rate 0.02: too small" in explorer.static_figure().axes[0].get_title()
    static = explorer.static_figure()
    assert static.caption in data["text/html"] and 'alt="' in data["text/html"]
    assert data["image/png"] and metadata["image/png"]["width"] == 1200
    assert data["text/plain"].startswith("Gradient descent explorer (interactive")


def test_static_mode_shows_only_the_figure_and_builds_no_widget(monkeypatch):
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    monkeypatch.setattr(widgets, "_in_kernel", lambda: True)
    explorer = widgets.gradient_descent_explorer()
    data, _ = explorer._repr_mimebundle_()
    assert WIDGET_VIEW not in data
    assert "three" not in data["text/plain"] and data["text/plain"].startswith("[figure] The same 20 steps")
    assert explorer._widget is None


def test_show_in_a_script_prints_the_static_caption_and_returns_the_figure(capsys):
    figure = widgets.kernel_explorer(np.eye(8)).show()
    assert isinstance(figure, plots.CourseFigure)
    assert capsys.readouterr().out == f"Convolution kernel explorer: {figure.caption}\n"


# --------------------------------------------------------------------------- gradient descent


@pytest.mark.parametrize(
    ("loss", "rate", "regime"),
    [
        ("bowl", 0.01, "too small"),
        ("bowl", 0.1, "right"),
        ("bowl", 0.99, "too large"),
        ("bowl", 1.05, "divergent"),
        ("valley", 0.005, "too small"),
        ("valley", 0.045, "right"),
        ("valley", 0.099, "too large"),
        ("valley", 0.11, "divergent"),
    ],
)
def test_gradient_descent_regimes(loss, rate, regime):
    assert widgets.GradientDescentState(rate, loss).run(20).regime == regime


def test_gradient_descent_takes_plain_steps_against_the_gradient():
    path = widgets.GradientDescentState(0.1, "valley").run(2)
    w0 = np.array([-4.5, 1.5])
    w1 = w0 - 0.1 * np.array([2 * w0[0], 20 * w0[1]])
    assert np.allclose(path.points[:2], [w0, w1])
    assert path.losses[0] == pytest.approx(4.5**2 + 10 * 1.5**2)
    assert path.oscillates  # w2 jumps from +1.5 to -1.5 and back: 1 - 0.1 * 20 = -1
    assert not widgets.GradientDescentState(0.1).run(20).oscillates


def test_a_divergent_run_stops_quietly_once_the_values_overflow():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = widgets.GradientDescentState(50.0).run(1000)
    assert path.steps < 20 and path.regime == "divergent"
    assert "so the run stopped there" in path.describe()


def test_gradient_descent_rejects_what_it_cannot_run():
    with pytest.raises(CourseError, match="bowl, valley"):
        widgets.GradientDescentState(0.1, "saddle")
    with pytest.raises(CourseError, match="positive"):
        widgets.GradientDescentState(0.0)


def test_moving_the_learning_rate_slider_recomputes_and_redraws():
    explorer = widgets.gradient_descent_explorer()
    _ = explorer.widget  # builds the controls and draws once
    before_png = explorer._image.value
    before_path = _main_lines(explorer)[1].get_xdata().copy()
    assert explorer.figure._suptitle.get_text() == "Learning rate 0.1: right"

    explorer.lr_slider.value = 1.05
    assert explorer.state.learning_rate == pytest.approx(1.05)
    assert explorer.path.regime == "divergent"
    after_path = _main_lines(explorer)[1].get_xdata()
    assert np.allclose(after_path[:3], [4.0, 4.0 - 1.05 * 8.0, (4.0 - 1.05 * 8.0) * (1 - 2.1)])
    assert not np.allclose(after_path[:3], before_path[:3])
    assert explorer.figure._suptitle.get_text() == "Learning rate 1.05: divergent"
    assert explorer._image.value != before_png
    assert "the loss explodes" in explorer._caption.value


def test_each_loss_opens_at_a_rate_that_converges_and_the_bounce_is_left_to_find():
    valley = widgets.gradient_descent_explorer(loss="valley")
    assert valley.state.learning_rate == pytest.approx(0.045)
    assert valley.path.regime == "right" and not valley.path.oscillates
    assert widgets.gradient_descent_explorer().state.learning_rate == pytest.approx(0.1)
    # the old opening rate: 1 - 0.1 * 20 = -1, so the steep direction bounces for ever
    assert widgets.gradient_descent_explorer(loss="valley", learning_rate=0.1).path.regime == "too large"
    with pytest.raises(CourseError, match="bowl, valley"):
        widgets.gradient_descent_explorer(loss="saddle")


def test_the_steps_slider_and_loss_picker_change_the_run():
    explorer = widgets.gradient_descent_explorer()
    _ = explorer.widget
    explorer.steps_slider.value = 5
    loss_curve = explorer.figure.axes[1].get_lines()[0]
    assert list(loss_curve.get_xdata()) == [0, 1, 2, 3, 4, 5]
    explorer.loss_picker.value = "valley"
    landscape = explorer.figure.axes[0]
    assert (landscape.get_xlabel(), landscape.get_ylabel()) == ("w1", "w2")
    assert landscape.collections  # the contour lines of the 2D loss
    assert explorer.path.points.shape == (6, 2)


def test_the_static_fallback_puts_three_learning_rates_side_by_side():
    figure = widgets.gradient_descent_comparison("bowl")
    assert [ax.get_title() for ax in figure.axes] == [
        "learning rate 0.02: too small", "learning rate 0.1: right", "learning rate 1.05: divergent"]
    assert "0.02 is too small" in figure.caption and "1.05 is divergent" in figure.caption


# --------------------------------------------------------------------------- linear classifier


def _clouds(n=300, seed=0):
    rng = np.random.default_rng(seed)
    covariance = [[1.0, 0.5], [0.5, 1.0]]
    points = np.concatenate([rng.multivariate_normal([0, 3], covariance, n),
                             rng.multivariate_normal([3, 0], covariance, n)]).astype("float32")
    return points, np.repeat([0.0, 1.0], n)


def test_the_numpy_linear_classifier_learns_to_separate_two_clouds():
    points, labels = _clouds()
    state = widgets.LinearClassifierState(points, labels, steps=40)
    assert state.steps == 40 and len(state.snapshots) == 41
    assert state.accuracy(40) > 0.97 > state.accuracy(0)
    losses = [s.loss for s in state.snapshots[1:]]
    assert losses[-1] < losses[0] / 10


def test_a_lessons_own_training_step_drives_the_stepper():
    points, labels = _clouds(50)
    weights = {"W": np.array([[0.5], [0.5]]), "b": np.array([0.0])}
    calls = []

    def training_step():  # the shape of the lesson's TF step: updates variables, returns the loss
        predictions = points @ weights["W"] + weights["b"]
        errors = predictions[:, 0] - labels
        weights["W"] = weights["W"] - 0.1 * (points.T @ (2 * errors / len(errors)))[:, None]
        weights["b"] = weights["b"] - 0.1 * (2 * errors / len(errors)).sum()
        calls.append(1)
        return np.float32(np.mean(errors**2))

    state = widgets.LinearClassifierState(points, labels, step=training_step,
                                          weights=lambda: (weights["W"], weights["b"]), steps=7)
    assert len(calls) == 7
    assert np.allclose(state.snapshots[7].weights, weights["W"][:, 0])
    assert state.snapshots[0].loss is None and state.snapshots[1].loss > state.snapshots[7].loss


def test_moving_the_step_slider_moves_the_decision_line():
    points, labels = _clouds()
    stepper = widgets.linear_classifier_stepper(points, labels, steps=40)
    _ = stepper.widget
    first = _main_lines(stepper)[-1].get_xydata().copy()
    stepper.step_slider.value = 40
    line = _main_lines(stepper)[-1]
    assert line.get_label() == "decision line"
    snapshot = stepper.state.snapshots[40]
    xy = line.get_xydata()
    assert np.allclose(xy @ snapshot.weights + snapshot.bias, 0.5)  # on w1 x + w2 y + b = 0.5
    assert not np.allclose(xy, first)
    assert stepper.figure.axes[0].get_title() == f"Step 40: {stepper.state.accuracy(40):.1%} on the right side"
    assert len(stepper.figure.axes[1].get_lines()[0].get_xdata()) == 40
    assert "Step 40 of 40" in stepper.caption and "= 0.5" in stepper.caption


def test_the_stepper_has_a_play_button_linked_to_the_slider():
    points, labels = _clouds(20)
    stepper = widgets.linear_classifier_stepper(points, labels, steps=10)
    _ = stepper.widget
    assert stepper.player.max == stepper.step_slider.max == 10


def test_the_stepper_fallback_shows_the_line_at_three_moments():
    points, labels = _clouds(100)
    figure = widgets.linear_classifier_stepper(points, labels, steps=40).static_figure()
    assert [ax.get_title().split(":")[0] for ax in figure.axes] == ["step 0", "step 5", "step 40"]
    assert all(ax.get_lines()[-1].get_label() == "decision line" for ax in figure.axes)
    assert "after 40 steps" in figure.caption


def test_the_stepper_explains_bad_inputs():
    points, labels = _clouds(10)
    with pytest.raises(CourseError, match="0 or 1"):
        widgets.LinearClassifierState(points, labels * 2)
    with pytest.raises(CourseError, match="both step="):
        widgets.LinearClassifierState(points, labels, step=lambda: 0.0)
    with pytest.raises(CourseError, match=r"W with 2 numbers"):
        widgets.LinearClassifierState(points, labels, step=lambda: 0.0, weights=lambda: (np.ones(3), 0.0))


def test_the_equation_is_written_with_proper_signs():
    assert widgets._equation(0.182, -0.121, 0.383, 0.5) == "0.182·x − 0.121·y + 0.383 = 0.5"


# --------------------------------------------------------------------------- convolution kernels


def test_apply_kernel_is_a_cross_correlation_like_conv2d():
    image = np.arange(25, dtype=float).reshape(5, 5) / 24
    kernel = np.array([[0, 0, 0], [0, 0, 1], [0, 0, 0]], float)  # picks the right-hand neighbour
    same = widgets.apply_kernel(image, kernel)
    assert same.shape == (5, 5)
    assert np.allclose(same[:, :4], image[:, 1:]) and np.allclose(same[:, 4], 0)  # zero padding
    valid = widgets.apply_kernel(image, np.ones((3, 3)), padding="valid")
    assert valid.shape == (3, 3) and valid[0, 0] == pytest.approx(image[:3, :3].sum())


def test_the_vertical_edge_kernel_finds_a_vertical_edge():
    image = np.zeros((10, 10))
    image[:, 5:] = 1.0  # dark left half, bright right half
    result = widgets.apply_kernel(image, widgets.KERNELS["vertical edges"][0], padding="valid")
    columns = np.abs(result).sum(axis=0)
    assert set(np.flatnonzero(columns)) == {3, 4} and (result[:, 3:5] > 0).all()
    assert np.allclose(widgets.apply_kernel(image, widgets.KERNELS["horizontal edges"][0], padding="valid"), 0)


def test_colour_and_integer_images_become_grey_in_0_1():
    rgb = np.zeros((6, 6, 3), dtype="uint8")
    rgb[..., 1] = 255  # pure green: luminance 0.587
    grey = widgets._grey_image(rgb)
    assert grey.shape == (6, 6) and np.allclose(grey, 0.587)
    assert np.allclose(widgets._grey_image(np.full((6, 6), 51, dtype="uint8")), 0.2)
    stretched = widgets._grey_image(np.array([[-1.0, 3.0] * 3] * 6))
    assert (stretched.min(), stretched.max()) == (0.0, 1.0)
    with pytest.raises(CourseError, match="too small"):
        widgets._grey_image(np.zeros((3, 3)))
    with pytest.raises(CourseError, match=r"\(height, width\)"):
        widgets._grey_image(np.zeros(10))


def test_editing_a_kernel_weight_switches_to_custom_and_redraws_the_feature_map():
    image = np.random.default_rng(0).random((12, 12))
    explorer = widgets.kernel_explorer(image, "identity")
    _ = explorer.widget
    output = explorer.figure.axes[2].images[0]
    assert np.allclose(output.get_array(), image)
    before = explorer._image.value
    explorer.cells[5].value = 1.0  # centre and right-hand neighbour
    assert explorer.preset_picker.value == "custom" and explorer.preset == "custom"
    expected = widgets.apply_kernel(image, [[0, 0, 0], [0, 1, 1], [0, 0, 0]])
    assert np.allclose(explorer.figure.axes[2].images[0].get_array(), expected)
    assert explorer.figure.axes[1].get_title() == "Kernel: custom"
    assert explorer._image.value != before


def test_choosing_a_preset_fills_the_nine_boxes_with_one_redraw():
    explorer = widgets.kernel_explorer(np.eye(9))
    _ = explorer.widget
    redraws = explorer.redraws
    explorer.preset_picker.value = "sharpen"
    assert [cell.value for cell in explorer.cells] == [0, -1, 0, -1, 5, -1, 0, -1, 0]
    assert explorer.redraws == redraws + 1
    assert "edges and texture stand out" in explorer.caption


def test_relu_keeps_only_positive_responses():
    image = np.zeros((8, 8))
    image[:, 4:] = 1.0
    explorer = widgets.kernel_explorer(image, "outline")
    assert explorer.feature_map.min() < 0
    _ = explorer.widget
    explorer.relu_box.value = True
    assert explorer.feature_map.min() == 0
    assert explorer.figure.axes[2].get_title() == "Feature map after ReLU"


def test_the_kernel_fallback_shows_three_kernels_beside_the_image():
    figure = widgets.kernel_explorer(np.eye(9)).static_figure()
    assert [ax.get_title() for ax in figure.axes] == ["image", "blur", "vertical edges", "horizontal edges"]


def test_the_kernel_explorer_rejects_unknown_presets_and_odd_shapes():
    with pytest.raises(CourseError, match="presets: identity"):
        widgets.kernel_explorer(np.eye(9), "edges")
    with pytest.raises(CourseError, match="3x3"):
        widgets.kernel_explorer(np.eye(9), np.ones((5, 5)))


# --------------------------------------------------------------------------- attention


TOKENS = ["the", "cat", "sat", "on", "the", "mat"]


def _attention(heads=2, seed=0):
    rng = np.random.default_rng(seed)
    scores = rng.random((heads, len(TOKENS), len(TOKENS))) ** 3
    return scores / scores.sum(axis=-1, keepdims=True)


def test_picking_a_query_token_shows_its_row_of_weights():
    weights = _attention()
    explorer = widgets.attention_explorer(TOKENS, weights)
    _ = explorer.widget
    explorer.query_picker.value = 2
    bars = [patch.get_height() for patch in explorer.figure.axes[0].patches]
    assert np.allclose(bars, weights[0, 2])
    explorer.head_slider.value = 1
    bars = [patch.get_height() for patch in explorer.figure.axes[0].patches]
    assert np.allclose(bars, weights[1, 2])
    outline = explorer.figure.axes[1].patches[0]
    assert outline.get_y() == 1.5  # row 2 outlined in the matrix
    strongest = int(np.argmax(weights[1, 2]))
    assert f"'{TOKENS[strongest]}'" in explorer.caption and "'sat' (number 2, head 1)" in explorer.caption


def test_repeated_tokens_are_told_apart_by_position():
    assert widgets._token(TOKENS, 4) == "'the' (#4)" and widgets._token(TOKENS, 1) == "'cat'"


def test_attention_explorer_for_one_head_has_no_head_slider_and_checks_shapes():
    explorer = widgets.attention_explorer(TOKENS, _attention(1)[0])
    _ = explorer.widget
    assert explorer.head_slider is None
    with pytest.raises(CourseError, match=r"\(6, 6\)"):
        widgets.attention_explorer(TOKENS, np.ones((5, 6)))
    with pytest.raises(CourseError, match="from 0 to 5"):
        widgets.attention_explorer(TOKENS, np.ones((6, 6)), query=6)


def test_attention_fallback_shows_up_to_three_heads():
    figure = widgets.attention_explorer(TOKENS, _attention(4)).static_figure()
    assert [ax.get_title() for ax in figure.axes] == ["head 0", "head 1", "head 2"]
    assert "3 of 4 heads" in figure.caption


# --------------------------------------------------------------------------- a real kernel, no front end


def _run_notebook(*sources, timeout=120):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3")
    client.execute()
    return notebook


@pytest.mark.slow
def test_in_a_kernel_without_a_front_end_explorers_fall_back_without_error():
    notebook = _run_notebook(
        "import numpy as np\nfrom course_lib import widgets\nwidgets.gradient_descent_explorer()",
        "import os\nos.environ['COURSE_STATIC_WIDGETS'] = '1'\nwidgets.kernel_explorer(np.eye(16))",
    )
    live, static = (cell.outputs for cell in notebook.cells)
    assert [o.output_type for o in live] == ["display_data"]
    assert {WIDGET_VIEW, "text/html", "image/png", "text/plain"} <= set(live[0].data)
    assert "0.02 is too small" in live[0].data["text/plain"]
    assert [o.output_type for o in static] == ["display_data"]
    assert WIDGET_VIEW not in static[0].data and "<figcaption" in static[0].data["text/html"]


# --------------------------------------------------------------------------- with TensorFlow


@pytest.mark.slow
def test_live_curves_redraw_during_fit_and_tf_code_can_drive_the_stepper():
    from course_lib.runtime import import_tensorflow

    tf = import_tensorflow()
    import keras

    live = widgets.LiveCurves(min_interval=0)
    assert isinstance(live, keras.callbacks.Callback)
    keras.utils.set_random_seed(0)
    inputs = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    targets = (inputs.sum(axis=1) > 0).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(inputs, targets, epochs=3, validation_split=0.25, verbose=0, callbacks=[live])
    assert live.redraws == 3
    assert live.history.keys() == history.history.keys()
    assert all(np.allclose(live.history[key], history.history[key]) for key in live.history)
    assert [ax.get_title() for ax in live.figure.axes] == ["Loss", "Accuracy"]
    assert "over 3 epochs" in live.figure.caption

    # the lesson's TensorFlow training step gives the same run as the NumPy copy
    points, labels = _clouds(100)
    numpy_state = widgets.LinearClassifierState(points, labels, steps=10, seed=3)
    start = numpy_state.snapshots[0].weights
    W = tf.Variable(start.reshape(2, 1).astype("float32"))
    b = tf.Variable(tf.zeros((1,)))

    def training_step():
        with tf.GradientTape() as tape:
            predictions = tf.matmul(points, W) + b
            loss = tf.reduce_mean(tf.square(labels.reshape(-1, 1).astype("float32") - predictions))
        grad_W, grad_b = tape.gradient(loss, [W, b])
        W.assign_sub(0.1 * grad_W)
        b.assign_sub(0.1 * grad_b)
        return loss

    tf_state = widgets.LinearClassifierState(points, labels, step=training_step, weights=lambda: (W, b), steps=10)
    assert np.allclose(tf_state.snapshots[10].weights, numpy_state.snapshots[10].weights, atol=1e-4)
    assert tf_state.snapshots[10].bias == pytest.approx(numpy_state.snapshots[10].bias, abs=1e-4)

    # the kernel explorer's convolution is what a Conv2D layer computes
    image = np.random.default_rng(2).random((9, 9))
    kernel = widgets.KERNELS["emboss"][0]  # asymmetric: a flipped kernel would not match
    layer = keras.layers.Conv2D(1, 3, padding="same", use_bias=False)
    layer.build((1, 9, 9, 1))
    layer.set_weights([kernel.reshape(3, 3, 1, 1)])
    expected = layer(image.reshape(1, 9, 9, 1).astype("float32")).numpy()[0, :, :, 0]
    assert np.allclose(widgets.apply_kernel(image, kernel), expected, atol=1e-5)


@pytest.mark.slow
def test_live_curves_replace_one_output_in_place_in_a_kernel():
    notebook = _run_notebook(
        "import numpy as np, keras\nfrom course_lib import widgets\n"
        "model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])\n"
        "model.compile('sgd', 'mse')\n"
        "x = np.ones((8, 2), 'float32')\n"
        "_ = model.fit(x, x[:, :1], epochs=4, validation_split=0.25, verbose=0,\n"
        "              callbacks=[widgets.LiveCurves(min_interval=0)])",
        timeout=300,
    )
    outputs = notebook.cells[0].outputs
    assert [o.output_type for o in outputs] == ["display_data"]
    assert "over 4 epochs" in outputs[0].data["text/plain"]
