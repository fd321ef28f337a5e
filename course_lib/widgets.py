"""Interactive explorers: move a slider, watch the figure change.

=====================================  =======================================================
``gradient_descent_explorer()``        gradient descent on a 1D or 2D loss; learning-rate slider
``linear_classifier_stepper(...)``     step through training a linear classifier on 2D points
``kernel_explorer(image)``             pick or edit a 3x3 convolution kernel, see the feature map
``attention_explorer(tokens, w)``      pick a query token, see its attention over the keys
``LiveCurves()``                       a Keras callback that redraws the training curves in place
=====================================  =======================================================

Each explorer function returns an explorer object. Like an ipywidgets widget, it shows itself
when it is the last value of a cell (or with ``display(explorer)``)::

    course_lib.widgets.gradient_descent_explorer()

What appears depends on where the notebook runs:

* JupyterLab, Jupyter Notebook 7 and Colab: the live controls and a figure that redraws when a
  control moves, with a caption under it that says what the figure shows.
* Anywhere else (a static export, GitHub, a front end without widgets, a notebook run by
  nbval or nbclient): a static figure that puts several settings side by side, for instance
  three learning rates. The output carries both, and each front end picks what it can show:
  the widget view where widgets work, the static figure elsewhere. Nothing fails.
* ``COURSE_STATIC_WIDGETS=1``, or no Jupyter kernel at all (a plain script): only the static
  figure; ``explorer.static_figure()`` returns it, ``explorer.show()`` prints its caption.

The computation lives apart from the display, in small classes that work without a front end
(``GradientDescentState(lr).run(steps)``, :class:`LinearClassifierState`, :func:`apply_kernel`),
so a lesson, a test or an exercise check can use them directly.

Importing this module imports NumPy and matplotlib (through :mod:`course_lib.plots`), not
ipywidgets (loaded when a widget is first built) and not Keras (loaded when ``LiveCurves`` is
first used).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import matplotlib.patches
import matplotlib.style
import numpy as np

from course_lib import plots
from course_lib.errors import CourseError
from course_lib.runtime import detect_platform

__all__ = [
    "LOSSES",
    "KERNELS",
    "STATIC_ENV",
    "AttentionExplorer",
    "DescentPath",
    "Explorer",
    "GradientDescentExplorer",
    "GradientDescentState",
    "KernelExplorer",
    "LinearClassifierState",
    "LinearClassifierStepper",
    "Loss",
    "apply_kernel",
    "attention_explorer",
    "gradient_descent_explorer",
    "gradient_descent_comparison",
    "kernel_explorer",
    "linear_classifier_stepper",
    "widget_mode",
]

#: Set to 1 to show every explorer as its static figure only (no widgets).
STATIC_ENV = "COURSE_STATIC_WIDGETS"
WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
_TRUE = {"1", "true", "yes", "on"}


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (not a plain script, not terminal IPython)."""
    ipython = sys.modules.get("IPython")  # a kernel has always imported IPython already
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def widget_mode(environ: Mapping[str, str] | None = None) -> str:
    """``"widgets"`` inside a Jupyter kernel, ``"static"`` with COURSE_STATIC_WIDGETS=1 or outside one.

    In ``"widgets"`` mode an explorer's output carries the live widget *and* its static figure,
    and the front end shows what it can (see the module docstring): a kernel cannot tell
    whether a front end will draw widgets (under nbval nobody answers, and nothing fails).
    """
    environ = os.environ if environ is None else environ
    if environ.get(STATIC_ENV, "").strip().lower() in _TRUE:
        return "static"
    return "widgets" if _in_kernel() else "static"


# =========================================================================== the explorer base


class Explorer:
    """What every explorer shares: a live figure redrawn in place, its widget, a static fallback.

    Subclasses provide ``title``, ``_controls()`` (the ipywidgets controls, wired to
    :meth:`redraw`), ``_draw(figure)`` (draw the current state and set the caption) and
    ``_static()`` (a figure with several settings side by side).
    """

    title = "Explorer"
    figure_size: tuple[float, float] = (9.0, 4.0)

    def __init__(self) -> None:
        self.figure = plots.new_figure(*self.figure_size)
        self._widget: Any = None
        self._image: Any = None
        self._caption: Any = None
        self._status: Any = None
        self.redraws = 0

    # -- drawing
    @property
    def caption(self) -> str:
        """What the live figure shows now, in words."""
        return self.figure.caption

    def redraw(self) -> None:
        """Draw the current state into :attr:`figure` and, if the widget exists, refresh it."""
        with matplotlib.style.context(plots.STYLE):
            self.figure.clear()
            self._draw(self.figure)
        self.redraws += 1
        if self._image is not None:
            self._image.value = self.figure.to_png()
            self._caption.value = _caption_html(self.figure.caption)

    def _on_change(self, _change: Any = None) -> None:
        """Observer for every control: recompute, redraw, and report a problem in the widget."""
        try:
            self._update_state()
            self.redraw()
            if self._status is not None:
                self._status.value = ""
        except CourseError as error:
            if self._status is None:
                raise
            self._status.value = f'<span style="color: {plots.WRONG}">{_escape(str(error))}</span>'

    def _update_state(self) -> None:
        """Read the controls into the state (subclasses)."""

    def _draw(self, figure: plots.CourseFigure) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _static(self) -> plots.CourseFigure:  # pragma: no cover - abstract
        raise NotImplementedError

    def _controls(self) -> list[Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- the widget
    @property
    def widget(self) -> Any:
        """The ipywidgets box (controls, figure, caption), built on first use."""
        if self._widget is None:
            import ipywidgets

            controls = self._controls()
            self.redraw()
            self._image = ipywidgets.Image(value=self.figure.to_png(), format="png",
                                           layout=ipywidgets.Layout(max_width="100%", height="auto"))
            self._caption = ipywidgets.HTML(_caption_html(self.figure.caption))
            self._status = ipywidgets.HTML("")
            self._widget = ipywidgets.VBox(
                [ipywidgets.HTML(f"<b>{_escape(self.title)}</b>"), *controls, self._status,
                 self._image, self._caption],
                layout=ipywidgets.Layout(max_width="100%"),
            )
            self._widget.add_class("course-explorer")
        return self._widget

    def static_figure(self) -> plots.CourseFigure:
        """The fallback figure: several settings side by side, with a caption."""
        with matplotlib.style.context(plots.STYLE):
            return self._static()

    # -- display
    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """One output with the widget view and the static figure; the front end picks one."""
        static = self.static_figure()
        static_data, static_metadata = static._repr_mimebundle_()
        if widget_mode() == "static":
            return static_data, static_metadata
        data = dict(self.widget._repr_mimebundle_())
        data["text/html"] = static_data["text/html"]
        data["image/png"] = static_data["image/png"]
        data["text/plain"] = (
            f"{self.title} (interactive in JupyterLab or Colab). Static figure: {static.caption}"
        )
        return data, static_metadata

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if widget_mode() == "widgets" and (
            detect_platform() == "colab" or not hasattr(self.widget, "_repr_mimebundle_")
        ):
            display(self.widget)  # Colab, or ipywidgets 7: the widget's own display path
            return
        data, metadata = self._repr_mimebundle_()
        display(data, metadata=metadata, raw=True)

    def show(self) -> plots.CourseFigure:
        """Display the explorer in a notebook; in a script, print the static figure's caption.

        Returns the static figure (``.savefig(path)`` saves it).
        """
        if _in_kernel():
            from IPython.display import display

            display(self)
            return self.static_figure()
        static = self.static_figure()
        print(f"{self.title}: {static.caption}")
        return static

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.caption or self.title}>"


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def _caption_html(text: str) -> str:
    return (f'<div style="max-width: 60em; color: #444; font-size: 0.95em; line-height: 1.45">'
            f"{_escape(text)}</div>")


# =========================================================================== gradient descent


@dataclass(frozen=True)
class Loss:
    """A loss surface to descend: its formula, gradient, starting point and view.

    ``showcase`` holds three learning rates (too small, right, divergent) for the static figure.
    """

    name: str
    formula: str
    function: Callable[[np.ndarray], float]
    gradient: Callable[[np.ndarray], np.ndarray]
    start: tuple[float, ...]
    view: tuple[tuple[float, float], ...]
    showcase: tuple[float, float, float]

    @property
    def dimensions(self) -> int:
        return len(self.start)


LOSSES: dict[str, Loss] = {
    "bowl": Loss(
        name="bowl",
        formula="loss(w) = w²",
        function=lambda w: float(w[0] ** 2),
        gradient=lambda w: np.array([2.0 * w[0]]),
        start=(4.0,),
        view=((-6.0, 6.0),),
        showcase=(0.02, 0.1, 1.05),
    ),
    "valley": Loss(
        name="valley",
        formula="loss(w1, w2) = w1² + 10·w2²",
        function=lambda w: float(w[0] ** 2 + 10.0 * w[1] ** 2),
        gradient=lambda w: np.array([2.0 * w[0], 20.0 * w[1]]),
        start=(-4.5, 1.5),
        view=((-6.0, 6.0), (-3.0, 3.0)),
        showcase=(0.005, 0.045, 0.11),
    ),
}

_REGIME_TEXT = {
    "too small": "The steps are too small: the descent crawls and is still far from the minimum.",
    "right": "The steps are about right: the loss falls steadily to the minimum.",
    "too large": "The steps are too large: each one overshoots the minimum, and the descent "
                 "bounces from side to side without getting much closer.",
    "divergent": "The steps are far too large: each one lands higher up the other side than it "
                 "started, and the loss explodes.",
}


@dataclass(frozen=True)
class DescentPath:
    """The result of :meth:`GradientDescentState.run`: every point visited and its loss."""

    points: np.ndarray
    losses: np.ndarray
    learning_rate: float
    loss: Loss
    requested: int = 0

    @property
    def steps(self) -> int:
        return len(self.points) - 1

    @property
    def diverged(self) -> bool:
        """The loss ended above where it started (or overflowed)."""
        final = self.losses[-1]
        return not math.isfinite(final) or final > self.losses[0]

    @property
    def oscillates(self) -> bool:
        """Consecutive steps point in opposite directions along some axis (overshooting)."""
        moves = np.diff(self.points, axis=0)
        if len(moves) < 2:
            return False
        flips = (moves[1:] * moves[:-1]) < 0
        return bool(flips.all(axis=0).any())

    @property
    def regime(self) -> str:
        """``"too small"``, ``"right"``, ``"too large"`` or ``"divergent"``.

        Right: the loss fell below 10% of its start. Too small or too large: it did not, without
        or with overshooting. Divergent: it grew.
        """
        if self.diverged:
            return "divergent"
        if self.losses[-1] <= 0.1 * self.losses[0]:
            return "right"
        return "too large" if self.oscillates else "too small"

    def describe(self) -> str:
        """One paragraph on what happened, for captions and hints."""
        stopped = self.steps < self.requested
        sentence = (
            f"Gradient descent on {self.loss.formula} from w = {_point(self.points[0])} with "
            f"learning rate {plots._fmt(self.learning_rate)}: after {self.steps} steps the loss went "
            f"from {plots._fmt(self.losses[0])} to {plots._fmt(self.losses[-1])}"
            + (", so the run stopped there. " if stopped else ". ")
        )
        text = _REGIME_TEXT[self.regime]
        if self.regime == "right" and self.oscillates:
            text = text[:-1] + ", overshooting from side to side on the way."
        return sentence + text


def _point(values: np.ndarray) -> str:
    return plots._fmt(float(values[0])) if len(values) == 1 else "(" + ", ".join(plots._fmt(float(v)) for v in values) + ")"


@dataclass
class GradientDescentState:
    """Plain gradient descent, ``w <- w - learning_rate * gradient(w)``, on one of :data:`LOSSES`.

    >>> GradientDescentState(0.1).run(20).regime
    'right'
    """

    learning_rate: float = 0.1
    loss: str | Loss = "bowl"
    start: Sequence[float] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.loss, str):
            if self.loss not in LOSSES:
                raise CourseError(f"unknown loss {self.loss!r}; choose one of: {', '.join(LOSSES)}")
            self.loss = LOSSES[self.loss]
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise CourseError(f"the learning rate must be a positive number, got {self.learning_rate!r}")

    def run(self, steps: int = 20) -> DescentPath:
        """Take ``steps`` steps (stopping early once the values overflow) and return the path."""
        loss = self.loss
        assert isinstance(loss, Loss)
        w = np.array(self.start if self.start is not None else loss.start, dtype=float)
        if w.shape != (loss.dimensions,):
            raise CourseError(f"the {loss.name} loss needs a start with {loss.dimensions} value(s), got {list(w)}")
        points, losses = [w.copy()], [loss.function(w)]
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(int(steps)):
                w = w - self.learning_rate * loss.gradient(w)
                value = loss.function(w)
                points.append(w.copy())
                losses.append(value)
                if not math.isfinite(value) or value > 1e12:
                    break
        return DescentPath(np.array(points), np.array(losses, dtype=float), float(self.learning_rate),
                           loss, int(steps))


def _view(path: DescentPath) -> list[tuple[float, float]]:
    """Axis limits that hold the default view and the path (up to 10 times the view)."""
    limits = []
    for axis, (low, high) in enumerate(path.loss.view):
        values = path.points[:, axis]
        values = values[np.isfinite(values)]
        reach = float(np.abs(values).max()) * 1.1 if len(values) else 0.0
        reach = min(reach, 10 * max(abs(low), abs(high)))
        limits.append((min(low, -reach), max(high, reach)))
    return limits


def _draw_landscape(ax: Any, path: DescentPath, *, compact: bool = False) -> None:
    """The loss surface with the path drawn over it (curve in 1D, contours in 2D)."""
    loss = path.loss
    limits = _view(path)
    color = plots.WRONG if path.regime == "divergent" else plots.COLORS[0]
    start = {"text": "start", "textcoords": "offset points", "fontsize": 10,
             "xytext": (8, 6), "color": "black"}
    if loss.dimensions == 1:
        (low, high), = limits
        ws = np.linspace(low, high, 400)
        ax.plot(ws, [loss.function(np.array([w])) for w in ws], color="#888888", linewidth=1.5)
        keep = np.isfinite(path.losses)
        ax.plot(path.points[keep, 0], path.losses[keep], "-o", color=color,
                markersize=4 if compact else 5, linewidth=1, alpha=0.9)
        ax.plot(path.points[:1, 0], path.losses[:1], "s", color="black", markersize=7)
        ax.annotate(xy=(path.points[0, 0], path.losses[0]), **start)
        top = loss.function(np.array([max(abs(low), abs(high))]))
        ax.set_xlim(low, high)
        ax.set_ylim(-0.05 * top, 1.05 * top)
        ax.set_xlabel("w")
        ax.set_ylabel("loss")
    else:
        (xlow, xhigh), (ylow, yhigh) = limits
        grid_x, grid_y = np.meshgrid(np.linspace(xlow, xhigh, 200), np.linspace(ylow, yhigh, 200))
        values = np.vectorize(lambda a, b: loss.function(np.array([a, b])))(grid_x, grid_y)
        levels = np.geomspace(0.05, max(values.max(), 1.0), 14)
        ax.contour(grid_x, grid_y, values, levels=levels, colors="#AAAAAA", linewidths=0.8)
        finite = np.isfinite(path.points).all(axis=1)
        ax.plot(path.points[finite, 0], path.points[finite, 1], "-o", color=color,
                markersize=3 if compact else 4, linewidth=1)
        ax.plot(path.points[:1, 0], path.points[:1, 1], "s", color="black", markersize=7)
        ax.annotate(xy=tuple(path.points[0]), **start)
        ax.plot([0], [0], "*", color=plots.COLORS[2], markersize=14)
        ax.set_xlim(xlow, xhigh)
        ax.set_ylim(ylow, yhigh)
        if list(limits) == list(loss.view):  # true proportions, so a narrow valley looks narrow
            ax.set_aspect("equal")
        ax.set_xlabel("w1")
        ax.set_ylabel("w2")


def gradient_descent_comparison(
    loss: str = "bowl", learning_rates: Sequence[float] | None = None, steps: int = 20
) -> plots.CourseFigure:
    """Three learning rates side by side on the same loss: too small, right and divergent."""
    chosen = GradientDescentState(loss=loss).loss
    assert isinstance(chosen, Loss)
    rates = tuple(learning_rates or chosen.showcase)
    with matplotlib.style.context(plots.STYLE):
        figure = plots.new_figure(4.0 * len(rates), 3.8)
        axes = figure.subplots(1, len(rates), squeeze=False)[0]
        paths = [GradientDescentState(rate, chosen).run(steps) for rate in rates]
        for ax, path in zip(axes, paths, strict=True):
            _draw_landscape(ax, path, compact=True)
            ax.set_title(f"learning rate {plots._fmt(path.learning_rate)}: {path.regime}",
                         color=plots.WRONG if path.regime == "divergent" else "black")
        figure.suptitle(f"Gradient descent on {chosen.formula}, {steps} steps")
    summary = "; ".join(
        f"{plots._fmt(p.learning_rate)} is {p.regime} (loss {plots._fmt(p.losses[0])} to {plots._fmt(p.losses[-1])})"
        for p in paths
    )
    return figure.set_caption(
        f"The same {steps} steps of gradient descent on {chosen.formula} with {len(rates)} learning "
        f"rates, starting from the black square: {summary}."
    )


class GradientDescentExplorer(Explorer):
    """Gradient descent with a learning-rate slider, a step-count slider and a choice of loss.

    ``state`` and ``path`` hold the current computation; ``lr_slider``, ``steps_slider`` and
    ``loss_picker`` are the controls once :attr:`widget` has been built.
    """

    title = "Gradient descent explorer"

    def __init__(self, loss: str = "bowl", learning_rate: float | None = None, steps: int = 20) -> None:
        super().__init__()
        if learning_rate is None:  # open where the descent converges; the learner finds the limits
            if loss not in LOSSES:
                raise CourseError(f"unknown loss {loss!r}; choose one of: {', '.join(LOSSES)}")
            learning_rate = LOSSES[loss].showcase[1]
        self.state = GradientDescentState(learning_rate, loss)
        self.steps = int(steps)
        self.path = self.state.run(self.steps)
        self.lr_slider: Any = None
        self.steps_slider: Any = None
        self.loss_picker: Any = None

    def _controls(self) -> list[Any]:
        import ipywidgets

        style = {"description_width": "8em"}
        self.lr_slider = ipywidgets.FloatLogSlider(
            value=self.state.learning_rate, base=10, min=-3, max=0.2, step=0.01,
            description="learning rate", readout_format=".3g", style=style,
            layout=ipywidgets.Layout(width="34em"))
        self.steps_slider = ipywidgets.IntSlider(
            value=self.steps, min=1, max=60, description="steps", style=style,
            layout=ipywidgets.Layout(width="34em"))
        assert isinstance(self.state.loss, Loss)
        self.loss_picker = ipywidgets.ToggleButtons(
            options=[("1D bowl", "bowl"), ("2D valley", "valley")], value=self.state.loss.name,
            description="loss", style=style)
        for control in (self.lr_slider, self.steps_slider, self.loss_picker):
            control.observe(self._on_change, names="value")
        return [self.loss_picker, self.lr_slider, self.steps_slider]

    def _update_state(self) -> None:
        self.state = GradientDescentState(float(self.lr_slider.value), self.loss_picker.value)
        self.steps = int(self.steps_slider.value)
        self.path = self.state.run(self.steps)

    def _draw(self, figure: plots.CourseFigure) -> None:
        path = self.path
        landscape, curve = figure.subplots(1, 2, width_ratios=(1.25, 1))
        _draw_landscape(landscape, path)
        landscape.set_title("Path on the loss surface")
        finite = np.isfinite(path.losses)
        steps = np.arange(len(path.losses))[finite]
        curve.semilogy(steps, np.maximum(path.losses[finite], 1e-12), "-o", markersize=4,
                       color=plots.WRONG if path.regime == "divergent" else plots.COLORS[0])
        curve.set_xlim(-0.5, max(self.steps, 1) + 0.5)
        curve.set_title("Loss per step")
        curve.set_xlabel("step")
        curve.set_ylabel("loss (log scale)")
        figure.suptitle(f"Learning rate {plots._fmt(path.learning_rate)}: {path.regime}",
                        color=plots.WRONG if path.regime == "divergent" else "black")
        figure.set_caption(path.describe())

    def _static(self) -> plots.CourseFigure:
        assert isinstance(self.state.loss, Loss)
        return gradient_descent_comparison(self.state.loss.name, steps=self.steps)


def gradient_descent_explorer(
    loss: str = "bowl", learning_rate: float | None = None, steps: int = 20
) -> GradientDescentExplorer:
    """Gradient descent on a loss surface with a learning-rate slider.

    ``loss`` is ``"bowl"`` (1D, w²) or ``"valley"`` (2D, w1² + 10·w2², a long narrow valley).
    Without ``learning_rate`` it opens at a rate that converges on that loss (0.1 on the bowl,
    0.045 on the valley, where 0.1 would bounce across the steep direction for ever).
    Slide the learning rate from 0.001 up: the descent crawls (too small), reaches the minimum
    in a few steps (right), bounces across it (too large), then flies off (divergent). The
    static fallback shows three learning rates side by side.
    """
    return GradientDescentExplorer(loss, learning_rate, steps)


# =========================================================================== linear classifier


@dataclass(frozen=True)
class Snapshot:
    """The classifier after some training steps: ``prediction = points @ weights + bias``."""

    step: int
    weights: np.ndarray
    bias: float
    loss: float | None


def _as_weights(value: Any) -> tuple[np.ndarray, float]:
    try:
        weights, bias = value
    except (TypeError, ValueError):
        raise CourseError("weights() must return a pair (W, b): W with 2 numbers, b one number") from None
    weights = plots._array(weights, "W").astype(float).reshape(-1)
    bias_array = plots._array(bias, "b").astype(float).reshape(-1)
    if weights.shape != (2,) or bias_array.shape != (1,):
        raise CourseError(f"weights() must return W with 2 numbers and b with 1, got W {weights.shape} and b {bias_array.shape}")
    return weights, float(bias_array[0])


class _NumpyLinearTrainer:
    """The lesson's linear classifier in NumPy: mean squared error, full-batch gradient descent."""

    def __init__(self, points: np.ndarray, targets: np.ndarray, learning_rate: float, seed: int) -> None:
        self.points, self.targets, self.learning_rate = points, targets, learning_rate
        rng = np.random.default_rng(seed)
        self.W = rng.uniform(0.0, 1.0, size=2)
        self.b = 0.0

    def step(self) -> float:
        predictions = self.points @ self.W + self.b
        errors = predictions - self.targets
        loss = float(np.mean(errors ** 2))
        gradient = 2.0 * errors / len(errors)
        self.W = self.W - self.learning_rate * (self.points.T @ gradient)
        self.b = self.b - self.learning_rate * float(gradient.sum())
        return loss

    def weights(self) -> tuple[np.ndarray, float]:
        return self.W.copy(), self.b


class LinearClassifierState:
    """Training of a linear classifier on 2D points, recorded step by step.

    The classifier predicts ``w1*x + w2*y + b`` and calls a point class 1 where that exceeds
    ``threshold``; its decision line is ``w1*x + w2*y + b = threshold``.

    By default it trains itself in NumPy (mean squared error, full batch). To drive it with the
    lesson's own TensorFlow code pass ``step`` (one training step, returns the loss) and
    ``weights`` (returns the current ``(W, b)``)::

        LinearClassifierState(inputs, targets, step=lambda: training_step(inputs, targets),
                              weights=lambda: (W, b))

    ``steps`` training steps run at once (so your variables end up trained), and
    ``snapshots[k]`` is the classifier after ``k`` of them.
    """

    def __init__(
        self,
        points: Any,
        labels: Any,
        *,
        step: Callable[[], Any] | None = None,
        weights: Callable[[], Any] | None = None,
        steps: int = 40,
        learning_rate: float = 0.1,
        threshold: float = 0.5,
        seed: int = 0,
    ) -> None:
        self.points = plots._array(points, "points").astype(float)
        if self.points.ndim != 2 or self.points.shape[1] != 2:
            raise CourseError(f"points must have shape (N, 2), got {self.points.shape}")
        self.labels = plots._array(labels, "labels").astype(float).reshape(-1)
        if len(self.labels) != len(self.points):
            raise CourseError(f"{len(self.points)} points but {len(self.labels)} labels")
        if not np.isin(self.labels, (0.0, 1.0)).all():
            raise CourseError("labels must be 0 or 1 (two classes)")
        if (step is None) != (weights is None):
            raise CourseError("pass both step= (one training step) and weights= (returns (W, b)), or neither")
        if step is None:
            trainer = _NumpyLinearTrainer(self.points, self.labels, learning_rate, seed)
            step, weights = trainer.step, trainer.weights
        assert weights is not None
        self.threshold = float(threshold)
        first, bias = _as_weights(weights())
        self.snapshots = [Snapshot(0, first, bias, None)]
        for index in range(1, int(steps) + 1):
            loss = step()
            loss_value = float(np.asarray(loss.numpy() if hasattr(loss, "numpy") else loss).reshape(-1)[0])
            current, bias = _as_weights(weights())
            self.snapshots.append(Snapshot(index, current, bias, loss_value))

    @property
    def steps(self) -> int:
        return len(self.snapshots) - 1

    def predictions(self, step: int) -> np.ndarray:
        """Predicted class (0 or 1) of every point after ``step`` steps."""
        snap = self.snapshots[step]
        return (self.points @ snap.weights + snap.bias > self.threshold).astype(float)

    def accuracy(self, step: int) -> float:
        """Fraction of points on their own class's side of the line after ``step`` steps."""
        return float(np.mean(self.predictions(step) == self.labels))

    def line(self, step: int, x_limits: tuple[float, float], y_limits: tuple[float, float]) -> tuple[np.ndarray, np.ndarray] | None:
        """Two points of the decision line inside the given window (None if it has none)."""
        snap = self.snapshots[step]
        (w1, w2), b = snap.weights, snap.bias
        if abs(w2) >= abs(w1) and abs(w2) > 1e-12:  # y = (t - b - w1 x) / w2
            xs = np.array(x_limits, dtype=float)
            return xs, (self.threshold - b - w1 * xs) / w2
        if abs(w1) > 1e-12:  # x = (t - b - w2 y) / w1
            ys = np.array(y_limits, dtype=float)
            return (self.threshold - b - w2 * ys) / w1, ys
        return None


def _equation(w1: float, w2: float, bias: float, threshold: float) -> str:
    """``0.18·x − 0.12·y + 0.38 = 0.5`` with the signs written as a learner would."""
    text = f"{plots._fmt(w1)}·x"
    for value, name in ((w2, "·y"), (bias, "")):
        text += f" {'−' if value < 0 else '+'} {plots._fmt(abs(value))}{name}"
    return f"{text} = {plots._fmt(threshold)}"


class LinearClassifierStepper(Explorer):
    """A step slider (with a play button) over a recorded training run of a linear classifier."""

    title = "Linear classifier, step by step"

    def __init__(self, state: LinearClassifierState, step: int = 0) -> None:
        super().__init__()
        self.state = state
        self.step = int(step)
        low, high = state.points.min(axis=0), state.points.max(axis=0)
        pad = 0.08 * (high - low)
        self.x_limits = (float(low[0] - pad[0]), float(high[0] + pad[0]))
        self.y_limits = (float(low[1] - pad[1]), float(high[1] + pad[1]))
        self.step_slider: Any = None
        self.player: Any = None

    def _controls(self) -> list[Any]:
        import ipywidgets

        self.step_slider = ipywidgets.IntSlider(value=self.step, min=0, max=self.state.steps,
                                                description="step", layout=ipywidgets.Layout(width="34em"))
        self.player = ipywidgets.Play(value=self.step, min=0, max=self.state.steps, interval=400,
                                      description="play")
        ipywidgets.jslink((self.player, "value"), (self.step_slider, "value"))
        self.step_slider.observe(self._on_change, names="value")
        return [ipywidgets.HBox([self.player, self.step_slider])]

    def _update_state(self) -> None:
        self.step = int(self.step_slider.value)

    def _draw_points(self, ax: Any, step: int, trail: int = 3) -> None:
        state = self.state
        for label, color in ((0, plots.COLORS[0]), (1, plots.COLORS[1])):
            chosen = state.labels == label
            ax.scatter(state.points[chosen, 0], state.points[chosen, 1], s=8, color=color, alpha=0.5,
                       label=f"class {label}")
        for earlier in range(max(0, step - trail), step):
            line = state.line(earlier, self.x_limits, self.y_limits)
            if line is not None:
                ax.plot(*line, color="#999999", linewidth=1, alpha=0.6)
        line = state.line(step, self.x_limits, self.y_limits)
        if line is not None:
            ax.plot(*line, color="black", linewidth=2.5, label="decision line")
        ax.set_xlim(*self.x_limits)
        ax.set_ylim(*self.y_limits)
        ax.set_xlabel("x")
        ax.set_ylabel("y")

    def _draw(self, figure: plots.CourseFigure) -> None:
        state, step = self.state, self.step
        scatter, curve = figure.subplots(1, 2, width_ratios=(1.3, 1))
        self._draw_points(scatter, step)
        accuracy = state.accuracy(step)
        scatter.set_title(f"Step {step}: {accuracy:.1%} on the right side")
        scatter.legend(loc="upper right", markerscale=2)
        losses = [s.loss for s in state.snapshots[1:]]
        shown = losses[:step]
        curve.plot(range(1, step + 1), shown, "-o", markersize=3, color=plots.COLORS[0])
        curve.set_xlim(0, state.steps + 0.5)
        top = max(losses) if losses else 1.0
        curve.set_ylim(0, top * 1.05 if top > 0 else 1.0)
        curve.set_title("Training loss")
        curve.set_xlabel("step")
        curve.set_ylabel("loss")
        snap = state.snapshots[step]
        w1, w2 = snap.weights
        equation = _equation(w1, w2, snap.bias, state.threshold)
        progress = (
            f" The loss has gone from {plots._fmt(losses[0])} to {plots._fmt(losses[step - 1])}."
            if step >= 1 and losses else " No training step yet: the line comes from the initial weights."
        )
        figure.set_caption(
            f"Step {step} of {state.steps}: the decision line {equation} (black; grey: the previous "
            f"steps) puts {accuracy:.1%} of the {len(state.points)} points on their class's side.{progress}"
        )

    def _static(self) -> plots.CourseFigure:
        state = self.state
        chosen = sorted({0, max(1, state.steps // 8), state.steps})
        figure = plots.new_figure(4.0 * len(chosen), 3.9)
        axes = figure.subplots(1, len(chosen), squeeze=False)[0]
        for ax, step in zip(axes, chosen, strict=True):
            self._draw_points(ax, step, trail=0)
            ax.set_title(f"step {step}: {state.accuracy(step):.1%} right")
        axes[0].legend(loc="upper right", markerscale=2)
        figure.suptitle("The decision line during training")
        listed = ", ".join(f"{state.accuracy(step):.1%} after {step} steps" for step in chosen)
        return figure.set_caption(
            f"The decision line (black) over the {len(state.points)} training points at "
            f"{len(chosen)} moments of training: {listed}."
        )


def linear_classifier_stepper(
    points: Any,
    labels: Any,
    *,
    step: Callable[[], Any] | None = None,
    weights: Callable[[], Any] | None = None,
    steps: int = 40,
    learning_rate: float = 0.1,
    threshold: float = 0.5,
) -> LinearClassifierStepper:
    """Step through training a linear classifier and watch its decision line move.

    ``points`` is ``(N, 2)``, ``labels`` 0 or 1. Without ``step``/``weights`` it trains a NumPy
    copy of the lesson's model (mean squared error, full batch, ``learning_rate``). With them,
    your own training step drives it (see :class:`LinearClassifierState`). All ``steps`` run at
    once; the slider (or the play button) then walks through them.
    """
    state = LinearClassifierState(points, labels, step=step, weights=weights, steps=steps,
                                  learning_rate=learning_rate, threshold=threshold)
    return LinearClassifierStepper(state)


# =========================================================================== convolution kernels


#: Preset 3x3 kernels: name -> (kernel, what its feature map shows).
KERNELS: dict[str, tuple[np.ndarray, str]] = {
    "identity": (np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], float),
                 "copies the image unchanged"),
    "blur": (np.full((3, 3), 1 / 9),
             "averages each 3x3 neighbourhood, so fine detail and noise soften"),
    "sharpen": (np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], float),
                "boosts each pixel against its neighbours, so edges and texture stand out"),
    "vertical edges": (np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float),
                       "responds where brightness changes from left to right: vertical edges, "
                       "positive where it gets brighter, negative where it gets darker"),
    "horizontal edges": (np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], float),
                         "responds where brightness changes from top to bottom: horizontal edges"),
    "outline": (np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], float),
                "responds wherever a pixel differs from its surroundings: outlines in every direction"),
    "emboss": (np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], float),
               "lights edges facing the bottom right and shades those facing the top left"),
}


def _grey_image(image: Any) -> np.ndarray:
    """A 2D float image in [0, 1] from grey, RGB(A) or single-channel input of any numeric range."""
    array = plots._array(image, "image")
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        array = plots._unit_range(array[..., :3]) @ np.array([0.299, 0.587, 0.114])
    if array.ndim != 2:
        raise CourseError(f"the image must be (height, width) or (height, width, 3); got shape {array.shape}")
    if min(array.shape) < 5:
        raise CourseError(f"the image is too small for a 3x3 kernel to show anything: {array.shape}")
    if not np.isfinite(array).all():
        raise CourseError("the image has NaN or infinite pixels")
    return plots._unit_range(array)


def apply_kernel(image: Any, kernel: Any, *, padding: str = "same") -> np.ndarray:
    """Slide a kernel over a grey image, as a Keras ``Conv2D`` does (no flip: cross-correlation).

    ``padding="same"`` pads with zeros so the feature map has the image's size; ``"valid"``
    keeps only the positions where the kernel fits (2 pixels smaller each way for 3x3).
    """
    picture = _grey_image(image)
    weights = plots._array(kernel, "kernel").astype(float)
    if weights.ndim != 2 or weights.shape[0] % 2 == 0 or weights.shape[1] % 2 == 0:
        raise CourseError(f"the kernel must be a 2D array with odd sides (like 3x3); got {weights.shape}")
    if padding not in ("same", "valid"):
        raise CourseError(f"padding must be 'same' or 'valid', got {padding!r}")
    if padding == "same":
        pad_rows, pad_cols = weights.shape[0] // 2, weights.shape[1] // 2
        picture = np.pad(picture, ((pad_rows, pad_rows), (pad_cols, pad_cols)))
    windows = np.lib.stride_tricks.sliding_window_view(picture, weights.shape)
    return np.einsum("ijkl,kl->ij", windows, weights)


class KernelExplorer(Explorer):
    """Pick a preset or type a 3x3 kernel and see the feature map it makes of the image."""

    title = "Convolution kernel explorer"
    figure_size = (10.0, 3.9)

    def __init__(self, image: Any, kernel: str | Any = "vertical edges", relu: bool = False) -> None:
        super().__init__()
        self.image = _grey_image(image)
        self.relu = bool(relu)
        if isinstance(kernel, str):
            if kernel not in KERNELS:
                raise CourseError(f"unknown kernel {kernel!r}; presets: {', '.join(KERNELS)}")
            self.preset: str = kernel
            self.kernel = KERNELS[kernel][0].copy()
        else:
            self.preset = "custom"
            self.kernel = plots._array(kernel, "kernel").astype(float)
            if self.kernel.shape != (3, 3):
                raise CourseError(f"the explorer edits 3x3 kernels; got shape {self.kernel.shape}")
        self.preset_picker: Any = None
        self.cells: list[Any] = []
        self.relu_box: Any = None
        self._syncing = False

    @property
    def feature_map(self) -> np.ndarray:
        """The current kernel applied to the image (``same`` padding), after ReLU if ticked."""
        result = apply_kernel(self.image, self.kernel)
        return np.maximum(result, 0) if self.relu else result

    def _controls(self) -> list[Any]:
        import ipywidgets

        self.preset_picker = ipywidgets.Dropdown(options=[*KERNELS, "custom"], value=self.preset,
                                                 description="kernel")
        self.cells = [ipywidgets.FloatText(value=float(self.kernel[r, c]), step=0.5,
                                           layout=ipywidgets.Layout(width="5em"))
                      for r in range(3) for c in range(3)]
        grid = ipywidgets.GridBox(self.cells, layout=ipywidgets.Layout(
            grid_template_columns="repeat(3, 5.5em)", grid_gap="2px"))
        self.relu_box = ipywidgets.Checkbox(value=self.relu, description="ReLU (keep positive values)")
        self.preset_picker.observe(self._on_preset, names="value")
        for cell in self.cells:
            cell.observe(self._on_cell, names="value")
        self.relu_box.observe(self._on_change, names="value")
        return [ipywidgets.HBox([ipywidgets.VBox([self.preset_picker, self.relu_box]),
                                 ipywidgets.VBox([ipywidgets.HTML("3x3 weights (edit me)"), grid])])]

    def _on_preset(self, change: Any) -> None:
        if self._syncing or change["new"] == "custom":
            return
        self._syncing = True
        try:
            for cell, value in zip(self.cells, KERNELS[change["new"]][0].ravel(), strict=True):
                cell.value = float(value)
        finally:
            self._syncing = False
        self._on_change()

    def _on_cell(self, _change: Any) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            self.preset_picker.value = "custom"
        finally:
            self._syncing = False
        self._on_change()

    def _update_state(self) -> None:
        self.preset = self.preset_picker.value
        self.kernel = np.array([float(cell.value) for cell in self.cells]).reshape(3, 3)
        self.relu = bool(self.relu_box.value)

    def _draw(self, figure: plots.CourseFigure) -> None:
        source, weights, output = figure.subplots(1, 3, width_ratios=(1, 0.62, 1.15))
        source.imshow(self.image, cmap="gray", vmin=0, vmax=1)
        source.set_title(f"Image ({self.image.shape[1]}x{self.image.shape[0]})")
        _draw_kernel(weights, self.kernel)
        weights.set_title(f"Kernel: {self.preset}")
        result = self.feature_map
        signed = result.min() < -1e-9
        limit = float(np.abs(result).max()) or 1.0
        shown = output.imshow(result, cmap="RdBu_r" if signed else "gray",
                              vmin=-limit if signed else 0, vmax=limit)
        output.set_title("Feature map" + (" after ReLU" if self.relu else ""))
        figure.colorbar(shown, ax=output, shrink=0.85)
        for ax in (source, output):
            plots._hide_ticks(ax)
        what = KERNELS[self.preset][1] if self.preset in KERNELS else "a kernel of your own"
        colours = ("red for positive and blue for negative responses" if signed
                   else "brighter for stronger responses")
        figure.set_caption(
            f"The image, the 3x3 kernel '{self.preset}' and the feature map it makes when slid over "
            f"every pixel (zero padding, so it keeps the image's size), {colours}. This kernel {what}."
        )

    def _static(self) -> plots.CourseFigure:
        names = ("blur", "vertical edges", "horizontal edges")
        figure = plots.new_figure(3.2 * (len(names) + 1), 3.6)
        axes = figure.subplots(1, len(names) + 1)
        axes[0].imshow(self.image, cmap="gray", vmin=0, vmax=1)
        axes[0].set_title("image")
        for ax, name in zip(axes[1:], names, strict=True):
            result = apply_kernel(self.image, KERNELS[name][0])
            limit = float(np.abs(result).max()) or 1.0
            signed = result.min() < -1e-9
            ax.imshow(result, cmap="RdBu_r" if signed else "gray", vmin=-limit if signed else 0, vmax=limit)
            ax.set_title(name)
        for ax in axes:
            plots._hide_ticks(ax)
        figure.suptitle("One image, three 3x3 kernels")
        return figure.set_caption(
            "The image and the feature maps of three 3x3 kernels: blur averages each neighbourhood; "
            "vertical edges responds to left-right changes and horizontal edges to top-bottom "
            "changes (red positive, blue negative)."
        )


def _draw_kernel(ax: Any, kernel: np.ndarray) -> None:
    limit = float(np.abs(kernel).max()) or 1.0
    ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (row, col), value in np.ndenumerate(kernel):
        ax.text(col, row, plots._fmt(float(value)) if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}",
                ha="center", va="center", fontsize=11,
                color="white" if abs(value) > 0.6 * limit else "black")
    plots._hide_ticks(ax)


def kernel_explorer(image: Any, kernel: str | Any = "vertical edges", *, relu: bool = False) -> KernelExplorer:
    """Slide a 3x3 convolution kernel over an image and see the feature map.

    ``image`` is any grey or colour image array (colour is turned to grey). Pick a preset
    (:data:`KERNELS`) or type the nine weights; the feature map redraws. The static fallback
    shows three presets side by side.
    """
    return KernelExplorer(image, kernel, relu)


# =========================================================================== attention


def _token(tokens: Sequence[str], index: int) -> str:
    """A token in quotes, with its position where the same word occurs more than once."""
    token = tokens[index]
    return f"'{token}' (#{index})" if list(tokens).count(token) > 1 else f"'{token}'"


class AttentionExplorer(Explorer):
    """Pick a query token (and a head) and see how its attention spreads over the key tokens."""

    title = "Attention explorer"
    figure_size = (9.0, 5.6)

    def __init__(self, tokens: Sequence[str], weights: Any, *, key_tokens: Sequence[str] | None = None,
                 query: int = 0, head: int = 0) -> None:
        super().__init__()
        self.queries, self.keys, array = plots._attention_inputs(tokens, weights, key_tokens)
        self.weights = array if array.ndim == 3 else array[None]
        self.query = int(query)
        self.head = int(head)
        if not 0 <= self.query < len(self.queries):
            raise CourseError(f"query must be a token index from 0 to {len(self.queries) - 1}")
        if not 0 <= self.head < self.heads:
            raise CourseError(f"head must be from 0 to {self.heads - 1}")
        self.query_picker: Any = None
        self.head_slider: Any = None

    @property
    def heads(self) -> int:
        return self.weights.shape[0]

    @property
    def row(self) -> np.ndarray:
        """The current query token's weights over the keys."""
        return self.weights[self.head, self.query]

    def _controls(self) -> list[Any]:
        import ipywidgets

        self.query_picker = ipywidgets.Dropdown(
            options=[(f"{index}: {token}", index) for index, token in enumerate(self.queries)],
            value=self.query, description="query token")
        self.query_picker.observe(self._on_change, names="value")
        controls = [self.query_picker]
        if self.heads > 1:
            self.head_slider = ipywidgets.IntSlider(value=self.head, min=0, max=self.heads - 1, description="head")
            self.head_slider.observe(self._on_change, names="value")
            controls.append(self.head_slider)
        return [ipywidgets.HBox(controls)]

    def _update_state(self) -> None:
        self.query = int(self.query_picker.value)
        if self.head_slider is not None:
            self.head = int(self.head_slider.value)

    def _draw(self, figure: plots.CourseFigure) -> None:
        bars, grid = figure.subplots(2, 1, height_ratios=(1, 1.4))
        row = self.row
        order = np.argsort(row)[::-1]
        colors = [plots.COLORS[1] if index == order[0] else plots.COLORS[0] for index in range(len(row))]
        bars.bar(range(len(self.keys)), row, color=colors)
        bars.set_xticks(range(len(self.keys)), self.keys, rotation=30, ha="right")
        bars.set_ylim(0, max(float(self.weights.max()), 1e-9) * 1.1)
        bars.set_ylabel("weight")
        head = f", head {self.head}" if self.heads > 1 else ""
        bars.set_title(f"Attention of '{self.queries[self.query]}' (token {self.query}{head}) over the keys")
        matrix = self.weights[self.head]
        grid.imshow(matrix, cmap="Blues", vmin=0, vmax=max(float(matrix.max()), 1e-9), aspect="auto")
        grid.grid(False)
        grid.set_xticks(range(len(self.keys)), self.keys, rotation=30, ha="right")
        grid.set_yticks(range(len(self.queries)), self.queries)
        grid.add_patch(matplotlib.patches.Rectangle((-0.5, self.query - 0.5), len(self.keys), 1, fill=False,
                                                    edgecolor=plots.WRONG, linewidth=2.5))
        grid.set_xlabel("key (attended to)")
        grid.set_ylabel("query")
        top = [f"{_token(self.keys, i)} ({row[i]:.2f})" for i in order[:3] if row[i] > 0]
        figure.set_caption(
            f"Query token '{self.queries[self.query]}' (number {self.query}{head}) spreads its "
            f"attention over the {len(self.keys)} keys; most goes to {', then '.join(top)}. Below, "
            "the whole weight matrix, with this query's row outlined."
        )

    def _static(self) -> plots.CourseFigure:
        heads = list(range(min(self.heads, 3)))
        figure = plots.new_figure(max(4.5, 0.55 * len(self.keys) + 2.2) * len(heads), max(3.5, 0.45 * len(self.queries) + 1.8))
        axes = figure.subplots(1, len(heads), squeeze=False)[0]
        for ax, head in zip(axes, heads, strict=True):
            matrix = self.weights[head]
            ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(float(matrix.max()), 1e-9), aspect="auto")
            ax.grid(False)
            ax.set_xticks(range(len(self.keys)), self.keys, rotation=45, ha="right")
            ax.set_yticks(range(len(self.queries)), self.queries)
            ax.set_xlabel("key")
            ax.set_title(f"head {head}" if self.heads > 1 else "attention weights")
        axes[0].set_ylabel("query")
        matrix = self.weights[0]
        row, col = plots._strongest_pair(matrix, self.queries, self.keys)
        shown = f"{len(heads)} of {self.heads} heads" if self.heads > 1 else "the weights"
        return figure.set_caption(
            f"Attention weights, {shown}: one row per query token, one column per key token, "
            f"darker is more attention. In the first, '{self.queries[row]}' attends most to "
            f"'{self.keys[col]}' ({matrix[row, col]:.2f})."
        )


def attention_explorer(
    tokens: Sequence[str],
    weights: Any,
    *,
    key_tokens: Sequence[str] | None = None,
    query: int = 0,
) -> AttentionExplorer:
    """Pick a query token and see its attention weights over the keys.

    ``weights`` is ``(queries, keys)`` or ``(heads, queries, keys)`` (a batch of one is
    accepted too), for instance the scores a ``MultiHeadAttention`` layer returns with
    ``return_attention_scores=True``. ``key_tokens`` defaults to ``tokens`` (self-attention).
    """
    return AttentionExplorer(tokens, weights, key_tokens=key_tokens, query=query)


# =========================================================================== live training curves


def _build_live_curves() -> type:
    """Create the LiveCurves class; Keras is imported here, on first use only."""
    from course_lib.runtime import import_tensorflow

    import_tensorflow()
    import keras

    class LiveCurves(keras.callbacks.Callback):
        """A callback that redraws the training curves in place while ``fit()`` runs.

        ::

            model.fit(..., validation_data=..., callbacks=[course_lib.widgets.LiveCurves()])

        One output under the cell is replaced after every epoch (at most every
        ``min_interval`` seconds, always after the last epoch). ``metrics`` picks the panels
        (default: all logged metrics). After training, ``.history`` holds the logs and
        ``.figure`` the last figure.
        """

        def __init__(self, metrics: Sequence[str] | None = None, *, title: str | None = None,
                     min_interval: float = 0.5) -> None:
            super().__init__()
            self.metrics = list(metrics) if metrics is not None else None
            self.title = title
            self.min_interval = float(min_interval)
            self.history: dict[str, list[float]] = {}
            self.figure: plots.CourseFigure | None = None
            self.redraws = 0
            self._handle: Any = None
            self._last_draw = 0.0
            self._drawn_epochs = 0

        def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
            self.history = {}
            self._handle = None
            self._last_draw = 0.0

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            for key, value in (logs or {}).items():
                try:
                    self.history.setdefault(key, []).append(float(value))
                except (TypeError, ValueError):
                    continue  # a non-numeric log entry (a learning-rate schedule object, say)
            epochs = int(getattr(self, "params", {}).get("epochs") or 0)
            last = epochs and epoch + 1 >= epochs
            if last or time.monotonic() - self._last_draw >= self.min_interval:
                self._redraw()

        def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
            if self.history and (self.figure is None or self._drawn_epochs != self._epochs):
                self._redraw()

        @property
        def _epochs(self) -> int:
            return max((len(v) for v in self.history.values()), default=0)

        def _redraw(self) -> None:
            if not self.history:
                return
            self.figure = plots.training_curves(self.history, self.metrics, title=self.title)
            self._drawn_epochs = self._epochs
            self._last_draw = time.monotonic()
            self.redraws += 1
            if not _in_kernel():
                return
            from IPython.display import display

            data, metadata = self.figure._repr_mimebundle_()
            if self._handle is None:
                self._handle = display(data, metadata=metadata, raw=True, display_id=True)
            else:
                self._handle.update(data, metadata=metadata, raw=True)

    LiveCurves.__module__ = __name__
    return LiveCurves


def __getattr__(name: str) -> Any:
    """Build ``LiveCurves`` (a Keras callback) on first use, so importing this module skips Keras."""
    if name == "LiveCurves":
        cls = _build_live_curves()
        globals()["LiveCurves"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
