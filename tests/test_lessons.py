"""The lessons as files: each notebook paired with its jupytext source, in sync, free of test
machinery in the code a learner reads."""

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
