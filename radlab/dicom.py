"""DICOM in and out: pixels in modality units (HU for CT), window/level presets, CT series.

The path from a file to numbers a network can use:

    >>> import radlab as rl
    >>> from pydicom.data import get_testdata_file
    >>> ds = rl.dicom.read(get_testdata_file("CT_small.dcm"))
    >>> hu = rl.dicom.to_hu(ds)               # float32, Hounsfield units
    >>> img = rl.window(hu, preset="mediastinum")   # float32 in [0, 1]
    >>> hu.shape, float(img.min()) >= 0.0, float(img.max()) <= 1.0
    ((128, 128), True, True)

Every failure to get pixels out of a file raises :class:`DicomError` (a
``ValueError``) whose message says, in plain words, what the file is and what
to do about it. ``err.reason`` names the kind of failure for programs:
``missing``, ``unreadable``, ``not_dicom``, ``damaged``, ``no_pixels``,
``no_decoder``, ``decode_failed``, ``truncated``, ``unsupported``, ``frame``,
``series`` or ``not_ct``.
"""

from __future__ import annotations

import copy
import difflib
import warnings
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pydicom.uid as puid
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels import apply_color_lut, apply_modality_lut, get_decoder
from pydicom.pixels.utils import get_expected_length
from pydicom.valuerep import DSfloat

__all__ = [
    "DicomError",
    "Window",
    "WINDOWS",
    "resolve_window",
    "read",
    "to_array",
    "to_hu",
    "window",
    "header_window",
    "describe",
    "read_series",
    "write_series",
    "deidentify",
    "DeidentifyWarning",
]


class DicomError(ValueError):
    """A DICOM file that cannot give pixels; the message says why and what to do.

    Args:
        message: the plain-words explanation.
        reason: a short machine-readable kind (``not_dicom``, ``no_pixels``, ...).
    """

    def __init__(self, message: str, *, reason: str = "other") -> None:
        super().__init__(message)
        self.reason = reason


# ----------------------------------------------------------------------------- windows

_RADIOPAEDIA = "Radiopaedia, 'Windowing (CT)' article (radiopaedia.org/articles/windowing-ct)"


@dataclass(frozen=True)
class Window:
    """A display window in modality units (HU for CT).

    Args:
        level: the value shown mid-grey (window centre).
        width: the range of values spread from black to white.
        use: what the window is for.
        source: where the value is commonly documented.
        name: the preset's name in ``WINDOWS`` ("brain", "lung"...); empty for others.
    """

    level: float
    width: float
    use: str = ""
    source: str = ""
    name: str = ""

    @property
    def low(self) -> float:
        """The value shown black (and everything below it)."""
        return self.level - self.width / 2

    @property
    def high(self) -> float:
        """The value shown white (and everything above it)."""
        return self.level + self.width / 2

    def __str__(self) -> str:
        """As a figure title states it: ``brain W 80 / L 40``."""
        text = f"W {self.width:g} / L {self.level:g}"
        return f"{self.name} {text}" if self.name else text

    def __repr__(self) -> str:
        head = f"{self.name}: " if self.name else ""
        facts = [f"{head}L={self.level:g}, W={self.width:g}: {self.low:g} to {self.high:g}"]
        facts += [self.use] if self.use else []
        facts += [f"source: {self.source}"] if self.source else []
        return f"Window({'; '.join(facts)})"


def _named(windows: dict[str, Window]) -> dict[str, Window]:
    """Each preset carries its own name, so a figure can state it."""
    return {name: replace(w, name=name) for name, w in windows.items()}


# Conventional values, not laws: departments tune them. The source is where each
# value is commonly documented, so a learner can look it up.
WINDOWS: dict[str, Window] = _named(
    {
        "brain": Window(40, 80, "brain parenchyma on head CT", _RADIOPAEDIA),
        "subdural": Window(
            75,
            215,
            "thin extra-axial blood next to the skull",
            _RADIOPAEDIA + ": L50-100/W130-300, midpoints used here",
        ),
        "stroke": Window(
            32,
            8,
            "subtle loss of grey-white differentiation in early ischaemia",
            "Lev MH et al., Radiology 1999;213:150-155 (L32/W8); "
            + _RADIOPAEDIA
            + " also lists L40/W40",
        ),
        "lung": Window(-600, 1500, "lung parenchyma and airways", _RADIOPAEDIA),
        "mediastinum": Window(50, 350, "mediastinal vessels, nodes and heart", _RADIOPAEDIA),
        "liver": Window(
            60,
            150,
            "liver lesions across contrast phases",
            _RADIOPAEDIA + " lists L30/W150; level raised to 60 so that enhanced "
            "parenchyma (about 100-110 HU in the delayed phase) stays inside",
        ),
        "bone": Window(400, 1800, "cortex and trabecular bone", _RADIOPAEDIA),
        "soft_tissue": Window(
            50, 400, "abdominal and general soft tissue", _RADIOPAEDIA + " (abdomen soft tissues)"
        ),
    }
)


def resolve_window(
    *,
    preset: str | Window | None = None,
    level: float | None = None,
    width: float | None = None,
) -> Window:
    """The one window meant by a preset (a name or a ``Window``) or by level= and width=.

    Every function that takes a window (``window``, ``write_series``, the figures
    of ``rl.plot``, the widgets) reads it through here.

    Args:
        preset: a name in ``WINDOWS`` ("brain", "lung", "liver", "bone"...) or a ``Window``.
        level, width: the window in the image's units (HU for CT), instead of a preset.

    Raises:
        ValueError: an unknown preset name (the message lists the presets and
            suggests the closest), a preset together with numbers, only one of
            level and width, or a width that is not positive.
    """
    if preset is not None:
        if level is not None or width is not None:
            raise ValueError(
                f"Give either preset= or level= and width=, not both (got preset={preset!r} "
                f"with level={level}, width={width}). To change a preset, give all its numbers "
                "as level= and width=."
            )
        chosen = _preset(preset)
    elif level is None or width is None:
        raise ValueError(
            "Give a window: level= and width= in HU (e.g. level=40, width=80), "
            f"or preset= one of {', '.join(WINDOWS)}."
        )
    else:
        chosen = Window(float(level), float(width))
    if not chosen.width > 0:
        raise ValueError(
            f"A window width must be positive (got {chosen.width:g}); brain is W 80, lung W 1500."
        )
    return chosen


def _preset(preset: str | Window) -> Window:
    """The Window of a preset name (with a suggestion when misspelt), or the Window given."""
    if isinstance(preset, Window):
        return preset
    if not isinstance(preset, str):
        raise ValueError(
            f"preset={preset!r} is not understood: give a preset name such as 'brain' or a "
            "Window(level, width); for numbers, give level= and width= (e.g. level=40, width=80)."
        )
    if preset in WINDOWS:
        return WINDOWS[preset]
    key = preset.strip().lower().replace(" ", "_").replace("-", "_")
    close = difflib.get_close_matches(key, WINDOWS, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"There is no window preset called {preset!r}.{hint} The presets are "
        f"{', '.join(WINDOWS)}; or give level= and width= in HU, e.g. level=40, width=80."
    )


def window(
    array: Any,
    level: float | None = None,
    width: float | None = None,
    *,
    preset: str | Window | None = None,
) -> Any:
    """Map values to [0, 1]: ``level - width/2`` -> 0, ``level + width/2`` -> 1, clipped.

    Args:
        array: values in modality units, a NumPy array or a torch tensor (any
            shape; a tensor stays on its device).
        level, width: the window, in the array's units.
        preset: instead of level/width, a name in ``WINDOWS`` or a ``Window``.

    Returns:
        float32, same type and shape as ``array``.
    """
    chosen = resolve_window(preset=preset, level=level, width=width)
    low, width = chosen.low, chosen.width
    if hasattr(array, "clamp"):  # a torch tensor: compute on its own device
        return ((array.float() - low) / width).clamp(0.0, 1.0)
    out = (np.asarray(array, dtype=np.float32) - np.float32(low)) / np.float32(width)
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)


# ----------------------------------------------------------------------------- reading

# What a DICOM object without pixels is, by Modality, in words a radiologist uses.
_NO_PIXEL_KINDS = {
    "SR": "a structured report (SR): text and measurements, not an image",
    "RTPLAN": "an RT plan: radiotherapy beam settings, not an image",
    "RTSTRUCT": "an RT structure set: contours drawn on another series, not an image",
    "RTRECORD": "an RT treatment record, not an image",
    "PR": "a presentation state: display settings for another image, not an image",
    "KO": "a key object selection: a list of flagged images, not an image",
    "DOC": "an encapsulated document (for example a PDF), not an image",
    "ECG": "a waveform (ECG), not an image",
    "HD": "a waveform (haemodynamic), not an image",
    "AU": "an audio recording, not an image",
}
_DICOMDIR_UID = "1.2.840.10008.1.3.10"
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
# SOP class and instance, modality, study, patient, rows, pixels, DICOMDIR records
_IDENTIFYING_TAGS = (
    0x00080016,
    0x00080018,
    0x00080060,
    0x0020000D,
    0x00100020,
    0x00280010,
    0x7FE00010,
    0x00041200,
)
_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"PK\x03\x04": "a zip archive",
    b"\x1f\x8b": "a gzip archive",
    b"%PDF": "a PDF document",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
    b"\x93NUMPY": "a NumPy .npy file",
}


def read(path: str | Path, *, stop_before_pixels: bool = False) -> FileDataset:
    """Read one DICOM file (also one without the 128-byte preamble and 'DICM' marker).

    Args:
        path: the file.
        stop_before_pixels: read only the header (fast, for sorting or describing).

    Raises:
        DicomError: missing or unreadable file, not DICOM, or a damaged header.
    """
    path = Path(path)
    _check_file(path)
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=stop_before_pixels)
    except InvalidDicomError:
        ds = None  # no 'DICM' marker: maybe a bare dataset, tried below
    except OSError as err:
        raise DicomError(
            f"Could not read {path}: {err.strerror or err}. Check the file's "
            "permissions and that the disk is reachable.",
            reason="unreadable",
        ) from err
    except Exception as err:  # the parser fails in many ways on a damaged file
        raise _damaged(path, err) from err
    if ds is None:
        return _read_forced(path, stop_before_pixels)
    if len(ds) == 0:  # pydicom gives up silently on some files cut short
        raise DicomError(
            f"{path} has a DICOM file header but no data after it: the file is cut "
            "short or damaged. Copy it again from its source.",
            reason="damaged",
        )
    return ds


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DicomError(
            f"No file at {path}. Check the path and the spelling of the name.", reason="missing"
        )
    if path.is_dir():
        raise DicomError(
            f"{path} is a folder, not a file. For a folder of slices use read_series(folder).",
            reason="unreadable",
        )
    if path.stat().st_size == 0:
        raise DicomError(
            f"{path} is empty (0 bytes): the copy or download probably failed. "
            "Copy the file again from its source.",
            reason="not_dicom",
        )


def _read_forced(path: Path, stop_before_pixels: bool) -> FileDataset:
    """Read a file without the 'DICM' marker, and accept it only if DICOM tags are found."""
    if _sniff(path):
        raise _not_dicom(path)  # a PNG, zip, PDF...: do not even try to parse it
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a non-DICOM file makes the parser warn a lot
            ds = pydicom.dcmread(path, force=True, stop_before_pixels=stop_before_pixels)
        looks_dicom = any(tag in ds._dict for tag in _IDENTIFYING_TAGS)
    except Exception as err:  # garbage bytes can break the parser in any way
        raise _not_dicom(path) from err
    if not looks_dicom:
        raise _not_dicom(path)
    return ds


def _sniff(path: Path) -> str | None:
    """What a non-DICOM file looks like from its first bytes ('a PNG image'), else None."""
    with path.open("rb") as f:
        head = f.read(8)
    return next((name for magic, name in _MAGIC.items() if head.startswith(magic)), None)


def _not_dicom(path: Path) -> DicomError:
    kind = _sniff(path)
    what = f"it looks like {kind}" if kind else "it has no 'DICM' marker and no DICOM tags"
    return DicomError(
        f"{path} is not a DICOM file: {what}. Open it with a tool for that format, "
        "or export the original DICOM from the PACS.",
        reason="not_dicom",
    )


def _damaged(path: Any, err: Exception) -> DicomError:
    return DicomError(
        f"The DICOM header of {path} is damaged and cannot be parsed "
        f"({type(err).__name__}); the file may be truncated or corrupted. "
        "Copy it again from the PACS or the original media.",
        reason="damaged",
    )


# ----------------------------------------------------------------------------- pixels


def to_array(ds: Dataset, *, frame: int | None = None) -> np.ndarray:
    """The image as float32 in modality units (HU for CT), a larger value always brighter.

    - Grayscale: the Modality LUT is applied (RescaleSlope and RescaleIntercept,
      also from an enhanced file's functional groups, or a Modality LUT
      Sequence). MONOCHROME1 images (low values white, as in many CR/DX
      radiographs) are flipped inside the range the stored bits allow: with
      ``lo``/``hi`` the modality values of the smallest/largest storable pixel
      (from BitsStored and PixelRepresentation), a value ``v`` becomes
      ``lo + hi - v``. The flip does not depend on the image content, so the
      same stored value always gives the same output.
    - Colour (RGB, YBR_FULL, YBR_FULL_422, PALETTE COLOR) is converted to RGB: (H, W, 3).
    - Multi-frame files keep their frames first: (frames, H, W) or (frames, H, W, 3).

    Args:
        ds: a dataset from ``read``.
        frame: decode only this frame (0-based, negative counts from the end) of a
            multi-frame file; the frame axis is then dropped.

    Raises:
        DicomError: no pixel data, no decoder installed, truncated or damaged pixels.
    """
    frame = _frame_index(ds, frame)
    arr, pi = _decode(ds, frame)
    try:
        return _modality_units(arr, pi, ds, frame)
    except DicomError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as err:  # odd header
        raise _damaged(_where(ds), err) from err


def _modality_units(arr: np.ndarray, pi: str, ds: Dataset, frame: int | None) -> np.ndarray:
    if pi == "PALETTE COLOR":
        return apply_color_lut(arr, ds).astype(np.float32)
    if arr.shape[-1:] == (3,) and int(ds.get("SamplesPerPixel", 1)) == 3:
        return _to_rgb(arr, pi, ds).astype(np.float32)
    slope, intercept = _rescale(ds, arr.ndim, frame)
    if ds.get("ModalityLUTSequence"):
        out = apply_modality_lut(arr, ds).astype(np.float64)
    else:
        out = arr * slope + intercept  # float64: exact for 16-bit values
    if pi == "MONOCHROME1":
        out = _range_sum(ds, slope, intercept) - out
    return out.astype(np.float32)


def _frame_index(ds: Dataset, frame: int | None) -> int | None:
    if frame is None:
        return None
    try:
        n = int(ds.get("NumberOfFrames", 1) or 1)
    except (ValueError, TypeError) as err:
        raise _damaged(_where(ds), err) from err
    if not -n <= frame < n:
        raise DicomError(
            f"Frame {frame} does not exist: this {_where(ds)} has {n} frame(s), "
            f"numbered 0 to {n - 1}.",
            reason="frame",
        )
    return frame % n


def to_hu(ds: Dataset) -> np.ndarray:
    """Hounsfield units of a CT image (``to_array`` that first checks the modality is CT)."""
    modality = str(ds.get("Modality", "")).upper()
    if modality != "CT":
        raise DicomError(
            f"Hounsfield units exist only for CT, and this file is "
            f"{modality or 'of unknown modality'} ({_where(ds)}). "
            "Use to_array(ds) for its values in modality units.",
            reason="not_ct",
        )
    return to_array(ds)


def _where(ds: Dataset) -> str:
    name = getattr(ds, "filename", None)
    return f"file {name}" if isinstance(name, str) and name else "dataset in memory"


def _decode(ds: Dataset, frame: int | None = None) -> tuple[np.ndarray, str]:
    """Decoded stored values and the photometric interpretation they now have."""
    _require_pixels(ds)
    ts = _transfer_syntax(ds)
    try:
        decoder = get_decoder(ts)
    except NotImplementedError as err:
        raise DicomError(
            f"The pixels of this {_where(ds)} use the transfer syntax '{ts.name}', "
            "which pydicom cannot decode (video or an unknown compression). Ask "
            "the PACS for an uncompressed export.",
            reason="unsupported",
        ) from err
    if not decoder.is_available:
        raise DicomError(_missing_decoder(ts, decoder, ds), reason="no_decoder")
    if not ts.is_compressed:
        _check_length(ds)
    try:
        arr, meta = decoder.as_array(ds, raw=True, index=frame)  # colour: converted later
    except Exception as err:  # decoders raise many types; the message must be ours
        raise _undecodable(ds, ts, decoder, err) from err
    return arr, str(meta.get("photometric_interpretation", ds.get("PhotometricInterpretation")))


def _undecodable(ds: Dataset, ts: puid.UID, decoder: Any, err: Exception) -> DicomError:
    where = f"The pixel data of this {_where(ds)} ('{ts.name}') could not be decoded"
    if not ts.is_compressed:
        return DicomError(
            f"{where} ({type(err).__name__}): the header and the pixel data "
            "disagree, so the file is probably damaged. Copy it again from its "
            "source.",
            reason="damaged",
        )
    used = ", ".join(getattr(decoder, "available_plugins", ())) or "the installed decoder"
    return DicomError(
        f"{where} by {used} ({type(err).__name__}). Either the file is damaged, "
        f"or {used} does not handle this variant of the compression: install "
        f"{_DECODER_PACKAGES.get(ts, 'another pydicom decoder plugin')}, restart "
        "the kernel and try again.",
        reason="decode_failed",
    )


def _require_pixels(ds: Dataset) -> None:
    if any(kw in ds for kw in _PIXEL_KEYWORDS):
        missing = [
            kw
            for kw in ("Rows", "Columns", "BitsAllocated", "PhotometricInterpretation")
            if kw not in ds
        ]
        if missing:
            raise DicomError(
                f"This {_where(ds)} has pixel data but its header lacks "
                f"{', '.join(missing)}, so the image size or format is unknown. "
                "The file is damaged; export it again.",
                reason="damaged",
            )
        return
    if "Rows" in ds:
        raise DicomError(
            f"This {_where(ds)} describes an image but holds no pixel data: either "
            "it was read with stop_before_pixels=True (read it again with "
            "read(path)) or the file was cut short before its pixels.",
            reason="no_pixels",
        )
    raise DicomError(
        f"This {_where(ds)} has no pixel data: it is {_kind(ds)}. Open an image "
        "file of the same study instead.",
        reason="no_pixels",
    )


def _kind(ds: Dataset) -> str:
    """What a DICOM object is, in words (for files without pixels)."""
    sop = str(
        getattr(getattr(ds, "file_meta", None), "MediaStorageSOPClassUID", "")
        or ds.get("SOPClassUID", "")
    )
    if sop == _DICOMDIR_UID or "DirectoryRecordSequence" in ds:
        return "a DICOMDIR: an index of the files on a CD or USB stick, not an image"
    modality = str(ds.get("Modality", "")).upper()
    if modality in _NO_PIXEL_KINDS:
        return _NO_PIXEL_KINDS[modality]
    if sop:
        return f"a '{puid.UID(sop).name}' object (Modality {modality or 'not given'})"
    return f"a DICOM object with no image (Modality {modality or 'not given'})"


def _transfer_syntax(ds: Dataset) -> puid.UID:
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if ts:
        return puid.UID(ts)
    implicit, little = getattr(ds, "original_encoding", (None, None))
    if little is False:
        return puid.ExplicitVRBigEndian
    return puid.ImplicitVRLittleEndian if implicit else puid.ExplicitVRLittleEndian


def _check_length(ds: Dataset) -> None:
    """Uncompressed pixel data must be as long as Rows x Columns x frames x bits says."""
    keyword = next(kw for kw in _PIXEL_KEYWORDS if kw in ds)
    try:
        expected = int(get_expected_length(ds))
        actual = len(ds[keyword].value or b"")
    except Exception as err:  # odd header values (text where a number belongs, ...)
        raise _damaged(_where(ds), err) from err
    if actual < expected:
        raise DicomError(
            f"The pixel data of this {_where(ds)} is truncated: {actual} bytes "
            f"where the header ({ds.Rows} x {ds.Columns} pixels, "
            f"{ds.get('NumberOfFrames', 1)} frame(s), {ds.BitsAllocated} bits) "
            f"needs {expected}. The copy was cut short; copy it again.",
            reason="truncated",
        )


# Packages that add a decoder, by transfer syntax (pydicom names the same ones).
_JPEG = "pylibjpeg and pylibjpeg-libjpeg (pip install pylibjpeg pylibjpeg-libjpeg), or python-gdcm"
_OPENJPEG = "pylibjpeg and pylibjpeg-openjpeg (pip install pylibjpeg pylibjpeg-openjpeg)"
_J2K = _OPENJPEG + ", or python-gdcm"
_DECODER_PACKAGES = {
    puid.JPEGBaseline8Bit: _JPEG + ", or Pillow",
    puid.JPEGExtended12Bit: _JPEG + ", or Pillow",
    puid.JPEGLossless: _JPEG,
    puid.JPEGLosslessSV1: _JPEG,
    puid.JPEGLSLossless: _JPEG + ", or pyjpegls",
    puid.JPEGLSNearLossless: _JPEG + ", or pyjpegls",
    puid.JPEG2000Lossless: _J2K + ", or Pillow",
    puid.JPEG2000: _J2K + ", or Pillow",
    puid.HTJ2KLossless: _OPENJPEG,
    puid.HTJ2KLosslessRPCL: _OPENJPEG,
    puid.HTJ2K: _OPENJPEG,
    puid.RLELossless: "pylibjpeg and pylibjpeg-rle (pip install pylibjpeg pylibjpeg-rle)",
}


def _missing_decoder(ts: puid.UID, decoder: Any, ds: Dataset) -> str:
    packages = _DECODER_PACKAGES.get(ts) or "; ".join(getattr(decoder, "missing_dependencies", []))
    return (
        f"The pixels of this {_where(ds)} are compressed as '{ts.name}' and no decoder for it "
        f"is installed. Install {packages or 'a pydicom decoder plugin'}, then restart the "
        "kernel."
    )


def _rescale(ds: Dataset, ndim: int, frame: int | None = None) -> tuple[Any, Any]:
    """Slope and intercept, top level or from an enhanced file's functional groups.

    Per-frame values for a whole multi-frame array come back shaped (frames, 1, 1)
    to broadcast over (frames, H, W); for one ``frame``, that frame's values.
    """
    if "RescaleSlope" in ds or "RescaleIntercept" in ds:
        return float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)
    per_frame = [
        _group_item(fg, "PixelValueTransformationSequence")
        for fg in ds.get("PerFrameFunctionalGroupsSequence", [])
    ]
    if per_frame and all(item is not None for item in per_frame):
        slope = np.array([float(i.get("RescaleSlope", 1)) for i in per_frame])
        intercept = np.array([float(i.get("RescaleIntercept", 0)) for i in per_frame])
        if frame is not None:
            return float(slope[frame]), float(intercept[frame])
        if ndim == 3 and len(per_frame) > 1:
            return slope[:, None, None], intercept[:, None, None]
        return float(slope[0]), float(intercept[0])
    shared = ds.get("SharedFunctionalGroupsSequence")
    item = _group_item(shared[0], "PixelValueTransformationSequence") if shared else None
    if item is not None:
        return float(item.get("RescaleSlope", 1)), float(item.get("RescaleIntercept", 0))
    return 1.0, 0.0


def _group_item(group: Dataset, keyword: str) -> Dataset | None:
    seq = group.get(keyword)
    return seq[0] if seq else None


def _range_sum(ds: Dataset, slope: Any, intercept: Any) -> Any:
    """``lo + hi``: the modality values of the smallest and largest storable pixel, summed."""
    bits = int(ds.get("BitsStored", ds.BitsAllocated))
    if int(ds.get("PixelRepresentation", 0)) == 1:
        ends = np.array([-(2 ** (bits - 1)), 2 ** (bits - 1) - 1])
    else:
        ends = np.array([0, 2**bits - 1])
    if ds.get("ModalityLUTSequence"):
        return float(apply_modality_lut(ends, ds).astype(np.float64).sum())
    return slope * float(ends.sum()) + 2 * intercept


def _to_rgb(arr: np.ndarray, pi: str, ds: Dataset) -> np.ndarray:
    if pi == "RGB":
        return arr.astype(np.float32)
    if pi in ("YBR_FULL", "YBR_FULL_422"):  # 422 sub-sampling is already undone by the decoder
        return _ybr_full_to_rgb(arr, int(ds.get("BitsStored", 8)))
    raise DicomError(
        f"This {_where(ds)} stores colour as '{pi}', which radlab cannot convert "
        "to RGB. Export the image again as RGB.",
        reason="unsupported",
    )


def _ybr_full_to_rgb(arr: np.ndarray, bits: int) -> np.ndarray:
    """YCbCr (full range, DICOM PS3.3 C.7.6.3.1.2) to RGB, in float32 to spare memory and time."""
    half = np.float32(2 ** (bits - 1))
    ybr = arr.astype(np.float32)
    y, cb, cr = ybr[..., 0], ybr[..., 1] - half, ybr[..., 2] - half
    rgb = np.stack(
        [
            y + np.float32(1.402) * cr,
            y - np.float32(0.344136) * cb - np.float32(0.714136) * cr,
            y + np.float32(1.772) * cb,
        ],
        axis=-1,
    )
    return np.clip(np.rint(rgb), 0, 2 * half - 1)


# ----------------------------------------------------------------------------- header


def header_window(ds: Dataset) -> Window | None:
    """The window stored in the file (WindowCenter/WindowWidth), in ``to_array`` units.

    For MONOCHROME1 the centre is mirrored the same way ``to_array`` flips the
    values. ``None`` when the header has no window.
    """
    center, width = _header_value(ds, "WindowCenter"), _header_value(ds, "WindowWidth")
    if center is None or width is None or width <= 0:
        return None
    if ds.get("PhotometricInterpretation") == "MONOCHROME1" and "BitsAllocated" in ds:
        try:
            slope, intercept = _rescale(ds, ndim=2)
            center = float(np.ravel(_range_sum(ds, slope, intercept))[0]) - center
        except (TypeError, ValueError, KeyError, IndexError):
            return None  # a header too odd to mirror the window safely
    return Window(center, width, "window stored in the file", "the file's WindowCenter/WindowWidth")


def _header_value(ds: Dataset, keyword: str) -> float | None:
    """A number from the top level or an enhanced file's shared/first-frame groups."""
    holders = [ds]
    for seq in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        if ds.get(seq):
            for inner in (
                "PixelValueTransformationSequence",
                "PixelMeasuresSequence",
                "FrameVOILUTSequence",
            ):
                item = _group_item(ds[seq][0], inner)
                if item is not None:
                    holders.append(item)
    for holder in holders:
        value = holder.get(keyword)
        if value not in (None, ""):
            first = value[0] if isinstance(value, (list, MultiValue)) else value
            try:
                return float(first)
            except (TypeError, ValueError):
                return None  # malformed: treated as absent
    return None


def describe(ds: Dataset) -> dict[str, Any]:
    """The header facts a reader checks first (modality, size, rescale, spacing, window)."""
    spacing = _spacing_of(ds)
    return {
        "modality": str(ds.get("Modality", "")),
        "sop_class": puid.UID(str(ds.get("SOPClassUID", ""))).name if "SOPClassUID" in ds else "",
        "transfer_syntax": _transfer_syntax(ds).name,
        "size": (_int(ds, "Rows", 0), _int(ds, "Columns", 0)),
        "frames": _int(ds, "NumberOfFrames", 1),
        "photometric_interpretation": str(ds.get("PhotometricInterpretation", "")),
        "bits_stored": _int(ds, "BitsStored", 0),
        "rescale_slope": _header_value(ds, "RescaleSlope"),
        "rescale_intercept": _header_value(ds, "RescaleIntercept"),
        "pixel_spacing_mm": spacing,
        "slice_thickness_mm": _header_value(ds, "SliceThickness"),
        "window_center": _header_value(ds, "WindowCenter"),
        "window_width": _header_value(ds, "WindowWidth"),
        "has_pixels": any(kw in ds for kw in _PIXEL_KEYWORDS),
    }


def _int(ds: Dataset, keyword: str, default: int) -> int:
    """An integer header value, or ``default`` when absent or malformed (for describing only)."""
    try:
        return int(ds.get(keyword) or default)
    except (TypeError, ValueError):
        return default


def _spacing_of(ds: Dataset) -> tuple[float, float] | None:
    """(row spacing dy, column spacing dx) in mm, from PixelSpacing or its fallbacks."""
    for holder in [ds] + [
        _group_item(ds[s][0], "PixelMeasuresSequence")
        for s in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence")
        if ds.get(s)
    ]:
        if holder is not None:
            value = holder.get("PixelSpacing") or holder.get("ImagerPixelSpacing")
            try:
                if value and len(value) == 2 and float(value[0]) > 0:
                    return float(value[0]), float(value[1])
            except (TypeError, ValueError):
                return None  # malformed: treated as absent
    return None


# ----------------------------------------------------------------------------- series


def read_series(
    folder: str | Path, *, series_uid: str | None = None
) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Read a folder of single-slice DICOM files into one volume.

    Slices are ordered by their position along the slice normal
    (ImagePositionPatient dotted with the cross product of the two
    ImageOrientationPatient directions), or by InstanceNumber when positions
    are missing. Files that are not DICOM, or hold no image, are skipped.

    Args:
        folder: the folder holding the slices.
        series_uid: pick one SeriesInstanceUID when the folder holds several.

    Returns:
        volume (Z, Y, X) float32 in modality units, and spacing (dz, dy, dx) in mm
        (dz from the positions, rounded to 1e-6 mm; (dy, dx) from PixelSpacing,
        1.0 when absent).
    """
    folder = Path(folder)
    slices = _image_datasets(folder)
    slices = _one_series(slices, folder, series_uid)
    sizes = Counter((int(ds.Rows), int(ds.Columns)) for ds in slices)
    if len(sizes) > 1:
        raise DicomError(
            f"The slices in {folder} differ in size ({_counted(sizes)}); a volume "
            "needs one size. Separate the series or reformat them.",
            reason="series",
        )
    slices, dz = _sort_slices(slices)
    arrays = [to_array(ds) for ds in slices]
    if arrays[0].ndim != 2:
        raise DicomError(
            f"{folder} holds multi-frame or colour images {arrays[0].shape}; "
            "read_series expects one grayscale slice per file. Use "
            "to_array(read(path)) for a multi-frame file.",
            reason="series",
        )
    dy, dx = _spacing_of(slices[0]) or (1.0, 1.0)
    return np.stack(arrays).astype(np.float32), (dz, dy, dx)


def _image_datasets(folder: Path) -> list[Dataset]:
    if not folder.is_dir():
        raise DicomError(
            f"{folder} is not a folder. Give the folder that holds the series' files.",
            reason="missing",
        )
    slices = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        try:
            ds = read(path)
        except DicomError as err:
            if err.reason == "not_dicom":
                continue  # notes, thumbnails, DICOMDIR helpers: not part of the series
            raise
        if any(kw in ds for kw in _PIXEL_KEYWORDS):
            slices.append(ds)
    if not slices:
        raise DicomError(
            f"No DICOM images in {folder}. Check the folder (images may sit in a "
            "sub-folder) and that the files are DICOM.",
            reason="series",
        )
    return slices


def _one_series(slices: list[Dataset], folder: Path, series_uid: str | None) -> list[Dataset]:
    uids = Counter(str(ds.get("SeriesInstanceUID", "")) for ds in slices)
    if series_uid is not None:
        chosen = [ds for ds in slices if str(ds.get("SeriesInstanceUID", "")) == series_uid]
        if not chosen:
            raise DicomError(
                f"No slice of series {series_uid} in {folder}; it holds {_counted(uids)}.",
                reason="series",
            )
        return chosen
    if len(uids) > 1:
        raise DicomError(
            f"{folder} holds {len(uids)} series ({_counted(uids)}). Put each series "
            "in its own folder, or pick one with read_series(folder, series_uid=...).",
            reason="series",
        )
    return slices


def _counted(counter: Counter) -> str:
    return ", ".join(f"{key}: {n} file{'s' * (n != 1)}" for key, n in counter.items())


def _sort_slices(slices: list[Dataset]) -> tuple[list[Dataset], float]:
    """Slices ordered along the slice normal, and the slice spacing dz in mm."""
    if all("ImagePositionPatient" in ds and "ImageOrientationPatient" in ds for ds in slices):
        iop = np.array(slices[0].ImageOrientationPatient, dtype=np.float64)
        normal = np.cross(iop[:3], iop[3:])
        where = [
            float(np.dot(np.array(ds.ImagePositionPatient, dtype=np.float64), normal))
            for ds in slices
        ]
    else:
        where = [float(ds.get("InstanceNumber", 0) or 0) for ds in slices]
        normal = None
    order = np.argsort(where, kind="stable")
    slices = [slices[i] for i in order]
    if normal is None or len(slices) == 1:
        return slices, _nominal_dz(slices[0])
    steps = np.diff(np.sort(where))
    if np.any(steps < 1e-6):
        raise DicomError(
            "Two slices of this series sit at the same position: the folder may "
            "hold two acquisitions (e.g. two phases). Separate them.",
            reason="series",
        )
    dz = float(np.median(steps))
    if np.ptp(steps) > 0.01 * dz:
        warnings.warn(
            f"Uneven slice spacing ({steps.min():g} to {steps.max():g} mm): a slice "
            f"may be missing; using the median, {dz:g} mm.",
            stacklevel=3,
        )
    return slices, round(dz, 6)


def _nominal_dz(ds: Dataset) -> float:
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        if ds.get(keyword) not in (None, ""):
            return float(ds.get(keyword))
    return 1.0


# ----------------------------------------------------------------------------- writing

_SOP_CLASSES = {"CT": puid.CTImageStorage, "MR": puid.MRImageStorage}


def write_series(
    volume: Any,
    folder: str | Path,
    *,
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
    modality: str = "CT",
    patient_id: str = "ANON",
    patient_name: str = "Phantom^Radlab",
    series_description: str = "",
    study_uid: str | None = None,
    series_number: int = 1,
    preset: str | Window | None = None,
    level: float | None = None,
    width: float | None = None,
) -> list[Path]:
    """Write a volume as one valid DICOM file per slice (IM0001.dcm, IM0002.dcm, ...).

    Pixels are stored as int16 with RescaleSlope 1 and a RescaleIntercept
    (-1024 for CT when it fits, else 0, else the range's midpoint), values
    rounded to the nearest integer. Explicit VR little endian, CT Image
    Storage for CT, MR Image Storage for MR, Secondary Capture otherwise.

    Args:
        volume: (Z, Y, X) in HU / modality units, or (Y, X) for one slice.
        folder: created if needed.
        spacing: (dz, dy, dx) in mm.
        modality, patient_id, patient_name, series_description, series_number: header values.
        study_uid: reuse one StudyInstanceUID for several series (e.g. CT phases).
        preset, level, width: a window (a preset name or ``Window``, or level= and
            width=) written as WindowCenter/WindowWidth; none of them: no window.

    Returns:
        the paths written, in slice order.
    """
    vol = _integer_volume(volume)
    shown = None
    if any(v is not None for v in (preset, level, width)):
        shown = resolve_window(preset=preset, level=level, width=width)
    modality = modality.upper()
    intercept = _choose_intercept(vol, modality)
    stored = (vol - intercept).astype(np.int16)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    series = _series_header(
        modality,
        patient_id,
        patient_name,
        series_description,
        study_uid,
        series_number,
        shown,
        intercept,
    )
    paths = []
    for k, pixels in enumerate(stored):
        ds = _slice_dataset(series, pixels, k, spacing)
        paths.append(folder / f"IM{k + 1:04d}.dcm")
        ds.save_as(paths[-1], enforce_file_format=True)
    return paths


def _integer_volume(volume: Any) -> np.ndarray:
    vol = np.asarray(volume, dtype=np.float64)
    if vol.ndim == 2:
        vol = vol[None]  # one slice
    if vol.ndim != 3 or vol.size == 0:
        raise ValueError(f"write_series needs a (Z, Y, X) or (Y, X) volume, got shape {vol.shape}.")
    if not np.all(np.isfinite(vol)):
        raise ValueError(
            "The volume holds NaN or infinite values; DICOM pixels must be finite "
            "numbers. Replace them (e.g. with -1024 HU for air) first."
        )
    return np.rint(vol)


def _choose_intercept(vol: np.ndarray, modality: str) -> float:
    low, high = float(vol.min()), float(vol.max())
    candidates = ([-1024.0] if modality == "CT" else []) + [0.0, float(np.floor((low + high) / 2))]
    for intercept in candidates:
        if low - intercept >= -32768 and high - intercept <= 32767:
            return intercept
    raise ValueError(
        f"Values from {low:g} to {high:g} span more than the 65536 steps of a "
        "16-bit DICOM pixel at RescaleSlope 1. Clip the volume (CT: -1024 to "
        "3071 HU covers the body) before writing."
    )


def _ds(value: float) -> DSfloat:
    return DSfloat(float(value), auto_format=True)  # DS holds at most 16 characters


def _series_header(
    modality, patient_id, patient_name, description, study_uid, series_number, shown, intercept
) -> Dataset:
    """The elements every slice of the series shares."""
    ds = Dataset()
    ds.SOPClassUID = _SOP_CLASSES.get(modality, puid.SecondaryCaptureImageStorage)
    ds.Modality, ds.PatientID, ds.PatientName = modality, patient_id, patient_name
    ds.PatientBirthDate = ds.PatientSex = ds.StudyDate = ds.StudyTime = ""
    ds.ReferringPhysicianName = ds.StudyID = ds.AccessionNumber = ""
    ds.StudyInstanceUID = study_uid or puid.generate_uid()
    ds.SeriesInstanceUID, ds.FrameOfReferenceUID = puid.generate_uid(), puid.generate_uid()
    ds.SeriesNumber, ds.SeriesDescription = int(series_number), description
    ds.Manufacturer, ds.PositionReferenceIndicator = "radlab", ""
    ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = _ds(1), _ds(intercept)
    if modality == "CT":
        ds.RescaleType, ds.KVP, ds.PatientPosition = "HU", "", "HFS"
    elif modality == "MR":
        ds.ScanningSequence, ds.SequenceVariant = "RM", "NONE"  # research mode
    else:
        ds.ConversionType = "WSD"  # workstation: required for Secondary Capture
    if shown is not None:
        ds.WindowCenter, ds.WindowWidth = _ds(shown.level), _ds(shown.width)
    return ds


def _slice_dataset(series: Dataset, pixels: np.ndarray, k: int, spacing) -> FileDataset:
    """One slice: the shared header plus its own position, number and pixels."""
    dz, dy, dx = (float(s) for s in spacing)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = series.SOPClassUID
    meta.MediaStorageSOPInstanceUID = puid.generate_uid()
    meta.TransferSyntaxUID = puid.ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.update(copy.deepcopy(series))  # each slice owns its elements
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.InstanceNumber = k + 1
    rows, cols = pixels.shape
    z = k * dz
    ds.ImagePositionPatient = [_ds(-dx * (cols - 1) / 2), _ds(-dy * (rows - 1) / 2), _ds(z)]
    ds.ImageOrientationPatient = [_ds(v) for v in (1, 0, 0, 0, 1, 0)]
    ds.SliceLocation, ds.SliceThickness, ds.SpacingBetweenSlices = _ds(z), _ds(dz), _ds(dz)
    ds.PixelSpacing = [_ds(dy), _ds(dx)]
    ds.Rows, ds.Columns = rows, cols
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<i2").tobytes()
    return ds


# ----------------------------------------------------------------------------- privacy

# De-identification lives in its own module (its profile table is long); it is used as
# rl.dicom.deidentify(ds, salt=...).
from .deid import DeidentifyWarning, deidentify  # noqa: E402
