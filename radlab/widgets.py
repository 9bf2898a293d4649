"""Interactive viewers for the lessons: thin ipywidgets wrappers over ``radlab.plot``.

- ``window_viewer(hu)``: window/level with presets, and how much of the image
  each window turns pure black or pure white.
- ``augment_explorer(image, mask=...)``: rotation, shift, noise, contrast and
  brightness, image and mask moved together, plus a seeded random draw.
- ``conv_playground(image)``: a 3x3 kernel, stride and padding, and the output
  size they give.

Each returns an ipywidgets container (standard ipywidgets 8 widgets only, no
custom front-end code) carrying a CSS class (``radlab-window-viewer``,
``radlab-augment-explorer``, ``radlab-conv-playground``) and a
``controls`` dict of its sliders, buttons, pictures and read-out, so code and
tests can drive it: ``viewer.controls["level"].value = 60``.

Without a live kernel a widget cannot react. Three things keep a lesson
readable then:

1. Each lesson puts the static figure from the plain function next to the
   widget (``rl.plot.window_figure``, ``rl.plot.augment_figure``,
   ``rl.plot.conv_figure``), so the point is made without any widget. The
   widgets compute with the same functions (``rl.plot.window_stats``,
   ``rl.transforms.preview``, ``rl.models.convolve``).
2. The pictures are ordinary ``Image`` widgets holding PNG bytes; a notebook
   saved with its widget state (JupyterLab: Settings > Save Widget State
   Automatically) shows the last picture and read-out.
3. The container's display data also holds its picture as ``image/png`` at
   the moment it was shown, so viewers that cannot render widgets at all
   (nbconvert without widget state, GitHub) show that picture instead.
"""

from __future__ import annotations

import base64
import html

import ipywidgets as W
import numpy as np

from . import config, dicom, models, plot, transforms
from .config import to_slice

__all__ = ["window_viewer", "augment_explorer", "conv_playground"]

PICTURE_SIZE = 256  # pixels on the longer side: quick to encode, small in a saved notebook


class _Panel(W.VBox):
    """A VBox whose display data also carries its current picture (a static fallback)."""

    def __init__(self, children, *, css_class: str, controls: dict, picture: W.Image):
        super().__init__(children)
        self.add_class(css_class)
        self.controls = controls
        self._picture = picture

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["image/png"] = base64.b64encode(self._picture.value).decode("ascii")
        return bundle


def _picture(value: bytes, size: int = PICTURE_SIZE) -> W.Image:
    return W.Image(value=value, format="png", layout=W.Layout(max_width=f"{size}px"))


def _readout(text: str = "") -> W.HTML:
    label = W.HTML(value=text)
    label.add_class("radlab-readout")
    return label


# ------------------------------------------------------------ window / level --


def _window_text(level: int, width: int, stats: dict) -> str:
    return (
        f"W {width} / L {level} \u2014 {stats['below']:.0%} of pixels below (black), "
        f"{stats['above']:.0%} above (white)"
    )


def _window_sliders(start: dicom.Window) -> tuple[W.Dropdown, W.IntSlider, W.IntSlider]:
    """The preset menu and the level and width sliders, set to the starting window."""
    levels = [int(w.level) for w in dicom.WINDOWS.values()]
    widths = [int(w.width) for w in dicom.WINDOWS.values()]
    menu = W.Dropdown(
        options=[(str(w), name) for name, w in dicom.WINDOWS.items()],  # "brain W 80 / L 40"
        value=start.name if start.name in dicom.WINDOWS else None,
        description="preset",
    )
    level = W.IntSlider(
        value=int(start.level),
        min=min(-1200, *levels),
        max=max(2000, *levels),
        description="level (HU)",
    )
    width = W.IntSlider(
        value=int(start.width), min=1, max=max(4000, *widths), description="width (HU)"
    )
    return menu, level, width


def window_viewer(hu, *, preset: str | dicom.Window = "brain", title: str = "") -> W.VBox:
    """Window/level viewer: preset menu, level and width sliders, picture and clipping read-out.

    Args:
        hu: one 2D image in Hounsfield units, (H, W) or (1, H, W), array or tensor.
        preset: the window to start from, a name in ``rl.WINDOWS`` or a ``Window``.
        title: a line shown above the controls.
    """
    start = dicom.resolve_window(preset=preset)  # an unknown name: the closest is suggested
    array = to_slice(hu, "HU image")  # copied to the CPU once, not at every redraw
    menu, level, width = _window_sliders(start)
    picture, readout = _picture(b""), _readout()
    busy = [False]  # set while a preset moves both sliders, so the picture is drawn once

    def draw(_=None):
        if busy[0]:
            return
        named = dicom.WINDOWS.get(menu.value)
        if named is not None and (int(named.level), int(named.width)) != (level.value, width.value):
            menu.value = None  # the sliders left the preset: the menu no longer names it
        shown = {"level": level.value, "width": width.value}
        picture.value = plot.image_png(array, **shown, size=PICTURE_SIZE)
        readout.value = _window_text(level.value, width.value, plot.window_stats(array, **shown))

    def choose(change):
        if change["new"] is None:
            return
        named = dicom.WINDOWS[change["new"]]
        busy[0] = True
        try:
            level.value, width.value = int(named.level), int(named.width)
        finally:
            busy[0] = False
        draw()

    menu.observe(choose, names="value")
    level.observe(draw, names="value")
    width.observe(draw, names="value")
    draw()
    header = [W.HTML(f"<b>{html.escape(title)}</b>")] if title else []
    controls = {"preset": menu, "level": level, "width": width}
    return _Panel(
        [*header, menu, level, width, picture, readout],
        css_class="radlab-window-viewer",
        controls={**controls, "picture": picture, "readout": readout},
        picture=picture,
    )


# -------------------------------------------------------------- augmentation --


def _augment_text(v: dict) -> str:
    return (
        f"rotation {v['angle']}\u00b0, shift ({v['dx']}, {v['dy']}) px, noise SD {v['noise']:.2f}, "
        f"contrast \u00d7{v['contrast']:.2f}, brightness {v['brightness']:+.2f}"
    )


def _augment_sliders(reach: int) -> dict[str, W.Widget]:
    """One slider per setting of ``rl.transforms.preview``; shifts up to ``reach`` pixels."""
    return {
        "angle": W.IntSlider(value=0, min=-45, max=45, description="rotation (\u00b0)"),
        "dx": W.IntSlider(value=0, min=-reach, max=reach, description="shift x (px)"),
        "dy": W.IntSlider(value=0, min=-reach, max=reach, description="shift y (px)"),
        "noise": W.FloatSlider(value=0.0, min=0.0, max=0.3, step=0.01, description="noise SD"),
        "contrast": W.FloatSlider(value=1.0, min=0.5, max=1.5, step=0.05, description="contrast"),
        "brightness": W.FloatSlider(
            value=0.0, min=-0.3, max=0.3, step=0.01, description="brightness"
        ),
    }


def _random_settings(rng: np.random.Generator, reach: int) -> dict[str, float]:
    """A plausible random draw of every setting, rounded to the sliders' steps."""
    return {
        "angle": int(rng.integers(-20, 21)),
        "dx": int(rng.integers(-reach // 2, reach // 2 + 1)),
        "dy": int(rng.integers(-reach // 2, reach // 2 + 1)),
        "noise": round(float(rng.uniform(0.0, 0.1)), 2),
        "contrast": round(round(float(rng.uniform(0.75, 1.25)) / 0.05) * 0.05, 2),
        "brightness": round(float(rng.uniform(-0.15, 0.15)), 2),
    }


def _augmented_png(array: np.ndarray, mask, v: dict, seed: int) -> bytes:
    """The picture of ``rl.transforms.preview`` for the sliders' values ``v``."""
    out, out_mask = transforms.preview(
        array,
        angle=v["angle"],
        shift=(v["dx"], v["dy"]),
        noise=v["noise"],
        contrast=v["contrast"],
        brightness=v["brightness"],
        mask=mask,
        seed=seed,
    )
    return plot.image_png(np.clip(out, 0, 1), mask=out_mask, size=PICTURE_SIZE)


def augment_explorer(image, *, mask=None, seed: int | None = None) -> W.VBox:
    """Augmentation explorer: a slider per transform, a seeded random draw, original and result.

    Args:
        image: one 2D image scaled to [0, 1] (window a CT first, e.g.
            ``rl.window(hu, preset="liver")``).
        mask: optional (H, W) label mask; it moves with the image (nearest-neighbour).
        seed: seeds the "New random draw" button and the noise, so a lesson repeats
            exactly (None: the course seed, ``rl.config.seed()``).
    """
    seed = config.seed(seed)
    array = to_slice(image)
    transforms.preview(array, mask=mask)  # refuses an image not windowed to [0, 1], up front
    reach = max(1, min(array.shape) // 4)
    sliders = _augment_sliders(reach)
    button = W.Button(
        description="New random draw", icon="random", layout=W.Layout(width="max-content")
    )
    before = _picture(plot.image_png(array, mask=mask, size=PICTURE_SIZE))
    after, readout = _picture(b""), _readout()
    rng = np.random.default_rng(seed)
    state = {"busy": False, "noise_seed": seed}

    def draw(_=None):
        if state["busy"]:
            return
        v = {k: s.value for k, s in sliders.items()}
        after.value = _augmented_png(array, mask, v, state["noise_seed"])
        readout.value = _augment_text(v)

    def random_draw(_=None):
        state["busy"] = True  # move every slider, then draw once
        try:
            for name, value in _random_settings(rng, reach).items():
                sliders[name].value = value
        finally:
            state["busy"] = False
        state["noise_seed"] += 1  # a new draw also draws new noise
        draw()

    for s in sliders.values():
        s.observe(draw, names="value")
    button.on_click(random_draw)
    draw()
    pictures = W.HBox([W.VBox([W.HTML("original"), before]), W.VBox([W.HTML("augmented"), after])])
    controls = {**sliders, "random": button, "original": before}
    return _Panel(
        [*sliders.values(), button, pictures, readout],
        css_class="radlab-augment-explorer",
        controls={**controls, "picture": after, "readout": readout},
        picture=after,
    )


# --------------------------------------------------------------- convolution --


def _kernel_html(values: np.ndarray) -> str:
    rows = "".join(
        "<tr>"
        + "".join(f"<td style='padding:0 6px;text-align:right'>{v:.3g}</td>" for v in row)
        + "</tr>"
        for row in values
    )
    return f"<table style='font-family:monospace'>{rows}</table>"


def _conv_text(shape: tuple[int, int], out: tuple[int, int], f: int, s: int, p: int) -> str:
    return (
        f"input {shape[0]}x{shape[1]} -> output {out[0]}x{out[1]} "
        f"(formula (n + 2p - f)//s + 1 = ({shape[0]} + 2*{p} - {f})//{s} + 1 = {out[0]})"
    )


def _kernels(learned) -> dict[str, np.ndarray]:
    """The menu's filters: ``rl.models.KERNELS``, and the learned one when given."""
    kernels = dict(models.KERNELS)
    if learned is not None:
        values = models.as_kernel(learned)
        if values.shape != (3, 3):
            raise ValueError(
                "The learned filter should be 3x3, e.g. model.conv1.weight[0, 0]; "
                f"got shape {values.shape}."
            )
        kernels["learned"] = values
    return kernels


def conv_playground(image, *, learned=None) -> W.VBox:
    """Convolution playground: kernel menu, stride and padding sliders, output picture and size.

    Args:
        image: one 2D image, best scaled to [0, 1].
        learned: optional 3x3 filter learned by a network (array or tensor, e.g.
            ``model.conv1.weight[0, 0]``), offered in the menu as "learned".
    """
    array = to_slice(image)
    kernels = _kernels(learned)
    menu = W.Dropdown(options=list(kernels), value="edge vertical (Sobel)", description="kernel")
    stride = W.IntSlider(value=1, min=1, max=4, description="stride")
    padding = W.IntSlider(value=0, min=0, max=3, description="padding")
    values_view = W.HTML()
    before = _picture(plot.image_png(array, size=PICTURE_SIZE))
    after, readout = _picture(b""), _readout()

    def draw(_=None):
        kernel, s, p = kernels[menu.value], stride.value, padding.value
        out = models.convolve(array, kernel, stride=s, padding=p)
        size = max(8, round(PICTURE_SIZE * max(out.shape) / max(array.shape)))  # drawn to scale
        after.value = plot.image_png(plot.conv_display(out, kernel), size=size)
        values_view.value = _kernel_html(kernel)
        readout.value = _conv_text(array.shape, out.shape, kernel.shape[0], s, p)

    for control in (menu, stride, padding):
        control.observe(draw, names="value")
    draw()
    titled = [("input", before), ("kernel", values_view), ("output", after)]
    pictures = W.HBox([W.VBox([W.HTML(text), view]) for text, view in titled])
    controls = {"kernel": menu, "stride": stride, "padding": padding, "values": values_view}
    return _Panel(
        [menu, stride, padding, pictures, readout],
        css_class="radlab-conv-playground",
        controls={**controls, "original": before, "picture": after, "readout": readout},
        picture=after,
    )
