"""Synthetic CT phantoms in Hounsfield units, with exact ground truth.

Every image here is computed, not scanned: the generator knows which pixel is
liver, lesion, aorta or bone, what the lesion is, and how much noise was added.
That makes every lesson run without a download, and every answer checkable.

========================  ==========================================================
``liver_lesions``         axial abdominal CT slices in three phases (unenhanced,
                          arterial, delayed), one liver lesion per patient in one
                          of five categories (A classic HCC ... E cyst), masks
``liver_volume``          the same as a stack of contiguous slices (a CT series)
``fibrosis_livers``       one-phase slices whose liver surface, caudate lobe and
                          parenchyma change with fibrosis stage F0-F4
``tensors``               cases as tensors for a CNN: windowed images, a target
``surface_irregularity``  a hand-made feature: how nodular a mask's outline is
``survival_times``        follow-up times with a known hazard (c-index truth)
``to_dicom``              write one phantom patient as real DICOM series
========================  ==========================================================

The scanner's share (noise and dose, reconstruction kernels, slice thickness) lives in
:mod:`radlab.ct_physics`. Tissue values come from ``REFERENCE_HU`` (typical textbook
ranges) and ``LESION_HU``; each patient gets its own values drawn inside these
ranges. The same seed always gives the same arrays; ``seed=None`` means the
course seed (``rl.config.seed()``).

How a slice is made: each patient's layout (body habitus, landmarks, liver
lobes, lesion) is drawn as numbers in mm (``_Body``, ``_Liver``, ``_Lesions``),
then tissues are painted onto a pixel grid one after another, each blended in
by the share of the pixel it covers (partial volume), and noise is added last.

Example:
    >>> cases = liver_lesions(10, seed=0)
    >>> cases.images.shape, cases.images.dtype.name
    ((10, 3, 64, 64), 'float32')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Self

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from scipy import ndimage

from . import config
from .ct_physics import correlated_noise, gaussian_blur

__all__ = [
    "PHASES",
    "REFERENCE_HU",
    "LESION_HU",
    "LESION_CATEGORIES",
    "TISSUES",
    "LiverCases",
    "FibrosisCases",
    "SurvivalData",
    "liver_lesions",
    "liver_volume",
    "fibrosis_livers",
    "tensors",
    "surface_irregularity",
    "survival_times",
    "to_dicom",
]

PHASES = ("unenhanced", "arterial", "delayed")

# Typical textbook HU ranges (unenhanced, arterial, delayed 3-5 min), given for
# realism, not as diagnostic criteria. Each phantom patient draws its own value
# uniformly inside each (low, high) range, so no two patients look alike.
REFERENCE_HU: dict[str, tuple[tuple[float, float], ...]] = {
    "air": ((-1000, -1000),) * 3,
    "fat": ((-110, -90),) * 3,
    "muscle": ((45, 55), (55, 65), (60, 70)),
    "liver": ((50, 60), (70, 80), (100, 110)),
    "aorta": ((35, 45), (250, 350), (120, 150)),  # the blood pool
    "portal_vein": ((35, 45), (80, 100), (150, 180)),
    "ivc": ((35, 45), (60, 90), (120, 150)),
    # hepatic veins are not yet opacified in the arterial phase
    "hepatic_vein": ((35, 45), (40, 55), (130, 150)),
    "kidney_cortex": ((30, 40), (150, 200), (120, 150)),
    # corticomedullary contrast in the arterial phase
    "kidney_medulla": ((25, 35), (60, 80), (120, 150)),
    "spleen": ((40, 50), (100, 130), (100, 120)),
    "stomach_wall": ((35, 45), (70, 90), (70, 80)),
    "water": ((0, 10),) * 3,  # stomach contents, CSF, ascites
    "bone_cancellous": ((300, 450),) * 3,  # vertebral body
    "bone_cortex": ((700, 1000),) * 3,
}

# The five lesion categories of Yasaka et al., Radiology 2018 (reviewed in
# Yasaka et al., Jpn J Radiol 2018): name and look in each phase.
LESION_CATEGORIES: dict[str, tuple[str, str]] = {
    "A": (
        "classic HCC",
        "slightly hypodense unenhanced; bright (hyper-enhancing) in the arterial phase; "
        "washes out (darker than liver) in the delayed phase, often with a bright capsule rim",
    ),
    "B": (
        "other malignant",
        "e.g. metastasis: rim enhancement with a dark centre in the arterial phase, "
        "stays darker than liver in the delayed phase (some fill in slowly, like "
        "cholangiocarcinoma)",
    ),
    "C": ("indeterminate / rare benign", "close to liver in every phase: the hard class"),
    "D": (
        "hemangioma",
        "peripheral nodular enhancement as bright as the aorta in the arterial phase, "
        "filled in centripetally, iso to the blood pool, in the delayed phase",
    ),
    "E": ("cyst", "water density (0-15 HU) with a sharp edge; never enhances"),
}

# Lesion values per category: "core" (the whole lesion), "rim" (an outer ring),
# "nodules" (peripheral puddles), each given for the three phases. A value is
# (low, high) in HU, or relative: ("liver", lo, hi) = that phase's liver + U(lo, hi);
# ("aorta", lo, hi) = that phase's aorta x U(lo, hi); ("unenhanced", lo, hi) = the
# lesion's own unenhanced value + U(lo, hi); "core" = same as the core.
LESION_HU: dict[str, dict[str, tuple]] = {
    # classic HCC: the capsule (rim) shows in the delayed phase
    "A": {"core": ((40, 45), (100, 130), (70, 85)), "rim": ("core", "core", ("liver", 10, 25))},
    # other malignant: rim enhancement, dark centre
    "B": {"core": ((35, 45), (45, 60), (55, 75)), "rim": ("core", (85, 110), (75, 95))},
    "C": {"core": ((45, 55), ("liver", -12, 12), ("liver", -12, 10))},
    # hemangioma: puddles near the blood pool, then filled in
    "D": {
        "core": ((38, 42), (45, 65), ("aorta", 0.92, 1.05)),
        "nodules": ("core", ("aorta", 0.8, 1.0), "core"),
    },
    "E": {"core": ((2, 13), ("unenhanced", -2, 2), ("unenhanced", -2, 2))},
}
# Some category B lesions fill in slowly (cholangiocarcinoma-like): their share, delayed HU
_B_SLOW_FILL_SHARE, _B_SLOW_FILL_HU = 0.25, (85.0, 100.0)

# Codes of the tissue map (``cases.tissue``): TISSUES[code] is the tissue's name.
TISSUES = (
    "air",
    "fat",
    "muscle",
    "bone",
    "water",
    "kidney",
    "spleen",
    "stomach",
    "aorta",
    "ivc",
    "portal_vein",
    "hepatic_vessel",
    "liver",
    "lesion",
)
_CODE = {name: code for code, name in enumerate(TISSUES)}
_HU_LIMITS = (-1024.0, 3071.0)  # what a 12-bit CT stores
_NOISE_GRAIN_PX = 0.8  # grain of the phantoms' CT noise, pixels (see ct_physics.add_ct_noise)


# ---------------------------------------------------------------- result types


class _Cases:
    """Shared behaviour of the phantom results: length, row subsets, volumes, DICOM."""

    images: np.ndarray
    patient_id: np.ndarray
    z_mm: np.ndarray
    pixel_mm: float
    noise_hu: float
    dose: float
    phases: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.images)

    @property
    def _noise_sd(self) -> float:
        """The noise SD at the dose of these images, HU."""
        return self.noise_hu / math.sqrt(self.dose)

    def _per_image_fields(self) -> list[str]:
        """Names of the arrays with one row per image (``images``, ``label``, masks...)."""
        n = len(self)
        return [
            f.name
            for f in fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
            and getattr(self, f.name).shape[:1] == (n,)
        ]

    def subset(self, rows) -> Self:
        """The same cases restricted to ``rows`` (indices or a boolean mask), e.g. one split."""
        rows = np.arange(len(self))[rows]
        return replace(
            self, **{name: getattr(self, name)[rows] for name in self._per_image_fields()}
        )

    def patient_rows(self, patient) -> np.ndarray:
        """Row indices of one patient's slices, in slice order."""
        rows = np.flatnonzero(self.patient_id == patient)
        if rows.size == 0:
            raise ValueError(
                f"no patient {patient!r} in these cases; patient_id runs over "
                f"{np.unique(self.patient_id)[:5].tolist()}..."
            )
        return rows[np.argsort(self.z_mm[rows])]

    def volume(self, patient, phase: str = "delayed") -> np.ndarray:
        """One patient's slices of one phase stacked as a volume (Z, H, W), HU."""
        if phase not in self.phases:
            raise ValueError(f"phase {phase!r} is not one of {self.phases}")
        return self.images[self.patient_rows(patient), self.phases.index(phase)]

    def to_dicom(self, index: int, folder) -> list[Path]:
        """Write the patient of image ``index`` as DICOM series; see :func:`to_dicom`."""
        return to_dicom(self, index, folder)

    def _summary(self, what: str) -> str:
        """First words of the repr: images, patients, matrix, pixel size."""
        n, _, h, w = self.images.shape
        patients = _count(np.unique(self.patient_id).size, "patient")
        return f"{what}: {n} images of {patients}, {h}x{w} px ({self.pixel_mm:.2f} mm/px)"


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


@dataclass(repr=False)
class LiverCases(_Cases):
    """Three-phase liver CT slices with one lesion each, and their exact ground truth.

    Arrays have one row per image (N = patients x slices per patient):

    - ``images`` float32 (N, 3, H, W), HU; channels = ``phases``
    - ``label`` int64 (N,): index into ``categories`` / ``label_names``
    - ``category`` (N,): the letter, A-E
    - ``liver_mask``, ``lesion_mask`` bool (N, H, W): the liver mask holds the parenchyma,
      its small vessels and the lesion (not the IVC or the main portal vein)
    - ``tissue`` uint8 (N, H, W): codes into ``TISSUES``
    - ``patient_id`` int64 (N,); ``z_mm`` float32 (N,): slice position
    - ``diameter_mm`` float32 (N,): the lesion's true (3-D) diameter
    """

    images: np.ndarray
    label: np.ndarray
    category: np.ndarray
    liver_mask: np.ndarray
    lesion_mask: np.ndarray
    tissue: np.ndarray
    patient_id: np.ndarray
    z_mm: np.ndarray
    diameter_mm: np.ndarray
    categories: str
    label_names: tuple[str, ...]
    pixel_mm: float
    noise_hu: float
    dose: float
    seed: int
    phases: tuple[str, ...] = PHASES
    kind: str = "liver"

    def __repr__(self) -> str:
        counts = ", ".join(f"{c} {int((self.category == c).sum())}" for c in self.categories)
        lines = [
            f"{self._summary('LiverCases')}, phases {' / '.join(self.phases)} as channels, HU",
            f"  noise SD {self._noise_sd:.1f} HU (dose {self.dose:g}), seed {self.seed}",
            f"  categories: {counts}",
        ]
        lines += [f"  {c} {': '.join(LESION_CATEGORIES[c])}" for c in self.categories]
        return "\n".join(lines)


@dataclass(repr=False)
class FibrosisCases(_Cases):
    """One-phase liver CT slices with a fibrosis stage, and their exact ground truth.

    - ``images`` float32 (N, 1, H, W), HU, phase ``phases[0]``
    - ``stage`` int64 (N,): METAVIR-like stage 0-4; ``label`` int64 (N,): index into ``stages``
    - ``score`` float32 (N,): the continuous severity behind the stage (stage +/- scatter)
    - ``caudate_ratio`` float32 (N,): the caudate-right lobe ratio each liver was built with
      (as on CT, > 0.65 suggests cirrhosis; grows with stage)
    - ``liver_mask`` bool, ``tissue`` uint8 (N, H, W); ``patient_id`` int64, ``z_mm`` float32 (N,)
    """

    images: np.ndarray
    stage: np.ndarray
    label: np.ndarray
    score: np.ndarray
    caudate_ratio: np.ndarray
    liver_mask: np.ndarray
    tissue: np.ndarray
    patient_id: np.ndarray
    z_mm: np.ndarray
    stages: tuple[int, ...]
    label_names: tuple[str, ...]
    pixel_mm: float
    noise_hu: float
    dose: float
    seed: int
    phases: tuple[str, ...] = ("delayed",)
    kind: str = "fibrosis"

    def __repr__(self) -> str:
        counts = ", ".join(f"F{s} {int((self.stage == s).sum())}" for s in self.stages)
        return (
            f"{self._summary('FibrosisCases')}, {self.phases[0]} phase, HU, "
            f"noise SD {self._noise_sd:.1f} HU, seed {self.seed}\n  stages: {counts}\n"
            "  with stage the liver surface grows nodular, the caudate lobe grows against the "
            "right lobe, the parenchyma grows heterogeneous, the spleen enlarges; some F4 livers "
            "have ascites"
        )


@dataclass(repr=False)
class SurvivalData:
    """Follow-up times with a known hazard.

    - ``time`` float32 (N,): months to death or to the end of follow-up
    - ``event`` bool (N,): True = died at ``time``, False = censored (alive at ``time``)
    - ``feature`` float32 (N,): the feature the hazard depends on
    - ``log_hazard`` float32 (N,): the true risk score, beta x standardised feature
    - ``expected_c_index``: the concordance the true risk reaches on average
    """

    time: np.ndarray
    event: np.ndarray
    feature: np.ndarray
    log_hazard: np.ndarray
    expected_c_index: float
    beta: float
    median_months: float

    def __len__(self) -> int:
        return len(self.time)

    def __repr__(self) -> str:
        return (
            f"SurvivalData: {len(self)} patients, {int(self.event.sum())} deaths, "
            f"{int((~self.event).sum())} censored; hazard ratio {math.exp(self.beta):.2f} per "
            f"SD of the feature; scoring by the true hazard reaches a c-index of "
            f"{self.expected_c_index:.3f} on average (chance decides the rest)"
        )


# ------------------------------------------------------------ random values


def _rng_pair(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Two independent streams: anatomy, and noise (so noise_hu=0 leaves the anatomy unchanged)."""
    anatomy, noise = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(anatomy), np.random.default_rng(noise)


def _u(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    """n values drawn uniformly in [lo, hi), float32."""
    return rng.uniform(lo, hi, n).astype(np.float32)


def _tissue_values(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Each tissue's HU for each patient and phase: {tissue: (n, 3)}."""
    return {
        name: np.stack([_u(rng, lo, hi, n) for lo, hi in ranges], axis=1)
        for name, ranges in REFERENCE_HU.items()
    }


def _spec_value(rng, spec, phase: int, core: np.ndarray, ref: dict[str, np.ndarray]) -> np.ndarray:
    """One phase of a ``LESION_HU`` value for n lesions: (n,)."""
    n = len(core)
    if spec == "core":
        return core[:, phase].copy()
    if isinstance(spec[0], str):
        kind, lo, hi = spec
        draw = _u(rng, lo, hi, n)
        if kind == "aorta":
            return ref["aorta"][:, phase] * draw
        base = core[:, 0] if kind == "unenhanced" else ref[kind][:, phase]
        return base + draw
    return _u(rng, spec[0], spec[1], n)


def _lesion_values(rng, letter: str, ref: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Core, rim and nodule HU (n, 3) of n lesions of one category; ``ref``: their tissues."""
    n = len(ref["liver"])
    table = LESION_HU[letter]
    core = np.zeros((n, 3), np.float32)
    for p in range(3):  # one phase at a time: "unenhanced" values refer to phase 0
        core[:, p] = _spec_value(rng, table["core"][p], p, core, ref)
    if letter == "B":
        slow = rng.random(n) < _B_SLOW_FILL_SHARE
        core[slow, 2] = _u(rng, *_B_SLOW_FILL_HU, n)[slow]
    out = {"core": core}
    for part in ("rim", "nodules"):
        specs = table.get(part, ("core",) * 3)
        out[part] = np.stack([_spec_value(rng, specs[p], p, core, ref) for p in range(3)], axis=1)
    return out


# ------------------------------------------------------------------ layouts
#
# A patient's layout is numbers, not pixels: sizes and positions in mm, one array
# entry per patient (n,). ``rows(...)`` repeats them for each of a patient's slices
# (one entry per image, N). Coordinates: x to the image's right (the patient's left),
# y posterior, (0, 0) near the middle of the body, as in ``_Grid``.


class _PerPatient:
    """A dataclass whose fields are arrays with one entry per patient (or such dataclasses)."""

    def rows(self, rows: np.ndarray) -> Self:
        """One entry per image: ``rows`` says which patient each image shows."""

        def take(value):  # an array, or a nested layout such as a liver lobe
            return value.rows(rows) if isinstance(value, _PerPatient) else value[rows]

        return replace(self, **{f.name: take(getattr(self, f.name)) for f in fields(self)})


@dataclass
class _Body(_PerPatient):
    """Body habitus and the fixed landmarks (spine, aorta, IVC); lengths in mm."""

    half_width: np.ndarray  # body outline (an ellipse): half-width along x, mm
    half_depth: np.ndarray  # body outline: half-depth along y, mm
    fat: np.ndarray  # subcutaneous fat thickness, mm
    muscle: np.ndarray  # abdominal wall muscle thickness, mm
    x: np.ndarray  # centre of the body outline: x, mm
    y: np.ndarray  # centre of the body outline: y, mm
    vertebra_radius: np.ndarray  # vertebral body, mm (drawn 15% wider than deep)
    vertebra_y: np.ndarray  # centre of the vertebral body, mm (it sits at x = 0)
    aorta_radius: np.ndarray  # mm
    aorta_x: np.ndarray  # aorta centre: x, mm (left of the midline)
    aorta_y: np.ndarray  # aorta centre: y, mm (in front of the spine)
    ivc_x: np.ndarray  # IVC centre: x, mm (right of the midline; the IVC is 26 x 18 mm)
    ivc_y: np.ndarray  # IVC centre: y, mm

    @property
    def cavity_half_width(self) -> np.ndarray:
        """Abdominal cavity (inside the muscle wall): half-width, mm."""
        return self.half_width - self.fat - self.muscle

    @property
    def cavity_half_depth(self) -> np.ndarray:
        """Abdominal cavity: half-depth, mm."""
        return self.half_depth - self.fat - self.muscle


def _body_layout(rng, n: int) -> _Body:
    """Draw the body layout of n patients."""
    half_width = _u(rng, 135, 175, n)
    half_depth = half_width * _u(rng, 0.68, 0.78, n)
    fat = _u(rng, 6, 14, n) + (half_width - 135) * _u(rng, 0.15, 0.45, n)  # wider: more fat
    muscle = _u(rng, 6, 10, n)
    x, y = _u(rng, -4, 4, n), _u(rng, -4, 4, n)
    vertebra_radius = _u(rng, 16, 20, n)
    vertebra_y = y + half_depth - fat - 42 - vertebra_radius  # paraspinal muscles behind it
    aorta_radius = _u(rng, 9, 12, n)
    aorta_x = _u(rng, 6, 14, n)
    aorta_y = vertebra_y - vertebra_radius - aorta_radius - _u(rng, 2, 5, n)
    ivc_x = -_u(rng, 20, 28, n)
    ivc_y = vertebra_y - vertebra_radius - _u(rng, 6, 12, n)
    return _Body(
        half_width=half_width,
        half_depth=half_depth,
        fat=fat,
        muscle=muscle,
        x=x,
        y=y,
        vertebra_radius=vertebra_radius,
        vertebra_y=vertebra_y,
        aorta_radius=aorta_radius,
        aorta_x=aorta_x,
        aorta_y=aorta_y,
        ivc_x=ivc_x,
        ivc_y=ivc_y,
    )


@dataclass
class _Lobe(_PerPatient):
    """One liver lobe: an ellipse whose radius follows an outline table with angle; mm."""

    x: np.ndarray  # centre: x, mm
    y: np.ndarray  # centre: y, mm
    half_width: np.ndarray  # half-axis along x at the lobe's centre slice, before ``scale``, mm
    half_depth: np.ndarray  # half-axis along y, mm
    scale: np.ndarray  # size change with fibrosis (1 = normal)
    outline: np.ndarray  # (n, 512) radius against angle relative to the ellipse: bumps = nodules


@dataclass
class _Liver(_PerPatient):
    """Liver lobes, portal vein, spleen, and the signs of fibrosis."""

    right: _Lobe  # shrinks with fibrosis (scale 1 - 0.05 x score)
    left: _Lobe  # grows a little (scale 1 + 0.04 x score)
    caudate: _Lobe  # in front of the IVC; grows against the right lobe
    caudate_ratio: np.ndarray  # caudate-right lobe ratio (caudate half-width: 0.6 x it x right's)
    portal_x: np.ndarray  # main portal vein at the hilum, centre: x, mm
    portal_y: np.ndarray  # main portal vein, centre: y, mm
    portal_radius: np.ndarray  # mm
    spleen_scale: np.ndarray  # spleen size relative to normal: grows with fibrosis
    heterogeneity: np.ndarray  # SD of the parenchymal texture, HU
    ascites: np.ndarray  # bool: a rim of fluid around the liver


def _liver_layout(rng, body: _Body, score: np.ndarray) -> _Liver:
    """Draw the liver of n patients; a fibrosis ``score`` (n,) 0-4 remodels it (0: normal)."""
    n = len(score)
    cav_w, cav_d = body.cavity_half_width, body.cavity_half_depth
    right_scale = 1 - 0.05 * score
    caudate_ratio = _u(rng, 0.38, 0.5, n) * (1 + 0.1 * score) / right_scale
    right_w, right_d = cav_w * _u(rng, 0.46, 0.54, n), cav_d * _u(rng, 0.72, 0.84, n)
    right_x, right_y = -cav_w * _u(rng, 0.44, 0.5, n), body.y - cav_d * _u(rng, 0.02, 0.1, n)
    left_w, left_d = cav_w * _u(rng, 0.28, 0.36, n), cav_d * _u(rng, 0.22, 0.3, n)
    left_x, left_y = cav_w * _u(rng, -0.1, 0.02, n), body.y - cav_d * _u(rng, 0.52, 0.6, n)
    caudate_w = caudate_ratio * 0.6 * right_w
    caudate_d = caudate_w * _u(rng, 0.9, 1.2, n)
    caudate_x = body.ivc_x + _u(rng, 4, 10, n)
    caudate_y = body.ivc_y - caudate_d - _u(rng, 2, 6, n)
    portal_radius = _u(rng, 6, 8, n)
    portal_x = caudate_x - caudate_w - _u(rng, 4, 10, n)
    portal_y = caudate_y - _u(rng, 6, 16, n)
    spleen_scale = (1 + 0.07 * score) * _u(rng, 0.9, 1.1, n)
    ascites = rng.random(n) < np.clip((score - 3.0) * 0.5, 0, 1)
    nodular = 0.045 * score**0.6 * _u(rng, 0.8, 1.2, n)  # F1 subtle, F4 ~10% of the radius
    right, left, caudate = (_outline_table(rng, n, nodular * k) for k in (1.0, 1.0, 0.5))
    return _Liver(
        right=_Lobe(right_x, right_y, right_w, right_d, right_scale, right),
        left=_Lobe(left_x, left_y, left_w, left_d, 1 + 0.04 * score, left),
        caudate=_Lobe(caudate_x, caudate_y, caudate_w, caudate_d, np.ones_like(score), caudate),
        caudate_ratio=caudate_ratio,
        portal_x=portal_x,
        portal_y=portal_y,
        portal_radius=portal_radius,
        spleen_scale=spleen_scale,
        heterogeneity=2.0 + 2.2 * score,
        ascites=ascites,
    )


def _outline_table(rng, n: int, bumps: np.ndarray, size: int = 512) -> np.ndarray:
    """Relative radius of a lobe against angle, (n, size): a gentle wobble, plus nodular
    scallops of height ``bumps`` (n,) (bulges with notches between them)."""
    theta = np.linspace(-np.pi, np.pi, size, endpoint=False, dtype=np.float32)[None, :]

    def wave(k):  # cos(k theta) at a random phase per patient
        return np.cos(k * theta + _u(rng, 0, 2 * np.pi, n)[:, None])

    r = np.ones((n, size), np.float32)
    for k in (2, 3, 4):  # the patient's own shape
        r += _u(rng, 0, 0.04 / k, n)[:, None] * wave(k)
    count = rng.integers(22, 34, n)[:, None]  # nodules around the lobe
    jitter = 0.8 * np.sin(3 * theta + _u(rng, 0, 2 * np.pi, n)[:, None])  # unequal nodules
    scallop = np.abs(np.sin(count * theta / 2 + jitter)) - 2 / np.pi  # mean 0
    heights = 1 + 0.4 * wave(2) + 0.3 * wave(7)  # uneven from place to place
    return (r + bumps[:, None] * heights * scallop).astype(np.float32)


@dataclass
class _Lesions(_PerPatient):
    """Each patient's lesion: a sphere in the right lobe, its look in each phase."""

    radius: np.ndarray  # radius of the sphere, mm
    eccentricity: np.ndarray  # in-slice elongation: half-axes radius x (1 +/- eccentricity)
    angle: np.ndarray  # direction of the long axis, radians
    nodule_count: np.ndarray  # hemangioma: number of peripheral puddles, 3-6
    nodule_angle: np.ndarray  # hemangioma: where the first puddle sits, radians
    u: np.ndarray  # centre: x offset from the right lobe's centre, in its half-widths
    v: np.ndarray  # centre: y offset from the right lobe's centre, in its half-depths
    core: np.ndarray  # (n, phases) HU of the whole lesion
    rim: np.ndarray  # (n, phases) HU of the outer ring (where ``has_rim``)
    nodules: np.ndarray  # (n, phases) HU of the puddles (differs from core only for D)
    has_rim: np.ndarray  # bool: metastases, and most HCC (a capsule)
    rim_width: np.ndarray  # share of the radius the rim takes
    texture: np.ndarray  # SD of the lesion's mottle, HU, arterial (other phases: _MOTTLE_BY_PHASE)


def _lesion_layout(rng, letters: np.ndarray, hu: dict, diameter_mm, body: _Body, liver: _Liver):
    """Draw one lesion per patient of category ``letters`` (n,) in the patient's liver."""
    n = len(letters)
    radius = _u(rng, diameter_mm[0] / 2, diameter_mm[1] / 2, n)
    eccentricity, angle = _u(rng, 0.0, 0.12, n), _u(rng, 0, np.pi, n)
    nodule_count, nodule_angle = rng.integers(3, 7, n), _u(rng, 0, 2 * np.pi, n)
    u, v = _place_lesions(rng, body, liver, radius)
    values = {part: np.zeros((n, 3), np.float32) for part in ("core", "rim", "nodules")}
    for letter in np.unique(letters):
        rows = np.flatnonzero(letters == letter)
        tissues = {tissue: by_patient[rows] for tissue, by_patient in hu.items()}
        for part, hu_part in _lesion_values(rng, letter, tissues).items():
            values[part][rows] = hu_part
    is_a, is_b = letters == "A", letters == "B"
    return _Lesions(
        radius=radius,
        eccentricity=eccentricity,
        angle=angle,
        nodule_count=nodule_count,
        nodule_angle=nodule_angle,
        u=u,
        v=v,
        **values,  # core, rim, nodules
        has_rim=is_b | (is_a & (rng.random(n) < 0.8)),  # most HCC have a capsule
        rim_width=np.where(is_a, 0.2, 0.35).astype(np.float32),  # capsule thin, tumour rim thick
        texture=np.select([is_a, is_b], [8.0, 5.0], 2.0).astype(np.float32),
    )


def _place_lesions(rng, body: _Body, liver: _Liver, radius: np.ndarray):
    """Lesion centres (u, v) (n,) in units of the right lobe's half-axes, clear of its edge,
    the cavity wall, vessels and spine: the first of 48 random tries that fits."""
    n, tries = len(radius), 48
    rho, phi = np.sqrt(rng.random((n, tries))) * 0.75, rng.uniform(-np.pi, np.pi, (n, tries))
    u, v = rho * np.cos(phi), rho * np.sin(phi)  # (n, tries)

    def col(a):
        return a[:, None]

    right = liver.right
    x, y = col(right.x) + u * col(right.half_width), col(right.y) + v * col(right.half_depth)
    margin = col(radius) + 6
    ok = rho + margin / col(np.minimum(right.half_width, right.half_depth)) < 0.95  # in the lobe
    cav_w, cav_d = body.cavity_half_width, body.cavity_half_depth
    in_cavity = np.hypot((x - col(body.x)) / col(cav_w), (y - col(body.y)) / col(cav_d))
    ok &= in_cavity + margin / col(np.minimum(cav_w, cav_d)) < 0.97
    for cx, cy, r in (
        (liver.portal_x, liver.portal_y, liver.portal_radius),
        (body.ivc_x, body.ivc_y, np.full(n, 13.0)),
        (liver.caudate.x, liver.caudate.y, liver.caudate.half_width),
        (body.aorta_x, body.aorta_y, body.aorta_radius),
        (np.zeros(n), body.vertebra_y, body.vertebra_radius * 1.2),
    ):
        ok &= np.hypot(x - col(cx), y - col(cy)) > margin + col(r)
    first = np.where(ok.any(1), ok.argmax(1), rho.argmin(1))  # else the most central try
    rows = np.arange(n)
    return u[rows, first].astype(np.float32), v[rows, first].astype(np.float32)


@dataclass
class _Anatomy:
    """What the painters need for each image (one entry per image, N): the patient's body
    and liver, and where the slice cuts them."""

    body: _Body
    liver: _Liver
    z_mm: np.ndarray  # slice position from the organ centres, mm

    @property
    def liver_cut(self) -> np.ndarray:
        """The liver's cross-section on this slice relative to its centre slice (N,), 0.5-1."""
        return _slice_scale(self.z_mm, 110.0)

    @property
    def spleen_cut(self) -> np.ndarray:
        """The same for the spleen (N,)."""
        return _slice_scale(self.z_mm, 70.0)


def _slice_scale(z_mm: np.ndarray, half_height_mm: float) -> np.ndarray:
    """How an organ's cross-section shrinks away from its centre slice (an ellipsoid)."""
    return np.sqrt(np.clip(1 - (z_mm / half_height_mm) ** 2, 0.25, 1)).astype(np.float32)


# ----------------------------------------------------------------- geometry


@dataclass
class _Grid:
    """Pixel centres in mm: x to the image's right (the patient's left), y posterior.

    The full grid holds x (1 or N, 1, W) and y (1 or N, H, 1); a window (see
    :meth:`window`) holds x (N, 1, K), y (N, K, 1) around one structure in each
    image, and where each image's window starts in the full image (top, left).
    """

    x: np.ndarray  # pixel centres' x, mm
    y: np.ndarray  # pixel centres' y, mm
    px: float  # pixel size, mm
    size: int  # pixels per side of the full image
    top: np.ndarray | None = None  # a window's first row in the full image (N,); None: full grid
    left: np.ndarray | None = None  # a window's first column (N,)

    def window(self, cx, cy, half_mm) -> _Grid:
        """A K x K window per image around (cx, cy) (N,), K wide enough for ``half_mm`` (N,)."""
        k = min(self.size, int(math.ceil(2 * float(np.max(half_mm)) / self.px)) + 3)
        n = len(cx)
        xs = np.broadcast_to(self.x[:, 0, :], (n, self.size))  # (N, W): each image's own columns
        ys = np.broadcast_to(self.y[:, :, 0], (n, self.size))

        def start(c, first):  # first index, kept inside the image
            first_index = np.round((np.asarray(c) - first) / self.px - (k - 1) / 2)
            return np.clip(first_index, 0, self.size - k).astype(np.int64)

        top, left = start(cy, ys[:, 0]), start(cx, xs[:, 0])
        x = np.take_along_axis(xs, left[:, None] + np.arange(k), axis=1)[:, None, :]  # (N, 1, K)
        y = np.take_along_axis(ys, top[:, None] + np.arange(k), axis=1)[:, :, None]  # (N, K, 1)
        return _Grid(x, y, self.px, self.size, top, left)

    def take(self, full: np.ndarray) -> np.ndarray:
        """A full (N, H, W) array seen through this window: (N, K, K), a copy (the full grid:
        ``full`` itself)."""
        if self.top is None:
            return full
        return _windows(full, self.x.shape[-1])[np.arange(len(full)), self.top, self.left]


def _windows(full: np.ndarray, k: int) -> np.ndarray:
    """Every K x K square of the last two axes of ``full`` as a writeable view (..., top, left,
    K, K): indexed with each image's (top, left), it reads or writes each image's window in
    one step, several times faster than indexing pixel by pixel. (Windows of different
    images never share pixels, so writing through the view is safe.)"""
    return sliding_window_view(full, (k, k), axis=(-2, -1), writeable=True)


def _grid(size: int, fov_mm: float, center_x, center_y) -> _Grid:
    """Pixel grid over ``fov_mm``; one centre for all images (scalars) or one per image (N,)."""
    px = fov_mm / size
    c = ((np.arange(size) + 0.5 - size / 2) * px).astype(np.float32)
    x = np.atleast_1d(np.asarray(center_x, np.float32))[:, None, None] + c[None, None, :]
    y = np.atleast_1d(np.asarray(center_y, np.float32))[:, None, None] + c[None, :, None]
    return _Grid(x, y, px, size)  # x (1 or N, 1, W), y (1 or N, H, 1)


def _col(a) -> np.ndarray:
    """Per-image values (N,) as (N, 1, 1), to broadcast against images."""
    return np.asarray(a, np.float32)[:, None, None]


def _ellipse_fg(gr: _Grid, cx, cy, ax, ay, angle=None):
    """Elliptical radius f (1 on the edge) and |grad f| per mm, both (N, H, W)."""
    dx, dy = gr.x - _col(cx), gr.y - _col(cy)
    if angle is not None:
        c, s = _col(np.cos(angle)), _col(np.sin(angle))
        dx, dy = c * dx + s * dy, c * dy - s * dx
    u, v = dx / _col(ax), dy / _col(ay)
    f = np.sqrt(u * u + v * v)
    grad = np.sqrt((u / _col(ax)) ** 2 + (v / _col(ay)) ** 2) / np.maximum(f, 1e-6)
    return f, np.maximum(grad, 1e-6)


def _ellipse_cover(gr: _Grid, cx, cy, ax, ay, angle=None) -> np.ndarray:
    """Share of each pixel inside an ellipse (partial volume at the edge): (N, H, W)."""
    f, grad = _ellipse_fg(gr, cx, cy, ax, ay, angle)
    return _cover((f - 1) / grad, gr.px)


def _cover(d: np.ndarray, px: float, grow_mm=0.0) -> np.ndarray:
    """Share of each pixel inside a shape of signed distance ``d`` (mm, negative inside)."""
    if not np.isscalar(grow_mm):
        grow_mm = _col(grow_mm)
    return np.clip(0.5 - (d - grow_mm) / px, 0.0, 1.0).astype(np.float32)


def _lobe_distance(gr: _Grid, lobe: _Lobe, scale: np.ndarray) -> np.ndarray:
    """Signed distance (mm, approx.) to a lobe whose half-axes are multiplied by ``scale`` (N,)."""
    ax, ay = lobe.half_width * scale, lobe.half_depth * scale
    f, grad = _ellipse_fg(gr, lobe.x, lobe.y, ax, ay)
    u, v = (gr.x - _col(lobe.x)) / _col(ax), (gr.y - _col(lobe.y)) / _col(ay)
    n, size = lobe.outline.shape
    angle = ((np.arctan2(v, u) + np.pi) * (size / (2 * np.pi))).astype(np.int32) % size
    radius = np.take_along_axis(lobe.outline, angle.reshape(n, -1), axis=1).reshape(angle.shape)
    return (f - radius) / grad


def _segment_cover(gr: _Grid, x0, y0, x1, y1, half_width) -> tuple[_Grid, np.ndarray]:
    """A vessel: a segment tapering to half its width at the far end; its window and cover."""
    reach = np.maximum(abs(x1 - x0), abs(y1 - y0)) / 2 + half_width
    w = gr.window((x0 + x1) / 2, (y0 + y1) / 2, reach)
    dx, dy = _col(x1 - x0), _col(y1 - y0)
    along = ((w.x - _col(x0)) * dx + (w.y - _col(y0)) * dy) / (dx * dx + dy * dy + 1e-6)
    t = np.clip(along, 0, 1)  # 0 at the start, 1 at the end
    dist = np.hypot(w.x - (_col(x0) + t * dx), w.y - (_col(y0) + t * dy))
    return w, _cover(dist - _col(half_width) * (1 - 0.5 * t), gr.px)


# ------------------------------------------------------------------ anatomy


class _Canvas:
    """The image being painted, tissue by tissue, with partial volume at every edge."""

    def __init__(self, n: int, phases: int, size: int):
        self.img = np.full((n, phases, size, size), -1000.0, np.float32)  # (N, P, H, W), air
        self.tissue = np.zeros((n, size, size), np.uint8)

    def paint(self, gr: _Grid, cover: np.ndarray, value: np.ndarray, tissue: str) -> None:
        """Blend ``value`` ((N, P) or (N, P, K, K), HU) in with weight ``cover`` (N, K, K).

        ``gr`` is the full grid (K = H = W) or a window into it.
        """
        value = value[:, :, None, None] if value.ndim == 2 else value
        if gr.top is None:
            self.img += cover[:, None] * (value - self.img)
            self.tissue[cover >= 0.5] = _CODE[tissue]
            return
        rows, k = np.arange(len(cover)), cover.shape[-1]
        images = _windows(self.img, k)
        patch = images[rows, :, gr.top, gr.left]  # (N, P, K, K): each image's window
        patch += cover[:, None] * (value - patch)
        images[rows, :, gr.top, gr.left] = patch
        tissues = _windows(self.tissue, k)
        codes = tissues[rows, gr.top, gr.left]  # (N, K, K)
        codes[cover >= 0.5] = _CODE[tissue]
        tissues[rows, gr.top, gr.left] = codes

    def ellipse(self, gr: _Grid, value, tissue: str, cx, cy, ax, ay, angle=None):
        """Paint an ellipse (centre, half-axes (N,) or scalars, mm) inside its own window.

        Returns the window and the ellipse's cover in it.
        """
        n = len(value)
        cx, cy, ax, ay = (
            np.broadcast_to(np.asarray(a, np.float32), (n,)) for a in (cx, cy, ax, ay)
        )
        w = gr.window(cx, cy, np.maximum(ax, ay) + gr.px)
        cover = _ellipse_cover(w, cx, cy, ax, ay, angle)
        self.paint(w, cover, value, tissue)
        return w, cover


def _paint_wall(cv: _Canvas, gr: _Grid, body: _Body, hu) -> np.ndarray:
    """Subcutaneous fat, muscle wall, intra-abdominal fat; returns the cavity cover (N, H, W)."""
    x, y = body.x, body.y
    cv.paint(gr, _ellipse_cover(gr, x, y, body.half_width, body.half_depth), hu["fat"], "fat")
    inner_w, inner_d = body.half_width - body.fat, body.half_depth - body.fat
    cv.paint(gr, _ellipse_cover(gr, x, y, inner_w, inner_d), hu["muscle"], "muscle")
    cavity = _ellipse_cover(gr, x, y, body.cavity_half_width, body.cavity_half_depth)
    cv.paint(gr, cavity, hu["fat"], "fat")
    return cavity


def _paint_spine_and_great_vessels(cv: _Canvas, gr: _Grid, body: _Body, hu) -> None:
    """Paraspinal muscles, vertebra, spinal canal, aorta and IVC, painted last: nothing
    covers them. Sizes without a name are in mm."""
    rv, yv = body.vertebra_radius, body.vertebra_y
    yp = yv + rv + 14  # level of the spinal canal
    for side in (-1, 1):
        cv.ellipse(gr, hu["muscle"], "muscle", side * 30, yp + 4, 24, 18)  # paraspinal
        cv.ellipse(gr, hu["muscle"], "muscle", side * (rv + 8), yv, 9, 13)  # crus / psoas
    cv.ellipse(gr, hu["bone_cortex"], "bone", 0, yp + 6, 7, 16)  # spinous process
    cv.ellipse(gr, hu["water"], "water", 0, yp - 3, 8, 7)  # spinal canal (CSF)
    cv.ellipse(gr, hu["bone_cortex"], "bone", 0, yv, rv * 1.15, rv)  # vertebral body
    cv.ellipse(gr, hu["bone_cancellous"], "bone", 0, yv, rv * 1.15 - 3, rv - 3)
    ra = body.aorta_radius
    cv.ellipse(gr, hu["aorta"], "aorta", body.aorta_x, body.aorta_y, ra, ra)
    cv.ellipse(gr, hu["ivc"], "ivc", body.ivc_x, body.ivc_y, 13, 9)  # the liver wraps around it


def _paint_viscera(cv: _Canvas, gr: _Grid, a: _Anatomy, hu) -> None:
    """Kidneys (cortex and medulla), spleen, and the stomach with fluid and a gas cap."""
    body, n = a.body, len(a.z_mm)
    cav_w, cav_d = body.cavity_half_width, body.cavity_half_depth
    s = a.liver.spleen_scale * a.spleen_cut  # spleen along the left posterolateral wall
    spleen_at = (cav_w * 0.72, body.y + cav_d * 0.2)
    spleen_axes = (cav_w * 0.17 * s, cav_d * 0.42 * s)
    cv.ellipse(gr, hu["spleen"], "spleen", *spleen_at, *spleen_axes, np.full(n, -0.45))
    # the left kidney's upper part, the right kidney's upper pole (smaller)
    for side, k, tilt in ((1, 1.0, 0.5), (-1, 0.75, -0.5)):
        kx, ky, angle = side * (body.vertebra_radius + 36), body.vertebra_y + 2, np.full(n, tilt)
        cv.ellipse(gr, hu["kidney_cortex"], "kidney", kx, ky, 19 * k, 26 * k, angle)
        cv.ellipse(gr, hu["kidney_medulla"], "kidney", kx, ky, 11 * k, 17 * k, angle)
    sx, sy, sa, sb = cav_w * 0.36, body.y - cav_d * 0.35, cav_w * 0.26, cav_d * 0.28
    cv.ellipse(gr, hu["stomach_wall"], "stomach", sx, sy, sa, sb, np.full(n, 0.3))
    w, lumen = cv.ellipse(gr, hu["water"], "water", sx, sy, sa - 4, sb - 4, np.full(n, 0.3))
    level = _col(sy - 0.45 * sb)  # gas rises to the front (anterior, small y)
    gas = lumen * np.clip(0.5 - (w.y - level) / gr.px, 0, 1)
    cv.paint(w, gas.astype(np.float32), hu["air"], "air")


def _liver_cover(gr: _Grid, a: _Anatomy, cavity) -> tuple[np.ndarray, np.ndarray]:
    """Liver cover (N, H, W), the three lobes inside the cavity, and its signed distance (mm)."""
    cut = a.liver_cut
    lobes = (a.liver.right, a.liver.left, a.liver.caudate)
    d = np.minimum.reduce([_lobe_distance(gr, lobe, lobe.scale * cut) for lobe in lobes])
    return np.minimum(_cover(d, gr.px), cavity), d


def _liver_veins(a: _Anatomy) -> list[tuple]:
    """Portal and hepatic vein branches in the liver: (x0, y0, x1, y1, kind), mm."""
    px, py = a.liver.portal_x, a.liver.portal_y  # portal branches start at the hilum
    ix, iy = a.body.ivc_x, a.body.ivc_y  # hepatic veins drain into the IVC
    r, left = a.liver.right, a.liver.left
    rx, ry, rw, rd = r.x, r.y, r.half_width, r.half_depth
    return [
        (px, py, rx - 0.6 * rw, ry - 0.1 * rd, "portal_vein"),
        (px, py, rx - 0.25 * rw, ry + 0.5 * rd, "portal_vein"),
        (px, py, left.x, left.y, "portal_vein"),
        (ix, iy, rx - 0.3 * rw, ry - 0.7 * rd, "hepatic_vein"),
        (ix, iy, left.x - 0.5 * left.half_width, left.y, "hepatic_vein"),
    ]


def _paint_liver(cv: _Canvas, gr: _Grid, a: _Anatomy, hu, cavity, rng) -> np.ndarray:
    """Liver with texture, ascites, portal and hepatic veins; returns the liver cover (N, H, W)."""
    n, liver = len(a.z_mm), a.liver
    cover, d = _liver_cover(gr, a, cavity)
    if liver.ascites.any():  # a rim of fluid around a cirrhotic liver
        fluid = _cover(d, gr.px, grow_mm=np.where(liver.ascites, 8.0, -1e3))
        cv.paint(gr, np.minimum(fluid, cavity), hu["water"], "water")
    texture = correlated_noise(rng, (n, gr.size, gr.size), 1.2) * _col(liver.heterogeneity)
    cv.paint(gr, cover, hu["liver"][:, :, None, None] + texture[:, None], "liver")
    for x0, y0, x1, y1, kind in _liver_veins(a):
        w, vessel = _segment_cover(gr, x0, y0, x1, y1, np.full(n, 2.5, np.float32))
        cv.paint(w, vessel * w.take(cover), hu[kind], "hepatic_vessel")
    r = liver.portal_radius
    cv.ellipse(gr, hu["portal_vein"], "portal_vein", liver.portal_x, liver.portal_y, r, r)
    return cover


# ------------------------------------------------------------------ lesions

_MOTTLE_BY_PHASE = np.array([0.3, 1.0, 0.6], np.float32)  # lesion mottle per phase, x texture


def _lesion_centre(a: _Anatomy, les: _Lesions) -> tuple[np.ndarray, np.ndarray]:
    """Each image's lesion centre in mm: (x (N,), y (N,)); it moves with the right lobe."""
    right = a.liver.right
    scale = a.liver_cut * right.scale
    return right.x + les.u * right.half_width * scale, right.y + les.v * right.half_depth * scale


def _nodule_cover(w: _Grid, cx, cy, r, count, start) -> np.ndarray:
    """Peripheral nodules of a hemangioma: up to 6 small discs just inside the edge, (n, K, K);
    ``start``: the first disc's angle (radians), which also varies their gaps and sizes."""
    cover = np.zeros(np.broadcast_shapes(w.x.shape, w.y.shape), np.float32)
    a = start.copy()
    for k in range(6):  # discontinuous: uneven gaps and sizes, never a full ring
        size = 0.36 * r * (0.7 + 0.3 * np.cos(3.0 * k + start))
        disc = _ellipse_cover(w, cx + 0.68 * r * np.cos(a), cy + 0.68 * r * np.sin(a), size, size)
        cover = np.maximum(cover, disc * _col(k < count))
        a = a + (1.2 + 0.5 * np.sin(5.0 * k + 2 * start)) * 4.0 / np.maximum(count, 1)
    return cover


def _paint_lesion(cv: _Canvas, gr: _Grid, a: _Anatomy, les: _Lesions, liver, rng) -> None:
    """Paint each image's cut through its lesion, in all three phases, inside the liver
    cover ``liver`` (N, H, W)."""
    n = len(les.radius)
    r = np.sqrt(np.clip(les.radius**2 - a.z_mm**2, 1e-4, None))  # in-slice radius of a sphere
    cx, cy = _lesion_centre(a, les)
    w = gr.window(cx, cy, les.radius * 1.15 + gr.px)
    axes = r * (1 + les.eccentricity), r * (1 - les.eccentricity)
    f, grad = _ellipse_fg(w, cx, cy, *axes, les.angle)
    cover = np.minimum(_cover((f - 1) / grad, gr.px), w.take(liver))
    k = cover.shape[-1]
    mottle = correlated_noise(rng, (n, 1, k, k), 0.8) * _MOTTLE_BY_PHASE[:, None, None]
    value = les.core[:, :, None, None] + _col(les.texture)[:, None] * mottle  # (N, P, K, K)
    inner = 1 - _col(np.maximum(les.rim_width, 0.8 * gr.px / r))  # the rim: f beyond this
    rim = np.clip(0.5 + (f - inner) / (grad * gr.px), 0, 1) * _col(les.has_rim)
    value += rim[:, None] * (les.rim - les.core)[:, :, None, None]
    hem = np.flatnonzero(np.any(les.nodules != les.core, axis=1))  # hemangiomas
    if hem.size:
        sub = _Grid(w.x[hem], w.y[hem], gr.px, gr.size)
        nod = _nodule_cover(
            sub, cx[hem], cy[hem], r[hem], les.nodule_count[hem], les.nodule_angle[hem]
        )
        value[hem] += nod[:, None] * (les.nodules[hem] - les.core[hem])[:, :, None, None]
    cv.paint(w, cover, value, "lesion")


# ----------------------------------------------------------------- rendering


@dataclass(frozen=True)
class _Scan:
    """How the phantom patients are imaged."""

    size: int  # pixels per side
    fov_mm: float  # field of view (a square), mm
    center_mm: tuple[float, float]  # centre of the field of view (x, y), mm
    slices_per_patient: int  # neighbouring slices through each patient
    slice_mm: float  # distance between a patient's neighbouring slices, mm
    noise_hu: float  # noise SD at standard dose, HU
    dose: float  # fraction of the standard dose

    @property
    def noise_sd(self) -> float:
        """The noise SD at this dose, HU."""
        return self.noise_hu / math.sqrt(self.dose)

    def grid(self) -> _Grid:
        """The pixel grid of the whole field of view."""
        return _grid(self.size, self.fov_mm, *self.center_mm)


def _check_size(size: int, fov_mm: float) -> None:
    if size < 16 or fov_mm <= 0:
        raise ValueError(
            f"size={size} px over fov_mm={fov_mm}: use at least 16 px and a positive field "
            "of view (a 64 px slice over 380 mm gives about 6 mm pixels)"
        )


def _patients(n: int, slices_per_patient: int, slice_mm) -> tuple[np.ndarray, np.ndarray]:
    """Row -> patient index, and slice positions z (mm) centred on the patient's organ centres.

    ``slice_mm`` is one spacing for all, or one per patient (n,).
    """
    if n < 1 or slices_per_patient < 1:
        raise ValueError(
            f"n={n} patients and slices_per_patient={slices_per_patient} must both be 1 or more"
        )
    rows = np.repeat(np.arange(n), slices_per_patient)
    step = np.broadcast_to(np.asarray(slice_mm, np.float32), (n,))[rows]
    z = (np.tile(np.arange(slices_per_patient), n) - (slices_per_patient - 1) / 2) * step
    return rows, z.astype(np.float32)


def _render(rngs, a: _Anatomy, gr: _Grid, hu: dict, phases: list[int], noise_sd: float, les=None):
    """Paint every image and add noise: images (N, P, H, W) in HU and the tissue map (N, H, W).

    ``rngs``: the anatomy and noise streams; ``hu``: tissue values (N, 3) per image;
    ``phases``: which of the three to paint; ``les``: lesions (only with all three phases).
    """
    rng_anatomy, rng_noise = rngs
    cv = _Canvas(len(a.z_mm), len(phases), gr.size)
    hu = {k: v[:, phases] for k, v in hu.items()}
    cavity = _paint_wall(cv, gr, a.body, hu)
    _paint_viscera(cv, gr, a, hu)
    liver = _paint_liver(cv, gr, a, hu, cavity, rng_anatomy)
    if les is not None:
        _paint_lesion(cv, gr, a, les, liver, rng_anatomy)
    _paint_spine_and_great_vessels(cv, gr, a.body, hu)
    if noise_sd > 0:
        cv.img += correlated_noise(rng_noise, cv.img.shape, _NOISE_GRAIN_PX) * noise_sd
    np.clip(cv.img, *_HU_LIMITS, out=cv.img)
    return cv.img, cv.tissue


def _masks(tissue: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Liver mask (parenchyma, its vessels and the lesion) and lesion mask, from the tissue map."""
    liver = np.isin(tissue, [_CODE["liver"], _CODE["hepatic_vessel"], _CODE["lesion"]])
    return liver, tissue == _CODE["lesion"]


# ----------------------------------------------------------------- builders


def liver_lesions(
    n: int,
    *,
    size: int = 64,
    seed: int | None = None,
    categories: str = "ABCDE",
    weights: Sequence[float] | None = None,
    noise_hu: float = 12.0,
    dose: float = 1.0,
    slices_per_patient: int = 1,
    slice_mm: float = 5.0,
    diameter_mm: tuple[float, float] = (20.0, 50.0),
    fov_mm: float = 380.0,
    center_mm: tuple[float, float] = (0.0, 0.0),
    roi_mm: float | None = None,
) -> LiverCases:
    """Three-phase abdominal CT slices, one liver lesion per patient, with exact masks and labels.

    Each image is an axial slice through the upper abdomen in HU (body wall, spine, kidneys,
    spleen, stomach, aorta, IVC, liver with portal and hepatic veins); channels are the phases
    unenhanced, arterial, delayed. Liver ~55 / 75 / 105 HU. The lesions, in the same order:

    - A classic HCC: 40-45 / 100-130, mottled / 70-85 (washout), usually a capsule rim
    - B other malignant: 35-45 / rim 85-110 round a dark centre / below liver; 1 in 4 fills in
    - C indeterminate: 45-55 / liver +/- 12 / liver +/- 12: the hard class
    - D hemangioma: ~40 / peripheral puddles near the aorta / filled in, iso to the blood pool
    - E cyst: 0-15 in every phase, a sharp edge, never enhances

    The unenhanced values of A-D overlap on purpose: only the phases together tell them apart.

    Args:
        n: patients (``n * slices_per_patient`` images); size: pixels per side.
        seed: the same seed gives the same images (None: the course seed).
        categories: which to draw, e.g. "DE" (``label`` indexes it); weights: their prevalence
            (None: equal counts).
        noise_hu: noise SD at standard dose (0: noise-free); dose: fraction of it (SD x 1/sqrt).
        slices_per_patient: neighbouring slices ``slice_mm`` apart, sharing anatomy, lesion
            and category (split by patient, not image!); every slice cuts the lesion.
        diameter_mm: range of lesion diameters (a sphere: off-centre slices cut it smaller).
        fov_mm: field of view; center_mm: its centre (x to the patient's left, y posterior).
        roi_mm: instead, a square of this width around each lesion (jittered), as a radiologist
            would crop it: roi_mm=100 gives 1.6 mm pixels at 64 px, far easier for a small CNN.

    Example:
        >>> cases = liver_lesions(5, categories="AE", seed=1)
        >>> cases.label_names
        ('A classic HCC', 'E cyst')
    """
    scan = _Scan(size, fov_mm, center_mm, slices_per_patient, slice_mm, noise_hu, dose)
    cats = _check_categories(categories)
    return _liver_cases(n, cats, weights, diameter_mm, scan, roi_mm, fit_slices=True, seed=seed)


def _liver_cases(
    n: int, cats: str, weights, diameter_mm, scan: _Scan, roi_mm, *, fit_slices: bool, seed
) -> LiverCases:
    """Draw n patients, cut their slices and paint them (see :func:`liver_lesions`).

    ``fit_slices``: bring a patient's slices closer where needed to cut the lesion on each.
    """
    _check_size(scan.size, scan.fov_mm if roi_mm is None else roi_mm)
    seed = config.seed(seed)
    rng, rng_noise = _rng_pair(seed)  # anatomy, noise
    letters = np.array(list(cats))[_draw_labels(rng, n, len(cats), weights)]
    body = _body_layout(rng, n)
    liver = _liver_layout(rng, body, np.zeros(n, np.float32))
    hu = _tissue_values(rng, n)
    les = _lesion_layout(rng, letters, hu, diameter_mm, body, liver)
    slice_mm, spp = scan.slice_mm, scan.slices_per_patient
    if fit_slices:
        slice_mm = np.minimum(slice_mm, 0.7 * les.radius / max((spp - 1) / 2, 1.0))
    rows, z = _patients(n, spp, slice_mm)
    a, les = _Anatomy(body.rows(rows), liver.rows(rows), z), les.rows(rows)
    if roi_mm is None:
        grid = scan.grid()
    else:  # a crop around the lesion, off-centre by up to 15%, the same for a patient's slices
        shift = (rng.uniform(-0.15, 0.15, (n, 2)) * roi_mm).astype(np.float32)[rows]
        cx, cy = _lesion_centre(a, les)
        grid = _grid(scan.size, roi_mm, cx + shift[:, 0], cy + shift[:, 1])
    hu = {k: v[rows] for k, v in hu.items()}
    img, tissue = _render((rng, rng_noise), a, grid, hu, [0, 1, 2], scan.noise_sd, les)
    liver_mask, lesion_mask = _masks(tissue)
    return LiverCases(
        images=img,
        label=np.array([cats.index(c) for c in letters[rows]], np.int64),
        category=letters[rows],
        liver_mask=liver_mask,
        lesion_mask=lesion_mask,
        tissue=tissue,
        patient_id=rows.astype(np.int64),
        z_mm=z,
        diameter_mm=2 * les.radius,
        categories=cats,
        label_names=tuple(f"{c} {LESION_CATEGORIES[c][0]}" for c in cats),
        pixel_mm=grid.px,
        noise_hu=scan.noise_hu,
        dose=scan.dose,
        seed=seed,
    )


def _check_categories(categories: str) -> str:
    """The category letters, upper case, each once; an error names the five."""
    cats = "".join(dict.fromkeys(categories.upper()))
    if not cats or any(c not in LESION_CATEGORIES for c in cats):
        raise ValueError(
            f"categories={categories!r}: use letters from 'ABCDE' "
            "(A classic HCC, B other malignant, C indeterminate, D hemangioma, E cyst)"
        )
    return cats


def _draw_labels(rng, n: int, k: int, weights) -> np.ndarray:
    """Category index per patient: equal counts (shuffled) or drawn with the given prevalence."""
    if weights is None:
        return rng.permutation(np.resize(np.arange(k), n))
    p = np.asarray(weights, np.float64)
    if p.shape != (k,) or (p < 0).any() or p.sum() <= 0:
        raise ValueError(
            f"weights={list(weights)} needs one non-negative prevalence per category ({k})"
        )
    return rng.choice(k, size=n, p=p / p.sum())


def liver_volume(
    category: str = "A",
    *,
    slices: int = 16,
    slice_mm: float = 5.0,
    size: int = 64,
    seed: int | None = None,
    noise_hu: float = 12.0,
    dose: float = 1.0,
    diameter_mm: tuple[float, float] = (30.0, 45.0),
) -> LiverCases:
    """One patient as a stack of ``slices`` contiguous 3-phase slices (a small CT series).

    The lesion is a sphere: it appears on the middle slices only, largest at
    the centre, and ``lesion_mask`` is empty on slices that miss it. Use
    ``cases.volume(0, "arterial")`` for a (Z, H, W) volume and
    ``cases.to_dicom(0, folder)`` to write the three series.

    Example:
        >>> series = liver_volume("D", size=32, seed=0)
        >>> series.volume(0, "arterial").shape
        (16, 32, 32)
        >>> series.lesion_mask.any((1, 2)).astype(int).tolist()  # the slices that cut it
        [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    """
    if slices < 1:
        raise ValueError(f"slices={slices}: a volume needs at least one slice")
    scan = _Scan(size, 380.0, (0.0, 0.0), slices, slice_mm, noise_hu, dose)
    cat = _check_categories(category)[:1]
    return _liver_cases(1, cat, None, diameter_mm, scan, None, fit_slices=False, seed=seed)


def fibrosis_livers(
    n: int,
    *,
    size: int = 64,
    seed: int | None = None,
    stages: Sequence[int] = (0, 1, 2, 3, 4),
    phase: str = "delayed",
    noise_hu: float = 12.0,
    dose: float = 1.0,
    slices_per_patient: int = 1,
    slice_mm: float = 5.0,
    spread: float = 0.3,
    fov_mm: float = 240.0,
    center_mm: tuple[float, float] = (-50.0, 0.0),
) -> FibrosisCases:
    """One-phase CT slices of livers at fibrosis stages F0-F4, with a continuous severity score.

    With stage (F0 normal ... F4 cirrhosis) the phantom liver changes as on CT:

    - the surface goes from smooth to nodular (scalloped bulges with notches
      between them; F4 clearly nodular);
    - the right lobe shrinks and the caudate lobe grows (``caudate_ratio``,
      caudate / right lobe width, from ~0.45 to ~0.8);
    - the parenchyma grows heterogeneous; the spleen enlarges; about half of
      F4 livers have a rim of ascites.

    Each patient's severity ``score`` is the stage plus a scatter of SD
    ``spread``, so neighbouring stages overlap as they do in biopsies.
    The default field of view (240 mm centred on the liver, ~3.8 mm pixels)
    shows the surface; use fov_mm=380, center_mm=(0, 0) for the whole abdomen.

    Args:
        n: patients (``n * slices_per_patient`` images), equal counts per stage.
        seed: the same seed gives the same images (None: the course seed).
        stages: which stages to draw; ``label`` indexes this tuple.
        phase: "unenhanced", "arterial" or "delayed".
        noise_hu, dose, slices_per_patient, slice_mm, fov_mm, center_mm: as in
            :func:`liver_lesions`.

    Example:
        >>> fib = fibrosis_livers(10, seed=0)
        >>> fib.images.shape, sorted(set(fib.stage.tolist()))
        ((10, 1, 64, 64), [0, 1, 2, 3, 4])
    """
    _check_size(size, fov_mm)
    scan = _Scan(size, fov_mm, center_mm, slices_per_patient, slice_mm, noise_hu, dose)
    return _fibrosis_cases(n, _check_stages(stages, phase), phase, spread, scan, config.seed(seed))


def _check_stages(stages: Sequence[int], phase: str) -> tuple[int, ...]:
    """The stages as a tuple of ints; an error unless they are 0-4 and ``phase`` is known."""
    stages = tuple(int(s) for s in stages)
    if not stages or any(s not in range(5) for s in stages) or phase not in PHASES:
        raise ValueError(
            f"stages={stages} must be fibrosis stages 0-4 and phase={phase!r} one of {PHASES}"
        )
    return stages


def _fibrosis_cases(n: int, stages, phase: str, spread: float, scan: _Scan, seed: int):
    """Draw n patients at ``stages``, cut and paint their slices (see :func:`fibrosis_livers`)."""
    rng, rng_noise = _rng_pair(seed)  # anatomy, noise
    label = _draw_labels(rng, n, len(stages), None)
    stage = np.array(stages, np.int64)[label]
    score = np.clip(stage + spread * rng.standard_normal(n), 0.0, 4.5).astype(np.float32)
    body = _body_layout(rng, n)
    liver = _liver_layout(rng, body, score)
    hu = _tissue_values(rng, n)
    hu["liver"] = hu["liver"] - (2.0 * score)[:, None]  # cirrhotic liver enhances a little less
    rows, z = _patients(n, scan.slices_per_patient, scan.slice_mm)
    a = _Anatomy(body.rows(rows), liver.rows(rows), z)
    hu = {k: v[rows] for k, v in hu.items()}
    phases = [PHASES.index(phase)]
    img, tissue = _render((rng, rng_noise), a, scan.grid(), hu, phases, scan.noise_sd)
    return FibrosisCases(
        images=img,
        stage=stage[rows],
        label=label[rows].astype(np.int64),
        score=score[rows],
        caudate_ratio=liver.caudate_ratio[rows],
        liver_mask=_masks(tissue)[0],
        tissue=tissue,
        patient_id=rows.astype(np.int64),
        z_mm=z,
        stages=stages,
        label_names=tuple(f"F{s}" for s in stages),
        pixel_mm=scan.fov_mm / scan.size,
        noise_hu=scan.noise_hu,
        dose=scan.dose,
        seed=seed,
        phases=(phase,),
    )


# ------------------------------------------------------------------ tensors


def tensors(
    cases: LiverCases | FibrosisCases,
    *,
    preset: str = "liver",
    level: float | None = None,
    width: float | None = None,
    target: str | Callable[[LiverCases | FibrosisCases], np.ndarray] = "label",
    phases: str | int | Sequence[str | int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The cases as tensors for a CNN: windowed images (N, C, H, W) in [0, 1] and a target.

    Args:
        cases: from :func:`liver_lesions`, :func:`liver_volume` or :func:`fibrosis_livers`.
        preset: a window preset of ``rl.WINDOWS`` ("liver", "soft_tissue"...); or give
            ``level`` and ``width`` in HU instead.
        target: the name of a per-image field of the cases: "label" (int64 (N,)),
            "lesion_mask" or "liver_mask" (int64 (N, H, W), for segmentation), "score" or
            "diameter_mm" (float32 (N,), for regression), "stage"...; or a function of the
            cases giving one value (or mask) per image, e.g. malignant vs benign:
            ``lambda c: np.isin(c.category, ["A", "B"])``. Booleans and whole numbers
            become int64, other numbers float32.
        phases: the channels: phase names or indices, one or a list (None: all phases).

    Returns:
        x float32 (N, C, H, W) in [0, 1] and the target y.

    Example:
        >>> cases = liver_lesions(6, size=32, seed=0)
        >>> x, y = tensors(cases)
        >>> tuple(x.shape), x.dtype, y.dtype, 0 <= float(x.min()) <= float(x.max()) <= 1
        ((6, 3, 32, 32), torch.float32, torch.int64, True)
        >>> x, y = tensors(cases, phases="arterial", target="lesion_mask")
        >>> tuple(x.shape), tuple(y.shape)
        ((6, 1, 32, 32), (6, 32, 32))
    """
    from . import dicom  # here, not at the top: phantoms alone need no pydicom

    if level is not None or width is not None:
        preset = None
    # picking channels by a list leaves NumPy's copy channel-major in memory: store it in the usual
    # (N, C, H, W) order, so that every batch cut from it is computed the same way
    hu = np.ascontiguousarray(cases.images[:, _phase_indices(cases, phases)])
    x = torch.from_numpy(dicom.window(hu, level=level, width=width, preset=preset))
    return x, _target_tensor(cases, target)


def _phase_indices(cases, phases) -> list[int]:
    """Channel indices of ``phases``: names or indices, one or a sequence; None: all."""
    if phases is None:
        return list(range(len(cases.phases)))
    if isinstance(phases, str | int | np.integer):
        phases = [phases]
    unknown = [p for p in phases if isinstance(p, str) and p not in cases.phases]
    if unknown:
        raise ValueError(f"phases {unknown} are not among these cases' phases {cases.phases}")
    return [cases.phases.index(p) if isinstance(p, str) else int(p) for p in phases]


def _target_tensor(cases, target) -> torch.Tensor:
    """``target`` (a field name or a function of the cases) as an int64 or float32 tensor."""
    per_image = cases._per_image_fields()
    if callable(target):
        y = np.asarray(target(cases))
    elif target in per_image:
        y = getattr(cases, target)
    else:
        raise ValueError(
            f"target={target!r}: use one of these cases' per-image fields {per_image}, "
            "or a function of the cases"
        )
    if y.shape[:1] != (len(cases),):
        raise ValueError(
            f"the target has shape {y.shape}: it needs one row per image ({len(cases)})"
        )
    if y.dtype.kind in "biu":  # booleans, whole numbers: classes (and masks)
        return torch.from_numpy(y.astype(np.int64))
    if y.dtype.kind == "f":  # measurements: regression
        return torch.from_numpy(y.astype(np.float32))
    raise ValueError(f"the target holds {y.dtype} values, not numbers (for categories use 'label')")


# ----------------------------------------------------------------- measures


def surface_irregularity(mask) -> np.ndarray:
    """How irregular a mask's outline is: its perimeter over the perimeter of a smoothed copy.

    1.0 is as smooth as the smoothed outline; nodular livers score higher.
    A hand-made (radiomics-style) feature: ``mask`` (H, W) or (N, H, W), returns (N,).

    Example:
        >>> yy, xx = np.mgrid[:64, :64]
        >>> surface_irregularity((yy - 32) ** 2 + (xx - 32) ** 2 < 20**2).round(2).tolist()
        [1.0]
    """
    m = np.asarray(mask, bool)
    m = m[None] if m.ndim == 2 else m
    # the outline only, vessels inside do not count: fill each image's holes on its own
    # (structure (1, 3, 3): 4-neighbours within an image, none across images)
    m = ndimage.binary_fill_holes(m, structure=ndimage.generate_binary_structure(2, 1)[None])
    smooth = gaussian_blur(m.astype(np.float32), 2.0) >= 0.5
    return (_perimeter(m) / np.maximum(_perimeter(smooth), 1)).astype(np.float32)


def _perimeter(m: np.ndarray) -> np.ndarray:
    """Pixel edges between inside and outside (4-neighbourhood), per image: (N,)."""
    return (np.diff(m, axis=1) != 0).sum((1, 2)) + (np.diff(m, axis=2) != 0).sum((1, 2))


# ------------------------------------------------------------------ survival


def survival_times(
    features,
    *,
    beta: float = 0.7,
    median_months: float = 24.0,
    follow_up_months: tuple[float, float] = (12.0, 72.0),
    seed: int | None = None,
) -> SurvivalData:
    """Follow-up times from a proportional-hazards model with a known risk.

    Each patient's hazard is ``h0 * exp(beta * z)``, z the standardised
    feature (e.g. lesion diameter): times are exponential with median
    ``median_months`` for an average patient. Follow-up ends at a uniform time
    in ``follow_up_months`` (patients enrolled over the years): those still
    alive are censored. ``expected_c_index`` is the concordance the true
    ``log_hazard`` reaches on average without censoring, the ceiling for any model.

    Args:
        features: a number of patients (features drawn as N(0, 1)) or an array (N,).
        beta: log hazard ratio per SD of the feature (0.7: HR 2.0 per SD).
        seed: the same seed gives the same times (None: the course seed).

    Example:
        >>> s = survival_times(200, seed=0)
        >>> len(s), s.event.dtype.name, round(s.expected_c_index, 2)
        (200, 'bool', 0.68)
    """
    rng = np.random.default_rng(config.seed(seed))
    if np.isscalar(features):
        x = rng.standard_normal(int(features))
    else:
        x = np.asarray(features, np.float64)
    if x.ndim != 1 or len(x) < 2:
        raise ValueError(
            "features must be a number of patients (2 or more) or a 1-D array of one value "
            "per patient"
        )
    log_h = beta * (x - x.mean()) / (x.std() or 1.0)
    rate = math.log(2) / median_months * np.exp(log_h)
    t_death = rng.exponential(1.0 / rate)
    t_end = rng.uniform(*follow_up_months, len(x))
    return SurvivalData(
        time=np.minimum(t_death, t_end).astype(np.float32),
        event=t_death <= t_end,
        feature=x.astype(np.float32),
        log_hazard=log_h.astype(np.float32),
        expected_c_index=_expected_c_index(rate, rng),
        beta=beta,
        median_months=median_months,
    )


def _expected_c_index(rate: np.ndarray, rng, max_n: int = 2000) -> float:
    """Mean over pairs of P(the higher-hazard patient dies first) = max(h) / (hi + hj)."""
    r = rate if len(rate) <= max_n else rng.choice(rate, max_n, replace=False)
    hi, hj = r[:, None], r[None, :]
    upper = np.triu(np.ones_like(hi * hj, dtype=bool), k=1) & (hi != hj)
    return float((np.maximum(hi, hj) / (hi + hj))[upper].mean())


# --------------------------------------------------------------------- DICOM


def to_dicom(cases: LiverCases | FibrosisCases, index: int, folder) -> list[Path]:
    """Write the patient of image ``index`` as DICOM: one series per phase, all in one study.

    All slices of that patient are stacked in slice order; each phase goes to
    its own subfolder (``1_unenhanced``, ``2_arterial``, ``3_delayed``) with
    the phantom's pixel spacing and slice spacing. Returns the files written.
    """
    from pydicom.uid import generate_uid

    from . import dicom

    patient = cases.patient_id[index]
    rows = cases.patient_rows(patient)
    dz = float(np.diff(cases.z_mm[rows]).mean()) if len(rows) > 1 else 5.0
    pid = f"RADLAB-{cases.kind.upper()}-{cases.seed}-{int(patient):05d}"
    study = generate_uid(entropy_srcs=[pid])  # the same phantom always gets the same UID
    paths: list[Path] = []
    for p, phase in enumerate(cases.phases):
        paths += dicom.write_series(
            cases.images[rows, p],
            Path(folder) / f"{p + 1}_{phase}",
            spacing=(dz, cases.pixel_mm, cases.pixel_mm),
            modality="CT",
            patient_id=pid,
            series_description=f"phantom {cases.kind} {phase}",
            study_uid=study,
            series_number=p + 1,
            preset="soft_tissue",
        )
    return paths
