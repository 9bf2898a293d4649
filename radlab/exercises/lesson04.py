"""Exercises of lesson 04 (training): error functions, cross-entropy, one gradient step,
the learning rate's effect on each optimizer, and updates per epoch.

Used in the lesson as ``from radlab.exercises import lesson04 as ex``; see
:mod:`radlab.exercises` for how an exercise is checked.
"""

from __future__ import annotations

import math

from . import Exercise, call, close, number

__all__ = [
    "egfr_errors",
    "pneumonia_cross_entropy",
    "one_sgd_step",
    "learning_rate_10x",
    "updates_per_epoch",
]


# ------------------------------------------------------ 1. MSE and MAE of eGFR predictions
# Two test sets of (predicted, measured) eGFR in mL/min/1.73 m²: the lesson's four patients,
# then three others. The checker runs the learner's function on both.
_EGFR_CASES = (
    ("the lesson's four patients", [58.0, 71.0, 40.0, 90.0], [62.0, 65.0, 45.0, 88.0]),
    ("three other patients", [100.0, 30.0, 47.0], [90.0, 35.0, 47.0]),
)


def _reference_errors(predicted, measured) -> dict[str, float]:
    """The right values and the values of the usual slips, for one test set."""
    differences = []
    for p, m in zip(predicted, measured):
        differences.append(p - m)
    n = len(differences)
    squares = [d * d for d in differences]
    absolutes = [abs(d) for d in differences]
    return {
        "mse": sum(squares) / n,
        "mae": sum(absolutes) / n,
        "rmse": math.sqrt(sum(squares) / n),
        "mean_signed": sum(differences) / n,
        "sum_squares": sum(squares),
        "sum_absolutes": sum(absolutes),
    }


def _egfr_one_case(fn, what: str, predicted, measured) -> str | None:
    """What is wrong with ``fn`` on one test set, or None when it is right."""
    result = call(fn, list(predicted), list(measured))  # copies: their function may change them
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return (
            f"your function returned {result!r}; return two numbers, the MSE first and the "
            "MAE second: return mse, mae"
        )
    mse, mae = number(result[0]), number(result[1])
    if mse is None or mae is None:
        return f"your function returned {result!r}; both values must be plain numbers."
    ref = _reference_errors(predicted, measured)
    if close(mse, ref["mse"], 1e-6) and close(mae, ref["mae"], 1e-6):
        return None
    if close(mse, ref["mae"], 1e-6) and close(mae, ref["mse"], 1e-6):
        return "the two numbers are swapped: return the MSE first, then the MAE."
    if not close(mse, ref["mse"], 1e-6):
        if close(abs(mse), abs(ref["mean_signed"]), 1e-6) or close(mse, ref["mae"], 1e-6):
            return (
                f"for {what} your MSE is {mse:g}: the differences were not squared. Square "
                "each difference (d * d or d ** 2) before averaging."
            )
        if close(mse, ref["sum_squares"], 1e-6):
            return (
                f"for {what} your MSE is {mse:g}, the sum of the squared differences. The MSE "
                "is their mean: divide by the number of patients."
            )
        if close(mse, ref["rmse"], 1e-6):
            return (
                f"for {what} your MSE is {mse:g}, its square root (the RMSE). Leave out the "
                "square root: the MSE is the mean of the squared differences."
            )
        return (
            f"for {what} your MSE is {mse:g}, not {ref['mse']:g}. Take each difference "
            "predicted - measured, square it, and average the squares."
        )
    if close(abs(mae), abs(ref["mean_signed"]), 1e-6):
        return (
            f"for {what} your MAE is {mae:g}: without the absolute value, errors above and "
            "below the measured eGFR cancel out. Use abs(d) for each difference."
        )
    if close(mae, ref["sum_absolutes"], 1e-6):
        return (
            f"for {what} your MAE is {mae:g}, the sum of the absolute differences. Divide by "
            "the number of patients to get their mean."
        )
    return (
        f"for {what} your MAE is {mae:g}, not {ref['mae']:g}: the mean of the absolute "
        "differences |predicted - measured|."
    )


def _egfr_errors(fn) -> str | None:
    for what, predicted, measured in _EGFR_CASES:
        problem = _egfr_one_case(fn, what, predicted, measured)
        if problem:
            return problem
    return None


def _errors_without_squares(predicted, measured):
    """A typical slip: the mean of the signed differences as the MSE."""
    total, total_abs = 0.0, 0.0
    for p, m in zip(predicted, measured):
        total += p - m
        total_abs += abs(p - m)
    return total / len(measured), total_abs / len(measured)


def _errors_without_averaging(predicted, measured):
    """A typical slip: sums instead of means."""
    squares, absolutes = 0.0, 0.0
    for p, m in zip(predicted, measured):
        squares += (p - m) ** 2
        absolutes += abs(p - m)
    return squares, absolutes


def _errors_with_root(predicted, measured):
    """A typical slip: the root mean squared error in place of the MSE."""
    squares, absolutes = 0.0, 0.0
    for p, m in zip(predicted, measured):
        squares += (p - m) ** 2
        absolutes += abs(p - m)
    return math.sqrt(squares / len(measured)), absolutes / len(measured)


def _errors_without_abs(predicted, measured):
    """A typical slip: the MAE without the absolute value."""
    squares, signed = 0.0, 0.0
    for p, m in zip(predicted, measured):
        squares += (p - m) ** 2
        signed += p - m
    return squares / len(measured), signed / len(measured)


def _errors_right(predicted, measured):
    squares, absolutes = 0.0, 0.0
    for p, m in zip(predicted, measured):
        squares += (p - m) ** 2
        absolutes += abs(p - m)
    return squares / len(measured), absolutes / len(measured)


egfr_errors = Exercise(
    "the mean squared and mean absolute error of eGFR predictions",
    _egfr_errors,
    hint=(
        "For each patient take the difference d = predicted - measured. The MSE is the mean "
        "of d squared; the MAE is the mean of the absolute value |d|. 'Mean' means: add them "
        "up and divide by the number of patients."
    ),
    solution=(
        "def my_errors(predicted, measured):\n"
        "    squares, absolutes = 0.0, 0.0\n"
        "    for p, m in zip(predicted, measured):\n"
        "        squares += (p - m) ** 2\n"
        "        absolutes += abs(p - m)\n"
        "    n = len(measured)\n"
        "    return squares / n, absolutes / n\n"
        "# the four patients: MSE 20.25 (mL/min)², MAE 4.25 mL/min"
    ),
    solved=(_errors_right,),
    wrong=[
        ((_errors_without_squares,), "not squared"),
        ((_errors_without_averaging,), "divide by the number of patients"),
        ((_errors_with_root,), "square root"),
        ((_errors_without_abs,), "absolute value"),
    ],
    praise=(
        "The MAE, 4.25 mL/min for the four patients, is in the nephrologist's units; the MSE, "
        "20.25, is in squared units and weighs the 6 mL/min miss more than the 2 mL/min one."
    ),
)


# ------------------------------------------------------ 2. cross-entropy of one prediction
# The network gives a probability of pneumonia of 0.9 to two films: one shows pneumonia,
# the other is normal. The loss of each is minus the natural log of the probability that
# the network gave to that film's true class.
_P_PNEUMONIA = 0.9
_LOSS_POSITIVE = -math.log(_P_PNEUMONIA)  # 0.105
_LOSS_NEGATIVE = -math.log(1 - _P_PNEUMONIA)  # 2.303


def _pneumonia_cross_entropy(loss_pneumonia, loss_normal) -> str | None:
    pos, neg = number(loss_pneumonia), number(loss_normal)
    if pos is None or neg is None:
        return "give two numbers, my_loss_pneumonia and my_loss_normal, e.g. 0.5, 1.2."
    if close(pos, _LOSS_POSITIVE, 0.005) and close(neg, _LOSS_NEGATIVE, 0.005):
        return None
    if close(pos, -_LOSS_POSITIVE, 0.005) or close(neg, -_LOSS_NEGATIVE, 0.005):
        return (
            "a loss is never negative: the logarithm of a probability (at most 1) is negative "
            "or zero, and the cross-entropy is MINUS that logarithm."
        )
    if close(pos, -math.log10(_P_PNEUMONIA), 0.005) or close(neg, 1.0, 0.005):
        return (
            "you used the base-10 logarithm. Cross-entropy (in PyTorch, and in the lesson) uses "
            "the natural logarithm: math.log(p), not math.log10(p)."
        )
    if close(pos, -math.log2(_P_PNEUMONIA), 0.005) or close(neg, -math.log2(0.1), 0.005):
        return (
            "you used the base-2 logarithm (information in bits). PyTorch's cross-entropy uses "
            "the natural logarithm: math.log(p)."
        )
    if close(pos, _LOSS_NEGATIVE, 0.005) and close(neg, _LOSS_POSITIVE, 0.005):
        return (
            "the two losses are swapped. The pneumonia film got 0.9 for its true class, a "
            "nearly right answer, so it costs little; the normal film got only 0.1 for its "
            "true class, normal, and costs a lot."
        )
    if not close(pos, _LOSS_POSITIVE, 0.005):
        return (
            f"the loss of the pneumonia film, {pos:g}, is not right: its true class got "
            "probability 0.9, so its loss is -log(0.9)."
        )
    if close(neg, _LOSS_POSITIVE, 0.005):
        return (
            "for the normal film the true class is 'normal', whose probability is 1 - 0.9 = "
            "0.1, not 0.9: its loss is -log(0.1)."
        )
    return (
        f"the loss of the normal film, {neg:g}, is not right: its true class ('normal') got "
        "probability 1 - 0.9."
    )


pneumonia_cross_entropy = Exercise(
    "the cross-entropy of one confident prediction",
    _pneumonia_cross_entropy,
    hint=(
        "The loss of one film is -log(probability given to its TRUE class), with the natural "
        "logarithm (math.log). The network gave pneumonia 0.9, so it gave 'normal' 1 - 0.9."
    ),
    solution=(
        "my_loss_pneumonia = -math.log(0.9)   # 0.105: a confident right answer costs little\n"
        "my_loss_normal = -math.log(1 - 0.9)  # 2.303: a confident wrong answer costs 22 times more"
    ),
    solved=(_LOSS_POSITIVE, _LOSS_NEGATIVE),
    wrong=[
        ((-_LOSS_POSITIVE, -_LOSS_NEGATIVE), "never negative"),
        ((-math.log10(0.9), 1.0), "base-10"),
        ((_LOSS_NEGATIVE, _LOSS_POSITIVE), "swapped"),
        ((_LOSS_POSITIVE, _LOSS_POSITIVE), "1 - 0.9"),
    ],
    praise=(
        "Calling a normal film pneumonia with 90% confidence costs about 22 times the loss of "
        "calling a pneumonia film right with the same confidence: training pushes hardest "
        "against confident mistakes."
    ),
)


# ------------------------------------------------------ 3. one step of gradient descent
# Section 3's tiny network: w2 = 1.3 with gradient dL/dw2 = -1.4, one step at lr 0.05.
_W2, _GRAD_W2, _LR = 1.3, -1.4, 0.05
_NEW_W2 = _W2 - _LR * _GRAD_W2  # 1.37


def _one_sgd_step(new_w2) -> str | None:
    w = number(new_w2)
    if w is None:
        return "give one number, my_new_w2, the weight after the step (e.g. 1.2)."
    if close(w, _NEW_W2, 1e-3):
        return None
    if close(w, _W2 + _LR * _GRAD_W2, 1e-3):
        return (
            f"{w:g} moves w2 WITH its gradient, uphill: the loss would grow. Gradient descent "
            "subtracts: w2 - lr x gradient (and the gradient here is negative)."
        )
    if close(w, _W2 - _GRAD_W2, 1e-3) or close(w, _W2 + _GRAD_W2, 1e-3):
        return (
            f"{w:g} uses the whole gradient as the step: the learning rate is missing. "
            "Multiply the gradient by lr = 0.05 first."
        )
    if close(w, _W2 - 0.1 * _GRAD_W2, 1e-3):
        return (
            f"{w:g} is the step with learning rate 0.1, the one printed in the lesson. This "
            "exercise asks for lr = 0.05."
        )
    if close(abs(w), abs(_LR * _GRAD_W2), 1e-3):
        return (
            f"{w:g} is the size of the step, not the new weight: subtract lr x gradient from "
            "the old weight, 1.3."
        )
    return f"{w:g} is not right: compute w2 - lr x gradient with w2 = 1.3, gradient -1.4, lr 0.05."


one_sgd_step = Exercise(
    "one step of gradient descent by hand",
    _one_sgd_step,
    hint=(
        "The update is w_new = w - lr x gradient. Here w2 = 1.3, its gradient dL/dw2 = -1.4 "
        "(printed in section 3), lr = 0.05. Mind the two minus signs."
    ),
    solution=(
        "my_new_w2 = 1.3 - 0.05 * (-1.4)   # = 1.37 (or: w2 - 0.05 * dL_dw2)\n"
        "# the gradient is negative, so the weight grows, bringing the output towards 2.0"
    ),
    solved=(_NEW_W2,),
    wrong=[((1.23,), "uphill"), ((2.7,), "learning rate is missing"), ((1.44,), "0.1")],
    praise=("Half the learning rate, half the step: 0.07 instead of the 0.14 taken with lr 0.1."),
)


# ------------------------------------------------------ 4. a learning rate 10 times larger
# The lesson's steps_taken table used lr 0.1 and a constant gradient of 2.0; here lr is 1.0.
_STEPS_LR1 = {"SGD": 2.0, "AdaGrad": 1.0, "Adam": 1.0}  # first step of each


def _learning_rate_10x(sgd, adagrad, adam) -> str | None:
    given = {"SGD": number(sgd), "AdaGrad": number(adagrad), "Adam": number(adam)}
    if any(v is None for v in given.values()):
        return "give three numbers: the first step of SGD, AdaGrad and Adam, e.g. 0.5, 0.5, 0.5."
    if all(close(given[name], _STEPS_LR1[name], 0.01) for name in given):
        return None
    if close(given["SGD"], 0.2, 0.01) and close(given["Adam"], 0.1, 0.01):
        return (
            "these are the steps at lr 0.1 from the table. Every optimizer multiplies its step "
            "by the learning rate: what happens to each step when lr becomes 1.0?"
        )
    if close(given["SGD"], 20.0, 0.01) or close(given["SGD"], 0.02, 0.01):
        return (
            "SGD's step is lr x gradient = 1.0 x 2.0. Ten times the learning rate makes the "
            "step ten times the 0.2 of the table, not a hundred times or a tenth."
        )
    if not close(given["SGD"], _STEPS_LR1["SGD"], 0.01):
        return f"SGD's first step, {given['SGD']:g}, is not right: it is lr x gradient."
    if close(given["AdaGrad"], 0.1, 0.01) or close(given["Adam"], 0.1, 0.01):
        return (
            "AdaGrad and Adam divide out the GRADIENT's scale, not the learning rate's: their "
            "first step is about the learning rate itself, so it grows tenfold too."
        )
    if close(given["AdaGrad"], 2.0, 0.01) or close(given["Adam"], 2.0, 0.01):
        return (
            "AdaGrad and Adam divide the gradient by the root of its squares, so the gradient's "
            "size (2.0) drops out: their first step is about the learning rate, not lr x 2."
        )
    return (
        "AdaGrad's and Adam's first steps are about the learning rate (1.0); check the table "
        "at lr 0.1 and scale it."
    )


learning_rate_10x = Exercise(
    "predict the first step with a learning rate ten times larger",
    _learning_rate_10x,
    hint=(
        "At lr 0.1 and gradient 2.0 the table shows first steps of 0.2 (SGD), 0.1 (AdaGrad) and "
        "0.1 (Adam). SGD's step is lr x gradient; AdaGrad and Adam divide the gradient by the "
        "root of its squares, so only the learning rate is left."
    ),
    solution=(
        "my_sgd_step, my_adagrad_step, my_adam_step = 2.0, 1.0, 1.0\n"
        "# every step scales with the learning rate; only SGD's also scales with the gradient"
    ),
    solved=(2.0, 1.0, 1.0),
    wrong=[
        ((0.2, 0.1, 0.1), "steps at lr 0.1"),
        ((20.0, 10.0, 10.0), "ten times"),
        ((2.0, 0.1, 0.1), "not the learning rate's"),
        ((2.0, 2.0, 2.0), "drops out"),
    ],
    praise=(
        "The learning rate sets the step of every optimizer: a tenfold rate is a tenfold step, "
        "which is why papers must report it."
    ),
)


# ------------------------------------------------------ 5. updates in one epoch
# (cases, minibatch size, updates per epoch): not a multiple, an exact multiple, online,
# batch, and fewer cases than one minibatch.
_UPDATE_CASES = ((546, 32, 18), (512, 32, 16), (4708, 1, 4708), (100, 100, 1), (10, 64, 1))


def _updates_per_epoch(fn) -> str | None:
    for n_cases, batch_size, expected in _UPDATE_CASES:
        got = call(fn, n_cases, batch_size)
        value = number(got)
        if value is None:
            return f"for {n_cases} cases your function returned {got!r}; return one number."
        if value == expected:
            continue
        what = f"{n_cases} cases in minibatches of {batch_size}"
        if value != int(value):
            return (
                f"for {what} you returned {value:g}, not a whole number. Updates come whole: "
                "round N / X up with math.ceil."
            )
        if value == n_cases * batch_size:
            return (
                f"for {what} you returned {value:g}, N x X. An epoch cuts the N cases into "
                "minibatches of X, so divide: N / X, rounded up."
            )
        if value == n_cases // batch_size + 1 and n_cases % batch_size == 0:
            return (
                f"for {what} you returned {value:g}: adding 1 is wrong when N is an exact "
                "multiple of X (512 / 32 = 16 minibatches, none left over). Use math.ceil(N / X)."
            )
        if value == n_cases // batch_size:
            return (
                f"for {what} you returned {value:g}: you rounded down, so the cases left over "
                "after the full minibatches never train. Round up: math.ceil(N / X)."
            )
        return f"for {what} you returned {value:g}, not {expected}: it is N / X rounded up."
    return None


def _updates_right(n_cases, batch_size):
    return math.ceil(n_cases / batch_size)


def _updates_rounded_down(n_cases, batch_size):
    return n_cases // batch_size


def _updates_plus_one(n_cases, batch_size):
    return n_cases // batch_size + 1


def _updates_multiplied(n_cases, batch_size):
    return n_cases * batch_size


def _updates_not_rounded(n_cases, batch_size):
    return n_cases / batch_size


updates_per_epoch = Exercise(
    "the number of updates in one epoch",
    _updates_per_epoch,
    hint=(
        "One epoch uses every case once, X cases per update. N / X minibatches, and when the "
        "division leaves a remainder those cases still need an update: round up (math.ceil)."
    ),
    solution=(
        "def my_updates_per_epoch(n_cases, batch_size):\n"
        "    return math.ceil(n_cases / batch_size)\n"
        "# BreastMNIST's 546 training images in minibatches of 32: 18 updates per epoch"
    ),
    solved=(_updates_right,),
    wrong=[
        ((_updates_rounded_down,), "rounded down"),
        ((_updates_plus_one,), "exact multiple"),
        ((_updates_multiplied,), "divide"),
        ((_updates_not_rounded,), "whole number"),
    ],
    praise=(
        "Papers give either epochs or iterations; with N and X you can turn one into the "
        "other, and compare training budgets between studies."
    ),
)
