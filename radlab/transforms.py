"""Batched data augmentation for radiology images, with the mask moved by the same random draw.

The augmentations of the review's Fig. 4 (cropping at different locations,
mirroring, rotation, parallel shift, added noise, contrast and brightness
changes), for a whole minibatch at once, on whatever device the batch is on.

Assumption: images are floating point and already windowed to ``[0, 1]``
(``rl.window`` does that); every output is clamped to ``[0, 1]`` again.
Hounsfield units or raw pixel values are refused with a message saying so
(except by ``RandomDose``, which works in HU, before the window).

Two layers:

- **Deterministic functions** (``rotate``, ``shift``, ``flip``, ``crop``,
  ``add_noise``, ``adjust_contrast``, ``adjust_brightness``): one setting for
  the whole input. The spatial ones call torchvision's
  ``transforms.v2.functional``. ``preview`` applies fixed settings of each to
  one 2D image and its mask: the picture behind ``rl.plot.augment_figure`` and
  ``rl.widgets.augment_explorer``.
- **Random transforms** (``RandomCrop``, ``RandomFlip``, ``RandomRotate``,
  ``RandomShift``, ``RandomAffine``, ``RandomNoise``, ``RandomContrast``,
  ``RandomBrightness``, composed with ``Compose``): each image of the batch
  gets its own random setting and is transformed with probability ``p``.
  torchvision's v2 transforms draw ONE setting per call, even for a batch, so
  the per-image rotation and shift are written here with ``affine_grid`` and
  ``grid_sample`` (one call for the whole batch, bilinear for images, nearest
  for masks).

Spatial transforms (``SpatialTransform``) move the mask with the image;
intensity transforms (``IntensityTransform``) never touch the mask.

Randomness: every random transform takes ``generator=`` when it is called
(a ``torch.Generator`` on the batch's device, or a CPU one whose draws are
moved to the device); without it the global torch seed is used
(``rl.seed_everything``). ``make_generator()`` seeds one from ``rl.config``.

Noise on CT, the physical way: ``RandomDose`` works on images in Hounsfield
units, BEFORE the window. It adds correlated (grainy) noise whose standard
deviation grows as 1 / sqrt(dose fraction), as a lower-dose scan would.
``RandomNoise`` (white noise in window units, after the window) is the simple
stand-in: it ignores how a scanner makes its noise.

Clinical safety: ``default_augmentation(kind)`` leaves out what would make the
label false for that kind of image; the reasons are data in ``UNSAFE``.

Timing: ``time_per_batch(step)`` is the median time of one call in
milliseconds, waiting for a GPU to finish, to compare augmenting a batch with
training on it.

Example:
    >>> import torch
    >>> images = torch.rand(8, 1, 64, 64)
    >>> masks = (images > 0.5).long()
    >>> aug = Compose(
    ...     [RandomFlip(p=0.5), RandomAffine(degrees=10, translate=0.05), RandomNoise(sd=0.02)]
    ... )
    >>> out, out_masks = aug(images, mask=masks, generator=make_generator(0))
    >>> out.shape, out_masks.dtype
    (torch.Size([8, 1, 64, 64]), torch.int64)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import Tensor
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as tvf

from . import config
from .ct_physics import correlated_noise

__all__ = [
    "rotate",
    "shift",
    "flip",
    "crop",
    "add_noise",
    "adjust_contrast",
    "adjust_brightness",
    "preview",
    "make_generator",
    "RandomTransform",
    "SpatialTransform",
    "IntensityTransform",
    "RandomCrop",
    "RandomFlip",
    "RandomRotate",
    "RandomShift",
    "RandomAffine",
    "RandomNoise",
    "RandomContrast",
    "RandomBrightness",
    "RandomDose",
    "Compose",
    "KINDS",
    "MAX_DEGREES",
    "UNSAFE",
    "default_augmentation",
    "unsafe_steps",
    "time_per_batch",
]

_RANGE_TOLERANCE = 1e-3  # float rounding from windowing is fine; Hounsfield units are not


# ---------------------------------------------------------------- checks and shapes


def _check_image(x: Tensor) -> None:
    """Refuse what is not a float image windowed to [0, 1], with what to do instead."""
    if not x.is_floating_point():
        raise ValueError(
            f"Augmentation expects float images windowed to [0, 1], got dtype {x.dtype}. "
            "Window the image first (rl.window), or pass an integer label map as mask=..."
        )
    if x.numel() == 0:
        return
    low, high = torch.aminmax(x)
    low, high = float(low), float(high)
    if low < -_RANGE_TOLERANCE or high > 1 + _RANGE_TOLERANCE:
        raise ValueError(
            f"Augmentation expects images windowed to [0, 1], but these range from {low:g} to "
            f"{high:g} (Hounsfield units or raw pixel values?). Window them first, e.g. "
            "rl.window(hu, preset='liver') or rl.window(hu, level=40, width=400)."
        )


def _to_batch(images: Tensor) -> tuple[Tensor, bool]:
    """(N, C, H, W) or a single (C, H, W) image as a batch; True when it was a single image."""
    if images.ndim not in (3, 4):
        raise ValueError(
            "Augmentation expects a batch (N, C, H, W) or one image (C, H, W), got shape "
            f"{tuple(images.shape)}. "
            "Add the channel axis to a plain 2-D image with image[None]."
        )
    _check_image(images)
    return (images[None], True) if images.ndim == 3 else (images, False)


def _mask_to_batch(mask: Tensor, x: Tensor, single: bool) -> Tensor:
    """The mask as (N, K, H, W), from (N, H, W) or (N, K, H, W), or (H, W) or (K, H, W) for one."""
    n, _, h, w = x.shape
    batch_ok = mask.ndim in (2, 3) if single else (mask.ndim in (3, 4) and mask.shape[0] == n)
    if not batch_ok or tuple(mask.shape[-2:]) != (h, w):
        raise ValueError(
            f"The mask (shape {tuple(mask.shape)}) does not match the images "
            f"(shape {tuple(x.shape)}): "
            "it needs the same number of images and the same height and width."
        )
    return mask.reshape(n, -1, h, w)


def _draw_device(generator: torch.Generator | None, device: torch.device) -> torch.device:
    """Draw on the generator's own device (a CPU generator may serve a CUDA batch)."""
    return generator.device if generator is not None else device


def _uniform(n: int, low: float, high: float, generator, device) -> Tensor:
    """n numbers uniform in [low, high), on `device`."""
    u = torch.rand(n, generator=generator, device=_draw_device(generator, device))
    return (low + (high - low) * u).to(device)


def _randint(n: int, high: int, generator, device) -> Tensor:
    """n whole numbers in [0, high), on `device`."""
    return torch.randint(
        high, (n,), generator=generator, device=_draw_device(generator, device)
    ).to(device)


def _where(chosen: Tensor | None, new: Tensor | None, old: Tensor | None) -> Tensor | None:
    """Per image: the transformed version where chosen, the original elsewhere."""
    if chosen is None or new is None:
        return new
    return torch.where(chosen.view(-1, *[1] * (new.ndim - 1)), new, old)


def _pair(value, name: str) -> tuple[float, float]:
    """A (low, high) range from a number d (meaning -d..d) or a pair."""
    low, high = (-value, value) if isinstance(value, (int, float)) else value
    if low > high:
        raise ValueError(f"{name} range ({low}, {high}) is reversed: give it as (low, high).")
    return float(low), float(high)


def _max_pixels(spec: float | int, size: int) -> float:
    """Largest shift in pixels: a float is a fraction of the image size, an int is pixels."""
    if isinstance(spec, bool) or spec < 0:
        raise ValueError(
            f"A shift limit must be a fraction (0-1) or a whole number of pixels, got {spec!r}."
        )
    if isinstance(spec, float):
        if spec > 1:
            raise ValueError(
                f"A float shift limit is a fraction of the image (0-1), got {spec}; "
                "pass an int for pixels."
            )
        return spec * size
    return float(spec)


# ---------------------------------------------------------------- deterministic functions


def _interp(x: Tensor, nearest: bool) -> InterpolationMode:
    """Nearest for masks (labels keep their values), bilinear for images."""
    return (
        InterpolationMode.NEAREST
        if nearest or not x.is_floating_point()
        else InterpolationMode.BILINEAR
    )


def _tv_spatial(fn, x: Tensor, nearest: bool, **kwargs) -> Tensor:
    """Call a torchvision spatial function on an image (C, H, W), a batch, or a 2-D mask (H, W)."""
    is_image = x.is_floating_point() and not nearest
    if is_image:
        _check_image(x)
    x3 = x[None] if x.ndim == 2 else x  # torchvision wants (..., C, H, W)
    out = fn(x3, interpolation=_interp(x, nearest), **kwargs)
    out = out[0] if x.ndim == 2 else out
    return out.clamp_(0, 1) if is_image else out


def rotate(x: Tensor, angle: float, *, nearest: bool = False) -> Tensor:
    """Rotate counter-clockwise (as displayed) by `angle` degrees about the image centre.

    The corners that come from outside the field are filled with 0.

    Args:
        x: image (C, H, W), batch (N, C, H, W) in [0, 1], or an integer mask.
        angle: degrees; positive turns counter-clockwise, like ``torch.rot90``.
        nearest: nearest-neighbour interpolation (masks; implied for integer tensors).
    """
    return _tv_spatial(tvf.rotate, x, nearest, angle=float(angle))


def shift(x: Tensor, dx: float, dy: float, *, nearest: bool = False) -> Tensor:
    """Move the image content by (dx, dy) pixels: dx to the right, dy downwards; 0 fills the gap.

    Args:
        x: image (C, H, W), batch (N, C, H, W) in [0, 1], or an integer mask.
        dx, dy: pixels (fractions are interpolated).
        nearest: nearest-neighbour interpolation (masks; implied for integer tensors).
    """
    move = {"angle": 0.0, "translate": [float(dx), float(dy)], "scale": 1.0, "shear": [0.0, 0.0]}
    return _tv_spatial(tvf.affine, x, nearest, **move)


_shift = shift  # for ``preview``, whose argument ``shift`` hides the function


def flip(x: Tensor, horizontal: bool = True) -> Tensor:
    """Mirror left-right (``horizontal=True``) or top-bottom; images and masks alike."""
    return tvf.horizontal_flip(x) if horizontal else tvf.vertical_flip(x)


def crop(x: Tensor, top: int, left: int, height: int, width: int) -> Tensor:
    """Cut out rows top..top+height and columns left..left+width (outside the image: 0)."""
    return tvf.crop(x, top=top, left=left, height=height, width=width)


def add_noise(x: Tensor, sd: float | Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Add Gaussian noise with standard deviation `sd` (in window units), then clamp to [0, 1].

    torchvision's ``gaussian_noise`` takes no generator, hence this version.
    Clamping makes the noise weaker in pixels near 0 or 1 (air, dense bone).

    Args:
        x: image (C, H, W) or batch (N, C, H, W) in [0, 1].
        sd: standard deviation; a tensor broadcastable to x gives one per image.
        generator: seeded ``torch.Generator`` (CPU or the image's device).
    """
    _check_image(x)
    return _noisy(x, sd, generator)


def _noisy(x: Tensor, sd: float | Tensor, generator) -> Tensor:
    """x + sd * standard normal noise, clamped to [0, 1]; drawn on the generator's device."""
    noise = torch.randn(
        x.shape, generator=generator, dtype=x.dtype, device=_draw_device(generator, x.device)
    )
    return (x + sd * noise.to(x.device)).clamp_(0, 1)


def _contrast(x: Tensor, factor: float | Tensor) -> Tensor:
    """factor * x + (1 - factor) * mean, the mean taken per image over (C, H, W)."""
    mean = x.mean(dim=(-3, -2, -1), keepdim=True)
    return (factor * x + (1 - factor) * mean).clamp_(0, 1)


def adjust_contrast(x: Tensor, factor: float) -> Tensor:
    """Stretch (factor > 1) or flatten (factor < 1) the grey levels around each image's mean.

    Formula: ``x' = factor * x + (1 - factor) * mean(x)``, clamped to [0, 1], the
    mean taken per image over channels and pixels; this is torchvision's
    ``adjust_contrast`` for one channel (its RGB weighting would be wrong for
    CT phases stacked as channels). Like narrowing the window width.

    Args:
        x: image (C, H, W) or batch (N, C, H, W) in [0, 1].
        factor: 1 leaves the image as it is; 0 gives a flat grey image at the mean.
    """
    _check_image(x)
    return _contrast(x, float(factor))


def adjust_brightness(x: Tensor, delta: float) -> Tensor:
    """Add `delta` to every pixel and clamp to [0, 1]: like moving the window level.

    torchvision's ``adjust_brightness`` multiplies instead; an offset is what a
    different MR gain or window level produces.
    """
    _check_image(x)
    return (x + delta).clamp(0, 1)


def make_generator(seed: int | None = None, device: torch.device | str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` seeded with `seed` (default: the course seed, ``rl.config.seed()``)."""
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed(seed))
    return generator


def preview(
    image,
    *,
    angle: float = 0,
    shift: tuple[float, float] = (0, 0),
    noise: float = 0,
    contrast: float = 1,
    brightness: float = 0,
    mask=None,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Apply fixed augmentation settings to one 2D image in [0, 1] (and its mask).

    Spatial steps (rotation in degrees, then a shift ``(dx, dy)`` in pixels)
    move image and mask together (the mask with nearest-neighbour, so labels
    stay whole); intensity steps (contrast, brightness, Gaussian noise of
    standard deviation ``noise``) touch the image only. The noise is drawn
    from a generator seeded with ``seed`` (None: the course seed), so the same
    settings give the same picture.

    Args:
        image: (H, W) or (1, H, W) array or tensor, windowed to [0, 1].
        angle: degrees, counter-clockwise; shift: (dx, dy) pixels, right and down.
        noise: noise standard deviation; contrast: factor (1: none);
            brightness: offset (0: none), as in ``add_noise``, ``adjust_contrast``
            and ``adjust_brightness``.
        mask: optional (H, W) label mask.
        seed: seeds the noise.

    Returns:
        (image, mask) as (H, W) NumPy arrays; mask is None when none was given.
    """
    x = torch.from_numpy(config.to_slice(image))[None, None]  # (1, 1, H, W)
    _check_image(x)  # up front, also when no setting would touch the image
    m = None if mask is None else torch.from_numpy(config.to_slice(mask, "mask"))[None, None]
    dx, dy = shift
    if angle:
        x = rotate(x, angle)
        m = None if m is None else rotate(m, angle, nearest=True)
    if dx or dy:
        x = _shift(x, dx, dy)
        m = None if m is None else _shift(m, dx, dy, nearest=True)
    if contrast != 1:
        x = adjust_contrast(x, contrast)
    if brightness:
        x = adjust_brightness(x, brightness)
    if noise:
        x = add_noise(x, noise, generator=make_generator(seed))
    # copies: with no setting the input itself would come back, and editing it would edit the image
    return x[0, 0].numpy().copy(), None if m is None else m[0, 0].numpy().copy()


# ---------------------------------------------------------------- random transforms


def _augment(steps: list[RandomTransform], images: Tensor, mask: Tensor | None, generator):
    """Check and batch the input once, run each step, give back the shapes that came in."""
    x, single = _to_batch(images)
    m = None if mask is None else _mask_to_batch(mask, x, single)
    for step in steps:
        x, m = step._batch(x, m, generator)
    x = x[0] if single else x
    if mask is None:
        return x
    return x, m.reshape(*mask.shape[:-2], *m.shape[-2:])  # a crop changes (H, W)


class RandomTransform:
    """Base of the random transforms: each image is transformed with probability ``p``.

    Call ``t(images)`` -> images, or ``t(images, mask=masks)`` -> (images, masks),
    with an optional ``generator=``. Images: (N, C, H, W) or (C, H, W), float in [0, 1].
    """

    p: float
    label: str = ""

    def _check_p(self) -> None:
        if not 0 <= self.p <= 1:
            raise ValueError(
                f"{type(self).__name__}: p is a probability between 0 and 1, got {self.p}."
            )

    def __call__(
        self,
        images: Tensor,
        mask: Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
    ):
        return _augment([self], images, mask, generator)

    def _batch(self, x: Tensor, m: Tensor | None, generator) -> tuple[Tensor, Tensor | None]:
        """Transform a checked batch (N, C, H, W) and its mask (N, K, H, W) or None."""
        if self.p <= 0:
            return x, m
        chosen = None if self.p >= 1 else _uniform(x.shape[0], 0, 1, generator, x.device) < self.p
        return self._apply(x, m, chosen, generator)

    def _apply(
        self, x: Tensor, m: Tensor | None, chosen: Tensor | None, generator
    ) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError(f"{type(self).__name__} does not say how it transforms a batch.")


class SpatialTransform(RandomTransform):
    """A random transform that moves pixels: the mask moves with the image (same draw)."""

    def _apply(self, x, m, chosen, generator):
        new_x, new_m = self._move(x, m, generator)
        return _where(chosen, new_x, x), _where(chosen, new_m, m)

    def _move(self, x: Tensor, m: Tensor | None, generator) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError(f"{type(self).__name__} does not say how it moves pixels.")


class IntensityTransform(RandomTransform):
    """A random transform that changes grey values only: the mask is never touched."""

    def _apply(self, x, m, chosen, generator):
        return _where(chosen, self._change(x, generator), x), m

    def _change(self, x: Tensor, generator) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not say how it changes grey values.")


@dataclass(repr=True)
class RandomCrop(SpatialTransform):
    """Cut a (height, width) window at a random place in each image; the output has the crop size.

    Nothing is padded back: the batch comes out (N, C, height, width). Images
    not chosen (probability 1 - p) get the centre crop, so the batch keeps
    one size. Caution: a small crop can cut a peripheral finding out of the
    field while the label still says it is there.

    Args:
        size: (height, width), or one int for a square.
        p: probability that an image gets a random rather than the centre crop.
    """

    size: int | tuple[int, int]
    p: float = 1.0
    label = "crop"

    def __post_init__(self):
        self._check_p()
        self.size = (self.size, self.size) if isinstance(self.size, int) else tuple(self.size)

    def _batch(self, x, m, generator):
        if self.p <= 0:  # no image is chosen, yet each still gets the centre crop (one size)
            none = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
            return self._apply(x, m, none, generator)
        return super()._batch(x, m, generator)

    def _apply(self, x, m, chosen, generator):
        n, _, h, w = x.shape
        ch, cw = self.size
        if ch > h or cw > w:
            raise ValueError(
                f"RandomCrop{self.size} is larger than the images ({h} x {w}): "
                "choose a smaller size."
            )
        top, left = (
            _randint(n, h - ch + 1, generator, x.device),
            _randint(n, w - cw + 1, generator, x.device),
        )
        if chosen is not None:  # the others: centre crop
            top, left = (
                torch.where(chosen, top, (h - ch) // 2),
                torch.where(chosen, left, (w - cw) // 2),
            )
        cropped_mask = None if m is None else _crop_each(m, top, left, ch, cw)
        return _crop_each(x, top, left, ch, cw), cropped_mask


def _crop_each(x: Tensor, top: Tensor, left: Tensor, height: int, width: int) -> Tensor:
    """Cut a (height, width) window at its own (top, left) out of each image.

    Returns:
        (N, C, height, width).
    """
    n, c = x.shape[:2]
    dev = x.device
    rows = (top[:, None] + torch.arange(height, device=dev))[:, None, :, None]  # (N, 1, h, 1)
    cols = (left[:, None] + torch.arange(width, device=dev))[:, None, None, :]  # (N, 1, 1, w)
    batch = torch.arange(n, device=dev)[:, None, None, None]
    channel = torch.arange(c, device=dev)[None, :, None, None]
    return x[batch, channel, rows, cols]


@dataclass(repr=True)
class RandomFlip(SpatialTransform):
    """Mirror each image with probability p: left-right (``horizontal=True``) or top-bottom.

    Not for chest films or cross-sectional images: see ``UNSAFE``.
    """

    p: float = 0.5
    horizontal: bool = True

    def __post_init__(self):
        self._check_p()

    @property
    def label(self) -> str:
        return "horizontal flip" if self.horizontal else "vertical flip"

    def _move(self, x, m, generator):
        dim = -1 if self.horizontal else -2
        return x.flip(dim), None if m is None else m.flip(dim)


def _affine_theta(
    angle: Tensor, dx: Tensor, dy: Tensor, height: int, width: int, zoom: Tensor | None = None
) -> Tensor:
    """Per-image matrices for ``affine_grid``: output -> input position, in its [-1, 1] units.

    The forward move magnifies by `zoom` (1: none) and turns by `angle` degrees
    counter-clockwise (as displayed, y pointing down) about the centre, then
    shifts by (dx, dy) pixels. The grid needs its inverse:
    p_in = R^-1 (p_out - t) / zoom, rescaled so that x runs over 2 / width and
    y over 2 / height per pixel.
    """
    a = torch.deg2rad(angle)
    c, s = torch.cos(a), torch.sin(a)
    row_x = torch.stack([c, -s * height / width, -(c * dx - s * dy) * 2 / width], dim=-1)
    row_y = torch.stack([s * width / height, c, -(s * dx + c * dy) * 2 / height], dim=-1)
    theta = torch.stack([row_x, row_y], dim=1)  # (N, 2, 3)
    return theta if zoom is None else theta / zoom.view(-1, 1, 1)


def _affine_move(
    x: Tensor,
    m: Tensor | None,
    degrees: float,
    max_dx: float,
    max_dy: float,
    generator,
    scale: tuple[float, float] | None = None,
    padding: str = "zeros",
):
    """Zoom, rotate and shift every image by its own random amount: one grid for images and masks.

    Written by hand because torchvision's ``v2.RandomAffine`` / ``v2.functional.affine``
    take one angle and one shift per call, shared by the whole batch.
    """
    n, _, h, w = x.shape
    angle = _uniform(n, -degrees, degrees, generator, x.device)
    dx = _uniform(n, -max_dx, max_dx, generator, x.device)
    dy = _uniform(n, -max_dy, max_dy, generator, x.device)
    zoom = None if scale is None else _uniform(n, scale[0], scale[1], generator, x.device)
    theta = _affine_theta(angle, dx, dy, h, w, zoom).to(x.dtype)
    grid = nnf.affine_grid(theta, [n, 1, h, w], align_corners=False)  # (N, H, W, 2)
    out = nnf.grid_sample(
        x, grid, mode="bilinear", padding_mode=padding, align_corners=False
    ).clamp_(0, 1)
    if m is None:
        return out, None
    # nearest neighbour: every mask pixel takes one label from the input, never a blend
    moved = nnf.grid_sample(
        m.to(grid.dtype), grid, mode="nearest", padding_mode=padding, align_corners=False
    )
    return out, (moved.round_() if not m.is_floating_point() else moved).to(m.dtype)


def _check_degrees(t) -> None:
    if t.degrees < 0:
        raise ValueError(
            f"{type(t).__name__}: degrees is a limit (angles run from -degrees to +degrees), "
            f"got {t.degrees}."
        )


@dataclass(repr=True)
class RandomRotate(SpatialTransform):
    """Rotate each image by its own angle, uniform in [-degrees, degrees], about the centre."""

    degrees: float
    p: float = 1.0
    label = "rotation"

    def __post_init__(self):
        self._check_p()
        _check_degrees(self)

    def _move(self, x, m, generator):
        return _affine_move(x, m, self.degrees, 0.0, 0.0, generator)


@dataclass(repr=True)
class RandomShift(SpatialTransform):
    """Shift each image by its own (dx, dy), each uniform in [-max_shift, max_shift].

    A parallel shift, as a patient lying a little off-centre.

    Args:
        max_shift: a float is a fraction of the image width/height (0.1 = 10 %),
            an int is pixels.
        p: probability that an image is shifted.
    """

    max_shift: float | int
    p: float = 1.0
    label = "shift"

    def __post_init__(self):
        self._check_p()
        _max_pixels(self.max_shift, 1)

    def _move(self, x, m, generator):
        h, w = x.shape[-2:]
        return _affine_move(
            x, m, 0.0, _max_pixels(self.max_shift, w), _max_pixels(self.max_shift, h), generator
        )


@dataclass(repr=True)
class RandomAffine(SpatialTransform):
    """Zoom, rotation and shift together, in one resampling (each interpolation blurs a little).

    Args:
        degrees: angles uniform in [-degrees, degrees].
        translate: shift limit; a float is a fraction of the image size, an int pixels.
        scale: ``None`` (no zoom) or a (low, high) range of magnifications,
            e.g. (0.85, 1.15): a larger or smaller patient, another film-focus
            distance or collimation. Drawn uniformly per image.
        padding: what fills the corners moved in from outside: ``"zeros"``
            (black) or ``"border"`` (the edge pixels repeated, so no new
            black edge appears that the model could learn from).
        p: probability that an image is moved.
    """

    degrees: float
    translate: float | int = 0.0
    p: float = 1.0
    scale: tuple[float, float] | None = None
    padding: str = "zeros"
    label = "rotation and shift"

    def __post_init__(self):
        self._check_p()
        _check_degrees(self)
        _max_pixels(self.translate, 1)
        if self.scale is not None:
            low, high = _pair(self.scale, "zoom")
            if low <= 0:
                raise ValueError(
                    "RandomAffine: a zoom is a positive magnification such as (0.9, 1.1), "
                    f"got {self.scale}."
                )
            self.scale = (low, high)
        if self.padding not in ("zeros", "border"):
            raise ValueError(f"RandomAffine: padding is 'zeros' or 'border', got {self.padding!r}.")

    def _move(self, x, m, generator):
        h, w = x.shape[-2:]
        max_dx, max_dy = _max_pixels(self.translate, w), _max_pixels(self.translate, h)
        return _affine_move(x, m, self.degrees, max_dx, max_dy, generator, self.scale, self.padding)

    def __repr__(self) -> str:
        head = f"degrees={self.degrees!r}, translate={self.translate!r}, p={self.p!r}"
        # zoom and padding only when used, so plain pipelines print as before
        zoom = "" if self.scale is None else f", scale={self.scale}"
        pad = "" if self.padding == "zeros" else f", padding={self.padding!r}"
        return f"RandomAffine({head}{zoom}{pad})"


def _per_image(n: int, value, name: str, generator, device) -> Tensor:
    """One value per image, (N, 1, 1, 1): fixed for a number, uniform for a (low, high) pair."""
    low, high = (value, value) if isinstance(value, (int, float)) else _pair(value, name)
    return _uniform(n, low, high, generator, device).view(n, 1, 1, 1)


@dataclass(repr=True)
class RandomNoise(IntensityTransform):
    """Add Gaussian noise (lower dose, another scanner): sd fixed, or per image in (low, high)."""

    sd: float | tuple[float, float]
    p: float = 1.0
    label = "noise"

    def __post_init__(self):
        self._check_p()
        sds = (self.sd,) if isinstance(self.sd, (int, float)) else _pair(self.sd, "noise sd")
        if min(sds) < 0:
            raise ValueError(
                f"RandomNoise: a standard deviation cannot be negative, got {self.sd}."
            )

    def _change(self, x, generator):
        sd = _per_image(x.shape[0], self.sd, "noise sd", generator, x.device).to(x.dtype)
        return _noisy(x, sd, generator)


@dataclass(repr=True)
class RandomContrast(IntensityTransform):
    """Scale contrast around each image's mean by a factor uniform in `factors`.

    See ``adjust_contrast``.
    """

    factors: tuple[float, float] = (0.8, 1.2)
    p: float = 1.0
    label = "contrast"

    def __post_init__(self):
        self._check_p()
        _pair(self.factors, "contrast factor")

    def _change(self, x, generator):
        factor = _per_image(x.shape[0], self.factors, "contrast factor", generator, x.device)
        return _contrast(x, factor.to(x.dtype))


@dataclass(repr=True)
class RandomBrightness(IntensityTransform):
    """Add an offset uniform in `deltas` (a number d means -d..d) to each image.

    See ``adjust_brightness``.
    """

    deltas: float | tuple[float, float] = 0.1
    p: float = 1.0
    label = "brightness"

    def __post_init__(self):
        self._check_p()
        self.deltas = _pair(self.deltas, "brightness")

    def _change(self, x, generator):
        delta = _per_image(x.shape[0], self.deltas, "brightness", generator, x.device).to(x.dtype)
        return (x + delta).clamp_(0, 1)


def _hu_batch(hu) -> tuple[Tensor, bool]:
    """Images in HU as a float batch (N, C, H, W); True when a single (C, H, W) image came in."""
    x = torch.as_tensor(hu)
    x = x if x.is_floating_point() else x.float()
    if x.ndim not in (3, 4):
        raise ValueError(
            f"RandomDose expects a batch (N, C, H, W) or one image (C, H, W) in HU, got shape "
            f"{tuple(x.shape)}. Add the channel axis to a plain 2-D image with image[None]."
        )
    if x.numel() and float(x.min()) >= -_RANGE_TOLERANCE and float(x.max()) <= 1 + _RANGE_TOLERANCE:
        raise ValueError(
            "RandomDose adds noise in Hounsfield units, before the window, but these values all "
            "lie between 0 and 1 (already windowed?). Give it the HU image, then window the "
            "result: rl.window(RandomDose()(hu), preset='liver')."
        )
    return (x[None], True) if x.ndim == 3 else (x, False)


def _stream(generator: torch.Generator | None, device: torch.device) -> torch.Generator:
    """The generator to draw from; without one, a new one seeded from torch's global stream."""
    if generator is not None:
        return generator
    start = int(torch.randint(0, 2**62, (1,)))  # follows rl.seed_everything, like the others
    return torch.Generator(device=device).manual_seed(start)


@dataclass(repr=True)
class RandomDose:
    """Each CT image as if scanned at its own lower dose: correlated noise added in HU.

    The physical version of added noise for CT. It works on Hounsfield units,
    BEFORE the window (``rl.window``): noise added after the window is white,
    has the same size in every window, and is clipped at black and white,
    none of which a scanner does (``RandomNoise`` is that simple stand-in).

    Each chosen image draws a dose fraction d, uniform in ``doses``. The image
    already carries ``base_sd`` HU of noise at full dose, so independent
    correlated noise of SD ``base_sd * sqrt(1/d - 1)`` is added: the variances
    add up to a total SD of ``base_sd / sqrt(d)`` (a quarter of the dose
    doubles the noise), as ``rl.ct_physics.low_dose`` does for one dose. Each
    channel (a CT phase) gets its own noise at the image's dose.

    Args:
        doses: (low, high) fractions of the standard dose, each in (0, 1]; one number: fixed.
        base_sd: noise SD in HU the images already have at full dose (the phantoms: 12).
        corr: grain of the noise in pixels (``rl.ct_physics.correlated_noise``; 0: white).
        p: probability that an image is given a lower dose.

    Call ``t(hu, generator=...)`` with a tensor in HU, (N, C, H, W) or (C, H, W);
    the result is in HU too, same shape, on the same device.

    Example:
        >>> flat = torch.full((2, 1, 64, 64), 40.0)  # two flat images of soft tissue, no noise
        >>> quarter = RandomDose(doses=(0.25, 0.25), base_sd=12.0, p=1.0)
        >>> sd = float(quarter(flat, generator=make_generator(0)).std())  # 12 * sqrt(3) = 20.8
        >>> 19.5 < sd < 22
        True
    """

    doses: float | tuple[float, float] = (0.25, 1.0)
    base_sd: float = 12.0
    corr: float = 0.8
    p: float = 0.5
    label = "dose"

    def __post_init__(self):
        if not 0 <= self.p <= 1:
            raise ValueError(f"RandomDose: p is a probability between 0 and 1, got {self.p}.")
        fixed = isinstance(self.doses, (int, float))
        low, high = (self.doses, self.doses) if fixed else _pair(self.doses, "dose")
        if low <= 0 or high > 1:
            raise ValueError(
                f"RandomDose: doses are fractions of the standard dose in (0, 1], such as "
                f"(0.25, 1.0), got {self.doses}."
            )
        if self.base_sd < 0:
            raise ValueError(f"RandomDose: base_sd is a noise SD in HU, got {self.base_sd}.")
        self.doses = (low, high)

    def __call__(self, hu, *, generator: torch.Generator | None = None) -> Tensor:
        x, single = _hu_batch(hu)
        if self.p <= 0:
            return x[0] if single else x
        n = x.shape[0]
        generator = _stream(generator, x.device)
        chosen = _uniform(n, 0, 1, generator, x.device) < self.p  # (N,)
        dose = _uniform(n, self.doses[0], self.doses[1], generator, x.device)  # (N,)
        extra_sd = self.base_sd * torch.sqrt(1 / dose - 1)  # (N,) HU
        extra_sd = torch.where(chosen, extra_sd, torch.zeros_like(extra_sd))
        noise = correlated_noise(generator, tuple(x.shape), self.corr)  # (N, C, H, W), SD 1
        out = x + extra_sd.view(n, 1, 1, 1).to(x.dtype) * noise.to(x.device, x.dtype)
        return out[0] if single else out


class Compose:
    """Apply radlab random transforms in order, passing the mask and the generator along.

    Example:
        >>> aug = Compose([RandomRotate(10), RandomBrightness(0.1)])
        >>> aug(torch.rand(2, 1, 8, 8)).shape
        torch.Size([2, 1, 8, 8])
    """

    def __init__(self, transforms: list[RandomTransform]):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not isinstance(t, RandomTransform):
                raise TypeError(
                    f"Compose takes radlab transforms (RandomFlip, RandomAffine, ...), got {t!r}."
                )

    def __call__(
        self,
        images: Tensor,
        mask: Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
    ):
        return _augment(self.transforms, images, mask, generator)

    def __iter__(self):
        return iter(self.transforms)

    def __len__(self) -> int:
        return len(self.transforms)

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


# ---------------------------------------------------------------- clinical safety

KINDS = ("chest_xray", "ct", "mr", "mr_map", "ultrasound", "phantom")
# ct: CT in HU; phantom: the course's phantoms (abdominal CT in HU, the liver on the image left);
# mr: conventional weighted MR (T1w, T2w, FLAIR); mr_map: quantitative MR maps (ADC, T1 or T2
# map, proton-density fat fraction), whose pixel values are measurements.

STRONG_KINDS = ("chest_xray", "mr", "ultrasound")  # kinds whose image size is not a measurement
# largest in-plane rotation that still looks like an image the scanner could deliver
MAX_DEGREES = {
    "chest_xray": 10,
    "ct": 15,
    "mr": 15,
    "mr_map": 15,
    "ultrasound": 15,
    "phantom": 5,  # the phantom's patients all lie straight on the table
}

_SITUS = (
    "mirroring left-right puts the heart, aortic arch and stomach bubble on the wrong side "
    "(an image of dextrocardia / situs inversus), and a lesion labelled left becomes right"
)
_CT_MIRROR = (
    "axial CT is shown in radiological convention (the patient's right, and so the liver, on "
    "the image left); " + _SITUS + "."
)
_CT_UPSIDE_DOWN = (
    "upside down the spine lies anterior and the patient supine becomes prone: dependent "
    "changes (fluid levels, atelectasis) would point the wrong way."
)
_HU_CONTRAST = (
    "Hounsfield units are a calibrated scale: a contrast stretch of x1.2 widens every "
    "difference between tissues by 20 % and moves each density away from the image mean, so "
    "the numbers that tell fat, fluid and soft tissue apart lose their meaning."
)
_HU_BRIGHTNESS = (
    "Hounsfield units are a calibrated scale: an offset of 0.2 in the liver window (W 150) adds "
    "30 HU and turns fluid (about 0-15 HU) into soft tissue, e.g. a simple cyst into a solid "
    "lesion. (A shift of a few HU, as seen between tube voltages and scanners, can be defended; "
    "offsets of tens of HU cannot.)"
)
UNSAFE: dict[str, dict[str, str]] = {
    "chest_xray": {
        "horizontal flip": _SITUS + "; the network learns anatomy no normal film shows.",
        "vertical flip": "chest films are taken upright: upside down the diaphragm sits above "
        "the lungs, and air-fluid levels and effusions would settle upwards.",
        "large rotation": f"beyond about {MAX_DEGREES['chest_xray']} degrees the film shows a tilt "
        "that positioning never produces, so the network trains on images it will never see.",
    },
    "ct": {
        "horizontal flip": _CT_MIRROR,
        "vertical flip": _CT_UPSIDE_DOWN,
        "large rotation": "the patient lies on the table: tilts beyond about "
        f"{MAX_DEGREES['ct']} degrees do not occur.",
        "contrast": _HU_CONTRAST,
        "brightness": _HU_BRIGHTNESS,
    },
    "mr": {  # weighted images: no absolute scale, so contrast and brightness are fine
        "horizontal flip": "laterality: "
        + _SITUS
        + " (allowed only where the label never depends on side).",
        "vertical flip": "upside down no MR slice is ever displayed; the anatomy becomes "
        "impossible.",
        "large rotation": "head and body are positioned in a coil: tilts beyond about "
        f"{MAX_DEGREES['mr']} degrees do not occur.",
    },
    "mr_map": {
        "horizontal flip": "laterality: " + _SITUS + ".",
        "vertical flip": "upside down no MR slice is ever displayed; the anatomy becomes "
        "impossible.",
        "large rotation": "head and body are positioned in a coil: tilts beyond about "
        f"{MAX_DEGREES['mr_map']} degrees do not occur.",
        "contrast": "a quantitative map (ADC, T1 or T2 map, fat fraction) stores a measurement "
        "in physical units: stretching it changes the value read off a lesion, and so the "
        "finding (restricted diffusion, iron, fat).",
        "brightness": "a quantitative map stores a measurement: an offset changes it, e.g. a "
        "liver fat fraction of 3 % (normal) read as 8 % (steatosis starts at about 5 %).",
    },
    "ultrasound": {
        "vertical flip": "the transducer (skin, near field) is at the top: flipped, the posterior "
        "acoustic shadowing or enhancement behind a mass (a sign of malignancy or of a cyst) "
        "points upwards.",
        "large rotation": "the beam always enters from the top: tilts beyond about "
        f"{MAX_DEGREES['ultrasound']} degrees make shadows run sideways.",
    },
    # the course's phantoms are abdominal CT in HU, liver on the image left: the CT rules hold
    "phantom": {
        "horizontal flip": _CT_MIRROR,
        "vertical flip": _CT_UPSIDE_DOWN,
        "large rotation": "the phantom's patients all lie straight on the table: tilts beyond "
        f"about {MAX_DEGREES['phantom']} degrees show positions none of its images has.",
        "contrast": _HU_CONTRAST,
        "brightness": _HU_BRIGHTNESS,
    },
}


def default_augmentation(kind: str, *, strong: bool = False) -> Compose:
    """A safe default pipeline for one kind of image: what would make the label false is left out.

    - ``chest_xray``: small rotation and shift, exposure (contrast, brightness),
      mild noise. No mirroring (the heart would be on the right: dextrocardia),
      no upside-down film, no tilt beyond 10 degrees.
    - ``ct``: small rotation and shift, noise. No flips (laterality and situs;
      prone vs supine), no contrast or brightness change (HU are calibrated).
      The noise is white noise in window units, a simplification; for noise
      as a lower dose makes it, use ``RandomDose`` on the HU before the window.
    - ``mr`` (conventional weighted images): small rotation and shift, contrast
      and brightness (the signal has no absolute scale), noise. No flips
      (laterality).
    - ``mr_map`` (quantitative maps: ADC, T1 or T2 map, fat fraction): small
      rotation and shift only; contrast or brightness would change the measurement.
    - ``ultrasound``: left-right mirroring (the probe can be held either way),
      small rotation and shift, gain (contrast, brightness), noise. No
      vertical flip (acoustic shadowing must stay behind the mass).
    - ``phantom`` (the course's abdominal CT phantoms, in HU): rotation of at
      most 5 degrees, shift of up to 5 %, zoom 0.95-1.05 (a patient a little
      larger or smaller). No flips, no contrast or brightness, and no noise in
      window units: add noise with ``RandomDose`` on the HU, before the window.

    ``strong=True`` (images whose size on the image is not a measurement:
    ``chest_xray``, ``mr``, ``ultrasound``) adds a zoom of 0.85-1.15 (patient
    size, focus-film distance, collimation, depth setting), shifts of up to 6 %
    with the edge pixels repeated instead of black corners, and wider exposure
    changes (contrast 0.7-1.3, brightness +-0.15, on 80 % of the images), so
    that a model copes better with images unlike its training images. On
    PneumoniaMNIST's separately kept test split it raised the test AUC from
    about 0.96 to 0.977 (benchmarks/README.md; lesson 06 shows it too).

    The reasons are in ``UNSAFE[kind]``; ``unsafe_steps(kind, pipeline)`` checks a pipeline.
    """
    if kind not in KINDS:
        raise ValueError(f"No default augmentation for {kind!r}: choose one of {', '.join(KINDS)}.")
    if strong and kind not in STRONG_KINDS:
        raise ValueError(
            f"No strong augmentation for {kind!r}: a zoom would change sizes that are measured "
            f"in mm (CT), a measurement (MR maps) or a phantom's ground truth. Strong pipelines: "
            f"{', '.join(STRONG_KINDS)}."
        )
    noise = RandomNoise(sd=(0.0, 0.03), p=0.5)
    if strong:
        moves = RandomAffine(
            degrees=MAX_DEGREES[kind], translate=0.06, scale=(0.85, 1.15), padding="border"
        )
        contrast, brightness = RandomContrast((0.7, 1.3), p=0.8), RandomBrightness(0.15, p=0.8)
    else:
        moves = RandomAffine(degrees=MAX_DEGREES[kind], translate=0.05)
        contrast, brightness = RandomContrast((0.8, 1.2), p=0.5), RandomBrightness(0.1, p=0.5)
    if kind == "phantom":
        moves = RandomAffine(degrees=MAX_DEGREES[kind], translate=0.05, scale=(0.95, 1.05))
    steps = {
        "chest_xray": [moves, contrast, brightness, noise],
        "ct": [moves, noise],
        "mr": [moves, contrast, brightness, noise]
        if strong
        else [moves, RandomContrast((0.7, 1.3), p=0.5), RandomBrightness(0.15, p=0.5), noise],
        "mr_map": [moves],
        "ultrasound": [RandomFlip(p=0.5, horizontal=True), moves, contrast, brightness, noise],
        "phantom": [moves],
    }[kind]
    return Compose(steps)


def unsafe_steps(kind: str, pipeline: Compose | list[RandomTransform]) -> list[str]:
    """The steps of a pipeline that would make the label false for this kind of image, and why.

    Example:
        >>> unsafe_steps("chest_xray", [RandomFlip(p=0.5)])[0][:40]
        'RandomFlip(p=0.5, horizontal=True): mirr'
    """
    if kind not in UNSAFE:
        raise ValueError(f"Unknown kind of image {kind!r}: choose one of {', '.join(KINDS)}.")
    found = []
    for t in pipeline:
        keys = [t.label]
        if getattr(t, "degrees", 0) > MAX_DEGREES[kind]:
            keys.append("large rotation")
        found += [f"{t!r}: {UNSAFE[kind][k]}" for k in keys if k in UNSAFE[kind]]
    return found


def _wait_for(device: torch.device) -> None:
    """Let a GPU finish its queued work (it runs in the background); nothing to do on a CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_per_batch(
    step: Callable[[], object], *, repeats: int = 3, device: torch.device | str | None = None
) -> float:
    """Median wall time of one call of ``step()`` in milliseconds, after one warm-up call.

    The warm-up call is not counted (the first call pays for setting things up).
    On a GPU the clock waits for the GPU to finish, else it would stop too early.

    Args:
        step: a function without arguments, e.g. one that augments a batch.
        repeats: timed calls; the median of them is returned.
        device: where ``step`` computes (default: ``rl.config.device()``).

    Example:
        >>> time_per_batch(lambda: sum(range(1000)), repeats=2) >= 0
        True
    """
    if repeats < 1:
        raise ValueError(
            f"time_per_batch: repeats is the number of timed calls, 1 or more, got {repeats}."
        )
    device = config.device() if device is None else torch.device(device)
    step()  # warm-up
    times = []
    for _ in range(repeats):
        _wait_for(device)
        start = time.perf_counter()
        step()
        _wait_for(device)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))
