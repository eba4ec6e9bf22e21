"""Training end to end on a slice (the full run is `genmed imaging train`, ~15 min on a shared CPU)."""

from __future__ import annotations

import json

import numpy as np

from genmed.imaging.predictor import ImagingModel
from genmed.imaging.train import TrainConfig, train_bundle


def test_train_bundle_small(tmp_path, data_dir):
    cfg = TrainConfig(members=2, epochs=1, ae_epochs=1, width=8, limit=256)
    card = train_bundle(cfg, tmp_path)
    assert (tmp_path / "model.pt").exists() and json.loads((tmp_path / "model.json").read_text())["format"]
    assert set(card["metrics"]) == {"val", "test"} and card["metrics"]["test"]["n"] == 624
    assert card["temperature"] * 10 > 0.5 and card["dataset"]["sha256"]
    m = ImagingModel.load(tmp_path)
    assert len(m.members) == 2 and set(m.gate.thresholds) == {
        "embedding_mahalanobis", "statistics_mahalanobis", "reconstruction_error"}
    p = m.predict(np.random.default_rng(0).random((3, 28, 28)))
    assert p.probability.shape == (3,) and p.anomaly_map.shape == (3, 28, 28)


def test_corrupt_model_file(tmp_path):
    import pytest

    from genmed.core.errors import ModelNotFoundError

    (tmp_path / "model.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelNotFoundError, match="cannot load imaging model"):
        ImagingModel.load(tmp_path)
