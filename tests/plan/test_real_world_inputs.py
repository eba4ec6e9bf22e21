"""Inputs shaped like real exports (Synthea-style transaction bundles, product-level RxNorm codes, noise) and the
paths the bundled examples do not cover (lung cancer / VA trial twin, deceased patient, no genotypes)."""

from __future__ import annotations

import json

from genmed.patient import read_compact, read_fhir_bundle
from genmed.plan import build_plan

RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"


def _synthea_like() -> dict:
    pid = "urn:uuid:5cbc121b-cd71-4428-b8b7-31e53eba8184"
    subj = {"reference": pid}
    entries = [
        {"fullUrl": pid, "request": {"method": "POST", "url": "Patient"},
         "resource": {"resourceType": "Patient", "id": "5cbc121b", "gender": "male", "birthDate": "1951-03-03",
                      "name": [{"use": "official", "prefix": ["Mr."], "given": ["Zed"], "family": "Synth"}],
                      "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                           "code": "MR"}]}, "value": "SYN-778899"}],
                      "deceasedDateTime": "2026-10-01T00:00:00Z"}},
        {"fullUrl": "urn:uuid:e1", "request": {"method": "POST", "url": "Encounter"},
         "resource": {"resourceType": "Encounter", "id": "e1", "status": "finished",
                      "class": {"code": "AMB"}, "subject": subj}},
        {"fullUrl": "urn:uuid:c1", "request": {"method": "POST", "url": "Condition"},
         "resource": {"resourceType": "Condition", "id": "c1", "subject": subj,
                      "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                                     "code": "active"}]},
                      "code": {"coding": [{"system": SCT, "code": "22298006", "display": "Myocardial infarction"}]}}},
        {"fullUrl": "urn:uuid:p1", "request": {"method": "POST", "url": "Procedure"},
         "resource": {"resourceType": "Procedure", "id": "p1", "status": "completed", "subject": subj,
                      "code": {"coding": [{"system": SCT, "code": "415070008",
                                           "display": "Percutaneous coronary intervention"}]}}},
        {"fullUrl": "urn:uuid:m1", "request": {"method": "POST", "url": "MedicationRequest"},
         "resource": {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
                      "subject": subj,
                      "medicationCodeableConcept": {"coding": [{"system": RX, "code": "309362",
                                                                "display": "clopidogrel 75 MG Oral Tablet"}]}}},
        {"fullUrl": "urn:uuid:m2", "request": {"method": "POST", "url": "MedicationRequest"},
         "resource": {"resourceType": "MedicationRequest", "id": "m2", "status": "active", "intent": "order",
                      "subject": subj, "medicationReference": {"reference": "urn:uuid:not-in-bundle"}}},
        {"fullUrl": "urn:uuid:w1", "request": {"method": "POST", "url": "Observation"},
         "resource": {"resourceType": "Observation", "id": "w1", "status": "final", "subject": subj,
                      "code": {"coding": [{"system": LOINC, "code": "29463-7", "display": "Body Weight"}]},
                      "effectiveDateTime": "2026-09-01T10:00:00Z",
                      "valueQuantity": {"value": 180, "unit": "[lb_av]", "code": "[lb_av]"}}},
        {"fullUrl": "urn:uuid:cl1", "request": {"method": "POST", "url": "Claim"},
         "resource": {"resourceType": "Claim", "id": "cl1"}},
    ]
    for i in range(3):
        entries.append({"fullUrl": f"urn:uuid:bp{i}", "request": {"method": "POST", "url": "Observation"},
                        "resource": {"resourceType": "Observation", "id": f"bp{i}", "status": "final", "subject": subj,
                                     "code": {"coding": [{"system": LOINC, "code": "85354-9",
                                                          "display": "Blood pressure panel"}]},
                                     "component": [{"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                                                    "valueQuantity": {"value": 120 + i, "unit": "mm[Hg]"}}]}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def test_synthea_like_transaction_bundle(tmp_path):
    path = tmp_path / "synthea.json"
    path.write_text(json.dumps(_synthea_like()))
    p = read_fhir_bundle(path)
    assert p.identity.name == "Zed Synth" and p.identity.mrn == "SYN-778899"
    assert {c.key for c in p.conditions} == {"acs", "pci"}
    assert p.value("weight_kg")[0] == 81.6466  # 180 lb
    assert "clopidogrel" in {m.key for m in p.medications}
    msgs = [i.message for i in p.issues]
    assert any("identified as 'clopidogrel' from its name" in m for m in msgs)
    assert any("does not resolve" in m for m in msgs)
    assert any("deceased" in m for m in msgs)
    bp = [m for m in msgs if "85354-9" in m]
    assert len(bp) == 1 and "3 observations" in bp[0]
    assert any("1 Claim" in m for m in msgs) and any("1 Encounter" in m for m in msgs)

    plan = build_plan(p)  # no VCF, no genotype results: a partial plan that says so
    assert plan.partial and any("no VCF and no genotype results" in m for m in plan.missing)
    clop = plan.option("clopidogrel")
    assert clop.status != "avoid" and all(a.action == "indeterminate" for a in clop.pgx)
    assert any(i.message.startswith("reference") for i in plan.issues)
    assert any("input Bundle.entry[5]" in m for m in plan.missing)  # the unresolved medication is listed as missing


def test_lung_cancer_gets_the_va_trial_twin(tmp_path):
    rec = tmp_path / "patient.yaml"
    rec.write_text("""
patient: {id: test-lung-1, birth_date: 1960-01-15, sex: male}
record_date: 2026-11-20
conditions:
  - {code: SNOMED 254637007, text: Non-small cell lung cancer, onset: 2026-08-20}
observations:
  - {key: karnofsky, value: 70}
  - {key: lung_histology, value: adeno}
  - {key: prior_therapy, value: "no"}
""")
    plan = build_plan(read_compact(rec))
    test_arm = plan.option("va-test-chemo")
    r = test_arm.response
    assert r.status in ("predicted", "outside-population"), r.reason
    assert r.trial == "veterans" and r.covariates["months_from_diagnosis"] == 3.0
    assert any("derived from the condition onset" in f for f in r.flags)
    assert plan.option("platinum-doublet-pembro").rank == 1
    assert test_arm.status == "not-applicable"
