"""Shared fixtures for the package tests (settings live in the top-level conftest.py)."""

import os
from pathlib import Path

import pytest


@pytest.fixture
def medmnist_root():
    """The data root holding the real MedMNIST files (skip when absent)."""
    root = Path(os.environ.get("RADLAB_DATA", ""))
    if not (root / "medmnist" / "pneumoniamnist.npz").is_file():
        pytest.skip("real MedMNIST files not present: set RADLAB_DATA to a folder with medmnist/*.npz")
    return root
