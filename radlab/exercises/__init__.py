"""Exercises that check themselves: a call says "correct", or what is wrong and a hint.

Each lesson has a module here (``radlab.exercises.lesson01`` ...) holding its
exercises as :class:`Exercise` objects. In a lesson the learner writes an
answer in a cell and checks it in the next one::

    from radlab.exercises import lesson01 as ex

    level, width = ..., ...          # your window for a subdural haematoma, in HU
    ex.subdural_window.check(level, width)
    # ex.subdural_window.hint()      # a hint, if you are stuck
    # ex.subdural_window.solution()  # the answer, when you have tried

A check never raises, so a lesson with exercises left blank still runs from
top to bottom: an answer still at ``...`` (Python's Ellipsis, the blank), or
a function that returns nothing yet, reads "not answered yet". A function
that raises is reported with its error, not a traceback.

How an exercise is written (for course authors)::

    Exercise(
        "A window for a subdural haematoma",
        checker,                # checker(*answer) -> None when right, else what is wrong
        hint="...",
        solution="level, width = 75, 215",
        solved=(75, 215),       # an answer that must pass (tested)
        wrong=[((40, 80), "narrow"), ...],   # typical wrong answers and a phrase
    )                                        # of the feedback each must get (tested)

Inside a checker, :func:`call` runs a learner's function: it turns "returned
None" into "not answered yet" and an exception into a readable message.

In a lesson, the cell lines between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` are the worked answer; ``python -m radlab.course student``
removes them (and clears outputs) to make the student copies.

Example:
    >>> def check_double(fn):
    ...     got = call(fn, 2)
    ...     return None if got == 4 else f"double(2) gave {got!r}, not 4. Multiply by 2."
    >>> ex = Exercise("Double it", check_double, hint="Multiply.", solution="return 2 * x",
    ...               solved=(lambda x: 2 * x,), wrong=[((lambda x: x + 2,), "not 4")])
    >>> def double(x):
    ...     ...
    >>> ex.check(double)
    Not answered yet: Double it. Write your answer in the cell above, run it, then run this cell.
    >>> ex.check(lambda x: 2 * x)
    Correct: Double it.
    >>> ex.check(lambda x: x / 0)
    Not yet: your function raised ZeroDivisionError: division by zero
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "BLANK",
    "Exercise",
    "Feedback",
    "NotAnswered",
    "call",
    "close",
    "exercises_of",
    "number",
]

BLANK = ...  # what an unanswered value looks like in a lesson: ``level = ...``

CORRECT, WRONG, UNANSWERED = "correct", "wrong", "not answered"


class NotAnswered(Exception):
    """Raised inside a checker when the answer is still blank (caught by :class:`Exercise`)."""


class _TheirError(Exception):
    """The learner's function raised; the message says what it raised."""


@dataclass(frozen=True)
class Feedback:
    """The result of checking one answer: ``status`` and the sentence shown to the learner."""

    status: str  # "correct", "wrong" or "not answered"
    message: str

    @property
    def correct(self) -> bool:
        return self.status == CORRECT

    def __str__(self) -> str:
        return self.message


def _blank(value) -> bool:
    """True for an answer still at its blank: ``...``, or a sequence holding ``...``."""
    if value is BLANK:
        return True
    if isinstance(value, (tuple, list)):
        return any(_blank(v) for v in value)
    return False


def call(fn: Callable, *args, **kwargs):
    """Run the learner's function ``fn``; "returned None" means not answered yet.

    Raises :class:`NotAnswered` when ``fn`` is still blank or returns None, and
    a readable error (caught by :class:`Exercise`) when it raises.
    """
    if fn is BLANK or fn is None:
        raise NotAnswered
    if not callable(fn):
        raise _TheirError(f"expected a function, got {type(fn).__name__} {fn!r}")
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:  # the learner's code: report it, never crash the lesson
        raise _TheirError(f"your function raised {type(exc).__name__}: {exc}") from None
    if result is None:
        raise NotAnswered
    return result


def number(value) -> float | None:
    """``value`` as a float, or None when it is not one finite number (``True`` is not one)."""
    if isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def close(value, target: float, tolerance: float) -> bool:
    """True when ``value`` is a finite number within ``tolerance`` of ``target``."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(value) and abs(value - target) <= tolerance


class Exercise:
    """One exercise: its checker, a hint, the solution, and the answers its tests use.

    Args:
        title: a short name, shown in the feedback.
        checker: ``checker(*answer)`` returns None when the answer is right, else one or two
            sentences saying what is wrong and a hint aimed at that mistake. It may raise
            :class:`NotAnswered`; use :func:`call` to run a learner's function.
        hint: the general hint, shown by :meth:`hint`.
        solution: the worked answer as code (and a sentence why), shown by :meth:`solution`.
        solved: one answer that must pass (the tests check it).
        wrong: typical wrong answers, each with a phrase its feedback must contain (tested).
        praise: an optional sentence added to "Correct" (what the answer means clinically).
    """

    def __init__(
        self,
        title: str,
        checker: Callable[..., str | None],
        *,
        hint: str,
        solution: str,
        solved: tuple,
        wrong: Sequence[tuple[tuple, str]],
        praise: str = "",
    ):
        self.title, self.checker, self.praise = title, checker, praise
        self.hint_text, self.solution_text = hint, solution
        self.solved, self.wrong = tuple(solved), list(wrong)

    def evaluate(self, *answer) -> Feedback:
        """Check ``answer`` and return the :class:`Feedback` (never raises)."""
        if not answer or any(_blank(a) for a in answer):
            return self._unanswered()
        try:
            problem = self.checker(*answer)
        except NotAnswered:
            return self._unanswered()
        except _TheirError as exc:
            return Feedback(WRONG, f"Not yet: {exc}")
        except Exception as exc:  # a malformed answer (a string for a number, ...)
            return Feedback(
                WRONG,
                f"Not yet: this answer could not be checked ({type(exc).__name__}: {exc}). "
                "Look at what the exercise asks for: a number, a pair of numbers, a function?",
            )
        if problem:
            return Feedback(WRONG, f"Not yet: {problem}")
        praise = f" {self.praise}" if self.praise else ""
        return Feedback(CORRECT, f"Correct: {self.title}.{praise}")

    def _unanswered(self) -> Feedback:
        return Feedback(
            UNANSWERED,
            f"Not answered yet: {self.title}. Write your answer in the cell above, run it, "
            "then run this cell.",
        )

    def check(self, *answer) -> None:
        """Print whether ``answer`` is right, or what is wrong with a hint."""
        print(self.evaluate(*answer))

    def hint(self) -> None:
        """Print the hint."""
        print(f"Hint: {self.hint_text}")

    def solution(self) -> None:
        """Print the worked answer."""
        print(f"Solution ({self.title}):\n{textwrap.indent(self.solution_text.strip(), '    ')}")

    def __repr__(self) -> str:
        return f"Exercise({self.title!r})"


def exercises_of(module) -> dict[str, Exercise]:
    """The exercises a lesson module defines, by name, in the order written."""
    return {name: value for name, value in vars(module).items() if isinstance(value, Exercise)}


def __getattr__(name: str):
    """``rl.exercises.lesson01`` and friends load on first use."""
    if name.startswith("lesson") and name[6:].isdigit():
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'radlab.exercises' has no attribute {name!r}")
