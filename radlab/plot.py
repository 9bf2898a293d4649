"""Figures for the lessons: images with their window in the title, montages, curves.

Every function returns a matplotlib ``Figure`` (small: about 80 dpi) and
leaves nothing open in pyplot, so a figure that ends a notebook cell is shown
exactly once and a loop that makes many figures leaks none. Pass ``ax=`` to
draw into an axes of your own instead (then the figure is yours to show);
``figure(nrows, ncols)`` makes such axes the same way, for figures of your own.
Nothing here changes matplotlib's global settings.

Images may be NumPy arrays or torch tensors, shaped (H, W) or (1, H, W), in
Hounsfield units (HU) or already scaled to [0, 1] (``show`` and ``grid`` also
take colour pictures, (H, W, 3)). A window is given as in ``rl.window``:
``preset=`` a name from ``rl.WINDOWS`` ("brain", "lung", ...) or a
``radlab.dicom.Window``, or ``level=`` and ``width=`` in HU; with none of
them the values are shown as they are, and the figure says so. Every figure
states the window it used.

Sizes of figures are in inches (``inches=``, ``panel_inches=``); ``size``
always means pixels per side (``image_png(size=256)``).

The widgets in ``radlab.widgets`` are built on the plain functions here
(``window_stats``, ``conv_display``, ``image_png``) and on
``rl.transforms.preview`` and ``rl.models.convolve``.

Example:
    >>> import numpy as np
    >>> window_stats(np.array([-100.0, 0.0, 40.0, 200.0]), level=40, width=80)["below"]
    0.25
    >>> fig, (left, right) = figure(1, 2, title="two panels")
    >>> len(fig.axes), fig.get_suptitle()
    (2, 'two panels')
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from . import dicom, models, transforms
from .config import to_numpy, to_slice
from .dicom import Window

__all__ = [
    "figure",
    "show",
    "grid",
    "window_stats",
    "window_figure",
    "augment_figure",
    "conv_display",
    "conv_figure",
    "architecture",
    "learning_curves",
    "roc",
    "reader_point",
    "image_png",
]

DPI = 80
MASK_COLORS = ("#ffcc00", "#00e5ff", "#ff4fa0", "#7cff4f", "#ff7f0e")
PANEL_INCHES = (3.4, 2.8)  # one panel of curves, legible at 80 dpi
TITLE_INCHES = 0.3  # room for an overall title
LEGEND_INCHES = 1.9  # room for a legend beside the panels


# ---------------------------------------------------------------- figures --


def figure(
    nrows: int = 1,
    ncols: int = 1,
    *,
    inches: tuple[float, float] | None = None,
    panel_inches: float | tuple[float, float] | None = None,
    title: str | None = None,
    squeeze: bool = True,
):
    """A new figure and its axes, as ``plt.subplots`` gives them, shown once when a cell ends.

    Made through pyplot so that Jupyter's inline backend registers its PNG
    display, and closed there at once, so that the cell shows it only as its
    returned value and a loop of figures leaks none. Small (80 dpi) and laid
    out by matplotlib ("constrained"), so no ``tight_layout`` is needed.

    Args:
        nrows, ncols: panels down and across.
        inches: (width, height) of the whole figure in inches.
        panel_inches: instead of ``inches``, the size of one panel: (width, height),
            or one number for square panels. Default 3.4 x 2.8 (a panel of curves).
        title: an overall title above the panels.
        squeeze: as in ``plt.subplots``: one ``Axes`` for a single panel, a 1-D
            array for one row or column, else 2-D; ``False``: always 2-D.

    Returns:
        ``(fig, axes)``; end the cell with ``fig`` to show it.
    """
    import matplotlib.pyplot as plt  # here, not at import: importing radlab changes nothing

    if inches is not None and panel_inches is not None:
        raise ValueError("Give either inches= (the whole figure) or panel_inches=, not both.")
    if inches is None:
        panel = panel_inches if panel_inches is not None else PANEL_INCHES
        w, h = (panel, panel) if isinstance(panel, (int, float)) else panel
        inches = (w * ncols, h * nrows + (TITLE_INCHES if title else 0.0))
    fig = plt.figure(figsize=inches, dpi=DPI, layout="constrained")
    plt.close(fig)
    axes = fig.subplots(nrows, ncols, squeeze=squeeze)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig, axes


def _figure_of(ax: Axes) -> Figure:
    """The top-level figure holding an axes (also when the axes sits in a subfigure)."""
    fig = ax.figure
    return fig if isinstance(fig, Figure) else fig.figure


# ---------------------------------------------------------------- helpers --


def _as_picture(image) -> np.ndarray:
    """A float NumPy copy of a grey (H, W) / (1, H, W) image or a colour (H, W, 3) one."""
    array = np.asarray(to_numpy(image), dtype=np.float32)
    if array.ndim == 3 and array.shape[-1] in (3, 4) and array.shape[0] not in (1, 3, 4):
        return array  # (H, W, RGB[A]), e.g. three CT phases shown as red, green and blue
    return to_slice(array)


def _window(preset, level, width) -> Window | None:
    """The window asked for, or None when none is (show the values as they are)."""
    if preset is None and level is None and width is None:
        return None
    return dicom.resolve_window(preset=preset, level=level, width=width)


def _apply_window(array: np.ndarray, chosen: Window | None) -> np.ndarray:
    """Values mapped to [0, 1] by the window (radlab.dicom.window), or unchanged when None."""
    return array if chosen is None else dicom.window(array, preset=chosen)


def _display_limits(array: np.ndarray, chosen: Window | None) -> tuple[float, float]:
    """Grey-scale limits: [0, 1] for windowed or already-scaled images, else min..max."""
    if chosen is not None:
        return 0.0, 1.0
    lo, hi = float(np.nanmin(array)), float(np.nanmax(array))
    if 0.0 <= lo and hi <= 1.0:
        return 0.0, 1.0
    return lo, (hi if hi > lo else lo + 1.0)


def _draw_mask(ax: Axes, mask) -> None:
    """Outline each label of an integer or boolean mask in its own colour."""
    mask = np.rint(to_slice(mask, "mask")).astype(np.int64)
    for i, label in enumerate(v for v in np.unique(mask) if v != 0):
        region = (mask == label).astype(np.float32)
        if 0 < region.sum() < region.size:  # contour needs both inside and outside
            color = MASK_COLORS[i % len(MASK_COLORS)]
            ax.contour(region, levels=[0.5], colors=color, linewidths=1.0)


def _interpolation(ax: Axes, shape: tuple[int, ...]) -> str:
    """Enlarged: whole pixels ("nearest", as a reading station shows them); shrunk: smoothed."""
    fig = _figure_of(ax)
    spec = ax.get_subplotspec()
    share = (
        len(spec.colspan) / spec.get_gridspec().ncols
        if spec is not None
        else ax.get_position().width
    )  # about: the layout is done only when drawn
    shown_px = 0.9 * share * fig.get_figwidth() * fig.dpi
    return "nearest" if shown_px >= shape[1] else "antialiased"


# ---------------------------------------------------------------- images --


def show(
    image,
    *,
    preset: str | Window | None = None,
    level: float | None = None,
    width: float | None = None,
    title: str | None = None,
    ax: Axes | None = None,
    cmap: str = "gray",
    mask=None,
) -> Figure:
    """Show one 2D image with its window stated in the title.

    Args:
        image: (H, W) or (1, H, W) array or tensor, in HU or in [0, 1]; or a colour
            (H, W, 3) picture (the window, if any, applies to each colour).
        preset: a window preset name ("brain", "liver"...) or a ``Window``.
        level, width: instead of a preset, the window in HU.
        title: text above the window statement.
        ax: draw into this axes instead of a new figure.
        cmap: colour map; grey for radiology.
        mask: optional (H, W) label mask, outlined on top.
    """
    array = _as_picture(image)
    chosen = _window(preset, level, width)
    shown = _apply_window(array, chosen)
    if ax is None:
        fig, ax = figure(inches=(3.0, 3.2))
    else:
        fig = _figure_of(ax)
    vmin, vmax = _display_limits(shown, chosen)
    how = {"interpolation": _interpolation(ax, shown.shape)}
    if shown.ndim == 3:  # colour: matplotlib wants values in [0, 1]
        ax.imshow(np.clip((shown - vmin) / (vmax - vmin), 0, 1), **how)
    else:
        ax.imshow(shown, cmap=cmap, vmin=vmin, vmax=vmax, **how)
    if mask is not None:
        _draw_mask(ax, mask)
    if chosen is not None:
        stated = str(chosen)  # "brain W 80 / L 40"
    elif (vmin, vmax) != (0.0, 1.0):  # raw values: say what black and white mean
        stated = f"no window: black {vmin:.4g}, white {vmax:.4g}"
    else:
        stated = None
    lines = [t for t in (title, stated) if t]
    if lines:
        ax.set_title("\n".join(lines), fontsize=9)
    ax.set_axis_off()
    return fig


def grid(
    images,
    *,
    titles: Sequence[str] | None = None,
    preset=None,
    level: float | None = None,
    width: float | None = None,
    ncols: int | None = None,
    panel_inches: float = 1.8,
    suptitle: str | None = None,
) -> Figure:
    """A montage of images in one window, or each in its own.

    Args:
        images: a list of (H, W) images (or (H, W, 3) colour pictures), or an
            (N, H, W) / (N, 1, H, W) array or tensor.
        titles: one short title per image.
        preset: a preset name or ``Window`` for all images, stated once in the
            overall title; or a list with one per image (a name, a ``Window``, or
            None for an image already in [0, 1]), stated under each title.
        level, width: instead of a preset, one window in HU for all images.
            Without any window, all images share one grey scale (their common
            minimum to maximum).
        ncols: images per row (default: up to 6).
        panel_inches: inches per image (each image gets a square this wide).
        suptitle: overall title.
    """
    items = [images[i] for i in range(len(images))]
    if not items:
        raise ValueError("grid() needs at least one image; the list given is empty.")
    if titles is not None and len(titles) != len(items):
        raise ValueError(
            f"{len(titles)} titles were given for {len(items)} images; give one per image."
        )
    windows, stated = _grid_windows(items, preset, level, width)
    ncols = ncols or min(len(items), 6)
    nrows = -(-len(items) // ncols)
    heading = " - ".join(t for t in (suptitle, stated) if t)
    fig, axes = figure(
        nrows, ncols, panel_inches=panel_inches, title=heading or None, squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        if i < len(items):
            show(items[i], preset=windows[i], ax=ax, title=titles[i] if titles else None)
            if stated is not None:  # one window for all: stated once, on top
                ax.set_title(titles[i] if titles else "", fontsize=8)
        ax.set_axis_off()
    return fig


def _grid_windows(items: list, preset, level, width) -> tuple[list, str | None]:
    """One window per image, and the statement for the overall title (None: each states its own)."""
    if isinstance(preset, (list, tuple)):
        if len(preset) != len(items):
            raise ValueError(
                f"{len(preset)} presets were given for {len(items)} images: give one per image "
                "(None for an image already in [0, 1]), or one preset for all."
            )
        if level is not None or width is not None:
            raise ValueError(
                "With one preset per image, give no level= or width=: put "
                "rl.dicom.Window(level, width) in the list instead."
            )
        return [_window(p, None, None) for p in preset], None
    chosen = _window(preset, level, width)
    if chosen is not None:
        return [chosen] * len(items), str(chosen)
    values = [np.asarray(to_numpy(x), dtype=np.float32) for x in items]
    lo, hi = min(float(np.nanmin(v)) for v in values), max(float(np.nanmax(v)) for v in values)
    if 0 <= lo and hi <= 1:
        return [None] * len(items), ""
    shared = Window((lo + hi) / 2, (hi - lo) or 1.0)  # raw values: one grey scale for all
    return [shared] * len(items), f"no window: black {lo:.4g}, white {hi:.4g}"


# ---------------------------------------------------------- window / level --


def window_stats(
    hu, level: float | None = None, width: float | None = None, *, preset=None
) -> dict:
    """How much of the image a window clips: fractions shown pure black and pure white.

    Pixels below ``level - width/2`` are drawn black, pixels above
    ``level + width/2`` white; only those in between show any contrast.

    Args:
        hu: values in HU, any shape (a slice, a volume, a list), array or tensor.
        level, width: the window in HU; or ``preset=`` a name or ``Window``.

    Returns:
        dict of fractions of pixels (summing to 1): ``below`` (black), ``inside``
        (shades of grey) and ``above`` (white).
    """
    chosen = dicom.resolve_window(preset=preset, level=level, width=width)
    array = to_numpy(hu)
    below = float(np.mean(array < chosen.low))
    above = float(np.mean(array > chosen.high))
    return {"below": below, "inside": 1.0 - below - above, "above": above}


def window_figure(
    hu,
    *,
    preset: str | Window | None = None,
    level: float | None = None,
    width: float | None = None,
    title: str | None = None,
) -> Figure:
    """The image in one window beside its HU histogram, with the clipped fractions stated.

    The static twin of ``rl.widgets.window_viewer``.

    Args:
        hu: one slice in HU, (H, W) or (1, H, W).
        preset: a preset name or ``Window``; or ``level=`` and ``width=`` in HU.
        title: text above the image.
    """
    array = to_slice(hu, "HU image")
    chosen = dicom.resolve_window(preset=preset, level=level, width=width)
    stats = window_stats(array, preset=chosen)
    fig, axes = figure(1, 2, inches=(6.4, 3.2))
    show(array, preset=chosen, title=title, ax=axes[0])
    ax = axes[1]
    ax.hist(array.ravel(), bins=120, color="0.4")
    ax.axvspan(chosen.low, chosen.high, color="tab:orange", alpha=0.3, label="window")
    ax.set_xlabel("HU")
    ax.set_ylabel("pixels")
    ax.set_yticks([])
    ax.set_title(
        f"{stats['below']:.0%} black (below), {stats['above']:.0%} white (above)", fontsize=9
    )
    ax.legend(fontsize=8, loc="upper right")
    return fig


# ------------------------------------------------------------- augmentation --


def augment_figure(
    image,
    *,
    angle: float = 0,
    shift: tuple[float, float] = (0, 0),
    noise: float = 0,
    contrast: float = 1,
    brightness: float = 0,
    mask=None,
    seed: int | None = None,
) -> Figure:
    """Original beside augmented image (mask outlined on both).

    The arguments are those of ``rl.transforms.preview``, which makes the
    augmented picture; the static twin of ``rl.widgets.augment_explorer``.
    """
    out, out_mask = transforms.preview(
        image,
        angle=angle,
        shift=shift,
        noise=noise,
        contrast=contrast,
        brightness=brightness,
        mask=mask,
        seed=seed,
    )
    fig, axes = figure(1, 2, inches=(5.6, 3.0))
    show(image, ax=axes[0], mask=mask, title="original")
    settings = (
        f"rot {angle:g}°, shift ({shift[0]:g}, {shift[1]:g}) px\n"
        f"noise {noise:g}, contrast {contrast:g}, brightness {brightness:+g}"
    )
    show(np.clip(out, 0, 1), ax=axes[1], mask=out_mask, title=settings)
    return fig


# --------------------------------------------------------------- convolution --


def conv_display(out, kernel) -> np.ndarray:
    """Scale a filter response to [0, 1] for display.

    Args:
        out: the response, e.g. from ``rl.models.convolve``.
        kernel: the filter that gave it (a name or numbers). Filters whose weights
            sum to 0 (edge detectors) give a signed response: 0 is shown mid-grey.
            Other responses are stretched from their minimum to maximum.
    """
    out = np.asarray(to_numpy(out), dtype=np.float32)
    if abs(float(models.as_kernel(kernel).sum())) < 1e-6:  # signed response around 0
        scale = float(np.abs(out).max()) or 1.0
        return 0.5 + out / (2 * scale)
    lo, hi = float(out.min()), float(out.max())
    return (out - lo) / (hi - lo) if hi > lo else np.zeros_like(out)


def conv_figure(image, kernel, *, stride: int = 1, padding: int = 0) -> Figure:
    """Input (zero-padded), the kernel's numbers, and the output with its size.

    Args:
        image: (H, W) image, best in [0, 1].
        kernel: a name from ``rl.models.KERNELS`` or a square array/tensor.
        stride, padding: as in ``torch.nn.functional.conv2d``.
    """
    values = models.as_kernel(kernel)
    name = kernel if isinstance(kernel, str) else "kernel"
    array = to_slice(image)
    out = models.convolve(array, values, stride=stride, padding=padding)
    fig, axes = figure(1, 3, inches=(7.2, 2.8))
    padded = np.pad(array, padding)
    show(padded, ax=axes[0], title=f"input {array.shape[0]}x{array.shape[1]}, padding {padding}")
    ax = axes[1]
    ax.imshow(values, cmap="coolwarm", vmin=-np.abs(values).max(), vmax=np.abs(values).max())
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=8)
    ax.set_title(f"{name}, stride {stride}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    show(conv_display(out, values), ax=axes[2], title=f"output {out.shape[0]}x{out.shape[1]}")
    return fig


# ------------------------------------------------------------- architecture --

_LAYER_COLORS = {  # the first word of a layer's description -> its colour
    "image": "0.85",
    "conv": "#6baed6",
    "batch": "#fdae6b",
    "ReLU": "0.65",
    "max": "#74c476",
    "average": "#74c476",
    "global": "#74c476",
    "flatten": "0.9",
    "dropout": "#fb6a4a",
    "fully": "#9e9ac8",
}
BOX_INCHES = 0.68  # room for one layer, across: its box and its labels


def _short_shape(shape: tuple[int, ...]) -> str:
    """(16, 28, 28) -> "16x28x28"."""
    return "x".join(str(n) for n in shape) if shape else "?"


def _wrapped(text: str) -> str:
    """A layer's description in at most two short lines ("conv 3x3" / "1->16")."""
    if ", " in text:
        return text.replace(", ", "\n", 1)
    words = text.split(" ")
    if len(words) < 2 or len(text) <= 10:
        return text
    splits = []  # (longer line, text) for each place the line could break
    for k in range(1, len(words)):
        first, second = " ".join(words[:k]), " ".join(words[k:])
        splits.append((max(len(first), len(second)), first + "\n" + second))
    return min(splits)[1]  # the most even break


def _block_of(name: str) -> str:
    """The block a layer belongs to: "block1.conv" -> "block1"; "" for a top-level layer."""
    return name.rsplit(".", 1)[0] if "." in name else ""


def architecture(model, input_shape: tuple[int, ...], *, title: str | None = None) -> Figure:
    """The model drawn as the review's Fig. 5 draws a CNN: one box per layer, left to right.

    Each box is as tall as the layer's output is high (its pixels per side, relative
    to the input) and wider the more channels it has; under it, what the layer is,
    the shape of its output for one image (channels x height x width) and the number
    of parameters it learns. Layers of one block share a bracket above them. The
    numbers come from :func:`radlab.models.layer_table`, which this figure draws.

    Args:
        model: any ``nn.Module``.
        input_shape: one image without the batch axis, e.g. ``(1, 28, 28)``.
        title: an overall title; default: the total number of parameters.
    """
    rows = models.layer_table(model, input_shape)
    total = sum(row.parameters for row in rows)
    top = max(row.shape[-2] if len(row.shape) == 3 else 1 for row in rows)
    widest = max(row.shape[0] if row.shape else 1 for row in rows)
    fig, ax = figure(
        inches=(BOX_INCHES * len(rows) + 0.2, 3.3),
        title=title
        or f"{len(rows) - 1} layers, {total:,} parameters in all "
        "(box height: pixels per side; box width grows with the channels)",
    )
    for i, row in enumerate(rows):
        height_px = row.shape[-2] if len(row.shape) == 3 else 1
        channels = row.shape[0] if row.shape else 1
        h = max(0.04, height_px / top)  # the box's height: the map's size, relative to the input
        w = 0.25 + 0.45 * np.log2(channels + 1) / np.log2(widest + 1)  # more channels: wider
        color = _LAYER_COLORS.get(row.layer.split(" ")[0], "0.8")
        box = Rectangle((i - w / 2, -h / 2), w, h, facecolor=color, edgecolor="0.2", lw=0.8)
        box.set_gid("layer")  # one such box per layer (tests count them)
        ax.add_patch(box)
        ax.text(i, -0.56, _wrapped(row.layer), ha="center", va="top", fontsize=7.5)
        ax.text(i, -0.86, _short_shape(row.shape), ha="center", va="top", fontsize=7.5)
        params = f"{row.parameters:,}" if row.parameters else "-"
        ax.text(i, -1.0, params, ha="center", va="top", fontsize=7.5, color="tab:blue")
    _draw_blocks(ax, rows)
    ax.text(-0.5, -0.86, "shape", ha="right", va="top", fontsize=7.5, style="italic")
    ax.text(-0.5, -1.0, "params", ha="right", va="top", fontsize=7.5, style="italic")
    ax.set_xlim(-0.55 - 0.2 / BOX_INCHES, len(rows) - 0.5)
    ax.set_ylim(-1.15, 0.72)
    ax.set_axis_off()
    return fig


def _draw_blocks(ax: Axes, rows) -> None:
    """A bracket with the block's name over each run of layers from one block."""
    start = 0
    for i in range(1, len(rows) + 1):
        if i < len(rows) and _block_of(rows[i].name) == _block_of(rows[start].name):
            continue
        block = _block_of(rows[start].name)
        if block:
            ax.plot([start - 0.4, i - 0.6], [0.56, 0.56], color="0.3", lw=1)
            ax.text((start + i - 1) / 2, 0.6, block, ha="center", va="bottom", fontsize=8)
        start = i


# ----------------------------------------------------------------- curves --

_SPLITS = (("train", "training", "-"), ("val", "validation", "--"))


def _as_history(history) -> dict:
    """One run's history as a dict of lists: a ``radlab.train.History`` or a dict."""
    if hasattr(history, "as_dict"):
        return history.as_dict()
    if isinstance(history, Mapping):
        return dict(history)
    raise ValueError(
        f"A history is what rl.train.fit returns, or a dict of lists such as "
        f"{{'train_loss': [...], 'val_loss': [...]}}; got {type(history).__name__}."
    )


def _is_history(value) -> bool:
    """True for one run's history, False for a collection of runs."""
    if hasattr(value, "as_dict"):
        return True
    return isinstance(value, Mapping) and any(
        str(k) == "epoch" or str(k).startswith(("train_", "val_")) for k in value
    )


def _runs(runs) -> dict[str, list[dict]]:
    """{name: [history, ...]} from one history, a list of them, or a dict of named runs."""
    if _is_history(runs):
        return {"": [_as_history(runs)]}
    if isinstance(runs, Mapping) and runs:
        return {
            str(name): [_as_history(h) for h in (v if isinstance(v, (list, tuple)) else [v])]
            for name, v in runs.items()
        }
    if isinstance(runs, (list, tuple)) and runs:
        return {"": [_as_history(h) for h in runs]}
    raise ValueError(
        "learning_curves needs a history (what rl.train.fit returns, or a dict of lists), "
        "a list of histories of one setting (e.g. one per seed), or a dict of named runs, "
        "e.g. {'SGD': history_sgd, 'Adam': history_adam}."
    )


def _curves(history: Mapping, metric: str) -> dict[str, list[float]]:
    """{"train": [...], "val": [...]} for one metric of one history.

    The metric a ``radlab.train.History`` names (``metric="auc"``) is stored as
    ``val_metric`` (or ``val_score``): both ``"auc"`` and ``"metric"`` find it.
    """
    named = metric in ("metric", "score", history.get("metric"))
    found = {}
    for split, _, _ in _SPLITS:
        keys = [f"{split}_{metric}"] + ([f"{split}_metric", f"{split}_score"] if named else [])
        present = [history[k] for k in keys if history.get(k) is not None and len(history[k])]
        if present:
            found[split] = [float(v) for v in present[0]]
    return found


def _epochs(history: Mapping, n: int) -> np.ndarray:
    """The epoch numbers of the first n values: the history's own, else 1..n."""
    epochs = history.get("epoch")
    if epochs is None or len(epochs) < n:
        return np.arange(1, n + 1)
    return np.asarray(epochs[:n])


def _band(histories: list[dict], metric: str, split: str):
    """(epochs, mean, min, max, runs) of one split over runs of one setting, or None."""
    series = [(h, c[split]) for h in histories if split in (c := _curves(h, metric))]
    if not series:
        return None
    longest = max(series, key=lambda hv: len(hv[1]))
    table = np.full((len(series), len(longest[1])), np.nan)
    for i, (_, values) in enumerate(series):  # runs stopped early: shorter rows
        table[i, : len(values)] = values
    epochs = _epochs(longest[0], table.shape[1])
    return epochs, np.nanmean(table, 0), np.nanmin(table, 0), np.nanmax(table, 0), len(series)


def _draw_run(ax: Axes, metric: str, name: str, histories: list[dict], colors) -> None:
    """One run's curves: training solid, validation dashed; several histories: mean and band."""
    for (split, words, style), color in zip(_SPLITS, colors, strict=True):
        band = _band(histories, metric, split)
        if band is None:
            continue
        epochs, mean, low, high, k = band
        label = f"{name}, {words}" if name else f"{words} {metric}"
        if k == 1:
            ax.plot(epochs, mean, style, color=color, marker=".", label=label)
            continue
        ax.plot(epochs, mean, style, color=color, label=f"{label}: mean, band min-max of {k}")
        ax.fill_between(epochs, low, high, color=color, alpha=0.2, linewidth=0)


def _mark_best(ax: Axes, metric: str, runs: dict[str, list[dict]], colors: list) -> None:
    """The epoch whose weights were kept: a line for one run, a star on each of several."""
    single = [(hs[0], c) for hs, c in zip(runs.values(), colors, strict=True) if len(hs) == 1]
    marked = [(h, c) for h, c in single if h.get("best_epoch") is not None]
    if len(runs) == 1 and marked:
        best = marked[0][0]["best_epoch"]
        ax.axvline(best, color="tab:green", lw=1, ls=":", label=f"best epoch {best}")
        return
    label = "best epoch"
    for h, color in marked:
        val = _curves(h, metric).get("val")
        epochs = list(_epochs(h, len(val or [])))
        if val and h["best_epoch"] in epochs:
            y = val[epochs.index(h["best_epoch"])]
            ax.plot(h["best_epoch"], y, "*", color=color, mec="black", ms=10, label=label)
            label = "_nolegend_"  # one legend entry for all stars


def _key(runs: dict[str, list[dict]], colors: list, metrics: list[str], starred: bool) -> list:
    """Legend entries for several runs: a colour per run, then the line styles and the star."""
    key = []
    for (name, histories), color in zip(runs.items(), colors, strict=True):
        if len(histories) > 1:
            name = f"{name} (mean of {len(histories)}, band min-max)"
        key.append(Line2D([], [], color=color, label=name))
    for split, words, style in _SPLITS:
        if any(split in _curves(h, m) for hs in runs.values() for h in hs for m in metrics):
            key.append(Line2D([], [], color="0.3", ls=style, label=words))
    if starred:
        key.append(
            Line2D([], [], ls="", marker="*", color="0.8", mec="black", ms=10, label="best epoch")
        )
    return key


def learning_curves(
    runs,
    *,
    metrics: Iterable[str] = ("loss",),
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Training and validation curves per epoch, one panel per metric, for one run or several.

    Args:
        runs: one history: what ``rl.train.fit`` returns (or its ``as_dict()``), or
            a dict of lists such as {"epoch": [...], "train_loss": [...],
            "val_loss": [...], "val_auc": [...], "best_epoch": 7};
            or a dict of named runs, {"SGD": h1, "Adam": h2}, overlaid with a colour
            per run (solid = training, dashed = validation) and one legend for all
            panels, beside them;
            or a list of histories of one setting (e.g. one per seed), drawn as
            their mean with a band from minimum to maximum. A named run may
            itself be such a list.
        metrics: names without the train_/val_ prefix, e.g. ("loss", "auc").
        ax: draw every metric into this one axes instead.
        title: an overall title.
    """
    runs = _runs(runs)
    found = [m for m in metrics if any(_curves(h, m) for hs in runs.values() for h in hs)]
    if not found:
        keys = sorted({str(k) for hs in runs.values() for h in hs for k in h})
        raise ValueError(f"The history has none of {list(metrics)} (keys: {', '.join(keys)}).")
    several = len(runs) > 1
    if ax is None:
        beside = LEGEND_INCHES if several else 0.0
        inches = (
            PANEL_INCHES[0] * len(found) + beside,
            PANEL_INCHES[1] + (TITLE_INCHES if title else 0.0),
        )
        fig, axes = figure(1, len(found), inches=inches, title=title, squeeze=False)
        targets = list(axes[0])
    else:
        fig, targets = _figure_of(ax), [ax] * len(found)
    colors = [f"C{i}" for i in range(len(runs))]
    for i, (metric, target) in enumerate(zip(found, targets, strict=True)):
        for (name, histories), color in zip(runs.items(), colors, strict=True):
            _draw_run(target, metric, name, histories, (color, color) if several else ("C0", "C1"))
        if ax is None or i == 0:
            _mark_best(target, metric, runs, colors)
        target.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        target.set_xlabel("epoch")
        target.set_ylabel(metric if ax is None else "value")
        if not several:
            target.legend(fontsize=7)
    if several:  # one key for every panel: runs by colour, training and validation by line
        starred = any(line.get_label() == "best epoch" for line in targets[0].lines)
        key = _key(runs, colors, found, starred)
        if ax is None:
            fig.legend(handles=key, loc="outside right upper", fontsize=7, frameon=False)
        else:
            ax.legend(handles=key, fontsize=7)
    return fig


def roc(
    fpr,
    tpr,
    *,
    auc: float | None = None,
    point: tuple[float, float] | None = None,
    label: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """A ROC curve with the chance diagonal and an optional operating point (fpr, tpr)."""
    if ax is None:
        fig, ax = figure(inches=(3.2, 3.2))
    else:
        fig = _figure_of(ax)
    name = label or "model"
    if auc is not None:
        name = f"{name} (AUC {auc:.2f})"
    ax.plot(to_numpy(fpr), to_numpy(tpr), lw=1.5, label=name)
    ax.plot([0, 1], [0, 1], ls="--", color="0.6", lw=1, label="chance")
    if point is not None:
        ax.plot(
            *point,
            "o",
            color="tab:red",
            label=f"operating point (sens {point[1]:.2f}, spec {1 - point[0]:.2f})",
        )
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="1 - specificity (FPR)", ylabel="sensitivity (TPR)")
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="lower right")
    return fig


# ------------------------------------------------------------- PNG for widgets --


def image_png(
    image,
    *,
    preset: str | Window | None = None,
    level: float | None = None,
    width: float | None = None,
    mask=None,
    size: int = 256,
) -> bytes:
    """Encode one 2D image as PNG bytes, fast (no figure): for widgets and saved notebooks.

    Args:
        image: (H, W) or (1, H, W) array or tensor.
        preset, level, width: the window, as in ``show``.
        mask: optional (H, W) label mask, outlined in colour.
        size: pixels on the longer side of the picture.
    """
    from PIL import Image

    array = to_slice(image)
    chosen = _window(preset, level, width)
    shown = _apply_window(array, chosen)
    lo, hi = _display_limits(shown, chosen)
    grey = np.clip((shown - lo) / (hi - lo), 0, 1)
    picture = Image.fromarray((grey * 255).round().astype(np.uint8))
    scale = size / max(picture.size)
    new = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    picture = picture.resize(new, Image.BILINEAR if scale < 1 else Image.NEAREST)
    if mask is not None:
        picture = _outline_png(picture, mask)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _outline_png(picture, mask):
    """The mask's outline drawn at display size, so the line stays one pixel wide and sharp."""
    from PIL import Image

    labels = np.rint(to_slice(mask, "mask")).astype(np.int32)
    labels = np.asarray(Image.fromarray(labels).resize(picture.size, Image.NEAREST))
    padded = np.pad(labels, 1, mode="edge")
    edge = (labels != padded[1:-1, 2:]) | (labels != padded[2:, 1:-1])  # changes right or below
    rgb = np.array(picture.convert("RGB"))  # (H, W, 3)
    rgb[edge] = (255, 204, 0)
    return Image.fromarray(rgb)


# ------------------------------------------------------- reader against network --


READER_COLOUR = "tab:red"  # the reader's own point
NETWORK_COLOUR = "tab:blue"  # the network's curve and its point


def reader_point(
    labels,
    scores,
    reader_sensitivity: float,
    reader_specificity: float,
    *,
    threshold: float | None = 0.5,
    all_cases: tuple | None = None,
    reader: str = "you",
    ax: Axes | None = None,
) -> Figure:
    """The network's ROC curve with a reader's own (1 - specificity, sensitivity) as a point.

    The static twin of ``rl.widgets.reader_study``: the reader read the same
    cases the curve is drawn from, so the point and the curve compare fairly. A
    point above or to the left of the curve beats the network at that
    specificity; below or to the right, the network does better.

    Args:
        labels: the truth of the cases read, 0 = finding absent, 1 = present.
        scores: the network's score for the same cases (larger = finding more likely).
        reader_sensitivity, reader_specificity: the reader's results on those cases.
        threshold: the network's own operating point, drawn as a square (None: not drawn).
        all_cases: optional ``(labels, scores)`` of every case available, drawn as a thin
            grey second curve (the network on the larger set, for comparison).
        reader: who read the cases, as the legend and title name them ("you", or
            "example reader" for a made-up reading).
        ax: draw into this axes instead of a new figure.

    Example:
        >>> fig = reader_point([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], 0.5, 1.0)
        >>> fig.axes[0].get_xlabel()
        '1 - specificity (false positive rate)'
    """
    from . import metrics

    for name, value in (("sensitivity", reader_sensitivity), ("specificity", reader_specificity)):
        if not 0 <= value <= 1:
            raise ValueError(f"The reader's {name} is {value}: give a proportion (0.8, not 80).")
    if ax is None:
        fig, ax = figure(inches=(4.4, 5.8))  # the legend sits below the square axes
    else:
        fig = _figure_of(ax)
    if all_cases is not None:
        fpr, tpr, _ = metrics.roc(*all_cases)
        area = metrics.auc(*all_cases)
        n_all = len(to_numpy(all_cases[1]))
        ax.plot(fpr, tpr, color="0.6", lw=1, label=f"network, all {n_all} cases (AUC {area:.2f})")
    fpr, tpr, _ = metrics.roc(labels, scores)
    n = len(to_numpy(scores))
    area = metrics.auc(labels, scores)
    ax.plot(
        fpr, tpr, color=NETWORK_COLOUR, lw=2, label=f"network, these {n} cases (AUC {area:.2f})"
    )
    ax.plot([0, 1], [0, 1], ls="--", color="0.75", lw=1, label="chance")
    if threshold is not None:
        calls = metrics.apply_threshold(scores, threshold)
        sens, spec = metrics.sensitivity(labels, calls), metrics.specificity(labels, calls)
        ax.plot(
            1 - spec,
            sens,
            "s",
            color=NETWORK_COLOUR,
            mfc="none",  # hollow: still seen when the reader's star sits on it
            mew=2,
            ms=13,
            label=f"network at {threshold:.2f} (sens {sens:.2f}, spec {spec:.2f})",
        )
    ax.plot(
        1 - reader_specificity,
        reader_sensitivity,
        "*",
        color=READER_COLOUR,
        ms=16,
        mec="black",
        zorder=5,  # above the curves and the network's square
        label=f"{reader} (sens {reader_sensitivity:.2f}, spec {reader_specificity:.2f})",
    )
    ax.set(
        xlim=(-0.02, 1.02),
        ylim=(-0.02, 1.02),
        xlabel="1 - specificity (false positive rate)",
        ylabel="sensitivity (true positive rate)",
        title=f"{reader[:1].upper() + reader[1:]} and the network on the same cases",
    )
    ax.set_aspect("equal")
    ax.legend(
        fontsize=8, markerscale=0.7, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False
    )
    return fig
