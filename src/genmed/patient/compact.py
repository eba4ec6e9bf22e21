"""The compact YAML/JSON record, for records written by hand (and the source of the bundled examples).

Items name a genmed concept (``drug: paroxetine``, ``key: weight_kg``) or carry a code (``code: "RxNorm 32937"``);
both become the same coded :class:`~genmed.patient.model.Patient` as a FHIR bundle would.
"""

from __future__ import annotations

import datetime as dt
import json
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from genmed.core.errors import InputError
from genmed.core.logging import get_logger, pseudonym, register_identifier
from genmed.patient.codes import ICD10, LOCAL, LOINC, RXNORM, SNOMED, code_map
from genmed.patient.fhir import UNIT_FACTORS
from genmed.patient.model import (
    Allergy,
    Code,
    Condition,
    GenotypeObservation,
    Identity,
    Issue,
    Medication,
    Observation,
    Patient,
)

log = get_logger("genmed.patient")
SYSTEM_ALIASES = {"rxnorm": RXNORM, "snomed": SNOMED, "sct": SNOMED, "icd-10": ICD10, "icd10": ICD10, "loinc": LOINC,
                  "local": LOCAL}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CPatient(_Strict):
    id: str
    name: str | None = None
    mrn: str | None = None
    birth_date: date | None = None
    sex: Literal["female", "male", "other", "unknown"] = "unknown"
    race: str | None = None
    ethnicity: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    deceased: bool = False


class CCondition(_Strict):
    key: str | None = None
    code: str | None = None  # "SNOMED 254837009" / "ICD-10 C50.911"
    text: str | None = None
    status: str | None = "active"
    onset: date | None = None
    stage: str | None = None


class CMedication(_Strict):
    drug: str | None = None
    code: str | None = None
    text: str | None = None
    dose: str | None = None
    status: str | None = "active"


class CObservation(_Strict):
    key: str | None = None
    code: str | None = None
    value: float | str | bool | None = None
    unit: str | None = None
    date: dt.date | None = None
    text: str | None = None


class CAllergy(_Strict):
    drug: str | None = None
    code: str | None = None
    text: str | None = None
    reaction: str | None = None
    criticality: Literal["low", "high", "unable-to-assess"] | None = None


class CGenotype(_Strict):
    gene: str
    diplotype: str | None = None
    phenotype: str | None = None
    source: str | None = None


class CompactRecord(_Strict):
    patient: CPatient
    record_date: date | None = None
    conditions: list[CCondition] = Field(default_factory=list)
    medications: list[CMedication] = Field(default_factory=list)
    observations: list[CObservation] = Field(default_factory=list)
    allergies: list[CAllergy] = Field(default_factory=list)
    genotypes: list[CGenotype] = Field(default_factory=list)
    vcf: str | None = None
    vcf_sample: str | None = None
    images: list[str] = Field(default_factory=list)
    expression: list[str] = Field(default_factory=list)


def _parse_code(text: str, where: str) -> Code:
    parts = text.strip().split(None, 1)
    if len(parts) != 2 or parts[0].lower() not in SYSTEM_ALIASES:
        raise InputError(f"{where}: code {text!r} must be '<system> <code>' with system one of "
                         f"{', '.join(sorted({k.upper() for k in SYSTEM_ALIASES}))}")
    return Code(system=SYSTEM_ALIASES[parts[0].lower()], code=parts[1].strip())


def read_compact(path: str | Path) -> Patient:
    """Read the compact YAML/JSON record; schema problems raise :class:`InputError` with the field path."""
    path = Path(path)
    src = str(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError("file not found", source=src) from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}".replace("\n", " "),
                         source=src) from None
    if not isinstance(raw, dict):
        raise InputError("expected a mapping with a 'patient' section", source=src)
    try:
        rec = CompactRecord.model_validate(raw)
    except ValidationError as exc:
        errs = ["".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".") + f": {e['msg']}"
                for e in exc.errors()[:10]]
        raise InputError("invalid compact record: " + "; ".join(errs), source=src) from None
    try:
        return _to_patient(rec, path)
    except InputError as exc:
        raise InputError(exc.message, source=src, hint=exc.hint) from None


def _to_patient(rec: CompactRecord, path: Path) -> Patient:
    cmap = code_map()
    issues: list[Issue] = []
    p = rec.patient
    for v in (p.id, p.name, p.mrn, p.phone, p.email, p.address, p.birth_date.isoformat() if p.birth_date else None):
        register_identifier(v)
    record_date = rec.record_date or date.today()
    age = round((record_date - p.birth_date).days / 365.25, 1) if p.birth_date else None
    patient = Patient(
        source_id=p.id, pseudonym=pseudonym(p.id), sex=p.sex, age=age, race=p.race, ethnicity=p.ethnicity, record_date=record_date,
        source=str(path),
        source_format="compact",
        identity=Identity(name=p.name, mrn=p.mrn, birth_date=p.birth_date, address=p.address, phone=p.phone, email=p.email),
    )
    if p.deceased:
        issues.append(Issue(severity="warning", where="patient.deceased", message="patient is recorded as deceased"))
    for i, c in enumerate(rec.conditions):
        where = f"conditions[{i}]"
        codes = [_parse_code(c.code, where)] if c.code else []
        if c.key and c.key not in cmap.conditions:
            raise InputError(f"{where}.key: unknown condition {c.key!r}", hint="use a code, or one of: "
                             + ", ".join(sorted(cmap.conditions)))
        key = c.key or cmap.condition(codes)
        if not codes and key:
            codes = cmap.condition_codes(key)
        if key is None:
            issues.append(Issue(severity="warning", where=where, message=f"unknown condition code {c.code or c.text!r}; "
                                "kept, not used for options"))
        patient.conditions.append(Condition(key=key, codes=codes, text=c.text or cmap.condition_label(key) if key else c.text,
                                            clinical_status=c.status, onset=c.onset, stage=c.stage, source_id=where))
    for i, m in enumerate(rec.medications):
        where = f"medications[{i}]"
        codes = [_parse_code(m.code, where)] if m.code else []
        key = cmap.drug(codes) if codes else None
        if m.drug:
            key = cmap.drug_by_name(m.drug)
            if key is None:
                issues.append(Issue(severity="warning", where=where, message=f"unknown drug {m.drug!r}; not checked for "
                                    "interactions or pharmacogenomics"))
            elif not codes:
                codes = [cmap.rxnorm(key)]
        elif key is None:
            issues.append(Issue(severity="warning", where=where, message=f"unknown drug code {m.code!r}; not checked"))
        patient.medications.append(Medication(key=key, codes=codes, text=m.text or m.drug, dose=m.dose, status=m.status,
                                              source_id=where))
    for i, o in enumerate(rec.observations):
        where = f"observations[{i}]"
        codes = [_parse_code(o.code, where)] if o.code else []
        key = o.key if o.key in cmap.observations else cmap.observation(codes)
        if o.key and o.key not in cmap.observations:
            raise InputError(f"{where}.key: unknown observation {o.key!r}", hint="use a LOINC code, or one of: "
                             + ", ".join(sorted(cmap.observations)))
        value, unit = o.value, o.unit
        if key:
            if not codes:
                codes = [cmap.observation_code(key)]
            canon = cmap.unit(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                unit = unit or canon
                factor = 1.0 if unit == canon else UNIT_FACTORS.get((key, unit))
                if factor is None:
                    issues.append(Issue(severity="error", where=f"{where}.unit",
                                        message=f"{key}: unit {unit!r} not understood (expected {canon!r}); value not used"))
                    value = None
                else:
                    value, unit = round(float(value) * factor, 4), canon
        else:
            issues.append(Issue(severity="warning", where=where, message=f"unknown observation code {o.code!r}; kept, not used"))
        patient.observations.append(Observation(key=key, codes=codes, value=value, unit=unit, effective=o.date, text=o.text,
                                                source_id=where))
    for i, a in enumerate(rec.allergies):
        where = f"allergies[{i}]"
        codes = [_parse_code(a.code, where)] if a.code else []
        key = cmap.drug_by_name(a.drug) if a.drug else cmap.drug(codes)
        if key and not codes:
            codes = [cmap.rxnorm(key)]
        if key is None:
            issues.append(Issue(severity="warning", where=where, message=f"allergy to unknown substance {a.drug or a.code!r}"))
        patient.allergies.append(Allergy(key=key, codes=codes, text=a.text or a.drug, reaction=a.reaction,
                                         criticality=a.criticality, source_id=where))
    for i, g in enumerate(rec.genotypes):
        patient.genotypes.append(GenotypeObservation(key=g.gene, gene=g.gene, diplotype=g.diplotype, phenotype=g.phenotype,
                                                     text=g.source, source_id=f"genotypes[{i}]"))
    if rec.vcf:
        patient.vcf = (path.parent / rec.vcf) if not Path(rec.vcf).is_absolute() else Path(rec.vcf)
        patient.vcf_sample = rec.vcf_sample
        register_identifier(rec.vcf_sample, prefix="sample")
    patient.images = [path.parent / i for i in rec.images]
    patient.expression = [path.parent / e for e in rec.expression]
    patient.issues = issues
    log.info("read compact record for %s", patient.pseudonym)
    return patient
