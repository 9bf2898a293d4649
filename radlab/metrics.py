"""How good is the model? The clinical metrics of lesson 06, backed by scikit-learn.

Conventions used throughout:

- Labels: ``1`` = the finding is present (disease, positive), ``0`` = absent.
  MedMNIST-style ``(N, 1)`` label arrays are accepted and flattened.
- Scores: any number that is larger when the finding is more likely (a
  probability, a logit). A two-column ``(N, 2)`` score uses column 1, the
  positive class. A case is called positive when ``score >= threshold``
  (the convention of :func:`sklearn.metrics.roc_curve`).
- The reference standard comes first in every function (``y_true``: labels,
  the reference mask or image, survival times and events), then what the
  model gave (``y_pred``: calls, a mask or an image; ``score``: scores).
- Inputs may be NumPy arrays, lists or torch tensors (on any device); they
  are copied to NumPy on the CPU once (``rl.config.to_numpy``), and results
  are plain Python floats or NumPy arrays.
- A metric that is not defined for the data (sensitivity with no diseased
  case, AUC with a single class) returns ``nan`` rather than stopping the
  lesson; :func:`bootstrap_ci` skips such resamples and counts them.

Example:
    >>> y = [0, 0, 1, 1]
    >>> round(auc(y, [0.1, 0.4, 0.35, 0.8]), 2)
    0.75
    >>> confusion(y, [0, 1, 1, 1])
    {'tp': 2, 'fp': 1, 'tn': 1, 'fn': 0}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from sklearn import metrics as skm

from . import config
from .config import to_numpy

__all__ = [
    "confusion",
    "confusion_matrix",
    "sensitivity",
    "specificity",
    "ppv",
    "npv",
    "accuracy",
    "ppv_npv_at_prevalence",
    "roc",
    "auc",
    "operating_point",
    "apply_threshold",
    "dice",
    "dice_per_class",
    "concordance_index",
    "BootstrapCI",
    "bootstrap_ci",
    "psnr",
    "ssim",
    "summary",
]

_RULES = ("youden", "sensitivity", "specificity")


# ---------------------------------------------------------------- input helpers
def _labels(y) -> np.ndarray:
    """Labels as a 1-D integer array; MedMNIST's (N, 1) label arrays are flattened."""
    y = to_numpy(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            f"Expected one label per case (shape (N,)), got shape {y.shape}. "
            "For multi-label data, evaluate one finding at a time."
        )
    if y.dtype.kind not in "biuf":
        return y  # class names ("benign", "malignant"): for confusion_matrix and accuracy only
    if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
        raise ValueError(
            "These labels are not whole numbers: did you pass scores or probabilities "
            "where the true labels (0 = absent, 1 = present) belong? Use apply_threshold() first."
        )
    return y.astype(np.int64)


def _binary(y, what: str = "labels") -> np.ndarray:
    """Two-class labels (0 = absent, 1 = present), checked."""
    y = _labels(y)
    bad = np.setdiff1d(np.unique(y), [0, 1]) if y.dtype.kind in "biu" else np.unique(y)
    if bad.size:
        raise ValueError(
            f"These {what} should be 0 (finding absent) or 1 (finding present) but also hold "
            f"{bad[:5].tolist()}. For more than two classes use confusion_matrix() or auc() "
            "with an (N, K) score."
        )
    return y


def _score(score) -> np.ndarray:
    """A binary score as a 1-D float array: (N,), (N, 1), or column 1 of (N, 2)."""
    s = to_numpy(score).astype(np.float64)
    if s.ndim == 2 and s.shape[1] in (1, 2):
        s = s[:, -1]  # (N, 2): probability of the positive class
    if s.ndim != 1:
        raise ValueError(
            f"Expected one score per case (shape (N,) or (N, 2)), got shape {s.shape}. "
            "For K > 2 classes, score one class against the rest: roc(y == k, score[:, k])."
        )
    return s


def _same_length(*arrays: np.ndarray) -> None:
    sizes = {len(a) for a in arrays}
    if len(sizes) > 1:
        raise ValueError(
            f"Every input needs one entry per case, but the lengths differ: {sorted(sizes)}."
        )


def _ratio(num: int, den: int) -> float:
    """num / den, or nan when the denominator is zero (the metric is undefined)."""
    return float(num) / den if den else float("nan")


# ------------------------------------------------------- 2 x 2 table metrics
def confusion(y_true, y_pred) -> dict[str, int]:
    """The 2 x 2 table of a two-class test: true/false positives and negatives.

    Args:
        y_true: the reference standard, 0 = finding absent, 1 = present.
        y_pred: the test's call for each case, 0 or 1 (see :func:`apply_threshold`).

    Returns:
        ``{"tp", "fp", "tn", "fn"}`` as counts of cases.
    """
    t, p = _binary(y_true), _binary(y_pred, "predictions")
    _same_length(t, p)
    t, p = t.astype(bool), p.astype(bool)
    return {
        "tp": int(np.sum(t & p)),
        "fp": int(np.sum(~t & p)),
        "tn": int(np.sum(~t & ~p)),
        "fn": int(np.sum(t & ~p)),
    }


def confusion_matrix(y_true, y_pred, labels: Sequence | None = None) -> np.ndarray:
    """The confusion matrix for any number of classes (scikit-learn's).

    Rows are the true class and columns the predicted class, in the order of
    ``labels`` (default: the sorted classes present). Note that many radiology
    papers print the transposed table (test result in rows).
    """
    t, p = _labels(y_true), _labels(y_pred)
    return skm.confusion_matrix(t, p, labels=labels)


def sensitivity(y_true, y_pred) -> float:
    """Sensitivity (recall, true positive rate): the share of diseased cases called positive."""
    c = confusion(y_true, y_pred)
    return _ratio(c["tp"], c["tp"] + c["fn"])


def specificity(y_true, y_pred) -> float:
    """Specificity (true negative rate): the share of healthy cases the test calls negative."""
    c = confusion(y_true, y_pred)
    return _ratio(c["tn"], c["tn"] + c["fp"])


def ppv(y_true, y_pred) -> float:
    """Positive predictive value (precision): the share truly diseased of the cases called positive.

    Depends on the prevalence in this data set; see :func:`ppv_npv_at_prevalence`.
    """
    c = confusion(y_true, y_pred)
    return _ratio(c["tp"], c["tp"] + c["fp"])


def npv(y_true, y_pred) -> float:
    """Negative predictive value: of the cases called negative, the share truly healthy."""
    c = confusion(y_true, y_pred)
    return _ratio(c["tn"], c["tn"] + c["fn"])


def accuracy(y_true, y_pred) -> float:
    """Accuracy: the share of all cases called correctly (any number of classes)."""
    t, p = _labels(y_true), _labels(y_pred)
    _same_length(t, p)
    return float(skm.accuracy_score(t, p))


def ppv_npv_at_prevalence(sensitivity: float, specificity: float, prevalence: float) -> tuple:
    """PPV and NPV of a test with the given sensitivity and specificity at another prevalence.

    Bayes' rule: PPV = Se p / (Se p + (1 - Sp)(1 - p)) and
    NPV = Sp (1 - p) / (Sp (1 - p) + (1 - Se) p). A test with sensitivity and
    specificity 0.9 has PPV 0.5 at prevalence 50% but only about 0.083 at 1%
    (screening). Any argument may be an array (e.g. a range of prevalences).

    Returns:
        ``(ppv, npv)``, floats (or arrays when an argument is an array).
    """
    se, sp, p = (np.asarray(v, dtype=np.float64) for v in (sensitivity, specificity, prevalence))
    if np.any((se < 0) | (se > 1) | (sp < 0) | (sp > 1) | (p < 0) | (p > 1)):
        raise ValueError(
            "Sensitivity, specificity and prevalence are proportions between 0 and 1 "
            "(e.g. 0.9, not 90)."
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        pos = se * p / (se * p + (1 - sp) * (1 - p))
        neg = sp * (1 - p) / (sp * (1 - p) + (1 - se) * p)
    if pos.ndim == 0:
        return float(pos), float(neg)
    return pos, neg


# ------------------------------------------------------------------- ROC / AUC
def roc(y_true, score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve of a two-class score (scikit-learn's ``roc_curve``).

    Returns:
        ``(fpr, tpr, thresholds)``: 1 - specificity and sensitivity at each
        threshold, thresholds falling; the first threshold is ``inf`` (nobody
        called positive).
    """
    t, s = _binary(y_true), _score(score)
    _same_length(t, s)
    return skm.roc_curve(t, s)


def auc(y_true, score) -> float:
    """Area under the ROC curve: the chance that a diseased case scores above a healthy one.

    Two classes: ``score`` is (N,) or (N, 2). K > 2 classes: ``score`` is the
    (N, K) probabilities and the result is the mean of the K one-vs-rest AUCs
    (macro average), as in MedMNIST's evaluator. Returns ``nan`` when a class
    needed for the AUC is absent from ``y_true``.
    """
    t, s = _labels(y_true), to_numpy(score).astype(np.float64)
    if s.ndim == 2 and s.shape[1] > 2:
        _same_length(t, s)
        per_class = [auc(t == k, s[:, k]) for k in range(s.shape[1])]
        return float(np.mean(per_class))
    t, s = _binary(t), _score(s)
    _same_length(t, s)
    if np.unique(t).size < 2:
        return float("nan")  # only diseased or only healthy cases: AUC undefined
    return float(skm.roc_auc_score(t, s))


# ------------------------------------------------------------ operating point
def operating_point(
    y_true, score, *, rule: str = "youden", target: float | None = None
) -> dict[str, float]:
    """Choose a decision threshold on VALIDATION data (never on the test set).

    Rules:
        - ``"youden"``: maximise Youden's J = sensitivity + specificity - 1
          (ties: the highest such threshold).
        - ``"sensitivity"``: the highest threshold whose sensitivity is at
          least ``target`` (e.g. 0.95 for a rule-out test).
        - ``"specificity"``: the lowest threshold whose specificity is at
          least ``target`` (the most sensitive such test).

    Choosing the threshold on the test cases makes the test result optimistic;
    freeze it on validation data, then report the test set at that threshold.

    Returns:
        ``{"threshold", "sensitivity", "specificity"}`` on the data given.
    """
    if rule not in _RULES:
        raise ValueError(f"rule={rule!r} is not known; use one of {', '.join(_RULES)}.")
    if (rule == "youden") != (target is None):
        raise ValueError(
            "Give target (e.g. target=0.95) with rule='sensitivity' or 'specificity', "
            "and not with 'youden'."
        )
    if target is not None and not 0 < target <= 1:
        raise ValueError(f"target={target} must be a proportion in (0, 1], e.g. 0.95 (not 95).")
    t, s = _binary(y_true), _score(score)
    _same_length(t, s)
    if np.unique(t).size < 2:
        raise ValueError(
            "Choosing a threshold needs both diseased and healthy validation cases; "
            "this set has one class only."
        )
    fpr, tpr, thr = skm.roc_curve(t, s, drop_intermediate=False)  # thresholds falling
    spec = 1 - fpr
    if rule == "youden":
        i = 1 + int(np.argmax((tpr - fpr)[1:]))  # skip the inf threshold (nobody positive)
    elif rule == "sensitivity":
        i = int(np.argmax(tpr >= target))  # first = highest threshold reaching the target
    else:
        i = int(np.nonzero(spec >= target)[0][-1])  # last = lowest threshold keeping the target
    return {"threshold": float(thr[i]), "sensitivity": float(tpr[i]), "specificity": float(spec[i])}


def apply_threshold(score, threshold: float) -> np.ndarray:
    """Turn scores into calls: 1 (positive) where ``score >= threshold``, else 0."""
    return (_score(score) >= threshold).astype(np.int64)


# ------------------------------------------------------------ segmentation
def dice(y_true, y_pred, *, eps: float = 0.0, per_sample: bool | None = None) -> float | np.ndarray:
    """Dice similarity coefficient 2|A and B| / (|A| + |B|) between two binary masks.

    Args:
        y_true: the reference mask (the reader's outline), 0/1 or bool.
        y_pred: the model's mask, same shape (threshold probabilities first with
            :func:`apply_threshold` or ``> 0.5``). Dice is symmetric: the order
            only decides which mask an error message names.
        eps: smoothing added to numerator and denominator (0 gives the exact Dice).
        per_sample: one Dice per case along the first axis. Default: yes for
            (N, H, W) or more dimensions, no for a single (H, W) mask; pass
            ``per_sample=False`` to score one 3-D volume as a whole.

    When both masks are empty (no lesion, none drawn) Dice is defined as 1.0:
    the model agreed with the reader.
    """
    t, p = to_numpy(y_true), to_numpy(y_pred)
    if t.shape != p.shape:
        raise ValueError(
            f"The reference and predicted masks differ in shape: {t.shape} vs {p.shape}."
        )
    for m, name in ((t, "reference"), (p, "predicted")):
        if not np.isin(m, (0, 1)).all():
            raise ValueError(
                f"The {name} mask holds values other than 0 and 1: threshold it first "
                "(e.g. mask > 0.5)."
            )
    per_sample = t.ndim >= 3 if per_sample is None else per_sample
    axes = tuple(range(1, t.ndim)) if per_sample else None
    t, p = t.astype(bool), p.astype(bool)
    inter = np.sum(t & p, axis=axes)
    total = np.sum(t, axis=axes) + np.sum(p, axis=axes)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(total == 0, 1.0, (2.0 * inter + eps) / (total + eps))
    return d if per_sample else float(d)


def dice_per_class(y_true, probabilities) -> list[float]:
    """Mean Dice of each foreground class 1..K-1 of a segmentation, over the images.

    Args:
        y_true: reference masks (N, H, W) of class numbers (0 = background).
        probabilities: the model's output (N, K, H, W); each pixel takes its most probable class.

    An image where a structure is neither drawn nor predicted counts as Dice 1 (see :func:`dice`).

    Example:
        >>> import numpy as np
        >>> truth = np.zeros((1, 4, 4), int); truth[0, :2] = 1
        >>> probs = np.zeros((1, 2, 4, 4)); probs[0, 1, :2] = 1; probs[0, 0, 2:] = 1
        >>> dice_per_class(truth, probs)
        [1.0]
    """
    t, p = to_numpy(y_true), to_numpy(probabilities)
    pred = p.argmax(1)  # (N, H, W)
    return [float(np.mean(dice(t == k, pred == k))) for k in range(1, p.shape[1])]


# ---------------------------------------------------------------- survival
def concordance_index(times, events, scores) -> float:
    """Harrell's concordance index (c-index) of a risk score against survival times.

    A higher risk score should mean shorter survival. A pair of patients is
    usable when the one with the shorter time had the event (death,
    progression); it is concordant when that patient has the higher score,
    and counts 0.5 when the scores are tied. Pairs with equal times are not
    usable (scikit-survival also pairs an event with a case censored at the
    same time, so its value can differ slightly with tied times).
    1.0 = perfect ordering, 0.5 = chance, 0.0 = reversed.

    Args:
        times: follow-up time of each patient (the truth, with ``events``).
        events: 1 = event observed, 0 = censored (all 1 when nobody is censored).
        scores: predicted risk (pass minus a predicted survival time).

    Runs in O(n log^2 n) (thousands of patients in milliseconds).
    """
    t = to_numpy(times).astype(np.float64).ravel()
    d = to_numpy(events).ravel()
    if not np.isin(d, (0, 1)).all():
        raise ValueError(
            "The event indicators should be 1 (event observed: death, progression) or 0 "
            f"(censored), but hold {np.unique(d)[:5].tolist()}. Are the scores in their place? "
            "The order is concordance_index(times, events, scores)."
        )
    d = d.astype(bool)
    s = to_numpy(scores).astype(np.float64).ravel()
    _same_length(t, s, d)
    g = np.unique(t, return_inverse=True)[1].ravel()  # dense rank of time, ties share a rank
    r = np.unique(s, return_inverse=True)[1].ravel()  # dense rank of score
    n_r = int(r.max()) + 1 if r.size else 1
    # usable pairs: for each event, the patients with a strictly longer time
    usable = int(np.sum(len(g) - np.searchsorted(np.sort(g), g[d], side="right")))
    if usable == 0:
        return float("nan")
    # For time ranks g_i < g_j, take the highest bit b where they differ: i has 0 there, j has 1,
    # and the bits above b (the prefix) agree. Count each pair once, at that bit, by sorted search.
    concordant = tied = 0
    for b in range(int(g.max()).bit_length()):
        prefix, upper = g >> (b + 1), ((g >> b) & 1).astype(bool)
        later = np.sort(prefix[upper] * n_r + r[upper])  # (prefix, score rank) as one sortable key
        early = ~upper & d
        key = prefix[early] * n_r + r[early]
        lo, hi = np.searchsorted(later, key, "left"), np.searchsorted(later, key, "right")
        start = np.searchsorted(later, prefix[early] * n_r, "left")
        concordant += int(np.sum(lo - start))  # later patients with a lower score
        tied += int(np.sum(hi - lo))
    return (concordant + 0.5 * tied) / usable


# --------------------------------------------------------------- bootstrap
@dataclass(frozen=True)
class BootstrapCI:
    """A point estimate with its percentile bootstrap confidence interval.

    Unpacks as ``estimate, low, high = bootstrap_ci(...)``; ``n_skipped``
    counts resamples on which the metric was undefined (e.g. one class only).
    """

    estimate: float
    low: float
    high: float
    level: float
    n_boot: int
    n_skipped: int

    def __iter__(self):
        return iter((self.estimate, self.low, self.high))

    def __str__(self) -> str:
        return f"{self.estimate:.3f} ({self.level:.0%} CI {self.low:.3f} to {self.high:.3f})"


def _resample_indices(n: int, n_boot: int, rng, strata, groups) -> list[np.ndarray]:
    """Row indices of each bootstrap resample: cases, cases within strata, or whole patients."""
    if groups is not None:
        order = np.argsort(groups, kind="stable")
        _, first, count = np.unique(groups[order], return_index=True, return_counts=True)
        draws = rng.integers(
            0, len(first), size=(n_boot, len(first))
        )  # patients drawn per resample
        out = []
        for k in draws:  # all cases of each drawn patient: runs of `order`
            starts, lens = first[k], count[k]
            within = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
            out.append(order[np.repeat(starts, lens) + within])
        return out
    if strata is None:
        return list(rng.integers(0, n, size=(n_boot, n)))
    members = [np.flatnonzero(strata == c) for c in np.unique(strata)]  # the cases of each class
    parts = [m[rng.integers(0, len(m), size=(n_boot, len(m)))] for m in members]
    return list(np.concatenate(parts, axis=1))


def _auc_on_resamples(
    y: np.ndarray, s: np.ndarray, resamples: list, chunk: int = 256
) -> np.ndarray:
    """The two-class AUC of many resamples at once (same numbers as :func:`auc`, much faster).

    AUC = share of (diseased, healthy) pairs where the diseased case scores
    higher, ties counting half: count both classes at each distinct score.
    """
    rank = np.unique(s, return_inverse=True)[1].ravel()
    n_u, out = int(rank.max()) + 1, []
    for c in range(0, len(resamples), chunk):
        block = resamples[c : c + chunk]
        row = np.repeat(np.arange(len(block)), [len(i) for i in block])
        idx = np.concatenate(block)
        code = (row * n_u + rank[idx]) * 2 + y[idx]
        counts = np.bincount(code, minlength=len(block) * n_u * 2).reshape(len(block), n_u, 2)
        neg, pos = counts[..., 0], counts[..., 1]  # (resamples, distinct scores)
        below = np.cumsum(neg, axis=1) - neg  # healthy cases scoring lower
        pairs = pos.sum(1) * neg.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append(
                np.where(pairs > 0, np.sum(pos * (below + 0.5 * neg), axis=1) / pairs, np.nan)
            )
    return np.concatenate(out)


def _metric_on_resamples(
    metric: Callable[..., float], data: list[np.ndarray], resamples
) -> np.ndarray:
    """The metric on each resample; nan where it is undefined (nan or ValueError)."""
    if metric is auc and len(data) == 2 and (data[1].ndim == 1 or data[1].shape[1] <= 2):
        return _auc_on_resamples(
            _binary(data[0]), _score(data[1]), resamples
        )  # vectorised fast path
    values = []
    for idx in resamples:
        try:
            values.append(float(metric(*(a[idx] for a in data))))
        except ValueError:  # undefined on this resample, e.g. a single class
            values.append(float("nan"))
    return np.asarray(values)


def bootstrap_ci(
    metric: Callable[..., float],
    *arrays,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int | None = None,
    stratified: bool = False,
    groups=None,
) -> BootstrapCI:
    """Percentile bootstrap confidence interval of ``metric(*arrays)``, resampling cases.

    Args:
        metric: e.g. :func:`auc`, called as ``metric(*arrays)`` on each resample.
        arrays: per-case arrays (labels, scores, ...), resampled jointly by row.
        n_boot: number of resamples; alpha: 0.05 gives a 95% interval.
        seed: the same seed gives the same interval (None: the course seed,
            ``rl.config.seed()``).
        stratified: keep the number of cases of each class of ``arrays[0]``
            (the true labels) fixed in every resample.
        groups: patient ID per case: resample whole patients (cluster
            bootstrap), so several images of one patient count once, not many times.

    Resamples where the metric is undefined (returns nan or raises ValueError)
    are skipped and counted in ``n_skipped``.
    """
    if not arrays:
        raise ValueError(
            "Pass the per-case arrays to resample, e.g. bootstrap_ci(auc, y_true, score)."
        )
    if stratified and groups is not None:
        raise ValueError(
            "Use either stratified=True or groups= (patient-level resampling), not both."
        )
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha} must lie between 0 and 1 (0.05 gives a 95% interval).")
    data = [to_numpy(a) for a in arrays]
    g = None if groups is None else to_numpy(groups)
    _same_length(*data, *([] if g is None else [g]))
    estimate = float(metric(*data))
    if np.isnan(estimate):
        raise ValueError(
            "The metric is undefined on these data (e.g. only one class present), "
            "so it has no interval."
        )
    strata = _labels(data[0]) if stratified else None
    rng = np.random.default_rng(config.seed(seed))
    resamples = _resample_indices(len(data[0]), n_boot, rng, strata, g)
    values = _metric_on_resamples(metric, data, resamples)
    ok = values[~np.isnan(values)]
    if ok.size == 0:
        raise ValueError(
            "The metric was undefined on every resample; use stratified=True or more cases."
        )
    low, high = np.percentile(ok, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return BootstrapCI(estimate, float(low), float(high), 1 - alpha, n_boot, int(n_boot - ok.size))


# -------------------------------------------------------- image similarity
def _two_images(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """The reference and the compared image as float64, checked to have one shape."""
    t, p = to_numpy(y_true).astype(np.float64), to_numpy(y_pred).astype(np.float64)
    if t.shape != p.shape:
        raise ValueError(
            f"The reference and compared images differ in shape: {t.shape} vs {p.shape}."
        )
    return t, p


def psnr(y_true, y_pred, *, data_range: float) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(data_range^2 / mean squared error).

    Args:
        y_true: the reference image (e.g. the full-dose scan).
        y_pred: the image compared with it (e.g. a denoised low-dose scan).
        data_range: the span of possible values (e.g. 1.0 for images in [0, 1],
            or the HU window width).

    Identical images give ``inf``.
    """
    t, p = _two_images(y_true, y_pred)
    mse = float(np.mean((t - p) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(data_range**2 / mse))


def ssim(y_true, y_pred, *, data_range: float, sigma: float = 1.5) -> float | np.ndarray:
    """Structural similarity index (SSIM) of 2-D images, Gaussian window (Wang et al. 2004).

    Compares local means, contrasts and structure in a Gaussian window of
    width ``sigma`` pixels; 1.0 = identical. Matches scikit-image's
    ``structural_similarity(gaussian_weights=True, use_sample_covariance=False)``.

    Args:
        y_true: the reference image, (H, W) for one number or (N, H, W) for one
            SSIM per image.
        y_pred: the image compared with it, same shape.
        data_range: the span of possible values (1.0 for images in [0, 1]).
        sigma: the Gaussian window's standard deviation in pixels.
    """
    t, p = _two_images(y_true, y_pred)
    if t.ndim not in (2, 3):
        raise ValueError(f"SSIM needs (H, W) or (N, H, W) images, got shape {t.shape}.")
    if t.ndim == 3:
        return np.array(
            [ssim(a, b, data_range=data_range, sigma=sigma) for a, b in zip(t, p, strict=True)]
        )
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(x: np.ndarray) -> np.ndarray:  # local Gaussian-weighted mean
        return ndimage.gaussian_filter(x, sigma=sigma, truncate=3.5, mode="reflect")

    mu_t, mu_p = blur(t), blur(p)
    var_t, var_p, cov = blur(t * t) - mu_t**2, blur(p * p) - mu_p**2, blur(t * p) - mu_t * mu_p
    s = ((2 * mu_t * mu_p + c1) * (2 * cov + c2)) / (
        (mu_t**2 + mu_p**2 + c1) * (var_t + var_p + c2)
    )
    pad = int(3.5 * sigma + 0.5)  # drop the border, where the window runs off the image
    return float(s[pad:-pad, pad:-pad].mean()) if min(s.shape) > 2 * pad else float(s.mean())


# ----------------------------------------------------------------- summary
def summary(y_true, score, threshold: float | None = None) -> dict:
    """The usual report of a classifier on one data set, as plain numbers (for JSON).

    Two classes: ``auc``, and at ``threshold`` the ``accuracy``,
    ``sensitivity``, ``specificity``, ``ppv``, ``npv``, plus ``threshold``.
    K > 2 classes (score (N, K)): ``auc`` (one-vs-rest macro), ``accuracy`` of
    the most probable class, ``sensitivity_per_class`` and ``threshold`` None.
    Undefined values are ``nan``.
    """
    s = to_numpy(score)
    if s.ndim == 2 and s.shape[1] > 2:
        t, pred = _labels(y_true), np.argmax(s, axis=1)
        classes = list(range(s.shape[1]))
        per_class = skm.recall_score(t, pred, labels=classes, average=None, zero_division=np.nan)
        return {
            "auc": auc(t, s),
            "accuracy": accuracy(t, pred),
            "sensitivity_per_class": [float(v) for v in per_class],
            "threshold": None,
        }
    if threshold is None:
        raise ValueError(
            "A two-class summary needs a threshold, e.g. operating_point(...)['threshold'] "
            "from validation."
        )
    pred = apply_threshold(s, threshold)
    c = confusion(y_true, pred)
    return {
        "auc": auc(y_true, s),
        "accuracy": _ratio(c["tp"] + c["tn"], sum(c.values())),
        "sensitivity": _ratio(c["tp"], c["tp"] + c["fn"]),
        "specificity": _ratio(c["tn"], c["tn"] + c["fp"]),
        "ppv": _ratio(c["tp"], c["tp"] + c["fp"]),
        "npv": _ratio(c["tn"], c["tn"] + c["fn"]),
        "threshold": float(threshold),
    }
