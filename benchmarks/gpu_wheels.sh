#!/usr/bin/env bash
# Wheels for a lent GPU machine that has PyTorch, matplotlib, scikit-learn and scikit-image but
# no Jupyter and no pydicom (benchmarks/README.md, "On a GPU"). Run here, where PyPI is reachable;
# the GPU machine itself reaches nothing. Downloads what the course runner (nbclient, ipykernel),
# the widgets (ipywidgets, anywidget) and the DICOM lessons (pydicom, pydicom-data) need, for that
# machine's Python (3.12, x86-64 Linux), then drops the wheels of packages it already has.
#
#   bash benchmarks/gpu_wheels.sh .whl          # then carry .whl with the run (see gpu.sh)
set -euo pipefail
DEST=${1:-.whl}
PYVER=${PYVER:-3.12}
mkdir -p "$DEST"
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 \
  manylinux1_x86_64 manylinux_2_5_x86_64; do
  platforms+=(--platform "$p")
done
python3 -m pip download -q --only-binary=:all: --python-version "$PYVER" --implementation cp \
  "${platforms[@]}" -d "$DEST" nbclient nbconvert nbformat ipykernel ipywidgets anywidget \
  pydicom pydicom-data
# Already on the GPU machine (its image's package list): a second copy would shadow it.
there="numpy torch matplotlib scipy scikit_learn scikit_image pillow packaging pyyaml jinja2
markupsafe pygments psutil typing_extensions six python_dateutil pyparsing cycler kiwisolver
fonttools contourpy networkx imageio tifffile lazy_loader joblib threadpoolctl attrs certifi
charset_normalizer idna requests urllib3 filelock fsspec sympy mpmath setuptools"
for name in $there; do
  rm -f "$DEST"/"$name"-[0-9]*.whl "$DEST"/"${name//_/-}"-[0-9]*.whl
done
ls "$DEST" | wc -l
du -sh "$DEST"
