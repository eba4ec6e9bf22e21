"""Guideline lookup (CPIC, DPWG) per drug, with phenoconversion by co-medication.

A recommendation is returned only when every gene the guideline needs is callable and the patient's lookup key
(phenotype, activity score or allele status) matches a recommendation row; otherwise the result says
"indeterminate" (and which gene, why) or "no_recommendation". Nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Iterable

from genmed.pgx.engine import CYP2D6_AS_RULES, _fmt_score
from genmed.pgx.knowledge import load_knowledge
from genmed.pgx.models import DrugRecommendation, GeneCall, PgxResult

# Clinical inhibitors (FDA Drug Development and Drug Interactions table of CYP inhibitors, 2023). Used for
# phenoconversion as in Cicali EJ et al., Clin Transl Sci 2021;14:1954-63 (CYP2D6 AS x0 strong, x0.5 moderate).
INHIBITORS: dict[str, dict[str, set[str]]] = {
    "CYP2D6": {
        "strong": {"bupropion", "fluoxetine", "paroxetine", "quinidine", "terbinafine"},
        "moderate": {"abiraterone", "cinacalcet", "duloxetine", "lorcaserin", "mirabegron"},
    },
    "CYP2C19": {
        "strong": {"fluconazole", "fluoxetine", "fluvoxamine", "ticlopidine"},
        "moderate": {"esomeprazole", "felbamate", "moclobemide", "omeprazole", "voriconazole"},
    },
}
_C19_ORDER = ["Poor Metabolizer", "Intermediate Metabolizer", "Normal Metabolizer", "Rapid Metabolizer",
              "Ultrarapid Metabolizer"]
PHENOCONVERSION_REF = ("Cicali EJ et al. Clin Transl Sci 2021;14:1954-63; FDA table of CYP inhibitors "
                       "(https://www.fda.gov/drugs/drug-interactions-labeling/healthcare-professionals-fdas-"
                       "examples-drugs-interact-cyp-enzymes-and-transporter-systems)")


def list_drugs() -> list[str]:
    return sorted({d for g in load_knowledge()["guidelines"] for d in g["drugs"]})


def phenoconvert(gene: str, call: GeneCall, co_medications: Iterable[str]) -> tuple[list[str], list[str]]:
    """Effective lookup keys after inhibition, and notes saying so (empty notes = no change)."""
    meds = {m.strip().lower() for m in co_medications}
    table = INHIBITORS.get(gene)
    if not table or not meds:
        return call.lookup_keys, []
    strong = sorted(meds & table["strong"])
    moderate = sorted(meds & table["moderate"])
    if not strong and not moderate:
        return call.lookup_keys, []
    level, drugs = ("strong", strong) if strong else ("moderate", moderate)
    if gene == "CYP2D6":
        if call.activity_score is None:
            return call.lookup_keys, [f"{gene}: {level} inhibitor {', '.join(drugs)} present but activity score "
                                      "unknown; phenoconversion not applied"]
        new = float(call.activity_score) * (0.0 if level == "strong" else 0.5)
        new_s = _fmt_score(new)
        label = next((lab for lo, hi, lab in CYP2D6_AS_RULES if lo - 1e-9 <= new <= hi + 1e-9), "Indeterminate")
        return [new_s], [f"{gene}: activity score {call.activity_score} -> {new_s} ({label}) because of {level} "
                         f"inhibitor {', '.join(drugs)} (phenoconversion; {PHENOCONVERSION_REF})"]
    # CYP2C19: strong -> poor; moderate -> one class lower.
    ph = call.phenotype or ""
    base = ph.replace("Likely ", "")
    if base not in _C19_ORDER:
        return call.lookup_keys, [f"{gene}: {level} inhibitor present but phenotype {ph!r} cannot be shifted"]
    new_ph = "Poor Metabolizer" if level == "strong" else _C19_ORDER[max(0, _C19_ORDER.index(base) - 1)]
    return [new_ph], [f"{gene}: {ph} -> {new_ph} because of {level} inhibitor {', '.join(drugs)} "
                      f"(phenoconversion; {PHENOCONVERSION_REF})"]


def _key_matches(want, call: GeneCall, keys: list[str]) -> bool:
    if isinstance(want, dict):  # diplotype-count form, e.g. {"*1": 1.0, "*28": 1.0}
        for d in call.diplotypes[:1]:
            counts: dict[str, float] = {}
            for h in d.haplotypes:
                counts[h.name] = counts.get(h.name, 0) + 1.0
            if counts == {k: float(v) for k, v in want.items()}:
                return True
        return False
    w = str(want)
    wl = w.split(" (")[0].strip().lower()  # DPYD "1.0 (Intermediate Metabolizer)"
    for k in keys:
        kl = str(k).lower()
        if kl == w.lower() or kl == wl:
            return True
        try:
            if float(kl) == float(wl):
                return True
        except ValueError:
            pass
    return False


# Activity score -> phenotype (CPIC): CYP2D6 consensus 2020; CYP2C9 2020 and DPYD 2017 guidelines.
_AS_PHENOTYPE = {
    "CYP2D6": CYP2D6_AS_RULES,
    "CYP2C9": ((0.0, 0.5, "Poor Metabolizer"), (1.0, 1.5, "Intermediate Metabolizer"), (2.0, 2.0, "Normal Metabolizer")),
    "DPYD": ((0.0, 0.5, "Poor Metabolizer"), (1.0, 1.5, "Intermediate Metabolizer"), (2.0, 2.0, "Normal Metabolizer")),
}


def as_phenotype(gene: str, score: float) -> str | None:
    for lo, hi, label in _AS_PHENOTYPE.get(gene, ()):
        if lo - 1e-9 <= score <= hi + 1e-9:
            return label
    return None


def _scores_for_phenotype(g: dict, gene: str, phenotype: str) -> list[str]:
    """Numeric lookup keys of this guideline whose activity score means ``phenotype``."""
    out = set()
    for r in g["recommendations"]:
        v = r["lookup"].get(gene)
        try:
            x = float(str(v).split(" (")[0])
        except (TypeError, ValueError):
            continue
        if as_phenotype(gene, x) == phenotype:
            out.add(str(v).split(" (")[0])
    return sorted(out)


def _guideline_genes(g: dict) -> list[str]:
    genes: list[str] = []
    for r in g["recommendations"]:
        for k in r["lookup"]:
            if k not in genes:
                genes.append(k)
    return genes or list(g["genes"])


def recommend(result: PgxResult, drugs: Iterable[str] | None = None, *, co_medications: Iterable[str] = (),
              sources: Iterable[str] = ("CPIC", "DPWG")) -> list[DrugRecommendation]:
    """Guideline recommendations for ``drugs`` (default: every drug with a guideline) given a sample's calls."""
    kb = load_knowledge()
    srcs = {s.upper() for s in sources}
    meds = list(co_medications)
    wanted = [d.strip().lower() for d in drugs] if drugs is not None else list_drugs()
    out: list[DrugRecommendation] = []
    for drug in wanted:
        gls = [g for g in kb["guidelines"] if drug in [x.lower() for x in g["drugs"]] and g["source"] in srcs]
        if not gls:
            out.append(DrugRecommendation(drug=drug, status="no_guideline", knowledge_version=kb["version"],
                                          reason="no CPIC/DPWG guideline for this drug in the knowledge pack"))
            continue
        for g in gls:
            out.extend(_recommend_one(drug, g, result, meds, kb["version"]))
    return out


def _recommend_one(drug: str, g: dict, result: PgxResult, meds: list[str], kv: str) -> list[DrugRecommendation]:
    base = dict(drug=drug, source=g["source"], guideline=g["name"], guideline_version=g["version"],
                guideline_url=g["url"], citations=[str(c["pmid"]) for c in g["citations"] if c.get("pmid")],
                knowledge_version=kv)
    if not g["recommendations"]:
        note = ("no lookup table in the guideline; use genmed.pgx.warfarin_dose_iwpc (IWPC algorithm with CPIC "
                "adjustments)" if drug == "warfarin" else "guideline has no recommendation table")
        return [DrugRecommendation(status="no_recommendation", reason=note, **base)]
    genes = _guideline_genes(g)
    keys: dict[str, list[str]] = {}
    expanded: dict[str, list[str]] = {}
    pheno_notes: list[str] = []
    not_callable: dict[str, str] = {}
    for gene in genes:
        call = result.genes.get(gene)
        if call is None or not call.callable:
            why = "not in the calls" if call is None else (call.reason or call.status)
            not_callable[gene] = why
            continue
        k, notes = phenoconvert(gene, call, meds)
        pheno_notes += notes
        if (not notes and call.activity_score is None and call.phenotype and gene in _AS_PHENOTYPE
                and (scores := _scores_for_phenotype(g, gene, call.phenotype))):
            # phenotype-only outside call where the guideline is keyed by activity score: try every score that
            # means this phenotype; used only if they all give the same recommendation (checked below)
            expanded[gene] = scores
            keys[gene] = scores + [call.phenotype]
            continue
        if not notes and gene not in {"HLA-A", "HLA-B"}:
            # both the phenotype and the activity score can serve as keys (CPIC uses AS, DPWG often phenotype)
            extra = {x for x in (call.phenotype, call.activity_score) if x}
            k = list(k) + sorted(extra - set(k)) if len(k) == 1 else k
        if len(k) != 1 and gene not in {"HLA-A", "HLA-B"} and len(call.lookup_keys) != 1:
            not_callable[gene] = (f"ambiguous: diplotypes {', '.join(d.name for d in call.diplotypes)} map to "
                                  f"different keys ({', '.join(k) or 'none'})")
            continue
        keys[gene] = k
    used = {gene: (", ".join(keys[gene]) if gene.startswith("HLA") or gene in expanded else keys[gene][0])
            for gene in keys}
    dips = {gene: result.genes[gene].diplotype or "" for gene in keys}
    matched = []
    for r in g["recommendations"]:
        ok = True
        for gene, want in r["lookup"].items():
            if gene in not_callable:
                ok = str(want) == "No Result"
            elif gene in keys:
                ok = _key_matches(want, result.genes[gene], keys[gene])
            else:
                ok = False
            if not ok:
                break
        if ok and (not r["drugs"] or drug in [x.lower() for x in r["drugs"]]):
            matched.append(r)
    if not_callable and not matched:
        reason = "; ".join(f"{gene} not callable ({why})" for gene, why in not_callable.items())
        return [DrugRecommendation(status="indeterminate", reason=reason, genes=used, diplotypes=dips,
                                   phenoconversion=pheno_notes, **base)]
    if not matched:
        reason = "no recommendation row for " + ", ".join(f"{k}={v}" for k, v in used.items())
        return [DrugRecommendation(status="no_recommendation", reason=reason, genes=used, diplotypes=dips,
                                   phenoconversion=pheno_notes, **base)]
    if expanded:
        by_pop: dict[str | None, dict[str, dict]] = {}
        for r in matched:
            by_pop.setdefault(r["population"], {}).setdefault(r["text"], r)
        if any(len(texts) > 1 for texts in by_pop.values()):
            gene_list = ", ".join(f"{gn} {result.genes[gn].phenotype} (activity {'/'.join(sc)})"
                                  for gn, sc in expanded.items())
            return [DrugRecommendation(
                status="indeterminate", genes=used, diplotypes=dips, phenoconversion=pheno_notes,
                reason=f"phenotype-only call {gene_list}: the guideline's recommendation depends on the activity "
                       "score, which the outside call does not give", **base)]
        matched = [r for texts in by_pop.values() for r in texts.values()]
    out = []
    for r in matched:
        reason = None
        if expanded:
            reason = ("phenotype-only call: every activity score of this phenotype gives this recommendation ("
                      + "; ".join(f"{gn}: {', '.join(sc)}" for gn, sc in expanded.items()) + ")")
        if not_callable:
            reason = "; ".join(f"{gene} not callable ({why}); used the guideline's 'No Result' row"
                               for gene, why in not_callable.items()) + (f"; {reason}" if reason else "")
        out.append(DrugRecommendation(
            status="recommendation", genes={**used, **{k: "No Result" for k in not_callable}}, diplotypes=dips,
            population=r["population"], classification=r["classification"], recommendation=r["text"],
            implications=r["implications"], dosing_information=r["dosing"],
            alternate_drug_available=r["alternate_drug"], phenoconversion=pheno_notes, reason=reason, **base))
    return out
