"""The four example patients get the guideline-correct plan (CPIC wording checked), each line with its source."""

from __future__ import annotations

import math

import pytest

from genmed.plan import build_plan


def _plan(example_plans, name):
    return example_plans[name][1]


def _primary(advice):
    return next(a for a in advice if a.action in ("avoid", "adjust-dose", "standard"))


# CPIC recommendation wording (CPIC guideline tables; tamoxifen 2018, opioids 2021, SSRIs 2023, clopidogrel 2022,
# fluoropyrimidines 2017/2024, abacavir 2014, efavirenz 2019)
CPIC_TAMOXIFEN_PM = "Recommend alternative hormonal therapy such as an aromatase inhibitor for postmenopausal women"
CPIC_CODEINE_PM = "Avoid codeine use because of possibility of diminished analgesia"
CPIC_PAROXETINE_PM = "Consider a 50% reduction in recommended starting dose"
CPIC_CLOPIDOGREL_PM_ACS = "Avoid clopidogrel if possible. Use prasugrel or ticagrelor at standard dose if no contraindication"
CPIC_CAPECITABINE_AS1 = "Reduce starting dose by 50% followed by titration of dose based on toxicity"
CPIC_ABACAVIR_POS = "Abacavir is not recommended"
CPIC_EFAVIRENZ_PM = "Consider initiating efavirenz with decreased dose of 400 or 200 mg/day"
CPIC_SERTRALINE_CYP2B6_PM = "Consider a lower starting dose, slower titration schedule and 25% reduction"


def test_breast_cyp2d6_pm(example_plans):
    plan = _plan(example_plans, "breast-cyp2d6-pm")
    bc = next(c for c in plan.conditions if c.condition == "breast_cancer")
    assert [o.id for o in bc.options][:2] == ["anastrozole", "letrozole"]
    assert bc.options[0].status == "recommended"
    tam = plan.option("tamoxifen")
    assert tam.status == "avoid" and tam.rank == 3
    adv = _primary(tam.pgx)
    assert adv.source == "CPIC" and adv.action == "avoid" and CPIC_TAMOXIFEN_PM in adv.text
    assert adv.genes == {"CYP2D6": "0.0"}
    assert any(f.code == "interaction" and "paroxetine" in f.message for f in tam.flags)
    # the digital twin is shown, with the caveat that the trial was not genotyped
    assert tam.response.status == "predicted" and tam.response.trial == "gbsg2"
    assert len(tam.response.curves) == 2 and all(len(c.lower) == len(c.survival) for c in tam.response.curves)
    assert any("not genotyped" in u for u in tam.uncertainty)
    assert CPIC_CODEINE_PM in _primary(plan.review("codeine").advice).text
    assert plan.review("codeine").action == "stop-or-switch"
    assert CPIC_PAROXETINE_PM in _primary(plan.review("paroxetine").advice).text
    assert plan.review("paroxetine").action == "adjust-dose"


def test_acs_cyp2c19_pm_with_warfarin(example_plans):
    patient, plan = example_plans["acs-cyp2c19-warfarin"]
    acs = next(c for c in plan.conditions if c.condition == "acs")
    assert [o.id for o in acs.options] == ["ticagrelor", "prasugrel", "clopidogrel"]
    clop = plan.option("clopidogrel")
    adv = _primary(clop.pgx)
    assert adv.population and "ACS" in adv.population and CPIC_CLOPIDOGREL_PM_ACS in adv.text
    assert clop.status == "avoid" and any(f.code == "conflict" for f in clop.flags)
    assert {a.population for a in clop.pgx if a.source == "CPIC"} == {"CVI ACS PCI"}  # not "non-ACS non-PCI"
    pras = plan.option("prasugrel")
    assert pras.status == "avoid" and any(f.code == "contraindication" and "transient" in f.message.lower()
                                          for f in pras.flags)
    tica = plan.option("ticagrelor")
    assert tica.status == "use-with-caution" and any("warfarin" in f.message for f in tica.flags)
    assert plan.review("clopidogrel").action == "stop-or-switch"
    assert any("omeprazole" in f.message for f in plan.review("clopidogrel").flags)
    # warfarin: IWPC dose, checked against the published equation computed here by hand (NEJM 2009 appendix)
    warf = plan.option("warfarin")
    est = warf.dose_estimates[0]
    sqrt_weekly = (5.6044 - 0.2614 * 7 + 0.0087 * 178 + 0.0128 * 84 - 0.8677 - 0.9357 + 0.0)
    assert est.status == "estimated" and est.weekly_mg == pytest.approx(sqrt_weekly ** 2, abs=0.1)
    assert est.inputs["cyp2c9"] == "*1/*3" and est.inputs["vkorc1_1639"] == "A/G"
    assert plan.review("warfarin").action == "continue"  # INR 2.4 in range: established dose stays
    af = next(c for c in plan.conditions if c.condition == "atrial_fibrillation")
    assert af.options[0].id == "apixaban" and warf.rank == 3


def test_crc_dpyd(example_plans):
    plan = _plan(example_plans, "crc-dpyd")
    genes = {g.gene: g for g in plan.genes}
    assert genes["DPYD"].phenotype == "Intermediate Metabolizer" and genes["DPYD"].activity_score == "1.0"
    cape = plan.option("capecitabine")
    assert cape.rank == 1 and cape.status == "use-with-caution"
    adv = _primary(cape.pgx)
    assert adv.source == "CPIC" and CPIC_CAPECITABINE_AS1 in adv.text and "PGx adjustment" in cape.dose
    for oid in ("capox", "folfox"):
        o = plan.option(oid)
        assert o.status == "avoid" and any(f.code == "allergy" and "oxaliplatin" in f.message for f in o.flags)
    # BSA (Mosteller, 176 cm / 79 kg) x 1250 mg/m2, halved per CPIC
    bsa = math.sqrt(176 * 79 / 3600)
    est = cape.dose_estimates[0]
    assert est.status == "estimated" and est.inputs["pgx_factor"] == 0.5
    assert f"{1250 * bsa * 0.5:.0f} mg twice daily" in est.text
    folfox_fu = _primary([a for a in plan.option("folfox").pgx if a.drug == "fluorouracil"])
    assert CPIC_CAPECITABINE_AS1 in folfox_fu.text


def test_hiv_hla_b_cyp2b6(example_plans):
    plan = _plan(example_plans, "hiv-hla-cyp2b6")
    abc = plan.option("dtg-abc-3tc")
    assert abc.status == "avoid" and CPIC_ABACAVIR_POS in _primary([a for a in abc.pgx if a.drug == "abacavir"]).text
    efv = plan.option("efv-tdf-ftc")
    assert CPIC_EFAVIRENZ_PM in _primary([a for a in efv.pgx if a.drug == "efavirenz"]).text
    assert efv.status == "use-with-caution"
    assert plan.option("bic-taf-ftc").rank == 1
    assert CPIC_SERTRALINE_CYP2B6_PM in _primary(plan.review("sertraline").advice).text
    idv = plan.option("actg320-idv")
    r = idv.response
    assert r.status == "predicted" and r.comparator == "zdv_3tc" and idv.status == "not-applicable"
    # ACTG 320: adding indinavir halved the hazard (HR 0.50); the twin should favour it for this patient
    assert r.p_benefit > 0.8 and r.hazard_ratio < 1 and r.rmst_gain > 0
    lo, hi = r.rmst_gain_interval
    assert lo <= r.rmst_gain <= hi
    assert plan.option("actg320-2nrti").response.rmst_gain == pytest.approx(-r.rmst_gain, abs=0.05)


@pytest.mark.parametrize("name", ["breast-cyp2d6-pm", "acs-cyp2c19-warfarin", "crc-dpyd", "hiv-hla-cyp2b6"])
def test_every_recommendation_names_source_and_version(example_plans, name):
    plan = _plan(example_plans, name)
    assert plan.knowledge["options"].startswith("genmed plan options 2026.11.0")
    assert "pgx" in plan.knowledge
    for cp in plan.conditions:
        for o in cp.options:
            assert o.evidence and all(e.source and e.version for e in o.evidence if e.kind != "algorithm")
            for a in o.pgx:
                if a.action in ("avoid", "adjust-dose", "standard"):
                    assert a.source in ("CPIC", "DPWG") and a.guideline_version and a.url
            for f in o.flags:
                if f.code in ("pgx-avoid", "pgx-dose", "interaction", "contraindication"):
                    assert f.source
    for r in plan.medication_review:
        for f in r.flags:
            if f.code in ("pgx-avoid", "pgx-dose"):
                assert f.source and f.source.split()[0] in ("CPIC", "DPWG")
    assert not plan.missing, plan.missing


def test_missing_data_gives_an_explicit_partial_plan(example_plans):
    patient = example_plans["hiv-hla-cyp2b6"][0].model_copy(deep=True)
    patient.observations = [o for o in patient.observations if o.key not in ("cd4_count", "hemophilia")]
    patient.vcf = None
    plan = build_plan(patient)
    r = plan.option("actg320-idv").response
    assert r.status == "indeterminate" and set(r.missing) == {"cd4", "hemophilia"} and not r.curves
    assert plan.partial
    assert any("no VCF" in m for m in plan.missing)
    assert any("predicted response (actg320)" in m and "cd4" in m for m in plan.missing)
    genes = {g.gene: g for g in plan.genes}
    assert genes["CYP2B6"].status == "not_called"  # no VCF: not guessed
    assert genes["HLA-B"].status == "outside_call"  # the record's own result still counts
    efv_advice = [a for a in plan.option("efv-tdf-ftc").pgx if a.drug == "efavirenz"]
    assert efv_advice and all(a.action not in ("avoid", "adjust-dose", "standard") for a in efv_advice)
    assert any("efavirenz: pharmacogenomic check indeterminate" in u for u in plan.option("efv-tdf-ftc").uncertainty)


def test_conflicting_weights_leave_warfarin_dose_indeterminate(example_plans):
    from genmed.patient.model import Observation

    patient = example_plans["acs-cyp2c19-warfarin"][0].model_copy(deep=True)
    w = next(o for o in patient.observations if o.key == "weight_kg")
    patient.observations.append(Observation(key="weight_kg", codes=w.codes, value=97.0, unit="kg", effective=w.effective,
                                            source_id="Observation/w2"))
    plan = build_plan(patient)
    est = plan.option("warfarin").dose_estimates[0]
    assert est.status == "indeterminate" and "conflicting weight" in est.text
    assert any("warfarin dose indeterminate" in u for u in plan.option("warfarin").uncertainty)


def test_unavailable_capability_is_stated_not_invented(example_plans, monkeypatch):
    from genmed.plan import capabilities
    from genmed.plan.model import Capability

    monkeypatch.setattr(capabilities, "pgx_module",
                        lambda: (None, Capability(name="pharmacogenomics (genmed.pgx)", available=False,
                                                  reason="genmed.pgx is not available in this build")))
    monkeypatch.setattr(capabilities, "clinical_module",
                        lambda: (None, Capability(name="treatment response (genmed.clinical)", available=False,
                                                  reason="genmed.clinical is not available in this build")))
    plan = build_plan(example_plans["breast-cyp2d6-pm"][0])
    tam = plan.option("tamoxifen")
    assert tam.status != "avoid"  # without genotypes genmed cannot know: the plan says so instead
    assert all(a.action == "indeterminate" for a in tam.pgx)
    assert tam.response.status == "no-model"
    assert plan.partial and any("not available" in m for m in plan.missing)
    assert not plan.genes


def test_receptor_negative_disease_gets_no_endocrine_options(example_plans):
    patient = example_plans["breast-cyp2d6-pm"][0].model_copy(deep=True)
    for o in patient.observations:
        if o.key in ("estrogen_receptor_status", "progesterone_receptor_status"):
            o.value = "negative"
    plan = build_plan(patient)
    bc = next(c for c in plan.conditions if c.condition == "breast_cancer")
    assert not bc.options and "receptor-negative" in bc.notes[0]


def test_ranking_is_deterministic(example_plans):
    a = _plan(example_plans, "acs-cyp2c19-warfarin")
    b = build_plan(example_plans["acs-cyp2c19-warfarin"][0])
    assert [(o.id, o.rank, o.status) for c in a.conditions for o in c.options] == \
           [(o.id, o.rank, o.status) for c in b.conditions for o in c.options]
    assert not math.isnan(a.option("warfarin").dose_estimates[0].weekly_mg)


def test_missing_model_file_makes_the_prediction_indeterminate(example_plans, monkeypatch):
    import genmed.clinical
    from genmed.core.errors import ModelNotFoundError

    def boom(*a, **k):
        raise ModelNotFoundError("twin weights not found", source="genmed/clinical/weights/gbsg2.npz")

    monkeypatch.setattr(genmed.clinical, "digital_twin", boom, raising=False)
    plan = build_plan(example_plans["breast-cyp2d6-pm"][0])
    r = plan.option("tamoxifen").response
    assert r.status == "indeterminate" and "twin weights not found" in r.reason and not r.curves
    assert any("predicted response (gbsg2)" in m for m in plan.missing)


def test_deceased_minor_and_ageless_records_are_called_out(example_plans):
    from genmed.patient.model import Issue

    base = example_plans["crc-dpyd"][0]
    dead = base.model_copy(deep=True)
    dead.issues.append(Issue(severity="warning", where="Patient.deceased", message="patient is recorded as deceased"))
    assert build_plan(dead).summary[0].startswith("WARNING: the record states that this patient is deceased")
    child = base.model_copy(deep=True)
    child.age = 12.0
    plan = build_plan(child)
    assert "for adults" in plan.summary[0] and plan.limitations[0].startswith("Paediatric")
    ageless = base.model_copy(deep=True)
    ageless.age = None
    ageless.identity.birth_date = None
    assert any(m.startswith("age: no birth date") for m in build_plan(ageless).missing)
