"""One contract for every registered response model, plus checks against known results."""

from __future__ import annotations

import numpy as np
import pytest

from genmed.clinical import load_trial, make_model, model_names
from genmed.clinical.evaluation import calibration, cross_validate, select_model, trial_hazard_ratio
from genmed.clinical.survival import ipcw_rmst_outcome, rmst
from genmed.core.errors import ConfigError, InputError


@pytest.fixture(scope="module")
def veterans():
    return load_trial("veterans")


def test_registry_lists_required_models():
    assert {"cox", "cox-interaction", "rsf", "gbsa", "t-cox", "x-learner", "dr-learner"} <= set(model_names())
    with pytest.raises(ConfigError, match="unknown response model 'nope'"):
        make_model("nope")


@pytest.mark.parametrize("name", model_names())
def test_model_contract(name, veterans):
    m = make_model(name, seed=1).fit(veterans)
    X = veterans.X.iloc[:7]
    for arm in (0, 1, "standard", "test"):
        S = m.predict_survival(X, arm)
        assert S.shape == (7, len(m.times_))
        assert np.all((S >= 0) & (S <= 1))
        assert np.all(np.diff(S, axis=1) <= 1e-12), "survival must be non-increasing"
        assert np.allclose(S[:, 0], 1.0, atol=0.05)
    eff = m.predict_effect(X, "test", "standard")
    assert eff.shape == (7,) and np.all(np.isfinite(eff))
    assert np.allclose(eff, -m.predict_effect(X, "standard", "test"))
    assert np.allclose(m.predict_effect(X, 1, 1), 0)
    # deterministic for a given seed
    again = make_model(name, seed=1).fit(veterans)
    assert np.allclose(again.predict_effect(X, 1, 0), eff)
    with pytest.raises(InputError):
        m.predict_survival(X, "placebo")


def test_survival_effect_equals_rmst_difference(veterans):
    m = make_model("cox-interaction").fit(veterans)
    X = veterans.X.iloc[:5]
    h = 200.0
    expected = rmst(m.times_, m.predict_survival(X, 1), h) - rmst(m.times_, m.predict_survival(X, 0), h)
    assert np.allclose(m.predict_effect(X, 1, 0, h), expected)
    with pytest.raises(InputError, match="beyond the trial's follow-up"):
        m.predict_rmst(X, 0, 5000)


def test_effect_learner_refuses_other_horizon(veterans):
    m = make_model("x-learner").fit(veterans)
    with pytest.raises(ConfigError, match="fitted for horizon 365"):
        m.predict_effect(veterans.X.iloc[:2], 1, 0, horizon=100)


def test_actg320_adjusted_cox_matches_trial_direction_and_size():
    d = load_trial("actg320")
    m = make_model("cox").fit(d)
    hr = float(np.exp(m.coef_[len(m.encoder_.columns)]))
    assert 0.4 < hr < 0.65


def test_trial_hazard_ratio_reproduces_hammer_1997():
    est = trial_hazard_ratio(load_trial("actg320"))
    assert est.hr == pytest.approx(0.50, abs=0.01)
    assert est.ci[0] == pytest.approx(0.33, abs=0.01) and est.ci[1] == pytest.approx(0.76, abs=0.01)
    assert "stratified by strat2" in est.label


def test_trial_hazard_ratio_reproduces_hammer_1997_death_and_survives_few_events():
    d = load_trial("actg320-death")
    est = trial_hazard_ratio(d)
    assert est.hr == pytest.approx(0.43, abs=0.01) and est.ci == pytest.approx((0.19, 0.99), abs=0.01)
    adj = trial_hazard_ratio(d, adjusted=True)  # 26 deaths: needs the sparse-level guard and BFGS fallback
    assert 0.3 < adj.hr < 0.6 and "american indian" in adj.method


def test_veterans_unadjusted_hr_matches_r_survival(veterans):
    est = trial_hazard_ratio(veterans)
    assert est.hr == pytest.approx(1.018, abs=0.01)
    assert est.ci == pytest.approx((0.714, 1.45), abs=0.01)


def test_cross_validation_and_selection(veterans):
    cv = cross_validate(veterans, "cox", folds=3, seed=0)
    s = cv.summary()
    assert 0.62 < s["c_index"] < 0.8 and 0.1 < s["ibs"] < 0.25
    assert len(cv.c_index) == 3 and not np.isnan(cv.oof_survival_h).any()
    best, rows = select_model(veterans, ["cox", "t-cox"], folds=3)
    assert best in {"cox", "t-cox"} and len(rows) == 2
    groups = calibration(veterans, cv.oof_survival_h, 100.0, groups=4)
    assert sum(g.n for g in groups) == len(veterans)
    assert all(0 <= g.observed <= 1 and g.observed_ci[0] <= g.observed <= g.observed_ci[1] for g in groups)
    # calibration groups are ordered by prediction; observed should rise with predicted on a prognostic model
    assert groups[-1].observed > groups[0].observed


def test_ipcw_outcome():
    time = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    y, w = ipcw_rmst_outcome(time, np.ones(5, bool), 5.0)
    assert np.allclose(y, [1, 2, 3, 4, 5]) and np.allclose(w, 1)
    y, w = ipcw_rmst_outcome(time, np.array([1, 0, 1, 1, 0], bool), 5.0)
    assert w[1] == 0  # censored before the horizon: outcome unknown
    assert w[4] > 1 and w[0] == 1  # known beyond the horizon, up-weighted for the censored


def test_event_free_effect_measure(veterans):
    m = make_model("cox").fit(veterans)
    X = veterans.X.iloc[:4]
    ef = m.predict_effect(X, 1, 0, horizon=100, measure="event_free")
    from genmed.clinical.survival import survival_at

    expected = survival_at(m.times_, m.predict_survival(X, 1), 100) - survival_at(m.times_, m.predict_survival(X, 0), 100)
    assert np.allclose(ef, expected) and np.all(np.abs(ef) <= 1)
    with pytest.raises(ConfigError, match="unknown effect measure"):
        m.predict_effect(X, 1, 0, measure="median")
    learner = make_model("x-learner-event").fit(veterans)
    assert np.all(np.abs(learner.predict_effect(X, 1, 0)) <= 1.5)
    with pytest.raises(ConfigError, match="estimates the event_free effect"):
        learner.predict_effect(X, 1, 0, measure="rmst")
    with pytest.raises(ConfigError, match="unknown effect target"):
        make_model("x-learner", target="hazard")
