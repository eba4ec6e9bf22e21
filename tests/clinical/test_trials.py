from __future__ import annotations

import pytest

from genmed.clinical import check_patient, list_trials, load_trial, trial_schema
from genmed.core.errors import ConfigError, InputError


def test_list_and_schema():
    assert list_trials() == ["actg320", "actg320-death", "gbsg2", "veterans"]
    assert trial_schema("actg320_death").name == "actg320-death"
    s = trial_schema("ACTG-320")
    assert s.name == "actg320" and s.arm_names == ["zdv_3tc", "idv_zdv_3tc"]
    assert "cd4" in s.required and s.covariate("cd4").unit == "cells/uL"
    assert s.published[0].estimate == 0.50 and s.published[0].ci == (0.33, 0.76)
    d = s.to_dict()
    assert {c["name"] for c in d["covariates"]} == set(s.required)
    with pytest.raises(ConfigError, match="unknown trial 'nope'"):
        trial_schema("nope")


@pytest.mark.parametrize("name,n,events", [("actg320", 1151, 96), ("actg320-death", 1151, 26), ("veterans", 137, 128),
                                                ("gbsg2", 686, 299)])
def test_load_trial(name, n, events):
    d = load_trial(name)
    assert len(d) == n and int(d.event.sum()) == events
    assert list(d.X.columns) == d.schema.required
    assert set(d.arm) == {0, 1}


def test_arm_resolution():
    s = trial_schema("actg320")
    assert s.arm("indinavir").name == "idv_zdv_3tc"
    assert s.arm("CONTROL").name == "zdv_3tc"
    with pytest.raises(InputError, match="unknown treatment 'aspirin'"):
        s.arm("aspirin")


def test_check_patient_normalises_labels_codes_and_units(patients):
    p = patients["gbsg2"]
    p["tumor_size"] = {"value": 2.5, "unit": "cm"}
    p["tumor_grade"] = "iii"
    c = check_patient("gbsg2", p)
    assert c.values["tumor_size"] == 25.0 and c.values["tumor_grade"] == "III"
    assert c.values["menopausal_status"] == "Pre"
    assert c.complete and c.within_population and c.status == "within validated population"
    a = check_patient("actg320", {**patients["actg320"], "sex": 2, "hemophilia": False})
    assert a.values["sex"] == "2" and a.values["hemophilia"] == "0"


def test_check_patient_missing_is_named_not_imputed(patients):
    p = patients["actg320"]
    del p["cd4"], p["sex"]
    c = check_patient("actg320", p)
    assert c.missing == ["cd4", "sex"] and c.status == "indeterminate"
    assert "cd4" not in c.values


@pytest.mark.parametrize("field,value,match", [
    ("age", 250, "not plausible"),
    ("age", "forty", "expected a number"),
    ("cd4", {"value": 30, "unit": "percent"}, "unit 'percent' not understood"),
    ("karnofsky", 120, "unknown value 120"),
    ("sex", "robot", "unknown value 'robot'"),
    ("age", float("inf"), "finite"),
])
def test_check_patient_rejects_bad_values(patients, field, value, match):
    p = patients["actg320"]
    p[field] = value
    with pytest.raises(InputError, match=match) as exc:
        check_patient("actg320", p)
    assert field in str(exc.value)


def test_check_patient_flags_outside_population(patients):
    p = {**patients["veterans"], "age": 90}
    c = check_patient("veterans", p)
    assert c.status == "outside validated population"
    assert any("age=90" in f and "34-81" in f for f in c.flags)
    rare = check_patient("actg320", {**patients["actg320"], "iv_drug_use": "current"})
    assert any("rare" in f for f in rare.flags)


def test_check_patient_reports_ignored_fields_and_rejects_non_mapping(patients):
    c = check_patient("veterans", {**patients["veterans"], "favourite_colour": "blue"})
    assert c.ignored == ["favourite_colour"]
    with pytest.raises(InputError, match="mapping"):
        check_patient("veterans", ["age", 60])


def test_valid_but_unenrolled_category_is_outside_population(patients):
    from genmed.clinical import OutsidePopulationError

    with pytest.raises(OutsidePopulationError, match="outside validated population: .* 60 was not enrolled"):
        check_patient("actg320", {**patients["actg320"], "karnofsky": 60})
    assert check_patient("actg320", {**patients["actg320"], "karnofsky": 90.0}).values["karnofsky"] == "90"
