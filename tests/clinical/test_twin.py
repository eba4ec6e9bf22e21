"""The digital twin: intervals, probability of benefit, trajectories, explanation, safety flags, latency."""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np
import pytest

from genmed.clinical import MissingCovariatesError, digital_twin, load_model, trial_schema
from genmed.clinical.ensemble import WEIGHTS_DIR, shipped_ensemble
from genmed.core.errors import InputError


@pytest.mark.parametrize("trial", ["actg320", "actg320-death", "veterans", "gbsg2"])
def test_twin_structure_and_intervals(trial, patients):
    tw = digital_twin(trial, patients[trial])
    schema = trial_schema(trial)
    assert list(tw.arms) == schema.arm_names
    assert tw.status == "within validated population" and tw.flags == []
    for a in tw.arms.values():
        lo, hi = np.array(a.survival_lower), np.array(a.survival_upper)
        assert np.all(lo <= hi + 1e-9)
        assert a.rmst_interval[0] <= a.rmst <= a.rmst_interval[1]
        assert a.event_free_interval[0] <= a.event_free_at_horizon <= a.event_free_interval[1]
    (c,) = tw.comparisons
    assert c.arm_b == schema.control.name
    assert c.rmst_gain_interval[0] <= c.rmst_gain <= c.rmst_gain_interval[1]
    assert 0 <= c.p_a_beats_b <= 1
    assert c.hazard_ratio_interval[0] <= c.hazard_ratio <= c.hazard_ratio_interval[1]
    p = tw.provenance
    assert p["model"] == "cox-interaction" and p["n_bootstrap"] == 200 and p["interval"] == 0.9
    assert 0.6 < p["cv_c_index"] < 0.85 and schema.loader in p["training_data"]
    json.dumps(tw.to_dict(), default=str)  # serialisable for plan/report
    assert tw.best_arm() in schema.arm_names


def test_actg_twin_favours_indinavir(patients):
    tw = digital_twin("actg320", patients["actg320"])
    c = tw.comparisons[0]
    assert c.arm_a == "idv_zdv_3tc" and c.rmst_gain > 0 and c.p_a_beats_b > 0.9
    assert c.hazard_ratio < 1


def test_arm_order_and_aliases(patients):
    tw = digital_twin("actg320", patients["actg320"], arms=["indinavir", "control"], horizon=200)
    assert list(tw.arms) == ["idv_zdv_3tc", "zdv_3tc"] and tw.horizon == 200
    assert tw.comparisons[0].arm_b == "idv_zdv_3tc" and tw.comparisons[0].rmst_gain < 0


def test_missing_covariates_are_an_error_naming_them(patients):
    p = patients["gbsg2"]
    del p["estrogen_receptor"]
    with pytest.raises(MissingCovariatesError) as exc:
        digital_twin("gbsg2", p)
    assert exc.value.missing == ["estrogen_receptor"]
    assert "indeterminate" in str(exc.value) and "estrogen_receptor (number in fmol/mg)" in str(exc.value)
    assert exc.value.exit_code == 2


def test_outside_population_is_flagged_not_hidden(patients):
    tw = digital_twin("gbsg2", {**patients["gbsg2"], "positive_nodes": 60})
    assert tw.status == "outside validated population"
    assert any(f.startswith("positive_nodes=60") for f in tw.flags)
    assert "outside validated population" in tw.summary()


@pytest.mark.parametrize("kwargs,match", [
    ({"arms": ["aspirin"]}, "unknown treatment 'aspirin'"),
    ({"arms": ["control", "zdv_3tc"]}, "arms listed twice"),
    ({"horizon": 5000}, "outside the trial's follow-up"),
])
def test_bad_requests(patients, kwargs, match):
    with pytest.raises(InputError, match=match):
        digital_twin("actg320", patients["actg320"], **kwargs)


def test_sampled_trajectories_follow_the_curves(patients):
    tw = digital_twin("actg320", patients["actg320"], n_samples=3000, seed=3)
    assert len(tw.trajectories) == 3000
    t_max = tw.arms["zdv_3tc"].times[-1]
    for arm, a in tw.arms.items():
        times = np.array([t.outcomes[arm]["time"] for t in tw.trajectories])
        events = np.array([t.outcomes[arm]["event"] for t in tw.trajectories])
        assert np.all(times[~events] == t_max)
        sampled_event_rate = np.mean(events & (times <= tw.horizon))
        assert sampled_event_rate == pytest.approx(1 - a.event_free_at_horizon, abs=0.03)
    # paired draws: with a protective arm, no sample has an earlier event under indinavir than under control
    worse = [t for t in tw.trajectories
             if t.outcomes["idv_zdv_3tc"]["event"] and t.outcomes["idv_zdv_3tc"]["time"] < t.outcomes["zdv_3tc"]["time"]]
    assert len(worse) < 0.05 * len(tw.trajectories)
    again = digital_twin("actg320", patients["actg320"], n_samples=3000, seed=3)
    assert again.trajectories[:50] == tw.trajectories[:50]


def test_explanation_exact_terms_add_up(patients):
    tw = digital_twin("actg320", patients["actg320"])
    ens = shipped_ensemble("actg320")
    p = len(ens.encoder.columns)
    ref_z = np.asarray(ens.meta["reference_z"])
    mean_patient_log_hr = ens.coef[p] + ens.coef[p + 1:] @ ref_z
    total = mean_patient_log_hr + sum(e.log_hr for e in tw.explanation)
    assert np.exp(total) == pytest.approx(tw.comparisons[0].hazard_ratio, rel=1e-2)
    assert {e.covariate for e in tw.explanation} == set(trial_schema("actg320").required)
    assert all(e.log_hr_interval[0] <= e.log_hr + 1e-9 for e in tw.explanation)


def test_prediction_latency_under_200ms(patients):
    digital_twin("actg320", patients["actg320"], n_samples=0, explain=False)
    ts = []
    for _ in range(5):
        t0 = time.perf_counter()
        digital_twin("actg320", patients["actg320"], n_samples=0, explain=False)
        ts.append(time.perf_counter() - t0)
    assert np.median(ts) < 0.2


def test_shipped_weights_are_small_and_checksummed():
    for trial in ("actg320", "actg320-death", "veterans", "gbsg2"):
        npz, js = WEIGHTS_DIR / f"{trial}.npz", WEIGHTS_DIR / f"{trial}.json"
        assert npz.stat().st_size < 1_000_000
        meta = json.loads(js.read_text())
        assert meta["weights_sha256"] == hashlib.sha256(npz.read_bytes()).hexdigest()
        assert meta["n_bootstrap"] == 200 and "c_index" in meta["cv"]


def test_save_load_roundtrip(tmp_path, patients):
    ens = shipped_ensemble("veterans")
    ens.save(tmp_path / "veterans")
    loaded = load_model(str(tmp_path))
    a = digital_twin("veterans", patients["veterans"], model=loaded, n_samples=5)
    b = digital_twin("veterans", patients["veterans"], n_samples=5)
    assert a.arms["test"].rmst == b.arms["test"].rmst
    with pytest.raises(InputError, match="trained on veterans"):
        digital_twin("actg320", patients["actg320"], model=loaded)
