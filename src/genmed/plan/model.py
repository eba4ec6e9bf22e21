"""The ``TreatmentPlan``: what plan.json holds and every renderer reads.

Every line carries where it came from (``Evidence``) and how sure we are (``uncertainty``, ``status``); anything
genmed could not determine says so (``indeterminate`` + reason) instead of holding a guess.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from genmed.patient.model import Issue, Patient

SCHEMA_VERSION = "genmed.plan/1"


class Evidence(BaseModel):
    kind: Literal["guideline", "label", "trial", "model", "knowledge", "algorithm", "genotype"]
    source: str  # citation or name
    version: str | None = None
    url: str | None = None
    detail: str | None = None


class Flag(BaseModel):
    severity: Literal["block", "warning", "info"]
    code: str  # pgx-avoid, pgx-dose, allergy, contraindication, interaction, population, missing-data, ...
    message: str
    source: str | None = None


class GeneResult(BaseModel):
    """One gene for this patient, as the PGx engine called it."""

    gene: str
    status: str  # called / ambiguous / outside_call / not_called / unavailable
    diplotype: str | None = None
    phenotype: str | None = None
    activity_score: str | None = None
    reason: str | None = None
    origin: str = "VCF"  # VCF / outside call (record)
    missing_positions: int = 0
    warnings: list[str] = Field(default_factory=list)
    source: str | None = None


class DrugAdvice(BaseModel):
    """The PGx guideline advice for one drug (one guideline row), or an explicit absence of advice."""

    drug: str
    action: Literal["avoid", "adjust-dose", "standard", "no-guideline", "no-recommendation", "indeterminate"]
    text: str
    source: str | None = None  # CPIC / DPWG
    guideline: str | None = None
    guideline_version: str | None = None
    url: str | None = None
    strength: str | None = None
    population: str | None = None
    genes: dict[str, str] = Field(default_factory=dict)
    diplotypes: dict[str, str] = Field(default_factory=dict)
    phenoconversion: list[str] = Field(default_factory=list)
    pmids: list[str] = Field(default_factory=list)
    knowledge_version: str | None = None


class DoseEstimate(BaseModel):
    drug: str
    status: Literal["estimated", "indeterminate"]
    text: str
    weekly_mg: float | None = None
    daily_mg: float | None = None
    range_weekly_mg: tuple[float, float] | None = None
    algorithm: str | None = None
    citation: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class Curve(BaseModel):
    arm: str
    label: str
    times: list[float]
    survival: list[float]
    lower: list[float]
    upper: list[float]
    rmst: float
    rmst_interval: tuple[float, float]
    event_free_at_horizon: float
    event_free_interval: tuple[float, float]
    median_time: float | None = None


class ResponsePrediction(BaseModel):
    """Predicted response under this option (digital twin), or why there is none."""

    status: Literal["predicted", "outside-population", "indeterminate", "no-model"]
    reason: str | None = None
    trial: str | None = None
    trial_title: str | None = None
    arm: str | None = None
    comparator: str | None = None
    endpoint: str | None = None
    time_unit: str | None = None
    horizon: float | None = None
    curves: list[Curve] = Field(default_factory=list)
    rmst_gain: float | None = None  # arm vs comparator, trial time unit
    rmst_gain_interval: tuple[float, float] | None = None
    p_benefit: float | None = None
    hazard_ratio: float | None = None
    hazard_ratio_interval: tuple[float, float] | None = None
    flags: list[str] = Field(default_factory=list)
    covariates: dict[str, Any] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list)
    model: dict[str, Any] = Field(default_factory=dict)


class Option(BaseModel):
    id: str
    label: str
    condition: str
    drugs: list[str]
    dose: str  # regimen text after PGx adjustment
    standard_dose: str
    tier: int
    rank: int = 0
    status: Literal["recommended", "consider", "use-with-caution", "avoid", "not-applicable"] = "consider"
    rationale: list[str] = Field(default_factory=list)
    pgx: list[DrugAdvice] = Field(default_factory=list)
    dose_estimates: list[DoseEstimate] = Field(default_factory=list)
    response: ResponsePrediction | None = None
    flags: list[Flag] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    uncertainty: list[str] = Field(default_factory=list)


class ConditionPlan(BaseModel):
    condition: str
    label: str
    source_codes: list[str] = Field(default_factory=list)
    options: list[Option] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class MedicationReview(BaseModel):
    medication: str
    drug: str | None
    dose: str | None = None
    codes: list[str] = Field(default_factory=list)
    action: Literal["continue", "review", "stop-or-switch", "adjust-dose", "unknown"] = "continue"
    advice: list[DrugAdvice] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)


class Capability(BaseModel):
    name: str
    available: bool
    version: str | None = None
    reason: str | None = None


class DiagnosticFinding(BaseModel):
    """What the imaging or omics capability found in one of the record's attachments (research use, with the model
    and its validation metric). ``kind`` "unavailable" carries the reason nothing was computed."""

    capability: Literal["imaging", "omics"]
    kind: str  # image_classification | genomic_risk | perturbation_response | unavailable
    title: str
    summary: str
    attachment: str  # file name only (paths can carry identifiers)
    flags: list[str] = Field(default_factory=list)
    provenance: dict[str, Any] = Field(default_factory=dict)
    label: str = "Research use only: not validated for clinical decisions."
    figures: dict[str, str] = Field(default_factory=dict)  # caption -> data: URI (saliency, anomaly map)
    fhir: dict[str, Any] | None = None  # a preliminary FHIR Observation where the capability writes one


class TreatmentPlan(BaseModel):
    schema_version: str = SCHEMA_VERSION
    plan_id: str
    created_at: str
    subject: str  # pseudonym only
    record: Patient  # de-identified copy of the record the plan was made from (every coded item)
    summary: list[str] = Field(default_factory=list)
    genes: list[GeneResult] = Field(default_factory=list)
    medication_review: list[MedicationReview] = Field(default_factory=list)
    conditions: list[ConditionPlan] = Field(default_factory=list)
    unplanned_conditions: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)  # what the plan could not use, and what that leaves open
    issues: list[Issue] = Field(default_factory=list)
    limitations: list[str] = Field(default_factory=list)
    capabilities: list[Capability] = Field(default_factory=list)
    knowledge: dict[str, str] = Field(default_factory=dict)  # name -> version
    evidence: list[Evidence] = Field(default_factory=list)  # every source cited anywhere in the plan
    findings: list[DiagnosticFinding] = Field(default_factory=list)  # imaging and omics, from the attachments

    @property
    def partial(self) -> bool:
        return bool(self.missing) or any(not c.available for c in self.capabilities)

    def option(self, option_id: str) -> Option:
        for c in self.conditions:
            for o in c.options:
                if o.id == option_id:
                    return o
        raise KeyError(option_id)

    def review(self, drug: str) -> MedicationReview:
        for m in self.medication_review:
            if m.drug == drug:
                return m
        raise KeyError(drug)
