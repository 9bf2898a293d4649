"""Tests for radlab.ct_physics: noise SD against dose, grain, kernels, thick slices, tensors."""

import math

import numpy as np
import pytest
import torch

from radlab import ct_physics as ct


def _neighbour_corr(noise: np.ndarray) -> float:
    a, b = noise[..., :, :-1].ravel(), noise[..., :, 1:].ravel()
    return float(np.corrcoef(a, b)[0, 1])


# ---------------------------------------------------------------- blur, noise


def test_gaussian_blur_arrays_and_tensors_agree():
    image = np.random.default_rng(0).normal(0, 50, (2, 3, 24, 20)).astype(np.float32)
    blurred = ct.gaussian_blur(image, 1.2)
    assert blurred.shape == image.shape and blurred.dtype == np.float32
    assert blurred.std() < image.std() / 2 and blurred.mean() == pytest.approx(image.mean(), abs=1)
    tensor = ct.gaussian_blur(torch.from_numpy(image), 1.2)
    assert isinstance(tensor, torch.Tensor) and tensor.shape == image.shape
    np.testing.assert_allclose(tensor.numpy(), blurred, atol=1e-3)
    np.testing.assert_allclose(blurred[1, 2], ct.gaussian_blur(image[1, 2], 1.2))  # image by image


def test_correlated_noise_has_sd_one_and_a_grain():
    rng = np.random.default_rng(0)
    for corr in (0.0, 0.5, 0.8, 2.0):
        noise = ct.correlated_noise(rng, (8, 96, 96), corr)
        assert noise.dtype == np.float32 and noise.std() == pytest.approx(1.0, rel=0.05)
    assert _neighbour_corr(ct.correlated_noise(rng, (8, 96, 96), 2.0)) > 0.8
    tensor = ct.correlated_noise(torch.Generator().manual_seed(0), (8, 96, 96), 0.8)
    assert isinstance(tensor, torch.Tensor) and float(tensor.std()) == pytest.approx(1.0, rel=0.05)


# ------------------------------------------------------------ noise and dose


def test_noise_sd_and_dose():
    flat = np.zeros((16, 128, 128), np.float32)
    full = ct.add_ct_noise(flat, sd=12.0, seed=0)
    quarter = ct.add_ct_noise(flat, sd=12.0, dose=0.25, seed=0)
    assert full.std() == pytest.approx(12.0, rel=0.05)
    assert quarter.std() == pytest.approx(24.0, rel=0.05)
    assert ct.low_dose(full, 0.25, base_sd=12.0, seed=1).std() == pytest.approx(24.0, rel=0.05)
    np.testing.assert_array_equal(full, ct.add_ct_noise(flat, sd=12.0, seed=0))
    with pytest.raises(ValueError, match="dose"):
        ct.add_ct_noise(flat, dose=0)
    with pytest.raises(ValueError, match="fraction"):
        ct.low_dose(full, dose=2.0)


def test_seed_none_is_the_course_seed(monkeypatch):
    flat = np.zeros((2, 32, 32), np.float32)
    monkeypatch.setenv("RADLAB_SEED", "5")
    np.testing.assert_array_equal(ct.add_ct_noise(flat), ct.add_ct_noise(flat, seed=5))
    generator = np.random.default_rng(9)  # a generator wins over the seed...
    first = ct.add_ct_noise(flat, seed=5, generator=generator)
    np.testing.assert_array_equal(first, ct.add_ct_noise(flat, generator=np.random.default_rng(9)))
    assert not np.array_equal(ct.add_ct_noise(flat, generator=generator), first)  # ...and goes on


def test_noise_is_correlated():
    flat = np.zeros((8, 128, 128), np.float32)
    assert _neighbour_corr(ct.add_ct_noise(flat, seed=0)) > 0.4
    assert abs(_neighbour_corr(ct.add_ct_noise(flat, corr=0, seed=0))) < 0.05


def test_noise_on_tensors_stays_a_tensor():
    flat = torch.zeros(8, 1, 64, 64)
    noisy = ct.add_ct_noise(flat, sd=12.0, seed=0)
    assert isinstance(noisy, torch.Tensor) and noisy.device == flat.device
    assert noisy.shape == flat.shape and noisy.dtype == torch.float32
    assert float(noisy.std()) == pytest.approx(12.0, rel=0.08)
    assert torch.equal(noisy, ct.add_ct_noise(flat, sd=12.0, seed=0))
    assert float(ct.low_dose(noisy, 0.25, seed=1).std()) == pytest.approx(24.0, rel=0.08)


# ------------------------------------------------------------ kernel, slices


def test_scanner_kernels():
    noise = ct.add_ct_noise(np.zeros((8, 96, 96), np.float32), seed=0)
    sds = {k: ct.scanner_kernel(noise, k).std() for k in ("soft", "standard", "sharp")}
    assert sds["soft"] < sds["standard"] < sds["sharp"]
    edge = np.zeros((1, 32, 32), np.float32)
    edge[..., 16:] = 100.0
    sharp = ct.scanner_kernel(edge, "sharp")
    assert sharp.max() > 105 and sharp.min() < -5  # overshoot on both sides of the edge
    assert ct.scanner_kernel(edge, "soft")[0, 0, 15] > 0  # blurred edge
    t = ct.scanner_kernel(torch.from_numpy(edge), "soft")
    np.testing.assert_allclose(t.numpy(), ct.scanner_kernel(edge, "soft"), atol=1e-4)
    standard = ct.scanner_kernel(edge, "standard")
    assert np.array_equal(standard, edge) and standard is not edge
    with pytest.raises(ValueError, match="sharp"):
        ct.scanner_kernel(edge, "bone")


def test_blur_is_a_gaussian_to_2_5_sd_with_mirrored_edges():
    impulse, corner = np.zeros((2, 1, 15, 15), np.float32)
    impulse[0, 7, 7] = corner[0, 0, 0] = 1.0
    for sigma in (0.8, 1.3):  # 0.8: the soft kernel
        r = math.ceil(2.5 * sigma)
        taps = np.exp(-(np.arange(-r, r + 1) ** 2) / (2 * sigma**2))
        taps /= taps.sum()
        both = np.stack([impulse, corner])
        tensor = ct.gaussian_blur(torch.from_numpy(both), sigma).numpy()
        for blur in (ct.gaussian_blur(both, sigma), tensor):
            got = blur[0, 0, 7 - r : 8 + r, 7 - r : 8 + r]
            np.testing.assert_allclose(got, np.outer(taps, taps), atol=1e-6)
            # mirrored edge: the edge pixel is not repeated (scipy's "reflect" would repeat it)
            got = blur[1, 0, : r + 1, : r + 1]
            np.testing.assert_allclose(got, np.outer(taps[r:], taps[r:]), atol=1e-6)
    soft = ct.scanner_kernel(impulse, "soft")
    np.testing.assert_array_equal(soft, ct.gaussian_blur(impulse, 0.8))
    assert np.array_equal(ct.gaussian_blur(impulse, 0), impulse)  # sigma 0: no blur
    assert torch.equal(ct.gaussian_blur(torch.from_numpy(impulse), 0), torch.from_numpy(impulse))


def test_thick_slices_average_neighbours():
    vol = np.arange(5, dtype=np.float32)[:, None, None] * np.ones((5, 2, 2), np.float32)
    thick = ct.thick_slices(vol, 2)
    assert thick.shape == (2, 2, 2) and thick[:, 0, 0].tolist() == [0.5, 2.5]
    assert torch.equal(ct.thick_slices(torch.from_numpy(vol), 2), torch.from_numpy(thick))
    noise = ct.add_ct_noise(np.zeros((16, 32, 32), np.float32), corr=0, seed=0)
    assert ct.thick_slices(noise, 4).std() == pytest.approx(noise.std() / 2, rel=0.1)
    with pytest.raises(ValueError, match="too few"):
        ct.thick_slices(vol, 8)
