"""Exercises of lesson 01 (input data): Hounsfield units, windows, channels, memory.

Used in the lesson as ``from radlab.exercises import lesson01 as ex``; see
:mod:`radlab.exercises` for how an exercise is checked.
"""

from __future__ import annotations

import numpy as np

from . import Exercise, NotAnswered, call, close, number

__all__ = ["hu_conversion", "subdural_window", "phase_shapes", "batch_memory"]


# ------------------------------------------------------ 1. stored values to HU
# Two small "images" of stored values, as a DICOM file holds them (unsigned 16-bit integers),
# each with the header's RescaleSlope and RescaleIntercept. The first gives them as whole
# numbers (int), as some readers of the header do; the second has a slope of 0.5.
_HU_CASES = (
    (
        "slope 1, intercept -1024",
        np.array([[0, 1024, 1060], [2048, 24, 3000]], dtype=np.uint16),
        1,
        -1024,
    ),
    (
        "slope 0.5, intercept -1024",
        np.array([[0, 2048, 2120], [4096, 1000, 6000]], dtype=np.uint16),
        0.5,
        -1024.0,
    ),
)


def _same(values: np.ndarray, target: np.ndarray) -> bool:
    return values.shape == target.shape and bool(np.allclose(values, target, atol=0.01))


def _overflow_message(what: str) -> str:
    return (
        f"for {what}, your function failed because the stored values are uint16 (unsigned "
        "16-bit whole numbers, 0 to 65535), which cannot hold a negative HU such as air's "
        "-1000. Turn them into decimals first: np.asarray(stored, dtype=np.float32)."
    )


def _hu_one_case(fn, what: str, stored: np.ndarray, slope, intercept) -> str | None:
    """What is wrong with ``fn`` on one test image, or None when it is right."""
    as_float = stored.astype(np.float64)
    expected = as_float * float(slope) + float(intercept)
    try:
        got = call(fn, stored.copy(), slope, intercept)  # a copy: their function may change it
    except NotAnswered:
        raise
    except Exception as exc:  # call() reports their error; an overflow gets its own advice
        if "out of bounds" in str(exc) or "Overflow" in str(exc):
            return _overflow_message(what)
        raise
    values = np.asarray(got)
    if values.shape != stored.shape:
        return (
            f"for an image of shape {stored.shape} your function returned shape "
            f"{values.shape}. Return one HU value per pixel: the same shape as stored."
        )
    if values.dtype.kind not in "iuf":
        return f"your function returned {values.dtype} values; return numbers (HU)."
    if values.dtype.kind == "u":
        return (
            f"for {what}, your result is still unsigned integers ({values.dtype}), so the "
            "negative HU wrapped around to huge positive numbers (integer overflow). "
            "Turn stored into decimals first: np.asarray(stored, dtype=np.float32)."
        )
    values = values.astype(np.float64)
    if _same(values, expected):
        return None
    if _same(values, as_float * float(slope) - float(intercept)):
        return (
            f"for {what}, you subtracted the intercept. The header's formula adds it: "
            "HU = stored x slope + intercept (the intercept is already negative, -1024)."
        )
    if _same(values, as_float + float(intercept)):
        return (
            f"for {what}, your function ignores the slope (it is right only when the slope "
            "is 1). Multiply the stored values by the slope before adding the intercept."
        )
    if float(slope) != 0 and _same(values, as_float / float(slope) + float(intercept)):
        return f"for {what}, you divided by the slope; multiply by it."
    if _same(values, (as_float + float(intercept)) * float(slope)):
        return (
            f"for {what}, you added the intercept before multiplying by the slope. "
            "The order is: multiply first, then add the intercept."
        )
    if bool(np.any(values > 30000)):
        return (
            f"for {what}, some results are above 30000 HU where air should be -1024: the "
            "negative values wrapped around (integer overflow). Work in decimals: "
            "np.asarray(stored, dtype=np.float32) * slope + intercept."
        )
    return (
        f"for {what}, stored {stored.ravel()[:3].tolist()} should give "
        f"{expected.ravel()[:3].tolist()} HU, but your function gave "
        f"{values.ravel()[:3].round(2).tolist()}. Use HU = stored x slope + intercept."
    )


def _hu_conversion(fn) -> str | None:
    for what, stored, slope, intercept in _HU_CASES:
        problem = _hu_one_case(fn, what, stored, slope, intercept)
        if problem:
            return problem
    return None


def _hu_solved(stored, slope, intercept):
    values = np.asarray(stored, dtype=np.float32)
    return values * float(slope) + float(intercept)


def _hu_subtracts(stored, slope, intercept):
    return np.asarray(stored, dtype=np.float32) * slope - intercept


def _hu_ignores_slope(stored, slope, intercept):
    return np.asarray(stored, dtype=np.float32) + intercept


def _hu_keeps_uint16(stored, slope, intercept):
    return stored * slope + intercept


hu_conversion = Exercise(
    "the Hounsfield-unit conversion",
    _hu_conversion,
    hint=(
        "The header says HU = stored x RescaleSlope + RescaleIntercept. The stored values may be "
        "unsigned 16-bit integers, which have no room for negative numbers: make them decimals "
        "(np.asarray(stored, dtype=np.float32)) before the arithmetic."
    ),
    solution=(
        "def my_hu(stored, slope, intercept):\n"
        "    values = np.asarray(stored, dtype=np.float32)  # decimals: room for -1000\n"
        "    return values * float(slope) + float(intercept)"
    ),
    solved=(_hu_solved,),
    wrong=[
        ((_hu_subtracts,), "subtracted the intercept"),
        ((_hu_ignores_slope,), "ignores the slope"),
        ((_hu_keeps_uint16,), "uint16"),
    ],
    praise="Air now reads about -1000 and water 0 whatever integers the scanner stored.",
)


# ----------------------------------------------------- 2. a window for a subdural
def _subdural_window(level, width) -> str | None:
    level, width = float(level), float(width)
    if width <= 0:
        return "a window's width is a positive number of HU (the span from black to white)."
    if width > 400:
        return (
            f"a width of {width:g} HU squeezes blood, brain and CSF into a few grey levels "
            "(that is a bone-like window). Make it narrower, a few hundred HU at most."
        )
    if width < 130:
        return (
            f"a width of {width:g} HU is the brain window: a thin subdural collection "
            "next to the bright skull turns white and merges with the bone. Widen it to "
            "about 150-300 HU so that blood, brain and bone stay apart."
        )
    if not 50 <= level <= 100:
        return (
            f"with the level at {level:g} HU the centre of the window is not where the "
            "grey levels are needed: acute blood reads about 50-90 HU and brain 20-45 HU. "
            "Put the level between them and the bone, around 60-100 HU."
        )
    return None


subdural_window = Exercise(
    "a window for a subdural haematoma",
    _subdural_window,
    hint=(
        "Acute blood is 50-90 HU, brain 20-45 HU, the skull over 700 HU. The standard brain "
        "window (level 40, width 80) makes a thin crescent of blood beside the skull as white "
        "as the bone. Which way should the width go, and where should the level sit?"
    ),
    solution=(
        "my_level, my_width = 75, 215   # the usual 'subdural' window (any level 50-100 HU\n"
        "                                # with a width of 130-300 HU separates blood from bone)"
    ),
    solved=(75, 215),
    wrong=[((40, 80), "brain window"), ((500, 2000), "bone-like"), ((0, 200), "level")],
    praise="A wider window than the brain window keeps a thin crescent of blood off the skull.",
)


# ------------------------------------------- 3. four phases: channels or one wide image
# A minibatch of 16 cases of a four-phase liver CT (unenhanced, arterial, portal venous,
# delayed), each phase cropped to 96 x 96 pixels.
_CASES, _PHASES, _SIDE = 16, 4, 96
_CHANNELS = (_CASES, _PHASES, _SIDE, _SIDE)  # (N, C, H, W)
_TILED = (_CASES, 1, _SIDE, _PHASES * _SIDE)  # (N, 1, H, 4W): side by side


def _as_shape(value) -> tuple[int, ...] | None:
    """``value`` (a tuple, list or torch.Size of whole numbers) as a tuple, else None."""
    if not isinstance(value, (tuple, list)):  # torch.Size is a tuple
        return None
    shape = []
    for size in value:
        if isinstance(size, bool) or not isinstance(size, (int, float, np.integer)):
            return None
        if float(size) != int(size):
            return None
        shape.append(int(size))
    return tuple(shape)


def _channels_problem(shape: tuple[int, ...]) -> str | None:
    if shape == _CHANNELS:
        return None
    if len(shape) == 3:
        return (
            f"{shape} has three numbers; a minibatch shape starts with the number of cases: "
            "(N, C, H, W)."
        )
    if shape == (_CASES, _SIDE, _SIDE, _PHASES):
        return (
            "that is the channels-last order of NumPy pictures and TensorFlow. PyTorch expects "
            "(N, C, H, W): the channels come second, right after the number of cases."
        )
    if len(shape) == 4 and shape[0] == _CASES and shape[2:] == (_SIDE, _SIDE):
        return f"as channels, each of the four phases is one channel, so C is 4, not {shape[1]}."
    return (
        f"channels shape {shape} is not right: (number of cases, phases, height, width) for "
        "16 cases, four phases, 96 x 96 pixels."
    )


def _tiled_problem(shape: tuple[int, ...]) -> str | None:
    if shape == _TILED:
        return None
    if len(shape) == 3:
        return (
            f"{shape} has three numbers; a minibatch shape starts with the number of cases: "
            "(N, C, H, W)."
        )
    if len(shape) != 4 or shape[0] != _CASES:
        return f"tiled shape {shape}: give (N, C, H, W) with N = 16 cases."
    if shape[1] != 1:
        return (
            f"a tiled image is one grey image, so it has one channel, not {shape[1]}: the "
            "phases sit next to each other in the picture, not on top of each other."
        )
    if shape[2:] == (_PHASES * _SIDE, _SIDE):
        return (
            "that stacks the phases top to bottom. Side by side, the height stays 96 and the "
            "width grows: four images of 96 columns each."
        )
    if shape[2] == _SIDE and shape[3] == 3 * _SIDE:
        return (
            "the width fits three phases; this study has four (unenhanced, arterial, portal "
            "venous, delayed)."
        )
    return (
        f"tiled shape {shape} is not right: side by side, the height stays 96 and the width "
        "is four images of 96 columns."
    )


def _phase_shapes(channels_shape, tiled_shape) -> str | None:
    channels, tiled = _as_shape(channels_shape), _as_shape(tiled_shape)
    if channels is None or tiled is None:
        return "give each shape as a tuple of whole numbers, such as (2, 1, 64, 64)."
    if channels == _TILED and tiled == _CHANNELS:
        return "the two shapes are swapped: the channel input keeps 96 x 96 and has 4 channels."
    return _channels_problem(channels) or _tiled_problem(tiled)


phase_shapes = Exercise(
    "four phases as channels, and tiled into one image",
    _phase_shapes,
    hint=(
        "PyTorch orders a minibatch (N, C, H, W): cases, channels, height, width. As channels, "
        "each phase is one channel on the same 96 x 96 grid. Tiled side by side, the phases "
        "become one grey image (one channel) four times as wide."
    ),
    solution=(
        "my_channels_shape = (16, 4, 96, 96)   # 16 cases, 4 phases as channels, 96 x 96\n"
        "my_tiled_shape = (16, 1, 96, 384)     # one grey image, 4 x 96 columns wide"
    ),
    solved=(_CHANNELS, _TILED),
    wrong=[
        (((16, 96, 96, 4), _TILED), "channels come second"),
        ((_CHANNELS, (16, 4, 96, 384)), "one channel"),
        ((_CHANNELS, (16, 1, 384, 96)), "top to bottom"),
        (((16, 3, 96, 96), _TILED), "C is 4"),
        ((_TILED, _CHANNELS), "swapped"),
    ],
    praise=(
        "As channels, the four values of one spot of the liver sit at the same pixel; tiled, "
        "they are 96 columns apart."
    ),
)


# ------------------------------------------------------------ 4. memory of a batch
# A minibatch of 16 three-phase slices of 384 x 384 pixels, as float32 (4 bytes a value).
_MB = 16 * 3 * 384 * 384 * 4 / 1e6  # 28.3 MB (1 MB = 1,000,000 bytes)
_MIB = 16 * 3 * 384 * 384 * 4 / 2**20  # 27.0 MiB, also accepted


def _batch_memory(mb) -> str | None:
    value = number(mb)
    if value is None:
        return "give one number: the megabytes (MB) the minibatch takes."
    if close(value, _MB, 0.1) or close(value, _MIB, 0.1):
        return None
    if close(value, _MB / 4, 0.05):
        return (
            f"{value:.2f} counts one byte per value. A float32 number takes 4 bytes: multiply by 4."
        )
    if close(value, _MB / 3, 0.05):
        return f"{value:.2f} MB is one phase only: each slice has 3 channels, multiply by 3."
    if close(value, _MB / 12, 0.05):
        return f"{value:.2f} forgets both the 3 channels and the 4 bytes of each float32 value."
    if close(value, _MB / 2, 0.05):
        return (
            f"{value:.2f} uses 2 bytes per value, as the 16-bit integers on disk. Inside the "
            "network the values are float32: 4 bytes each."
        )
    if close(value, _MB * 8, 0.5):
        return f"{value:.1f} counts 32 bits per value; a byte is 8 bits, so float32 is 4 bytes."
    if close(value, _MB * 1e6, 1e5):
        return f"{value:.0f} is in bytes; divide by 1,000,000 for megabytes."
    return (
        f"{value:g} MB is not right. Multiply cases x channels x height x width x bytes per "
        "value, then divide by 1,000,000."
    )


batch_memory = Exercise(
    "the memory of a minibatch",
    _batch_memory,
    hint=(
        "Count the values: cases x channels x height x width. Each float32 value takes 4 bytes; "
        "1 MB is 1,000,000 bytes."
    ),
    solution=(
        "my_mb = 16 * 3 * 384 * 384 * 4 / 1e6   # 28.3 MB: cases x phases x pixels x 4 bytes"
    ),
    solved=(16 * 3 * 384 * 384 * 4 / 1e6,),
    wrong=[
        ((16 * 3 * 384 * 384 / 1e6,), "4 bytes"),
        ((16 * 384 * 384 * 4 / 1e6,), "3 channels"),
        ((16 * 384 * 384 / 1e6,), "both"),
        ((16 * 3 * 384 * 384 * 2 / 1e6,), "2 bytes"),
    ],
    praise=(
        "That is the input alone; the first layer's feature maps, with many more channels, "
        "take several times as much."
    ),
)
