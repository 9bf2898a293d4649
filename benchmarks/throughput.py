"""Training speed: radlab's ``fit`` (tensors in memory) vs the plain loop of the MedMNIST examples.

Both train the same ``small_cnn`` on PneumoniaMNIST (train split, 28 px) with
the same epochs, batch size, optimizer (AdamW) and starting weights:

- plain loop: a ``torch.utils.data.Dataset`` that returns one image at a time
  as a PIL image through ``ToTensor`` and ``Normalize``, a ``DataLoader`` with
  ``shuffle=True`` (no worker processes, as in the MedMNIST getting-started
  notebook), and ``.to(device)`` for every batch;
- radlab: ``radlab.train.fit`` on float tensors moved to the device once,
  with channels_last and mixed precision as ``radlab.config`` chooses them
  (or as given with --channels-last / --amp).

Targets: on the CPU radlab >= 1.3x the plain loop; on a GPU >= 100,000
images/s at 28 px and >= 10x the plain loop.

    RADLAB_DATA=/path/to/data python benchmarks/throughput.py --epochs 2
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch import nn

import radlab as rl


class PlainDataset(torch.utils.data.Dataset):
    """One uint8 image at a time -> PIL -> ToTensor -> Normalize, as the MedMNIST examples do."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        import torchvision.transforms as tv

        self.images, self.labels = images, labels  # (N, 28, 28) uint8, (N, 1)
        self.transform = tv.Compose([tv.ToTensor(), tv.Normalize(mean=[0.5], std=[0.5])])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        from PIL import Image

        return self.transform(Image.fromarray(self.images[i])), self.labels[i]


def plain_loop(
    model: nn.Module, dataset, *, epochs: int, batch_size: int, lr: float, device
) -> float:
    """Train the textbook way; return the seconds taken."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True)
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(epochs):
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.squeeze(1).long().to(device)
            optimizer.zero_grad()
            loss = criterion(model(inputs), targets)
            loss.backward()
            optimizer.step()
    loss.item()  # wait for the GPU to finish
    return time.perf_counter() - start


def radlab_fit(
    model: nn.Module, x, y, *, epochs, batch_size, lr, device, channels_last, amp
) -> float:
    """Train with ``radlab.train.fit`` (no validation, no checkpoint); return the seconds taken."""
    start = time.perf_counter()
    rl.train.fit(
        model,
        (x, y),
        epochs=epochs,
        batch_size=batch_size,
        optimizer="adamw",
        lr=lr,
        device=device,
        channels_last=channels_last,
        amp=amp,
        progress=False,
        seed=0,
    )
    return time.perf_counter() - start


def arguments(argv=None) -> argparse.Namespace:
    """The benchmark's options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument(
        "--batch-size", type=int, default=None, help="default 128 on the CPU, 512 on a GPU"
    )
    p.add_argument("--device", default=None, help="default: radlab.config.device()")
    p.add_argument("--width", type=int, default=32, help="small_cnn width (32 is its default)")
    p.add_argument(
        "--channels-last", choices=["auto", "on", "off"], default="auto", help="for radlab's fit"
    )
    p.add_argument("--amp", choices=["auto", "on", "off"], default="auto", help="for radlab's fit")
    p.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="time each way this many times, alternating, and keep the fastest (a busy machine)",
    )
    p.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    p.add_argument("--root", default=None, help="data root (default: radlab.config.data_root())")
    p.add_argument(
        "--cases",
        type=int,
        default=None,
        help="train on the first CASES training images only (default: all 4,708; tests)",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the network for radlab's fit (the plain loop stays as it is)",
    )
    p.add_argument("--json", default=None, help="also write the numbers to this file")
    return p.parse_args(argv)


def warm_up_cases(batch_size: int, n_train: int) -> int:
    """Cases for the warm-up: four batches, but never more than the training set holds."""
    return min(4 * batch_size, n_train)


def main(argv=None) -> int:
    """Run both ways, print images/s and the ratio against the targets."""
    args = arguments(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device) if args.device else rl.config.device()
    batch_size = args.batch_size or (512 if device.type == "cuda" else 128)
    auto = {"auto": None, "on": True, "off": False}
    channels_last = auto[args.channels_last]
    channels_last = rl.config.use_channels_last(device) if channels_last is None else channels_last
    amp = rl.config.use_amp(device) if auto[args.amp] is None else auto[args.amp]
    x, y = rl.data.medmnist("pneumoniamnist", "train", root=args.root)  # (N, 1, 28, 28) in [0, 1]
    x, y = x[: args.cases], y[: args.cases]  # all of them when --cases is not given
    dataset = PlainDataset((x[:, 0] * 255).round().byte().numpy(), y.numpy()[:, None])
    n_images = args.epochs * len(y)

    def fresh_model() -> nn.Module:
        torch.manual_seed(0)
        return rl.models.small_cnn(in_channels=1, num_classes=2, width=args.width)

    def fit_model() -> nn.Module:  # the network radlab's fit trains: compiled when asked
        model = fresh_model()
        return torch.compile(model) if args.compile else model

    # warm up both paths once (first-call costs: memory pools, kernel selection, CUDA context)
    n_warm = warm_up_cases(batch_size, len(y))
    warm = torch.utils.data.Subset(dataset, range(n_warm))
    plain_loop(fresh_model(), warm, epochs=1, batch_size=batch_size, lr=1e-3, device=device)
    radlab_fit(
        fit_model(),
        x[:n_warm],
        y[:n_warm],
        epochs=1,
        batch_size=batch_size,
        lr=1e-3,
        device=device,
        channels_last=channels_last,
        amp=amp,
    )

    plain_s = radlab_s = float("inf")
    for _ in range(args.repeats):  # alternate, so that a burst of load elsewhere hits both alike
        plain_s = min(
            plain_s,
            plain_loop(
                fresh_model(),
                dataset,
                epochs=args.epochs,
                batch_size=batch_size,
                lr=1e-3,
                device=device,
            ),
        )
        radlab_s = min(
            radlab_s,
            radlab_fit(
                fit_model(),
                x,
                y,
                epochs=args.epochs,
                batch_size=batch_size,
                lr=1e-3,
                device=device,
                channels_last=channels_last,
                amp=amp,
            ),
        )
    result = {
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "model": f"small_cnn(width={args.width})",
        "epochs": args.epochs,
        "batch_size": batch_size,
        "repeats": args.repeats,
        "images": n_images,
        "radlab_channels_last": channels_last,
        "radlab_amp": amp,
        "radlab_compile": args.compile,
        "plain_images_per_sec": n_images / plain_s,
        "radlab_images_per_sec": n_images / radlab_s,
        "plain_seconds": plain_s,
        "radlab_seconds": radlab_s,
        "ratio": plain_s / radlab_s,
    }
    report(result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


def report(r: dict) -> None:
    """Print the two speeds, their ratio and the targets."""
    where = r["gpu"] or f"CPU, {r['threads']} threads"
    per_epoch = r["images"] // r["epochs"]
    print(
        f"PneumoniaMNIST train, {r['model']}, {r['epochs']} epochs x {per_epoch} images, "
        f"batch {r['batch_size']}, AdamW, on {r['device']} ({where})"
    )
    print(
        "  plain loop (Dataset + PIL transforms + DataLoader): "
        f"{r['plain_images_per_sec']:>10,.0f} images/s"
    )
    layout = f"channels_last={r['radlab_channels_last']}, amp={r['radlab_amp']}"
    if r.get("radlab_compile"):
        layout += ", torch.compile"
    print(
        f"  radlab fit (tensors in memory, {layout}): {r['radlab_images_per_sec']:>10,.0f} images/s"
    )
    print(f"  ratio radlab / plain: {r['ratio']:.2f}x")
    if r["device"].startswith("cuda"):
        print(
            f"  target GPU: >= 100,000 images/s and >= 10x: "
            f"{'met' if r['radlab_images_per_sec'] >= 1e5 and r['ratio'] >= 10 else 'NOT met'}"
        )
    else:
        print(f"  target CPU: >= 1.3x: {'met' if r['ratio'] >= 1.3 else 'NOT met'}")


if __name__ == "__main__":
    raise SystemExit(main())
