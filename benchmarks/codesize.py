"""Sizes a maintainer cares about: lines per module, code lines per lesson, the longest functions.

    python benchmarks/codesize.py            # a table on the terminal
    python benchmarks/codesize.py --json     # the same numbers as JSON

Lines of a lesson are the non-blank lines of its code cells (read from the notebook, so the
count does not depend on how the lesson's source is stored).
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_lines() -> dict[str, int]:
    """Lines in each module of the package and of the download command."""
    files = sorted([*ROOT.glob("radlab/*.py"), *ROOT.glob("data_download/*.py")])
    return {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in files}


def longest_functions(top: int = 5) -> list[tuple[str, int]]:
    """The longest functions and methods of the package, in lines (decorators excluded)."""
    found = []
    for path in sorted(ROOT.glob("radlab/*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                found.append((f"{path.stem}.{node.name}", length))
    return sorted(found, key=lambda item: -item[1])[:top]


def longest_bodies(top: int = 5) -> list[tuple[str, int]]:
    """The longest function bodies: lines of code after the signature and the docstring."""
    found = []
    for path in sorted(ROOT.glob("radlab/*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                body = node.body
                if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                    body = body[1:] or body  # a function that is only a docstring: count it
                found.append((f"{path.stem}.{node.name}", node.end_lineno - body[0].lineno + 1))
    return sorted(found, key=lambda item: -item[1])[:top]


def lesson_code_lines() -> dict[str, int]:
    """Non-blank lines of code cells in each lesson notebook."""
    import nbformat

    counts = {}
    for path in sorted(ROOT.glob("notebooks/[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        counts[path.stem] = sum(1 for src in code for line in src.splitlines() if line.strip())
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    result = {
        "modules": module_lines(),
        "longest_functions": longest_functions(),
        "longest_bodies": longest_bodies(),
        "lessons": lesson_code_lines(),
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return
    for title, rows in (
        ("module lines", result["modules"]),
        ("lesson code lines", result["lessons"]),
    ):
        print(f"{title}:")
        for name, n in rows.items():
            print(f"  {name:38s} {n:5d}")
        print(f"  {'total':38s} {sum(rows.values()):5d}")
    for title, key in (
        ("longest functions (all lines)", "longest_functions"),
        ("longest function bodies (without signature and docstring)", "longest_bodies"),
    ):
        print(f"{title}:")
        for name, n in result[key]:
            print(f"  {name:38s} {n:5d}")


if __name__ == "__main__":
    main()
