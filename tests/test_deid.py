"""Tests for radlab.deid on every file pydicom and pydicom-data ship: no identifier left,
nothing else lost, UIDs and dates changed consistently, pixels and the input untouched."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import io
import re
import warnings
from collections import Counter, defaultdict
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file, get_testdata_files
from pydicom.datadict import repeater_has_keyword, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag

from radlab import deid
from radlab.deid import DeidentifyWarning, deidentify

SALT = "radlab-test-salt"

# ----------------------------------------------------------------------------- the files

# The pattern "**/*" lists the files on disk (pydicom's and pydicom-data's) and no download.
FILES = sorted(Path(p) for p in get_testdata_files("**/*") if Path(p).is_file())
# Shipped beside the DICOM files but not DICOM at all: nothing to de-identify.
NOT_DICOM = {
    "README": "text",
    "README.txt": "text",
    "crayons.icc": "an ICC colour profile",
    "rtplan.dump": "a text dump of rtplan.dcm",
    "rtstruct.dump": "a text dump of rtstruct.dcm",
    "test1.json": "DICOM JSON, not a DICOM file",
    "test_PN.json": "DICOM JSON, not a DICOM file",
    "zipMR.gz": "a gzip archive",
}
DICOM_FILES = [p for p in FILES if p.name not in NOT_DICOM]  # the ones tested one by one
_names = Counter(p.name for p in DICOM_FILES)
IDS = [p.name if _names[p.name] == 1 else f"{p.parent.name}/{p.name}" for p in DICOM_FILES]
MARKERS = {  # what deidentify adds to say that it ran
    "PatientIdentityRemoved",
    "DeidentificationMethod",
    "DeidentificationMethodCodeSequence",
    "LongitudinalTemporalInformationModified",
}
PATIENT_IDENTIFIERS = {
    "PatientID",
    "OtherPatientIDs",
    "PatientBirthDate",
    "AccessionNumber",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "MedicalRecordLocator",
}
UID_RE = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def test_the_shipped_files_are_found_locally():
    assert len(FILES) > 200, "pydicom-data (a dependency) seems missing: pip install pydicom-data"
    assert any("data_store" in str(p) for p in FILES)  # pydicom-data's own folder
    left_out = [p for p in FILES if p.name in NOT_DICOM]  # text, JSON, a gzip: not DICOM files
    assert 0 < len(left_out) <= 10, [p.name for p in left_out]
    assert len(DICOM_FILES) + len(left_out) == len(FILES)


# ----------------------------------------------------------------------------- references


def reference_uid(uid: str, salt: str = SALT) -> str:
    """The documented rule, computed here: 2.25. + first 128 bits of HMAC-SHA256(salt, uid)."""
    digest = hmac.new(salt.encode(), uid.strip().encode(), hashlib.sha256).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))


def expected_action(keyword: str, vr: str) -> str | None:
    """The table's action, else the documented rule by kind (PN emptied, DA/DT shifted)."""
    return deid.PROFILE.get(keyword) or {"PN": "Z", "DA": "S", "DT": "S"}.get(vr)


def _norm(value):
    if isinstance(value, bytes):
        return ("bytes", len(value), hashlib.sha1(value).hexdigest())
    if isinstance(value, (list, MultiValue)):
        return tuple(str(v) for v in value)
    return None if value is None else str(value)


def flatten(ds: Dataset, prefix: tuple = ()) -> dict:
    """Every element, nested ones too: path (tags and item numbers) -> (keyword, VR, value)."""
    out = {}
    for elem in ds:
        path = prefix + (elem.tag,)
        if elem.VR == "SQ":
            items = elem.value or []
            out[path] = (elem.keyword, "SQ", len(items))
            for i, item in enumerate(items):
                out.update(flatten(item, path + (i,)))
        else:
            out[path] = (elem.keyword, elem.VR, _norm(elem.value))
    return out


def flatten_file(ds: Dataset) -> dict:
    meta = getattr(ds, "file_meta", None)
    return {**flatten(ds), **(flatten(meta, ("meta",)) if meta is not None else {})}


def _empty(value) -> bool:
    return value in (None, "", 0) or value == () or value == ("",) * len(value or ())


def _date(text: str) -> dt.date:
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def _parent_paths(path: tuple):
    """The sequences above an element: (tag,), (tag, i, tag2), ..."""
    return [path[:k] for k in range(1, len(path)) if type(path[k]) is int]


def _tags(path: tuple) -> list[BaseTag]:
    return [t for t in path if isinstance(t, BaseTag)]


def _read(path: Path) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about its deliberately odd files
        return pydicom.dcmread(path, force=True)


def _deidentify(ds: Dataset, salt: str = SALT, **kw) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return deidentify(ds, salt=salt, **kw)


def _writes(ds: Dataset) -> bytes | None:
    """The file's bytes as pydicom writes them, or None if pydicom cannot write it."""
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pydicom.dcmwrite(buffer, ds)
    except Exception:
        return None
    return buffer.getvalue()


# ----------------------------------------------------------------------------- every file

SUMMARY: dict[Path, dict] = {}  # per file: its patient, date shift and UID pairs


def check_file(path: Path) -> dict:
    """De-identify one file and check everything; returns what the cross-file test needs."""
    original = _read(path)
    before = flatten_file(original)
    out = _deidentify(original)
    assert flatten_file(original) == before, "(7) the input dataset was changed"
    after = flatten_file(out)
    assert flatten_file(_deidentify(original)) == after, "(5) a second call gave another result"

    assert not any(t.is_private for p in after for t in _tags(p)), "(2) a private element is left"
    patient = (
        str(original.get("PatientID", "") or "").strip()
        or str(original.get("PatientName", "") or "").strip()
    )
    shifts, uids, problems = set(), {}, []
    for path_, (keyword, vr, value) in before.items():
        if any(t.is_private or 0x5000 <= t.group <= 0x50FF for t in _tags(path_)):
            continue  # (2) removed with its private / curve parent
        if any(expected_action(before[p][0], "SQ") in ("X", "Z") for p in _parent_paths(path_)):
            continue  # removed or emptied with its sequence
        action = expected_action(keyword, vr)
        new = after.get(path_)
        if keyword in MARKERS:
            continue  # (checked after the loop)
        where = f"{keyword or path_} ({vr})"
        if action == "X":
            if new is not None:
                problems.append(f"(1) {where} should be removed, is {new[2]!r}")
        elif new is None:
            problems.append(f"(3) {where} is lost")
        elif action == "Z":
            if not _empty(new[2]):
                problems.append(f"(1) {where} should be empty, is {new[2]!r}")
        elif action == "D":
            if keyword in ("PatientName", "PatientID"):  # one pseudonym per item's patient
                same_item = [
                    before.get(path_[:-1] + (Tag(k),)) for k in ("PatientID", "PatientName")
                ]
                key = next((e[2].strip() for e in same_item if e and e[2] and e[2].strip()), "")
                wanted = deid.pseudonym(key, salt=SALT) if not _empty(value) else new[2]
            else:
                wanted = "REMOVED"
            if new[2] != wanted:
                problems.append(f"(1) {where} should be {wanted!r}, is {new[2]!r}")
        elif action == "U":
            values = value if isinstance(value, tuple) else (value,)
            got = new[2] if isinstance(new[2], tuple) else (new[2],)
            for old, mapped in zip(values, got, strict=True):
                if not old or not old.strip():
                    continue
                if mapped != reference_uid(old) or len(mapped) > 64 or not UID_RE.match(mapped):
                    problems.append(f"(5) {where}: {old} -> {mapped!r}")
                uids[old.strip()] = mapped
        elif action == "S" and vr in ("DA", "DT"):
            values = value if isinstance(value, tuple) else (value,)
            got = new[2] if isinstance(new[2], tuple) else (new[2],)
            for old, moved in zip(values, got, strict=True):
                old = (old or "").strip()
                if vr == "DA" and len(old) == 10:
                    old = old.replace(".", "")  # the old ACR-NEMA form YYYY.MM.DD
                if not moved:
                    continue  # emptied: too vague or broken to shift (test_dates_...)
                shifts.add((_date(moved) - _date(old)).days)
                if moved[8:] != old[8:]:
                    problems.append(f"(6) {where}: the time in {old!r} changed: {moved!r}")
        elif new != (keyword, vr, value):  # (3) not in the profile, TM included: unchanged
            problems.append(f"(3) {where} changed from {value!r} to {new[2]!r}")
    for path_, (keyword, _, _) in after.items():
        top = _tags(path_)[0]
        named = pydicom.datadict.keyword_for_tag(top) if path_[0] != "meta" else keyword
        if path_ not in before and named not in MARKERS:
            problems.append(f"(3) {keyword or path_} appeared from nowhere")
    assert not problems, "\n".join(problems)
    earlier = before.get((Tag("DeidentificationMethod"),), (0, 0, ()))[2] or ()
    earlier = (earlier,) if isinstance(earlier, str) else earlier
    method = after[(Tag("DeidentificationMethod"),)][2]
    method = (method,) if isinstance(method, str) else method
    assert method[: len(earlier)] == earlier, "(3) an earlier DeidentificationMethod is lost"

    # (1) no name or ID of the patient is left anywhere, whole values compared
    secrets = {
        v
        for (kw, vr, value) in before.values()
        if kw in PATIENT_IDENTIFIERS or vr == "PN"
        for v in (value if isinstance(value, tuple) else (value,))
        if isinstance(v, str) and len(v.strip()) >= 4
    }
    text = {
        v
        for (kw, vr, value) in after.values()
        if kw != "ReferencedFileID"  # a DICOMDIR's paths: kept, with a warning (test below)
        and vr in ("PN", "LO", "SH", "LT", "ST", "UT", "CS", "DA", "AE", "UC")
        for v in (value if isinstance(value, tuple) else (value,))
    }
    assert not secrets & text, f"(1) identifying values left: {sorted(secrets & text)}"

    assert len(shifts) <= 1, f"(6) dates of one file moved by different days: {shifts}"
    if shifts:
        assert shifts == {deid.date_shift_days(patient, salt=SALT)}
    if "SOPInstanceUID" in original and str(original.SOPInstanceUID).strip():
        assert out.SOPInstanceUID != original.SOPInstanceUID
    if "PixelData" in original:  # (4) compared through flatten too; here explicitly
        assert out.PixelData == original.PixelData
    assert out.PatientIdentityRemoved == "YES"
    codes = [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
    assert codes[-2:] == ["113100", "113107"]

    if _writes(original) is not None:  # (8) what pydicom could write, it still can
        data = _writes(out)
        assert data is not None, "(8) the de-identified dataset does not write"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            back = pydicom.dcmread(io.BytesIO(data), force=True)
        assert back.PatientIdentityRemoved == "YES"
        assert back.get("SOPInstanceUID") == out.get("SOPInstanceUID")
        assert back.get("PixelData") == out.get("PixelData")
    return {"patient": patient, "shifts": shifts, "uids": uids}


@pytest.mark.parametrize("path", DICOM_FILES, ids=IDS)
def test_every_shipped_file(path):
    SUMMARY[path] = check_file(path)


def test_uids_and_shifts_agree_across_files():
    for path in DICOM_FILES:
        if path not in SUMMARY:
            SUMMARY[path] = check_file(path)  # when run alone (-k)
    mapping, shifts, files_with = defaultdict(set), defaultdict(set), Counter()
    for summary in SUMMARY.values():
        files_with.update(list(summary["uids"]))
        for old, new in summary["uids"].items():
            mapping[old].add(new)
        if summary["patient"]:
            shifts[summary["patient"]] |= summary["shifts"]
    assert len(mapping) > 200
    assert sum(n > 1 for n in files_with.values()) > 50  # UIDs met in several files
    assert all(len(new) == 1 for new in mapping.values()), "one UID, two new UIDs"
    news = [next(iter(new)) for new in mapping.values()]
    assert len(set(news)) == len(news), "two UIDs got the same new UID"
    assert not set(news) & set(mapping), "a new UID equals an original one"
    assert all(len(s) <= 1 for s in shifts.values()), "one patient, two date shifts"
    assert sum(len(s) for s in shifts.values()) > 20  # the check above had dates to compare


# ----------------------------------------------------------------------------- focused


def _ct() -> Dataset:
    return pydicom.dcmread(get_testdata_file("CT_small.dcm"))


def test_the_table_names_real_attributes_and_the_issue_identifiers():
    unknown = [
        k for k in deid.PROFILE if tag_for_keyword(k) is None and not repeater_has_keyword(k)
    ]
    assert not unknown
    assert set(deid.PROFILE.values()) <= set("XZDUS")
    assert deid.PATIENT_CHARACTERISTICS <= set(deid.PROFILE)
    named_in_issue = """PatientName PatientID PatientBirthDate PatientAddress OtherPatientIDs
        PatientTelephoneNumbers InstitutionName InstitutionAddress InstitutionalDepartmentName
        ReferringPhysicianName PerformingPhysicianName OperatorsName StationName AccessionNumber
        DeviceSerialNumber StudyID RequestAttributesSequence ImageComments StudyComments
        AdditionalPatientHistory PatientComments""".split()
    assert all(deid.PROFILE[k] in "XZD" for k in named_in_issue)


def test_identifiers_inside_nested_sequences():
    ds = Dataset()
    ds.PatientName, ds.PatientID, ds.StudyDate = "Doe^Jane", "MRN123", "20200115"
    inner = Dataset()
    inner.ReferringPhysicianName, inner.ContentDate = "Who^Doctor", "20200120"
    inner.add_new(0x00091010, "LO", "vendor secret")  # private
    item = Dataset()
    item.PatientName, item.OtherPatientIDs, item.ReferencedSOPInstanceUID = (
        "Doe^Jane",
        "X9",
        "1.2.3",
    )
    item.CodeValue = "T-D4000"  # not an identifier: kept
    item.ReferencedImageSequence = [inner]
    ds.SourceImageSequence = [item]
    out = deidentify(ds, salt=SALT)
    got = out.SourceImageSequence[0]
    assert str(got.PatientName) == deid.pseudonym("Doe^Jane", salt=SALT)  # item has no ID
    assert "OtherPatientIDs" not in got and got.CodeValue == "T-D4000"
    assert got.ReferencedSOPInstanceUID == reference_uid("1.2.3")
    deep = got.ReferencedImageSequence[0]
    assert not deep.ReferringPhysicianName and 0x00091010 not in deep
    days = deid.date_shift_days("MRN123", salt=SALT)
    assert _date(deep.ContentDate) - _date("20200120") == dt.timedelta(days)
    assert _date(out.StudyDate) - _date("20200115") == dt.timedelta(days)
    assert str(out.PatientName) == str(out.PatientID) == deid.pseudonym("MRN123", salt=SALT)
    assert "Doe" not in str(out) and "MRN123" not in str(out) and "Who" not in str(out)


def test_dates_times_and_date_times():
    ds = Dataset()
    ds.PatientID = "P1"
    ds.StudyDate, ds.StudyTime = "20200301", "101530.25"
    ds.AcquisitionDateTime = "20200301101530.250000+0100"
    ds.ContentDate = "2020.03.01"  # the old ACR-NEMA form
    ds.InstanceCreationDate = "2020"  # too vague to shift by days: emptied
    ds.add_new(0x00181200, "DA", ["20200229", "20200301"])  # DateOfLastCalibration, two values
    out = deidentify(ds, salt=SALT)
    days = dt.timedelta(deid.date_shift_days("P1", salt=SALT))
    assert out.StudyDate == (dt.date(2020, 3, 1) + days).strftime("%Y%m%d") == out.ContentDate
    assert out.StudyTime == "101530.25"  # a whole-day shift keeps the time of day
    assert out.AcquisitionDateTime == out.StudyDate + "101530.250000+0100"
    assert not out.InstanceCreationDate
    assert [
        _date(d) - _date(o) for d, o in zip(out[0x00181200].value, ["20200229", "20200301"])
    ] == [
        days,
        days,
    ]


def test_burned_in_warning_for_ultrasound_and_for_yes_but_not_for_plain_ct():
    us = pydicom.dcmread(get_testdata_file("US1_UNCR.dcm", download=False))
    with pytest.warns(DeidentifyWarning, match="ultrasound.*black out"):
        deidentify(us, salt=SALT)
    yes = _ct()
    yes.BurnedInAnnotation = "YES"
    with pytest.warns(DeidentifyWarning, match="BurnedInAnnotation is YES"):
        deidentify(yes, salt=SALT)
    with pytest.warns(DeidentifyWarning, match="secondary capture"):
        deidentify(pydicom.dcmread(get_testdata_file("SC_rgb.dcm")), salt=SALT)
    us.BurnedInAnnotation = "NO"  # the file itself says there is no burned-in text
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeidentifyWarning)
        deidentify(_ct(), salt=SALT)
        deidentify(us, salt=SALT)


def test_dicomdir_warns_that_its_paths_are_kept():
    ds = pydicom.dcmread(get_testdata_file("DICOMDIR"))
    with pytest.warns(DeidentifyWarning, match="DICOMDIR.*build a new"):
        out = deidentify(ds, salt=SALT)
    records = out.DirectoryRecordSequence
    ids = {str(r.PatientID) for r in records if "PatientID" in r}
    assert ids and all(i.startswith("RL-") for i in ids)


def test_another_salt_gives_other_uids_shifts_and_pseudonyms():
    ds = _ct()
    a, b = deidentify(ds, salt=SALT), deidentify(ds, salt=SALT + "2")
    assert a.SOPInstanceUID != b.SOPInstanceUID and a.StudyInstanceUID != b.StudyInstanceUID
    assert a.StudyDate != b.StudyDate and a.PatientID != b.PatientID
    assert a.file_meta.MediaStorageSOPInstanceUID == a.SOPInstanceUID


def test_the_salt_is_required_and_checked():
    ds = _ct()
    with pytest.raises(TypeError, match="salt"):
        deidentify(ds)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="secrets.token_hex"):
        deidentify(ds, salt=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="salt is empty"):
        deidentify(ds, salt="")
    with pytest.raises(TypeError, match="rl.dicom.read"):
        deidentify("CT_small.dcm", salt=SALT)  # type: ignore[arg-type]
    assert deidentify(ds, salt=SALT.encode()).SOPInstanceUID == reference_uid(ds.SOPInstanceUID)


def test_patient_characteristics_option_and_earlier_deidentification():
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    ds.PatientAge, ds.PatientWeight = "045Y", "70"
    ds.DeidentificationMethod = "an earlier tool"
    out = deidentify(ds, salt=SALT, keep_patient_characteristics=True)
    assert out.PatientAge == "045Y" and out.PatientWeight == 70 and out.PatientSex == ds.PatientSex
    assert [c.CodeValue for c in out.DeidentificationMethodCodeSequence] == [
        "113100",
        "113107",
        "113108",
    ]
    assert list(out.DeidentificationMethod) == [
        "an earlier tool",
        "radlab basic profile; modified dates; patient characteristics",
    ]
    plain = deidentify(ds, salt=SALT)
    assert "PatientAge" not in plain and "PatientWeight" not in plain and not plain.PatientSex


def test_a_copy_is_returned_with_the_same_kind_and_meta():
    ds = _ct()
    kept = copy.deepcopy(ds)
    out = deidentify(ds, salt=SALT)
    assert type(out) is type(ds) and out is not ds and ds == kept
    assert out.file_meta.TransferSyntaxUID == ds.file_meta.TransferSyntaxUID
