"""radlab.plot: the plain functions against hand computations and torch, and the figures' promises."""

import importlib
import io
import types

import matplotlib

matplotlib.use("Agg")  # no display in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
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


# ---------------------------------------------------------------- convolution --


@pytest.mark.parametrize(
    "n,f,s,p",
    [
        (64, 3, 1, 0),
        (64, 3, 1, 1),
        (64, 3, 2, 1),
        (28, 5, 1, 2),
        (32, 3, 3, 0),
        (7, 7, 1, 0),
        (227, 11, 4, 0),
        (10, 2, 2, 0),
    ],
)
def test_conv_output_size_matches_torch(n, f, s, p):
    out = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, f, f), stride=s, padding=p)
    assert plot.conv_output_size(n, f, s, p) == out.shape[-1]


def test_conv_output_size_explains_a_filter_too_large():
    with pytest.raises(ValueError, match="does not fit"):
        plot.conv_output_size(2, 5, 1, 0)


def test_convolve_by_hand():
    image = np.arange(16, dtype=np.float32).reshape(4, 4)  # rises by 1 per column, 4 per row
    assert np.array_equal(plot.convolve(image, "identity"), image[1:-1, 1:-1])
    # Sobel sums 4 weights of +-1/+-2 across a step of 2 columns: (1 + 2 + 1) * 2 = 8 everywhere
    assert np.array_equal(plot.convolve(image, "edge vertical (Sobel)"), np.full((2, 2), 8.0))
    assert np.array_equal(plot.convolve(image, "edge horizontal (Sobel)"), np.full((2, 2), 32.0))
    assert plot.convolve(image, "blur", stride=2, padding=1).shape == (2, 2)
    custom = torch.ones(3, 3)
    assert plot.convolve(image, custom)[0, 0] == image[:3, :3].sum()


def test_kernels_are_3x3_and_edge_filters_sum_to_zero():
    assert all(k.shape == (3, 3) for k in plot.KERNELS.values())
    for name in ("edge horizontal (Sobel)", "edge vertical (Sobel)", "Laplacian"):
        assert plot.KERNELS[name].sum() == 0
    assert plot.KERNELS["blur"].sum() == pytest.approx(1)


def test_unknown_kernel_names_the_choices():
    with pytest.raises(ValueError, match="identity"):
        plot.convolve(np.zeros((5, 5)), "emboss")


# ---------------------------------------------------------------- augmentation --


def test_augmented_moves_mask_with_image_and_keeps_labels(phantom):
    hu, mask = phantom
    image = rl.window(hu, preset="brain")
    same, same_mask = plot.augmented(image, mask=mask)
    assert np.array_equal(same, image) and np.array_equal(same_mask, mask)
    out, moved = plot.augmented(
        image, angle=20, shift=(4, -3), noise=0.05, contrast=1.2, brightness=0.1, mask=mask, seed=1
    )
    assert set(np.unique(moved)) <= {0, 1}  # nearest-neighbour: no half labels
    assert abs(int(moved.sum()) - int(mask.sum())) <= 0.1 * mask.sum()  # the lesion keeps its size
    ys, xs = np.nonzero(moved)
    assert xs.mean() > np.nonzero(mask)[1].mean()  # moved right with the image
    assert 0 <= out.min() and out.max() <= 1
    again, _ = plot.augmented(
        image, angle=20, shift=(4, -3), noise=0.05, contrast=1.2, brightness=0.1, mask=mask, seed=1
    )
    assert np.array_equal(out, again)  # same seed, same noise


def test_augmented_asks_for_a_windowed_image(phantom):
    hu, _ = phantom
    with pytest.raises(ValueError, match="Window it first"):
        plot.augmented(hu, angle=5)


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
        plot.show(hu, window="brain", title="phantom", mask=mask),
        plot.show(torch.from_numpy(image)[None]),
        plot.grid(
            [hu] * 12, titles=[f"case {i}" for i in range(12)], window=(40, 80), suptitle="montage"
        ),
        plot.grid(torch.from_numpy(np.stack([image] * 3))[:, None]),
        plot.window_figure(hu, level=40, width=80, title="phantom"),
        plot.augment_figure(
            image, angle=15, shift=(3, 2), noise=0.05, contrast=1.2, brightness=0.1, mask=mask
        ),
        plot.conv_figure(image, "Laplacian", stride=2, padding=1),
        plot.conv_figure(image, np.ones((5, 5)) / 25),
        plot.learning_curves(history, metrics=("loss", "auc")),
        plot.roc([0, 0.1, 0.3, 1], [0, 0.6, 0.9, 1], auc=0.85, point=(0.1, 0.6), label="CNN"),
    ]
    assert plt.get_fignums() == []  # nothing left open in pyplot: each displays once, none leaks
    for fig in figures:
        assert isinstance(fig, Figure) and fig.dpi == plot.DPI
        assert png_size(fig) < 100_000


def test_show_states_the_window_in_the_title(phantom):
    hu, mask = phantom
    brain = rl.WINDOWS["brain"]
    title = plot.show(hu, window="brain", title="head CT").axes[0].get_title()
    assert title.startswith("head CT") and f"W {brain.width:g} / L {brain.level:g}" in title
    assert "W 1500 / L -600" in plot.show(hu, window=(-600, 1500)).axes[0].get_title()
    assert "W 350 / L 50" in plot.show(hu, window=rl.dicom.Window(50, 350)).axes[0].get_title()
    assert (
        plot.show(rl.window(hu, preset="brain")).axes[0].get_title() == ""
    )  # [0, 1]: nothing to state
    assert (
        plot.show(np.array([[-1000.0, 80.0]])).axes[0].get_title()
        == "no window: black -1000, white 80"
    )


def test_show_draws_colour_pictures(phantom):
    hu, _ = phantom
    phases = np.stack([hu, hu + 40, hu + 80], axis=-1)  # (H, W, 3): three phases as R, G, B
    ax = plot.show(phases, window="liver").axes[0]
    assert ax.images[0].get_array().shape == (64, 64, 3)
    assert ax.get_title().startswith("liver W")
    assert plot.grid([hu, rl.window(phases, preset="liver")], window=["liver", None]).axes[1].images


def test_show_outlines_the_mask(phantom):
    hu, mask = phantom
    ax = plot.show(hu, window="brain", mask=mask).axes[0]
    assert len(ax.collections) == 1  # one contour set for the one label
    assert len(plot.show(hu, mask=np.zeros_like(mask)).axes[0].collections) == 0


def test_show_draws_into_a_given_axes(phantom):
    hu, _ = phantom
    fig, axes = plt.subplots(1, 2)
    try:
        assert plot.show(hu, window="lung", ax=axes[1]) is fig
        assert len(axes[1].images) == 1 and len(axes[0].images) == 0
    finally:
        plt.close(fig)


def test_show_explains_wrong_input(phantom):
    hu, _ = phantom
    with pytest.raises(ValueError, match="one 2D slice"):
        plot.show(np.stack([hu, hu]))
    with pytest.raises(ValueError, match="no window preset called 'brian'"):
        plot.show(hu, window="brian")
    with pytest.raises(ValueError, match="one per image"):
        plot.grid([hu, hu], titles=["only one"])


def test_grid_states_the_window_once(phantom):
    hu, _ = phantom
    fig = plot.grid([hu, hu + 100], titles=["a", "b"], window=(40, 80), suptitle="two")
    assert fig.get_suptitle() == "two - W 80 / L 40"
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    each = plot.grid(
        [hu, hu, rl.window(hu, preset="brain")],
        window=["brain", (-600, 1500), None],
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


def test_learning_curves_mark_the_best_epoch():
    history = {
        "epoch": [1, 2, 3],
        "train_loss": [1.0, 0.5, 0.3],
        "val_loss": [1.0, 0.6, 0.7],
        "best_epoch": 2,
    }
    ax = plot.learning_curves(history).axes[0]
    assert [line.get_label() for line in ax.lines] == ["train loss", "val loss", "best epoch 2"]
    assert list(ax.lines[2].get_xdata()) == [2, 2]
    with pytest.raises(ValueError, match="none of"):
        plot.learning_curves(history, metrics=("dice",))


def test_learning_curves_read_a_fit_history():
    history = {
        "metric": "auc",
        "epoch": [1, 2],
        "train_loss": [0.7, 0.5],
        "val_loss": [0.6, 0.55],
        "val_metric": [0.7, 0.8],
        "best_epoch": 2,
    }  # the shape of rl.train.History.as_dict()
    fig = plot.learning_curves(history, metrics=("loss", "auc"))
    assert [line.get_label() for line in fig.axes[1].lines] == ["val auc", "best epoch 2"]
    assert list(fig.axes[1].lines[0].get_ydata()) == [0.7, 0.8]


def test_roc_has_diagonal_and_operating_point():
    ax = plot.roc([0, 0.2, 1], [0, 0.8, 1], auc=0.8, point=(0.2, 0.8)).axes[0]
    labels = [line.get_label() for line in ax.lines]
    assert labels[0] == "model (AUC 0.80)" and "chance" in labels
    assert labels[2] == "operating point (sens 0.80, spec 0.80)"


def test_image_png_is_small_and_outlines_the_mask(phantom):
    hu, mask = phantom
    data = plot.image_png(hu, window="brain", mask=mask, size=128)
    picture = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert picture.shape == (128, 128, 3)
    outline = np.all(picture == (255, 204, 0), axis=2)
    assert 0 < outline.sum() < 0.1 * outline.size
    plain = np.asarray(
        Image.open(io.BytesIO(plot.image_png(hu, window="brain", size=128))).convert("RGB")
    )
    assert not np.all(plain == (255, 204, 0), axis=2).any()


def test_import_changes_nothing_global():
    settings = {k: matplotlib.rcParams[k] for k in matplotlib.rcParams if k != "backend"}
    importlib.reload(plot)  # runs the module's top level again
    assert {k: matplotlib.rcParams[k] for k in matplotlib.rcParams if k != "backend"} == settings
    assert plt.get_fignums() == []
    modules = {v.__name__ for v in vars(plot).values() if isinstance(v, types.ModuleType)}
    assert "matplotlib.pyplot" not in modules  # pyplot is imported only when a figure is made
