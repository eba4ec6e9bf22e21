"""Imaging and omics attachments reach the plan: a finding with its model and validation metric, or an explicit
"not analysed" with the reason - never a crash, never a full path."""

from __future__ import annotations

import json
from pathlib import Path

from genmed.plan import build_plan
from genmed.report import careplan_bundle, render_html


def test_chest_xray_attachment_gives_an_imaging_finding(example_plans):
    plan = example_plans["hiv-hla-cyp2b6"][1]
    [f] = [f for f in plan.findings if f.capability == "imaging"]
    assert f.kind == "image_classification" and f.attachment == "chest_xray.png"
    # the example image is labelled pneumonia in the PneumoniaMNIST test split; the shipped model calls it so
    assert f.title.endswith("pneumonia") and "probability of pneumonia" in f.summary
    assert f.provenance["test"]["auc"] > 0.95 and f.provenance["weights_sha256"]
    assert set(f.figures) and all(u.startswith("data:image/png;base64,") for u in f.figures.values())
    assert any(e.kind == "model" and "imaging" in e.source for e in plan.evidence)
    assert any(line.startswith("Imaging (chest_xray.png") for line in plan.summary)
    assert any(c.name.startswith("diagnostic imaging") and c.available for c in plan.capabilities)

    bundle = careplan_bundle(plan)  # validated R4 inside
    obs = [e["resource"] for e in bundle["entry"] if e["resource"].get("id", "").startswith("finding-")]
    assert len(obs) == 1 and obs[0]["status"] == "preliminary" and obs[0]["valueQuantity"]["code"] == "1"
    careplan = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan")
    ref = next(e["fullUrl"] for e in bundle["entry"] if e["resource"].get("id") == "finding-0")
    assert {"reference": ref} in careplan["supportingInfo"]
    html = render_html(plan)
    assert "Imaging findings" in html and "Grad-CAM" in html


def test_tumour_expression_attachment_gives_a_genomic_risk(example_plans):
    plan = example_plans["breast-cyp2d6-pm"][1]
    [f] = [f for f in plan.findings if f.capability == "omics"]
    assert f.kind == "genomic_risk" and f.attachment == "tumour_expression.csv"
    assert 0.5 < f.provenance["cv_c_index"] < 1 and f.provenance["dataset"] == "gse7390"
    assert "percentile of the GSE7390 cohort" in f.summary and "Research use" in f.label
    assert "Genomic and proteomic findings" in render_html(plan)
    json.loads(plan.model_dump_json())  # plain JSON (no numpy values)


def test_unreadable_attachments_are_stated_not_fatal(example_plans, tmp_path):
    patient = example_plans["hiv-hla-cyp2b6"][0].model_copy(deep=True)
    bad_png = tmp_path / "secret-folder-Jane-Doe" / "scan.png"
    bad_png.parent.mkdir()
    bad_png.write_bytes(b"not a png at all")
    bad_csv = tmp_path / "secret-folder-Jane-Doe" / "profile.csv"
    bad_csv.write_text("gene,value\nNOT_A_GENE,1.0\n")
    patient.images = [bad_png, tmp_path / "absent.dcm"]
    patient.expression = [bad_csv]
    plan = build_plan(patient)
    kinds = [(f.capability, f.kind, f.attachment) for f in plan.findings]
    assert ("imaging", "unavailable", "scan.png") in kinds and ("imaging", "unavailable", "absent.dcm") in kinds
    omics = [f for f in plan.findings if f.capability == "omics"]
    assert omics and all(f.kind == "unavailable" or f.flags for f in omics)
    assert any(m.startswith("imaging: scan.png was not analysed") for m in plan.missing)
    assert plan.partial
    text = plan.model_dump_json() + render_html(plan) + json.dumps(careplan_bundle(plan))
    assert "secret-folder-Jane-Doe" not in text and str(tmp_path) not in text


def test_attachments_survive_a_fhir_round_trip(example_plans, tmp_path):
    from genmed.patient import read_patient
    from genmed.patient.fhir import to_fhir_bundle

    patient = example_plans["breast-cyp2d6-pm"][0].model_copy(deep=True)
    patient.images = [Path("a/chest.dcm")]
    bundle = to_fhir_bundle(patient, identified=False)
    docs = {e["resource"]["id"]: e["resource"] for e in bundle["entry"]
            if e["resource"]["resourceType"] == "DocumentReference"}
    assert docs["image-0"]["content"][0]["attachment"] == {"contentType": "application/dicom", "url": "chest.dcm"}
    assert docs["expression-0"]["content"][0]["attachment"]["contentType"] == "text/csv"
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    back = read_patient(path, check_vcf=False)
    assert [p.name for p in back.images] == ["chest.dcm"]
    assert [p.name for p in back.expression] == ["tumour_expression.csv"]


def test_attachment_names_that_carry_identifiers_are_scrubbed(example_plans, tmp_path):
    from genmed.core.logging import register_identifier

    register_identifier("Quixotesson")
    patient = example_plans["hiv-hla-cyp2b6"][0].model_copy(deep=True)
    named = tmp_path / "Quixotesson_MRN-48213377_cxr.png"
    named.write_bytes(b"not a png either")
    patient.images, patient.expression = [named], []
    plan = build_plan(patient)
    text = plan.model_dump_json() + render_html(plan) + json.dumps(careplan_bundle(plan))
    assert "Quixotesson" not in text and "48213377" not in text
    assert any(f.capability == "imaging" and f.kind == "unavailable" for f in plan.findings)
