"""Build the course website: ``python -m radlab.site build``.

The website is the executed lessons as static pages (Jupyter Book 1.x, that is Sphinx): a table
of contents in the review's order (the lesson list of :mod:`radlab.course`), each lesson with its
figures, the widgets' static pictures, a table of the claims it checked and links to download
the notebook and its student copy; a search page. Nothing is executed: the pages show the
outputs saved in ``notebooks/``. The pages load no file from the internet (equations, widgets
and search use copies inside the site), so the site works in a room without a network: open
``_build/site/index.html`` in a browser, or serve the folder.

Examples::

    python -m radlab.site build                     # every lesson, into _build/site
    python -m radlab.site build --only 01 --out /tmp/site

What it needs: the ``jupyter-book`` package (1.x) and the JavaScript listed in
``site/package.json`` (the widget manager, require.js and MathJax). When ``site/node_modules``
is missing the build runs ``npm ci`` there once, which needs Node.js's ``npm`` and the npm
registry; after that it works offline.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import course

__all__ = ["SiteError", "find_site", "claims_from_outputs", "lesson_page", "build", "main"]

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
MARKER = ".radlab-site"  # a file in each built site, so a rebuild only ever replaces a site

# Files the pages load, copied from site/node_modules into the site's _static/vendor folder
# (assets/vendor in the book's sources):
# (package folder, path inside it, path under _static/vendor).
ASSETS = [
    ("requirejs", "require.js", "require.js"),
    ("@jupyter-widgets/html-manager", "dist", "html-manager"),
    ("mathjax", "es5/tex-mml-chtml.js", "mathjax/tex-mml-chtml.js"),
    ("mathjax", "es5/output/chtml/fonts/woff-v2", "mathjax/output/chtml/fonts/woff-v2"),
    ("mathjax", "es5/input/tex/extensions", "mathjax/input/tex/extensions"),
    ("mathjax", "es5/a11y", "mathjax/a11y"),
    ("mathjax", "es5/ui", "mathjax/ui"),
]

# "claim held: <text> (<name>=<value>, ...)", as radlab.claims prints it in a lesson's output.
_CLAIM = re.compile(
    r"^claim (held|not shown in smoke mode \(too little data; not enforced\)): "
    r"(?P<text>.+?)(?: \((?P<numbers>[^()]*=[^()]*)\))?$"
)


class SiteError(RuntimeError):
    """Something the website build needs is missing; the message says what to do."""


def find_site(folder: str | Path | None = None) -> Path:
    """The website's source folder (holding ``_config.yml``): ``folder``, ./site or the repo's."""
    candidates = (
        [Path(folder)]
        if folder
        else [Path.cwd() / "site", Path(__file__).resolve().parents[1] / "site"]
    )
    for path in candidates:
        if (path / "_config.yml").is_file():
            return path
    raise SiteError(
        "Cannot find the website's settings (site/_config.yml). Run this command from the course "
        "folder (the one holding site/ and notebooks/), or pass --site PATH."
    )


def claims_from_outputs(nb) -> list[dict]:
    """The claims a lesson printed in its saved outputs, in order.

    Each is ``{"text": ..., "numbers": "name=value, ...", "held": True/False}``; ``held`` is
    False for a claim the lesson did not check (smoke mode runs on too little data).
    """
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") != "stream":
                continue
            for line in output.get("text", "").splitlines():
                match = _CLAIM.match(line.strip())
                if match:
                    found.append(
                        {
                            "text": match["text"],
                            "numbers": match["numbers"] or "",
                            "held": match[1] == "held",
                        }
                    )
    return found


def _cell_text(value: str) -> str:
    """``value`` made safe inside a Markdown table cell (no column breaks, no markup)."""
    for char in "\\|*_`<>[]$":
        value = value.replace(char, "\\" + char)
    return value


def _claims_cell(claims: list[dict]) -> str:
    """The Markdown of the claims section at the end of a lesson page."""
    if not claims:
        return (
            "## Claims this lesson checked\n\nThis lesson prints no claim: it measures nothing "
            "that the course checks against a number."
        )
    held = sum(c["held"] for c in claims)
    rows = [
        "| claim | the lesson's numbers | result |",
        "|---|---|---|",
        *(
            f"| {_cell_text(c['text'])} | "
            f"{'`' + c['numbers'] + '`' if c['numbers'] else ''} | "
            f"{'held' if c['held'] else 'not checked (smoke mode)'} |"
            for c in claims
        ),
    ]
    return (
        "## Claims this lesson checked\n\n"
        f"Each claim the lesson makes is checked against its own numbers when it runs "
        f"({held} of {len(claims)} held in the run shown on this page; the same lines are in "
        "the outputs above).\n\n"
        ":::{table}\n:class: radlab-claims\n\n" + "\n".join(rows) + "\n:::"
    )


def _links_cell(stem: str, has_widgets: bool) -> str:
    """The Markdown of the box under a lesson's title: what the page is, and the downloads."""
    widgets = (
        " The widgets show the picture and settings they had when the lesson was saved; moving "
        "their controls needs the notebook running in JupyterLab, because Python draws every "
        "picture. The static figure next to each widget makes the same point."
        if has_widgets
        else ""
    )
    return (
        ":::{admonition} Run this lesson yourself\n:class: tip\n\n"
        "This page is the lesson as it ran when the course was built: every figure and number "
        f"is that run's saved output, and nothing runs here.{widgets}\n\n"
        f"- {{download}}`the lesson notebook, with its outputs <downloads/{stem}.ipynb>`\n"
        f"- {{download}}`the student copy <downloads/{stem}_student.ipynb>` (answers removed, "
        "outputs cleared: run every cell yourself)\n:::"
    )


def lesson_page(nb, stem: str):
    """A copy of lesson notebook ``nb`` as its web page shows it.

    A box under the title links the notebook and its student copy (files under ``downloads/``
    beside the page); a section at the end lists the claims the lesson checked.
    """
    import copy

    import nbformat

    page = copy.deepcopy(nb)
    has_widgets = bool(page.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state"))
    links = nbformat.v4.new_markdown_cell(_links_cell(stem, has_widgets))
    claims = nbformat.v4.new_markdown_cell(_claims_cell(claims_from_outputs(page)))
    if page.nbformat_minor < 5:  # cell ids came with nbformat 4.5; older files have none
        links.pop("id", None)
        claims.pop("id", None)
    page.cells = page.cells[:1] + [links] + page.cells[1:] + [claims]
    return page


def _assets(site: Path) -> Path:
    """``site/node_modules``, holding every file in :data:`ASSETS`; runs ``npm ci`` if needed."""
    modules = site / "node_modules"
    if not all((modules / pkg / inner).exists() for pkg, inner, _ in ASSETS):
        npm = shutil.which("npm")
        if npm is None:
            raise SiteError(
                "The website needs the JavaScript listed in site/package.json, and npm is not "
                "installed to fetch it. Install Node.js's npm (Debian: apt-get install npm), "
                "then run: npm ci --prefix site"
            )
        print(f"Fetching the site's JavaScript once (npm ci in {site}) ...", flush=True)
        command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
        done = subprocess.run(command, cwd=site, capture_output=True, text=True)
        if done.returncode != 0:
            raise SiteError(
                f"npm ci in {site} failed (the npm registry must be reachable once):\n"
                f"{done.stderr[-2000:]}"
            )
    return modules


# Files of those packages the pages never load (other bundles of the same code, source maps).
_UNUSED = shutil.ignore_patterns("embed.js", "libembed-amd.js", "*.map")


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, ignore=_UNUSED)
    else:
        shutil.copy2(source, target)


def _toc(stems: list[str]) -> str:
    """The book's table of contents (``_toc.yml``): the intro, then the lessons in order."""
    lines = ["format: jb-book", "root: intro", "parts:", "  - caption: Lessons", "    chapters:"]
    for stem in stems:
        number = stem[:2]
        title = f"{number} · {course.PLAN.get(number, stem[3:].replace('_', ' '))}"
        lines += [f"      - file: {stem}", f"        title: {json.dumps(title)}"]
    return "\n".join(lines) + "\n"


def _stage(site: Path, picked: list[Path], folder: Path) -> None:
    """Write the book's sources into ``folder``: settings, intro, assets, lesson pages, files."""
    import nbformat

    for item in site.iterdir():
        if item.name not in ("node_modules", "package.json", "package-lock.json", "_build"):
            _copy(item, folder / item.name)
    modules = _assets(site)
    import anywidget  # its front end (AMD) for the saved window viewer; same version as Python

    _copy(
        Path(anywidget.__file__).parent / "nbextension" / "index.js",
        folder / "assets" / "vendor" / "anywidget" / "index.js",
    )
    for package, inner, target in ASSETS:
        _copy(modules / package / inner, folder / "assets" / "vendor" / target)
    (folder / "_toc.yml").write_text(_toc([p.stem for p in picked]), encoding="utf-8")
    for path in picked:
        nb = nbformat.read(path, as_version=4)
        _copy(path, folder / "downloads" / path.name)
        student = course.student_copy(nb, path.stem)
        nbformat.write(student, folder / "downloads" / f"{path.stem}_student.ipynb")
        nbformat.write(lesson_page(nb, path.stem), folder / path.name)


def _check_out(out: Path) -> None:
    """Refuse an output folder that holds anything but a site this command built."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise SiteError(
            f"{out} already exists and is not a site this command built; "
            "pick another --out folder (the build never deletes other files)"
        )


def _replace(html: Path, out: Path) -> None:
    """Put the built pages at ``out``, replacing a site built there before (and nothing else)."""
    _check_out(out)
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(html, out)
    (out / MARKER).write_text("built by python -m radlab.site build; safe to delete\n")


def build(
    out: str | Path = "_build/site",
    *,
    only: list[str] | None = None,
    notebooks: str | Path | None = None,
    site: str | Path | None = None,
    verbose: bool = False,
) -> Path:
    """Build the website from the executed lessons into ``out``; returns ``out``.

    Args:
        out: the folder for the site (default ``_build/site``); a site built there before is
            replaced.
        only: lesson numbers or names, as in ``python -m radlab.course`` (default: all).
        notebooks: the folder holding the lessons (default ./notebooks).
        site: the website's source folder holding ``_config.yml`` (default ./site).
        verbose: also show Sphinx's progress lines (its warnings always show).

    Raises :class:`SiteError` when jupyter-book or the JavaScript is missing or the build fails,
    and :class:`radlab.course.UsageError` for a lesson that is not there.
    """
    try:
        import jupyter_book  # noqa: F401  (only to say what to install)
    except ImportError:
        raise SiteError(
            'The website needs Jupyter Book 1.x: pip install "jupyter-book>=1.0,<2"'
        ) from None
    source = find_site(site)
    picked = course.lessons(course.find_notebooks(notebooks), only)
    out = Path(out).resolve()
    _check_out(out)  # before the build, not after it
    with tempfile.TemporaryDirectory(prefix="radlab-site-") as tmp:
        book = Path(tmp) / "book"
        _stage(source, picked, book)
        # jupyter-book's own command line, run by this Python (its script may not be on PATH)
        command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()"]
        command += ["build", str(book), "--path-output", tmp, "--builder", "html", "--all"]
        # Sphinx's warnings go to stderr and show; its progress lines and jupyter-book's banner
        # (which names the temporary folder) go to stdout, shown only when asked for.
        done = subprocess.run(
            command + ([] if verbose else ["-q"]),
            cwd=tmp,
            stdout=None if verbose else subprocess.PIPE,
            text=True,
        )
        html = Path(tmp) / "_build" / "html"
        if done.returncode != 0 or not (html / "index.html").is_file():
            raise SiteError(
                f"jupyter-book build failed (exit code {done.returncode}); its messages are "
                f"above{':' if done.stdout else ''}\n{(done.stdout or '')[-3000:]}"
            )
        _replace(html, out)
    return out


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def _build(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    out = build(
        args.out, only=args.only, notebooks=args.notebooks, site=args.site, verbose=args.verbose
    )
    seconds = time.perf_counter() - start
    print(f"Built the course website in {seconds:.0f} s: {out} ({_size_mb(out):.1f} MB)")
    print(f"Open {out / 'index.html'} in a browser, or serve it: python -m http.server -d {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m radlab.site",
        description="Build the course website (static pages of the executed lessons).",
        allow_abbrev=False,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{build}")
    b = sub.add_parser("build", help="build the website from the executed lessons")
    b.add_argument("--out", default="_build/site", help="output folder (default: _build/site)")
    b.add_argument(
        "--only", nargs="+", metavar="LESSON", help="lesson numbers or names, e.g. --only 01 02"
    )
    b.add_argument("--notebooks", help="folder holding the lesson notebooks (default: ./notebooks)")
    b.add_argument("--site", help="the website's source folder (default: ./site)")
    b.add_argument("-v", "--verbose", action="store_true", help="show Sphinx's progress lines")
    b.set_defaults(func=_build)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (SiteError, course.UsageError, FileNotFoundError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
