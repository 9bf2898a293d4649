"""What the scanner adds to the anatomy: noise and dose, reconstruction kernel, slice thickness.

Each function takes images in HU, a NumPy array or a torch tensor whose last two axes are
(H, W), and returns the same type; a tensor stays on its device, so these also run as
augmentation on a GPU batch.

=====================  ======================================================
``add_ct_noise``       correlated CT noise; its SD grows as 1/sqrt(dose)
``low_dose``           what a scan at a fraction of the dose would look like
``scanner_kernel``     soft / standard / sharp reconstruction kernel
``thick_slices``       thick slices as the average of thin ones (partial volume)
``correlated_noise``   the noise itself: SD 1, with a grain of a given size
``gaussian_blur``      the blur behind the noise grain and the kernels
=====================  ======================================================

The phantoms (:mod:`radlab.phantoms`) draw their noise with ``correlated_noise``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from . import config

__all__ = [
    "add_ct_noise",
    "low_dose",
    "scanner_kernel",
    "thick_slices",
    "correlated_noise",
    "gaussian_blur",
]

# ---------------------------------------------------------------- blur, noise


def _radius(sigma: float) -> int:
    """Half-width in pixels of the Gaussian kernel of SD ``sigma``: it ends at 2.5 SD."""
    return max(1, math.ceil(2.5 * sigma))


def _taps(sigma: float) -> np.ndarray:
    """The 1-D Gaussian kernel of SD ``sigma`` (unit sum), as scipy builds it: (2 radius + 1,)."""
    t = np.arange(-_radius(sigma), _radius(sigma) + 1)
    taps = np.exp(-(t**2) / (2 * sigma**2))
    return taps / taps.sum()


def gaussian_blur(image, sigma: float):
    """Blur with a Gaussian of SD ``sigma`` pixels over the last two axes (edges mirrored).

    Args:
        image: NumPy array or torch tensor (..., H, W).
        sigma: SD of the Gaussian in pixels (0: no blur, a copy).

    Returns:
        float32 array, or a tensor of the same shape, dtype and device.
    """
    is_tensor = isinstance(image, torch.Tensor)
    if sigma <= 0:  # no blur, as scipy does it (the tensor kernel would divide by 0)
        return image.clone() if is_tensor else np.array(image, dtype=np.float32)
    if is_tensor:
        return _blur_tensor(image, sigma)
    image = np.asarray(image, np.float32)
    per_axis = (0.0,) * (image.ndim - 2) + (sigma, sigma)  # 0: leading axes are not blurred
    return ndimage.gaussian_filter(image, per_axis, mode="mirror", radius=_radius(sigma))


def _blur_tensor(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """``gaussian_blur`` of a tensor on its own device (scipy takes arrays only; a GPU batch
    stays on the GPU): the same kernel, edges mirrored as in scipy's "mirror" mode."""
    taps = torch.as_tensor(_taps(sigma), dtype=image.dtype, device=image.device)
    r = len(taps) // 2
    x = image.reshape(-1, 1, *image.shape[-2:])  # (B, 1, H, W)
    x = F.pad(x, (r, r, r, r), mode="reflect")  # torch's "reflect" is scipy's "mirror"
    x = F.conv2d(F.conv2d(x, taps.view(1, 1, -1, 1)), taps.view(1, 1, 1, -1))
    return x.reshape(image.shape)


def _blurred_noise_sd(sigma: float) -> float:
    """SD of white noise of SD 1 after ``gaussian_blur``: the sum of the squared 1-D taps.

    The 2-D kernel is the outer product of two 1-D kernels w: its energy (the variance it
    passes) is (sum w^2)^2, so the SD is sum w^2.
    """
    return float((_taps(sigma) ** 2).sum())


def correlated_noise(rng, shape: tuple[int, ...], corr: float):
    """Gaussian noise of SD 1 with a grain of ``corr`` pixels (0: white), over the last two axes.

    Args:
        rng: a NumPy Generator (gives a float32 array) or a torch.Generator (gives a
            float32 tensor on the generator's device).
        shape: (..., H, W).
        corr: SD in pixels of the blur that gives the grain; the SD stays 1 whatever it is.
    """
    if isinstance(rng, torch.Generator):
        white = torch.randn(shape, generator=rng, device=rng.device, dtype=torch.float32)
    else:
        white = rng.standard_normal(shape, dtype=np.float32)
    if corr <= 0:
        return white
    return gaussian_blur(white, corr) / _blurred_noise_sd(corr)


# ------------------------------------------------------------- noise and dose


def _generator_for(hu, seed: int | None, generator):
    """The random stream for noise on ``hu``: ``generator``, else one seeded by ``seed``."""
    if generator is not None:
        return generator
    seed = config.seed(seed)
    if isinstance(hu, torch.Tensor):
        return torch.Generator(device=hu.device).manual_seed(seed)
    return np.random.default_rng(seed)


def add_ct_noise(
    hu,
    *,
    sd: float = 12.0,
    dose: float = 1.0,
    corr: float = 0.8,
    seed: int | None = None,
    generator=None,
):
    """Add correlated (textured) CT noise; its SD is ``sd / sqrt(dose)``.

    Real CT noise is not independent from pixel to pixel: the reconstruction
    gives it a grain. Here white Gaussian noise is blurred by a Gaussian of
    ``corr`` pixels and rescaled, so its SD stays exactly ``sd / sqrt(dose)``.

    Args:
        hu: image(s) in HU, NumPy array or torch tensor, last two axes (H, W).
        sd: noise SD in HU at standard dose (10-15 HU is typical for abdominal CT).
        dose: fraction of the standard dose; 0.25 (quarter dose) doubles the noise.
        corr: grain size in pixels (0 = white noise).
        seed / generator: the same seed gives the same noise (None: the course seed); a
            NumPy Generator (arrays) or torch.Generator (tensors) continues a stream.

    Returns:
        The noisy image, same type, shape and device as ``hu`` (float32).
    """
    if dose <= 0:
        raise ValueError(f"dose={dose} must be a positive fraction of the standard dose, e.g. 0.25")
    rng = _generator_for(hu, seed, generator)
    noise = correlated_noise(rng, np.shape(hu), corr) * (sd / math.sqrt(dose))
    return hu + noise if isinstance(hu, torch.Tensor) else (np.asarray(hu, np.float32) + noise)


def low_dose(
    hu,
    dose: float = 0.25,
    *,
    base_sd: float = 12.0,
    corr: float = 0.8,
    seed: int | None = None,
    generator=None,
):
    """Simulate a scan at a fraction ``dose`` of the standard dose from a standard-dose image.

    The image is assumed to carry ``base_sd`` HU of noise already (the phantoms
    do, with their default ``noise_hu``). Independent noise is added so the
    total SD becomes ``base_sd / sqrt(dose)``: quarter dose doubles the noise.
    For a noise-free image use ``add_ct_noise(hu, sd=..., dose=...)`` instead.
    """
    if not 0 < dose <= 1:
        raise ValueError(
            f"dose={dose}: low_dose can only remove dose, so use a fraction in (0, 1], e.g. 0.25"
        )
    extra = base_sd * math.sqrt(1.0 / dose - 1.0)  # variances add: base^2 + extra^2 = base^2/dose
    return add_ct_noise(hu, sd=extra, dose=1.0, corr=corr, seed=seed, generator=generator)


# ------------------------------------------------------------ kernel, slices


def scanner_kernel(hu, kind: str = "standard"):
    """Mimic a reconstruction kernel: ``soft`` blurs, ``sharp`` (bone) raises edges and noise.

    ``standard`` returns the image unchanged (a copy). ``soft`` smooths with a
    Gaussian of 0.8 pixel (less noise, blurred edges). ``sharp`` adds back the
    detail a Gaussian of 1 pixel removes (unsharp masking): edges overshoot
    and the noise grows, as with a bone kernel.
    """
    if kind == "standard":
        return hu.clone() if isinstance(hu, torch.Tensor) else np.array(hu, dtype=np.float32)
    if kind == "soft":
        return gaussian_blur(hu, 0.8)
    if kind == "sharp":
        return hu + 1.5 * (hu - gaussian_blur(hu, 1.0))
    raise ValueError(f"kernel {kind!r} is not known; use 'soft', 'standard' or 'sharp'")


def thick_slices(volume, factor: int = 2, *, axis: int = -3):
    """Average each ``factor`` neighbouring slices into one thick slice (partial volume).

    ``volume`` (..., Z, H, W) with Z along ``axis``; slices left over at the end
    (Z not a multiple of ``factor``) are dropped. Thick slices have less noise
    (SD / sqrt(factor)) but blur small lesions into their surroundings.
    """
    if factor < 1:
        raise ValueError(f"factor={factor} must be a whole number of thin slices, 1 or more")
    is_tensor = isinstance(volume, torch.Tensor)
    x = volume if is_tensor else np.asarray(volume, np.float32)
    axis = axis % x.ndim
    keep = (x.shape[axis] // factor) * factor
    if keep == 0:
        raise ValueError(
            f"only {x.shape[axis]} slices: too few to make slices {factor} times thicker"
        )
    x = x.narrow(axis, 0, keep) if is_tensor else np.take(x, np.arange(keep), axis=axis)
    grouped = x.reshape(*x.shape[:axis], keep // factor, factor, *x.shape[axis + 1 :])
    return grouped.mean(axis + 1) if is_tensor else grouped.mean(axis=axis + 1, dtype=np.float32)
