"""The one place that decides the run mode, the device, the seed and the data root.

Every lesson and every part of `radlab` asks this module; nothing else reads
the environment variables below. It also holds the one way a tensor becomes a
NumPy array (``to_numpy``, ``to_slice``), so every module copies data to the
CPU the same way.

- ``RADLAB_MODE``: ``smoke`` (tests and CI, seconds per lesson), ``cpu`` (a
  laptop, a few minutes per lesson) or ``gpu`` (the full lesson). Default:
  ``gpu`` when a CUDA GPU is present, else ``cpu``.
- ``RADLAB_DATA``: where downloaded data sets live. Default: a per-user cache
  folder (``~/.cache/radlab`` on Linux and macOS, ``%LOCALAPPDATA%\\radlab`` on
  Windows).
- ``RADLAB_SEED``: the seed every lesson starts from (default 0).

Example:
    >>> import radlab as rl
    >>> rl.config.pick(smoke=1, cpu=10, gpu=50) in (1, 10, 50)
    True
"""

from __future__ import annotations

import os
import platform
import random
import sys
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "MODES",
    "mode",
    "pick",
    "device",
    "use_amp",
    "use_channels_last",
    "seed",
    "seed_everything",
    "data_root",
    "summary",
    "to_numpy",
    "to_slice",
]

MODES = ("smoke", "cpu", "gpu")
DEFAULT_SEED = 0


def mode() -> str:
    """The run mode in force: ``RADLAB_MODE``, else ``gpu`` with CUDA, else ``cpu``."""
    value = os.environ.get("RADLAB_MODE", "").strip().lower()
    if not value:
        return "gpu" if torch.cuda.is_available() else "cpu"
    if value not in MODES:
        raise ValueError(
            f"RADLAB_MODE={value!r} is not a run mode. Use one of {', '.join(MODES)}, "
            "for example: RADLAB_MODE=cpu jupyter lab notebooks/"
        )
    return value


def pick(*, smoke, cpu, gpu):
    """Return the value for the run mode in force (data size, epochs, image size...)."""
    return {"smoke": smoke, "cpu": cpu, "gpu": gpu}[mode()]


def device() -> torch.device:
    """The device lessons compute on: the CUDA GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def use_amp(dev: torch.device | None = None) -> bool:
    """Mixed precision pays off on CUDA GPUs; on the CPU it mostly costs time."""
    return (dev or device()).type == "cuda"


def use_channels_last(dev: torch.device | None = None) -> bool:
    """``channels_last`` memory layout: faster convolutions on CUDA (tensor cores) and on the CPU.

    Measured here (benchmarks/throughput.py, 2-core CPU): training the small
    lesson CNN ran 1.4-1.8 times faster in channels_last than in the default layout.
    """
    return (dev or device()).type in ("cuda", "cpu")


def seed(given: int | None = None) -> int:
    """The seed to use: ``given`` when a caller chose one, else the course seed (``RADLAB_SEED``,
    default 0). Every ``seed=None`` in the package means the course seed through this function.
    """
    if given is not None:
        return int(given)
    value = os.environ.get("RADLAB_SEED", str(DEFAULT_SEED))
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"RADLAB_SEED={value!r} must be a whole number, e.g. RADLAB_SEED=0"
        ) from None


def seed_everything(value: int | None = None) -> int:
    """Seed Python, NumPy and torch (CPU and GPU) so that a run repeats on the CPU.

    Returns the seed used (``value`` or the course seed).
    """
    value = seed(value)
    random.seed(value)
    np.random.seed(value % 2**32)
    torch.manual_seed(value)
    return value


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Folder holding downloaded data sets: ``root`` if given, else ``RADLAB_DATA``, else a cache.

    Args:
        root: a folder chosen by the caller (``~`` is expanded); None means the
            ``RADLAB_DATA`` environment variable, or else the per-user cache folder
            (``~/.cache/radlab``, ``%LOCALAPPDATA%\\radlab`` on Windows).
    """
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("RADLAB_DATA", "").strip()
    if env:
        return Path(env).expanduser()
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "radlab"


def summary() -> dict:
    """What is in force now, for the pre-flight check of lesson 00."""
    dev = device()
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "mode": mode(),
        "device": str(dev),
        "gpu": torch.cuda.get_device_name(0) if dev.type == "cuda" else None,
        "amp": use_amp(dev),
        "channels_last": use_channels_last(dev),
        "threads": torch.get_num_threads(),
        "seed": seed(),
        "data_root": str(data_root()),
    }


def to_numpy(x) -> np.ndarray:
    """A NumPy array from a tensor (any device, detached, copied to the CPU), an array or a list.

    Args:
        x: a torch tensor, a NumPy array, a list or a number. Tensors in float16 or
            bfloat16 come back as float32 (NumPy has no bfloat16); every other dtype
            is kept. Anything else goes through ``np.asarray``.
    """
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype in (torch.float16, torch.bfloat16):
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def to_slice(x, what: str = "image") -> np.ndarray:
    """One 2D slice as float32 NumPy (H, W), from an (H, W) or (1, H, W) array or tensor.

    Args:
        x: the slice; a tensor may sit on any device.
        what: what the slice is ("image", "mask", "kernel"), named in the error.

    Raises:
        ValueError: for anything but one slice (a volume, a batch, a colour picture),
            saying how to pick one.
    """
    array = np.asarray(to_numpy(x), dtype=np.float32)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]  # (1, H, W): one channel
    if array.ndim != 2:
        raise ValueError(
            f"The {what} has shape {tuple(array.shape)}; one 2D slice is needed, shaped (H, W) "
            "or (1, H, W). For a volume pick a slice first, e.g. volume[40]; for a batch, "
            "image[0]."
        )
    return array
