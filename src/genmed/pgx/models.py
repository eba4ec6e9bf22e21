"""Result types of the pgx engine (plain dataclasses, JSON via ``to_dict``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class HaplotypeInfo:
    name: str
    function: str | None = None
    activity_value: str | None = None


@dataclass
class Diplotype:
    """One candidate diplotype with what it means."""

    name: str
    haplotypes: list[HaplotypeInfo]
    score: int | None = None  # PharmCAT-style match score (defined positions of both alleles)
    phenotype: str | None = None
    activity_score: str | None = None
    lookup_key: str | None = None  # the key guidelines are indexed by (phenotype or activity score)
    rank: int = 1
    note: str | None = None


@dataclass
class GeneCall:
    """Everything genmed knows about one gene for one sample.

    ``status``: ``called`` (one top diplotype), ``ambiguous`` (several equally scoring diplotypes; all listed,
    best first), ``not_called`` (``reason`` says why), ``outside_call`` (taken from an outside-call file).
    """

    gene: str
    status: str
    diplotypes: list[Diplotype] = field(default_factory=list)
    reason: str | None = None
    phenotype: str | None = None  # single phenotype when all top diplotypes agree, else None
    activity_score: str | None = None
    lookup_keys: list[str] = field(default_factory=list)  # distinct lookup keys across top diplotypes
    missing_positions: list[dict[str, Any]] = field(default_factory=list)
    assumed_reference_positions: list[int] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)  # non-reference or informative calls
    undocumented_variants: list[dict[str, Any]] = field(default_factory=list)
    phased: bool = False
    haploid: bool = False
    warnings: list[str] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)  # definition + phenotype sources and versions
    extra: dict[str, Any] = field(default_factory=dict)  # gene-specific facts (e.g. rs12777823 for warfarin)

    @property
    def callable(self) -> bool:
        return self.status in {"called", "ambiguous", "outside_call"} and bool(self.diplotypes)

    @property
    def diplotype(self) -> str | None:
        """The top diplotype name (first of several if ambiguous)."""
        return self.diplotypes[0].name if self.diplotypes else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PgxResult:
    """All gene calls for one sample, with provenance."""

    sample: str
    genes: dict[str, GeneCall]
    input: str | None = None
    build: str = "GRCh38"
    knowledge_version: str = ""
    engine_version: str = ""
    warnings: list[str] = field(default_factory=list)
    sex: str | None = None

    def __getitem__(self, gene: str) -> GeneCall:
        return self.genes[gene]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sample": self.sample,
            "input": self.input,
            "build": self.build,
            "knowledge_version": self.knowledge_version,
            "engine_version": self.engine_version,
            "sex": self.sex,
            "warnings": self.warnings,
            "genes": {g: c.to_dict() for g, c in self.genes.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PgxResult:
        genes = {}
        for g, c in d["genes"].items():
            c = dict(c)
            c["diplotypes"] = [
                Diplotype(**{**dp, "haplotypes": [HaplotypeInfo(**h) for h in dp["haplotypes"]]})
                for dp in c.get("diplotypes", [])
            ]
            genes[g] = GeneCall(**c)
        return cls(sample=d["sample"], genes=genes, input=d.get("input"), build=d.get("build", "GRCh38"),
                   knowledge_version=d.get("knowledge_version", ""), engine_version=d.get("engine_version", ""),
                   warnings=d.get("warnings", []), sex=d.get("sex"))


@dataclass
class DrugRecommendation:
    """A guideline recommendation for one drug, or an explicit "indeterminate"/"no guidance" with its reason."""

    drug: str
    status: str  # "recommendation" | "indeterminate" | "no_recommendation" | "no_guideline"
    source: str | None = None  # CPIC / DPWG
    guideline: str | None = None
    guideline_version: str | None = None
    guideline_url: str | None = None
    citations: list[str] = field(default_factory=list)  # PMIDs
    genes: dict[str, str] = field(default_factory=dict)  # gene -> lookup key used (phenotype / activity score)
    diplotypes: dict[str, str] = field(default_factory=dict)
    population: str | None = None
    classification: str | None = None  # strength: Strong / Moderate / Optional / No Recommendation
    recommendation: str | None = None
    implications: list[str] = field(default_factory=list)
    dosing_information: bool = False
    alternate_drug_available: bool = False
    phenoconversion: list[str] = field(default_factory=list)
    reason: str | None = None
    knowledge_version: str = ""

    @property
    def actionable(self) -> bool:
        return self.status == "recommendation" and (self.dosing_information or self.alternate_drug_available)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"actionable": self.actionable}


@dataclass
class DoseEstimate:
    """A genotype-guided dose with the inputs, the algorithm and its uncertainty."""

    drug: str
    weekly_dose_mg: float | None
    daily_dose_mg: float | None
    range_weekly_mg: tuple[float, float] | None
    algorithm: str
    citation: str
    inputs: dict[str, Any]
    adjustments: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    status: str = "estimated"  # or "indeterminate"
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
