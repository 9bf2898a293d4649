"""Shared fixtures for the package tests (settings live in the top-level conftest.py)."""

import os
from pathlib import Path

import pytest
import torch


@pytest.fixture
def medmnist_root():
    """The data root holding the real MedMNIST files (skip when absent)."""
    root = Path(os.environ.get("RADLAB_DATA", ""))
    if not (root / "medmnist" / "pneumoniamnist.npz").is_file():
        pytest.skip(
            "real MedMNIST files not present: set RADLAB_DATA to a folder with medmnist/*.npz"
        )
    return root


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a test module: tiny tensors gain nothing from threads, and on a busy
    2-core machine thread hand-offs cost seconds (a training step measured 10x slower with 2)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
