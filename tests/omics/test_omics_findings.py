"""The plan's omics section: shipped models, research-use labels, provenance, flags, no crash on bad input."""

from __future__ import annotations

import json

from genmed.omics.findings import EXAMPLE_BULK, RESEARCH_USE, plan_findings


def test_bulk_example_patient_gets_genomic_risk():
    res = plan_findings(EXAMPLE_BULK)
    f = res.findings[0]
    assert res.section == "Genomic and proteomic findings"
    assert f.kind == "genomic_risk" and f.label == RESEARCH_USE
    assert "C-index" in f.summary and f.provenance["dataset"] == "gse7390"
    assert 0.55 < f.provenance["cv_c_index"] < 0.8
    json.dumps(res.as_dict())  # serialisable for plan.json


def test_single_cells_get_perturbation_response(tmp_path, kang):
    cells = kang[(kang.obs["condition"] == "control").to_numpy() & (kang.obs["cell_type"] == "CD14+Mono").to_numpy()]
    p = tmp_path / "patient_cells.h5ad"
    cells.write_h5ad(p)
    f = plan_findings(p).findings[0]
    assert f.kind == "perturbation_response" and "CD14+Mono" in f.summary
    assert any("trained on perturbed cells" in x for x in f.flags)  # in-distribution, said out loud


def test_bad_attachment_becomes_unavailable(tmp_path):
    p = tmp_path / "rnaseq_counts.csv"
    p.write_text("gene,value\nTP53,1200\nBRCA1,300\nESR1,5000\n")
    f = plan_findings(p).findings[0]
    assert f.kind == "unavailable" and "genes are in the profile" in f.summary
    assert plan_findings(None).findings[0].kind == "unavailable"
