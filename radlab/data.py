"""MedMNIST data sets: a table of cards (task, labels, splits, licence, files), loaders, splits.

Every 2D MedMNIST data set is described by a :class:`DatasetCard` in
:data:`CARDS`; print a card to read it. The files themselves are the official
``.npz`` files from Zenodo (record 10519652), kept under
``<data root>/medmnist/`` with their official names (``pneumoniamnist.npz`` for
28 x 28 pixels, ``pneumoniamnist_64.npz`` and so on for the larger sizes).
Fetch them with ``python -m data_download medmnist NAME --size N``; the data
root is :func:`radlab.config.data_root` unless a ``root`` is given.

Each file's MD5 is checked before its first use. The result is remembered in
the running Python process and, where the folder is writable, in a small
``<file>.md5ok`` note beside the file, so that a file is hashed only once.

Example:
    >>> import radlab as rl
    >>> rl.data.card("breastmnist").splits
    {'train': 546, 'val': 78, 'test': 156}
    >>> rl.data.file_name("pneumoniamnist", size=64)
    'pneumoniamnist_64.npz'
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shlex
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import config

__all__ = [
    "chest_films",
    "MEDMNIST_BASE_URL",
    "MEDMNIST_CITATION",
    "SIZES",
    "SPLITS",
    "TASKS",
    "MedMNISTFile",
    "DatasetCard",
    "CARDS",
    "DatasetNotFound",
    "DatasetDamaged",
    "available",
    "card",
    "file_name",
    "file_path",
    "download_command",
    "manual_steps",
    "human_bytes",
    "md5sum",
    "is_verified",
    "mark_verified",
    "verify_file",
    "inventory",
    "medmnist",
    "subset",
    "PHANTOM_TASKS",
    "STAND_INS",
    "IMAGE_KINDS",
    "PHANTOM_PATIENTS",
    "Splits",
    "load",
    "patient_split",
]

MEDMNIST_BASE_URL = "https://zenodo.org/records/10519652/files"
MEDMNIST_CITATION = (
    "Yang J, Shi R, Wei D, Liu Z, Zhao L, Ke B, Pfister H, Ni B. MedMNIST v2 - A large-scale "
    "lightweight benchmark for 2D and 3D biomedical image classification. Scientific Data "
    "2023;10:41. doi:10.1038/s41597-022-01721-8"
)
SIZES = (28, 64, 128, 224)  # pixels per side of the official files
PHANTOM_TASKS = ("liver-lesions", "fibrosis")  # computed by radlab.phantoms: nothing to download
SPLITS = ("train", "val", "test")
TASKS = ("binary-class", "multi-class", "multi-label", "ordinal-regression")


class DatasetNotFound(FileNotFoundError):
    """A MedMNIST file is not in the data folder yet; the message says how to fetch it."""


class DatasetDamaged(ValueError):
    """A MedMNIST file is present but its MD5 checksum is wrong (incomplete or altered)."""


@dataclass(frozen=True)
class MedMNISTFile:
    """One official file: its image size in pixels, file name, MD5 and byte count (when known)."""

    size: int
    filename: str
    md5: str
    nbytes: int | None = None


@dataclass(frozen=True)
class DatasetCard:
    """What a MedMNIST data set is, where its files come from, and how to cite it."""

    name: str
    title: str
    modality: str
    task: str
    labels: tuple[str, ...]
    n_channels: int
    n_train: int
    n_val: int
    n_test: int
    source: str  # citation of the data set MedMNIST was made from
    files: tuple[MedMNISTFile, ...]
    licence: str = "CC BY 4.0"

    @property
    def splits(self) -> dict[str, int]:
        """Number of images in each split."""
        return {"train": self.n_train, "val": self.n_val, "test": self.n_test}

    @property
    def n_images(self) -> int:
        return self.n_train + self.n_val + self.n_test

    @property
    def multi_label(self) -> bool:
        """True when each image carries several yes/no findings (ChestMNIST)."""
        return self.task == "multi-label"

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(f.size for f in self.files)

    @property
    def citation(self) -> str:
        """Cite both MedMNIST v2 and the data set it was made from."""
        return f"{MEDMNIST_CITATION}. Source data: {self.source}"

    def file(self, size: int = 28) -> MedMNISTFile:
        """The official file for images of ``size`` x ``size`` pixels."""
        for entry in self.files:
            if entry.size == size:
                return entry
        raise ValueError(
            f"{self.name} comes in sizes {', '.join(map(str, self.sizes))} (pixels per side), "
            f"not {size!r}."
        )

    def url(self, size: int = 28, base_url: str | None = None) -> str:
        """Download address of one file; ``base_url`` replaces the Zenodo folder (a mirror)."""
        base = (base_url or MEDMNIST_BASE_URL).rstrip("/")
        return f"{base}/{self.file(size).filename}?download=1"

    def estimated_bytes(self, size: int = 28) -> int:
        """Uncompressed image bytes at ``size`` (uint8): a guide to disk and memory needs."""
        return self.n_images * self.n_channels * size * size

    def __repr__(self) -> str:
        kind = "RGB, 3 channels" if self.n_channels == 3 else "grayscale, 1 channel"
        indent = "\n" + " " * 13  # continuation lines line up under the first value
        lines = [
            f"{self.title} ({self.name})",
            f"  modality : {self.modality} ({kind})",
            f"  task     : {self.task}, {len(self.labels)} "
            + ("findings" if self.multi_label else "classes"),
            "  labels   : " + indent.join(f"{i:>2} {label}" for i, label in enumerate(self.labels)),
            "  splits   : "
            + " | ".join(f"{k} {v:,}" for k, v in self.splits.items())
            + f" (total {self.n_images:,})",
            f"  licence  : {self.licence}",
            f"  cite     : {MEDMNIST_CITATION}",
            f"  source   : {self.source}",
            "  files    : " + indent.join(_file_line(self, f) for f in self.files),
        ]
        return "\n".join(lines)


def _file_line(card_: DatasetCard, entry: MedMNISTFile) -> str:
    """One line of a card's file list: size, name, byte count (or estimate), MD5."""
    if entry.nbytes is not None:
        amount = human_bytes(entry.nbytes)
    else:
        amount = f"~{human_bytes(card_.estimated_bytes(entry.size))} uncompressed"
    return f"{entry.size:>3} px  {entry.filename:<22} {amount:<24} md5 {entry.md5}"


def human_bytes(nbytes: int) -> str:
    """Bytes as a short human-readable amount (KiB, MiB, GiB)."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def file_name(name: str, size: int = 28) -> str:
    """Official file name: ``<name>.npz`` at 28 pixels, ``<name>_<size>.npz`` otherwise."""
    return f"{name}.npz" if size == 28 else f"{name}_{size}.npz"


def _card(
    name,
    title,
    modality,
    task,
    labels,
    n_channels,
    splits,
    source,
    md5s,
    nbytes=None,
    licence="CC BY 4.0",
) -> DatasetCard:
    """Build one card; ``md5s`` lists the MD5 of the 28, 64, 128 and 224 pixel files in order."""
    nbytes = nbytes or {}
    files = tuple(
        MedMNISTFile(size, file_name(name, size), md5, nbytes.get(size))
        for size, md5 in zip(SIZES, md5s)
    )
    return DatasetCard(
        name,
        title,
        modality,
        task,
        tuple(labels),
        n_channels,
        *splits,
        source=source,
        files=files,
        licence=licence,
    )


_KERMANY = (
    "Kermany DS, Goldbaum M, Cai W, et al. Identifying medical diagnoses and treatable diseases "
    "by image-based deep learning. Cell 2018;172(5):1122-1131"
)
_LITS = (
    "Bilic P, Christ P, Li HB, et al. The Liver Tumor Segmentation Benchmark (LiTS). Medical Image "
    "Analysis 2023;84:102680; organ boxes from Xu X, Zhou F, Liu B, Fu D, Bai X. Efficient "
    "multiple organ localization in CT image using 3D region proposal network. IEEE Transactions "
    "on Medical Imaging 2019;38(8):1885-1898"
)
_ORGANS = (
    "bladder",
    "left femur",
    "right femur",
    "heart",
    "left kidney",
    "right kidney",
    "liver",
    "left lung",
    "right lung",
    "pancreas",
    "spleen",
)

# Facts (URLs, MD5s, labels, split sizes, licences) as published by the MedMNIST authors
# in the official `medmnist` package, version 3.0.2, and on Zenodo record 10519652.
_TABLE = (
    _card(
        "pathmnist",
        "PathMNIST",
        "colon pathology, H&E-stained tissue patches",
        "multi-class",
        (
            "adipose tissue",
            "background",
            "debris",
            "lymphocytes",
            "mucus",
            "smooth muscle",
            "normal colon mucosa",
            "cancer-associated stroma",
            "colorectal adenocarcinoma epithelium",
        ),
        3,
        (89996, 10004, 7180),
        "Kather JN, Krisam J, Charoentong P, et al. Predicting survival from colorectal cancer "
        "histology slides using deep learning: a retrospective multicenter study. PLoS Medicine "
        "2019;16(1):e1002730",
        (
            "a8b06965200029087d5bd730944a56c1",
            "55aa9c1e0525abe5a6b9d8343a507616",
            "ac42d08fb904d92c244187169d1fd1d9",
            "2c51a510bcdc9cf8ddb2af93af1eadec",
        ),
    ),
    _card(
        "chestmnist",
        "ChestMNIST",
        "frontal chest X-ray, NIH ChestX-ray14",
        "multi-label",
        (
            "atelectasis",
            "cardiomegaly",
            "effusion",
            "infiltration",
            "mass",
            "nodule",
            "pneumonia",
            "pneumothorax",
            "consolidation",
            "edema",
            "emphysema",
            "fibrosis",
            "pleural thickening",
            "hernia",
        ),
        1,
        (78468, 11219, 22433),
        "Wang X, Peng Y, Lu L, Lu Z, Bagheri M, Summers RM. ChestX-ray8: hospital-scale chest "
        "X-ray database and benchmarks on weakly-supervised classification and localization of "
        "common thorax diseases. IEEE CVPR 2017:2097-2106",
        (
            "02c8a6516a18b556561a56cbdd36c4a8",
            "9de6cd0b934ebb5b7426cfba5efbae16",
            "db107e5590b27930b62dbaf558aebee3",
            "45bd33e6f06c3e8cdb481c74a89152aa",
        ),
    ),
    _card(
        "dermamnist",
        "DermaMNIST",
        "dermatoscopy of pigmented skin lesions",
        "multi-class",
        (
            "actinic keratoses and intraepithelial carcinoma",
            "basal cell carcinoma",
            "benign keratosis-like lesions",
            "dermatofibroma",
            "melanoma",
            "melanocytic nevi",
            "vascular lesions",
        ),
        3,
        (7007, 1003, 2005),
        "Tschandl P, Rosendahl C, Kittler H. The HAM10000 dataset, a large collection of "
        "multi-source dermatoscopic images of common pigmented skin lesions. Scientific Data "
        "2018;5:180161",
        (
            "0744692d530f8e62ec473284d019b0c7",
            "b70a2f5635c6199aeaa28c31d7202e1f",
            "2defd784463fa5243564e855ed717de1",
            "8974907d8e169bef5f5b96bc506ae45d",
        ),
        licence="CC BY-NC 4.0",
    ),
    _card(
        "octmnist",
        "OCTMNIST",
        "retinal optical coherence tomography (OCT)",
        "multi-class",
        ("choroidal neovascularization", "diabetic macular edema", "drusen", "normal"),
        1,
        (97477, 10832, 1000),
        _KERMANY,
        (
            "c68d92d5b585d8d81f7112f81e2d0842",
            "e229e9440236b774d9f0dfef9d07bdaf",
            "0a97e76651ace45c5d943ee3f65b63ae",
            "abc493b6d529d5de7569faaef2773ba3",
        ),
    ),
    _card(
        "pneumoniamnist",
        "PneumoniaMNIST",
        "paediatric chest X-ray",
        "binary-class",
        ("normal", "pneumonia"),
        1,
        (4708, 524, 624),
        _KERMANY,
        (
            "28209eda62fecd6e6a2d98b1501bb15f",
            "8f4eceb4ccffa70c672198ea285246c6",
            "05b46931834c231683c68f40c47b2971",
            "d6a3c71de1b945ea11211b03746c1fe1",
        ),
        nbytes={28: 4170669},
    ),
    _card(
        "retinamnist",
        "RetinaMNIST",
        "retinal fundus photography, diabetic retinopathy grade",
        "ordinal-regression",
        (
            "grade 0, no retinopathy",
            "grade 1, mild",
            "grade 2, moderate",
            "grade 3, severe",
            "grade 4, proliferative",
        ),
        3,
        (1080, 120, 400),
        "Liu R, Wang X, Wu Q, et al. DeepDRiD: diabetic retinopathy - grading and image quality "
        "estimation challenge. Patterns 2022;3(6):100512",
        (
            "bd4c0672f1bba3e3a89f0e4e876791e4",
            "afda852cc34dcda56f86ad2b2457dbcc",
            "e48e916a24454daf90583d4e6efb1a18",
            "eae7e3b6f3fcbda4ae613ebdcbe35348",
        ),
    ),
    _card(
        "breastmnist",
        "BreastMNIST",
        "breast ultrasound",
        "binary-class",
        ("malignant", "normal or benign"),
        1,
        (546, 78, 156),
        "Al-Dhabyani W, Gomaa M, Khaled H, Fahmy A. Dataset of breast ultrasound images. "
        "Data in Brief 2020;28:104863",
        (
            "750601b1f35ba3300ea97c75c52ff8f6",
            "742edef2a1fd1524b2efff4bd7ba9364",
            "363e4b3f8d712e9b5de15470a2aaadf1",
            "b56378a6eefa9fed602bb16d192d4c8b",
        ),
        nbytes={28: 559580},
    ),
    _card(
        "bloodmnist",
        "BloodMNIST",
        "microscopy of normal peripheral blood cells",
        "multi-class",
        (
            "basophil",
            "eosinophil",
            "erythroblast",
            "immature granulocytes (myelocytes, metamyelocytes, promyelocytes)",
            "lymphocyte",
            "monocyte",
            "neutrophil",
            "platelet",
        ),
        3,
        (11959, 1712, 3421),
        "Acevedo A, Merino A, Alférez S, Molina Á, Boldú L, Rodellar J. A dataset of microscopic "
        "peripheral blood cell images for development of automatic recognition systems. Data in "
        "Brief 2020;30:105474",
        (
            "7053d0359d879ad8a5505303e11de1dc",
            "2b94928a2ae4916078ca51e05b6b800b",
            "adace1e0ed228fccda1f39692059dd4c",
            "b718ff6835fcbdb22ba9eacccd7b2601",
        ),
    ),
    _card(
        "tissuemnist",
        "TissueMNIST",
        "microscopy of human kidney cortex cells",
        "multi-class",
        (
            "collecting duct, connecting tubule",
            "distal convoluted tubule",
            "glomerular endothelial cells",
            "interstitial endothelial cells",
            "leukocytes",
            "podocytes",
            "proximal tubule segments",
            "thick ascending limb",
        ),
        1,
        (165466, 23640, 47280),
        "Ljosa V, Sokolnicki KL, Carpenter AE. Annotated high-throughput microscopy image sets for "
        "validation. Nature Methods 2012;9(7):637 (Broad Bioimage Benchmark Collection, BBBC051)",
        (
            "ebe78ee8b05294063de985d821c1c34b",
            "123ece2eba09d0aa5d698fda57103344",
            "61b955355d7425a89687b06cca3ce0c2",
            "b077128c4a949f0a4eb01517f9037b9c",
        ),
    ),
    _card(
        "organamnist",
        "OrganAMNIST",
        "abdominal CT, axial slices in an abdominal window",
        "multi-class",
        _ORGANS,
        1,
        (34561, 6491, 17778),
        _LITS,
        (
            "68e3f8846a6bd62f0c9bf841c0d9eacc",
            "2dcccc29b88e6da5a01161ef20cda288",
            "eeae80d0a227a8d099027e1b3cfd3b60",
            "50747347e05c87dd3aaf92c49f9f3170",
        ),
        nbytes={28: 38247708},
    ),
    _card(
        "organcmnist",
        "OrganCMNIST",
        "abdominal CT, coronal slices in an abdominal window",
        "multi-class",
        _ORGANS,
        1,
        (12975, 2392, 8216),
        _LITS,
        (
            "b9ceb9546e10131b32923c5bbeaea2b1",
            "3ce34a8724ea6f548e6db4744d03b6a9",
            "773c1f009daa3fe5d9a2a201b2a7ed94",
            "050f5e875dc056f6768abf94ec9995d1",
        ),
    ),
    _card(
        "organsmnist",
        "OrganSMNIST",
        "abdominal CT, sagittal slices in an abdominal window",
        "multi-class",
        _ORGANS,
        1,
        (13932, 2452, 8827),
        _LITS,
        (
            "9ab87b696fb54e2a387ebe992d6ed5f1",
            "53a6d115339d874c25e309a994ff46d3",
            "ded0c5fa01a95dc4978b956f613e9b8e",
            "b354719e553fbbb2513d5533f52a4cb1",
        ),
    ),
)

CARDS: dict[str, DatasetCard] = {c.name: c for c in _TABLE}


def available() -> tuple[str, ...]:
    """Names of all MedMNIST 2D data sets the course can fetch and load."""
    return tuple(CARDS)


def card(name: str) -> DatasetCard:
    """The card of one data set, e.g. ``card("pneumoniamnist")``; print it to read it."""
    key = str(name).strip().lower()
    if key not in CARDS:
        raise ValueError(_unknown_name(name))
    return CARDS[key]


def _unknown_name(name: str) -> str:
    """One line for a name that is not a data set: the closest name, all names, the phantoms."""
    key = str(name).strip().lower()
    phantoms = " and ".join(PHANTOM_TASKS)
    if key in PHANTOM_TASKS:
        return (
            f"{key} is a phantom task, not a MedMNIST set: it needs no download, it is computed "
            f"on your computer. Load it with rl.data.load({key!r})."
        )
    candidates = [*CARDS, *PHANTOM_TASKS]
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.5)
    if not close and len(key) >= 3:  # "organ": the start of a name
        close = [n for n in candidates if n.startswith(key)][:1]
    hint = f"; did you mean {close[0]!r}?" if close else "."
    return (
        f"There is no MedMNIST data set called {name!r}{hint} The MedMNIST 2D sets are: "
        f"{', '.join(CARDS)}. The phantom tasks {phantoms} need no download: they are computed "
        "on your computer (rl.data.load('liver-lesions'))."
    )


def file_path(name: str, size: int = 28, root: str | Path | None = None) -> Path:
    """Where a file lives: ``<root>/medmnist/<official file name>``."""
    return config.data_root(root) / "medmnist" / card(name).file(size).filename


def download_command(name: str, size: int = 28, root: str | Path | None = None) -> str:
    """The shell command that fetches one file into ``root``."""
    return (
        f"python -m data_download medmnist {card(name).name} --size {size} "
        f"--root {shlex.quote(str(config.data_root(root)))}"
    )


def manual_steps(
    name: str, size: int = 28, root: str | Path | None = None, base_url: str | None = None
) -> str:
    """How to fetch a file by hand (browser, folder, MD5 check) when the command cannot."""
    entry, path = card(name).file(size), file_path(name, size, root)
    return (
        f"By hand: open {card(name).url(size, base_url)} in a browser, save the file into "
        f"{path.parent} as {entry.filename}, and check that its MD5 is {entry.md5} with: python -m "
        f"data_download verify --root {shlex.quote(str(config.data_root(root)))}"
    )


# --- MD5 checks, remembered per file (path, byte count, modification time) -------------

_VERIFIED: dict[tuple[str, int, int], str] = {}


def _stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".md5ok")


def md5sum(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """MD5 checksum of a file, read in 1 MiB chunks (hex string)."""
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def is_verified(path: str | Path, md5: str) -> bool:
    """True when this exact file (same bytes count and time stamp) already passed its MD5 check."""
    path = Path(path)
    key = _stamp(path)
    if _VERIFIED.get(key) == md5:
        return True
    try:
        note = json.loads(_sidecar(path).read_text())
    except (OSError, ValueError):  # no note, or an unreadable one: not verified yet
        return False
    ok = note == {"size": key[1], "mtime_ns": key[2], "md5": md5}
    if ok:
        _VERIFIED[key] = md5
    return ok


def mark_verified(path: str | Path, md5: str) -> None:
    """Remember that ``path`` has checksum ``md5`` (in this process, and in a note if writable)."""
    path = Path(path)
    key = _stamp(path)
    _VERIFIED[key] = md5
    if not _may_write(path.parent):
        return  # a read-only data folder: the in-process memory still saves the work
    try:
        _sidecar(path).write_text(json.dumps({"size": key[1], "mtime_ns": key[2], "md5": md5}))
    except OSError:  # e.g. a read-only file system
        pass


def _may_write(folder: Path) -> bool:
    """True for a folder we may write into; one marked read-only is respected even by root."""
    return os.access(folder, os.W_OK) and bool(folder.stat().st_mode & 0o222)


def verify_file(path: str | Path, md5: str, *, fresh: bool = False) -> bool:
    """Check a file's MD5 (``fresh=True`` ignores what was remembered); True when it matches."""
    path = Path(path)
    if not fresh and is_verified(path, md5):
        return True
    if md5sum(path) == md5:
        mark_verified(path, md5)
        return True
    _VERIFIED.pop(_stamp(path), None)  # forget an earlier good check of these bytes
    if _sidecar(path).exists() and _may_write(path.parent):
        _sidecar(path).unlink()
    return False


def inventory(root: str | Path | None = None) -> list[dict]:
    """Every official file: path, present, verified, bytes, MD5, bytes of an interrupted download.

    Nothing is hashed here: ``verified`` reports only checks already made (run
    ``python -m data_download verify`` to check every file now). ``partial`` is
    the size of a ``<file>.part`` left by an interrupted download, else None.
    """
    rows = []
    for c in CARDS.values():
        for entry in c.files:
            path = file_path(c.name, entry.size, root)
            present, part = path.is_file(), path.with_name(path.name + ".part")
            rows.append(
                {
                    "name": c.name,
                    "size": entry.size,
                    "filename": entry.filename,
                    "path": path,
                    "present": present,
                    "verified": present and is_verified(path, entry.md5),
                    "nbytes": path.stat().st_size if present else entry.nbytes,
                    "md5": entry.md5,
                    "partial": part.stat().st_size if part.is_file() else None,
                }
            )
    return rows


# --- Loading ---------------------------------------------------------------------------

_ARRAYS: OrderedDict = OrderedDict()  # (file stamp, split) -> (images, labels) as uint8 arrays
_ARRAY_CACHE_ITEMS = 6
_ARRAY_CACHE_MAX_BYTES = 256 * 2**20  # larger splits are re-read each time rather than kept


def _checked_path(name: str, size: int, root: str | Path | None) -> Path:
    """The file's path once it is known to exist and to carry the right MD5."""
    entry, path = card(name).file(size), file_path(name, size, root)
    if not path.is_file():
        raise DatasetNotFound(
            f"{name} at {size} x {size} pixels is not downloaded yet (expected {path}). "
            f"Fetch it with:\n    {download_command(name, size, root)}\n"
            f"{manual_steps(name, size, root)}"
        )
    if not verify_file(path, entry.md5):
        raise DatasetDamaged(
            f"{path} is damaged: its MD5 checksum is not {entry.md5}, so the file is incomplete or "
            "altered. Fetch it again (the command replaces it):\n    "
            + download_command(name, size, root)
        )
    return path


def _arrays(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """One split's uint8 images and labels, read once per file and split and kept in memory."""
    key = (_stamp(path), split)
    if key in _ARRAYS:
        _ARRAYS.move_to_end(key)
        return _ARRAYS[key]
    with np.load(path) as npz:
        value = (npz[f"{split}_images"], npz[f"{split}_labels"])
    if value[0].nbytes <= _ARRAY_CACHE_MAX_BYTES:
        _ARRAYS[key] = value
        while len(_ARRAYS) > _ARRAY_CACHE_ITEMS:
            _ARRAYS.popitem(last=False)
    return value


def medmnist(
    name: str, split: str = "train", size: int = 28, root: str | Path | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split of a MedMNIST data set as tensors.

    Args:
        name: data set name, e.g. ``"pneumoniamnist"`` (see :func:`available`).
        split: ``"train"``, ``"val"`` or ``"test"``.
        size: image size in pixels per side: 28, 64, 128 or 224.
        root: data root holding ``medmnist/``; default :func:`radlab.config.data_root`.

    Returns:
        ``images`` float32 in [0, 1], shape (N, C, H, W), C = 1 (grayscale) or 3 (RGB);
        ``labels`` int64 class numbers, shape (N,), or for multi-label sets (ChestMNIST)
        float32 0/1 findings, shape (N, K), ready for a binary cross-entropy loss.
    """
    c = card(name)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}.")
    images, labels = _arrays(_checked_path(c.name, size, root), split)
    x = torch.from_numpy(images)
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)  # (N, C, H, W)
    x = x.contiguous().float().div_(255.0)
    y = torch.from_numpy(labels.astype(np.int64))  # (N, 1) or (N, K)
    y = y.float() if c.multi_label else y.reshape(-1)
    return x, y


def subset(
    images: torch.Tensor, labels: torch.Tensor, n: int, seed: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` cases keeping each class's share (stratified); random for multi-label sets.

    Args:
        images, labels: as returned by :func:`medmnist`.
        n: number of cases to keep.
        seed: random seed; default the course seed (:func:`radlab.config.seed`).

    Returns the chosen cases in their original order, on the tensors' own device.
    """
    total = len(labels)
    if not 0 < n <= total:
        raise ValueError(f"n must be between 1 and the number of cases ({total}), not {n}.")
    gen = torch.Generator().manual_seed(config.seed(seed))
    lab = labels.cpu()
    if lab.ndim != 1:
        idx = torch.randperm(total, generator=gen)[:n]
    else:
        classes, counts = lab.unique(return_counts=True)
        exact = counts.double() * n / total
        quota = exact.floor().long()
        order = (exact - quota).argsort(descending=True, stable=True)
        quota[order[: n - int(quota.sum())]] += 1  # largest remainders get the leftover cases
        idx = torch.cat(
            [
                (lab == k).nonzero().flatten()[torch.randperm(int(m), generator=gen)[:q]]
                for k, m, q in zip(classes, counts, quota)
            ]
        )
    idx = idx.sort().values
    return images[idx.to(images.device)], labels[idx.to(labels.device)]


# --- One loader for every lesson: MedMNIST, or a phantom stand-in ------------------------

# What stands in for a MedMNIST set that is not downloaded: synthetic 3-phase liver CT, a
# 100 mm crop around each lesion, with the same number of classes, pixels per side and class
# numbering as the set it replaces. Malignant: A classic HCC, B other malignant; benign:
# C indeterminate, D hemangioma, E cyst. "malignant": 1 = malignant, as PneumoniaMNIST's
# 1 = pneumonia. "benign": 0 = malignant, 1 = benign, as BreastMNIST's 0 = malignant,
# 1 = normal or benign. Sets not listed here have no stand-in.
STAND_INS: dict[str, str] = {
    "pneumoniamnist": "malignant",
    "breastmnist": "benign",
    "organamnist": "category",  # multi-class CT for multi-class CT: 5 lesion categories, not 11
}
# the image kind of each set, for radlab.transforms.default_augmentation (None: no safe default)
IMAGE_KINDS: dict[str, str | None] = {
    "chestmnist": "chest_xray",
    "pneumoniamnist": "chest_xray",
    "breastmnist": "ultrasound",
    "organamnist": "ct",
    "organcmnist": "ct",
    "organsmnist": "ct",
    "liver-lesions": "ct",
    "fibrosis": "ct",
}
_PHANTOM_TARGETS = {  # target: (label names, what is predicted)
    "malignant": (
        ("benign (C, D, E)", "malignant (A, B)"),
        "malignant (1: classic HCC, other malignant) vs benign (0: indeterminate, hemangioma, "
        "cyst) liver lesion",
    ),
    "benign": (
        ("malignant (A, B)", "benign (C, D, E)"),
        "benign (1: indeterminate, hemangioma, cyst) vs malignant (0: classic HCC, other "
        "malignant) liver lesion",
    ),
    "category": (
        ("A classic HCC", "B other malignant", "C indeterminate", "D hemangioma", "E cyst"),
        "liver lesion category A-E (classic HCC, other malignant, indeterminate, hemangioma, cyst)",
    ),
}
PHANTOM_PATIENTS = {  # patients per split, by run mode: (train, val, test)
    "smoke": (200, 100, 100),
    "cpu": (1500, 300, 300),
    "gpu": (3000, 600, 600),
}

XY = tuple[torch.Tensor, torch.Tensor]


@dataclass(repr=False, eq=False)
class Splits:
    """Train, validation and test ``(x, y)`` of one task, and what the task is.

    ``x`` float32 (N, C, H, W) in [0, 1]; ``y`` int64 (N,) class numbers (float32 (N, K)
    0/1 findings for the multi-label ChestMNIST). ``real`` is True for MedMNIST files,
    False for phantoms; ``requested`` is the name asked for, ``name`` the set used.
    """

    train: XY
    val: XY
    test: XY
    name: str
    real: bool
    task: str
    label_names: tuple[str, ...]
    kind: str | None
    n_channels: int
    n_classes: int
    requested: str = ""
    note: str = ""  # the line printed when a phantom stood in for a missing set

    def items(self) -> list[tuple[str, XY]]:
        """``[("train", (x, y)), ("val", ...), ("test", ...)]``."""
        return [(split, getattr(self, split)) for split in SPLITS]

    def __repr__(self) -> str:
        if self.real:
            source = "MedMNIST, official splits"
        elif self.requested != self.name:
            source = f"phantom stand-in: {self.requested} is not downloaded"
        else:
            source = "phantom, computed here; independent patients per split"
        h, w = self.train[0].shape[-2:]
        channels = f"{self.n_channels} channel" + ("" if self.n_channels == 1 else "s")
        sizes = " | ".join(f"{split} {len(y):,}" for split, (_, y) in self.items())
        lines = [
            f"Splits: {self.name} ({source})",
            f"  task   : {self.task}",
            f"  images : {channels}, {h} x {w} px; augmentation kind {self.kind!r}",
            f"  splits : {sizes} images",
            f"  {'class shares':<{_width(self.label_names)}}   train     val    test",
        ]
        shares = [_shares(y, self.n_classes) for _, (_, y) in self.items()]
        for k, label in enumerate(self.label_names):
            row = "".join(f"{s[k]:>8.1%}" for s in shares)
            lines.append(f"    {label:<{_width(self.label_names) - 2}}{row}")
        return "\n".join(lines)


def _width(names) -> int:
    return max(14, 2 + max(len(n) for n in names))


def _shares(y: torch.Tensor, n_classes: int) -> list[float]:
    """Share of each class (or of each finding, for multi-label labels)."""
    if y.ndim == 2:
        return y.float().mean(0).tolist()
    return (torch.bincount(y, minlength=n_classes).double() / max(len(y), 1)).tolist()


def load(
    name: str,
    *,
    size: int = 28,
    root: str | Path | None = None,
    note: bool = True,
    seed: int | None = None,
    stand_in: bool = True,
    mode: str | None = None,
) -> Splits:
    """Train, validation and test splits of a MedMNIST set, or its phantom stand-in.

    When the MedMNIST file is here, its official splits come back (``real=True``). When it
    is not, one line says which set is missing, the command that fetches it, and which
    stand-in is used: synthetic 3-phase liver CT lesion crops with the same number of
    classes, pixels per side and class numbering (see :data:`STAND_INS`), so that every
    lesson still runs. PneumoniaMNIST (1 = pneumonia, 0 = normal) is replaced by malignant
    (1) vs benign (0) lesions; BreastMNIST, whose class 0 is malignant and 1 normal or
    benign, by malignant (0) vs benign (1) lesions. OrganAMNIST (11 organs on abdominal CT)
    has no phantom with 11 classes: its stand-in is the five lesion categories A-E, still a
    multi-class task on CT. ``task``, ``label_names`` and ``n_classes`` always describe the
    data returned: read the class names there, not from the set asked for.

    Args:
        name: a MedMNIST 2D name (``"pneumoniamnist"``...) or a phantom task:
            ``"liver-lesions"`` (lesion categories A-E) or ``"fibrosis"`` (stages F0-F4).
        size: pixels per side: 28, 64, 128 or 224.
        root: data root holding ``medmnist/``; default :func:`radlab.config.data_root`.
        note: print the one-line note when a stand-in replaces a missing set.
        seed: phantom seed (each split draws its own patients); default the course seed.
        stand_in: ``False`` raises :class:`DatasetNotFound` for a missing set instead of
            standing in (the training command trains on what it was asked for, or stops).
        mode: run mode that sizes the phantom splits (:data:`PHANTOM_PATIENTS`); default
            :func:`radlab.config.mode`.

    Raises :class:`DatasetNotFound` for a missing set without a stand-in, and
    :class:`DatasetDamaged` for a file whose checksum is wrong.

    Example:
        >>> data = load("fibrosis", size=32)
        >>> data.n_classes, data.real, tuple(data.test[0].shape[1:])
        (5, False, (1, 32, 32))
    """
    key = str(name).strip().lower()
    seed = config.seed(seed)
    counts = PHANTOM_PATIENTS[mode or config.mode()]
    if key in PHANTOM_TASKS:
        return _phantom_task(key, size, seed, counts)
    c = card(key)
    try:
        splits = {split: medmnist(c.name, split, size=size, root=root) for split in SPLITS}
    except DatasetNotFound:
        if not stand_in:
            raise
        if c.name not in STAND_INS:
            raise DatasetNotFound(_no_stand_in(c.name, size, root)) from None
        return _stand_in(c, size, root, seed, note, counts)
    return Splits(
        **splits,
        name=c.name,
        real=True,
        task=_task_line(c, size),
        label_names=c.labels,
        kind=IMAGE_KINDS.get(c.name),
        n_channels=c.n_channels,
        n_classes=len(c.labels),
        requested=c.name,
    )


def _task_line(c: DatasetCard, size: int) -> str:
    """One line: what is predicted, on what images, at what size."""
    where = f"on {c.modality}, {c.title} {size} x {size} px"
    if c.task == "binary-class":
        return f"{c.labels[1]} (1) vs {c.labels[0]} (0) {where}"
    if c.multi_label:
        return f"{len(c.labels)} findings, each present or not, {where}"
    return f"one of {len(c.labels)} classes ({c.labels[0]}, {c.labels[1]}, ...) {where}"


def _no_stand_in(name: str, size: int, root: str | Path | None) -> str:
    sets = ", ".join(STAND_INS)
    return (
        f"{name} at {size} x {size} pixels is not downloaded, and it has no phantom stand-in "
        f"(only {sets} have one). Fetch it with:\n    {download_command(name, size, root)}\n"
        f"{manual_steps(name, size, root)}"
    )


def _stand_in(c: DatasetCard, size: int, root, seed: int, note: bool, counts) -> Splits:
    """The phantom task that replaces a missing set, announced in one printed line."""
    target = STAND_INS[c.name]
    label_names, what = _PHANTOM_TARGETS[target]
    task = f"{what}, synthetic 3-phase CT (phantom), {size} x {size} px"
    line = (
        f"{c.title} ({c.name}, {size} x {size} px) is not downloaded (fetch it with: "
        f"{download_command(c.name, size, root)}); meanwhile the stand-in is {task}."
    )
    if note:
        print(line)
    splits = _phantom_splits("liver-lesions", size, seed, target, counts)
    return Splits(
        **splits,
        name="liver-lesions",
        real=False,
        task=task,
        label_names=label_names,
        kind="ct",
        n_channels=3,
        n_classes=len(label_names),
        requested=c.name,
        note=line,
    )


def _phantom_task(name: str, size: int, seed: int, counts) -> Splits:
    """A named phantom task: liver lesion categories A-E, or fibrosis stages F0-F4."""
    if name == "fibrosis":
        label_names = tuple(f"F{s}" for s in range(5))
        task = (
            "fibrosis stage F0-F4 from the liver's outline and texture, synthetic "
            f"delayed-phase CT (phantom), {size} x {size} px"
        )
        channels = 1
    else:
        label_names, what = _PHANTOM_TARGETS["category"]
        task = f"{what}, synthetic 3-phase CT (phantom), {size} x {size} px"
        channels = 3
    return Splits(
        **_phantom_splits(name, size, seed, "category", counts),
        name=name,
        real=False,
        task=task,
        label_names=label_names,
        kind="ct",
        n_channels=channels,
        n_classes=5,
        requested=name,
    )


def _phantom_splits(task: str, size: int, seed: int, target: str, counts) -> dict[str, XY]:
    """Each split drawn with its own seed, so that no patient is in two splits."""
    from . import phantoms

    seeds = np.random.SeedSequence([seed % 2**32, size]).generate_state(len(SPLITS))
    splits = {}
    for split, n, split_seed in zip(SPLITS, counts, seeds.tolist()):
        if task == "fibrosis":
            cases = phantoms.fibrosis_livers(n, size=size, seed=split_seed)
        else:
            cases = phantoms.liver_lesions(n, size=size, roi_mm=100, seed=split_seed)
        splits[split] = _phantom_tensors(cases, target)
    return splits


def _phantom_tensors(cases, target: str) -> XY:
    """Phantom images in the liver window, [0, 1]; labels: categories A-E as 0-4, or malignant
    (A, B) vs benign (C, D, E) numbered as :data:`STAND_INS` says."""
    from . import phantoms

    if target == "category":
        return phantoms.tensors(cases, preset="liver", target="label")
    malignant = target == "malignant"  # else "benign": numbered as BreastMNIST, 0 = malignant
    return phantoms.tensors(
        cases, preset="liver", target=lambda c: np.isin(c.category, ["A", "B"]) == malignant
    )


def chest_films(*, root: str | Path | None = None) -> tuple[torch.Tensor | None, torch.Tensor, str]:
    """Real normal chest films for the lessons that show what augmentation does to a radiograph.

    Returns ``(normal_films, one_film, source)``: PneumoniaMNIST's normal training films
    (N, 1, 28, 28) in [0, 1] and the first of them when the set is downloaded; else ``None``
    and a real full-size PA film that ships with pydicom-data (RG1_UNCI.dcm, MONOCHROME1),
    64 x 64 px, scaled to [0, 1] between its 1st and 99th percentiles, after printing how to
    fetch PneumoniaMNIST. A liver phantom cannot stand in here: the point is the chest.
    """
    try:
        films, labels = load("pneumoniamnist", root=root, stand_in=False).train
    except DatasetNotFound as missing:
        print(missing)  # says how to fetch it
        from pydicom.data import get_testdata_file

        from . import dicom

        cr = dicom.read(get_testdata_file("RG1_UNCI.dcm"))  # to_array flips MONOCHROME1
        film = torch.from_numpy(dicom.to_array(cr))[None, None]
        film = torch.nn.functional.interpolate(film, size=(64, 64), mode="area")[0]
        low, high = np.percentile(film.numpy(), [1, 99])
        return None, ((film - low) / (high - low)).clamp(0, 1), "RG1_UNCI.dcm from pydicom-data"
    normal = films[labels == 0]  # label 0 = normal
    return normal, normal[0], "PneumoniaMNIST, a normal film"


# --- Splitting by patient ----------------------------------------------------------------


def patient_split(
    groups,
    *,
    val: float = 0.2,
    test: float = 0.2,
    seed: int | None = None,
    labels=None,
) -> dict[str, np.ndarray]:
    """Split rows into train, validation and test so that no patient is in two splits.

    Args:
        groups: one patient id per row (images of one patient share it), e.g. ``patient_id``.
        val, test: share of the patients for validation and for test (train gets the rest).
        seed: the same seed gives the same split; default the course seed.
        labels: one class per row; when given, each split keeps the class shares as far as
            whole patients allow (scikit-learn's StratifiedGroupKFold; the shares are then
            rounded to folds of 1/k, k up to 20). Without labels: GroupShuffleSplit.

    Returns boolean masks over the rows: ``{"train": ..., "val": ..., "test": ...}``.

    Example:
        >>> masks = patient_split([1, 1, 2, 2, 3, 3, 4, 4, 5, 5], val=0.2, test=0.2, seed=0)
        >>> [int(m.sum()) for m in masks.values()]
        [6, 2, 2]
    """
    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    if not (0 <= val < 1 and 0 < test < 1 and val + test < 1):
        raise ValueError(
            f"val={val} and test={test} must be shares of the patients, e.g. val=0.2, test=0.2 "
            "(test above 0, and together below 1, so that some patients are left to train on)."
        )
    if n_groups < 3:
        raise ValueError(f"Splitting needs at least 3 patients; these rows have {n_groups}.")
    seed = config.seed(seed)
    if labels is None:
        fold = _shuffle_folds(groups, val, test, seed)
    else:
        labels = np.asarray(labels)
        if labels.shape[:1] != groups.shape[:1]:
            raise ValueError(f"labels has {len(labels)} rows, groups {len(groups)}: give one each.")
        fold = _stratified_folds(groups, labels, val, test, seed, n_groups)
    return {split: fold == k for k, split in enumerate(SPLITS)}


def _shuffle_folds(groups: np.ndarray, val: float, test: float, seed: int) -> np.ndarray:
    """0 = train, 1 = val, 2 = test per row, patients drawn at random (GroupShuffleSplit)."""
    from sklearn.model_selection import GroupShuffleSplit

    rows = np.arange(len(groups))
    fold = np.zeros(len(groups), np.int64)
    outer = GroupShuffleSplit(n_splits=1, test_size=test, random_state=seed)
    rest, held = next(outer.split(rows, groups=groups))
    fold[held] = 2
    if val > 0:
        inner = GroupShuffleSplit(n_splits=1, test_size=val / (1 - test), random_state=seed + 1)
        _, picked = next(inner.split(rest, groups=groups[rest]))
        fold[rest[picked]] = 1
    return fold


def _stratified_folds(groups, labels, val: float, test: float, seed: int, n_groups: int):
    """0 = train, 1 = val, 2 = test per row, each fold keeping the class shares."""
    from sklearn.model_selection import StratifiedGroupKFold

    def error(k: int) -> float:
        return abs(round(test * k) / k - test) + abs(round(val * k) / k - val)

    usable = [k for k in range(2, min(20, n_groups) + 1) if round(test * k) >= 1]
    usable = [k for k in usable if k - round(test * k) - round(val * k) >= 1] or [n_groups]
    k = min(usable, key=lambda k: (round(error(k), 6), k))
    n_test, n_val = max(1, round(test * k)), round(val * k)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    fold = np.zeros(len(groups), np.int64)
    for i, (_, rows) in enumerate(splitter.split(np.zeros(len(groups)), labels, groups)):
        fold[rows] = 2 if i < n_test else 1 if i < n_test + n_val else 0
    return fold
