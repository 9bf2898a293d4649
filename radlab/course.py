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

__all__ = ["find_notebooks", "lessons", "run_lesson", "main"]

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


def lessons(folder: Path, only: list[str] | None = None) -> list[Path]:
    """Lesson notebooks in course order; ``only`` picks by number or name (``01``, ``01_input_data``)."""
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not only:
        return found
    picked = [
        p for p in found if any(p.stem == o or p.stem.startswith(o.rstrip("_") + "_") for o in only)
    ]
    if not picked:
        names = ", ".join(p.stem for p in found)
        raise SystemExit(f"No lesson matches --only {' '.join(only)}. Lessons: {names}")
    return picked


@contextlib.contextmanager
def _lesson_environment(mode: str, out: Path, tmp: Path):
    """Set what the lesson kernels inherit (run mode, claims folder, kernel path); restore it after."""
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
    """Register (under ``tmp``, on JUPYTER_PATH) a kernel that runs *this* Python, so lessons see the same packages."""
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
    mode = args.mode or config.mode()
    folder = find_notebooks(args.notebooks)
    out = Path(args.out or Path("course-output") / mode).resolve()
    out.mkdir(parents=True, exist_ok=True)
    picked = lessons(folder, args.only)
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
            print(
                f"{path.stem:<28}{head:<10}{seconds:>9.1f}  {_claims_summary(out / f'{path.stem}.claims.json')}"
            )
            if reason:
                print(f"    {reason}")
            sys.stdout.flush()
    print(f"{len(picked) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _list(args: argparse.Namespace) -> int:
    for path in lessons(find_notebooks(args.notebooks)):
        print(path.stem)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m radlab.course", description="Run the course's lessons headless."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute lessons and write notebooks, HTML and claims")
    run.add_argument(
        "--mode",
        choices=config.MODES,
        help="run mode (default: RADLAB_MODE, else gpu with CUDA, else cpu)",
    )
    run.add_argument(
        "--only", nargs="+", metavar="LESSON", help="lesson numbers or names, e.g. --only 00 01"
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
    ls = sub.add_parser("list", help="list the lessons")
    ls.add_argument("--notebooks", help="folder holding the lesson notebooks")
    ls.set_defaults(func=_list)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
