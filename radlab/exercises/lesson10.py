"""Exercises of lesson 10 (clinical cases): category sensitivity, stages, c-index, reader point.

Used in the lesson as ``from radlab.exercises import lesson10 as ex``; see
:mod:`radlab.exercises` for how an exercise is checked.
"""

from __future__ import annotations

import numpy as np

from . import Exercise, call, number

__all__ = ["category_sensitivity", "at_least_stage", "c_index", "reader_on_roc"]


# ------------------------------------------------- 1. sensitivity of each lesion category
# A made-up confusion matrix of 5 categories A-E: rows = the truth, columns = the network's call.
_MATRIX = np.array(
    [
        [14, 3, 2, 0, 1],  # 20 true A
        [5, 6, 6, 1, 2],  # 20 true B
        [1, 1, 17, 1, 0],  # 20 true C
        [0, 0, 2, 18, 0],  # 20 true D
        [0, 0, 0, 0, 20],  # 20 true E
    ]
)


def _category_sensitivity(fn) -> str | None:
    got = call(fn, _MATRIX.copy())
    values = np.asarray(got, dtype=np.float64).ravel()
    diagonal = np.diag(_MATRIX).astype(np.float64)
    target = diagonal / _MATRIX.sum(axis=1)
    if values.shape == target.shape and np.allclose(values, target, atol=1e-6):
        return None
    if values.shape == target.shape and np.allclose(values, diagonal / _MATRIX.sum(axis=0)):
        return (
            "you divided by the column sums: that is each category's positive predictive value "
            "(of the lesions CALLED A, how many are A). Sensitivity divides by the row sums: "
            "of the lesions that ARE A, how many were called A."
        )
    if values.shape == target.shape and np.allclose(values, diagonal):
        return "those are counts, not proportions: divide each by the number of true lesions."
    if values.size == 1 and np.isclose(values[0], diagonal.sum() / _MATRIX.sum()):
        return (
            "that is the overall accuracy, one number. Give one sensitivity per category "
            "(one per row)."
        )
    return (
        f"expected one proportion per category, {np.round(target, 2).tolist()} here, got "
        f"{np.round(values, 2).tolist()}. Rows are the truth: diagonal over row sum."
    )


def _sensitivity_solved(matrix):
    matrix = np.asarray(matrix)
    return np.diag(matrix) / matrix.sum(axis=1)


def _sensitivity_columns(matrix):
    matrix = np.asarray(matrix)
    return np.diag(matrix) / matrix.sum(axis=0)


def _sensitivity_counts(matrix):
    return np.diag(np.asarray(matrix))


def _sensitivity_accuracy(matrix):
    matrix = np.asarray(matrix)
    return float(np.trace(matrix) / matrix.sum())


category_sensitivity = Exercise(
    "the sensitivity of each lesion category",
    _category_sensitivity,
    hint=(
        "Row k holds every lesion that truly belongs to category k; the cell on the diagonal "
        "counts those the network called k. np.diag(matrix) gives the diagonal, "
        "matrix.sum(axis=1) the row sums."
    ),
    solution=(
        "def my_sensitivities(matrix):\n"
        "    matrix = np.asarray(matrix)                   # (true category, called category)\n"
        "    return np.diag(matrix) / matrix.sum(axis=1)   # right calls / all true lesions"
    ),
    solved=(_sensitivity_solved,),
    wrong=[
        ((_sensitivity_columns,), "row sums"),
        ((_sensitivity_counts,), "proportions"),
        ((_sensitivity_accuracy,), "overall accuracy"),
    ],
    praise=(
        "Per-category sensitivity is what Yasaka et al. reported: in their patients a single "
        "accuracy would have hidden that category B was found far less often than E (0.33 vs 1.00)."
    ),
)


# ------------------------------------------------- 2. stage F2 or worse from stage probabilities
# Probabilities of F0-F4 for four livers (each row sums to 1), made up for the check.
_STAGE_PROBS = np.array(
    [
        [0.70, 0.20, 0.05, 0.03, 0.02],
        [0.10, 0.30, 0.40, 0.15, 0.05],
        [0.02, 0.03, 0.15, 0.40, 0.40],
        [0.25, 0.25, 0.20, 0.20, 0.10],
    ]
)
_STAGE = 2


def _at_least_stage(fn) -> str | None:
    got = call(fn, _STAGE_PROBS.copy(), _STAGE)
    values = np.asarray(got, dtype=np.float64).ravel()
    target = _STAGE_PROBS[:, _STAGE:].sum(axis=1)
    if values.shape == target.shape and np.allclose(values, target, atol=1e-6):
        return None
    if values.shape == target.shape and np.allclose(values, _STAGE_PROBS[:, _STAGE]):
        return (
            "that is the probability of exactly F2. 'F2 or worse' adds the columns of F2, F3 "
            "and F4: probabilities[:, stage:].sum(axis=1)."
        )
    if values.shape == target.shape and np.allclose(values, _STAGE_PROBS[:, :_STAGE].sum(axis=1)):
        return (
            "that is the probability of a stage BELOW F2 (F0 or F1). Add the columns from "
            "the stage on: probabilities[:, stage:]."
        )
    if values.shape == target.shape and np.allclose(
        values, _STAGE_PROBS[:, _STAGE + 1 :].sum(axis=1)
    ):
        return "you started one column too late: F2 itself counts in 'F2 or worse'."
    if values.size == _STAGE_PROBS.shape[1]:
        return "one number per stage: add along each row (axis=1), giving one number per liver."
    return (
        f"expected one probability per liver, {np.round(target, 2).tolist()} here, got "
        f"{np.round(values, 2).tolist()}."
    )


def _stage_solved(probabilities, stage):
    return np.asarray(probabilities)[:, stage:].sum(axis=1)


def _stage_exact(probabilities, stage):
    return np.asarray(probabilities)[:, stage]


def _stage_below(probabilities, stage):
    return np.asarray(probabilities)[:, :stage].sum(axis=1)


def _stage_late(probabilities, stage):
    return np.asarray(probabilities)[:, stage + 1 :].sum(axis=1)


at_least_stage = Exercise(
    "the probability of a stage at least this one",
    _at_least_stage,
    hint=(
        "The columns are F0, F1, F2, F3, F4, and each row adds up to 1. 'F2 or worse' is the "
        "sum of the columns from F2 on, for each liver."
    ),
    solution=(
        "def my_at_least(probabilities, stage):\n"
        "    probabilities = np.asarray(probabilities)          # (livers, 5 stages)\n"
        "    return probabilities[:, stage:].sum(axis=1)        # one probability per liver"
    ),
    solved=(_stage_solved,),
    wrong=[
        ((_stage_exact,), "exactly"),
        ((_stage_below,), "below"),
        ((_stage_late,), "f2 itself"),
    ],
    praise=(
        "One five-class output answers every clinical cut-off: significant fibrosis, advanced "
        "fibrosis, cirrhosis."
    ),
)


# ------------------------------------------------------------- 3. the concordance index
# Six patients who all died (no censoring): months to death and a risk score, with one tie.
_MONTHS = np.array([3.0, 8.0, 12.0, 20.0, 30.0, 44.0])
_RISK = np.array([0.9, 0.4, 0.7, 0.4, 0.1, 0.2])


def _c_index_reference(months, risk) -> float:
    """The package's c-index with every patient dead (no censoring), as in the exercise."""
    from radlab import metrics

    return metrics.concordance_index(months, np.ones(len(months)), risk)


def _c_index(fn) -> str | None:
    got = call(fn, _MONTHS.copy(), _RISK.copy())
    value = number(got)
    if value is None:
        return f"return one number between 0 and 1, not {got!r}."
    target = _c_index_reference(_MONTHS, _RISK)
    if abs(value - target) < 1e-6:
        return None
    if abs(value - (1 - target)) < 1e-6:
        return (
            f"{value:.3f} is 1 minus the c-index: you counted a pair as right when the patient "
            "who died FIRST had the LOWER risk. A higher risk should mean an earlier death."
        )
    strict = sum(
        1 for i in range(6) for j in range(6) if _MONTHS[i] < _MONTHS[j] and _RISK[i] > _RISK[j]
    )
    if abs(value - strict / 15) < 1e-6:
        return (
            f"{value:.3f} counts a tied pair (equal risk scores) as wrong. A tie is a coin "
            "toss: count it as half a concordant pair."
        )
    if abs(value - target * 15 / 30) < 1e-6 or value > 1:
        return "divide by the number of usable pairs (each pair once): 15 here, not 30."
    return f"{value:.3f} is not right: count the usable pairs, the concordant ones, ties as half."


def _c_index_solved(months, risk):
    good, pairs = 0.0, 0
    for i in range(len(months)):
        for j in range(len(months)):
            if months[i] < months[j]:  # patient i died first
                pairs += 1
                if risk[i] > risk[j]:
                    good += 1
                elif risk[i] == risk[j]:
                    good += 0.5
    return good / pairs


def _c_index_reversed(months, risk):
    return 1 - _c_index_solved(months, risk)


def _c_index_every_ordered_pair(months, risk):
    return _c_index_solved(months, risk) / 2  # divided by all 30 ordered pairs instead of 15


def _c_index_no_ties(months, risk):
    good, pairs = 0, 0
    for i in range(len(months)):
        for j in range(len(months)):
            if months[i] < months[j]:
                pairs += 1
                good += int(risk[i] > risk[j])
    return good / pairs


c_index = Exercise(
    "the concordance index of a risk score",
    _c_index,
    hint=(
        "Take every pair of patients once. The one who died first should have the higher risk: "
        "count 1 when so, 0.5 when the two risks are equal, 0 otherwise. Divide by the pairs."
    ),
    solution=(
        "def my_c_index(months, risk):\n"
        "    good, pairs = 0.0, 0\n"
        "    for i in range(len(months)):\n"
        "        for j in range(len(months)):\n"
        "            if months[i] < months[j]:      # patient i died first\n"
        "                pairs += 1\n"
        "                if risk[i] > risk[j]:\n"
        "                    good += 1\n"
        "                elif risk[i] == risk[j]:\n"
        "                    good += 0.5           # a tie is a coin toss\n"
        "    return good / pairs"
    ),
    solved=(_c_index_solved,),
    wrong=[
        ((_c_index_reversed,), "1 minus"),
        ((_c_index_no_ties,), "half"),
        ((_c_index_every_ordered_pair,), "not 30"),
    ],
    praise=(
        "With censoring only the pairs whose earlier time is a death count, the one change "
        "rl.metrics.concordance_index makes to this loop."
    ),
)


# ------------------------------------------------------ 4. a reader's point on the ROC plot
# A reader called 8 of 10 pneumonia films pneumonia and 7 of 10 normal films normal.
_SENS, _SPEC = 8 / 10, 7 / 10


def _reader_on_roc(x, y) -> str | None:
    x_value, y_value = number(x), number(y)
    if x_value is None or y_value is None:
        return "give two numbers: the point's x (1 - specificity) and y (sensitivity)."
    if x_value > 1 or y_value > 1:
        return "give proportions between 0 and 1 (0.8, not 80)."
    if abs(x_value - (1 - _SPEC)) < 1e-6 and abs(y_value - _SENS) < 1e-6:
        return None
    if abs(x_value - _SPEC) < 1e-6 and abs(y_value - _SENS) < 1e-6:
        return (
            "the x axis of an ROC plot is 1 - specificity (the false positive rate): 3 of "
            "the 10 normal films were called pneumonia."
        )
    if abs(x_value - _SENS) < 1e-6 and abs(y_value - (1 - _SPEC)) < 1e-6:
        return "the axes are swapped: x is 1 - specificity, y is sensitivity."
    if abs(y_value - 0.2) < 1e-6:
        return "y is the sensitivity: the share of pneumonia films called pneumonia (8 of 10)."
    return "x: share of normal films called pneumonia; y: share of pneumonia films called so."


reader_on_roc = Exercise(
    "a reader's point on the ROC plot",
    _reader_on_roc,
    hint=(
        "Sensitivity: pneumonia films called pneumonia / all pneumonia films. Specificity: normal "
        "films called normal / all normal films. The ROC plot puts 1 - specificity on x."
    ),
    solution="my_x, my_y = 1 - 7 / 10, 8 / 10   # (false positive rate, sensitivity) = (0.3, 0.8)",
    solved=(0.3, 0.8),
    wrong=[((0.7, 0.8), "1 - specificity"), ((0.8, 0.3), "swapped"), ((0.3, 0.2), "sensitivity")],
    praise=(
        "A reader is one point, a network a whole curve: compare them at the reader's "
        "specificity, not at the network's favourite threshold."
    ),
)
