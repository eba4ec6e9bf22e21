"""Recommendations (CPIC/DPWG lookup, indeterminate, phenoconversion) and IWPC warfarin dosing."""

import math

import pytest

from genmed.core.errors import InputError
from genmed.pgx import call_vcf, recommend, warfarin_dose, warfarin_dose_iwpc
from genmed.pgx.engine import outside_gene_call
from genmed.pgx.exhaustive import write_vcf


@pytest.fixture(scope="module")
def example_res(example):
    return call_vcf(example / "pharmcat.example.vcf", outside_calls=example / "pharmcat.example.outsideCall.tsv")


def test_recommendation_carries_provenance(example_res):
    recs = [r for r in recommend(example_res, ["clopidogrel"]) if r.source == "CPIC"]
    assert recs and all(r.status == "recommendation" for r in recs)
    r = recs[0]
    assert r.genes == {"CYP2C19": "Normal Metabolizer"}
    assert r.classification == "Strong" and "standard dose" in r.recommendation
    assert r.guideline_url.startswith("https://www.pharmgkb.org/") and r.guideline_version
    assert "35034351" in r.citations and r.knowledge_version.startswith("genmed-pgx-kb")


def test_activity_score_and_hla_lookups(example_res):
    codeine = [r for r in recommend(example_res, ["codeine"]) if r.source == "CPIC"][0]
    assert codeine.genes == {"CYP2D6": "1.0"} and codeine.status == "recommendation"
    abacavir = [r for r in recommend(example_res, ["abacavir"]) if r.source == "CPIC"][0]
    assert "not recommended" in abacavir.recommendation.lower()
    cbz = [r for r in recommend(example_res, ["carbamazepine"]) if r.source == "CPIC"]
    assert cbz and all(r.status in {"recommendation", "indeterminate"} for r in cbz)


def test_multigene_tpmt_nudt15(example_res):
    r = [x for x in recommend(example_res, ["azathioprine"]) if x.source == "CPIC"][0]
    assert set(r.genes) == {"TPMT", "NUDT15"} and r.status == "recommendation"


def test_indeterminate_when_gene_not_callable(tmp_path):
    # only a CYP2C9 site present: CYP2C19 has no data -> clopidogrel indeterminate with the reason
    p = write_vcf("CYP2C9", "*1", "*3", tmp_path / "c9.vcf")
    res = call_vcf(p)
    recs = recommend(res, ["clopidogrel", "celecoxib"], sources=["CPIC"])
    clop = [r for r in recs if r.drug == "clopidogrel"]
    assert clop[0].status == "indeterminate" and "CYP2C19" in clop[0].reason
    cel = [r for r in recs if r.drug == "celecoxib"][0]
    assert cel.status == "recommendation" and cel.genes == {"CYP2C9": "1.0"}


def test_phenoconversion_stated(example_res):
    r = [x for x in recommend(example_res, ["codeine"], co_medications=["Paroxetine"]) if x.source == "CPIC"][0]
    assert r.genes == {"CYP2D6": "0.0"} and r.phenoconversion and "paroxetine" in r.phenoconversion[0]
    r2 = [x for x in recommend(example_res, ["clopidogrel"], co_medications=["fluconazole"])
          if x.source == "CPIC"][0]
    assert r2.genes == {"CYP2C19": "Poor Metabolizer"}
    plain = [x for x in recommend(example_res, ["codeine"], co_medications=["metformin"]) if x.source == "CPIC"][0]
    assert plain.genes == {"CYP2D6": "1.0"} and not plain.phenoconversion


def test_unknown_drug_and_warfarin_table(example_res):
    (r,) = recommend(example_res, ["notadrug"])
    assert r.status == "no_guideline"
    w = [x for x in recommend(example_res, ["warfarin"]) if x.source == "CPIC"][0]
    assert w.status == "no_recommendation" and "iwpc" in w.reason.lower()


def test_cyp2d6_outside_call_activity():
    c = outside_gene_call("CYP2D6", {"diplotype": "*1x2/*4", "phenotype": "", "activity_score": ""}, "t")
    assert c.activity_score == "2.0" and c.phenotype == "Normal Metabolizer"
    c = outside_gene_call("CYP2D6", {"diplotype": "*4/*4", "phenotype": "", "activity_score": ""}, "t")
    assert c.phenotype == "Poor Metabolizer"


def test_iwpc_equation_reference_values():
    # IWPC NEJM 2009 appendix equation, hand-computed: 5.6044 - 0.2614*6 + 0.0087*170 + 0.0128*80 = 6.539
    e = warfarin_dose_iwpc(age_years=65, height_cm=170, weight_kg=80, cyp2c9="*1/*1", vkorc1="G/G", race="white")
    assert math.isclose(e.inputs["iwpc_sqrt_weekly_dose"], 6.539, abs_tol=1e-3)
    assert math.isclose(e.weekly_dose_mg, 6.539 ** 2, abs_tol=0.1)
    # *3/*3 and A/A, amiodarone: 6.539 - 2.3312 - 1.6974 - 0.5503 = 1.9601
    e2 = warfarin_dose_iwpc(age_years=65, height_cm=170, weight_kg=80, cyp2c9="*3/*3", vkorc1="AA",
                            race="white", amiodarone=True)
    assert math.isclose(e2.weekly_dose_mg, 1.9601 ** 2, abs_tol=0.1)
    assert any("very high warfarin sensitivity" in w and "*3/*3" in w for w in e2.warnings)
    assert not any(w.startswith("CPIC: consider") for w in e2.warnings)  # never attributed without a source


def test_iwpc_cpic_adjustments_widen_range():
    base = warfarin_dose_iwpc(age_years=50, height_cm=175, weight_kg=90, cyp2c9="*1/*1", vkorc1="A/G", race="black")
    adj = warfarin_dose_iwpc(age_years=50, height_cm=175, weight_kg=90, cyp2c9="*1/*8", vkorc1="A/G", race="black",
                             rs12777823_a_copies=1)
    lo, hi = adj.range_weekly_mg
    assert lo < hi < base.weekly_dose_mg and len(adj.adjustments) == 2
    f2 = warfarin_dose_iwpc(age_years=50, height_cm=175, weight_kg=90, cyp2c9="*1/*1", vkorc1="A/G", race="white",
                            cyp4f2_star3_copies=1)
    assert f2.range_weekly_mg[0] > warfarin_dose_iwpc(age_years=50, height_cm=175, weight_kg=90, cyp2c9="*1/*1",
                                                      vkorc1="A/G", race="white").weekly_dose_mg


def test_iwpc_bad_inputs():
    with pytest.raises(InputError, match="height_cm"):
        warfarin_dose_iwpc(age_years=50, height_cm=17, weight_kg=80)
    with pytest.raises(InputError, match="VKORC1"):
        warfarin_dose_iwpc(age_years=50, height_cm=170, weight_kg=80, vkorc1="X/Y")


def test_warfarin_from_calls(example_res, tmp_path):
    e = warfarin_dose(example_res, age_years=65, height_cm=170, weight_kg=80, race="white")
    assert e.inputs["cyp2c9_iwpc_category"] == "*1/*1" and e.inputs["vkorc1_1639"] == "G/G"
    # African ancestry with CYP2C9 *5/*6/*8/*11 positions missing -> dose clinically (indeterminate)
    p = tmp_path / "v.vcf"
    p.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n"
                 "chr10\t94981296\trs1057910\tA\tC\t.\tPASS\t.\tGT\t0/1\n")
    e2 = warfarin_dose(call_vcf(p), age_years=65, height_cm=170, weight_kg=80, race="black")
    assert e2.status == "indeterminate" and "dosing clinically" in e2.reason


def test_phenotype_only_outside_call_for_activity_score_guidelines(tmp_path, example):
    o = tmp_path / "o.tsv"
    o.write_text("CYP2D6\t\tPoor Metabolizer\n")
    res = call_vcf(example / "pharmcat.example.vcf", outside_calls=o)
    r = [x for x in recommend(res, ["codeine"]) if x.source == "CPIC"][0]
    assert r.status == "recommendation" and "avoid" in r.recommendation.lower()
    assert "phenotype-only" in r.reason
    o.write_text("CYP2D6\t\tIntermediate Metabolizer\n")
    res = call_vcf(example / "pharmcat.example.vcf", outside_calls=o)
    recs = [x for x in recommend(res, None) if x.source == "CPIC" and "CYP2D6" in x.genes]
    assert recs and all(x.status in {"recommendation", "indeterminate", "no_recommendation"} for x in recs)
    assert any(x.status == "indeterminate" and "activity score" in x.reason for x in recs) or \
        all(x.status == "recommendation" for x in recs)


def test_hla_outside_call_resolution_normalised():
    c = outside_gene_call("HLA-B", {"diplotype": "HLA-B*57:01:01/*07:02:01:03", "phenotype": "",
                                    "activity_score": ""}, "t")
    assert "*57:01 positive" in c.lookup_keys and "*58:01 negative" in c.lookup_keys


def test_outside_call_with_unknown_allele_but_phenotype():
    c = outside_gene_call("CYP2C19", {"diplotype": "*1/*999", "phenotype": "Intermediate Metabolizer",
                                      "activity_score": ""}, "t")
    assert c.status == "outside_call" and c.phenotype == "Intermediate Metabolizer"
    assert any("unknown allele" in w for w in c.warnings)
    c2 = outside_gene_call("CYP2C19", {"diplotype": "*2/*2", "phenotype": "Normal Metabolizer",
                                       "activity_score": ""}, "t")
    assert c2.phenotype == "Normal Metabolizer" and any("differs" in w for w in c2.warnings)
