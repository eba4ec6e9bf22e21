"""Patient record -> the covariates a trial model needs, in the trial schema's names.

Only values the record states are passed; derived values say how they were derived (``derived``). A covariate the
record does not hold is left out, so the response model reports it missing and the prediction is indeterminate.
"""

from __future__ import annotations

from typing import Any

from genmed.patient.model import Patient

ROMAN = {"1": "I", "2": "II", "3": "III", "i": "I", "ii": "II", "iii": "III", "g1": "I", "g2": "II", "g3": "III"}


def _v(patient: Patient, key: str, out: dict[str, Any], name: str, notes: list[str]) -> None:
    value, why = patient.value(key)
    if value is not None:
        out[name] = value
    elif why and why.startswith("conflicting"):
        notes.append(why)


def _race_ethnicity(patient: Patient) -> str | None:
    race = (patient.race or "").lower()
    eth = (patient.ethnicity or "").lower()
    if "hispanic" in eth and not eth.startswith("not"):
        return "hispanic"
    if not eth.startswith("not hispanic"):
        return None  # ACTG 320 codes race and ethnicity together: without ethnicity we cannot pick a level
    if race.startswith("white"):
        return "white non-hispanic"
    if race.startswith("black"):
        return "black non-hispanic"
    if "asian" in race or "pacific" in race:
        return "asian/pacific islander"
    if "american indian" in race or "alaska" in race:
        return "american indian/alaskan native"
    return None


def trial_covariates(trial: str, patient: Patient) -> tuple[dict[str, Any], list[str]]:
    """Covariates for ``trial`` from the record, and notes (conflicts, derivations)."""
    out: dict[str, Any] = {}
    notes: list[str] = []
    if patient.age is not None:
        out["age"] = patient.age
    if trial == "gbsg2":
        if patient.has_condition("postmenopausal"):
            out["menopausal_status"] = "post"
            notes.append("menopausal status 'post' from the record's postmenopausal condition")
        _v(patient, "tumor_size_mm", out, "tumor_size", notes)
        grade, _ = patient.value("tumor_grade")
        if grade is not None:
            g = ROMAN.get(str(grade).strip().lower().removeprefix("grade ").strip())
            if g:
                out["tumor_grade"] = g
            else:
                notes.append(f"tumour grade {grade!r} not understood")
        _v(patient, "positive_nodes", out, "positive_nodes", notes)
        _v(patient, "progesterone_receptor_fmol", out, "progesterone_receptor", notes)
        _v(patient, "estrogen_receptor_fmol", out, "estrogen_receptor", notes)
    elif trial == "actg320":
        _v(patient, "cd4_count", out, "cd4", notes)
        k, _ = patient.value("karnofsky")
        if k is not None:
            out["karnofsky"] = str(int(round(float(k), -1))) if isinstance(k, float) else str(k)
        _v(patient, "prior_zidovudine_months", out, "months_prior_zdv", notes)
        _v(patient, "iv_drug_use", out, "iv_drug_use", notes)
        _v(patient, "hemophilia", out, "hemophilia", notes)
        if patient.sex in ("male", "female"):
            out["sex"] = patient.sex
        re_ = _race_ethnicity(patient)
        if re_:
            out["race_ethnicity"] = re_
    elif trial == "veterans":
        _v(patient, "lung_histology", out, "celltype", notes)
        _v(patient, "karnofsky", out, "karnofsky", notes)
        _v(patient, "prior_therapy", out, "prior_therapy", notes)
        months, _ = patient.value("months_since_diagnosis")
        if months is None:
            onset = next((c.onset for c in patient.conditions if c.key == "lung_cancer" and c.onset), None)
            if onset and patient.record_date:
                months = round((patient.record_date - onset).days / 30.44, 1)
                notes.append(f"months from diagnosis ({months}) derived from the condition onset date")
        if months is not None:
            out["months_from_diagnosis"] = months
    return out, notes
