"""Bundled code map (RxNorm / SNOMED CT / ICD-10 / LOINC -> genmed concept keys).

Small on purpose: it lists what the plan engine reasons about. Unknown codes are reported, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from genmed.patient.model import Code

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
LOCAL = "https://genmed.dev/fhir/CodeSystem/local"
HGNC = "http://www.genenames.org/geneId"


@dataclass(frozen=True)
class CodeMap:
    version: str
    drugs: dict[str, dict[str, Any]]
    conditions: dict[str, dict[str, Any]]
    observations: dict[str, dict[str, Any]]
    genomics: dict[str, str]
    _drug_by_rx: dict[str, str]
    _obs_by_code: dict[tuple[str, str], str]
    _cond_snomed: dict[str, str]
    _cond_icd: list[tuple[str, str]]

    def drug(self, codes: list[Code], text: str | None = None) -> str | None:
        for c in codes:
            if c.system == RXNORM and c.code in self._drug_by_rx:
                return self._drug_by_rx[c.code]
        return None

    def drug_by_name(self, name: str) -> str | None:
        n = name.strip().lower()
        return n if n in self.drugs else None

    def drug_in_text(self, text: str | None) -> str | None:
        """A supported drug named as a whole word in free text ("clopidogrel 75 MG Oral Tablet"); the longest
        name wins (so "tenofovir alafenamide" beats a shorter match). For product-level codes (RxNorm SCD/SBD)
        outside the ingredient map."""
        if not text:
            return None
        import re

        low = text.lower()
        hits = [d for d in self.drugs if re.search(rf"(?<![a-z]){re.escape(d)}(?![a-z])", low)]
        return max(hits, key=len) if hits else None

    def condition(self, codes: list[Code]) -> str | None:
        for c in codes:
            if c.system == SNOMED and c.code in self._cond_snomed:
                return self._cond_snomed[c.code]
            if c.system in (ICD10, ICD10CM):
                code = c.code.upper().replace(".", "")
                for prefix, key in self._cond_icd:
                    if code.startswith(prefix.replace(".", "")):
                        return key
        return None

    def observation(self, codes: list[Code]) -> str | None:
        for c in codes:
            key = self._obs_by_code.get((c.system, c.code))
            if key:
                return key
        return None

    def rxnorm(self, drug: str) -> Code:
        entry = self.drugs[drug]
        return Code(system=RXNORM, code=entry["rxnorm"][0], display=drug)

    def condition_codes(self, key: str) -> list[Code]:
        entry = self.conditions[key]
        out = [Code(system=SNOMED, code=c, display=entry.get("label")) for c in entry.get("snomed", [])[:1]]
        return out

    def observation_code(self, key: str) -> Code:
        entry = self.observations[key]
        if entry.get("loinc"):
            return Code(system=LOINC, code=entry["loinc"][0], display=key.replace("_", " "))
        return Code(system=LOCAL, code=entry["local"][0], display=key.replace("_", " "))

    def unit(self, key: str) -> str:
        return self.observations[key].get("unit", "")

    def drug_class(self, drug: str) -> str | None:
        return self.drugs.get(drug, {}).get("class")

    def condition_label(self, key: str) -> str:
        return self.conditions.get(key, {}).get("label", key.replace("_", " "))


@lru_cache(maxsize=1)
def code_map() -> CodeMap:
    """The bundled map (``genmed/patient/codes.yaml``), parsed once."""
    raw = yaml.safe_load(resources.files("genmed.patient").joinpath("codes.yaml").read_text())
    drug_by_rx = {rx: k for k, v in raw["drugs"].items() for rx in v["rxnorm"]}
    obs = {}
    for k, v in raw["observations"].items():
        for c in v.get("loinc", []):
            obs[(LOINC, c)] = k
        for c in v.get("local", []):
            obs[(LOCAL, c)] = k
    snomed = {c: k for k, v in raw["conditions"].items() for c in v.get("snomed", [])}
    icd = sorted(((p, k) for k, v in raw["conditions"].items() for p in v.get("icd10", [])), key=lambda t: -len(t[0]))
    return CodeMap(
        version=str(raw["version"]), drugs=raw["drugs"], conditions=raw["conditions"],
        observations=raw["observations"], genomics=raw["genomics"], _drug_by_rx=drug_by_rx, _obs_by_code=obs,
        _cond_snomed=snomed, _cond_icd=icd,
    )
