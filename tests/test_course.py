"""radlab.course: the headless runner writes notebooks, HTML and claims, and reports failures."""

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from radlab import course

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _lesson(folder: Path, name: str, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def test_lessons_are_found_in_order_and_picked_by_number():
    found = course.lessons(NOTEBOOKS)
    names = [p.stem for p in found]
    assert names[:2] == ["00_start_here", "01_input_data"] and names == sorted(names)
    assert [p.stem for p in course.lessons(NOTEBOOKS, ["01"])] == ["01_input_data"]
    with pytest.raises(SystemExit, match="No lesson matches"):
        course.lessons(NOTEBOOKS, ["99"])


def test_run_writes_notebook_html_and_claims(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _lesson(
        folder,
        "00_ok",
        "import radlab as rl\nrec = rl.claims.lesson('00_ok')\n"
        "rec.claim('one is less than two', 1 < 2, one=1, two=2)",
    )
    code = course.main(
        ["run", "--mode", "cpu", "--notebooks", str(folder), "--out", str(tmp_path / "out")]
    )
    printed = capsys.readouterr().out
    assert code == 0
    # the lesson's row: name, status, seconds, claims held
    assert re.search(r"^00_ok\s+ok\s+\d+\.\d\s+1/1$", printed, re.MULTILINE), printed
    assert re.search(r"^1 passed, 0 failed$", printed, re.MULTILINE), printed
    for suffix in [".ipynb", ".html", ".claims.json"]:
        assert (tmp_path / "out" / f"00_ok{suffix}").is_file()
    assert json.loads((tmp_path / "out" / "00_ok.claims.json").read_text())["mode"] == "cpu"


def test_run_leaves_the_callers_environment_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("RADLAB_MODE", "smoke")
    monkeypatch.delenv("RADLAB_CLAIMS_DIR", raising=False)
    jupyter_path = os.environ.get("JUPYTER_PATH")
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _lesson(folder, "00_env", "import os\nassert os.environ['RADLAB_MODE'] == 'cpu'")
    assert (
        course.main(
            ["run", "--mode", "cpu", "--notebooks", str(folder), "--out", str(tmp_path / "out")]
        )
        == 0
    )
    assert os.environ["RADLAB_MODE"] == "smoke"
    assert "RADLAB_CLAIMS_DIR" not in os.environ
    assert os.environ.get("JUPYTER_PATH") == jupyter_path


def test_a_false_claim_fails_the_run_in_cpu_mode(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _lesson(
        folder,
        "00_bad",
        "import radlab as rl\nrl.claims.lesson('00_bad').claim('two is less than one', 2 < 1)",
    )
    code = course.main(
        ["run", "--mode", "cpu", "--notebooks", str(folder), "--out", str(tmp_path / "out")]
    )
    printed = capsys.readouterr().out
    assert code == 1
    assert re.search(r"^00_bad\s+FAILED\s", printed, re.MULTILINE), printed
    assert "ClaimNotSupported" in printed and "0 passed, 1 failed" in printed
    assert (tmp_path / "out" / "00_bad.ipynb").is_file()  # the partial run is kept for reading


def test_smoke_run_of_lesson_00(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, folder, ignore=shutil.ignore_patterns("src", "0[1-9]_*", "1*"))
    code = course.main(
        ["run", "--mode", "smoke", "--notebooks", str(folder), "--out", str(tmp_path / "out")]
    )
    assert code == 0, capsys.readouterr().out
    executed = nbformat.read(tmp_path / "out" / "00_start_here.ipynb", as_version=4)
    assert all(
        o.get("output_type") != "error" for c in executed.cells for o in c.get("outputs", [])
    )
