"""Tests for radlab.data: the MedMNIST table, MD5 checks, loaders (real files and phantom
stand-ins) and patient-level splits."""

import hashlib
import os
import re
import shutil

import numpy as np
import pytest
import torch

from radlab import config, phantoms
from radlab import data as rd

NAMES_2D = (
    "pathmnist",
    "chestmnist",
    "dermamnist",
    "octmnist",
    "pneumoniamnist",
    "retinamnist",
    "breastmnist",
    "bloodmnist",
    "tissuemnist",
    "organamnist",
    "organcmnist",
    "organsmnist",
)


def test_table_is_complete():
    assert rd.available() == NAMES_2D
    for name in NAMES_2D:
        c = rd.card(name)
        assert c.sizes == (28, 64, 128, 224)
        assert c.task in rd.TASKS
        assert c.n_channels in (1, 3)
        assert len(c.labels) >= 2 and all(c.labels)
        assert min(c.splits.values()) > 0
        assert c.licence in ("CC BY 4.0", "CC BY-NC 4.0") and c.source
        for entry in c.files:
            assert len(entry.md5) == 32 and int(entry.md5, 16) >= 0
            assert entry.filename == (
                f"{name}.npz" if entry.size == 28 else f"{name}_{entry.size}.npz"
            )
            assert (
                c.url(entry.size)
                == f"https://zenodo.org/records/10519652/files/{entry.filename}?download=1"
            )
    md5s = [f.md5 for c in rd.CARDS.values() for f in c.files]
    assert len(set(md5s)) == 48  # 12 sets x 4 sizes, every checksum different


def test_table_facts():
    assert rd.card("pneumoniamnist").file(28).md5 == "28209eda62fecd6e6a2d98b1501bb15f"
    assert rd.card("breastmnist").file(28).md5 == "750601b1f35ba3300ea97c75c52ff8f6"
    assert rd.card("pneumoniamnist").splits == {"train": 4708, "val": 524, "test": 624}
    assert rd.card("breastmnist").labels == ("malignant", "normal or benign")
    assert rd.card("chestmnist").multi_label and len(rd.card("chestmnist").labels) == 14
    assert rd.card("retinamnist").task == "ordinal-regression"
    assert rd.card("dermamnist").licence == "CC BY-NC 4.0"
    assert [
        rd.card(n).n_channels for n in ("pathmnist", "dermamnist", "retinamnist", "bloodmnist")
    ] == [3] * 4


def test_card_repr_reads_like_a_card():
    text = repr(rd.card("pneumoniamnist"))
    for piece in (
        "PneumoniaMNIST",
        "pneumoniamnist",
        "CC BY 4.0",
        "Yang J",
        "Scientific Data 2023",
        "Kermany",
        "pneumonia",
        "4,708",
        "pneumoniamnist_224.npz",
        "28209eda62fecd6e6a2d98b1501bb15f",
    ):
        assert piece in text
    assert (
        "MedMNIST v2" in rd.card("breastmnist").citation
        and "Al-Dhabyani" in rd.card("breastmnist").citation
    )


def test_unknown_name_size_split():
    with pytest.raises(ValueError, match="did you mean 'pneumoniamnist'"):
        rd.card("pneumonia")
    with pytest.raises(ValueError, match="liver-lesions and fibrosis need no download"):
        rd.card("xyz")
    with pytest.raises(ValueError, match=r"phantom task.*rl.data.load\('liver-lesions'\)"):
        rd.medmnist("liver-lesions")
    with pytest.raises(ValueError, match="28, 64, 128, 224"):
        rd.medmnist("breastmnist", size=32)
    with pytest.raises(ValueError, match="train, val, test"):
        rd.medmnist("breastmnist", split="validation")


@pytest.mark.parametrize(
    "name, counts",
    [
        ("pneumoniamnist", {"train": 4708, "val": 524, "test": 624}),
        ("breastmnist", {"train": 546, "val": 78, "test": 156}),
    ],
)
def test_real_files_load(medmnist_root, name, counts):
    for split, n in counts.items():
        x, y = rd.medmnist(name, split=split, root=medmnist_root)
        assert x.shape == (n, 1, 28, 28) and x.dtype == torch.float32
        assert y.shape == (n,) and y.dtype == torch.int64
        assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0 and float(x.max()) > 0.5
        assert set(y.unique().tolist()) == {0, 1}


def test_loader_uses_data_root_and_returns_fresh_tensors(medmnist_root, monkeypatch):
    monkeypatch.setenv("RADLAB_DATA", str(medmnist_root))
    x1, y1 = rd.medmnist("breastmnist", split="val")
    x1.zero_()  # a learner changing a tensor in place must not change the next load
    x2, _ = rd.medmnist("breastmnist", split="val")
    assert float(x2.max()) > 0
    # pixel values are the stored uint8 values / 255
    with np.load(medmnist_root / "medmnist" / "breastmnist.npz") as npz:
        raw = torch.from_numpy(npz["val_images"])
    torch.testing.assert_close(x2[:, 0], raw.float() / 255)


def test_md5_checked_once_then_remembered(medmnist_root, tmp_path, monkeypatch):
    folder = tmp_path / "medmnist"
    folder.mkdir()
    copy = folder / "breastmnist.npz"
    shutil.copy2(medmnist_root / "medmnist" / "breastmnist.npz", copy)
    calls = []
    real = rd.md5sum
    monkeypatch.setattr(rd, "md5sum", lambda p, *a: calls.append(p) or real(p, *a))
    rd.medmnist("breastmnist", split="test", root=tmp_path)
    rd.medmnist("breastmnist", split="val", root=tmp_path)
    assert len(calls) == 1
    assert (folder / "breastmnist.npz.md5ok").is_file()  # a writable folder keeps a note
    rd._VERIFIED.clear()
    rd.medmnist("breastmnist", split="train", root=tmp_path)  # a new process reads the note
    assert len(calls) == 1


def test_tampered_file_is_rejected(medmnist_root, tmp_path):
    folder = tmp_path / "medmnist"
    folder.mkdir()
    blob = bytearray((medmnist_root / "medmnist" / "pneumoniamnist.npz").read_bytes())
    blob[-100] ^= 0xFF  # one flipped byte
    (folder / "pneumoniamnist.npz").write_bytes(bytes(blob))
    assert hashlib.md5(blob).hexdigest() != rd.card("pneumoniamnist").file(28).md5
    with pytest.raises(rd.DatasetDamaged) as info:
        rd.medmnist("pneumoniamnist", root=tmp_path)
    message = str(info.value)
    assert "damaged" in message
    assert f"python -m data_download medmnist pneumoniamnist --size 28 --root {tmp_path}" in message


def test_missing_file_gives_the_download_command(tmp_path):
    with pytest.raises(rd.DatasetNotFound) as info:
        rd.medmnist("dermamnist", size=64, root=tmp_path)
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    assert f"python -m data_download medmnist dermamnist --size 64 --root {tmp_path}" in message
    assert "https://zenodo.org/records/10519652/files/dermamnist_64.npz" in message
    assert rd.card("dermamnist").file(64).md5 in message
    assert str(tmp_path / "medmnist") in message


def test_read_only_root_still_loads(medmnist_root, tmp_path):
    folder = tmp_path / "medmnist"
    folder.mkdir()
    shutil.copy2(medmnist_root / "medmnist" / "breastmnist.npz", folder / "breastmnist.npz")
    os.chmod(folder, 0o555)  # marked read-only: respected even when the tests run as root
    try:
        rd._VERIFIED.clear()
        x, _ = rd.medmnist("breastmnist", split="val", root=tmp_path)
        assert x.shape == (78, 1, 28, 28)
        assert not (folder / "breastmnist.npz.md5ok").exists()
    finally:
        os.chmod(folder, 0o755)


def test_inventory(medmnist_root):
    rows = {(r["name"], r["size"]): r for r in rd.inventory(medmnist_root)}
    assert len(rows) == 48
    assert (
        rows[("pneumoniamnist", 28)]["present"]
        and rows[("pneumoniamnist", 28)]["nbytes"] == 4170669
    )
    assert not rows[("pathmnist", 224)]["present"]


def test_subset_is_stratified_and_seeded():
    labels = torch.tensor([0] * 30 + [1] * 70)
    images = torch.arange(100.0).reshape(100, 1, 1, 1)
    x, y = rd.subset(images, labels, 20, seed=3)
    assert y.bincount().tolist() == [6, 14]
    assert torch.equal(
        x.flatten().long(), torch.sort(x.flatten()).values.long()
    )  # original order kept
    assert torch.equal(y, labels[x.flatten().long()])
    x2, _ = rd.subset(images, labels, 20, seed=3)
    assert torch.equal(x, x2)
    with pytest.raises(ValueError):
        rd.subset(images, labels, 101)


# --- load: MedMNIST, or a phantom stand-in -----------------------------------------------


def _check_split(x, y, n_channels, size, n_classes):
    assert x.dtype == torch.float32 and x.shape[1:] == (n_channels, size, size)
    assert y.dtype == torch.int64 and y.shape == (len(x),)
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert set(y.unique().tolist()) <= set(range(n_classes))


@pytest.mark.parametrize(
    "name, n_classes, kind, counts",
    [
        ("pneumoniamnist", 2, "chest_xray", (4708, 524, 624)),
        ("breastmnist", 2, "ultrasound", (546, 78, 156)),
        ("organamnist", 11, "ct", (34561, 6491, 17778)),
    ],
)
def test_load_real_files_gives_the_official_splits(
    medmnist_root, capsys, name, n_classes, kind, counts
):
    if not (medmnist_root / "medmnist" / f"{name}.npz").is_file():
        pytest.skip(f"{name}.npz not in {medmnist_root}")
    data = rd.load(name, root=medmnist_root)
    assert capsys.readouterr().out == ""  # no note when the real file is here
    assert data.real and data.name == data.requested == name and data.note == ""
    assert (data.n_classes, data.kind, data.n_channels) == (n_classes, kind, 1)
    assert data.label_names == rd.card(name).labels
    for (split, (x, y)), n in zip(data.items(), counts):
        assert len(y) == n, split
        _check_split(x, y, 1, 28, n_classes)
    torch.testing.assert_close(data.test[1], rd.medmnist(name, "test", root=medmnist_root)[1])


def test_load_real_task_and_repr(medmnist_root):
    data = rd.load("pneumoniamnist", root=medmnist_root)
    assert data.task == (
        "pneumonia (1) vs normal (0) on paediatric chest X-ray, PneumoniaMNIST 28 x 28 px"
    )
    text = repr(data)
    assert "pneumoniamnist (MedMNIST, official splits)" in text
    assert "train 4,708 | val 524 | test 624 images" in text
    assert re.search(r"pneumonia\s+74\.2%\s+74\.2%\s+62\.5%", text), text  # class shares


def _rows(x: torch.Tensor) -> set[bytes]:
    return {row.numpy().tobytes() for row in x}


@pytest.mark.parametrize(
    "name, n_classes", [("pneumoniamnist", 2), ("breastmnist", 2), ("organamnist", 5)]
)
def test_missing_set_gets_a_phantom_stand_in_and_one_note(tmp_path, capsys, name, n_classes):
    data = rd.load(name, root=tmp_path, seed=0)
    printed = capsys.readouterr().out.splitlines()
    assert printed == [data.note]  # one line, and the same text kept on the result
    assert f"{rd.card(name).title} ({name}, 28 x 28 px) is not downloaded" in printed[0]
    assert rd.download_command(name, 28, tmp_path) in printed[0]
    assert "synthetic 3-phase CT" in printed[0]
    assert not data.real and data.name == "liver-lesions" and data.requested == name
    assert (data.n_classes, data.n_channels, data.kind) == (n_classes, 3, "ct")
    assert len(data.label_names) == n_classes
    counts = config.pick(**rd.PHANTOM_PATIENTS)  # patients per split in this run mode
    for (_, (x, y)), n in zip(data.items(), counts):
        assert len(y) == n and set(y.unique().tolist()) == set(range(n_classes))
        _check_split(x, y, 3, 28, n_classes)
    train, val, test = (_rows(x) for _, (x, _) in data.items())
    assert not (train & val or train & test or val & test)  # no patient in two splits
    assert "phantom stand-in: " + name + " is not downloaded" in repr(data)


@pytest.mark.parametrize(
    "name, malignant, label_names, task",
    [
        # PneumoniaMNIST: 1 = pneumonia; its stand-in: 1 = malignant
        ("pneumoniamnist", 1, ("benign (C, D, E)", "malignant (A, B)"), "malignant (1: "),
        # BreastMNIST: 0 = malignant, 1 = normal or benign; its stand-in numbers them the same way
        ("breastmnist", 0, ("malignant (A, B)", "benign (C, D, E)"), "benign (1: "),
    ],
)
def test_stand_in_keeps_the_class_numbering_of_the_missing_set(
    tmp_path, name, malignant, label_names, task
):
    assert rd.card(name).labels[malignant] in ("pneumonia", "malignant")  # the set's own numbering
    data = rd.load(name, size=64, root=tmp_path, note=False, seed=3)
    assert data.label_names == label_names
    assert data.label_names[malignant] == "malignant (A, B)"
    assert data.task.startswith(task)
    assert data.train[0].shape[-1] == 64  # the missing set's pixels per side
    n = len(data.train[1])  # A, B: 2 of the 5 categories, drawn in equal numbers
    assert int((data.train[1] == malignant).sum()) == 2 * n // 5
    again = rd.load(name, size=64, root=tmp_path, note=False, seed=3)
    assert torch.equal(data.test[0], again.test[0])  # same seed, same patients
    assert torch.equal(data.test[1], again.test[1])


def test_note_false_prints_nothing(tmp_path, capsys):
    data = rd.load("pneumoniamnist", root=tmp_path, note=False)
    assert capsys.readouterr().out == "" and "not downloaded" in data.note


def test_missing_set_without_stand_in_says_how_to_fetch(tmp_path, capsys):
    with pytest.raises(rd.DatasetNotFound) as info:
        rd.load("dermamnist", root=tmp_path)
    message = str(info.value)
    assert "no phantom stand-in" in message
    assert f"python -m data_download medmnist dermamnist --size 28 --root {tmp_path}" in message
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="28, 64, 128, 224"):
        rd.load("pneumoniamnist", size=32, root=tmp_path)
    with pytest.raises(ValueError, match="did you mean 'liver-lesions'"):
        rd.load("liver", root=tmp_path)


def test_every_stand_in_replaces_a_set_of_the_same_kind_of_task(tmp_path):
    assert rd.STAND_INS == {
        "pneumoniamnist": "malignant",
        "breastmnist": "benign",
        "organamnist": "category",
    }
    for name in ["pneumoniamnist", "breastmnist"]:
        assert rd.card(name).task == "binary-class", name
    assert rd.card("organamnist").task == "multi-class"  # 11 organs; its stand-in has 5 classes
    with pytest.raises(rd.DatasetNotFound, match="no phantom stand-in"):  # ordinal DR grades
        rd.load("retinamnist", root=tmp_path)


@pytest.mark.parametrize(
    "name, channels, names",
    [
        (
            "liver-lesions",
            3,
            ("A classic HCC", "B other malignant", "C indeterminate", "D hemangioma", "E cyst"),
        ),
        ("fibrosis", 1, ("F0", "F1", "F2", "F3", "F4")),
    ],
)
def test_phantom_tasks_by_name(capsys, name, channels, names):
    data = rd.load(name, size=32, seed=1)
    assert capsys.readouterr().out == "" and data.note == ""  # nothing is missing
    assert not data.real and data.name == data.requested == name and data.n_classes == 5
    assert data.n_channels == channels and data.label_names == names
    for _, (x, y) in data.items():
        _check_split(x, y, channels, 32, 5)
    assert not _rows(data.train[0]) & _rows(data.test[0])


# --- patient_split -------------------------------------------------------------------------


def _patients(n=400, seed=0):
    """Rows of n patients with 1-3 images each, and a label per patient (30 % positive)."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n) * 7 + 100, rng.integers(1, 4, n))  # ids need not be 0..n-1
    positive = rng.random(n) < 0.3
    return groups, positive[(groups - 100) // 7].astype(np.int64)


def _patient_sets(groups, masks):
    return {split: set(groups[mask].tolist()) for split, mask in masks.items()}


@pytest.mark.parametrize("stratified", [False, True])
@pytest.mark.parametrize("val, test", [(0.2, 0.2), (0.15, 0.25), (0.1, 0.1), (0.0, 0.3)])
def test_patient_split_keeps_patients_apart(stratified, val, test):
    groups, labels = _patients()
    masks = rd.patient_split(
        groups, val=val, test=test, seed=1, labels=labels if stratified else None
    )
    assert list(masks) == ["train", "val", "test"]
    assert all(m.dtype == bool and m.shape == groups.shape for m in masks.values())
    assert (masks["train"].astype(int) + masks["val"] + masks["test"] == 1).all()  # each row once
    sets = _patient_sets(groups, masks)
    assert not (sets["train"] & sets["val"] or sets["train"] & sets["test"])
    assert not sets["val"] & sets["test"]
    n = len(np.unique(groups))
    assert abs(len(sets["test"]) / n - test) <= 0.02  # shares of patients, as asked
    assert abs(len(sets["val"]) / n - val) <= 0.02


def test_patient_split_stratified_keeps_class_shares():
    groups, labels = _patients(seed=2)
    masks = rd.patient_split(groups, seed=0, labels=labels)
    overall = labels.mean()
    for split, mask in masks.items():
        assert abs(labels[mask].mean() - overall) < 0.02, split
    plain = rd.patient_split(groups, seed=0)  # without labels the shares drift more
    drift = max(abs(labels[m].mean() - overall) for m in plain.values())
    assert drift > max(abs(labels[m].mean() - overall) for m in masks.values())


def test_patient_split_is_deterministic_and_uses_the_course_seed(monkeypatch):
    groups, labels = _patients()
    for extra in ({}, {"labels": labels}):
        a = rd.patient_split(groups, seed=5, **extra)
        b = rd.patient_split(groups, seed=5, **extra)
        c = rd.patient_split(groups, seed=6, **extra)
        assert all(np.array_equal(a[s], b[s]) for s in a)
        assert not all(np.array_equal(a[s], c[s]) for s in a)
        monkeypatch.setenv("RADLAB_SEED", "5")
        d = rd.patient_split(groups, **extra)
        assert all(np.array_equal(a[s], d[s]) for s in a)
        monkeypatch.delenv("RADLAB_SEED")


def test_patient_split_on_phantom_patients():
    cases = phantoms.liver_lesions(30, size=16, slices_per_patient=3, seed=0)
    masks = rd.patient_split(cases.patient_id, seed=0, labels=cases.label)
    sets = _patient_sets(cases.patient_id, masks)
    assert sum(len(v) for v in sets.values()) == 30
    assert all(len(v) >= 1 for v in sets.values())
    assert {len(cases.subset(m)) % 3 for m in masks.values()} == {0}  # whole patients only


def test_patient_split_rejects_bad_shares():
    groups, labels = _patients()
    for val, test in [(0.5, 0.5), (0.2, 0.0), (-0.1, 0.2), (0.2, 1.2)]:
        with pytest.raises(ValueError, match="shares of the patients"):
            rd.patient_split(groups, val=val, test=test)
    with pytest.raises(ValueError, match="at least 3 patients"):
        rd.patient_split([1, 1, 2])
    with pytest.raises(ValueError, match="one each"):
        rd.patient_split(groups, labels=labels[:-1])


def test_chest_films_real_and_without_download(medmnist_root, tmp_path, capsys):
    normal, film, source = rd.chest_films(root=medmnist_root)
    assert source.startswith("PneumoniaMNIST") and normal.shape[1:] == (1, 28, 28)
    assert torch.equal(film, normal[0])
    normal, film, source = rd.chest_films(root=tmp_path)  # nothing downloaded there
    assert normal is None and "RG1_UNCI" in source and film.shape == (1, 64, 64)
    assert 0 <= float(film.min()) and float(film.max()) <= 1
    assert "data_download" in capsys.readouterr().out  # how to fetch the real films
