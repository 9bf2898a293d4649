"""How fast are the phantoms? Times the generation of 3-phase liver cases and fibrosis slices.

    python benchmarks/phantoms.py            # 1,000 cases of 64 x 64, median of 5 runs
    python benchmarks/phantoms.py --n 5000 --size 96

Goal (foundation issue): 1,000 three-phase 64 x 64 cases in a few seconds on a CPU.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import radlab as rl


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of ``fn()`` over ``repeats`` runs."""
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    jobs = {
        "liver_lesions (3 phases)": lambda: rl.phantoms.liver_lesions(
            args.n, size=args.size, seed=0
        ),
        "liver_lesions roi_mm=100": lambda: rl.phantoms.liver_lesions(
            args.n, size=args.size, seed=0, roi_mm=100
        ),
        "fibrosis_livers": lambda: rl.phantoms.fibrosis_livers(args.n, size=args.size, seed=0),
    }
    print(f"{'phantom':<28}{'cases':>7}{'size':>6}{'wall s':>9}{'cpu s':>8}{'cases/s':>10}")
    for name, job in jobs.items():
        wall, cpu = timed(job, args.repeats)
        print(f"{name:<28}{args.n:>7}{args.size:>6}{wall:>9.2f}{cpu:>8.2f}{args.n / wall:>10.0f}")


if __name__ == "__main__":
    main()
