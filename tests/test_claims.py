"""radlab.claims: numbers and claims recorded; false claims fail outside smoke mode."""

import json
import os

import numpy as np
import pytest
import torch

from radlab import claims


def test_measure_records_plain_numbers(monkeypatch, tmp_path):
    monkeypatch.setenv("RADLAB_CLAIMS_DIR", str(tmp_path))
    rec = claims.lesson("99_demo")
    assert rec.measure("auc", np.float32(0.5)) == np.float32(0.5)
    rec.measure("count", torch.tensor(3))
    saved = json.loads((tmp_path / "99_demo.claims.json").read_text())
    assert saved["numbers"] == {"auc": 0.5, "count": 3}


def test_true_claim_is_printed_and_saved(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("RADLAB_MODE", "cpu")
    monkeypatch.setenv("RADLAB_CLAIMS_DIR", str(tmp_path))
    rec = claims.lesson("99_demo")
    rec.claim("three beat one", True, three=0.9, one=0.4)
    assert "claim held: three beat one (three=0.9, one=0.4)" in capsys.readouterr().out
    saved = json.loads((tmp_path / "99_demo.claims.json").read_text())
    assert saved["claims"][0] == {
        "claim": "three beat one",
        "holds": True,
        "enforced": True,
        "numbers": {"three": 0.9, "one": 0.4},
    }


@pytest.mark.parametrize("mode", ["cpu", "gpu"])
def test_false_claim_fails_the_lesson(monkeypatch, tmp_path, mode):
    monkeypatch.setenv("RADLAB_MODE", mode)
    monkeypatch.setenv("RADLAB_CLAIMS_DIR", str(tmp_path))
    rec = claims.lesson("99_demo")
    with pytest.raises(claims.ClaimNotSupported, match="three beat one"):
        rec.claim("three beat one", False, three=0.3, one=0.4)
    saved = json.loads((tmp_path / "99_demo.claims.json").read_text())
    assert saved["claims"][0]["holds"] is False  # recorded before it fails


def test_false_claim_is_only_recorded_in_smoke_mode(monkeypatch, capsys):
    monkeypatch.setenv("RADLAB_MODE", "smoke")
    monkeypatch.delenv("RADLAB_CLAIMS_DIR", raising=False)
    rec = claims.lesson("99_demo")
    rec.claim("three beat one", False)
    assert rec.claims[-1]["holds"] is False
    assert "not enforced" in capsys.readouterr().out
    assert rec.save() is None  # nothing written outside the course runner
    assert rec.as_dict()["claims"][0]["enforced"] is False


def test_the_record_is_written_atomically(monkeypatch, tmp_path):
    monkeypatch.setenv("RADLAB_MODE", "smoke")
    monkeypatch.setenv("RADLAB_CLAIMS_DIR", str(tmp_path))
    rec = claims.lesson("99_demo")
    rec.measure("auc", 0.5)
    before = (tmp_path / "99_demo.claims.json").read_text()

    def crash(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        rec.measure("auc", 0.9)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["99_demo.claims.json"]  # no temp file left
    assert (tmp_path / "99_demo.claims.json").read_text() == before


def test_a_claim_records_its_numbers_once(monkeypatch, tmp_path):
    monkeypatch.setenv("RADLAB_MODE", "cpu")
    monkeypatch.setenv("RADLAB_CLAIMS_DIR", str(tmp_path))
    rec = claims.lesson("99_demo")
    rec.claim("three beat one", True, three=0.9, one=0.4)
    saved = json.loads((tmp_path / "99_demo.claims.json").read_text())
    assert saved["numbers"] == {"three": 0.9, "one": 0.4}
