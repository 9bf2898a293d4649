"""radlab.plot: the plain functions against hand computations, and the figures' promises."""

import importlib
import io
import types

import matplotlib

matplotlib.use("Agg")  # no display in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

import radlab as rl  # noqa: E402
from radlab import plot  # noqa: E402


@pytest.fixture(scope="module")
def phantom():
    """A 64x64 head-like slice in HU (tissue disc in air, a lesion) and the lesion mask."""
    yy, xx = np.mgrid[-32:32, -32:32]
    hu = np.where(xx**2 + yy**2 < 28**2, 35.0, -1000.0)
    lesion = (xx - 6) ** 2 + (yy + 4) ** 2 < 7**2
    hu[lesion] = 70.0
    hu += np.random.default_rng(0).normal(0, 12, hu.shape)
    return hu.astype(np.float32), lesion.astype(np.int64)


def png_size(fig: Figure) -> int:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")  # as Jupyter's inline display does
    return len(buffer.getvalue())


# ------------------------------------------------------------- window_stats --


def test_window_stats_matches_hand_count():
    hu = np.array([[-1000, -10, 0, 40], [79, 80, 81, 500]], dtype=np.float32)
    stats = plot.window_stats(hu, level=40, width=80)  # window 0..80 HU
    assert list(stats) == ["below", "inside", "above"]
    assert stats["below"] == 2 / 8  # -1000 and -10 are drawn black
    assert stats["above"] == 2 / 8  # 81 and 500 are drawn white
    assert stats["inside"] == pytest.approx(4 / 8)


def test_window_stats_agrees_with_the_windowed_picture(phantom):
    hu, _ = phantom
    stats = plot.window_stats(torch.from_numpy(hu), 40, 80)
    shown = rl.window(hu, level=40, width=80)
    assert stats["below"] == pytest.approx(np.mean((shown == 0) & (hu < 0)))
    assert stats["above"] == pytest.approx(np.mean((shown == 1) & (hu > 80)))


def test_window_stats_refuses_zero_width():
    with pytest.raises(ValueError, match="width must be positive"):
        plot.window_stats(np.zeros((4, 4)), level=40, width=0)


# ------------------------------------------------------------ figure, conv_display --


def test_figure_is_closed_sized_in_inches_and_squeezed_like_subplots():
    fig, ax = plot.figure(inches=(4.0, 3.0), title="one")
    assert isinstance(ax, Axes) and list(fig.get_size_inches()) == [4.0, 3.0]
    assert fig.get_suptitle() == "one" and fig.dpi == plot.DPI
    fig, (left, right) = plot.figure(1, 2, panel_inches=2.0)
    assert list(fig.get_size_inches()) == [4.0, 2.0]  # two square panels, no title
    fig, axes = plot.figure(2, 3)
    w, h = plot.PANEL_INCHES
    assert axes.shape == (2, 3) and list(fig.get_size_inches()) == [3 * w, 2 * h]
    assert plot.figure(squeeze=False)[1].shape == (1, 1)
    assert plt.get_fignums() == []  # none left open in pyplot: each displays once
    with pytest.raises(ValueError, match="not both"):
        plot.figure(inches=(3, 3), panel_inches=1)


def test_conv_display_centres_signed_responses():
    image = np.arange(16, dtype=np.float32).reshape(4, 4)
    edges = rl.models.convolve(image, "Laplacian", padding=1)
    shown = plot.conv_display(edges, "Laplacian")  # weights sum to 0: 0 is mid-grey
    assert shown.min() >= 0 and shown.max() <= 1
    assert shown[1, 1] == pytest.approx(0.5)  # inside a linear ramp the Laplacian is 0
    blurred = plot.conv_display(torch.from_numpy(image), "blur")  # stretched min..max
    assert (blurred.min(), blurred.max()) == (0.0, 1.0)


# --------------------------------------------------------------------- figures --


def test_every_figure_is_small_closed_and_returned(phantom):
    hu, mask = phantom
    image = rl.window(hu, preset="brain")
    history = {
        "epoch": [1, 2, 3, 4],
        "train_loss": [0.9, 0.5, 0.3, 0.2],
        "val_loss": [0.9, 0.6, 0.55, 0.7],
        "val_auc": [0.6, 0.7, 0.8, 0.75],
        "best_epoch": 3,
    }
    figures = [
        plot.show(hu, preset="brain", title="phantom", mask=mask),
        plot.show(torch.from_numpy(image)[None]),
        plot.grid(
            [hu] * 12,
            titles=[f"case {i}" for i in range(12)],
            level=40,
            width=80,
            suptitle="montage",
        ),
        plot.grid(torch.from_numpy(np.stack([image] * 3))[:, None], panel_inches=1.2),
        plot.window_figure(hu, level=40, width=80, title="phantom"),
        plot.window_figure(hu, preset="lung"),
        plot.augment_figure(
            image, angle=15, shift=(3, 2), noise=0.05, contrast=1.2, brightness=0.1, mask=mask
        ),
        plot.conv_figure(image, "Laplacian", stride=2, padding=1),
        plot.conv_figure(image, np.ones((5, 5)) / 25),
        plot.architecture(rl.models.small_cnn(width=16, dropout=0.5), (1, 28, 28)),
        plot.learning_curves(history, metrics=("loss", "auc")),
        plot.learning_curves({"SGD": history, "Adam": history}, metrics=("loss", "auc")),
        plot.learning_curves([history, history], title="two seeds"),
        plot.roc([0, 0.1, 0.3, 1], [0, 0.6, 0.9, 1], auc=0.85, point=(0.1, 0.6), label="CNN"),
    ]
    assert plt.get_fignums() == []  # nothing left open in pyplot: each displays once, none leaks
    for fig in figures:
        assert isinstance(fig, Figure) and fig.dpi == plot.DPI
        assert png_size(fig) < 100_000


def test_show_states_the_window_in_the_title(phantom):
    hu, mask = phantom
    brain = rl.WINDOWS["brain"]
    title = plot.show(hu, preset="brain", title="head CT").axes[0].get_title()
    assert title == f"head CT\nbrain W {brain.width:g} / L {brain.level:g}"
    assert plot.show(hu, level=-600, width=1500).axes[0].get_title() == "W 1500 / L -600"
    assert plot.show(hu, preset=rl.dicom.Window(50, 350)).axes[0].get_title() == "W 350 / L 50"
    windowed = rl.window(hu, preset="brain")  # already in [0, 1]: nothing to state
    assert plot.show(windowed).axes[0].get_title() == ""
    assert (
        plot.show(np.array([[-1000.0, 80.0]])).axes[0].get_title()
        == "no window: black -1000, white 80"
    )


def test_show_draws_colour_pictures(phantom):
    hu, _ = phantom
    phases = np.stack([hu, hu + 40, hu + 80], axis=-1)  # (H, W, 3): three phases as R, G, B
    ax = plot.show(phases, preset="liver").axes[0]
    assert ax.images[0].get_array().shape == (64, 64, 3)
    assert ax.get_title().startswith("liver W")
    assert plot.grid([hu, rl.window(phases, preset="liver")], preset=["liver", None]).axes[1].images


def test_show_outlines_the_mask(phantom):
    hu, mask = phantom
    ax = plot.show(hu, preset="brain", mask=mask).axes[0]
    assert len(ax.collections) == 1  # one contour set for the one label
    assert len(plot.show(hu, mask=np.zeros_like(mask)).axes[0].collections) == 0


def test_show_draws_into_a_given_axes(phantom):
    hu, _ = phantom
    fig, axes = plt.subplots(1, 2)
    try:
        assert plot.show(hu, preset="lung", ax=axes[1]) is fig
        assert len(axes[1].images) == 1 and len(axes[0].images) == 0
    finally:
        plt.close(fig)


def test_show_explains_wrong_input(phantom):
    hu, _ = phantom
    with pytest.raises(ValueError, match="one 2D slice"):
        plot.show(np.stack([hu, hu]))
    with pytest.raises(ValueError, match="no window preset called 'brian'. Did you mean 'brain'"):
        plot.show(hu, preset="brian")
    with pytest.raises(ValueError, match="level= and width="):
        plot.show(hu, preset=(40, 80))  # numbers go to level= and width=
    with pytest.raises(ValueError, match="Give a window"):
        plot.show(hu, level=40)
    with pytest.raises(ValueError, match="one per image"):
        plot.grid([hu, hu], titles=["only one"])
    with pytest.raises(ValueError, match="one per image"):
        plot.grid([hu, hu], preset=["brain"])
    with pytest.raises(TypeError):
        plot.show(hu, window="brain")  # the old spelling is gone


def test_grid_states_the_window_once(phantom):
    hu, _ = phantom
    fig = plot.grid([hu, hu + 100], titles=["a", "b"], level=40, width=80, suptitle="two")
    assert fig.get_suptitle() == "two - W 80 / L 40"
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    assert plot.grid([hu], preset="brain").get_suptitle() == "brain W 80 / L 40"
    each = plot.grid(
        [hu, hu, rl.window(hu, preset="brain")],
        preset=["brain", rl.dicom.Window(-600, 1500), None],
        titles=["a", "b", "c"],
    )
    assert [ax.get_title() for ax in each.axes] == [
        "a\nbrain W 80 / L 40",
        "b\nW 1500 / L -600",
        "c",
    ]
    shared = plot.grid([hu, hu + 100])  # no window: one grey scale for both
    assert {ax.images[0].get_clim() for ax in shared.axes} == {(0.0, 1.0)}
    assert shared.get_suptitle().startswith("no window: black")


def _labels(ax) -> list[str]:
    return [line.get_label() for line in ax.lines]


def test_learning_curves_mark_the_best_epoch():
    history = {
        "epoch": [1, 2, 3],
        "train_loss": [1.0, 0.5, 0.3],
        "val_loss": [1.0, 0.6, 0.7],
        "best_epoch": 2,
    }
    ax = plot.learning_curves(history).axes[0]
    assert _labels(ax) == ["training loss", "validation loss", "best epoch 2"]
    assert [line.get_linestyle() for line in ax.lines[:2]] == ["-", "--"]
    assert list(ax.lines[2].get_xdata()) == [2, 2]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss")
    with pytest.raises(ValueError, match="none of"):
        plot.learning_curves(history, metrics=("dice",))


def test_learning_curves_read_a_fit_history():
    history = rl.train.History(
        metric="auc",
        epoch=[1, 2],
        train_loss=[0.7, 0.5],
        val_loss=[0.6, 0.55],
        val_metric=[0.7, 0.8],
        best_epoch=2,
    )
    for given in (history, history.as_dict()):
        fig = plot.learning_curves(given, metrics=("loss", "auc"))
        assert _labels(fig.axes[1]) == ["validation auc", "best epoch 2"]
        assert list(fig.axes[1].lines[0].get_ydata()) == [0.7, 0.8]
    score = {"metric": "dice", "train_loss": [1.0], "val_score": [0.5]}  # val_score also read
    assert _labels(plot.learning_curves(score, metrics=("dice",)).axes[0]) == ["validation dice"]


def test_learning_curves_overlay_named_runs():
    sgd = {"epoch": [1, 2, 3], "train_loss": [1.0, 0.9, 0.8], "val_loss": [1.1, 1.0, 0.9]}
    adam = {"train_loss": [0.8, 0.4, 0.2], "val_loss": [0.9, 0.6, 0.7], "best_epoch": 2}
    seeds = [sgd, {"train_loss": [0.9, 0.8, 0.7], "val_loss": [1.0, 0.9, 0.8]}]
    fig = plot.learning_curves({"SGD": sgd, "Adam": adam, "Adam, 2 seeds": seeds})
    ax = fig.axes[0]
    curves = ax.lines[:4]
    assert _labels(ax)[:4] == [
        "SGD, training",
        "SGD, validation",
        "Adam, training",
        "Adam, validation",
    ]
    assert [line.get_linestyle() for line in curves] == ["-", "--", "-", "--"]
    assert curves[0].get_color() == curves[1].get_color() != curves[2].get_color()
    star = ax.lines[6]  # Adam's best epoch, on its validation curve
    assert star.get_label() == "best epoch"
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (2, 0.6)
    # one key beside the panel, not over the curves: a colour per run, then line styles
    assert ax.get_legend() is None and len(fig.legends) == 1
    key = [t.get_text() for t in fig.legends[0].get_texts()]
    assert key == [
        "SGD",
        "Adam",
        "Adam, 2 seeds (mean of 2, band min-max)",
        "training",
        "validation",
        "best epoch",
    ]
    assert fig.get_figwidth() == pytest.approx(plot.PANEL_INCHES[0] + plot.LEGEND_INCHES)
    fig, own = plot.figure()
    plot.learning_curves({"SGD": sgd, "Adam": adam}, ax=own)  # your own axes: the key goes in it
    assert own.get_legend() is not None and not fig.legends


def test_learning_curves_of_seeds_are_a_mean_and_a_band():
    seeds = [
        {"train_loss": [1.0, 0.6, 0.4], "val_loss": [1.0, 0.8, 0.7]},
        {"train_loss": [0.8, 0.4, 0.2], "val_loss": [0.9, 0.7]},  # stopped one epoch early
    ]
    ax = plot.learning_curves(seeds).axes[0]
    train, val = ax.lines
    np.testing.assert_allclose(train.get_ydata(), [0.9, 0.5, 0.3])
    np.testing.assert_allclose(val.get_ydata(), [0.95, 0.75, 0.7])  # the last epoch: one run
    assert train.get_label() == "training loss: mean, band min-max of 2"
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(0.2) and band[:, 1].max() == pytest.approx(1.0)
    grouped = plot.learning_curves({"SGD": seeds, "Adam": seeds[0]})  # seeds within named runs
    assert len(grouped.axes[0].collections) == 2  # a band for SGD's training and validation


def test_learning_curves_explain_what_they_need():
    with pytest.raises(ValueError, match="dict of named runs"):
        plot.learning_curves([])
    with pytest.raises(ValueError, match="what rl.train.fit returns"):
        plot.learning_curves([[0.9, 0.5]])


def test_roc_has_diagonal_and_operating_point():
    ax = plot.roc([0, 0.2, 1], [0, 0.8, 1], auc=0.8, point=(0.2, 0.8)).axes[0]
    labels = [line.get_label() for line in ax.lines]
    assert labels[0] == "model (AUC 0.80)" and "chance" in labels
    assert labels[2] == "operating point (sens 0.80, spec 0.80)"


def test_image_png_is_small_and_outlines_the_mask(phantom):
    hu, mask = phantom
    data = plot.image_png(hu, preset="brain", mask=mask, size=128)
    picture = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert picture.shape == (128, 128, 3)
    outline = np.all(picture == (255, 204, 0), axis=2)
    assert 0 < outline.sum() < 0.1 * outline.size
    plain = np.asarray(
        Image.open(io.BytesIO(plot.image_png(hu, level=40, width=80, size=128))).convert("RGB")
    )
    assert not np.all(plain == (255, 204, 0), axis=2).any()


def test_import_changes_nothing_global():
    settings = {k: matplotlib.rcParams[k] for k in matplotlib.rcParams if k != "backend"}
    importlib.reload(plot)  # runs the module's top level again
    assert {k: matplotlib.rcParams[k] for k in matplotlib.rcParams if k != "backend"} == settings
    assert plt.get_fignums() == []
    modules = {v.__name__ for v in vars(plot).values() if isinstance(v, types.ModuleType)}
    assert "matplotlib.pyplot" not in modules  # pyplot is imported only when a figure is made


# -------------------------------------------------------------------- architecture --


def test_architecture_draws_one_labelled_box_per_layer():
    net = rl.models.small_cnn(width=16, dropout=0.5)
    rows = rl.models.layer_table(net, (1, 28, 28))
    fig = plot.architecture(net, (1, 28, 28))
    ax = fig.axes[0]
    boxes = [patch for patch in ax.patches if patch.get_gid() == "layer"]
    assert len(boxes) == len(rows) == 17  # the input and 16 layers
    heights = [box.get_height() for box in boxes]
    assert heights[0] == heights[1] == pytest.approx(1.0)  # 28 x 28, as the input
    assert heights[4] == pytest.approx(0.5)  # after the first max pooling: 14 x 14
    assert boxes[2].get_width() > boxes[0].get_width()  # 16 channels: wider than 1
    texts = [t.get_text() for t in ax.texts]
    assert "16x28x28" in texts and "16x14x14" in texts and "2" in texts
    assert "4,608" in texts  # block2's convolution: 3 * 3 * 16 * 32
    assert {"block1", "block2", "block3"} <= set(texts)
    total = rl.models.count_parameters(net)
    assert fig.get_suptitle().startswith(f"16 layers, {total:,} parameters")
    assert fig.get_figwidth() * fig.dpi < 1000  # fits a notebook's width without shrinking
