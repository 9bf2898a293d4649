"""Images that stay on disk: read one minibatch at a time instead of the whole set into memory.

At 28 x 28 pixels a MedMNIST set fits in memory many times over. The larger
MedMNIST+ files do not always: OrganAMNIST at 224 x 224 is 58,830 images,
about 3 GB as bytes and 12 GB as float numbers. :class:`MemmapImages` keeps
the images in a file and reads only the rows a minibatch needs (the
operating system's page cache keeps the rows used often in memory; this is
called memory mapping).

An ``.npz`` file is a zip archive, which cannot be memory-mapped, so each
array is unpacked once into a plain ``.npy`` file beside it
(``organamnist_224.npz`` -> ``organamnist_224.train_images.npy``). The copy
is written to a temporary file and renamed when complete, so a crash never
leaves half a file under the final name; a file of the wrong size (copied by
hand, cut short) is unpacked again.

``radlab.train.fit`` takes a :class:`MemmapImages` where it takes an image
tensor: ``fit(model, (MemmapImages(...), labels), ...)``. Each minibatch is
read, turned into float numbers in [0, 1] and moved to the training device;
with several processes (``torchrun``) each process reads only its own rows.

Example:
    >>> import tempfile, numpy as np
    >>> folder = Path(tempfile.mkdtemp())
    >>> images = np.arange(4 * 8 * 8, dtype=np.uint8).reshape(4, 8, 8)
    >>> np.savez(folder / "toy_8.npz", train_images=images, train_labels=np.zeros((4, 1)))
    >>> x = MemmapImages.from_npz(folder / "toy_8.npz", "train_images")
    >>> len(x), x.shape, x[torch.tensor([3, 0])].shape
    (4, (4, 1, 8, 8), torch.Size([2, 1, 8, 8]))
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

__all__ = ["MemmapImages", "load_split", "unpack_npz"]

_COPY_CHUNK = 16 * 1024 * 1024  # bytes copied at a time while unpacking


def unpack_npz(npz: str | os.PathLike, key: str, folder: str | os.PathLike | None = None) -> Path:
    """The array ``key`` of the ``.npz`` file as a ``.npy`` file that can be memory-mapped.

    Args:
        npz: the ``.npz`` file, e.g. ``.../medmnist/organamnist_128.npz``.
        key: the array's name in it, e.g. ``"train_images"``.
        folder: where the ``.npy`` goes; default beside the ``.npz`` file.

    Returns:
        The path of ``<npz name>.<key>.npy``. An existing one of the right size is reused;
        otherwise the array is copied out of the archive a piece at a time (never the whole
        array in memory) into a temporary file, flushed to disk, then renamed.
    """
    npz = Path(npz)
    target = Path(folder or npz.parent) / f"{npz.stem}.{key}.npy"
    try:
        archive = zipfile.ZipFile(npz)
    except (FileNotFoundError, zipfile.BadZipFile) as err:
        raise FileNotFoundError(
            f"{npz} is missing or is not an .npz file ({type(err).__name__}); fetch it again, "
            "e.g. python -m data_download medmnist NAME --size 128."
        ) from err
    with archive:
        member = f"{key}.npy"
        if member not in archive.namelist():
            names = ", ".join(n.removesuffix(".npy") for n in archive.namelist())
            raise KeyError(f"{npz} holds no array {key!r}; it holds {names}.")
        expected = archive.getinfo(member).file_size
        if target.is_file() and target.stat().st_size == expected:
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out, archive.open(member) as src:
                shutil.copyfileobj(src, out, _COPY_CHUNK)  # the zip checks its CRC as it reads
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return target


class MemmapImages:
    """uint8 images in a ``.npy`` file, read a minibatch at a time as float tensors in [0, 1].

    Behaves like an image tensor ``(N, C, H, W)`` for what training needs: ``len(x)``,
    ``x.shape`` and ``x[index]``, where ``index`` is a tensor or array of case numbers,
    a slice or one number; ``x[index]`` reads those rows only and returns float32
    ``(B, C, H, W)`` on the CPU. Grey images ``(N, H, W)`` get one channel; colour images
    ``(N, H, W, 3)`` are turned to ``(N, 3, H, W)``.
    """

    def __init__(self, npy: str | os.PathLike):
        self.path = Path(npy)
        try:
            self.array = np.load(self.path, mmap_mode="r")
        except (OSError, ValueError) as err:
            raise ValueError(
                f"{self.path} cannot be opened as a .npy file ({err}). Delete it; it is "
                "unpacked again from its .npz file (MemmapImages.from_npz)."
            ) from err
        if self.array.dtype != np.uint8 or self.array.ndim not in (3, 4):
            raise ValueError(
                f"{self.path} holds {self.array.dtype} of shape {self.array.shape}; expected "
                "uint8 images (N, H, W) or (N, H, W, C) as MedMNIST ships them."
            )

    @classmethod
    def from_npz(
        cls, npz: str | os.PathLike, key: str = "train_images", folder=None
    ) -> MemmapImages:
        """Unpack ``key`` from ``npz`` once (:func:`unpack_npz`) and open it memory-mapped."""
        return cls(unpack_npz(npz, key, folder))

    def __len__(self) -> int:
        return int(self.array.shape[0])

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(N, C, H, W)``, as the float tensor would be."""
        a = self.array.shape
        return (a[0], 1, a[1], a[2]) if self.array.ndim == 3 else (a[0], a[3], a[1], a[2])

    @property
    def nbytes(self) -> int:
        """Bytes of the images on disk (uint8: one per pixel and channel)."""
        return int(self.array.nbytes)

    def __getitem__(self, index) -> torch.Tensor:
        if isinstance(index, torch.Tensor):
            index = index.cpu().numpy()
        if isinstance(index, slice | int | np.integer):
            rows = np.array(self.array[index])  # a copy in memory, off the file
            rows = rows[None] if isinstance(index, int | np.integer) else rows
        else:
            index = np.asarray(index, dtype=np.int64)
            order = np.argsort(index, kind="stable")  # read the file front to back
            rows = np.empty((len(index), *self.array.shape[1:]), dtype=np.uint8)
            rows[order] = self.array[index[order]]
        x = torch.from_numpy(rows)
        x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
        return x.float().div_(255.0).contiguous()

    def __repr__(self) -> str:
        return f"MemmapImages({str(self.path)!r}, shape={self.shape})"


def load_split(
    npz: str | os.PathLike, split: str = "train", folder=None
) -> tuple[MemmapImages, torch.Tensor]:
    """One split of a MedMNIST ``.npz`` file: memory-mapped images and the labels as a tensor.

    Example: ``x, y = load_split(rl.data.file_path("organamnist", 128), "train")``, then
    ``fit(model, (x, y), load_split(path, "val"), ...)``.
    """
    images = MemmapImages.from_npz(npz, f"{split}_images", folder)
    with np.load(npz) as archive:
        labels = archive[f"{split}_labels"].reshape(len(images), -1)
    if labels.shape[1] > 1:  # several findings per image (ChestMNIST): 0/1 floats (N, K)
        return images, torch.from_numpy(labels.astype(np.float32))
    return images, torch.from_numpy(labels[:, 0].astype(np.int64))
