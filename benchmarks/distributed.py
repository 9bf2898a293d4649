"""Training speed on 1 and N processes (torchrun): images in memory at 28 px, and on disk at 128 px.

For each loader the same training (``radlab.train.fit``, ``small_cnn``, AdamW, the
same global batch) runs once in a plain single process and once under
``torchrun --nproc_per_node=N`` (gloo on CPUs; on a GPU machine N = the number
of GPUs, NCCL). The number is training images per second over all processes,
from the epochs after the first (the first warms caches and, on disk, the page
cache).

- in memory, 28 px: OrganAMNIST's training images as float tensors (the first
  ``--cases`` of them; synthetic images of the same size when the file is absent);
- on disk, 128 px: ``organamnist_128.npz`` through :class:`radlab.memmap.MemmapImages`
  when it is in the data root; otherwise a file of ``--disk-cases`` synthetic
  128 px images is written first (the output says which).

    python benchmarks/distributed.py                       # 1 and 2 processes on the CPU
    python benchmarks/distributed.py --processes 4 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

import radlab as rl  # noqa: E402
from radlab import distributed, memmap  # noqa: E402

LOADERS = ("memory28", "disk128")


def machine() -> str:
    """One line naming the computer: CPU cores, GPUs, torch version."""
    line = f"{platform.machine()} CPU, {os.cpu_count()} cores"
    if torch.cuda.is_available():
        names = {torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())}
        line += f", {torch.cuda.device_count()} x {' / '.join(sorted(names))}"
    return f"{line}; Python {platform.python_version()}, torch {torch.__version__}"


# ----------------------------------------------------------------------------- the data


def synthetic_images(n: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 noise images, half with a bright square (class 1): something to learn."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 128, size=(n, size, size), dtype=np.uint8)
    y = np.arange(n) % 2
    edge = size // 4
    x[y == 1, edge : 2 * edge, edge : 2 * edge] += 100
    return x, y[:, None].astype(np.uint8)


def disk_file(root: Path | None, n: int, folder: Path) -> tuple[Path, str]:
    """The real 128 px OrganAMNIST file when present, else a synthetic one written to ``folder``."""
    real = rl.config.data_root(root) / "medmnist" / "organamnist_128.npz"
    if real.is_file():
        return real, f"{real} (real)"
    path = folder / f"synthetic_{n}_128.npz"
    if not path.is_file():
        x, y = synthetic_images(n, 128)
        np.savez(path, train_images=x, train_labels=y)
    return path, f"{n} synthetic 128 px images ({real.name} is not in the data root)"


def memory_data(root: Path | None, cases: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Float 28 px training images in memory: OrganAMNIST's first ``cases``, or synthetic."""
    try:
        x, y = rl.data.medmnist("organamnist", "train", root=root)
        return x[:cases], y[:cases], f"OrganAMNIST train, first {min(cases, len(y))} (real)"
    except rl.data.DatasetNotFound:
        x, y = synthetic_images(cases, 28)
        note = f"{cases} synthetic 28 px images (organamnist.npz is not in the data root)"
        return torch.from_numpy(x).float().div(255).unsqueeze(1), torch.from_numpy(y[:, 0]), note


# ----------------------------------------------------------------------------- one measurement


def worker(args: argparse.Namespace) -> dict:
    """Train in this process (with the others, under torchrun); rank 0 returns the numbers."""
    torch.set_num_threads(args.threads)
    device = distributed.setup(args.device)
    try:
        if args.loader == "memory28":
            x, y, _ = memory_data(args.root, args.cases)
        else:
            x, y = memmap.load_split(args.file, "train", folder=args.out.parent)  # unpacked there
        n_classes = int(y.max()) + 1
        torch.manual_seed(0)
        net = rl.models.small_cnn(width=args.width, num_classes=n_classes)
        history = rl.train.fit(
            net,
            (x, y),
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=1e-3,
            device=device,
            seed=0,
            progress=False,
        )
        speeds = history.images_per_sec[1:] or history.images_per_sec
        return {
            "loader": args.loader,
            "processes": distributed.world_size(),
            "threads_per_process": args.threads,
            "device": history.device,
            "cases": len(x),
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "images_per_sec": float(np.mean(speeds)),
        }
    finally:
        distributed.teardown()


def launch(args: argparse.Namespace, loader: str, processes: int, file: Path, out: Path) -> dict:
    """Run one measurement in fresh processes: plain Python for 1, torchrun for more."""
    options = [
        "--worker",
        "--loader",
        loader,
        "--file",
        str(file),
        "--out",
        str(out),
        *("--cases", str(args.cases), "--epochs", str(args.epochs)),
        *("--batch-size", str(args.batch_size), "--width", str(args.width)),
        *("--threads", str(args.threads)),
        *(("--root", str(args.root)) if args.root else ()),
        *(("--device", args.device) if args.device else ()),
    ]
    command = [sys.executable, str(HERE), *options]
    if processes > 1:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={processes}",
            "--master_addr=127.0.0.1",
            f"--master_port={port}",
            str(HERE),
            *options,
        ]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
        )
    return json.loads(out.read_text())


# ----------------------------------------------------------------------------- the command


def parser() -> argparse.ArgumentParser:
    gpus = torch.cuda.device_count()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--processes", type=int, default=gpus if gpus > 1 else 2, help="N to compare")
    p.add_argument("--loaders", nargs="+", choices=LOADERS, default=list(LOADERS))
    p.add_argument("--cases", type=int, default=8192, help="28 px images in memory")
    p.add_argument("--disk-cases", type=int, default=3000, help="synthetic 128 px images")
    p.add_argument("--epochs", type=int, default=2, help="the first one is not counted")
    p.add_argument("--batch-size", type=int, default=128, help="global: over all processes")
    p.add_argument("--width", type=int, default=8, help="small_cnn's first-layer channels")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--device", help="cpu or cuda (default: rl.config.device())")
    p.add_argument("--root", type=Path, help="data root holding medmnist/")
    p.add_argument("--json", help="write the rows to this JSON file")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--loader", choices=LOADERS, help=argparse.SUPPRESS)
    p.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.worker:
        row = worker(args)
        if distributed.environment()[0] == 0:
            args.out.write_text(json.dumps(row))
        return 0
    print(f"machine: {machine()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        file, note = disk_file(args.root, args.disk_cases, folder)
        for loader in args.loaders:
            about = note if loader == "disk128" else memory_data(args.root, args.cases)[2]
            print(f"{loader}: {about}")
            for processes in (1, args.processes):
                start = time.perf_counter()
                row = launch(args, loader, processes, file, folder / "row.json")
                row["wall_seconds"] = time.perf_counter() - start
                row["data"] = about
                rows.append(row)
    print()
    print("| loader | processes | threads each | device | cases | images/s | vs 1 process |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        base = next(r for r in rows if r["loader"] == row["loader"] and r["processes"] == 1)[
            "images_per_sec"
        ]
        print(
            f"| {row['loader']} | {row['processes']} | {row['threads_per_process']} | "
            f"{row['device']} | {row['cases']} | {row['images_per_sec']:.0f} | "
            f"{row['images_per_sec'] / base:.2f}x |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
