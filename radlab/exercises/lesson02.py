"""Exercises of lesson 02 (augmentation): a random crop, dose and noise, views, CT-safe steps.

Used in the lesson as ``from radlab.exercises import lesson02 as ex``; see
:mod:`radlab.exercises` for how an exercise is checked.
"""

from __future__ import annotations

import math

import numpy as np

from . import Exercise, call, close

__all__ = ["CT_CHOICES", "random_crop", "dose_noise", "views", "ct_safe"]

# ---------------------------------------------------------------- 1. a random crop

_CROP_H, _CROP_W, _CROP_SIZE = 12, 20, 8
# every pixel holds its own number (row * 20 + column), so a crop tells where it was cut
_NUMBERED = np.arange(_CROP_H * _CROP_W, dtype=np.float32).reshape(_CROP_H, _CROP_W)
_CROP_DRAWS = 200  # enough that a correct crop reaches every edge (misses: under 1 in a million)


def _random_crop(fn) -> str | None:
    tops, lefts = set(), set()
    for seed in range(_CROP_DRAWS):
        out = call(fn, _NUMBERED.copy(), _CROP_SIZE, np.random.default_rng(seed))
        out = np.asarray(out)
        if out.shape != (_CROP_SIZE, _CROP_SIZE):
            return (
                f"a crop of size {_CROP_SIZE} from a {_CROP_H} x {_CROP_W} image came back with "
                f"shape {out.shape}, not ({_CROP_SIZE}, {_CROP_SIZE}). Slice "
                "image[top:top + size, left:left + size] (a slice ends at top + size, not at "
                "size), rows with the height image.shape[0], columns with the width image.shape[1]."
            )
        top, left = divmod(int(out[0, 0]), _CROP_W)  # where its first pixel came from
        block = _NUMBERED[top : top + _CROP_SIZE, left : left + _CROP_SIZE]
        if block.shape != out.shape or not np.array_equal(out, block):
            return (
                "the crop is not one block of the image's own pixels (values changed, or rows "
                "and columns mixed up). Return image[top:top + size, left:left + size] as it is."
            )
        tops.add(top)
        lefts.add(left)
    if len(tops) == 1 and len(lefts) == 1:
        return (
            f"every call cut the same place (top {top}, left {left}): that is a fixed crop, not "
            "a random one. Draw top and left with rng.integers(...) on every call."
        )
    if len(tops) == 1 or len(lefts) == 1:
        return "only one direction varies: draw both top (the row) and left (the column)."
    if max(tops) < _CROP_H - _CROP_SIZE or max(lefts) < _CROP_W - _CROP_SIZE:
        return (
            "your crops never touch the bottom or right edge: the last possible position is "
            "left out. rng.integers(0, n) never returns n itself, so draw "
            "rng.integers(0, height - size + 1)."
        )
    if min(tops) > 0 or min(lefts) > 0:
        return "your crops never start at row or column 0: draw from 0, rng.integers(0, ...)."
    return None


def _fixed_crop(image, size, rng):
    return image[:size, :size]


def _crop_one_short(image, size, rng):
    top = rng.integers(0, image.shape[0] - size)
    left = rng.integers(0, image.shape[1] - size)
    return image[top : top + size, left : left + size]


def _crop_ends_at_size(image, size, rng):
    top = rng.integers(0, image.shape[0] - size + 1)
    left = rng.integers(0, image.shape[1] - size + 1)
    return image[top:size, left:size]


def _crop_solved(image, size, rng):
    height, width = image.shape
    top = rng.integers(0, height - size + 1)
    left = rng.integers(0, width - size + 1)
    return image[top : top + size, left : left + size]


random_crop = Exercise(
    "a random crop",
    _random_crop,
    hint=(
        "A crop of size s from an image h pixels high can start at rows 0, 1, ..., h - s: "
        "that is h - s + 1 places. rng.integers(low, high) gives a whole number from low up to "
        "high - 1. Draw a top row and a left column, then slice."
    ),
    solution=(
        "def my_random_crop(image, size, rng):\n"
        "    height, width = image.shape\n"
        "    top = rng.integers(0, height - size + 1)   # + 1: the last place is allowed too\n"
        "    left = rng.integers(0, width - size + 1)\n"
        "    return image[top:top + size, left:left + size]"
    ),
    solved=(_crop_solved,),
    wrong=[
        ((_fixed_crop,), "same place"),
        ((_crop_one_short,), "last possible position"),
        ((_crop_ends_at_size,), "shape"),
    ],
    praise="Each epoch now sees the anatomy at a new place in the field of view.",
)

# ---------------------------------------------------------------- 2. noise and dose

_FULL_DOSE_SD = 12.0  # HU, the phantoms' noise at standard dose


def _sd_at(dose: float) -> float:
    return _FULL_DOSE_SD / math.sqrt(dose)


def _dose_noise(sd_quarter, sd_tenth) -> str | None:
    quarter, tenth = float(sd_quarter), float(sd_tenth)
    right_quarter, right_tenth = _sd_at(0.25), _sd_at(0.1)  # 24 and 37.9 HU
    if close(quarter, right_quarter, 0.5) and close(tenth, right_tenth, 0.6):
        return None
    if close(quarter, _FULL_DOSE_SD / 0.25, 1) or close(tenth, _FULL_DOSE_SD / 0.1, 2):
        return (
            "you made the noise grow in proportion to 1 / dose (12 / 0.25 = 48 HU). It grows "
            "more slowly: the variance (SD squared) grows as 1 / dose, so the SD grows as "
            "1 / sqrt(dose)."
        )
    if close(quarter, _FULL_DOSE_SD * 0.5, 0.5) or close(tenth, _FULL_DOSE_SD * 0.316, 0.3):
        return (
            "you multiplied by sqrt(dose) (12 x 0.5 = 6 HU), which makes a low-dose scan "
            "smoother. Fewer photons give MORE noise: divide by the square root of the dose."
        )
    if close(quarter, _FULL_DOSE_SD * 0.25, 0.5) or close(tenth, _FULL_DOSE_SD * 0.1, 0.3):
        return (
            "you multiplied by the dose (12 x 0.25 = 3 HU): less dose gives MORE noise, not "
            "less. Divide 12 by the square root of the dose fraction."
        )
    if close(quarter, _FULL_DOSE_SD, 0.5) and close(tenth, _FULL_DOSE_SD, 0.5):
        return "the noise does not stay at 12 HU: fewer photons give more noise. Use 12 / sqrt(d)."
    if close(quarter, right_quarter, 0.5):
        return (
            f"the quarter dose is right; for a tenth of the dose divide 12 by sqrt(0.1), "
            f"about 0.316 (you gave {tenth:g} HU)."
        )
    return (
        f"{quarter:g} and {tenth:g} HU are not 12 / sqrt(dose) for doses 0.25 and 0.1. "
        "Divide 12 HU by the square root of each dose fraction."
    )


dose_noise = Exercise(
    "noise at a lower dose",
    _dose_noise,
    hint=(
        "Noise comes from counting photons: with a fraction d of the dose, the variance (SD "
        "squared) is 1 / d times larger, so the SD is 1 / sqrt(d) times larger. sqrt(0.25) is 0.5."
    ),
    solution=(
        "my_sd_quarter = 12 / 0.25**0.5   # 24 HU: a quarter of the dose doubles the noise\n"
        "my_sd_tenth = 12 / 0.1**0.5      # about 38 HU: a tenth of the dose, about 3.2 times"
    ),
    solved=(24.0, 37.9),
    wrong=[
        ((48.0, 120.0), "grows more slowly"),
        ((6.0, 3.8), "more noise"),
        ((24.0, 30.0), "tenth"),
    ],
    praise="A quarter of the dose doubles the noise: why low-dose protocols look grainy.",
)

# ---------------------------------------------------------------- 3. how many versions

_N_CROPS, _P_MIRROR, _EPOCHS = 4, 0.5, 100


def _views(n_views, n_mirrored) -> str | None:
    n_views, n_mirrored = float(n_views), float(n_mirrored)
    views_right = close(n_views, _N_CROPS * 2, 0)
    mirrored_right = close(n_mirrored, _P_MIRROR * _EPOCHS, 0.5)
    if views_right and mirrored_right:
        return None
    if close(n_views, _N_CROPS + 2, 0):
        return (
            "you added the choices (4 + 2). Each of the 4 crops can come mirrored or not, so "
            "the counts multiply: 4 x 2."
        )
    if close(n_views, _N_CROPS, 0):
        return (
            "you left the mirror out. It happens in half of the epochs, but a mirrored crop is "
            "still a different image: 4 crops, each mirrored or not."
        )
    if close(n_views, _N_CROPS * _P_MIRROR, 0):
        return (
            "you multiplied by p = 0.5. p says how often the mirror is used, not how many kinds "
            "of image there are: mirrored or not makes two kinds."
        )
    if not views_right:
        return f"{n_views:g} different images is not right: count 4 crops, each mirrored or not."
    return (
        f"{n_mirrored:g} mirrored epochs out of 100 is not what p = 0.5 gives: p is the chance "
        "in each epoch, so on average 100 x 0.5 epochs show it mirrored."
    )


views = Exercise(
    "how many versions of one image",
    _views,
    hint=(
        "List them: crop 1 plain, crop 1 mirrored, crop 2 plain, ... The probability p says how "
        "often a step is used, not how many kinds of image it makes."
    ),
    solution=(
        "my_views = 4 * 2          # 4 crop places, each plain or mirrored: 8 different images\n"
        "my_mirrored = 100 * 0.5   # p = 0.5 in each of 100 epochs: about 50 of them mirrored"
    ),
    solved=(8, 50),
    wrong=[((6, 50), "multiply"), ((4, 50), "left the mirror out"), ((8, 100), "chance")],
    praise="Eight versions of one case, yet still one patient: augmentation cannot replace cases.",
)

# ---------------------------------------------------------------- 4. safe for abdominal CT

CT_CHOICES = (
    "left-right flip",
    "upside-down flip",
    "rotation up to 5 degrees",
    "rotation up to 45 degrees",
    "shift up to 5 %",
    "zoom 0.95-1.05",
    "crop that keeps the lesion",
    "dose noise in HU before the window",
    "contrast stretch",
    "brightness offset of 0.2",
)
_CT_SAFE = {
    "rotation up to 5 degrees",
    "shift up to 5 %",
    "zoom 0.95-1.05",
    "crop that keeps the lesion",
    "dose noise in HU before the window",
}
_WHY_NOT = {
    "left-right flip": "A left-right flip puts the liver on the image right: situs inversus, and "
    "every lesion changes side.",
    "upside-down flip": "Upside down the spine lies in front: a supine patient becomes prone.",
    "rotation up to 45 degrees": "No patient lies 45 degrees tilted on the table: the network "
    "would train on positions it never meets.",
    "contrast stretch": "A contrast stretch changes the Hounsfield units: the gaps between fat, "
    "fluid and soft tissue no longer mean what they mean.",
    "brightness offset of 0.2": "A brightness offset of 0.2 in the liver window adds 30 HU: a cyst "
    "at 10 HU reads 40 HU, like soft tissue (Hounsfield units are calibrated).",
}


def _names(answer) -> list[str]:
    """The chosen names as written in CT_CHOICES (case and spaces at the ends do not matter),
    from a set, list, tuple or one string; a name not in the list is kept as given."""
    if isinstance(answer, str):
        answer = [answer]
    by_lower = {choice.lower(): choice for choice in CT_CHOICES}
    names = []
    for name in answer:
        written = str(name).strip()
        names.append(by_lower.get(written.lower(), written))
    return names


def _ct_safe(chosen) -> str | None:
    names = _names(chosen)
    unknown = [name for name in names if name not in CT_CHOICES]
    if unknown:
        return (
            f"{', '.join(repr(n) for n in unknown)} is not one of the choices. Copy the names "
            "exactly from the list printed above, e.g. {'shift up to 5 %', ...}."
        )
    problems = []
    for name in CT_CHOICES:  # in the printed order
        if name in names and name not in _CT_SAFE:
            problems.append(_WHY_NOT[name])
    missing = [name for name in CT_CHOICES if name in _CT_SAFE and name not in names]
    if missing:
        problems.append(
            f"Also safe, and missing from your set: {', '.join(missing)} (each keeps both the "
            "anatomy and the HU true)."
        )
    return " ".join(problems) or None


ct_safe = Exercise(
    "augmentations that are safe for an abdominal CT in HU",
    _ct_safe,
    hint=(
        "Ask two questions of each step: does the image still show a body that could lie on the "
        "table (liver on the image left, spine at the back, a small tilt at most)? And does "
        "every pixel still hold the Hounsfield unit it had?"
    ),
    solution=(
        "my_safe = {\n"
        '    "rotation up to 5 degrees",\n'
        '    "shift up to 5 %",\n'
        '    "zoom 0.95-1.05",\n'
        '    "crop that keeps the lesion",\n'
        '    "dose noise in HU before the window",\n'
        "}   # no flip (situs, prone), no big tilt, no contrast or brightness on HU"
    ),
    solved=(set(_CT_SAFE),),
    wrong=[
        (({*_CT_SAFE, "left-right flip"},), "situs"),
        (({*_CT_SAFE, "contrast stretch", "brightness offset of 0.2"},), "Hounsfield"),
        (({*_CT_SAFE, "upside-down flip"},), "prone"),
        ((sorted(_CT_SAFE - {"dose noise in HU before the window"}),), "also safe"),
    ],
    praise="These five keep both the anatomy and the Hounsfield units true.",
)
