#!/usr/bin/env bash
# The GPU checks in one run, for a machine with an NVIDIA GPU (see benchmarks/README.md):
# the card, training throughput (radlab vs the plain loop), the accuracy targets trained on
# the GPU, and the package tests that exercise CUDA (transforms, models, train, metrics).
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
