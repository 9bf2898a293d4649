"""Interactive viewers for the lessons: thin ipywidgets wrappers over ``radlab.plot``.

- ``window_viewer(hu)``: window/level used like a PACS: drag on the image
  (left/right = width, up/down = level; ``drag_window`` does the arithmetic),
  type exact values, or pick a preset; and how much of the image the window
  turns pure black or pure white.
- ``augment_explorer(image, mask=...)``: rotation, shift, noise, contrast and
  brightness, image and mask moved together, plus a seeded random draw.
- ``conv_playground(image)``: a 3x3 kernel, stride and padding, and the output
  size they give.
- ``threshold_explorer(image, probability, truth)``: the probability threshold
  that turns a segmentation network's output into a mask; the predicted and
  the true outline over the image, and the Dice at that threshold.
- ``reader_study(images, labels, scores)``: the learner reads 20 cases, then
  sees their own sensitivity and specificity as a point on the network's ROC
  curve (``ReaderStudy`` holds the reading without any widget).

Each returns an ipywidgets container carrying a CSS class
(``radlab-window-viewer``, ``radlab-augment-explorer``,
``radlab-conv-playground``, ``radlab-threshold-explorer``,
``radlab-reader-study``) and a
``controls`` dict of its sliders, boxes, buttons, pictures and read-out,
so code and tests can drive it: ``viewer.controls["level"].value = 60``.
All are standard ipywidgets 8 widgets except the window viewer's picture,
a small ``anywidget`` whose few lines of JavaScript (``_PICTURE_JS``) only
show the PNG and report mouse drags; Python works out every window and draws every picture.

Without a live kernel a widget cannot react. Three things keep a lesson
readable then:

1. Each lesson puts the static figure from the plain function next to the
   widget (``rl.plot.window_figure``, ``rl.plot.augment_figure``,
   ``rl.plot.conv_figure``), so the point is made without any widget. The
   widgets compute with the same functions (``rl.plot.window_stats``,
   ``rl.transforms.preview``, ``rl.models.convolve``).
2. The pictures hold PNG bytes in their ``value``; a notebook saved with its
   widget state (JupyterLab: Settings > Save Widget State Automatically) shows
   the last picture and read-out.
3. The container's display data also holds its picture as ``image/png`` at
   the moment it was shown, so viewers that cannot render widgets at all
   (nbconvert without widget state, GitHub) show that picture instead.
"""

from __future__ import annotations

import base64
import html
import io
import math

import anywidget
import ipywidgets as W
import numpy as np
import traitlets

from . import config, dicom, metrics, models, plot, transforms
from .config import to_slice

__all__ = [
    "window_viewer",
    "augment_explorer",
    "conv_playground",
    "threshold_explorer",
    "ReaderStudy",
    "reader_study",
    "outlines_png",
    "drag_window",
    "window_limits",
]

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

VIEWER_SIZE = 512  # screen pixels on the longer side of the window viewer's picture
HU_PER_PIXEL = 2.0  # a drag on the picture moves the level or width this many HU per screen pixel
FINE_HU_PER_PIXEL = 0.5  # the same with Shift held: for narrow windows such as the brain's
SLIDER_WIDTH = "520px"  # long sliders (about 8 HU of level per pixel); boxes and drags are finer

DRAG_HELP = (
    "Drag on the image as on a PACS: left/right changes the width (right = wider, flatter "
    "contrast), up/down changes the level (down = higher, darker image); "
    f"{HU_PER_PIXEL:g} HU per screen pixel, {FINE_HU_PER_PIXEL:g} HU with Shift held. "
    "Boxes: type a value and press Enter, or use the arrow keys (1 HU)."
)


def window_limits() -> dict[str, tuple[int, int]]:
    """The range of the viewer's level and width, in HU: wide enough for every preset."""
    levels = [int(w.level) for w in dicom.WINDOWS.values()]
    widths = [int(w.width) for w in dicom.WINDOWS.values()]
    return {
        "level": (min(-1200, *levels), max(2000, *levels)),
        "width": (1, max(4000, *widths)),  # a window is at least 1 HU wide
    }


def _whole_hu(value: float, low: int, high: int) -> int:
    """Round to whole HU (halves upwards, the same on both sides of zero), kept in [low, high]."""
    return min(high, max(low, math.floor(value + 0.5)))


def drag_window(
    level: float, width: float, dx: float, dy: float, *, fine: bool = False
) -> tuple[int, int]:
    """The window after a drag of (dx, dy) screen pixels on the picture, as on most PACS.

    Horizontal is width: dragging right by ``dx`` pixels widens the window by
    ``dx * HU_PER_PIXEL`` HU (flatter contrast), dragging left narrows it. Vertical
    is level: dragging down by ``dy`` pixels (screen y grows downwards) raises the
    level by ``dy * HU_PER_PIXEL`` HU, which darkens the image; dragging up lowers
    it. With ``fine=True`` (Shift held) the rate is ``FINE_HU_PER_PIXEL``.

    Args:
        level, width: the window when the drag began, in HU.
        dx, dy: how far the mouse has moved since then, in screen pixels.
        fine: the slow rate, for narrow windows.

    Returns:
        (level, width) in whole HU, inside ``window_limits()``; the width is never below 1.
    """
    rate = FINE_HU_PER_PIXEL if fine else HU_PER_PIXEL
    limits = window_limits()
    new_level = _whole_hu(level + dy * rate, *limits["level"])
    new_width = _whole_hu(width + dx * rate, *limits["width"])
    return new_level, new_width


class _DragFollower:
    """Turns the front end's drag positions into windows, one drag at a time.

    The front end sends, for each drag, an id and the offset (dx, dy) from where
    the button went down. A new id starts from the window shown at that moment.
    Pressing or releasing Shift in the middle of a drag changes the rate, so the
    drag goes on from the current window and position instead of jumping.
    """

    def __init__(self):
        self.drag_id = None
        self.fine = False
        self.start = (0, 1)  # the window (level, width) the current stretch began from
        self.origin = (0.0, 0.0)  # the offset (dx, dy) where that stretch began
        self.last = (0.0, 0.0)  # the offset of the previous position

    def move(self, drag_id, dx: float, dy: float, fine: bool, current: tuple[int, int]):
        """The window for this position; ``current`` is the (level, width) shown now."""
        if drag_id != self.drag_id:  # the button went down again: a new drag
            self.drag_id, self.fine = drag_id, fine
            self.start, self.origin = current, (0.0, 0.0)
        elif fine != self.fine:  # Shift changed: carry on from here at the other rate
            self.fine = fine
            self.start, self.origin = current, self.last
        self.last = (dx, dy)
        moved_x = dx - self.origin[0]
        moved_y = dy - self.origin[1]
        return drag_window(self.start[0], self.start[1], moved_x, moved_y, fine=fine)


# The picture's front end (JavaScript, run by anywidget in the browser). It shows
# the PNG bytes from Python, writes "W ... L ..." in the image's corner as a PACS
# does, and reports mouse drags on the image to Python, which works out the new
# window with drag_window() and redraws. One position is in flight at a time: the
# next is sent when Python answers "drawn", and positions that are out of date by
# then are dropped (never a drag's last one), so a slow kernel never falls behind.
_PICTURE_JS = """
const ANSWER_WAIT_MS = 1000;  // no answer by then (kernel busy or gone): send the next anyway

function render({ model, el }) {
  const frame = document.createElement("div");
  frame.className = "radlab-wl-frame";
  const img = document.createElement("img");
  img.className = "radlab-wl-picture";
  img.alt = "the image in the current window";
  img.draggable = false;
  const overlay = document.createElement("div");
  overlay.className = "radlab-wl-overlay";
  frame.append(img, overlay);
  el.append(frame);

  let url = null;
  function showPicture() {
    const data = model.get("value");
    if (!data || data.byteLength === 0) return;
    const bytes = ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);
    const old = url;
    url = URL.createObjectURL(new Blob([bytes], { type: "image/png" }));
    img.src = url;
    if (old) setTimeout(() => URL.revokeObjectURL(old), 2000);  // let readers of the old one finish
  }
  function showWindow() {
    overlay.textContent = `W ${model.get("width")}  L ${model.get("level")}`;
  }
  function showSize() {
    frame.style.width = `${model.get("display_width")}px`;
  }

  let drag = null;  // while the button is held: the drag's id, the pointer, where it went down
  let pending = [];  // positions not sent yet: at most the latest move, plus any drag's last one
  let waiting = false;  // a position was sent and Python has not answered yet
  let waitTimer = null;

  function sendNext() {
    if (waiting || pending.length === 0) return;
    model.send(pending.shift());
    waiting = true;
    clearTimeout(waitTimer);
    waitTimer = setTimeout(answered, ANSWER_WAIT_MS);
  }
  function answered() {
    waiting = false;
    clearTimeout(waitTimer);
    sendNext();
  }
  function onMessage(msg) {
    if (msg && msg.event === "drawn") answered();
  }
  function queue(event, last) {
    const position = {
      event: "drag",
      id: drag.id,
      dx: event.clientX - drag.x,
      dy: event.clientY - drag.y,
      fine: event.shiftKey,
      last,
    };
    const previous = pending[pending.length - 1];
    if (previous && previous.id === position.id && !previous.last) pending.pop();  // outdated
    pending.push(position);
    sendNext();
  }
  function onDown(event) {
    if (event.button !== 0) return;  // the left button only
    event.preventDefault();  // no text selection, no dragging of the picture itself
    const id = `${Date.now()}-${Math.random()}`;
    drag = { id, pointer: event.pointerId, x: event.clientX, y: event.clientY };
    try {
      frame.setPointerCapture(event.pointerId);  // the drag goes on outside the picture
    } catch (error) {
      // no capture: the drag still works while the mouse stays on the picture
    }
    frame.classList.add("radlab-wl-dragging");
  }
  function onMove(event) {
    if (drag && event.pointerId === drag.pointer) queue(event, false);
  }
  function onStop(event) {
    if (!drag || event.pointerId !== drag.pointer) return;
    if (event.type === "pointerup") queue(event, true);  // the last position always goes
    drag = null;
    frame.classList.remove("radlab-wl-dragging");
  }

  frame.addEventListener("pointerdown", onDown);
  frame.addEventListener("pointermove", onMove);
  frame.addEventListener("pointerup", onStop);
  frame.addEventListener("pointercancel", onStop);
  frame.addEventListener("lostpointercapture", onStop);
  model.on("msg:custom", onMessage);
  model.on("change:value", showPicture);
  model.on("change:level", showWindow);
  model.on("change:width", showWindow);
  model.on("change:display_width", showSize);
  showPicture();
  showWindow();
  showSize();
  return () => {
    clearTimeout(waitTimer);
    if (url) URL.revokeObjectURL(url);
  };
}

export default { render };
"""

_PICTURE_CSS = """
.radlab-wl-frame {
  position: relative;
  max-width: 100%;
  background: #000;
  line-height: 0;
  cursor: move;
  touch-action: none;
  user-select: none;
}
.radlab-wl-frame.radlab-wl-dragging { cursor: grabbing; }
.radlab-wl-picture {
  display: block;
  width: 100%;
  height: auto;
  image-rendering: auto;
  pointer-events: none;
}
.radlab-wl-overlay {
  position: absolute;
  left: 8px;
  bottom: 8px;
  color: #fff;
  font: 14px/1.2 monospace;
  text-shadow: 0 0 3px #000, 0 0 3px #000;
  pointer-events: none;
}
"""


class WindowPicture(anywidget.AnyWidget):
    """The window viewer's picture: drawn ``display_width`` screen pixels wide (smoothly
    scaled by the browser), "W ... L ..." written in its corner, and mouse drags on it
    reported to Python (see ``drag_window`` for the directions and rates).

    ``value`` holds the PNG bytes, as in an ``ipywidgets.Image``.
    """

    _esm = _PICTURE_JS
    _css = _PICTURE_CSS
    value = traitlets.Bytes(b"").tag(sync=True)
    level = traitlets.Int(0).tag(sync=True)
    width = traitlets.Int(1).tag(sync=True)
    display_width = traitlets.Int(VIEWER_SIZE).tag(sync=True)

    def __init__(self, **traits):
        super().__init__(**traits)
        self._on_drag = None
        self.on_msg(self._receive)

    def on_drag(self, handler) -> None:
        """Call ``handler(drag_id, dx, dy, fine)`` for each drag position from the browser."""
        self._on_drag = handler

    def _receive(self, _widget, content, _buffers) -> None:
        """One message from the browser: a drag position. Answered "drawn" once handled."""
        if not isinstance(content, dict) or content.get("event") != "drag":
            return
        try:
            drag_id = str(content["id"])
            dx, dy = float(content["dx"]), float(content["dy"])
            fine = bool(content.get("fine", False))
            if self._on_drag is not None and math.isfinite(dx) and math.isfinite(dy):
                self._on_drag(drag_id, dx, dy, fine)
        except (KeyError, TypeError, ValueError):
            pass  # a malformed message moves nothing
        finally:
            self.send({"event": "drawn"})  # the browser may send the next position


def _window_text(level: int, width: int, stats: dict) -> str:
    return (
        f"W {width} / L {level} \u2014 {stats['below']:.0%} of pixels below (black), "
        f"{stats['above']:.0%} above (white)"
    )


def _window_controls(start: dicom.Window) -> dict[str, W.Widget]:
    """The preset menu, long level and width sliders, and number boxes tied to the sliders."""
    limits = window_limits()
    menu = W.Dropdown(
        options=[(str(w), name) for name, w in dicom.WINDOWS.items()],  # "brain W 80 / L 40"
        value=start.name if start.name in dicom.WINDOWS else None,
        description="preset",
        style={"description_width": "80px"},
    )
    reset = W.Button(
        description="Reset",
        icon="undo",
        tooltip="back to the starting window",
        layout=W.Layout(width="max-content"),
    )
    controls = {"preset": menu, "reset": reset}
    starts = {"level": int(start.level), "width": int(start.width)}
    for name in ("level", "width"):
        low, high = limits[name]
        slider = W.IntSlider(
            value=starts[name],
            min=low,
            max=high,
            step=1,
            description=f"{name} (HU)",
            readout=False,  # the box beside it shows the value, and takes typing
            layout=W.Layout(width=SLIDER_WIDTH),
            style={"description_width": "80px"},
        )
        box = W.BoundedIntText(
            value=starts[name],
            min=low,
            max=high,
            step=1,
            continuous_update=True,  # arrow keys in the box redraw at once, not after Enter
            layout=W.Layout(width="90px"),
        )
        box.add_class(f"radlab-{name}-box")
        W.link((slider, "value"), (box, "value"))  # either one moves the other
        controls[name] = slider
        controls[f"{name}_box"] = box
    return controls


def _picture_sizes(shape: tuple[int, int]) -> tuple[int, int]:
    """For the window viewer: (PNG pixels on the longer side, width on screen in pixels).

    The PNG keeps the image's own resolution up to ``VIEWER_SIZE`` (no pixels
    invented, a large image made lighter); the browser scales it smoothly so that
    its longer side is ``VIEWER_SIZE`` screen pixels.
    """
    rows, columns = shape
    longer = max(rows, columns)
    return min(longer, VIEWER_SIZE), round(VIEWER_SIZE * columns / longer)


def window_viewer(hu, *, preset: str | dicom.Window = "brain", title: str = "") -> W.VBox:
    """Window/level viewer, used like a PACS: drag on the image, or type, or pick a preset.

    Dragging on the image with the left button changes the window as on most
    PACS: left/right is the width (right widens it: flatter contrast), up/down is
    the level (down raises it: darker image), 2 HU per screen pixel, 0.5 HU with
    Shift held (``drag_window`` does the arithmetic). The picture is 512 screen
    pixels on its longer side with the current W and L in its corner; below it a
    line says how much of the image the window shows pure black or pure white.
    Long sliders with number boxes (type a value and press Enter; arrow keys move
    1 HU) and the preset menu set the window exactly; Reset goes back to the start.

    Args:
        hu: one 2D image in Hounsfield units, (H, W) or (1, H, W), array or tensor.
        preset: the window to start from, a name in ``rl.WINDOWS`` or a ``Window``.
        title: a line shown above the picture.
    """
    start = dicom.resolve_window(preset=preset)  # an unknown name: the closest is suggested
    array = to_slice(hu, "HU image")  # copied to the CPU once, not at every redraw
    controls = _window_controls(start)
    menu, level, width = controls["preset"], controls["level"], controls["width"]
    png_size, screen_width = _picture_sizes(array.shape)
    picture = WindowPicture(display_width=screen_width)
    readout, help_line = _readout(), W.HTML(html.escape(DRAG_HELP))
    help_line.add_class("radlab-hint")
    follower = _DragFollower()
    busy = [False]  # set while both sliders move together, so the picture is drawn once

    def draw(_=None):
        if busy[0]:
            return
        named = dicom.WINDOWS.get(menu.value)
        if named is not None and (int(named.level), int(named.width)) != (level.value, width.value):
            menu.value = None  # the window left the preset: the menu no longer names it
        png = plot.image_png(array, level=level.value, width=width.value, size=png_size)
        stats = plot.window_stats(array, level=level.value, width=width.value)
        with picture.hold_sync():  # picture and corner text reach the browser together
            picture.value = png
            picture.level, picture.width = level.value, width.value
        readout.value = _window_text(level.value, width.value, stats)

    def set_window(new_level: int, new_width: int):
        if (new_level, new_width) == (level.value, width.value):
            return
        busy[0] = True
        try:
            level.value, width.value = new_level, new_width
        finally:
            busy[0] = False
        draw()

    def choose(change):
        if change["new"] is not None:
            named = dicom.WINDOWS[change["new"]]
            set_window(int(named.level), int(named.width))

    def follow(drag_id, dx, dy, fine):
        current = (level.value, width.value)
        set_window(*follower.move(drag_id, dx, dy, fine, current))

    def back_to_start(_=None):
        set_window(int(start.level), int(start.width))
        if start.name in dicom.WINDOWS:
            menu.value = start.name

    menu.observe(choose, names="value")
    level.observe(draw, names="value")
    width.observe(draw, names="value")
    picture.on_drag(follow)
    controls["reset"].on_click(back_to_start)
    draw()
    header = [W.HTML(f"<b>{html.escape(title)}</b>")] if title else []
    rows_of_controls = [
        W.HBox([menu, controls["reset"]]),
        W.HBox([level, controls["level_box"]]),
        W.HBox([width, controls["width_box"]]),
    ]
    return _Panel(
        [*header, picture, readout, help_line, *rows_of_controls],
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


# ------------------------------------------------------- segmentation threshold --

TRUE_COLOUR = (0, 220, 0)  # the reference outline: green
PREDICTED_COLOUR = (255, 60, 60)  # the network's outline: red


def _edges(mask: np.ndarray) -> np.ndarray:
    """The outline of a 0/1 mask: its pixels with a neighbour (left, right, up, down) outside it.

    Outside the image counts as outside the mask, so a mask covering the whole picture is
    outlined along the picture's border.
    """
    inside = mask.astype(bool)
    padded = np.pad(inside, 1, mode="constant", constant_values=False)
    neighbours_inside = padded[1:-1, :-2] & padded[1:-1, 2:] & padded[:-2, 1:-1] & padded[2:, 1:-1]
    return inside & ~neighbours_inside


def outlines_png(image, truth, predicted, *, size: int = PICTURE_SIZE) -> bytes:
    """PNG of a grey image (values in [0, 1]) with the true outline in green, the predicted in red.

    Args:
        image: (H, W) image scaled to [0, 1] (already windowed).
        truth, predicted: (H, W) masks of 0 and 1 of one structure.
        size: pixels on the longer side of the picture.
    """
    from PIL import Image

    grey = np.clip(to_slice(image), 0, 1)
    picture = Image.fromarray((grey * 255).round().astype(np.uint8))
    scale = size / max(picture.size)
    new_size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    picture = picture.resize(new_size, Image.NEAREST)
    rgb = np.array(picture.convert("RGB"))  # (H', W', 3)
    for mask, colour in ((truth, TRUE_COLOUR), (predicted, PREDICTED_COLOUR)):
        labels = np.asarray(to_slice(mask, "mask")).astype(np.uint8)
        big = np.asarray(Image.fromarray(labels).resize(new_size, Image.NEAREST))
        rgb[_edges(big)] = colour
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _threshold_text(threshold: float, truth: np.ndarray, predicted: np.ndarray) -> str:
    score = metrics.dice(truth, predicted)
    return (
        f"threshold {threshold:.2f}: Dice {score:.3f} "
        f"(predicted {int(predicted.sum())} pixels, true {int(truth.sum())} pixels; "
        "green = true outline, red = predicted)"
    )


def threshold_explorer(image, probability, truth, *, threshold: float = 0.5) -> W.VBox:
    """Move the probability threshold of a segmentation; see both outlines and the Dice.

    Args:
        image: (H, W) image in [0, 1] (already windowed), shown in grey.
        probability: (H, W) the network's probability of the structure for each pixel.
        truth: (H, W) the reference mask (0/1) of the same structure.
        threshold: where the slider starts.
    """
    array = to_slice(image)
    prob = np.asarray(to_slice(probability), dtype=np.float64)
    true_mask = np.asarray(to_slice(truth, "mask")).astype(np.int64)
    if not (array.shape == prob.shape == true_mask.shape):
        raise ValueError(
            f"image {array.shape}, probability {prob.shape} and truth {true_mask.shape} "
            "must be one slice each, of the same size."
        )
    slider = W.FloatSlider(
        value=threshold,
        min=0.05,
        max=0.95,
        step=0.05,
        description="threshold",
        readout_format=".2f",
    )
    picture, readout = _picture(b""), _readout()

    def draw(_=None):
        predicted = (prob >= slider.value).astype(np.int64)  # (H, W): 1 where the network says yes
        picture.value = outlines_png(array, true_mask, predicted)
        readout.value = _threshold_text(slider.value, true_mask, predicted)

    slider.observe(draw, names="value")
    draw()
    return _Panel(
        [slider, picture, readout],
        css_class="radlab-threshold-explorer",
        controls={"threshold": slider, "picture": picture, "readout": readout},
        picture=picture,
    )


# -------------------------------------------------------------- reader study --


CASE_SIZE = 256  # screen pixels on the longer side of a case: 28 px films enlarged to be read


def _case_labels(labels) -> np.ndarray:
    """The truth as a 1-D array of 0/1, from (N,) or MedMNIST's (N, 1)."""
    y = np.asarray(config.to_numpy(labels))
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or not np.isin(y, (0, 1)).all():
        raise ValueError(
            "The labels should be one 0 (finding absent) or 1 (present) per case, shaped (N,) "
            f"or (N, 1); got shape {y.shape}. For more classes, pick one finding: labels == k."
        )
    return y.astype(np.int64)


def _case_scores(scores, n: int) -> np.ndarray:
    """The network's score per case, 1-D; for (N, 2) probabilities the positive column."""
    s = np.asarray(config.to_numpy(scores), dtype=np.float64)
    if s.ndim == 2 and s.shape[1] in (1, 2):
        s = s[:, -1]
    if s.shape != (n,):
        raise ValueError(
            f"One network score per case is needed ({n} cases), shaped (N,) or (N, 2); "
            f"got shape {s.shape}."
        )
    return s


class ReaderStudy:
    """A reader study's state without any widget: the cases drawn, the answers so far, the result.

    ``n`` cases are drawn from those given, half with the finding (``n // 2``)
    and the rest without, in an order shuffled by ``seed``, so every run with the
    same seed shows the same cases. ``answer(1)`` records "finding present" for
    the case shown and moves on; ``answer(0)`` records "absent". Once all are
    answered, ``result()`` gives the reader's sensitivity and specificity on
    these cases beside the network's, on the same cases.

    Args:
        labels: the truth of every case available, 0 = absent, 1 = present.
        scores: the network's score for each of them (larger = finding more likely).
        n: how many cases to read (at least 2).
        seed: which cases are drawn, and in which order.
        threshold: the network's decision threshold, for its own operating point.

    Example:
        >>> study = ReaderStudy([0, 1, 0, 1, 0, 1], [0.2, 0.9, 0.6, 0.7, 0.1, 0.3], n=4)
        >>> while not study.done:
        ...     study.answer(int(study.truth))  # a reader who is always right
        >>> study.result()["sensitivity"], study.result()["specificity"]
        (1.0, 1.0)
    """

    def __init__(self, labels, scores, *, n: int = 20, seed: int = 0, threshold: float = 0.5):
        self.labels = _case_labels(labels)
        self.scores = _case_scores(scores, len(self.labels))
        self.threshold = float(threshold)
        if n < 2:
            raise ValueError(f"n={n}: a reader study needs at least 2 cases (one of each kind).")
        positives, negatives = np.flatnonzero(self.labels == 1), np.flatnonzero(self.labels == 0)
        n_pos, n_neg = n // 2, n - n // 2
        if len(positives) < n_pos or len(negatives) < n_neg:
            raise ValueError(
                f"{n} cases need {n_pos} with the finding and {n_neg} without, but only "
                f"{len(positives)} and {len(negatives)} were given: give more cases or a smaller n."
            )
        rng = np.random.default_rng(seed)
        chosen = np.concatenate(
            [
                rng.choice(positives, n_pos, replace=False),
                rng.choice(negatives, n_neg, replace=False),
            ]
        )
        rng.shuffle(chosen)
        self.cases = chosen  # (n,) indices into the cases given, in reading order
        self.answers: list[int] = []

    @property
    def n(self) -> int:
        """How many cases the study holds."""
        return len(self.cases)

    @property
    def done(self) -> bool:
        """True once every case has an answer."""
        return len(self.answers) == self.n

    @property
    def current(self) -> int:
        """The index (into the cases given) of the case to read now."""
        if self.done:
            raise IndexError("Every case is answered: see result(), or restart().")
        return int(self.cases[len(self.answers)])

    @property
    def truth(self) -> int:
        """The true label of the case shown now (for tests; a reader is not told)."""
        return int(self.labels[self.current])

    def progress(self) -> str:
        """``"case 3 of 20"`` while reading; ``"all 20 cases read"`` at the end."""
        if self.done:
            return f"all {self.n} cases read"
        return f"case {len(self.answers) + 1} of {self.n}"

    def answer(self, label: int) -> None:
        """Record the reader's call for the case shown (1 = finding present, 0 = absent)."""
        if label not in (0, 1):
            raise ValueError(f"An answer is 0 (finding absent) or 1 (present), not {label!r}.")
        if self.done:
            raise IndexError("Every case is answered already: see result(), or restart().")
        self.answers.append(int(label))

    def restart(self) -> None:
        """Forget the answers: the same cases, in the same order, from the first."""
        self.answers = []

    def result(self) -> dict:
        """The reader and the network on the same cases (all must be answered first).

        Returns:
            ``n``; the reader's ``sensitivity``, ``specificity``, ``reader_point``
            (1 - specificity, sensitivity) and 2 x 2 counts ``tp``, ``fp``, ``tn``,
            ``fn``; the network's ``network_sensitivity``, ``network_specificity``,
            ``network_point`` at ``threshold``, its ``auc`` on these cases, and
            ``network_sensitivity_at_reader_specificity``: the best sensitivity its
            ROC curve reaches without more false positives than the reader.
        """
        if not self.done:
            raise ValueError(
                f"{len(self.answers)} of {self.n} cases are answered: answer them all first."
            )
        truth, calls = self.labels[self.cases], np.array(self.answers)
        scores = self.scores[self.cases]
        sens, spec = metrics.sensitivity(truth, calls), metrics.specificity(truth, calls)
        network = metrics.apply_threshold(scores, self.threshold)
        net_sens = metrics.sensitivity(truth, network)
        net_spec = metrics.specificity(truth, network)
        fpr, tpr, _ = metrics.roc(truth, scores)
        return {
            "n": self.n,
            "sensitivity": sens,
            "specificity": spec,
            "reader_point": (1 - spec, sens),
            **metrics.confusion(truth, calls),
            "threshold": self.threshold,
            "network_sensitivity": net_sens,
            "network_specificity": net_spec,
            "network_point": (1 - net_spec, net_sens),
            "auc": metrics.auc(truth, scores),
            "network_sensitivity_at_reader_specificity": float(tpr[fpr <= 1 - spec + 1e-12].max()),
        }


def _study_text(r: dict, labels_text: tuple[str, str]) -> str:
    """The result in words: the reader's numbers, then the network's on the same cases."""
    absent, present = (html.escape(t) for t in labels_text)
    positives, negatives = r["tp"] + r["fn"], r["tn"] + r["fp"]
    return (
        f"<b>You</b>: sensitivity {r['sensitivity']:.2f} ({r['tp']} of {positives} {present} "
        f"cases called {present}), specificity {r['specificity']:.2f} ({r['tn']} of "
        f"{negatives} {absent} cases called {absent}).<br>"
        f"<b>Network</b> on the same {r['n']} cases: AUC {r['auc']:.2f}; at threshold "
        f"{r['threshold']:.2f} sensitivity {r['network_sensitivity']:.2f}, specificity "
        f"{r['network_specificity']:.2f}; at your specificity its curve reaches sensitivity "
        f"{r['network_sensitivity_at_reader_specificity']:.2f}.<br>"
        "On the figure: your star above the blue curve means you beat the network at your "
        "specificity; below it, the network did better."
    )


def _figure_png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def reader_study(
    images,
    labels,
    scores,
    *,
    n: int = 20,
    seed: int = 0,
    labels_text: tuple[str, str] = ("normal", "pneumonia"),
    threshold: float = 0.5,
) -> W.VBox:
    """Read ``n`` cases yourself, then see your sensitivity and specificity on the network's ROC.

    One case at a time, enlarged to about 256 screen pixels (whole pixels, no
    smoothing), with a button for each answer and a line "case 3 of 20". The
    cases are drawn as in ``ReaderStudy``: half with the finding, shuffled by
    ``seed``. After the last answer the widget shows the network's ROC curve on
    the same cases (and, thinner, on every case given when there are more), your
    point (1 - specificity, sensitivity), the network's point at ``threshold``,
    and the numbers in words; "Start again" reads the same cases again.
    The static twin is ``rl.plot.reader_point``.

    Args:
        images: (N, H, W) or (N, 1, H, W) images, one per case (e.g. chest films in [0, 1]).
        labels: the truth, 0 = ``labels_text[0]``, 1 = ``labels_text[1]``.
        scores: the network's score for each case (e.g. its probability of the finding).
        n: how many cases to read.
        seed: which cases, in which order.
        labels_text: the two answers as the buttons name them: (absent, present).
        threshold: the network's decision threshold.
    """
    pictures = np.asarray(config.to_numpy(images), dtype=np.float32)
    if pictures.ndim == 4 and pictures.shape[1] == 1:
        pictures = pictures[:, 0]  # (N, 1, H, W) -> (N, H, W)
    study = ReaderStudy(labels, scores, n=n, seed=seed, threshold=threshold)
    if pictures.ndim != 3 or len(pictures) != len(study.labels):
        raise ValueError(
            f"One 2D image per case is needed: {len(study.labels)} labels but images of "
            f"shape {pictures.shape} (expected (N, H, W) or (N, 1, H, W))."
        )
    picture = W.Image(value=b"", format="png", layout=W.Layout(max_width="420px"))
    progress = W.HTML()
    progress.add_class("radlab-progress")
    readout = _readout()
    buttons = [
        W.Button(description=str(text), layout=W.Layout(width="max-content"))
        for text in labels_text
    ]
    again = W.Button(description="Start again", icon="undo", layout=W.Layout(width="max-content"))
    answers = W.HBox(buttons)

    def draw():
        progress.value = html.escape(study.progress())
        if not study.done:
            picture.value = plot.image_png(pictures[study.current], size=CASE_SIZE)
            readout.value = ""
            answers.layout.display, again.layout.display = None, "none"
            return
        r = study.result()
        shown = study.cases
        fig = plot.reader_point(
            study.labels[shown],
            study.scores[shown],
            r["sensitivity"],
            r["specificity"],
            threshold=threshold,
            all_cases=(study.labels, study.scores) if len(study.labels) > study.n else None,
        )
        picture.value = _figure_png(fig)
        readout.value = _study_text(r, labels_text)
        answers.layout.display, again.layout.display = "none", None

    def answer_with(label: int):
        def click(_=None):
            if not study.done:  # a late double click after the last case changes nothing
                study.answer(label)
                draw()

        return click

    for label, button in enumerate(buttons):
        button.on_click(answer_with(label))

    def start_again(_=None):
        study.restart()
        draw()

    again.on_click(start_again)
    draw()
    question = W.HTML(
        f"<b>Your reading</b>: is each case {html.escape(labels_text[0])} or "
        f"{html.escape(labels_text[1])}?"
    )
    controls = {
        "study": study,
        "progress": progress,
        "picture": picture,
        "readout": readout,
        "absent": buttons[0],
        "present": buttons[1],
        "answers": answers,
        "again": again,
    }
    return _Panel(
        [question, progress, picture, answers, readout, again],
        css_class="radlab-reader-study",
        controls=controls,
        picture=picture,
    )
