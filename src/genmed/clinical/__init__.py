"""Treatment-response models and digital twins trained on randomised trials (offline, scikit-survival data).

Public API (what other capabilities call)::

    from genmed.clinical import list_trials, trial_schema, check_patient, digital_twin

    list_trials()                       # ['actg320', 'gbsg2', 'veterans']
    schema = trial_schema("actg320")    # covariates a patient must supply (units, levels), arms, endpoint
    check_patient("actg320", record)    # PatientCheck: normalised values, missing, population flags (no raise)
    twin = digital_twin("actg320", record, arms=["zdv_3tc", "idv_zdv_3tc"], horizon=300)
    twin.arms["idv_zdv_3tc"].rmst, twin.comparisons[0].p_a_beats_b, twin.provenance, twin.to_dict()

``digital_twin`` raises :class:`MissingCovariatesError` (an ``InputError``, exit code 2) naming any missing
covariate: without them the prediction is indeterminate and genmed never imputes. A patient outside the range the
trial enrolled gets ``status == "outside validated population"`` and ``flags`` with the reasons; a valid category
the trial never enrolled (Karnofsky 60 in ACTG 320) raises :class:`OutsidePopulationError`: no estimate exists.

Models live in one registry (:data:`RESPONSE_MODELS`, :func:`make_model`) and share one contract (``fit``,
``predict_survival``, ``predict_rmst``, ``predict_effect``); :func:`cross_validate` and :func:`select_model`
compare them. Twins use a bootstrap ensemble shipped in ``genmed/clinical/weights`` (Cox PH with treatment
interactions; trained by ``genmed response train --dataset NAME --ship``).
"""

from __future__ import annotations

from typing import Any

from genmed.clinical.trials import (
    Arm,
    Covariate,
    MissingCovariatesError,
    OutsidePopulationError,
    PatientCheck,
    PublishedEffect,
    TrialData,
    TrialSchema,
    check_patient,
    list_trials,
    load_trial,
    trial_schema,
)

__all__ = [
    "Arm", "Covariate", "MissingCovariatesError", "OutsidePopulationError", "PatientCheck", "PublishedEffect", "TrialData", "TrialSchema",
    "check_patient", "list_trials", "load_trial", "trial_schema",
    "digital_twin", "DigitalTwin", "ArmOutcome", "Comparison", "Contribution", "Trajectory",
    "RESPONSE_MODELS", "ResponseModel", "make_model", "model_names", "cross_validate", "select_model",
    "load_model", "train_twin_model",
]

_LAZY = {
    "digital_twin": "genmed.clinical.twin", "DigitalTwin": "genmed.clinical.twin",
    "ArmOutcome": "genmed.clinical.twin", "Comparison": "genmed.clinical.twin",
    "Contribution": "genmed.clinical.twin", "Trajectory": "genmed.clinical.twin",
    "RESPONSE_MODELS": "genmed.clinical.models", "ResponseModel": "genmed.clinical.models",
    "make_model": "genmed.clinical.models", "model_names": "genmed.clinical.models",
    "cross_validate": "genmed.clinical.evaluation", "select_model": "genmed.clinical.evaluation",
}


def load_model(path: str) -> Any:
    """Load a twin model written by ``genmed response train --out DIR`` (pass it to ``digital_twin(model=...)``)."""
    from genmed.clinical.ensemble import load_ensemble

    return load_ensemble(path)


def train_twin_model(trial: str, *, n_bootstrap: int = 200, seed: int = 0) -> Any:
    """Fit the default twin model (bootstrap Cox PH with treatment interactions) for ``trial``; seconds."""
    from genmed.clinical.ensemble import train_cox_ensemble

    return train_cox_ensemble(trial, n_bootstrap=n_bootstrap, seed=seed)


def __getattr__(name: str) -> Any:  # lazy: importing genmed.clinical stays cheap (no scikit-survival)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'genmed.clinical' has no attribute {name!r}")
