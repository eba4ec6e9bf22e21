"""careplan.json: the plan as a FHIR R4 Bundle a system can consume.

Contents: the de-identified Patient (pseudonym identifier only), every coded item of the record (so a round trip
keeps them), genotype/phenotype Observations shaped after the HL7 Genomics Reporting IG, one MedicationRequest
(intent ``proposal``, with dosage) per option that is not to be avoided, a CarePlan whose activities rank the
options (avoided ones as ``doNotPerform``), and DetectedIssues for the medication review. Validated against the
R4 models of ``fhir.resources`` (R4B package, R4-compatible for these resources) before it is returned.
"""

from __future__ import annotations

import uuid
from typing import Any

from genmed.patient.codes import RXNORM, code_map
from genmed.patient.fhir import PSEUDONYM_SYSTEM, genotype_observation, patient_resources, validate_bundle
from genmed.plan.model import Option, TreatmentPlan

SEVERITY = {"block": "high", "warning": "moderate", "info": "low"}


def _urn(plan: TreatmentPlan, name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'genmed:{plan.plan_id}:{name}')}"


def _rx(drug: str) -> dict[str, Any]:
    c = code_map().rxnorm(drug)
    return {"system": RXNORM, "code": c.code, "display": drug}


def _med_request(o: Option, subject: str, reasons: list[str]) -> dict[str, Any]:
    computed = [d.text for d in o.dose_estimates if d.status == "estimated"]
    dosage: dict[str, Any] = {"text": o.dose + (" | computed: " + "; ".join(computed) if computed else "")}
    est = next((d for d in o.dose_estimates if d.status == "estimated" and d.daily_mg), None)
    if est:
        dosage["timing"] = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}
        dosage["doseAndRate"] = [{"doseQuantity": {"value": est.daily_mg, "unit": "mg",
                                                   "system": "http://unitsofmeasure.org", "code": "mg"}}]
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest", "id": f"option-{o.id}", "status": "draft", "intent": "proposal",
        "subject": {"reference": subject},
        "medicationCodeableConcept": {"coding": [_rx(d) for d in o.drugs], "text": o.label},
        "dosageInstruction": [dosage],
        "reasonReference": [{"reference": r} for r in reasons],
        "note": [{"text": f"Rank {o.rank} ({o.status}). " + " ".join(o.rationale)}],
    }
    if not o.drugs:
        res["medicationCodeableConcept"] = {"text": o.label}
    return res


def careplan_bundle(plan: TreatmentPlan) -> dict[str, Any]:
    """The FHIR R4 Bundle (dict) for ``plan``; raises ``InputError`` if it would not validate."""
    record = plan.record
    patient_ref = _urn(plan, "patient")
    entries: list[dict[str, Any]] = [{
        "fullUrl": patient_ref,
        "resource": {"resourceType": "Patient", "id": plan.subject, "gender": record.sex,
                     "identifier": [{"system": PSEUDONYM_SYSTEM, "value": plan.subject}]},
    }]
    condition_refs: dict[str, list[str]] = {}
    med_refs: dict[str, str] = {}
    vcf_ref = None
    for res in patient_resources(record, subject_ref=patient_ref, identified=False):
        ref = _urn(plan, f"{res['resourceType']}/{res['id']}")
        entries.append({"fullUrl": ref, "resource": res})
        if res["resourceType"] == "Condition":
            idx = int(res["id"].split("-")[1])
            key = record.conditions[idx].key
            if key:
                condition_refs.setdefault(key, []).append(ref)
        elif res["resourceType"] == "MedicationStatement":
            idx = int(res["id"].split("-")[1])
            if record.medications[idx].key:
                med_refs[record.medications[idx].key] = ref
        elif res["resourceType"] == "DocumentReference" and res["id"] == "vcf":
            vcf_ref = ref
    genotype_refs = []
    for g in plan.genes:
        if g.status == "not_called" or not (g.diplotype or g.phenotype):
            continue
        derived = [vcf_ref] if (vcf_ref and g.origin == "VCF") else None
        res = genotype_observation(g.gene, g.diplotype, g.phenotype, subject_ref=patient_ref, rid=f"pgx-{g.gene}",
                                   derived_from=derived)
        if g.source:
            res["note"] = [{"text": g.source}]
        ref = _urn(plan, f"pgx/{g.gene}")
        entries.append({"fullUrl": ref, "resource": res})
        genotype_refs.append(ref)

    finding_refs = []
    for i, f in enumerate(plan.findings):
        if f.kind == "unavailable":
            continue
        res = dict(f.fhir) if f.fhir else {
            "resourceType": "Observation", "status": "preliminary",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "laboratory", "display": "Laboratory"}]}],
            "code": {"text": f.title}, "valueString": f.summary[:4000],
            "method": {"text": "; ".join(f"{k} {v}" for k, v in f.provenance.items()
                                         if k in ("model", "dataset", "cv_c_index", "statement") and v is not None)},
        }
        res["id"] = f"finding-{i}"
        res["subject"] = {"reference": patient_ref}
        res["note"] = (res.get("note") or []) + [{"text": f.label}]
        ref = _urn(plan, f"finding/{i}")
        entries.append({"fullUrl": ref, "resource": res})
        finding_refs.append(ref)

    activities = []
    for cp in plan.conditions:
        reasons = condition_refs.get(cp.condition, [])
        for o in cp.options:
            if o.status == "avoid":
                why = "; ".join(f.message for f in o.flags if f.severity == "block")
                detail: dict[str, Any] = {"kind": "MedicationRequest", "status": "not-started", "doNotPerform": True,
                                          "description": f"Rank {o.rank}: avoid {o.label} — {why}"}
                if o.drugs:
                    detail["code"] = {"coding": [_rx(d) for d in o.drugs], "text": o.label}
                activities.append({"detail": detail})
                continue
            ref = _urn(plan, f"option/{o.id}")
            entries.append({"fullUrl": ref, "resource": _med_request(o, patient_ref, reasons)})
            activities.append({"reference": {"reference": ref, "display": f"Rank {o.rank}: {o.label} ({o.status})"}})

    for r in plan.medication_review:
        for i, f in enumerate(x for x in r.flags if x.severity in ("block", "warning")):
            issue: dict[str, Any] = {
                "resourceType": "DetectedIssue", "id": f"review-{r.drug}-{i}", "status": "final",
                "severity": SEVERITY[f.severity], "patient": {"reference": patient_ref},
                "code": {"text": f.code}, "detail": f.message,
            }
            if r.drug in med_refs:
                issue["implicated"] = [{"reference": med_refs[r.drug]}]
            if f.source:
                issue["reference"] = f.source if f.source.startswith("http") else None
                if issue["reference"] is None:
                    del issue["reference"]
            entries.append({"fullUrl": _urn(plan, f"issue/{r.drug}/{i}"), "resource": issue})

    careplan: dict[str, Any] = {
        "resourceType": "CarePlan", "id": plan.plan_id, "status": "draft", "intent": "proposal",
        "title": "genmed personalized treatment plan", "subject": {"reference": patient_ref},
        "created": plan.created_at[:10],
        "description": " ".join(plan.summary)[:4000] or "No options: see notes.",
        "addresses": [{"reference": r} for refs in condition_refs.values() for r in refs
                      if any(cp.condition in condition_refs and r in condition_refs[cp.condition] for cp in plan.conditions)],
        "supportingInfo": [{"reference": r} for r in genotype_refs + finding_refs],
        "activity": activities,
        "note": [{"text": m} for m in plan.missing] + [{"text": f"knowledge: {v}"} for v in plan.knowledge.values()],
    }
    if not careplan["addresses"]:
        del careplan["addresses"]
    for key in ("supportingInfo", "activity", "note"):
        if not careplan[key]:
            del careplan[key]
    entries.insert(1, {"fullUrl": _urn(plan, "careplan"), "resource": careplan})
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": plan.created_at, "entry": entries}
    validate_bundle(bundle, source="careplan.json")
    return bundle
