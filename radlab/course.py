"""Run the lessons headless: ``python -m radlab.course run``.

Executes each lesson notebook in a fresh kernel of this Python, in the run
mode asked for, and writes into the output folder the executed notebook, an
HTML copy and the lesson's measured numbers and claims
(``<lesson>.claims.json``). Prints one row per lesson (name, status, seconds,
claims held) and exits non-zero if any lesson failed.

Examples::

    python -m radlab.course list
    python -m radlab.course run --mode smoke
    python -m radlab.course run --mode cpu --only 01 --out course-output
    python -m radlab.course run --mode cpu --update   # refresh the committed outputs
    python -m radlab.course student --out student     # copies without the solutions

A student copy is the lesson with its worked answers removed and its outputs
cleared: in code cells, the lines from ``### BEGIN SOLUTION`` to
``### END SOLUTION``; whole cells tagged ``solution``. The exercise checks
stay, so each blank answer reads "not answered yet" until the student fills it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from . import config

__all__ = [
    "PLAN",
    "UsageError",
    "find_notebooks",
    "lessons",
    "run_lesson",
    "student_copy",
    "speed_check",
    "estimated_minutes",
    "REFERENCE",
    "main",
]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colour codes in tracebacks
TIMEOUT = {"smoke": 300, "cpu": 1800, "gpu": 3600}  # seconds allowed per cell


def find_notebooks(folder: str | Path | None = None) -> Path:
    """The lessons folder: ``folder``, else ./notebooks, else the one beside the package."""
    candidates = (
        [Path(folder)]
        if folder
        else [Path.cwd() / "notebooks", Path(__file__).resolve().parents[1] / "notebooks"]
    )
    for path in candidates:
        if path.is_dir() and any(path.glob("[0-9][0-9]_*.ipynb")):
            return path
    raise FileNotFoundError(
        "Cannot find the lesson notebooks (files like 00_start_here.ipynb). Run this command "
        "from the course folder (the one holding notebooks/), or pass --notebooks PATH."
    )


# The course plan: every lesson number and its title (as in the course's lesson map), written or
# not yet.
PLAN = {
    "00": "start here",
    "01": "input data",
    "02": "augmentation",
    "03": "CNN building blocks",
    "04": "training",
    "05": "overfitting",
    "06": "testing and evaluation",
    "07": "architectures",
    "08": "images as teaching data",
    "09": "transfer learning",
    "10": "clinical cases",
    "11": "limitations and the road ahead",
}


# Lesson times in cpu mode on the machine the course is built on, each lesson run alone with
# `python -m radlab.course run --mode cpu` (benchmarks/README.md, "Lesson times: the second
# edition"), and the seconds that machine takes for :func:`speed_check`. Lesson 00 scales them to
# the learner's computer.
REFERENCE = {
    "machine": "the course's 2-core x86-64 build machine (2 threads), torch 2.14.1",
    "speed_check_seconds": 0.19,
    "cpu_seconds": {
        "00": 6.6,
        "01": 24.5,
        "02": 13.0,
        "03": 9.5,
        "04": 18.0,
        "05": 45.0,
        "06": 24.0,
        "07": 117.7,
        "08": 29.9,
        "09": 32.0,
        "10": 67.9,
        "11": 18.0,
    },
}


def speed_check(repeats: int = 3) -> float:
    """Seconds this computer's CPU takes for one fixed small training job (best of ``repeats``).

    The job: two epochs of the small lesson CNN over 512 random 32 x 32 images, in minibatches of
    64, on the CPU. Most of a lesson's time in cpu mode is this kind of work, so the ratio of this
    number to :data:`REFERENCE`'s says how much faster or slower the lessons will run here.
    """
    import torch

    from . import models, train

    images = torch.rand(512, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    labels = (images.mean(dim=(1, 2, 3)) > 0.5).long()
    best = float("inf")
    for _ in range(repeats):
        model = models.small_cnn(width=16)
        start = time.perf_counter()
        train.fit(model, (images, labels), epochs=2, batch_size=64, device="cpu", progress=False)
        best = min(best, time.perf_counter() - start)
    return best


def estimated_minutes(seconds: float) -> dict[str, float]:
    """Each lesson's expected cpu-mode minutes here, given :func:`speed_check`'s ``seconds``."""
    ratio = seconds / REFERENCE["speed_check_seconds"]
    return {n: ratio * s / 60 for n, s in REFERENCE["cpu_seconds"].items()}


class UsageError(ValueError):
    """A mistake in how the command was called; its message says what to type instead."""


def lessons(folder: Path, only: list[str] | None = None) -> list[Path]:
    """Lesson notebooks in course order, all of them or those picked by ``only``.

    Args:
        folder: the folder holding the lesson notebooks.
        only: lesson numbers or names, e.g. ``["02", "03"]``, ``["2,3"]``, ``["01_input_data"]``;
            comma lists are split and the leading zero may be left out.

    Raises :class:`UsageError` naming a lesson that is not there (and saying so when it is
    planned but not written yet).
    """
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not only:
        return found
    picked: set[Path] = set()
    for token in _tokens(only):
        matches = [p for p in found if _matches(p.stem, token)]
        if not matches:
            raise UsageError(_missing_lesson(token, found))
        picked.update(matches)
    return [p for p in found if p in picked]


def _tokens(only: list[str]) -> list[str]:
    """Split ``["02,03", "4"]`` into ``["02", "03", "04"]``: commas, spaces, no leading zero."""
    tokens = [t.strip() for item in only for t in str(item).replace(",", " ").split()]
    tokens = [t.removesuffix(".ipynb") for t in tokens if t]
    if not tokens:
        raise UsageError("--only needs lesson numbers, e.g. --only 02,03 or --only 2 3")
    return [t.zfill(2) if t.isdigit() else t for t in tokens]


def _matches(stem: str, token: str) -> bool:
    """True when ``token`` names lesson ``stem`` by number, full name or name without number."""
    number, _, name = stem.partition("_")
    return token in (number, stem, name)


def _missing_lesson(token: str, found: list[Path]) -> str:
    """The one-line message for a lesson that is not in the folder."""
    present = _number_ranges([p.stem[:2] for p in found]) or "none"
    if token in PLAN:
        return f"lesson {token} ({PLAN[token]}) is not written yet; lessons present: {present}"
    names = ", ".join(p.stem for p in found)
    return f"no lesson {token!r} in this course; lessons present: {present} ({names})"


def _number_ranges(numbers: list[str]) -> str:
    """``["00", "01", "02", "05"]`` as ``"00-02, 05"``."""
    values = sorted({int(n) for n in numbers})
    runs: list[list[int]] = []
    for v in values:
        if runs and v == runs[-1][-1] + 1:
            runs[-1].append(v)
        else:
            runs.append([v])
    return ", ".join(f"{r[0]:02d}" if len(r) == 1 else f"{r[0]:02d}-{r[-1]:02d}" for r in runs)


@contextlib.contextmanager
def _lesson_environment(mode: str, out: Path, tmp: Path):
    """Set what the lesson kernels inherit (run mode, claims folder, kernel path); then restore."""
    values = {
        "RADLAB_MODE": mode,
        "RADLAB_CLAIMS_DIR": str(out),
        "JUPYTER_PATH": os.pathsep.join(filter(None, [str(tmp), os.environ.get("JUPYTER_PATH")])),
    }
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _current_kernel(tmp: Path) -> str:
    """Register a kernel that runs *this* Python, so that lessons see the same packages.

    The kernel spec goes under ``tmp``, which is on JUPYTER_PATH while lessons run.
    """
    spec = tmp / "kernels" / "radlab-current"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "radlab", "language": "python"})
    )
    return "radlab-current"


def _claims_summary(path: Path) -> str:
    if not path.is_file():
        return "-"
    claims = json.loads(path.read_text()).get("claims", [])
    return f"{sum(c['holds'] for c in claims)}/{len(claims)}"


def run_lesson(
    path: Path, out: Path, *, kernel: str, mode: str, update: bool = False
) -> tuple[str, float]:
    """Execute one lesson; write the executed notebook and its HTML into ``out``.

    Returns (status, seconds); status is ``ok`` or ``FAILED: <reason>``.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError
    from nbconvert import HTMLExporter

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=TIMEOUT[mode],
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start, status = time.perf_counter(), "ok"
    log = out / f"{path.stem}.kernel.log"  # the kernel's own chatter, kept out of the table
    try:
        with open(log, "w") as stderr:
            client.execute(stderr=stderr)
    except (CellExecutionError, CellTimeoutError) as err:
        text = _ANSI.sub("", str(err))
        reason = next((ln for ln in reversed(text.splitlines()) if ln.strip()), type(err).__name__)
        status = f"FAILED: {reason.strip()[:200]}"
    seconds = time.perf_counter() - start
    nbformat.write(nb, out / path.name)
    html, _ = HTMLExporter().from_notebook_node(nb)
    (out / f"{path.stem}.html").write_text(html, encoding="utf-8")
    if update and status == "ok":
        nbformat.write(nb, path)
    return status, seconds


def _run(args: argparse.Namespace) -> int:
    """Run the lessons picked; 0 when all passed, 1 when one failed."""
    mode = _mode(args.mode)
    picked = lessons(_notebooks(args.notebooks), args.only)
    out = Path(args.out or Path("course-output") / mode).resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"Running {len(picked)} lesson(s) in {mode!r} mode; output in {out}")
    print(f"{'lesson':<28}{'status':<10}{'seconds':>9}  claims held")
    failed = 0
    with (
        tempfile.TemporaryDirectory(prefix="radlab-kernel-") as tmp,
        _lesson_environment(mode, out, Path(tmp)),
    ):
        kernel = _current_kernel(Path(tmp))
        for path in picked:
            (out / f"{path.stem}.claims.json").unlink(missing_ok=True)
            status, seconds = run_lesson(path, out, kernel=kernel, mode=mode, update=args.update)
            failed += status != "ok"
            head, _, reason = status.partition(": ")
            claims = _claims_summary(out / f"{path.stem}.claims.json")
            print(f"{path.stem:<28}{head:<10}{seconds:>9.1f}  {claims}")
            if reason:
                print(f"    {reason}")
            sys.stdout.flush()
    print(f"{len(picked) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _mode(asked: str | None) -> str:
    """The run mode: ``--mode``, else ``RADLAB_MODE`` (a wrong value is the user's mistake)."""
    try:
        return asked or config.mode()
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _notebooks(folder: str | None) -> Path:
    """:func:`find_notebooks`, a missing folder reported as the user's mistake."""
    try:
        return find_notebooks(folder)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None


BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"


def _without_solution(source: str, where: str) -> str:
    """``source`` with each solution region removed; a block left empty gets ``...``."""
    kept: list[str] = []
    inside = False
    for line in source.splitlines():
        marker = line.strip()
        if marker == BEGIN_SOLUTION:
            if inside:
                raise ValueError(f"{where}: {BEGIN_SOLUTION} inside another solution")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            if indent:  # inside a function: keep it valid Python
                kept.append(f"{indent}...  # your code here")
        elif marker == END_SOLUTION:
            if not inside:
                raise ValueError(f"{where}: {END_SOLUTION} without {BEGIN_SOLUTION}")
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise ValueError(f"{where}: {BEGIN_SOLUTION} without {END_SOLUTION}")
    return "\n".join(kept).rstrip("\n")


def student_copy(nb, name: str = "lesson"):
    """The student copy of notebook ``nb`` (an nbformat node): solutions out, outputs cleared."""
    import copy

    nb = copy.deepcopy(nb)
    cells = []
    for index, cell in enumerate(nb.cells):
        if "solution" in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.cell_type == "code":
            cell.source = _without_solution(cell.source, f"{name}, cell {index}")
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    nb.cells = cells
    return nb


def _student(args: argparse.Namespace) -> int:
    """Write the student copy of every lesson picked into ``--out``."""
    import nbformat

    picked = lessons(_notebooks(args.notebooks), args.only)
    out = Path(args.out)
    if out.resolve() == _notebooks(args.notebooks).resolve():
        raise UsageError("--out must not be the lessons folder (it would overwrite the lessons)")
    out.mkdir(parents=True, exist_ok=True)
    for path in picked:
        nb = student_copy(nbformat.read(path, as_version=4), path.stem)
        nbformat.write(nb, out / path.name)
        print(f"wrote {out / path.name}")
    print(f"{len(picked)} student copies in {out}; the lessons with solutions are unchanged")
    return 0


def _list(args: argparse.Namespace) -> int:
    for path in lessons(_notebooks(args.notebooks)):
        print(path.stem)
    return 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = _Parser(
        prog="python -m radlab.course",
        description="Run the course's lessons headless.",
        allow_abbrev=False,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{run,list,student}")
    run = sub.add_parser(
        "run", help="execute lessons and write notebooks, HTML and claims", allow_abbrev=False
    )
    run.add_argument(
        "--mode",
        choices=config.MODES,
        help="run mode (default: RADLAB_MODE, else gpu with CUDA, else cpu)",
    )
    run.add_argument(
        "--only",
        nargs="+",
        metavar="LESSON",
        help="lesson numbers or names, e.g. --only 02,03 or --only 2 3 or --only 01_input_data",
    )
    run.add_argument("--out", help="output folder (default: course-output/<mode>)")
    run.add_argument(
        "--notebooks", help="folder holding the lesson notebooks (default: ./notebooks)"
    )
    run.add_argument(
        "--update",
        action="store_true",
        help="also write the outputs back into the lesson notebooks",
    )
    run.set_defaults(func=_run)
    ls = sub.add_parser("list", help="list the lessons", allow_abbrev=False)
    ls.add_argument("--notebooks", help="folder holding the lesson notebooks")
    ls.set_defaults(func=_list)
    st = sub.add_parser(
        "student",
        help="write the lessons without their solutions and outputs (the copies students get)",
        allow_abbrev=False,
    )
    st.add_argument("--out", required=True, help="folder for the student copies")
    st.add_argument("--only", nargs="+", metavar="LESSON", help="lesson numbers or names")
    st.add_argument("--notebooks", help="folder holding the lesson notebooks")
    st.set_defaults(func=_student)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
