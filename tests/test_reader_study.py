"""The reader study without a browser: its state (ReaderStudy), the widget's callbacks, the figure.

Sensitivity, specificity and the ROC are checked against scikit-learn.
"""

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no display in tests

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve  # noqa: E402

from radlab import plot, widgets  # noqa: E402
from radlab.widgets import ReaderStudy  # noqa: E402


@pytest.fixture(scope="module")
def cases():
    """40 cases: made-up 28 px films, the truth (half with the finding), the network's scores."""
    rng = np.random.default_rng(0)
    labels = np.array([0, 1] * 20)
    scores = np.clip(0.35 * labels + 0.65 * rng.random(40), 0, 1)
    images = rng.random((40, 28, 28)).astype(np.float32)
    return images, labels, scores


def reference(truth, calls) -> tuple[float, float]:
    """(sensitivity, specificity) from scikit-learn's confusion matrix."""
    tn, fp, fn, tp = confusion_matrix(truth, calls, labels=[0, 1]).ravel()
    return tp / (tp + fn), tn / (tn + fp)


def test_the_cases_are_stratified_distinct_and_repeat_with_the_seed(cases):
    _, labels, scores = cases
    study = ReaderStudy(labels, scores, n=20, seed=3)
    assert study.n == 20 and len(set(study.cases.tolist())) == 20
    assert labels[study.cases].sum() == 10  # half with the finding
    again = ReaderStudy(labels, scores, n=20, seed=3)
    np.testing.assert_array_equal(study.cases, again.cases)
    other = ReaderStudy(labels, scores, n=20, seed=4)
    assert not np.array_equal(study.cases, other.cases)
    odd = ReaderStudy(labels, scores, n=7)
    assert labels[odd.cases].sum() == 3  # n // 2 with the finding, the rest without


def test_answers_move_through_the_cases_with_a_progress_line(cases):
    _, labels, scores = cases
    study = ReaderStudy(labels, scores, n=4)
    assert study.progress() == "case 1 of 4" and not study.done
    first = study.current
    study.answer(1)
    assert study.progress() == "case 2 of 4" and study.current != first
    with pytest.raises(ValueError, match="answer them all"):
        study.result()
    for _ in range(3):
        study.answer(0)
    assert study.done and study.progress() == "all 4 cases read"
    with pytest.raises(IndexError, match="restart"):
        study.answer(1)
    with pytest.raises(ValueError, match="0 .* or 1"):
        ReaderStudy(labels, scores, n=4).answer("pneumonia")
    study.restart()
    assert study.progress() == "case 1 of 4" and study.current == first


def test_the_result_matches_scikit_learn(cases):
    _, labels, scores = cases
    study = ReaderStudy(labels, scores, n=20, seed=1, threshold=0.5)
    rng = np.random.default_rng(5)
    while not study.done:  # a reader right about 3 times in 4
        right = rng.random() < 0.75
        study.answer(study.truth if right else 1 - study.truth)
    r = study.result()
    truth, calls = labels[study.cases], np.array(study.answers)
    sens, spec = reference(truth, calls)
    assert (r["sensitivity"], r["specificity"]) == pytest.approx((sens, spec))
    assert r["reader_point"] == pytest.approx((1 - spec, sens))
    assert r["tp"] + r["fn"] == 10 and r["tn"] + r["fp"] == 10 and r["n"] == 20
    network_calls = (scores[study.cases] >= 0.5).astype(int)
    net_sens, net_spec = reference(truth, network_calls)
    assert r["network_point"] == pytest.approx((1 - net_spec, net_sens))
    assert r["auc"] == pytest.approx(roc_auc_score(truth, scores[study.cases]))
    # the network's best sensitivity with no more false positives than the reader, by brute
    # force over every threshold
    fpr, tpr, _ = roc_curve(truth, scores[study.cases], drop_intermediate=False)
    best = tpr[fpr <= r["reader_point"][0] + 1e-12].max()
    assert r["network_sensitivity_at_reader_specificity"] == pytest.approx(best)


def test_a_perfect_reader_sits_in_the_top_left_corner(cases):
    _, labels, scores = cases
    study = ReaderStudy(labels, scores, n=10)
    while not study.done:
        study.answer(study.truth)
    r = study.result()
    assert r["reader_point"] == (0.0, 1.0) and r["fp"] == r["fn"] == 0


def test_labels_and_scores_in_medmnist_and_two_column_shapes(cases):
    _, labels, scores = cases
    two_columns = np.stack([1 - scores, scores], axis=1)  # (N, 2) probabilities
    study = ReaderStudy(labels[:, None], two_columns, n=6)  # (N, 1) labels
    np.testing.assert_array_equal(study.scores, scores)
    np.testing.assert_array_equal(study.labels, labels)


def test_mistakes_get_clear_messages(cases):
    _, labels, scores = cases
    with pytest.raises(ValueError, match="only 3 and 37"):
        ReaderStudy(np.r_[np.ones(3), np.zeros(37)], scores, n=20)
    with pytest.raises(ValueError, match="one 0 .* or 1"):
        ReaderStudy(labels * 2, scores)
    with pytest.raises(ValueError, match="One network score per case"):
        ReaderStudy(labels, scores[:10])
    with pytest.raises(ValueError, match="at least 2"):
        ReaderStudy(labels, scores, n=1)


# -------------------------------------------------------------------- widget --


def png_size(png: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(png)).size


def test_the_widget_shows_cases_then_the_reader_on_the_roc(cases):
    images, labels, scores = cases
    widget = widgets.reader_study(images, labels, scores, n=6, seed=0)
    c = widget.controls
    study = c["study"]
    assert "radlab-reader-study" in widget._dom_classes
    assert c["progress"].value == "case 1 of 6"
    assert png_size(c["picture"].value) == (256, 256)  # 28 px enlarged to be read
    assert (c["absent"].description, c["present"].description) == ("normal", "pneumonia")
    assert c["again"].layout.display == "none" and c["readout"].value == ""
    first = c["picture"].value
    c["present"].click()
    assert c["progress"].value == "case 2 of 6" and study.answers == [1]
    assert c["picture"].value != first  # the next case
    for button in ("absent", "present", "absent", "present", "absent"):
        c[button].click()
    assert study.done and c["progress"].value == "all 6 cases read"
    r = study.result()
    text = c["readout"].value
    assert f"sensitivity {r['sensitivity']:.2f}" in text
    assert f"specificity {r['specificity']:.2f}" in text
    assert f"AUC {r['auc']:.2f}" in text
    assert c["again"].layout.display is None and c["answers"].layout.display == "none"
    c["absent"].click()  # a late click after the last case changes nothing
    assert study.answers == [1, 0, 1, 0, 1, 0]
    assert png_size(c["picture"].value)[1] > 300  # now the ROC figure
    bundle = widget._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]) == c["picture"].value
    c["again"].click()
    assert c["progress"].value == "case 1 of 6" and study.answers == []
    assert c["picture"].value == first and c["readout"].value == ""


def test_the_widget_hides_the_answer_buttons_at_the_end(cases):
    images, labels, scores = cases
    widget = widgets.reader_study(images[:, None], labels, scores, n=2, labels_text=("no", "yes"))
    c = widget.controls
    assert c["answers"].layout.display is None  # shown while reading
    c["absent"].click()
    c["present"].click()
    assert c["answers"].layout.display == "none" and c["again"].layout.display is None
    assert "no cases called no" in c["readout"].value


def test_the_widget_needs_one_image_per_case(cases):
    images, labels, scores = cases
    with pytest.raises(ValueError, match="One 2D image per case"):
        widgets.reader_study(images[:10], labels, scores)


# -------------------------------------------------------------- static twin --


def test_reader_point_draws_the_curve_both_points_and_a_legend(cases):
    _, labels, scores = cases
    fig = plot.reader_point(labels, scores, 0.8, 0.6, threshold=0.5)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "1 - specificity (false positive rate)"
    assert ax.get_ylabel() == "sensitivity (true positive rate)"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("network, these 40 cases (AUC") for t in texts)
    assert "you (sens 0.80, spec 0.60)" in texts
    lines = {line.get_label(): line for line in ax.lines}
    assert tuple(lines["you (sens 0.80, spec 0.60)"].get_xydata()[0]) == pytest.approx((0.4, 0.8))
    fpr, tpr, _ = roc_curve(labels, scores)
    curve = next(line for label, line in lines.items() if label.startswith("network, these"))
    np.testing.assert_allclose(curve.get_xydata(), np.c_[fpr, tpr])
    auc = roc_auc_score(labels, scores)
    assert f"network, these 40 cases (AUC {auc:.2f})" in texts


def test_reader_point_can_add_every_case_and_leave_out_the_threshold(cases):
    _, labels, scores = cases
    fig = plot.reader_point(
        labels[:10], scores[:10], 0.5, 0.5, threshold=None, all_cases=(labels, scores)
    )
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(t.startswith("network, all 40 cases") for t in texts)
    assert not any(t.startswith("network at") for t in texts)
    with pytest.raises(ValueError, match="0.8, not 80"):
        plot.reader_point(labels, scores, 80, 0.5)


def test_reader_point_names_the_reader(cases):
    _, labels, scores = cases
    ax = plot.reader_point(labels, scores, 0.8, 0.6, reader="example reader").axes[0]
    assert "example reader (sens 0.80, spec 0.60)" in [t.get_text() for t in ax.get_legend().texts]
    assert ax.get_title() == "Example reader and the network on the same cases"
