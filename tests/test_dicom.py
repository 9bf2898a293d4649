"""Tests for radlab.dicom: HU against the tags, every shipped file, errors, series, windows."""

from __future__ import annotations

import dataclasses
import random
import re
import shutil
import warnings
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pydicom
import pytest
import torch
from pydicom.data import get_testdata_file
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.pixels import get_decoder

import radlab as rl
import radlab.dicom as rd


def _file(name: str) -> str:
    """A test file shipped by pydicom or pydicom-data (a dependency), found offline."""
    path = get_testdata_file(name, download=False)
    assert path is not None, f"{name} is missing: reinstall pydicom-data (pip install pydicom-data)"
    return path


def _pixels(name: str) -> tuple[pydicom.Dataset, np.ndarray]:
    """The dataset and its raw stored values as pydicom decodes them (the reference)."""
    ds = pydicom.dcmread(_file(name))
    return ds, ds.pixel_array.astype(np.float64)


# ----------------------------------------------------------------------------- real files


def test_chest_cr_monochrome1_is_inverted_within_bits_stored():
    ds, raw = _pixels("RG1_UNCI.dcm")
    assert ds.PhotometricInterpretation == "MONOCHROME1"
    assert "RescaleSlope" not in ds and ds.PixelRepresentation == 0  # so lo = 0, hi = 2**bits - 1
    arr = rd.to_array(rd.read(_file("RG1_UNCI.dcm")))
    assert arr.dtype == np.float32 and arr.shape == raw.shape
    np.testing.assert_array_equal(arr, (2**ds.BitsStored - 1) - raw)
    window = rd.header_window(ds)  # the file's window, mirrored the same way
    assert window.level == (2**ds.BitsStored - 1) - float(ds.WindowCenter)
    assert window.width == float(ds.WindowWidth)


def test_ct_head_hounsfield_units_follow_the_rescale_tags():
    ds, raw = _pixels("693_UNCI.dcm")
    hu = rd.to_hu(rd.read(_file("693_UNCI.dcm")))
    expected = raw * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_array_equal(hu, expected.astype(np.float32))
    assert np.mean(np.abs(hu + 1000) < 100) > 0.05  # air around the head
    assert np.any(hu > 700)  # skull
    assert rd.header_window(ds) == rd.Window(
        40.0, 100.0, "window stored in the file", "the file's WindowCenter/WindowWidth"
    )


def test_mr_values_and_to_hu_refuses_mr():
    ds, raw = _pixels("MR2_UNCI.dcm")
    arr = rd.to_array(rd.read(_file("MR2_UNCI.dcm")))
    expected = raw * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(arr, expected, rtol=1e-6)
    with pytest.raises(rd.DicomError, match="only for CT.*MR") as err:
        rd.to_hu(ds)
    assert err.value.reason == "not_ct"


def test_multiframe_mr_keeps_its_frames():
    ds, raw = _pixels("emri_small.dcm")
    arr = rd.to_array(rd.read(_file("emri_small.dcm")))
    assert arr.shape == (int(ds.NumberOfFrames), ds.Rows, ds.Columns)
    np.testing.assert_array_equal(arr, raw)
    np.testing.assert_array_equal(rd.to_array(ds, frame=-1), raw[-1])
    with pytest.raises(rd.DicomError, match="numbered 0 to 9"):
        rd.to_array(ds, frame=10)


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm"])
def test_pydicom_small_files(name):
    ds, raw = _pixels(name)
    arr = rd.to_array(rd.read(_file(name)))
    slope, intercept = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
    np.testing.assert_allclose(arr, raw * slope + intercept, rtol=1e-6)
    info = rd.describe(ds)
    assert info["modality"] == ds.Modality and info["size"] == (ds.Rows, ds.Columns)
    assert info["pixel_spacing_mm"] == tuple(float(v) for v in ds.PixelSpacing)


def test_enhanced_ct_rescale_from_functional_groups():
    ds, raw = _pixels("eCT_Supplemental.dcm")
    item = ds.SharedFunctionalGroupsSequence[0].PixelValueTransformationSequence[0]
    hu = rd.to_hu(ds)
    np.testing.assert_array_equal(hu, raw * float(item.RescaleSlope) + float(item.RescaleIntercept))
    assert rd.describe(ds)["rescale_intercept"] == float(item.RescaleIntercept)


def test_colour_is_rgb_like_pydicom():
    ds, raw = _pixels("SC_ybr_full_uncompressed.dcm")  # stored as YCbCr
    arr = rd.to_array(ds)
    assert arr.shape == raw.shape == (ds.Rows, ds.Columns, 3)
    np.testing.assert_array_equal(arr, raw)  # pydicom converts to RGB too
    palette = rd.to_array(pydicom.dcmread(_file("examples_palette.dcm")))
    assert palette.shape[-1] == 3


def _shipped_files() -> list[Path]:
    """Every file pydicom and pydicom-data ship, in their data folders (no download)."""
    roots = {Path(pydicom.data.__file__).parent / "test_files"}
    extra = get_testdata_file("RG1_UNCI.dcm", download=False)  # pydicom-data's folder
    if extra:
        roots.add(Path(extra).parent)
    return sorted(p for root in roots for p in root.rglob("*") if p.is_file())


def _outcome(path: Path) -> str:
    """'array' or the DicomError reason; anything else is a bug and propagates."""
    try:
        ds = rd.read(path)
        assert isinstance(rd.describe(ds), dict)  # never raises on a file read() accepts
        rd.header_window(ds)
        frames = str(ds.get("NumberOfFrames", 1) or 1)
        big = "Rows" in ds and frames.isdigit() and ds.Rows * ds.Columns * int(frames) > 20_000_000
        arr = rd.to_array(ds, frame=0 if big else None)  # one frame of a huge cine keeps it fast
    except rd.DicomError as err:
        assert str(err).strip(), f"{path.name}: DicomError without a message"
        return err.reason
    assert arr.dtype == np.float32 and arr.size and np.all(np.isfinite(arr)), path.name
    return "array"


def test_every_shipped_file_gives_an_array_or_a_dicom_error():
    files = _shipped_files()
    outcomes, failures = {}, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns a lot about its deliberately broken files
        for path in files:
            try:
                outcomes[path] = _outcome(path)
            except Exception as err:  # collect every bug, not only the first
                failures.append(f"{path}: {type(err).__name__}: {err}")
    assert not failures, "\n".join(failures)
    counts = Counter(outcomes.values())
    print(f"\n{len(files)} shipped files: {dict(counts)}")
    by_name = {path.name: outcome for path, outcome in outcomes.items()}
    assert counts["array"] >= 50
    assert by_name.get("test-SR.dcm") == "no_pixels" and by_name.get("rtplan.dcm") == "no_pixels"
    assert by_name.get("MR_truncated.dcm") == "truncated"
    assert by_name.get("README.txt") == "not_dicom"


# ----------------------------------------------------------------------------- bad input


def test_text_file_named_dcm(tmp_path):
    path = tmp_path / "report.dcm"
    path.write_text("Findings: no acute intracranial haemorrhage.\n" * 20)
    with pytest.raises(rd.DicomError, match="not a DICOM file") as err:
        rd.read(path)
    assert err.value.reason == "not_dicom" and str(path) in str(err.value)


def test_empty_missing_and_folder(tmp_path):
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    with pytest.raises(rd.DicomError, match="empty"):
        rd.read(empty)
    with pytest.raises(rd.DicomError, match="No file at") as err:
        rd.read(tmp_path / "nowhere.dcm")
    assert err.value.reason == "missing"
    with pytest.raises(rd.DicomError, match="read_series"):
        rd.read(tmp_path)


def test_png_named_dcm_is_recognised(tmp_path):
    path = tmp_path / "export.dcm"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(rd.DicomError, match="PNG image"):
        rd.read(path)


def test_truncated_copy_of_ct_small(tmp_path):
    data = Path(_file("CT_small.dcm")).read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(data[: len(data) - 5000])  # pixel data is the last element
    ds = rd.read(path)
    with pytest.raises(rd.DicomError, match="truncated") as err:
        rd.to_array(ds)
    assert err.value.reason == "truncated" and "copy it again" in str(err.value)


def _save_without_pixels(path: Path, sop_class: str, modality: str) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientID = modality, "ANON"
    ds.save_as(path, enforce_file_format=True)
    return path


def test_no_pixel_data_says_what_the_file_is(tmp_path):
    sr = _save_without_pixels(tmp_path / "sr.dcm", pydicom.uid.BasicTextSRStorage, "SR")
    with pytest.raises(rd.DicomError, match="structured report") as err:
        rd.to_array(rd.read(sr))
    assert err.value.reason == "no_pixels"
    with pytest.raises(rd.DicomError, match="RT plan"):
        rd.to_array(rd.read(_file("rtplan.dcm")))
    with pytest.raises(rd.DicomError, match="DICOMDIR"):
        rd.to_array(rd.read(_file("DICOMDIR")))
    with pytest.raises(rd.DicomError, match="stop_before_pixels"):
        rd.to_array(rd.read(_file("CT_small.dcm"), stop_before_pixels=True))


def test_jpeg_baseline_decodes_with_pillow():
    # Pillow comes with matplotlib, so JPEG Baseline always has a decoder here
    ds = rd.read(_file("SC_rgb_jpeg_dcmtk.dcm"))
    assert "pillow" in get_decoder(ds.file_meta.TransferSyntaxUID).available_plugins
    arr = rd.to_array(ds)
    assert arr.shape == (ds.Rows, ds.Columns, 3) and arr.dtype == np.float32


@pytest.mark.parametrize(
    "name", ["JPGLosslessP14SV1_1s_1f_8b.dcm", "MR_small_jpeg_ls_lossless.dcm"]
)
def test_compressed_file_without_decoder_names_the_package(name):
    ds = rd.read(_file(name))
    ts = ds.file_meta.TransferSyntaxUID
    decoder = get_decoder(ts)
    if decoder.is_available:
        plugins = ", ".join(decoder.available_plugins)
        pytest.skip(f"a decoder for {ts.name} is installed here ({plugins})")
    with pytest.raises(rd.DicomError) as err:
        rd.to_array(ds)
    message = str(err.value)
    assert err.value.reason == "no_decoder" and ts.name in message
    assert "pip install pylibjpeg" in message


def test_missing_decoder_message_without_relying_on_what_is_installed(monkeypatch):
    missing = SimpleNamespace(is_available=False, missing_dependencies=[])
    monkeypatch.setattr(rd, "get_decoder", lambda ts: missing)
    with pytest.raises(rd.DicomError, match="JPEG Baseline.*pylibjpeg-libjpeg") as err:
        rd.to_array(rd.read(_file("SC_rgb_jpeg_dcmtk.dcm")))
    assert err.value.reason == "no_decoder"


def test_decoder_failure_is_reworded_and_chained(monkeypatch):
    def broken(src, **kwargs):
        raise RuntimeError("internal codec trace 0xdeadbeef")

    decoder = SimpleNamespace(is_available=True, available_plugins=("pillow",), as_array=broken)
    monkeypatch.setattr(rd, "get_decoder", lambda ts: decoder)
    with pytest.raises(rd.DicomError) as err:
        rd.to_array(rd.read(_file("SC_rgb_jpeg_dcmtk.dcm")))
    assert err.value.reason == "decode_failed" and "pillow" in str(err.value)
    assert "0xdeadbeef" not in str(err.value)
    assert isinstance(err.value.__cause__, RuntimeError)


def test_dicom_error_is_a_value_error():
    assert issubclass(rd.DicomError, ValueError)
    assert "DicomError" in rd.__all__


# ----------------------------------------------------------------------------- series


def _volume(seed: int = 0, shape=(6, 20, 24)) -> np.ndarray:
    return np.random.default_rng(seed).integers(-1024, 2500, shape).astype(np.int16)


def test_write_read_round_trip_with_shuffled_renamed_files(tmp_path):
    volume, spacing = _volume(), (2.5, 0.7, 0.8)
    paths = rd.write_series(volume, tmp_path / "out", spacing=spacing, preset="liver")
    assert [p.name for p in paths] == [f"IM{k:04d}.dcm" for k in range(1, 7)]
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shuffled = paths[:]
    random.Random(0).shuffle(shuffled)
    for k, path in enumerate(shuffled):  # names no longer follow slice order
        shutil.copy(path, mixed / f"{k:02d}_{random.Random(k).getrandbits(32):08x}")
    (mixed / "notes.txt").write_text("not DICOM, must be ignored")
    got, got_spacing = rd.read_series(mixed)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, volume)
    assert got_spacing == spacing


def test_written_files_are_valid_dicom(tmp_path):
    volume = _volume(1, (3, 8, 10))
    paths = rd.write_series(
        volume,
        tmp_path,
        spacing=(3.0, 0.5, 0.6),
        preset="brain",
        patient_id="P1",
        series_description="unenhanced",
    )
    raw = paths[0].read_bytes()
    assert raw[:128] == bytes(128) and raw[128:132] == b"DICM"
    ds = pydicom.dcmread(paths[1])  # no force
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert ds.SOPClassUID == pydicom.uid.CTImageStorage == ds.file_meta.MediaStorageSOPClassUID
    assert (ds.BitsAllocated, ds.PixelRepresentation, float(ds.RescaleSlope)) == (16, 1, 1.0)
    assert float(ds.RescaleIntercept) == -1024.0 and ds.pixel_array.min() >= 0
    assert ds.InstanceNumber == 2 and float(ds.SliceLocation) == 3.0
    assert [float(v) for v in ds.ImagePositionPatient][2] == 3.0
    assert [float(v) for v in ds.PixelSpacing] == [0.5, 0.6] and float(ds.SliceThickness) == 3.0
    assert (float(ds.WindowCenter), float(ds.WindowWidth)) == (40.0, 80.0)
    assert ds.PatientID == "P1" and ds.SeriesDescription == "unenhanced"
    np.testing.assert_array_equal(rd.to_hu(ds), volume[1])


def test_write_series_options(tmp_path):
    study = pydicom.uid.generate_uid()
    a = rd.write_series(np.full((2, 4, 4), 100.4), tmp_path / "a", modality="MR", study_uid=study)
    b = rd.write_series(np.full((4, 4), -0.6), tmp_path / "b", study_uid=study, series_number=2)
    c = rd.write_series(np.array([[-30000, 30000]]), tmp_path / "c", modality="OT")
    ds_a, ds_b, ds_c = (pydicom.dcmread(p[0]) for p in (a, b, c))
    assert ds_a.SOPClassUID == pydicom.uid.MRImageStorage
    assert ds_c.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
    assert ds_a.StudyInstanceUID == ds_b.StudyInstanceUID == study
    assert ds_a.SeriesInstanceUID != ds_b.SeriesInstanceUID and len(b) == 1
    assert rd.read_series(tmp_path / "a")[0].max() == 100  # rounded to whole units
    assert rd.read_series(tmp_path / "b")[0].max() == -1
    np.testing.assert_array_equal(rd.read_series(tmp_path / "c")[0], [[[-30000, 30000]]])
    with pytest.raises(ValueError, match="16-bit"):
        rd.write_series(np.array([[-40000, 40000]]), tmp_path / "d")
    with pytest.raises(ValueError, match="NaN"):
        rd.write_series(np.array([[np.nan, 0.0]]), tmp_path / "e")


def test_read_series_falls_back_to_instance_number(tmp_path):
    volume = _volume(2, (4, 6, 6))
    for path in rd.write_series(volume, tmp_path, spacing=(1.5, 1.0, 1.0)):
        ds = pydicom.dcmread(path)
        del ds.ImagePositionPatient
        ds.save_as(tmp_path / f"x{100 - ds.InstanceNumber}.dcm")  # names in reverse order
        path.unlink()
    got, spacing = rd.read_series(tmp_path)
    np.testing.assert_array_equal(got, volume)
    assert spacing == (1.5, 1.0, 1.0)


def test_read_series_errors(tmp_path):
    with pytest.raises(rd.DicomError, match="No DICOM images"):
        rd.read_series(tmp_path)
    rd.write_series(_volume(3, (2, 6, 6)), tmp_path / "one")
    rd.write_series(_volume(4, (2, 6, 6)), tmp_path / "two")
    mixed = tmp_path / "mixed"
    shutil.copytree(tmp_path / "one", mixed)
    for path in (tmp_path / "two").iterdir():
        shutil.copy(path, mixed / f"b_{path.name}")
    uids = {pydicom.dcmread(p).SeriesInstanceUID for p in mixed.iterdir()}
    with pytest.raises(rd.DicomError, match="2 series") as err:
        rd.read_series(mixed)
    assert all(uid in str(err.value) for uid in uids) and err.value.reason == "series"
    chosen = sorted(uids)[0]
    assert rd.read_series(mixed, series_uid=chosen)[0].shape == (2, 6, 6)
    sizes = tmp_path / "sizes"
    rd.write_series(_volume(5, (1, 6, 6)), sizes)
    path = rd.write_series(_volume(5, (1, 8, 6)), tmp_path / "tmp")[0]
    ds = pydicom.dcmread(path)
    ds.SeriesInstanceUID = pydicom.dcmread(sizes / "IM0001.dcm").SeriesInstanceUID
    ds.save_as(sizes / "IM0002.dcm")
    with pytest.raises(rd.DicomError, match="differ in size"):
        rd.read_series(sizes)


# ----------------------------------------------------------------------------- windows


def test_window_against_hand_computation():
    hu = np.array([-100.0, 0.0, 20.0, 40.0, 80.0, 500.0])
    expected = np.array([0.0, 0.0, 0.25, 0.5, 1.0, 1.0], dtype=np.float32)
    got = rd.window(hu, level=40, width=80)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(rd.window(hu, preset="brain"), expected)
    np.testing.assert_array_equal(rd.window(hu, preset=rd.WINDOWS["brain"]), expected)
    assert rl.window is rd.window and rl.WINDOWS is rd.WINDOWS


def test_window_on_torch_tensors():
    hu = torch.tensor([[-1000, -600, 150]], dtype=torch.int16)
    got = rd.window(hu, preset="lung")  # L-600 / W1500: -1350 -> 0, 150 -> 1
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32 and got.device == hu.device
    torch.testing.assert_close(got, torch.tensor([[350 / 1500, 0.5, 1.0]]))


def test_window_errors():
    with pytest.raises(ValueError, match="level= and width="):
        rd.window(np.zeros(3))
    with pytest.raises(ValueError, match="brain"):
        rd.window(np.zeros(3), preset="kidney_stone")
    with pytest.raises(ValueError, match="positive"):
        rd.window(np.zeros(3), level=0, width=0)


def test_resolve_window_is_the_one_reader_of_a_window():
    assert rd.resolve_window(preset="liver") is rd.WINDOWS["liver"]
    own = rd.Window(50, 350)
    assert rd.resolve_window(preset=own) is own
    assert rd.resolve_window(level=40, width=80) == rd.Window(40.0, 80.0)
    assert str(rd.resolve_window(preset="brain")) == "brain W 80 / L 40"
    assert str(rd.resolve_window(level=-600, width=1500)) == "W 1500 / L -600"


@pytest.mark.parametrize(
    "asked, message",
    [
        ({"preset": "brian"}, "no window preset called 'brian'. Did you mean 'brain'?"),
        ({"preset": "Soft tissue"}, "Did you mean 'soft_tissue'?"),
        ({"preset": "kidney_stone"}, "The presets are brain, subdural"),
        ({"preset": "liver", "width": 300}, "not both"),
        ({"preset": (40, 80)}, "level= and width="),
        ({"level": 40}, "Give a window"),
        ({"level": 40, "width": -5}, "width must be positive"),
    ],
)
def test_resolve_window_errors_say_what_to_do(asked, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        rd.resolve_window(**asked)


def test_write_series_window_from_numbers(tmp_path):
    path = rd.write_series(_volume(6, (1, 4, 4)), tmp_path, level=-600, width=1500)[0]
    ds = pydicom.dcmread(path)
    assert (float(ds.WindowCenter), float(ds.WindowWidth)) == (-600.0, 1500.0)
    assert "WindowCenter" not in pydicom.dcmread(rd.write_series(_volume(), tmp_path / "no")[0])


def test_window_presets_are_data_with_a_source():
    needed = {"brain", "subdural", "stroke", "lung", "mediastinum", "liver", "bone", "soft_tissue"}
    assert needed <= set(rd.WINDOWS)
    for name, win in rd.WINDOWS.items():
        assert win.width > 0 and win.use and win.source, name
        assert "source:" in repr(win) and f"L={win.level:g}" in repr(win)
    assert (rd.WINDOWS["brain"].level, rd.WINDOWS["brain"].width) == (40, 80)
    assert (rd.WINDOWS["lung"].level, rd.WINDOWS["lung"].width) == (-600, 1500)
    assert (rd.WINDOWS["bone"].low, rd.WINDOWS["bone"].high) == (-500, 1300)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rd.WINDOWS["brain"].level = 0
