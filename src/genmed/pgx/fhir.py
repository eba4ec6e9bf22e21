"""Gene calls as a FHIR R4 collection Bundle of Observations (HL7 Genomics Reporting style).

One *genotype* Observation per called gene (LOINC 84413-4 "Genotype display name", component 48018-6 "Gene
studied" with the HGNC symbol) and, where a phenotype exists, one *phenotype* Observation (LOINC 53040-2
"Genetic variation's effect on drug metabolism") derived from it. Not-called genes are Observations with
``dataAbsentReason`` so a receiving system sees the gap instead of silence. Every Observation carries the
knowledge-pack version and the definition source in ``note``/``method``.
"""

from __future__ import annotations

import uuid
from typing import Any

from genmed.pgx.models import GeneCall, PgxResult

LOINC = "http://loinc.org"
HGNC = "http://www.genenames.org/geneId"
CATEGORY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory"}]}


def _id() -> str:
    return str(uuid.uuid4())


def _gene_component(gene: str) -> dict[str, Any]:
    return {"code": {"coding": [{"system": LOINC, "code": "48018-6", "display": "Gene studied [ID]"}]},
            "valueCodeableConcept": {"coding": [{"system": HGNC, "display": gene}], "text": gene}}


def _note(call: GeneCall, result: PgxResult) -> list[dict[str, str]]:
    parts = [f"genmed {result.engine_version}; knowledge {result.knowledge_version}"]
    defs = call.source.get("definitions")
    if defs:
        parts.append(f"definitions: {defs.get('source')} {defs.get('version')}")
    if call.missing_positions:
        parts.append(f"{len(call.missing_positions)} positions not observed (no-call)")
    parts += call.warnings[:5]
    return [{"text": "; ".join(parts)}]


def to_fhir_bundle(result: PgxResult, patient_reference: str | None = None) -> dict[str, Any]:
    """A FHIR R4 ``Bundle`` (type collection) with genotype/phenotype Observations for every gene."""
    subject = {"reference": patient_reference} if patient_reference else {"display": result.sample}
    entries = []
    for gene, call in result.genes.items():
        gid = _id()
        obs: dict[str, Any] = {
            "resourceType": "Observation", "id": gid, "status": "final", "category": [CATEGORY],
            "code": {"coding": [{"system": LOINC, "code": "84413-4", "display": "Genotype display name"}],
                     "text": f"{gene} genotype"},
            "subject": subject, "component": [_gene_component(gene)], "note": _note(call, result),
            "method": {"text": "outside call" if call.status == "outside_call" else
                       "genmed named-allele matcher on VCF genotypes"},
        }
        if call.diplotypes:
            names = [d.name for d in call.diplotypes]
            obs["valueCodeableConcept"] = {"text": " or ".join(names)}
            if call.status == "ambiguous":
                obs["interpretation"] = [{"text": "ambiguous: several diplotypes fit equally well"}]
        else:
            obs["dataAbsentReason"] = {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown"}],
                "text": call.reason or "not called"}
        entries.append({"fullUrl": f"urn:uuid:{gid}", "resource": obs})
        if call.diplotypes and call.phenotype:
            pid = _id()
            comps = [_gene_component(gene)]
            if call.activity_score:
                comps.append({"code": {"text": "activity score"}, "valueString": call.activity_score})
            entries.append({"fullUrl": f"urn:uuid:{pid}", "resource": {
                "resourceType": "Observation", "id": pid, "status": "final", "category": [CATEGORY],
                "code": {"coding": [{"system": LOINC, "code": "53040-2",
                                     "display": "Genetic variation's effect on drug metabolism"}],
                         "text": f"{gene} phenotype"},
                "subject": subject, "valueCodeableConcept": {"text": call.phenotype}, "component": comps,
                "derivedFrom": [{"reference": f"urn:uuid:{gid}"}], "note": _note(call, result)}})
    return {"resourceType": "Bundle", "id": _id(), "type": "collection", "entry": entries}
