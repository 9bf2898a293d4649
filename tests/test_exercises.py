"""Exercise checkers: solutions pass, typical mistakes get their hint, blanks never raise."""

import importlib
import pkgutil

import pytest

import radlab.exercises as ex_pkg
from radlab.exercises import Exercise, exercises_of

MODULES = sorted(
    m.name for m in pkgutil.iter_modules(ex_pkg.__path__) if m.name.startswith("lesson")
)
ALL = [
    pytest.param(exercise, id=f"{module}.{name}")
    for module in MODULES
    for name, exercise in exercises_of(
        importlib.import_module(f"radlab.exercises.{module}")
    ).items()
]


def test_every_lesson_01_to_11_has_3_to_5_exercises():
    assert {f"lesson{n:02d}" for n in range(1, 12)} <= set(MODULES)
    counts = {
        m: len(exercises_of(importlib.import_module(f"radlab.exercises.{m}"))) for m in MODULES
    }
    assert all(3 <= n <= 5 for n in counts.values()), counts


@pytest.mark.parametrize("exercise", ALL)
def test_the_solution_passes(exercise: Exercise):
    feedback = exercise.evaluate(*exercise.solved)
    assert feedback.correct, feedback.message


@pytest.mark.parametrize("exercise", ALL)
def test_typical_wrong_answers_get_their_hint(exercise: Exercise):
    assert len(exercise.wrong) >= 2, "each exercise names at least two typical wrong answers"
    for answer, phrase in exercise.wrong:
        feedback = exercise.evaluate(*answer)
        assert feedback.status == "wrong", (answer, feedback.message)
        assert phrase.lower() in feedback.message.lower(), (answer, phrase, feedback.message)


@pytest.mark.parametrize("exercise", ALL)
def test_untouched_reads_not_answered_and_never_raises(exercise: Exercise, capsys):
    blanks = tuple(... for _ in exercise.solved)
    assert exercise.evaluate(*blanks).status == "not answered"
    assert exercise.evaluate().status == "not answered"
    exercise.check(*blanks)
    exercise.hint()
    exercise.solution()
    out = capsys.readouterr().out
    assert "Not answered yet" in out and "Hint:" in out and "Solution" in out


@pytest.mark.parametrize("exercise", ALL)
def test_a_function_left_blank_or_broken_never_raises(exercise: Exercise):
    def blank(*args, **kwargs):
        """The student's function before they write it."""

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    n = len(exercise.solved)
    assert exercise.evaluate(*(blank,) * n).status in ("not answered", "wrong")
    assert exercise.evaluate(*(broken,) * n).status in ("not answered", "wrong")
    assert exercise.evaluate(*("a string",) * n).status in ("not answered", "wrong")


def test_feedback_for_a_function_answer():
    from radlab.exercises import call

    def checker(fn):
        return None if call(fn, 3) == 6 else "double(3) should be 6"

    ex = Exercise("double", checker, hint="h", solution="s", solved=(lambda x: 2 * x,), wrong=[])

    def still_blank(x):
        """Double x."""

    assert ex.evaluate(still_blank).status == "not answered"
    assert "ZeroDivisionError" in ex.evaluate(lambda x: 1 / 0).message
    assert ex.evaluate(lambda x: x).status == "wrong"
    assert ex.evaluate(lambda x: 2 * x).correct
