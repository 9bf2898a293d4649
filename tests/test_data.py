"""Tests for radlab.data: the MedMNIST table, the MD5 checks and the tensor loader on the real files."""

import hashlib
import os
import shutil

import numpy as np
import pytest
import torch

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
    with pytest.raises(ValueError, match="pneumoniamnist"):
        rd.card("pneumonia")
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
