"""Exercises of lesson 07 (architectures): the cost of a convolution, 1 x 1 reductions,
inception blocks, skip connections, ensembles.

Used in the lesson as ``from radlab.exercises import lesson07 as ex``; see
:mod:`radlab.exercises` for how an exercise is checked.
"""

from __future__ import annotations

import numpy as np

from . import Exercise, call, close

__all__ = [
    "conv_multiply_adds",
    "reduction_saving",
    "inception_channels",
    "residual_identity",
    "ensemble_average",
]


# ------------------------------------------------- 1. multiply-adds of one convolution
# (height, width, channels in M, channels out N, filter size F) of the output, and the answer
_CONV_CASES = ((28, 28, 192, 32, 5), (14, 14, 3, 8, 3), (7, 7, 64, 1, 1))


def _conv_multiply_adds(fn) -> str | None:
    for h, w, m, n, f in _CONV_CASES:
        expected = h * w * n * f * f * m
        got = call(fn, h, w, m, n, f)
        if close(got, expected, 0.5):
            continue
        what = f"a {h} x {w} output, {m} channels in, {n} filters of {f} x {f}"
        if close(got, h * w * n * f * f, 0.5):
            return (
                f"for {what} you gave {got}, leaving out the input channels. Each filter is "
                f"{f} x {f} x {m}: it reaches through all {m} input channels."
            )
        if close(got, h * w * n * f * m, 0.5) or close(got, h * w * n * 2 * f * m, 0.5):
            return (
                f"for {what} you gave {got}: the filter covers F x F pixels (F squared, "
                f"{f * f} here), not F or 2F."
            )
        if close(got, n * f * f * m, 0.5) or close(got, n * f * f * m + n, 0.5):
            return (
                f"for {what} you gave {got}: that is the number of weights (parameters). "
                "Every weight is used once per output pixel: multiply by H x W."
            )
        return (
            f"for {what} the answer is H x W x N x F x F x M = {expected}; your function "
            f"gave {got!r}."
        )
    return None


conv_multiply_adds = Exercise(
    "multiply-adds of a convolution layer",
    _conv_multiply_adds,
    hint=(
        "One output value of one filter needs F x F x M multiply-adds (the filter reaches "
        "through all M input channels). There are H x W output positions and N filters."
    ),
    solution=(
        "def my_multiply_adds(h, w, m, n, f):\n"
        "    per_value = f * f * m        # one output value of one filter\n"
        "    return h * w * n * per_value  # every position of every filter"
    ),
    solved=(lambda h, w, m, n, f: h * w * n * f * f * m,),
    wrong=[
        ((lambda h, w, m, n, f: h * w * n * f * f,), "input channels"),
        ((lambda h, w, m, n, f: h * w * n * f * m,), "F squared"),
        ((lambda h, w, m, n, f: n * f * f * m,), "parameters"),
    ],
    praise="This count, more than the number of weights, decides how fast a network reads a scan.",
)


# ------------------------------------------- 2. what a 1 x 1 reduction saves (block 4a)
# GoogLeNet's block 4a, 3 x 3 branch: a 14 x 14 x 480 input, 96 channels after the
# reduction, 208 outputs.
_DIRECT = 14 * 14 * 208 * 3 * 3 * 480 / 1e6  # 176.1 M
_REDUCE = 14 * 14 * 96 * 1 * 1 * 480 / 1e6  # 9.0 M
_AFTER = 14 * 14 * 208 * 3 * 3 * 96 / 1e6  # 35.2 M


def _reduction_saving(direct, reduced) -> str | None:
    if close(direct, _DIRECT, 0.5) and close(reduced, _REDUCE + _AFTER, 0.5):
        return None
    if not close(direct, _DIRECT, 0.5):
        if close(direct, _DIRECT / 9, 0.5):
            return (
                f"direct: {direct} M leaves out the filter's 3 x 3 = 9 pixels. "
                "H x W x N x F x F x M with F = 3."
            )
        if close(direct, _DIRECT * 1e6, 1e3):
            return "give the numbers in millions (divide by 1e6)."
        return f"direct: 14 x 14 x 208 x 3 x 3 x 480 gives about {_DIRECT:.1f} M, not {direct}."
    if close(reduced, _AFTER, 0.5):
        return (
            f"reduced: {reduced} M counts only the 3 x 3 convolution after the reduction; "
            "the 1 x 1 reduction itself costs 14 x 14 x 96 x 480 too. Add both."
        )
    if close(reduced, _REDUCE, 0.5):
        return "reduced: you counted only the 1 x 1 reduction; add the 3 x 3 convolution after it."
    return (
        "reduced: the 1 x 1 reduction (480 -> 96 channels) plus the 3 x 3 convolution "
        f"(96 -> 208 channels), both at 14 x 14, add up to about {_REDUCE + _AFTER:.1f} M, "
        f"not {reduced}."
    )


reduction_saving = Exercise(
    "what a 1 x 1 reduction saves",
    _reduction_saving,
    hint=(
        "Use H x W x N x F x F x M for each convolution. Direct: F = 3, M = 480, N = 208. "
        "Reduced: a 1 x 1 convolution 480 -> 96, then a 3 x 3 convolution 96 -> 208."
    ),
    solution=(
        "my_direct = 14 * 14 * 208 * 3 * 3 * 480 / 1e6        # 176.1 M\n"
        "my_reduced = (14 * 14 * 96 * 1 * 1 * 480              # the 1 x 1 reduction: 9.0 M\n"
        "              + 14 * 14 * 208 * 3 * 3 * 96) / 1e6     # the 3 x 3 after it: 35.2 M\n"
        "# 44.3 M: a quarter of the direct cost"
    ),
    solved=(round(_DIRECT, 1), round(_REDUCE + _AFTER, 1)),
    wrong=[
        ((round(_DIRECT, 1), round(_AFTER, 1)), "1 x 1 reduction itself"),
        ((round(_DIRECT / 9, 1), round(_REDUCE + _AFTER, 1)), "3 x 3 = 9"),
        ((_DIRECT * 1e6, (_REDUCE + _AFTER) * 1e6), "millions"),
    ],
    praise="The same 3 x 3 branch for a quarter of the arithmetic: why GoogLeNet could be deep.",
)


# -------------------------------------------------- 3. channels out of an inception block
# GoogLeNet's block 4a: 480 in; 1 x 1: 192; 3 x 3: 96 -> 208; 5 x 5: 16 -> 48; pool -> 64.
def _inception_channels(channels) -> str | None:
    if close(channels, 192 + 208 + 48 + 64, 0):
        return None
    if close(channels, 192 + 96 + 208 + 16 + 48 + 64, 0):
        return (
            f"{channels} counts the reductions (96 and 16) too. They are inside their branches; "
            "only the last layer of each branch reaches the output."
        )
    if close(channels, 192 + 208 + 48, 0):
        return (
            f"{channels} leaves out the fourth branch: the max pooling followed by a 1 x 1 "
            "convolution to 64 channels is stacked too."
        )
    if close(channels, 480 + 64, 0) or close(channels, 480, 0):
        return (
            "the pooling branch does not pass the 480 input channels on: its 1 x 1 convolution "
            "turns them into 64."
        )
    return f"add the outputs of the four branches; {channels} is not their sum."


inception_channels = Exercise(
    "channels out of an inception block",
    _inception_channels,
    hint=(
        "The four branches are stacked along the channels. Each contributes the channels of "
        "its LAST layer: the reductions stay inside their branch."
    ),
    solution="my_channels = 192 + 208 + 48 + 64   # 512: 1x1, 3x3, 5x5 and pooling branches",
    solved=(512,),
    wrong=[((624,), "reductions"), ((448,), "fourth branch"), ((544,), "pooling branch")],
)


# ---------------------------------------------- 4. why a residual block can do "nothing"
_RESIDUAL_CHOICES = {
    "a": "its 1 x 1 convolutions copy the input exactly",
    "b": "its output is F(x) + x, so weights near zero give back x",
    "c": "batch normalization resets its output to the input",
    "d": "its filters are initialised to the identity filter",
}


def _residual_identity(letter) -> str | None:
    if not isinstance(letter, str) or letter.strip().lower() not in _RESIDUAL_CHOICES:
        return "answer with one letter, 'a', 'b', 'c' or 'd' (a string, in quotes)."
    letter = letter.strip().lower()
    if letter == "b":
        return None
    why = {
        "a": (
            "the blocks of ResNet-18 have no 1 x 1 convolution in their main path, and a "
            "learned one would have to find the identity weights exactly."
        ),
        "c": (
            "batch normalization rescales each channel to a learned mean and spread; it knows "
            "nothing of the block's input. Look at the addition at the end of the block."
        ),
        "d": (
            "the filters start random (Kaiming initialisation), not as identity filters. "
            "Look at what is added at the end of the block."
        ),
    }
    return why[letter]


residual_identity = Exercise(
    "why a residual block can learn to do nothing",
    _residual_identity,
    hint=(
        "Write the block as output = F(x) + x, where F is its two convolutions. What is the "
        "output when every weight of F is zero?"
    ),
    solution=(
        "my_letter = 'b'   # output = F(x) + x: with F near zero the block passes x on,\n"
        "# so extra blocks cannot make the network worse than a shallower one"
    ),
    solved=("b",),
    wrong=[(("c",), "batch normalization"), (("d",), "start random"), (("e",), "one letter")],
)


def residual_choices() -> None:
    """Print the four answers of the residual exercise."""
    for letter, text in _RESIDUAL_CHOICES.items():
        print(f"  {letter}) {text}")


# --------------------------------------------------------- 5. averaging an ensemble
# Two networks' probabilities for three cases and three classes (each row sums to 1).
_P1 = np.array([[0.7, 0.2, 0.1], [0.1, 0.5, 0.4], [0.3, 0.3, 0.4]])
_P2 = np.array([[0.5, 0.4, 0.1], [0.2, 0.2, 0.6], [0.1, 0.8, 0.1]])


def _ensemble_average(fn) -> str | None:
    got = call(fn, _P1.copy(), _P2.copy())
    values = np.asarray(got, dtype=np.float64)
    expected = (_P1 + _P2) / 2
    if values.shape != expected.shape:
        if values.shape == (3,):
            return (
                "your function returned one number per case; return the averaged probability "
                "of every class, shape (cases, classes) = (3, 3), as each network gives."
            )
        return f"expected shape {expected.shape} (cases, classes), got {values.shape}."
    if np.allclose(values, expected, atol=1e-6):
        return None
    if np.allclose(values, _P1 + _P2, atol=1e-6):
        return (
            "you added the two networks' probabilities without dividing by 2: each row now "
            "sums to 2, so these are no longer probabilities. Divide by the number of networks."
        )
    if np.allclose(values, np.maximum(_P1, _P2), atol=1e-6):
        return (
            "you kept the larger of the two probabilities for each class: the rows no longer "
            "sum to 1, and one confident network overrules the other. Average them."
        )
    if np.allclose(values, _P1 * _P2, atol=1e-6):
        return "you multiplied the probabilities; average them: (p1 + p2) / 2."
    return "each value should be the mean of the two networks' probabilities, (p1 + p2) / 2."


ensemble_average = Exercise(
    "averaging two networks",
    _ensemble_average,
    hint=(
        "p1 and p2 are arrays of shape (cases, classes). Add them and divide by 2; NumPy does "
        "it value by value."
    ),
    solution=(
        "def my_ensemble(p1, p2):\n"
        "    return (p1 + p2) / 2   # each case, each class: the mean of the two networks"
    ),
    solved=(lambda p1, p2: (p1 + p2) / 2,),
    wrong=[
        ((lambda p1, p2: p1 + p2,), "dividing by 2"),
        ((lambda p1, p2: np.maximum(p1, p2),), "larger of the two"),
        ((lambda p1, p2: ((p1 + p2) / 2).mean(axis=1),), "one number per case"),
    ],
    praise="The same rule rl.models.Ensemble applies to any number of networks.",
)
