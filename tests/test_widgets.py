"""radlab.widgets without a browser: construction, callbacks, determinism, the static fallback."""

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no display in tests

import ipywidgets as W  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from scipy import ndimage  # noqa: E402

import radlab as rl  # noqa: E402
from radlab import plot, widgets  # noqa: E402


@pytest.fixture(scope="module")
def phantom():
    """A 64x64 head-like slice in HU and its lesion mask."""
    yy, xx = np.mgrid[-32:32, -32:32]
    hu = np.where(xx**2 + yy**2 < 28**2, 35.0, -1000.0)
    hu[(xx**2 + yy**2 > 25**2) & (xx**2 + yy**2 < 28**2)] = 700.0  # a bone rim
    lesion = (xx - 6) ** 2 + (yy + 4) ** 2 < 7**2
    hu[lesion] = 70.0
    hu += np.random.default_rng(0).normal(0, 12, hu.shape)
    return hu.astype(np.float32), lesion.astype(np.int64)


@pytest.fixture(scope="module")
def image(phantom):
    return rl.window(phantom[0], preset="brain")


def classes(widget: W.Widget) -> list[str]:
    return list(widget._dom_classes)


# ---------------------------------------------------------------- window viewer --


def test_window_viewer_starts_at_the_preset(phantom):
    hu, _ = phantom
    viewer = widgets.window_viewer(hu, preset="brain", title="phantom")
    c = viewer.controls
    brain = rl.WINDOWS["brain"]
    assert isinstance(viewer, W.VBox) and "radlab-window-viewer" in classes(viewer)
    assert (c["level"].value, c["width"].value) == (brain.level, brain.width)
    assert (c["level_box"].value, c["width_box"].value) == (brain.level, brain.width)
    stats = plot.window_stats(hu, brain.level, brain.width)
    assert c["readout"].value == (
        f"W {brain.width:g} / L {brain.level:g} \u2014 {stats['below']:.0%} of pixels "
        f"below (black), {stats['above']:.0%} above (white)"
    )
    # a 64x64 image: the PNG keeps its 64 pixels, the browser shows it 512 pixels wide
    assert c["picture"].value == plot.image_png(hu, preset="brain", size=64)
    assert c["picture"].display_width == widgets.VIEWER_SIZE == 512
    assert (c["picture"].level, c["picture"].width) == (brain.level, brain.width)  # corner text
    assert c["preset"].value == "brain"


def test_window_viewer_controls_are_long_and_fine(phantom):
    c = widgets.window_viewer(phantom[0]).controls
    for name in ("level", "width"):
        assert c[name].step == 1 and c[f"{name}_box"].step == 1
        assert int(c[name].layout.width.removesuffix("px")) >= 400
        assert (c[name].min, c[name].max) == (c[f"{name}_box"].min, c[f"{name}_box"].max)
    assert c["width"].min == 1
    for window in rl.WINDOWS.values():  # every preset fits the sliders
        assert c["level"].min <= window.level <= c["level"].max
        assert c["width"].min <= window.width <= c["width"].max


def test_big_and_wide_images_keep_their_shape():
    wide = np.zeros((300, 1024), np.float32)
    c = widgets.window_viewer(wide).controls
    shown = Image.open(io.BytesIO(c["picture"].value))
    assert shown.size == (512, 150)  # a big image is brought down to 512 pixels
    assert c["picture"].display_width == 512
    tall = widgets.window_viewer(np.zeros((128, 64), np.float32)).controls
    assert Image.open(io.BytesIO(tall["picture"].value)).size == (64, 128)
    assert tall["picture"].display_width == 256  # 512 pixels high on screen, so 256 wide


def test_moving_the_level_slider_redraws(phantom):
    hu, _ = phantom
    c = widgets.window_viewer(hu).controls
    picture, text = c["picture"].value, c["readout"].value
    c["level"].value = 300
    assert c["picture"].value != picture
    assert c["readout"].value != text and c["readout"].value.startswith("W 80 / L 300")
    assert c["level_box"].value == 300 and c["picture"].level == 300
    assert c["preset"].value is None  # the sliders left the brain preset; the menu says so
    stats = plot.window_stats(hu, 300, 80)
    assert f"{stats['below']:.0%} of pixels below" in c["readout"].value


def test_typing_in_a_box_moves_the_slider_and_redraws(phantom):
    hu, _ = phantom
    c = widgets.window_viewer(hu).controls
    c["width_box"].value = 215
    c["level_box"].value = 75
    assert (c["level"].value, c["width"].value) == (75, 215)
    assert c["readout"].value.startswith("W 215 / L 75")
    assert c["picture"].value == plot.image_png(hu, level=75, width=215, size=64)


def test_choosing_a_preset_moves_both_sliders(phantom):
    hu, _ = phantom
    c = widgets.window_viewer(torch.from_numpy(hu)[None]).controls  # a (1, H, W) tensor works too
    drawn = []
    c["picture"].observe(lambda change: drawn.append(change), names="value")
    c["preset"].value = "lung"
    lung = rl.WINDOWS["lung"]
    assert (c["level"].value, c["width"].value) == (lung.level, lung.width)
    assert (c["level_box"].value, c["width_box"].value) == (lung.level, lung.width)
    assert c["readout"].value.startswith(f"W {lung.width:g} / L {lung.level:g}")
    assert len(drawn) == 1  # both sliders moved, one redraw
    assert c["preset"].value == "lung"


def test_reset_goes_back_to_the_starting_window(phantom):
    c = widgets.window_viewer(phantom[0], preset="subdural").controls
    start = c["picture"].value
    c["preset"].value = "bone"
    c["level"].value += 7
    c["reset"].click()
    subdural = rl.WINDOWS["subdural"]
    assert (c["level"].value, c["width"].value) == (subdural.level, subdural.width)
    assert c["preset"].value == "subdural" and c["picture"].value == start


def test_window_viewer_explains_an_unknown_preset(phantom):
    with pytest.raises(ValueError, match="Did you mean 'brain'"):
        widgets.window_viewer(phantom[0], preset="brian")


def test_window_viewer_starts_from_a_window_of_ones_own(phantom):
    c = widgets.window_viewer(phantom[0], preset=rl.dicom.Window(100, 300)).controls
    assert (c["level"].value, c["width"].value) == (100, 300)
    assert c["preset"].value is None  # not one of the named presets


# ------------------------------------------------------- dragging on the picture --


@pytest.mark.parametrize(
    "dx, dy, fine, expected",
    [
        (0, 0, False, (40, 80)),
        (10, 0, False, (40, 100)),  # right: 2 HU wider per pixel
        (-10, 0, False, (40, 60)),  # left: narrower
        (0, 5, False, (50, 80)),  # down: level up (darker)
        (0, -5, False, (30, 80)),  # up: level down (brighter)
        (30, -20, False, (0, 140)),
        (4, -6, True, (37, 82)),  # Shift: 0.5 HU per pixel
        (3, 1, True, (41, 82)),  # halves round up: 81.5 -> 82, 40.5 -> 41
        (-3, -1, True, (40, 79)),  # and the same on the way down: 78.5 -> 79, 39.5 -> 40
    ],
)
def test_drag_arithmetic(dx, dy, fine, expected):
    assert widgets.drag_window(40, 80, dx, dy, fine=fine) == expected


def test_drag_never_makes_the_width_below_one_nor_leaves_the_range():
    low, high = widgets.window_limits()["level"]
    assert widgets.drag_window(40, 80, -1000, 0) == (40, 1)
    assert widgets.drag_window(40, 80, -39.4, 0) == (40, 1)  # 80 - 78.8 = 1.2 -> 1
    assert widgets.drag_window(40, 1, -1, 0, fine=True) == (40, 1)
    assert widgets.drag_window(40, 80, 10**6, -(10**6)) == (
        low,
        widgets.window_limits()["width"][1],
    )
    assert widgets.drag_window(40, 80, 0, 10**6)[0] == high
    assert widgets.drag_window(40.0, 80.0, 1, 1) == (42, 82)
    assert all(isinstance(v, int) for v in widgets.drag_window(40.0, 80.0, 0.3, 0.3))


def drag(picture, drag_id, dx, dy, fine=False):
    """What the browser sends for one mouse position during a drag on the picture."""
    message = {"event": "drag", "id": drag_id, "dx": dx, "dy": dy, "fine": fine}
    picture._receive(picture, message, [])


def test_dragging_on_the_picture_redraws(phantom, monkeypatch):
    hu, _ = phantom
    c = widgets.window_viewer(hu).controls
    picture = c["picture"]
    answers = []
    monkeypatch.setattr(picture, "send", answers.append)
    before, drawn = picture.value, []
    picture.observe(lambda change: drawn.append(change), names="value")
    drag(picture, "first", 5, 0)
    drag(picture, "first", 30, -20)  # offsets count from where the button went down
    assert (c["level"].value, c["width"].value) == (0, 140)
    assert (c["level_box"].value, c["width_box"].value) == (0, 140)
    assert (picture.level, picture.width) == (0, 140)  # the text in the picture's corner
    assert c["readout"].value.startswith("W 140 / L 0")
    assert picture.value != before
    assert picture.value == plot.image_png(hu, level=0, width=140, size=64)
    assert len(drawn) == 2  # one redraw per position, not one per slider
    assert c["preset"].value is None
    assert answers == [{"event": "drawn"}] * 2  # each position answered: send the next
    drag(picture, "second", 0, 10)  # a new drag starts from the window shown now
    assert (c["level"].value, c["width"].value) == (20, 140)


def test_shift_mid_drag_goes_on_from_where_it_is(phantom):
    c = widgets.window_viewer(phantom[0]).controls
    picture = c["picture"]
    drag(picture, "d", 10, 0)  # W 80 -> 100
    drag(picture, "d", 20, 0, fine=True)  # 10 more pixels at 0.5 HU: 105
    assert c["width"].value == 105
    drag(picture, "d", 24, 0, fine=True)
    assert c["width"].value == 107
    drag(picture, "d", 30, 0)  # Shift released: 6 pixels at 2 HU
    assert c["width"].value == 119


def test_odd_messages_move_nothing_and_do_not_raise(phantom, monkeypatch):
    c = widgets.window_viewer(phantom[0]).controls
    picture = c["picture"]
    answers = []
    monkeypatch.setattr(picture, "send", answers.append)
    for message in (
        None,
        "drag",
        {"event": "hover"},
        {"event": "drag", "id": "x"},
        {"event": "drag", "id": "x", "dx": "far", "dy": 0},
        {"event": "drag", "id": "x", "dx": float("nan"), "dy": 0},
    ):
        picture._receive(picture, message, [])
    assert (c["level"].value, c["width"].value) == (40, 80)
    assert answers == [{"event": "drawn"}] * 3  # every drag message is answered


def test_the_viewer_says_how_to_drag(phantom):
    viewer = widgets.window_viewer(phantom[0])
    hints = [w.value for w in viewer.children if "radlab-hint" in classes(w)]
    assert len(hints) == 1
    assert "left/right changes the width" in hints[0]
    assert "up/down changes the level" in hints[0] and "Shift" in hints[0]
    assert '`W ${model.get("width")}  L ${model.get("level")}`' in widgets._PICTURE_JS


# ------------------------------------------------------------ augment explorer --


def test_augment_slider_changes_picture_and_readout(phantom, image):
    _, mask = phantom
    explorer = widgets.augment_explorer(image, mask=mask, seed=0)
    c = explorer.controls
    assert "radlab-augment-explorer" in classes(explorer)
    assert c["readout"].value.startswith("rotation 0\u00b0, shift (0, 0) px")
    picture = c["picture"].value
    c["angle"].value = 15
    assert c["picture"].value != picture
    assert c["readout"].value.startswith("rotation 15\u00b0")
    expected, moved = rl.transforms.preview(image, angle=15, mask=mask)
    assert c["picture"].value == plot.image_png(expected, mask=moved, size=widgets.PICTURE_SIZE)


def test_random_draw_is_deterministic_for_a_seed(image):
    def draws(seed: int, clicks: int = 2) -> list[dict]:
        c = widgets.augment_explorer(image, seed=seed).controls
        out = []
        for _ in range(clicks):
            c["random"].click()
            out.append(
                {k: c[k].value for k in ("angle", "dx", "dy", "noise", "contrast", "brightness")}
            )
        return out

    first, second = draws(3)
    assert draws(3) == [first, second]  # same seed, same sequence
    assert first != second  # each click is a new draw
    assert draws(4)[0] != first


def test_random_draw_redraws_once(image):
    c = widgets.augment_explorer(image, seed=0).controls
    drawn = []
    c["picture"].observe(lambda change: drawn.append(change), names="value")
    text = c["readout"].value
    c["random"].click()
    assert len(drawn) == 1 and c["readout"].value != text


def test_augment_explorer_asks_for_a_windowed_image(phantom):
    with pytest.raises(ValueError, match="Window them first"):
        widgets.augment_explorer(phantom[0])


def test_augment_explorer_seed_defaults_to_the_course_seed(image, monkeypatch):
    def first_draw(**seed) -> dict:
        c = widgets.augment_explorer(image, **seed).controls
        c["random"].click()
        return {k: c[k].value for k in ("angle", "dx", "dy", "noise", "contrast", "brightness")}

    monkeypatch.setenv("RADLAB_SEED", "3")
    assert first_draw() == first_draw(seed=3)


# ------------------------------------------------------------- conv playground --


def test_conv_playground_reports_the_output_size(image):
    playground = widgets.conv_playground(image)
    c = playground.controls
    assert "radlab-conv-playground" in classes(playground)
    assert c["readout"].value.startswith("input 64x64 -> output 62x62")
    picture = c["picture"].value
    c["stride"].value, c["padding"].value = 2, 1
    n = rl.models.conv_output_size(64, 3, 2, 1)
    assert n == 32 and c["readout"].value.startswith(f"input 64x64 -> output {n}x{n}")
    assert "(64 + 2*1 - 3)//2 + 1 = 32" in c["readout"].value
    assert c["picture"].value != picture
    shown = Image.open(io.BytesIO(c["picture"].value))
    assert shown.size == (widgets.PICTURE_SIZE // 2,) * 2  # drawn to scale: half the input


def test_conv_kernel_menu_and_learned_filter(image):
    learned = torch.randn(1, 1, 3, 3, generator=torch.Generator().manual_seed(0))
    c = widgets.conv_playground(image, learned=learned).controls
    assert list(c["kernel"].options) == [*rl.models.KERNELS, "learned"]
    picture = c["picture"].value
    c["kernel"].value = "learned"
    assert c["picture"].value != picture
    assert f"{learned[0, 0, 0, 0].item():.3g}" in c["values"].value
    with pytest.raises(ValueError, match="3x3"):
        widgets.conv_playground(image, learned=torch.ones(5, 5))


# ---------------------------------------------------------------- static fallback --


def test_display_data_carries_the_current_picture(phantom, image):
    for widget in (
        widgets.window_viewer(phantom[0]),
        widgets.augment_explorer(image),
        widgets.conv_playground(image),
    ):
        bundle = widget._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        assert base64.b64decode(bundle["image/png"]) == widget.controls["picture"].value


# -------------------------------------------------------------- threshold explorer --


@pytest.fixture(scope="module")
def segmentation(phantom, image):
    """A made-up network output: sure inside the lesion, unsure on a ring around it."""
    lesion = phantom[1]
    ring = ndimage.binary_dilation(lesion, iterations=2) & ~lesion.astype(bool)
    probability = np.where(lesion == 1, 0.9, np.where(ring, 0.4, 0.02))
    return image, probability, lesion


def test_threshold_explorer_reports_the_dice_of_its_threshold(segmentation):
    image, probability, lesion = segmentation
    explorer = widgets.threshold_explorer(image, probability, lesion)
    assert "radlab-threshold-explorer" in classes(explorer)
    assert explorer.controls["readout"].value.startswith("threshold 0.50: Dice 1.000")
    picture = explorer.controls["picture"].value
    explorer.controls["threshold"].value = 0.3  # the unsure ring now counts: too big
    expected = rl.metrics.dice(lesion, (probability >= 0.3).astype(int))
    assert expected < 1
    assert f"Dice {expected:.3f}" in explorer.controls["readout"].value
    assert explorer.controls["picture"].value != picture


def test_outlines_png_draws_both_outlines_in_their_colours(segmentation):
    image, probability, lesion = segmentation
    shifted = np.roll(lesion, 5, axis=1)
    png = widgets.outlines_png(image, lesion, shifted, size=64)
    rgb = np.array(Image.open(io.BytesIO(png)).convert("RGB"))
    assert rgb.shape == (64, 64, 3)
    for colour in (widgets.TRUE_COLOUR, widgets.PREDICTED_COLOUR):
        assert np.all(rgb == colour, axis=-1).sum() > 10


def test_threshold_explorer_needs_slices_of_one_size(segmentation):
    image, probability, lesion = segmentation
    with pytest.raises(ValueError, match="same size"):
        widgets.threshold_explorer(image, probability[:10], lesion)


def test_threshold_explorer_display_data_carries_its_picture(segmentation):
    explorer = widgets.threshold_explorer(*segmentation)
    bundle = explorer._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]) == explorer.controls["picture"].value


def test_a_mask_covering_the_whole_image_is_outlined_along_the_border():
    full = np.ones((8, 8), dtype=np.int64)
    edges = widgets._edges(full)
    assert edges[0].all() and edges[-1].all() and edges[:, 0].all() and edges[:, -1].all()
    assert not edges[1:-1, 1:-1].any()
    assert not widgets._edges(np.zeros((8, 8), dtype=np.int64)).any()
