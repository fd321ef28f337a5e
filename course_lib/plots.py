"""The course's figures: training curves, decision boundaries, image grids and the rest.

Every function here returns a :class:`CourseFigure` (a matplotlib ``Figure``) with titles, axis
labels and a **caption**: one or two sentences, computed from the data, that say what the figure
shows ("Validation loss is lowest at epoch 4 ..."). In a notebook the figure appears when it is
the last value of a cell (or with :func:`show`), with the caption printed under it and used as
the image's alt text; ``fig.caption`` holds the same text and ``fig.savefig(...)`` works as usual.

The figures are built without ``matplotlib.pyplot``, so they never appear twice and never leak
into a learner's own ``plt`` figures. All of them share one style (``course.mplstyle``): call
:func:`use_style` to give a learner's own plots the same look.

Importing ``course_lib`` does not import this module or matplotlib; ``course_lib.plots`` does.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.colors
import matplotlib.patches
import matplotlib.style
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from course_lib.errors import CourseError

__all__ = [
    "STYLE",
    "CourseFigure",
    "attention_heatmap",
    "class_activation_map",
    "confusion_counts",
    "confusion_matrix",
    "decision_boundary",
    "feature_maps",
    "filters",
    "image_grid",
    "show",
    "timeseries_forecast",
    "training_curves",
    "use_style",
]

#: The course's matplotlib style file.
STYLE = Path(__file__).with_name("course.mplstyle")

#: Colours in the order runs and classes get them (the style's Okabe-Ito cycle).
COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: Marks what is wrong (a wrong prediction, a divergent run).
WRONG = "#D55E00"

_ABBREVIATIONS = {"mae": "MAE", "mse": "MSE", "rmse": "RMSE", "auc": "AUC", "lr": "learning rate"}
_LOWER_IS_BETTER = ("loss", "error", "mae", "mse", "rmse", "crossentropy", "hinge", "divergence")


def use_style() -> None:
    """Give every later matplotlib figure of this session the course's look.

    The course's own figures use the style whether or not this was called; call it so that a
    learner's ``plt.plot(...)`` figures match them.
    """
    matplotlib.style.use(STYLE)


def _styled(function: Callable[..., Any]) -> Callable[..., Any]:
    """Build the figure inside the course style without changing the learner's settings."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.style.context(STYLE):
            return function(*args, **kwargs)

    return wrapper


class CourseFigure(Figure):
    """A matplotlib figure that carries a caption and shows it under the image in notebooks.

    ``caption`` describes what a learner sees; it is the ``alt`` text of the image, the
    ``Description`` of a saved PNG and what a text-only front end prints.
    """

    caption: str = ""

    def set_caption(self, text: str) -> CourseFigure:
        """Set the caption (whitespace is normalized) and return the figure."""
        self.caption = " ".join(str(text).split())
        return self

    def to_png(self) -> bytes:
        """The figure as PNG bytes, drawn in the course style, with the caption as metadata."""
        buffer = io.BytesIO()
        with matplotlib.style.context(STYLE):
            self.savefig(buffer, format="png", metadata={"Description": self.caption})
        return buffer.getvalue()

    def to_html(self, png: bytes | None = None) -> str:
        """An HTML ``<figure>``: the image with the caption as alt text and printed under it."""
        png = self.to_png() if png is None else png
        encoded = base64.b64encode(png).decode("ascii")
        caption = html.escape(self.caption)
        return (
            '<figure class="course-figure" style="margin: 0.5em 0">'
            f'<img src="data:image/png;base64,{encoded}" alt="{caption}" style="max-width: 100%">'
            '<figcaption style="font-size: 0.9em; color: #444; max-width: 60em; margin-top: 0.3em">'
            f"{caption}</figcaption></figure>"
        )

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        png = self.to_png()
        width, height = (int(round(v)) for v in self.get_size_inches() * self.dpi)
        data = {
            "text/html": self.to_html(png),
            "image/png": base64.b64encode(png).decode("ascii"),
            "text/plain": f"[figure] {self.caption}",
        }
        return data, {"image/png": {"width": width, "height": height}}

    def _ipython_display_(self) -> None:
        from IPython.display import display

        data, metadata = self._repr_mimebundle_()
        display(data, metadata=metadata, raw=True)

    def __repr__(self) -> str:
        width, height = (int(round(v)) for v in self.get_size_inches() * self.dpi)
        return f"<CourseFigure {width}x{height}: {self.caption}>"


def new_figure(width: float = 8.0, height: float = 4.5) -> CourseFigure:
    """An empty :class:`CourseFigure` (constrained layout, Agg canvas) for a course figure."""
    figure = CourseFigure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def show(figure: Figure) -> None:
    """Show a figure in the notebook now, with its caption; outside a notebook print the caption.

    Use it when a figure is not the last value of its cell.
    """
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # a plain Python without IPython
        shell = None
    if shell is not None:
        from IPython.display import display

        display(figure)
    else:
        print(f"[figure] {getattr(figure, 'caption', '')}")


# --------------------------------------------------------------------------- helpers


def _pretty(metric: str) -> str:
    name = metric.removeprefix("val_")
    return _ABBREVIATIONS.get(name, name.replace("_", " ").capitalize())


def _lower_name(metric: str) -> str:
    pretty = _pretty(metric)
    return pretty if pretty.isupper() else pretty.lower()


def _lower_is_better(metric: str) -> bool:
    return any(word in metric.lower() for word in _LOWER_IS_BETTER)


def _fmt(value: float) -> str:
    """A number as a learner would write it: 3 significant digits, no scientific noise."""
    if not math.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.2e}"
    return f"{value:.3g}"


def _array(values: Any, name: str) -> np.ndarray:
    """NumPy array from a list, an array or a tensor (``.numpy()``)."""
    if hasattr(values, "numpy"):
        values = values.numpy()
    try:
        return np.asarray(values)
    except Exception as error:  # ragged lists and the like
        raise CourseError(f"{name} must be an array of numbers, got {type(values).__name__}: {error}") from None


def _class_name(index: int, class_names: Sequence[str] | None) -> str:
    if class_names is not None and 0 <= index < len(class_names):
        return str(class_names[index])
    return str(index)


def _as_labels(values: Any, name: str) -> np.ndarray:
    """Class indices from indices, one-hot rows or probability rows (argmax)."""
    array = _array(values, name)
    if array.ndim == 2 and array.shape[1] > 1:
        return array.argmax(axis=1)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
        if array.dtype.kind == "f" and array.min() >= 0 and array.max() <= 1:
            return (array > 0.5).astype(int)
    if array.ndim != 1:
        raise CourseError(f"{name} must be class indices (one number per example), got shape {array.shape}")
    return array.astype(int)


# --------------------------------------------------------------------------- training curves


def _is_series(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) == 1


def _run_dict(run: Any, name: str) -> dict[str, list[float]]:
    logs = getattr(run, "history", run)  # a keras History keeps its logs in .history
    if isinstance(logs, Mapping) and logs and all(_is_series(v) for v in logs.values()):
        return {str(key): [float(v) for v in values] for key, values in logs.items()}
    raise CourseError(
        f"{name} is not a training history. Pass what model.fit() returned, its .history dict "
        "({'loss': [...], 'val_loss': [...]}), or a dict of several of them by run name."
    )


def _as_runs(history: Any) -> dict[str, dict[str, list[float]]]:
    logs = getattr(history, "history", history)
    if isinstance(logs, Mapping) and logs and all(_is_series(v) for v in logs.values()):
        model = getattr(history, "model", None)
        return {getattr(model, "name", None) or "model": _run_dict(logs, "history")}
    if isinstance(history, Mapping) and history:
        return {str(name): _run_dict(run, f"run {name!r}") for name, run in history.items()}
    return {"model": _run_dict(history, "history")}


def _best(values: Sequence[float], metric: str) -> tuple[int, float]:
    array = np.asarray(values, dtype=float)
    index = int(np.nanargmin(array) if _lower_is_better(metric) else np.nanargmax(array))
    return index, float(array[index])


@_styled
def training_curves(
    history: Any,
    metrics: Sequence[str] | None = None,
    *,
    title: str | None = None,
) -> CourseFigure:
    """Training (dashed) and validation (solid) curves per epoch, one panel per metric.

    ``history`` is what ``model.fit()`` returned, its ``.history`` dict, or a dict of several
    runs by name (``{"small": h1, "large": h2, "regularized": h3}``), drawn in one colour each
    on the same axes. ``metrics`` picks the panels (default: every metric, loss first). The best
    validation epoch of each run is marked with a dot.
    """
    runs = _as_runs(history)
    if metrics is None:
        names: list[str] = []
        for logs in runs.values():
            for key in logs:
                base = key.removeprefix("val_")
                if base not in names:
                    names.append(base)
        metrics = sorted(names, key=lambda m: (m != "loss", names.index(m)))
    metrics = [m.removeprefix("val_") for m in metrics]
    if not metrics:
        raise CourseError("the history holds no metric to plot")
    for metric in metrics:
        if not any(metric in logs or f"val_{metric}" in logs for logs in runs.values()):
            known = sorted({k.removeprefix("val_") for logs in runs.values() for k in logs})
            raise CourseError(f"no run logged {metric!r}; the history has: {', '.join(known)}")

    several = len(runs) > 1
    figure = new_figure(min(4.6 * len(metrics) + (1.6 if several else 0), 14) if len(metrics) > 1 else 6.4 + (1.6 if several else 0), 4.2)
    axes = figure.subplots(1, len(metrics), squeeze=False)[0]
    facts: list[str] = []
    longest = 0
    colors = dict(zip(runs, _cycle(COLORS), strict=False))
    for ax, metric in zip(axes, metrics, strict=True):
        for run, logs in runs.items():
            color = colors[run]
            if metric in logs:
                epochs = np.arange(1, len(logs[metric]) + 1)
                ax.plot(epochs, logs[metric], "--", color=color, linewidth=1.5, alpha=0.8,
                        label=f"{run}: training" if several else "training")
                longest = max(longest, len(epochs))
            if f"val_{metric}" in logs:
                values = logs[f"val_{metric}"]
                epochs = np.arange(1, len(values) + 1)
                ax.plot(epochs, values, "-", color=color,
                        label=f"{run}: validation" if several else "validation")
                index, best = _best(values, metric)
                ax.plot([index + 1], [best], "o", color=color, markersize=8,
                        markeredgecolor="black", zorder=5)
                longest = max(longest, len(epochs))
        ax.set_title(_pretty(metric))
        ax.set_xlabel("Epoch")
        ax.set_ylabel(_pretty(metric))
        ax.xaxis.get_major_locator().set_params(integer=True)
        if not several:
            ax.legend()
        facts.extend(_curve_facts(runs, metric))
    if several:  # one entry per run (its colour) and one per line style, beside the last panel
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=colors[run], label=run) for run in runs]
        handles += [Line2D([], [], color="#555555", linestyle="--", linewidth=1.5, label="training"),
                    Line2D([], [], color="#555555", label="validation")]
        axes[-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    if title:
        figure.suptitle(title)
    run_names = ", ".join(runs)
    what = " and ".join(_lower_name(m) for m in metrics)
    lead = (
        f"Training (dashed) and validation (solid) {what} over {longest} epochs"
        + (f" for {len(runs)} runs: {run_names}." if len(runs) > 1 else ".")
    )
    return figure.set_caption(" ".join([lead, *facts]))


def _cycle(values: Sequence[str]) -> Iterable[str]:
    while True:
        yield from values


def _overfits(logs: Mapping[str, list[float]], metric: str) -> int | None:
    """The best validation epoch (1-based) if validation gets worse after it while training improves."""
    validation, training = logs.get(f"val_{metric}"), logs.get(metric)
    if validation is None or training is None or len(training) != len(validation):
        return None
    index, best = _best(validation, metric)
    if index + 3 > len(validation) - 1:
        return None
    lower = _lower_is_better(metric)
    worse = validation[-1] > best if lower else validation[-1] < best
    improving = training[-1] < training[index] if lower else training[-1] > training[index]
    return index + 1 if worse and improving else None


def _curve_facts(runs: Mapping[str, Mapping[str, list[float]]], metric: str) -> list[str]:
    key = f"val_{metric}"
    scored = [(run, *_best(logs[key], metric)) for run, logs in runs.items() if key in logs]
    if not scored:
        return []
    name = _lower_name(metric)
    if len(scored) > 1:
        pick = min if _lower_is_better(metric) else max
        run, index, value = pick(scored, key=lambda item: item[2])
        facts = [f"Best validation {name}: {run}, {_fmt(value)} at epoch {index + 1}."]
        overfit = [(run, epoch) for run in runs if (epoch := _overfits(runs[run], metric))]
        if overfit:
            listed = ", ".join(f"{run} after epoch {epoch}" for run, epoch in overfit)
            facts.append(f"Overfitting (validation {name} worsens while training improves): {listed}.")
        return facts
    run, index, value = scored[0]
    word = "lowest" if _lower_is_better(metric) else "highest"
    sentence = f"Validation {name} is {word} at epoch {index + 1} ({_fmt(value)})"
    if _overfits(runs[run], metric):
        sentence += "; after that it gets worse while training keeps improving: the model overfits"
    return [sentence + "."]


# --------------------------------------------------------------------------- decision boundary


def _predictor(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    if hasattr(model, "predict") and callable(model.predict):
        def predict(grid: np.ndarray) -> np.ndarray:
            return _array(model.predict(grid, verbose=0), "the model's predictions")

        return predict
    if callable(model):
        return lambda grid: _array(model(grid), "the classifier's output")
    raise CourseError(
        "decision_boundary() needs a Keras model or a function that maps an (N, 2) array of points "
        f"to scores, got {type(model).__name__}"
    )


@_styled
def decision_boundary(
    model: Any,
    points: Any,
    labels: Any,
    *,
    threshold: float = 0.5,
    resolution: int = 200,
    class_names: Sequence[str] | None = None,
    axis_labels: tuple[str, str] = ("x", "y"),
    title: str = "Decision boundary",
) -> CourseFigure:
    """The regions a 2D classifier assigns to each class, with the points drawn over them.

    ``model`` is a Keras model or a function from an ``(N, 2)`` array to scores: one score per
    point (class 1 where it exceeds ``threshold``, the black line is where it equals it) or one
    column per class (the largest wins).
    """
    points = _array(points, "points").astype(float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise CourseError(f"points must have shape (N, 2), got {points.shape}")
    labels = _as_labels(labels, "labels")
    if len(labels) != len(points):
        raise CourseError(f"{len(points)} points but {len(labels)} labels")
    predict = _predictor(model)
    low, high = points.min(axis=0), points.max(axis=0)
    pad = 0.1 * np.maximum(high - low, 1e-9)
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    grid = np.column_stack([grid_x.ravel(), grid_y.ravel()]).astype("float32")
    scores = predict(grid)
    scores_at_points = predict(points.astype("float32"))

    figure = new_figure(6.4, 5.2)
    ax = figure.subplots()
    classes = max(int(labels.max()) + 1, 2)
    multiclass = scores.ndim == 2 and scores.shape[1] > 1
    cmap = matplotlib.colors.ListedColormap([COLORS[i % len(COLORS)] for i in range(classes)])
    if multiclass:
        regions = scores.argmax(axis=1).reshape(grid_x.shape)
        predicted = scores_at_points.argmax(axis=1)
        ax.contourf(grid_x, grid_y, regions, levels=np.arange(-0.5, classes), cmap=cmap, alpha=0.18)
        boundary = "Region borders are where the predicted class changes."
    else:
        field = scores.reshape(grid_x.shape)
        predicted = (scores_at_points.reshape(-1) > threshold).astype(int)
        ax.contourf(grid_x, grid_y, (field > threshold).astype(float), levels=[-0.5, 0.5, 1.5],
                    cmap=cmap, alpha=0.18)
        if field.min() < threshold < field.max():
            ax.contour(grid_x, grid_y, field, levels=[threshold], colors="black", linewidths=2)
            boundary = f"The black line is where the score equals {_fmt(threshold)}."
        else:
            boundary = f"The score never crosses {_fmt(threshold)} in this window, so there is no boundary line."
    for index in range(classes):
        chosen = labels == index
        if chosen.any():
            ax.scatter(points[chosen, 0], points[chosen, 1], s=12, color=COLORS[index % len(COLORS)],
                       alpha=0.7, label=_class_name(index, class_names))
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title(title)
    ax.legend(title="true class", loc="best")
    accuracy = float(np.mean(predicted == labels))
    return figure.set_caption(
        f"{len(points)} points of {classes} classes, coloured by their true class, over the "
        f"regions the model assigns to each class. {boundary} The model gets {accuracy:.1%} of "
        "these points right."
    )


# --------------------------------------------------------------------------- images


def _display_image(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    """An image ready for imshow: (H, W) grey or (H, W, 3) colour scaled to [0, 1]."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 3 and image.shape[-1] == 4:
        image = image[..., :3]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3):
        raise CourseError(f"an image must be (height, width), (height, width, 1) or (height, width, 3); got {image.shape}")
    image = _unit_range(image)
    return image, ("gray" if image.ndim == 2 else None)


def _unit_range(image: np.ndarray) -> np.ndarray:
    """Pixel values in [0, 1]: 8-bit images are divided by 255, floats in [0, 1] kept, others stretched."""
    if image.dtype.kind in "ui" and image.size and image.min() >= 0 and image.max() <= 255:
        return image.astype(float) / 255.0
    image = image.astype(float)
    low, high = float(image.min()), float(image.max())
    if low < 0.0 or high > 1.0:
        return (image - low) / (high - low) if high > low else np.zeros_like(image)
    return image


def _grid_shape(count: int, ncols: int | None) -> tuple[int, int]:
    ncols = ncols or min(count, max(1, math.ceil(math.sqrt(count * 1.6))))
    return math.ceil(count / ncols), ncols


def _hide_ticks(ax: Any) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


@_styled
def image_grid(
    images: Any,
    labels: Any = None,
    predictions: Any = None,
    *,
    class_names: Sequence[str] | None = None,
    ncols: int | None = None,
    max_images: int = 25,
    title: str | None = None,
) -> CourseFigure:
    """A grid of images with their labels; wrong predictions get a red frame and title.

    ``images`` is ``(N, H, W)``, ``(N, H, W, 1)`` or ``(N, H, W, 3)``; ``labels`` and
    ``predictions`` are class indices (or probability rows, argmax is taken). With predictions,
    each title shows the prediction, and a wrong one adds "(true: ...)" in red.
    """
    images = _array(images, "images")
    if images.ndim not in (3, 4):
        raise CourseError(f"images must be a batch (N, height, width[, channels]); got shape {images.shape}")
    count = min(len(images), max_images)
    if count == 0:
        raise CourseError("there are no images to show")
    labels = None if labels is None else _as_labels(labels, "labels")[:count]
    predictions = None if predictions is None else _as_labels(predictions, "predictions")[:count]
    rows, cols = _grid_shape(count, ncols)
    figure = new_figure(min(1.6 * cols, 14), 1.75 * rows + (0.4 if title else 0))
    axes = figure.subplots(rows, cols, squeeze=False).ravel()
    wrong: list[str] = []
    for index, ax in enumerate(axes):
        _hide_ticks(ax)
        if index >= count:
            ax.set_visible(False)
            continue
        picture, cmap = _display_image(images[index])
        ax.imshow(picture, cmap=cmap, vmin=0, vmax=1)
        if predictions is not None:
            predicted = _class_name(int(predictions[index]), class_names)
            if labels is not None and predictions[index] != labels[index]:
                truth = _class_name(int(labels[index]), class_names)
                ax.set_title(f"{predicted}\n(true: {truth})", color=WRONG, fontsize=10)
                for spine in ax.spines.values():
                    spine.set_visible(True)
                    spine.set_color(WRONG)
                    spine.set_linewidth(3)
                wrong.append(f"{predicted} (true {truth})")
            else:
                ax.set_title(predicted, fontsize=10)
        elif labels is not None:
            ax.set_title(_class_name(int(labels[index]), class_names), fontsize=10)
    if title:
        figure.suptitle(title)
    if predictions is not None and labels is not None:
        if wrong:
            listed = ", ".join(wrong[:5]) + (", ..." if len(wrong) > 5 else "")
            result = f"{len(wrong)} of {count} are wrong, framed in red: {listed}."
        else:
            result = f"All {count} predictions are right."
        caption = f"{count} images, each titled with the model's prediction. {result}"
    elif predictions is not None:
        caption = f"{count} images, each titled with the model's prediction."
    elif labels is not None:
        caption = f"{count} images, each titled with its label."
    else:
        caption = f"{count} images."
    return figure.set_caption(caption)


def _kernel_array(kernel: Any) -> np.ndarray:
    if hasattr(kernel, "get_weights"):  # a Conv2D layer
        weights = kernel.get_weights()
        if not weights:
            raise CourseError("this layer has no weights yet: build or call the model first")
        kernel = weights[0]
    kernel = _array(kernel, "kernel").astype(float)
    if kernel.ndim == 2:
        kernel = kernel[:, :, None, None]
    if kernel.ndim != 4:
        raise CourseError(
            f"filters() needs a Conv2D kernel of shape (height, width, in_channels, filters); got {kernel.shape}"
        )
    return kernel


@_styled
def filters(
    kernel: Any,
    *,
    max_filters: int = 32,
    channel: int | None = None,
    title: str = "Convolution filters",
) -> CourseFigure:
    """The weights of a Conv2D layer, one small image per filter.

    ``kernel`` is a Conv2D layer or its kernel array ``(height, width, in_channels, filters)``.
    Filters over 3 input channels are drawn in colour; otherwise ``channel`` picks the input
    channel (default: the mean over channels) and blue/red mark negative/positive weights.
    """
    kernel = _kernel_array(kernel)
    height, width, in_channels, count = kernel.shape
    shown = min(count, max_filters)
    rows, cols = _grid_shape(shown, min(shown, 8))
    figure = new_figure(min(1.3 * cols + 0.8, 14), 1.3 * rows + 0.6)
    axes = figure.subplots(rows, cols, squeeze=False).ravel()
    colour = in_channels == 3 and channel is None
    limit = float(np.abs(kernel).max()) or 1.0
    image = None
    for index, ax in enumerate(axes):
        _hide_ticks(ax)
        if index >= shown:
            ax.set_visible(False)
            continue
        weights = kernel[:, :, :, index]
        if colour:
            low, high = weights.min(), weights.max()
            ax.imshow((weights - low) / (high - low) if high > low else np.zeros_like(weights))
        else:
            flat = weights.mean(axis=-1) if channel is None else weights[:, :, channel]
            image = ax.imshow(flat, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(str(index), fontsize=9)
    figure.suptitle(title)
    if image is not None:
        figure.colorbar(image, ax=list(axes[:shown]), shrink=0.8, label="weight")
    how = (
        "in colour (red, green, blue input channels)" if colour
        else "blue for negative and red for positive weights"
        + (" (mean over input channels)" if channel is None and in_channels > 1 else "")
    )
    return figure.set_caption(
        f"{'The first ' + str(shown) + ' of ' if shown < count else 'All '}{count} filters "
        f"({height}x{width}) of the layer, drawn {how}."
    )


@_styled
def feature_maps(
    activations: Any,
    *,
    image: Any = None,
    max_maps: int = 16,
    layer_name: str | None = None,
) -> CourseFigure:
    """The channels of one layer's output for one input: what each filter responds to.

    ``activations`` is ``(height, width, channels)`` or a batch of one. With ``image`` the input
    is drawn first. Bright means a strong activation; an all-dark map is a filter that never fired.
    """
    maps = _array(activations, "activations").astype(float)
    if maps.ndim == 4:
        maps = maps[0]
    if maps.ndim != 3:
        raise CourseError(f"activations must be (height, width, channels) for one input; got {maps.shape}")
    height, width, channels = maps.shape
    shown = min(channels, max_maps)
    panels = shown + (image is not None)
    rows, cols = _grid_shape(panels, min(panels, 8))
    figure = new_figure(min(1.7 * cols, 14), 1.8 * rows + 0.5)
    axes = figure.subplots(rows, cols, squeeze=False).ravel()
    offset = 0
    if image is not None:
        picture, cmap = _display_image(_array(image, "image"))
        axes[0].imshow(picture, cmap=cmap)
        axes[0].set_title("input", fontsize=10)
        _hide_ticks(axes[0])
        offset = 1
    blank = 0
    for index in range(shown):
        ax = axes[index + offset]
        _hide_ticks(ax)
        channel = maps[:, :, index]
        if np.allclose(channel, channel.flat[0]):
            blank += 1
        ax.imshow(channel, cmap="viridis")
        ax.set_title(f"channel {index}", fontsize=9)
    for ax in axes[panels:]:
        ax.set_visible(False)
    layer = f"layer {layer_name}" if layer_name else "the layer"
    figure.suptitle(f"Feature maps of {layer}")
    blank_note = f" {blank} of them are uniform: that filter found nothing in this input." if blank else ""
    return figure.set_caption(
        f"{'The first ' + str(shown) + ' of ' if shown < channels else 'All '}{channels} feature maps "
        f"({height}x{width}) of {layer} for one input; bright is a strong activation.{blank_note}"
    )


def _where(heatmap: np.ndarray) -> str:
    row, col = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
    vertical = ("top", "middle", "bottom")[min(2, 3 * row // heatmap.shape[0])]
    horizontal = ("left", "centre", "right")[min(2, 3 * col // heatmap.shape[1])]
    return "centre" if (vertical, horizontal) == ("middle", "centre") else f"{vertical} {horizontal}"


@_styled
def class_activation_map(
    image: Any,
    heatmap: Any,
    *,
    label: str | None = None,
    alpha: float = 0.45,
) -> CourseFigure:
    """A class-activation heatmap stretched over the image it explains, in three panels.

    ``heatmap`` is the coarse grid (for instance 7x7) of how much each region raised the class
    score; it is scaled to [0, 1] and drawn over ``image`` with transparency ``alpha``.
    """
    picture, cmap = _display_image(_array(image, "image"))
    heat = _array(heatmap, "heatmap").astype(float)
    heat = heat.squeeze()
    if heat.ndim != 2:
        raise CourseError(f"heatmap must be a 2D grid; got shape {heat.shape}")
    heat = np.maximum(heat, 0)
    if heat.max() > 0:
        heat = heat / heat.max()
    height, width = picture.shape[:2]
    figure = new_figure(11, 3.9)
    axes = figure.subplots(1, 3)
    axes[0].imshow(picture, cmap=cmap)
    axes[0].set_title("Image")
    shown = axes[1].imshow(heat, cmap="jet", vmin=0, vmax=1)
    axes[1].set_title(f"Heatmap ({heat.shape[0]}x{heat.shape[1]})")
    figure.colorbar(shown, ax=axes[1], shrink=0.8, label="importance")
    axes[2].imshow(picture, cmap=cmap)
    axes[2].imshow(heat, cmap="jet", alpha=alpha, extent=(-0.5, width - 0.5, height - 0.5, -0.5),
                   interpolation="bilinear", vmin=0, vmax=1)
    axes[2].set_title("Overlay")
    for ax in axes:
        _hide_ticks(ax)
    what = f"class '{label}'" if label else "the predicted class"
    figure.suptitle(f"Where the model looked for {what}")
    return figure.set_caption(
        f"The {width}x{height} image, the {heat.shape[0]}x{heat.shape[1]} class-activation heatmap for "
        f"{what}, and the heatmap stretched over the image (red: regions that raised the score most). "
        f"The hottest region is in the {_where(heat)}."
    )


# --------------------------------------------------------------------------- timeseries


@_styled
def timeseries_forecast(
    past: Any,
    *,
    future: Any = None,
    forecasts: Mapping[str, Any] | Any = None,
    horizon: int = 1,
    step_label: str = "Hour",
    value_label: str = "Value",
    title: str = "Forecast",
) -> CourseFigure:
    """A series' recent past, the true future and one or more forecasts of it.

    ``past`` is the input window (1D). ``future`` is the true value(s) after it, the first one
    ``horizon`` steps after the last past value (24 for "24 hours ahead"). ``forecasts`` maps a
    model name to its prediction(s), one per future value (a bare array is called "forecast").
    The caption gives each forecast's mean absolute error.
    """
    past = _array(past, "past").astype(float).reshape(-1)
    truth = None if future is None else np.atleast_1d(_array(future, "future").astype(float)).reshape(-1)
    if forecasts is None:
        forecasts = {}
    elif not isinstance(forecasts, Mapping):
        forecasts = {"forecast": forecasts}
    predicted = {str(name): np.atleast_1d(_array(values, f"forecast {name!r}").astype(float)).reshape(-1)
                 for name, values in forecasts.items()}
    future_steps = {len(values) for values in predicted.values()} | ({len(truth)} if truth is not None else set())
    if len(future_steps) > 1:
        raise CourseError(f"the true future and every forecast must have the same length; got {sorted(future_steps)}")
    length = future_steps.pop() if future_steps else 0
    time_past = np.arange(-len(past) + 1, 1)
    time_future = np.arange(horizon, horizon + length)

    figure = new_figure(9, 4.2)
    ax = figure.subplots()
    ax.plot(time_past, past, color="#555555", linewidth=1.5, label="past (input)")
    ax.axvline(0, color="#999999", linewidth=1, linestyle=":")
    marker = "o" if length <= 3 else None
    if truth is not None:
        ax.plot(time_future, truth, color="black", marker=marker, markersize=8, label="true future")
    errors = []
    for color, (name, values) in zip(_cycle(COLORS), predicted.items(), strict=False):
        ax.plot(time_future, values, "--", color=color, marker="X" if marker else None, markersize=9, label=name)
        if truth is not None:
            errors.append(f"{name} {_fmt(float(np.mean(np.abs(values - truth))))}")
    ax.set_xlabel(f"{step_label} (0 = last input)")
    ax.set_ylabel(value_label)
    ax.set_title(title)
    ax.legend()
    ahead = f"{horizon} {step_label.lower()}{'s' if horizon != 1 else ''} ahead"
    parts = [f"The last {len(past)} {step_label.lower()}s of input"]
    if truth is not None:
        parts.append(f"the true value{'s' if length > 1 else ''} from {ahead} (black)")
    if predicted:
        parts.append(f"{len(predicted)} forecast{'s' if len(predicted) > 1 else ''} (dashed)")
    caption = ", then ".join(parts) + "."
    if errors:
        caption += " Mean absolute error: " + ", ".join(errors) + "."
    return figure.set_caption(caption)


# --------------------------------------------------------------------------- attention


def _attention_inputs(tokens: Sequence[str], weights: Any, key_tokens: Sequence[str] | None) -> tuple[list[str], list[str], np.ndarray]:
    queries = [str(t) for t in tokens]
    keys = queries if key_tokens is None else [str(t) for t in key_tokens]
    array = _array(weights, "weights").astype(float)
    if array.ndim == 4 and array.shape[0] == 1:  # (batch=1, heads, queries, keys)
        array = array[0]
    if array.ndim not in (2, 3) or array.shape[-2:] != (len(queries), len(keys)):
        raise CourseError(
            f"weights must be (queries, keys) = ({len(queries)}, {len(keys)}) for these tokens, "
            f"or (heads, queries, keys); got shape {array.shape}"
        )
    return queries, keys, array


def _strongest_pair(weights: np.ndarray, queries: list[str], keys: list[str]) -> tuple[int, int]:
    masked = weights.copy()
    if queries == keys:
        np.fill_diagonal(masked, -np.inf)  # a token attending to itself is the least interesting
    row, col = np.unravel_index(int(np.argmax(masked)), masked.shape)
    return int(row), int(col)


@_styled
def attention_heatmap(
    tokens: Sequence[str],
    weights: Any,
    *,
    key_tokens: Sequence[str] | None = None,
    highlight: int | None = None,
    head: int = 0,
    title: str = "Attention weights",
) -> CourseFigure:
    """Attention weights as a grid: one row per query token, one column per key token.

    ``weights`` is ``(queries, keys)`` or ``(heads, queries, keys)`` (``head`` picks one).
    ``key_tokens`` defaults to ``tokens`` (self-attention). ``highlight`` outlines one query row.
    """
    queries, keys, array = _attention_inputs(tokens, weights, key_tokens)
    if array.ndim == 3:
        array = array[head]
    figure = new_figure(max(4.5, 0.55 * len(keys) + 2.2), max(3.5, 0.45 * len(queries) + 1.8))
    ax = figure.subplots()
    image = ax.imshow(array, cmap="Blues", vmin=0, vmax=max(float(array.max()), 1e-9), aspect="auto")
    ax.grid(False)
    ax.set_xticks(range(len(keys)), keys, rotation=45, ha="right")
    ax.set_yticks(range(len(queries)), queries)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.set_title(title)
    if len(keys) <= 14 and len(queries) <= 14:
        for row in range(len(queries)):
            for col in range(len(keys)):
                value = array[row, col]
                ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if value > 0.6 * array.max() else "black")
    if highlight is not None:
        ax.add_patch(matplotlib.patches.Rectangle((-0.5, highlight - 0.5), len(keys), 1, fill=False,
                                                  edgecolor=WRONG, linewidth=3))
    figure.colorbar(image, ax=ax, shrink=0.8, label="weight")
    if highlight is not None:
        row = highlight
        col = int(np.argmax(array[row]))
    else:
        row, col = _strongest_pair(array, queries, keys)
    sums = array.sum(axis=1)
    rows_note = " Each row sums to 1." if np.allclose(sums, 1, atol=1e-3) else ""
    return figure.set_caption(
        f"Attention weights of {len(queries)} query tokens (rows) over {len(keys)} key tokens "
        f"(columns); darker is more attention.{rows_note} '{queries[row]}' attends most to "
        f"'{keys[col]}' ({array[row, col]:.2f})."
    )


# --------------------------------------------------------------------------- confusion matrix


def confusion_counts(true: Any, predicted: Any, num_classes: int | None = None) -> np.ndarray:
    """Counts[i, j] = how many examples of true class i were predicted as class j."""
    true = _as_labels(true, "true labels")
    predicted = _as_labels(predicted, "predictions")
    if len(true) != len(predicted):
        raise CourseError(f"{len(true)} true labels but {len(predicted)} predictions")
    classes = num_classes or int(max(true.max(), predicted.max())) + 1
    return np.bincount(true * classes + predicted, minlength=classes * classes).reshape(classes, classes)


@_styled
def confusion_matrix(
    true: Any,
    predicted: Any,
    *,
    class_names: Sequence[str] | None = None,
    normalize: bool = False,
    title: str = "Confusion matrix",
) -> CourseFigure:
    """Which classes the model mixes up: true class per row, predicted class per column.

    ``predicted`` may be class indices or probability rows. With ``normalize=True`` each row
    shows fractions of that true class instead of counts.
    """
    num_classes = len(class_names) if class_names is not None else None
    counts = confusion_counts(true, predicted, num_classes)
    classes = counts.shape[0]
    names = [_class_name(i, class_names) for i in range(classes)]
    shown = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalize else counts
    size = max(4.5, 0.5 * classes + 2.5)
    figure = new_figure(size + 1, size)
    ax = figure.subplots()
    image = ax.imshow(shown, cmap="Blues")
    ax.grid(False)
    tilt = classes > 4 and max(len(name) for name in names) > 2
    ax.set_xticks(range(classes), names, rotation=45 if tilt else 0, ha="right" if tilt else "center")
    ax.set_yticks(range(classes), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    if classes <= 20:
        for row in range(classes):
            for col in range(classes):
                value = shown[row, col]
                text = f"{value:.2f}" if normalize else str(int(value))
                ax.text(col, row, text, ha="center", va="center", fontsize=9 if classes <= 10 else 7,
                        color="white" if value > 0.6 * shown.max() else "black")
    figure.colorbar(image, ax=ax, shrink=0.8, label="fraction of the row" if normalize else "examples")
    total = int(counts.sum())
    correct = int(np.trace(counts))
    off = counts.copy()
    np.fill_diagonal(off, 0)
    caption = (
        f"True class per row, predicted class per column: {correct} of {total} examples "
        f"({correct / max(total, 1):.1%}) lie on the diagonal and are right."
    )
    if off.max() > 0:
        row, col = np.unravel_index(int(np.argmax(off)), off.shape)
        caption += f" The most common mistake: {names[row]} predicted as {names[col]} ({int(off[row, col])} times)."
    return figure.set_caption(caption)
