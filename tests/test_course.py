"""radlab.course: the headless runner writes notebooks, HTML and claims, and reports failures."""

import json
import os
import re
import shutil
import subprocess
import sys
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
    with pytest.raises(course.UsageError, match="no lesson '99'"):
        course.lessons(NOTEBOOKS, ["99"])


@pytest.fixture
def five_lessons(tmp_path):
    """A course folder with lessons 00-03 and 05 (04 left out: a gap in the numbers)."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for stem in ["00_start", "01_input", "02_augment", "03_blocks", "05_overfit"]:
        _lesson(folder, stem, "1 + 1")
    return folder


@pytest.mark.parametrize(
    "only, expected",
    [
        (["02,03"], ["02_augment", "03_blocks"]),
        (["02", "03"], ["02_augment", "03_blocks"]),
        (["03,", "2"], ["02_augment", "03_blocks"]),  # mixed, out of order, a trailing comma
        (["1"], ["01_input"]),  # no leading zero
        (["1,5"], ["01_input", "05_overfit"]),
        (["01_input"], ["01_input"]),  # the full name
        (["augment"], ["02_augment"]),  # the name without its number
        (["02_augment.ipynb", "02"], ["02_augment"]),  # a file name; picked once
    ],
)
def test_only_accepts_comma_lists_numbers_and_names(five_lessons, only, expected):
    assert [p.stem for p in course.lessons(five_lessons, only)] == expected


def test_a_planned_lesson_not_written_yet_says_so(five_lessons):
    with pytest.raises(course.UsageError) as info:
        course.lessons(five_lessons, ["7"])
    assert str(info.value) == (
        "lesson 07 (architectures) is not written yet; lessons present: 00-03, 05"
    )
    with pytest.raises(course.UsageError, match=r"lesson 04 \(training\) is not written yet"):
        course.lessons(five_lessons, ["02,04"])  # one missing lesson stops the whole list


def test_an_unknown_lesson_lists_the_lessons_present(five_lessons):
    with pytest.raises(course.UsageError) as info:
        course.lessons(five_lessons, ["42"])
    message = str(info.value)
    assert message.startswith("no lesson '42' in this course; lessons present: 00-03, 05")
    assert "05_overfit" in message and "\n" not in message
    with pytest.raises(course.UsageError, match="lesson numbers"):
        course.lessons(five_lessons, [","])


def test_the_plan_names_every_lesson_up_to_11():
    assert list(course.PLAN) == [f"{k:02d}" for k in range(12)]
    # the review's second half, titled as in the course's lesson map
    assert [course.PLAN[f"{k:02d}"] for k in range(7, 12)] == [
        "architectures",
        "images as teaching data",
        "transfer learning",
        "clinical cases",
        "limitations and the road ahead",
    ]


def test_the_plan_agrees_with_the_lessons_written():
    found = course.lessons(course.find_notebooks(NOTEBOOKS))
    assert found
    for path in found:
        number, _, name = path.stem.partition("_")
        assert name.replace("_", " ") in course.PLAN[number].lower(), path.stem


def _one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert lines[0].startswith("python -m radlab.course"), lines
    return lines[0]


def test_mistakes_print_one_line_and_exit_2(five_lessons, tmp_path, capsys, monkeypatch):
    out = ["--notebooks", str(five_lessons), "--out", str(tmp_path / "out")]
    assert course.main(["run", "--only", "9", *out]) == 2
    assert "lesson 09 (transfer learning) is not written yet" in _one_line_error(capsys)
    assert course.main(["run", "--notebooks", str(tmp_path / "nowhere")]) == 2
    assert "Cannot find the lesson notebooks" in _one_line_error(capsys)
    monkeypatch.setenv("RADLAB_MODE", "fast")
    assert course.main(["run", "--only", "01", *out]) == 2
    assert "RADLAB_MODE='fast' is not a run mode" in _one_line_error(capsys)
    assert not (tmp_path / "out").exists()  # nothing ran, nothing was written
    for argv in (["run", "--mode", "fast"], ["run", "--mod", "cpu"], ["lint"], []):
        with pytest.raises(SystemExit) as info:  # argparse's own errors: one line too
            course.main(argv)
        assert info.value.code == 2
        _one_line_error(capsys)


def test_module_entry_point_reports_a_mistake_without_traceback(five_lessons):
    done = subprocess.run(
        [sys.executable, "-m", "radlab.course", "run", "--only", "02,11"]
        + ["--notebooks", str(five_lessons)],
        capture_output=True,
        text=True,
        cwd=NOTEBOOKS.parent,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "python -m radlab.course: error: lesson 11 (limitations and the road ahead) is not "
        "written yet; "
        "lessons present: 00-03, 05\n"
    )


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


def test_student_copy_removes_solutions_and_outputs(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("### Exercise 1"),
            nbformat.v4.new_code_cell(
                "level = ...  # your level\n### BEGIN SOLUTION\nlevel = 75\n### END SOLUTION"
            ),
            nbformat.v4.new_code_cell(
                'def hu(x):\n    """x in HU."""\n    ### BEGIN SOLUTION\n    return x - 1024\n'
                "    ### END SOLUTION\n\nprint(hu(0))"
            ),
            nbformat.v4.new_markdown_cell("the worked answer", metadata={"tags": ["solution"]}),
            nbformat.v4.new_code_cell("print(1)", execution_count=3),
        ]
    )
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    copy = course.student_copy(nb)
    assert [c.source for c in copy.cells] == [
        "### Exercise 1",
        "level = ...  # your level",
        'def hu(x):\n    """x in HU."""\n    ...  # your code here\n\nprint(hu(0))',
        "print(1)",
    ]
    assert copy.cells[-1].outputs == [] and copy.cells[-1].execution_count is None
    assert nb.cells[-1].outputs, "the teacher's notebook is left as it was"
    namespace: dict = {}
    exec(copy.cells[2].source, namespace)  # still valid Python: hu() returns None


def test_student_copy_rejects_unbalanced_markers():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1")])
    with pytest.raises(ValueError, match="without ### END SOLUTION"):
        course.student_copy(nb, "01_demo")


def test_student_command_writes_every_lesson_without_solutions(tmp_path, capsys):
    out = tmp_path / "student"
    assert course.main(["student", "--out", str(out), "--notebooks", str(NOTEBOOKS)]) == 0
    written = sorted(p.name for p in out.glob("*.ipynb"))
    assert written == sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    for path in out.glob("*.ipynb"):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path.name
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert course.main(["student", "--out", str(NOTEBOOKS), "--notebooks", str(NOTEBOOKS)]) == 2


def test_student_copies_run_top_to_bottom_with_exercises_unanswered(tmp_path):
    """nbval executes the student copies in smoke mode: blanks must never break a lesson."""
    out = tmp_path / "student"
    assert course.main(["student", "--out", str(out), "--notebooks", str(NOTEBOOKS)]) == 0
    env = {**os.environ, "RADLAB_MODE": "smoke"}
    env.pop("RADLAB_CLAIMS_DIR", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-current-env",
            "--rootdir",
            str(out),
            str(out),
        ],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_the_reference_times_cover_every_lesson_written():
    written = sorted(p.stem[:2] for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert sorted(course.REFERENCE["cpu_seconds"]) == written
    assert all(s > 0 for s in course.REFERENCE["cpu_seconds"].values())


def test_estimated_minutes_scale_with_the_speed_check():
    reference = course.REFERENCE["speed_check_seconds"]
    same = course.estimated_minutes(reference)
    twice = course.estimated_minutes(2 * reference)
    for number, seconds in course.REFERENCE["cpu_seconds"].items():
        assert same[number] == pytest.approx(seconds / 60)
        assert twice[number] == pytest.approx(2 * seconds / 60)


def test_speed_check_times_a_real_training_job():
    seconds = course.speed_check(repeats=1)
    assert 0 < seconds < 120
