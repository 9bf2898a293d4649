"""Figures for the lessons: images with their window in the title, montages, curves.

Every function returns a matplotlib ``Figure`` (small: about 80 dpi) and
leaves nothing open in pyplot, so a figure that ends a notebook cell is shown
exactly once and a loop that makes many figures leaks none. Pass ``ax=`` to
draw into an axes of your own instead (then the figure is yours to show).
Nothing here changes matplotlib's global settings.

Images may be NumPy arrays or torch tensors, shaped (H, W) or (1, H, W), in
Hounsfield units (HU) or already scaled to [0, 1] (``show`` and ``grid`` also
take colour pictures, (H, W, 3)). A ``window`` is ``None`` (show the values as
they are, and say so), a ``(level, width)`` pair in HU, a preset name from
``rl.WINDOWS`` ("brain", "lung", ...) or a ``radlab.dicom.Window``; every
figure states the window it used.

The widgets in ``radlab.widgets`` are built on the plain functions here:
``window_stats``, ``augmented``, ``convolve``, ``conv_display`` and ``image_png``.

Example:
    >>> import numpy as np
    >>> window_stats(np.array([-100.0, 0.0, 40.0, 200.0]), level=40, width=80)["below"]
    0.25
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = [
    "KERNELS",
    "show",
    "grid",
    "window_stats",
    "window_figure",
    "augmented",
    "augment_figure",
    "conv_output_size",
    "convolve",
    "conv_display",
    "conv_figure",
    "learning_curves",
    "roc",
    "image_png",
]

DPI = 80
MASK_COLORS = ("#ffcc00", "#00e5ff", "#ff4fa0", "#7cff4f", "#ff7f0e")

# 3x3 filters for the convolution lessons. torch's conv2d does not flip the
# kernel (it is a cross-correlation), so each one reads as written.
KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32),
    "blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float32) / 16,
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32),
    # Sobel: responds to horizontal edges (intensity changing from top to bottom)
    "edge horizontal (Sobel)": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float32),
    # Sobel: responds to vertical edges (intensity changing from left to right)
    "edge vertical (Sobel)": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32),
    "Laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32),
}


# ---------------------------------------------------------------- helpers --


def _new_figure(
    nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float]
) -> tuple[Figure, np.ndarray]:
    """A new figure with an array of axes, already closed in pyplot so that it displays once.

    Made through pyplot so that Jupyter's inline backend registers its PNG
    display for figures; closed at once so that the cell shows it only as the
    returned value (and a loop of figures leaks none).
    """
    import matplotlib.pyplot as plt  # here, not at import: importing radlab changes nothing

    fig = plt.figure(figsize=figsize, dpi=DPI, layout="constrained")
    plt.close(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _numpy(values) -> np.ndarray:
    """Float32 NumPy values from an array, a list or a tensor (copied to the CPU for drawing)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().to("cpu", torch.float32).numpy()
    return np.asarray(values, dtype=np.float32)


def _as_picture(image) -> np.ndarray:
    """A float NumPy copy of a grey (H, W) / (1, H, W) image or a colour (H, W, 3) one."""
    array = _numpy(image)
    if array.ndim == 3 and array.shape[-1] in (3, 4) and array.shape[0] not in (1, 3, 4):
        return array  # (H, W, RGB[A]), e.g. three CT phases shown as red, green and blue
    return _as_2d(array)


def _as_2d(image, what: str = "image") -> np.ndarray:
    """A float NumPy copy of a (H, W) or (1, H, W) array or tensor."""
    array = _numpy(image)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise ValueError(
            f"The {what} has shape {tuple(array.shape)}; one 2D slice is needed, shaped (H, W) or "
            "(1, H, W) (a colour picture: (H, W, 3)). For a volume pick a slice first, e.g. "
            "volume[40]; for a batch, image[0]."
        )
    return array


def _resolve_window(window) -> tuple[float, float, str] | None:
    """``(level, width, name)`` for a window given as None, (level, width), a preset name or a Window."""
    if window is None:
        return None
    if isinstance(window, str):
        from . import dicom  # presets live with the DICOM code

        if window not in dicom.WINDOWS:
            raise ValueError(
                f"There is no window preset called {window!r}. Choose one of "
                f"{', '.join(sorted(dicom.WINDOWS))}, or give (level, width) in HU, e.g. (40, 80)."
            )
        preset = dicom.WINDOWS[window]
        return float(preset.level), float(preset.width), window
    if hasattr(window, "level") and hasattr(window, "width"):
        return float(window.level), float(window.width), ""
    try:
        level, width = window
    except (TypeError, ValueError):
        raise ValueError(
            f"window={window!r} is not understood: give None, (level, width) in HU such as (40, 80), "
            "or a preset name such as 'brain'."
        ) from None
    return float(level), float(width), ""


def _window_text(resolved: tuple[float, float, str]) -> str:
    level, width, name = resolved
    text = f"W {width:g} / L {level:g}"
    return f"{name} {text}" if name else text


def _apply_window(array: np.ndarray, resolved) -> np.ndarray:
    """Values mapped to [0, 1] by the window (radlab.dicom.window), or unchanged when None."""
    if resolved is None:
        return array
    from . import dicom

    level, width, _ = resolved
    return np.asarray(dicom.window(array, level=level, width=width), dtype=np.float32)


def _display_limits(array: np.ndarray, resolved) -> tuple[float, float]:
    """Grey-scale limits: [0, 1] for windowed or already-scaled images, else min..max."""
    if resolved is not None:
        return 0.0, 1.0
    lo, hi = float(np.nanmin(array)), float(np.nanmax(array))
    if 0.0 <= lo and hi <= 1.0:
        return 0.0, 1.0
    return lo, (hi if hi > lo else lo + 1.0)


def _draw_mask(ax: Axes, mask) -> None:
    """Outline each label of an integer or boolean mask in its own colour."""
    mask = np.rint(_as_2d(mask, "mask")).astype(np.int64)
    for i, label in enumerate(v for v in np.unique(mask) if v != 0):
        region = (mask == label).astype(np.float32)
        if 0 < region.sum() < region.size:  # contour needs both inside and outside
            ax.contour(
                region, levels=[0.5], colors=MASK_COLORS[i % len(MASK_COLORS)], linewidths=1.0
            )


def _interpolation(ax: Axes, shape: tuple[int, ...]) -> str:
    """Enlarged: whole pixels ("nearest", as a reading station shows them); shrunk: smoothed against aliasing."""
    fig = _figure_of(ax)
    spec = ax.get_subplotspec()
    share = (
        len(spec.colspan) / spec.get_gridspec().ncols
        if spec is not None
        else ax.get_position().width
    )  # about: the layout is done only when drawn
    shown_px = 0.9 * share * fig.get_figwidth() * fig.dpi
    return "nearest" if shown_px >= shape[1] else "antialiased"


def _figure_of(ax: Axes) -> Figure:
    """The top-level figure holding an axes (also when the axes sits in a subfigure)."""
    fig = ax.figure
    return fig if isinstance(fig, Figure) else fig.figure


# ---------------------------------------------------------------- images --


def show(
    image,
    *,
    window=None,
    title: str | None = None,
    ax: Axes | None = None,
    cmap: str = "gray",
    mask=None,
) -> Figure:
    """Show one 2D image with its window stated in the title.

    Args:
        image: (H, W) or (1, H, W) array or tensor, in HU or in [0, 1]; or a colour
            (H, W, 3) picture (the window, if any, applies to each colour).
        window: None, (level, width) in HU, a preset name ("brain") or a Window.
        title: text above the window statement.
        ax: draw into this axes instead of a new figure.
        cmap: colour map; grey for radiology.
        mask: optional (H, W) label mask, outlined on top.
    """
    array = _as_picture(image)
    resolved = _resolve_window(window)
    shown = _apply_window(array, resolved)
    fig = _figure_of(ax) if ax is not None else None
    if ax is None:
        fig, axes = _new_figure(figsize=(3.0, 3.2))
        ax = axes[0, 0]
    vmin, vmax = _display_limits(shown, resolved)
    how = {"interpolation": _interpolation(ax, shown.shape)}
    if shown.ndim == 3:  # colour: matplotlib wants values in [0, 1]
        ax.imshow(np.clip((shown - vmin) / (vmax - vmin), 0, 1), **how)
    else:
        ax.imshow(shown, cmap=cmap, vmin=vmin, vmax=vmax, **how)
    if mask is not None:
        _draw_mask(ax, mask)
    if resolved is not None:
        stated = _window_text(resolved)
    elif (vmin, vmax) != (0.0, 1.0):  # raw values: say what black and white mean
        stated = f"no window: black {vmin:.4g}, white {vmax:.4g}"
    else:
        stated = None
    lines = [t for t in (title, stated) if t]
    if lines:
        ax.set_title("\n".join(lines), fontsize=9)
    ax.set_axis_off()
    return fig


def _per_image(window, n: int) -> bool:
    """True when ``window`` is a list of n windows rather than one (level, width) pair."""
    return (
        isinstance(window, (list, tuple))
        and len(window) == n
        and not all(isinstance(w, (int, float, np.number)) for w in window)
    )


def grid(
    images,
    *,
    titles: Sequence[str] | None = None,
    window=None,
    ncols: int | None = None,
    size: float = 1.8,
    suptitle: str | None = None,
) -> Figure:
    """A montage of images in one window, or each in its own.

    Args:
        images: a list of (H, W) images (or (H, W, 3) colour pictures), or an
            (N, H, W) / (N, 1, H, W) array or tensor.
        titles: one short title per image.
        window: as in ``show``, stated once in the overall title; or a list with
            one window per image (None for an image already in [0, 1]), stated
            under each title. Without any window, all images share one grey
            scale (their common minimum to maximum).
        ncols: images per row (default: up to 6).
        size: inches per image.
        suptitle: overall title.
    """
    items = [images[i] for i in range(len(images))]
    if not items:
        raise ValueError("grid() needs at least one image; the list given is empty.")
    if titles is not None and len(titles) != len(items):
        raise ValueError(
            f"{len(titles)} titles were given for {len(items)} images; give one per image."
        )
    windows, stated = _grid_windows(items, window)
    ncols = ncols or min(len(items), 6)
    nrows = -(-len(items) // ncols)
    fig, axes = _new_figure(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3))
    for i, ax in enumerate(axes.flat):
        if i < len(items):
            show(items[i], window=windows[i], ax=ax, title=titles[i] if titles else None)
            if stated is not None:  # one window for all: stated once, on top
                ax.set_title(titles[i] if titles else "", fontsize=8)
        ax.set_axis_off()
    heading = [t for t in (suptitle, stated) if t]
    if heading:
        fig.suptitle(" - ".join(heading), fontsize=10)
    return fig


def _grid_windows(items: list, window) -> tuple[list, str | None]:
    """One window per image, and the statement for the overall title (None: each cell states its own)."""
    if _per_image(window, len(items)):
        return list(window), None
    if window is not None:
        return [window] * len(items), _window_text(_resolve_window(window))
    lo, hi = min(float(_numpy(x).min()) for x in items), max(float(_numpy(x).max()) for x in items)
    if 0 <= lo and hi <= 1:
        return [None] * len(items), ""
    shared = ((lo + hi) / 2, (hi - lo) or 1.0)  # raw values: one grey scale for all
    return [shared] * len(items), f"no window: black {lo:.4g}, white {hi:.4g}"


# ---------------------------------------------------------- window / level --


def window_stats(hu, level: float, width: float) -> dict:
    """How much of the image a window clips: fractions shown pure black and pure white.

    Pixels below ``level - width/2`` are drawn black, pixels above
    ``level + width/2`` white; only those in between show any contrast.

    Returns:
        dict of fractions of pixels (summing to 1): ``below`` (black), ``inside``
        (shades of grey) and ``above`` (white).
    """
    array = _numpy(hu)  # any shape: a slice, a volume, a list of HU values
    if width <= 0:
        raise ValueError(
            f"A window width must be positive (got {width}); brain is W 80, lung W 1500."
        )
    below = float(np.mean(array < level - width / 2))
    above = float(np.mean(array > level + width / 2))
    return {"below": below, "inside": 1.0 - below - above, "above": above}


def window_figure(hu, *, level: float, width: float, title: str | None = None) -> Figure:
    """The image in one window beside its HU histogram, with the clipped fractions stated.

    The static twin of ``rl.widgets.window_viewer``.
    """
    array = _as_2d(hu, "HU image")
    stats = window_stats(array, level, width)
    fig, axes = _new_figure(1, 2, figsize=(6.4, 3.2))
    show(array, window=(level, width), title=title, ax=axes[0, 0])
    ax = axes[0, 1]
    ax.hist(array.ravel(), bins=120, color="0.4")
    ax.axvspan(level - width / 2, level + width / 2, color="tab:orange", alpha=0.3, label="window")
    ax.set_xlabel("HU")
    ax.set_yticks([])
    ax.set_title(
        f"{stats['below']:.0%} black (below), {stats['above']:.0%} white (above)", fontsize=9
    )
    ax.legend(fontsize=8, loc="upper right")
    return fig


# ------------------------------------------------------------- augmentation --


def _as_tensor(image) -> torch.Tensor:
    """(1, 1, H, W) float tensor on the CPU; plotting works on the CPU."""
    return torch.from_numpy(_as_2d(image))[None, None]


def augmented(
    image,
    *,
    angle: float = 0,
    shift: tuple[float, float] = (0, 0),
    noise: float = 0,
    contrast: float = 1,
    brightness: float = 0,
    mask=None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Apply fixed augmentation settings to one image in [0, 1] (and its mask).

    Spatial steps (rotation in degrees, then a shift ``(dx, dy)`` in pixels)
    move image and mask together (the mask with nearest-neighbour, so labels
    stay whole); intensity steps (contrast, brightness, Gaussian noise of
    standard deviation ``noise``) touch the image only. The noise is drawn
    from a generator seeded with ``seed``, so the same settings give the same
    picture.

    Returns:
        (image, mask) as (H, W) NumPy arrays; mask is None when none was given.
    """
    from . import transforms as T

    x = _as_tensor(image)  # (1, 1, H, W)
    if x.min() < -0.01 or x.max() > 1.01:
        raise ValueError(
            f"Augmentation expects an image scaled to [0, 1]; this one spans {x.min():.0f} to {x.max():.0f} "
            "(Hounsfield units?). Window it first, e.g. rl.window(hu, preset='liver')."
        )
    m = None if mask is None else _as_tensor(mask)
    dx, dy = shift
    if angle:
        x = T.rotate(x, angle)
        m = None if m is None else T.rotate(m, angle, nearest=True)
    if dx or dy:
        x = T.shift(x, dx, dy)
        m = None if m is None else T.shift(m, dx, dy, nearest=True)
    if contrast != 1:
        x = T.adjust_contrast(x, contrast)
    if brightness:
        x = T.adjust_brightness(x, brightness)
    if noise:
        x = T.add_noise(x, noise, generator=torch.Generator().manual_seed(seed))
    return x[0, 0].numpy(), None if m is None else m[0, 0].numpy()


def augment_figure(
    image,
    *,
    angle: float = 0,
    shift: tuple[float, float] = (0, 0),
    noise: float = 0,
    contrast: float = 1,
    brightness: float = 0,
    mask=None,
    seed: int = 0,
) -> Figure:
    """Original beside augmented image (mask outlined on both); arguments as in ``augmented``.

    The static twin of ``rl.widgets.augment_explorer``.
    """
    out, out_mask = augmented(
        image,
        angle=angle,
        shift=shift,
        noise=noise,
        contrast=contrast,
        brightness=brightness,
        mask=mask,
        seed=seed,
    )
    fig, axes = _new_figure(1, 2, figsize=(5.6, 3.0))
    show(image, ax=axes[0, 0], mask=mask, title="original")
    settings = (
        f"rot {angle:g}°, shift ({shift[0]:g}, {shift[1]:g}) px\n"
        f"noise {noise:g}, contrast {contrast:g}, brightness {brightness:+g}"
    )
    show(np.clip(out, 0, 1), ax=axes[0, 1], mask=out_mask, title=settings)
    return fig


# --------------------------------------------------------------- convolution --


def conv_output_size(n: int, f: int, s: int = 1, p: int = 0) -> int:
    """Output size of a convolution: ``(n + 2p - f) // s + 1`` for input n, filter f, stride s, padding p."""
    if n + 2 * p < f:
        raise ValueError(f"A {f}x{f} filter does not fit in a {n}-pixel input with padding {p}.")
    return (n + 2 * p - f) // s + 1


def _kernel(kernel) -> tuple[np.ndarray, str]:
    """A (F, F) float kernel and its name, from a name in KERNELS or an array/tensor."""
    if isinstance(kernel, str):
        if kernel not in KERNELS:
            raise ValueError(
                f"There is no kernel called {kernel!r}; choose one of {', '.join(KERNELS)}."
            )
        return KERNELS[kernel], kernel
    values = _as_2d(kernel, "kernel")
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise ValueError(f"A kernel must be square, e.g. 3x3; this one is {values.shape}.")
    return values, "kernel"


def convolve(image, kernel, *, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Slide a kernel over one 2D image with torch's conv2d (zero padding); returns (H', W')."""
    values, _ = _kernel(kernel)
    x = _as_tensor(image)  # (1, 1, H, W)
    w = torch.as_tensor(values).reshape(1, 1, *values.shape)  # (out, in, F, F)
    return F.conv2d(x, w, stride=stride, padding=padding)[0, 0].numpy()


def conv_display(out: np.ndarray, kernel) -> np.ndarray:
    """Scale a filter response to [0, 1] for display: mid-grey = 0 for edge filters, else min..max."""
    values, _ = _kernel(kernel)
    if abs(float(values.sum())) < 1e-6:  # edge detectors: signed response around 0
        scale = float(np.abs(out).max()) or 1.0
        return 0.5 + out / (2 * scale)
    lo, hi = float(out.min()), float(out.max())
    return (out - lo) / (hi - lo) if hi > lo else np.zeros_like(out)


def conv_figure(image, kernel, *, stride: int = 1, padding: int = 0) -> Figure:
    """Input (zero-padded), the kernel's numbers, and the output with its size.

    Args:
        image: (H, W) image, best in [0, 1].
        kernel: a name from ``KERNELS`` or a square array/tensor.
        stride, padding: as in ``torch.nn.functional.conv2d``.
    """
    values, name = _kernel(kernel)
    array = _as_2d(image)
    out = convolve(array, values, stride=stride, padding=padding)
    fig, axes = _new_figure(1, 3, figsize=(7.2, 2.8))
    padded = np.pad(array, padding)
    show(padded, ax=axes[0, 0], title=f"input {array.shape[0]}x{array.shape[1]}, padding {padding}")
    ax = axes[0, 1]
    ax.imshow(values, cmap="coolwarm", vmin=-np.abs(values).max(), vmax=np.abs(values).max())
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=8)
    ax.set_title(f"{name}, stride {stride}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    show(conv_display(out, values), ax=axes[0, 2], title=f"output {out.shape[0]}x{out.shape[1]}")
    return fig


# ----------------------------------------------------------------- curves --


def _curves(history: Mapping, metric: str) -> dict[str, list[float]]:
    """{"train": [...], "val": [...]} for one metric; ``val_metric`` stands for the metric the history names."""
    found = {}
    for split in ("train", "val"):
        values = history.get(f"{split}_{metric}")
        if values is None and metric in (history.get("metric"), "metric"):
            values = history.get(
                f"{split}_metric"
            )  # rl.train.History: metric="auc", val_metric=[...]
        if values is not None and len(values):
            found[split] = [float(v) for v in values]
    return found


def learning_curves(
    history, *, metrics: Iterable[str] = ("loss",), ax: Axes | None = None
) -> Figure:
    """Training and validation curves per epoch, one panel per metric, the best epoch marked.

    Args:
        history: what ``rl.train.fit`` returns (or its ``as_dict()``), or a dict such as
            {"epoch": [...], "train_loss": [...], "val_loss": [...], "val_auc": [...], "best_epoch": 7}.
        metrics: names without the train_/val_ prefix, e.g. ("loss", "auc").
        ax: draw every metric into this one axes instead.
    """
    history = history.as_dict() if hasattr(history, "as_dict") else dict(history)
    curves = {m: c for m in metrics if (c := _curves(history, m))}
    if not curves:
        raise ValueError(f"The history has none of {list(metrics)} (keys: {', '.join(history)}).")
    fig = _figure_of(ax) if ax is not None else None
    if ax is None:
        fig, axes = _new_figure(1, len(curves), figsize=(3.4 * len(curves), 2.8))
    best = history.get("best_epoch")
    for i, (metric, found) in enumerate(curves.items()):
        target = ax if ax is not None else axes[0, i]
        for split, values in found.items():
            epochs = history.get("epoch")
            epochs = (
                list(range(1, len(values) + 1))
                if epochs is None or not len(epochs)
                else list(epochs)
            )
            epochs = epochs[: len(values)]
            target.plot(
                epochs,
                values,
                "-" if split == "train" else "--",
                marker=".",
                label=f"{split} {metric}",
            )
        if best is not None and (ax is None or i == 0):
            target.axvline(best, color="tab:green", lw=1, ls=":", label=f"best epoch {best}")
        target.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        target.set_xlabel("epoch")
        target.set_ylabel(metric if ax is None else "value")
        target.legend(fontsize=8)
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
    fig = _figure_of(ax) if ax is not None else None
    if ax is None:
        fig, axes = _new_figure(figsize=(3.2, 3.2))
        ax = axes[0, 0]
    name = label or "model"
    if auc is not None:
        name = f"{name} (AUC {auc:.2f})"
    ax.plot(np.asarray(fpr), np.asarray(tpr), lw=1.5, label=name)
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


def image_png(image, *, window=None, mask=None, size: int = 256) -> bytes:
    """Encode one 2D image as PNG bytes, fast (no figure): for widgets and saved notebooks.

    The image is windowed like ``show``, resized so that its longer side is
    ``size`` pixels, and the mask (if any) outlined in colour.
    """
    from PIL import Image

    array = _as_2d(image)
    resolved = _resolve_window(window)
    shown = _apply_window(array, resolved)
    lo, hi = _display_limits(shown, resolved)
    grey = np.clip((shown - lo) / (hi - lo), 0, 1)
    picture = Image.fromarray((grey * 255).round().astype(np.uint8))
    scale = size / max(picture.size)
    new = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    picture = picture.resize(new, Image.BILINEAR if scale < 1 else Image.NEAREST)
    if mask is not None:  # outline at display size, so the line stays one pixel wide and sharp
        labels = Image.fromarray(np.rint(_as_2d(mask, "mask")).astype(np.int32)).resize(
            new, Image.NEAREST
        )
        labels = np.asarray(labels)
        padded = np.pad(labels, 1, mode="edge")
        edge = (labels != padded[1:-1, 2:]) | (labels != padded[2:, 1:-1])  # changes right or below
        rgb = np.array(picture.convert("RGB"))  # (H, W, 3)
        rgb[edge] = (255, 204, 0)
        picture = Image.fromarray(rgb)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
