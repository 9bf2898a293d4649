"""radlab.config: the one place that decides run mode, device, seed and data root."""

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from radlab import config


def test_mode_from_environment(monkeypatch):
    for value in config.MODES:
        monkeypatch.setenv("RADLAB_MODE", value.upper())
        assert config.mode() == value


def test_default_mode_follows_the_hardware(monkeypatch):
    monkeypatch.delenv("RADLAB_MODE", raising=False)
    assert config.mode() == ("gpu" if torch.cuda.is_available() else "cpu")


def test_unknown_mode_says_what_to_do(monkeypatch):
    monkeypatch.setenv("RADLAB_MODE", "fast")
    with pytest.raises(ValueError, match="smoke, cpu, gpu"):
        config.mode()


def test_pick_scales_with_the_mode(monkeypatch):
    for value, expected in [("smoke", 1), ("cpu", 10), ("gpu", 100)]:
        monkeypatch.setenv("RADLAB_MODE", value)
        assert config.pick(smoke=1, cpu=10, gpu=100) == expected


def test_seed_everything_repeats_every_generator(monkeypatch):
    monkeypatch.setenv("RADLAB_SEED", "7")
    assert config.seed_everything() == 7
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    config.seed_everything(7)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_bad_seed_is_explained(monkeypatch):
    monkeypatch.setenv("RADLAB_SEED", "zero")
    with pytest.raises(ValueError, match="whole number"):
        config.seed()


def test_data_root_from_environment_or_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("RADLAB_DATA", str(tmp_path))
    assert config.data_root() == tmp_path
    monkeypatch.delenv("RADLAB_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert config.data_root() == tmp_path / "cache" / "radlab"


def test_device_and_summary_agree():
    summary = config.summary()
    assert summary["device"] == str(config.device())
    assert summary["mode"] in config.MODES
    assert Path(summary["data_root"]) == config.data_root()
    assert config.use_amp(torch.device("cpu")) is False
