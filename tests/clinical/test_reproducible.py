"""The shipped twin weights are reproducible by the project command (slow: refits the model selection)."""

from __future__ import annotations

import numpy as np
import pytest

from genmed.clinical.ensemble import shipped_ensemble, train_cox_ensemble


@pytest.mark.slow
@pytest.mark.parametrize("trial", ["veterans", "actg320"])
def test_shipped_weights_reproduce(trial):
    shipped = shipped_ensemble(trial)
    fresh = train_cox_ensemble(trial, n_bootstrap=3, seed=shipped.meta["seed"])
    assert fresh.meta["alpha_interaction"] == shipped.meta["alpha_interaction"]
    assert fresh.meta["cv"]["c_index"] == pytest.approx(shipped.meta["cv"]["c_index"], abs=1e-4)
    assert np.allclose(fresh.coef, shipped.coef, atol=1e-6)
    assert np.allclose(fresh.cumhaz, shipped.cumhaz, atol=1e-6)
