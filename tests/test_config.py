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


@pytest.mark.parametrize("cuda, expected", [(True, "gpu"), (False, "cpu")])
def test_default_mode_follows_the_hardware(monkeypatch, cuda, expected):
    monkeypatch.delenv("RADLAB_MODE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert config.mode() == expected
    monkeypatch.setenv("RADLAB_MODE", "  ")  # blank counts as unset
    assert config.mode() == expected


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


def test_seed_given_wins_over_the_course_seed(monkeypatch):
    monkeypatch.setenv("RADLAB_SEED", "7")
    assert config.seed() == 7 and config.seed(None) == 7
    assert config.seed(3) == 3 and config.seed(np.int64(0)) == 0 and type(config.seed(3.0)) is int


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


def test_data_root_given_wins_over_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RADLAB_DATA", str(tmp_path / "env"))
    assert config.data_root(tmp_path / "mine") == tmp_path / "mine"
    assert config.data_root(str(tmp_path)) == tmp_path
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config.data_root("~/data") == tmp_path / "data"  # ~ expanded
    assert config.data_root(None) == tmp_path / "env"


def test_to_numpy_from_tensors_arrays_and_lists():
    grad = torch.ones(2, 3, requires_grad=True) * 2  # part of a graph: detached
    out = config.to_numpy(grad)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (2, 3)
    for dtype in (torch.float16, torch.bfloat16):  # NumPy has no bfloat16
        assert config.to_numpy(torch.zeros(2, dtype=dtype)).dtype == np.float32
    assert config.to_numpy(torch.arange(3)).dtype == np.int64  # other dtypes kept
    assert config.to_numpy(torch.tensor([True])).dtype == np.bool_
    values = np.arange(4.0)
    assert config.to_numpy(values) is values  # arrays pass through
    np.testing.assert_array_equal(config.to_numpy([[1, 2]]), [[1, 2]])
    if torch.cuda.is_available():
        np.testing.assert_array_equal(config.to_numpy(torch.ones(2, device="cuda")), [1, 1])


def test_to_slice_takes_one_slice_and_explains_the_rest():
    assert config.to_slice(torch.zeros(1, 4, 5)).shape == (4, 5)
    assert config.to_slice([[1, 2], [3, 4]]).dtype == np.float32
    with pytest.raises(ValueError, match=r"(?s)The mask has shape \(2, 4, 4\).*volume\[40\]"):
        config.to_slice(np.zeros((2, 4, 4)), "mask")


def test_summary_on_a_machine_without_cuda(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("RADLAB_MODE", raising=False)
    monkeypatch.setenv("RADLAB_SEED", "123")
    monkeypatch.setenv("RADLAB_DATA", str(tmp_path / "data"))
    summary = config.summary()
    assert summary["device"] == "cpu" and config.device() == torch.device("cpu")
    assert summary["mode"] == "cpu"
    assert summary["amp"] is False and summary["gpu"] is None and summary["channels_last"] is True
    assert summary["seed"] == 123
    assert Path(summary["data_root"]) == tmp_path / "data"
    assert summary["python"] and summary["torch"] == torch.__version__


def test_summary_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("RADLAB_MODE", "smoke")
    monkeypatch.delenv("RADLAB_SEED", raising=False)
    monkeypatch.setenv("RADLAB_DATA", "  ")  # blank: fall back to the cache folder
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    summary = config.summary()
    assert summary["mode"] == "smoke"
    assert summary["seed"] == config.DEFAULT_SEED == 0
    if not config.sys.platform.startswith("win"):
        assert Path(summary["data_root"]) == tmp_path / "cache" / "radlab"


def test_amp_and_channels_last_by_device():
    assert config.use_amp(torch.device("cpu")) is False
    assert config.use_amp(torch.device("cuda")) is True
    assert config.use_channels_last(torch.device("cuda")) is True
    assert config.use_channels_last(torch.device("meta")) is False
