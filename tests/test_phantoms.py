"""Tests for radlab.phantoms: shapes, determinism, HU inside the masks, tensors, fibrosis,
survival, DICOM (the scanner's share, noise and kernels, in test_ct_physics.py)."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from radlab import phantoms as ph


def _erode(mask: np.ndarray, steps: int = 1) -> np.ndarray:
    """Binary erosion by a 3 x 3 cross, image by image (pixels whose 4 neighbours are all
    inside, ``steps`` times): away from edges."""
    cross = ndimage.generate_binary_structure(2, 1)
    return ndimage.binary_erosion(mask, cross.reshape((1,) * (mask.ndim - 2) + (3, 3)), steps)


@pytest.fixture(scope="module")
def clean():
    """Noise-free 3-phase cases at 128 px (3 mm pixels): lesion cores lie well inside masks."""
    return ph.liver_lesions(40, size=128, seed=3, noise_hu=0.0)


@pytest.fixture(scope="module")
def fibrosis():
    """Noise-free fibrosis slices at 96 px (2.5 mm pixels), 20 per stage."""
    return ph.fibrosis_livers(100, size=96, seed=5, noise_hu=0.0)


# ------------------------------------------------------------ shapes, seeds


def test_liver_lesions_shapes_and_dtypes():
    c = ph.liver_lesions(10, seed=0)
    assert c.images.shape == (10, 3, 64, 64) and c.images.dtype == np.float32
    assert c.liver_mask.shape == c.lesion_mask.shape == c.tissue.shape == (10, 64, 64)
    assert c.liver_mask.dtype == bool and c.lesion_mask.dtype == bool and c.tissue.dtype == np.uint8
    assert c.label.dtype == np.int64 and c.label.shape == (10,)
    assert c.phases == ("unenhanced", "arterial", "delayed")
    assert c.label_names == (
        "A classic HCC",
        "B other malignant",
        "C indeterminate / rare benign",
        "D hemangioma",
        "E cyst",
    )
    assert [c.categories[k] for k in c.label] == list(c.category)
    assert np.bincount(c.label, minlength=5).tolist() == [2, 2, 2, 2, 2]  # equal counts by default
    assert c.lesion_mask.any((1, 2)).all() and not (c.lesion_mask & ~c.liver_mask).any()
    assert c.pixel_mm == pytest.approx(380 / 64)
    assert "hemangioma" in repr(c) and "10 images of 10 patients" in repr(c)


def test_same_seed_same_arrays_other_seed_differs():
    a, b, c = ph.liver_lesions(6, seed=7), ph.liver_lesions(6, seed=7), ph.liver_lesions(6, seed=8)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.lesion_mask, b.lesion_mask)
    np.testing.assert_array_equal(a.label, b.label)
    assert not np.array_equal(a.images, c.images)
    f1, f2 = ph.fibrosis_livers(5, seed=1), ph.fibrosis_livers(5, seed=1)
    np.testing.assert_array_equal(f1.images, f2.images)


def test_seed_none_is_the_course_seed(monkeypatch):
    monkeypatch.setenv("RADLAB_SEED", "3")
    np.testing.assert_array_equal(
        ph.liver_lesions(2, size=32).images, ph.liver_lesions(2, size=32, seed=3).images
    )
    assert ph.liver_lesions(2, size=32).seed == 3
    assert ph.fibrosis_livers(2, size=32).seed == ph.liver_volume(slices=2).seed == 3
    np.testing.assert_array_equal(ph.survival_times(20).time, ph.survival_times(20, seed=3).time)


def test_noise_does_not_change_the_anatomy():
    a, b = ph.liver_lesions(4, seed=2, noise_hu=0.0), ph.liver_lesions(4, seed=2, noise_hu=12.0)
    np.testing.assert_array_equal(a.lesion_mask, b.lesion_mask)
    inside = np.broadcast_to(a.liver_mask[:, None], a.images.shape)
    noise = (b.images - a.images)[inside]
    assert noise.std() == pytest.approx(12.0, rel=0.1)


def test_categories_subset_and_weights():
    c = ph.liver_lesions(20, categories="DE", seed=0)
    assert c.label_names == ("D hemangioma", "E cyst") and set(c.label.tolist()) == {0, 1}
    w = ph.liver_lesions(30, categories="AE", weights=[1, 0], seed=0)
    assert set(w.category.tolist()) == {"A"}
    with pytest.raises(ValueError, match="ABCDE"):
        ph.liver_lesions(3, categories="AX")
    with pytest.raises(ValueError, match="prevalence"):
        ph.liver_lesions(3, categories="AB", weights=[1, 2, 3])


def test_slices_per_patient_share_lesion_and_label():
    c = ph.liver_lesions(6, slices_per_patient=4, seed=1)
    assert len(c) == 24 and np.bincount(c.patient_id).tolist() == [4] * 6
    for p in range(6):
        rows = c.patient_rows(p)
        assert len(set(c.category[rows])) == 1 and len(set(c.diameter_mm[rows])) == 1
        assert np.all(np.diff(c.z_mm[rows]) > 0)
    assert c.lesion_mask.any((1, 2)).all()  # every slice cuts its lesion
    sub = c.subset(c.patient_id < 3)
    assert len(sub) == 12 and set(sub.patient_id.tolist()) == {0, 1, 2}
    one = ph.liver_lesions(6, seed=1)  # the same patients, one slice each
    np.testing.assert_array_equal(c.diameter_mm[::4], one.diameter_mm)


def test_roi_crops_centre_on_the_lesion():
    c = ph.liver_lesions(10, roi_mm=100, size=64, seed=0)
    assert c.pixel_mm == pytest.approx(100 / 64)
    yy, xx = np.mgrid[:64, :64]
    for i in range(10):
        m = c.lesion_mask[i]
        assert m.sum() > 50 and abs(yy[m].mean() - 31.5) < 12 and abs(xx[m].mean() - 31.5) < 12


def test_liver_volume_lesion_on_middle_slices_only():
    v = ph.liver_volume("D", slices=16, seed=0)
    assert v.images.shape == (16, 3, 64, 64) and v.volume(0, "arterial").shape == (16, 64, 64)
    seen = v.lesion_mask.any((1, 2))
    assert seen[6:10].all() and not seen[0] and not seen[-1]
    assert np.allclose(np.diff(v.z_mm), 5.0)


# ---------------------------------------------------------------- HU sanity


def _mean(c, i, phase, mask):
    return float(c.images[i, phase][mask].mean())


def _liver_hu(c, i, phase):
    core = _erode(c.tissue[i] == ph.TISSUES.index("liver"), 2)
    return float(np.median(c.images[i, phase][core]))


def test_liver_parenchyma_hu_per_phase(clean):
    for i in range(len(clean)):
        for phase, (lo, hi) in enumerate(ph.REFERENCE_HU["liver"]):
            assert lo - 5 <= _liver_hu(clean, i, phase) <= hi + 5


def test_air_and_bone(clean):
    air = clean.tissue == ph.TISSUES.index("air")
    assert np.allclose(clean.images[:, :, 0, 0], -1000)
    assert clean.images[:, 0][air].mean() == pytest.approx(-1000, abs=30)
    bone = clean.tissue == ph.TISSUES.index("bone")
    assert all(clean.images[i, 0][bone[i]].mean() > 300 for i in range(len(clean)))


def test_cyst_stays_water_in_every_phase(clean):
    for i in np.flatnonzero(clean.category == "E"):
        core = _erode(clean.lesion_mask[i], 1)
        for phase in range(3):
            assert 0 <= _mean(clean, i, phase, core) <= 20


def test_hcc_washes_in_and_out(clean):
    for i in np.flatnonzero(clean.category == "A"):
        core = _erode(clean.lesion_mask[i], 2)
        assert _mean(clean, i, 0, core) < _liver_hu(clean, i, 0)  # slightly hypodense
        assert _mean(clean, i, 1, core) > _liver_hu(clean, i, 1) + 15  # arterial hyper-enhancement
        assert _mean(clean, i, 2, core) < _liver_hu(clean, i, 2) - 10  # delayed washout


def test_hemangioma_fills_in_to_blood_pool(clean):
    for i in np.flatnonzero(clean.category == "D"):
        core = _erode(clean.lesion_mask[i], 1)
        aorta = _erode(clean.tissue[i] == ph.TISSUES.index("aorta"), 1)
        blood = _mean(clean, i, 2, aorta)
        assert abs(_mean(clean, i, 2, core) - blood) < 0.15 * blood
        arterial = clean.images[i, 1][clean.lesion_mask[i]]
        assert arterial.max() > 0.7 * _mean(clean, i, 1, aorta)  # puddles near the blood pool


def test_metastasis_rim_brighter_than_centre_in_arterial(clean):
    for i in np.flatnonzero(clean.category == "B"):
        mask = clean.lesion_mask[i]
        centre, rim = _erode(mask, 3), mask & ~_erode(mask, 1)
        if centre.sum() >= 2:
            assert _mean(clean, i, 1, rim) > _mean(clean, i, 1, centre)
        assert _mean(clean, i, 2, _erode(mask, 1)) < _liver_hu(clean, i, 2)  # persistently hypo


def test_three_phases_separate_categories_one_phase_does_not():
    """Lesson 01's point on simple features: mean lesion HU per phase, a linear classifier."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import cross_val_score

    c = ph.liver_lesions(300, seed=11)
    feats = np.stack(
        [
            (c.images[:, p] * c.lesion_mask).sum((1, 2)) / c.lesion_mask.sum((1, 2))
            for p in range(3)
        ],
        axis=1,
    )
    model = LinearDiscriminantAnalysis()
    three = cross_val_score(model, feats, c.label, cv=3).mean()
    one = cross_val_score(model, feats[:, :1], c.label, cv=3).mean()
    assert three > 0.85 and one < 0.6 and three > one + 0.3


# ------------------------------------------------------ the scanner's share


def test_phantom_noise_follows_the_dose():
    clean = ph.liver_lesions(4, seed=2, noise_hu=0.0)
    quarter = ph.liver_lesions(4, seed=2, dose=0.25)
    inside = np.broadcast_to(clean.liver_mask[:, None], clean.images.shape)
    assert (quarter.images - clean.images)[inside].std() == pytest.approx(24.0, rel=0.1)
    assert "noise SD 24.0 HU (dose 0.25)" in repr(quarter)


# ------------------------------------------------------------------ tensors


def test_tensors_shapes_dtypes_and_range():
    c = ph.liver_lesions(6, size=32, seed=0)
    x, y = ph.tensors(c)
    assert x.shape == (6, 3, 32, 32) and x.dtype == torch.float32
    assert x.is_contiguous()  # the usual memory order, as torch.from_numpy of a fresh array
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0 and float(x.std()) > 0.1
    assert y.dtype == torch.int64 and y.tolist() == c.label.tolist()
    level, width = 60.0, 160.0  # a (level, width) pair: HU level - width/2 -> 0
    x_pair, _ = ph.tensors(c, level=level, width=width)
    expected = np.clip((c.images - (level - width / 2)) / width, 0, 1)
    np.testing.assert_allclose(x_pair.numpy(), expected, atol=1e-6)


def test_tensors_phases_by_name_or_index():
    c = ph.liver_lesions(4, size=32, seed=1)
    x_all, _ = ph.tensors(c)
    x, _ = ph.tensors(c, phases=["delayed", "arterial"])
    assert x.shape == (4, 2, 32, 32) and torch.equal(x, x_all[:, [2, 1]])
    assert torch.equal(ph.tensors(c, phases="arterial")[0], x_all[:, 1:2])
    assert torch.equal(ph.tensors(c, phases=[0])[0], x_all[:, :1])
    with pytest.raises(ValueError, match="portal"):
        ph.tensors(c, phases="portal")


def test_tensors_targets_masks_measures_and_functions():
    c = ph.liver_lesions(6, size=32, seed=2)
    _, mask = ph.tensors(c, target="lesion_mask")
    assert mask.shape == (6, 32, 32) and mask.dtype == torch.int64
    assert torch.equal(mask, torch.from_numpy(c.lesion_mask.astype(np.int64)))
    _, size = ph.tensors(c, target="diameter_mm")
    assert size.dtype == torch.float32 and size.tolist() == pytest.approx(c.diameter_mm.tolist())
    _, malignant = ph.tensors(c, target=lambda cases: np.isin(cases.category, ["A", "B"]))
    assert malignant.dtype == torch.int64 and malignant.tolist() == [
        int(k in "AB") for k in c.category
    ]
    for wrong, message in (("category", "not numbers"), ("spleen_mask", "per-image fields")):
        with pytest.raises(ValueError, match=message):
            ph.tensors(c, target=wrong)
    with pytest.raises(ValueError, match="one row per image"):
        ph.tensors(c, target=lambda cases: np.zeros(3))
    fib = ph.fibrosis_livers(5, size=32, seed=0)
    x, score = ph.tensors(fib, target="score", preset="soft_tissue")
    assert x.shape == (5, 1, 32, 32) and score.dtype == torch.float32


# ----------------------------------------------------------------- fibrosis


def test_fibrosis_shapes(fibrosis):
    f = fibrosis
    assert f.images.shape == (100, 1, 96, 96) and f.images.dtype == np.float32
    assert f.label.tolist() == f.stage.tolist() and f.label_names == ("F0", "F1", "F2", "F3", "F4")
    assert np.bincount(f.stage).tolist() == [20] * 5
    assert np.corrcoef(f.stage, f.score)[0, 1] > 0.95
    sub = ph.fibrosis_livers(4, stages=(0, 4), seed=0)
    assert sub.images.shape == (4, 1, 64, 64) and sub.pixel_mm == pytest.approx(240 / 64)
    assert set(sub.label.tolist()) == {0, 1} and set(sub.stage.tolist()) == {0, 4}
    assert "F4" in repr(sub) and sub.liver_mask.any((1, 2)).all()
    with pytest.raises(ValueError, match="stages"):
        ph.fibrosis_livers(3, stages=(0, 5))


def test_fibrosis_surface_caudate_and_texture_grow_with_stage(fibrosis):
    f = fibrosis
    rough = ph.surface_irregularity(f.liver_mask)
    by_stage = [rough[f.stage == s].mean() for s in range(5)]
    assert np.all(np.diff(by_stage) > 0), by_stage
    caudate = [f.caudate_ratio[f.stage == s].mean() for s in range(5)]
    assert np.all(np.diff(caudate) > 0) and caudate[0] < 0.55 < 0.65 < caudate[4]
    liver = _erode(f.tissue == ph.TISSUES.index("liver"), 2)
    spread = [
        np.mean([f.images[i, 0][liver[i]].std() for i in np.flatnonzero(f.stage == s)])
        for s in (0, 4)
    ]
    assert spread[1] > spread[0] + 3


def test_surface_irregularity_of_a_disc_is_one():
    yy, xx = np.mgrid[:64, :64]
    disc = (yy - 32) ** 2 + (xx - 32) ** 2 < 20**2
    assert ph.surface_irregularity(disc)[0] == pytest.approx(1.0, abs=0.05)


# ----------------------------------------------------------------- survival


def _harrell_c(time, event, risk):
    ti, tj = time[:, None], time[None, :]
    usable = event[:, None] & (ti < tj)
    ri, rj = risk[:, None], risk[None, :]
    concordant = (ri > rj) + 0.5 * (ri == rj)
    return float(concordant[usable].sum() / usable.sum())


def test_survival_times_have_the_stated_hazard():
    s = ph.survival_times(1500, beta=0.7, seed=0)
    assert len(s) == 1500 and s.time.dtype == np.float32 and s.event.dtype == bool
    assert 0.3 < s.event.mean() < 0.95 and (s.time > 0).all()
    assert 0.6 < s.expected_c_index < 0.8
    assert _harrell_c(s.time, s.event, s.log_hazard) == pytest.approx(s.expected_c_index, abs=0.03)
    assert _harrell_c(s.time, s.event, -s.log_hazard) < 0.4
    d = ph.survival_times(np.arange(10.0), seed=0)
    assert np.argmax(d.log_hazard) == 9 and "c-index" in repr(d)


# --------------------------------------------------------------------- DICOM


def test_dicom_round_trip(tmp_path):
    from radlab import dicom

    c = ph.liver_lesions(2, slices_per_patient=3, seed=4)
    paths = c.to_dicom(4, tmp_path)
    assert len(paths) == 9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1_unenhanced", "2_arterial", "3_delayed"]
    for k, phase in enumerate(c.phases):
        vol, spacing = dicom.read_series(tmp_path / f"{k + 1}_{phase}")
        np.testing.assert_allclose(vol, c.volume(1, phase), atol=0.5 + 1e-3)
        assert spacing[1] == pytest.approx(c.pixel_mm) and spacing[0] == pytest.approx(
            np.diff(c.z_mm[3:6])[0]
        )
    first = [dicom.read(tmp_path / f"{k + 1}_{p}" / "IM0001.dcm") for k, p in enumerate(c.phases)]
    assert (
        len({ds.StudyInstanceUID for ds in first}) == 1
        and len({ds.SeriesInstanceUID for ds in first}) == 3
    )
    assert first[0].PatientID == first[2].PatientID
    fib = ph.fibrosis_livers(2, seed=0)
    assert [p.parent.name for p in ph.to_dicom(fib, 1, tmp_path / "fib")] == ["1_delayed"]
