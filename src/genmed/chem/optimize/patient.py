"""Patient-aware objectives: a patient profile adds (or strengthens) scoring objectives, each with the fact that
caused it, so the report can say *why* a design run penalises what it penalises.

Profile (JSON; a bare ``genmed pgx`` result JSON is accepted too, its gene calls giving the phenotypes)::

    {"id": "optional, never logged",
     "pgx": {"CYP2D6": "poor metabolizer", "CYP2C9": "intermediate metabolizer"},
     "conditions": ["long QT syndrome", "hepatic impairment"],
     "medications": ["simvastatin", "metoprolol"]}

Rules (each rule names the ADMET-AI endpoint it uses):
- a poor / intermediate metabolizer of CYP2C9, CYP2D6 or CYP3A4 -> minimise the probability that the new drug is
  a substrate of that enzyme (weight 2 / 1). CYP1A2 and CYP2C19 have no substrate model in ADMET-AI: reported
  as *indeterminate*, not silently ignored.
- long-QT / QT prolongation -> hERG penalty raised (weight 3, and a hard filter hERG <= 0.5).
- hepatic impairment / cirrhosis / liver disease -> DILI penalty raised (weight 3).
- each co-medication cleared mainly by a CYP -> minimise inhibition of that CYP (victim-drug interaction). The
  clearance table lists FDA "sensitive / moderate sensitive substrates" (FDA, Drug Development and Drug
  Interactions: Table of Substrates, Inhibitors and Inducers); unknown drugs are reported as indeterminate.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from genmed.core.errors import InputError

CLEARANCE_SOURCE = ("FDA, Drug Development and Drug Interactions: Table of Substrates, Inhibitors and Inducers "
                    "(clinical index substrates / sensitive substrates)")
# drug (lower case, generic) -> CYPs that clear it to a clinically relevant degree
CLEARED_BY: dict[str, tuple[str, ...]] = {
    "midazolam": ("CYP3A4",), "triazolam": ("CYP3A4",), "simvastatin": ("CYP3A4",), "lovastatin": ("CYP3A4",),
    "atorvastatin": ("CYP3A4",), "tacrolimus": ("CYP3A4",), "cyclosporine": ("CYP3A4",),
    "sirolimus": ("CYP3A4",), "quetiapine": ("CYP3A4",), "apixaban": ("CYP3A4",), "rivaroxaban": ("CYP3A4",),
    "ticagrelor": ("CYP3A4",), "sildenafil": ("CYP3A4",), "buspirone": ("CYP3A4",), "felodipine": ("CYP3A4",),
    "nifedipine": ("CYP3A4",), "amlodipine": ("CYP3A4",), "colchicine": ("CYP3A4",), "fentanyl": ("CYP3A4",),
    "oxycodone": ("CYP3A4", "CYP2D6"), "ibrutinib": ("CYP3A4",), "alprazolam": ("CYP3A4",),
    "metoprolol": ("CYP2D6",), "desipramine": ("CYP2D6",), "dextromethorphan": ("CYP2D6",),
    "nebivolol": ("CYP2D6",), "atomoxetine": ("CYP2D6",), "codeine": ("CYP2D6",), "tramadol": ("CYP2D6",),
    "tamoxifen": ("CYP2D6",), "vortioxetine": ("CYP2D6",), "venlafaxine": ("CYP2D6",), "aripiprazole": ("CYP2D6",),
    "amitriptyline": ("CYP2D6", "CYP2C19"), "nortriptyline": ("CYP2D6",), "perphenazine": ("CYP2D6",),
    "warfarin": ("CYP2C9",), "phenytoin": ("CYP2C9",), "celecoxib": ("CYP2C9",), "glipizide": ("CYP2C9",),
    "glimepiride": ("CYP2C9",), "losartan": ("CYP2C9",), "siponimod": ("CYP2C9",), "tolbutamide": ("CYP2C9",),
    "omeprazole": ("CYP2C19",), "lansoprazole": ("CYP2C19",), "clopidogrel": ("CYP2C19",),
    "citalopram": ("CYP2C19",), "escitalopram": ("CYP2C19",), "voriconazole": ("CYP2C19",),
    "clobazam": ("CYP2C19",), "diazepam": ("CYP2C19",), "sertraline": ("CYP2C19",),
    "theophylline": ("CYP1A2",), "tizanidine": ("CYP1A2",), "caffeine": ("CYP1A2",), "clozapine": ("CYP1A2",),
    "duloxetine": ("CYP1A2", "CYP2D6"), "olanzapine": ("CYP1A2",), "ramelteon": ("CYP1A2",),
    "melatonin": ("CYP1A2",), "pirfenidone": ("CYP1A2",),
}
INHIBITION_ENDPOINT = {c: f"{c}_Veith" for c in ("CYP1A2", "CYP2C19", "CYP2C9", "CYP2D6", "CYP3A4")}
SUBSTRATE_ENDPOINT = {c: f"{c}_Substrate_CarbonMangels" for c in ("CYP2C9", "CYP2D6", "CYP3A4")}
LONG_QT = re.compile(r"long[\s-]*qt|lqts|qt[\s-]*prolong|torsade", re.I)
HEPATIC = re.compile(r"hepatic|liver|cirrho|hepatitis|child[\s-]*pugh", re.I)


class PatientProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = None
    pgx: dict[str, str] = Field(default_factory=dict, description="gene -> phenotype, e.g. CYP2D6: poor metabolizer")
    # the output of `genmed pgx` (PgxResult.to_dict()): phenotypes are read from its gene calls
    pgx_result: dict[str, Any] | None = None
    conditions: list[str] = Field(default_factory=list)
    medications: list[str] = Field(default_factory=list)

    def phenotypes(self) -> tuple[dict[str, str], list[str]]:
        """gene -> phenotype from ``pgx`` and ``pgx_result``; genes whose call is ambiguous are listed apart."""
        out = dict(self.pgx)
        ambiguous = []
        for gene, call in ((self.pgx_result or {}).get("genes") or {}).items():
            if not isinstance(call, dict):
                continue
            if call.get("phenotype"):
                out.setdefault(gene, str(call["phenotype"]))
            elif gene.upper().startswith("CYP"):
                ambiguous.append(gene)
        return out, ambiguous


@dataclass
class PatientObjectives:
    objectives: list[dict[str, Any]] = field(default_factory=list)
    filters: list[dict[str, Any]] = field(default_factory=list)
    facts: list[dict[str, str]] = field(default_factory=list)  # fact -> what it added (or why nothing)


def load_profile(path: str | Path) -> PatientProfile:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"patient profile not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a patient profile must be a JSON object")
    if "genes" in data and "sample" in data:  # a bare `genmed pgx` result
        data = {"pgx_result": data}
    try:
        return PatientProfile(**data)
    except ValidationError as exc:
        from genmed.chem.scoring.config import validation_message

        raise InputError(f"{path}: {validation_message(exc)}") from None


def _phenotype_weight(phenotype: str) -> float | None:
    p = phenotype.lower()
    if "poor" in p:
        return 2.0
    if "intermediate" in p:
        return 1.0
    return None


def patient_objectives(profile: PatientProfile) -> PatientObjectives:
    out = PatientObjectives()

    def admet(endpoint: str, weight: float, reason: str, name: str) -> None:
        out.objectives.append({"component": "admet", "name": name, "params": {"endpoint": endpoint},
                               "direction": "minimize", "weight": weight, "reason": reason})

    phenotypes, ambiguous = profile.phenotypes()
    for gene in ambiguous:
        out.facts.append({"fact": f"{gene} (genmed pgx call)",
                          "added": "indeterminate: no single phenotype (ambiguous or missing diplotype)"})
    for gene, phenotype in phenotypes.items():
        g = gene.upper().replace(" ", "")
        w = _phenotype_weight(phenotype)
        fact = f"{g} {phenotype}"
        if w is None:
            normal = re.search(r"normal|rapid|extensive|increased", phenotype, re.I)
            out.facts.append({"fact": fact, "added": "nothing (normal or increased function)" if normal
                              else "nothing (genmed has no design rule for this gene/phenotype)"})
        elif g in SUBSTRATE_ENDPOINT:
            name = f"patient_{g.lower()}_substrate"
            admet(SUBSTRATE_ENDPOINT[g], w, f"patient is a {phenotype} of {g}: its substrates accumulate", name)
            out.facts.append({"fact": fact, "added": f"minimise {g} substrate probability (weight {w:g})"})
        else:
            out.facts.append({"fact": fact, "added": f"indeterminate: no {g} substrate model in ADMET-AI"})

    for cond in profile.conditions:
        if LONG_QT.search(cond):
            admet("hERG", 3.0, f"condition '{cond}': hERG blockade prolongs QT", "patient_herg")
            out.filters.append({"component": "admet", "name": "patient_herg_filter", "params": {"endpoint": "hERG"},
                                "max": 0.5, "reason": f"condition '{cond}'"})
            out.facts.append({"fact": f"condition: {cond}",
                              "added": "hERG penalty raised (weight 3) and hard filter P(hERG) <= 0.5"})
        elif HEPATIC.search(cond):
            admet("DILI", 3.0, f"condition '{cond}': reduced hepatic reserve", "patient_dili")
            out.facts.append({"fact": f"condition: {cond}", "added": "DILI penalty raised (weight 3)"})
        else:
            out.facts.append({"fact": f"condition: {cond}", "added": "nothing (no rule for this condition)"})

    inhibited: dict[str, list[str]] = {}
    for med in profile.medications:
        key = med.strip().lower().split()[0] if med.strip() else ""
        cyps = CLEARED_BY.get(key)
        if not cyps:
            out.facts.append({"fact": f"medication: {med}",
                              "added": "indeterminate: clearance pathway not in genmed's table"})
            continue
        for c in cyps:
            inhibited.setdefault(c, []).append(key)
        out.facts.append({"fact": f"medication: {med}",
                          "added": f"minimise inhibition of {', '.join(cyps)} (clears {key}; {CLEARANCE_SOURCE})"})
    for cyp, meds in inhibited.items():
        admet(INHIBITION_ENDPOINT[cyp], 1.0 + 0.5 * (len(meds) - 1),
              f"co-medication(s) {', '.join(meds)} cleared by {cyp}", f"patient_{cyp.lower()}_inhibition")
    return out


def _endpoint(objective: dict[str, Any]) -> str:
    from genmed.chem.scoring.components.admet import ALIASES

    ep = str(objective.get("params", {}).get("endpoint", ""))
    return ALIASES.get(ep.lower(), ep)


def merge_patient(scoring: dict[str, Any], extra: PatientObjectives) -> dict[str, Any]:
    """Add patient objectives to a scoring dict; an existing objective on the same endpoint gets the larger weight
    and the patient's reason, rather than a duplicate."""
    scoring = json.loads(json.dumps(scoring))
    objectives = scoring.setdefault("objective", [])
    for new in extra.objectives:
        ep = new["params"]["endpoint"]
        same = [o for o in objectives if o.get("component") == "admet" and _endpoint(o) == ep]
        if same:
            for o in same:
                o["weight"] = max(float(o.get("weight", 1.0)), new["weight"])
                o["reason"] = new["reason"]
        else:
            objectives.append(new)
    scoring.setdefault("filter", []).extend(extra.filters)
    return scoring
