"""Fixtures for imaging tests: slices of the real PneumoniaMNIST test split, the shipped model."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def test_images(data_dir) -> tuple[np.ndarray, np.ndarray]:
    """First 64 images and labels of the official PneumoniaMNIST test split."""
    from genmed.imaging.medmnist import load_medmnist

    s = load_medmnist(data_dir / "imaging" / "pneumoniamnist" / "pneumoniamnist.npz", "test", limit=64)
    return s.images, s.labels


@pytest.fixture(scope="session")
def shipped_model():
    import torch

    from genmed.imaging.predictor import ImagingModel, default_model_dir

    torch.set_num_threads(1)  # tiny models: one thread is fastest on the shared machine

    if not (default_model_dir() / "model.pt").exists():
        pytest.skip("shipped imaging model not present (run `genmed imaging train --out ...`)")
    return ImagingModel.load()
