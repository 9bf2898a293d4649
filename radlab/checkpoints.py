"""Checkpoints that survive a crash: atomic writes, safe loading, and resuming a training run.

Every file is written atomically: into a temporary file in the same folder,
flushed to disk, then renamed over the old one with ``os.replace``. A crash
while writing (power cut, full disk, Ctrl-C) leaves the previous file as it
was, never half a file.

``radlab.train.fit(..., checkpoint="runs/pneumonia.pt")`` uses two files:

- ``runs/pneumonia.pt``: the best weights so far, a plain ``state_dict``
  (``model.load_state_dict(torch.load(path, weights_only=True))``);
- ``runs/pneumonia.last.pt``: everything needed to go on (:class:`RunCheckpoint`):
  model, optimizer, scheduler, gradient scaler, every random-number state,
  the history and the best weights.

A ``.last.pt`` file that is damaged, or that was written by a run with other
settings, raises :class:`CheckpointError` naming the file to delete: a run
never starts over on its own, so the best-weights file is never overwritten
by surprise.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_atomic({"w": torch.ones(2)}, Path(folder) / "weights.pt")
    ...     atomic_write_text(Path(folder) / "note.txt", "done")
    ...     print(load_checkpoint(Path(folder) / "weights.pt")["w"], sorted(os.listdir(folder)))
    tensor([1., 1.]) ['note.txt', 'weights.pt']
"""

from __future__ import annotations

import os
import pickle
import random
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import torch
from torch import nn

__all__ = [
    "CHECKPOINT_FORMAT",
    "CheckpointError",
    "save_atomic",
    "atomic_write_text",
    "load_checkpoint",
    "RunParts",
    "RunCheckpoint",
]

CHECKPOINT_FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used: damaged, or written by a different run."""


# ----------------------------------------------------------------------------- atomic files


def _write_atomic(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(f)`` on a temporary file beside ``path``, flush it to disk, rename it over."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the rename makes them visible
        os.replace(tmp, path)  # atomic: readers see the old file or the new one, never half of one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_atomic(obj, path: str | os.PathLike) -> None:
    """``torch.save(obj)`` into a temporary file beside ``path``, then renamed over it."""
    _write_atomic(path, lambda f: torch.save(obj, f))


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically: the old file or the new one, never half."""
    _write_atomic(path, lambda f: f.write(text.encode("utf-8")))


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint with ``weights_only=True``; a clear error when the file is damaged."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
        raise CheckpointError(
            f"The checkpoint {path} is damaged or incomplete and cannot be read "
            f"({type(err).__name__}). Delete this file to train again from the start; other "
            "checkpoint files are left as they are."
        ) from err


# ----------------------------------------------------------------------------- a training run


@dataclass
class RunParts:
    """The objects a training run changes as it goes, which a checkpoint must save and restore."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    scaler: torch.amp.GradScaler
    shuffler: torch.Generator  # draws the order of the cases in each epoch

    def state_dict(self) -> dict:
        """Their states, plus every random-number state a training step may draw from."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict(),
            "rng": _rng_states(self.shuffler),
        }

    def load_state_dict(self, saved: dict) -> None:
        """Put back what :meth:`state_dict` saved."""
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(saved["scheduler"])
        self.scaler.load_state_dict(saved["scaler"])
        _set_rng_states(saved["rng"], self.shuffler)


@dataclass(frozen=True)
class RunCheckpoint:
    """The two files of one run: ``best`` weights and the ``last`` full state beside them.

    ``settings`` is what a resumed run must share with the run that wrote the
    files (number of cases, epochs, batch size, optimizer, ...): plain values.
    """

    best: Path
    last: Path
    settings: dict

    @classmethod
    def beside(cls, checkpoint: str | os.PathLike | None, settings: dict) -> RunCheckpoint | None:
        """``run.pt`` -> best ``run.pt`` and last ``run.last.pt``; ``None`` for no checkpoint."""
        if checkpoint is None:
            return None
        best = Path(checkpoint)
        return cls(best, best.with_name(f"{best.stem}.last{best.suffix or '.pt'}"), settings)

    def save(self, parts: RunParts, loop: dict, *, save_best: bool) -> None:
        """Write the best weights (``loop["best_state"]``, when they changed), then the full state.

        ``loop`` holds the loop's own plain state: ``history`` (a dict),
        ``best_state``, ``since_best`` and ``finished``.
        """
        if save_best:
            save_atomic(loop["best_state"], self.best)
        header = {"format": CHECKPOINT_FORMAT, "settings": self.settings}
        save_atomic({**header, **parts.state_dict(), **loop}, self.last)

    def restore(self, parts: RunParts) -> dict:
        """Load the ``last`` file into ``parts``; return the loop's own state saved with them."""
        saved = load_checkpoint(self.last)
        if saved.get("format") != CHECKPOINT_FORMAT or saved.get("settings") != self.settings:
            before = saved.get("settings", {})
            different = {
                k: (before.get(k), v) for k, v in self.settings.items() if before.get(k) != v
            }
            raise CheckpointError(
                f"The checkpoint {self.last} belongs to a run with other settings (saved vs now: "
                f"{different}). Delete it, use another checkpoint path, or pass resume=False to "
                "start over."
            )
        parts.load_state_dict(saved)
        return {k: saved[k] for k in ("history", "best_state", "since_best", "finished")}


def _rng_states(shuffler: torch.Generator) -> dict:
    """Every random-number state a training step may draw from, as tensors and plain values."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "shuffle": shuffler.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
        "python": random.getstate(),
    }


def _set_rng_states(rng: dict, shuffler: torch.Generator) -> None:
    """Put back the random-number states saved by ``_rng_states``."""
    shuffler.set_state(rng["shuffle"])
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    kind, keys, pos, has_gauss, gauss = rng["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(_as_tuples(rng["python"]))


def _as_tuples(value):
    """Lists back to tuples (``random.setstate`` insists on tuples)."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, list | tuple) else value
