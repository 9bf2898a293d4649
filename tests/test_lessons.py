"""The lessons as files: each notebook paired with its jupytext source, in sync, free of test
machinery in the code a learner reads."""

import importlib
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def _cells(nb) -> list[tuple[str, str, tuple]]:
    return [(c.cell_type, c.source, tuple(c.metadata.get("tags", ()))) for c in nb.cells]


def test_every_lesson_has_a_source():
    assert LESSONS, "no lesson notebooks found"
    sources = sorted(p.stem for p in (NOTEBOOKS / "src").glob("[0-9][0-9]_*.py"))
    assert sources == [p.stem for p in LESSONS]


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem)
def test_source_and_notebook_in_sync(notebook):
    """Editing one side without `jupytext --sync` would ship a notebook that differs from its
    source; this names the lesson to sync."""
    source = jupytext.read(NOTEBOOKS / "src" / f"{notebook.stem}.py")
    stored = nbformat.read(notebook, as_version=4)
    assert _cells(source) == _cells(stored), (
        f"run: jupytext --sync notebooks/src/{notebook.stem}.py"
    )


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem)
def test_no_test_machinery_in_lesson_code(notebook):
    """nbval reads cell tags (nbval-ignore-output ...); comments would be noise for a learner."""
    text = (NOTEBOOKS / "src" / f"{notebook.stem}.py").read_text()
    assert "NBVAL" not in text


def _markdown(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda p: p.stem)
def test_every_question_has_an_answer(notebook):
    """Each numbered question at the end of a lesson is followed by a collapsed answer."""
    questions = _markdown(notebook).split("## Questions", 1)[1]
    asked = re.findall(r"^\d+\. ", questions, re.MULTILINE)
    answered = questions.count("<details><summary>Answer</summary>")
    assert asked and answered == len(asked), f"{len(asked)} questions, {answered} answers"


@pytest.mark.parametrize(
    "notebook", [p for p in LESSONS if p.stem[:2] != "00"], ids=lambda p: p.stem
)
def test_every_exercise_of_the_package_is_in_its_lesson_with_a_solution(notebook):
    """Lessons 01-06 use each exercise of radlab.exercises.lessonNN once, with a worked answer."""
    from radlab.exercises import exercises_of

    module = importlib.import_module(f"radlab.exercises.lesson{notebook.stem[:2]}")
    code = "\n".join(
        c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"
    )
    names = list(exercises_of(module))
    assert 3 <= len(names) <= 5
    for name in names:
        assert f"ex.{name}.check(" in code, f"exercise {name} is not checked in the lesson"
    assert code.count("### BEGIN SOLUTION") >= len(names)
