"""Exercises of lesson 05 (overfitting): weight decay, diagnosis, early stopping, splits, folds.

Used in the lesson as ``from radlab.exercises import lesson05 as ex``; see
:mod:`radlab.exercises` for how an exercise is checked.
"""

from __future__ import annotations

from . import Exercise, call, close

# --------------------------------------------------------------------- 1. weight decay, by hand

# One weight of 2.0 that the data do not push either way (its gradient is 0), learning rate 0.1,
# weight decay 0.5: each update is w <- w - lr * (gradient + decay * w) = w * (1 - 0.05).
_W0, _LR, _DECAY = 2.0, 0.1, 0.5
_SHRINK = 1 - _LR * _DECAY  # 0.95: the share of the weight left after one update
_AFTER_1 = _W0 * _SHRINK  # 1.9
_AFTER_10 = _W0 * _SHRINK**10  # about 1.197


def _weight_decay(after_1, after_10) -> str | None:
    after_1, after_10 = float(after_1), float(after_10)
    if close(after_1, _W0 - _LR * _DECAY, 0.005):
        return (
            f"{after_1:g} subtracts learning rate x decay = 0.05 as a fixed amount. The penalty's "
            "pull is proportional to the weight: the step is learning rate x decay x weight "
            "= 0.1 x 0.5 x 2.0."
        )
    if close(after_1, _W0 - _DECAY * _W0, 0.005):
        return (
            f"{after_1:g} leaves out the learning rate: every update is scaled by it, so one step "
            "removes 0.1 x 0.5 x 2.0, not 0.5 x 2.0."
        )
    if not close(after_1, _AFTER_1, 0.005):
        return (
            f"after one update the weight is not {after_1:g}. Use w - lr x (gradient + decay x w) "
            "with gradient 0, w = 2.0, lr = 0.1, decay = 0.5."
        )
    if close(after_10, _W0 - 10 * (_W0 - _AFTER_1), 0.005):
        return (
            f"{after_10:g} takes ten equal steps of 0.1. Each update removes 5 % of what is left, "
            "and what is left shrinks, so the steps shrink too: multiply by 0.95 ten times."
        )
    if not close(after_10, _AFTER_10, 0.01):
        return (
            f"the first update is right, but after ten updates the weight is not {after_10:g}. "
            "Each update multiplies the weight by the same factor (1 - lr x decay)."
        )
    return None


weight_decay = Exercise(
    "weight decay, by hand",
    _weight_decay,
    hint=(
        "Each update with weight decay is w <- w - learning rate x (gradient + decay x w). Here "
        "the gradient is 0, so the update is w <- w x (1 - 0.1 x 0.5). Do it once, then ten times."
    ),
    solution=(
        "my_after_1 = 2.0 * (1 - 0.1 * 0.5)         # 1.9\n"
        "my_after_10 = 2.0 * (1 - 0.1 * 0.5) ** 10  # about 1.20: 5 % of what is left, each time"
    ),
    solved=(_AFTER_1, _AFTER_10),
    wrong=[
        ((1.95, 1.5), "proportional"),
        ((1.0, 0.0), "learning rate"),
        ((1.9, 1.0), "ten equal steps"),
    ],
    praise=(
        "A weight the data do not need fades towards zero; one the data keep pushing settles "
        "where their pull balances the decay."
    ),
)


# --------------------------------------------------------------------- 2. overfitting or not?

_WORDS = {
    "overfitting": "overfitting",
    "overfit": "overfitting",
    "overfitted": "overfitting",
    "underfitting": "underfitting",
    "underfit": "underfitting",
    "underfitted": "underfitting",
    "fine": "fine",
    "good": "fine",
    "ok": "fine",
}


def _word(answer) -> str | None:
    """The learner's word in the exercise's vocabulary, or None when it is none of them."""
    if not isinstance(answer, str):
        return None
    key = answer.strip().lower().replace("-", "").replace(" ", "")
    return _WORDS.get(key)


def _diagnosis(report_a, report_b, report_c) -> str | None:
    words = [_word(report_a), _word(report_b), _word(report_c)]
    for letter, given, word in zip("ABC", (report_a, report_b, report_c), words):
        if word is None:
            return (
                f"report {letter}: {given!r} is not one of the three answers. Write "
                '"overfitting", "underfitting" or "fine" for each report.'
            )
    a, b, c = words
    if a != "overfitting":
        return (
            "report A: training loss 0.03 but validation loss 0.42, training AUC 1.00 but "
            "validation 0.86. The network is nearly perfect on the cases it saw and much worse on "
            "new ones: that large gap is overfitting."
        )
    if b == "fine":
        return (
            "report B has a small gap, but both losses are high (about 0.6) and both AUCs about "
            "0.7: the network learned little even on its own training cases. A small gap alone "
            "is not good news (remember the row without batch normalization): this is underfitting."
        )
    if b != "underfitting":
        return (
            "report B: training and validation scores are equally poor, so the network did not "
            "memorize; it did not learn enough. That is underfitting."
        )
    if c == "overfitting":
        return (
            "report C: some gap is normal, since a network always knows its own cases a little "
            "better. With validation loss 0.14 against 0.11 and AUC 0.98 against 0.99, the "
            "validation scores are good and the small gap is no cause for concern: fine."
        )
    if c != "fine":
        return (
            "report C: both scores are good (AUC 0.99 and 0.98) and close together: the network "
            "learned the task and carries it to new cases. That is fine."
        )
    return None


diagnosis = Exercise(
    "overfitting, underfitting or fine",
    _diagnosis,
    hint=(
        "Look first at the validation scores, then at the gap. Good validation scores and a small "
        "gap: fine. Excellent training scores and much worse validation scores: overfitting. "
        "Poor scores on both, whatever the gap: underfitting."
    ),
    solution=(
        'my_report_a = "overfitting"   # near-perfect on its own cases, much worse on new ones\n'
        'my_report_b = "underfitting"  # small gap, but poor on both: it learned too little\n'
        'my_report_c = "fine"          # good on both, a small gap'
    ),
    solved=("overfitting", "underfitting", "fine"),
    wrong=[
        (("overfitting", "fine", "fine"), "small gap alone"),
        (("overfitting", "underfitting", "overfitting"), "some gap is normal"),
        (("underfitting", "overfitting", "fine"), "report a"),
    ],
    praise=(
        "Read a paper's training and validation numbers the same way: the gap says how much the "
        "model memorized, the validation score how good it is."
    ),
)


# --------------------------------------------------------------------- 3. early stopping by hand


def _kept(val_loss, patience) -> tuple[int, int]:
    """The reference: (epoch whose weights are kept, epoch after which training stops), from 1."""
    best_epoch, best_loss, waited = 1, val_loss[0], 0
    stop = len(val_loss)
    for epoch in range(2, len(val_loss) + 1):
        loss = val_loss[epoch - 1]
        if loss < best_loss:
            best_epoch, best_loss, waited = epoch, loss, 0
        else:
            waited += 1
            if waited >= patience:
                stop = epoch
                break
    return best_epoch, stop


def _lowest(values) -> int:
    """The epoch (from 1) of the lowest value of a list, the first one if several tie."""
    best = 0
    for i in range(1, len(values)):
        if values[i] < values[best]:
            best = i
    return best + 1


# Each case: (training losses, validation losses, patience). A: the validation loss turns up
# after epoch 4 and the lowest training loss is at epoch 9. B: a dip, a plateau, then a lower
# minimum (epoch 8) that patience 3 never reaches but patience 5 does. C: the validation loss
# falls to the end. D: the validation loss stays level (equal values are not an improvement).
_TRAIN_A = [0.60, 0.40, 0.30, 0.22, 0.17, 0.13, 0.10, 0.08, 0.05, 0.06]
_VAL_A = [0.62, 0.45, 0.38, 0.36, 0.37, 0.39, 0.41, 0.44, 0.47, 0.50]
_TRAIN_B = [0.70, 0.55, 0.46, 0.40, 0.35, 0.31, 0.28, 0.25, 0.22, 0.20, 0.18, 0.16, 0.17]
_VAL_B = [0.70, 0.50, 0.45, 0.47, 0.48, 0.49, 0.44, 0.40, 0.42, 0.43, 0.46, 0.47, 0.50]
_TRAIN_C = [0.65, 0.50, 0.42, 0.37, 0.33, 0.30]
_VAL_C = [0.66, 0.52, 0.45, 0.41, 0.39, 0.38]
_TRAIN_D = [0.60, 0.45, 0.38, 0.33, 0.29, 0.26]
_VAL_D = [0.55, 0.40, 0.40, 0.40, 0.40, 0.40]
_CASES = [
    ("A", _TRAIN_A, _VAL_A, 3),
    ("B", _TRAIN_B, _VAL_B, 3),
    ("B", _TRAIN_B, _VAL_B, 5),
    ("C", _TRAIN_C, _VAL_C, 3),
    ("D", _TRAIN_D, _VAL_D, 3),
]


def _as_epoch(value) -> int | None:
    """A whole epoch number from the learner's answer, or None when it is not one."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number == int(number) else None


def _kept_epoch(fn) -> str | None:
    for case, train, val, patience in _CASES:
        got_raw = call(fn, list(train), list(val), patience)
        got = _as_epoch(got_raw)
        kept, stop = _kept(val, patience)
        where = f"curve {case} with patience {patience}"
        if got is None:
            return f"your function returned {got_raw!r}; return one whole epoch number, such as 4."
        if got == kept:
            continue
        if got == kept - 1:
            return (
                f"{where}: you returned {got}, one less than the kept epoch {kept}. Epochs are "
                "counted from 1, list positions from 0: add 1 to the position."
            )
        if got == stop and stop != len(val):
            return (
                f"{where}: training stopped after epoch {stop}, but that is not the epoch it "
                f"keeps. Early stopping puts back the weights of the best epoch before the stop."
            )
        if 0 < got <= len(val) and val[got - 1] == val[kept - 1]:
            return (
                f"{where}: epoch {got} only equals the best validation loss; an equal loss is not "
                f"an improvement, so the weights of epoch {kept} stay (and the patience runs on)."
            )
        if got == len(val):
            return (
                f"{where}: you returned the last epoch of the list ({got}). Early stopping keeps "
                "the epoch with the lowest validation loss, and it may never reach the last one."
            )
        if got == _lowest(train):
            return (
                f"{where}: epoch {got} has the lowest training loss. The training loss keeps "
                "falling as the network memorizes; early stopping watches the validation loss."
            )
        if got == _lowest(val):
            return (
                f"{where}: epoch {got} has the lowest validation loss of the whole list, but with "
                f"patience {patience} training had already stopped after epoch {stop}, so epoch "
                f"{got} was never reached. Walk through the epochs in order and stop once "
                f"{patience} epochs in a row bring no improvement."
            )
        return (
            f"{where}: you returned epoch {got}, but early stopping keeps epoch {kept}. Walk "
            "through the validation losses, remember the lowest so far, and count the epochs "
            "since it."
        )
    return None


def _solution_kept_epoch(train_loss, val_loss, patience):
    return _kept(val_loss, patience)[0]


def _wrong_last_epoch(train_loss, val_loss, patience):
    return len(val_loss)


def _wrong_lowest_training(train_loss, val_loss, patience):
    return _lowest(train_loss)


def _wrong_counted_from_0(train_loss, val_loss, patience):
    return _kept(val_loss, patience)[0] - 1


def _wrong_lowest_of_all(train_loss, val_loss, patience):
    return _lowest(val_loss)


def _wrong_stop_epoch(train_loss, val_loss, patience):
    return _kept(val_loss, patience)[1]


kept_epoch = Exercise(
    "early stopping by hand",
    _kept_epoch,
    hint=(
        "Go through the validation losses epoch by epoch. Remember the lowest so far and its "
        "epoch; when a loss is lower, that epoch becomes the best and the count restarts, "
        "otherwise count one more epoch without improvement. When the count reaches the "
        "patience, stop and return the best epoch (counted from 1)."
    ),
    solution=(
        "def my_kept_epoch(train_loss, val_loss, patience):\n"
        "    best_epoch, best_loss, waited = 1, val_loss[0], 0\n"
        "    for epoch in range(2, len(val_loss) + 1):   # epochs are counted from 1\n"
        "        loss = val_loss[epoch - 1]\n"
        "        if loss < best_loss:                     # a new best: restart the count\n"
        "            best_epoch, best_loss, waited = epoch, loss, 0\n"
        "        else:\n"
        "            waited += 1\n"
        "            if waited == patience:               # patience used up: stop here\n"
        "                break\n"
        "    return best_epoch                            # the training loss is never used"
    ),
    solved=(_solution_kept_epoch,),
    wrong=[
        ((_wrong_last_epoch,), "last epoch"),
        ((_wrong_lowest_training,), "lowest training loss"),
        ((_wrong_counted_from_0,), "counted from 1"),
        ((_wrong_lowest_of_all,), "never reached"),
        ((_wrong_stop_epoch,), "not the epoch it keeps"),
    ],
    praise=(
        "This is what the training loop does after every epoch; the training loss plays no part "
        "in the choice."
    ),
)


# --------------------------------------------------------------------- 4. which split decides?

_SPLITS = {
    "train": "training",
    "training": "training",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "test": "test",
    "testing": "test",
}


def _split(answer) -> str | None:
    if not isinstance(answer, str):
        return None
    return _SPLITS.get(answer.strip().lower())


def _which_split(weights, epoch, augmentation, reported) -> str | None:
    given = (weights, epoch, augmentation, reported)
    names = ("the weights", "the epoch", "augmentation or not", "the reported AUC")
    splits = [_split(a) for a in given]
    for name, answer, split in zip(names, given, splits):
        if split is None:
            return (
                f"{name}: {answer!r} is not a split. Answer with "
                '"training", "validation" or "test".'
            )
    weights, epoch, augmentation, reported = splits
    if weights != "training":
        return (
            "the weights themselves are fitted by gradient descent on the training cases only; "
            "the other splits are never used to change them."
        )
    if epoch == "test":
        return (
            "the epoch to stop at is a choice, so it is made on the validation cases. The review "
            "(Fig. 9b) calls that curve 'test', but data used to choose anything are validation "
            "data; a test set that picks the epoch can no longer give an honest score."
        )
    if epoch != "validation":
        return (
            "the epoch to stop at: the training loss keeps falling as the network memorizes, so "
            "it cannot show when to stop. Early stopping watches the validation loss."
        )
    if augmentation == "test":
        return (
            "whether to augment is a choice like any other: made on the validation cases. "
            "Choosing it by the test score turns the test set into a second validation set."
        )
    if augmentation != "validation":
        return (
            "whether to augment: augmentation raises the training loss by design, so the "
            "training scores cannot tell whether it helps. Compare on the validation cases."
        )
    if reported == "validation":
        return (
            "the reported AUC: the validation cases chose the epoch and the augmentation, so "
            "their score is slightly flattering. Report the test set, used once at the end."
        )
    if reported != "test":
        return (
            "the reported AUC: the training score shows how well the network memorized, not how "
            "it does on new patients. Report the test set, used once at the end."
        )
    return None


which_split = Exercise(
    "which split decides what",
    _which_split,
    hint=(
        "Training cases fit the weights; validation cases make every choice (the epoch, the "
        "augmentation, the threshold); test cases are scored once, at the end, for the number "
        "you report."
    ),
    solution=(
        'my_weights_split = "training"        # gradient descent fits the weights\n'
        'my_epoch_split = "validation"        # early stopping (the review calls it "test")\n'
        'my_augmentation_split = "validation" # a choice like the epoch\n'
        'my_reported_split = "test"           # used once, for the number in the abstract'
    ),
    solved=("training", "validation", "validation", "test"),
    wrong=[
        (("training", "test", "validation", "test"), "review"),
        (("training", "validation", "validation", "validation"), "flattering"),
        (("training", "validation", "test", "test"), "second validation set"),
        (("training", "training", "validation", "test"), "keeps falling"),
    ],
    praise="A paper whose test set chose anything has reported a validation score.",
)


# --------------------------------------------------------------------- 5. K-fold arithmetic

_PATIENTS, _FOLDS = 250, 5
_PER_FOLD = _PATIENTS // _FOLDS  # 50 patients in each fold


def _kfold(trained_on, evaluated_on, fits) -> str | None:
    trained_on, evaluated_on, fits = float(trained_on), float(evaluated_on), float(fits)
    if trained_on == _PER_FOLD and evaluated_on == _PATIENTS - _PER_FOLD:
        return (
            "the two numbers are swapped: each fit trains on four folds and evaluates on the one "
            "fold left out."
        )
    if trained_on == _PER_FOLD:
        return (
            f"{_PER_FOLD} is the size of one fold, and one fold is the part left out for "
            f"evaluation. Each fit trains on the other {_FOLDS - 1} folds."
        )
    if trained_on == _PATIENTS:
        return (
            "the fold left out is not trained on: if it were, its patients would be scored by a "
            "network that had seen them. Each fit trains on 4 of the 5 folds."
        )
    if trained_on != _PATIENTS - _PER_FOLD:
        return (
            f"with {_PATIENTS} patients in {_FOLDS} folds of {_PER_FOLD}, each fit trains on the "
            f"{_FOLDS - 1} folds not left out. How many patients is that?"
        )
    if evaluated_on != _PER_FOLD:
        return (
            f"each fit evaluates on the one fold left out: {_PATIENTS} / {_FOLDS} patients. "
            "Across the five fits every patient is evaluated exactly once."
        )
    if fits != _FOLDS:
        return (
            f"cross-validation with {_FOLDS} folds leaves out each fold once, so it trains "
            f"{_FOLDS} networks: five fits, at five times the cost of one hold-out split."
        )
    return None


kfold = Exercise(
    "5-fold cross-validation with 250 patients",
    _kfold,
    hint=(
        "Cut the 250 patients into 5 folds of equal size. Each fit leaves one fold out for "
        "evaluation and trains on the rest; every fold is left out once."
    ),
    solution=(
        "my_trained_on = 200   # 4 folds of 50\n"
        "my_evaluated_on = 50  # the fold left out\n"
        "my_fits = 5           # each fold left out once"
    ),
    solved=(200, 50, 5),
    wrong=[
        ((50, 50, 5), "size of one fold"),
        ((50, 200, 5), "swapped"),
        ((250, 50, 5), "not trained on"),
        ((200, 50, 1), "five fits"),
    ],
    praise=(
        "Every patient is evaluated once, by a network that never saw them, and the five results "
        "show the spread."
    ),
)
