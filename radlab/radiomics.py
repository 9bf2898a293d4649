"""Radiomics: hand-made image features and a scikit-learn classifier, beside the CNN (lesson 10).

Before end-to-end CNNs, a computer read an image through numbers chosen by
people: how bright a region is on average and how much it varies
(first-order or histogram features), and how grey levels sit next to each
other (texture, from the grey-level co-occurrence matrix, GLCM). A classical
classifier then learns from those numbers. This module computes both kinds
of feature for a whole set of images at once and builds the classifier, so a
lesson can put radiomics and a CNN side by side on the same cases.

Conventions:

- Images are scaled to [0, 1], as ``rl.data`` loads MedMNIST (a CT in HU must
  be windowed first, e.g. ``rl.window(hu, preset="abdomen")``). A set of
  images is (N, H, W) or (N, 1, H, W), NumPy or torch; one (H, W) image counts
  as a set of one.
- A mask (same shape as the images, 0/1 or True/False) limits every feature
  to the region of interest (ROI), as a radiologist's outline does in
  radiomics; without masks the whole image is the region.
- The grey-level bins are FIXED over [0, 1], the same for every image, not
  stretched to each image's own minimum and maximum, so a feature means the
  same thing in every image and the numbers compare across images.

Every function returns ``(features, names)``: an (N, F) float array, one row
per image, and the F feature names in column order.

Example:
    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((10, 28, 28))
    >>> F, names = features(images)
    >>> F.shape, names[0], names[-1]
    ((10, 20), 'mean', 'glcm_ASM_d2')
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .config import to_numpy

__all__ = [
    "HISTOGRAM_BINS",
    "GLCM_ANGLES",
    "GLCM_PROPERTIES",
    "first_order",
    "quantize",
    "glcm",
    "features",
    "classifier",
]

HISTOGRAM_BINS = 32  # equal bins over [0, 1] for the histogram entropy (width 1/32)
GLCM_ANGLES = (0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4)  # right, up-right, up, up-left neighbour
GLCM_PROPERTIES = ("contrast", "dissimilarity", "homogeneity", "energy", "correlation", "ASM")
_CHUNK = 256  # images whose co-occurrence matrices are held in memory at once
_CLASSIFIERS = ("logistic", "svm", "forest")
_TOLERANCE = 1e-6  # rounding in a [0, 1] image (float32) is not an error


# ---------------------------------------------------------------- input helpers --


def _images(images) -> np.ndarray:
    """A set of images as float64 (N, H, W), checked to lie in [0, 1]."""
    array = np.asarray(to_numpy(images), dtype=np.float64)
    if array.ndim == 2:
        array = array[None]  # one image: a set of one
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]  # (N, 1, H, W): one channel
    if array.ndim != 3 or array.shape[0] == 0:
        raise ValueError(
            f"Expected a set of grey images shaped (N, H, W) or (N, 1, H, W), got shape "
            f"{array.shape}. For colour pictures, convert to grey first."
        )
    if not np.isfinite(array).all():
        raise ValueError("The images hold NaN or infinite values; these features need numbers.")
    low, high = float(array.min()), float(array.max())
    if low < -_TOLERANCE or high > 1 + _TOLERANCE:
        raise ValueError(
            f"These features expect images scaled to [0, 1] (as rl.data loads them), but the "
            f"values run from {low:g} to {high:g}. Window a CT in HU first, e.g. "
            "rl.window(hu, preset='abdomen'), or divide 8-bit pixels by 255."
        )
    return np.clip(array, 0.0, 1.0)


def _masks(masks, shape: tuple[int, ...]) -> np.ndarray:
    """Masks as bool (N, H, W), one per image, each with at least one pixel inside."""
    if masks is None:
        return np.ones(shape, dtype=bool)
    array = to_numpy(masks)
    if array.ndim == 2:
        array = array[None]
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    if array.shape != shape:
        raise ValueError(
            f"One mask per image of the same size is needed: the images are {shape}, "
            f"the masks {tuple(array.shape)}."
        )
    if not np.isin(array, (0, 1)).all():
        raise ValueError(
            "The masks hold values other than 0 and 1: give a 0/1 outline of the region "
            "(threshold a probability first, e.g. probability > 0.5)."
        )
    array = array.astype(bool)
    empty = np.flatnonzero(~array.any(axis=(1, 2)))
    if empty.size:
        raise ValueError(
            f"The masks of images {empty[:5].tolist()} are empty: a feature of a region "
            "needs at least one pixel in it. Leave those images out, or outline their region."
        )
    return array


# ---------------------------------------------------------------- first order --


def _entropy(x: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Shannon entropy in bits of each image's histogram: HISTOGRAM_BINS equal bins on [0, 1]."""
    n = x.shape[0]
    bins = np.minimum((x * HISTOGRAM_BINS).astype(np.int64), HISTOGRAM_BINS - 1)  # 1.0: top bin
    offset = bins + HISTOGRAM_BINS * np.arange(n)[:, None, None]  # one run of bins per image
    counts = np.bincount(offset[inside], minlength=n * HISTOGRAM_BINS).reshape(n, HISTOGRAM_BINS)
    p = counts / counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(p), 0.0)  # an empty bin adds nothing
    return terms.sum(axis=1)


def _percentiles(x: np.ndarray, inside: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """(N, len(q)) percentiles of each image's ROI (NumPy's default linear interpolation)."""
    if inside.all():
        return np.percentile(x.reshape(len(x), -1), q, axis=1).T
    flat = np.where(inside, x, np.nan).reshape(len(x), -1)
    return np.nanpercentile(flat, q, axis=1).T


def first_order(images, masks=None) -> tuple[np.ndarray, list[str]]:
    """First-order (histogram) features of each image, within its mask when given.

    The features, in column order, computed from the pixel values in the region:

    - ``mean``: average brightness.
    - ``sd``: standard deviation (spread; divided by n, as ``np.std``).
    - ``skewness``: asymmetry of the histogram (``scipy.stats.skew``); > 0 means
      a tail of bright pixels.
    - ``kurtosis``: EXCESS kurtosis (``scipy.stats.kurtosis``' default: 0 for a
      normal distribution); > 0 means heavy tails, a few extreme pixels.
    - ``entropy``: Shannon entropy in bits of a histogram with 32 equal bins on
      [0, 1] (``HISTOGRAM_BINS``): 0 when all pixels share one bin, at most 5 bits
      (log2 32) when they spread evenly over all bins.
    - ``p10``, ``p90``: the 10th and 90th percentiles (``np.percentile``).
    - ``energy``: mean of the squared values (bright, large regions score high).

    A region of one flat value has no shape to its histogram: its skewness and
    kurtosis are given as 0 here (scipy gives NaN, which a classifier cannot use).

    Args:
        images: (N, H, W) or (N, 1, H, W) images in [0, 1]; one (H, W) image is a set of one.
        masks: optional 0/1 masks of the same shape, one region per image.

    Returns:
        ``(features, names)``: an (N, 8) array and the 8 names above.

    Example:
        >>> import numpy as np
        >>> F, names = first_order(np.array([[0.0, 0.5], [0.5, 1.0]]))
        >>> dict(zip(names, F[0].round(3).tolist()))["mean"], F.shape
        (0.5, (1, 8))
    """
    x = _images(images)
    inside = _masks(masks, x.shape)
    w = inside.astype(np.float64)
    count = w.sum(axis=(1, 2))  # (N,) pixels in each region
    mean = (x * w).sum(axis=(1, 2)) / count
    centred = (x - mean[:, None, None]) * w  # 0 outside the region
    m2, m3, m4 = ((centred**k).sum(axis=(1, 2)) / count for k in (2, 3, 4))  # central moments
    flat = m2 <= 1e-14 * np.maximum(mean**2, 1e-12)  # one value only: no histogram shape
    safe = np.where(flat, 1.0, m2)
    skewness = np.where(flat, 0.0, m3 / safe**1.5)
    kurtosis = np.where(flat, 0.0, m4 / safe**2 - 3.0)
    p10, p90 = _percentiles(x, inside, (10, 90)).T
    energy = (x**2 * w).sum(axis=(1, 2)) / count
    columns = [mean, np.sqrt(m2), skewness, kurtosis, _entropy(x, inside), p10, p90, energy]
    names = ["mean", "sd", "skewness", "kurtosis", "entropy", "p10", "p90", "energy"]
    return np.stack(columns, axis=1), names


# ----------------------------------------------------------------------- GLCM --


def quantize(images, levels: int = 32) -> np.ndarray:
    """Grey levels 0..levels-1 from [0, 1] images: equal bins over the FIXED range [0, 1].

    Level k holds the values in [k / levels, (k + 1) / levels); 1.0 joins the top level.
    The range is the same for every image, so level 10 is the same brightness everywhere.

    Example:
        >>> quantize([[0.0, 0.3], [0.5, 1.0]], levels=4).tolist()
        [[[0, 1], [2, 3]]]
    """
    x = _images(images)
    return np.minimum((x * levels).astype(np.int64), levels - 1)


def _glcm_chunk(q, inside, levels, distances, angles) -> np.ndarray:
    """Co-occurrence matrices (levels, levels, D, A * n) of a few images, outside pixels left out.

    Level 0 stands for "outside the mask" while counting; its row and column are dropped
    after, so only pairs with both pixels inside the region count.
    """
    from skimage.feature import graycomatrix

    dtype = np.uint8 if levels + 1 <= 256 else np.uint16
    coded = np.where(inside, q + 1, 0).astype(dtype)
    matrices = [
        graycomatrix(image, distances, angles, levels=levels + 1, symmetric=True, normed=False)[
            1:, 1:
        ]
        for image in coded
    ]
    return np.concatenate(matrices, axis=3)  # images side by side along the angle axis


def glcm(
    images,
    masks=None,
    *,
    levels: int = 32,
    distances: Sequence[int] = (1, 2),
    angles: Sequence[float] = GLCM_ANGLES,
) -> tuple[np.ndarray, list[str]]:
    """Texture features from the grey-level co-occurrence matrix (GLCM), per image.

    Each image is cut into ``levels`` grey levels over the fixed range [0, 1]
    (see ``quantize``; the images must already lie in [0, 1]). For each
    distance d and direction, the GLCM counts how often a pixel of level i has
    a neighbour d pixels away of level j (both ways round: symmetric), as a
    share of all such pairs (normed); with a mask, only pairs with both pixels
    inside the region count. scikit-image's ``graycomatrix`` counts the pairs
    and ``graycoprops`` turns each matrix into six numbers:

    - ``contrast``: sum of P(i, j) (i - j)^2; large when neighbours differ a lot (fine,
      busy texture).
    - ``dissimilarity``: sum of P(i, j) |i - j|, the same idea growing linearly.
    - ``homogeneity``: sum of P(i, j) / (1 + (i - j)^2); large when neighbours are alike.
    - ``energy``: the square root of ASM.
    - ``correlation``: how predictable a neighbour's level is from the pixel's (1 = fully).
    - ``ASM`` (angular second moment): sum of P(i, j)^2; large for few, repeated pairs.

    Each is averaged over the four directions (0, 45, 90, 135 degrees), so the
    number does not change when the texture is rotated by 90 degrees, and kept
    per distance: ``glcm_contrast_d1``, ``glcm_contrast_d2``, ... A region with
    no pair of pixels at some distance and direction (a mask of one pixel) gives NaN.

    Args:
        images: (N, H, W) or (N, 1, H, W) images in [0, 1].
        masks: optional 0/1 masks of the same shape.
        levels: number of grey levels (2 to 65535); 32 keeps the matrices small for 28 px images.
        distances: neighbour distances in pixels.
        angles: directions in radians, averaged over.

    Returns:
        ``(features, names)``: an (N, 6 * len(distances)) array and its names,
        property by property, each at every distance.

    Example:
        >>> import numpy as np
        >>> stripes = np.tile([0.0, 1.0], (4, 2))  # columns alternate black and white
        >>> F, names = glcm(stripes, levels=2, distances=(1,), angles=(0.0,))
        >>> dict(zip(names, F[0].tolist()))["glcm_contrast_d1"]
        1.0
    """
    from skimage.feature import graycoprops

    if not 2 <= int(levels) <= 65535:
        raise ValueError(f"levels={levels}: use between 2 and 65535 grey levels (e.g. 32).")
    distances, angles = [int(d) for d in distances], [float(a) for a in angles]
    if not distances or min(distances) < 1 or not angles:
        raise ValueError("Give at least one distance (whole pixels, 1 or more) and one angle.")
    x = _images(images)
    inside = _masks(masks, x.shape)
    q = np.minimum((x * levels).astype(np.int64), levels - 1)
    n, n_dist, n_angle = len(x), len(distances), len(angles)
    out = np.empty((n, len(GLCM_PROPERTIES), n_dist))
    for start in range(0, n, _CHUNK):
        part = slice(start, start + _CHUNK)
        counts = _glcm_chunk(q[part], inside[part], levels, distances, angles)
        pairs = counts.sum(axis=(0, 1))  # (D, A * n): pairs counted in each matrix
        for k, prop in enumerate(GLCM_PROPERTIES):
            values = graycoprops(counts, prop)  # normalises each matrix to sum 1 first
            values = np.where(pairs > 0, values, np.nan)  # no pairs: nothing to describe
            values = values.reshape(n_dist, -1, n_angle).mean(axis=2)  # (D, n): mean over angles
            out[part, k, :] = values.T
    names = [f"glcm_{prop}_d{d}" for prop in GLCM_PROPERTIES for d in distances]
    return out.reshape(n, -1), names


# ------------------------------------------------------------- all together --


def features(images, masks=None, *, levels: int = 32) -> tuple[np.ndarray, list[str]]:
    """First-order and GLCM features side by side: the radiomics table of a set of images.

    Args:
        images: (N, H, W) or (N, 1, H, W) images in [0, 1].
        masks: optional 0/1 masks of the same shape.
        levels: grey levels of the GLCM (see ``glcm``).

    Returns:
        ``(features, names)``: (N, 8 + 12) with the default GLCM (two distances).

    Example:
        >>> import numpy as np
        >>> F, names = features(np.random.default_rng(1).random((3, 16, 16)))
        >>> F.shape, names[:2], names[8]
        ((3, 20), ['mean', 'sd'], 'glcm_contrast_d1')
    """
    first, first_names = first_order(images, masks)
    texture, texture_names = glcm(images, masks, levels=levels)
    return np.concatenate([first, texture], axis=1), first_names + texture_names


def classifier(kind: str = "logistic", *, seed: int = 0):
    """A scikit-learn classifier for radiomics features: scale each feature, then the model.

    A ``Pipeline`` of ``StandardScaler`` (each feature to mean 0, SD 1 on the
    training cases, so a feature measured in large numbers does not dominate)
    and one of:

    - ``"logistic"``: logistic regression (the simplest; its weights can be read).
    - ``"svm"``: a support vector machine with an RBF kernel (as in radiomics
      papers, e.g. Wang's SVM beside a CNN); its probabilities come from Platt
      scaling (a logistic curve on the SVM's output) fitted by 5-fold
      cross-validation on the training cases.
    - ``"forest"``: a random forest of 300 trees.

    Use it as any scikit-learn model: ``clf.fit(F_train, y_train)``, then
    ``clf.predict_proba(F_test)[:, 1]`` for the probability of class 1.
    More than two classes work too (one column of probabilities per class).

    Args:
        kind: "logistic", "svm" or "forest".
        seed: fixes the random parts (the forest's trees; the logistic regression and the SVM
            have none here), so a run repeats.

    Example:
        >>> import numpy as np
        >>> X = np.array([[0.0], [0.1], [0.9], [1.0]]); y = [0, 0, 1, 1]
        >>> classifier("logistic").fit(X, y).predict([[0.05], [0.95]]).tolist()
        [0, 1]
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    if kind == "logistic":
        model = LogisticRegression(max_iter=2000, random_state=seed)
    elif kind == "svm":
        # Platt scaling on cross-validated decision values (what SVC(probability=True) did;
        # scikit-learn 1.9 deprecates that switch in favour of this wrapper)
        model = CalibratedClassifierCV(SVC(kernel="rbf"), method="sigmoid", ensemble=False)
    elif kind == "forest":
        model = RandomForestClassifier(n_estimators=300, random_state=seed)
    else:
        raise ValueError(f"kind={kind!r} is not known; use one of {', '.join(_CLASSIFIERS)}.")
    return Pipeline([("scale", StandardScaler()), (kind, model)])
