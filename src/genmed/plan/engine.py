"""Assemble a :class:`TreatmentPlan` from the record, the PGx engine, the response models and the knowledge file.

The plan engine computes nothing clinical itself: diplotypes, guideline advice, phenoconversion and warfarin dosing
come from ``genmed.pgx``; predicted response from ``genmed.clinical``; options, contraindications and interactions
from the cited knowledge file. What it adds is the assembly: which advice applies to which option, the checks
against allergies and the rest of the record, the ranking, and an account of everything it could not determine.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from genmed.core.errors import GenmedError
from genmed.core.logging import get_logger
from genmed.patient.codes import code_map
from genmed.patient.model import Patient
from genmed.plan import capabilities as caps
from genmed.plan.covariates import trial_covariates
from genmed.plan.findings import collect_findings
from genmed.plan.knowledge import Knowledge, OptionSpec, load_knowledge
from genmed.plan.model import (
    Capability,
    ConditionPlan,
    Curve,
    DoseEstimate,
    DrugAdvice,
    Evidence,
    Flag,
    GeneResult,
    MedicationReview,
    Option,
    ResponsePrediction,
    TreatmentPlan,
)

log = get_logger("genmed.plan")

TRIAL_SOURCES = {"ebctcg-ai-2015", "gbsg2", "triton-2007", "plato-2009", "idea-2018", "xact-2005", "actg320-1997",
                 "va-lung-1980", "iwpc-2009"}
ORAL_ANTICOAGULANTS = {"warfarin", "apixaban", "rivaroxaban", "dabigatran", "edoxaban"}
ENZYME_INDUCERS = {"carbamazepine", "phenytoin", "rifampin"}
STATUS_ORDER = {"recommended": 0, "consider": 1, "use-with-caution": 2, "not-applicable": 3, "avoid": 4}
IWPC_RACE = {"white": "white", "black": "black", "black or african american": "black", "african american": "black",
             "asian": "asian"}


def _source_kind(key: str) -> str:
    if key.endswith("-label"):
        return "label"
    return "trial" if key in TRIAL_SOURCES else "guideline"


class _Ctx:
    """Everything computed once per plan and shared by the option checks."""

    def __init__(self, patient: Patient, kb: Knowledge, seed: int):
        self.patient = patient
        self.kb = kb
        self.seed = seed
        self.cmap = code_map()
        self.current = {m.key for m in patient.current_medications() if m.key}
        self.allergies = {a.key: a for a in patient.allergies if a.key}
        self.pgx = None
        self.pgx_result = None
        self.clinical = None
        self.capabilities: list[Capability] = []
        self.missing: list[str] = []
        self.limitations: list[str] = []
        self._advice: dict[tuple[str, tuple[str, ...]], list[DrugAdvice]] = {}
        self._twins: dict[tuple[str, str, str], ResponsePrediction] = {}
        self.genes: list[GeneResult] = []

    # -------------------------------------------------------------------------------------------- PGx
    def call_pgx(self, pgx_result: Any | None) -> None:
        self.pgx, cap = caps.pgx_module()
        self.capabilities.append(cap)
        p = self.patient
        if self.pgx is None:
            self.missing.append(f"pharmacogenomics: {cap.reason}; every PGx check below is indeterminate")
            return
        if pgx_result is not None:
            self.pgx_result = pgx_result
        elif p.vcf is None and not p.genotypes:
            self.missing.append("pharmacogenomics: the record has no VCF and no genotype results; every PGx check "
                                "is indeterminate")
            return
        else:
            with caps.scratch_dir() as tmp:
                from pathlib import Path

                folder = Path(tmp)
                oc = caps.outside_calls_file([(g.gene, g.diplotype, g.phenotype) for g in p.genotypes], folder)
                vcf = p.vcf or caps.empty_vcf(p.vcf_sample or "patient", folder)
                self.pgx_result = self.pgx.call_vcf(vcf, sample=p.vcf_sample, outside_calls=oc)
            if p.vcf is None:
                self.missing.append("pharmacogenomics: no VCF in the record; only the record's own genotype results "
                                    "(" + ", ".join(g.gene for g in p.genotypes) + ") were interpreted")
        res = self.pgx_result
        for gene, c in sorted(res.genes.items()):
            self.genes.append(GeneResult(
                gene=gene, status=c.status, diplotype=c.diplotype if c.diplotypes else None, phenotype=c.phenotype,
                activity_score=c.activity_score, reason=c.reason,
                origin="outside call (record)" if c.status == "outside_call" else "VCF",
                missing_positions=len(c.missing_positions), warnings=list(c.warnings),
                source=_gene_source(c.source),
            ))

    def advice(self, drug: str, population: tuple[str, ...] = ()) -> list[DrugAdvice]:
        """Guideline rows for ``drug`` (CPIC first), filtered to the population of the indication."""
        key = (drug, population)
        if key in self._advice:
            return self._advice[key]
        if self.pgx is None or self.pgx_result is None:
            why = next((m for m in self.missing if m.startswith("pharmacogenomics")), "PGx not available")
            out = [DrugAdvice(drug=drug, action="indeterminate", text=why.split(": ", 1)[-1])]
            self._advice[key] = out
            return out
        co = sorted(self.current - {drug})
        recs = self.pgx.recommend(self.pgx_result, [drug], co_medications=co)
        rows = [_advice_from(r) for r in recs]
        cpic = [r for r in rows if r.source == "CPIC"]
        if population and len({r.population for r in cpic}) > 1:
            fit = [r for r in cpic if r.population and all(
                re.search(rf"(?<![\w-]){re.escape(t)}(?!\w)", r.population, re.I) for t in population)]
            if fit:
                rows = fit + [r for r in rows if r.source != "CPIC"]
        rows.sort(key=lambda r: (r.source != "CPIC", r.action == "no-recommendation"))
        self._advice[key] = rows
        return rows

    # -------------------------------------------------------------------------------------------- response
    def response(self, spec: OptionSpec) -> ResponsePrediction:
        t = spec.trial
        assert t is not None
        key = (t.name, t.arm, t.comparator)
        if key in self._twins:
            return self._twins[key]
        if self.clinical is None:
            pred = ResponsePrediction(status="no-model", trial=t.name, arm=t.arm, comparator=t.comparator,
                                      reason="treatment-response capability (genmed.clinical) not available")
        elif t.name not in self.clinical.list_trials():
            pred = ResponsePrediction(status="no-model", trial=t.name, arm=t.arm, comparator=t.comparator,
                                      reason=f"no response model for trial {t.name!r} (available: "
                                             f"{', '.join(self.clinical.list_trials())})")
        else:
            pred = self._twin(t.name, t.arm, t.comparator)
        self._twins[key] = pred
        return pred

    def _twin(self, trial: str, arm: str, comparator: str) -> ResponsePrediction:
        schema = self.clinical.trial_schema(trial)
        cov, notes = trial_covariates(schema.name, self.patient)
        base = dict(trial=schema.name, trial_title=schema.title, arm=arm, comparator=comparator,
                    endpoint=schema.endpoint, time_unit=schema.time_unit, covariates=cov)
        try:
            twin = self.clinical.digital_twin(schema.name, cov, arms=[comparator, arm], seed=self.seed, n_samples=20,
                                              explain=False)
        except GenmedError as exc:  # missing covariates, implausible values, a model file absent
            missing = list(getattr(exc, "missing", []))
            msg = str(exc)
            if missing:
                msg = "missing covariate(s) " + ", ".join(
                    f"{m} ({schema.covariate(m).describe_expected()})" for m in missing)
            self.missing.append(f"predicted response ({schema.name}): indeterminate, {msg}")
            return ResponsePrediction(status="indeterminate", reason=msg + ("; " + "; ".join(notes) if notes else ""),
                                      missing=missing, **base)
        curves = [Curve(arm=a.arm, label=a.label, times=a.times, survival=a.survival, lower=a.survival_lower,
                        upper=a.survival_upper, rmst=a.rmst, rmst_interval=tuple(a.rmst_interval),
                        event_free_at_horizon=a.event_free_at_horizon,
                        event_free_interval=tuple(a.event_free_interval), median_time=a.median_time)
                  for a in twin.arms.values()]
        comp = twin.comparisons[0]
        status = "predicted" if twin.within_population else "outside-population"
        return ResponsePrediction(
            status=status, horizon=twin.horizon, curves=curves, rmst_gain=comp.rmst_gain,
            rmst_gain_interval=tuple(comp.rmst_gain_interval), p_benefit=comp.p_a_beats_b,
            hazard_ratio=comp.hazard_ratio,
            hazard_ratio_interval=tuple(comp.hazard_ratio_interval) if comp.hazard_ratio_interval else None,
            flags=list(twin.flags) + notes, model=_jsonable(twin.provenance),
            **{**base, "covariates": _jsonable(twin.covariates)},
        )


def _jsonable(d: Any) -> Any:
    import json

    return json.loads(json.dumps(d, default=str))


def _gene_source(src: dict[str, Any]) -> str | None:
    parts = []
    if "definitions" in src:
        parts.append(f"{src['definitions'].get('source')} {src['definitions'].get('version')}")
    if "outside_call" in src:
        parts.append("outside call from the patient record")
    if src.get("knowledge_version"):
        parts.append(f"genmed pgx knowledge {src['knowledge_version']}")
    return "; ".join(parts) or None


_AVOID = re.compile(r"\s*(avoid|recommend alternative|select an? alternative|use an? alternative|choose an? "
                    r"alternative|[^.]*\bnot recommended\b|[^.]*\bcontra-?indicated\b)", re.I)
_UNCHANGED = re.compile(r": (?:activity score )?(.+?) -> \1[ (]")


def _advice_from(r: Any) -> DrugAdvice:
    """Map a PGx recommendation onto one action. Both 'dose' and 'alternative' flags are set for rows such as
    'consider a lower dose ... or an alternative'; only wording that leads with avoidance counts as avoid."""
    if r.status == "indeterminate":
        action, text = "indeterminate", r.reason or "indeterminate"
    elif r.status == "no_guideline":
        action, text = "no-guideline", r.reason or "no pharmacogenomic guideline for this drug"
    elif r.status == "no_recommendation" or (r.classification or "").lower().startswith("no recommendation"):
        action, text = "no-recommendation", (r.recommendation or r.reason or "no recommendation").split("\n")[0]
    elif r.alternate_drug_available and (_AVOID.match(r.recommendation or "") or not r.dosing_information):
        action, text = "avoid", r.recommendation or ""
    elif r.dosing_information or r.alternate_drug_available:
        action, text = "adjust-dose", r.recommendation or ""
    else:
        action, text = "standard", r.recommendation or ""
    text = text.split("\nOther Considerations")[0].strip()
    notes = [n for n in r.phenoconversion if not _UNCHANGED.search(n)]
    return DrugAdvice(drug=r.drug, action=action, text=text, source=r.source, guideline=r.guideline,
                      guideline_version=r.guideline_version, url=r.guideline_url, strength=r.classification,
                      population=r.population, genes=dict(r.genes), diplotypes=dict(r.diplotypes),
                      phenoconversion=notes, pmids=list(r.citations),
                      knowledge_version=r.knowledge_version or None)


def _advice_evidence(a: DrugAdvice) -> Evidence | None:
    if not a.source:
        return None
    genes = ", ".join(f"{g} {p}" for g, p in a.genes.items())
    return Evidence(kind="guideline", source=f"{a.source}: {a.guideline or a.drug}", version=a.guideline_version,
                    url=a.url, detail=f"{a.drug} — {genes}" + (f" (PMID {', '.join(a.pmids)})" if a.pmids else ""))


def _genes_text(a: DrugAdvice, ctx: _Ctx) -> str:
    """'CYP2D6 Poor Metabolizer (activity score 0.0)' rather than the bare lookup key."""
    out = []
    by_gene = {g.gene: g for g in ctx.genes}
    for gene, key in a.genes.items():
        g = by_gene.get(gene)
        if g and g.phenotype and g.phenotype != key:
            what = "activity score" if key.replace(".", "", 1).isdigit() else "lookup"
            out.append(f"{gene} {g.diplotype + ' ' if g.diplotype else ''}{g.phenotype} ({what} {key})")
        else:
            out.append(f"{gene} {g.diplotype + ' ' if g and g.diplotype else ''}{key}")
    return ", ".join(out)


def _primary(advice: list[DrugAdvice]) -> DrugAdvice | None:
    """The advice that decides: a CPIC row that says something, else DPWG, else whatever there is."""
    for a in advice:
        if a.action in ("avoid", "adjust-dose", "standard"):
            return a
    return advice[0] if advice else None


# ------------------------------------------------------------------------------------------------ options
def _evaluate(spec: OptionSpec, cond_key: str, population: tuple[str, ...], replaced: set[str], ctx: _Ctx) -> Option:
    p, kb = ctx.patient, ctx.kb
    opt = Option(id=spec.id, label=spec.label, condition=cond_key, drugs=spec.drugs, dose=spec.dose,
                 standard_dose=spec.dose, tier=spec.tier)
    tier_text = {1: "guideline-preferred", 2: "guideline alternative", 3: "historical trial arm (shown for its "
                 "validated response model)"}[spec.tier]
    opt.rationale.append(f"{tier_text.capitalize()} for {kb.conditions[cond_key].label.lower()} "
                         f"[{', '.join(spec.sources)}]")
    for s in spec.sources:
        opt.evidence.append(Evidence(kind=_source_kind(s), source=kb.cite(s), version=kb.version, detail=s))

    # allergy
    for d in spec.drugs:
        if d in ctx.allergies:
            a = ctx.allergies[d]
            opt.flags.append(Flag(severity="block", code="allergy", source=a.source_id,
                                  message=f"recorded allergy/intolerance to {d}"
                                  + (f" ({a.reaction}" + (f", criticality {a.criticality})" if a.criticality else ")")
                                     if a.reaction else "")))
    # contraindications from the record
    for c in spec.contraindicated_by:
        if p.history_of(c):
            rec = next(x for x in p.conditions if x.key == c)
            opt.flags.append(Flag(severity="block", code="contraindication", source=rec.source_id,
                                  message=f"contraindicated: history of {ctx.cmap.condition_label(c).lower()} "
                                          f"({rec.label}) [{', '.join(s for s in spec.sources if s.endswith('-label')) or spec.sources[0]}]"))
    if "age_at_least" in spec.avoid_if:
        limit = spec.avoid_if["age_at_least"]
        if p.age is None:
            opt.uncertainty.append(f"age unknown: the age limit ({limit:g} years) could not be checked")
        elif p.age >= limit:
            opt.flags.append(Flag(severity="warning", code="contraindication",
                                  message=f"generally not recommended at age >= {limit:g} (patient {p.age:g})"))
    if spec.min_egfr is not None:
        egfr, why = p.value("egfr")
        if egfr is None:
            opt.uncertainty.append(f"renal function not checked: {why}")
            opt.flags.append(Flag(severity="info", code="missing-data",
                                  message=f"eGFR needed (option requires eGFR >= {spec.min_egfr:g}): {why}"))
        elif float(egfr) < spec.min_egfr:
            opt.flags.append(Flag(severity="block", code="contraindication",
                                  message=f"eGFR {egfr:g} below {spec.min_egfr:g} mL/min/1.73m2"))
    for req, wanted in spec.requires.items():
        if wanted and not p.has_condition(req):
            opt.flags.append(Flag(severity="warning", code="requirement",
                                  message=f"requires {ctx.cmap.condition_label(req).lower()}, which the record does "
                                          "not state (premenopausal women need ovarian function suppression)"))
    if spec.requires_test:
        gene = spec.requires_test["gene"]
        g = next((x for x in ctx.genes if x.gene == gene), None)
        if g is None or g.status == "not_called":
            opt.flags.append(Flag(severity="warning", code="test-required",
                                  message=f"{spec.requires_test['why']}: no {gene} result in the record"))

    # pharmacogenomics, drug by drug
    adjusted = []
    for d in spec.drugs:
        adv = ctx.advice(d, population)
        opt.pgx.extend(adv)
        prim = _primary(adv)
        if prim is None:
            continue
        ev = _advice_evidence(prim)
        if ev:
            opt.evidence.append(ev)
        genes = _genes_text(prim, ctx)
        tag = f"{prim.source} {prim.guideline_version or ''}".strip()
        if prim.action == "avoid":
            opt.flags.append(Flag(severity="block", code="pgx-avoid", source=tag,
                                  message=f"{d}: {genes}: {prim.text}"))
            opt.rationale.append(f"{tag} ({genes}) advises against standard {d} (guideline text under Flags)")
        elif prim.action == "adjust-dose":
            opt.flags.append(Flag(severity="warning", code="pgx-dose", source=tag, message=f"{d}: {genes}: {prim.text}"))
            opt.rationale.append(f"{tag} ({genes}) gives genotype-guided dosing for {d} (under Flags)")
            adjusted.append(f"{d}: {prim.text}")
        elif prim.action == "standard":
            opt.rationale.append(f"{tag} ({genes}): {prim.text}")
        elif prim.action == "indeterminate":
            opt.uncertainty.append(f"{d}: pharmacogenomic check indeterminate — {prim.text}")
            opt.flags.append(Flag(severity="info", code="pgx-indeterminate", message=f"{d}: {prim.text}"))
        for note in prim.phenoconversion:
            opt.flags.append(Flag(severity="warning", code="phenoconversion", message=note, source=tag))
    if adjusted:
        opt.dose = f"{spec.dose} — PGx adjustment: " + " | ".join(adjusted)

    # interactions with the medication list (drugs this option replaces are left out; their switch is noted)
    others = ctx.current - set(spec.drugs)
    for inter in ctx.kb.interactions:
        pair = set(inter.drugs)
        mine = pair & set(spec.drugs)
        theirs = pair - mine
        if not mine or len(theirs) != 1:
            continue
        other = next(iter(theirs))
        if other not in others:
            continue
        if other in replaced:
            opt.flags.append(Flag(severity="info", code="switch", source=inter.source,
                                  message=f"switching from current {other}: {inter.text}"))
        else:
            opt.flags.append(Flag(severity="warning" if inter.severity == "major" else "info", code="interaction",
                                  source=inter.source, message=f"with current {other}: {inter.text}"))
            opt.evidence.append(Evidence(kind=_source_kind(inter.source), source=kb.cite(inter.source),
                                         version=kb.version, detail=inter.source))
    on_oac = bool(ctx.current & ORAL_ANTICOAGULANTS) or p.has_condition("atrial_fibrillation")
    if spec.preferred_with_oral_anticoagulant and on_oac:
        opt.rationale.append("With an oral anticoagulant, clopidogrel is the P2Y12 inhibitor of choice "
                             "[acc-af-pci-2020]")
        if any(f.code == "pgx-avoid" for f in opt.flags):
            opt.flags.append(Flag(severity="warning", code="conflict", source="acc-af-pci-2020",
                                  message="conflicting advice: genotype argues against clopidogrel, the anticoagulant "
                                          "argues against prasugrel/ticagrelor; needs a specialist decision "
                                          "(bleeding vs ischaemic risk)"))

    if spec.bsa_doses:
        opt.dose_estimates.extend(_bsa_doses(spec, opt, ctx))

    if spec.warfarin_dosing:
        est = _warfarin(ctx)
        opt.dose_estimates.append(est)
        if est.status == "estimated":
            opt.dose = f"{spec.dose}; genotype-guided start {est.text}"
            if "warfarin" in ctx.current:
                inr, _ = p.value("inr")
                in_range = isinstance(inr, float) and 2.0 <= inr <= 3.0
                opt.flags.append(Flag(severity="info", code="current-therapy", source="cpic-warfarin-2017",
                                      message="already on warfarin" + (f" with INR {inr:g} in range" if in_range else "")
                                      + ": the genotype-guided dose is for initiation; an established dose is "
                                      "adjusted to INR, not to genotype"))
            opt.evidence.append(Evidence(kind="algorithm", source=est.citation or "IWPC", detail=est.algorithm))
        else:
            opt.uncertainty.append(f"warfarin dose indeterminate: {est.text}")

    if spec.trial:
        pred = ctx.response(spec)
        opt.response = pred
        if pred.status in ("predicted", "outside-population"):
            m = pred.model
            opt.evidence.append(Evidence(
                kind="model", source=f"{m.get('model')} digital twin on {pred.trial}",
                version=str(m.get("model_version")),
                detail=f"cross-validated C-index {m.get('cv_c_index')}; trained on {m.get('training_data') or pred.trial}"
                       f"; {m.get('trial_citation')}"))
            if pred.status == "outside-population":
                opt.uncertainty.append("the patient lies outside the trial's population; the prediction is an "
                                       "extrapolation: " + "; ".join(pred.flags))
            if any(f.code == "pgx-avoid" for f in opt.flags):
                opt.uncertainty.append("the trial population was not genotyped: the predicted benefit is for an "
                                       "average trial patient, not for this genotype")
        else:
            opt.uncertainty.append(f"predicted response {pred.status}: {pred.reason}")
    else:
        opt.response = ResponsePrediction(status="no-model",
                                          reason="no randomised-trial response model covers this option")

    # status
    if any(f.severity == "block" for f in opt.flags):
        opt.status = "avoid"
    elif spec.tier == 3:
        opt.status = "not-applicable"
    elif any(f.severity == "warning" for f in opt.flags):
        opt.status = "use-with-caution"
    else:
        opt.status = "recommended" if spec.tier == 1 else "consider"
    return opt


_REDUCE = re.compile(r"reduc\w*\s+(?:the\s+)?(?:starting\s+|initial\s+)?dose\s+by\s+(\d+)\s*%", re.I)
MOSTELLER = "Mosteller RD. Simplified calculation of body-surface area. N Engl J Med 1987;317:1098"


def _bsa_doses(spec: OptionSpec, opt: Option, ctx: _Ctx) -> list[DoseEstimate]:
    """mg doses from mg/m2 and the record's BSA (Mosteller), with a PGx percentage reduction when the guideline
    text states one ("Reduce starting dose by 50%"); anything unreadable leaves the dose indeterminate."""
    p = ctx.patient
    h, why_h = p.value("height_cm")
    w, why_w = p.value("weight_kg")
    out = []
    missing = [x for x in (why_h if h is None else None, why_w if w is None else None) if x]
    bsa = None if missing else math.sqrt(float(h) * float(w) / 3600.0)
    for b in spec.bsa_doses:
        if bsa is None:
            out.append(DoseEstimate(drug=b.drug, status="indeterminate", text="; ".join(missing), missing=missing,
                                    algorithm="BSA (Mosteller) x mg/m2"))
            continue
        factor, note = 1.0, None
        prim = _primary([a for a in opt.pgx if a.drug == b.drug])
        if prim is not None and prim.action == "adjust-dose":
            m = _REDUCE.search(prim.text)
            if m:
                factor = 1 - int(m.group(1)) / 100
                note = f"{prim.source} {prim.guideline_version}: starting dose reduced by {m.group(1)}%"
            else:
                out.append(DoseEstimate(drug=b.drug, status="indeterminate", algorithm="BSA (Mosteller) x mg/m2",
                                        text=f"guideline dose advice not expressible as a percentage: {prim.text}",
                                        inputs={"bsa_m2": round(bsa, 2)}))
                continue
        full = b.mg_per_m2 * bsa
        mg = full * factor
        text = (f"{b.drug} {mg:.0f} mg {b.schedule} ({b.mg_per_m2:g} mg/m2 x BSA {bsa:.2f} m2"
                + (f" = {full:.0f} mg, {note}" if note else "") + ")")
        out.append(DoseEstimate(drug=b.drug, status="estimated", text=text, daily_mg=None,
                                algorithm="BSA (Mosteller) x mg/m2" + (" with PGx reduction" if note else ""),
                                citation=MOSTELLER,
                                inputs={"height_cm": h, "weight_kg": w, "bsa_m2": round(bsa, 3),
                                        "mg_per_m2": b.mg_per_m2, "pgx_factor": factor},
                                warnings=["round to available tablet/vial strengths; cap BSA per local policy"]))
    return out


def _warfarin(ctx: _Ctx) -> DoseEstimate:
    p = ctx.patient
    missing = []
    vals = {}
    for key, name in (("height_cm", "height_cm"), ("weight_kg", "weight_kg")):
        v, why = p.value(key)
        if v is None or not isinstance(v, float):
            missing.append(why or f"{key} not numeric")
        else:
            vals[name] = v
    if p.age is None:
        missing.append("age (birth date) not in the record")
    if ctx.pgx is None or ctx.pgx_result is None:
        missing.append("genotypes (PGx engine not available or no genotype data)")
    if missing:
        return DoseEstimate(drug="warfarin", status="indeterminate", text="; ".join(missing), missing=missing,
                            algorithm="IWPC pharmacogenetic algorithm")
    race = IWPC_RACE.get((p.race or "").strip().lower())
    try:
        est = ctx.pgx.warfarin_dose(ctx.pgx_result, age_years=p.age, height_cm=vals["height_cm"],
                                    weight_kg=vals["weight_kg"], race=race,
                                    enzyme_inducer=bool(ctx.current & ENZYME_INDUCERS),
                                    amiodarone="amiodarone" in ctx.current)
    except GenmedError as exc:
        return DoseEstimate(drug="warfarin", status="indeterminate", text=str(exc), missing=[str(exc)],
                            algorithm="IWPC pharmacogenetic algorithm")
    if est.status != "estimated" or est.weekly_dose_mg is None:
        return DoseEstimate(drug="warfarin", status="indeterminate", text=est.reason or "not estimable",
                            algorithm=est.algorithm, citation=est.citation, inputs=est.inputs, warnings=est.warnings)
    rng = est.range_weekly_mg
    text = (f"{est.weekly_dose_mg:g} mg/week (about {est.daily_dose_mg:g} mg/day)"
            + (f", range {rng[0]:g}-{rng[1]:g} mg/week" if rng and rng[0] != rng[1] else "")
            + "; adjust to INR 2.0-3.0")
    if race is None:
        est.warnings.append(f"race {p.race!r} entered as 'missing/mixed' (IWPC coefficient)")
    return DoseEstimate(drug="warfarin", status="estimated", text=text, weekly_mg=est.weekly_dose_mg,
                        daily_mg=est.daily_dose_mg, range_weekly_mg=tuple(rng) if rng else None,
                        algorithm=est.algorithm, citation=est.citation, inputs=_jsonable(est.inputs),
                        warnings=list(est.warnings) + list(est.adjustments))


# ------------------------------------------------------------------------------------------------ review
def _review(ctx: _Ctx) -> list[MedicationReview]:
    out = []
    p = ctx.patient
    populations = {}
    for key, cond in ctx.kb.conditions.items():
        if p.has_condition(key):
            for o in cond.options:
                for d in o.drugs:
                    populations.setdefault(d, tuple(cond.pgx_population))
    for m in p.current_medications():
        codes = [str(c) for c in m.codes]
        r = MedicationReview(medication=m.label, drug=m.key, dose=m.dose, codes=codes)
        if m.key is None:
            r.action = "unknown"
            r.flags.append(Flag(severity="info", code="unknown-code",
                                message="drug code not in genmed's map: not checked for PGx or interactions"))
            out.append(r)
            continue
        r.advice = ctx.advice(m.key, populations.get(m.key, ()))
        prim = _primary(r.advice)
        if prim is not None:
            genes = _genes_text(prim, ctx)
            tag = f"{prim.source} {prim.guideline_version or ''}".strip()
            if prim.action == "avoid":
                r.action = "stop-or-switch"
                r.flags.append(Flag(severity="block", code="pgx-avoid", source=tag, message=f"{genes}: {prim.text}"))
            elif prim.action == "adjust-dose":
                r.action = "adjust-dose"
                r.flags.append(Flag(severity="warning", code="pgx-dose", source=tag, message=f"{genes}: {prim.text}"))
            elif prim.action == "indeterminate":
                r.flags.append(Flag(severity="info", code="pgx-indeterminate", message=prim.text))
            for note in prim.phenoconversion:
                r.flags.append(Flag(severity="warning", code="phenoconversion", message=note, source=tag))
        if m.key == "warfarin" and r.action == "adjust-dose":
            inr, _ = p.value("inr")
            if isinstance(inr, float) and 2.0 <= inr <= 3.0:
                r.action = "continue"
                r.flags = [f for f in r.flags if f.code != "pgx-dose"]
                r.flags.append(Flag(severity="info", code="current-therapy", source="cpic-warfarin-2017",
                                    message=f"INR {inr:g} in range: genotype-guided dosing concerns initiation; keep "
                                            "the established, INR-guided dose"))
        if m.key in ctx.allergies:
            r.action = "stop-or-switch"
            r.flags.append(Flag(severity="block", code="allergy", message=f"recorded allergy to {m.key}"))
        for inter in ctx.kb.interactions:
            pair = set(inter.drugs)
            if m.key in pair and len(pair - {m.key}) == 1 and (pair - {m.key}) <= ctx.current:
                other = next(iter(pair - {m.key}))
                r.flags.append(Flag(severity="warning" if inter.severity == "major" else "info", code="interaction",
                                    source=inter.source, message=f"with {other}: {inter.text}"))
                if r.action == "continue":
                    r.action = "review"
        out.append(r)
    return out


# ------------------------------------------------------------------------------------------------ plan
def build_plan(patient: Patient, *, pgx_result: Any | None = None, knowledge: Knowledge | None = None,
               seed: int = 0) -> TreatmentPlan:
    """The treatment plan for one patient (pure: reads nothing but the record, the capabilities and the
    knowledge file; writes nothing)."""
    t0 = time.perf_counter()
    kb = knowledge or load_knowledge()
    ctx = _Ctx(patient, kb, seed)
    ctx.call_pgx(pgx_result)
    ctx.clinical, ccap = caps.clinical_module()
    ctx.capabilities.append(ccap)
    if ctx.clinical is None:
        ctx.missing.append(f"predicted response: {ccap.reason}")
    ctx.capabilities.append(Capability(name="options knowledge file", available=True, version=kb.version))

    conditions: list[ConditionPlan] = []
    planned = set()
    for key, cond in kb.conditions.items():
        if not patient.has_condition(key):
            continue
        planned.add(key)
        recs = [c for c in patient.conditions if c.key == key]
        cp = ConditionPlan(condition=key, label=cond.label,
                           source_codes=[str(code) for c in recs for code in c.codes])
        proceed = True
        if cond.requires_any_observation:
            values = {k: patient.value(k)[0] for k in cond.requires_any_observation}
            if all(v is None for v in values.values()):
                cp.notes.append("receptor status not in the record: these options assume hormone receptor-positive "
                                "disease (indeterminate until tested)")
                ctx.missing.append(f"{cond.label}: hormone receptor status not in the record")
            elif not any(str(values[k]) in allowed for k, allowed in cond.requires_any_observation.items()
                         if values[k] is not None):
                cp.notes.append("record states hormone receptor-negative disease: endocrine options do not apply")
                proceed = False
        if proceed:
            replaced = {d for o in cond.options for d in o.drugs} & ctx.current
            opts = [_evaluate(o, key, tuple(cond.pgx_population), replaced, ctx) for o in cond.options]
            opts.sort(key=lambda o: (STATUS_ORDER[o.status], o.tier))
            for i, o in enumerate(opts, 1):
                o.rank = i
            cp.options = opts
        conditions.append(cp)

    review = _review(ctx)
    found = collect_findings(patient.images, patient.expression)
    ctx.capabilities += found.capabilities
    ctx.missing += found.missing
    unplanned = [f"{c.label} ({', '.join(map(str, c.codes)) or 'uncoded'})" for c in patient.conditions
                 if c.key not in planned and c.clinical_status not in ("resolved", "inactive")
                 and c.key not in {"pci", "postmenopausal", "stroke_or_tia"}]
    for issue in patient.issues:
        if issue.severity == "error":
            ctx.missing.append(f"input {issue.where}: {issue.message}")
    if not conditions:
        ctx.missing.append("no condition in the record has treatment options in the knowledge file "
                           f"(version {kb.version}); only the medication review applies")

    evidence: dict[tuple[str, str | None], Evidence] = {}
    for cp in conditions:
        for o in cp.options:
            for e in o.evidence:
                evidence.setdefault((e.source, e.version), e)
    for r in review:
        for a in r.advice:
            ev = _advice_evidence(a)
            if ev:
                evidence.setdefault((ev.source, ev.version), ev)
    for ev in found.evidence:
        evidence.setdefault((ev.source, ev.version), ev)

    limitations = [
        "Decision support for a clinician, not a prescription: every line needs clinical review.",
        f"Options come from a small curated knowledge file (version {kb.version}); conditions outside it get no "
        "options, and guidance published after its release date is not reflected.",
        "Predicted responses come from models trained on historical randomised trials; they describe an average "
        "patient with these covariates under the trial's care, not this patient's certain outcome.",
        "PGx advice covers the genes and guidelines in genmed's knowledge pack; CYP2D6 and HLA are interpreted "
        "only from results present in the record (outside calls).",
    ]
    summary = _summary(patient, conditions, review, ctx)
    summary += [f"{f.capability.capitalize()} ({f.attachment}, research use): {f.summary}" for f in found.findings
                if f.kind != "unavailable"]
    if found.findings:
        limitations.append("Imaging and omics findings come from research models validated on public data sets "
                           "(chest X-rays of children: PneumoniaMNIST; breast tumours: GSE7390; PBMCs: Kang 2018); "
                           "they inform, never replace, a clinician's read and do not change the ranked options.")
    if any(i.where.endswith("deceased") for i in patient.issues):
        summary.insert(0, "WARNING: the record states that this patient is deceased; check the record before using "
                          "this plan.")
    if patient.age is not None and patient.age < 18:
        summary.insert(0, f"WARNING: patient aged {patient.age:g}: the options and dosing sources are for adults.")
        limitations.insert(0, "Paediatric patient: the knowledge file, guideline rows and dosing algorithms used "
                              "here were written for adults.")
    elif patient.age is None:
        ctx.missing.append("age: no birth date in the record (age limits and age-dependent dosing not checked)")
    plan = TreatmentPlan(
        plan_id=f"plan-{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(3)}",
        created_at=datetime.now(UTC).isoformat(timespec="seconds"), subject=patient.pseudonym,
        record=patient.deidentified(), summary=summary, genes=ctx.genes, medication_review=review,
        conditions=conditions, unplanned_conditions=unplanned, missing=list(dict.fromkeys(ctx.missing)),
        issues=patient.issues, limitations=limitations, capabilities=ctx.capabilities,
        knowledge=_knowledge_versions(kb, ctx), evidence=list(evidence.values()), findings=found.findings,
    )
    log.info("plan for %s: %d condition(s), %d medication(s) reviewed, %.2f s", patient.pseudonym, len(conditions),
             len(review), time.perf_counter() - t0)
    return plan


def _knowledge_versions(kb: Knowledge, ctx: _Ctx) -> dict[str, str]:
    out = {"options": f"genmed plan options {kb.version} ({kb.released})", "codes": f"genmed code map {code_map().version}"}
    if ctx.pgx_result is not None:
        out["pgx"] = f"{ctx.pgx_result.engine_version}, knowledge {ctx.pgx_result.knowledge_version}"
    return out


def _summary(patient: Patient, conditions: list[ConditionPlan], review: list[MedicationReview], ctx: _Ctx) -> list[str]:
    lines = []
    for cp in conditions:
        if not cp.options:
            lines.append(f"{cp.label}: no applicable options ({'; '.join(cp.notes)})")
            continue
        top = cp.options[0]
        avoid = [o.label for o in cp.options if o.status == "avoid"]
        line = f"{cp.label}: first choice {top.label} ({top.status})"
        if avoid:
            line += f"; avoid {', '.join(avoid)}"
        lines.append(line + ".")
    for r in review:
        if r.action in ("stop-or-switch", "adjust-dose"):
            why = next((f.message for f in r.flags if f.severity in ("block", "warning")), "")
            lines.append(f"Current {r.drug}: {r.action.replace('-', ' ')} — {why}")
    if ctx.missing:
        lines.append(f"Partial plan: {len(ctx.missing)} item(s) could not be determined (see 'What is missing').")
    return lines
