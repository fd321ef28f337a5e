"""course_lib.plots: the figures a learner sees, with the titles, labels and captions they read."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_hex
from PIL import Image

from course_lib import plots
from course_lib.errors import CourseError


def _texts(figure):
    return [text.get_text() for ax in figure.axes for text in ax.texts]


def _titles(figure):
    return [ax.get_title() for ax in figure.axes]


def test_importing_course_lib_or_widgets_module_stays_light():
    code = (
        "import sys, course_lib; light = 'matplotlib' not in sys.modules;"
        "import course_lib.widgets;"
        "print(light, 'ipywidgets' in sys.modules, 'keras' in sys.modules, 'tensorflow' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "False", "False", "False"]


# --------------------------------------------------------------------------- training curves

OVERFITTING = {
    "loss": list(np.linspace(1.0, 0.1, 12)),
    "val_loss": [1.0, 0.8, 0.6, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9],
    "accuracy": list(np.linspace(0.5, 0.99, 12)),
    "val_accuracy": list(np.linspace(0.5, 0.85, 12)),
}


def test_training_curves_draws_one_panel_per_metric_with_training_dashed_and_validation_solid():
    figure = plots.training_curves(OVERFITTING)
    assert _titles(figure) == ["Loss", "Accuracy"]
    loss_axes = figure.axes[0]
    assert loss_axes.get_xlabel() == "Epoch" and loss_axes.get_ylabel() == "Loss"
    training, validation, best = loss_axes.get_lines()
    assert training.get_linestyle() == "--" and validation.get_linestyle() == "-"
    assert list(validation.get_xdata()) == list(range(1, 13))
    assert np.allclose(validation.get_ydata(), OVERFITTING["val_loss"])
    assert (best.get_xdata()[0], best.get_ydata()[0]) == (4, 0.5)  # the best validation epoch is marked
    assert [t.get_text() for t in loss_axes.get_legend().get_texts()] == ["training", "validation"]


def test_training_curves_caption_names_the_best_epoch_and_overfitting():
    caption = plots.training_curves(OVERFITTING, ["loss"]).caption
    assert "over 12 epochs" in caption
    assert "Validation loss is lowest at epoch 4 (0.5)" in caption
    assert "overfits" in caption
    steady = {"loss": [1.0, 0.6, 0.4, 0.3], "val_loss": [1.1, 0.7, 0.5, 0.45]}
    assert "overfits" not in plots.training_curves(steady).caption
    accuracy = plots.training_curves(OVERFITTING, ["val_accuracy"]).caption
    assert "Validation accuracy is highest at epoch 12" in accuracy


class FakeHistory:
    """What keras.callbacks.History exposes: .history and .model."""

    def __init__(self, logs, name):
        self.history = logs
        self.model = type("Model", (), {"name": name})()


def test_training_curves_compares_several_runs_on_the_same_axes():
    runs = {
        "small": FakeHistory({"loss": [1.0, 0.8, 0.7, 0.65, 0.6], "val_loss": [1.0, 0.85, 0.75, 0.7, 0.68]}, "a"),
        "large": {"loss": [1.0, 0.5, 0.2, 0.1, 0.05], "val_loss": [0.9, 0.6, 0.7, 0.9, 1.2]},
        "regularized": {"loss": [1.0, 0.6, 0.45, 0.4, 0.38], "val_loss": [0.95, 0.6, 0.5, 0.45, 0.44]},
    }
    figure = plots.training_curves(runs)
    (ax,) = figure.axes
    colours = {to_hex(line.get_color()) for line in ax.get_lines()}
    assert len(colours) == 3  # one colour per run
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["small", "large", "regularized", "training", "validation"]
    assert "Best validation loss: regularized, 0.44 at epoch 5." in figure.caption
    assert "large after epoch 2" in figure.caption


def test_a_single_keras_history_is_named_after_its_model():
    history = FakeHistory({"loss": [0.5, 0.4], "val_loss": [0.6, 0.5]}, "tiny")
    assert plots._as_runs(history) == {"tiny": history.history}


@pytest.mark.parametrize("bad", [None, [1, 2, 3], {"loss": "high"}, {}])
def test_training_curves_explains_what_to_pass(bad):
    with pytest.raises(CourseError, match="model.fit"):
        plots.training_curves(bad)


def test_training_curves_names_the_metrics_it_has_when_one_is_missing():
    with pytest.raises(CourseError, match="no run logged 'mae'.*accuracy, loss"):
        plots.training_curves(OVERFITTING, ["mae"])


# --------------------------------------------------------------------------- decision boundary


def _two_clouds(n=200, seed=0):
    rng = np.random.default_rng(seed)
    points = np.concatenate([rng.normal([0, 3], 0.7, (n, 2)), rng.normal([3, 0], 0.7, (n, 2))])
    return points, np.repeat([0, 1], n)


def test_decision_boundary_line_is_where_the_score_equals_the_threshold():
    points, labels = _two_clouds()

    def score(grid):
        return 0.25 * grid[:, 0] - 0.25 * grid[:, 1] + 0.5  # 0.5 exactly on the diagonal x = y

    figure = plots.decision_boundary(score, points, labels)
    (ax,) = [a for a in figure.axes if a.get_title()]
    assert ax.get_title() == "Decision boundary" and ax.get_xlabel() == "x"
    line_sets = [c for c in ax.collections if isinstance(c, matplotlib.contour.ContourSet) and not c.filled]
    assert len(line_sets) == 1
    vertices = np.concatenate([path.vertices for path in line_sets[0].get_paths() if len(path.vertices)])
    assert np.allclose(vertices[:, 0], vertices[:, 1], atol=0.05)
    expected = np.mean((score(points) > 0.5) == labels)
    assert f"gets {expected:.1%} of these points right" in figure.caption
    assert "black line is where the score equals 0.5" in figure.caption


def test_decision_boundary_uses_a_models_predict_and_takes_the_largest_class_score():
    points, labels = _two_clouds(50)

    class Model:
        calls = 0

        def predict(self, grid, verbose=1):
            assert verbose == 0  # no progress bar per call
            Model.calls += 1
            return np.column_stack([grid[:, 1], grid[:, 0]])  # class 1 where x > y

    figure = plots.decision_boundary(Model(), points, labels, class_names=["up", "right"])
    assert Model.calls == 2
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert legend == ["up", "right"]
    assert "100.0%" in figure.caption


def test_decision_boundary_rejects_points_that_are_not_2d():
    with pytest.raises(CourseError, match=r"shape \(N, 2\)"):
        plots.decision_boundary(lambda g: g[:, 0], np.zeros((5, 3)), np.zeros(5))


# --------------------------------------------------------------------------- images


def test_image_grid_frames_wrong_predictions_in_red():
    images = np.random.default_rng(0).random((6, 8, 8))
    labels = np.array([0, 1, 2, 0, 1, 2])
    predictions = np.eye(3)[[0, 2, 2, 0, 0, 2]]  # probability rows: argmax is taken
    figure = plots.image_grid(images, labels, predictions, class_names=["cat", "dog", "bird"])
    shown = [ax for ax in figure.axes if ax.get_visible()]
    assert len(shown) == 6
    wrong = [ax for ax in shown if ax.spines["top"].get_visible()]
    assert [ax.get_title() for ax in wrong] == ["bird\n(true: dog)", "cat\n(true: dog)"]
    assert all(to_hex(ax.title.get_color()) == plots.WRONG.lower() for ax in wrong)
    assert all(to_hex(ax.spines["left"].get_edgecolor()) == plots.WRONG.lower() for ax in wrong)
    right = [ax for ax in shown if ax not in wrong]
    assert [ax.get_title() for ax in right] == ["cat", "bird", "cat", "bird"]
    assert "2 of 6 are wrong, framed in red: bird (true dog), cat (true dog)." in figure.caption


def test_image_grid_shows_colour_and_single_channel_images_and_caps_the_count():
    colour = plots.image_grid(np.zeros((40, 5, 5, 3), dtype="uint8"), labels=np.zeros(40), max_images=9)
    assert sum(ax.get_visible() for ax in colour.axes) == 9
    assert colour.axes[0].images[0].get_array().shape == (5, 5, 3)
    single = plots.image_grid(np.ones((2, 5, 5, 1)) * 255)
    assert single.axes[0].images[0].get_array().shape == (5, 5)
    assert single.caption == "2 images."


def test_filters_draws_one_panel_per_filter_with_a_signed_colour_scale():
    kernel = np.zeros((3, 3, 1, 5))
    kernel[0, 0, 0, 2] = -2.0
    kernel[2, 2, 0, 2] = 1.0
    figure = plots.filters(kernel)
    panels = [ax for ax in figure.axes if ax.images]
    assert len(panels) == 5
    image = panels[2].images[0]
    assert image.get_clim() == (-2.0, 2.0) and image.get_cmap().name == "RdBu_r"
    assert "All 5 filters (3x3)" in figure.caption
    assert any(ax.get_ylabel() == "weight" for ax in figure.axes)  # the colour bar


def test_filters_over_three_input_channels_are_drawn_in_colour():
    figure = plots.filters(np.random.default_rng(1).normal(size=(5, 5, 3, 40)), max_filters=8)
    panels = [ax for ax in figure.axes if ax.images]
    assert len(panels) == 8 and panels[0].images[0].get_array().shape == (5, 5, 3)
    assert "The first 8 of 40 filters (5x5)" in figure.caption and "in colour" in figure.caption


def test_feature_maps_counts_filters_that_found_nothing():
    activations = np.zeros((1, 6, 6, 4))
    activations[0, 2, 3, 1] = 5.0
    activations[0, :, :, 3] = np.arange(36).reshape(6, 6)
    figure = plots.feature_maps(activations, image=np.ones((8, 8)), layer_name="conv2d")
    titles = [t for t in _titles(figure) if t]
    assert titles == ["input", "channel 0", "channel 1", "channel 2", "channel 3"]
    assert "All 4 feature maps (6x6) of layer conv2d" in figure.caption
    assert "2 of them are uniform" in figure.caption


def test_class_activation_map_stretches_the_heatmap_over_the_image_and_says_where_it_is_hot():
    heatmap = np.zeros((7, 7))
    heatmap[6, 0] = 3.0
    figure = plots.class_activation_map(np.zeros((140, 210, 3)), heatmap, label="cat")
    overlay = figure.axes[2]
    assert overlay.get_title() == "Overlay"
    assert overlay.images[1].get_extent() == [-0.5, 209.5, 139.5, -0.5]
    assert overlay.images[1].get_array().max() == 1.0  # scaled to [0, 1]
    assert "hottest region is in the bottom left" in figure.caption
    assert "class 'cat'" in figure.caption


def test_timeseries_forecast_places_the_future_at_the_horizon_and_reports_each_error():
    past = np.linspace(0, 1, 120)
    figure = plots.timeseries_forecast(past, future=[2.0], forecasts={"baseline": [1.0], "lstm": [1.5]},
                                       horizon=24, value_label="Temperature (°C)")
    (ax,) = figure.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["true future"].get_xdata()) == [24]
    assert lines["past (input)"].get_xdata()[-1] == 0 and len(lines["past (input)"].get_xdata()) == 120
    assert ax.get_ylabel() == "Temperature (°C)" and ax.get_xlabel() == "Hour (0 = last input)"
    assert "24 hours ahead" in figure.caption
    assert "Mean absolute error: baseline 1, lstm 0.5." in figure.caption


def test_timeseries_forecast_needs_forecasts_as_long_as_the_truth():
    with pytest.raises(CourseError, match="same length"):
        plots.timeseries_forecast([1, 2, 3], future=[1, 2], forecasts=[1, 2, 3])


def test_attention_heatmap_labels_rows_and_columns_with_the_tokens():
    tokens = ["the", "cat", "sat"]
    weights = np.array([[0.8, 0.1, 0.1], [0.1, 0.2, 0.7], [0.3, 0.6, 0.1]])
    figure = plots.attention_heatmap(tokens, weights, highlight=1)
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == tokens
    assert [t.get_text() for t in ax.get_yticklabels()] == tokens
    assert "0.70" in _texts(figure)
    assert len(ax.patches) == 1 and ax.patches[0].get_y() == 0.5  # row 1 outlined
    assert "Each row sums to 1." in figure.caption and "'cat' attends most to 'sat' (0.70)" in figure.caption
    with pytest.raises(CourseError, match=r"\(queries, keys\) = \(3, 3\)"):
        plots.attention_heatmap(tokens, np.ones((3, 4)))


def test_confusion_counts_and_matrix_name_the_most_common_mistake():
    true = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
    predicted = np.array([0, 1, 1, 1, 2, 2, 1, 1, 2])
    counts = plots.confusion_counts(true, predicted)
    assert counts.tolist() == [[1, 1, 0], [0, 2, 1], [0, 2, 2]]
    figure = plots.confusion_matrix(true, predicted, class_names=["a", "b", "c"])
    ax = figure.axes[0]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert sorted(_texts(figure)) == sorted(str(v) for v in counts.ravel())
    assert "5 of 9 examples (55.6%)" in figure.caption
    assert "c predicted as b (2 times)" in figure.caption
    normalized = plots.confusion_matrix(true, predicted, normalize=True)
    assert "0.50" in _texts(normalized)


# --------------------------------------------------------------------------- display and style


def test_notebook_output_shows_the_caption_as_alt_text_and_under_the_image():
    figure = plots.training_curves({"loss": [1.0, 0.5]})
    data, metadata = figure._repr_mimebundle_()
    png = base64.b64decode(data["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(png)).text["Description"] == figure.caption
    assert f'alt="{figure.caption}"' in data["text/html"]
    page = data["text/html"]
    assert page.index("<img") < page.index("<figcaption") < page.index(figure.caption + "</figcaption>")
    assert data["text/plain"] == f"[figure] {figure.caption}"
    assert metadata["image/png"] == {"width": 640, "height": 420}


def test_course_figures_keep_the_course_style_and_leave_the_learners_settings_alone():
    with matplotlib.rc_context({"axes.titlesize": 30, "axes.spines.top": True}):
        figure = plots.training_curves({"loss": [1.0, 0.5]})
        assert matplotlib.rcParams["axes.titlesize"] == 30
    ax = figure.axes[0]
    assert ax.title.get_fontsize() == 12
    assert not ax.spines["top"].get_visible()


def test_use_style_gives_a_learners_own_figures_the_course_look():
    with matplotlib.rc_context():
        plots.use_style()
        assert matplotlib.rcParams["font.size"] == 11
        assert to_hex(matplotlib.rcParams["axes.prop_cycle"].by_key()["color"][0]) == plots.COLORS[0].lower()


def test_course_figures_never_enter_pyplot():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plots.confusion_matrix([0, 1], [1, 1])
    assert plt.get_fignums() == before
