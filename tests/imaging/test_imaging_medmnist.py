"""MedMNIST loader on slices of the real file, and its bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from genmed.core.errors import DataNotFoundError, InputError
from genmed.imaging.medmnist import load_medmnist


def test_official_split_sizes(data_dir):
    sizes = {s: len(load_medmnist("pneumoniamnist", s)) for s in ("train", "val", "test")}
    assert sizes == {"train": 4708, "val": 524, "test": 624}
    test = load_medmnist("pneumoniamnist", "test")
    assert test.images.shape == (624, 28, 28) and test.images.dtype == np.uint8
    assert np.bincount(test.labels).tolist() == [234, 390]
    assert test.class_names == ("normal", "pneumonia")


def test_limit_and_path(data_dir):
    path = data_dir / "imaging" / "pneumoniamnist" / "pneumoniamnist.npz"
    s = load_medmnist(path, "val", limit=10)
    assert len(s) == 10 and s.name == "pneumoniamnist" and s.source == str(path)


def test_unknown_split(data_dir):
    with pytest.raises(InputError, match="unknown split"):
        load_medmnist("pneumoniamnist", "dev")


def test_missing_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMED_DATA_DIR", str(tmp_path))
    from genmed.core.config import reset_settings

    reset_settings()
    with pytest.raises(DataNotFoundError, match="genmed data fetch medmnist-pneumoniamnist"):
        load_medmnist("pneumoniamnist")


def test_not_a_zip(tmp_path):
    f = tmp_path / "broken.npz"
    f.write_bytes(b"this is not a zip archive")
    with pytest.raises(InputError, match="broken.npz"):
        load_medmnist(f)


def test_missing_arrays(tmp_path):
    f = tmp_path / "other.npz"
    np.savez(f, x=np.zeros(3))
    with pytest.raises(InputError, match="missing test_images"):
        load_medmnist(f, "test")


def test_wrong_dtype_and_label_shape(tmp_path):
    f = tmp_path / "floaty.npz"
    np.savez(f, train_images=np.zeros((4, 28, 28), np.float32), train_labels=np.zeros((4, 1)))
    with pytest.raises(InputError, match="uint8"):
        load_medmnist(f)
    g = tmp_path / "multilabel.npz"
    np.savez(g, train_images=np.zeros((4, 28, 28), np.uint8), train_labels=np.zeros((4, 3)))
    with pytest.raises(InputError, match="single-label"):
        load_medmnist(g)


def test_dataset_registered_for_fetch():
    from genmed.core.datasets import discover

    src = discover().get("medmnist-pneumoniamnist")
    assert src.files[0].url.startswith("https://zenodo.org/records/10519652/")
    assert src.files[0].dest == "imaging/pneumoniamnist/pneumoniamnist.npz"
