"""Exercises of lesson 08 (images as teaching data): pooling sizes, Dice, empty masks, PSNR.

Used in the lesson as ``from radlab.exercises import lesson08 as ex``; see
:mod:`radlab.exercises` for how an exercise is checked.
"""

from __future__ import annotations

import math

import numpy as np

from . import Exercise, NotAnswered, call, close

__all__ = ["pool_unpool_size", "dice_by_hand", "empty_masks", "psnr_from_mse", "which_network"]


def _whole(value) -> int | None:
    """``value`` as a whole number, or None when it is not one."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number == int(number) else None


# ------------------------------------------------ 1. sizes through pooling and unpooling
def _check_sizes(bottom, output) -> str | None:
    b, o = _whole(bottom), _whole(output)
    if b is None or o is None:
        return f"give two whole numbers of pixels, e.g. 40, 80; got {bottom!r}, {output!r}."
    if b == 24:
        return (
            f"{b} pixels is 96 halved twice; the encoder pools three times (96 -> 48 -> 24 -> ...)."
        )
    if b == 32:
        return "96 / 3 = 32 divides by the number of poolings; each pooling halves instead."
    if b != 12:
        return f"the bottom of the encoder is not {b} pixels: halve 96 three times."
    if o == 12:
        return (
            "unpooling is not the identity: each of the decoder's three unpoolings doubles "
            "the size, back to the input's."
        )
    if o != 96:
        return f"the decoder gives {o} pixels? Three doublings from 12 return to the input's size."
    return None


pool_unpool_size = Exercise(
    "Image sizes through SegNet",
    _check_sizes,
    hint=(
        "Each 2 x 2 max pooling halves height and width; each unpooling puts the values back "
        "on a grid twice as large."
    ),
    solution="my_bottom, my_output = 12, 96  # 96 / 2 / 2 / 2 = 12; 12 x 2 x 2 x 2 = 96",
    solved=(12, 96),
    wrong=[((24, 96), "halved twice"), ((12, 12), "not the identity"), ((32, 96), "halves")],
    praise=(
        "A mask the size of the scan is what lets the outline be drawn back on the "
        "radiologist's image, pixel for pixel."
    ),
)


# ------------------------------------------------------------- 2. Dice by hand
# The two 4 x 4 masks the lesson prints: 6 pixels drawn by the reader, 5 by the network,
# 4 of them shared.
DICE_TRUTH = np.array([[0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]])
DICE_PREDICTED = np.array([[0, 0, 1, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 1, 0]])


def _check_dice(value) -> str | None:
    both = int(np.sum(DICE_TRUTH & DICE_PREDICTED))
    t, p = int(DICE_TRUTH.sum()), int(DICE_PREDICTED.sum())
    right = 2 * both / (t + p)
    if close(value, right, 0.005):
        return None
    if close(value, both / (t + p - both), 0.005):
        return (
            "that is the Jaccard index (IoU): shared pixels over the union. Dice counts the "
            "shared pixels twice: 2 x shared / (reader's + network's)."
        )
    if close(value, both / t, 0.005):
        return (
            "shared over the reader's pixels only is the sensitivity per pixel; Dice divides "
            "twice the shared pixels by both masks' pixels together."
        )
    if close(value, both / (t + p), 0.005):
        return "you forgot the 2 in the numerator: Dice = 2 x shared / (reader's + network's)."
    return (
        f"Dice is not {value!r} here: count the shared pixels, the reader's and the "
        "network's, then 2 x shared / (reader's + network's)."
    )


dice_by_hand = Exercise(
    "Dice of two small masks",
    _check_dice,
    hint="Count: pixels that are 1 in both masks, pixels that are 1 in each mask.",
    solution="my_dice = 2 * 4 / (6 + 5)  # 4 shared pixels; 6 drawn by the reader, 5 predicted",
    solved=(8 / 11,),
    wrong=[((4 / 7,), "Jaccard"), ((4 / 6,), "sensitivity"), ((4 / 11,), "forgot the 2")],
    praise=(
        "Three wrong pixels (two missed, one extra) already cost 0.27 Dice: on a small lesion "
        "every edge pixel counts."
    ),
)


# ------------------------------------------------------------ 3. empty masks
def _masks_with_lesion() -> tuple[np.ndarray, np.ndarray]:
    truth = np.zeros((6, 6), dtype=np.int64)
    truth[1:4, 1:4] = 1  # 9 pixels
    predicted = np.zeros((6, 6), dtype=np.int64)
    predicted[2:5, 2:5] = 1  # 9 pixels, 4 shared
    return truth, predicted


def _check_empty(fn) -> str | None:
    truth, predicted = _masks_with_lesion()
    empty = np.zeros((6, 6), dtype=np.int64)
    got = call(fn, truth.copy(), predicted.copy())
    if not close(got, 8 / 18, 1e-6):
        if close(got, 4 / 14, 1e-6):
            return "that is the Jaccard index (IoU); Dice is 2 x shared / (sum of both masks)."
        return (
            f"for two 3 x 3 squares sharing 4 pixels your function gave {got!r}, not "
            f"{8 / 18:.4f} = 2 x 4 / (9 + 9). Check the formula first."
        )
    try:
        both_empty = call(fn, empty.copy(), empty.copy())
    except NotAnswered:
        return (
            "when both masks are empty your function returned None: decide the rule and "
            "return 1.0 (no lesion drawn, none found: the network agreed)."
        )
    except Exception as exc:  # a division by zero is the typical mistake: say so plainly
        if "zero" in str(exc).lower():
            return (
                "when both masks are empty, 2 x 0 / (0 + 0) divides by zero. Test for that case "
                "first and return 1.0: no lesion drawn and none found is agreement."
            )
        raise
    if isinstance(both_empty, float | np.floating) and math.isnan(both_empty):
        return (
            "both masks empty gave nan (0 / 0): one such slice would make the mean Dice of a whole "
            "study nan. Return 1.0 there: no lesion drawn and none found is agreement."
        )
    if close(both_empty, 0.0, 1e-9):
        return (
            "both masks empty gave 0, which punishes the network for rightly finding nothing. "
            "The course's convention is 1.0."
        )
    if not close(both_empty, 1.0, 1e-9):
        return f"both masks empty gave {both_empty!r}; by the course's convention it is 1.0."
    false_alarm = call(fn, empty.copy(), predicted.copy())
    if not close(false_alarm, 0.0, 1e-9):
        return (
            f"no lesion drawn but 9 pixels predicted gave {false_alarm!r}; that is a false "
            "alarm: 2 x 0 / (0 + 9) = 0. Return 1.0 only when BOTH masks are empty."
        )
    return None


def _dice_solution(truth, predicted):
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    total = truth.sum() + predicted.sum()
    if total == 0:
        return 1.0
    return 2 * np.sum(truth & predicted) / total


def _dice_nan(truth, predicted):
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.float64(2 * np.sum(truth & predicted)) / np.float64(truth.sum() + predicted.sum())


def _dice_divides_by_zero(truth, predicted):
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    return 2 * int(np.sum(truth & predicted)) / int(truth.sum() + predicted.sum())


def _dice_always_one_when_truth_empty(truth, predicted):
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    if truth.sum() == 0:
        return 1.0
    return 2 * np.sum(truth & predicted) / (truth.sum() + predicted.sum())


empty_masks = Exercise(
    "Dice when nothing is drawn",
    _check_empty,
    hint=("Add up the pixels of both masks first; if that total is 0, return 1.0 before dividing."),
    solution='''def my_dice(truth, predicted):
    """Dice of two 0/1 masks; 1.0 when both are empty (no lesion drawn, none found)."""
    truth = np.asarray(truth, bool)
    predicted = np.asarray(predicted, bool)
    total = truth.sum() + predicted.sum()
    if total == 0:
        return 1.0
    return 2 * np.sum(truth & predicted) / total''',
    solved=(_dice_solution,),
    wrong=[
        ((_dice_nan,), "gave nan"),
        ((_dice_divides_by_zero,), "divides by zero"),
        ((_dice_always_one_when_truth_empty,), "false alarm"),
    ],
    praise=(
        "Slices without a lesion are most of a real scan: how they are scored decides what a "
        "published mean Dice means."
    ),
)


# ------------------------------------------------------------ 4. PSNR by hand
def _check_psnr(value) -> str | None:
    data_range, mse = 400.0, 400.0  # HU window width; (20 HU)^2
    right = 10 * math.log10(data_range**2 / mse)
    if close(value, right, 0.05):
        return None
    if close(value, 10 * math.log10(data_range**2 / 20.0), 0.05):
        return "you used the RMSE (20 HU) where the formula wants the MSE, its square: 400 HU²."
    if close(value, 20 * math.log10(data_range**2 / mse), 0.05):
        return (
            "20 log10 is for amplitudes; with squared quantities (data range², MSE) it is 10 log10."
        )
    if close(value, 10 * math.log10(1.0 / mse), 0.05):
        return (
            "a data range of 1 belongs to images scaled to [0, 1]; here the error is in HU, so "
            "the data range is the window's width in HU: 400."
        )
    return (
        f"{value!r} dB is not it: PSNR = 10 log10(data_range² / MSE), with data_range = 400 HU "
        "and MSE = 20² HU²."
    )


psnr_from_mse = Exercise(
    "PSNR from an error and a window",
    _check_psnr,
    hint="MSE is the square of the RMSE; PSNR = 10 * math.log10(data_range**2 / mse).",
    solution="my_psnr = 10 * math.log10(400**2 / 20**2)  # about 26.0 dB",
    solved=(10 * math.log10(400**2 / 20**2),),
    wrong=[
        ((10 * math.log10(400**2 / 20),), "RMSE"),
        ((20 * math.log10(400**2 / 400),), "10 log10"),
        ((10 * math.log10(1 / 400),), "data range of 1"),
    ],
    praise=(
        "The same images in a 1500 HU window would score 11.5 dB more: always ask which window "
        "and data range a PSNR was computed in."
    ),
)


# ------------------------------------------------------- 5. which network for which job
NETWORKS = ("classifier", "unet", "fcn", "segnet", "red_cnn")
SEGMENTERS = ("unet", "fcn", "segnet")


def _name(value) -> str:
    return str(value).strip().lower().replace("-", "_").replace(" ", "_")


def _check_jobs(grade, outline, denoise) -> str | None:
    names = [_name(grade), _name(outline), _name(denoise)]
    unknown = [n for n in names if n not in NETWORKS]
    if unknown:
        return f"use names from {NETWORKS}; {unknown} is not among them."
    grade, outline, denoise = names
    if grade != "classifier":
        return (
            "grading a lesion asks one answer per image (benign or malignant): that is a "
            f"classifier, not {grade}, which answers per pixel."
        )
    if outline not in SEGMENTERS:
        return (
            "outlining the liver asks for a class for every pixel: a segmentation network "
            f"(unet, fcn or segnet), not {outline}."
        )
    if denoise != "red_cnn":
        return (
            "denoising asks for a grey value for every pixel, close to the input: RED-CNN "
            f"(input + correction, no pooling), not {denoise}, which gives classes."
        )
    return None


which_network = Exercise(
    "Which network for which job",
    _check_jobs,
    hint=(
        "Ask what the answer looks like: one label per image, one class per pixel, or one "
        "grey value per pixel."
    ),
    solution='my_grade, my_outline, my_denoise = "classifier", "unet", "red_cnn"',
    solved=("classifier", "unet", "red_cnn"),
    wrong=[
        (("unet", "unet", "red_cnn"), "one answer per image"),
        (("classifier", "red_cnn", "red_cnn"), "segmentation network"),
        (("classifier", "segnet", "unet"), "grey value"),
    ],
    praise="The shape of the answer you need picks the family of network.",
)
