"""Temperature scaling recovers a known temperature; ECE separates calibrated from over-confident."""

from __future__ import annotations

import numpy as np
import pytest

from genmed.imaging.calibration import (
    calibration_report,
    expected_calibration_error,
    fit_temperature,
    sigmoid,
)


def synthetic(n=20000, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2.5, n)
    y = (rng.random(n) < sigmoid(z)).astype(float)
    return z, y


def test_recovers_known_temperature():
    z, y = synthetic()
    assert fit_temperature(3.0 * z, y) == pytest.approx(3.0, rel=0.08)
    assert fit_temperature(0.5 * z, y) == pytest.approx(0.5, rel=0.08)


def test_ece_calibrated_vs_overconfident():
    z, y = synthetic()
    good = expected_calibration_error(sigmoid(z), y)
    bad = expected_calibration_error(sigmoid(4 * z), y)
    assert good < 0.02 < 0.08 < bad
    t = fit_temperature(4 * z, y)
    assert expected_calibration_error(sigmoid(4 * z / t), y) < 0.02


def test_report_bins_and_errors():
    rep = calibration_report(np.array([0.1, 0.9, 0.95]), np.array([0, 1, 1]), n_bins=10)
    assert sum(b["count"] for b in rep.bins) == 3 and rep.brier < 0.01
    with pytest.raises(ValueError):
        calibration_report(np.array([0.1, 0.2]), np.array([1]))
