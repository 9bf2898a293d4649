"""Exercises of lesson 03 (CNN building blocks): softmax, output size, parameters, pooling, dropout.

Used in the lesson as ``from radlab.exercises import lesson03 as ex``; see
:mod:`radlab.exercises` for how an exercise is checked.
"""

from __future__ import annotations

import numpy as np

from ..models import conv_output_size
from . import Exercise, call, close

# ------------------------------------------------------------------ softmax --

# logits of a chest film's three classes (normal, bacterial, viral pneumonia), and more
_SOFTMAX_CASES = [
    np.array([2.0, 1.0, 0.1]),
    np.array([1.41, 0.59, 0.70, 0.95, 3.51]),  # the fibrosis logits of the lesson
    np.array([-1.0, 0.0, 3.0]),
    np.array([0.5, 0.5]),
]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z)
    return e / e.sum()


def _softmax_check(fn) -> str | None:
    for logits in _SOFTMAX_CASES:
        got = call(fn, logits.copy())
        try:
            probs = np.asarray(got, dtype=float).ravel()
        except (TypeError, ValueError):
            return f"my_softmax returned {type(got).__name__}, not numbers. Return the array."
        right = _softmax(logits)
        if probs.shape != right.shape:
            return (
                f"for {len(logits)} logits my_softmax returned {probs.size} number(s); softmax "
                "gives one probability per class, as many as there are logits."
            )
        if np.allclose(probs, right, atol=1e-4):
            continue
        shown = np.round(probs, 3).tolist()
        if np.allclose(probs, np.exp(logits), atol=1e-4):
            return (
                f"for logits {logits.tolist()} you returned {shown}, which do not add up to 1: "
                "the exponentials are right, now divide each by their sum."
            )
        if abs(logits.sum()) > 1e-9 and np.allclose(probs, logits / logits.sum(), atol=1e-4):
            return (
                f"for logits {logits.tolist()} you returned {shown}: the logits divided by their "
                "sum, without the exponential. Take np.exp of each logit first, then divide by "
                "the sum of the exponentials."
            )
        if np.allclose(probs.sum(), 1, atol=1e-4):
            return (
                f"for logits {logits.tolist()} you returned {shown}; they add up to 1 but are not "
                f"the softmax {np.round(right, 3).tolist()}. Use np.exp(z) / np.exp(z).sum()."
            )
        return (
            f"for logits {logits.tolist()} you returned {shown}, not "
            f"{np.round(right, 3).tolist()}. Softmax: exponential of each, divided by their sum."
        )
    return None


def _no_exponential(z):
    return z / z.sum()


def _not_normalised(z):
    return np.exp(z)


softmax = Exercise(
    "softmax of a chest film's logits",
    _softmax_check,
    hint=(
        "Two steps: np.exp(logits) makes every logit positive (and stretches the differences), "
        "then dividing by the sum of those exponentials makes them add up to 1."
    ),
    solution=(
        "def my_softmax(logits):\n"
        "    exponentials = np.exp(logits)            # every one positive\n"
        "    return exponentials / exponentials.sum() # they now add up to 1"
    ),
    solved=(_softmax,),
    wrong=[((_not_normalised,), "add up to 1"), ((_no_exponential,), "without the exponential")],
    praise=(
        "Softmax suits classes that exclude each other (normal, bacterial or viral pneumonia); "
        "findings that can coexist, such as pneumonia and an effusion, get one yes/no "
        "probability each instead."
    ),
)


# ------------------------------------------------------------------ output size --

# (size, kernel, stride, padding): CT slices, chest films, AlexNet's first layer
_SIZE_CASES = [
    (128, 3, 1, 1),
    (128, 3, 1, 0),
    (512, 3, 2, 1),
    (28, 5, 1, 0),
    (64, 3, 2, 0),  # (64 - 3) / 2 = 30.5: rounded down
    (227, 11, 4, 0),
    (512, 7, 2, 3),
]


# typical mistakes: (what the learner's function computes, what to say)
_SIZE_MISTAKES = [
    (
        lambda n, f, s, p: (n + 2 * p - f) / s + 1,
        "the division left a fraction. A filter cannot stop half-way: round down with // "
        "(floor division).",
    ),
    (
        lambda n, f, s, p: (n + 2 * p - f) // s,
        "you forgot the + 1. The filter's first position counts too (a 3-pixel filter fits "
        "once in 3 pixels: (3 - 3) // 1 + 1 = 1).",
    ),
    (
        lambda n, f, s, p: (n + p - f) // s + 1,
        "padding goes on both sides of the image (left and right), so it adds 2 * padding pixels.",
    ),
    (
        lambda n, f, s, p: n + 2 * p - f + 1,
        "the stride is missing. With stride S the filter jumps S pixels at a time: divide by "
        "the stride.",
    ),
]


def _output_size_check(fn) -> str | None:
    answers = [call(fn, *case) for case in _SIZE_CASES]
    right = [conv_output_size(*case) for case in _SIZE_CASES]
    wrong_at = [i for i in range(len(right)) if not close(answers[i], right[i], 1e-9)]
    if not wrong_at:
        return None
    size, kernel, stride, padding = _SIZE_CASES[wrong_at[0]]
    first = (
        f"for size {size}, kernel {kernel}, stride {stride}, padding {padding} you gave "
        f"{answers[wrong_at[0]]}, not {right[wrong_at[0]]}: "
    )
    for mistake, advice in _SIZE_MISTAKES:
        expected = [mistake(*case) for case in _SIZE_CASES]
        if all(close(a, e, 1e-9) for a, e in zip(answers, expected)):
            return first + advice
    return first + "the formula is (N + 2P - F) // S + 1."


output_size = Exercise(
    "the output size of a convolution",
    _output_size_check,
    hint=(
        "Pad first (the image grows by padding on each side), count how many steps of `stride` "
        "the filter can take before it falls off the edge (round down), and add 1 for the "
        "position it started at."
    ),
    solution=(
        "def my_output_size(size, kernel, stride, padding):\n"
        "    return (size + 2 * padding - kernel) // stride + 1"
    ),
    solved=(lambda size, kernel, stride, padding: (size + 2 * padding - kernel) // stride + 1,),
    wrong=[
        ((lambda n, f, s, p: (n + 2 * p - f) // s,), "forgot the + 1"),
        ((lambda n, f, s, p: (n + 2 * p - f) + 1,), "stride is missing"),
        ((lambda n, f, s, p: (n + p - f) // s + 1,), "both sides"),
        ((lambda n, f, s, p: (n + 2 * p - f) / s + 1,), "round down"),
    ],
    praise=(
        "A 512 x 512 slice through a 3 x 3 convolution with stride 2 and padding 1 comes out "
        "256 x 256: stride 2 halves the matrix, as pooling does."
    ),
)


# --------------------------------------------------------------------- parameters --

_F, _M, _N = 5, 3, 32  # 5 x 5 filters, 3 phases in, 32 filters


def _parameters_check(count) -> str | None:
    right = _F * _F * _M * _N + _N
    count = float(count)
    if count == right:
        return None
    if count == _F * _F * _M * _N:
        return (
            f"{count:g} counts the weights but not the biases: each of the {_N} filters also "
            f"has one bias, {right} in all."
        )
    if count == _F * _F * _N + _N:
        return (
            f"{count:g} would be right for one input channel. Each filter looks at all {_M} "
            f"phases at once: it is {_F} x {_F} x {_M}, so multiply by the {_M} input channels."
        )
    if count == _F * _F * _M + 1:
        return f"{count:g} is one filter and its bias; the layer has {_N} filters."
    if count == 3 * 3 * _M * _N + _N:
        return f"{count:g} would be 3 x 3 filters; these are {_F} x {_F}."
    return f"{count:g} is not it. Count F * F * M weights per filter, {_N} filters, one bias each."


parameters = Exercise(
    "the parameters of a convolutional layer",
    _parameters_check,
    hint=(
        "One filter has F x F x M weights (F x F pixels in each of the M input channels) and "
        "one bias. The layer has N such filters."
    ),
    solution="my_parameters = 5 * 5 * 3 * 32 + 32   # 2432: F*F*M*N weights + N biases",
    solved=(2432,),
    wrong=[((2400,), "biases"), ((832,), "input channel"), ((76,), "32 filters")],
    praise=(
        "2,432 numbers to learn, whatever the size of the CT slice: the same filters slide over "
        "every position."
    ),
)


# --------------------------------------------------------------------- max pooling --

# a 4 x 4 corner of a CT map in HU: soft tissue, one bright calcification (200), contrast (300)
PATCH = np.array(
    [
        [40, 45, 120, 118],
        [38, 200, 60, 55],
        [35, 42, 50, 300],
        [30, 33, 260, 48],
    ],
    dtype=float,
)


def _pool(x: np.ndarray, size: int, stride: int, how) -> np.ndarray:
    rows = (x.shape[0] - size) // stride + 1
    cols = (x.shape[1] - size) // stride + 1
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[i, j] = how(x[i * stride : i * stride + size, j * stride : j * stride + size])
    return out


_MAX = _pool(PATCH, 2, 2, np.max)  # [[200, 120], [42, 300]]


def _max_pool_check(answer) -> str | None:
    got = np.asarray(answer, dtype=float)
    if got.shape == (3, 3) and np.array_equal(got, _pool(PATCH, 2, 1, np.max)):
        return (
            "that is a 2 x 2 window moved one pixel at a time (stride 1), which gives 3 x 3. "
            "Max pooling 2 x 2 uses stride 2: the squares do not overlap, and 4 x 4 becomes 2 x 2."
        )
    if got.size == 1 and float(got.ravel()[0]) == PATCH.max():
        return (
            "300 is the maximum of the whole patch. Pooling keeps one number per 2 x 2 square, "
            "so four numbers come out, as a 2 x 2 matrix."
        )
    if got.shape != (2, 2):
        return (
            f"your answer has shape {got.shape}; 2 x 2 pooling of a 4 x 4 matrix gives 2 x 2. "
            "Write it as [[top left, top right], [bottom left, bottom right]]."
        )
    if np.allclose(got, _pool(PATCH, 2, 2, np.mean)):
        return (
            "those are the averages of the squares (average pooling). Max pooling keeps the "
            "largest value of each 2 x 2 square."
        )
    if np.array_equal(got, _MAX.T):
        return (
            "rows and columns are swapped: the first row holds the top-left and top-right squares."
        )
    for (i, j), value in np.ndenumerate(_MAX):
        if got[i, j] != value:
            where = ("top", "bottom")[i] + " " + ("left", "right")[j]
            return (
                f"the {where} square gives {got[i, j]:g}; look again at its four pixels and keep "
                "the largest."
            )
    return None


max_pool = Exercise(
    "max pooling of a CT patch",
    _max_pool_check,
    hint=(
        "Cut the 4 x 4 patch into four 2 x 2 squares that do not overlap (top left, top right, "
        "bottom left, bottom right) and keep the largest value of each."
    ),
    solution="my_pooled = [[200, 120], [42, 300]]   # the largest value of each 2 x 2 square",
    solved=([[200, 120], [42, 300]],),
    wrong=[
        (([[80.75, 88.25], [35.0, 164.5]],), "average pooling"),
        ((_pool(PATCH, 2, 1, np.max).tolist(),), "stride 1"),
        (([[200, 42], [120, 300]],), "swapped"),
        ((300,), "whole patch"),
    ],
    praise=(
        "The bright calcification (200 HU) survives max pooling at full strength; average "
        "pooling would have diluted it to 81 HU among the soft tissue."
    ),
)


# ------------------------------------------------------------------------- dropout --

_P = 0.2


def _dropout_check(fraction, survivor) -> str | None:
    fraction, survivor = float(fraction), float(survivor)
    right = 1 / (1 - _P)
    if close(fraction, 1 - _P, 0.01):
        return (
            f"{fraction:g} is the share of units KEPT. p is the probability of dropping a unit: "
            f"with p = {_P} about {_P:.0%} are set to 0."
        )
    if not close(fraction, _P, 0.01):
        return f"with p = {_P}, about what fraction of the units is set to 0 in training?"
    if close(survivor, 1.0, 1e-3):
        return (
            "the surviving units are not left as they are: PyTorch scales them by 1/(1 - p) in "
            "training, so that nothing has to change at test time."
        )
    if close(survivor, 1 / _P, 1e-3):
        return f"the scale is 1/(1 - p) = 1/{1 - _P:g}, not 1/p: it makes up for the units dropped."
    if close(survivor, 1 - _P, 1e-3):
        return f"the survivors are scaled UP, by 1/(1 - p) = 1/{1 - _P:g}, not multiplied by 1 - p."
    if not close(survivor, right, 1e-3):
        return f"a surviving unit of 1.0 becomes 1/(1 - p); with p = {_P} that is {right:g}."
    return None


dropout = Exercise(
    "predict dropout with p = 0.2",
    _dropout_check,
    hint=(
        "p is the probability that a unit is dropped (set to 0). PyTorch multiplies the units "
        "that survive by 1/(1 - p)."
    ),
    solution=(
        "my_fraction, my_survivor = 0.2, 1.25   # 20 % dropped; survivors x 1/(1 - 0.2) = 1.25"
    ),
    solved=(0.2, 1.25),
    wrong=[((0.8, 1.25), "kept"), ((0.2, 1.0), "scales them"), ((0.2, 5.0), "not 1/p")],
    praise=(
        "Each training step sees the network with a different fifth of its units missing; at "
        "test time all are there, unscaled, which is why model.eval() matters."
    ),
)
