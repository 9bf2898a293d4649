"""Training on several processes at once (``torchrun``): who am I, how many are we, which cases.

``torchrun --nproc_per_node=2 -m radlab.train --data breastmnist`` starts the
training command twice. The two copies (processes) are told apart by numbers
that ``torchrun`` puts in their environment: ``RANK`` (0, 1, ...),
``WORLD_SIZE`` (how many processes), ``LOCAL_RANK`` (which GPU of this
computer) and ``MASTER_ADDR``/``MASTER_PORT`` (where they meet). This module
is the one place that reads them:

- :func:`setup` joins the processes into a group (backend NCCL on GPUs, gloo
  on CPUs) and gives each process its own GPU; :func:`teardown` leaves it.
  Without ``torchrun`` (no ``WORLD_SIZE``, or 1) nothing happens at all: no
  group, and training runs exactly as in a single process.
- Every process draws the same shuffled order of the training cases each
  epoch, cuts it into the same minibatches, and takes its own part of every
  minibatch (:func:`shard`). With 2 processes and ``batch_size=128`` each
  process works on 64 images per step, and the gradients of the two halves
  are averaged (``DistributedDataParallel``), so one step sees the same 128
  images as in one process.
- Only the first process (rank 0) prints and writes files (:func:`is_main`).

Batch normalization computes its mean and variance per process, on that
process's part of the minibatch (``SyncBatchNorm``, which would pool them, only
works on GPUs in torch 2.14), so 2 processes do not give exactly the numbers of
one process: close, not equal (``tests/test_distributed.py`` states how close).

Example:
    >>> world_size(), rank(), is_main()  # a plain Python process: a world of one
    (1, 0, True)
    >>> shard(torch.arange(5), rank=1, world=2).tolist()  # this process's part of a minibatch
    [3, 4]
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

__all__ = [
    "active",
    "all_mean",
    "broadcast_buffers",
    "broadcast_value",
    "environment",
    "is_main",
    "rank",
    "setup",
    "shard",
    "teardown",
    "world_size",
]


def environment() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` as ``torchrun`` set them; ``(0, 1, 0)`` without it."""
    try:
        return (
            int(os.environ.get("RANK", 0)),
            int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)),
        )
    except ValueError:
        raise RuntimeError(
            "RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers; they are set by torchrun "
            "(start with: torchrun --nproc_per_node=2 -m radlab.train ...)."
        ) from None


def active() -> bool:
    """Whether this process trains together with others (a process group of 2 or more)."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """How many processes train together (1 without ``torchrun``)."""
    return dist.get_world_size() if active() else 1


def rank() -> int:
    """This process's number, 0 to ``world_size() - 1`` (0 without ``torchrun``)."""
    return dist.get_rank() if active() else 0


def is_main() -> bool:
    """Whether this process is the one that prints and writes files (rank 0)."""
    return rank() == 0


def setup(device: str | torch.device | None = None) -> str | None:
    """Join the ``torchrun`` process group when there is one; return the device to train on.

    Args:
        device: the device asked for (``"cpu"``, ``"cuda"``...); ``None``: the course's
            choice (:func:`radlab.config.device`).

    Returns:
        ``device`` unchanged in a single process. Under ``torchrun`` with a GPU:
        ``"cuda:LOCAL_RANK"``, so each process trains on its own GPU.
    """
    _, world, local = environment()
    if world <= 1 or (dist.is_available() and dist.is_initialized()):
        return device
    if not dist.is_available():
        raise RuntimeError(
            "This torch was built without torch.distributed; train in one process (python -m "
            "radlab.train ...) or install the standard torch wheel."
        )
    from . import config

    dev = torch.device(device) if device is not None else config.device()
    if dev.type == "cuda":
        if local >= torch.cuda.device_count():
            raise RuntimeError(
                f"Process {local} of this computer has no GPU of its own: there are "
                f"{torch.cuda.device_count()}. Start as many processes as GPUs "
                "(torchrun --nproc_per_node=N)."
            )
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
        dist.init_process_group("nccl", device_id=dev)
    else:
        dist.init_process_group("gloo")
    return str(dev)


def teardown() -> None:
    """Leave the process group (a no-op when there is none)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard(batch: torch.Tensor, *, rank: int | None = None, world: int | None = None):
    """This process's part of one minibatch of case numbers: nearly equal, consecutive parts.

    Args:
        batch: the case numbers of one minibatch (the same on every process).
        rank, world: this process's number and the number of processes; default: this
            process's (``rank()``, ``world_size()``).

    Raises a clear error when the minibatch has fewer cases than there are processes.
    """
    if rank is None:
        rank = dist.get_rank() if active() else 0
    world = world_size() if world is None else world
    if len(batch) < world:
        raise ValueError(
            f"A minibatch of {len(batch)} cases cannot be shared by {world} processes: use a "
            f"batch size of at least {world} (the batch size is the total over all processes)."
        )
    return batch.tensor_split(world)[rank]


def all_mean(total: torch.Tensor, count: int) -> float:
    """``total`` summed over all processes, divided by ``count`` (the cases of all processes)."""
    if active():
        total = total.clone()
        dist.all_reduce(total)
    return total.item() / count


def broadcast_buffers(model: torch.nn.Module) -> None:
    """Give every process rank 0's buffers (batch-norm running statistics).

    Each process updates its running statistics from its own images; after an
    epoch they are made equal, so that every process validates, keeps and saves
    the same model.
    """
    if active():
        for buffer in model.buffers():
            dist.broadcast(buffer.data, src=0)


def broadcast_value(value):
    """Rank 0's ``value`` (any plain Python value) on every process, so that decisions such as
    keeping the best epoch or stopping early are the same everywhere."""
    if not active():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
