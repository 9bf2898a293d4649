"""radlab.radiomics against scipy, numpy, scikit-image and a GLCM counted by hand."""

import time

import numpy as np
import pytest
from scipy import stats
from skimage.feature import graycomatrix, graycoprops
from sklearn.metrics import roc_auc_score

from radlab import radiomics


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((12, 28, 28))


def named(F: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    return {name: F[:, i] for i, name in enumerate(names)}


def reference_first_order(values: np.ndarray) -> dict[str, float]:
    """The eight first-order features of one region's pixel values, from scipy and numpy."""
    counts, _ = np.histogram(values, bins=radiomics.HISTOGRAM_BINS, range=(0.0, 1.0))
    return {
        "mean": np.mean(values),
        "sd": np.std(values),
        "skewness": stats.skew(values),
        "kurtosis": stats.kurtosis(values),  # excess (Fisher), scipy's default
        "entropy": stats.entropy(counts, base=2),
        "p10": np.percentile(values, 10),
        "p90": np.percentile(values, 90),
        "energy": np.mean(values**2),
    }


# ---------------------------------------------------------------- first order --


def test_first_order_matches_scipy_and_numpy(images):
    F, names = radiomics.first_order(images)
    assert F.shape == (len(images), 8)
    got = named(F, names)
    for i, image in enumerate(images):
        for name, value in reference_first_order(image.ravel()).items():
            assert got[name][i] == pytest.approx(value, rel=1e-9, abs=1e-12), name


def test_first_order_within_a_mask_uses_only_the_region(images):
    rng = np.random.default_rng(1)
    masks = rng.random(images.shape) < 0.3  # scattered regions, a different one per image
    F, names = radiomics.first_order(images, masks)
    got = named(F, names)
    for i, (image, mask) in enumerate(zip(images, masks)):
        for name, value in reference_first_order(image[mask]).items():
            assert got[name][i] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    changed = np.where(masks, images, 1.0 - images)  # every pixel outside the masks changed
    assert np.array_equal(radiomics.first_order(changed, masks)[0], F)


def test_first_order_takes_tensors_and_channel_axes(images):
    import torch

    as_tensor = torch.tensor(images[:, None], dtype=torch.float32)  # (N, 1, H, W)
    F, _ = radiomics.first_order(as_tensor)
    reference, _ = radiomics.first_order(images.astype(np.float32))
    np.testing.assert_allclose(F, reference, rtol=1e-9)
    one, _ = radiomics.first_order(images[0])  # one (H, W) image: a set of one
    assert one.shape == (1, 8)


def test_a_flat_region_has_zero_skewness_and_kurtosis_not_nan():
    F, names = radiomics.first_order(np.full((1, 8, 8), 0.4))
    got = named(F, names)
    assert got["sd"][0] == pytest.approx(0.0, abs=1e-12)
    assert got["skewness"][0] == 0.0 and got["kurtosis"][0] == 0.0
    assert got["entropy"][0] == 0.0  # every pixel in one bin


def test_entropy_of_a_uniform_spread_is_log2_of_the_bins():
    bins = radiomics.HISTOGRAM_BINS
    centres = (np.arange(bins) + 0.5) / bins  # one pixel in the middle of each bin
    F, names = radiomics.first_order(centres.reshape(1, 4, bins // 4))
    assert named(F, names)["entropy"][0] == pytest.approx(np.log2(bins))


# ----------------------------------------------------------------------- GLCM --

# scikit-image's documentation example, 4 grey levels
SMALL = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 2, 2, 2], [2, 2, 3, 3]])


def test_quantize_uses_fixed_equal_bins_over_zero_to_one():
    levels = radiomics.quantize(np.array([0.0, 0.249, 0.25, 0.74, 0.75, 1.0]).reshape(2, 3), 4)
    assert levels.tolist() == [[[0, 0, 1], [2, 3, 3]]]
    dark = radiomics.quantize(np.full((4, 4), 0.1), 32)  # a dark image stays dark:
    assert np.all(dark == 3)  # no stretching to its own range


def test_glcm_matches_a_hand_counted_matrix():
    image = (SMALL + 0.5) / 4  # the middle of each level's bin in [0, 1]
    F, names = radiomics.glcm(image, levels=4, distances=(1,), angles=(0.0,))
    got = {name: F[0, i] for i, name in enumerate(names)}
    # horizontal neighbours (pixel, right neighbour), counted by hand: 12 pairs
    one_way = np.zeros((4, 4))
    for pair, count in {(0, 0): 2, (0, 1): 2, (1, 1): 2, (0, 2): 1, (2, 2): 3, (2, 3): 1}.items():
        one_way[pair] = count
    one_way[3, 3] = 1
    assert one_way.sum() == 12
    P = (one_way + one_way.T) / 24  # symmetric and normed
    i, j = np.indices(P.shape)
    mu_i, mu_j = (i * P).sum(), (j * P).sum()
    sd_i, sd_j = np.sqrt((P * (i - mu_i) ** 2).sum()), np.sqrt((P * (j - mu_j) ** 2).sum())
    expected = {
        "contrast": (P * (i - j) ** 2).sum(),
        "dissimilarity": (P * abs(i - j)).sum(),
        "homogeneity": (P / (1 + (i - j) ** 2)).sum(),
        "ASM": (P**2).sum(),
        "energy": np.sqrt((P**2).sum()),
        "correlation": (P * (i - mu_i) * (j - mu_j)).sum() / (sd_i * sd_j),
    }
    assert expected["contrast"] == pytest.approx(14 / 24)  # scikit-image's docs give 0.5833
    for prop, value in expected.items():
        assert got[f"glcm_{prop}_d1"] == pytest.approx(value, rel=1e-12), prop


def test_glcm_matches_graycoprops_averaged_over_four_angles(images):
    F, names = radiomics.glcm(images)
    assert len(names) == 12 and names[:2] == ["glcm_contrast_d1", "glcm_contrast_d2"]
    got = named(F, names)
    angles = [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]
    for n, image in enumerate(images[:4]):
        levels = np.minimum((image * 32).astype(np.uint8), 31)
        P = graycomatrix(levels, [1, 2], angles, levels=32, symmetric=True, normed=True)
        for prop in radiomics.GLCM_PROPERTIES:
            per_distance = graycoprops(P, prop).mean(axis=1)  # (distances, angles) -> mean
            for k, d in enumerate((1, 2)):
                assert got[f"glcm_{prop}_d{d}"][n] == pytest.approx(per_distance[k], rel=1e-10)


def test_glcm_within_a_rectangle_equals_the_glcm_of_the_cropped_image(images):
    masks = np.zeros(images.shape, dtype=bool)
    masks[:, 3:15, 4:20] = True
    F, _ = radiomics.glcm(images, masks)
    cropped, _ = radiomics.glcm(images[:, 3:15, 4:20])
    np.testing.assert_allclose(F, cropped, rtol=1e-12)
    changed = np.where(masks, images, 0.0)  # nothing outside the region counts
    np.testing.assert_array_equal(radiomics.glcm(changed, masks)[0], F)


def test_fine_texture_has_more_contrast_and_less_homogeneity_than_coarse():
    rng = np.random.default_rng(2)
    fine = rng.random((5, 32, 32))  # every pixel on its own
    coarse = np.stack([np.kron(rng.random((8, 8)), np.ones((4, 4))) for _ in range(5)])  # 4 px
    F_fine, names = radiomics.glcm(fine)
    F_coarse, _ = radiomics.glcm(coarse)
    fine_, coarse_ = named(F_fine, names), named(F_coarse, names)
    assert np.all(fine_["glcm_contrast_d1"] > 2 * coarse_["glcm_contrast_d1"])
    assert np.all(fine_["glcm_homogeneity_d1"] < coarse_["glcm_homogeneity_d1"])
    assert np.all(fine_["glcm_correlation_d1"] < coarse_["glcm_correlation_d1"])
    # the histograms are alike: first-order features cannot tell the two apart as well
    first_fine, first_names = radiomics.first_order(fine)
    first_coarse, _ = radiomics.first_order(coarse)
    mean_index = first_names.index("mean")
    assert abs(first_fine[:, mean_index].mean() - first_coarse[:, mean_index].mean()) < 0.1


def test_rotating_by_90_degrees_keeps_the_glcm_features(images):
    F, _ = radiomics.glcm(images)
    rotated, _ = radiomics.glcm(np.rot90(images, axes=(1, 2)))
    np.testing.assert_allclose(rotated, F, rtol=1e-10)


def test_a_region_with_no_neighbour_pairs_gives_nan():
    mask = np.zeros((1, 6, 6), dtype=bool)
    mask[0, 2, 2] = True  # one pixel: no pair at any distance
    F, _ = radiomics.glcm(np.full((1, 6, 6), 0.5), mask)
    assert np.isnan(F).all()


# ------------------------------------------------------------- all together --


def test_features_are_first_order_then_glcm(images):
    F, names = radiomics.features(images)
    first, first_names = radiomics.first_order(images)
    texture, texture_names = radiomics.glcm(images)
    assert names == first_names + texture_names and len(set(names)) == len(names)
    np.testing.assert_array_equal(F, np.concatenate([first, texture], axis=1))


def textured_cases(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Class 1: fine-grained texture; class 0: coarse blobs; the same brightness on average."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    blocks = [2 if label else 4 for label in y]
    x = np.stack([np.kron(rng.random((28 // b, 28 // b)), np.ones((b, b))) for b in blocks])
    x = np.clip(0.5 * x + 0.25 + rng.normal(0, 0.05, x.shape), 0, 1)
    return x, y


@pytest.mark.parametrize("kind", ["logistic", "svm", "forest"])
def test_the_classifier_beats_chance_on_a_texture_task(kind):
    x_train, y_train = textured_cases(80, seed=3)
    x_test, y_test = textured_cases(60, seed=4)
    F_train, _ = radiomics.features(x_train)
    F_test, _ = radiomics.features(x_test)
    clf = radiomics.classifier(kind, seed=0)
    clf.fit(F_train, y_train)
    probability = clf.predict_proba(F_test)[:, 1]
    assert probability.shape == (60,) and np.all((0 <= probability) & (probability <= 1))
    assert roc_auc_score(y_test, probability) > 0.9
    assert list(clf.named_steps) == ["scale", kind]


def test_the_classifier_repeats_with_its_seed():
    x, y = textured_cases(40, seed=5)
    F, _ = radiomics.features(x)
    a = radiomics.classifier("forest", seed=1).fit(F, y).predict_proba(F)
    b = radiomics.classifier("forest", seed=1).fit(F, y).predict_proba(F)
    np.testing.assert_array_equal(a, b)


def test_a_thousand_small_images_take_seconds_not_minutes():
    x = np.random.default_rng(6).random((1000, 28, 28)).astype(np.float32)
    start = time.perf_counter()
    F, _ = radiomics.features(x)
    assert F.shape == (1000, 20)
    assert time.perf_counter() - start < 10  # about 0.4 s on a busy 2-core machine


# ------------------------------------------------------------------- mistakes --


def test_images_in_hounsfield_units_are_refused_with_what_to_do():
    hu = np.random.default_rng(7).normal(40, 100, (2, 16, 16))
    with pytest.raises(ValueError, match=r"\[0, 1\].*rl.window"):
        radiomics.features(hu)


def test_an_empty_mask_names_its_image(images):
    masks = np.ones(images.shape, dtype=bool)
    masks[3] = False
    with pytest.raises(ValueError, match=r"images \[3\] are empty"):
        radiomics.first_order(images, masks)
    with pytest.raises(ValueError, match="same size"):
        radiomics.glcm(images, masks[:, :10])
    with pytest.raises(ValueError, match="0 and 1"):
        radiomics.glcm(images, masks * 0.5)


def test_an_unknown_classifier_lists_the_known_ones():
    with pytest.raises(ValueError, match="logistic, svm, forest"):
        radiomics.classifier("cnn")
