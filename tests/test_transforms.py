"""Tests for radlab.transforms, checked against torch and torchvision references."""

import dataclasses

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as tvf
from torchvision.transforms.v2 import InterpolationMode

from radlab import transforms as T

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _gen(seed=0, device="cpu"):
    return T.make_generator(seed, device=device)


def _all_random(size=32):
    """One of each random transform, every one applied (p=1), as (transform, output size)."""
    return [
        (T.RandomCrop(size - 8), size - 8),
        (T.RandomFlip(p=1.0), size),
        (T.RandomFlip(p=1.0, horizontal=False), size),
        (T.RandomRotate(30), size),
        (T.RandomShift(0.2), size),
        (T.RandomShift(3), size),
        (T.RandomAffine(20, translate=0.1), size),
        (T.RandomNoise(0.05), size),
        (T.RandomNoise((0.01, 0.1)), size),
        (T.RandomContrast((0.5, 1.5)), size),
        (T.RandomBrightness(0.2), size),
    ]


ALL = _all_random()
IDS = [repr(t) for t, _ in ALL]


def _squares(n=8, size=32, device="cpu"):
    """Images whose content equals their mask: a bright square (label 1), a dimmer one (label 2)."""
    mask = torch.zeros(n, 1, size, size, dtype=torch.long, device=device)
    mask[:, :, 8:14, 9:17] = 1
    mask[:, :, 18:24, 16:22] = 2
    return _GREY.to(device)[mask], mask


_GREY = torch.tensor([0.0, 1.0, 0.4])  # grey value of each label


def _centroids(w):
    """Centre of mass (row, col) of each image of a (N, 1, H, W) weight map."""
    w = w[:, 0].double()
    rows = torch.arange(w.shape[-2], dtype=w.dtype, device=w.device)[:, None]
    cols = torch.arange(w.shape[-1], dtype=w.dtype, device=w.device)[None, :]
    total = w.sum((-2, -1))
    return torch.stack([(w * rows).sum((-2, -1)) / total, (w * cols).sum((-2, -1)) / total], -1)


# ---------------------------------------------------------------- shapes, dtypes, ranges, devices


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("t, out_size", ALL, ids=IDS)
def test_shape_dtype_and_range_kept(t, out_size, dtype):
    x = torch.rand(6, 2, 32, 32, dtype=dtype)
    out = t(x, generator=_gen())
    assert out.shape == (6, 2, out_size, out_size) and out.dtype == dtype
    assert out.min() >= 0 and out.max() <= 1
    single = t(x[0], generator=_gen())
    assert single.shape == (2, out_size, out_size)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("t, out_size", ALL, ids=IDS)
def test_runs_on_the_device_of_the_batch(t, out_size, device):
    images, masks = _squares(device=device)
    # a generator on the batch's device, a CPU generator, and the global seed
    for generator in (_gen(0, device), _gen(0, "cpu"), None):
        out, out_mask = t(images, mask=masks, generator=generator)
        assert out.device.type == device and out_mask.device.type == device


@pytest.mark.parametrize("shape", [(3, 32, 32), (3, 1, 32, 32), (3, 2, 32, 32)])
def test_mask_shapes_come_back_as_given(shape):
    images = torch.rand(3, 1, 32, 32)
    masks = torch.randint(0, 3, shape)
    _, out_mask = T.RandomCrop(20)(images, mask=masks, generator=_gen())
    assert out_mask.shape == (*shape[:-2], 20, 20)
    _, single = T.RandomRotate(10)(images[0], mask=masks[0], generator=_gen())
    assert single.shape == masks[0].shape


# ---------------------------------------------------------------- seeding and per-image parameters


@pytest.mark.parametrize("t, out_size", ALL, ids=IDS)
def test_same_seed_same_output_different_seed_different(t, out_size):
    if isinstance(t, T.RandomFlip):
        t = dataclasses.replace(t, p=0.5)  # a flip with p=1 has nothing random left
    x = torch.rand(8, 1, 32, 32)
    a, b, c = t(x, generator=_gen(1)), t(x, generator=_gen(1)), t(x, generator=_gen(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize(
    "t", [t for t, _ in ALL if not isinstance(t, T.RandomFlip)], ids=lambda t: repr(t)
)
def test_each_image_gets_its_own_parameters(t):
    x = torch.rand(1, 1, 32, 32).expand(6, 1, 32, 32).contiguous()  # six copies of one image
    out = t(x, generator=_gen(3))
    for i in range(1, 6):
        assert not torch.equal(out[0], out[i])


def test_flip_chooses_per_image():
    x = torch.rand(64, 1, 8, 8)
    out = T.RandomFlip(p=0.5)(x, generator=_gen(4))
    flipped = torch.tensor([torch.equal(o, xi.flip(-1)) for o, xi in zip(out, x)])
    kept = torch.tensor([torch.equal(o, xi) for o, xi in zip(out, x)])
    assert (flipped | kept).all() and 16 < flipped.sum() < 48


# ---------------------------------------------------------------- image and mask move together

SPATIAL = [
    T.RandomAffine(30, translate=0.15),
    T.RandomRotate(45),
    T.RandomShift(5),
    T.RandomFlip(p=0.5),
    T.RandomFlip(p=0.5, horizontal=False),
    T.RandomCrop(24, p=0.7),
    T.Compose(
        [
            T.RandomFlip(),
            T.RandomFlip(horizontal=False),
            T.RandomAffine(30, translate=0.1),
            T.RandomCrop(28),
        ]
    ),
]


@pytest.mark.parametrize("t", SPATIAL, ids=lambda t: type(t).__name__)
def test_mask_moves_with_the_image(t):
    images, masks = _squares(n=12)
    out, out_mask = t(images, mask=masks, generator=_gen(5))
    # grey values and labels have the same centre of mass in every image
    assert torch.allclose(_centroids(out), _centroids(_GREY[out_mask]), atol=0.6)
    # the bright square (value 1, label 1) thresholded at half its value lies on its label
    bright, label = out > 0.5, out_mask == 1
    assert torch.allclose(_centroids(bright.float()), _centroids(label.float()), atol=0.6)
    overlap = (bright & label).sum((1, 2, 3)) / (bright | label).sum((1, 2, 3))
    assert (overlap > 0.75).all()


@pytest.mark.parametrize("t", SPATIAL, ids=lambda t: type(t).__name__)
def test_mask_keeps_integer_labels(t):
    images, masks = _squares(n=12)
    _, out_mask = t(images, mask=masks, generator=_gen(6))
    assert out_mask.dtype == torch.long
    assert set(out_mask.unique().tolist()) == {0, 1, 2}


@pytest.mark.parametrize(
    "t",
    [T.RandomNoise(0.1), T.RandomContrast((0.5, 1.5)), T.RandomBrightness(0.3)],
    ids=lambda t: type(t).__name__,
)
def test_intensity_transforms_never_touch_the_mask(t):
    images, masks = _squares()
    _, out_mask = t(images, mask=masks, generator=_gen())
    assert torch.equal(out_mask, masks)


@pytest.mark.parametrize("zoom", [None, torch.tensor([0.85, 1.0, 1.2])], ids=["no-zoom", "zoom"])
def test_hand_written_grid_matches_torchvision_per_image(zoom):
    x = torch.rand(3, 1, 24, 40)
    angle, dx, dy = (
        torch.tensor([30.0, -45.0, 90.0]),
        torch.tensor([3.0, -2.5, 0.0]),
        torch.tensor([1.0, 4.0, -7.0]),
    )
    args = (angle, dx, dy, 24, 40) if zoom is None else (angle, dx, dy, 24, 40, zoom)
    grid = torch.nn.functional.affine_grid(
        T._affine_theta(*args), [3, 1, 24, 40], align_corners=False
    )
    ours = torch.nn.functional.grid_sample(x, grid, align_corners=False)
    for i in range(3):
        # torchvision's affine turns clockwise for a positive angle, its rotate counter-clockwise
        scale = 1.0 if zoom is None else zoom[i].item()
        ref = tvf.affine(
            x[i],
            angle=-angle[i].item(),
            translate=[dx[i].item(), dy[i].item()],
            scale=scale,
            shear=[0.0, 0.0],
            interpolation=InterpolationMode.BILINEAR,
        )
        assert torch.allclose(ours[i], ref, atol=1e-5)


def test_zoom_range_and_border_padding():
    square = torch.zeros(1, 1, 33, 33)
    square[..., 12:21, 12:21] = 1.0  # a 9-pixel square in the centre
    areas = []
    for seed in range(20):
        out = T.RandomAffine(0, scale=(0.8, 1.25))(square, generator=_gen(seed))
        areas.append(float((out > 0.5).sum()))
    # the area scales with zoom squared: between 0.64 and 1.56 of 81 pixels, and both ways occur
    assert min(areas) >= 0.64 * 81 - 12 and max(areas) <= 1.5625 * 81 + 12
    assert min(areas) < 81 < max(areas)
    # an even grey film: border padding adds no black corners
    film = torch.full((4, 1, 16, 16), 0.6)
    moved = T.RandomAffine(10, translate=0.1, scale=(0.8, 0.9), padding="border")(
        film, generator=_gen()
    )
    assert torch.allclose(moved, film, atol=1e-5)
    black = T.RandomAffine(10, translate=0.1, scale=(0.8, 0.9))(film, generator=_gen())
    assert black.min() < 0.1  # the default fills with zeros


def test_strong_pipelines():
    for kind in T.STRONG_KINDS:
        pipeline = T.default_augmentation(kind, strong=True)
        assert T.unsafe_steps(kind, pipeline) == []
        affine = next(t for t in pipeline if isinstance(t, T.RandomAffine))
        assert affine.scale == (0.85, 1.15) and affine.padding == "border"
        images, masks = _squares(n=4)
        out, out_mask = pipeline(images, mask=masks, generator=_gen())
        assert out.shape == images.shape and out_mask.shape == masks.shape
    # as before zoom existed
    assert repr(T.RandomAffine(5)) == "RandomAffine(degrees=5, translate=0.0, p=1.0)"
    assert "scale=(0.85, 1.15), padding='border'" in repr(T.default_augmentation("mr", strong=True))
    with pytest.raises(ValueError, match="measured"):
        T.default_augmentation("ct", strong=True)
    with pytest.raises(ValueError, match="positive magnification"):
        T.RandomAffine(5, scale=0.1)
    with pytest.raises(ValueError, match="padding"):
        T.RandomAffine(5, padding="mirror")


def test_random_crop_matches_slicing():
    x = torch.rand(5, 2, 20, 20)
    out = T.RandomCrop((8, 12))(x, generator=_gen())
    for o, xi in zip(out, x, strict=True):
        hits = [
            (top, left)
            for top in range(13)
            for left in range(9)
            if torch.equal(xi[:, top : top + 8, left : left + 12], o)
        ]
        assert hits, "each crop is a window of its own image"


# ---------------------------------------------------------------- deterministic functions vs torch


def test_rotate_90_equals_rot90():
    x = torch.rand(2, 1, 16, 16)
    assert torch.allclose(
        T.rotate(x, 90)[..., 1:-1, 1:-1], torch.rot90(x, 1, (-2, -1))[..., 1:-1, 1:-1], atol=1e-5
    )
    mask = torch.randint(0, 4, (16, 16))
    assert torch.equal(T.rotate(mask, 90), torch.rot90(mask, 1, (-2, -1)))


def _roll_zero(x, dx, dy):
    """torch.roll with the wrapped-around pixels set to 0."""
    out = torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
    if dy > 0:
        out[..., :dy, :] = 0
    elif dy < 0:
        out[..., dy:, :] = 0
    if dx > 0:
        out[..., :, :dx] = 0
    elif dx < 0:
        out[..., :, dx:] = 0
    return out


@pytest.mark.parametrize("dx, dy", [(3, 0), (0, -2), (-4, 5)])
def test_integer_shift_equals_roll_with_zero_fill(dx, dy):
    x = torch.rand(2, 1, 16, 20)
    assert torch.allclose(T.shift(x, dx, dy), _roll_zero(x, dx, dy), atol=1e-5)
    mask = torch.randint(0, 3, (1, 16, 20))
    assert torch.equal(T.shift(mask, dx, dy, nearest=True), _roll_zero(mask, dx, dy))


def test_flip_and_crop_equal_torch():
    x = torch.rand(2, 1, 10, 12)
    assert torch.equal(T.flip(x), torch.flip(x, (-1,)))
    assert torch.equal(T.flip(x, horizontal=False), torch.flip(x, (-2,)))
    assert torch.equal(T.crop(x, 2, 3, 5, 4), x[..., 2:7, 3:7])


def test_noise_sd_matches_request():
    x = torch.full((4, 1, 64, 64), 0.5)
    out = T.add_noise(x, 0.05, generator=_gen())
    assert abs((out - x).std().item() - 0.05) < 0.002 and abs((out - x).mean().item()) < 0.002
    out = T.RandomNoise((0.02, 0.06))(x, generator=_gen())
    sds = (out - x).std(dim=(1, 2, 3))
    assert ((sds > 0.019) & (sds < 0.061)).all() and sds.max() - sds.min() > 0.005


def test_contrast_and_brightness_formulas():
    x = torch.rand(3, 1, 16, 16) * 0.4 + 0.3
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    assert torch.allclose(
        T.adjust_contrast(x, 1.5), (1.5 * x + (1 - 1.5) * mean).clamp(0, 1), atol=1e-6
    )
    assert torch.allclose(T.adjust_contrast(x, 0.5), tvf.adjust_contrast(x, 0.5), atol=1e-6)
    assert torch.allclose(T.adjust_brightness(x, 0.2), x + 0.2)
    assert T.adjust_brightness(x, 0.9).max() == 1 and T.adjust_brightness(x, -0.9).min() == 0
    out = T.RandomContrast((0.5, 1.5))(x, generator=_gen())
    factors = (out - out.mean((1, 2, 3), keepdim=True)).std((1, 2, 3)) / (x - mean).std((1, 2, 3))
    assert ((factors > 0.5 - 1e-4) & (factors < 1.5 + 1e-4)).all()


# ---------------------------------------------------------------- probability p


def _centre_crop(x, size):
    top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
    return x[..., top : top + size, left : left + size]


# RandomCrop's docstring: images not chosen get the centre crop, so a batch keeps one size,
# even with p=0.
P_CASES = [pytest.param(t, size, id=i) for (t, size), i in zip(ALL, IDS)]


@pytest.mark.parametrize("t, out_size", P_CASES)
def test_p_zero_is_identity_and_p_one_always_applies(t, out_size):
    images, masks = _squares()
    images = images * 0.8 + 0.1  # away from 0 and 1, so that every change shows
    # an image not chosen is left as it is; a crop not chosen is the centre crop
    unchanged, unchanged_mask = _centre_crop(images, out_size), _centre_crop(masks, out_size)
    out = dataclasses.replace(t, p=1.0)(images, generator=_gen())
    assert out.shape == unchanged.shape
    assert all(not torch.equal(o, u) for o, u in zip(out, unchanged))
    out, out_mask = dataclasses.replace(t, p=0.0)(images, mask=masks, generator=_gen())
    assert torch.equal(out, unchanged) and torch.equal(out_mask, unchanged_mask)


def test_crop_not_chosen_is_the_centre_crop():
    images, masks = _squares(n=64)
    # every image its own, so each crop can be told apart
    images = images * 0.9 + 0.05 * torch.rand_like(images)
    out, out_mask = T.RandomCrop(24, p=0.5)(images, mask=masks, generator=_gen(7))
    centre = torch.tensor([torch.equal(o, c) for o, c in zip(out, _centre_crop(images, 24))])
    # about half kept the centre crop (a random one matches it 1 time in 81)
    assert 10 < centre.sum() < 54
    assert torch.equal(out_mask[centre], _centre_crop(masks, 24)[centre])


def test_p_selects_about_p_of_the_images():
    x = torch.full((400, 1, 4, 4), 0.5)
    out = T.RandomBrightness((0.1, 0.2), p=0.3)(x, generator=_gen())
    changed = (out != x).flatten(1).any(1).float().mean().item()
    assert 0.22 < changed < 0.38


# ---------------------------------------------------------------- clinical safety and errors


def test_chest_xray_default_has_no_flip():
    pipeline = T.default_augmentation("chest_xray")
    assert not any(isinstance(t, T.RandomFlip) for t in pipeline)
    assert "horizontal flip" in T.UNSAFE["chest_xray"]
    assert T.unsafe_steps("chest_xray", [T.RandomFlip()])


@pytest.mark.parametrize("kind", T.KINDS)
def test_defaults_are_safe_for_their_kind(kind):
    pipeline = T.default_augmentation(kind)
    assert T.unsafe_steps(kind, pipeline) == []
    images, masks = _squares(n=4)
    out, out_mask = pipeline(images, mask=masks, generator=_gen())
    assert out.shape == images.shape and out_mask.shape == masks.shape


def test_unsafe_steps_catches_large_rotation():
    assert T.unsafe_steps("chest_xray", [T.RandomRotate(45)])
    assert T.unsafe_steps("chest_xray", [T.RandomRotate(5)]) == []


def test_clear_errors():
    with pytest.raises(ValueError, match="Hounsfield"):
        T.RandomRotate(10)(torch.full((1, 1, 8, 8), 400.0))
    with pytest.raises(ValueError, match="float"):
        T.RandomFlip()(torch.zeros(1, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="does not match"):
        T.RandomFlip()(torch.rand(2, 1, 8, 8), mask=torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="larger than the images"):
        T.RandomCrop(16)(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="choose one of"):
        T.default_augmentation("pet")
    with pytest.raises(ValueError, match="probability"):
        T.RandomFlip(p=1.5)


# ---------------------------------------------------------------- preview of fixed settings


@pytest.fixture(scope="module")
def slice_and_lesion():
    """A 64x64 windowed slice (disc with a brighter lesion, some noise) and the lesion mask."""
    yy, xx = np.mgrid[-32:32, -32:32]
    lesion = (xx - 6) ** 2 + (yy + 4) ** 2 < 7**2
    image = np.where(xx**2 + yy**2 < 28**2, 0.4, 0.0) + 0.3 * lesion
    image = image + np.random.default_rng(0).normal(0, 0.02, image.shape)
    return np.clip(image, 0, 1).astype(np.float32), lesion.astype(np.int64)


def test_preview_moves_mask_with_image_and_keeps_labels(slice_and_lesion):
    image, mask = slice_and_lesion
    same, same_mask = T.preview(image, mask=mask)
    assert np.array_equal(same, image) and np.array_equal(same_mask, mask)
    settings = dict(angle=20, shift=(4, -3), noise=0.05, contrast=1.2, brightness=0.1, seed=1)
    out, moved = T.preview(image, mask=mask, **settings)
    assert set(np.unique(moved)) <= {0, 1}  # nearest-neighbour: no half labels
    assert abs(int(moved.sum()) - int(mask.sum())) <= 0.1 * mask.sum()  # the lesion keeps its size
    assert np.nonzero(moved)[1].mean() > np.nonzero(mask)[1].mean()  # moved right with the image
    assert 0 <= out.min() and out.max() <= 1
    again, _ = T.preview(torch.from_numpy(image)[None], mask=mask, **settings)
    assert np.array_equal(out, again)  # same seed, same noise; a (1, H, W) tensor works too
    assert T.preview(image, noise=0.05)[1] is None  # no mask given, none returned


def test_preview_noise_follows_the_course_seed(slice_and_lesion, monkeypatch):
    image, _ = slice_and_lesion
    monkeypatch.setenv("RADLAB_SEED", "5")
    default, _ = T.preview(image, noise=0.05)
    assert np.array_equal(default, T.preview(image, noise=0.05, seed=5)[0])
    assert not np.array_equal(default, T.preview(image, noise=0.05, seed=6)[0])


def test_preview_asks_for_a_windowed_image(slice_and_lesion):
    image, _ = slice_and_lesion
    with pytest.raises(ValueError, match="Window them first"):
        T.preview(image * 1000 - 1000)  # Hounsfield units, even with nothing to change


# ---------------------------------------------------------------- CT-safe phantom, MR maps


def test_phantom_default_is_ct_safe():
    """The phantoms are abdominal CT in HU: no flip, no intensity step, a few degrees at most."""
    pipeline = T.default_augmentation("phantom")
    labels = [t.label for t in pipeline]
    assert labels == ["rotation and shift"]
    (moves,) = list(pipeline)
    assert moves.degrees <= 5 and moves.scale == (0.95, 1.05)
    photo_style = [
        T.RandomFlip(p=0.5),
        T.RandomFlip(p=0.5, horizontal=False),
        T.RandomAffine(30, translate=0.1),
        T.RandomContrast((0.8, 1.2)),
        T.RandomBrightness(0.1),
    ]
    found = T.unsafe_steps("phantom", photo_style)
    assert len(found) == 5
    assert "liver" in found[0] and "Hounsfield" in found[-1]


def test_quantitative_mr_maps_refuse_intensity_changes_weighted_mr_keeps_them():
    intensity = [T.RandomContrast((0.8, 1.2)), T.RandomBrightness(0.1)]
    assert T.unsafe_steps("mr", intensity) == []
    assert len(T.unsafe_steps("mr_map", intensity)) == 2
    assert [t.label for t in T.default_augmentation("mr_map")] == ["rotation and shift"]
    with pytest.raises(ValueError, match="strong"):
        T.default_augmentation("mr_map", strong=True)


# ---------------------------------------------------------------- dose noise in HU


@pytest.mark.parametrize("dose", [0.5, 0.25, 0.1])
def test_random_dose_sd_grows_as_one_over_sqrt_dose(dose):
    """On top of 12 HU of full-dose noise, the total SD becomes 12 / sqrt(dose)."""
    from radlab import ct_physics

    full = ct_physics.add_ct_noise(torch.full((8, 1, 64, 64), 40.0), sd=12.0, seed=1)
    out = T.RandomDose(doses=dose, base_sd=12.0, p=1.0)(full, generator=_gen(2))
    assert float(out.std()) == pytest.approx(12.0 / dose**0.5, rel=0.05)
    assert float(out.mean()) == pytest.approx(40.0, abs=1.0)  # noise, not a shift in HU


def test_random_dose_draws_per_image_and_repeats_with_the_seed():
    flat = torch.full((16, 2, 32, 32), 40.0)  # soft tissue, HU
    t = T.RandomDose(doses=(0.1, 1.0), p=1.0)
    out = t(flat, generator=_gen(0))
    per_image = out.std(dim=(1, 2, 3))
    assert float(per_image.max() - per_image.min()) > 5  # each image its own dose
    assert torch.equal(out, t(flat, generator=_gen(0)))
    assert not torch.equal(out[:, 0], out[:, 1])  # each phase its own noise
    assert torch.equal(T.RandomDose(p=0.0)(flat), flat)
    some = T.RandomDose(doses=0.25, p=0.5)(flat, generator=_gen(3))
    untouched = ((some - 40.0).abs().amax(dim=(1, 2, 3)) == 0).sum()
    assert 0 < int(untouched) < 16  # about half kept their full dose
    assert T.RandomDose(p=1.0)(flat[0], generator=_gen(0)).shape == flat[0].shape


@pytest.mark.parametrize("device", DEVICES)
def test_random_dose_runs_on_the_device_of_the_batch(device):
    hu = torch.full((4, 1, 16, 16), -1000.0, device=device)
    out = T.RandomDose(p=1.0)(hu, generator=_gen(0, device))
    assert out.device.type == device and out.shape == hu.shape and out.dtype == hu.dtype


def test_random_dose_asks_for_hu_and_fractions():
    with pytest.raises(ValueError, match="before the window"):
        T.RandomDose()(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="fractions"):
        T.RandomDose(doses=(0.25, 2.0))
    with pytest.raises(ValueError, match="fractions"):
        T.RandomDose(doses=0.0)
    with pytest.raises(ValueError, match="probability"):
        T.RandomDose(p=2.0)


# ---------------------------------------------------------------- timing


def test_time_per_batch_warms_up_once_and_returns_the_median():
    calls = []
    ms = T.time_per_batch(lambda: calls.append(1), repeats=4, device="cpu")
    assert len(calls) == 5 and isinstance(ms, float) and ms >= 0
    with pytest.raises(ValueError, match="repeats"):
        T.time_per_batch(lambda: None, repeats=0)
