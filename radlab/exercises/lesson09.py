"""Exercises of lesson 09 (transfer learning): the head, a grey first layer, fits, the gain.

Used in the lesson as ``from radlab.exercises import lesson09 as ex``; see
:mod:`radlab.exercises` for how an exercise is checked.
"""

from __future__ import annotations

import numpy as np

from . import Exercise, call, number

__all__ = ["head_parameters", "grey_filters", "number_of_fits", "gain_per_size"]


# ------------------------------------------------- 1. trainable numbers of a new head
# The lesson CNN with width 32: its last block gives 4 x 32 = 128 channels, global average
# pooling makes them 128 numbers, and the new head maps them to 3 classes of task B.
_FEATURES, _CLASSES_B, _CLASSES_A = 4 * 32, 3, 11
_HEAD = _FEATURES * _CLASSES_B + _CLASSES_B  # 387: weights plus one bias per class


def _head_parameters(count) -> str | None:
    value = number(count)
    if value is None:
        return "give one whole number: how many numbers the optimizer may change."
    if value == _HEAD:
        return None
    if value == _FEATURES * _CLASSES_B:
        return (
            f"{value:g} counts the weights only. Each of the 3 outputs also has a bias: "
            "add one number per class."
        )
    if value == _FEATURES * _CLASSES_A + _CLASSES_A:
        return (
            f"{value:g} is the old head, for task A's 11 classes. The head is replaced: it "
            "now has 3 outputs, one per class of task B."
        )
    if value in (32 * _CLASSES_B + _CLASSES_B, 64 * _CLASSES_B + _CLASSES_B):
        return (
            f"{value:g} uses the wrong number of features. The blocks have width, 2 x width "
            "and 4 x width filters, so the last block gives 4 x 32 = 128 channels."
        )
    return (
        f"{value:g} is not right. The head is one fully connected layer: "
        "features x classes weights plus one bias per class."
    )


head_parameters = Exercise(
    "the trainable numbers when only the head learns",
    _head_parameters,
    hint=(
        "Only the new last layer learns. It connects every feature coming out of global "
        "pooling (the last block's channels: 4 x width) to every class, and adds one bias "
        "per class."
    ),
    solution=("my_head_count = 4 * 32 * 3 + 3   # 128 features x 3 classes + 3 biases = 387"),
    solved=(_HEAD,),
    wrong=[
        ((_FEATURES * _CLASSES_B,), "bias"),
        ((_FEATURES * _CLASSES_A + _CLASSES_A,), "old head"),
        ((32 * 3 + 3,), "4 x 32 = 128"),
    ],
    praise=(
        "387 numbers to learn instead of about 93,000 in the whole network: far less room "
        "to memorize a few dozen cases."
    ),
)


# ------------------------------------------------- 2. RGB filters for a grey image
def _rgb_weights() -> np.ndarray:
    """Eight random RGB filters of 3 x 3, as a first layer holds them: (out, 3, F, F)."""
    rng = np.random.default_rng(9)
    return rng.normal(size=(8, 3, 3, 3)).astype(np.float32)


def _grey_filters(fn) -> str | None:
    weights = _rgb_weights()
    got = call(fn, weights.copy())
    values = np.asarray(got, dtype=np.float64)
    target = weights.sum(axis=1, keepdims=True)
    if values.shape == (8, 3, 3):
        values = values[:, None]  # the colour axis was dropped: judge the numbers anyway
        if np.allclose(values, target, atol=1e-4):
            return (
                "the numbers are right but the shape is (8, 3, 3): a convolution needs the "
                "input-channel axis kept, (8, 1, 3, 3). Use keepdims=True."
            )
    if values.shape != (8, 1, 3, 3):
        return (
            f"filters of shape (8, 3, 3, 3) should give (8, 1, 3, 3), not {values.shape}. "
            "The colour axis is axis 1 (out, colour, height, width): add over it, keepdims=True."
        )
    if np.allclose(values, target, atol=1e-4):
        return None
    if np.allclose(values * 3, target, atol=1e-4):
        return (
            "you averaged the three colour filters, so one grey channel gives a third of the "
            "response to the grey image copied into R, G and B. Add them instead (sum)."
        )
    if np.allclose(values, weights[:, :1], atol=1e-4):
        return "you kept only the red filter; a grey pixel feeds all three colours: add them."
    return "each grey filter should be the sum of the filter's red, green and blue slices."


def _grey_solved(weights):
    return np.asarray(weights).sum(axis=1, keepdims=True)


def _grey_mean(weights):
    return np.asarray(weights).mean(axis=1, keepdims=True)


def _grey_red_only(weights):
    return np.asarray(weights)[:, :1]


def _grey_dropped_axis(weights):
    return np.asarray(weights).sum(axis=1)


grey_filters = Exercise(
    "RGB filters turned into grey ones",
    _grey_filters,
    hint=(
        "A grey image copied into R, G and B gives W_R*g + W_G*g + W_B*g = (W_R + W_G + W_B)*g. "
        "So add the three colour slices of each filter: they sit on axis 1 of (out, 3, F, F)."
    ),
    solution=(
        "def my_grey(weights):\n"
        "    weights = np.asarray(weights)                # (out, 3, F, F)\n"
        "    return weights.sum(axis=1, keepdims=True)    # (out, 1, F, F)"
    ),
    solved=(_grey_solved,),
    wrong=[
        ((_grey_mean,), "averaged"),
        ((_grey_red_only,), "red"),
        ((_grey_dropped_axis,), "keepdims"),
    ],
    praise=(
        "The grey network now answers a CT slice exactly as the colour network answered "
        "the same slice shown in three identical colours."
    ),
)


# ---------------------------------------------------- 3. how many fits the experiment costs
# With ImageNet weights present, a fourth starting point joins: 5 sizes x 4 ways x 3 seeds.
_SIZES, _WAYS, _SEEDS = 5, 4, 3
_FITS = _SIZES * _WAYS * _SEEDS  # 60


def _number_of_fits(count) -> str | None:
    value = number(count)
    if value is None:
        return "give one whole number of fits."
    if value == _FITS:
        return None
    if value == _SIZES * 3 * _SEEDS:
        return (
            "45 is the experiment as it ran here, with three ways. The ImageNet start adds "
            "a fourth way for every size and seed."
        )
    if value == _SIZES * _WAYS:
        return "20 is one fit per size and way; each is repeated with 3 seeds."
    if value == _FITS + 1:
        return (
            "61 counts the task-A training too. The question asks for the task-B fits only; "
            "task A is trained once and shared."
        )
    return f"{value:g} is not right: multiply sizes x ways x seeds."


number_of_fits = Exercise(
    "the number of task-B fits with a fourth starting point",
    _number_of_fits,
    hint="Every combination of size, way of starting and seed is one fit: multiply the three.",
    solution="my_fits = 5 * 4 * 3   # sizes x ways (head, all, scratch, ImageNet) x seeds = 60",
    solved=(_FITS,),
    wrong=[((45,), "fourth"), ((20,), "seeds"), ((61,), "task-A")],
    praise=(
        "Each seed is a different draw of cases and a different start: that is what the "
        "ranges show."
    ),
)


# ------------------------------------------------------ 4. the gain at each size
# AUCs of three seeds (columns) at three sizes (rows), made up for the check.
_FINE = np.array([[0.70, 0.74, 0.72], [0.80, 0.78, 0.79], [0.85, 0.86, 0.84]])
_SCRATCH = np.array([[0.66, 0.70, 0.74], [0.78, 0.79, 0.80], [0.86, 0.85, 0.84]])


def _gain_per_size(fn) -> str | None:
    got = call(fn, _FINE.copy(), _SCRATCH.copy())
    values = np.asarray(got, dtype=np.float64).ravel()
    target = (_FINE - _SCRATCH).mean(axis=1)
    if values.shape == target.shape and np.allclose(values, target, atol=1e-6):
        return None
    if values.shape == target.shape and np.allclose(values, -target, atol=1e-6):
        return (
            "the sign is reversed: the gain is fine-tuned minus scratch (positive means "
            "the transfer helped)."
        )
    per_seed = (_FINE - _SCRATCH).mean(axis=0)
    if values.shape == per_seed.shape and np.allclose(values, per_seed, atol=1e-6):
        if not np.allclose(per_seed, target):
            return (
                "you averaged down the columns (over sizes, one number per seed). Rows are sizes: "
                "average along axis 1 to get one gain per size."
            )
    if values.size == 1:
        return "one number is the gain over all sizes; give one gain per size (one per row)."
    if values.shape == (9,):
        return "that is the gain of every single run; average the seeds of each size (axis=1)."
    return (
        f"expected one gain per size, {np.round(target, 3).tolist()} here, got "
        f"{np.round(values, 3).tolist()}. Subtract, then average each row."
    )


def _gain_solved(fine, scratch):
    return (np.asarray(fine) - np.asarray(scratch)).mean(axis=1)


def _gain_reversed(fine, scratch):
    return (np.asarray(scratch) - np.asarray(fine)).mean(axis=1)


def _gain_wrong_axis(fine, scratch):
    return (np.asarray(fine) - np.asarray(scratch)).mean(axis=0)


def _gain_overall(fine, scratch):
    return float((np.asarray(fine) - np.asarray(scratch)).mean())


gain_per_size = Exercise(
    "the gain of fine-tuning at each size",
    _gain_per_size,
    hint=(
        "Both tables have one row per training-set size and one column per seed, and the same "
        "seed means the same cases. Subtract scratch from fine-tuned, then average each row."
    ),
    solution=(
        "def my_gain(fine, scratch):\n"
        "    difference = np.asarray(fine) - np.asarray(scratch)   # (sizes, seeds)\n"
        "    return difference.mean(axis=1)                        # one gain per size"
    ),
    solved=(_gain_solved,),
    wrong=[
        ((_gain_reversed,), "sign"),
        ((_gain_wrong_axis,), "axis 1"),
        ((_gain_overall,), "one gain per size"),
    ],
    praise=(
        "Pairing by seed compares the two ways on the very same cases, as a paired reader "
        "study would."
    ),
)
