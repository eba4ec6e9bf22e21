"""genmed.pgx: pharmacogenomics from VCF to diplotypes, phenotypes, guideline advice and genotype-guided dosing.

Public API (stable; other capabilities call only these):

- ``call_vcf(vcf_path, *, sample=None, outside_calls=None, assume_ref=False, build="GRCh38",
  research_cyp2d6=False) -> PgxResult``: one sample (the only one, or ``sample``);
  ``call_vcf_samples(...) -> list[PgxResult]`` for multi-sample VCFs; ``call_genotypes`` is an alias of
  ``call_vcf``. ``result.genes[GENE]`` is a ``GeneCall`` for the 19 PharmCAT genes plus CYP2D6, HLA-A, HLA-B and
  MT-RNR1 (outside calls, chrM records, or an explicit ``not_called`` with ``reason``). Each carries
  ``status`` (called / ambiguous / not_called / outside_call), ranked ``diplotypes`` (ties = ambiguity, all
  listed) with haplotype functions and activity values, ``phenotype``, ``activity_score``, ``lookup_keys``,
  ``missing_positions`` (no-calls, never assumed reference unless ``assume_ref``), ``evidence`` (informative
  calls), ``warnings`` and ``source`` (definition/phenotype source + version, knowledge-pack version).
- ``recommend(result, drugs=None, *, co_medications=()) -> list[DrugRecommendation]``: CPIC and DPWG
  recommendations; ``status`` is "recommendation", "indeterminate" (a needed gene is not callable; ``reason``),
  "no_recommendation" or "no_guideline". Strong/moderate CYP2D6/CYP2C19 inhibitors among ``co_medications``
  phenoconvert the gene, stated in ``phenoconversion``.
- ``warfarin_dose_iwpc(age_years=, height_cm=, weight_kg=, cyp2c9=, vkorc1=, race=, ...) -> DoseEstimate`` and
  ``warfarin_dose(result, age_years=, height_cm=, weight_kg=, race=...)`` (IWPC NEJM 2009 + CPIC 2017).
- ``load_result(path) -> PgxResult`` reads a ``calls.json``; ``knowledge_version()`` names the pack in use;
  ``to_fhir_bundle(result)`` gives FHIR R4 genotype/phenotype Observations.

Example::

    from genmed.pgx import call_vcf, recommend
    res = call_vcf("patient.vcf.gz", outside_calls="cyp2d6.tsv")
    res.genes["CYP2C19"].phenotype            # 'Intermediate Metabolizer'
    recs = recommend(res, ["clopidogrel"], co_medications=["omeprazole"])
"""

from __future__ import annotations

import json
from pathlib import Path

from genmed.core.errors import InputError
from genmed.pgx.fhir import to_fhir_bundle
from genmed.pgx.models import DoseEstimate, DrugRecommendation, GeneCall, PgxResult
from genmed.pgx.recommend import recommend
from genmed.pgx.warfarin import warfarin_dose, warfarin_dose_iwpc

__all__ = [
    "DoseEstimate", "DrugRecommendation", "GeneCall", "PgxResult", "call_genotypes", "call_vcf",
    "call_vcf_samples", "knowledge_version", "load_result", "recommend", "to_fhir_bundle", "warfarin_dose",
    "warfarin_dose_iwpc",
]


def call_vcf_samples(vcf_path: str | Path, *, samples: list[str] | None = None,
                     outside_calls: str | Path | None = None, assume_ref: bool = False,
                     build: str = "GRCh38", research_cyp2d6: bool = False) -> list[PgxResult]:
    """Call every (or the listed) sample of a VCF."""
    from genmed.pgx.engine import call_vcf_all

    return call_vcf_all(vcf_path, samples=samples, outside_calls=outside_calls, assume_ref=assume_ref, build=build,
                        research_cyp2d6=research_cyp2d6)


def call_vcf(vcf_path: str | Path, *, sample: str | None = None, outside_calls: str | Path | None = None,
             assume_ref: bool = False, build: str = "GRCh38", research_cyp2d6: bool = False) -> PgxResult:
    """Call the PharmCAT genes for one sample; a multi-sample VCF needs ``sample``.

    Also returns MT-RNR1 from chrM records (when present) and explicit ``not_called`` entries for CYP2D6/HLA-A/
    HLA-B without an outside call; ``research_cyp2d6`` adds an SNV-only CYP2D6 call flagged research-only.
    """
    from genmed.pgx.vcf import vcf_samples

    if sample is None:
        names = vcf_samples(vcf_path)  # header only
        if len(names) > 1:
            raise InputError(f"VCF has {len(names)} samples; choose one", source=str(vcf_path),
                             hint=f"pass sample= one of {', '.join(names[:10])}")
    res = call_vcf_samples(vcf_path, samples=[sample] if sample else None, outside_calls=outside_calls,
                           assume_ref=assume_ref, build=build, research_cyp2d6=research_cyp2d6)
    return res[0]


call_genotypes = call_vcf


def load_result(path: str | Path) -> PgxResult:
    """Read a ``calls.json`` written by ``genmed pgx call`` (one sample, or the first of a list)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        from genmed.core.errors import DataNotFoundError

        raise DataNotFoundError("calls file not found", source=str(p)) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError("not a genmed calls.json (invalid JSON)", source=str(p)) from exc
    if isinstance(data, dict) and "results" in data:
        data = data["results"][0] if data["results"] else None
    if not isinstance(data, dict) or "genes" not in data or "sample" not in data:
        raise InputError("not a genmed calls.json (no 'sample'/'genes')", source=str(p))
    try:
        return PgxResult.from_dict(data)
    except (TypeError, KeyError) as exc:
        raise InputError(f"calls.json has an unexpected structure ({exc})", source=str(p)) from exc


def knowledge_version() -> str:
    from genmed.pgx.knowledge import load_knowledge

    return load_knowledge()["version"]
