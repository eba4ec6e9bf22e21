"""The issue's targets on the shipped model (slow: full test split, OOD set, latency runs)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_targets(shipped_model, data_dir, tmp_path):
    import torch

    from genmed.imaging.bench import markdown, run_benchmark

    torch.set_num_threads(1)
    res = run_benchmark(str(shipped_model.path.parent), tmp_path / "imaging.json", timing_runs=5)
    t, o = res["test"], res["ood"]
    assert t["auc"] > 0.944 and t["acc"] > 0.854  # beat MedMNIST v2 ResNet-18 (28)
    assert t["ece"] < 0.05
    assert o["rejected_with_metadata"] >= 0.95 and o["false_rejection_test"] < 0.05
    assert res["latency_ms"]["median"] < 300
    assert "Google AutoML Vision" in markdown(res)
