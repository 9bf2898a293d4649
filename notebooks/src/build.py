"""Build a lesson notebook from its plain-text source (the lessons are written as text).

Source format: cells start with a line `#%% md` or `#%% code`; everything up to
the next marker is the cell's text (markdown as is, no comment prefix).

    python notebooks/src/build.py notebooks/src/01_input_data.txt notebooks/01_input_data.ipynb
    python -m radlab.course run --mode cpu --only 01 --update   # then store the cpu-mode outputs

The built notebook has no outputs; the second command runs it and writes them back.
"""

import sys
import nbformat


def build(src: str, out: str) -> None:
    cells, kind, buf = [], None, []

    def flush():
        if kind is None:
            return
        text = "\n".join(buf).strip("\n")
        cells.append(
            nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text)
        )

    for line in open(src, encoding="utf-8").read().splitlines():
        if line.startswith("#%% "):
            flush()
            kind, buf = line[4:].strip(), []
            assert kind in ("md", "code"), line
        else:
            buf.append(line)
    flush()
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for i, c in enumerate(nb.cells):
        c["id"] = f"cell-{i:03d}"
    nbformat.write(nb, out)


if __name__ == "__main__":
    build(sys.argv[1], sys.argv[2])
