"""FHIR R4 Bundle <-> :class:`Patient`, via ``fhir.resources.R4B`` (the package's R4-shaped models).

Reading is entry by entry so that one malformed resource in a bulk export does not lose the rest: a malformed
Patient is fatal, any other malformed entry is skipped and reported with its path (``strict=True`` refuses
instead). References are resolved by ``fullUrl`` and ``Type/id``; ``medicationReference`` is followed to the
Medication entry (or a contained one). Every coding is kept, mapped or not.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

from genmed.core.errors import InputError
from genmed.core.logging import get_logger, pseudonym, register_identifier
from genmed.patient.codes import HGNC, LOINC, RXNORM, SNOMED, code_map
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

USED = {
    "Patient", "Condition", "MedicationStatement", "MedicationRequest", "Medication", "Observation",
    "AllergyIntolerance", "DocumentReference", "Media", "Procedure",
}
PSEUDONYM_SYSTEM = "https://genmed.dev/fhir/pseudonym"
GENOMICS_CODES = {"84413-4", "69548-6", "53040-2", "81247-9", "48018-6"}
IMAGE_SUFFIXES = (".dcm", ".nii", ".nii.gz", ".png", ".jpg", ".jpeg")
IMAGE_TYPES = {".dcm": "application/dicom", ".nii": "application/octet-stream", ".nii.gz": "application/gzip",
               ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
# expression attachments for genmed.omics: bulk profiles (CSV/TSV) and single cells (AnnData .h5ad)
EXPRESSION_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".h5ad")
EXPRESSION_TYPES = {".csv": "text/csv", ".tsv": "text/tab-separated-values", ".csv.gz": "application/gzip",
                    ".tsv.gz": "application/gzip", ".h5ad": "application/x-hdf5"}

# unit conversions to the canonical unit of each observation key: {(key, unit): factor}
UNIT_FACTORS: dict[tuple[str, str], float] = {
    ("weight_kg", "kg"): 1.0, ("weight_kg", "g"): 0.001, ("weight_kg", "[lb_av]"): 0.45359237,
    ("weight_kg", "lb"): 0.45359237, ("weight_kg", "lbs"): 0.45359237,
    ("height_cm", "cm"): 1.0, ("height_cm", "m"): 100.0, ("height_cm", "[in_i]"): 2.54, ("height_cm", "in"): 2.54,
    ("height_cm", "mm"): 0.1,
    ("creatinine_mg_dl", "mg/dL"): 1.0, ("creatinine_mg_dl", "umol/L"): 1 / 88.42,
    ("creatinine_mg_dl", "µmol/L"): 1 / 88.42,
    ("tumor_size_mm", "mm"): 1.0, ("tumor_size_mm", "cm"): 10.0,
    ("cd4_count", "cells/uL"): 1.0, ("cd4_count", "/uL"): 1.0, ("cd4_count", "{cells}/uL"): 1.0,
    ("cd4_count", "10*6/L"): 1.0, ("cd4_count", "cells/mm3"): 1.0, ("cd4_count", "/mm3"): 1.0,
}


def _codes(cc: Any) -> list[Code]:
    if cc is None:
        return []
    out = []
    for c in cc.coding or []:
        if c.code:
            out.append(Code(system=str(c.system or ""), code=str(c.code), display=c.display))
    return out


def _date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _ref_keys(resource: dict[str, Any], full_url: str | None) -> list[str]:
    keys = []
    if full_url:
        keys.append(full_url)
    if resource.get("id"):
        keys.append(f"{resource['resourceType']}/{resource['id']}")
    return keys


class _Reader:
    def __init__(self, source: str, strict: bool):
        self.source = source
        self.strict = strict
        self.issues: list[Issue] = []
        self.cmap = code_map()
        self.unknown_obs: Counter[str] = Counter()

    def issue(self, severity: str, where: str, message: str) -> None:
        self.issues.append(Issue(severity=severity, where=where, message=message))

    # -- validation ----------------------------------------------------------------------------------------
    def validate(self, raw: dict[str, Any], where: str):
        from fhir.resources.R4B import get_fhir_model_class
        from pydantic import ValidationError

        rt = raw.get("resourceType")
        try:
            cls = get_fhir_model_class(str(rt))
        except (KeyError, ValueError, AttributeError, ImportError):
            return None, [f"{where}.resourceType: unknown FHIR R4 resource type {rt!r}"]
        try:
            return cls.model_validate(raw), []
        except ValidationError as exc:
            errs = []
            for e in exc.errors()[:20]:
                loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"])
                errs.append(f"{where}{loc}: {e['msg']}")
            return None, errs


def read_fhir_bundle(path: str | Path, *, strict: bool = False, data: dict[str, Any] | None = None) -> Patient:
    """Read a FHIR R4 Bundle (JSON) into a :class:`Patient`.

    Raises :class:`InputError` naming the file for unreadable JSON, a non-Bundle, no/several patients, an invalid
    Patient resource, or (``strict``) any invalid entry; otherwise skipped entries appear in ``patient.issues``.
    """
    path = Path(path)
    src = str(path)
    if data is None:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise InputError("file not found", source=src) from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"not valid JSON ({exc})", source=src, hint="expected a FHIR R4 Bundle in JSON") from None
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        got = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise InputError(f"expected a FHIR Bundle, got resourceType {got!r}", source=src)
    entries = data.get("entry") or []
    if not isinstance(entries, list):
        raise InputError("Bundle.entry is not a list", source=src)

    r = _Reader(src, strict)
    resources: list[tuple[int, dict[str, Any], Any]] = []  # (index, raw, model)
    index: dict[str, Any] = {}
    errors: list[str] = []
    skipped = Counter()
    for i, entry in enumerate(entries):
        where = f"Bundle.entry[{i}].resource"
        raw = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(raw, dict):
            if isinstance(entry, dict) and entry.get("request", {}).get("method") == "DELETE":
                continue
            r.issue("warning", f"Bundle.entry[{i}]", "entry has no resource; skipped")
            continue
        rt = raw.get("resourceType")
        if rt not in USED:
            skipped[str(rt)] += 1
            continue
        model, errs = r.validate(raw, where)
        if errs:
            if rt == "Patient":
                raise InputError("invalid Patient resource: " + "; ".join(errs), source=src)
            errors.extend(errs)
            for e in errs:
                r.issue("error", e.split(": ", 1)[0], f"invalid {rt}, entry skipped: {e.split(': ', 1)[1]}")
            continue
        resources.append((i, raw, model))
        for k in _ref_keys(raw, entry.get("fullUrl")):
            index[k] = model
    if errors and strict:
        raise InputError(f"{len(errors)} schema error(s): " + "; ".join(errors[:10]), source=src)
    for rt, n in sorted(skipped.items()):
        r.issue("info", "Bundle.entry", f"{n} {rt} resource(s) not used by the plan")

    patients = [(i, raw, m) for i, raw, m in resources if raw["resourceType"] == "Patient"]
    if not patients:
        raise InputError("bundle holds no Patient resource", source=src)
    if len(patients) > 1:
        raise InputError(f"bundle holds {len(patients)} Patient resources; genmed plans for one patient", source=src,
                         hint="split the bundle per patient")
    _, praw, pmodel = patients[0]
    pkeys = set(_ref_keys(praw, next((e.get("fullUrl") for e in entries if isinstance(e, dict) and e.get("resource") is praw), None)))
    record_date = _date(data.get("timestamp")) or date.today()
    patient = _patient(pmodel, src, record_date)

    for i, raw, model in resources:
        rt = raw["resourceType"]
        where = f"Bundle.entry[{i}]"
        subj = getattr(model, "subject", None) or getattr(model, "patient", None)
        ref = getattr(subj, "reference", None) if subj is not None else None
        if ref and pkeys and ref not in pkeys and not any(ref.endswith(k.split("/", 1)[-1]) for k in pkeys):
            r.issue("warning", f"{where}.resource.subject", f"{rt} refers to {ref!r}, not this patient; skipped")
            continue
        if rt == "Condition":
            _condition(r, model, where, patient)
        elif rt == "Procedure":
            _procedure(r, model, where, patient)
        elif rt in ("MedicationStatement", "MedicationRequest"):
            _medication(r, model, where, patient, index)
        elif rt == "Observation":
            _observation(r, model, where, patient)
        elif rt == "AllergyIntolerance":
            _allergy(r, model, where, patient)
        elif rt in ("DocumentReference", "Media"):
            _attachment(r, model, where, patient, path.parent)
    for codes, n in sorted(r.unknown_obs.items()):
        r.issue("warning", "Bundle.entry[].resource.code (Observation)",
                f"unknown observation code {codes} ({n} observation{'s' if n > 1 else ''}); kept, not used")
    patient.issues = patient.issues + r.issues
    log.info("read FHIR bundle for %s: %d conditions, %d medications, %d observations, %d issues", patient.pseudonym,
             len(patient.conditions), len(patient.medications), len(patient.observations), len(patient.issues))
    return patient


def _patient(m: Any, src: str, record_date: date) -> Patient:
    name = None
    if m.name:
        n = m.name[0]
        name = n.text or " ".join([*(n.given or []), n.family or ""]).strip() or None
    mrn = None
    existing = None  # a record genmed already de-identified carries its pseudonym: keep it, it is not PHI
    for ident in m.identifier or []:
        if ident.system == PSEUDONYM_SYSTEM:
            existing = ident.value
            continue
        codes = {c.code for c in (ident.type.coding if ident.type and ident.type.coding else [])}
        if "MR" in codes or mrn is None:
            mrn = ident.value
    phone = next((t.value for t in (m.telecom or []) if t.system == "phone"), None)
    email = next((t.value for t in (m.telecom or []) if t.system == "email"), None)
    address = None
    if m.address:
        a = m.address[0]
        address = a.text or ", ".join(x for x in [*(a.line or []), a.city, a.state, a.postalCode] if x) or None
    birth = _date(m.birthDate)
    ident_key = m.id or mrn or name or src
    for v in (name, mrn, m.id if m.id != existing else None, phone, email, address,
              birth.isoformat() if birth else None):
        register_identifier(v)
    age = None
    if birth:
        age = round((record_date - birth).days / 365.25, 1)
    race = None
    for ext in m.extension or []:
        if ext.url and ext.url.endswith("us-core-race"):
            for sub in ext.extension or []:
                if sub.url == "text" and sub.valueString:
                    race = sub.valueString
                elif sub.url == "ombCategory" and sub.valueCoding and not race:
                    race = sub.valueCoding.display
    ethnicity = None
    for ext in m.extension or []:
        if ext.url and ext.url.endswith("us-core-ethnicity"):
            for sub in ext.extension or []:
                if sub.url == "text" and sub.valueString:
                    ethnicity = sub.valueString
                elif sub.url == "ombCategory" and sub.valueCoding and not ethnicity:
                    ethnicity = sub.valueCoding.display
    sex = m.gender if m.gender in ("female", "male", "other", "unknown") else "unknown"
    p = Patient(
        source_id=m.id, pseudonym=existing or pseudonym(ident_key), sex=sex, age=age, race=race, ethnicity=ethnicity,
        record_date=record_date, source=src,
        source_format="fhir-r4",
        identity=Identity(name=name, mrn=mrn, birth_date=birth, address=address, phone=phone, email=email),
    )
    if m.deceasedBoolean or m.deceasedDateTime:
        p.issues.append(Issue(severity="warning", where="Patient.deceased", message="patient is recorded as deceased"))
    return p


def _condition(r: _Reader, m: Any, where: str, patient: Patient) -> None:
    codes = _codes(m.code)
    key = r.cmap.condition(codes)
    status = None
    if m.clinicalStatus and m.clinicalStatus.coding:
        status = m.clinicalStatus.coding[0].code
    if m.verificationStatus and m.verificationStatus.coding and m.verificationStatus.coding[0].code in (
            "refuted", "entered-in-error"):
        r.issue("info", where, f"condition {codes[0] if codes else ''} is {m.verificationStatus.coding[0].code}; ignored")
        return
    stage = None
    for s in m.stage or []:
        if s.summary:
            stage = s.summary.text or (s.summary.coding[0].display if s.summary.coding else None)
    cond = Condition(key=key, codes=codes, text=m.code.text if m.code else None, source_id=f"Condition/{m.id}" if m.id else None,
                     clinical_status=status, onset=_date(m.onsetDateTime), stage=stage)
    if key is None:
        r.issue("warning", f"{where}.resource.code", f"unknown condition code(s) {', '.join(map(str, codes)) or '(none)'}; "
                "kept in the record, not used for options")
    patient.conditions.append(cond)


def _procedure(r: _Reader, m: Any, where: str, patient: Patient) -> None:
    codes = _codes(m.code)
    key = r.cmap.condition(codes)
    if key is None:
        r.issue("info", f"{where}.resource.code", f"procedure {', '.join(map(str, codes)) or '(uncoded)'} not used by the plan")
        return
    patient.conditions.append(Condition(key=key, codes=codes, text=m.code.text if m.code else None,
                                        source_id=f"Procedure/{m.id}" if m.id else None, clinical_status="active",
                                        onset=_date(getattr(m, "performedDateTime", None))))


def _medication(r: _Reader, m: Any, where: str, patient: Patient, index: dict[str, Any]) -> None:
    rt = m.get_resource_type()
    cc = m.medicationCodeableConcept
    if cc is None and m.medicationReference is not None:
        ref = m.medicationReference.reference or ""
        target = None
        if ref.startswith("#"):
            target = next((c for c in (m.contained or []) if getattr(c, "id", None) == ref[1:]), None)
        else:
            target = index.get(ref)
        if target is None:
            r.issue("error", f"{where}.resource.medicationReference",
                    f"reference {ref!r} does not resolve inside the bundle; medication skipped")
            return
        cc = target.code
    codes = _codes(cc)
    key = r.cmap.drug(codes)
    text = cc.text if cc is not None else None
    if key is None:
        named = r.cmap.drug_in_text(" ".join(filter(None, [text, *(c.display or "" for c in codes)])))
        if named:
            key = named
            r.issue("info", f"{where}.resource.medication", f"drug code(s) {', '.join(map(str, codes)) or '(none)'} "
                    f"not in genmed's ingredient map; identified as {named!r} from its name")
    dose = None
    dosages = m.dosage if rt == "MedicationStatement" else m.dosageInstruction
    if dosages:
        d = dosages[0]
        dose = d.text
        if not dose and d.doseAndRate and d.doseAndRate[0].doseQuantity:
            q = d.doseAndRate[0].doseQuantity
            dose = f"{q.value} {q.unit or q.code or ''}".strip()
    med = Medication(key=key, codes=codes, text=text, status=m.status, dose=dose,
                     kind="statement" if rt == "MedicationStatement" else "request",
                     source_id=f"{rt}/{m.id}" if m.id else None)
    if key is None:
        r.issue("warning", f"{where}.resource.medication", f"unknown drug code(s) {', '.join(map(str, codes)) or repr(text)}; "
                "not checked for interactions or pharmacogenomics")
    patient.medications.append(med)


def _value(m: Any) -> tuple[Any, str | None]:
    if m.valueQuantity is not None:
        q = m.valueQuantity
        return (float(q.value) if q.value is not None else None), (q.code or q.unit)
    if m.valueInteger is not None:
        return float(m.valueInteger), None
    if m.valueString is not None:
        return m.valueString, None
    if m.valueBoolean is not None:
        return m.valueBoolean, None
    if m.valueCodeableConcept is not None:
        cc = m.valueCodeableConcept
        return cc.text or (cc.coding[0].display or cc.coding[0].code if cc.coding else None), None
    return None, None


def _observation(r: _Reader, m: Any, where: str, patient: Patient) -> None:
    codes = _codes(m.code)
    if m.status in ("entered-in-error", "cancelled"):
        r.issue("info", where, f"observation with status {m.status}; ignored")
        return
    loincs = {c.code for c in codes if c.system == LOINC}
    comps = {c.code: comp for comp in (m.component or []) for c in _codes(comp.code)}
    if loincs & GENOMICS_CODES or comps.keys() & {"48018-6", "84413-4"}:
        _genotype(r, m, where, patient, codes, comps)
        return
    key = r.cmap.observation(codes)
    value, unit = _value(m)
    if key is None:
        r.unknown_obs[", ".join(map(str, codes)) or "(uncoded)"] += 1
        patient.observations.append(Observation(key=None, codes=codes, value=value, unit=unit,
                                                effective=_date(m.effectiveDateTime), source_id=f"Observation/{m.id}" if m.id else None))
        return
    if isinstance(value, float) and unit is not None:
        canon = r.cmap.unit(key)
        factor = 1.0 if unit == canon else UNIT_FACTORS.get((key, unit))
        if factor is None:
            r.issue("error", f"{where}.resource.valueQuantity", f"{key.replace('_', ' ')}: unit {unit!r} not understood "
                    f"(expected {canon!r}); value not used")
            value = None
        else:
            value, unit = round(value * factor, 4), canon
    patient.observations.append(Observation(key=key, codes=codes, value=value, unit=unit or r.cmap.unit(key) or None,
                                            effective=_date(m.effectiveDateTime), text=m.code.text if m.code else None,
                                            source_id=f"Observation/{m.id}" if m.id else None))


def _genotype(r: _Reader, m: Any, where: str, patient: Patient, codes: list[Code], comps: dict[str, Any]) -> None:
    gene = None
    if "48018-6" in comps:
        cc = comps["48018-6"].valueCodeableConcept
        if cc and cc.coding:
            gene = cc.coding[0].display or cc.coding[0].code
    diplotype = phenotype = None
    value, _ = _value(m)
    loinc = next((c.code for c in codes if c.system == LOINC), None)
    if loinc == "53040-2":
        phenotype = value
    else:
        diplotype = value
    if "84413-4" in comps and comps["84413-4"].valueCodeableConcept:
        cc = comps["84413-4"].valueCodeableConcept
        diplotype = cc.text or (cc.coding[0].display if cc.coding else None)
    if "53040-2" in comps and comps["53040-2"].valueCodeableConcept:
        cc = comps["53040-2"].valueCodeableConcept
        phenotype = cc.text or (cc.coding[0].display if cc.coding else None)
    if not gene:
        text = str(diplotype or "")
        gene = text.split()[0] if " " in text else None
    if not gene:
        r.issue("warning", where, "genotype observation without a gene (component 48018-6); skipped")
        return
    if diplotype and str(diplotype).upper().startswith(gene.upper()):
        diplotype = str(diplotype)[len(gene):].strip()
    patient.genotypes.append(GenotypeObservation(key=gene, gene=gene, diplotype=diplotype, phenotype=phenotype,
                                                 codes=codes, source_id=f"Observation/{m.id}" if m.id else None))


def _allergy(r: _Reader, m: Any, where: str, patient: Patient) -> None:
    codes = _codes(m.code)
    key = r.cmap.drug(codes) or r.cmap.drug_in_text(" ".join(filter(None, [m.code.text if m.code else None,
                                                                             *(c.display or "" for c in codes)])))
    reaction = None
    if m.reaction:
        man = m.reaction[0].manifestation or []
        if man:
            reaction = man[0].text or (man[0].coding[0].display if man[0].coding else None)
    if key is None:
        r.issue("warning", f"{where}.resource.code", f"allergy to unknown substance {', '.join(map(str, codes)) or '(uncoded)'}; "
                "not checked against options")
    patient.allergies.append(Allergy(key=key, codes=codes, text=m.code.text if m.code else None, criticality=m.criticality,
                                     reaction=reaction, source_id=f"AllergyIntolerance/{m.id}" if m.id else None))


def _attachment(r: _Reader, m: Any, where: str, patient: Patient, base: Path) -> None:
    atts = [c.attachment for c in (m.content or [])] if m.get_resource_type() == "DocumentReference" else [m.content]
    for a in atts:
        url = (a.url or "") if a else ""
        if not url:
            continue
        p = Path(url.removeprefix("file://"))
        p = p if p.is_absolute() else base / p
        low = url.lower()
        if low.endswith((".vcf", ".vcf.gz", ".bcf")) or (a.contentType or "").endswith("vcf"):
            if patient.vcf is not None and patient.vcf != p:
                r.issue("warning", where, f"second VCF {url!r} ignored (using {patient.vcf.name})")
                continue
            patient.vcf = p
            sample = next((i.value for i in (m.identifier or []) if i.system and i.system.endswith("vcf-sample")), None)
            patient.vcf_sample = sample
            if sample:
                register_identifier(sample, prefix="sample")
        elif low.endswith(IMAGE_SUFFIXES) or (a.contentType or "").startswith(("image/", "application/dicom")):
            patient.images.append(p)
        elif low.endswith(EXPRESSION_SUFFIXES):
            patient.expression.append(p)


# ---------------------------------------------------------------------------------------------------------------
# writing


def _cc(codes: list[Code], text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [{"system": c.system, "code": c.code, **({"display": c.display} if c.display else {})}
                                      for c in codes]}
    if text:
        out["text"] = text
    return out


def _uid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def patient_resources(patient: Patient, *, subject_ref: str, identified: bool) -> list[dict[str, Any]]:
    """FHIR R4 resources (dicts) for every coded item of the record; identity only when ``identified``."""
    cmap = code_map()
    out: list[dict[str, Any]] = []
    subject = {"reference": subject_ref}
    for i, c in enumerate(patient.conditions):
        res: dict[str, Any] = {"resourceType": "Condition", "id": f"cond-{i}", "subject": subject,
                               "code": _cc(c.codes or cmap.condition_codes(c.key) if c.key else c.codes, c.text)}
        if c.clinical_status:
            res["clinicalStatus"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                                 "code": c.clinical_status}]}
        if c.onset:
            res["onsetDateTime"] = c.onset.isoformat()
        if c.stage:
            res["stage"] = [{"summary": {"text": c.stage}}]
        out.append(res)
    for i, m in enumerate(patient.medications):
        codes = m.codes or ([cmap.rxnorm(m.key)] if m.key else [])
        res = {"resourceType": "MedicationStatement", "id": f"med-{i}", "status": m.status or "active",
               "subject": subject, "medicationCodeableConcept": _cc(codes, m.text or m.key)}
        if m.dose:
            res["dosage"] = [{"text": m.dose}]
        out.append(res)
    for i, o in enumerate(patient.observations):
        codes = o.codes or ([cmap.observation_code(o.key)] if o.key else [])
        res = {"resourceType": "Observation", "id": f"obs-{i}", "status": "final", "subject": subject,
               "code": _cc(codes, o.text)}
        if isinstance(o.value, bool):
            res["valueBoolean"] = o.value
        elif isinstance(o.value, float | int):
            q: dict[str, Any] = {"value": o.value}
            if o.unit:
                q.update({"unit": o.unit, "system": "http://unitsofmeasure.org", "code": o.unit})
            res["valueQuantity"] = q
        elif o.value is not None:
            res["valueString"] = str(o.value)
        if o.effective:
            res["effectiveDateTime"] = o.effective.isoformat()
        out.append(res)
    for i, a in enumerate(patient.allergies):
        codes = a.codes or ([cmap.rxnorm(a.key)] if a.key else [])
        res = {"resourceType": "AllergyIntolerance", "id": f"allergy-{i}", "patient": subject,
               "code": _cc(codes, a.text or a.key)}
        if a.criticality:
            res["criticality"] = a.criticality
        if a.reaction:
            res["reaction"] = [{"manifestation": [{"text": a.reaction}]}]
        out.append(res)
    for i, g in enumerate(patient.genotypes):
        out.append(genotype_observation(g.gene, g.diplotype, g.phenotype, subject_ref=subject_ref, rid=f"gt-{i}"))
    if patient.vcf is not None:
        doc: dict[str, Any] = {"resourceType": "DocumentReference", "id": "vcf", "status": "current", "subject": subject,
                               "content": [{"attachment": {"contentType": "text/vcf", "url": patient.vcf.name}}]}
        if identified and patient.vcf_sample:
            doc["identifier"] = [{"system": "https://genmed.dev/fhir/vcf-sample", "value": patient.vcf_sample}]
        out.append(doc)
    for kind, files, types in (("image", patient.images, IMAGE_TYPES), ("expression", patient.expression,
                                                                       EXPRESSION_TYPES)):
        for i, f in enumerate(files):
            ctype = next((t for suf, t in sorted(types.items(), key=lambda kv: -len(kv[0]))
                          if f.name.lower().endswith(suf)), "application/octet-stream")
            out.append({"resourceType": "DocumentReference", "id": f"{kind}-{i}", "status": "current",
                        "subject": subject, "description": f"{kind} attachment for genmed",
                        "content": [{"attachment": {"contentType": ctype, "url": f.name}}]})
    return out


def genotype_observation(gene: str, diplotype: str | None, phenotype: str | None, *, subject_ref: str,
                         rid: str, derived_from: list[str] | None = None) -> dict[str, Any]:
    """A genotype Observation shaped after the HL7 Genomics Reporting IG (gene studied, genotype, phenotype)."""
    comps: list[dict[str, Any]] = [
        {"code": _cc([Code(system=LOINC, code="48018-6", display="Gene studied [ID]")]),
         "valueCodeableConcept": {"coding": [{"system": HGNC, "code": gene, "display": gene}]}},
    ]
    if diplotype:
        comps.append({"code": _cc([Code(system=LOINC, code="84413-4", display="Genotype display name")]),
                      "valueCodeableConcept": {"text": f"{gene} {diplotype}"}})
    if phenotype:
        comps.append({"code": _cc([Code(system=LOINC, code="53040-2",
                                        display="Genetic variation's effect on drug metabolism")]),
                      "valueCodeableConcept": {"text": phenotype}})
    res: dict[str, Any] = {
        "resourceType": "Observation", "id": rid, "status": "final",
        "meta": {"profile": ["http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/genotype"]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory"}]}],
        "code": _cc([Code(system=LOINC, code="84413-4", display="Genotype display name")]),
        "subject": {"reference": subject_ref},
        "valueCodeableConcept": {"text": f"{gene} {diplotype}" if diplotype else f"{gene} {phenotype or 'indeterminate'}"},
        "component": comps,
    }
    if derived_from:
        res["derivedFrom"] = [{"reference": d} for d in derived_from]
    return res


def to_fhir_bundle(patient: Patient, *, identified: bool = True, timestamp: str | None = None) -> dict[str, Any]:
    """A FHIR R4 collection Bundle of the record (used for the bundled examples and round trips)."""
    pid = patient.source_id or patient.pseudonym
    pres: dict[str, Any] = {"resourceType": "Patient", "id": pid, "gender": patient.sex}
    ident = patient.identity
    if identified:
        if ident.name:
            parts = ident.name.split()
            pres["name"] = [{"given": parts[:-1], "family": parts[-1]}] if len(parts) > 1 else [{"text": ident.name}]
        if ident.mrn:
            pres["identifier"] = [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                        "code": "MR"}]}, "value": ident.mrn}]
        if ident.birth_date:
            pres["birthDate"] = ident.birth_date.isoformat()
        tele = [{"system": s, "value": v} for s, v in (("phone", ident.phone), ("email", ident.email)) if v]
        if tele:
            pres["telecom"] = tele
        if ident.address:
            pres["address"] = [{"text": ident.address}]
    ext = []
    if patient.race:
        ext.append({"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
                    "extension": [{"url": "text", "valueString": patient.race}]})
    if patient.ethnicity:
        ext.append({"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity",
                    "extension": [{"url": "text", "valueString": patient.ethnicity}]})
    if ext:
        pres["extension"] = ext
    entries = [{"fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'genmed:' + pid)}", "resource": pres}]
    subject_ref = entries[0]["fullUrl"]
    for res in patient_resources(patient, subject_ref=subject_ref, identified=identified):
        entries.append({"fullUrl": _uid(), "resource": res})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    if timestamp:
        bundle["timestamp"] = timestamp
    return bundle


def validate_bundle(bundle: dict[str, Any], source: str = "bundle") -> None:
    """Validate a Bundle dict against the R4 (R4B) models; raises :class:`InputError` listing the paths."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        errs = ["Bundle" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]) + f": {e['msg']}"
                for e in exc.errors()[:10]]
        raise InputError("invalid FHIR R4 Bundle: " + "; ".join(errs), source=source) from None


__all__ = ["read_fhir_bundle", "to_fhir_bundle", "patient_resources", "genotype_observation", "validate_bundle",
           "RXNORM", "SNOMED"]
