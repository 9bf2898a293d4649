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
    stats = plot.window_stats(hu, brain.level, brain.width)
    assert c["readout"].value == (
        f"W {brain.width:g} / L {brain.level:g} \u2014 {stats['below']:.0%} of pixels "
        f"below (black), {stats['above']:.0%} above (white)"
    )
    assert c["picture"].value == plot.image_png(hu, preset="brain", size=widgets.PICTURE_SIZE)
    assert c["preset"].value == "brain"


def test_moving_the_level_slider_redraws(phantom):
    hu, _ = phantom
    c = widgets.window_viewer(hu).controls
    picture, text = c["picture"].value, c["readout"].value
    c["level"].value = 300
    assert c["picture"].value != picture
    assert c["readout"].value != text and c["readout"].value.startswith("W 80 / L 300")
    assert c["preset"].value is None  # the sliders left the brain preset; the menu says so
    stats = plot.window_stats(hu, 300, 80)
    assert f"{stats['below']:.0%} of pixels below" in c["readout"].value


def test_choosing_a_preset_moves_both_sliders(phantom):
    hu, _ = phantom
    c = widgets.window_viewer(torch.from_numpy(hu)[None]).controls  # a (1, H, W) tensor works too
    drawn = []
    c["picture"].observe(lambda change: drawn.append(change), names="value")
    c["preset"].value = "lung"
    lung = rl.WINDOWS["lung"]
    assert (c["level"].value, c["width"].value) == (lung.level, lung.width)
    assert c["readout"].value.startswith(f"W {lung.width:g} / L {lung.level:g}")
    assert len(drawn) == 1  # both sliders moved, one redraw
    assert c["preset"].value == "lung"


def test_window_viewer_explains_an_unknown_preset(phantom):
    with pytest.raises(ValueError, match="Did you mean 'brain'"):
        widgets.window_viewer(phantom[0], preset="brian")


def test_window_viewer_starts_from_a_window_of_ones_own(phantom):
    c = widgets.window_viewer(phantom[0], preset=rl.dicom.Window(100, 300)).controls
    assert (c["level"].value, c["width"].value) == (100, 300)
    assert c["preset"].value is None  # not one of the named presets


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
