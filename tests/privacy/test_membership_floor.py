"""The split's membership floor (genmed.privacy.evaluate.membership_floor) on the real ACTG 320 split."""

from __future__ import annotations

import numpy as np
import pytest

from genmed.core.errors import InputError
from genmed.privacy.bench import _prepared
from genmed.privacy.evaluate import membership_floor


def test_floor_separates_a_copying_generator_from_the_split():
    """Resampling the seen rows leaks them (seen AUC high) but cannot leak rows it never saw (unseen near the
    floor): the excess is the leak, the unseen AUC is the split."""
    schema, _, _, ctr, cho, _ = _prepared("actg320")
    f = membership_floor("bootstrap", ctr, cho, schema, 1.0, 1e-9, np.random.default_rng(0), draws=2)
    assert f["draws"] == 2 and f["n_unseen"] == len(ctr) // 4 and f["n_seen"] == len(ctr) - f["n_unseen"]
    assert f["seen_auc_mean"] > 0.75
    assert f["unseen_auc_mean"] < 0.6
    assert f["excess_auc_mean"] > 0.2 and f["excess_auc_se"] is not None


def test_floor_of_independent_marginals_shows_little_own_signal():
    schema, _, _, ctr, cho, _ = _prepared("actg320")
    f = membership_floor("independent", ctr, cho, schema, 10.0, 1e-9, np.random.default_rng(1), draws=2)
    assert 0.45 < f["unseen_auc_mean"] < 0.6
    assert abs(f["excess_auc_mean"]) < 0.06


def test_floor_refuses_no_refit_or_too_few_unseen_rows():
    schema, _, _, ctr, cho, _ = _prepared("actg320")
    with pytest.raises(InputError, match="at least one refit"):
        membership_floor("independent", ctr, cho, schema, 1.0, 1e-9, np.random.default_rng(0), draws=0)
    with pytest.raises(InputError, match="at least 2 unseen training rows"):
        membership_floor("independent", ctr.iloc[:7], cho, schema, 1.0, 1e-9, np.random.default_rng(0), draws=1)


def test_release_audit_reports_an_unmeasurable_floor_instead_of_failing():
    """The release's ε is spent before the audit: a floor that cannot be measured must not lose the release."""
    from genmed.privacy.release import _membership_floor

    schema, _, _, ctr, cho, _ = _prepared("actg320")
    f = _membership_floor("independent", ctr.iloc[:7], cho, schema, 1.0, 1e-9, 0, 3)
    assert f["draws"] == 3 and "unseen" in f["not_measured"] and "unseen_auc_mean" not in f
    assert _membership_floor("independent", ctr, cho, schema, 1.0, 1e-9, 0, 0) is None
