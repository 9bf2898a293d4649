#!/usr/bin/env bash
# The GPU checks in one run, for a machine with an NVIDIA GPU (see benchmarks/README.md):
# the card, training throughput (radlab vs the plain loop), the accuracy targets trained on
# the GPU, the package tests that exercise CUDA (transforms, models, train, metrics), the default
# training recipe on OrganAMNIST, and the gpu run mode of lessons 07-11 with their claims.
#
#   RADLAB_DATA=/folder/with/medmnist OUT=runs/gpu bash benchmarks/gpu.sh
set -u
OUT=${OUT:-runs/gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/card.txt"
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))" \
  | tee -a "$OUT/card.txt"
$PY benchmarks/throughput.py --epochs 10 --repeats 2 --json "$OUT/throughput.json" 2>&1 | tee "$OUT/throughput.txt"
$PY benchmarks/targets.py --out "${TMPDIR:-/tmp}/radlab-gpu-targets" --json "$OUT/targets.json" 2>&1 \
  | tee "$OUT/targets.txt"
$PY -m pytest -q -p no:nbval -o addopts="" tests/test_transforms.py tests/test_models.py tests/test_train.py \
  tests/test_metrics.py 2>&1 | tail -n 15 | tee "$OUT/pytest.txt"
# The default recipe of python -m radlab.train on a set without its own (OrganAMNIST, 3 seeds).
for seed in 0 1 2; do
  $PY -m radlab.train --data organamnist --seed "$seed" --quiet --json "$OUT/organamnist_default_seed$seed.json" \
    2>&1 | tee -a "$OUT/default_recipe.txt"
done
# The lessons' gpu mode, run as plain scripts of their jupytext sources (no Jupyter needed; the
# widgets need ipywidgets and anywidget, DICOM lessons pydicom: carry their wheels). A claim that
# does not hold stops its lesson with ClaimNotSupported, which the log keeps.
for src in notebooks/src/0[7-9]_*.py notebooks/src/1[01]_*.py; do
  name=$(basename "$src" .py)
  ( cd notebooks && MPLBACKEND=Agg RADLAB_MODE=gpu RADLAB_CLAIMS_DIR="$OUT" timeout 900 $PY "src/$name.py" ) \
    > "$OUT/lesson_$name.txt" 2>&1
  echo "$name: exit $? ($(grep -c 'claim held' "$OUT/lesson_$name.txt") claims held)" | tee -a "$OUT/lessons.txt"
done
