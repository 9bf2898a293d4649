"""Synthetic CT phantoms in Hounsfield units, with exact ground truth.

Every image here is computed, not scanned: the generator knows which pixel is
liver, lesion, aorta or bone, what the lesion is, and how much noise was added.
That makes every lesson run without a download, and every answer checkable.

=====================  ======================================================
``liver_lesions``      axial abdominal CT slices in three phases (unenhanced,
                       arterial, delayed), one liver lesion per patient in one
                       of five categories (A classic HCC ... E cyst), masks
``liver_volume``       the same as a stack of contiguous slices (a CT series)
``fibrosis_livers``    one-phase slices whose liver surface, caudate lobe and
                       parenchyma change with fibrosis stage F0-F4
``add_ct_noise``       correlated CT noise; its SD grows as 1/sqrt(dose)
``low_dose``           what a scan at a fraction of the dose would look like
``scanner_kernel``     soft / standard / sharp reconstruction kernel
``thick_slices``       thick slices as the average of thin ones (partial volume)
``survival_times``     follow-up times with a known hazard (c-index truth)
``to_dicom``           write one phantom patient as real DICOM series
=====================  ======================================================

Tissue values come from ``REFERENCE_HU`` (typical textbook ranges) and
``LESION_HU``; each patient gets its own values drawn inside these ranges.
The same seed always gives the same arrays.

Example:
    >>> cases = liver_lesions(10, seed=0)
    >>> cases.images.shape, cases.images.dtype.name
    ((10, 3, 64, 64), 'float32')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import config

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
    "add_ct_noise",
    "low_dose",
    "scanner_kernel",
    "thick_slices",
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
    "hepatic_vein": ((35, 45), (40, 55), (130, 150)),  # not yet opacified in the arterial phase
    "kidney_cortex": ((30, 40), (150, 200), (120, 150)),
    "kidney_medulla": (
        (25, 35),
        (60, 80),
        (120, 150),
    ),  # corticomedullary contrast in the arterial phase
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
        "stays darker than liver in the delayed phase (some fill in slowly, like cholangiocarcinoma)",
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
# "nodules" (peripheral puddles). A value is (low, high) in HU, or relative:
# ("liver", lo, hi) = that phase's liver + U(lo, hi); ("aorta", lo, hi) = that
# phase's aorta x U(lo, hi); ("unenhanced", lo, hi) = own unenhanced + U(lo, hi);
# "core" = same as the core.
LESION_HU: dict[str, dict[str, tuple]] = {
    "A": {
        "core": ((40, 45), (100, 130), (70, 85)),
        "rim": ("core", "core", ("liver", 10, 25)),
    },  # capsule shows in the delayed phase
    "B": {
        "core": ((35, 45), (45, 60), (55, 75)),
        "rim": ("core", (85, 110), (75, 95)),
    },  # rim enhancement, dark centre
    "C": {"core": ((45, 55), ("liver", -12, 12), ("liver", -12, 10))},
    "D": {
        "core": ((38, 42), (45, 65), ("aorta", 0.92, 1.05)),
        "nodules": ("core", ("aorta", 0.8, 1.0), "core"),
    },  # puddles near blood pool, then filled in
    "E": {"core": ((2, 13), ("unenhanced", -2, 2), ("unenhanced", -2, 2))},
}
_B_SLOW_FILL = (
    0.25,
    (85.0, 100.0),
)  # share of B lesions whose centre fills in by the delayed phase, its HU

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


# ---------------------------------------------------------------- result types


class _Cases:
    """Shared behaviour of the phantom results: length, row subsets, volumes, DICOM."""

    images: np.ndarray
    patient_id: np.ndarray
    z_mm: np.ndarray
    phases: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, rows) -> _Cases:
        """The same cases restricted to ``rows`` (indices or a boolean mask), e.g. one patient split."""
        rows = np.arange(len(self))[rows]
        n = len(self)
        changes = {
            f.name: getattr(self, f.name)[rows]
            for f in fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
            and getattr(self, f.name).shape[:1] == (n,)
        }
        return replace(self, **changes)

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
        n, _, h, w = self.images.shape
        counts = ", ".join(f"{c} {int((self.category == c).sum())}" for c in self.categories)
        lines = [
            f"LiverCases: {n} images of {_count(np.unique(self.patient_id).size, 'patient')}, {h}x{w} px "
            f"({self.pixel_mm:.2f} mm/px), phases {' / '.join(self.phases)} as channels, HU",
            f"  noise SD {self.noise_hu / math.sqrt(self.dose):.1f} HU (dose {self.dose:g}), seed {self.seed}",
            f"  categories: {counts}",
        ]
        lines += [
            f"  {c} {LESION_CATEGORIES[c][0]}: {LESION_CATEGORIES[c][1]}" for c in self.categories
        ]
        return "\n".join(lines)


@dataclass(repr=False)
class FibrosisCases(_Cases):
    """One-phase liver CT slices with a fibrosis stage, and their exact ground truth.

    - ``images`` float32 (N, 1, H, W), HU, phase ``phases[0]``
    - ``stage`` int64 (N,): METAVIR-like stage 0-4; ``label`` int64 (N,): index into ``stages``
    - ``score`` float32 (N,): the continuous severity behind the stage (stage +/- scatter)
    - ``caudate_ratio`` float32 (N,): caudate / right lobe width as built (grows with stage)
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
        n, _, h, w = self.images.shape
        counts = ", ".join(f"F{s} {int((self.stage == s).sum())}" for s in self.stages)
        return (
            f"FibrosisCases: {n} images of {_count(np.unique(self.patient_id).size, 'patient')}, {h}x{w} px "
            f"({self.pixel_mm:.2f} mm/px), {self.phases[0]} phase, HU, noise SD "
            f"{self.noise_hu / math.sqrt(self.dose):.1f} HU, seed {self.seed}\n  stages: {counts}\n"
            "  with stage the liver surface grows nodular, the caudate lobe grows against the right "
            "lobe, the parenchyma grows heterogeneous, the spleen enlarges; some F4 livers have ascites"
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
            f"{int((~self.event).sum())} censored; hazard ratio {math.exp(self.beta):.2f} per SD of "
            f"the feature; a perfect risk model reaches a c-index of {self.expected_c_index:.3f} on average"
        )


# ------------------------------------------------------------ random values


def _rng_pair(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Two independent streams: anatomy, and noise (so noise_hu=0 leaves the anatomy unchanged)."""
    anatomy, noise = np.random.SeedSequence(int(seed)).spawn(2)
    return np.random.default_rng(anatomy), np.random.default_rng(noise)


def _u(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
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
    """Core, rim and nodule HU (n, 3) of n lesions of one category; ``ref`` holds those patients' tissues."""
    n = len(ref["liver"])
    table = LESION_HU[letter]
    core = np.zeros((n, 3), np.float32)
    for p in range(3):
        core[:, p] = _spec_value(rng, table["core"][p], p, core, ref)
    if letter == "B":  # some "other malignant" lesions fill in slowly (cholangiocarcinoma)
        slow = rng.random(n) < _B_SLOW_FILL[0]
        core[slow, 2] = _u(rng, *_B_SLOW_FILL[1], n)[slow]
    out = {"core": core}
    for part in ("rim", "nodules"):
        specs = table.get(part, ("core",) * 3)
        out[part] = np.stack([_spec_value(rng, specs[p], p, core, ref) for p in range(3)], axis=1)
    return out


# ------------------------------------------------------------------ filters


def _gauss_taps(sigma: float, *, unit_energy: bool) -> np.ndarray:
    """1-D Gaussian taps; unit energy (sum of squares 1) keeps white noise's SD, unit sum keeps the mean."""
    radius = max(1, int(math.ceil(2.5 * sigma)))
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    taps = np.exp(-(t**2) / (2 * sigma**2))
    taps /= math.sqrt((taps**2).sum()) if unit_energy else taps.sum()
    return taps.astype(np.float32)


def _filter_numpy(a: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable filter over the last two axes (reflected edges); any leading shape."""
    r = len(taps) // 2
    h, w = a.shape[-2:]
    pad = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(r, r), (r, r)], mode="reflect")
    rows = sum(t * pad[..., i : i + h, :] for i, t in enumerate(taps))
    return sum(t * rows[..., i : i + w] for i, t in enumerate(taps)).astype(np.float32)


def _filter_torch(a: torch.Tensor, taps: np.ndarray) -> torch.Tensor:
    """Same as ``_filter_numpy`` for a tensor, on the tensor's device."""
    shape = a.shape
    x = a.reshape(-1, 1, *shape[-2:])  # (B, 1, H, W)
    k = torch.as_tensor(taps, dtype=x.dtype, device=x.device)
    r = len(taps) // 2
    x = F.pad(x, (r, r, r, r), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, -1, 1))
    x = F.conv2d(x, k.view(1, 1, 1, -1))
    return x.reshape(shape)


def _filter(a, taps: np.ndarray):
    if isinstance(a, torch.Tensor):
        return _filter_torch(a, taps)
    return _filter_numpy(np.asarray(a, dtype=np.float32), taps)


def _smooth_field(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Random texture with SD 1 and grain ``sigma`` pixels: (shape)."""
    return _filter_numpy(
        rng.standard_normal(shape, dtype=np.float32), _gauss_taps(sigma, unit_energy=True)
    )


# -------------------------------------------------- noise, dose, kernel, slices


def _generator_for(hu, seed: int | None, generator):
    if generator is not None:
        return generator
    if seed is None:
        seed = config.seed()
    if isinstance(hu, torch.Tensor):
        return torch.Generator(device=hu.device).manual_seed(int(seed))
    return np.random.default_rng(int(seed))


def _noise_like(hu, sd: float, corr: float, rng):
    """Correlated Gaussian noise of SD ``sd`` with the shape, type and device of ``hu``."""
    if isinstance(hu, torch.Tensor):
        white = torch.randn(hu.shape, generator=rng, device=hu.device, dtype=torch.float32)
    else:
        white = rng.standard_normal(np.shape(hu), dtype=np.float32)
    if corr > 0:
        white = _filter(white, _gauss_taps(corr, unit_energy=True))
    return white * sd


def add_ct_noise(
    hu,
    *,
    sd: float = 12.0,
    dose: float = 1.0,
    corr: float = 0.8,
    seed: int | None = None,
    generator=None,
):
    """Add correlated (textured) CT noise; its SD is ``sd / sqrt(dose)``.

    Real CT noise is not independent from pixel to pixel: the reconstruction
    gives it a grain. Here white Gaussian noise is blurred by a Gaussian of
    ``corr`` pixels and rescaled, so its SD stays exactly ``sd / sqrt(dose)``.

    Args:
        hu: image(s) in HU, NumPy array or torch tensor, last two axes (H, W).
        sd: noise SD in HU at standard dose (10-15 HU is typical for abdominal CT).
        dose: fraction of the standard dose; 0.25 (quarter dose) doubles the noise.
        corr: grain size in pixels (0 = white noise).
        seed / generator: the same seed gives the same noise; a NumPy Generator
            (arrays) or torch.Generator (tensors) continues a stream.

    Returns:
        The noisy image, same type, shape and device as ``hu`` (float32).
    """
    if dose <= 0:
        raise ValueError(f"dose={dose} must be a positive fraction of the standard dose, e.g. 0.25")
    noise = _noise_like(hu, sd / math.sqrt(dose), corr, _generator_for(hu, seed, generator))
    return hu + noise if isinstance(hu, torch.Tensor) else (np.asarray(hu, np.float32) + noise)


def low_dose(
    hu,
    dose: float = 0.25,
    *,
    base_sd: float = 12.0,
    corr: float = 0.8,
    seed: int | None = None,
    generator=None,
):
    """Simulate a scan at a fraction ``dose`` of the standard dose from a standard-dose image.

    The image is assumed to carry ``base_sd`` HU of noise already (the phantoms
    do, with their default ``noise_hu``). Independent noise is added so the
    total SD becomes ``base_sd / sqrt(dose)``: quarter dose doubles the noise.
    For a noise-free image use ``add_ct_noise(hu, sd=..., dose=...)`` instead.
    """
    if not 0 < dose <= 1:
        raise ValueError(
            f"dose={dose}: low_dose can only remove dose, so use a fraction in (0, 1], e.g. 0.25"
        )
    extra = base_sd * math.sqrt(1.0 / dose - 1.0)
    return add_ct_noise(hu, sd=extra, dose=1.0, corr=corr, seed=seed, generator=generator)


def scanner_kernel(hu, kind: str = "standard"):
    """Mimic a reconstruction kernel: ``soft`` blurs, ``sharp`` (bone) raises edges and noise.

    ``standard`` returns the image unchanged (a copy). ``soft`` smooths with a
    Gaussian of 0.8 pixel (less noise, blurred edges). ``sharp`` adds back the
    detail a Gaussian of 1 pixel removes (unsharp masking): edges overshoot
    and the noise grows, as with a bone kernel.
    """
    if kind == "standard":
        return hu.clone() if isinstance(hu, torch.Tensor) else np.array(hu, dtype=np.float32)
    if kind == "soft":
        return _filter(hu, _gauss_taps(0.8, unit_energy=False))
    if kind == "sharp":
        blurred = _filter(hu, _gauss_taps(1.0, unit_energy=False))
        return hu + 1.5 * (hu - blurred)
    raise ValueError(f"kernel {kind!r} is not known; use 'soft', 'standard' or 'sharp'")


def thick_slices(volume, factor: int = 2, *, axis: int = -3):
    """Average each ``factor`` neighbouring slices into one thick slice (partial volume).

    ``volume`` (..., Z, H, W) with Z along ``axis``; slices left over at the end
    (Z not a multiple of ``factor``) are dropped. Thick slices have less noise
    (SD / sqrt(factor)) but blur small lesions into their surroundings.
    """
    if factor < 1:
        raise ValueError(f"factor={factor} must be a whole number of thin slices, 1 or more")
    is_tensor = isinstance(volume, torch.Tensor)
    x = volume if is_tensor else np.asarray(volume, np.float32)
    axis = axis % x.ndim
    keep = (x.shape[axis] // factor) * factor
    if keep == 0:
        raise ValueError(
            f"only {x.shape[axis]} slices: too few to make slices {factor} times thicker"
        )
    x = x.narrow(axis, 0, keep) if is_tensor else np.take(x, np.arange(keep), axis=axis)
    grouped = x.reshape(*x.shape[:axis], keep // factor, factor, *x.shape[axis + 1 :])
    return grouped.mean(axis + 1) if is_tensor else grouped.mean(axis=axis + 1, dtype=np.float32)


# ----------------------------------------------------------------- geometry


@dataclass
class _Grid:
    """Pixel centres in mm: x to the image's right (the patient's left), y posterior.

    The full grid holds x (1, 1, W) and y (1, H, 1), shared by all images; a
    window (see :meth:`window`) holds x (N, 1, K), y (N, K, 1) around one
    structure in each image, and the pixel indices iy, ix it covers.
    """

    x: np.ndarray
    y: np.ndarray
    px: float
    size: int
    iy: np.ndarray | None = None
    ix: np.ndarray | None = None

    def window(self, cx, cy, half_mm) -> _Grid:
        """A K x K window per image around (cx, cy) (N,), K wide enough for ``half_mm`` (N,) each side."""
        k = min(self.size, int(math.ceil(2 * float(np.max(half_mm)) / self.px)) + 3)
        n = len(cx)
        xs = np.broadcast_to(self.x[:, 0, :], (n, self.size))  # (N, W): each image's own columns
        ys = np.broadcast_to(self.y[:, :, 0], (n, self.size))

        def start(c, first):  # first index, kept inside the image so indices never repeat
            return np.clip(
                np.round((np.asarray(c) - first) / self.px - (k - 1) / 2), 0, self.size - k
            )

        ix = (
            start(cx, xs[:, 0]).astype(np.int64)[:, None, None] + np.arange(k)[None, None, :]
        )  # (N, 1, K)
        iy = (
            start(cy, ys[:, 0]).astype(np.int64)[:, None, None] + np.arange(k)[None, :, None]
        )  # (N, K, 1)
        rows = np.arange(n)[:, None, None]
        return _Grid(xs[rows, ix], ys[rows, iy], self.px, self.size, iy, ix)

    def take(self, full: np.ndarray) -> np.ndarray:
        """A full (N, H, W) array seen through this window: (N, K, K)."""
        if self.ix is None:
            return full
        return full[np.arange(len(full))[:, None, None], self.iy, self.ix]


def _grid(size: int, fov_mm: float, center_x, center_y) -> _Grid:
    """Pixel grid over ``fov_mm``; one centre for all images (scalars) or one per image (arrays (N,))."""
    px = fov_mm / size
    c = ((np.arange(size) + 0.5 - size / 2) * px).astype(np.float32)
    x = (
        np.atleast_1d(np.asarray(center_x, np.float32))[:, None, None] + c[None, None, :]
    )  # (1 or N, 1, W)
    y = (
        np.atleast_1d(np.asarray(center_y, np.float32))[:, None, None] + c[None, :, None]
    )  # (1 or N, H, 1)
    return _Grid(x, y, px, size)


def _col(a) -> np.ndarray:
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


def _radius_table(
    rng, n: int, bumps: np.ndarray, wobble: float = 0.04, size: int = 512
) -> np.ndarray:
    """Radius of a lobe against angle, (n, size): smooth wobble plus nodular scallops of height ``bumps``."""
    theta = np.linspace(-np.pi, np.pi, size, endpoint=False, dtype=np.float32)[None, :]
    r = np.ones((n, size), np.float32)
    for k in (2, 3, 4):  # gentle, patient-specific shape
        r += _u(rng, 0, wobble / k, n)[:, None] * np.cos(
            k * theta + _u(rng, 0, 2 * np.pi, n)[:, None]
        )
    count = rng.integers(22, 34, n)[:, None]  # nodules around the lobe
    jitter = 0.8 * np.sin(3 * theta + _u(rng, 0, 2 * np.pi, n)[:, None])  # unequal nodule sizes
    scallop = np.abs(np.sin(count * theta / 2 + jitter)) - 2 / np.pi  # bulges, notches between
    local = (
        1
        + 0.4 * np.cos(2 * theta + _u(rng, 0, 2 * np.pi, n)[:, None])
        + 0.3 * np.cos(7 * theta + _u(rng, 0, 2 * np.pi, n)[:, None])
    )  # uneven heights
    return (r + bumps[:, None] * local * scallop).astype(np.float32)


def _lobe_d(gr: _Grid, cx, cy, ax, ay, table: np.ndarray) -> np.ndarray:
    """Signed distance (mm, approx.) to a lobe: an ellipse whose radius follows ``table`` with angle."""
    f, grad = _ellipse_fg(gr, cx, cy, ax, ay)
    u, v = (gr.x - _col(cx)) / _col(ax), (gr.y - _col(cy)) / _col(ay)
    n, size = table.shape
    idx = ((np.arctan2(v, u) + np.pi) * (size / (2 * np.pi))).astype(np.int32) % size
    radius = np.take_along_axis(table, idx.reshape(n, -1), axis=1).reshape(idx.shape)
    return (f - radius) / grad


def _segment_cover(gr: _Grid, x0, y0, x1, y1, half_width) -> tuple[_Grid, np.ndarray]:
    """A vessel: a segment tapering to half its width at the far end; its window and cover."""
    w = gr.window(
        (x0 + x1) / 2, (y0 + y1) / 2, np.maximum(abs(x1 - x0), abs(y1 - y0)) / 2 + half_width
    )
    dx, dy = _col(x1 - x0), _col(y1 - y0)
    t = np.clip(((w.x - _col(x0)) * dx + (w.y - _col(y0)) * dy) / (dx * dx + dy * dy + 1e-6), 0, 1)
    dist = np.hypot(w.x - (_col(x0) + t * dx), w.y - (_col(y0) + t * dy))
    return w, _cover(dist - _col(half_width) * (1 - 0.5 * t), gr.px)


# ------------------------------------------------------------------ anatomy


def _body_layout(rng, n: int) -> dict[str, np.ndarray]:
    """Body habitus and the fixed landmarks, in mm, per patient (arrays of n)."""
    g: dict[str, np.ndarray] = {}
    g["A"] = _u(rng, 135, 175, n)  # half-width of the body
    g["B"] = g["A"] * _u(rng, 0.68, 0.78, n)  # half-depth
    g["fat"] = _u(rng, 6, 14, n) + (g["A"] - 135) * _u(rng, 0.15, 0.45, n)
    g["muscle"] = _u(rng, 6, 10, n)
    g["cx"], g["cy"] = _u(rng, -4, 4, n), _u(rng, -4, 4, n)
    g["Ac"] = g["A"] - g["fat"] - g["muscle"]  # abdominal cavity
    g["Bc"] = g["B"] - g["fat"] - g["muscle"]
    g["rv"] = _u(rng, 16, 20, n)  # vertebral body radius
    g["yv"] = g["cy"] + g["B"] - g["fat"] - 42 - g["rv"]  # vertebral body centre
    g["ra"] = _u(rng, 9, 12, n)  # aorta radius
    g["xa"] = _u(rng, 6, 14, n)
    g["ya"] = g["yv"] - g["rv"] - g["ra"] - _u(rng, 2, 5, n)
    g["xi"] = -_u(rng, 20, 28, n)  # IVC
    g["yi"] = g["yv"] - g["rv"] - _u(rng, 6, 12, n)
    return g


def _liver_layout(rng, g: dict[str, np.ndarray], score: np.ndarray) -> dict[str, np.ndarray]:
    """Liver lobes, portal vein and spleen (mm) per patient; fibrosis ``score`` 0-4 remodels them."""
    n = len(score)
    g["right_scale"] = 1 - 0.05 * score  # the right lobe shrinks...
    g["left_scale"] = 1 + 0.04 * score
    g["caudate_ratio"] = (
        _u(rng, 0.38, 0.5, n) * (1 + 0.1 * score) / g["right_scale"]
    )  # ...the caudate grows
    g["lrx"], g["lry"] = g["Ac"] * _u(rng, 0.46, 0.54, n), g["Bc"] * _u(rng, 0.72, 0.84, n)
    g["lcx"], g["lcy"] = -g["Ac"] * _u(rng, 0.44, 0.5, n), g["cy"] - g["Bc"] * _u(rng, 0.02, 0.1, n)
    g["llx"], g["lly"] = g["Ac"] * _u(rng, 0.28, 0.36, n), g["Bc"] * _u(rng, 0.22, 0.3, n)
    g["lcx_left"], g["lcy_left"] = (
        g["Ac"] * _u(rng, -0.1, 0.02, n),
        g["cy"] - g["Bc"] * _u(rng, 0.52, 0.6, n),
    )
    g["ccx"] = g["caudate_ratio"] * 0.6 * g["lrx"]  # caudate half-width
    g["ccy"] = g["ccx"] * _u(rng, 0.9, 1.2, n)
    g["xc"], g["yc"] = g["xi"] + _u(rng, 4, 10, n), g["yi"] - g["ccy"] - _u(rng, 2, 6, n)
    g["rp"] = _u(rng, 6, 8, n)  # main portal vein at the hilum
    g["xp"], g["yp"] = g["xc"] - g["ccx"] - _u(rng, 4, 10, n), g["yc"] - _u(rng, 6, 16, n)
    g["spleen"] = (1 + 0.07 * score) * _u(rng, 0.9, 1.1, n)
    g["hetero"] = 2.0 + 2.2 * score  # parenchymal heterogeneity, HU
    g["ascites"] = rng.random(n) < np.clip((score - 3.0) * 0.5, 0, 1)
    nodular = (
        0.045 * score**0.6 * _u(rng, 0.8, 1.2, n)
    )  # F1 subtle, F4 bumps ~10% of the lobe radius
    g["tables"] = [
        _radius_table(rng, n, nodular * k) for k in (1.0, 1.0, 0.5)
    ]  # right, left, caudate
    return g


def _expand(params: dict, rows: np.ndarray) -> dict:
    """Patient parameters -> image parameters (one row per slice)."""
    return {
        k: ([t[rows] for t in v] if isinstance(v, list) else v[rows]) for k, v in params.items()
    }


def _slice_scale(z_mm: np.ndarray, half_height_mm: float) -> np.ndarray:
    """How an organ's cross-section shrinks away from its centre slice (an ellipsoid)."""
    return np.sqrt(np.clip(1 - (z_mm / half_height_mm) ** 2, 0.25, 1)).astype(np.float32)


class _Canvas:
    """The image being painted, tissue by tissue, with partial volume at every edge."""

    def __init__(self, n: int, phases: int, size: int):
        self.img = np.full((n, phases, size, size), -1000.0, np.float32)  # (N, P, H, W), air
        self.tissue = np.zeros((n, size, size), np.uint8)

    def paint(self, gr: _Grid, cover: np.ndarray, value: np.ndarray, tissue: str) -> None:
        """Blend ``value`` ((N, P) or (N, P, K, K), HU) in with weight ``cover`` (N, K, K) on grid ``gr``."""
        value = value[:, :, None, None] if value.ndim == 2 else value
        if gr.ix is None:
            self.img += cover[:, None] * (value - self.img)
            self.tissue[cover >= 0.5] = _CODE[tissue]
            return
        rows = np.arange(len(cover))[:, None, None]
        patch = self.img[rows, :, gr.iy, gr.ix]  # (N, K, K, P): NumPy puts the indexed axes first
        patch += cover[..., None] * (np.moveaxis(value, 1, -1) - patch)
        self.img[rows, :, gr.iy, gr.ix] = patch
        codes = self.tissue[rows, gr.iy, gr.ix]
        codes[cover >= 0.5] = _CODE[tissue]
        self.tissue[rows, gr.iy, gr.ix] = codes

    def ellipse(
        self, gr: _Grid, value, tissue: str, cx, cy, ax, ay, angle=None
    ) -> tuple[_Grid, np.ndarray]:
        """Paint an ellipse (arrays (N,) in mm) inside its own window; returns the window and cover."""
        n = len(value)
        cx, cy, ax, ay = (
            np.broadcast_to(np.asarray(a, np.float32), (n,)) for a in (cx, cy, ax, ay)
        )
        w = gr.window(cx, cy, np.maximum(ax, ay) + gr.px)
        cover = _ellipse_cover(w, cx, cy, ax, ay, angle)
        self.paint(w, cover, value, tissue)
        return w, cover


def _paint_wall(cv: _Canvas, gr: _Grid, g, hu) -> np.ndarray:
    """Subcutaneous fat, muscle wall, intra-abdominal fat; returns the cavity cover (N, H, W)."""
    cv.paint(gr, _ellipse_cover(gr, g["cx"], g["cy"], g["A"], g["B"]), hu["fat"], "fat")
    cv.paint(
        gr,
        _ellipse_cover(gr, g["cx"], g["cy"], g["A"] - g["fat"], g["B"] - g["fat"]),
        hu["muscle"],
        "muscle",
    )
    cavity = _ellipse_cover(gr, g["cx"], g["cy"], g["Ac"], g["Bc"])
    cv.paint(gr, cavity, hu["fat"], "fat")
    return cavity


def _paint_spine_and_great_vessels(cv: _Canvas, gr: _Grid, g, hu) -> None:
    """Paraspinal muscles, vertebra, spinal canal, aorta and IVC, painted last: nothing covers them."""
    yp = g["yv"] + g["rv"] + 14  # level of the spinal canal
    for side in (-1, 1):
        cv.ellipse(gr, hu["muscle"], "muscle", side * 30, yp + 4, 24, 18)  # paraspinal
        cv.ellipse(gr, hu["muscle"], "muscle", side * (g["rv"] + 8), g["yv"], 9, 13)  # crus / psoas
    cv.ellipse(gr, hu["bone_cortex"], "bone", 0, yp + 6, 7, 16)  # spinous process
    cv.ellipse(gr, hu["water"], "water", 0, yp - 3, 8, 7)  # spinal canal (CSF)
    cv.ellipse(gr, hu["bone_cortex"], "bone", 0, g["yv"], g["rv"] * 1.15, g["rv"])  # vertebral body
    cv.ellipse(gr, hu["bone_cancellous"], "bone", 0, g["yv"], g["rv"] * 1.15 - 3, g["rv"] - 3)
    cv.ellipse(gr, hu["aorta"], "aorta", g["xa"], g["ya"], g["ra"], g["ra"])
    cv.ellipse(gr, hu["ivc"], "ivc", g["xi"], g["yi"], 13, 9)  # the liver wraps around the IVC


def _paint_viscera(cv: _Canvas, gr: _Grid, g, hu) -> None:
    """Kidneys (cortex and medulla), spleen, and the stomach with fluid and a gas cap."""
    n = len(g["A"])
    s = g["spleen"] * g["z_spleen"]  # spleen along the left posterolateral wall
    cv.ellipse(
        gr,
        hu["spleen"],
        "spleen",
        g["Ac"] * 0.72,
        g["cy"] + g["Bc"] * 0.2,
        g["Ac"] * 0.17 * s,
        g["Bc"] * 0.42 * s,
        np.full(n, -0.45),
    )
    for side, k, tilt in (
        (1, 1.0, 0.5),
        (-1, 0.75, -0.5),
    ):  # left kidney's upper part, right upper pole
        kx, ky, angle = side * (g["rv"] + 36), g["yv"] + 2, np.full(n, tilt)
        cv.ellipse(gr, hu["kidney_cortex"], "kidney", kx, ky, 19 * k, 26 * k, angle)
        cv.ellipse(gr, hu["kidney_medulla"], "kidney", kx, ky, 11 * k, 17 * k, angle)
    sx, sy, sa, sb = g["Ac"] * 0.36, g["cy"] - g["Bc"] * 0.35, g["Ac"] * 0.26, g["Bc"] * 0.28
    cv.ellipse(gr, hu["stomach_wall"], "stomach", sx, sy, sa, sb, np.full(n, 0.3))
    w, lumen = cv.ellipse(gr, hu["water"], "water", sx, sy, sa - 4, sb - 4, np.full(n, 0.3))
    gas = lumen * np.clip(0.5 - (w.y - _col(sy - 0.45 * sb)) / gr.px, 0, 1)  # gas rises anteriorly
    cv.paint(w, gas.astype(np.float32), hu["air"], "air")


def _liver_cover(gr: _Grid, g, cavity) -> tuple[np.ndarray, np.ndarray]:
    """Liver cover (N, H, W): right, left and caudate lobes inside the cavity; and its distance (mm)."""
    zl = g["z_liver"]
    rs, ls = g["right_scale"] * zl, g["left_scale"] * zl
    t_right, t_left, t_caud = g["tables"]
    d = _lobe_d(gr, g["lcx"], g["lcy"], g["lrx"] * rs, g["lry"] * rs, t_right)
    d = np.minimum(
        d, _lobe_d(gr, g["lcx_left"], g["lcy_left"], g["llx"] * ls, g["lly"] * ls, t_left)
    )
    d = np.minimum(d, _lobe_d(gr, g["xc"], g["yc"], g["ccx"] * zl, g["ccy"] * zl, t_caud))
    return np.minimum(_cover(d, gr.px), cavity), d


def _paint_liver(cv: _Canvas, gr: _Grid, g, hu, cavity, rng) -> np.ndarray:
    """Liver with texture, ascites, portal and hepatic veins; returns the liver cover (N, H, W)."""
    n = len(g["A"])
    liver, d = _liver_cover(gr, g, cavity)
    if g["ascites"].any():  # a rim of fluid around a cirrhotic liver
        cv.paint(
            gr,
            np.minimum(_cover(d, gr.px, grow_mm=np.where(g["ascites"], 8.0, -1e3)), cavity),
            hu["water"],
            "water",
        )
    texture = _smooth_field(rng, (n, gr.size, gr.size), 1.2) * _col(g["hetero"])
    cv.paint(gr, liver, hu["liver"][:, :, None, None] + texture[:, None], "liver")
    veins = [
        (g["xp"], g["yp"], g["lcx"] - 0.6 * g["lrx"], g["lcy"] - 0.1 * g["lry"], "portal_vein"),
        (g["xp"], g["yp"], g["lcx"] - 0.25 * g["lrx"], g["lcy"] + 0.5 * g["lry"], "portal_vein"),
        (g["xp"], g["yp"], g["lcx_left"], g["lcy_left"], "portal_vein"),
        (g["xi"], g["yi"], g["lcx"] - 0.3 * g["lrx"], g["lcy"] - 0.7 * g["lry"], "hepatic_vein"),
        (g["xi"], g["yi"], g["lcx_left"] - 0.5 * g["llx"], g["lcy_left"], "hepatic_vein"),
    ]
    for x0, y0, x1, y1, kind in veins:
        w, vessel = _segment_cover(gr, x0, y0, x1, y1, np.full(n, 2.5, np.float32))
        cv.paint(w, vessel * w.take(liver), hu[kind], "hepatic_vessel")
    cv.ellipse(gr, hu["portal_vein"], "portal_vein", g["xp"], g["yp"], g["rp"], g["rp"])
    return liver


# ------------------------------------------------------------------ lesions


def _place_lesions(
    rng, g: dict[str, np.ndarray], radius: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Lesion centres, as offsets in units of the right lobe's half-axes, clear of edges and vessels."""
    n, tries = len(radius), 48
    rho, phi = np.sqrt(rng.random((n, tries))) * 0.75, rng.uniform(-np.pi, np.pi, (n, tries))
    u, v = rho * np.cos(phi), rho * np.sin(phi)
    px_, py_ = g["lcx"][:, None] + u * g["lrx"][:, None], g["lcy"][:, None] + v * g["lry"][:, None]
    margin = radius[:, None] + 6
    ok = rho + margin / np.minimum(g["lrx"], g["lry"])[:, None] < 0.95
    ok &= (
        np.hypot(
            (px_ - g["cx"][:, None]) / g["Ac"][:, None], (py_ - g["cy"][:, None]) / g["Bc"][:, None]
        )
        + margin / np.minimum(g["Ac"], g["Bc"])[:, None]
        < 0.97
    )
    for cx, cy, r in (
        (g["xp"], g["yp"], g["rp"]),
        (g["xi"], g["yi"], np.full(n, 13.0)),
        (g["xc"], g["yc"], g["ccx"]),
        (g["xa"], g["ya"], g["ra"]),
        (np.zeros(n), g["yv"], g["rv"] * 1.2),
    ):
        ok &= (
            np.hypot(px_ - cx[:, None], py_ - cy[:, None]) > margin + r[:, None]
        )  # clear of vessels, spine
    first = np.where(ok.any(1), ok.argmax(1), rho.argmin(1))  # else the most central try
    rows = np.arange(n)
    return u[rows, first].astype(np.float32), v[rows, first].astype(np.float32)


def _lesion_patient_params(
    rng, letters: np.ndarray, hu: dict, diameter_mm, g
) -> dict[str, np.ndarray]:
    """Per-patient lesion: size, shape, position, and HU of core, rim and nodules (n, 3)."""
    n = len(letters)
    les = {
        "radius": _u(rng, diameter_mm[0] / 2, diameter_mm[1] / 2, n),
        "ecc": _u(rng, 0.0, 0.12, n),
        "angle": _u(rng, 0, np.pi, n),
        "n_nod": rng.integers(3, 7, n),
        "nod_phase": _u(rng, 0, 2 * np.pi, n),
    }
    les["u"], les["v"] = _place_lesions(rng, g, les["radius"])
    for part in ("core", "rim", "nodules"):
        les[part] = np.zeros((n, 3), np.float32)
    for letter in np.unique(letters):
        rows = np.flatnonzero(letters == letter)
        values = _lesion_values(rng, letter, {k: v[rows] for k, v in hu.items()})
        for part, val in values.items():
            les[part][rows] = val
    les["has_rim"] = (letters == "B") | (
        (letters == "A") & (rng.random(n) < 0.8)
    )  # most HCC have a capsule
    les["rim_width"] = np.where(letters == "A", 0.2, 0.35).astype(
        np.float32
    )  # capsule thin, tumour rim thick
    les["texture"] = np.select([letters == "A", letters == "B"], [8.0, 5.0], 2.0).astype(np.float32)
    return les


def _nodule_cover(w: _Grid, cx, cy, r, count, phase) -> np.ndarray:
    """Peripheral nodules of a hemangioma: up to 6 small discs just inside the edge, (n, K, K)."""
    cover = np.zeros(np.broadcast_shapes(w.x.shape, w.y.shape), np.float32)
    a = phase.copy()
    for k in range(6):  # discontinuous: uneven gaps and sizes, never a full ring
        size = 0.36 * r * (0.7 + 0.3 * np.cos(3.0 * k + phase))
        disc = _ellipse_cover(w, cx + 0.68 * r * np.cos(a), cy + 0.68 * r * np.sin(a), size, size)
        cover = np.maximum(cover, disc * _col(k < count))
        a = a + (1.2 + 0.5 * np.sin(5.0 * k + 2 * phase)) * 4.0 / np.maximum(count, 1)
    return cover


def _lesion_centre(g: dict, les: dict) -> tuple[np.ndarray, np.ndarray]:
    """Each image's lesion centre in mm: (x (N,), y (N,))."""
    zl = g["z_liver"] * g["right_scale"]
    return g["lcx"] + les["u"] * g["lrx"] * zl, g["lcy"] + les["v"] * g["lry"] * zl


def _paint_lesion(cv: _Canvas, gr: _Grid, g, les, liver, rng) -> None:
    """Paint each image's cut through its lesion (inside the liver cover ``liver`` (N, H, W))."""
    n = len(les["radius"])
    r = np.sqrt(
        np.clip(les["radius"] ** 2 - g["z_mm"] ** 2, 1e-4, None)
    )  # in-slice radius of a sphere
    cx, cy = _lesion_centre(g, les)
    w = gr.window(cx, cy, les["radius"] * 1.15 + gr.px)
    f, grad = _ellipse_fg(w, cx, cy, r * (1 + les["ecc"]), r * (1 - les["ecc"]), les["angle"])
    cover = np.minimum(_cover((f - 1) / grad, gr.px), w.take(liver))
    k = cover.shape[-1]
    mottle = (
        _smooth_field(rng, (n, 1, k, k), 0.8) * np.array([0.3, 1.0, 0.6], np.float32)[:, None, None]
    )
    value = les["core"][:, :, None, None] + _col(les["texture"])[:, None] * mottle  # (N, P, K, K)
    inner = 1 - _col(
        np.maximum(les["rim_width"], 0.8 * gr.px / r)
    )  # rim: the outer part of the radius
    rim = np.clip(0.5 + (f - inner) / (grad * gr.px), 0, 1) * _col(les["has_rim"])
    value += rim[:, None] * (les["rim"] - les["core"])[:, :, None, None]
    hem = np.flatnonzero(np.any(les["nodules"] != les["core"], axis=1))
    if hem.size:
        sub = _Grid(w.x[hem], w.y[hem], gr.px, gr.size)
        nod = _nodule_cover(sub, cx[hem], cy[hem], r[hem], les["n_nod"][hem], les["nod_phase"][hem])
        value[hem] += nod[:, None] * (les["nodules"][hem] - les["core"][hem])[:, :, None, None]
    cv.paint(w, cover, value, "lesion")


# ----------------------------------------------------------------- builders


def _patients(n: int, slices_per_patient: int, slice_mm) -> tuple[np.ndarray, np.ndarray]:
    """Row -> patient index, and slice positions z (mm) centred on the patient's lesion/organ centre.

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


def _render(
    rng_anat,
    rng_noise,
    g: dict,
    gr: _Grid,
    hu_img: dict,
    phase_idx,
    noise_sd: float,
    les: dict | None,
):
    """Paint every image and add noise: images (N, P, H, W) in HU and the tissue map (N, H, W)."""
    cv = _Canvas(len(g["A"]), len(phase_idx), gr.size)
    hu = {k: v[:, phase_idx] for k, v in hu_img.items()}
    cavity = _paint_wall(cv, gr, g, hu)
    _paint_viscera(cv, gr, g, hu)
    liver = _paint_liver(cv, gr, g, hu, cavity, rng_anat)
    if les is not None:
        les = {
            k: (v[:, phase_idx] if k in ("core", "rim", "nodules") else v) for k, v in les.items()
        }
        _paint_lesion(cv, gr, g, les, liver, rng_anat)
    _paint_spine_and_great_vessels(cv, gr, g, hu)
    if noise_sd > 0:
        cv.img += _noise_like(cv.img, noise_sd, 0.8, rng_noise)
    np.clip(cv.img, *_HU_LIMITS, out=cv.img)
    return cv.img, cv.tissue


def _masks(tissue: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Liver mask (parenchyma, its vessels and the lesion) and lesion mask, from the tissue map."""
    liver = np.isin(tissue, [_CODE["liver"], _CODE["hepatic_vessel"], _CODE["lesion"]])
    return liver, tissue == _CODE["lesion"]


def _check_size(size: int, fov_mm: float) -> None:
    if size < 16 or fov_mm <= 0:
        raise ValueError(
            f"size={size} px over fov_mm={fov_mm}: use at least 16 px and a positive field "
            "of view (a 64 px slice over 380 mm gives about 6 mm pixels)"
        )


def liver_lesions(
    n: int,
    *,
    size: int = 64,
    seed: int = 0,
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

    Each image is an axial slice through the upper abdomen in HU: body wall
    (fat, muscle), vertebral body and spinal canal, kidneys, spleen, stomach
    (fluid with a gas cap), aorta, IVC, and the liver with portal and hepatic
    veins. Channels are the phases: unenhanced, arterial, delayed (3-5 min).
    Liver: ~55 HU unenhanced, 70-80 arterial, 100-110 delayed (``REFERENCE_HU``).

    What each lesion category looks like:

    - A classic HCC: slightly hypodense unenhanced (40-45 HU); hyper-enhancing
      in the arterial phase (100-130 HU, brighter than liver, a little mottled);
      washout in the delayed phase (70-85 HU, darker than liver), usually with
      an enhancing capsule rim.
    - B other malignant (e.g. metastasis): 35-45 HU unenhanced; arterial rim
      enhancement (85-110 HU) around a dark centre; stays darker than liver in
      the delayed phase; a quarter fill in slowly (cholangiocarcinoma-like).
    - C indeterminate / rare benign: 45-55 HU unenhanced, within about 12 HU
      of liver in the arterial and delayed phases: the hard class.
    - D hemangioma: ~40 HU unenhanced; arterial peripheral nodular puddles
      nearly as bright as the aorta; filled in centripetally by the delayed
      phase, iso to the blood pool.
    - E cyst: water (0-15 HU) in every phase, sharp edge, never enhances.

    The unenhanced values of A-D overlap on purpose (as in real patients): on
    the unenhanced phase alone a cyst stands out, the rest hardly. The phases
    together tell them apart.

    Args:
        n: number of patients; there are ``n * slices_per_patient`` images.
        size: pixels per side (the field of view stays ``fov_mm``).
        seed: the same seed gives the same images.
        categories: which categories to draw, e.g. "ABCDE" or "DE" (hemangioma
            vs cyst); ``label`` indexes this string.
        weights: prevalence of each category; None gives equal counts.
        noise_hu: noise SD at standard dose (0 gives noise-free images).
        dose: fraction of the standard dose (noise SD grows as 1/sqrt(dose)).
        slices_per_patient: neighbouring slices per patient, ``slice_mm`` apart,
            sharing anatomy, lesion and category (split by patient, not image!).
        diameter_mm: range of lesion diameters (a sphere; off-centre slices cut it smaller).
        fov_mm: field of view; center_mm: its centre (x to the patient's left, y posterior).
        roi_mm: instead of the whole abdomen, a square region of this width
            around each lesion (its position jittered), as a radiologist would
            crop it, e.g. roi_mm=100 gives 1.6 mm pixels at 64 px. Small CNNs
            learn the categories far faster from such crops.

    Example:
        >>> cases = liver_lesions(5, categories="AE", seed=1)
        >>> cases.label_names
        ('A classic HCC', 'E cyst')
    """
    return _liver_cases(
        _check_categories(categories),
        weights,
        n,
        slices_per_patient,
        slice_mm,
        True,
        size=size,
        fov_mm=fov_mm,
        center_mm=center_mm,
        roi_mm=roi_mm,
        noise_hu=noise_hu,
        dose=dose,
        diameter_mm=diameter_mm,
        seed=seed,
    )


def _liver_cases(
    cats: str,
    weights,
    n: int,
    spp: int,
    slice_mm: float,
    fit_lesion: bool,
    *,
    size: int,
    fov_mm: float,
    center_mm,
    roi_mm: float | None,
    noise_hu: float,
    dose: float,
    diameter_mm,
    seed: int,
) -> LiverCases:
    """Draw n patients with ``spp`` slices each and paint them (see :func:`liver_lesions`)."""
    _check_size(size, fov_mm if roi_mm is None else roi_mm)
    rng_anat, rng_noise = _rng_pair(seed)
    letters = np.array(list(cats))[_draw_labels(rng_anat, n, len(cats), weights)]
    g = _liver_layout(rng_anat, _body_layout(rng_anat, n), np.zeros(n, np.float32))
    hu = _tissue_values(rng_anat, n)
    les = _lesion_patient_params(rng_anat, letters, hu, diameter_mm, g)
    if fit_lesion:  # closer slices where needed, so that every slice cuts the lesion
        slice_mm = np.minimum(slice_mm, 0.7 * les["radius"] / max((spp - 1) / 2, 1.0))
    rows, z = _patients(n, spp, slice_mm)
    gi, les = _image_geometry(_expand(g, rows), z), _expand(les, rows)
    if roi_mm is None:
        grid = _grid(size, fov_mm, *center_mm)
    else:  # a crop around the lesion, off-centre by up to 15% of its width, the same for a patient's slices
        shift = (rng_anat.uniform(-0.15, 0.15, (n, 2)) * roi_mm).astype(np.float32)[rows]
        cx, cy = _lesion_centre(gi, les)
        grid, fov_mm = _grid(size, roi_mm, cx + shift[:, 0], cy + shift[:, 1]), roi_mm
    img, tissue = _render(
        rng_anat, rng_noise, gi, grid, _expand(hu, rows), [0, 1, 2], noise_hu / math.sqrt(dose), les
    )
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
        diameter_mm=2 * les["radius"][rows],
        categories=cats,
        label_names=tuple(f"{c} {LESION_CATEGORIES[c][0]}" for c in cats),
        pixel_mm=fov_mm / size,
        noise_hu=noise_hu,
        dose=dose,
        seed=seed,
    )


def _image_geometry(g: dict, z: np.ndarray) -> dict:
    """Add the slice position and how organs shrink away from their centre slice."""
    g["z_mm"] = z
    g["z_liver"] = _slice_scale(z, 110.0)
    g["z_spleen"] = _slice_scale(z, 70.0)
    return g


def _check_categories(categories: str) -> str:
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
    seed: int = 0,
    noise_hu: float = 12.0,
    dose: float = 1.0,
    diameter_mm: tuple[float, float] = (30.0, 45.0),
) -> LiverCases:
    """One patient as a stack of ``slices`` contiguous 3-phase slices (a small CT series).

    The lesion is a sphere: it appears on the middle slices only, largest at
    the centre, and ``lesion_mask`` is empty on slices that miss it. Use
    ``cases.volume(0, "arterial")`` for a (Z, H, W) volume and
    ``cases.to_dicom(0, folder)`` to write the three series.
    """
    if slices < 1:
        raise ValueError(f"slices={slices}: a volume needs at least one slice")
    return _liver_cases(
        _check_categories(category)[:1],
        None,
        1,
        slices,
        slice_mm,
        False,
        size=size,
        fov_mm=380.0,
        center_mm=(0.0, 0.0),
        roi_mm=None,
        noise_hu=noise_hu,
        dose=dose,
        diameter_mm=diameter_mm,
        seed=seed,
    )


def fibrosis_livers(
    n: int,
    *,
    size: int = 64,
    seed: int = 0,
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
        stages: which stages to draw; ``label`` indexes this tuple.
        phase: "unenhanced", "arterial" or "delayed".
        noise_hu, dose, slices_per_patient, slice_mm, fov_mm, center_mm: as in :func:`liver_lesions`.

    Example:
        >>> fib = fibrosis_livers(10, seed=0)
        >>> fib.images.shape, sorted(set(fib.stage.tolist()))
        ((10, 1, 64, 64), [0, 1, 2, 3, 4])
    """
    _check_size(size, fov_mm)
    stages = tuple(int(s) for s in stages)
    if not stages or any(s not in range(5) for s in stages) or phase not in PHASES:
        raise ValueError(
            f"stages={stages} must be fibrosis stages 0-4 and phase={phase!r} one of {PHASES}"
        )
    rng_anat, rng_noise = _rng_pair(seed)
    label = _draw_labels(rng_anat, n, len(stages), None)
    stage = np.array(stages, np.int64)[label]
    score = np.clip(stage + spread * rng_anat.standard_normal(n), 0.0, 4.5).astype(np.float32)
    g = _liver_layout(rng_anat, _body_layout(rng_anat, n), score)
    hu = _tissue_values(rng_anat, n)
    hu["liver"] = hu["liver"] - (2.0 * score)[:, None]  # cirrhotic liver enhances a little less
    rows, z = _patients(n, slices_per_patient, slice_mm)
    gi = _image_geometry(_expand(g, rows), z)
    img, tissue = _render(
        rng_anat,
        rng_noise,
        gi,
        _grid(size, fov_mm, *center_mm),
        _expand(hu, rows),
        [PHASES.index(phase)],
        noise_hu / math.sqrt(dose),
        None,
    )
    return FibrosisCases(
        images=img,
        stage=stage[rows],
        label=label[rows].astype(np.int64),
        score=score[rows],
        caudate_ratio=g["caudate_ratio"][rows],
        liver_mask=_masks(tissue)[0],
        tissue=tissue,
        patient_id=rows.astype(np.int64),
        z_mm=z,
        stages=stages,
        label_names=tuple(f"F{s}" for s in stages),
        pixel_mm=fov_mm / size,
        noise_hu=noise_hu,
        dose=dose,
        seed=seed,
        phases=(phase,),
    )


# ----------------------------------------------------------------- measures


def surface_irregularity(mask) -> np.ndarray:
    """How irregular a mask's outline is: its perimeter over the perimeter of a smoothed copy.

    1.0 is as smooth as the smoothed outline; nodular livers score higher.
    A hand-made (radiomics-style) feature: ``mask`` (H, W) or (N, H, W), returns (N,).
    """
    m = np.asarray(mask, bool)
    m = _fill_holes(m[None] if m.ndim == 2 else m)  # the outline only: vessels inside do not count
    smooth = _filter_numpy(m.astype(np.float32), _gauss_taps(2.0, unit_energy=False)) >= 0.5
    return (_perimeter(m) / np.maximum(_perimeter(smooth), 1)).astype(np.float32)


def _fill_holes(m: np.ndarray) -> np.ndarray:
    """Masks (N, H, W) with holes filled: what cannot be reached from the border is inside."""
    outside = np.zeros_like(m)
    outside[:, [0, -1], :] |= ~m[:, [0, -1], :]
    outside[:, :, [0, -1]] |= ~m[:, :, [0, -1]]
    while True:  # grow the outside through background pixels (4-neighbours)
        grown = outside.copy()
        grown[:, 1:] |= outside[:, :-1]
        grown[:, :-1] |= outside[:, 1:]
        grown[:, :, 1:] |= outside[:, :, :-1]
        grown[:, :, :-1] |= outside[:, :, 1:]
        grown &= ~m
        if np.array_equal(grown, outside):
            return ~outside
        outside = grown


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
    seed: int = 0,
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
    """
    rng = np.random.default_rng(int(seed))
    x = (
        rng.standard_normal(int(features))
        if np.isscalar(features)
        else np.asarray(features, np.float64)
    )
    if x.ndim != 1 or len(x) < 2:
        raise ValueError(
            "features must be a number of patients (2 or more) or a 1-D array of one value per patient"
        )
    z = (x - x.mean()) / (x.std() or 1.0)
    log_h = beta * z
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
            window=dicom.WINDOWS.get("soft_tissue"),
        )
    return paths
