#!/usr/bin/env bash
# The GPU checks in one run, for a machine with an NVIDIA GPU (see benchmarks/README.md):
# the card, training throughput (radlab vs the plain loop; then larger batches and torch.compile),
# the accuracy targets trained on the GPU, the package tests that exercise CUDA (transforms,
# models, train, metrics), the default training recipe on OrganAMNIST, and the whole course in
# gpu run mode through the course runner, with its table of seconds and claims.
#
#   bash benchmarks/gpu_wheels.sh .whl       # here, with PyPI: Jupyter's kernel, widgets, pydicom
#   RADLAB_DATA=/folder/with/medmnist OUT=runs/gpu WHEELS=.whl bash benchmarks/gpu.sh
#   STEPS="course throughput" ... bash benchmarks/gpu.sh     # some steps only (a short device slot)
#
# Steps: throughput targets pytest default course (all by default; the card is always printed).
set -u
STEPS=" ${STEPS:-throughput targets pytest default course} "
want() { [[ "$STEPS" == *" $1 "* ]]; }
if [ -n "${WHEELS:-}" ]; then  # the GPU machine has no Jupyter: install the carried wheels aside
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/radlab-site "$WHEELS"/*.whl && export PYTHONPATH="/tmp/radlab-site:$PWD"
  export JUPYTER_PATH=/tmp/radlab-site/share/jupyter  # nbconvert's templates, ipykernel's spec
fi
OUT=${OUT:-runs/gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/card.txt"
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))" \
  | tee -a "$OUT/card.txt"
if want throughput; then
  $PY benchmarks/throughput.py --epochs 10 --repeats 2 --json "$OUT/throughput.json" 2>&1 | tee "$OUT/throughput.txt"
  # The same beside it, by the means that keep the loop readable: larger batches, torch.compile.
  for bs in 2048 8192; do
    $PY benchmarks/throughput.py --epochs 10 --repeats 2 --batch-size "$bs" --compile \
      --json "$OUT/throughput_b${bs}_compile.json" 2>&1 | tee -a "$OUT/throughput.txt"
  done
fi
if want targets; then
  $PY benchmarks/targets.py --out "${TMPDIR:-/tmp}/radlab-gpu-targets" --json "$OUT/targets.json" 2>&1 \
    | tee "$OUT/targets.txt"
fi
if want pytest; then
  $PY -m pytest -q -p no:nbval -o addopts="" tests/test_transforms.py tests/test_models.py tests/test_train.py \
    tests/test_metrics.py 2>&1 | tail -n 15 | tee "$OUT/pytest.txt"
fi
if want default; then  # the default recipe of python -m radlab.train on OrganAMNIST, 3 seeds
  for seed in 0 1 2; do
    $PY -m radlab.train --data organamnist --seed "$seed" --quiet --json "$OUT/organamnist_default_seed$seed.json" \
      2>&1 | tee -a "$OUT/default_recipe.txt"
  done
fi
# The whole course in gpu mode through the course runner (needs nbclient and ipykernel: WHEELS).
# Its table gives each lesson's seconds and claims held; the executed notebooks land in $OUT.
if ! want course; then
  :
elif $PY -c "import nbclient, ipykernel" 2>/dev/null; then
  $PY -m radlab.course run --mode gpu --out "$OUT/course" 2>&1 | tee "$OUT/course.txt"
  tar -czf "$OUT/course_claims.tgz" -C "$OUT/course" $(cd "$OUT/course" && ls *.claims.json) 2>/dev/null
else
  # Without Jupyter: lessons 07-11 as plain scripts of their jupytext sources. A claim that does
  # not hold stops its lesson with ClaimNotSupported, which the log keeps.
  for src in notebooks/src/0[7-9]_*.py notebooks/src/1[01]_*.py; do
    name=$(basename "$src" .py)
    ( cd notebooks && MPLBACKEND=Agg RADLAB_MODE=gpu RADLAB_CLAIMS_DIR="$OUT" timeout 900 $PY "src/$name.py" ) \
      > "$OUT/lesson_$name.txt" 2>&1
    echo "$name: exit $? ($(grep -c 'claim held' "$OUT/lesson_$name.txt") claims held)" | tee -a "$OUT/lessons.txt"
  done
fi
