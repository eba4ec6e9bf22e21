"""The patient record genmed plans for: coded items with their source, identity kept apart, issues kept visible.

Identity (name, MRN, birth date, contact) lives in :class:`Identity` so that every artifact except the HTML report
can be written from :meth:`Patient.deidentified` without remembering which fields are identifying.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

SYSTEMS = {
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://snomed.info/sct": "SNOMED CT",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://loinc.org": "LOINC",
    "http://unitsofmeasure.org": "UCUM",
}


class Code(BaseModel):
    """One coding (system URI + code). ``display`` is informational only; matching uses system + code."""

    system: str
    code: str
    display: str | None = None

    @property
    def system_name(self) -> str:
        return SYSTEMS.get(self.system, self.system)

    def __str__(self) -> str:
        return f"{self.system_name} {self.code}" + (f" ({self.display})" if self.display else "")


class Issue(BaseModel):
    """Something the reader could not use as-is. Never silently dropped: it is shown in the plan and report."""

    severity: Literal["error", "warning", "info"]
    where: str  # path in the input, e.g. "Bundle.entry[3].resource.code"
    message: str


class Item(BaseModel):
    """A coded item of the record. ``key`` is genmed's concept (e.g. ``"tamoxifen"``) or None when unmapped."""

    key: str | None = None
    codes: list[Code] = Field(default_factory=list)
    text: str | None = None
    source_id: str | None = None  # "Condition/abc" in the input

    @property
    def label(self) -> str:
        if self.text:
            return self.text
        for c in self.codes:
            if c.display:
                return c.display
        return self.key or (str(self.codes[0]) if self.codes else "unnamed item")


class Condition(Item):
    clinical_status: str | None = None  # active / resolved / ...
    onset: date | None = None
    stage: str | None = None


class Medication(Item):
    status: str | None = None  # active / completed / stopped ...
    dose: str | None = None
    kind: Literal["statement", "request"] = "statement"

    @property
    def is_current(self) -> bool:
        return self.status in (None, "active", "intended", "on-hold", "draft")


class Observation(Item):
    value: float | str | bool | None = None
    unit: str | None = None
    effective: date | None = None


class Allergy(Item):
    criticality: str | None = None
    reaction: str | None = None


class GenotypeObservation(Item):
    """A genotype/phenotype reported outside the VCF (a lab's CYP2D6 or HLA-B result), Genomics Reporting IG style."""

    gene: str
    diplotype: str | None = None  # "*4/*4", "*57:01 positive"
    phenotype: str | None = None  # "Poor Metabolizer"


class Identity(BaseModel):
    """Direct identifiers (HIPAA Safe Harbor): only the HTML report may show them, and ``--deidentify`` drops them."""

    name: str | None = None
    mrn: str | None = None
    birth_date: date | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None

    def values(self) -> list[str]:
        out = [v for v in (self.name, self.mrn, self.address, self.phone, self.email) if v]
        if self.birth_date:
            out.append(self.birth_date.isoformat())
        return out


class Patient(BaseModel):
    """One patient. ``pseudonym`` is the only identifier that may reach logs, run records, plan.json, careplan.json."""

    source_id: str | None = None  # id of the Patient resource / record (identifying: not logged)
    pseudonym: str
    identity: Identity = Field(default_factory=Identity)
    sex: Literal["female", "male", "other", "unknown"] = "unknown"
    age: float | None = None  # years at the record date; Safe Harbor caps reporting at 90
    race: str | None = None  # as recorded (used only where a validated model needs it, e.g. IWPC)
    ethnicity: str | None = None
    record_date: date | None = None  # the date the record describes (bundle timestamp / record_date)
    conditions: list[Condition] = Field(default_factory=list)
    medications: list[Medication] = Field(default_factory=list)
    observations: list[Observation] = Field(default_factory=list)
    allergies: list[Allergy] = Field(default_factory=list)
    genotypes: list[GenotypeObservation] = Field(default_factory=list)
    vcf: Path | None = None
    vcf_sample: str | None = None
    images: list[Path] = Field(default_factory=list)  # medical images (DICOM, NIfTI, PNG/JPEG) for genmed.imaging
    expression: list[Path] = Field(default_factory=list)  # bulk CSV/TSV or single-cell .h5ad for genmed.omics
    issues: list[Issue] = Field(default_factory=list)
    source: str = ""  # the file read (path only)
    source_format: str = ""  # "fhir-r4" / "compact"

    # --- queries -------------------------------------------------------------------------------------------
    def has_condition(self, *keys: str) -> bool:
        return any(c.key in keys and c.clinical_status not in ("resolved", "inactive", "refuted") for c in self.conditions)

    def history_of(self, *keys: str) -> bool:
        """Any record of the condition, resolved or not (prior stroke still contraindicates prasugrel)."""
        return any(c.key in keys and c.clinical_status not in ("refuted", "entered-in-error") for c in self.conditions)

    def current_medications(self) -> list[Medication]:
        return [m for m in self.medications if m.is_current]

    def observations_for(self, key: str) -> list[Observation]:
        return [o for o in self.observations if o.key == key]

    def value(self, key: str) -> tuple[float | str | bool | None, str | None]:
        """Latest value of an observation, or ``(None, reason)`` when absent or conflicting.

        Two different values with the same (or no) date are a conflict: genmed does not pick one.
        """
        obs = [o for o in self.observations_for(key) if o.value is not None]
        if not obs:
            return None, f"no {key.replace('_', ' ')} in the record"
        dated = sorted(obs, key=lambda o: o.effective or date.min, reverse=True)
        top = dated[0]
        same = [o for o in dated if o.effective == top.effective]
        values = {round(o.value, 6) if isinstance(o.value, float) else o.value for o in same}
        if len(values) > 1:
            shown = ", ".join(f"{o.value}{' ' + o.unit if o.unit else ''} ({o.source_id or '?'})" for o in same)
            when = f"on {top.effective}" if top.effective else "without dates"
            return None, f"conflicting {key.replace('_', ' ')} values {when}: {shown}"
        return top.value, None

    def deidentified(self) -> Patient:
        """Copy without HIPAA Safe Harbor identifiers: no identity, no dates (onset/observation/record), ages over
        89 aggregated to 90, file paths reduced to file names, no VCF sample ID. Codes and values are kept."""
        age = None if self.age is None else float(min(int(self.age), 90))
        out = self.model_copy(deep=True)
        out.identity = Identity()
        out.source_id = None
        out.age = age
        out.record_date = None
        out.vcf_sample = None
        # free text and file names can hold dates, phone numbers, MRNs or the names the reader registered
        from genmed.core.logging import scrub, scrub_file_name

        out.vcf = Path(scrub_file_name(self.vcf.name)) if self.vcf else None
        out.images = [Path(scrub_file_name(p.name)) for p in self.images]
        out.expression = [Path(scrub_file_name(p.name)) for p in self.expression]
        out.source = scrub_file_name(Path(self.source).name) if self.source else ""
        for c in out.conditions:
            c.onset = None
        for o in out.observations:
            o.effective = None

        for item in (*out.conditions, *out.medications, *out.observations, *out.allergies, *out.genotypes):
            if item.text:
                item.text = scrub(item.text)
        for m in out.medications:
            m.dose = scrub(m.dose) if m.dose else m.dose
        for a in out.allergies:
            a.reaction = scrub(a.reaction) if a.reaction else a.reaction
        for o in out.observations:
            if isinstance(o.value, str):
                o.value = scrub(o.value)
        for i in out.issues:
            i.message = scrub(i.message)
        return out
