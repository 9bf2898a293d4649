"""Does augmenting a batch cost less than one training step on it?

Goal: on the CPU, augmenting a batch of 256 images of 64 x 64 pixels must take
less time than one training step (forward, backward, optimizer step) of the
small lesson CNN on that batch. Prints the median of several repeats for the
default chest X-ray pipeline, the full pipeline (every transform, with a mask),
and the training step, and their ratios.

Run:
    PYTHONPATH=. python3 benchmarks/augment.py --batch 256 --size 64 --repeats 15 --device cpu
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

import radlab as rl
from radlab import transforms as T


def lesson_cnn() -> tuple[nn.Module, str]:
    """The real lesson CNN when radlab.models has it, else a stand-in of the same spirit."""
    builder = getattr(rl.models, "small_cnn", None)
    if builder is not None:
        return builder(in_channels=1, num_classes=2), "radlab.models.small_cnn"
    layers, channels = [], [1, 32, 32, 64, 64]
    for c_in, c_out in zip(channels, channels[1:]):  # 4 conv blocks, pooling after each
        layers += [
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(),
            nn.MaxPool2d(2),
        ]
    return nn.Sequential(
        *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 2)
    ), "stand-in CNN"


def full_pipeline(size: int) -> T.Compose:
    """Every transform of radlab.transforms, each applied to every image."""
    return T.Compose(
        [
            T.RandomCrop(size - size // 8),
            T.RandomFlip(p=1.0),
            T.RandomFlip(p=1.0, horizontal=False),
            T.RandomAffine(15, translate=0.1),
            T.RandomContrast((0.8, 1.2)),
            T.RandomBrightness(0.1),
            T.RandomNoise(0.03),
        ]
    )


def median_ms(fn, repeats: int, device: torch.device) -> float:
    """Median wall time of fn() in milliseconds, after two warm-up calls."""
    times = []
    for i in range(repeats + 2):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= 2:
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--device", default="cpu", help="cpu (the goal) or cuda")
    args = parser.parse_args()
    device = torch.device(args.device)
    generator = T.make_generator(device=device)
    images = torch.rand(args.batch, 1, args.size, args.size, generator=generator, device=device)
    masks = (images > 0.7).long()
    labels = torch.randint(0, 2, (args.batch,), generator=generator, device=device)

    chest, full = T.default_augmentation("chest_xray"), full_pipeline(args.size)
    chest_ms = median_ms(lambda: chest(images, generator=generator), args.repeats, device)
    full_ms = median_ms(lambda: full(images, mask=masks, generator=generator), args.repeats, device)

    model, model_name = lesson_cnn()
    model = model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()

    step_ms = median_ms(step, args.repeats, device)
    print(
        f"device: {device}  torch {torch.__version__}  threads {torch.get_num_threads()}  "
        f"batch {args.batch} x 1 x {args.size} x {args.size}  median of {args.repeats}"
    )
    print(f"augment, default chest_xray pipeline : {chest_ms:8.2f} ms per batch")
    print(f"augment, full pipeline with mask     : {full_ms:8.2f} ms per batch")
    print(f"training step ({model_name}) : {step_ms:8.2f} ms per batch")
    print(
        f"ratio chest_xray / step : {chest_ms / step_ms:.3f}   "
        f"ratio full / step : {full_ms / step_ms:.3f}"
    )
    print(
        "goal met (augmenting costs less than a training step):", max(chest_ms, full_ms) < step_ms
    )


if __name__ == "__main__":
    main()
