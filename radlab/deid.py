"""De-identify a DICOM dataset before it leaves the hospital (DICOM PS3.15 Annex E).

:func:`deidentify` returns a copy of a dataset with the identifiers of the
DICOM basic confidentiality profile removed or replaced, private tags removed,
dates moved back by the same number of days for each patient, and UIDs
replaced by new ones that stay linked. The pixels are not touched: when an
image may show a name burned into its pixels, a :class:`DeidentifyWarning`
says so and says what to check.

    >>> import pydicom
    >>> from pydicom.data import get_testdata_file
    >>> from radlab.deid import deidentify
    >>> ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    >>> anon = deidentify(ds, salt="our-project-secret")
    >>> str(ds.PatientName), str(anon.PatientName)
    ('CompressedSamples^CT1', 'RL-41A2F6426910')
    >>> ds.StudyDate, anon.StudyDate        # moved back by this patient's days
    ('20040119', '20031018')
    >>> anon.PatientIdentityRemoved, anon.SOPInstanceUID.startswith("2.25.")
    ('YES', True)

The rules are data, in :data:`PROFILE` (attribute keyword -> action), written
from PS3.15 Table E.1-1 (basic profile) with two of its standard options:
"Retain Longitudinal Temporal Information with Modified Dates" (dates are
shifted, not removed) and, on request, "Retain Patient Characteristics" (age,
sex, size, weight...). The actions:

- ``X`` remove the element;
- ``Z`` keep the element, empty (zero length);
- ``D`` replace with a dummy value: a pseudonym for the patient's name and
  ID (the same patient and salt always give the same pseudonym), ``REMOVED``
  for other text;
- ``U`` replace each UID by a new one (see :func:`remap_uid`);
- ``S`` shift a date (DA) or date-time (DT) by the patient's days; a time of
  day (TM) is kept, since a shift by whole days leaves it unchanged.

Elements not in the table follow three rules by their kind (VR): every
person's name (PN) is emptied, every other date (DA, DT) is shifted, and every
private element is removed; everything else is kept as it was.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import hmac
import warnings
from functools import partial
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

__all__ = [
    "DeidentifyWarning",
    "PROFILE",
    "PATIENT_CHARACTERISTICS",
    "deidentify",
    "remap_uid",
    "date_shift_days",
    "pseudonym",
]


class DeidentifyWarning(UserWarning):
    """The de-identified file still needs a person's look (e.g. text burned into the pixels)."""


# ----------------------------------------------------------------------------- the profile

# Attribute keyword -> action (X remove, Z empty, D dummy, U new UID, S shift date).
# From DICOM PS3.15 Table E.1-1, basic profile, with the dates of the "Retain
# Longitudinal Temporal Information with Modified Dates" option shifted (S).
PROFILE: dict[str, str] = {
    # --- the patient
    "PatientName": "D",
    "PatientID": "D",
    "IssuerOfPatientID": "X",
    "IssuerOfPatientIDQualifiersSequence": "X",
    "OtherPatientIDs": "X",
    "OtherPatientIDsSequence": "X",
    "OtherPatientNames": "X",
    "PatientBirthName": "X",
    "PatientMotherBirthName": "X",
    "PatientBirthDate": "Z",
    "PatientBirthTime": "X",
    "PatientAge": "X",
    "PatientSex": "Z",
    "PatientSize": "X",
    "PatientWeight": "X",
    "PatientSexNeutered": "X",
    "EthnicGroup": "X",
    "SmokingStatus": "X",
    "PregnancyStatus": "X",
    "PatientAddress": "X",
    "PatientTelephoneNumbers": "X",
    "PatientTelecomInformation": "X",
    "PatientReligiousPreference": "X",
    "Occupation": "X",
    "MilitaryRank": "X",
    "BranchOfService": "X",
    "CountryOfResidence": "X",
    "RegionOfResidence": "X",
    "MedicalRecordLocator": "X",
    "MedicalAlerts": "X",
    "Allergies": "X",
    "LastMenstrualDate": "X",
    "AdditionalPatientHistory": "X",
    "PatientComments": "X",
    "PatientState": "X",
    "PatientInsurancePlanCodeSequence": "X",
    "PatientPrimaryLanguageCodeSequence": "X",
    "PatientInstitutionResidence": "X",
    "CurrentPatientLocation": "X",
    "PatientTransportArrangements": "X",
    "SpecialNeeds": "X",
    "ResponsiblePerson": "X",
    "ResponsibleOrganization": "X",
    "ReferencedPatientSequence": "X",
    "ReferencedPatientPhotoSequence": "X",
    # --- the visit and the request
    "AssignedLocation": "X",
    "ScheduledStudyLocation": "X",
    "ScheduledStudyLocationAETitle": "X",
    "IssuerOfAccessionNumberSequence": "X",
    "PatientDeathDateInAlternativeCalendar": "X",
    "TimezoneOffsetFromUTC": "X",
    "AdmissionID": "X",
    "IssuerOfAdmissionID": "X",
    "AdmittingDiagnosesDescription": "X",
    "AdmittingDiagnosesCodeSequence": "X",
    "AdmittingDate": "S",
    "AdmittingTime": "S",
    "ServiceEpisodeID": "X",
    "ServiceEpisodeDescription": "X",
    "VisitComments": "X",
    "RequestAttributesSequence": "X",
    "RequestedProcedureID": "X",
    "RequestedProcedureDescription": "X",
    "RequestedProcedureComments": "X",
    "ReasonForStudy": "X",
    "ReasonForTheRequestedProcedure": "X",
    "RequestingPhysician": "X",
    "RequestingService": "X",
    "ImagingServiceRequestComments": "X",
    "PlacerOrderNumberImagingServiceRequest": "Z",
    "FillerOrderNumberImagingServiceRequest": "Z",
    "OrderEnteredBy": "X",
    "OrderEntererLocation": "X",
    "OrderCallbackPhoneNumber": "X",
    "ScheduledProcedureStepID": "X",
    "ScheduledProcedureStepDescription": "X",
    "ScheduledPerformingPhysicianName": "X",
    "ScheduledStationName": "X",
    "ScheduledStationAETitle": "X",
    "PerformedProcedureStepID": "X",
    "PerformedProcedureStepDescription": "X",
    "PerformedProcedureStepStartDate": "S",
    "PerformedProcedureStepStartTime": "S",
    "PerformedProcedureStepEndDate": "S",
    "PerformedProcedureStepEndTime": "S",
    "CommentsOnThePerformedProcedureStep": "X",
    "PerformedLocation": "X",
    "PerformedStationName": "X",
    "PerformedStationAETitle": "X",
    "ReferencedStudySequence": "X",
    "ReferencedPerformedProcedureStepSequence": "X",
    # --- the study, series and image
    "AccessionNumber": "Z",
    "StudyID": "Z",
    "StudyDate": "S",
    "StudyTime": "S",
    "SeriesDate": "S",
    "SeriesTime": "S",
    "AcquisitionDate": "S",
    "AcquisitionTime": "S",
    "AcquisitionDateTime": "S",
    "ContentDate": "S",
    "ContentTime": "S",
    "InstanceCreationDate": "S",
    "InstanceCreationTime": "S",
    "StudyDescription": "X",
    "SeriesDescription": "X",
    "ProtocolName": "X",
    "StudyComments": "X",
    "ImageComments": "X",
    "FrameComments": "X",
    "AcquisitionComments": "X",
    "DerivationDescription": "X",
    "IdentifyingComments": "X",
    "TextComments": "X",
    "ContrastBolusAgent": "Z",
    "ContentSequence": "X",
    "TextValue": "X",
    "UnformattedTextValue": "X",
    "GraphicAnnotationSequence": "X",
    "OverlayData": "X",
    "OverlayComments": "X",
    "DataSetTrailingPadding": "X",
    "DigitalSignaturesSequence": "X",
    "MACParametersSequence": "X",
    "EncryptedAttributesSequence": "X",
    "OriginalAttributesSequence": "X",
    "ModifiedAttributesSequence": "X",
    # --- radiotherapy free text
    "SourceApplicatorName": "X",
    "BeamDescription": "X",
    "BolusDescription": "X",
    "DoseReferenceDescription": "X",
    "FractionGroupDescription": "X",
    "PrescriptionDescription": "X",
    "SetupTechniqueDescription": "X",
    # --- clinical trials
    "ClinicalTrialSponsorName": "D",
    "ClinicalTrialProtocolID": "D",
    "ClinicalTrialProtocolName": "Z",
    "ClinicalTrialSiteID": "Z",
    "ClinicalTrialSiteName": "Z",
    "ClinicalTrialSubjectID": "D",
    "ClinicalTrialSubjectReadingID": "D",
    "ClinicalTrialTimePointID": "Z",
    "ClinicalTrialTimePointDescription": "Z",
    "ClinicalTrialCoordinatingCenterName": "Z",
    "ClinicalTrialProtocolEthicsCommitteeName": "D",
    "ClinicalTrialProtocolEthicsCommitteeApprovalNumber": "X",
    # --- the people
    "ContactDisplayName": "X",
    "RequestingPhysicianIdentificationSequence": "X",
    "ScheduledPerformingPhysicianIdentificationSequence": "X",
    "DistributionAddress": "X",
    "TextString": "X",
    "ReferringPhysicianName": "Z",
    "ReferringPhysicianAddress": "X",
    "ReferringPhysicianTelephoneNumbers": "X",
    "ReferringPhysicianIdentificationSequence": "X",
    "ConsultingPhysicianName": "X",
    "ConsultingPhysicianIdentificationSequence": "X",
    "PhysiciansOfRecord": "X",
    "PhysiciansOfRecordIdentificationSequence": "X",
    "PerformingPhysicianName": "X",
    "PerformingPhysicianIdentificationSequence": "X",
    "NameOfPhysiciansReadingStudy": "X",
    "PhysiciansReadingStudyIdentificationSequence": "X",
    "OperatorsName": "X",
    "OperatorIdentificationSequence": "X",
    "ContentCreatorName": "Z",
    "ContentCreatorIdentificationCodeSequence": "X",
    "VerifyingObserverName": "D",
    "VerifyingObserverIdentificationCodeSequence": "Z",
    "VerifyingOrganization": "X",
    "PersonName": "D",
    "PersonAddress": "X",
    "PersonTelephoneNumbers": "X",
    "ReviewerName": "X",
    "ROIInterpreter": "Z",
    "AuthorObserverSequence": "X",
    "ParticipantSequence": "X",
    "HumanPerformerName": "X",
    "HumanPerformerOrganization": "X",
    # --- the institution and the device
    "InstitutionName": "D",
    "InstitutionAddress": "X",
    "InstitutionalDepartmentName": "X",
    "InstitutionCodeSequence": "X",
    "StationName": "D",
    "StationAETitle": "X",
    "DeviceSerialNumber": "D",
    "DeviceUID": "U",
    "DetectorID": "X",
    "GantryID": "X",
    "PlateID": "X",
    "CassetteID": "X",
    "GeneratorID": "X",
    "DeviceDescription": "X",
    "ModifyingDeviceID": "X",
    "ModifyingDeviceManufacturer": "X",
    "ModifiedImageDescription": "X",
    "AcquisitionDeviceProcessingDescription": "X",
    "BarcodeValue": "X",
    # --- unique identifiers (UIDs) that name one object: remapped, so links survive
    "StudyInstanceUID": "U",
    "SeriesInstanceUID": "U",
    "SOPInstanceUID": "U",
    "MediaStorageSOPInstanceUID": "U",
    "ReferencedSOPInstanceUID": "U",
    "TargetUID": "U",
    "ReferencedSOPInstanceUIDInFile": "U",
    "FrameOfReferenceUID": "U",
    "ReferencedFrameOfReferenceUID": "U",
    "RelatedFrameOfReferenceUID": "U",
    "SourceFrameOfReferenceUID": "U",
    "SynchronizationFrameOfReferenceUID": "U",
    "InstanceCreatorUID": "U",
    "IrradiationEventUID": "U",
    "ConcatenationUID": "U",
    "DimensionOrganizationUID": "U",
    "StorageMediaFileSetUID": "U",
    "UID": "U",
    "FiducialUID": "U",
    "DoseReferenceUID": "U",
    "SpecimenUID": "U",
    "PaletteColorLookupTableUID": "U",
    "CreatorVersionUID": "U",
    "TemplateExtensionOrganizationUID": "U",
    "TemplateExtensionCreatorUID": "U",
    "ContextGroupExtensionCreatorUID": "U",
    "PresentationDisplayCollectionUID": "U",
    "PresentationSequenceCollectionUID": "U",
    "FailedSOPInstanceUIDList": "U",
    "TransactionUID": "U",
    "ObservationUID": "U",
    "TrackingUID": "U",
}

# Kept (not removed) with keep_patient_characteristics=True: the standard's "Retain Patient
# Characteristics" option, for studies that need age, sex or weight (e.g. PET SUV).
PATIENT_CHARACTERISTICS = frozenset(
    {
        "PatientAge",
        "PatientSex",
        "PatientSize",
        "PatientWeight",
        "PatientSexNeutered",
        "EthnicGroup",
        "SmokingStatus",
        "PregnancyStatus",
    }
)

_DUMMY = "REMOVED"  # fits every text kind, SH (16 characters) included
_TEXT_VRS = {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT"}
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_SECONDARY_CAPTURE = {  # SOP classes: Secondary Capture and its four multi-frame kinds
    "1.2.840.10008.5.1.4.1.1.7",
    "1.2.840.10008.5.1.4.1.1.7.1",
    "1.2.840.10008.5.1.4.1.1.7.2",
    "1.2.840.10008.5.1.4.1.1.7.3",
    "1.2.840.10008.5.1.4.1.1.7.4",
}
_DICOMDIR = "1.2.840.10008.1.3.10"  # Media Storage Directory Storage
_MAX_SHIFT_DAYS = 3650  # dates move back by 1 to 3650 days (up to ten years)
_METHOD = "radlab basic profile; modified dates"
_CODES = {  # DICOM code (DCM scheme) -> meaning, for DeidentificationMethodCodeSequence
    "113100": "Basic Application Confidentiality Profile",
    "113107": "Retain Longitudinal Temporal Information Modified Dates Option",
    "113108": "Retain Patient Characteristics Option",
}


# ----------------------------------------------------------------------------- keyed hashes


def _key(salt: Any) -> bytes:
    """The salt as bytes; the error says what a good salt is."""
    if isinstance(salt, str):
        salt = salt.encode("utf-8")
    if not isinstance(salt, bytes):
        raise TypeError(
            f"salt must be text (a str) or bytes, got {type(salt).__name__}. Use one secret "
            "string for the whole project, e.g. made once with secrets.token_hex(16)."
        )
    if not salt:
        raise ValueError(
            "salt is empty: give a secret string, the same for the whole project (e.g. made "
            "once with secrets.token_hex(16)) and kept away from the shared data."
        )
    return salt


def _digest(salt: Any, message: str) -> bytes:
    return hmac.new(_key(salt), message.encode("utf-8"), hashlib.sha256).digest()


def remap_uid(uid: str, *, salt: str | bytes) -> str:
    """The new UID that replaces ``uid``: the same UID and salt always give the same new one.

    The new UID is ``2.25.`` followed by the first 128 bits of HMAC-SHA256(salt, uid)
    written as a decimal number (the way PS3.5 allows a UUID-like number to be a UID);
    it is at most 44 characters long. Without the salt it cannot be traced back.

    Args:
        uid: the original UID (spaces and a trailing NUL are ignored).
        salt: the project's secret.

    Example:
        >>> remap_uid("1.2.3.4", salt="s") == remap_uid("1.2.3.4 ", salt="s")
        True
        >>> remap_uid("1.2.3.4", salt="s").startswith("2.25.")
        True
    """
    clean = str(uid).strip().rstrip("\x00").strip()
    number = int.from_bytes(hmac.new(_key(salt), clean.encode(), hashlib.sha256).digest()[:16])
    return f"2.25.{number}"


def date_shift_days(patient: str, *, salt: str | bytes) -> int:
    """How many days this patient's dates move: always back, by 1 to 3650 days.

    Every date of one patient moves by the same number of days, so the time between
    two studies of that patient is kept.

    Args:
        patient: the patient's ID as the file holds it (its PatientName when it has no
            PatientID; files with neither share one shift).
        salt: the project's secret.

    Example:
        >>> days = date_shift_days("12345", salt="s")
        >>> -3650 <= days <= -1, days == date_shift_days("12345", salt="s")
        (True, True)
    """
    number = int.from_bytes(_digest(salt, "radlab-days:" + str(patient).strip())[:8])
    return -(1 + number % _MAX_SHIFT_DAYS)


def pseudonym(patient: str, *, salt: str | bytes) -> str:
    """The patient's new name and ID, ``RL-`` and 12 letters or digits from a keyed hash.

    Example:
        >>> p = pseudonym("12345", salt="s")
        >>> p.startswith("RL-"), len(p), p == pseudonym("12345", salt="s")
        (True, 15, True)
    """
    return "RL-" + _digest(salt, "radlab-id:" + str(patient).strip()).hex()[:12].upper()


# ----------------------------------------------------------------------------- de-identify


def deidentify(
    ds: Dataset, *, salt: str | bytes, keep_patient_characteristics: bool = False
) -> Dataset:
    """A de-identified copy of ``ds`` (DICOM PS3.15 basic profile, dates shifted); ``ds`` is kept.

    What happens to each element is written in :data:`PROFILE`: names, IDs, birth date,
    addresses, institution, physicians, accession number, device serial numbers and
    free-text comments are removed or emptied (inside sequences too); private elements
    are removed; the patient's name and ID become a pseudonym; every date moves back by
    the patient's number of days (:func:`date_shift_days`; times of day are kept); each
    UID is replaced by :func:`remap_uid`. The pixels are not changed. The copy is marked
    the standard way: PatientIdentityRemoved "YES", DeidentificationMethod and its codes
    (113100 basic profile, 113107 modified dates), and
    LongitudinalTemporalInformationModified "MODIFIED".

    The salt is the secret that makes pseudonyms, shifts and UIDs: keep it secret
    (whoever has it can test a guessed name or UID against the shared data) and use the
    same salt for the whole project, or the files of one patient, series or study will
    no longer match each other. There is no default: a salt written in this code would
    not be a secret.

    A :class:`DeidentifyWarning` is given when the image may show identifiers burned into
    its pixels, which no header change removes. The rule: the file has pixels and its
    BurnedInAnnotation is "YES"; or BurnedInAnnotation is absent (or neither "YES" nor
    "NO") and the image is a secondary capture (a screenshot-like SOP class), ultrasound
    (Modality "US"), or its ImageType says "SECONDARY". A DICOMDIR (the index of a CD)
    gets a warning too: its file paths are kept, and folder names often hold patient IDs.

    Args:
        ds: a dataset read with pydicom (``pydicom.dcmread`` or ``rl.dicom.read``).
        salt: the project's secret (text or bytes, not empty).
        keep_patient_characteristics: keep age, sex, size, weight, ethnic group,
            smoking and pregnancy status (the standard's "Retain Patient
            Characteristics" option, code 113108), for studies that need them.

    Returns:
        a new dataset of the same kind (file meta information included, its
        MediaStorageSOPInstanceUID remapped like the SOPInstanceUID).

    Raises:
        TypeError: ``ds`` is not a pydicom dataset, or the salt is missing or not text.
        ValueError: the salt is empty.

    Example:
        >>> import pydicom
        >>> from pydicom.data import get_testdata_file
        >>> ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        >>> a = deidentify(ds, salt="our-project-secret")
        >>> b = deidentify(ds, salt="our-project-secret")
        >>> a.SeriesInstanceUID == b.SeriesInstanceUID != ds.SeriesInstanceUID
        True
        >>> "InstitutionName" in ds, a.InstitutionName, a.PixelData == ds.PixelData
        (True, 'REMOVED', True)
    """
    if not isinstance(ds, Dataset):
        raise TypeError(
            f"deidentify needs a DICOM dataset, got {type(ds).__name__}. Read the file "
            "first: ds = rl.dicom.read(path) (or pydicom.dcmread(path))."
        )
    _key(salt)  # a clear error before any work
    out = copy.deepcopy(ds)
    patient = _patient_key(out)
    rules = _Rules(salt, date_shift_days(patient, salt=salt), keep_patient_characteristics)
    _clean(out, rules)
    if getattr(out, "file_meta", None) is not None:
        _clean(out.file_meta, rules)
    _mark(out, keep_patient_characteristics)
    if _is_dicomdir(ds):
        warnings.warn(
            "This is a DICOMDIR, the index of a CD or DVD. Its file paths (ReferencedFileID) "
            "are kept so that it still finds the files, and folder names often hold a patient "
            "ID or name. Do not share it: de-identify the image files and build a new "
            "DICOMDIR from them (pydicom.fileset.FileSet).",
            DeidentifyWarning,
            stacklevel=2,
        )
    reason = _burned_in_reason(ds)
    if reason:
        warnings.warn(
            f"This image may show the patient's name, ID or dates burned into its pixels: "
            f"{reason}. De-identification changes the header only. Look at every frame and "
            "black out any text before sharing the file.",
            DeidentifyWarning,
            stacklevel=2,
        )
    return out


def _is_dicomdir(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    sop = meta.get("MediaStorageSOPClassUID", "") if meta is not None else ""
    return str(sop).strip() == _DICOMDIR or "DirectoryRecordSequence" in ds


def _patient_key(ds: Dataset) -> str:
    """What identifies the patient for the date shift: PatientID, else PatientName, else ''."""
    for keyword in ("PatientID", "PatientName"):
        value = str(ds.get(keyword, "") or "").strip()
        if value:
            return value
    return ""


class _Rules:
    """The salt, the patient's shift and the chosen options, applied to one element at a time."""

    def __init__(self, salt: Any, days: int, keep_characteristics: bool) -> None:
        self.salt, self.days = salt, days
        self.keep = PATIENT_CHARACTERISTICS if keep_characteristics else frozenset()

    def action(self, keyword: str, vr: str) -> str | None:
        """The table's action for this element, else the rule for its kind (None: keep)."""
        if keyword in self.keep:
            return None
        if keyword in PROFILE:
            return PROFILE[keyword]
        return {"PN": "Z", "DA": "S", "DT": "S"}.get(vr)


def _clean(ds: Dataset, rules: _Rules) -> None:
    """Apply the rules to every element of ``ds`` and of the items of its sequences."""
    original_id = _patient_key(ds)  # before PatientID itself is replaced
    for tag in list(ds.keys()):
        if tag.is_private or 0x5000 <= tag.group <= 0x50FF:  # private; curve data (retired)
            del ds[tag]
            continue
        elem = ds[tag]
        action = rules.action(elem.keyword, elem.VR)
        if action == "X":
            del ds[tag]
        elif action == "Z":
            elem.value = Sequence() if elem.VR == "SQ" else None
        elif action == "D":
            elem.value = _dummy(original_id, elem, rules.salt)
        elif action == "U":
            elem.value = _each(elem.value, lambda uid: remap_uid(uid, salt=rules.salt))
        elif action == "S":
            elem.value = _each(elem.value, partial(_shift, vr=elem.VR, days=rules.days))
        elif elem.VR == "SQ":
            for item in elem.value or []:
                _clean(item, rules)


def _each(value: Any, change) -> Any:
    """Apply ``change`` to each value of a (possibly multi-valued) element; empty stays empty."""
    if value is None:
        return None
    if isinstance(value, (list, MultiValue)):
        return [change(str(v)) if str(v).strip() else "" for v in value]
    return change(str(value)) if str(value).strip() else value


def _dummy(patient: str, elem: Any, salt: Any) -> Any:
    """The patient's pseudonym for the name and ID (one for both, so they still match)."""
    if elem.keyword in ("PatientID", "PatientName"):
        return pseudonym(patient, salt=salt) if str(elem.value or "").strip() else ""
    return _DUMMY if elem.VR in _TEXT_VRS else None


def _shift(text: str, vr: str, days: int) -> str:
    """A DA or DT moved by ``days``; a TM is kept; a date too vague or broken to shift -> ''."""
    if vr not in ("DA", "DT"):
        return text
    text = text.strip()
    if vr == "DA" and len(text) == 10 and text[4] == "." and text[7] == ".":
        text = text.replace(".", "")  # the old ACR-NEMA form YYYY.MM.DD
    if len(text) < 8 or not text[:8].isdigit() or (vr == "DA" and len(text) != 8):
        return ""
    try:
        moved = _dt.date(int(text[:4]), int(text[4:6]), int(text[6:8])) + _dt.timedelta(days)
    except (ValueError, OverflowError):
        return ""
    return f"{moved.year:04d}{moved.month:02d}{moved.day:02d}" + text[8:]


def _mark(ds: Dataset, keep_characteristics: bool) -> None:
    """Say in the file, the standard way, that and how it was de-identified."""
    ds.PatientIdentityRemoved = "YES"
    ds.LongitudinalTemporalInformationModified = "MODIFIED"
    method = _METHOD + ("; patient characteristics" if keep_characteristics else "")
    before = ds.get("DeidentificationMethod")
    before = [] if not before else [before] if isinstance(before, str) else list(before)
    ds.DeidentificationMethod = before + [method] if before else method
    codes = ["113100", "113107"] + (["113108"] if keep_characteristics else [])
    items = list(ds.get("DeidentificationMethodCodeSequence") or [])
    for code in codes:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator = code, "DCM"
        item.CodeMeaning = _CODES[code]
        items.append(item)
    ds.DeidentificationMethodCodeSequence = items


def _burned_in_reason(ds: Dataset) -> str | None:
    """Why the pixels may hold identifiers (words for the warning), or None."""
    if not any(keyword in ds for keyword in _PIXEL_KEYWORDS):
        return None
    flag = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
    if flag == "YES":
        return "its BurnedInAnnotation is YES"
    if flag == "NO":
        return None
    image_type = ds.get("ImageType") or []
    image_type = [image_type] if isinstance(image_type, str) else list(image_type)
    if str(ds.get("SOPClassUID", "")).strip() in _SECONDARY_CAPTURE:
        kind = "a secondary capture (a screen capture or scanned image)"
    elif str(ds.get("Modality", "")).strip().upper() == "US":
        kind = "an ultrasound image (these often show the name and date on screen)"
    elif any(str(v).strip().upper() == "SECONDARY" for v in image_type):
        kind = "a SECONDARY image (its ImageType: derived or captured, e.g. a screenshot)"
    else:
        return None
    return f"it is {kind} and does not say BurnedInAnnotation NO"
