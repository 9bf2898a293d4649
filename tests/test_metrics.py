"""radlab.metrics against scikit-learn, hand computations and brute-force references."""

import warnings

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage.metrics import structural_similarity
from sklearn import metrics as skm

from radlab import metrics as M


def _binary_data(n=300, seed=0, prevalence=0.3, separation=1.0):
    """Labels, a noisy score that separates them, and calls at 0.5."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(int)
    score = 1 / (1 + np.exp(-(separation * (2 * y - 1) + rng.normal(size=n))))
    return y, score, (score >= 0.5).astype(int)


# ------------------------------------------------------------- 2 x 2 table
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confusion_matches_sklearn(seed):
    y, _, pred = _binary_data(seed=seed)
    tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    assert M.confusion(y, pred) == {"tp": tp, "fp": fp, "tn": tn, "fn": fn}


def test_confusion_matrix_multiclass_matches_sklearn():
    rng = np.random.default_rng(3)
    y, pred = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    np.testing.assert_array_equal(M.confusion_matrix(y, pred), skm.confusion_matrix(y, pred))
    np.testing.assert_array_equal(
        M.confusion_matrix(y, pred, labels=[4, 0]), skm.confusion_matrix(y, pred, labels=[4, 0])
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rates_match_sklearn(seed):
    y, _, pred = _binary_data(seed=seed)
    assert M.sensitivity(y, pred) == pytest.approx(skm.recall_score(y, pred))
    assert M.specificity(y, pred) == pytest.approx(skm.recall_score(y, pred, pos_label=0))
    assert M.ppv(y, pred) == pytest.approx(skm.precision_score(y, pred))
    assert M.npv(y, pred) == pytest.approx(skm.precision_score(y, pred, pos_label=0))
    assert M.accuracy(y, pred) == pytest.approx(skm.accuracy_score(y, pred))


def test_hand_counted_table():
    y = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    p = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0]
    assert M.confusion(y, p) == {"tp": 3, "fp": 1, "tn": 5, "fn": 1}
    assert M.sensitivity(y, p) == 0.75 and M.specificity(y, p) == pytest.approx(5 / 6)
    assert M.ppv(y, p) == 0.75 and M.npv(y, p) == pytest.approx(5 / 6)


def test_undefined_rates_are_nan():
    y_healthy = [0, 0, 0]
    assert np.isnan(M.sensitivity(y_healthy, [0, 1, 0]))  # no diseased case
    assert np.isnan(M.ppv([0, 1, 1], [0, 0, 0]))  # nobody called positive
    assert M.specificity(y_healthy, [0, 1, 0]) == pytest.approx(2 / 3)


def test_medmnist_label_shape_is_accepted():
    y, _, pred = _binary_data()
    assert M.confusion(y[:, None], pred) == M.confusion(y, pred)


def test_helpful_errors():
    with pytest.raises(ValueError, match="0 \\(finding absent\\) or 1"):
        M.confusion([0, 1, 2], [0, 1, 1])
    with pytest.raises(ValueError, match="not whole numbers"):
        M.sensitivity([0, 1, 1], [0.2, 0.7, 0.9])  # scores passed as calls
    with pytest.raises(ValueError, match="lengths differ"):
        M.confusion([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="0 \\(finding absent\\) or 1"):
        M.sensitivity(["benign", "malignant"], ["benign", "benign"])


def test_class_names_work_in_confusion_matrix_and_accuracy():
    y, p = ["benign", "malignant", "benign"], ["benign", "benign", "benign"]
    np.testing.assert_array_equal(M.confusion_matrix(y, p), skm.confusion_matrix(y, p))
    assert M.accuracy(y, p) == pytest.approx(2 / 3)


# ----------------------------------------------------------------- Bayes
def test_ppv_npv_at_prevalence_by_hand():
    ppv, npv = M.ppv_npv_at_prevalence(0.9, 0.9, 0.01)
    assert ppv == pytest.approx(0.009 / (0.009 + 0.099))  # about 0.083: most positives are false
    assert ppv == pytest.approx(0.0833, abs=1e-4)
    assert npv == pytest.approx(0.891 / (0.891 + 0.001))
    assert M.ppv_npv_at_prevalence(0.9, 0.9, 0.5) == pytest.approx((0.9, 0.9))


def test_ppv_npv_at_prevalence_agrees_with_the_table_and_vectorises():
    y, _, pred = _binary_data(n=2000, seed=4)
    ppv, npv = M.ppv_npv_at_prevalence(M.sensitivity(y, pred), M.specificity(y, pred), y.mean())
    assert ppv == pytest.approx(M.ppv(y, pred)) and npv == pytest.approx(M.npv(y, pred))
    ppvs, npvs = M.ppv_npv_at_prevalence(0.9, 0.9, np.array([0.001, 0.01, 0.1, 0.5]))
    assert np.all(np.diff(ppvs) > 0) and np.all(np.diff(npvs) < 0)
    with pytest.raises(ValueError, match="proportions"):
        M.ppv_npv_at_prevalence(90, 90, 0.01)


# ---------------------------------------------------------------- ROC / AUC
def test_roc_and_auc_match_sklearn():
    y, score, _ = _binary_data(seed=5)
    for mine, ref in zip(M.roc(y, score), skm.roc_curve(y, score)):
        np.testing.assert_allclose(mine, ref)
    assert M.auc(y, score) == pytest.approx(skm.roc_auc_score(y, score))
    two_columns = np.stack([1 - score, score], axis=1)  # (N, 2) softmax output
    assert M.auc(y, two_columns) == pytest.approx(skm.roc_auc_score(y, score))


def test_multiclass_auc_is_one_vs_rest_macro():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 5, 300)
    logits = rng.normal(size=(300, 5)) + 1.5 * np.eye(5)[y]
    prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    ref = skm.roc_auc_score(y, prob, multi_class="ovr", average="macro")
    assert M.auc(y, prob) == pytest.approx(ref)
    per_class = [skm.roc_auc_score(y == k, prob[:, k]) for k in range(5)]
    assert M.auc(y, prob) == pytest.approx(np.mean(per_class))  # MedMNIST's evaluator


def test_auc_with_one_class_is_nan_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(M.auc([1, 1, 1], [0.2, 0.5, 0.9]))


# ---------------------------------------------------------- operating point
def _brute_force_table(y, score):
    """(threshold, sensitivity, specificity) at every distinct score, by applying each threshold."""
    rows = []
    for thr in np.unique(score):
        pred = M.apply_threshold(score, thr)
        rows.append((thr, M.sensitivity(y, pred), M.specificity(y, pred)))
    return np.array(rows)


@pytest.mark.parametrize("seed", [0, 7])
def test_youden_maximises_j(seed):
    y, score, _ = _binary_data(n=200, seed=seed)
    score = np.round(score, 2)  # ties in scores
    op = M.operating_point(y, score)
    table = _brute_force_table(y, score)
    j = table[:, 1] + table[:, 2] - 1
    assert op["sensitivity"] + op["specificity"] - 1 == pytest.approx(j.max())
    # ties: the highest threshold
    assert op["threshold"] == pytest.approx(table[j == j.max(), 0].max())
    pred = M.apply_threshold(score, op["threshold"])
    assert op["sensitivity"] == pytest.approx(M.sensitivity(y, pred))
    assert op["specificity"] == pytest.approx(M.specificity(y, pred))


def test_target_sensitivity_and_specificity_rules():
    y, score, _ = _binary_data(n=200, seed=8)
    table = _brute_force_table(y, score)
    op = M.operating_point(y, score, rule="sensitivity", target=0.9)
    assert op["threshold"] == pytest.approx(table[table[:, 1] >= 0.9, 0].max())
    assert op["sensitivity"] >= 0.9
    op = M.operating_point(y, score, rule="specificity", target=0.9)
    assert op["threshold"] == pytest.approx(table[table[:, 2] >= 0.9, 0].min())
    assert op["specificity"] >= 0.9


def test_operating_point_errors():
    y, score, _ = _binary_data(n=50)
    with pytest.raises(ValueError, match="target"):
        M.operating_point(y, score, rule="sensitivity")
    with pytest.raises(ValueError, match="target"):
        M.operating_point(y, score, target=0.9)
    with pytest.raises(ValueError, match="not known"):
        M.operating_point(y, score, rule="best")
    with pytest.raises(ValueError, match="one class"):
        M.operating_point(np.zeros(5), np.arange(5.0))


def test_apply_threshold_counts_equal_scores_as_positive():
    np.testing.assert_array_equal(M.apply_threshold([0.2, 0.5, 0.7], 0.5), [0, 1, 1])


# ---------------------------------------------------------------- Dice
def test_dice_matches_f1_on_flattened_masks():
    rng = np.random.default_rng(9)
    truth, pred = rng.random((4, 16, 16)) > 0.5, rng.random((4, 16, 16)) > 0.6
    per_case = M.dice(truth, pred)
    assert per_case.shape == (4,)
    for i in range(4):
        assert per_case[i] == pytest.approx(skm.f1_score(truth[i].ravel(), pred[i].ravel()))
    whole = skm.f1_score(truth.ravel(), pred.ravel())
    assert M.dice(truth, pred, per_sample=False) == pytest.approx(whole)
    assert M.dice(truth[0], pred[0]) == pytest.approx(per_case[0])  # (H, W): one number
    assert M.dice(y_true=truth[0], y_pred=pred[0]) == pytest.approx(per_case[0])


def test_dice_special_cases():
    empty, full = np.zeros((8, 8), int), np.ones((8, 8), int)
    assert M.dice(empty, empty) == 1.0  # no lesion and none drawn: agreement
    assert M.dice(empty, full) == 0.0
    assert M.dice(full, full) == 1.0
    half = full.copy()
    half[:4] = 0
    assert M.dice(full, half) == pytest.approx(2 * 32 / (32 + 64))
    assert M.dice(full, half, eps=1.0) == pytest.approx((64 + 1) / (96 + 1))
    batch = M.dice(np.stack([empty, empty]), np.stack([empty, full]))
    np.testing.assert_array_equal(batch, [1.0, 0.0])
    with pytest.raises(ValueError, match="predicted mask .* threshold it first"):
        M.dice(full[:4, :4], np.full((4, 4), 0.7))
    with pytest.raises(ValueError, match="reference and predicted masks differ"):
        M.dice(full, full[:4])


def test_dice_per_class_counts_a_structure_absent_from_both_as_agreement():
    # two images, classes 0 background, 1 liver, 2 lesion; the second image has no lesion
    truth = np.zeros((2, 4, 4), int)
    truth[:, :2] = 1
    truth[0, 0, 0] = 2
    probs = np.zeros((2, 3, 4, 4))
    probs[:, 0] = 1.0  # background everywhere ...
    probs[:, 0, :2] = 0.0
    probs[:, 1, :2] = 1.0  # ... except the liver rows, found exactly
    probs[0, 1, 0, 0], probs[0, 2, 0, 0] = 0.0, 1.0  # the lesion of image 0, found
    # liver: image 0 has 7 of 7 pixels (lesion excluded), image 1 8 of 8; lesion: image 0 right,
    # image 1 has none drawn and none predicted: Dice 1 by the convention, not 0 and not skipped
    assert M.dice_per_class(truth, probs) == [1.0, 1.0]
    probs[1, 2, 3, 3], probs[1, 0, 3, 3] = 1.0, 0.0  # a false lesion pixel in image 1
    liver, lesion = M.dice_per_class(truth, probs)
    assert liver == 1.0 and lesion == pytest.approx((1.0 + 0.0) / 2)  # image 1: one false pixel = 0


# ---------------------------------------------------------------- c-index
def _c_index_brute_force(times, scores, events):
    """Harrell's c written plainly: every ordered pair, O(n^2)."""
    concordant = usable = 0.0
    for i in range(len(times)):
        for j in range(len(times)):
            if events[i] and times[i] < times[j]:
                usable += 1
                if scores[i] > scores[j]:
                    concordant += 1
                elif scores[i] == scores[j]:
                    concordant += 0.5
    return concordant / usable


@pytest.mark.parametrize("seed", range(4))
def test_c_index_matches_brute_force_with_ties_and_censoring(seed):
    rng = np.random.default_rng(seed)
    n = 150
    times = rng.integers(1, 40, n).astype(float)  # many tied times
    scores = np.round(-times / 40 + rng.normal(0, 0.3, n), 1)  # tied scores
    events = (rng.random(n) < 0.6).astype(int)  # about 40% censored
    assert M.concordance_index(times, events, scores) == pytest.approx(
        _c_index_brute_force(times, scores, events), abs=1e-12
    )


def test_c_index_known_cases():
    times = np.arange(1.0, 11.0)
    risk = -times  # the shortest survivor has the highest risk
    everyone = np.ones(10)  # nobody censored
    assert M.concordance_index(times, everyone, risk) == 1.0
    assert M.concordance_index(times, everyone, -risk) == 0.0
    assert M.concordance_index(times, everyone, np.zeros(10)) == 0.5  # all scores tied
    assert M.concordance_index([1, 1, 2], [1, 1, 1], [3, 2, 1]) == 1.0  # tied times: not usable
    # censored first patient: its pairs are not usable; only (2 vs 3) counts, and it is reversed
    assert M.concordance_index([1, 2, 3], [0, 1, 1], [9, 1, 2]) == 0.0
    assert np.isnan(M.concordance_index([1, 2], [0, 0], [1, 2]))  # no event, no usable pair
    keywords = M.concordance_index(times=[1, 2, 3], scores=[9, 1, 2], events=[0, 1, 1])
    assert keywords == 0.0


def test_c_index_scores_in_the_place_of_events_are_explained():
    with pytest.raises(ValueError, match=r"order is concordance_index\(times, events, scores\)"):
        M.concordance_index([1, 2, 3], [0.9, 0.1, 0.4], [1, 1, 0])


def test_c_index_random_scores_near_half_and_large_n():
    rng = np.random.default_rng(10)
    n = 5000
    times, events = rng.exponential(10, n), rng.random(n) < 0.7
    assert M.concordance_index(times, events, rng.random(n)) == pytest.approx(0.5, abs=0.02)
    risk = -times + rng.normal(0, 5, n)
    assert 0.7 < M.concordance_index(times, events, risk) < 0.9


# ---------------------------------------------------------------- bootstrap
def test_bootstrap_is_deterministic_and_contains_estimate():
    y, score, _ = _binary_data(n=200, seed=11)
    a = M.bootstrap_ci(M.auc, y, score, n_boot=200, seed=3)
    b = M.bootstrap_ci(M.auc, y, score, n_boot=200, seed=3)
    c = M.bootstrap_ci(M.auc, y, score, n_boot=200, seed=4)
    assert a == b and (a.low, a.high) != (c.low, c.high)
    est, low, high = a
    assert est == pytest.approx(skm.roc_auc_score(y, score))
    assert low < est < high and a.level == 0.95 and a.n_skipped == 0
    assert "95% CI" in str(a)


def test_bootstrap_seed_defaults_to_the_course_seed(monkeypatch):
    y, score, _ = _binary_data(n=100, seed=11)
    monkeypatch.setenv("RADLAB_SEED", "3")
    assert M.bootstrap_ci(M.auc, y, score, n_boot=100) == M.bootstrap_ci(
        M.auc, y, score, n_boot=100, seed=3
    )


def test_bootstrap_narrows_as_n_grows():
    widths = []
    for n in (100, 1600):
        y, score, _ = _binary_data(n=n, seed=12)
        ci = M.bootstrap_ci(M.auc, y, score, n_boot=200)
        widths.append(ci.high - ci.low)
    assert widths[1] < widths[0] / 2  # about 1/sqrt(16) = 1/4 in theory


def test_bootstrap_skips_undefined_resamples_and_stratified_avoids_them():
    y = np.array([1, 1] + [0] * 18)  # two diseased cases: many resamples have none
    score = np.linspace(0, 1, 20)
    plain = M.bootstrap_ci(M.auc, y, score, n_boot=300)
    assert 0 < plain.n_skipped < 300
    strat = M.bootstrap_ci(M.auc, y, score, n_boot=300, stratified=True)
    assert strat.n_skipped == 0


def test_bootstrap_matches_a_plain_loop():
    y, score, _ = _binary_data(n=60, seed=13)
    rng = np.random.default_rng(0)
    values = [M.auc(y[i], score[i]) for i in rng.integers(0, 60, size=(50, 60))]
    low, high = np.nanpercentile(values, [2.5, 97.5])
    ci = M.bootstrap_ci(M.auc, y, score, n_boot=50, seed=0)
    assert (ci.low, ci.high) == pytest.approx((low, high))


@pytest.mark.parametrize("how", [{}, {"stratified": True}, {"groups": np.arange(30) // 2}])
def test_bootstrap_fast_auc_path_equals_the_generic_loop(how):
    y, score, _ = _binary_data(n=30, seed=20, prevalence=0.2)
    score = np.round(score, 1)  # tied scores
    fast = M.bootstrap_ci(M.auc, y, score, n_boot=100, **how)
    slow = M.bootstrap_ci(lambda t, s: M.auc(t, s), y, score, n_boot=100, **how)  # not `auc` itself
    assert fast.n_skipped == slow.n_skipped
    assert (fast.estimate, fast.low, fast.high) == pytest.approx(
        (slow.estimate, slow.low, slow.high)
    )


def test_bootstrap_generic_path_skips_value_errors():
    def strict_auc(t, s):
        if len(set(t.tolist())) < 2:
            raise ValueError("one class")
        return M.auc(t, s)

    y, score = np.array([1, 1] + [0] * 18), np.linspace(0, 1, 20)
    ci = M.bootstrap_ci(strict_auc, y, score, n_boot=100)
    assert ci.n_skipped == M.bootstrap_ci(M.auc, y, score, n_boot=100).n_skipped > 0


def test_cluster_bootstrap_resamples_whole_patients():
    patients = np.repeat(np.arange(30), 3)  # three images per patient

    def whole_patients_only(g):
        assert np.all(np.bincount(g) % 3 == 0)
        return float(len(g) % 3 == 0)

    ci = M.bootstrap_ci(whole_patients_only, patients, groups=patients, n_boot=50)
    assert ci.n_skipped == 0


def test_cluster_bootstrap_is_wider_when_images_repeat_a_patient():
    y, score, _ = _binary_data(n=40, seed=14)
    k = 5  # each patient's score copied to five near-identical images
    yy, ss, pid = np.repeat(y, k), np.repeat(score, k), np.repeat(np.arange(40), k)
    naive = M.bootstrap_ci(M.auc, yy, ss, n_boot=200)
    by_patient = M.bootstrap_ci(M.auc, yy, ss, groups=pid, n_boot=200)
    assert (by_patient.high - by_patient.low) > 1.5 * (naive.high - naive.low)


def test_bootstrap_errors():
    with pytest.raises(ValueError, match="undefined"):
        M.bootstrap_ci(M.auc, [1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="not both"):
        M.bootstrap_ci(M.auc, [0, 1], [0.1, 0.2], stratified=True, groups=[0, 1])


# ---------------------------------------------------------- PSNR / SSIM
def test_psnr_by_hand():
    reference = np.zeros((8, 8))
    assert M.psnr(reference, reference + 0.1, data_range=1.0) == pytest.approx(20.0)  # mse 0.01
    assert M.psnr(reference, reference + 10, data_range=100) == pytest.approx(20.0)
    assert M.psnr(reference, reference, data_range=1.0) == float("inf")
    with pytest.raises(ValueError, match="differ in shape"):
        M.psnr(reference, reference[:4], data_range=1.0)


def test_ssim_properties():
    rng = np.random.default_rng(15)
    x = ndimage.gaussian_filter(rng.random((48, 48)), 2.0)  # image-like, with structure
    assert M.ssim(x, x, data_range=1.0) == pytest.approx(1.0)
    scores = [M.ssim(x, x + rng.normal(0, s, x.shape), data_range=1.0) for s in (0.01, 0.05, 0.2)]
    assert scores[0] > scores[1] > scores[2] and -1 <= scores[2] < 1
    y = x + rng.normal(0, 0.05, x.shape)
    assert M.ssim(x, y, data_range=1.0) == pytest.approx(M.ssim(y, x, data_range=1.0))  # symmetric
    batch = M.ssim(np.stack([x, x]), np.stack([x, y]), data_range=1.0)
    np.testing.assert_allclose(batch, [1.0, M.ssim(x, y, data_range=1.0)])


def test_ssim_of_two_flat_images_by_hand():
    a, b = np.full((32, 32), 0.2), np.full((32, 32), 0.6)
    c1 = 0.01**2  # no contrast or structure: only the luminance term remains
    expected = (2 * 0.2 * 0.6 + c1) / (0.2**2 + 0.6**2 + c1)
    assert M.ssim(a, b, data_range=1.0) == pytest.approx(expected)


@pytest.mark.parametrize("sigma, data_range", [(1.5, 1.0), (1.5, 2.0), (1.0, 1.0)])
def test_ssim_matches_scikit_image(sigma, data_range):
    rng = np.random.default_rng(16)
    x = ndimage.gaussian_filter(rng.random((40, 40)), 1.0) * data_range
    y = x + rng.normal(0, 0.1 * data_range, x.shape)
    ref = structural_similarity(
        x,
        y,
        data_range=data_range,
        gaussian_weights=True,
        sigma=sigma,
        use_sample_covariance=False,
    )
    assert M.ssim(x, y, data_range=data_range, sigma=sigma) == pytest.approx(ref)


# ---------------------------------------------------------------- summary
def test_summary_binary_matches_the_single_metrics():
    y, score, _ = _binary_data(seed=17)
    s = M.summary(y, score, 0.4)
    pred = M.apply_threshold(score, 0.4)
    assert set(s) == {"auc", "accuracy", "sensitivity", "specificity", "ppv", "npv", "threshold"}
    assert s["auc"] == pytest.approx(skm.roc_auc_score(y, score))
    assert s["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert s["sensitivity"] == pytest.approx(M.sensitivity(y, pred))
    assert s["specificity"] == pytest.approx(M.specificity(y, pred))
    assert s["ppv"] == pytest.approx(M.ppv(y, pred)) and s["npv"] == pytest.approx(M.npv(y, pred))
    assert s["threshold"] == 0.4 and all(type(v) is float for v in s.values())
    with pytest.raises(ValueError, match="threshold"):
        M.summary(y, score)


def test_summary_multiclass():
    rng = np.random.default_rng(18)
    y = rng.integers(0, 3, 120)
    prob = rng.dirichlet(np.ones(3), 120)
    s = M.summary(y, prob)
    assert s["auc"] == pytest.approx(skm.roc_auc_score(y, prob, multi_class="ovr"))
    assert s["accuracy"] == pytest.approx(skm.accuracy_score(y, prob.argmax(1)))
    np.testing.assert_allclose(
        s["sensitivity_per_class"], skm.recall_score(y, prob.argmax(1), average=None)
    )
    assert s["threshold"] is None


# ------------------------------------------------------------------ torch
def test_torch_tensors_work_everywhere():
    y, score, pred = _binary_data(seed=19)
    ty, ts, tp = torch.tensor(y), torch.tensor(score, requires_grad=True), torch.tensor(pred)
    assert M.auc(ty, ts) == pytest.approx(M.auc(y, score))
    assert M.auc(ty, ts.half()) == pytest.approx(M.auc(y, score.astype(np.float16)))
    assert M.confusion(ty, tp) == M.confusion(y, pred)
    assert M.summary(ty, ts, 0.5) == M.summary(y, score, 0.5)
    assert M.operating_point(ty, ts) == M.operating_point(y, score)
    np.testing.assert_array_equal(M.apply_threshold(ts, 0.5), pred)
    masks = torch.rand(2, 8, 8) > 0.5
    np.testing.assert_allclose(M.dice(masks, masks.bool()), [1.0, 1.0])
    times = torch.arange(1.0, 6.0)
    assert M.concordance_index(times, torch.ones(5), -times) == 1.0
    assert M.bootstrap_ci(M.auc, ty, ts, n_boot=50) == M.bootstrap_ci(M.auc, y, score, n_boot=50)
    assert M.psnr(torch.zeros(4, 4), torch.full((4, 4), 0.1), data_range=1.0) == pytest.approx(20)
    assert M.ssim(torch.ones(16, 16), torch.ones(16, 16).half(), data_range=1.0) == 1.0
