"""Exercises of lesson 11 (limitations): a saliency sanity check, a shortcut, a shift, privacy.

Used in the lesson as ``from radlab.exercises import lesson11 as ex``; see
:mod:`radlab.exercises` for how an exercise is checked.
"""

from __future__ import annotations

import numpy as np

from . import Exercise, call, close, number

__all__ = ["failing_method", "marker_only_auc", "corner_share", "recovered_share", "identifiers"]


# ------------------------------------------------- 1. which map fails the randomization check
# Similarity of each method's map from the trained network to its map from a random-weight copy.
_SIMILARITY = {"A": 0.91, "B": 0.08, "C": 0.46}


def _failing_method(letter) -> str | None:
    if not isinstance(letter, str) or letter.strip().upper() not in _SIMILARITY:
        return 'give one letter as text: "A", "B" or "C".'
    letter = letter.strip().upper()
    if letter == "A":
        return None
    if letter == "B":
        return (
            "method B's map changed almost completely (similarity 0.08) when the weights were "
            "randomized: it depends on what the network learned. That is the pass, not the fail."
        )
    return (
        "method C changed a good deal (0.46). Look for the map that stayed nearly the same "
        "with random weights: the highest similarity."
    )


failing_method = Exercise(
    "the map that fails the randomization check",
    _failing_method,
    hint=(
        "A map that explains the network must change when the network's weights are replaced "
        "by random ones. A high similarity means it did not change."
    ),
    solution=(
        'my_method = "A"   # 0.91: nearly the same map from a network that knows nothing, so it\n'
        "                  # shows the image, not the network's reasoning"
    ),
    solved=("A",),
    wrong=[(("B",), "pass, not the fail"), (("C",), "highest similarity")],
    praise=(
        "A map that survives randomizing the weights would look just as convincing over a "
        "network that learned nothing."
    ),
)


# ---------------------------------------------------------- 2. a marker-only network's AUC
def _marker_only_auc(value) -> str | None:
    auc = number(value)
    if auc is None:
        return "give one number between 0 and 1."
    if close(auc, 0.5, 0.01):
        return None
    if close(auc, 1.0, 0.01) or close(auc, 0.99, 0.01):
        return (
            f"{auc:g} is what it scored where the marker came only with pneumonia. Here every "
            "film has the marker, so every film gets the same 0.99: the score no longer orders "
            "the sick above the well."
        )
    if close(auc, 0.0, 0.01):
        return (
            "an AUC of 0 would mean it ranks every normal film above every pneumonia film. With "
            "the same score for all films it cannot rank them at all: that is chance."
        )
    return (
        f"{auc:g} is not right. Every film gets the same score; what AUC does a score that "
        "cannot tell any pair of films apart have?"
    )


marker_only_auc = Exercise(
    "the AUC of a network that reads only the marker",
    _marker_only_auc,
    hint=(
        "The AUC is the chance that a random pneumonia film scores higher than a random normal "
        "film (ties count half). What does the network give each film when all carry the marker?"
    ),
    solution="my_auc = 0.5   # every film scores 0.99: all pairs tie, so chance level",
    solved=(0.5,),
    wrong=[((1.0,), "no longer orders"), ((0.0,), "chance")],
    praise=(
        "A shortcut does not just lower the AUC a little: where it no longer holds, the network "
        "is a coin toss, however good it looked at home."
    ),
)


# ------------------------------------------------------------- 3. the share of a map in a corner
def _test_map() -> np.ndarray:
    """A made-up 6 x 6 map, heavier in the top left, with a known answer for size 3."""
    rng = np.random.default_rng(11)
    cam = rng.uniform(0.0, 1.0, size=(6, 6))
    cam[:3, :3] += 1.0  # the corner holds more than its quarter
    return cam


def _corner_share(fn) -> str | None:
    cam = _test_map()
    got = number(call(fn, cam.copy(), 3))
    if got is None:
        return "return one number (the share), not an array or a list."
    target = cam[:3, :3].sum() / cam.sum()
    if close(got, target, 1e-6):
        return None
    if close(got, cam[:3, :3].mean() / cam.mean(), 1e-6):
        return (
            "you divided the corner's mean by the whole map's mean: that is the share divided "
            "by the corner's area. Divide the corner's sum by the map's sum."
        )
    if close(got, cam[:3, :3].sum(), 1e-6):
        return "that is the corner's total; divide it by the whole map's total to get a share."
    if close(got, cam[-3:, -3:].sum() / cam.sum(), 1e-6):
        return (
            "that is the bottom right corner: the top left is rows and columns 0 to size - 1, "
            "cam[:size, :size]."
        )
    if close(got, cam[:3, :3].sum() / cam[3:, 3:].sum(), 1e-6) or got > 1:
        return "a share lies between 0 and 1: divide by the total of the whole map."
    return (
        f"expected {target:.3f} for the test map, got {got:.3f}. "
        "Sum cam[:size, :size], divide by cam.sum()."
    )


def _share_solved(cam, size):
    cam = np.asarray(cam, dtype=float)
    return cam[:size, :size].sum() / cam.sum()


def _share_of_means(cam, size):
    cam = np.asarray(cam, dtype=float)
    return cam[:size, :size].mean() / cam.mean()


def _share_bottom_right(cam, size):
    cam = np.asarray(cam, dtype=float)
    return cam[-size:, -size:].sum() / cam.sum()


def _share_not_divided(cam, size):
    return float(np.asarray(cam, dtype=float)[:size, :size].sum())


corner_share = Exercise(
    "the share of a map in the marker's corner",
    _corner_share,
    hint=(
        "cam[:size, :size] is the top left corner (rows and columns 0 to size - 1). Add up its "
        "values and divide by the sum of the whole map."
    ),
    solution=(
        "def my_corner_share(cam, size):\n"
        "    cam = np.asarray(cam, dtype=float)   # (H, W)\n"
        "    return cam[:size, :size].sum() / cam.sum()"
    ),
    solved=(_share_solved,),
    wrong=[
        ((_share_of_means,), "mean"),
        ((_share_bottom_right,), "bottom right"),
        ((_share_not_divided,), "divide"),
    ],
    praise=(
        "A number instead of an impression: a map with most of its weight on a marker is a "
        "network reading the marker."
    ),
)


# ------------------------------------------------------------- 4. share of the drop recovered
_SAME, _SHIFTED, _VARIED = 0.96, 0.86, 0.94  # made-up AUCs: own protocol, other, with variation


def _recovered_share(fn) -> str | None:
    got = number(call(fn, _SAME, _SHIFTED, _VARIED))
    if got is None:
        return "return one number (a share), e.g. 0.8."
    target = (_VARIED - _SHIFTED) / (_SAME - _SHIFTED)  # 0.8
    if close(got, target, 1e-6):
        return None
    if close(got, _VARIED - _SHIFTED, 1e-6):
        return (
            "that is the AUC gained (0.08), not its share of the drop. Divide it by the drop, "
            "same - shifted."
        )
    if close(got, (_SAME - _VARIED) / (_SAME - _SHIFTED), 1e-6):
        return (
            "that is the share still missing (0.2). The share taken back is (varied - shifted) "
            "/ (same - shifted)."
        )
    if close(got, _VARIED / _SAME, 1e-6) or close(got, _SHIFTED / _SAME, 1e-6):
        return (
            "a ratio of two AUCs is not a share of the drop; subtract first: "
            "(varied - shifted) / (same - shifted)."
        )
    return (
        f"with same 0.96, shifted 0.86 and varied 0.94 the answer is {target:.2f}, not {got:.3f}."
    )


def _recovered_solved(same, shifted, varied):
    return (varied - shifted) / (same - shifted)


def _recovered_gain_only(same, shifted, varied):
    return varied - shifted


def _recovered_missing(same, shifted, varied):
    return (same - varied) / (same - shifted)


recovered_share = Exercise(
    "the share of the drop taken back",
    _recovered_share,
    hint=(
        "The drop is same - shifted. The network trained with variation gets back varied - "
        "shifted of it. The share is the second divided by the first."
    ),
    solution=(
        "def my_recovered(same, shifted, varied):\n"
        "    drop = same - shifted          # what the other protocol cost\n"
        "    regained = varied - shifted    # what the variation won back\n"
        "    return regained / drop"
    ),
    solved=(_recovered_solved,),
    wrong=[
        ((_recovered_gain_only,), "share of the drop"),
        ((_recovered_missing,), "still missing"),
    ],
    praise=(
        "A share makes two studies comparable even when their AUCs and drops differ; ask for "
        "it whenever a paper says its augmentation 'improved robustness'."
    ),
)


# --------------------------------------------------------- 5. which elements identify a patient
_IDENTIFYING = {
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "AccessionNumber",
    "InstitutionName",
}
_TECHNICAL = {"SliceThickness", "PixelSpacing", "KVP", "Rows"}


def _identifiers(chosen) -> str | None:
    if isinstance(chosen, str) or not isinstance(chosen, (set, frozenset, list, tuple)):
        return 'give a set of element names, e.g. {"PatientName", "PatientID"}.'
    names = {str(name).strip() for name in chosen}
    unknown = names - _IDENTIFYING - _TECHNICAL
    if unknown:
        return f"{', '.join(sorted(unknown))} is not in the list; spell the names as given."
    technical = names & _TECHNICAL
    if technical:
        return (
            f"{', '.join(sorted(technical))} describes how the image was made, not who the "
            "patient is; the study may need it. Keep technical elements."
        )
    missing = _IDENTIFYING - names
    if "AccessionNumber" in missing or "InstitutionName" in missing:
        return (
            f"{', '.join(sorted(missing))} missing: an accession number leads straight back to the "
            "examination in the hospital's system, and the hospital's name narrows who the patient "
            "can be. Both must go."
        )
    if missing:
        return f"{', '.join(sorted(missing))} missing: it names or points to the patient."
    return None


identifiers = Exercise(
    "the header elements that identify a patient",
    _identifiers,
    hint=(
        "For each element ask: could someone use it to find out who the patient is, or to find "
        "the examination in the hospital's archive? Technical values of the scan stay."
    ),
    solution=(
        "my_identifiers = {\n"
        '    "PatientName", "PatientID", "PatientBirthDate",\n'
        '    "AccessionNumber", "InstitutionName",\n'
        "}   # SliceThickness, PixelSpacing, KVP and Rows describe the scan, not the patient"
    ),
    solved=(set(_IDENTIFYING),),
    wrong=[
        (({"PatientName", "PatientID", "PatientBirthDate"},), "accession number"),
        ((_IDENTIFYING | {"PixelSpacing"},), "technical"),
    ],
    praise=(
        "The basic profile of DICOM PS3.15 removes or replaces these and many more (addresses, "
        "physicians, device serial numbers, free-text comments)."
    ),
)
