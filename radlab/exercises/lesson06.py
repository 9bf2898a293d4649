"""Exercises of lesson 06 (testing and evaluation): 2 x 2 tables, operating points, PPV,
the c-index, and patients who leak across an image-level split.

Used in the lesson as ``from radlab.exercises import lesson06 as ex``; see
:mod:`radlab.exercises` for how an exercise is checked.
"""

from __future__ import annotations

import numpy as np

from . import Exercise, call, close, number

__all__ = [
    "sens_spec_table",
    "screening_threshold",
    "screening_films",
    "ppv_at_prevalence",
    "four_patients_c_index",
    "leaked_patients",
]


# ------------------------------------------------ 1. sensitivity and specificity
# A reading of 200 emergency chest films (rows: the truth, columns: the reader's call)
#                    called normal   called pneumonia
# truly normal            136              24
# truly pneumonia           4              36
_TP, _FN, _FP, _TN = 36, 4, 24, 136
_SENS, _SPEC = _TP / (_TP + _FN), _TN / (_TN + _FP)  # 0.90, 0.85


def _sens_spec(sens, spec) -> str | None:
    sens, spec = number(sens), number(spec)
    if sens is None or spec is None:
        return "give two numbers, my_sensitivity and my_specificity, e.g. 0.7, 0.6."
    if sens > 1 or spec > 1:
        return (
            "give proportions between 0 and 1 (0.9, not 90): the metrics in radlab and in most "
            "papers' tables are proportions."
        )
    if close(sens, _SPEC, 0.005) and close(spec, _SENS, 0.005):
        return (
            "the two numbers are swapped. Sensitivity is counted within the children who truly "
            "have pneumonia (the bottom row), specificity within those who do not (the top row)."
        )
    if close(sens, _TP / (_TP + _FP), 0.005):
        return (
            f"{sens:.2f} is 36 / (36 + 24), the PPV: the share right among the films called "
            "pneumonia (a column). Sensitivity is counted within the row of the truly sick: "
            "TP / (TP + FN)."
        )
    if close(spec, _FP / (_FP + _TN), 0.005):
        return (
            f"{spec:.2f} is the false positive rate, 24 / 160. Specificity is its complement: "
            "the share of the 160 children without pneumonia that the reader called normal."
        )
    if close(sens, (_TP + _TN) / 200, 0.005) or close(spec, (_TP + _TN) / 200, 0.005):
        return (
            "0.86 is the accuracy, (36 + 136) / 200, which mixes both groups. Count each "
            "metric within one row only."
        )
    if not close(sens, _SENS, 0.005):
        return f"sensitivity {sens:.3f} is not right: of the 40 with pneumonia, how many found?"
    if not close(spec, _SPEC, 0.005):
        return f"specificity {spec:.3f} is not right: of the 160 without, how many were cleared?"
    return None


sens_spec_table = Exercise(
    "sensitivity and specificity from a 2 x 2 table",
    _sens_spec,
    hint=(
        "Sensitivity lives in the row of the children who truly have pneumonia: called "
        "pneumonia / all in that row. Specificity lives in the row of those who do not: called "
        "normal / all in that row."
    ),
    solution=(
        "my_sensitivity = 36 / (36 + 4)      # 0.90: 36 of the 40 pneumonias found\n"
        "my_specificity = 136 / (136 + 24)   # 0.85: 136 of the 160 normal films cleared"
    ),
    solved=(0.9, 0.85),
    wrong=[
        ((0.85, 0.9), "swapped"),
        ((0.6, 0.85), "PPV"),
        ((0.9, 0.15), "false positive rate"),
        ((90, 85), "proportions"),
    ],
    praise="Each is counted within one row of the truth, so neither depends on prevalence.",
)


# --------------------------------------- 2. a screening operating point, on validation
# Model scores (probability of pneumonia) of 50 validation and 50 test films.
# fmt: off
_VALIDATION = {
    "pneumonia": (
        0.544, 0.615, 0.794, 0.841, 0.808, 0.433, 0.548, 0.843, 0.864, 0.552,
        0.374, 0.862, 0.772, 0.695, 0.521, 0.784, 0.892, 0.653, 0.797, 0.852,
    ),
    "normal": (
        0.325, 0.234, 0.319, 0.353, 0.158, 0.214, 0.533, 0.142, 0.449, 0.153,
        0.376, 0.324, 0.208, 0.404, 0.470, 0.485, 0.299, 0.258, 0.277, 0.262,
        0.567, 0.155, 0.402, 0.651, 0.331, 0.068, 0.323, 0.577, 0.239, 0.484,
    ),
}
_TEST = {
    "pneumonia": (
        0.825, 0.611, 0.454, 0.722, 0.821, 0.634, 0.864, 0.904, 0.838, 0.498,
        0.312, 0.902, 0.889, 0.633, 0.583, 0.518, 0.387, 0.858, 0.776, 0.687,
    ),
    "normal": (
        0.580, 0.317, 0.229, 0.044, 0.215, 0.365, 0.534, 0.182, 0.239, 0.255,
        0.430, 0.523, 0.720, 0.234, 0.133, 0.306, 0.099, 0.294, 0.453, 0.423,
        0.219, 0.337, 0.134, 0.162, 0.166, 0.184, 0.149, 0.486, 0.335, 0.388,
    ),
}
# fmt: on
_TARGET = 0.95


def screening_films(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Labels (1 = pneumonia, 0 = normal) and model scores of the exercise's 50 films.

    ``split`` is ``"validation"`` or ``"test"``.
    """
    films = {"validation": _VALIDATION, "test": _TEST}[split]
    labels = np.array([1] * len(films["pneumonia"]) + [0] * len(films["normal"]))
    scores = np.array(films["pneumonia"] + films["normal"])
    return labels, scores


def _sens_spec_at(split: str, threshold: float) -> tuple[float, float]:
    labels, scores = screening_films(split)
    called = scores >= threshold
    return float(called[labels == 1].mean()), float((~called[labels == 0]).mean())


def _highest_threshold(split: str, target: float = _TARGET) -> float:
    """The highest threshold whose sensitivity on ``split`` reaches ``target``."""
    labels, scores = screening_films(split)
    sick = np.sort(scores[labels == 1])  # lowest first
    may_miss = int(np.floor(len(sick) * (1 - target) + 1e-9))  # misses the target allows
    return float(sick[may_miss])


def _best_accuracy_threshold(split: str) -> float:
    labels, scores = screening_films(split)
    best, best_accuracy = 0.0, -1.0
    for t in np.sort(scores):  # lowest first: ties go to the higher threshold
        accuracy = float(np.mean((scores >= t) == (labels == 1)))
        if accuracy >= best_accuracy:
            best, best_accuracy = float(t), accuracy
    return best


def _youden_threshold(split: str) -> float:
    labels, scores = screening_films(split)
    best, best_j = 0.0, -2.0
    for t in np.sort(scores):
        sens, spec = _sens_spec_at(split, t)
        if sens + spec - 1 >= best_j:
            best, best_j = float(t), sens + spec - 1
    return best


_RIGHT = _highest_threshold("validation")  # 0.433
_ON_TEST = _highest_threshold("test")  # 0.387
_SENS_TEST, _SPEC_TEST = _sens_spec_at("test", _RIGHT)


def _screening_threshold(threshold) -> str | None:
    if isinstance(threshold, dict) and "threshold" in threshold:
        return "that is the whole operating point; give its threshold: point['threshold']."
    t = number(threshold)
    if t is None:
        return "give one number: the threshold (a score between 0 and 1)."
    sens, spec = _sens_spec_at("validation", t)
    right_spec = _sens_spec_at("validation", _RIGHT)[1]
    if sens >= _TARGET and spec == right_spec:
        return None
    if abs(t - _ON_TEST) < 1e-6:
        return (
            "this threshold was chosen on the TEST films. The test split is touched once, with a "
            "threshold frozen beforehand; choose it on the validation films."
        )
    if abs(t - _best_accuracy_threshold("validation")) < 1e-6:
        return (
            f"this threshold maximises accuracy, and misses pneumonias: validation sensitivity "
            f"{sens:.2f}, below the 0.95 a screening rule demands. Accuracy counts a miss and a "
            "false alarm as equal."
        )
    if abs(t - _youden_threshold("validation")) < 1e-6:
        return (
            f"this is the Youden threshold (validation sensitivity {sens:.2f}): it weighs a miss "
            "and a false alarm equally. The rule here is a sensitivity target of 0.95."
        )
    if sens < _TARGET:
        return (
            f"at {t:g} the validation sensitivity is {sens:.2f}, below 0.95: lower the threshold "
            "until at most one of the 20 pneumonias is missed."
        )
    if sens == 1.0:
        return (
            f"at {t:g} the validation sensitivity is 1.00, more than the 0.95 asked, at the cost "
            "of extra false alarms: the highest threshold that still reaches 0.95 may miss one "
            "of the 20."
        )
    return (
        f"{t:g} reaches the target (validation sensitivity {sens:.2f}) but is lower than "
        f"needed, so it calls more normal films positive (validation specificity {spec:.2f}). "
        "Find the highest threshold that still reaches 0.95."
    )


screening_threshold = Exercise(
    "a screening operating point chosen on validation",
    _screening_threshold,
    hint=(
        "Use the validation films only. rl.metrics.operating_point(labels, scores, "
        "rule='sensitivity', target=0.95) gives the highest such threshold; by hand: sort the "
        "pneumonia films' scores, and with 20 of them one miss is allowed (19 / 20 = 0.95)."
    ),
    solution=(
        "labels, scores = ex.screening_films('validation')\n"
        "point = rl.metrics.operating_point(labels, scores, rule='sensitivity', target=0.95)\n"
        "my_threshold = point['threshold']   # 0.433: the second-lowest pneumonia score"
    ),
    solved=(_RIGHT,),
    wrong=[
        ((_ON_TEST,), "test"),
        ((_best_accuracy_threshold("validation"),), "accuracy"),
        ((_youden_threshold("validation"),), "Youden"),
        ((0.3,), "more than the 0.95"),
    ],
    praise=(
        f"Frozen and applied once to the test films, it gives sensitivity {_SENS_TEST:.2f} and "
        f"specificity {_SPEC_TEST:.2f}: that is the number to report, even below the target."
    ),
)


# ------------------------------------------------------------ 3. PPV at a prevalence
_PPV_CASES = [(0.90, 0.80, 0.10), (0.95, 0.90, 0.05), (0.80, 0.95, 0.50)]


def _ppv_formula(se: float, sp: float, p: float) -> float:
    return se * p / (se * p + (1 - sp) * (1 - p))


def _ppv(fn) -> str | None:
    for se, sp, p in _PPV_CASES:
        got = number(call(fn, se, sp, p))
        want = _ppv_formula(se, sp, p)
        if got is None:
            return f"my_ppv({se}, {sp}, {p}) should return one number, the PPV."
        if close(got, want, 1e-6):
            continue
        where = f"my_ppv({se}, {sp}, {p}) gave {got:.4f}, not {want:.4f}"
        if close(got, se, 1e-6):
            return (
                f"{where}: that is the sensitivity. The PPV asks the other question: of the "
                "films called positive, how many truly are?"
            )
        if close(got, sp * (1 - p) / (sp * (1 - p) + (1 - se) * p), 1e-6):
            return f"{where}: that is the NPV (the negative calls that are right)."
        if close(got, se * p / (se * p + (1 - sp)), 1e-6):
            return (
                f"{where}: the false positives' share is (1 - spec) * (1 - prevalence); "
                "the (1 - prevalence) is missing."
            )
        if close(got, se * p / (se * p + sp * (1 - p)), 1e-6):
            return (
                f"{where}: the false positives are the healthy called positive, a share "
                "(1 - spec) of them, not spec."
            )
        if close(got, se / (se + 1 - sp), 1e-6):  # prevalence cancelled: (1 - spec) * p
            return (
                f"{where}: the healthy are a share (1 - prevalence) of the patients; weigh the "
                "false positives by (1 - spec) * (1 - prevalence)."
            )
        return (
            f"{where}. Count true positives, sens * prevalence, and false positives, "
            "(1 - spec) * (1 - prevalence); the PPV is TP / (TP + FP)."
        )
    return None


def _ppv_solved(sens, spec, prevalence):
    true_pos = sens * prevalence
    false_pos = (1 - spec) * (1 - prevalence)
    return true_pos / (true_pos + false_pos)


ppv_at_prevalence = Exercise(
    "PPV at a given prevalence",
    _ppv,
    hint=(
        "Imagine 1 patient split into shares: the sick, prevalence; the healthy, "
        "1 - prevalence. True positives: sens * prevalence. False positives: the healthy "
        "called positive, (1 - spec) * (1 - prevalence). PPV = TP / (TP + FP)."
    ),
    solution=(
        "def my_ppv(sens, spec, prevalence):\n"
        "    true_pos = sens * prevalence                 # sick and called positive\n"
        "    false_pos = (1 - spec) * (1 - prevalence)    # healthy but called positive\n"
        "    return true_pos / (true_pos + false_pos)"
    ),
    solved=(_ppv_solved,),
    wrong=[
        ((lambda se, sp, p: se,), "sensitivity"),
        ((lambda se, sp, p: se * p / (se * p + (1 - sp)),), "(1 - prevalence)"),
        ((lambda se, sp, p: se * p / (se * p + sp * (1 - p)),), "not spec"),
        ((lambda se, sp, p: sp * (1 - p) / (sp * (1 - p) + (1 - se) * p),), "NPV"),
    ],
    praise="The same reader's positive call is worth much less where the disease is rare.",
)


# ------------------------------------------------------------ 4. a c-index by hand
# (months of follow-up, died?, risk score)
#   A: died at 8 months,      risk 0.9
#   B: died at 20 months,     risk 0.3
#   C: censored at 14 months, risk 0.6   (alive at last contact, then lost)
#   D: censored at 36 months, risk 0.4   (alive at the end of the study)
# Usable pairs: A-B, A-C, A-D (A died first), B-D (B died before D's last contact).
# B-C is not usable: C was lost at 14 months, before B died, so who died first is unknown.
# Concordant: A-B, A-C, A-D; discordant: B-D. c-index 3 / 4.
_C_RIGHT = 3 / 4
_C_CENSORED_AS_DEATH = 5 / 6  # C counted as a death at 14 months: adds C-B, C-D
_C_DROPPED = 1.0  # only A and B kept
_C_REVERSED = 1 / 4  # higher risk taken to mean longer survival


def _c_index(value) -> str | None:
    c = number(value)
    if c is None:
        return "give one number, the c-index (concordant pairs / usable pairs)."
    if close(c, _C_RIGHT, 0.005):
        return None
    if close(c, _C_CENSORED_AS_DEATH, 0.005):
        return (
            "C was censored, not dead: we only know C lived at least 14 months. Pairs where the "
            "earlier time is a censoring (C-B, C-D) are not usable."
        )
    if close(c, _C_DROPPED, 0.005):
        return (
            "a censored patient still counts where the order is certain: A died at 8 months, "
            "before C's last contact at 14, so A-C is usable; and D, alive at 36 months, "
            "outlived A and B."
        )
    if close(c, _C_REVERSED, 0.005):
        return (
            "a higher risk score should go with the EARLIER death. A pair is concordant when "
            "the patient who died first had the higher risk."
        )
    if close(c, 3 / 5, 0.005) or close(c, 4 / 5, 0.005):
        return (
            "B-C is not usable: C was lost at 14 months while B was alive, so nobody knows "
            "who died first. Count 4 usable pairs."
        )
    return (
        f"{c:.3f} is not it. List the 6 pairs; keep those where the one with the shorter time "
        "died (4 pairs); count those where that patient had the higher risk."
    )


four_patients_c_index = Exercise(
    "a c-index of four patients by hand",
    _c_index,
    hint=(
        "For each pair, take the patient with the shorter follow-up. If that patient died, the "
        "pair is usable; if censored, skip it. A usable pair is concordant when the one who died "
        "first had the higher risk score. c-index = concordant / usable."
    ),
    solution=(
        "# usable: A-B, A-C, A-D (A died first), B-D (B died, D alive later); not B-C\n"
        "# concordant: A-B (0.9 > 0.3), A-C (0.9 > 0.6), A-D (0.9 > 0.4); B-D is not (0.3 < 0.4)\n"
        "my_c_index = 3 / 4"
    ),
    solved=(0.75,),
    wrong=[
        ((5 / 6,), "censored, not dead"),
        ((1.0,), "still counts"),
        ((0.25,), "earlier death"),
    ],
    praise="Censored patients count only in the pairs whose order is certain.",
)


# ------------------------------------------------ 5. leaks in an image-level split
# 150 patients, 4 slices each, images split 60% / 20% / 20% at random.
_P_NO_TEST = 0.8**4  # none of the 4 slices in test
_P_NO_TRAIN = 0.4**4  # none in training
_P_NEITHER = 0.2**4  # all 4 in validation
_LEAKED = 150 * (1 - _P_NO_TEST - _P_NO_TRAIN + _P_NEITHER)  # about 85
_WITH_TEST = 150 * (1 - _P_NO_TEST)  # about 89: patients with any test slice


def _leaked(value) -> str | None:
    n = number(value)
    if n is None:
        return "give one number: how many patients have slices both in training and in test."
    if 80 <= n <= 88 and not close(n, _WITH_TEST, 0.5):
        return None
    if close(n, _WITH_TEST, 0.5):
        return (
            f"{n:.1f} patients have a slice in test; a leak also needs a slice of the same patient "
            "in training. Take away those whose 4 slices all missed training (0.4 ** 4 each)."
        )
    if n < 5:
        return (
            "an image-level split knows nothing about patients: each slice goes to test with "
            "chance 0.2 and to training with 0.6, whoever it belongs to."
        )
    if close(n, 30, 2):
        return (
            "20% of 150 is the number of patients a patient-level split puts in test. Split by "
            "image, any patient can have a slice in test: with 4 slices, most patients do."
        )
    if n > 150:
        return "there are only 150 patients."
    return (
        f"{n:g} is not it. For one patient, P(some slice in test and some in training) = "
        "1 - P(no test slice) - P(no training slice) + P(all in validation)."
    )


leaked_patients = Exercise(
    "patients who leak in an image-level split",
    _leaked,
    hint=(
        "Each of a patient's 4 slices lands in training (0.6), validation (0.2) or test (0.2). "
        "P(no test slice) = 0.8 ** 4, P(no training slice) = 0.4 ** 4, P(all in validation) = "
        "0.2 ** 4. A patient leaks when neither of the first two happens."
    ),
    solution=(
        "p_no_test = 0.8**4        # none of the 4 slices in test\n"
        "p_no_train = 0.4**4       # none in training\n"
        "p_neither = 0.2**4        # all 4 in validation (counted in both above)\n"
        "my_leaked_patients = 150 * (1 - p_no_test - p_no_train + p_neither)   # about 85"
    ),
    solved=(_LEAKED,),
    wrong=[
        ((0,), "knows nothing about patients"),
        ((30,), "patient-level split"),
        ((_WITH_TEST,), "also needs a slice"),
    ],
    praise="Most test patients have been seen in training: the test AUC then measures memory too.",
)
