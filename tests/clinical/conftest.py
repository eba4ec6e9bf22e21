"""Fixtures for the clinical tests: example patients per trial (covariates in schema names and units)."""

from __future__ import annotations

import pytest

PATIENTS = {
    "actg320": {"age": 40, "cd4": 30, "karnofsky": 90, "months_prior_zdv": 24, "iv_drug_use": "never",
                "hemophilia": "no", "sex": "male", "race_ethnicity": "white non-hispanic"},
    "veterans": {"age": 62, "celltype": "squamous", "karnofsky": 60, "months_from_diagnosis": 5,
                 "prior_therapy": "no"},
    "gbsg2": {"age": 45, "menopausal_status": "pre", "tumor_size": 25, "tumor_grade": "II", "positive_nodes": 3,
              "progesterone_receptor": 50, "estrogen_receptor": 80},
}


PATIENTS["actg320-death"] = PATIENTS["actg320"]


@pytest.fixture
def patients() -> dict[str, dict]:
    return {k: dict(v) for k, v in PATIENTS.items()}
